"""Vectors for spec/state.md: small co-op logs, each record's verdict, and what ``due`` lists.

Each log is written from fixed seeds through ``CoopState`` (Ed25519 signatures are
deterministic, so the bytes are the same on every run). A step either offers one signed
record at the end of the log, with the node's clock ``now_ms`` (null: a replay without a
clock), and gives the verdict — ``accept``, or the error class and code of the first rule
it breaks — or asks ``due(now_ms)`` and gives every body the co-op's key must sign, in
order, as its type and canonical bytes. A refused record changes nothing. Every verdict is
declared by hand below and checked against the reference implementation while generating,
so the file cannot drift silently from either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from coopfed.protocol.bodies import (
    DAY_MS,
    Appeal,
    Ballot,
    Block,
    BlockRule,
    Body,
    Charter,
    Comment,
    Decision,
    Delegation,
    FederationPolicy,
    Flag,
    FlagReason,
    Follow,
    MemberAdmit,
    MemberApply,
    MemberResign,
    MemberRevoke,
    Outcome,
    Proposal,
    ProposalKind,
    Rating,
    Reply,
    RequesterKey,
    RequesterRef,
    Retraction,
    RoleAssign,
    TaskReport,
    Unblock,
)
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import ProtocolError
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import SIGNING_DOMAIN, Record, sign_record
from coopfed.protocol.state import DEFAULT_MAX_SKEW_MS, PROPOSAL_BACKDATE_MS, CoopState

SEED_PREFIX = b"coopfed/vectors/state/"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
REQ = RequesterRef(platform="mturk", id="A1EXAMPLE")
REQ2 = RequesterRef(platform="mturk", id="A2SECOND")
REQ3 = RequesterRef(platform="prolific", id="5f0c3b1e2d9a8c7b6a5f4e3d")
NAMES = ("coop", "other-coop", "ana", "bo", "cy", "dee", "eve", "fay", "rex")

#: Every code state.md gives a record that is refused at this layer, and InvalidRecord's.
CODES = (
    "wrong_coop", "duplicate", "skew", "no_charter", "not_member", "revoked", "already_member",
    "not_requester_key", "unknown_reference", "wrong_reference", "not_passed",
    "already_applied", "stale_charter", "mismatch", "bad_member", "not_founding",
    "invite_used", "invite_not_allowed", "no_members", "expired", "too_long", "not_author",
    "already_retracted", "bad_window", "unknown_role", "not_blocked", "voting_closed",
    "not_eligible", "bad_choice", "voting_not_open", "already_decided", "voting_open",
    "decision_mismatch", "bad_review", "already_blocked", "backdated", "flags_mismatch",
    "too_early", "still_flagged", "bad_policy", "members_only", "delegation_not_allowed",
    "self_delegation", "not_delegating", "too_soon", "too_old", "non_canonical_id",
    "not_coarse", "wrong_currency", "invalid_record",
)  # fmt: skip


def identity(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(SEED_PREFIX + name.encode()).digest())


def did(name: str) -> str:
    return identity(name).did


def fake_id(label: str) -> bytes:
    """A 32-byte id that names no record in any log here."""
    return hashlib.sha256(b"coopfed/vectors/state/no-such-record/" + label.encode()).digest()


def charter(
    admission: str, *, name: str = "Vector Day Shift Co-op", delegation: bool = False
) -> Charter:
    return Charter(
        name=name,
        quorum_pct=50,
        pass_pct=50,
        amend_pct=66,
        min_window_ms=HOUR,
        max_window_ms=14 * DAY_MS,
        idea_up=2,
        block_rule=BlockRule(flags=3, days=7, review_days=30),
        min_pay_cents=1200,
        admission=admission,
        roles=("coordinator",),
        delegation=delegation,
    )


def body_hex(body: Body) -> str:
    return encode(body.to_value()).hex()


class Log:
    """One co-op's log being written step by step, every verdict checked as it is recorded."""

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description
        self.coop = identity("coop")
        self.state = CoopState(self.coop.did)
        self.now = T0
        self.steps: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ records

    def sign(
        self, who: str, body: Body, *, ts: int | None = None, coop: str | None = None
    ) -> Record:
        return sign_record(
            identity(who),
            coop=self.coop.did if coop is None else coop,
            ts=self.now if ts is None else ts,
            body=body,
        )

    def offer(
        self,
        record: Record | bytes,
        expect: str,
        why: str = "",
        *,
        now: int | str | None = "clock",
    ) -> Record | None:
        """Offer one record (or raw bytes) at the end of the log; check and record the verdict.

        ``expect`` is ``accept`` or the code of the error expected. ``now`` is the node's
        clock (default: the log's clock; None: a replay without a clock).
        """
        now_ms = self.now if now == "clock" else now
        assert now_ms is None or isinstance(now_ms, int)
        raw = record if isinstance(record, bytes) else record.raw
        size = self.state.size
        step: dict[str, Any] = {"op": "apply", "record": raw.hex(), "now_ms": now_ms}
        try:
            parsed = Record.from_bytes(raw)
            self.state.apply(parsed, now_ms=now_ms)
        except ProtocolError as exc:
            assert expect == exc.code, f"{self.name}: {why}: expected {expect}, got {exc!r}"
            assert self.state.size == size
            step.update(verdict="reject", error=type(exc).__name__, code=exc.code)
            result = None
        else:
            assert expect == "accept", f"{self.name}: {why}: expected {expect}, accepted"
            step.update(verdict="accept")
            result = parsed
        if why:
            step["why"] = why
        self.steps.append(step)
        self.now += SECOND
        return result

    def add(self, who: str, body: Body, expect: str = "accept", why: str = "", **kw: Any) -> Any:
        ts = kw.pop("ts", None)
        coop = kw.pop("coop", None)
        return self.offer(self.sign(who, body, ts=ts, coop=coop), expect, why, **kw)

    def ok(self, who: str, body: Body, why: str = "") -> Record:
        record = self.add(who, body, "accept", why)
        assert record is not None
        return record

    # ------------------------------------------------------------------ governance

    def due(self, expected_types: Sequence[str], why: str = "") -> tuple[Body, ...]:
        """Record ``due(now)``; check the types listed are the ones declared."""
        got = self.state.due(self.now)
        types = [b.TYPE.value for b in got]
        assert types == list(expected_types), f"{self.name}: {why}: due gave {types}"
        step: dict[str, Any] = {
            "op": "due",
            "now_ms": self.now,
            "bodies": [{"type": b.TYPE.value, "body": body_hex(b)} for b in got],
        }
        if why:
            step["why"] = why
        self.steps.append(step)
        return got

    def govern(self, expected_types: Sequence[str], why: str = "") -> list[Record]:
        """List what is due, then sign each with the co-op key at ``now`` and append it."""
        bodies = self.due(expected_types, why)
        now = self.now
        done = []
        for body in bodies:
            record = self.sign("coop", body, ts=now)
            got = self.offer(record, "accept", f"the co-op signs what is due: {body.TYPE.value}")
            assert got is not None
            done.append(got)
        self.now = now + SECOND
        return done

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "coop": self.coop.did,
            "steps": self.steps,
        }


