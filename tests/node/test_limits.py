"""Abuse limits (node/limits.py): rate limits, body sizes, slow clients, timeouts, and the
governance rules an abuser would lean on (second ballots, revoked members)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from coopkit import FOUNDERS, HOUR, REQ, T0, did
from test_app import Clock, Live, expect_error, found_config, proposal, serve

from coopfed.node import limits
from coopfed.node.app import MSGPACK, ROUTES
from coopfed.node.config import Config
from coopfed.node.keys import read_admin_token
from coopfed.protocol.bodies import Ballot, ProposalKind, Rating
from coopfed.protocol.records import Record

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- token buckets


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    buckets = limits.TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # keys are independent
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_buckets_forget_keys_once_full_again_and_stay_bounded() -> None:
    clock = FakeClock()
    buckets = limits.TokenBuckets(rate=1.0, burst=2, max_keys=3, clock=clock)
    buckets.take("198.51.100.7")
    assert "198.51.100.7" in buckets
    clock.now += 2.0  # full again after burst / rate seconds: nothing left to remember
    buckets.take("other")
    assert "198.51.100.7" not in buckets
    for i in range(10):
        buckets.take(f"k{i}")
    assert len(buckets) == 3  # the least recently used went first


def test_addresses_are_metered_per_ipv4_and_per_ipv6_slash_64() -> None:
    assert limits.address_key("198.51.100.7") == "198.51.100.7"
    assert limits.address_key("2001:db8:1:2::1") == limits.address_key("2001:db8:1:2:ffff::9")
    assert limits.address_key("2001:db8:1:2::1") != limits.address_key("2001:db8:1:3::1")
    assert limits.address_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert limits.address_key(None) == "-"


def test_config_refuses_nonsense_limits(tmp_path: Path) -> None:
    for bad in (
        {"rate_member_per_s": -1},
        {"rate_address_burst": 0},
        {"header_timeout_s": 0},
        {"outbound_timeout_s": -5},
    ):
        with pytest.raises(ValueError):
            Config(data_dir=tmp_path, **bad)
    timeout = limits.client_timeout(Config(data_dir=tmp_path, outbound_timeout_s=7))
    assert timeout.total == 7 and timeout.connect == 7 and timeout.sock_read == 7


# --------------------------------------------------------------------------- over HTTP


async def _live(backend: Any, **settings: Any) -> Live:
    config = backend.config(governance_interval_s=0.02, checkpoint_interval_s=0.05, **settings)
    await found_config(config)
    return await serve(config, Clock(T0 + 1000))


@pytest.fixture
async def limited(backend: Any) -> AsyncIterator[Live]:
    live = await _live(
        backend,
        rate_address_per_s=0.001,
        rate_address_burst=6,
        rate_member_per_s=0.001,
        rate_member_burst=2,
    )
    try:
        yield live
    finally:
        await live.client.close()


async def test_a_member_over_its_rate_gets_429_with_retry_after(limited: Live) -> None:
    ana = [limited.sign("ana", Rating(requester=REQ, text=f"r{i}")) for i in range(3)]
    await limited.ok(ana[0])
    await limited.ok(ana[1])
    resp = await limited.post(ana[2])
    msg = await expect_error(resp, 429, "rate_limited")
    assert "this member" in msg
    assert int(resp.headers["Retry-After"]) >= 1
    # Another member is not held back by ana.
    await limited.ok(limited.sign("bo", Rating(requester=REQ, text="bo")))


async def test_forged_records_cannot_use_up_a_members_tokens(limited: Live) -> None:
    good = limited.sign("bo", Rating(requester=REQ, text="mine"))
    forged = bytearray(good.raw)
    at = good.raw.index(good.sig) + 10
    forged[at] ^= 1  # the signature no longer verifies
    for _ in range(2):
        await limited.refused(bytes(forged), 400, "bad_signature")
    await limited.ok(good)


async def test_an_address_over_its_rate_gets_429_reads_do_not(limited: Live) -> None:
    statuses = []
    for i in range(7):
        who = FOUNDERS[i % 3]
        resp = await limited.post(limited.sign(who, Rating(requester=REQ, text=f"a{i}")))
        statuses.append(resp.status)
        if resp.status == 429:
            msg = await expect_error(resp, 429, "rate_limited")
            assert "this address" in msg and int(resp.headers["Retry-After"]) >= 1
    assert statuses[-1] == 429 and statuses.count(429) >= 1
    for _ in range(20):  # reads are never metered
        assert (await limited.client.get("/api/v1/status")).status == 200


@pytest.fixture
async def small(backend: Any) -> AsyncIterator[Live]:
    live = await _live(backend, max_body=1024, header_timeout_s=0.5, request_timeout_s=0.5)
    try:
        yield live
    finally:
        await live.client.close()


async def test_every_route_refuses_a_body_over_the_limit(small: Live) -> None:
    for method, path, _ in ROUTES:
        url = re.sub(r"\{[^}]+\}", "x", path)
        resp = await small.client.request(
            method, url, data=b"x" * 2000, headers={"Content-Type": MSGPACK}
        )
        await expect_error(resp, 413, "too_large")


async def test_a_chunked_body_over_the_limit_is_refused(small: Live) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"y" * 100

    for path in ("/api/v1/records", "/api/v1/join"):
        ctype = MSGPACK if path.endswith("records") else "application/json"
        resp = await small.client.post(path, data=chunks(), headers={"Content-Type": ctype})
        assert resp.status == 413, await resp.text()


async def _raw(live: Live) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    server = live.client.server
    return await asyncio.open_connection(server.host, server.port)


async def test_a_slowloris_client_is_cut_off(small: Live) -> None:
    reader, writer = await _raw(small)
    writer.write(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    await writer.drain()
    started = asyncio.get_running_loop().time()
    for _ in range(20):  # a byte now and then, as slowloris does
        await asyncio.sleep(0.1)
        if reader.at_eof():
            break
        try:
            writer.write(b"X-a: b\r\n")
            await writer.drain()
        except ConnectionError:
            break
    data = await asyncio.wait_for(reader.read(), timeout=5)
    assert data == b""  # closed without an answer
    assert asyncio.get_running_loop().time() - started < 4
    writer.close()


async def test_a_body_that_trickles_in_gets_408(small: Live) -> None:
    reader, writer = await _raw(small)
    writer.write(
        b"POST /api/v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: "
        + MSGPACK.encode()
        + b"\r\nContent-Length: 500\r\n\r\n"
        + b"\x80" * 10
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readline(), timeout=5)
    assert head.startswith(b"HTTP/1.1 408"), head
    rest = await asyncio.wait_for(reader.read(4096), timeout=5)
    assert b'"code": "timeout"' in rest or b'"code":"timeout"' in rest
    writer.close()


# -------------------------------------------------------------------- JSON bodies (issue 11)

#: Every route that reads a JSON body, and whether it needs the admin token.
JSON_ROUTES = (
    ("/api/v1/join", False),
    ("/api/v1/invites", True),
    ("/api/v1/peers", True),
    ("/api/v1/policy", True),
    ("/api/v1/operator/requester-alias", True),
    ("/api/v1/operator/requester-key", True),
)


async def test_deeply_nested_json_is_refused_on_every_json_route(live: Live) -> None:
    # Before issue 11 each of these raised RecursionError inside json.loads: a 500 in
    # plain text (the first one for anybody, without a token).
    admin = {"Authorization": f"Bearer {read_admin_token(live.config.data_dir)}"}
    deep = {
        "lists": b"[" * 30_000 + b"]" * 30_000,
        "objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        "one past the limit": b"[" * 33 + b"]" * 33,
    }
    for path, needs_token in JSON_ROUTES:
        headers = {"Content-Type": "application/json", **(admin if needs_token else {})}
        for what, body in deep.items():
            assert len(body) <= live.config.max_body
            resp = await live.client.post(path, data=body, headers=headers)
            message = await expect_error(resp, 400, "too_deep")
            assert "32" in message, (path, what, message)
        # At the limit the body is JSON the route reads, and refuses for what it says.
        resp = await live.client.post(path, data=b"[" * 32 + b"]" * 32, headers=headers)
        await expect_error(resp, 400, "bad_request")
        resp = await live.client.post(path, data=b'{"a": [1,', headers=headers)
        await expect_error(resp, 400, "decode_error")
    assert (await live.client.get("/api/v1/status")).status == 200


# ------------------------------------------------------------------ request heads (issue 11)


async def _exchange(live: Live, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; the answer's status, headers and body (the node closes after it)."""
    reader, writer = await _raw(live)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    return int(status_line.split()[1]), headers, body


