"""Tallies, decisions, the idea launch rule and provisional blocks, on real signed records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.bodies import (
    DAY_MS,
    Ballot,
    BlockRule,
    Charter,
    Decision,
    Flag,
    FlagReason,
    Proposal,
    ProposalKind,
    RequesterRef,
)
from coopfed.protocol.errors import LocalProtocolError, RecordRejected, TallyError
from coopfed.protocol.governance import (
    IGNORE_REASONS,
    Tally,
    ballots_root,
    check_decision,
    idea_launched,
    provisional_block_flags,
    tally,
)
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "governance.json"
HOUR = 3_600_000
T0 = 1_767_225_600_000
OPENS = T0 + HOUR
CLOSES = OPENS + 3 * DAY_MS
AFTER = CLOSES + HOUR


def ident(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(b"coopfed/tests/governance/" + name.encode()).digest())


COOP = ident("coop")
OTHER_COOP = ident("other-coop")
MEMBERS = tuple(ident(f"m{i}") for i in range(8))
OUTSIDERS = tuple(ident(f"o{i}") for i in range(3))
PEOPLE = MEMBERS + OUTSIDERS
REQ = RequesterRef(platform="mturk", id="A1REQ")
CANDIDATES = tuple(sorted((MEMBERS[1].did, MEMBERS[2].did, MEMBERS[3].did), key=str.encode))
C1, C2, C3 = CANDIDATES


def make_charter(**changes: Any) -> Charter:
    base = Charter(
        name="Test Co-op",
        quorum_pct=30,
        pass_pct=50,
        amend_pct=75,
        min_window_ms=HOUR,
        max_window_ms=14 * DAY_MS,
        idea_up=3,
        block_rule=BlockRule(flags=3, days=7, review_days=14),
        min_pay_cents=1200,
        admission="vote",
    )
    return replace(base, **changes)


CHARTER = make_charter()
CHARTER_ID = sign_record(COOP, coop=COOP.did, ts=T0, body=CHARTER).id


def roster(n: int) -> frozenset[str]:
    """The first ``n`` members; past the eight who vote here, silent ones with fixed seeds."""
    silent = [ident(f"silent{i}").did for i in range(max(0, n - len(MEMBERS)))]
    return frozenset([*(m.did for m in MEMBERS[:n]), *silent])


@cache
def proposal(kind: ProposalKind) -> Record:
    extra: dict[str, Any] = {
        ProposalKind.BLOCK: {"requester": REQ, "reason": FlagReason.SCAM},
        ProposalKind.UNBLOCK: {"requester": REQ},
        ProposalKind.ADMIT: {"member": OUTSIDERS[0].did},
        ProposalKind.REVOKE: {"member": MEMBERS[7].did},
        ProposalKind.AMEND: {"charter": make_charter(quorum_pct=50)},
        ProposalKind.ELECT: {"role": "treasurer", "candidates": CANDIDATES},
        ProposalKind.IDEA: {},
    }[kind]
    body = Proposal(kind=kind, pitch="test", opens=OPENS, closes=CLOSES, **extra)
    return sign_record(MEMBERS[0], coop=COOP.did, ts=OPENS - 1, body=body)


PROPOSALS = {p.id: p for p in (proposal(k) for k in ProposalKind)}


@cache
def _ballot(who: int, choice: str, ts: int, prop: bytes, coop: str) -> Record:
    body = Ballot(proposal=prop, choice=choice)
    return sign_record(PEOPLE[who], coop=coop, ts=ts, body=body)


def ballot(prop: Record, who: int, choice: str, ts: int = OPENS + 1) -> Record:
    return _ballot(who, choice, ts, prop.id, COOP.did)


def votes(prop: Record, *choices: str) -> list[Record]:
    return [ballot(prop, i, c, OPENS + (i + 1) * HOUR) for i, c in enumerate(choices)]


def run(
    prop: Record,
    ballots: list[Record],
    *,
    members: frozenset[str] | None = None,
    now: int = AFTER,
    charter: Charter = CHARTER,
) -> Tally:
    return tally(
        charter=charter,
        charter_id=CHARTER_ID,
        roster=roster(5) if members is None else members,
        proposal=prop,
        ballots=ballots,
        now_ms=now,
    )


def counts(t: Tally) -> dict[str, int]:
    return dict(t.counts)


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """The Merkle tree hash written out from RFC 6962 §2.1, to check against."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    left, right = rfc6962_root(leaves[:k]), rfc6962_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