def flag(requester: RequesterRef, reason: FlagReason, now: int, days: int = 30) -> Flag:
    return Flag(
        requester=requester,
        target="requester",
        target_id=None,
        reason=reason,
        expires=now + days * DAY_MS,
    )


def rating(requester: RequesterRef = REQ, pay: int = 2) -> Rating:
    return Rating(requester=requester, scores=(("pay", pay),), hourly_cents=550, minutes=30)


def raw_record(who: str, coop: str, ts: int, rtype: str, body: dict[str, Any]) -> bytes:
    """A signed record built by hand, for faults ``sign_record`` refuses to make."""
    signer = identity(who)
    unsigned = {"author": signer.did, "body": body, "coop": coop, "ts": ts, "type": rtype, "v": 1}
    sig = signer.sign(SIGNING_DOMAIN + encode(unsigned))
    return encode({**unsigned, "sig": sig})


# --------------------------------------------------------------------------- log 1


def membership() -> Log:
    log = Log(
        "membership",
        "Founding, invites, the signer rules, resignation, flags, appeals, replies, "
        "retractions and policies, in a co-op that admits by invite.",
    )
    coop = log.coop.did
    founding = charter("invite")
    log.add("coop", MemberAdmit(member=did("ana"), via="founder"), "no_charter",
            "index 0 must be a charter")  # fmt: skip
    log.add("coop", Charter(**{**_fields(founding), "supersedes": fake_id("c"),
                               "decision": fake_id("d")}),
            "no_charter", "the first charter supersedes nothing")  # fmt: skip
    log.add("other-coop", founding, "wrong_coop", "a record for another co-op's log",
            coop=did("other-coop"))  # fmt: skip
    first = log.ok("coop", founding, "the founding charter")
    log.offer(first, "duplicate", "the same record twice")
    for name in ("ana", "bo", "cy"):
        log.ok("coop", MemberAdmit(member=did(name), via="founder"), f"founder {name}")
    log.add("coop", MemberAdmit(member=coop, via="founder"), "bad_member",
            "the co-op's key is never a member")  # fmt: skip
    log.add("coop", MemberAdmit(member=did("ana"), via="founder"), "already_member",
            "a member admitted twice")  # fmt: skip
    log.add("ana", rating(), "skew", "ts is 300 001 ms from the node's clock",
            now=log.now + DEFAULT_MAX_SKEW_MS + 1)  # fmt: skip
    rated = log.add("ana", rating(pay=3), "accept",
                    "ts exactly 300 000 ms from the clock is accepted; founding ends",
                    now=log.now + DEFAULT_MAX_SKEW_MS)  # fmt: skip
    log.add("coop", MemberAdmit(member=did("dee"), via="founder"), "not_founding",
            "founders only before the first other entry")  # fmt: skip
    invite = hashlib.sha256(b"invite token 1").digest()
    log.ok("coop", MemberAdmit(member=did("dee"), via="invite", ref=invite), "dee by invite")
    log.add("coop", MemberAdmit(member=did("eve"), via="invite", ref=invite), "invite_used",
            "an invite is single use")  # fmt: skip
    log.add("fay", rating(), "not_member", "an outsider rates")
    log.add("ana", MemberApply(text="Already in."), "already_member", "a member applies")
    applied = log.ok("fay", MemberApply(text="I transcribe audio."), "an outsider applies")
    answer = Reply(requester=REQ, text="We paid what we promised.", about=rated.id)
    log.add("rex", answer, "not_requester_key", "a requester key not bound yet")
    log.ok("coop", RequesterKey(requester=REQ, key=did("rex"),
                                evidence="Posted on the requester's verified profile."),
           "the co-op binds rex's key to mturk:A1EXAMPLE")  # fmt: skip
    log.ok("rex", answer, "the bound requester replies")
    log.add("rex", Reply(requester=REQ, text="Wrong record.", about=applied.id),
            "wrong_reference", "a reply about a member.apply")  # fmt: skip
    other = log.ok("bo", rating(REQ2), "bo rates another requester")
    log.add("rex", Reply(requester=REQ, text="Not ours.", about=other.id), "mismatch",
            "a reply about another requester's rating")  # fmt: skip
    resigned = log.ok("dee", MemberResign(text="Moving on."), "dee resigns")
    log.govern(["member.revoke"], "a resignation is carried out by the co-op's key")
    log.add("dee", rating(), "revoked", "a former member rates")
    log.add("coop", MemberRevoke(member=did("dee"), via="resignation", ref=resigned.id),
            "not_member", "revoking a former member")  # fmt: skip
    log.add("coop", MemberRevoke(member=did("cy"), via="resignation", ref=rated.id),
            "wrong_reference", "a resignation that is a rating")  # fmt: skip
    log.add("coop", MemberRevoke(member=did("cy"), via="resignation", ref=fake_id("r")),
            "unknown_reference", "a resignation not in the log")  # fmt: skip
    log.add("coop", MemberRevoke(member=did("cy"), via="resignation", ref=resigned.id),
            "mismatch", "dee's resignation cited to revoke cy")  # fmt: skip
    log.ok("coop", MemberAdmit(member=did("dee"), via="invite",
                               ref=hashlib.sha256(b"invite token 3").digest()),
           "dee rejoins by a new invite")  # fmt: skip
    log.add("coop", MemberRevoke(member=did("dee"), via="resignation", ref=resigned.id),
            "mismatch", "dee's resignation from an earlier membership, carried out already, "
            "cited to revoke dee again")  # fmt: skip
    log.due([], "dee has not resigned since rejoining: no revocation is due")
    again = log.ok("dee", MemberResign(text="Not for me after all."), "dee resigns again")
    log.ok("dee", MemberResign(text="Really leaving now."), "and once more before the co-op acts")
    log.due(["member.revoke"], "due cites dee's latest resignation")
    log.add("coop", MemberRevoke(member=did("dee"), via="resignation", ref=again.id), "accept",
            "an earlier resignation of the same membership is accepted too")  # fmt: skip
    log.due([], "the resignation is carried out")
    now = log.now
    log.add("ana", Flag(requester=REQ, target="requester", target_id=None,
                        reason=FlagReason.UNDERPAID, expires=now),
            "expired", "expires == ts")  # fmt: skip
    log.add("ana", flag(REQ, FlagReason.UNDERPAID, log.now, days=365), "accept",
            "expires == ts + 365 days is the longest allowed")  # fmt: skip
    log.add("ana", Flag(requester=REQ, target="requester", target_id=None,
                        reason=FlagReason.UNDERPAID, expires=log.now + 365 * DAY_MS + 1),
            "too_long", "expires one ms past ts + 365 days")  # fmt: skip
    appeal = log.ok("ana", Appeal(requester=REQ, status="filed"), "ana files an appeal")
    log.add("bo", Appeal(requester=REQ, status="won", follows=appeal.id), "not_author",
            "bo records the outcome of ana's appeal")  # fmt: skip
    log.add("ana", Appeal(requester=REQ2, status="won", follows=appeal.id), "mismatch",
            "the outcome names another requester")  # fmt: skip
    log.add("ana", Appeal(requester=REQ, status="won", follows=fake_id("a")),
            "unknown_reference", "the outcome of an appeal not in the log")  # fmt: skip
    log.ok("ana", Appeal(requester=REQ, status="won", follows=appeal.id), "ana's outcome")
    log.add("bo", Retraction(record=rated.id), "not_author", "bo retracts ana's rating")
    log.add("ana", Retraction(record=applied.id), "wrong_reference",
            "a member.apply cannot be retracted")  # fmt: skip
    log.ok("ana", Retraction(record=rated.id, reason="Wrong requester."), "ana retracts")
    log.add("ana", Retraction(record=rated.id), "already_retracted", "retracted twice")
    itself = FederationPolicy(follow=(Follow(coop=coop),), adopt=(), decision=fake_id("p"))
    log.add("coop", itself, "unknown_reference",
            "a policy citing a decision not in the log (checked before bad_policy)")  # fmt: skip
    log.add("coop", FederationPolicy(follow=(Follow(coop=coop),), adopt=()), "bad_policy",
            "a co-op does not follow itself")  # fmt: skip
    log.ok("coop", FederationPolicy(follow=(Follow(coop=did("other-coop")),), adopt=()),
           "the co-op follows another")  # fmt: skip
    idea = log.ok("ana", Proposal(kind=ProposalKind.IDEA, pitch="A shared rate sheet",
                                  opens=log.now, closes=log.now + HOUR),
                  "an idea; its roster is ana, bo, cy")  # fmt: skip
    log.ok("coop", MemberAdmit(member=did("eve"), via="invite",
                               ref=hashlib.sha256(b"invite token 2").digest()),
           "eve joins after the idea entered the log")  # fmt: skip
    log.add("eve", Ballot(proposal=idea.id, choice="up"), "not_eligible",
            "eve is a member but not on the idea's roster")  # fmt: skip
    log.ok("bo", Ballot(proposal=idea.id, choice="up"), "bo votes up")
    log.offer(raw_record("coop", coop, log.now, "rating", rating().to_value()),
              "invalid_record", "a member record signed by the co-op key is not well-formed "
              "(records.md signer rule): InvalidRecord before any state rule")  # fmt: skip
    body = idea.body
    assert isinstance(body, Proposal)
    log.now = body.closes
    log.govern(["decision"], "the idea closed: its tally is due")
    log.due([], "an idea has no automatic consequence")
    return log


