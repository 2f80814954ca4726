"""Federation test helpers: co-ops served by real aiohttp servers on 127.0.0.1, each with its
own database (a SQLite file, or a PostgreSQL schema of its own), and small hostile servers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from coopkit import CHARTER, DAY, T0, NodeTestServer, did, key

from coopfed.node.app import NODE, create_app
from coopfed.node.config import Config
from coopfed.node.federation import Federation
from coopfed.node.fedroutes import CLIENT_FACTORY, FEDERATION
from coopfed.node.service import Node
from coopfed.node.storage import Store
from coopfed.protocol.bodies import Charter, Flag, FlagReason, Rating, RequesterRef
from coopfed.protocol.checkpoint import SignedCheckpoint
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.witness import log_verifier

REQ = RequesterRef(platform="mturk", id="A9FEDTEST")
#: Background loops stay idle in these tests: the tests drive sync and gather themselves.
IDLE = {"sync_interval_s": 3600.0, "sync_max_backoff_s": 7200.0}


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Env:
    """Where a test's co-ops keep their data: SQLite files, or one PostgreSQL schema each."""

    def __init__(self, name: str, tmp: Path, pg_url: str | None, pg: Any = None) -> None:
        self.name = name
        self.tmp = tmp
        self.pg_url = pg_url
        self.pg = pg
        self.schemas: list[str] = []
        self.coops: list[Coop] = []
        self.clock = Clock(T0 + 1000)

    async def config(self, name: str, **settings: Any) -> Config:
        data = self.tmp / name
        settings = {**IDLE, **settings}
        if self.name == "postgres":
            schema = f"f_{uuid.uuid4().hex[:16]}"
            await self.pg.execute(f'CREATE SCHEMA "{schema}"')
            self.schemas.append(schema)
            settings.setdefault("database_url", self.pg_url)
            settings.setdefault("schema", schema)
        return Config(data_dir=data, **settings)

    async def found(
        self,
        name: str,
        *,
        founders: Sequence[str] = ("ana", "bo", "cy"),
        charter: Charter = CHARTER,
        **settings: Any,
    ) -> Coop:
        config = await self.config(name, **settings)
        node = await Node.create(
            config,
            name=f"{name} co-op",
            charter=charter,
            founders=[did(f) for f in founders],
            now_ms=T0,
        )
        await node.close()
        return await self.serve(name, config)

    async def serve(
        self, name: str, config: Config, port: int | None = None, client_factory: Any = None
    ) -> Coop:
        app = create_app(config, clock=self.clock)
        if client_factory is not None:
            app[CLIENT_FACTORY] = client_factory
        served: list[tuple[str, str]] = []

        async def count(request: web.Request, response: web.StreamResponse) -> None:
            served.append((request.method, request.path_qs))

        app.on_response_prepare.append(count)
        server = NodeTestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        assert server.port is not None
        coop = Coop(name, config, self.clock, app, server, served, server.port)
        self.coops.append(coop)
        return coop

    async def restart(self, coop: Coop) -> Coop:
        """Stop ``coop``'s server and node, then start them again on the same port."""
        port = coop.port
        await coop.stop()
        self.coops.remove(coop)
        return await self.serve(coop.name, coop.config, port=port)

    async def close(self) -> None:
        for c in reversed(self.coops):
            await c.stop()
        for schema in self.schemas:
            await self.pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclasses.dataclass(eq=False)
