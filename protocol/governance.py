"""Tallies, the idea launch rule and the provisional-block rule: pure and order-independent.

Every function here is a deterministic function of its arguments (no clock, no I/O): the
same charter, roster, proposal, ballots, delegations and time give the same tally on every
node, in any input order, so anyone holding the records can recompute a co-op's decision
and compare it with the one the co-op signed (:func:`check_decision`). The rules are
spec/governance.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from .bodies import (
    DAY_MS,
    Ballot,
    Charter,
    Decision,
    Delegation,
    Flag,
    Proposal,
    ProposalKind,
    RecordType,
    RequesterRef,
)
from .errors import LocalProtocolError, RecordRejected, TallyError
from .merkle import leaf_hash, root_from_leaf_hashes
from .records import Record

__all__ = [
    "IGNORE_REASONS",
    "OPEN",
    "SUPERMAJORITY_KINDS",
    "YES_NO_KINDS",
    "Tally",
    "ballots_root",
    "check_decision",
    "delegations_root",
    "idea_launched",
    "provisional_block_flags",
    "roster_root",
    "tally",
]

#: Kinds decided by yes/no ballots against a percentage threshold.
YES_NO_KINDS: Final = frozenset(
    {
        ProposalKind.ADMIT,
        ProposalKind.AMEND,
        ProposalKind.BLOCK,
        ProposalKind.REVOKE,
        ProposalKind.UNBLOCK,
    }
)
#: Of those, the kinds held to ``charter.amend_pct`` rather than ``charter.pass_pct``.
SUPERMAJORITY_KINDS: Final = frozenset({ProposalKind.AMEND, ProposalKind.REVOKE})
#: Why a ballot was seen but not counted, in the order the checks are made.
IGNORE_REASONS: Final = ("not_eligible", "outside_window", "bad_choice", "superseded")
#: The result of a tally taken before the proposal closes.
OPEN: Final = "open"

#: The order :func:`check_decision` compares fields in: what was decided, by whom, on what
#: evidence, then the outcome. The first difference is the one reported.
_DECISION_FIELDS: Final = (
    "proposal",
    "charter",
    "roster_size",
    "roster_root",
    "ballots",
    "ballots_root",
    "delegated",
    "delegations_root",
    "counts",
    "quorum_met",
    "result",
    "winner",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """The count of one proposal at one moment; final once ``closed``."""

    proposal_id: bytes
    charter_id: bytes
    roster_size: int
    #: RFC 6962 Merkle root over the roster's DIDs (UTF-8) as leaves, sorted bytewise.
    roster_root: bytes
    #: Every choice of the proposal, sorted bytewise, zeros included.
    counts: tuple[tuple[str, int], ...]
    #: Ids of the counted ballots, sorted bytewise.
    counted: tuple[bytes, ...]
    #: RFC 6962 Merkle root over ``counted`` as leaves (leaf data = the 32-byte id), in order.
    ballots_root: bytes
    quorum_needed: int
    quorum_met: bool
    #: One of ``Decision.RESULTS``, or ``"open"`` while ``now < closes``.
    result: str
    winner: str | None
    closed: bool
    #: ``(ballot id, reason)`` for each ballot seen but not counted, sorted by id.
    ignored: tuple[tuple[bytes, str], ...]
    #: Ids of the delegations that cast a vote (their delegate's choice), sorted bytewise.
    delegated: tuple[bytes, ...] = ()
    #: ``delegations_root(delegated)`` under a charter with delegation; None without.
    delegations_root: bytes | None = None

    def to_decision(self) -> Decision:
        """The body of the decision record that states this tally; only once closed."""
        if not self.closed:
            raise LocalProtocolError(
                "a decision states a closed tally; this one is still open (result 'open')"
            )
        decision = Decision(
            proposal=self.proposal_id,
            result=self.result,
            counts=self.counts,
            quorum_met=self.quorum_met,
            charter=self.charter_id,
            roster_size=self.roster_size,
            roster_root=self.roster_root,
            ballots=len(self.counted),
            ballots_root=self.ballots_root,
            winner=self.winner,
            delegated=None if self.delegations_root is None else len(self.delegated),
            delegations_root=self.delegations_root,
        )
        # Round-trip through the schema so a tally that cannot be signed fails here, not later.
        if Decision.from_value(decision.to_value()) != decision:
            raise LocalProtocolError("the decision body does not survive its own validation")
        return decision


# --------------------------------------------------------------------------- argument checks


def _check_id(name: str, value: object) -> bytes:
    if type(value) is not bytes or len(value) != 32:
        raise LocalProtocolError(f"{name} must be a 32-byte record id, got {_describe(value)}")
    return value


def _check_ms(name: str, value: object) -> int:
    if type(value) is not int or value < 0:
        raise LocalProtocolError(
            f"{name} must be Unix milliseconds (a non-negative int), got {_describe(value)}"
        )
    return value


def _check_count(name: str, value: object) -> int:
    if type(value) is not int or value < 0:
        raise LocalProtocolError(f"{name} must be a non-negative int, got {_describe(value)}")
    return value


def _describe(value: object) -> str:
    if isinstance(value, bytes):
        return f"{len(value)} bytes"
    return f"{type(value).__name__} {value!r}"


def _latest(a: Record, b: Record) -> bool:
    """Whether ``a`` is later than ``b``: greater ``(ts, id)``, a total order on records."""
    return (a.ts, a.id) > (b.ts, b.id)


# --------------------------------------------------------------------------- tally


def tally(
    *,
    charter: Charter,
    charter_id: bytes,
    roster: frozenset[str],
    proposal: Record,
    ballots: Iterable[Record],
    now_ms: int,
    delegations: Iterable[Record] = (),
) -> Tally:
    """Count ``ballots`` on ``proposal`` under ``charter`` for the eligible ``roster``.

    ``roster`` is the set of members eligible on this proposal (the roster when the
    proposal entered the log); ``delegations`` the delegations in force then (at most one
    per member, each naming a delegate; only under a charter that allows delegation). The
    result does not depend on the order of ``ballots`` or ``delegations``; a record given
    twice counts once. Raises :class:`TallyError` for an empty roster and
    :class:`LocalProtocolError` when the inputs cannot belong together (a caller bug).
    """
    if not isinstance(charter, Charter):
        raise LocalProtocolError(f"charter must be a Charter body, got {_describe(charter)}")
    _check_id("charter_id", charter_id)
    _check_ms("now_ms", now_ms)
    if not isinstance(proposal, Record):
        raise LocalProtocolError(f"proposal must be a Record, got {_describe(proposal)}")
    body = proposal.body
    if proposal.type is not RecordType.PROPOSAL or not isinstance(body, Proposal):
        raise LocalProtocolError(
            f"proposal must be a proposal record, got a {proposal.type.value} record"
        )
    if not isinstance(roster, (frozenset, set)):
        # A list could hold a member twice and inflate roster_size.
        raise LocalProtocolError(f"roster must be a frozenset of DIDs, got {_describe(roster)}")
    if any(type(m) is not str for m in roster):
        raise LocalProtocolError("roster must hold DIDs as text")
    if not roster:
        raise TallyError(
            "the roster of eligible members is empty: no tally can be taken (fail closed)"
        )

    # Collect first, so every caller bug is reported whatever else the input holds.
    given: dict[bytes, tuple[Record, Ballot]] = {}
    for record in ballots:
        if not isinstance(record, Record):
            raise LocalProtocolError(f"ballots must be Records, got {_describe(record)}")
        ballot = record.body
        if record.type is not RecordType.BALLOT or not isinstance(ballot, Ballot):
            raise LocalProtocolError(
                f"ballots must be ballot records, got a {record.type.value} record"
            )
        if ballot.proposal != proposal.id:
            raise LocalProtocolError(
                f"ballot {record.id.hex()} names proposal {ballot.proposal.hex()}, "
                f"expected {proposal.id.hex()}"
            )
        if record.coop != proposal.coop:
            raise LocalProtocolError(
                f"ballot {record.id.hex()} is for co-op {record.coop}, "
                f"expected the proposal's co-op {proposal.coop}"
            )
        given[record.id] = (record, ballot)
    granted = _delegations(charter, proposal, delegations)

    allowed = frozenset(body.choices)
    ignored: list[tuple[bytes, str]] = []
    latest: dict[str, tuple[Record, Ballot]] = {}
    for record, ballot in given.values():
        if record.author not in roster:
            ignored.append((record.id, "not_eligible"))
        elif not body.opens <= record.ts < body.closes:
            ignored.append((record.id, "outside_window"))
        elif ballot.choice not in allowed:
            ignored.append((record.id, "bad_choice"))
        else:
            held = latest.get(record.author)
            if held is None:
                latest[record.author] = (record, ballot)
            elif _latest(record, held[0]):
                ignored.append((held[0].id, "superseded"))
                latest[record.author] = (record, ballot)
            else:
                ignored.append((record.id, "superseded"))

    votes = dict.fromkeys(body.choices, 0)
    for _, ballot in latest.values():
        votes[ballot.choice] += 1
    # One level: a member who cast no counted ballot votes as their delegate's own counted
    # ballot says; a delegate who did not vote casts nothing for them, and passes nothing on.
    delegated = []
    for rid, (delegator, delegate) in granted.items():
        if delegator in roster and delegator not in latest and delegate in latest:
            votes[latest[delegate][1].choice] += 1
            delegated.append(rid)
    counts = tuple(sorted(votes.items(), key=lambda kv: kv[0].encode()))
    counted = tuple(sorted(record.id for record, _ in latest.values()))

    roster_size = len(roster)
    quorum_needed = (charter.quorum_pct * roster_size + 99) // 100
    quorum_met = len(counted) + len(delegated) >= quorum_needed
    closed = now_ms >= body.closes
    if closed:
        result, winner = _outcome(charter, body, votes, quorum_met)
    else:
        result, winner = OPEN, None

    return Tally(
        proposal_id=proposal.id,
        charter_id=charter_id,
        roster_size=roster_size,
        roster_root=roster_root(roster),
        counts=counts,
        counted=counted,
        ballots_root=ballots_root(counted),
        quorum_needed=quorum_needed,
        quorum_met=quorum_met,
        result=result,
        winner=winner,
        closed=closed,
        ignored=tuple(sorted(ignored)),
        delegated=tuple(sorted(delegated)),
        delegations_root=delegations_root(sorted(delegated)) if charter.delegation else None,
    )


def _delegations(
    charter: Charter, proposal: Record, records: Iterable[Record]
) -> dict[bytes, tuple[str, str]]:
    """``{id: (delegator, delegate)}`` of the delegations given, each checked: caller bugs raise."""
    out: dict[bytes, tuple[str, str]] = {}
    delegators: set[str] = set()
    for record in records:
        if not isinstance(record, Record):
            raise LocalProtocolError(f"delegations must be Records, got {_describe(record)}")
        body = record.body
        if record.type is not RecordType.DELEGATION or not isinstance(body, Delegation):
            raise LocalProtocolError(
                f"delegations must be delegation records, got a {record.type.value} record"
            )
        if record.id in out:
            continue
        if not charter.delegation:
            raise LocalProtocolError("the charter does not allow delegation: give no delegations")
        if body.to is None:
            raise LocalProtocolError(
                f"delegation {record.id.hex()} ends a delegation; only those in force count"
            )
        if record.coop != proposal.coop:
            raise LocalProtocolError(
                f"delegation {record.id.hex()} is for co-op {record.coop}, "
                f"expected the proposal's co-op {proposal.coop}"
            )
        if record.author in delegators:
            raise LocalProtocolError(
                f"{record.author} has two delegations here; at most one is in force"
            )
        delegators.add(record.author)
        out[record.id] = (record.author, body.to)
    return out


def _outcome(
    charter: Charter, body: Proposal, votes: dict[str, int], quorum_met: bool
) -> tuple[str, str | None]:
    """The result (and winner, for an election) of a closed tally."""
    if body.kind is ProposalKind.IDEA:
        launched = idea_launched(charter, votes["up"], votes["down"])
        return ("launched" if launched else "not_launched"), None
    if not quorum_met:
        return "no_quorum", None
    if body.kind is ProposalKind.ELECT:
        top = max(votes[c] for c in body.candidates)
        leaders = [c for c in body.candidates if votes[c] == top]
        if top == 0 or len(leaders) != 1:
            return "tied", None
        return "elected", leaders[0]
    if body.kind not in YES_NO_KINDS:  # pragma: no cover - every kind is handled above
        raise LocalProtocolError(f"no tally rule for proposal kind {body.kind.value!r}")
    pct = charter.amend_pct if body.kind in SUPERMAJORITY_KINDS else charter.pass_pct
    yes, no = votes["yes"], votes["no"]
    # Integer arithmetic: strictly more than pct percent of the yes and no ballots.
    return ("passed" if yes * 100 > pct * (yes + no) else "rejected"), None


def idea_launched(charter: Charter, up: int, down: int) -> bool:
    """Dynamo's launch rule: more than ``charter.idea_up`` ups and no more downs than ups."""
    if not isinstance(charter, Charter):
        raise LocalProtocolError(f"charter must be a Charter body, got {_describe(charter)}")
    _check_count("up", up)
    _check_count("down", down)
    return up > charter.idea_up and up * 2 >= up + down


