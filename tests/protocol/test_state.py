"""The co-op state machine: admissibility rules and governance at work, on real signed records."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.applications import (
    admit_proposal_for,
    check_application,
    check_sponsorship,
    sponsored_application,
)
from coopfed.protocol.bodies import (
    DAY_MS,
    Appeal,
    Ballot,
    Block,
    BlockRule,
    Charter,
    Decision,
    Flag,
    FlagReason,
    MemberAdmit,
    MemberApply,
    MemberResign,
    MemberRevoke,
    Proposal,
    ProposalKind,
    Rating,
    Reply,
    RequesterKey,
    RequesterRef,
    Retraction,
    RoleAssign,
    Unblock,
)
from coopfed.protocol.errors import LocalProtocolError, RecordRejected
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import (
    CoopState,
    ProposalStatus,
    _Proposal,
    batchable_prefix,
    independent,
)

T0 = 1_767_225_600_000  # 2026-01-01
HOUR = 3_600_000
REQ = RequesterRef(platform="mturk", id="A1EXAMPLE")


def key(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(b"coopfed-test-" + name.encode()).digest())


CHARTER = Charter(
    name="Night Shift Co-op",
    quorum_pct=50,
    pass_pct=50,
    amend_pct=66,
    min_window_ms=HOUR,
    max_window_ms=14 * DAY_MS,
    idea_up=2,
    block_rule=BlockRule(flags=3, days=7, review_days=30),
    min_pay_cents=1200,
    admission="invite",
    roles=("coordinator",),
)


class Coop:
    """A co-op's log being written: the co-op key, members by name, and the state."""

    def __init__(self, founders: tuple[str, ...] = ("ana", "bo", "cy")) -> None:
        self.key = key("coop")
        self.state = CoopState(self.key.did)
        self.now = T0
        self.own(CHARTER)
        for name in founders:
            self.own(MemberAdmit(member=key(name).did, via="founder"))

    def sign(self, who: str | SigningIdentity, body: object, *, ts: int | None = None) -> Record:
        signer = key(who) if isinstance(who, str) else who
        return sign_record(signer, coop=self.key.did, ts=self.now if ts is None else ts, body=body)  # type: ignore[arg-type]

    def own(self, body: object, *, ts: int | None = None) -> Record:
        r = self.sign(self.key, body, ts=ts)
        self.state.apply(r, now_ms=self.now)
        return r

    def by(self, who: str, body: object, *, ts: int | None = None) -> Record:
        r = self.sign(who, body, ts=ts)
        self.state.apply(r, now_ms=self.now)
        return r

    def govern(self) -> list[Record]:
        done = []
        for _ in range(5):
            due = self.state.due(self.now)
            if not due:
                break
            done.extend(self.own(b) for b in due)
        return done

    def propose(self, who: str, **kw: object) -> Record:
        return self.by(who, Proposal(opens=self.now, closes=self.now + HOUR, **kw))  # type: ignore[arg-type]


class _Raises:
    def __init__(self, code: str) -> None:
        self.code = code
        self.ctx = pytest.raises(RecordRejected)

    def __enter__(self) -> None:
        self.ctx.__enter__()

    def __exit__(self, *exc: object) -> bool:
        handled = self.ctx.__exit__(*exc)  # type: ignore[arg-type]
        assert self.ctx.excinfo is not None
        assert self.ctx.excinfo.value.code == self.code, self.ctx.excinfo.value
        return bool(handled)


def flag(reason: FlagReason = FlagReason.UNDERPAID, *, now: int = T0) -> Flag:
    return Flag(
        requester=REQ, target="requester", target_id=None, reason=reason, expires=now + 30 * DAY_MS
    )


def test_log_must_start_with_charter() -> None:
    state = CoopState(key("coop").did)
    r = sign_record(
        key("coop"),
        coop=key("coop").did,
        ts=T0,
        body=MemberAdmit(member=key("ana").did, via="founder"),
    )
    with _Raises("no_charter"):
        state.check(r)
    assert state.size == 0