async def test_malformed_request_heads_get_coded_json_and_log_no_address(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cases = [
        (b"GET /api/v1/status?" + b"q" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
        (b"GET /" + b"p" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
        (b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-A: " + b"b" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(70)) + b"\r\n", 431),
        (b"GET /api/v1/status HTTP/1.1\r\nX-Forwarded-For 203.0.113.9\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not HTTP\r\n\r\n", 400),
    ]
    for request, status in cases:
        got, headers, body = await _exchange(live, request)
        assert got == status, (request[:40], got, body)
        assert headers["content-type"].startswith("application/json"), headers
        error = json.loads(body)["error"]
        assert set(error) == {"code", "message"}, error
        assert error["code"] == ("head_too_large" if status == 431 else "bad_request"), error
        assert b"qqq" not in body and b"203.0.113.9" not in body  # nothing of theirs echoed
    logged = caplog.text
    assert "malformed request" in logged
    for leak in ("127.0.0.1", "203.0.113.9"):
        assert leak not in logged, logged
    assert (await live.client.get("/api/v1/status")).status == 200


async def test_integer_query_parameters_must_be_canonical(live: Live) -> None:
    for bad in ("00000000000000000001", "01", "+1", "-1", " 1", "1 ", "１", "1e0", "9" * 19, ""):
        resp = await live.client.get("/api/v1/proof/inclusion", params={"index": bad, "size": "2"})
        message = await expect_error(resp, 400, "bad_request")
        assert "index" in message, (bad, message)
    assert (await live.client.get("/api/v1/proof/inclusion?index=0&size=1")).status == 200
    assert (await live.client.get("/api/v1/proof/consistency?old=1&new=2")).status == 200


async def test_a_repeated_query_parameter_is_refused(live: Live) -> None:
    for query in ("index=0&index=1&size=2", "index=0&size=2&size=2"):
        resp = await live.client.get(f"/api/v1/proof/inclusion?{query}")
        message = await expect_error(resp, 400, "bad_request")
        assert "more than once" in message, message
    resp = await live.client.get("/api/v1/blocklist?format=csv&format=json")
    await expect_error(resp, 400, "bad_request")


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(250):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the node did not get there in 5 s")


@pytest.fixture
async def capped(backend: Any) -> AsyncIterator[Live]:
    live = await _live(backend, max_connections_per_address=3)
    try:
        yield live
    finally:
        await live.client.close()


async def test_connections_per_address_are_capped(capped: Live) -> None:
    meter = capped.client.app[limits.LIMITS].connections
    assert meter is not None
    # The client's own pool holds an idle keep-alive connection: start from none.
    await capped.client.session.close()
    await _until(lambda: meter.count("127.0.0.1") == 0)
    held = [await _raw(capped) for _ in range(3)]  # idle, as a slowloris client holds them
    await _until(lambda: meter.count("127.0.0.1") == 3)
    reader, writer = await _raw(capped)
    data = await asyncio.wait_for(reader.read(), timeout=5)  # answered and closed at once
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429 "), head
    assert b"Retry-After: " in head and b"Content-Type: application/json" in head
    error = json.loads(body)["error"]
    assert error["code"] == "too_many_connections" and "3" in error["message"], error
    # One held connection closes: a new one is served.
    _, first = held.pop()
    first.close()
    await _until(lambda: meter.count("127.0.0.1") == 2)
    got, _, body = await _exchange(
        capped, b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert got == 200, body
    for _, w in held:
        w.close()


async def test_the_connection_cap_can_be_turned_off(backend: Any) -> None:
    live = await _live(backend, max_connections_per_address=0)
    try:
        held = [await _raw(live) for _ in range(20)]
        got, _, _ = await _exchange(
            live, b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert got == 200
        for _, w in held:
            w.close()
    finally:
        await live.client.close()


def test_every_outbound_request_in_the_node_has_a_timeout() -> None:
    # aiohttp sessions and urllib calls anywhere in node/ must name a timeout.
    for path in sorted((ROOT / "node").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for call in ("ClientSession(", "urlopen(", "aiohttp.request("):
            for m in re.finditer(re.escape(call), text):
                depth, i = 1, m.end()
                while depth and i < len(text):
                    depth += {"(": 1, ")": -1}.get(text[i], 0)
                    i += 1
                args = text[m.end() : i]
                assert "timeout" in args, f"{path.name}: {call}{args[:80]}… has no timeout"


# --------------------------------------------------------------------------- governance abuse


@pytest.fixture
async def live(backend: Any) -> AsyncIterator[Live]:
    live = await _live(backend)
    try:
        yield live
    finally:
        await live.client.close()


async def test_a_second_ballot_replaces_the_first(live: Live) -> None:
    prop = proposal(live, "ana", kind=ProposalKind.IDEA)
    await live.ok(prop)
    await live.ok(live.sign("bo", Ballot(proposal=prop.id, choice="up")))
    live.clock.now += 1000
    await live.ok(live.sign("bo", Ballot(proposal=prop.id, choice="down")))
    live.clock.now += 1000
    await live.ok(live.sign("bo", Ballot(proposal=prop.id, choice="down")))
    shown = await live.get(f"/api/v1/proposals/{prop.id.hex()}")
    tally = shown["tally"]
    assert tally["ballots"] == 1, tally  # one member, one vote
    assert tally["counts"].get("down") == 1 and not tally["counts"].get("up"), tally


async def test_a_revoked_members_earlier_records_stay_valid(live: Live) -> None:
    earlier = live.sign("cy", Rating(requester=REQ, text="before", scores=(("pay", 1),)))
    await live.ok(earlier)
    prop = proposal(live, "ana", kind=ProposalKind.REVOKE, member=did("cy"))
    await live.ok(prop)
    for who in ("ana", "bo"):
        await live.ok(live.sign(who, Ballot(proposal=prop.id, choice="yes")))
    live.clock.now += HOUR

    async def revoked() -> bool:
        members = (await live.get("/api/v1/members"))["members"]
        return did("cy") not in {m["did"] for m in members}

    await live.governed(revoked)
    later = live.sign("cy", Rating(requester=REQ, text="after"))
    await live.refused(later, 403, "revoked")
    # Still in the log, byte for byte, and its signature still verifies.
    resp = await live.client.get(f"/api/v1/records/{earlier.id.hex()}", headers={"Accept": MSGPACK})
    assert resp.status == 200
    assert Record.from_bytes(await resp.read()) == earlier
    profile = await live.get(f"/api/v1/requesters/{REQ.platform}/{REQ.id}")
    assert profile["all"]["reports"] >= 1, profile
    # The refused record never entered the log.
    assert (await live.client.get(f"/api/v1/records/{later.id.hex()}")).status == 404
