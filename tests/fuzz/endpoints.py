"""Fuzzing the node's HTTP endpoints: a real node on 127.0.0.1, fed requests built from bytes.

:class:`NodeThread` founds a co-op on SQLite in a temporary directory and serves it from a
background thread; :func:`request_for` turns fuzz bytes into one request to an endpoint
that takes bytes (records, join, invites, tile paths, ids, query parameters);
:func:`check` holds the answer to the rule: a 2xx, or a 4xx with the error JSON. Nothing
else (no 5xx, no dropped connection) is allowed. Rate limits are off here so that every
input reaches the decoders (tests/node/test_limits.py covers the limits).
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MSGPACK = "application/vnd.coopfed+msgpack"
T0 = 1_767_225_600_000
FOUNDERS = ("ana", "bo", "cy")


def _key(name: str) -> Any:
    from coopfed.protocol.identity import SigningIdentity

    return SigningIdentity(hashlib.sha256(b"coopfed-test-" + name.encode()).digest())


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class NodeThread:
    """A founded co-op served by ``create_app`` on 127.0.0.1 from a daemon thread."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._tmp = (
            tempfile.TemporaryDirectory(prefix="coopfed-fuzz-") if data_dir is None else None
        )
        self.data_dir = Path(self._tmp.name if self._tmp else str(data_dir)) / "node"
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.coop = ""
        self.admin_token = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="coopfed-fuzz-node", daemon=True)

    def start(self) -> NodeThread:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error
        if not self.port:
            raise RuntimeError("the fuzz node did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> NodeThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        from aiohttp import web

        from coopfed.node.app import create_app
        from coopfed.node.config import Config
        from coopfed.node.keys import read_admin_token
        from coopfed.node.server import NodeRunner
        from coopfed.node.service import Node
        from coopfed.protocol.bodies import DAY_MS, BlockRule, Charter

        config = Config(
            data_dir=self.data_dir,
            governance_interval_s=0.5,
            checkpoint_interval_s=0.5,
            rate_address_per_s=0,
            rate_member_per_s=0,
        )
        charter = Charter(
            name="Fuzz Co-op",
            quorum_pct=50,
            pass_pct=50,
            amend_pct=66,
            min_window_ms=3_600_000,
            max_window_ms=14 * DAY_MS,
            idea_up=2,
            block_rule=BlockRule(flags=3, days=7, review_days=30),
            min_pay_cents=1200,
            admission="invite",
            roles=("coordinator",),
        )
        node = await Node.create(
            config,
            name=charter.name,
            charter=charter,
            founders=[_key(f).did for f in FOUNDERS],
            now_ms=T0,
        )
        self.coop = node.did
        await node.close()
        self.admin_token = read_admin_token(self.data_dir)
        app = create_app(config, clock=lambda: T0 + 60_000)
        runner = NodeRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def seeds(self) -> list[bytes]:
        """Fuzz inputs that reach deep: valid records and joins for this co-op, tile paths."""
        from coopfed.protocol.bodies import Flag, FlagReason, MemberApply, Rating, RequesterRef
        from coopfed.protocol.records import sign_record

        req = RequesterRef(platform="mturk", id="A1FUZZ")
        now = T0 + 60_000
        out: list[bytes] = []
        for i, who in enumerate(FOUNDERS):
            rating = sign_record(
                _key(who),
                coop=self.coop,
                ts=now,
                body=Rating(
                    requester=req, scores=(("pay", i + 1),), hourly_cents=450 + 50 * i, text="ok"
                ),
            )
            flag = sign_record(
                _key(who),
                coop=self.coop,
                ts=now,
                body=Flag(
                    requester=req,
                    target="requester",
                    target_id=None,
                    reason=FlagReason.UNDERPAID,
                    expires=now + 86_400_000,
                ),
            )
            out += [bytes([0]) + rating.raw, bytes([0]) + flag.raw]
        apply = sign_record(_key("dee"), coop=self.coop, ts=now, body=MemberApply(text="hi"))
        out.append(bytes([1]) + json.dumps({"apply": apply.raw.hex(), "token": "x"}).encode())
        out.append(bytes([8]) + apply.raw)
        out.append(bytes([2]) + b'{"ttl_s": 60}')
        out += [bytes([3]) + p for p in (b"0/000.p/3", b"entries/000.p/3", b"1/000", b"0/x001/000")]
        out += [bytes([5]) + b"00" * 32, bytes([6]) + b"\x00\x03", bytes([7]) + b"mturk/A1FUZZ"]
        return out


ROUTES = 10


def request_for(data: bytes, node: NodeThread) -> Request:
    """One HTTP request from fuzz bytes: byte 0 picks the endpoint, the rest is its input."""
    if not data:
        return Request("GET", "/checkpoint", {}, b"")
    route, rest = data[0] % ROUTES, data[1:]
    quoted = urllib.parse.quote(rest, safe="/.")
    if route == 0:
        return Request("POST", "/api/v1/records", {"Content-Type": MSGPACK}, rest)
    if route == 1:
        return Request("POST", "/api/v1/join", {"Content-Type": "application/json"}, rest)
    if route == 2:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {node.admin_token}",
        }
        return Request("POST", "/api/v1/invites", headers, rest)
    if route == 3:
        return Request("GET", "/tile/" + quoted, {}, b"")
    if route == 4:
        # A record with a wrong or odd media type.
        kind = rest[:1].decode("latin-1")
        if not (kind.isascii() and kind.isprintable()):
            kind = "x"  # header values must be printable: anything else is not HTTP at all
        ctype = {"j": "application/json", "t": "text/plain", "": ""}.get(kind, kind + MSGPACK)
        return Request("POST", "/api/v1/records", {"Content-Type": ctype}, rest[1:])
    if route == 5:
        accept = MSGPACK if rest[:1] == b"m" else "application/json"
        return Request("GET", "/api/v1/records/" + quoted, {"Accept": accept}, b"")
    if route == 6:
        a = int.from_bytes(rest[:1] or b"\x00", "big")
        b = int.from_bytes(rest[1:2] or b"\x00", "big")
        which = ("inclusion?index={a}&size={b}", "consistency?old={a}&new={b}")[a % 2]
        tail = urllib.parse.quote(rest[2:])
        return Request("GET", "/api/v1/proof/" + which.format(a=a, b=b) + tail, {}, b"")
    if route == 7:
        return Request("GET", "/api/v1/requesters/" + quoted, {}, b"")
    if route == 8:
        body = json.dumps({"apply": rest.hex()}).encode()
        return Request("POST", "/api/v1/join", {"Content-Type": "application/json"}, body)
    query = urllib.parse.quote(rest)
    paths = (
        f"/api/v1/proposals?status={query}",
        f"/api/v1/blocklist?format={query}",
        f"/api/v1/blocklist/explain/{quoted}",
        f"/api/v1/proposals/{quoted}",
    )
    return Request("GET", paths[len(rest) % len(paths)], {}, b"")