BLOCK = proposal(ProposalKind.BLOCK)
ELECT = proposal(ProposalKind.ELECT)
IDEA = proposal(ProposalKind.IDEA)


# --------------------------------------------------------------------------- basic tallies


def test_simple_block_passes_and_reports_every_field() -> None:
    bs = votes(BLOCK, "yes", "yes", "no")
    t = run(BLOCK, bs)
    assert t.proposal_id == BLOCK.id
    assert t.charter_id == CHARTER_ID
    assert t.roster_size == 5
    assert t.counts == (("abstain", 0), ("no", 1), ("yes", 2))
    assert t.counted == tuple(sorted(b.id for b in bs))
    assert t.ballots_root == rfc6962_root(list(t.counted))
    assert (t.quorum_needed, t.quorum_met) == (2, True)
    assert (t.result, t.winner, t.closed) == ("passed", None, True)
    assert t.ignored == ()


def test_empty_roster_fails_closed() -> None:
    with pytest.raises(TallyError, match="empty"):
        run(BLOCK, votes(BLOCK, "yes"), members=frozenset())


def test_roster_must_be_a_set() -> None:
    with pytest.raises(LocalProtocolError, match="frozenset"):
        tally(
            charter=CHARTER,
            charter_id=CHARTER_ID,
            roster=[MEMBERS[0].did, MEMBERS[0].did],  # type: ignore[arg-type]
            proposal=BLOCK,
            ballots=[],
            now_ms=AFTER,
        )


def test_proposal_must_be_a_proposal_record() -> None:
    not_a_proposal = ballot(BLOCK, 0, "yes")
    with pytest.raises(LocalProtocolError, match="proposal record"):
        run(not_a_proposal, [])


def test_ballot_on_another_proposal_is_a_caller_bug() -> None:
    other = proposal(ProposalKind.UNBLOCK)
    with pytest.raises(LocalProtocolError, match="names proposal"):
        run(BLOCK, [ballot(BLOCK, 0, "yes"), ballot(other, 1, "yes")])


def test_non_ballot_record_is_a_caller_bug() -> None:
    with pytest.raises(LocalProtocolError, match="ballot records"):
        run(BLOCK, [BLOCK])


def test_ballot_for_another_coop_is_a_caller_bug() -> None:
    stray = _ballot(0, "yes", OPENS + 1, BLOCK.id, OTHER_COOP.did)
    with pytest.raises(LocalProtocolError, match="co-op"):
        run(BLOCK, [stray])


def test_bad_charter_id_is_a_caller_bug() -> None:
    with pytest.raises(LocalProtocolError, match="charter_id"):
        tally(
            charter=CHARTER,
            charter_id=b"short",
            roster=roster(3),
            proposal=BLOCK,
            ballots=[],
            now_ms=AFTER,
        )


def test_the_same_record_twice_counts_once() -> None:
    b = ballot(BLOCK, 0, "yes")
    t = run(BLOCK, [b, b, b])
    assert t.counted == (b.id,)
    assert t.ignored == ()


# --------------------------------------------------------------------------- ignored ballots


def test_each_ignore_reason() -> None:
    outsider = len(MEMBERS)  # index of OUTSIDERS[0] in PEOPLE
    early = ballot(BLOCK, 0, "yes", OPENS - 1)
    at_open = ballot(BLOCK, 1, "yes", OPENS)
    at_close = ballot(BLOCK, 2, "yes", CLOSES)
    last_ms = ballot(BLOCK, 2, "no", CLOSES - 1)
    wrong_word = ballot(BLOCK, 3, "up")
    did_choice = ballot(BLOCK, 3, C1)
    stranger = ballot(BLOCK, outsider, "yes")
    first = ballot(BLOCK, 4, "yes", OPENS + 10)
    second = ballot(BLOCK, 4, "no", OPENS + 20)
    t = run(
        BLOCK, [early, at_open, at_close, last_ms, wrong_word, did_choice, stranger, first, second]
    )
    reasons = dict(t.ignored)
    assert reasons == {
        early.id: "outside_window",
        at_close.id: "outside_window",
        wrong_word.id: "bad_choice",
        did_choice.id: "bad_choice",
        stranger.id: "not_eligible",
        first.id: "superseded",
    }
    assert set(t.counted) == {at_open.id, last_ms.id, second.id}
    assert counts(t) == {"abstain": 0, "no": 2, "yes": 1}
    assert [i for i, _ in t.ignored] == sorted(reasons)
    assert set(reasons.values()) <= set(IGNORE_REASONS)