def _fields(c: Charter) -> dict[str, Any]:
    return {
        name: getattr(c, name)
        for name in (
            "name", "quorum_pct", "pass_pct", "amend_pct", "min_window_ms", "max_window_ms",
            "idea_up", "block_rule", "min_pay_cents", "admission", "roles", "delegation",
        )
    }  # fmt: skip


# --------------------------------------------------------------------------- log 2


def votes() -> Log:
    log = Log(
        "votes",
        "Proposals, ballots and decisions in a co-op that admits by vote: admission, "
        "revocation, an election and a charter amendment, each carried out by the co-op key.",
    )
    founding = charter("vote")
    first = log.ok("coop", founding, "the founding charter (admission by vote)")
    for name in ("ana", "bo", "cy"):
        log.ok("coop", MemberAdmit(member=did(name), via="founder"), f"founder {name}")
    log.add("coop", MemberAdmit(member=did("dee"), via="invite",
                                ref=hashlib.sha256(b"invite").digest()),
            "invite_not_allowed", "this charter admits by vote only")  # fmt: skip

    def proposal(kind: ProposalKind, *, opens: int | None = None, length: int = HOUR,
                 **kw: Any) -> Proposal:  # fmt: skip
        start = log.now if opens is None else opens
        return Proposal(kind=kind, pitch=f"Proposal: {kind.value}", opens=start,
                        closes=start + length, **kw)  # fmt: skip

    log.add("ana", proposal(ProposalKind.IDEA, length=HOUR - 1), "bad_window",
            "a window shorter than min_window_ms")  # fmt: skip
    log.add("ana", proposal(ProposalKind.IDEA, opens=log.now - PROPOSAL_BACKDATE_MS - 1),
            "bad_window", "opens more than 5 minutes before ts")  # fmt: skip
    log.add("ana", proposal(ProposalKind.ELECT, role="treasurer", candidates=(did("ana"),)),
            "unknown_role", "the charter has no role treasurer")  # fmt: skip
    cands = tuple(sorted((did("ana"), did("fay")), key=str.encode))
    log.add("ana", proposal(ProposalKind.ELECT, role="coordinator", candidates=cands),
            "not_member", "a candidate who is not a member")  # fmt: skip
    log.add("ana", proposal(ProposalKind.UNBLOCK, requester=REQ), "not_blocked",
            "unblocking a requester who is not blocked")  # fmt: skip
    log.add("ana", proposal(ProposalKind.REVOKE, member=did("fay")), "not_member",
            "revoking a non-member")  # fmt: skip
    log.add("ana", proposal(ProposalKind.ADMIT, member=did("bo")), "already_member",
            "admitting a member")  # fmt: skip
    applied = log.ok("dee", MemberApply(text="Evenings, surveys."), "dee applies")
    log.add("ana", proposal(ProposalKind.ADMIT, member=did("eve"), application=applied.id),
            "mismatch", "eve's admission citing dee's application")  # fmt: skip
    opens = log.now + 10 * MINUTE
    admit = log.ok("ana", proposal(ProposalKind.ADMIT, member=did("dee"),
                                   application=applied.id, opens=opens),
                   "admit dee; opens in 10 minutes")  # fmt: skip
    body = admit.body
    assert isinstance(body, Proposal)
    log.add("ana", Ballot(proposal=admit.id, choice="yes"), "voting_not_open",
            "ts before opens")  # fmt: skip
    log.now = body.opens
    log.add("dee", Ballot(proposal=admit.id, choice="yes"), "not_member", "the applicant votes")
    log.add("ana", Ballot(proposal=admit.id, choice="up"), "bad_choice",
            "up is not a choice on an admit proposal")  # fmt: skip
    log.add("ana", Ballot(proposal=fake_id("b"), choice="yes"), "unknown_reference",
            "a ballot on a proposal not in the log")  # fmt: skip
    log.add("ana", Ballot(proposal=first.id, choice="yes"), "wrong_reference",
            "a ballot on the charter")  # fmt: skip
    log.ok("ana", Ballot(proposal=admit.id, choice="yes"), "ana: yes")
    log.ok("bo", Ballot(proposal=admit.id, choice="yes"), "bo: yes")
    log.ok("cy", Ballot(proposal=admit.id, choice="no"), "cy: no")
    log.ok("cy", Ballot(proposal=admit.id, choice="yes"), "cy changes to yes")
    log.add("bo", Ballot(proposal=admit.id, choice="no"), "voting_closed", "ts == closes",
            ts=body.closes, now=body.closes)  # fmt: skip
    log.add("bo", Ballot(proposal=admit.id, choice="no"), "voting_closed",
            "ts inside the window, but the node's clock is at closes",
            ts=body.closes - SECOND, now=body.closes)  # fmt: skip
    tallied = log.state.proposal(admit.id)
    assert tallied is not None
    early = tallied.tally(founding, body.closes).to_decision()
    log.add("coop", early, "voting_open", "a decision signed before the window closed",
            ts=body.closes - 1, now=body.closes)  # fmt: skip
    log.now = body.closes
    due = log.due(["decision"], "the admission closed: its tally is due")
    decision = due[0]
    assert isinstance(decision, Decision)
    forged = Decision(**{**_decision_fields(decision), "result": "rejected"})
    log.add("coop", forged, "decision_mismatch", "a decision whose result is not the tally's "
            "(check_decision's code, as in a bundle)")  # fmt: skip
    d_admit = log.ok("coop", decision, "the co-op signs the tally")
    log.add("coop", forged, "already_decided", "a second decision on the proposal")
    log.add("ana", Ballot(proposal=admit.id, choice="no"), "voting_closed",
            "a ballot after the decision (replayed, no clock)", ts=body.closes - SECOND,
            now=None)  # fmt: skip
    log.add("coop", MemberAdmit(member=did("eve"), via="decision", ref=d_admit.id),
            "mismatch", "the decision admitted dee, not eve")  # fmt: skip
    log.govern(["member.admit"], "the passed admission is carried out")
    log.add("coop", MemberAdmit(member=did("eve"), via="decision", ref=d_admit.id),
            "already_applied", "the decision was carried out already")  # fmt: skip

    revoke = log.ok("ana", proposal(ProposalKind.REVOKE, member=did("cy")), "revoke cy")
    rbody = revoke.body
    assert isinstance(rbody, Proposal)
    log.ok("ana", Ballot(proposal=revoke.id, choice="yes"), "ana: yes")
    log.ok("bo", Ballot(proposal=revoke.id, choice="no"), "bo: no")
    log.now = rbody.closes
    (d_revoke,) = log.govern(["decision"], "1 yes, 1 no under amend_pct 66: rejected")
    log.add("coop", MemberRevoke(member=did("cy"), via="decision", ref=d_revoke.id),
            "not_passed", "revoking on a rejected decision")  # fmt: skip
    log.add("coop", MemberRevoke(member=did("cy"), via="decision", ref=d_admit.id),
            "wrong_reference", "revoking on an admit decision")  # fmt: skip
    log.due([], "a rejected decision has no consequence")

    cands = tuple(sorted((did("ana"), did("bo")), key=str.encode))
    elect = log.ok("bo", proposal(ProposalKind.ELECT, role="coordinator", candidates=cands),
                   "elect a coordinator")  # fmt: skip
    ebody = elect.body
    assert isinstance(ebody, Proposal)
    for name, choice in (("ana", did("ana")), ("bo", did("ana")), ("cy", did("bo")),
                         ("dee", "abstain")):  # fmt: skip
        log.ok(name, Ballot(proposal=elect.id, choice=choice), f"{name} votes")
    log.now = ebody.closes
    (d_elect,) = log.govern(["decision"], "ana is elected")
    log.add("coop", RoleAssign(role="coordinator", member=did("bo"), decision=d_elect.id),
            "mismatch", "assigning the role to the runner-up")  # fmt: skip
    log.add("coop", RoleAssign(role="coordinator", member=did("dee"), decision=d_admit.id),
            "not_passed", "an admit decision is not 'elected'")  # fmt: skip
    log.govern(["role.assign"], "the election is carried out")

    new_rules = charter("vote", name="Vector Day and Night Shift Co-op")
    amend = log.ok("ana", proposal(ProposalKind.AMEND, charter=new_rules), "rename the co-op")
    abody = amend.body
    assert isinstance(abody, Proposal)
    for name in ("ana", "bo", "cy"):
        log.ok(name, Ballot(proposal=amend.id, choice="yes"), f"{name}: yes")
    log.now = abody.closes
    (d_amend,) = log.govern(["decision"], "3 of 3 yes: passed")
    log.add("coop", Charter(**{**_fields(new_rules), "supersedes": fake_id("old"),
                               "decision": d_amend.id}),
            "stale_charter", "supersedes is not the charter in force")  # fmt: skip
    log.add("coop", Charter(**{**_fields(new_rules), "name": "Another name",
                               "supersedes": first.id, "decision": d_amend.id}),
            "mismatch", "rules other than the ones voted on")  # fmt: skip
    log.govern(["charter"], "the amendment is carried out")
    log.add("coop", Charter(**{**_fields(new_rules), "supersedes": first.id,
                               "decision": d_amend.id}),
            "stale_charter", "the first charter is no longer in force")  # fmt: skip

    revoke2 = log.ok("ana", proposal(ProposalKind.REVOKE, member=did("cy")), "revoke cy again")
    r2 = revoke2.body
    assert isinstance(r2, Proposal)
    for name in ("ana", "bo", "dee"):
        log.ok(name, Ballot(proposal=revoke2.id, choice="yes"), f"{name}: yes")
    log.now = r2.closes
    log.govern(["decision"], "3 yes: passed")
    log.govern(["member.revoke"], "the revocation is carried out")
    log.add("cy", rating(), "revoked", "cy was revoked")

    # Nodes before issue 11 appended every application at once, with an admit proposal the
    # co-op key signed; nodes now wait for a member's proposal, but old logs stay valid.
    fay = log.ok("fay", MemberApply(text="Transcription."), "fay applies")
    log.ok("coop", proposal(ProposalKind.ADMIT, member=did("fay"), application=fay.id),
           "the co-op key proposes fay's admission, as nodes did before issue 11: "
           "admissible")  # fmt: skip
    return log