def test_founding_then_members_only() -> None:
    c = Coop()
    assert c.state.members() == {key(n).did for n in ("ana", "bo", "cy")}
    rating = Rating(requester=REQ, scores=(("pay", 2),), hourly_cents=500, minutes=20)
    c.by("ana", rating)
    with _Raises("not_member"):
        c.by("mallory", rating)
    # Founders may only be admitted right after the charter.
    with _Raises("not_founding"):
        c.own(MemberAdmit(member=key("dee").did, via="founder"))


def test_wrong_coop_duplicate_and_skew() -> None:
    c = Coop()
    other = sign_record(
        key("ana"), coop=key("elsewhere").did, ts=T0, body=Rating(requester=REQ, text="ok")
    )
    with _Raises("wrong_coop"):
        c.state.check(other)
    r = c.by("ana", Rating(requester=REQ, text="fine"))
    with _Raises("duplicate"):
        c.state.check(r)
    late = c.sign("bo", Rating(requester=REQ, text="x"), ts=T0 + 10 * 60_000)
    with _Raises("skew"):
        c.state.check(late, now_ms=T0)
    c.state.check(late)  # replaying a log reads no clock


def test_invite_is_single_use() -> None:
    c = Coop()
    ref = hashlib.sha256(b"token").digest()
    c.own(MemberAdmit(member=key("dee").did, via="invite", ref=ref))
    with _Raises("invite_used"):
        c.own(MemberAdmit(member=key("eve").did, via="invite", ref=ref))
    with _Raises("already_member"):
        c.own(MemberAdmit(member=key("dee").did, via="invite", ref=hashlib.sha256(b"t2").digest()))


def test_provisional_block_when_flags_cross_rule_and_review() -> None:
    c = Coop()
    c.by("ana", flag())
    c.by("bo", flag(FlagReason.UNFAIR_REJECTION))
    assert c.state.due(c.now) == ()
    c.by("bo", flag(FlagReason.UNFAIR_REJECTION), ts=T0 + 1)  # a second flag by bo adds no one
    assert c.state.due(c.now) == ()
    c.by("cy", flag(FlagReason.UNFAIR_REJECTION))
    (block,) = c.govern()
    body = block.body
    assert isinstance(body, Block) and body.provisional
    assert body.reason is FlagReason.UNFAIR_REJECTION
    assert len(body.flags) == 3
    assert REQ in c.state.active_blocks()
    # Nothing more is due until the review date.
    assert c.state.due(c.now + 29 * DAY_MS) == ()
    c.now += 30 * DAY_MS
    (unblock,) = c.govern()
    assert isinstance(unblock.body, Unblock) and unblock.body.why == "review"
    assert REQ not in c.state.active_blocks()
    # The same flags never block twice.
    assert c.state.due(c.now) == ()


def test_forged_provisional_block_is_refused() -> None:
    c = Coop()
    f1 = c.by("ana", flag())
    f2 = c.by("bo", flag())
    bogus = Block(
        requester=REQ,
        reason=FlagReason.UNDERPAID,
        provisional=True,
        review=c.now + 30 * DAY_MS,
        flags=tuple(sorted((f1.id, f2.id))),
    )
    with _Raises("flags_mismatch"):
        c.own(bogus)


def test_retracting_flags_ends_provisional_block() -> None:
    c = Coop()
    flags = [c.by(n, flag()) for n in ("ana", "bo", "cy")]
    c.govern()
    c.by("ana", Retraction(record=flags[0].id))
    (unblock,) = c.govern()
    assert isinstance(unblock.body, Unblock) and unblock.body.why == "retracted"
    with _Raises("not_author"):
        c.by("bo", Retraction(record=flags[2].id))
    with _Raises("already_retracted"):
        c.by("ana", Retraction(record=flags[0].id, reason="again"))