def test_non_member_is_not_eligible_before_window_is_checked() -> None:
    stranger_late = ballot(BLOCK, len(MEMBERS), "maybe", CLOSES + 5)
    assert run(BLOCK, [stranger_late]).ignored == ((stranger_late.id, "not_eligible"),)


def test_a_later_invalid_ballot_does_not_cancel_a_valid_one() -> None:
    valid = ballot(BLOCK, 0, "yes", OPENS + 1)
    late = ballot(BLOCK, 0, "no", CLOSES + 1)
    garbled = ballot(BLOCK, 0, "down", OPENS + 2)
    t = run(BLOCK, [valid, late, garbled])
    assert t.counted == (valid.id,)
    assert dict(t.ignored) == {late.id: "outside_window", garbled.id: "bad_choice"}


def test_same_timestamp_greater_id_wins() -> None:
    a = ballot(BLOCK, 0, "yes", OPENS + 99)
    b = ballot(BLOCK, 0, "no", OPENS + 99)
    winner, loser = (a, b) if a.id > b.id else (b, a)
    for order in ([a, b], [b, a]):
        t = run(BLOCK, order)
        assert t.counted == (winner.id,)
        assert t.ignored == ((loser.id, "superseded"),)


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("choices", "result"),
    [
        (("yes", "no", "yes", "no"), "rejected"),  # exactly 50%: 200 > 200 is false
        (("yes", "no", "yes", "no", "yes"), "passed"),
        (("yes", "abstain", "abstain"), "passed"),  # abstain counts for quorum only
        (("abstain", "abstain", "abstain"), "rejected"),  # yes + no == 0
        (("no", "abstain"), "rejected"),
    ],
)
def test_pass_pct_boundary(choices: tuple[str, ...], result: str) -> None:
    assert run(BLOCK, votes(BLOCK, *choices)).result == result


@pytest.mark.parametrize(
    ("kind", "choices", "result"),
    [
        # amend_pct 75: exactly 75% is not more than 75%.
        (ProposalKind.AMEND, ("yes", "yes", "yes", "no"), "rejected"),
        (ProposalKind.AMEND, ("yes", "yes", "yes", "yes", "no"), "passed"),
        (ProposalKind.REVOKE, ("yes", "yes", "yes", "no"), "rejected"),
        (ProposalKind.REVOKE, ("yes", "yes", "yes", "yes", "no"), "passed"),
        # The same ballots under pass_pct 50 pass.
        (ProposalKind.BLOCK, ("yes", "yes", "yes", "no"), "passed"),
        (ProposalKind.UNBLOCK, ("yes", "yes", "yes", "no"), "passed"),
        (ProposalKind.ADMIT, ("yes", "yes", "yes", "no"), "passed"),
        (ProposalKind.ADMIT, ("yes", "no", "abstain"), "rejected"),
    ],
)
def test_threshold_by_kind(kind: ProposalKind, choices: tuple[str, ...], result: str) -> None:
    p = proposal(kind)
    assert run(p, votes(p, *choices), members=roster(8)).result == result


def test_pass_pct_66_two_of_three() -> None:
    charter = make_charter(pass_pct=66, amend_pct=66)
    assert run(BLOCK, votes(BLOCK, "yes", "yes", "no"), charter=charter).result == "passed"
    charter = make_charter(pass_pct=67, amend_pct=67)
    assert run(BLOCK, votes(BLOCK, "yes", "yes", "no"), charter=charter).result == "rejected"


@pytest.mark.parametrize(
    ("quorum_pct", "size", "needed"),
    [
        (30, 7, 3),
        (30, 10, 3),
        (30, 11, 4),
        (1, 1, 1),
        (1, 8, 1),
        (100, 7, 7),
        (50, 3, 2),
        (50, 4, 2),
        (99, 8, 8),
        (34, 3, 2),
    ],
)
def test_quorum_rounds_up(quorum_pct: int, size: int, needed: int) -> None:
    charter = make_charter(quorum_pct=quorum_pct)
    t = run(BLOCK, [], members=roster(size), charter=charter)
    assert t.quorum_needed == needed
    short = run(BLOCK, votes(BLOCK, *["yes"] * (needed - 1)), members=roster(size), charter=charter)
    assert (short.quorum_met, short.result) == (False, "no_quorum")
    enough = run(
        BLOCK,
        votes(BLOCK, *["abstain"] * (needed - 1), "yes"),
        members=roster(size),
        charter=charter,
    )
    assert (enough.quorum_met, enough.result) == (True, "passed")