def _decision_fields(d: Decision) -> dict[str, Any]:
    return {
        name: getattr(d, name)
        for name in (
            "proposal", "result", "counts", "quorum_met", "charter", "roster_size",
            "roster_root", "ballots", "ballots_root", "winner", "delegated", "delegations_root",
        )
    }  # fmt: skip


# --------------------------------------------------------------------------- log 3


def empty() -> Log:
    log = Log("no-members", "A co-op whose only member resigned cannot vote on anything.")
    log.ok("coop", charter("invite"), "the founding charter")
    log.ok("coop", MemberAdmit(member=did("ana"), via="founder"), "founder ana")
    log.ok("ana", MemberResign(), "ana resigns")
    log.govern(["member.revoke"], "the resignation is carried out")
    idea = Proposal(kind=ProposalKind.IDEA, pitch="Start again", opens=log.now,
                    closes=log.now + HOUR)  # fmt: skip
    log.add("ana", idea, "revoked", "a former member proposes")
    log.add("coop", idea, "no_members", "the co-op proposes with nobody to vote")
    return log


# --------------------------------------------------------------------------- log 4


def blocks() -> Log:
    log = Log(
        "blocks",
        "Provisional blocks on flags (3 members within 7 days, review after 30), their end by "
        "retraction and at review, and a block and an unblock by vote.",
    )
    log.ok("coop", charter("invite"), "the founding charter")
    for name in ("ana", "bo", "cy", "dee"):
        log.ok("coop", MemberAdmit(member=did(name), via="founder"), f"founder {name}")
    f_ana = log.ok("ana", flag(REQ, FlagReason.UNDERPAID, log.now), "ana flags: underpaid")
    f_bo = log.ok("bo", flag(REQ, FlagReason.SCAM, log.now), "bo flags: scam")
    log.due([], "two flags do not cross a rule of three")
    two = tuple(sorted((f_ana.id, f_bo.id)))
    log.add("coop", Block(requester=REQ, reason=FlagReason.UNDERPAID, provisional=True,
                          review=log.now + 30 * DAY_MS, flags=two),
            "flags_mismatch", "a provisional block on two flags")  # fmt: skip
    f_cy = log.ok("cy", flag(REQ, FlagReason.UNDERPAID, log.now), "cy flags: underpaid")
    due = log.due(["block"], "three members flagged: a provisional block is due")
    block = due[0]
    assert isinstance(block, Block)
    now = log.now

    def forged(**kw: Any) -> Block:
        fields = {name: getattr(block, name) for name in
                  ("requester", "reason", "provisional", "review", "decision", "flags", "note")}
        return Block(**{**fields, **kw})  # fmt: skip

    log.add("coop", forged(review=now), "bad_review", "review == ts", ts=now)
    log.add("coop", forged(review=now + 29 * DAY_MS), "bad_review",
            "review is not ts + review_days", ts=now)  # fmt: skip
    log.add("coop", forged(reason=FlagReason.SCAM), "mismatch",
            "the commonest reason is underpaid (2 of 3)", ts=now)  # fmt: skip
    log.add("coop", forged(flags=tuple(sorted((f_ana.id, f_cy.id)))), "flags_mismatch",
            "two of the three flags", ts=now)  # fmt: skip
    log.add("coop", forged(), "backdated",
            "dated more than an hour before the latest record (a replay: no clock)",
            ts=now - 2 * HOUR, now=None)  # fmt: skip
    log.now = now
    (blocked,) = log.govern(["block"], "the provisional block, signed")
    log.add("coop", forged(), "already_blocked", "a second provisional block")
    log.add("coop", Unblock(requester=REQ, block=blocked.id, why="review"), "too_early",
            "before the review date")  # fmt: skip
    log.add("coop", Unblock(requester=REQ, block=blocked.id, why="retracted"), "still_flagged",
            "no flag was retracted")  # fmt: skip
    log.add("coop", Unblock(requester=REQ, block=blocked.id, why="expired"), "still_flagged",
            "the flags have not expired")  # fmt: skip
    log.add("coop", Unblock(requester=REQ, block=fake_id("blk"), why="review"),
            "unknown_reference", "a block not in the log")  # fmt: skip
    log.add("coop", Unblock(requester=REQ, block=f_ana.id, why="review"), "wrong_reference",
            "a flag is not a block")  # fmt: skip
    log.ok("ana", Retraction(record=f_ana.id), "ana retracts her flag")
    log.govern(["unblock"], "two flags left, from two members: the block ends")
    log.add("coop", Unblock(requester=REQ, block=blocked.id, why="retracted"), "not_blocked",
            "that block has ended")  # fmt: skip
    log.due([], "cited flags never count again")

    vote = log.ok("bo", Proposal(kind=ProposalKind.BLOCK, pitch="Block a scam",
                                 opens=log.now, closes=log.now + HOUR, requester=REQ2,
                                 reason=FlagReason.SCAM),
                  "a block proposal")  # fmt: skip
    vbody = vote.body
    assert isinstance(vbody, Proposal)
    for name in ("ana", "bo", "cy"):
        log.ok(name, Ballot(proposal=vote.id, choice="yes"), f"{name}: yes")
    log.now = vbody.closes
    (d_block,) = log.govern(["decision"], "3 yes: passed")
    log.add("coop", Block(requester=REQ2, reason=FlagReason.UNDERPAID, provisional=False,
                          review=log.now + 365 * DAY_MS, decision=d_block.id),
            "mismatch", "the block names another reason than the proposal")  # fmt: skip
    log.govern(["block"], "the block by vote, reviewed in 365 days")
    lift = log.ok("cy", Proposal(kind=ProposalKind.UNBLOCK, pitch="They paid up",
                                 opens=log.now, closes=log.now + HOUR, requester=REQ2),
                  "an unblock proposal")  # fmt: skip
    lbody = lift.body
    assert isinstance(lbody, Proposal)
    for name in ("ana", "cy", "dee"):
        log.ok(name, Ballot(proposal=lift.id, choice="yes"), f"{name}: yes")
    log.now = lbody.closes
    log.govern(["decision"], "3 yes: passed")
    log.govern(["unblock"], "the unblock by vote")

    for name, reason in (("ana", FlagReason.BROKEN), ("bo", FlagReason.BROKEN),
                         ("dee", FlagReason.PRIVACY)):  # fmt: skip
        log.ok(name, flag(REQ3, reason, log.now, days=60), f"{name} flags {REQ3}")
    log.govern(["block"], "three members flagged: a provisional block")
    log.now += 30 * DAY_MS
    log.govern(["unblock"], "30 days later the review is due")
    log.due([], "nothing more")
    return log