def test_block_by_vote_end_to_end() -> None:
    c = Coop()
    p = c.propose(
        "ana",
        kind=ProposalKind.BLOCK,
        pitch="Block A1EXAMPLE: pays $2/hour",
        requester=REQ,
        reason=FlagReason.UNDERPAID,
    )
    c.by("ana", Ballot(proposal=p.id, choice="yes"))
    c.by("bo", Ballot(proposal=p.id, choice="no"))
    c.by("bo", Ballot(proposal=p.id, choice="yes"))  # bo changes their mind: latest counts
    with _Raises("bad_choice"):
        c.by("cy", Ballot(proposal=p.id, choice="up"))
    assert c.govern() == []  # still open
    c.now += HOUR
    with _Raises("voting_closed"):
        c.by("cy", Ballot(proposal=p.id, choice="no"))
    decision, block = c.govern()
    d = decision.body
    assert isinstance(d, Decision)
    assert (d.result, dict(d.counts), d.ballots, d.roster_size) == (
        "passed",
        {"abstain": 0, "no": 0, "yes": 2},
        2,
        3,
    )
    assert isinstance(block.body, Block) and block.body.decision == decision.id
    assert c.state.due(c.now) == ()
    info = c.state.proposal(p.id)
    assert info is not None and info.decision is not None
    with _Raises("already_applied"):
        c.own(block.body, ts=c.now + 1)


def test_forged_decision_is_refused() -> None:
    c = Coop()
    p = c.propose(
        "ana", kind=ProposalKind.BLOCK, pitch="Block it", requester=REQ, reason=FlagReason.SCAM
    )
    c.by("ana", Ballot(proposal=p.id, choice="no"))
    c.now += HOUR
    (honest,) = c.state.due(c.now)
    assert isinstance(honest, Decision) and honest.result == "no_quorum"
    forged = Decision(
        proposal=honest.proposal,
        result="passed",
        counts=honest.counts,
        quorum_met=True,
        charter=honest.charter,
        roster_size=honest.roster_size,
        roster_root=honest.roster_root,
        ballots=honest.ballots,
        ballots_root=honest.ballots_root,
    )
    with pytest.raises(RecordRejected):
        c.own(forged)
    early = sign_record(c.key, coop=c.key.did, ts=c.now - HOUR, body=honest)
    with _Raises("voting_open"):
        c.state.check(early)


def test_only_roster_at_opening_votes() -> None:
    c = Coop()
    p = c.propose("ana", kind=ProposalKind.IDEA, pitch="Shared qualification test bank")
    c.own(MemberAdmit(member=key("dee").did, via="invite", ref=hashlib.sha256(b"d").digest()))
    with _Raises("not_eligible"):
        c.by("dee", Ballot(proposal=p.id, choice="up"))


def test_admit_by_vote_and_revoke_by_vote() -> None:
    c = Coop()
    app = c.by("dee", MemberApply(text="I do surveys at night"))
    with _Raises("already_member"):
        c.by("ana", MemberApply())
    p = c.propose(
        "ana", kind=ProposalKind.ADMIT, pitch="Admit dee", member=key("dee").did, application=app.id
    )
    for n in ("ana", "bo"):
        c.by(n, Ballot(proposal=p.id, choice="yes"))
    c.now += HOUR
    _, admit = c.govern()
    assert isinstance(admit.body, MemberAdmit) and admit.body.via == "decision"
    assert c.state.is_member(key("dee").did)
    q = c.propose("ana", kind=ProposalKind.REVOKE, pitch="Revoke dee", member=key("dee").did)
    for n in ("ana", "bo", "cy"):
        c.by(n, Ballot(proposal=q.id, choice="yes"))
    c.now += HOUR
    _, revoke = c.govern()
    assert isinstance(revoke.body, MemberRevoke)
    with _Raises("revoked"):
        c.by("dee", Rating(requester=REQ, text="still here?"))
    # The revoked member was a member when their application's admission passed.
    assert c.state.is_member(key("dee").did, at=admit_index(c, admit))


def admit_index(c: Coop, admit: Record) -> int:
    e = c.state.entry(admit.id)
    assert e is not None
    return e.index + 1


def test_resignation_is_carried_out_by_governance() -> None:
    c = Coop()
    c.by("cy", MemberResign(text="moving on"))
    (revoke,) = c.govern()
    assert isinstance(revoke.body, MemberRevoke) and revoke.body.via == "resignation"
    assert key("cy").did not in c.state.members()
    assert c.state.due(c.now) == ()


def test_resignation() -> None:
    c = Coop()
    r = c.by("cy", MemberResign(text="moving on"))
    c.own(MemberRevoke(member=key("cy").did, via="resignation", ref=r.id))
    assert key("cy").did not in c.state.members()
    with _Raises("mismatch"):
        c.own(MemberRevoke(member=key("bo").did, via="resignation", ref=r.id))