def test_quorum_counts_only_counted_ballots() -> None:
    # Three ballots, but one member voted twice and one is a stranger: one counted of 7.
    bs = [
        ballot(BLOCK, 0, "yes", OPENS + 1),
        ballot(BLOCK, 0, "yes", OPENS + 2),
        ballot(BLOCK, len(MEMBERS), "yes"),
    ]
    t = run(BLOCK, bs, members=roster(7))
    assert (len(t.counted), t.quorum_needed, t.result) == (1, 3, "no_quorum")


# --------------------------------------------------------------------------- elections


def test_election_winner() -> None:
    t = run(ELECT, votes(ELECT, C2, C1, C2, "abstain"), members=roster(6))
    assert (t.result, t.winner) == ("elected", C2)
    assert counts(t) == {C1: 1, C2: 2, C3: 0, "abstain": 1}
    assert [k for k, _ in t.counts] == sorted(counts(t), key=str.encode)


def test_election_tie_for_first() -> None:
    t = run(ELECT, votes(ELECT, C1, C3, C1, C3, C2), members=roster(6))
    assert (t.result, t.winner) == ("tied", None)


def test_election_all_abstain_is_tied() -> None:
    t = run(ELECT, votes(ELECT, "abstain", "abstain"), members=roster(4))
    assert (t.quorum_met, t.result, t.winner) == (True, "tied", None)


def test_election_without_quorum() -> None:
    t = run(ELECT, votes(ELECT, C1), members=roster(8))
    assert (t.result, t.winner) == ("no_quorum", None)


def test_election_ballot_for_a_non_candidate() -> None:
    b = ballot(ELECT, 0, MEMBERS[5].did)
    yes = ballot(ELECT, 1, "yes")
    assert dict(run(ELECT, [b, yes]).ignored) == {b.id: "bad_choice", yes.id: "bad_choice"}


# --------------------------------------------------------------------------- ideas


@pytest.mark.parametrize(
    ("up", "down", "launched"),
    [
        (0, 0, False),
        (3, 0, False),
        (4, 0, True),
        (4, 4, True),
        (4, 5, False),
        (100, 100, True),
        (100, 101, False),
    ],
)
def test_idea_launched_boundaries(up: int, down: int, launched: bool) -> None:
    assert idea_launched(CHARTER, up, down) is launched


@pytest.mark.parametrize(("up", "down"), [(-1, 0), (0, -1), (True, 0), (1.0, 0)])
def test_idea_launched_rejects_non_counts(up: Any, down: Any) -> None:
    with pytest.raises(LocalProtocolError):
        idea_launched(CHARTER, up, down)


def test_idea_has_no_quorum_requirement() -> None:
    members = roster(8) | {o.did for o in OUTSIDERS}  # 11: quorum 30% is 4
    t = run(IDEA, votes(IDEA, "up", "up", "up"), members=members)
    assert (t.quorum_met, t.result) == (False, "not_launched")  # 3 == idea_up
    t = run(IDEA, votes(IDEA, "up", "up", "up", "up"), members=members)
    assert (t.quorum_needed, t.quorum_met, t.result) == (4, True, "launched")
    t = run(
        IDEA,
        votes(IDEA, "up", "up", "up", "up"),
        members=members,
        charter=make_charter(quorum_pct=100),
    )
    assert (t.quorum_met, t.result) == (False, "launched")


def test_idea_counts_are_up_and_down() -> None:
    t = run(IDEA, votes(IDEA, "up", "down", "up"))
    assert t.counts == (("down", 1), ("up", 2))
    assert dict(run(IDEA, [ballot(IDEA, 0, "yes")]).ignored) == {
        ballot(IDEA, 0, "yes").id: "bad_choice"
    }


# --------------------------------------------------------------------------- open and closed


def test_open_until_closes() -> None:
    bs = votes(BLOCK, "yes", "yes", "no")
    live = run(BLOCK, bs, now=CLOSES - 1)
    assert (live.result, live.closed, live.winner) == ("open", False, None)
    assert counts(live) == {"abstain": 0, "no": 1, "yes": 2}
    assert live.quorum_met
    with pytest.raises(LocalProtocolError, match="open"):
        live.to_decision()
    final = run(BLOCK, bs, now=CLOSES)
    assert (final.result, final.closed) == ("passed", True)
    assert final.counted == live.counted


def test_open_election_names_no_winner() -> None:
    t = run(ELECT, votes(ELECT, C1, C1), now=OPENS)
    assert (t.result, t.winner) == ("open", None)


# --------------------------------------------------------------------------- decisions