# --------------------------------------------------------------------------- log 5


def amended_rule() -> Log:
    log = Log(
        "amended-block-rule",
        "A provisional block made under a rule of 3 flags outlives an amendment to 4: its end "
        "by retraction is judged by the rule it was made under, not the rule in force now.",
    )
    first = log.ok("coop", charter("invite"), "the founding charter: 3 flags within 7 days")
    for name in ("ana", "bo", "cy", "dee"):
        log.ok("coop", MemberAdmit(member=did(name), via="founder"), f"founder {name}")
    f_ana = log.ok("ana", flag(REQ, FlagReason.UNDERPAID, log.now), "ana flags")
    for name in ("bo", "cy"):
        log.ok(name, flag(REQ, FlagReason.UNDERPAID, log.now), f"{name} flags")
    (blocked,) = log.govern(["block"], "three members flagged: a provisional block")
    stricter = Charter(**{**_fields(charter("invite")),
                          "block_rule": BlockRule(flags=4, days=7, review_days=30)})  # fmt: skip
    amend = log.ok("ana", Proposal(kind=ProposalKind.AMEND, pitch="Four flags to block",
                                   opens=log.now, closes=log.now + HOUR, charter=stricter),
                   "raise the block rule to 4 flags")  # fmt: skip
    for name in ("ana", "bo", "cy"):
        log.ok(name, Ballot(proposal=amend.id, choice="yes"), f"{name}: yes")
    body = amend.body
    assert isinstance(body, Proposal)
    log.now = body.closes
    log.govern(["decision"], "3 of 4 yes: passed")
    (amended,) = log.govern(["charter"], "the amendment is carried out: 4 flags from now on")
    assert isinstance(amended.body, Charter) and amended.body.supersedes == first.id
    log.due([], "3 live flags are fewer than the 4 the charter now asks for, but the block "
            "was made under a rule of 3 and none was retracted: no unblock is due")  # fmt: skip
    log.add("coop", Unblock(requester=REQ, block=blocked.id, why="retracted"), "still_flagged",
            "the block's own rule (3) is still met")  # fmt: skip
    log.ok("ana", Retraction(record=f_ana.id), "ana retracts her flag")
    log.govern(["unblock"], "two flags left, fewer than the 3 of the block's own rule")
    return log


