"""Joining by vote: when a node may put an application to the members' vote, as pure checks.

A co-op whose charter admits by vote takes a would-be member's signed ``member.apply`` and
puts it to the members with an admit ``proposal`` citing it. Which applications a node
takes is not a rule of the log (spec/state.md §2–§3 admit any well-formed application from
a non-member): it is the node's, and these functions are it, read against the co-op's
:class:`~.state.CoopState` so that every node of a co-op answers alike.
"""

from __future__ import annotations

from .bodies import ProposalKind, RecordType
from .errors import LocalProtocolError, RecordRejected
from .records import Record
from .state import CoopState, ProposalInfo

__all__ = ["admit_proposal_for", "check_application"]


def check_application(state: CoopState, apply: Record, *, now_ms: int | None) -> None:
    """Return if ``apply`` (a ``member.apply``) may be put to the members' vote; else raise.

    ``RecordRejected`` with ``invite_required`` unless the charter in force admits by
    vote; any code of :meth:`CoopState.check` (this co-op, on time, not a member yet, not
    in the log already); ``no_members`` when nobody could vote; ``already_applied`` while
    an admit proposal on the same key is undecided.
    """
    if apply.type is not RecordType.MEMBER_APPLY:
        raise LocalProtocolError(f"an application is a member.apply, not a {apply.type.value}")
    charter = state.charter
    if charter is not None and charter[1].admission != "vote":
        raise RecordRejected(
            "this co-op admits members by invite: ask a member for an invite token",
            code="invite_required",
        )
    state.check(apply, now_ms=now_ms)
    if not state.members():
        raise RecordRejected(
            "the co-op has no members to vote on an application", code="no_members"
        )
    if any(
        p.decision is None and p.body.kind is ProposalKind.ADMIT and p.body.member == apply.author
        for p in state.proposals()
    ):
        raise RecordRejected(
            "an application of this key is being voted on already", code="already_applied"
        )


def admit_proposal_for(state: CoopState, application: bytes) -> ProposalInfo | None:
    """The latest admit proposal that cites ``application`` (a ``member.apply`` id), if any."""
    for p in reversed(state.proposals()):
        if p.body.kind is ProposalKind.ADMIT and p.body.application == application:
            return p
    return None