def test_to_decision_maps_every_field_and_signs() -> None:
    t = run(ELECT, votes(ELECT, C2, C1, C2), members=roster(6))
    d = t.to_decision()
    assert d == Decision(
        proposal=ELECT.id,
        result="elected",
        counts=t.counts,
        quorum_met=True,
        charter=CHARTER_ID,
        roster_size=6,
        roster_root=t.roster_root,
        ballots=3,
        ballots_root=t.ballots_root,
        winner=C2,
    )
    rec = Record.from_bytes(sign_record(COOP, coop=COOP.did, ts=AFTER, body=d).raw)
    assert isinstance(rec.body, Decision)
    check_decision(rec.body, t)


def test_to_decision_with_no_ballots() -> None:
    d = run(BLOCK, [], members=roster(3)).to_decision()
    assert (d.ballots, d.result, d.ballots_root) == (0, "no_quorum", hashlib.sha256().digest())


def _good() -> tuple[Tally, Decision]:
    t = run(BLOCK, votes(BLOCK, "yes", "yes", "no"))
    return t, t.to_decision()


OTHER_ID = hashlib.sha256(b"other").digest()


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("proposal", {"proposal": OTHER_ID, "ballots_root": OTHER_ID}),
        ("charter", {"charter": OTHER_ID}),
        ("roster_size", {"roster_size": 6, "result": "rejected"}),
        ("ballots", {"ballots": 2, "counts": (("abstain", 0), ("no", 0), ("yes", 2))}),
        ("ballots_root", {"ballots_root": OTHER_ID}),
        ("counts", {"counts": (("abstain", 0), ("no", 2), ("yes", 1))}),
        ("counts", {"counts": (("no", 1), ("yes", 2))}),
        ("counts", {"counts": (("abstain", 1), ("no", 1), ("yes", 1))}),
        ("quorum_met", {"quorum_met": False}),
        ("result", {"result": "rejected"}),
        ("result", {"result": "elected", "winner": C1}),
    ],
)
def test_check_decision_names_first_differing_field(field: str, changes: dict[str, Any]) -> None:
    t, good = _good()
    bad = replace(good, **changes)
    with pytest.raises(RecordRejected, match=rf"^decision body\.{field} ") as exc:
        check_decision(bad, t)
    assert exc.value.code == "decision_mismatch"


def test_check_decision_winner() -> None:
    t = run(ELECT, votes(ELECT, C2, C1, C2), members=roster(6))
    with pytest.raises(RecordRejected, match=r"^decision body\.winner "):
        check_decision(replace(t.to_decision(), winner=C1), t)


def test_check_decision_accepts_counts_in_any_order() -> None:
    t, good = _good()
    check_decision(replace(good, counts=tuple(reversed(good.counts))), t)


def test_check_decision_on_open_tally_rejects() -> None:
    t, good = _good()
    live = run(BLOCK, votes(BLOCK, "yes", "yes", "no"), now=CLOSES - 1)
    with pytest.raises(RecordRejected, match=r"^decision body\.result: .*still open"):
        check_decision(good, live)
    check_decision(good, t)


# --------------------------------------------------------------------------- ballots_root


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 17])
def test_ballots_root_is_rfc6962(n: int) -> None:
    ids = [hashlib.sha256(bytes([i])).digest() for i in range(n)]
    assert ballots_root(ids) == rfc6962_root(ids)


def test_ballots_root_empty_and_bad_ids() -> None:
    assert ballots_root([]) == hashlib.sha256(b"").digest()
    with pytest.raises(LocalProtocolError, match=r"ids\[1\]"):
        ballots_root([b"\x00" * 32, b"\x00" * 31])


# --------------------------------------------------------------------------- property tests


CHOICE_POOL = ("yes", "no", "abstain", "up", "down", C1, C2, C3, "maybe")
# CLOSES - 1 is left to the unit tests so that a ballot at CLOSES - 1 is strictly the latest.
TS_POOL = (OPENS - 1, OPENS, OPENS + 1, OPENS + 2, OPENS + DAY_MS, CLOSES - 2, CLOSES)
NOW_POOL = (OPENS, CLOSES - 1, CLOSES, AFTER)

ballot_specs = st.lists(
    st.tuples(
        st.integers(0, len(PEOPLE) - 1), st.sampled_from(CHOICE_POOL), st.sampled_from(TS_POOL)
    ),
    max_size=14,
)
kinds = st.sampled_from(list(ProposalKind))


def choices_of(p: Record) -> tuple[str, ...]:
    assert isinstance(p.body, Proposal)
    return p.body.choices


