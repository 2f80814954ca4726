"""Joining by vote: which applications a node may hold and put to a vote, as pure checks.

A would-be member signs a ``member.apply``; under a charter that admits by vote a node
holds it outside the log until a member sponsors it with an admit ``proposal`` citing it
(spec/state.md §9). Which applications a node takes is not a rule of the log (§2–§3 admit
any well-formed application from a non-member): it is the node's, and these functions are
the part of it read from the co-op's :class:`~.state.CoopState`, so that every node of a
co-op answers alike. What a node keeps about held applications (the queue, its cap, expiry)
is its own.
"""

from __future__ import annotations

from .bodies import Proposal, ProposalKind, RecordType
from .errors import LocalProtocolError, RecordRejected
from .records import Record
from .state import CoopState, ProposalInfo

__all__ = [
    "admit_proposal_for",
    "check_application",
    "check_sponsorship",
    "sponsored_application",
]


def check_application(state: CoopState, apply: Record, *, now_ms: int | None) -> None:
    """Return if ``apply`` (a ``member.apply``) may wait for a sponsor; else raise.

    ``RecordRejected`` with ``invite_required`` unless the charter in force admits by
    vote; any code of :meth:`CoopState.check` (this co-op, on time, not a member yet, not
    in the log already); ``no_members`` when nobody could sponsor it; ``already_applied``
    while an admit proposal on the same key is undecided.
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
            "the co-op has no members to sponsor an application", code="no_members"
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


def sponsored_application(state: CoopState, record: Record) -> bytes | None:
    """The application ``record`` sponsors, if it is an admit proposal that sponsors one.

    That is an application not in the log yet, or one whose admit proposal is undecided
    (:func:`check_sponsorship` refuses a second); any other admit proposal citing an
    application (after a vote that failed, say) is a plain record.
    """
    body = record.body
    if not (
        isinstance(body, Proposal)
        and body.kind is ProposalKind.ADMIT
        and body.application is not None
    ):
        return None
    if state.entry(body.application) is None:
        return body.application
    voted = admit_proposal_for(state, body.application)
    return body.application if voted is not None and voted.decision is None else None


def check_sponsorship(state: CoopState, application: bytes) -> None:
    """Return unless an admit proposal on ``application`` is open (``already_sponsored``).

    A second open vote on the same person would only split the members' ballots.
    """
    other = admit_proposal_for(state, application)
    if other is not None and other.decision is None:
        raise RecordRejected(
            "this application has been sponsored already: vote on proposal "
            f"{other.entry.record.id.hex()}",
            code="already_sponsored",
        )