def roster_root(roster: Iterable[str]) -> bytes:
    """RFC 6962 Merkle root over the roster: each DID's UTF-8 bytes one leaf, sorted bytewise.

    The decision commits to exactly who could vote, so a bundle's roster is bound to it.
    """
    dids = sorted({d.encode("utf-8") for d in roster})
    return root_from_leaf_hashes([leaf_hash(d) for d in dids])


def ballots_root(ids: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle root with each 32-byte id as one leaf's data, in the order given."""
    hashes = [leaf_hash(_check_id(f"ids[{i}]", x)) for i, x in enumerate(ids)]
    return root_from_leaf_hashes(hashes)


#: The same construction over the ids of the delegations a tally used (sorted bytewise).
delegations_root: Final = ballots_root


# --------------------------------------------------------------------------- checking


def check_decision(decision: Decision, expected: Tally) -> None:
    """Return None when ``decision`` states ``expected``; else ``decision_mismatch``.

    (``RecordRejected`` with that code, wherever a decision is checked: a log, a bundle.)
    Fields are compared in a fixed order (proposal, charter, roster_size, roster_root,
    ballots, ballots_root, delegated, delegations_root, counts, quorum_met, result, winner)
    and the first that differs is named.
    """
    if not isinstance(decision, Decision):
        raise LocalProtocolError(f"decision must be a Decision body, got {_describe(decision)}")
    if not isinstance(expected, Tally):
        raise LocalProtocolError(f"expected must be a Tally, got {_describe(expected)}")
    if not expected.closed:
        raise RecordRejected(
            "decision body.result: the proposal is still open at the time given, "
            f"so no decision can exist yet; got result {decision.result!r}",
            code="decision_mismatch",
        )
    want = expected.to_decision()
    for name in _DECISION_FIELDS:
        got = getattr(decision, name)
        exp = getattr(want, name)
        if name == "counts":
            # A map on the wire: compare in its one canonical (bytewise) key order.
            got = tuple(sorted(got, key=lambda kv: kv[0].encode()))
        if got != exp or type(got) is not type(exp):
            raise RecordRejected(
                f"decision body.{name} is {_show(got)}, expected {_show(exp)} "
                "from the recomputed tally",
                code="decision_mismatch",
            )


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return "{" + ", ".join(f"{k}: {n}" for k, n in value) + "}"
    return repr(value)


# --------------------------------------------------------------------------- provisional blocks


def provisional_block_flags(
    charter: Charter,
    flags: Iterable[Record],
    now_ms: int,
    *,
    excluded: frozenset[bytes] = frozenset(),
) -> tuple[bytes, ...] | None:
    """The flags that put a requester under a provisional block at ``now_ms``, or None.

    A flag qualifies when it is not in ``excluded`` (retracted), has not expired
    (``expires > now_ms``) and was made in the last ``block_rule.days`` days
    (``now_ms - days*DAY_MS < ts <= now_ms``). When at least ``block_rule.flags`` distinct
    members have a qualifying flag, the answer is each such member's latest qualifying flag
    (greatest ``(ts, id)``), sorted bytewise. Pure and deterministic: the order of ``flags``
    and repeated records do not change the answer.
    """
    if not isinstance(charter, Charter):
        raise LocalProtocolError(f"charter must be a Charter body, got {_describe(charter)}")
    _check_ms("now_ms", now_ms)
    rule = charter.block_rule
    since = now_ms - rule.days * DAY_MS
    requester: RequesterRef | None = None
    coop: str | None = None
    latest: dict[str, Record] = {}
    for record in flags:
        if not isinstance(record, Record):
            raise LocalProtocolError(f"flags must be Records, got {_describe(record)}")
        flag = record.body
        if record.type is not RecordType.FLAG or not isinstance(flag, Flag):
            raise LocalProtocolError(
                f"flags must be flag records, got a {record.type.value} record"
            )
        if requester is None:
            requester, coop = flag.requester, record.coop
        elif flag.requester != requester:
            raise LocalProtocolError(
                f"flags must all name one requester: expected {requester}, "
                f"got {flag.requester} in flag {record.id.hex()}"
            )
        elif record.coop != coop:
            raise LocalProtocolError(
                f"flags must all be from one co-op: expected {coop}, got {record.coop} "
                f"in flag {record.id.hex()}"
            )
        if record.id in excluded:
            continue
        if not (flag.expires > now_ms and since < record.ts <= now_ms):
            continue
        held = latest.get(record.author)
        if held is None or _latest(record, held):
            latest[record.author] = record
    if len(latest) < rule.flags:
        return None
    return tuple(sorted(record.id for record in latest.values()))