def build(kind: ProposalKind, specs: list[tuple[int, str, int]]) -> tuple[Record, list[Record]]:
    p = proposal(kind)
    return p, [ballot(p, who, c, ts) for who, c, ts in specs]


@settings(max_examples=60, deadline=None)
@given(kinds, ballot_specs, st.integers(1, 8), st.sampled_from(NOW_POOL), st.randoms())
def test_order_independent(
    kind: ProposalKind, specs: list[tuple[int, str, int]], n: int, now: int, rnd: Any
) -> None:
    p, bs = build(kind, specs)
    shuffled = list(bs)
    rnd.shuffle(shuffled)
    assert run(p, bs, members=roster(n), now=now) == run(p, shuffled, members=roster(n), now=now)


@settings(max_examples=40, deadline=None)
@given(kinds, ballot_specs.flatmap(lambda xs: st.permutations(xs).map(lambda p: (xs, p))))
def test_permutations_give_the_same_tally(
    kind: ProposalKind, pair: tuple[list[tuple[int, str, int]], list[tuple[int, str, int]]]
) -> None:
    original, permuted = pair
    p, a = build(kind, original)
    _, b = build(kind, permuted)
    assert run(p, a, members=roster(6)) == run(p, b, members=roster(6))


@settings(max_examples=60, deadline=None)
@given(kinds, ballot_specs, st.integers(1, 8), st.sampled_from(NOW_POOL))
def test_counts_add_up_and_every_ballot_is_accounted_for(
    kind: ProposalKind, specs: list[tuple[int, str, int]], n: int, now: int
) -> None:
    p, bs = build(kind, specs)
    t = run(p, bs, members=roster(n), now=now)
    assert sum(c for _, c in t.counts) == len(t.counted)
    assert [k for k, _ in t.counts] == sorted(choices_of(p), key=str.encode)
    distinct = {b.id for b in bs}
    assert set(t.counted) | {i for i, _ in t.ignored} == distinct
    assert not set(t.counted) & {i for i, _ in t.ignored}
    assert list(t.counted) == sorted(t.counted)
    assert len(t.counted) <= n
    assert t.ballots_root == rfc6962_root(list(t.counted))
    assert t.closed == (now >= CLOSES)
    assert (t.result == "open") == (not t.closed)
    if t.closed:
        check_decision(t.to_decision(), t)


@settings(max_examples=60, deadline=None)
@given(
    kinds,
    ballot_specs,
    st.integers(0, len(OUTSIDERS) - 1),
    st.sampled_from(CHOICE_POOL),
    st.sampled_from(TS_POOL),
    st.sampled_from(NOW_POOL),
)
def test_a_non_member_ballot_changes_nothing(
    kind: ProposalKind,
    specs: list[tuple[int, str, int]],
    outsider: int,
    choice: str,
    ts: int,
    now: int,
) -> None:
    p, bs = build(kind, specs)
    before = run(p, bs, members=roster(6), now=now)
    extra = ballot(p, len(MEMBERS) + outsider, choice, ts)
    after = run(p, [*bs, extra], members=roster(6), now=now)
    assert (after.counts, after.counted, after.result, after.winner, after.quorum_met) == (
        before.counts,
        before.counted,
        before.result,
        before.winner,
        before.quorum_met,
    )
    assert (extra.id, "not_eligible") in after.ignored


@settings(max_examples=60, deadline=None)
@given(kinds, ballot_specs, st.integers(0, 5), st.data())
def test_a_later_ballot_replaces_the_earlier(
    kind: ProposalKind, specs: list[tuple[int, str, int]], who: int, data: st.DataObject
) -> None:
    p, bs = build(kind, specs)
    choice = data.draw(st.sampled_from(choices_of(p)))
    latest = ballot(p, who, choice, CLOSES - 1)  # no earlier ballot is later than this
    if latest in bs:
        return
    t = run(p, [*bs, latest], members=roster(6))
    mine = [b for b in bs if b.author == PEOPLE[who].did]
    assert latest.id in t.counted
    for b in mine:
        assert b.id not in t.counted
    base = run(p, bs, members=roster(6))
    replaced = [b for b in mine if b.id in base.counted]
    for b in replaced:
        assert (b.id, "superseded") in t.ignored
    assert sum(c for _, c in t.counts) == len(base.counted) + (0 if replaced else 1)


# --------------------------------------------------------------------------- provisional blocks


NOW = T0 + 30 * DAY_MS
WINDOW = 7 * DAY_MS