# --------------------------------------------------------------------------- log 6


def delegations() -> Log:
    log = Log(
        "delegations",
        "Delegated votes under a charter that allows them (one level, in force when the "
        "proposal entered the log), outcome statements, and a members-only comment the log "
        "refuses.",
    )
    founding = charter("invite", name="Vector Delegating Co-op", delegation=True)
    log.ok("coop", founding, "the founding charter allows delegation")
    for name in ("ana", "bo", "cy", "dee"):
        log.ok("coop", MemberAdmit(member=did(name), via="founder"), f"founder {name}")

    def to(name: str | None) -> Delegation:
        return Delegation(to=None if name is None else did(name))

    log.add("bo", to("bo"), "self_delegation", "bo delegates to bo")
    log.add("bo", to("fay"), "not_member", "a delegate is a member")
    log.add("cy", to(None), "not_delegating", "cy ends a delegation she never made")
    log.ok("bo", to("ana"), "bo delegates to ana")
    log.ok("dee", to("bo"), "dee delegates to bo")
    log.ok("cy", to("dee"), "cy delegates to dee")
    log.ok("cy", to(None), "cy ends her delegation")
    block = log.ok("ana", Proposal(kind=ProposalKind.BLOCK, pitch="Block a scam", opens=log.now,
                                   closes=log.now + HOUR, requester=REQ, reason=FlagReason.SCAM),
                   "a proposal: bo -> ana and dee -> bo are in force")  # fmt: skip
    log.add("ana", Comment(proposal=block.id, text="They never paid me."), "members_only",
            "a comment is members-only: the public log never holds one")  # fmt: skip
    log.ok("dee", to("ana"), "dee now delegates to ana: the proposal keeps dee -> bo")
    log.ok("ana", Ballot(proposal=block.id, choice="yes"), "ana: yes")
    log.ok("cy", Ballot(proposal=block.id, choice="no"), "cy: no")
    bbody = block.body
    assert isinstance(bbody, Proposal)
    log.now = bbody.closes
    (due,) = log.due(["decision"], "bo counts as ana (yes); dee's delegate bo cast no ballot, "
                     "so dee counts as nothing (one level): 2 yes, 1 no")  # fmt: skip
    assert isinstance(due, Decision) and due.delegated == 1 and dict(due.counts)["yes"] == 2
    log.add("coop", Decision(**{**_decision_fields(due), "delegated": 0,
                                "counts": (("abstain", 0), ("no", 1), ("yes", 1))}),
            "decision_mismatch", "a decision leaving out the vote cast by delegation")  # fmt: skip
    (d_block,) = log.govern(["decision"], "the co-op signs the tally")
    log.govern(["block"], "the block the members passed")
    log.add("bo", Outcome(decision=d_block.id, text="Blocked."), "not_author",
            "only the proposal's author states the outcome")  # fmt: skip
    log.add("ana", Outcome(decision=block.id, text="Blocked."), "wrong_reference",
            "an outcome cites a decision, not a proposal")  # fmt: skip
    log.add("ana", Outcome(decision=fake_id("d"), text="Blocked."), "unknown_reference",
            "an outcome of a decision not in the log")  # fmt: skip
    log.ok("ana", Outcome(decision=d_block.id, text="Blocked for a year."), "ana's outcome")
    log.ok("ana", Outcome(decision=d_block.id, text="Blocked for a year; they were told."),
           "a later outcome by the same author supersedes the first")  # fmt: skip
    log.ok("ana", MemberResign(text="Leaving."), "ana resigns")
    log.govern(["member.revoke"], "ana leaves: bo's and dee's delegations to her end with it")
    log.ok("bo", to("cy"), "bo delegates to cy")
    log.add("bo", to("ana"), "not_member", "ana has left: nobody delegates to her")
    idea = log.ok("cy", Proposal(kind=ProposalKind.IDEA, pitch="A shared calculator",
                                 opens=log.now, closes=log.now + HOUR),
                  "an idea: bo -> cy is the only delegation in force")  # fmt: skip
    log.ok("cy", Ballot(proposal=idea.id, choice="up"), "cy: up")
    ibody = idea.body
    assert isinstance(ibody, Proposal)
    log.now = ibody.closes
    (d_idea,) = log.govern(["decision"], "bo counts as cy: 2 up, not more than idea_up 2")
    off = charter("invite", name="Vector Delegating Co-op")
    amend = log.ok("cy", Proposal(kind=ProposalKind.AMEND, pitch="No more delegation",
                                  opens=log.now, closes=log.now + HOUR, charter=off),
                   "an amendment that ends delegation")  # fmt: skip
    for name in ("bo", "cy", "dee"):
        log.ok(name, Ballot(proposal=amend.id, choice="yes"), f"{name}: yes")
    abody = amend.body
    assert isinstance(abody, Proposal)
    log.now = abody.closes
    log.govern(["decision"], "3 of 3 yes: passed")
    log.govern(["charter"], "the charter without delegation: every delegation ends")
    log.add("bo", to("cy"), "delegation_not_allowed", "the charter no longer allows it")
    log.add("bo", to(None), "delegation_not_allowed", "nor ending one: none is in force")
    assert not log.state.delegations() and isinstance(d_idea.body, Decision)
    return log


