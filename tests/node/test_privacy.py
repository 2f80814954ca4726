"""Worker privacy: nothing about a worker but their key and handle reaches the log, the
database or anything served; the node's access log keeps no address.

Clients here send everything a platform, a proxy or a browser might leak — forwarded
addresses, a worker id, a name and an e-mail in headers and cookies — while joining,
rating, flagging and voting. Afterwards every table, the SQLite files themselves, every
tile and entry bundle, the checkpoint and the public JSON views are searched for them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from coopkit import HOUR, REQ, T0, NodeTestServer
from test_app import Clock, Live, found_config

from coopfed.node import limits
from coopfed.node.app import MSGPACK, NODE, create_app
from coopfed.node.keys import read_admin_token
from coopfed.node.storage import Store, metadata
from coopfed.protocol.bodies import (
    Ballot,
    Flag,
    FlagReason,
    MemberApply,
    Proposal,
    ProposalKind,
    Rating,
)
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import TILE_WIDTH, entries_path, tile_path

#: What must never be stored or served: addresses, a worker id, a name, an e-mail.
SECRETS = (
    "203.0.113.77",
    "198.51.100.23",
    "2001:db8:dead::beef",
    "A3WORKERID42",
    "Jane Q. Worker",
    "jane.worker@example.org",
)
LEAKY_HEADERS = {
    "X-Forwarded-For": "203.0.113.77, 198.51.100.23",
    "X-Real-IP": "203.0.113.77",
    "Forwarded": 'for="[2001:db8:dead::beef]";proto=https',
    "Client-IP": "198.51.100.23",
    "User-Agent": "TurkerTool/1.0 (worker A3WORKERID42; Jane Q. Worker)",
    "From": "jane.worker@example.org",
    "Cookie": "mturk_worker_id=A3WORKERID42; email=jane.worker@example.org",
    "X-Worker-Id": "A3WORKERID42",
}
CLIENT_ADDRESS = "127.0.0.1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _start(backend: Any, access_log: logging.Logger) -> tuple[Live, FakeClock]:
    config = backend.config(governance_interval_s=0.02, checkpoint_interval_s=0.05)
    await found_config(config)
    clock = Clock(T0 + 1000)
    app = create_app(config, clock=clock)
    meter_clock = FakeClock()
    app[limits.LIMITS] = limits.Limits.from_config(config, clock=meter_clock)
    server = NodeTestServer(app, host="127.0.0.1")
    await server.start_server(access_log=access_log)  # as `coopfed serve --access-log` does
    client: TestClient[Any, Any] = TestClient(server, headers=LEAKY_HEADERS)
    await client.start_server()
    known = await (await client.get("/.well-known/coopfed")).json()
    return Live(config=config, clock=clock, client=client, coop=known["coop"]), meter_clock


def _scan(where: str, data: bytes | str, found: list[str]) -> None:
    text = data if isinstance(data, str) else data.decode("latin-1")
    for secret in SECRETS:
        if secret in text:
            found.append(f"{secret!r} in {where}")


async def test_nothing_but_key_and_handle_is_kept_or_served(
    backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("coopfed.test.access")
    caplog.set_level(logging.INFO, logger=access.name)
    live, meter_clock = await _start(backend, access)
    try:
        # A new worker joins by invite, then everyone rates, flags, proposes and votes.
        token = read_admin_token(live.config.data_dir)
        resp = await live.client.post(
            "/api/v1/invites", json={"ttl_s": 3600}, headers={"Authorization": f"Bearer {token}"}
        )
        invite = (await resp.json())["token"]
        newcomer = SigningIdentity(b"\x42" * 32)
        apply = live.sign(newcomer, MemberApply(text="hello"))
        resp = await live.client.post(
            "/api/v1/join", json={"apply": apply.raw.hex(), "token": invite}
        )
        assert resp.status == 201, await resp.text()
        await live.ok(live.sign(newcomer, Rating(requester=REQ, scores=(("pay", 2),), text="low")))
        await live.ok(
            live.sign(
                "bo",
                Flag(
                    requester=REQ,
                    target="requester",
                    target_id=None,
                    reason=FlagReason.UNDERPAID,
                    expires=live.clock.now + 30 * 86_400_000,
                ),
            )
        )
        prop = live.sign(
            "ana",
            Proposal(
                kind=ProposalKind.IDEA,
                pitch="Share pay data",
                opens=live.clock.now,
                closes=live.clock.now + HOUR,
            ),
        )
        await live.ok(prop)
        await live.ok(live.sign("cy", Ballot(proposal=prop.id, choice="up")))
        live.clock.now += HOUR

        found: list[str] = []
        # 1. What is served: views, the checkpoint, every tile and entry bundle.
        for path in (
            "/.well-known/coopfed",
            "/checkpoint",
            "/api/v1/members",
            "/api/v1/status",
            "/api/v1/proposals",
            "/api/v1/charter",
            f"/api/v1/requesters/{REQ.platform}/{REQ.id}",
            "/api/v1/blocklist?format=csv",
        ):
            resp = await live.client.get(path)
            _scan(path, await resp.read(), found)
        size = (await (await live.client.get("/api/v1/status")).json())["size"]
        assert size < TILE_WIDTH
        for path in (tile_path(0, 0, size), entries_path(0, size)):
            resp = await live.client.get("/" + path)
            assert resp.status == 200
            _scan(path, await resp.read(), found)
        # 2. What is stored: every row of every table, and the SQLite files themselves.
        store = await Store.open(live.config)
        try:
            async with store.read() as conn:
                for table in metadata.sorted_tables:
                    rows = (await conn.execute(sa.select(table))).all()
                    _scan(f"table {table.name}", repr(rows), found)
                    assert CLIENT_ADDRESS not in repr(rows), table.name
        finally:
            await store.close()
        for file in sorted(Path(live.config.data_dir).glob("coopfed.db*")):
            data = file.read_bytes()
            _scan(file.name, data, found)
            assert CLIENT_ADDRESS.encode() not in data, f"the client's address is in {file.name}"
        assert found == []

        # 3. A member shows itself as its key and handle only.
        members = (await (await live.client.get("/api/v1/members")).json())["members"]
        assert all(set(m) == {"did", "handle", "long_handle", "roles"} for m in members)
        assert newcomer.did in {m["did"] for m in members}

        # 4. The access log has no address, no User-Agent, no forwarded header.
        lines = [r.getMessage() for r in caplog.records if r.name == access.name]
        assert lines, "the access log wrote nothing"
        assert any('"POST /api/v1/records HTTP/1.1" 201' in line for line in lines), lines[:3]
        for line in lines:
            assert CLIENT_ADDRESS not in line
            for secret in SECRETS:
                assert secret not in line, line
        assert "%a" not in limits.ACCESS_LOG_FORMAT and "%{" not in limits.ACCESS_LOG_FORMAT

        # 5. Rate-limit state: in memory, keyed by the peer's address (forwarded headers are
        # not trusted by default), and forgotten once the bucket is full again.
        meter = live.client.app[limits.LIMITS].by_address
        assert meter is not None and CLIENT_ADDRESS in meter
        assert all(s not in meter for s in SECRETS)
        meter_clock.now += meter.burst / meter.rate + 1.0
        meter.take("192.0.2.1")  # any write sweeps
        assert CLIENT_ADDRESS not in meter
    finally:
        await live.client.close()


async def test_forwarded_addresses_are_used_only_when_trusted(backend: Any) -> None:
    config = backend.config(
        trust_forwarded_for=True, rate_address_burst=1, rate_address_per_s=0.001
    )
    await found_config(config)
    app = create_app(config, clock=Clock(T0 + 1000))
    client: TestClient[Any, Any] = TestClient(NodeTestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        for i, fwd in enumerate(("203.0.113.77", "198.51.100.23")):
            resp = await client.post(
                "/api/v1/records",
                data=b"\xc1",
                headers={"Content-Type": MSGPACK, "X-Forwarded-For": f"10.0.0.{i}, {fwd}"},
            )
            assert resp.status == 400  # metered per forwarded address: each has its token
        meter = app[limits.LIMITS].by_address
        assert meter is not None and "203.0.113.77" in meter and CLIENT_ADDRESS not in meter
    finally:
        await client.close()


async def test_an_unhandled_error_is_logged_without_the_clients_address(
    backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # aiohttp's own server logged "Error handling request from <address>" (issue 11).
    caplog.set_level(logging.DEBUG)
    live, _ = await _start(backend, logging.getLogger("coopfed.test.access"))
    try:
        charter = (await (await live.client.get("/api/v1/charter")).json())["id"]
        # The database loses a table under the running node: a failure no handler expects.
        async with live.client.app[NODE].store.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE records RENAME TO records_gone"))
        resp = await live.client.get(f"/api/v1/records/{charter}")
        assert resp.status == 500
        body = await resp.json()
        assert body["error"]["code"] == "internal", body
        assert CLIENT_ADDRESS not in body["error"]["message"]
    finally:
        await live.client.close()
    failed = [r for r in caplog.records if r.exc_info and "GET /api/v1/records/" in r.getMessage()]
    assert failed, "the failure was not logged"
    assert CLIENT_ADDRESS not in caplog.text, [
        r.getMessage() for r in caplog.records if CLIENT_ADDRESS in r.getMessage()
    ]
