"""The service API the HTTP app calls: profiles, batches, reads and their refusals."""

from __future__ import annotations

import pytest
from coopkit import DAY, FOUNDERS, REQ, T0, did, found, key, rating, sign

from coopfed.node.service import MAX_ENTRIES
from coopfed.protocol.bodies import (
    Appeal,
    Flag,
    FlagReason,
    MemberAdmit,
    Rating,
    Reply,
    RequesterAlias,
    RequesterKey,
    RequesterRef,
    Retraction,
)
from coopfed.protocol.errors import InvalidSignature, RecordRejected, RemoteProtocolError

OLD = T0 - 100 * DAY  # outside the last 90 days


async def post(node, who, body, *, ts=T0):
    return await node.submit(sign(node, who, body, ts=ts).raw, now_ms=ts)


async def test_a_requester_profile_counts_by_the_rules(backend):
    node = await found(backend, founders=(*FOUNDERS, "dee", "eve"))
    # ana rated long ago, then again recently: only her latest counts.
    await post(
        node,
        "ana",
        Rating(
            requester=REQ,
            scores=(("fair", 1), ("pay", 1)),
            hourly_cents=200,
            rejected="all",
            recommend=False,
        ),
        ts=OLD,
    )
    await post(
        node,
        "ana",
        Rating(
            requester=REQ,
            scores=(("fair", 5), ("pay", 4)),
            hourly_cents=1000,
            rejected="none",
            recommend=True,
        ),
    )
    # bo's only rating is old: it counts all-time, not in the last 90 days.
    await post(
        node,
        "bo",
        Rating(requester=REQ, scores=(("pay", 3),), hourly_cents=650, rejected="some"),
        ts=OLD,
    )
    await post(
        node,
        "cy",
        Rating(requester=REQ, scores=(("comm", 2), ("pay", 4)), hourly_cents=2400, recommend=True),
    )
    # dee's rating is retracted: it does not count anywhere.
    dee = await post(node, "dee", Rating(requester=REQ, scores=(("pay", 1),), hourly_cents=100))
    await post(node, "dee", Retraction(record=dee.id))
    # Flags: one active, one expired, one retracted.
    await post(
        node,
        "ana",
        Flag(
            requester=REQ,
            target="hit_group",
            target_id="3XYZ",
            reason=FlagReason.UNDERPAID,
            expires=T0 + 30 * DAY,
        ),
    )
    await post(
        node,
        "bo",
        Flag(
            requester=REQ,
            target="requester",
            target_id=None,
            reason=FlagReason.SCAM,
            expires=OLD + DAY,
        ),
        ts=OLD,
    )
    eve_flag = await post(
        node,
        "eve",
        Flag(
            requester=REQ,
            target="requester",
            target_id=None,
            reason=FlagReason.BROKEN,
            expires=T0 + DAY,
        ),
    )
    await post(node, "eve", Retraction(record=eve_flag.id))
    # Appeals: one won, one still filed.
    filed = await post(node, "cy", Appeal(requester=REQ, status="filed", rejected_cents=250))
    await post(node, "cy", Appeal(requester=REQ, status="won", follows=filed.id), ts=T0 + 1)
    await post(node, "ana", Appeal(requester=REQ, status="filed"))
    # A reply from a key the co-op bound to the requester.
    await node.append_own(
        RequesterKey(requester=REQ, key=did("req"), evidence="emailed"), now_ms=T0
    )
    await node.submit(sign(node, "req", Reply(requester=REQ, text="We pay fairly")).raw, now_ms=T0)
    # Another requester's records stay out.
    await post(
        node,
        "ana",
        Rating(requester=RequesterRef(platform="mturk", id="OTHER"), scores=(("pay", 5),)),
    )

    profile = await node.profile(REQ, now_ms=T0 + 2)
    assert profile["requester"] == "mturk:A1EXAMPLE" and profile["aliases"] == []
    everything = profile["all"]
    assert everything["reports"] == 3  # ana (latest), bo, cy
    assert everything["scores"]["pay"] == {"count": 3, "mean_x100": 367}  # (4+3+4)/3
    assert everything["scores"]["fair"] == {"count": 1, "mean_x100": 500}
    assert everything["scores"]["comm"] == {"count": 1, "mean_x100": 200}
    assert everything["scores"]["fast"] == {"count": 0, "mean_x100": None}
    assert everything["hourly_cents"]["median"] == 1000
    assert [b["count"] for b in everything["hourly_cents"]["buckets"]] == [0, 0, 1, 1, 0, 1]
    assert everything["hourly_cents"]["buckets"][-1] == {"from": 1800, "to": None, "count": 1}
    assert everything["rejections"] == {"none": 1, "some": 1, "all": 0}
    assert everything["recommend"] == {"yes": 2, "no": 0}
    assert everything["flags"] == {"underpaid": 1}
    assert everything["appeals"] == {"filed": 1, "lost": 0, "no_response": 0, "won": 1}
    assert everything["replies"] == 1

    recent = profile["last_90_days"]
    assert recent["reports"] == 2  # bo's old rating is out
    assert recent["scores"]["pay"] == {"count": 2, "mean_x100": 400}
    assert recent["hourly_cents"]["median"] == (1000 + 2400) // 2
    assert recent["rejections"] == {"none": 1, "some": 0, "all": 0}
    assert profile["blocklist"]["status"] is None

    # A rename: the new name's profile includes the old name's reports.
    new = RequesterRef(platform="mturk", id="A1RENAMED")
    await node.append_own(RequesterAlias(requester=new, alias_of=REQ), now_ms=T0)
    await post(node, "eve", Rating(requester=new, scores=(("pay", 5),)))
    renamed = await node.profile(new, now_ms=T0 + 2)
    assert renamed["aliases"] == ["mturk:A1EXAMPLE"]
    assert renamed["all"]["reports"] == 4
    assert (await node.profile(REQ, now_ms=T0 + 2))["aliases"] == ["mturk:A1RENAMED"]


