"""Invites: single-use, expiring, stored only as a hash, redeemed atomically with the admit."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from coopkit import HOUR, T0, did, found, rating, reopen, sign

from coopfed.node.service import invite_hash
from coopfed.node.storage import WriteTx, invites
from coopfed.protocol.bodies import MemberAdmit, MemberApply, RecordType
from coopfed.protocol.errors import InvalidRecord, LocalProtocolError, RecordRejected


async def test_an_invite_admits_once(backend):
    node = await found(backend)
    token = await node.create_invite(ttl_s=3600, now_ms=T0)
    apply = sign(node, "dee", MemberApply())
    res = await node.join(apply_raw=apply.raw, token=token, now_ms=T0 + 1000)
    assert res.created
    entry = node.state.entry(res.id)
    assert entry is not None and entry.record.type is RecordType.MEMBER_ADMIT
    admit = entry.record.body
    assert isinstance(admit, MemberAdmit)
    assert (admit.member, admit.via, admit.ref) == (
        did("dee"),
        "invite",
        hashlib.sha256(token.encode()).digest(),
    )
    assert node.state.entry(apply.id) is None  # the application itself is not logged
    assert (await node.submit(rating(node, "dee").raw, now_ms=T0)).created

    # The same application with the same token is a replay, not a second admission.
    again = await node.join(apply_raw=apply.raw, token=token, now_ms=T0 + 2000)
    assert (again.id, again.index, again.created) == (res.id, res.index, False)
    other = sign(node, "eve", MemberApply())
    with pytest.raises(RecordRejected) as exc:
        await node.join(apply_raw=other.raw, token=token, now_ms=T0 + 2000)
    assert exc.value.code == "invite_used"

    node = await reopen(backend, node)  # still used after a restart
    with pytest.raises(RecordRejected) as exc:
        await node.join(apply_raw=other.raw, token=token, now_ms=T0 + 3000)
    assert exc.value.code == "invite_used"


async def test_invites_expire_and_unknown_ones_are_refused(backend):
    node = await found(backend)
    token = await node.create_invite(ttl_s=60, now_ms=T0)
    apply = sign(node, "dee", MemberApply(), ts=T0 + 60_000)
    with pytest.raises(RecordRejected) as exc:
        await node.join(apply_raw=apply.raw, token=token, now_ms=T0 + 60_000)
    assert exc.value.code == "invite_expired"
    with pytest.raises(RecordRejected) as exc:
        await node.join(apply_raw=apply.raw, token="not-a-token", now_ms=T0 + 60_000)
    assert exc.value.code == "bad_invite"
    with pytest.raises(RecordRejected) as exc:
        await node.join(apply_raw=apply.raw, token=None, now_ms=T0 + 60_000)
    assert exc.value.code == "invite_required"  # this charter admits by invite
    with pytest.raises(LocalProtocolError):
        await node.create_invite(ttl_s=0, now_ms=T0)
    assert did("dee") not in node.state.members()


async def test_joining_checks_the_application(backend):
    node = await found(backend)
    token = await node.create_invite(ttl_s=3600, now_ms=T0)
    with pytest.raises(RecordRejected) as exc:  # a founder applying again
        await node.join(apply_raw=sign(node, "ana", MemberApply()).raw, token=token, now_ms=T0)
    assert exc.value.code == "already_member"
    with pytest.raises(RecordRejected) as exc:  # a rating is not an application
        await node.join(apply_raw=rating(node, "ana").raw, token=token, now_ms=T0)
    assert exc.value.code == "wrong_type"
    with pytest.raises(RecordRejected) as exc:  # the applicant's clock is an hour off
        await node.join(
            apply_raw=sign(node, "dee", MemberApply(), ts=T0 + HOUR).raw, token=token, now_ms=T0
        )
    assert exc.value.code == "skew"
    with pytest.raises(InvalidRecord):
        await node.join(apply_raw=b"\x80", token=token, now_ms=T0)
    with pytest.raises(RecordRejected) as exc:  # applications go to join, not submit
        await node.submit(sign(node, "dee", MemberApply()).raw, now_ms=T0)
    assert exc.value.code == "wrong_type"
    # None of that used the token.
    res = await node.join(apply_raw=sign(node, "dee", MemberApply()).raw, token=token, now_ms=T0)
    assert res.created


async def test_only_the_tokens_hash_is_stored(backend):
    node = await found(backend)
    token = await node.create_invite(ttl_s=3600, now_ms=T0)
    async with node.store.read() as conn:
        rows = (await conn.execute(sa.select(invites))).all()
    assert len(rows) == 1
    assert bytes(rows[0].token_hash) == invite_hash(token)
    for value in rows[0]:
        if isinstance(value, bytes):
            assert token.encode() not in value
        else:
            assert token not in repr(value)
    assert rows[0].expires_ms == T0 + 3_600_000


async def test_a_crash_while_joining_leaves_the_invite_unused(backend, monkeypatch):
    node = await found(backend)
    token = await node.create_invite(ttl_s=3600, now_ms=T0)
    real_append = WriteTx.append

    async def crash(self, new):
        await real_append(self, new)
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(WriteTx, "append", crash)
    apply = sign(node, "dee", MemberApply())
    with pytest.raises(RuntimeError):
        await node.join(apply_raw=apply.raw, token=token, now_ms=T0)
    monkeypatch.undo()
    invite = await node.store.invite(invite_hash(token))
    assert invite is not None and invite.used_by is None
    assert did("dee") not in node.state.members()
    assert (await node.join(apply_raw=apply.raw, token=token, now_ms=T0)).created
    assert (await node.store.invite(invite_hash(token))).used_by == did("dee")