STUDY = "65a1b2c3d4e5f60718293a4b"


def task(requester: RequesterRef = REQ3, **fields: Any) -> TaskReport:
    """A first report of STUDY (by REQ3, on Prolific) done yesterday: 10 minutes, £1.50."""
    body: dict[str, Any] = {
        "requester": requester,
        "task": STUDY,
        "day": fields.pop("day"),
        "reward": 150,
        "currency": "GBP",
        "minutes": 10,
        "outcome": "submitted",
    }
    body.update(fields)
    return TaskReport(**body)


def approval(first: Record, days: int, **fields: Any) -> TaskReport:
    body = first.body
    assert isinstance(body, TaskReport)
    return TaskReport(
        requester=fields.pop("requester", body.requester),
        task=fields.pop("task", body.task),
        follows=first.id,
        approval=fields.pop("approval", "approved"),
        approval_days=days,
        **fields,
    )


def reports() -> Log:
    log = Log(
        "reports",
        "Task reports and their approvals, and the stricter rules a live node applies to "
        "every record while a replay applies them from their effective time (2027-03-01).",
    )
    log.ok("coop", charter("invite"), "the founding charter")
    for name in ("ana", "bo", "cy"):
        log.ok("coop", MemberAdmit(member=did(name), via="founder"), f"founder {name}")
    log.now = T0 + 10 * DAY_MS + 9 * HOUR
    today = log.now // DAY_MS
    first = log.ok("ana", task(day=today - 1), "ana reports yesterday's study, signed today")
    log.add("bo", task(day=today), "too_soon", "a task of today, reported today")
    log.add("bo", task(day=today + 1), "too_soon", "a task of tomorrow")
    log.add("cy", task(day=today - 401), "too_old", "a task of 401 days ago")
    log.ok("cy", task(day=today - 400, minutes=720), "a task of 400 days ago")
    returned = log.ok("bo", task(day=today - 2, outcome="returned", reasons=("underpaid",),
                                 minutes=5), "bo returned it, underpaid")  # fmt: skip
    other = log.ok("cy", task(day=today - 1, task="75b1b2c3d4e5f60718293a4b"),
                   "cy reports another study")  # fmt: skip
    log.add("ana", approval(first, 2), "too_soon",
            "approved after 2 days, reported 1 day after the task")  # fmt: skip
    approved = log.ok("ana", approval(first, 1), "approved after a day, reported then")
    log.add("bo", approval(first, 1), "not_author", "bo reports the approval of ana's task")
    log.add("bo", approval(returned, 1), "mismatch", "a returned task has nothing to approve")
    log.add("cy", approval(other, 1, task=STUDY), "mismatch",
            "an approval that names another study than the report it follows")  # fmt: skip
    log.add("ana", approval(approved, 1), "mismatch",
            "an approval follows the first report, not another approval")  # fmt: skip
    rated = log.ok("ana", rating(), "ana rates")
    log.add("ana", TaskReport(requester=REQ, task="A1TASK", follows=rated.id,
                              approval="approved", approval_days=1),
            "wrong_reference", "an approval that follows a rating")  # fmt: skip
    log.add("ana", TaskReport(requester=REQ3, task=STUDY, follows=fake_id("report"),
                              approval="approved", approval_days=1),
            "unknown_reference", "an approval of a report not in the log")  # fmt: skip
    log.ok("ana", Retraction(record=first.id), "ana retracts her report")

    # Stricter rules: live, whatever the ts; in a replay, from 2027-03-01 on.
    lower = Rating(requester=RequesterRef(platform="mturk", id="a3jh8w2n5r6t0y"),
                   recommend=True)  # fmt: skip
    log.add("ana", lower, "non_canonical_id",
            "a live node refuses an MTurk id in lower case, whatever its ts")  # fmt: skip
    log.add("ana", lower, "accept", "a replay (no clock) takes it: the rules of its time",
            now=None)  # fmt: skip
    rough = Rating(requester=REQ, hourly_cents=833, minutes=37)
    log.add("bo", rough, "not_coarse", "a live node refuses exact pay and time in a rating")
    log.add("bo", rough, "accept", "a replay takes it: signed before 2027-03-01", now=None)
    euros = task(day=today - 1, currency="EUR")
    log.add("cy", euros, "wrong_currency", "a live node refuses a Prolific study paid in euros")
    return log


