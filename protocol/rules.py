"""Admissibility rules a co-op's log and an offline bundle both apply: each once, one code each.

:class:`~.state.CoopState` checks a record against the whole log before it; a bundle
(:func:`~.bundle.verify_bundle`) checks the same record against the few entries it holds.
Where both decide the same question — is the voting window the charter's, is this ballot
valid, does a block follow from its flags or carry out its decision — they call the
function here, so a record is refused for one reason with one code wherever it is checked
(spec/state.md §3 and §6; bundles.md passes these codes through). Each returns None or
raises ``RecordRejected`` with the code its docstring names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from .bodies import (
    DAY_MS,
    Ballot,
    Block,
    Charter,
    Decision,
    Flag,
    FlagReason,
    Outcome,
    Proposal,
    ProposalKind,
)
from .errors import LocalProtocolError, RecordRejected
from .governance import provisional_block_flags
from .records import Record

__all__ = [
    "check_ballot",
    "check_block_review",
    "check_carries_out",
    "check_decision_time",
    "check_outcome",
    "check_provisional_block",
    "check_same_block",
    "check_window",
    "main_reason",
]


def _reject(code: str, message: str) -> RecordRejected:
    return RecordRejected(message, code=code)


def check_window(charter: Charter, proposal: Proposal) -> None:
    """The voting window lasts from the charter's ``min_window_ms`` to ``max_window_ms``.

    ``bad_window`` otherwise.
    """
    window = proposal.closes - proposal.opens
    if not charter.min_window_ms <= window <= charter.max_window_ms:
        raise _reject(
            "bad_window",
            f"the voting window must last {charter.min_window_ms}–{charter.max_window_ms} "
            f"ms under the charter; this one lasts {window}",
        )


def check_ballot(proposal: Proposal, roster: Collection[str], ballot: Record) -> None:
    """A ballot on ``proposal`` is by a member of its ``roster``, valid and on time.

    In this order: its author is on the roster (``not_eligible``), its choice is one of the
    proposal's (``bad_choice``), and ``opens ≤ ts`` (``voting_not_open``) and ``ts < closes``
    (``voting_closed``).
    """
    body = ballot.body
    if not isinstance(body, Ballot):
        raise LocalProtocolError(f"check_ballot takes a ballot, not a {ballot.type.value}")
    choice = body.choice
    if ballot.author not in roster:
        raise _reject(
            "not_eligible", "only members on the roster when the proposal opened may vote on it"
        )
    if choice not in proposal.choices:
        raise _reject(
            "bad_choice", f"choice {choice!r} is not one of {', '.join(proposal.choices)}"
        )
    if ballot.ts < proposal.opens:
        raise _reject("voting_not_open", "voting on this proposal has not opened yet")
    if ballot.ts >= proposal.closes:
        raise _reject("voting_closed", "voting on this proposal has closed")


def check_decision_time(proposal: Proposal, ts: int) -> None:
    """A decision on ``proposal`` is dated once its window has closed (``voting_open``)."""
    if ts < proposal.closes:
        raise _reject("voting_open", "a decision comes after the voting window closes")


def check_carries_out(
    decision: Decision,
    proposal: Proposal,
    kinds: Collection[ProposalKind],
    *,
    results: Collection[str] = ("passed",),
    what: str = "the decision",
) -> None:
    """``decision`` (on ``proposal``) is one a record of this kind may carry out.

    Its result is one of ``results`` (``not_passed``), and the proposal is of one of
    ``kinds`` (``wrong_reference``).
    """
    if decision.result not in results:
        raise _reject("not_passed", f"{what} is '{decision.result}'")
    if proposal.kind not in kinds:
        raise _reject("wrong_reference", f"{what} decided a {proposal.kind.value} proposal")


def check_outcome(outcome: Record, proposal: Record) -> None:
    """An outcome is stated by the author of the proposal its decision closed (``not_author``).

    A proposal the co-op's key put has no outcome statement: no member wrote it.
    """
    if not isinstance(outcome.body, Outcome):
        raise LocalProtocolError(f"check_outcome takes an outcome, not a {outcome.type.value}")
    if outcome.author != proposal.author:
        raise _reject("not_author", "only the proposal's author states the outcome of its decision")


def check_same_block(block: Block, proposal: Proposal) -> None:
    """A block on a decision names the requester and reason voted on (``mismatch``)."""
    if proposal.requester != block.requester or proposal.reason != block.reason:
        raise _reject(
            "mismatch",
            f"the block names {block.requester} for {block.reason.value}; the proposal voted "
            f"on {proposal.requester} for {proposal.reason.value if proposal.reason else None}",
        )


def check_block_review(block: Block, ts: int) -> None:
    """A block is reviewed after it is made: ``review > ts`` (``bad_review``)."""
    if ts >= block.review:
        raise _reject("bad_review", "a block's review date is after the block")


def check_provisional_block(
    charter: Charter,
    block: Block,
    ts: int,
    candidates: Sequence[Record],
    *,
    excluded: frozenset[bytes] = frozenset(),
) -> None:
    """A provisional block made at ``ts`` follows from the flags that could count for it.

    ``candidates`` are the flags about the block's requester that may count (the caller
    says which: a log, those whose authors are members now; a bundle, those it holds);
    ``excluded`` those that no longer may. In this order: the block cites exactly the flags
    that cross the charter's block rule (``flags_mismatch``), its review date follows the
    charter (``bad_review``), and its reason is its flags' commonest (``mismatch``).
    """
    expected = provisional_block_flags(charter, candidates, ts, excluded=excluded)
    if expected != block.flags:
        raise _reject(
            "flags_mismatch",
            "the cited flags are not exactly those that cross the charter's block rule "
            f"({charter.block_rule.flags} members within {charter.block_rule.days} days) at "
            "the block's time",
        )
    if block.review != ts + charter.block_rule.review_days * DAY_MS:
        raise _reject("bad_review", "a provisional block's review date follows the charter")
    by_id = {r.id: r for r in candidates}
    if block.reason != main_reason(by_id[f] for f in block.flags):
        raise _reject("mismatch", "a provisional block's reason is its flags' commonest")


def main_reason(records: Iterable[Record]) -> FlagReason:
    """The commonest reason among flags; ties go to the reason first in bytewise order."""
    counts: Counter[FlagReason] = Counter()
    for r in records:
        body = r.body
        assert isinstance(body, Flag)
        counts[body.reason] += 1
    return min(counts, key=lambda reason: (-counts[reason], reason.value.encode()))