def test_amend_charter_and_elect_role() -> None:
    c = Coop()
    new_rules = Charter.from_value({**CHARTER.rules_value(), "min_pay_cents": 1500})
    p = c.propose(
        "ana", kind=ProposalKind.AMEND, pitch="Raise minimum pay to $15", charter=new_rules
    )
    for n in ("ana", "bo", "cy"):
        c.by(n, Ballot(proposal=p.id, choice="yes"))
    c.now += HOUR
    _, amended = c.govern()
    charter = c.state.charter
    assert charter is not None and charter[0] == amended.id and charter[1].min_pay_cents == 1500
    e = c.propose(
        "bo",
        kind=ProposalKind.ELECT,
        pitch="Coordinator 2026",
        role="coordinator",
        candidates=tuple(sorted((key("ana").did, key("cy").did), key=lambda d: d.encode())),
    )
    c.by("ana", Ballot(proposal=e.id, choice=key("cy").did))
    c.by("bo", Ballot(proposal=e.id, choice=key("cy").did))
    c.now += HOUR
    _, role = c.govern()
    assert isinstance(role.body, RoleAssign)
    assert c.state.roles() == {"coordinator": key("cy").did}
    with _Raises("unknown_role"):
        c.propose(
            "bo",
            kind=ProposalKind.ELECT,
            pitch="Treasurer",
            role="treasurer",
            candidates=(key("ana").did,),
        )


def test_requester_reply_needs_bound_key() -> None:
    c = Coop()
    r = c.by("ana", Rating(requester=REQ, scores=(("fair", 1),), text="rejected all"))
    reply = Reply(requester=REQ, about=r.id, text="We re-reviewed and approved your work.")
    with _Raises("not_requester_key"):
        c.by("requester", reply)
    c.own(
        RequesterKey(
            requester=REQ,
            key=key("requester").did,
            evidence="DID posted on the requester's platform profile",
        )
    )
    c.by("requester", reply)
    assert [e.record.type.value for e in c.state.requester_records(REQ)] == ["rating", "reply"]


def test_appeal_outcome_follows_own_appeal() -> None:
    c = Coop()
    a = c.by("ana", Appeal(requester=REQ, status="filed", rejected_cents=120))
    with _Raises("not_author"):
        c.by("bo", Appeal(requester=REQ, status="won", follows=a.id))
    c.by("ana", Appeal(requester=REQ, status="won", follows=a.id))


def test_window_must_follow_charter() -> None:
    c = Coop()
    with _Raises("bad_window"):
        c.by(
            "ana",
            Proposal(kind=ProposalKind.IDEA, pitch="x", opens=c.now, closes=c.now + 15 * DAY_MS),
        )
    with _Raises("bad_window"):
        c.by("ana", Proposal(kind=ProposalKind.IDEA, pitch="x", opens=c.now - DAY_MS, closes=c.now))


def test_failed_check_changes_nothing() -> None:
    c = Coop()
    before = (c.state.size, c.state.members())
    with pytest.raises(RecordRejected):
        c.by("mallory", Rating(requester=REQ, text="spam"))
    assert (c.state.size, c.state.members()) == before


@settings(max_examples=25, deadline=None)
@given(st.permutations(["ana", "bo", "cy", "dee", "eve"]), st.integers(0, 4))
def test_replay_reaches_same_state(order: list[str], n_yes: int) -> None:
    """A peer replaying the log without a clock reaches the same state as the live node."""
    c = Coop(founders=("ana", "bo", "cy", "dee", "eve"))
    p = c.propose(
        "ana", kind=ProposalKind.BLOCK, pitch="Block", requester=REQ, reason=FlagReason.BROKEN
    )
    log: list[Record] = []
    for i, name in enumerate(order):
        log.append(c.by(name, Ballot(proposal=p.id, choice="yes" if i < n_yes else "no")))
    c.now += HOUR
    c.govern()
    replay = CoopState(c.key.did)
    # Rebuild the whole log from the live state's entries, in index order.
    entries = sorted((c.state.entry(rid) for rid in _all_ids(c)), key=lambda e: e.index)  # type: ignore[union-attr]
    for e in entries:
        replay.apply(e.record)
    assert replay.size == c.state.size
    assert replay.active_blocks().keys() == c.state.active_blocks().keys()
    assert (REQ in replay.active_blocks()) == (n_yes * 100 > 50 * 5)


