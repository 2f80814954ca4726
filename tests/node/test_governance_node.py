"""Governance at work on a real node: proposals close, the node decides, decisions take effect."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from coopkit import CHARTER, DAY, HOUR, REQ, T0, did, found, rating, reopen, sign

from coopfed.node.service import Node
from coopfed.protocol.blocklist import EntryStatus
from coopfed.protocol.bodies import (
    Ballot,
    Block,
    Charter,
    Decision,
    Flag,
    FlagReason,
    MemberAdmit,
    MemberRevoke,
    Proposal,
    ProposalKind,
    RecordType,
    Retraction,
    Unblock,
)
from coopfed.protocol.errors import RecordRejected
from coopfed.protocol.state import DECISION_BLOCK_REVIEW_MS


async def propose(node: Node, who: str, *, ts: int = T0, **fields) -> bytes:
    body = Proposal(
        pitch=fields.pop("pitch", "Let us decide"), opens=ts, closes=ts + HOUR, **fields
    )
    return (await node.submit(sign(node, who, body, ts=ts).raw, now_ms=ts)).id


async def vote(node: Node, who: str, pid: bytes, choice: str, *, ts: int = T0 + 60_000) -> None:
    await node.submit(sign(node, who, Ballot(proposal=pid, choice=choice), ts=ts).raw, now_ms=ts)


async def flag(
    node: Node, who: str, *, ts: int = T0, reason=FlagReason.UNDERPAID, expires: int | None = None
) -> bytes:
    body = Flag(
        requester=REQ,
        target="requester",
        target_id=None,
        reason=reason,
        expires=ts + 10 * DAY if expires is None else expires,
    )
    return (await node.submit(sign(node, who, body, ts=ts).raw, now_ms=ts)).id


async def test_a_block_proposal_passes_and_the_block_takes_effect(backend):
    node = await found(backend)
    pid = await propose(
        node, "ana", kind=ProposalKind.BLOCK, requester=REQ, reason=FlagReason.UNFAIR_REJECTION
    )
    await vote(node, "ana", pid, "yes")
    await vote(node, "bo", pid, "yes")
    await vote(node, "cy", pid, "no")

    assert await node.run_governance(now_ms=T0 + HOUR - 1) == []  # still open
    live = await node.proposal(pid, now_ms=T0 + 1000)
    assert live["status"] == "open" and live["tally"]["result"] == "open"
    assert live["tally"]["counts"] == {"abstain": 0, "no": 1, "yes": 2}

    close = T0 + HOUR + 5
    done = await node.run_governance(now_ms=close)
    assert [r.type for r in done] == [RecordType.DECISION, RecordType.BLOCK]
    decision, block = (r.body for r in done)
    assert isinstance(decision, Decision) and decision.result == "passed"
    assert isinstance(block, Block) and block.decision == done[0].id
    assert not block.provisional and block.review == close + DECISION_BLOCK_REVIEW_MS
    assert all(r.author == node.did and r.ts == close for r in done)
    assert await node.run_governance(now_ms=close + 1) == []  # idempotent

    shown = await node.proposal(pid, now_ms=close + 1)
    assert shown["status"] == "decided" and shown["decision"] == done[0].id.hex()
    assert shown["tally"]["result"] == "passed"
    assert [p["id"] for p in await node.proposals(now_ms=close, status="decided")] == [pid.hex()]
    assert await node.proposals(now_ms=close, status="open") == []

    entry = (await node.blocklist()).get(REQ)
    assert entry is not None and entry.status is EntryStatus.BLOCKED
    assert entry.own is not None and entry.own.block.id == done[1].id
    profile = await node.profile(REQ, now_ms=close)
    assert profile["blocklist"]["status"] == "blocked"
    assert done[1].id.hex() in profile["blocklist"]["records"]
    assert done[0].id.hex() in profile["blocklist"]["records"]

    node = await reopen(backend, node)  # all of it survives a restart
    assert (await node.blocklist()).get(REQ) is not None
    with pytest.raises(RecordRejected) as exc:
        await vote(node, "cy", pid, "yes", ts=close)
    assert exc.value.code == "voting_closed"


async def test_a_rejected_proposal_changes_nothing(backend):
    node = await found(backend)
    pid = await propose(node, "ana", kind=ProposalKind.BLOCK, requester=REQ, reason=FlagReason.SCAM)
    await vote(node, "bo", pid, "no")
    await vote(node, "cy", pid, "no")
    done = await node.run_governance(now_ms=T0 + 2 * HOUR)
    assert [r.type for r in done] == [RecordType.DECISION]
    assert done[0].body.result == "rejected"
    assert (await node.blocklist()).get(REQ) is None


async def test_flags_crossing_the_charter_rule_make_a_provisional_block(backend):
    node = await found(backend)
    ids = [
        await flag(node, "ana", reason=FlagReason.UNDERPAID),
        await flag(node, "bo", ts=T0 + 1, reason=FlagReason.UNDERPAID),
    ]
    assert await node.run_governance(now_ms=T0 + 10) == []  # two of three
    ids.append(await flag(node, "cy", ts=T0 + 2, reason=FlagReason.SCAM))
    now = T0 + 10
    done = await node.run_governance(now_ms=now)
    assert [r.type for r in done] == [RecordType.BLOCK]
    block = done[0].body
    assert isinstance(block, Block) and block.provisional
    assert block.flags == tuple(sorted(ids)) and block.reason is FlagReason.UNDERPAID
    assert block.review == now + CHARTER.block_rule.review_days * DAY
    status = await node.status(now_ms=now)
    assert status["blocks"] == 1 and status["governance_due"] == 0
    assert (await node.blocklist()).get(REQ).status is EntryStatus.BLOCKED

    # A flag withdrawn takes the block below the rule: the node ends it.
    await node.submit(sign(node, "cy", Retraction(record=ids[2]), ts=now).raw, now_ms=now)
    done = await node.run_governance(now_ms=now + 1)
    assert [r.type for r in done] == [RecordType.UNBLOCK]
    assert done[0].body.why == "retracted"
    assert (await node.blocklist()).get(REQ) is None
    profile = await node.profile(REQ, now_ms=now + 1)
    assert profile["all"]["flags"] == {"underpaid": 2}  # retracted flag no longer counts


async def test_a_provisional_block_ends_at_its_review(backend):
    node = await found(backend)
    for i, who in enumerate(("ana", "bo", "cy")):
        await flag(node, who, ts=T0 + i)
    [block] = await node.run_governance(now_ms=T0 + 10)
    review = block.body.review
    assert await node.run_governance(now_ms=review - 1) == []
    assert (await node.blocklist(now_ms=review)).get(REQ) is None  # past review: not counted
    done = await node.run_governance(now_ms=review)
    assert [(r.type, r.body.why) for r in done] == [(RecordType.UNBLOCK, "review")]
    assert isinstance(done[0].body, Unblock) and done[0].body.block == block.id
    # Expired flags stop counting: no new block after the review.
    assert await node.run_governance(now_ms=review + 1) == []
    profile = await node.profile(REQ, now_ms=review + 1)
    assert profile["all"]["flags"] == {}


async def test_a_member_revoked_by_vote_can_no_longer_post(backend):
    node = await found(backend)
    pid = await propose(node, "ana", kind=ProposalKind.REVOKE, member=did("cy"))
    await vote(node, "ana", pid, "yes")
    await vote(node, "bo", pid, "yes")
    done = await node.run_governance(now_ms=T0 + HOUR)
    assert [r.type for r in done] == [RecordType.DECISION, RecordType.MEMBER_REVOKE]
    assert isinstance(done[1].body, MemberRevoke) and done[1].body.member == did("cy")
    with pytest.raises(RecordRejected) as exc:
        await node.submit(rating(node, "cy", ts=T0 + HOUR).raw, now_ms=T0 + HOUR)
    assert exc.value.code == "revoked"
    assert did("cy") not in node.state.members()


async def test_an_amendment_by_vote_puts_the_new_charter_in_force(backend):
    node = await found(backend)
    new_rules = dataclasses.replace(CHARTER, min_pay_cents=1500)
    pid = await propose(node, "bo", kind=ProposalKind.AMEND, charter=new_rules)
    for who in ("ana", "bo", "cy"):
        await vote(node, who, pid, "yes")
    done = await node.run_governance(now_ms=T0 + HOUR)
    assert [r.type for r in done] == [RecordType.DECISION, RecordType.CHARTER]
    charter_id, charter = node.state.charter
    assert isinstance(charter, Charter) and charter.min_pay_cents == 1500
    assert charter_id == done[1].id and charter.decision == done[0].id
    assert (await node.status(now_ms=T0 + HOUR))["charter"] == charter_id.hex()


async def test_admission_by_vote_from_join_to_membership(backend):
    from coopfed.protocol.bodies import MemberApply

    node = await found(backend, charter=dataclasses.replace(CHARTER, admission="vote"))
    size = node.state.size
    apply = sign(node, "dee", MemberApply(text="I do surveys at night"))
    res = await node.join(apply_raw=apply.raw, token=None, now_ms=T0)
    # Held outside the log until a member sponsors it.
    assert (res.id, res.index, res.created) == (apply.id, None, True)
    assert node.state.size == size and node.state.entry(apply.id) is None
    again = await node.join(apply_raw=apply.raw, token=None, now_ms=T0 + 5)
    assert (again.id, again.index, again.created, again.expires_ms) == (
        apply.id,
        None,
        False,
        res.expires_ms,
    )
    second = sign(node, "dee", MemberApply(text="again"), ts=T0 + 1)
    with pytest.raises(RecordRejected) as exc:
        await node.join(apply_raw=second.raw, token=None, now_ms=T0 + 1)
    assert exc.value.code == "already_applied"
    with pytest.raises(RecordRejected) as exc:
        await node.submit(rating(node, "dee").raw, now_ms=T0)
    assert exc.value.code == "not_member"

    # A member sponsors it: the application, then the member's proposal, enter the log.
    pid = await propose(
        node, "ana", kind=ProposalKind.ADMIT, member=did("dee"), application=apply.id, ts=T0 + 10
    )
    info = node.state.proposal(pid)
    assert info is not None and info.entry.record.author == did("ana")
    assert node.state.entry(apply.id).index == info.entry.index - 1 == size
    assert await node.applications(now_ms=T0 + 10) == []
    again = await node.join(apply_raw=apply.raw, token=None, now_ms=T0 + 20)
    assert (again.id, again.index, again.created) == (pid, info.entry.index, False)

    for who in ("ana", "bo"):
        await vote(node, who, pid, "yes")
    done = await node.run_governance(now_ms=T0 + 10 + HOUR)
    assert [r.type for r in done] == [RecordType.DECISION, RecordType.MEMBER_ADMIT]
    admit = done[1].body
    assert isinstance(admit, MemberAdmit) and admit.via == "decision"
    ok = await node.submit(rating(node, "dee", ts=T0 + HOUR).raw, now_ms=T0 + HOUR)
    assert ok.created


async def test_two_nodes_deciding_at_once_decide_once(backend):
    first = await found(backend)
    second = backend.track(await Node.open(first.config))
    pids = [
        await propose(first, "ana", kind=ProposalKind.BLOCK, requester=REQ, reason=FlagReason.SCAM),
        await propose(first, "bo", kind=ProposalKind.IDEA, pitch="Share templates"),
    ]
    for who in ("ana", "bo", "cy"):
        await vote(first, who, pids[0], "yes")
        await vote(first, who, pids[1], "up")
    now = T0 + HOUR
    a, b = await asyncio.gather(first.run_governance(now_ms=now), second.run_governance(now_ms=now))
    signed = a + b
    assert sorted(r.type.value for r in signed) == ["block", "decision", "decision"]
    await first.refresh()
    await second.refresh()
    decisions = [e for e in (first.state.proposal(p).decision for p in pids)]
    assert all(d is not None for d in decisions)
    assert second.state.size == first.state.size == await first.size()
    idea = first.state.proposal(pids[1]).decision.record.body
    assert idea.result == "launched"