def generate() -> dict[str, Any]:
    logs = [membership(), votes(), empty(), blocks(), amended_rule(), delegations(), reports()]
    seen = {s["code"] for log in logs for s in log.steps if s.get("verdict") == "reject"}
    missing = sorted(set(CODES) - seen)
    assert not missing, f"codes without a vector: {missing}"
    return {
        "provenance": {
            "generator": "spec/vectors/gen_state.py (python spec/vectors/generate.py state)",
            "spec": "spec/state.md",
            "seeds": "identity NAME = Ed25519 seed SHA-256('coopfed/vectors/state/' + NAME)",
            "notes": (
                "Replay each log in a fresh CoopState(coop), in order. op 'apply': decode "
                "record (Record.from_bytes), then apply it with the node clock now_ms (null: "
                "a replay, no clock); verdict 'accept', or 'reject' with the error class and "
                "code of the first rule it breaks, and then the state is unchanged. op 'due': "
                "due(now_ms) lists exactly bodies, in order, as type and canonical body hex. "
                "why is for people."
            ),
        },
        "identities": {name: did(name) for name in NAMES},
        "constants": {
            "max_skew_ms": DEFAULT_MAX_SKEW_MS,
            "proposal_backdate_ms": PROPOSAL_BACKDATE_MS,
            "day_ms": DAY_MS,
        },
        "codes": sorted(seen),
        "logs": [log.to_json() for log in logs],
    }