async def test_profile_numbers_are_integers_only(backend):
    node = await found(backend)
    for who, pay in (("ana", 1), ("bo", 2), ("cy", 2)):
        await post(node, who, Rating(requester=REQ, scores=(("pay", pay),), hourly_cents=350))
    profile = await node.profile(REQ, now_ms=T0)

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            assert not isinstance(v, float)

    walk(profile)
    assert profile["all"]["scores"]["pay"]["mean_x100"] == 167  # 1.666… rounds half up


async def test_a_batch_is_all_or_nothing(backend):
    node = await found(backend)
    good = [rating(node, who, ts=T0 + i) for i, who in enumerate(("ana", "bo", "cy"))]
    bad = rating(node, "mallory")
    size = await node.size()
    with pytest.raises(RecordRejected) as exc:
        await node.submit_many([good[0].raw, good[1].raw, bad.raw, good[2].raw], now_ms=T0)
    assert exc.value.code == "not_member"
    assert any("record 2" in note for note in exc.value.__notes__)
    assert await node.size() == node.state.size == size

    first = await node.submit(good[0].raw, now_ms=T0)
    results = await node.submit_many([r.raw for r in good] + [good[1].raw], now_ms=T0)
    assert [(r.index, r.created) for r in results] == [
        (first.index, False),
        (size + 1, True),
        (size + 2, True),
        (size + 1, False),
    ]

    tampered = bytearray(good[2].raw)
    tampered[-40] ^= 1  # a byte inside the signature
    with pytest.raises(InvalidSignature):
        await node.submit_many([bytes(tampered)], now_ms=T0)


async def test_records_the_node_signs_itself_are_not_posted(backend):
    node = await found(backend)
    forged = sign(node, node.coop, MemberAdmit(member=did("dee"), via="founder"))
    with pytest.raises(RecordRejected) as exc:
        await node.submit(forged.raw, now_ms=T0)
    assert exc.value.code == "coop_only"


async def test_reads_and_their_bounds(backend):
    node = await found(backend)
    size = await node.size()
    assert len(await node.entries(0, size + 10)) == size
    assert await node.entries(size, size + 5) == []
    with pytest.raises(RemoteProtocolError):
        await node.entries(5, 2)
    assert await node.record(b"\x00" * 32) is None
    with pytest.raises(RemoteProtocolError):
        await node.inclusion_proof(size, size)
    with pytest.raises(RemoteProtocolError):
        await node.consistency_proof(3, 2)
    with pytest.raises(RemoteProtocolError):
        await node.proposals(now_ms=T0, status="pending")
    assert await node.proposal(b"\x01" * 32, now_ms=T0) is None
    assert MAX_ENTRIES >= 256  # an entry bundle's worth fits in one read

    status = await node.status(now_ms=T0)
    assert status["coop"] == node.did and status["name"] == "Night Shift Co-op"
    assert status["size"] == size and status["checkpoint"]["size"] == size
    assert status["members"] == 3 and status["open_proposals"] == 0
    assert node.origin == "coopfed/" + node.did.removeprefix("did:key:")
    assert key("ana").did in node.state.members()