@cache
def flag(
    who: int,
    ts: int,
    expires: int | None = None,
    requester: RequesterRef = REQ,
    coop: str = COOP.did,
) -> Record:
    body = Flag(
        requester=requester,
        target="requester",
        target_id=None,
        reason=FlagReason.UNDERPAID,
        expires=ts + 30 * DAY_MS if expires is None else expires,
    )
    return sign_record(PEOPLE[who], coop=coop, ts=ts, body=body)


def test_three_distinct_members_trigger_a_block() -> None:
    fs = [flag(0, NOW - DAY_MS), flag(1, NOW - 2 * DAY_MS), flag(2, NOW)]
    assert provisional_block_flags(CHARTER, fs, NOW) == tuple(sorted(f.id for f in fs))


def test_one_member_flagging_twice_counts_once() -> None:
    fs = [flag(0, NOW - DAY_MS), flag(0, NOW - HOUR), flag(1, NOW - HOUR)]
    assert provisional_block_flags(CHARTER, fs, NOW) is None


def test_latest_qualifying_flag_per_member_is_cited() -> None:
    old, new = flag(0, NOW - DAY_MS), flag(0, NOW - HOUR)
    others = [flag(1, NOW - HOUR), flag(2, NOW - HOUR)]
    got = provisional_block_flags(CHARTER, [new, old, *others], NOW)
    assert got == tuple(sorted(f.id for f in [new, *others]))
    # Retract the latest and the earlier one is cited instead.
    got = provisional_block_flags(CHARTER, [new, old, *others], NOW, excluded=frozenset({new.id}))
    assert got == tuple(sorted(f.id for f in [old, *others]))


@pytest.mark.parametrize(
    ("third", "blocked"),
    [
        (flag(2, NOW - WINDOW), False),  # the window's start is exclusive
        (flag(2, NOW - WINDOW + 1), True),
        (flag(2, NOW), True),  # ts == now counts
        (flag(2, NOW + 1), False),  # not yet made
        (flag(2, NOW - DAY_MS, expires=NOW), False),  # expires == now: expired
        (flag(2, NOW - DAY_MS, expires=NOW + 1), True),
    ],
)
def test_flag_window_boundaries(third: Record, blocked: bool) -> None:
    fs = [flag(0, NOW - DAY_MS), flag(1, NOW - DAY_MS), third]
    assert (provisional_block_flags(CHARTER, fs, NOW) is not None) is blocked


def test_retracted_flags_do_not_count() -> None:
    fs = [flag(0, NOW - DAY_MS), flag(1, NOW - DAY_MS), flag(2, NOW - DAY_MS)]
    assert provisional_block_flags(CHARTER, fs, NOW, excluded=frozenset({fs[2].id})) is None


def test_no_flags() -> None:
    assert provisional_block_flags(CHARTER, [], NOW) is None


def test_flags_must_name_one_requester_and_coop() -> None:
    other = RequesterRef(platform="mturk", id="A2OTHER")
    with pytest.raises(LocalProtocolError, match="one requester"):
        provisional_block_flags(CHARTER, [flag(0, NOW), flag(1, NOW, requester=other)], NOW)
    with pytest.raises(LocalProtocolError, match="one co-op"):
        provisional_block_flags(CHARTER, [flag(0, NOW), flag(1, NOW, coop=OTHER_COOP.did)], NOW)
    with pytest.raises(LocalProtocolError, match="flag records"):
        provisional_block_flags(CHARTER, [flag(0, NOW), BLOCK], NOW)


def test_block_rule_threshold_comes_from_the_charter() -> None:
    fs = [flag(i, NOW - HOUR) for i in range(4)]
    strict = make_charter(block_rule=BlockRule(flags=5, days=7, review_days=14))
    assert provisional_block_flags(strict, fs, NOW) is None
    lax = make_charter(block_rule=BlockRule(flags=2, days=1, review_days=14))
    assert provisional_block_flags(lax, fs[:2], NOW) == tuple(sorted(f.id for f in fs[:2]))


flag_specs = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.sampled_from((NOW - WINDOW, NOW - WINDOW + 1, NOW - DAY_MS, NOW - 1, NOW, NOW + 1)),
        st.sampled_from((None, NOW, NOW + 1)),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(flag_specs, st.randoms(), st.data())