class Coop:
    name: str
    config: Config
    clock: Clock
    app: web.Application
    server: TestServer
    served: list[tuple[str, str]]
    port: int
    stopped: bool = False

    @property
    def node(self) -> Node:
        return self.app[NODE]

    @property
    def fed(self) -> Federation:
        return self.app[FEDERATION]

    @property
    def did(self) -> str:
        return self.node.did

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.server.close()

    def sign(self, who: str | SigningIdentity, body: Any, *, ts: int | None = None) -> Record:
        signer = key(who) if isinstance(who, str) else who
        return sign_record(signer, coop=self.did, ts=ts or self.clock.now, body=body)

    async def submit(self, *records: Record) -> None:
        await self.node.submit_many([r.raw for r in records], now_ms=self.clock.now)

    async def rate(self, who: str, text: str = "pays badly", requester: RequesterRef = REQ) -> None:
        await self.submit(
            self.sign(who, Rating(requester=requester, text=text, scores=(("pay", 1),)))
        )

    async def flag(self, who: str, requester: RequesterRef = REQ) -> Record:
        r = self.sign(
            who,
            Flag(
                requester=requester,
                target="requester",
                target_id=None,
                reason=FlagReason.UNDERPAID,
                expires=self.clock.now + 30 * DAY,
            ),
        )
        await self.submit(r)
        return r

    async def govern(self) -> list[Record]:
        return await self.node.run_governance(now_ms=self.clock.now)

    async def checkpoint(self) -> SignedCheckpoint:
        note = await self.node.sign_checkpoint(now_ms=self.clock.now)
        return SignedCheckpoint(note=note, log_verifier=log_verifier(self.did))

    async def pin(
        self, other: Coop, *, url: str | None = None, mirrors: Sequence[str] = ()
    ) -> None:
        await self.node.peers.pin(
            other.did,
            url=url or other.url,
            mirrors=list(mirrors),
            name=other.node.name,
            now_ms=self.clock.now,
        )

    async def get(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        async with aiohttp.ClientSession() as s, s.get(self.url + path, **kw) as resp:
            await resp.read()
            return resp

    async def fetch(self, path: str, **kw: Any) -> tuple[int, str, bytes]:
        async with aiohttp.ClientSession() as s, s.get(self.url + path, **kw) as resp:
            return resp.status, resp.content_type, await resp.read()

    async def post(self, path: str, body: bytes, **kw: Any) -> tuple[int, str, bytes]:
        async with aiohttp.ClientSession() as s, s.post(self.url + path, data=body, **kw) as resp:
            return resp.status, resp.content_type, await resp.read()


async def fork_of(env: Env, coop: Coop, upto: int, name: str) -> Coop:
    """A node holding ``coop``'s key and the first ``upto`` entries of its log, nothing else.

    What it signs from here on is a different history under the same co-op key: a fork.
    """
    data = env.tmp / name
    data.mkdir()
    for f in ("coop.key", "admin.token"):
        shutil.copy(coop.config.data_dir / f, data / f)
    config = dataclasses.replace(
        await env.config(name), data_dir=data, checkpoint_every=coop.config.checkpoint_every
    )
    config.save()
    raws = await coop.node.entries(0, upto)
    store = await Store.open(config)
    try:
        async with store.write() as tx:
            await tx.set_meta({"coop": coop.did, "name": coop.node.name, "created_ms": str(T0)})
            await tx.append([Record.from_bytes(r) for r in raws])
    finally:
        await store.close()
    return await env.serve(name, config)


Rewrite = Callable[[web.Request, int, str, bytes], Awaitable[web.StreamResponse | None]]


class Proxy:
    """A server on 127.0.0.1 that forwards GETs to ``target`` and may rewrite the answers."""

    def __init__(self, target: str, rewrite: Rewrite | None = None) -> None:
        self.target = target
        self.rewrite = rewrite
        self.seen: list[str] = []
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> Proxy:
        await self.server.start_server()
        self.url = f"http://127.0.0.1:{self.server.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request.path_qs)
        body = await request.read()
        async with (
            aiohttp.ClientSession() as s,
            s.request(
                request.method,
                self.target + request.path_qs,
                data=body or None,
                headers={
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() in ("accept", "authorization", "content-type")
                },
            ) as resp,
        ):
            data = await resp.read()
            status, ctype = resp.status, resp.headers.get("Content-Type", "")
        if self.rewrite is not None:
            out = await self.rewrite(request, status, ctype, data)
            if out is not None:
                return out
        return web.Response(status=status, body=data, headers={"Content-Type": ctype})


@contextlib.asynccontextmanager
async def make_env(kind: str, tmp: Path) -> AsyncIterator[Env]:
    """An :class:`Env` on SQLite or PostgreSQL (skipped, or failed under CI, without one)."""
    if kind == "sqlite":
        env = Env(kind, tmp, None)
        try:
            yield env
        finally:
            await env.close()
        return
    from tests.conftest import PG_URL, _pg_connect

    conn = await _pg_connect()
    env = Env(kind, tmp, PG_URL, conn)
    try:
        yield env
    finally:
        try:
            await env.close()
        finally:
            await conn.close()


class StaticLog:
    """A server on 127.0.0.1 serving exactly the given log, signed with ``key``, as a node
    would: whatever the co-op key signs, valid by the co-op's rules or not."""

    def __init__(self, raws: Sequence[bytes], key: SigningIdentity, *, proofs: bool = True) -> None:
        from coopfed.protocol.checkpoint import Checkpoint, log_origin, sign_checkpoint
        from coopfed.protocol.merkle import MemoryTree

        self.raws = list(raws)
        self.tree = MemoryTree.from_leaves(self.raws)
        cp = Checkpoint(origin=log_origin(key.did), size=self.tree.size, root_hash=self.tree.root())
        self.note = sign_checkpoint(cp, key.seed)
        app = web.Application()
        app.router.add_get("/checkpoint", self.checkpoint)
        app.router.add_get("/tile/{path:.+}", self.tile)
        if proofs:  # else a plain tlog-tiles server: proofs must come from its tiles
            app.router.add_get("/api/v1/proof/consistency", self.consistency)
        self.requests: list[str] = []
        app.on_response_prepare.append(self._count)
        self.server = TestServer(app, host="127.0.0.1")
        self.url = ""

    async def __aenter__(self) -> StaticLog:
        await self.server.start_server()
        self.url = f"http://127.0.0.1:{self.server.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    async def _count(self, request: web.Request, response: web.StreamResponse) -> None:
        self.requests.append(request.path_qs)

    async def checkpoint(self, request: web.Request) -> web.Response:
        return web.Response(body=self.note, content_type="text/plain")

    async def tile(self, request: web.Request) -> web.Response:
        from coopfed.protocol.merkle import parse_entries_path, parse_tile_path

        path = "tile/" + request.match_info["path"]
        if path.startswith("tile/entries/"):
            index, width = parse_entries_path(path)
            raws = self.raws[index * 256 : index * 256 + (width or 256)]
            body = b"".join(len(r).to_bytes(2, "big") + r for r in raws)
        else:
            level, index, width = parse_tile_path(path)
            body = self.tree.tile(level, index, width or 256)
        return web.Response(body=body, content_type="application/octet-stream")

    async def consistency(self, request: web.Request) -> web.Response:
        old, new = int(request.query["old"]), int(request.query["new"])
        proof = self.tree.consistency_proof(old, new)
        return web.json_response({"old": old, "new": new, "proof": [h.hex() for h in proof]})
