"""Members-only comments: whether a node may keep one, against its log's state, with one code.

A ``comment`` (spec/deliberation.md) is signed like any record but never enters the public
log (the log refuses it: ``members_only``). A node keeps the comments it accepts in a
members-only store; :func:`check_comment` says whether the next one may join them, from
the co-op's :class:`~.state.CoopState` and, for a reply, the comment it replies to (which
only the node's store holds). It reads no clock but ``now_ms`` and changes nothing.
"""

from __future__ import annotations

from .bodies import Ballot, Comment, RecordType
from .errors import LocalProtocolError, RecordRejected
from .records import Record
from .state import CoopState

__all__ = ["check_comment"]


def _reject(code: str, message: str) -> RecordRejected:
    return RecordRejected(message, code=code)


def check_comment(
    state: CoopState, comment: Record, *, parent: Record | None = None, now_ms: int | None = None
) -> None:
    """Return if a node may keep ``comment`` now; else ``RecordRejected`` with its code.

    ``parent`` is the comment ``comment.body.parent`` names, as the node's members-only
    store holds it, or None when the store does not hold it (or the comment names none).
    ``now_ms`` is the node's clock (None: no skew check, as a replay). A governance-only
    ``state`` must first be told about the ids the comment cites (``state.lookups``).

    In this order (deliberation.md §3): the co-op (``wrong_coop``); the clock (``skew``);
    the author is a member now (``revoked``, ``not_member``); ``proposal`` names a proposal
    of the log (``unknown_reference``, ``wrong_reference``); a ``parent`` is held
    (``unknown_reference``), is a comment (``wrong_reference``) on the same proposal
    (``mismatch``); a ``ballot`` names a ballot of the log (``unknown_reference``,
    ``wrong_reference``) by the comment's author (``not_author``) on the same proposal
    (``mismatch``).
    """
    body = comment.body
    if not isinstance(body, Comment):
        raise LocalProtocolError(f"check_comment takes a comment, not a {comment.type.value}")
    if parent is not None and parent.id != body.parent:
        raise LocalProtocolError("parent is the record the comment's body.parent names, or None")
    if comment.coop != state.coop:
        raise _reject("wrong_coop", f"comment is for co-op {comment.coop}, this is {state.coop}")
    if now_ms is not None and abs(comment.ts - now_ms) > state.max_skew_ms:
        raise _reject(
            "skew",
            f"comment time {comment.ts} is more than {state.max_skew_ms} ms from the node's "
            f"clock ({now_ms}); check your device's clock",
        )
    state.check_member(comment.author)
    state.cited(body.proposal, RecordType.PROPOSAL, "proposal")
    if body.parent is not None:
        if parent is None:
            raise _reject(
                "unknown_reference",
                f"comment {body.parent.hex()} replied to is not among this co-op's comments",
            )
        earlier = parent.body
        if not isinstance(earlier, Comment):
            raise _reject(
                "wrong_reference", f"{body.parent.hex()} is a {parent.type.value}, not a comment"
            )
        if parent.coop != comment.coop or earlier.proposal != body.proposal:
            raise _reject("mismatch", "a reply is on the same proposal as the comment it answers")
    if body.ballot is not None:
        e = state.cited(body.ballot, RecordType.BALLOT, "ballot")
        ballot = e.record.body
        assert isinstance(ballot, Ballot)
        if e.record.author != comment.author:
            raise _reject("not_author", "members give the reason for their own ballot only")
        if ballot.proposal != body.proposal:
            raise _reject("mismatch", "the ballot is on another proposal than the comment")
