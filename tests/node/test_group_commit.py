"""Group commit: concurrent submissions share a transaction, and each gets its own answer."""

from __future__ import annotations

import asyncio

import pytest
from coopkit import DAY, HOUR, REQ, T0, found, log_root, rating, reopen, sign

from coopfed.node import service
from coopfed.node.service import Node
from coopfed.protocol.bodies import (
    Ballot,
    Flag,
    FlagReason,
    Proposal,
    ProposalKind,
    RecordType,
    RequesterRef,
    Retraction,
)
from coopfed.protocol.errors import InvalidSignature, RecordRejected
from coopfed.protocol.state import CoopState


def flag_body(requester: RequesterRef = REQ) -> Flag:
    return Flag(
        requester=requester,
        target="requester",
        target_id=None,
        reason=FlagReason.UNDERPAID,
        expires=T0 + 10 * DAY,
    )


def bad_signature(node: Node, who: str, *, ts: int) -> bytes:
    """A rating whose signature is another record's: decodes, does not verify."""
    good = rating(node, who, ts=ts, text="mine")
    other = rating(node, who, ts=ts, text="not mine")
    return good.raw.replace(good.sig, other.sig)


async def test_concurrent_submissions_each_get_their_own_answer(backend):
    node = await found(backend)
    pid = (
        await node.submit(
            sign(
                node,
                "ana",
                Proposal(
                    kind=ProposalKind.BLOCK,
                    pitch="Block it",
                    requester=REQ,
                    reason=FlagReason.UNDERPAID,
                    opens=T0,
                    closes=T0 + HOUR,
                ),
            ).raw,
            now_ms=T0,
        )
    ).id
    good = [rating(node, ("ana", "bo", "cy")[i % 3], ts=T0 + i, text=f"r{i}") for i in range(30)]
    good += [
        sign(node, who, Ballot(proposal=pid, choice="yes"), ts=T0 + 100) for who in ("ana", "bo")
    ]
    good += [sign(node, "cy", flag_body(), ts=T0 + 101)]
    outsider = rating(node, "mallory", ts=T0 + 5, text="not a member")
    late = sign(node, "cy", Ballot(proposal=pid, choice="maybe"), ts=T0 + 102)
    forged_raw = bad_signature(node, "ana", ts=T0 + 7)

    async def post(raw: bytes):
        try:
            return await node.submit(raw, now_ms=T0 + 200)
        except Exception as exc:  # the answer under test
            return exc

    posts = [r.raw for r in good] + [good[0].raw, good[1].raw]  # two replays in flight
    posts += [outsider.raw, late.raw, forged_raw]
    answers = await asyncio.gather(*(post(raw) for raw in posts))

    created = answers[: len(good)]
    assert all(isinstance(a, service.SubmitResult) and a.created for a in created)
    indexes = sorted(a.index for a in created)
    assert indexes == list(range(indexes[0], indexes[0] + len(good)))
    replay1, replay2 = answers[len(good) : len(good) + 2]
    assert isinstance(replay1, service.SubmitResult) and replay1.id == good[0].id
    assert replay1.index == answers[0].index
    assert isinstance(replay2, service.SubmitResult) and replay2.index == answers[1].index
    not_member, closed, bad = answers[-3:]
    assert isinstance(not_member, RecordRejected) and not_member.code == "not_member"
    assert isinstance(closed, RecordRejected) and closed.code == "bad_choice"
    assert isinstance(bad, InvalidSignature)

    size, root = await log_root(node)
    assert size == node.state.size == indexes[-1] + 1
    again = await reopen(backend, node)
    assert (again.state.size, (await again.store.head()).root()) == (size, root)
    for record, answer in zip(good, created, strict=True):
        entry = again.state.entry(record.id)
        assert entry is not None and entry.index == answer.index


async def test_a_group_commit_signs_its_checkpoint_in_the_same_transaction(backend):
    node = await found(backend, checkpoint_every=5)
    before = (await node.latest_checkpoint()).size
    records = [rating(node, "ana", ts=T0 + i, text=f"r{i}") for i in range(6)]
    await asyncio.gather(*(node.submit(r.raw, now_ms=T0 + 10) for r in records))
    cp = await node.latest_checkpoint()
    assert cp is not None and cp.size > before
    assert cp.size >= before + 5


async def test_governance_appends_everything_due_in_one_round(backend):
    node = await found(backend)
    requesters = [RequesterRef(platform="mturk", id=f"A{i}") for i in range(4)]
    flags = [
        sign(node, who, flag_body(req), ts=T0 + n)
        for n, (req, who) in enumerate((r, w) for r in requesters for w in ("ana", "bo", "cy"))
    ]
    results = await node.submit_many([f.raw for f in flags], now_ms=T0 + 50)
    assert all(r.created for r in results)
    done = await node.run_governance(now_ms=T0 + 100)
    assert [r.type for r in done] == [RecordType.BLOCK] * 4
    assert {r.body.requester for r in done} == set(requesters)
    assert await node.run_governance(now_ms=T0 + 101) == []
    again = await reopen(backend, node)
    assert set(again.state.active_blocks()) == set(requesters)


async def test_independent_batches_are_not_copied(backend, monkeypatch):
    node = await found(backend)

    def no_fork(state):
        raise AssertionError("an independent batch needs no copy of the state")

    monkeypatch.setattr(CoopState, "fork", no_fork)
    records = [rating(node, who, ts=T0 + i) for i, who in enumerate(("ana", "bo", "cy"))]
    results = await node.submit_many([r.raw for r in records], now_ms=T0 + 5)
    assert [r.created for r in results] == [True] * 3
    # A bad record still fails the whole page, and nothing of it is appended.
    size = node.state.size
    with pytest.raises(RecordRejected):
        await node.submit_many(
            [rating(node, "ana", ts=T0 + 9).raw, rating(node, "mallory", ts=T0 + 9).raw],
            now_ms=T0 + 10,
        )
    assert node.state.size == size == await node.size()


async def test_dependent_batches_are_checked_in_order(backend):
    node = await found(backend)
    r = rating(node, "ana", ts=T0)
    retract = sign(node, "ana", Retraction(record=r.id), ts=T0 + 1)
    again = sign(node, "ana", Retraction(record=r.id, reason="twice"), ts=T0 + 2)
    with pytest.raises(RecordRejected) as info:
        await node.submit_many([r.raw, retract.raw, again.raw], now_ms=T0 + 5)
    assert info.value.code == "already_retracted"
    assert await node.size() == node.state.size
    results = await node.submit_many([r.raw, retract.raw], now_ms=T0 + 5)
    assert [x.created for x in results] == [True, True]


async def test_verify_page_on_every_core_answers_like_one_by_one(backend):
    from coopfed.protocol.records import Record
    from coopfed.protocol.sync import verify_each

    node = await found(backend)
    raws = [
        rating(node, ("ana", "bo", "cy")[i % 3], ts=T0 + i, text=f"r{i}").raw for i in range(40)
    ]
    raws[17] = bad_signature(node, "bo", ts=T0 + 99)
    records = [Record.from_bytes(r, verify=False) for r in raws]
    mine = node.verify_page(records)
    assert [type(x) for x in mine] == [type(x) for x in verify_each(records)]
    assert [i for i, x in enumerate(mine) if x is not None] == [17]
    assert isinstance(mine[17], InvalidSignature)
