"""Delegated votes (governance.md §6): the tally, what a log keeps in force, and its copies."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.bodies import (
    Ballot,
    Charter,
    Decision,
    Delegation,
    FlagReason,
    MemberAdmit,
    MemberResign,
    Outcome,
    Proposal,
    ProposalKind,
    RequesterRef,
)
from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.errors import LocalProtocolError, RecordRejected
from coopfed.protocol.governance import check_decision, delegations_root, tally
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState

from .conftest import CHARTER, HOUR, T0, key

DELEGATING = replace(CHARTER, delegation=True)
PEOPLE = tuple(key(f"p{i}") for i in range(6))


class Coop:
    """A co-op under a charter with delegation, whose six founders are ``PEOPLE``."""

    def __init__(self, charter: Charter = DELEGATING, *, keep_all: bool = True) -> None:
        self.key = key("coop")
        self.state = CoopState(self.key.did, keep_all=keep_all)
        self.now = T0
        self.charter = self.add(self.key, charter)
        for p in PEOPLE:
            self.add(self.key, MemberAdmit(member=p.did, via="founder"))

    def add(self, who: SigningIdentity, body: Any) -> Record:
        self.now += 1
        record = sign_record(who, coop=self.key.did, ts=self.now, body=body)
        self.state.provide([], self.state.lookups([record]))
        self.state.apply(record)
        self.state.settle()
        return record

    def delegate(self, i: int, j: int | None) -> Record:
        return self.add(PEOPLE[i], Delegation(to=None if j is None else PEOPLE[j].did))

    def propose(self) -> Record:
        body = Proposal(
            kind=ProposalKind.IDEA, pitch="An idea", opens=self.now, closes=self.now + HOUR
        )
        return self.add(PEOPLE[0], body)

    def in_force(self) -> dict[str, str | None]:
        out = {}
        for delegator, e in self.state.delegations().items():
            assert isinstance(e.record.body, Delegation)
            out[delegator] = e.record.body.to
        return out


def names(pairs: dict[str, str | None]) -> set[tuple[int, int]]:
    index = {p.did: i for i, p in enumerate(PEOPLE)}
    return {(index[a], index[b]) for a, b in pairs.items() if b is not None}


# --------------------------------------------------------------------------- in force


def test_a_proposal_keeps_the_delegations_in_force_when_it_entered_the_log() -> None:
    c = Coop()
    c.delegate(1, 0)
    c.delegate(2, 0)
    c.delegate(2, None)
    c.delegate(3, 1)
    prop = c.propose()
    c.delegate(4, 0)  # after the proposal: not its
    c.delegate(1, None)
    info = c.state.proposal(prop.id)
    assert info is not None
    held = {(d.record.author, d.record.body.to) for d in info.delegations}  # type: ignore[attr-defined]
    assert held == {(PEOPLE[1].did, PEOPLE[0].did), (PEOPLE[3].did, PEOPLE[1].did)}
    assert names(c.in_force()) == {(3, 1), (4, 0)}
    # p0 votes up; p1 (delegated to p0) counts up; p3's delegate p1 cast nothing: one level.
    c.add(PEOPLE[0], Ballot(proposal=prop.id, choice="up"))
    t = c.state.proposal(prop.id).tally(DELEGATING, c.now + HOUR)  # type: ignore[union-attr]
    assert dict(t.counts) == {"down": 0, "up": 2}
    assert len(t.delegated) == 1 and t.delegations_root == delegations_root(t.delegated)


def test_a_delegation_ends_when_either_member_leaves() -> None:
    c = Coop()
    c.delegate(1, 0)
    c.delegate(2, 0)
    c.delegate(0, 3)
    c.delegate(4, 5)
    c.add(PEOPLE[0], MemberResign())
    for body in c.state.due(c.now):
        c.add(c.key, body)
    assert names(c.in_force()) == {(4, 5)}
    with pytest.raises(RecordRejected) as caught:
        c.state.check(
            sign_record(PEOPLE[1], coop=c.key.did, ts=c.now, body=Delegation(to=PEOPLE[0].did))
        )
    assert caught.value.code == "not_member"


def test_a_charter_without_delegation_ends_every_delegation() -> None:
    c = Coop()
    c.delegate(1, 0)
    amend = c.add(
        PEOPLE[0],
        Proposal(
            kind=ProposalKind.AMEND,
            pitch="No delegation",
            opens=c.now,
            closes=c.now + HOUR,
            charter=CHARTER,
        ),
    )
    for p in PEOPLE[:4]:
        c.add(p, Ballot(proposal=amend.id, choice="yes"))
    c.now += HOUR
    for _ in range(2):
        for body in c.state.due(c.now):
            c.add(c.key, body)
    assert c.state.charter is not None and not c.state.charter[1].delegation
    assert c.in_force() == {}
    with pytest.raises(RecordRejected) as caught:
        c.delegate(1, 0)
    assert caught.value.code == "delegation_not_allowed"


def test_the_decision_states_the_delegated_votes_and_its_outcome_follows() -> None:
    c = Coop()
    c.delegate(1, 0)
    c.delegate(2, 0)
    prop = c.propose()
    c.add(PEOPLE[0], Ballot(proposal=prop.id, choice="up"))
    c.now += HOUR
    (decision,) = c.state.due(c.now)
    assert isinstance(decision, Decision)
    assert (decision.ballots, decision.delegated, dict(decision.counts)) == (
        1,
        2,
        {"down": 0, "up": 3},
    )
    d = c.add(c.key, decision)
    with pytest.raises(RecordRejected) as caught:
        c.add(PEOPLE[1], Outcome(decision=d.id, text="Launched."))
    assert caught.value.code == "not_author"
    c.add(PEOPLE[0], Outcome(decision=d.id, text="Launched."))
    c.add(PEOPLE[0], Outcome(decision=d.id, text="Launched; see the forum."))


@pytest.mark.parametrize("keep_all", [True, False])
def test_fork_carries_the_delegations(keep_all: bool) -> None:
    c = Coop(keep_all=keep_all)
    c.delegate(1, 0)
    fork = c.state.fork()
    assert vars(fork) == vars(c.state)
    end = sign_record(PEOPLE[1], coop=c.key.did, ts=c.now + 1, body=Delegation())
    fork.provide([], fork.lookups([end]))
    fork.apply(end)
    assert names(c.in_force()) == {(1, 0)} and fork.delegations() == {}


def test_a_snapshot_carries_the_delegations_and_refuses_bad_ones() -> None:
    c = Coop(keep_all=False)
    c.delegate(1, 0)
    c.delegate(2, 1)
    prop = c.propose()
    c.delegate(2, None)
    data = c.state.snapshot()
    twin = CoopState.from_snapshot(c.key.did, data)
    assert vars(twin) == vars(c.state)
    assert twin.proposal(prop.id) == c.state.proposal(prop.id)
    value = decode(data, max_size=len(data))
    (pair,) = value["delegations"]
    ballot_like = value["delegations"][0][1]
    for bad in (
        [[PEOPLE[3].did, ballot_like]],  # not the delegator's own
        [[pair[0], [pair[1][0], value["entries"][0][1]]]],  # a charter, not a delegation
        [[pair[0], [10**6, pair[1][1]]]],  # beyond the log
    ):
        with pytest.raises(LocalProtocolError, match="snapshot"):
            CoopState.from_snapshot(c.key.did, encode({**value, "delegations": bad}))


# --------------------------------------------------------------------------- the tally


OPENS = T0 + HOUR
CLOSES = OPENS + HOUR
COOP = key("coop")
ROSTER = frozenset(p.did for p in PEOPLE)
PROPOSAL = sign_record(
    PEOPLE[0],
    coop=COOP.did,
    ts=OPENS,
    body=Proposal(
        kind=ProposalKind.BLOCK,
        pitch="Block",
        opens=OPENS,
        closes=CLOSES,
        requester=RequesterRef(platform="mturk", id="A1"),
        reason=FlagReason.SCAM,
    ),
)
CHARTER_ID = hashlib.sha256(b"charter").digest()


def _ballot(i: int, choice: str, ts: int) -> Record:
    return sign_record(
        PEOPLE[i], coop=COOP.did, ts=ts, body=Ballot(proposal=PROPOSAL.id, choice=choice)
    )


def _grant(i: int, j: int) -> Record:
    return sign_record(PEOPLE[i], coop=COOP.did, ts=OPENS - 1, body=Delegation(to=PEOPLE[j].did))


def _tally(ballots: list[Record], grants: list[Record], charter: Charter = DELEGATING) -> Any:
    return tally(
        charter=charter,
        charter_id=CHARTER_ID,
        roster=ROSTER,
        proposal=PROPOSAL,
        ballots=ballots,
        now_ms=CLOSES,
        delegations=grants,
    )


votes_st = st.dictionaries(
    st.integers(0, 5),
    st.lists(
        st.tuples(st.sampled_from(["yes", "no", "abstain"]), st.integers(OPENS, CLOSES - 1)),
        min_size=1,
        max_size=2,
    ),
    max_size=6,
)
grants_st = st.dictionaries(st.integers(0, 5), st.integers(0, 5), max_size=6).map(
    lambda d: {i: j for i, j in d.items() if i != j}
)


@settings(max_examples=80, deadline=None)
@given(votes_st, grants_st, st.randoms())
def test_delegated_votes_follow_the_rules(
    votes: dict[int, list[tuple[str, int]]], grants: dict[int, int], rnd: Any
) -> None:
    ballots = [_ballot(i, c, ts) for i, cast in votes.items() for c, ts in cast]
    delegations = [_grant(i, j) for i, j in grants.items()]
    t = _tally(ballots, delegations)
    # The order of the inputs changes nothing.
    rnd.shuffle(ballots)
    rnd.shuffle(delegations)
    assert _tally(ballots, delegations) == t
    # Direct ballots are counted exactly as without delegation; each delegated vote is one
    # more vote for the choice of its delegate's own counted ballot.
    base = _tally(ballots, [], replace(DELEGATING, delegation=False))
    assert t.counted == base.counted and t.ignored == base.ignored
    voted: set[str] = set()
    choice_of = {}
    for rid in t.counted:
        b = next(x for x in ballots if x.id == rid)
        assert isinstance(b.body, Ballot)
        choice_of[b.author] = b.body.choice
        voted.add(b.author)
    want = dict(base.counts)
    used = set()
    for d in delegations:
        assert isinstance(d.body, Delegation) and d.body.to is not None
        if d.author not in voted and d.body.to in voted:
            want[choice_of[d.body.to]] += 1
            used.add(d.id)
    assert dict(t.counts) == want
    assert set(t.delegated) == used and list(t.delegated) == sorted(used)
    assert sum(n for _, n in t.counts) == len(t.counted) + len(t.delegated)
    assert t.quorum_met == (len(t.counted) + len(t.delegated) >= t.quorum_needed)
    decision = t.to_decision()
    assert Decision.from_value(decision.to_value()) == decision
    check_decision(decision, t)


def test_the_tally_refuses_delegations_it_cannot_take() -> None:
    grant = _grant(1, 0)
    with pytest.raises(LocalProtocolError, match="does not allow"):
        _tally([], [grant], CHARTER)
    with pytest.raises(LocalProtocolError, match="two delegations"):
        _tally(
            [],
            [
                grant,
                sign_record(
                    PEOPLE[1], coop=COOP.did, ts=OPENS - 2, body=Delegation(to=PEOPLE[2].did)
                ),
            ],
        )
    with pytest.raises(LocalProtocolError, match="ends a delegation"):
        _tally([], [sign_record(PEOPLE[1], coop=COOP.did, ts=OPENS, body=Delegation())])
    with pytest.raises(LocalProtocolError, match="co-op"):
        _tally(
            [],
            [
                sign_record(
                    PEOPLE[1], coop=key("other").did, ts=OPENS, body=Delegation(to=PEOPLE[0].did)
                )
            ],
        )
    with pytest.raises(LocalProtocolError, match="delegation records"):
        _tally([], [_ballot(1, "yes", OPENS)])
    # The same record twice is one delegation.
    assert _tally([_ballot(0, "yes", OPENS)], [grant, grant]).delegated == (grant.id,)


def test_without_delegation_the_decision_is_unchanged_on_the_wire() -> None:
    t = _tally([_ballot(0, "yes", OPENS)], [], CHARTER)
    assert t.delegations_root is None and t.delegated == ()
    value = t.to_decision().to_value()
    assert "delegated" not in value and "delegations_root" not in value
    on = _tally([_ballot(0, "yes", OPENS)], [], DELEGATING).to_decision().to_value()
    assert on["delegated"] == 0 and on["delegations_root"] == hashlib.sha256(b"").digest()
    assert "delegation" not in CHARTER.to_value() and DELEGATING.to_value()["delegation"] is True