def _all_ids(c: Coop) -> list[bytes]:
    return list(c.state._entries)


def test_flags_of_revoked_members_stop_counting() -> None:
    c = Coop(founders=("ana", "bo", "cy", "dee"))
    c.by("ana", flag())
    c.by("bo", flag())
    resign = c.by("cy", MemberResign())
    c.own(MemberRevoke(member=key("cy").did, via="resignation", ref=resign.id))
    # cy resigned (and was revoked) before flagging: the flag cannot be signed in...
    with _Raises("revoked"):
        c.by("cy", flag())
    assert c.state.due(c.now) == ()
    c.by("dee", flag())
    (block,) = c.state.due(c.now)
    assert isinstance(block, Block)
    authors = {c.state.entry(f).record.author for f in block.flags}  # type: ignore[union-attr]
    assert authors == {key(n).did for n in ("ana", "bo", "dee")}


def test_flag_counts_only_while_its_author_is_a_member() -> None:
    c = Coop(founders=("ana", "bo", "cy", "dee"))
    c.by("ana", flag())
    c.by("bo", flag())
    c.by("cy", flag())
    resign = c.by("cy", MemberResign())
    # The block is due now (three members flagged), and so is cy's revocation...
    due = c.state.due(c.now)
    assert {type(b) for b in due} == {Block, MemberRevoke}
    c.own(MemberRevoke(member=key("cy").did, via="resignation", ref=resign.id))
    # ...but once cy has left, their flag no longer counts.
    assert c.state.due(c.now) == ()


# ----------------------------------------------------------------------------- tools on states


def _add(state: CoopState, record: Record) -> Record:
    """Apply ``record``; a governance-only state is told first that nothing is stored."""
    state.provide([], state.lookups([record]))
    return state.apply(record).record


def _mutable_parts(value: object) -> list[object]:
    """Every container inside ``value`` that ``apply`` may change (tuples are never changed)."""
    out: list[object] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            out.append(v)
            stack.extend(v.values())
        elif isinstance(v, list | set):
            out.append(v)
            stack.extend(v)
        elif isinstance(v, _Proposal):
            out.append(v)
            stack.append(v.ballots)
    return out


@pytest.mark.parametrize("keep_all", [True, False])
def test_fork_is_independent_of_the_original(keep_all: bool) -> None:
    coop = key("coop")
    state = CoopState(coop.did, keep_all=keep_all)

    def by(who: str | SigningIdentity, body: object, ts: int = T0) -> Record:
        signer = key(who) if isinstance(who, str) else who
        return sign_record(signer, coop=coop.did, ts=ts, body=body)  # type: ignore[arg-type]

    _add(state, by(coop, CHARTER))
    for name in ("ana", "bo"):
        _add(state, by(coop, MemberAdmit(member=key(name).did, via="founder")))
    first_flag = _add(state, by("ana", flag()))
    proposal = _add(
        state, by("ana", Proposal(kind=ProposalKind.IDEA, pitch="p", opens=T0, closes=T0 + HOUR))
    )
    _add(state, by("ana", Ballot(proposal=proposal.id, choice="up"), ts=T0 + 1))
    _add(state, by("bo", Rating(requester=REQ, text="fine"), ts=T0 + 1))

    def view(s: CoopState) -> tuple[object, ...]:
        return (
            s.size,
            s.members(),
            s.proposal(proposal.id),
            s.is_retracted(first_flag.id),
            s.due(T0 + HOUR),
            s.active_blocks(),
        )

    before = view(state)
    fork = state.fork()
    assert vars(fork) == vars(state)
    shared = {id(x) for x in _mutable_parts(vars(state))} & {
        id(x) for x in _mutable_parts(vars(fork))
    }
    assert not shared, "fork() shares a container with the original"
    _add(fork, by("bo", flag(), ts=T0 + 2))
    _add(fork, by("bo", Ballot(proposal=proposal.id, choice="down"), ts=T0 + 2))
    _add(fork, by("ana", Retraction(record=first_flag.id), ts=T0 + 3))
    _add(fork, by(coop, MemberAdmit(member=key("cy").did, via="invite", ref=b"\x01" * 32)))
    fork.settle()
    assert view(state) == before
    assert fork.size == state.size + 4
    info = fork.proposal(proposal.id)
    assert info is not None and len(info.ballots) == 2
    assert len(state.proposal(proposal.id).ballots) == 1  # type: ignore[union-attr]
    assert fork.is_retracted(first_flag.id) and key("cy").did in fork.members()