def send(conn: http.client.HTTPConnection, req: Request) -> tuple[int, dict[str, str], bytes]:
    headers = dict(req.headers)
    if req.method == "POST":
        headers["Content-Length"] = str(len(req.body))
    conn.request(
        req.method, req.path, body=req.body if req.method == "POST" else None, headers=headers
    )
    resp = conn.getresponse()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def check(req: Request, status: int, headers: dict[str, str], body: bytes) -> None:
    """A 2xx, or a 4xx whose body is ``{"error": {"code", "message"}}``; never a 5xx."""
    where = f"{req.method} {req.path[:200]} ({len(req.body)} bytes)"
    assert status < 500, f"{where} -> {status}: {body[:500]!r}"
    if status >= 400:
        assert headers.get("content-type", "").startswith("application/json"), (where, headers)
        value = json.loads(body)
        assert set(value) == {"error"}, (where, value)
        assert set(value["error"]) == {"code", "message"}, (where, value)
        assert value["error"]["message"], (where, value)


class Client:
    """A keep-alive HTTP client that reconnects when the server closes the connection."""

    def __init__(self, node: NodeThread) -> None:
        self.node = node
        self.conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)

    def run(self, data: bytes) -> None:
        req = request_for(data, self.node)
        try:
            status, headers, body = send(self.conn, req)
        except (http.client.HTTPException, ConnectionError):
            # The server may close after an error answer; the next try must succeed.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=30)
            status, headers, body = send(self.conn, req)
        check(req, status, headers, body)
        if headers.get("connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=30)

    def close(self) -> None:
        self.conn.close()


def inputs(node: NodeThread) -> Iterator[bytes]:
    yield from node.seeds()
