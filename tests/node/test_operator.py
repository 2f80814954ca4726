"""Requester renames and reply keys (operator), replies by requesters, resignations."""

from __future__ import annotations

import asyncio
from typing import Any

from coopkit import REQ, key
from test_app import Live, expect_error, live  # noqa: F401 - the fixture is used by name

from coopfed.node.app import MSGPACK
from coopfed.node.keys import read_admin_token
from coopfed.protocol.bodies import MemberResign, Rating, Reply, RequesterRef


def admin(node: Live) -> dict[str, str]:
    return {"Authorization": f"Bearer {read_admin_token(node.config.data_dir)}"}


async def post(node: Live, record: Any) -> Any:
    return await node.client.post(
        "/api/v1/records", data=record.raw, headers={"Content-Type": MSGPACK}
    )


async def test_alias_merges_a_renamed_requesters_profile(live: Live) -> None:  # noqa: F811
    new = RequesterRef(platform=REQ.platform, id=REQ.id + "NEW")
    resp = await post(live, live.sign("ana", Rating(requester=REQ, text="old name, low pay")))
    assert resp.status == 201
    resp = await post(live, live.sign("bo", Rating(requester=new, text="new name, same")))
    assert resp.status == 201
    body = {"requester": str(new), "alias_of": str(REQ)}
    resp = await live.client.post("/api/v1/operator/requester-alias", json=body)
    await expect_error(resp, 401, "unauthorized")
    resp = await live.client.post(
        "/api/v1/operator/requester-alias", json=body, headers=admin(live)
    )
    assert resp.status == 201, await resp.text()
    profile = await (await live.client.get(f"/api/v1/requesters/{new.platform}/{new.id}")).json()
    assert str(REQ) in str(profile["aliases"])
    resp = await live.client.post(
        "/api/v1/operator/requester-alias",
        json={"requester": str(REQ), "alias_of": str(REQ)},
        headers=admin(live),
    )
    await expect_error(resp, 400, "bad_request")


async def test_a_requester_replies_only_with_a_bound_key(live: Live) -> None:  # noqa: F811
    resp = await post(live, live.sign("ana", Rating(requester=REQ, text="rejected everything")))
    rating_id = bytes.fromhex((await resp.json())["id"])
    reply = Reply(requester=REQ, about=rating_id, text="We reviewed and paid the work.")
    resp = await post(live, live.sign("requester", reply))
    await expect_error(resp, 403, "not_requester_key")
    resp = await live.client.post(
        "/api/v1/operator/requester-key",
        json={
            "requester": str(REQ),
            "key": key("requester").did,
            "evidence": "DID posted on the requester's profile page",
        },
        headers=admin(live),
    )
    assert resp.status == 201, await resp.text()
    resp = await post(live, live.sign("requester", reply, ts=live.clock.now + 1))
    assert resp.status == 201, await resp.text()
    resp = await live.client.post(
        "/api/v1/operator/requester-key",
        json={"requester": str(REQ), "key": "did:key:znope"},
        headers=admin(live),
    )
    await expect_error(resp, 400, "bad_request")


async def test_a_resignation_ends_membership(live: Live) -> None:  # noqa: F811
    resp = await post(live, live.sign("cy", MemberResign(text="moving on")))
    assert resp.status == 201
    for _ in range(200):
        members = await (await live.client.get("/api/v1/members")).json()
        dids = str(members)
        if key("cy").did not in dids:
            break
        live.clock.now += 10
        await asyncio.sleep(0.02)
    assert key("cy").did not in dids
    resp = await post(live, live.sign("cy", Rating(requester=REQ, text="still here?")))
    await expect_error(resp, 403, "revoked")