def test_batchable_prefix() -> None:
    c = Coop()
    a = c.sign("ana", Rating(requester=REQ, text="a"))
    b = c.sign("bo", Rating(requester=REQ, text="b"))
    ra = c.sign("ana", Retraction(record=a.id))
    ra2 = c.sign("ana", Retraction(record=a.id, reason="again"), ts=T0 + 1)
    charter = c.sign(c.key, CHARTER)
    assert batchable_prefix([a, b]) == 2 and independent([a, b])
    assert batchable_prefix([a, ra]) == 1  # the retraction cites a record in the batch
    assert batchable_prefix([ra, ra2]) == 1  # two retractions of one record
    assert batchable_prefix([a, a]) == 1  # a repeat
    assert batchable_prefix([charter, a]) == 1  # not a member's record: alone
    assert batchable_prefix([a, charter]) == 1
    assert batchable_prefix([]) == 0
    assert independent([b, ra])  # a is committed already: both check against the state


def test_proposal_status_follows_the_clock_and_the_decision() -> None:
    c = Coop()
    p = c.propose("ana", kind=ProposalKind.IDEA, pitch="an idea")
    info = c.state.proposal(p.id)
    assert info is not None
    assert info.status(T0) is ProposalStatus.OPEN
    assert info.status(T0 + HOUR - 1) is ProposalStatus.OPEN
    assert info.status(T0 + HOUR) is ProposalStatus.CLOSED
    c.now = T0 + HOUR
    c.govern()
    decided = c.state.proposal(p.id)
    assert decided is not None and decided.status(T0) is ProposalStatus.DECIDED


def test_join_by_vote_rules() -> None:
    c = Coop()
    dee = c.sign("dee", MemberApply(text="I do surveys at night"))
    with _Raises("invite_required"):
        check_application(c.state, dee, now_ms=c.now)
    by_vote = dataclasses.replace(CHARTER, admission="vote")
    empty = CoopState(c.key.did)
    empty.apply(c.sign(c.key, by_vote))
    with _Raises("no_members"):
        check_application(empty, dee, now_ms=c.now)
    state = CoopState(c.key.did)
    for body in (by_vote, *(MemberAdmit(member=key(n).did, via="founder") for n in ("ana", "bo"))):
        state.apply(c.sign(c.key, body))
    check_application(state, dee, now_ms=c.now)
    with _Raises("already_member"):
        check_application(state, c.sign("ana", MemberApply()), now_ms=c.now)
    with _Raises("skew"):
        check_application(state, dee, now_ms=c.now + HOUR)
    assert admit_proposal_for(state, dee.id) is None

    def sponsor(who: str, ts: int) -> Record:
        body = Proposal(
            kind=ProposalKind.ADMIT,
            pitch="Admit dee",
            member=key("dee").did,
            application=dee.id,
            opens=ts,
            closes=ts + HOUR,
        )
        return c.sign(who, body, ts=ts)

    first = sponsor("ana", c.now)
    assert sponsored_application(state, first) == dee.id  # held: not in the log yet
    assert sponsored_application(state, c.sign("ana", Rating(requester=REQ, text="x"))) is None
    check_sponsorship(state, dee.id)
    state.apply(dee)
    p = state.apply(first)
    with _Raises("duplicate"):
        check_application(state, dee, now_ms=c.now)
    info = admit_proposal_for(state, dee.id)
    assert info is not None and info.entry == p
    second = sponsor("bo", c.now + 1)
    assert sponsored_application(state, second) == dee.id  # its vote is open
    with _Raises("already_sponsored"):
        check_sponsorship(state, dee.id)
    again = c.sign("dee", MemberApply(text="me again"), ts=c.now + 1)
    with _Raises("already_applied"):
        check_application(state, again, now_ms=c.now)
    with pytest.raises(LocalProtocolError):
        check_application(state, c.sign("ana", Rating(requester=REQ, text="x")), now_ms=c.now)