def test_provisional_block_is_order_independent(
    specs: list[tuple[int, int, int | None]], rnd: Any, data: st.DataObject
) -> None:
    fs = [flag(w, ts, ex) for w, ts, ex in specs]
    excluded = frozenset(data.draw(st.lists(st.sampled_from([f.id for f in fs]))) if fs else [])
    shuffled = list(fs)
    rnd.shuffle(shuffled)
    got = provisional_block_flags(CHARTER, fs, NOW, excluded=excluded)
    assert got == provisional_block_flags(CHARTER, shuffled + fs[:1], NOW, excluded=excluded)
    if got is not None:
        authors = [next(f.author for f in fs if f.id == i) for i in got]
        assert len(set(authors)) == len(authors) >= CHARTER.block_rule.flags
        assert list(got) == sorted(got)
        assert not set(got) & excluded


# --------------------------------------------------------------------------- vectors


def _rec(h: str) -> Record:
    return Record.from_bytes(bytes.fromhex(h))


def _charter(h: str) -> Charter:
    body = _rec(h).body
    assert isinstance(body, Charter)
    return body


def _vector_tally(case: dict[str, Any]) -> Tally:
    return tally(
        charter=_charter(case["charter"]),
        charter_id=bytes.fromhex(case["charter_id"]),
        roster=frozenset(case["roster"]),
        proposal=_rec(case["proposal"]),
        ballots=[_rec(b) for b in case["ballots"]],
        now_ms=case["now_ms"],
        delegations=[_rec(d) for d in case["delegations"]],
    )


def _vector_flags(case: dict[str, Any]) -> tuple[bytes, ...] | None:
    return provisional_block_flags(
        _charter(case["charter"]),
        [_rec(f) for f in case["flags"]],
        case["now_ms"],
        excluded=frozenset(bytes.fromhex(x) for x in case["excluded"]),
    )


def _load() -> dict[str, Any]:
    return dict(json.loads(VECTORS.read_text(encoding="utf-8")))


def test_vectors_have_provenance_and_both_kinds() -> None:
    doc = _load()
    assert doc["provenance"]["generator"] == "spec/vectors/gen_governance.py"
    functions = {c["function"] for c in doc["valid"]}
    assert functions == {"tally", "provisional_block_flags", "idea_launched", "ballots_root"}
    assert {c["function"] for c in doc["invalid"]} >= {"tally", "check_decision"}


@pytest.mark.parametrize("case", _load()["valid"], ids=lambda c: c["name"])
def test_valid_vector(case: dict[str, Any]) -> None:
    fn = case["function"]
    if fn == "tally":
        t = _vector_tally(case)
        e = case["expected"]
        assert t.proposal_id.hex() == e["proposal_id"]
        assert t.charter_id.hex() == e["charter_id"]
        assert t.roster_size == e["roster_size"]
        assert [[k, n] for k, n in t.counts] == e["counts"]
        assert [i.hex() for i in t.counted] == e["counted"]
        assert t.ballots_root.hex() == e["ballots_root"]
        assert (t.quorum_needed, t.quorum_met) == (e["quorum_needed"], e["quorum_met"])
        assert (t.result, t.winner, t.closed) == (e["result"], e["winner"], e["closed"])
        assert [[i.hex(), r] for i, r in t.ignored] == e["ignored"]
        assert [i.hex() for i in t.delegated] == e["delegated"]
        root = t.delegations_root
        assert (None if root is None else root.hex()) == e["delegations_root"]
        if t.closed:
            rec = _rec(case["decision"])
            assert isinstance(rec.body, Decision)
            assert rec.body == t.to_decision()
            check_decision(rec.body, t)
        else:
            assert "decision" not in case
    elif fn == "provisional_block_flags":
        got = _vector_flags(case)
        assert (None if got is None else [i.hex() for i in got]) == case["expected"]
    elif fn == "idea_launched":
        assert (
            idea_launched(_charter(case["charter"]), case["up"], case["down"]) is case["expected"]
        )
    else:
        assert fn == "ballots_root"
        assert ballots_root([bytes.fromhex(i) for i in case["ids"]]).hex() == case["expected"]


ERRORS = {
    "RecordRejected": RecordRejected,
    "TallyError": TallyError,
    "LocalProtocolError": LocalProtocolError,
}


@pytest.mark.parametrize("case", _load()["invalid"], ids=lambda c: c["name"])
def test_invalid_vector(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["error"]]) as exc:
        if case["function"] == "check_decision":
            body = _rec(case["decision"]).body
            assert isinstance(body, Decision)
            check_decision(body, _vector_tally(case))
        elif case["function"] == "tally":
            _vector_tally(case)
        else:
            _vector_flags(case)
    assert exc.value.code == case["code"]
    if "field" in case:
        assert exc.value.message.startswith(f"decision body.{case['field']}")
