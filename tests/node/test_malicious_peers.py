"""A scripted peer on 127.0.0.1 that pretends to be a co-op's node and lies (issue 7, item 4).

It serves the well-known document, ``/checkpoint``, hash tiles, entry bundles and proofs of
a log signed with the co-op's real key, and, per test, a fork, records the co-op's rules do
not admit, replays, far-future timestamps, oversized or endless answers, answers trickled a
byte at a time, wrong media types and values at their limits. For each, the following node
refuses with a stored reason (``refusals`` rows, and the peer row's last code and error),
answers a member's POST while the attack is under way, and keeps nothing of the bad data:
its copy holds only what verified, and its blocklist does not change.

SQLite only: the storage paths are the ones tests/node/test_federation.py runs on both
backends; what is tested here is what the node does with what it is sent. The follower's
outbound timeout is 1 s so that the hanging answers cost a second each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer
from fedkit import Coop, Env, make_env

from coopfed.node.federation import SyncOutcome
from coopfed.node.keys import read_coop_key
from coopfed.node.peers import PeerStatus, equivocations, peer_records
from coopfed.protocol.bodies import (
    AdoptRule,
    FederationPolicy,
    Follow,
    MemberResign,
    Rating,
    RequesterRef,
)
from coopfed.protocol.checkpoint import (
    Checkpoint,
    EquivocationProof,
    log_origin,
    sign_checkpoint,
)
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import MemoryTree, parse_entries_path, parse_tile_path
from coopfed.protocol.records import Record
from coopfed.protocol.sync import MAX_FUTURE_MS
from coopfed.protocol.witness import log_verifier

MSGPACK = "application/vnd.coopfed+msgpack"
TIMEOUT_S = 1.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


class ScriptedPeer:
    """A fake co-op node serving ``raws`` under ``key``; ``script[kind]`` may answer instead.

    Kinds: ``well-known``, ``checkpoint``, ``tile``, ``entries``, ``proof``. A handler that
    returns None lets the honest answer through. Handlers that hang wait on ``release``,
    set when the server closes, so that closing never waits for them.
    """

    def __init__(self, coop: str, key: SigningIdentity, raws: list[bytes]) -> None:
        self.coop = coop
        self.key = key
        self.script: dict[str, Handler] = {}
        self.release = asyncio.Event()
        self.set_log(raws)
        app = web.Application()
        app.router.add_get("/.well-known/coopfed", self.well_known)
        app.router.add_get("/checkpoint", self.checkpoint)
        app.router.add_get("/tile/{path:.+}", self.tile)
        app.router.add_get("/api/v1/proof/consistency", self.consistency)
        self.server = TestServer(app, host="127.0.0.1")
        self.url = ""

    def set_log(self, raws: list[bytes], *, note: bytes | None = None) -> None:
        self.raws = list(raws)
        self.tree = MemoryTree.from_leaves(self.raws)
        cp = Checkpoint(
            origin=log_origin(self.coop), size=self.tree.size, root_hash=self.tree.root()
        )
        self.note = note or sign_checkpoint(cp, self.key.seed)

    async def __aenter__(self) -> ScriptedPeer:
        await self.server.start_server()
        self.url = f"http://127.0.0.1:{self.server.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await self.server.close()

    async def _scripted(self, kind: str, request: web.Request) -> web.StreamResponse | None:
        handler = self.script.get(kind)
        return None if handler is None else await handler(request)

    async def well_known(self, request: web.Request) -> web.StreamResponse:
        if (out := await self._scripted("well-known", request)) is not None:
            return out
        return web.json_response(
            {"coop": self.coop, "name": "a co-op", "origin": log_origin(self.coop)}
        )

    async def checkpoint(self, request: web.Request) -> web.StreamResponse:
        if (out := await self._scripted("checkpoint", request)) is not None:
            return out
        return web.Response(body=self.note, content_type="text/plain")

    async def tile(self, request: web.Request) -> web.StreamResponse:
        path = "tile/" + request.match_info["path"]
        if path.startswith("tile/entries/"):
            if (out := await self._scripted("entries", request)) is not None:
                return out
            index, width = parse_entries_path(path)
            raws = self.raws[index * 256 : index * 256 + (width or 256)]
            body = b"".join(len(r).to_bytes(2, "big") + r for r in raws)
        else:
            if (out := await self._scripted("tile", request)) is not None:
                return out
            level, index, width = parse_tile_path(path)
            body = self.tree.tile(level, index, width or 256)
        return web.Response(body=body, content_type="application/octet-stream")

    async def consistency(self, request: web.Request) -> web.StreamResponse:
        if (out := await self._scripted("proof", request)) is not None:
            return out
        old, new = int(request.query["old"]), int(request.query["new"])
        proof = self.tree.consistency_proof(old, new)
        return web.json_response({"old": old, "new": new, "proof": [h.hex() for h in proof]})

    # Hostile answers ---------------------------------------------------------------

    async def trickle(self, request: web.Request, body: bytes, ctype: str) -> web.StreamResponse:
        """``body`` one byte every 50 ms: well-formed, and far slower than any timeout."""
        resp = web.StreamResponse(headers={"Content-Type": ctype})
        await resp.prepare(request)
        for byte in body:
            if self.release.is_set():
                break
            await resp.write(bytes([byte]))
            await asyncio.sleep(0.05)
        return resp

    async def endless(self, request: web.Request, ctype: str, delay: float) -> web.StreamResponse:
        """Chunks without end (no Content-Length), every ``delay`` seconds."""
        resp = web.StreamResponse(headers={"Content-Type": ctype})
        await resp.prepare(request)
        while not self.release.is_set():
            await resp.write(b"x" * 1024)
            await asyncio.sleep(delay)
        return resp

    async def silent(self, request: web.Request) -> web.StreamResponse:
        await self.release.wait()  # never a status line
        return web.Response()


@dataclass
class World:
    env: Env
    a: Coop  # the genuine co-op: its key and its members sign what the peer serves
    b: Coop  # the follower under attack
    key: SigningIdentity
    genesis: list[bytes]  # entries 0…3: charter and founders
    payload: list[bytes]  # three flags and the block they make: adopted if taken
    resign: list[bytes]  # cy resigns, the co-op revokes cy
    posted: int = 0

    def sign(self, who: str, body: Any, *, ts: int | None = None) -> Record:
        return self.a.sign(who, body, ts=ts)

    def rating(self, who: str, text: str, *, ts: int | None = None) -> Record:
        return self.sign(
            who, Rating(requester=RequesterRef(platform="mturk", id="B1"), text=text), ts=ts
        )

    async def member_posts(self, delay: float = 0.0) -> float:
        """A member of B posts a rating to B over HTTP: 201, and how long it took."""
        await asyncio.sleep(delay)
        self.posted += 1
        r = self.b.sign(
            "dee", Rating(requester=RequesterRef(platform="mturk", id="M"), text=f"r{self.posted}")
        )
        t = time.monotonic()
        status, _, body = await self.b.post(
            "/api/v1/records", r.raw, headers={"Content-Type": MSGPACK}
        )
        assert status == 201, body
        return time.monotonic() - t

    async def sync_under_attack(self, *, post_after: float = 0.0) -> SyncOutcome:
        """One sync round of A at B while a member posts to B; the post is never held up."""
        before = await self.b.node.size()
        got, took = await asyncio.gather(self.b.fed.sync(self.a.did), self.member_posts(post_after))
        assert took < TIMEOUT_S / 2, f"a member's POST took {took:.2f} s during the attack"
        assert await self.b.node.size() == before + 1
        return got

    async def held(self) -> list[bytes]:
        async with self.b.node.store.read() as conn:
            rows = await conn.execute(
                sa.select(peer_records.c.raw)
                .where(peer_records.c.coop == self.a.did)
                .order_by(peer_records.c.idx)
            )
            return [r.raw for r in rows]

    async def unharmed(self, got: SyncOutcome, code: str, *, kept: list[bytes]) -> None:
        """Refused with ``code`` stored; B holds exactly ``kept`` of A's log; no block adopted."""
        assert not got.ok and got.code == code, got
        # What B holds is exactly what verified, in memory and in the database alike.
        assert await self.held() == kept
        await self.b.node.peers.reload(self.a.did)
        p = self.b.node.peers.get(self.a.did)
        assert p is not None and p.frontier.size == p.state.size == len(kept)
        # The reason is stored: on the peer's row, and (for data that did not verify) as a
        # refusal with its source.
        assert p.info.last_code == code and p.info.last_error, p.info
        if got.result in ("refused", "invalid"):
            found = await self.b.node.peers.refusals(self.a.did)
            assert found and found[0].code == code and found[0].reason, found
        assert (await self.b.node.blocklist(now_ms=self.b.clock.now)).blocked() == ()
        assert (await self.b.get(f"/api/v1/peers/{self.a.did}")).status == 200


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with make_env("sqlite", tmp_path) as env:
        a = await env.found("a")
        b = await env.found("b", founders=("dee",), outbound_timeout_s=TIMEOUT_S)
        for m in ("ana", "bo", "cy"):
            await a.flag(m)
        assert any(r.type.value == "block" for r in await a.govern())
        await a.submit(a.sign("cy", MemberResign()))
        assert any(r.type.value == "member.revoke" for r in await a.govern())
        raws = await a.node.entries(0, await a.node.size())
        assert len(raws) == 10
        await b.node.peers.pin(
            a.did, url="http://127.0.0.1:9", mirrors=[], name="a", now_ms=b.clock.now
        )
        # B adopts A's blocks: were any of the bad data taken, A's block would be on B's list.
        await b.node.append_own(
            FederationPolicy(
                follow=(Follow(coop=a.did, url=a.url),),
                adopt=(AdoptRule(sources=(a.did,), k=1),),
            ),
            now_ms=b.clock.now,
        )
        yield World(env, a, b, read_coop_key(a.config.data_dir), raws[:4], raws[4:8], raws[8:10])


@contextlib.asynccontextmanager
async def peer(w: World, raws: list[bytes]) -> AsyncIterator[ScriptedPeer]:
    """The scripted peer serving ``raws`` under A's key, pinned at B as A's node."""
    async with ScriptedPeer(w.a.did, w.key, raws) as fake:
        await w.b.node.peers.pin(w.a.did, url=fake.url, mirrors=[], name="a", now_ms=w.b.clock.now)
        yield fake


# --------------------------------------------------------------------------- a fork


async def test_a_forked_log_is_refused_with_a_proof(world: World) -> None:
    w = world
    async with peer(w, w.genesis) as fake:
        assert (await w.b.fed.sync(w.a.did)).result == "synced"
        # The same key signs another history: entry 3 differs, and it grows (with a block).
        other = w.rating("ana", "another story")
        fake.set_log([*w.genesis[:3], other.raw, *w.payload])
        got = await w.sync_under_attack()
    await w.unharmed(got, "equivocation", kept=w.genesis)
    p = w.b.node.peers.get(w.a.did)
    assert p is not None and p.info.status is PeerStatus.EQUIVOCATED
    async with w.b.node.store.read() as conn:
        (row,) = (await conn.execute(sa.select(equivocations))).all()
    EquivocationProof.from_bytes(row.proof).verify(log_verifier(w.a.did))
    assert (await w.b.fed.sync(w.a.did)).result == "equivocated"  # final


# --------------------------------------------------------------------------- bad records


def _bad_signature(w: World) -> Record:
    r = w.rating("ana", "forged")
    at = r.raw.index(r.sig) + 5
    raw = bytearray(r.raw)
    raw[at] ^= 0x01  # inside the signature: the co-op key signs a tree holding it anyway
    return Record.from_bytes(bytes(raw), verify=False)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bad_signature", "bad_signature"),
        ("non_member", "not_member"),
        ("revoked_member", "revoked"),
        ("replay", "duplicate"),
    ],
)
async def test_records_the_coops_rules_refuse_are_never_taken(
    world: World, case: str, code: str
) -> None:
    w = world
    prefix = w.genesis
    if case == "bad_signature":
        bad = [_bad_signature(w).raw]
    elif case == "non_member":
        bad = [w.rating("mallory", "not a member").raw]
    elif case == "revoked_member":
        prefix = [*w.genesis, *w.resign]  # cy resigned and was revoked
        bad = [w.rating("cy", "after my revocation").raw]
    else:
        first = w.rating("ana", "said once")
        prefix = [*w.genesis, first.raw]
        bad = [first.raw]  # the same bytes again
    async with peer(w, [*prefix, *bad, *w.payload]):
        got = await w.sync_under_attack()
    assert got.result == "invalid", got
    await w.unharmed(got, code, kept=prefix)
    (refusal, *_) = await w.b.node.peers.refusals(w.a.did)
    assert refusal.first_idx == len(prefix)
    p = w.b.node.peers.get(w.a.did)
    assert p is not None and p.info.status is PeerStatus.INVALID


# --------------------------------------------------------------------------- far-future time


async def test_a_record_dated_far_past_the_clock_waits_until_the_clock_is_there(
    world: World,
) -> None:
    w = world
    now = w.b.clock.now
    edge = w.rating("ana", "as late as allowed", ts=now + MAX_FUTURE_MS)
    ahead = w.rating("bo", "from the future", ts=now + MAX_FUTURE_MS + 1)
    log = [*w.genesis, edge.raw, ahead.raw, *w.payload]
    async with peer(w, log):
        got = await w.sync_under_attack()
        assert got.result == "refused", got
        await w.unharmed(got, "future", kept=[*w.genesis, edge.raw])
        (refusal, *_) = await w.b.node.peers.refusals(w.a.did)
        assert (
            refusal.first_idx == len(w.genesis) + 1 and "past this node's clock" in refusal.reason
        )
        p = w.b.node.peers.get(w.a.did)
        assert p is not None and p.info.status is PeerStatus.REFUSED and p.info.failures == 1
        # Not invalid: once B's clock is there, the round takes it and resumes where it stopped.
        w.env.clock.now += 1
        got = await w.b.fed.sync(w.a.did)
    assert got.result == "synced", got
    assert await w.held() == log


async def test_the_future_bound_is_the_follower_s_own_setting(world: World) -> None:
    # sync_max_future_ms is a node's setting (federation.md §3 step 5), not the protocol's
    # constant: raised to two hours, this follower takes a record dated an hour ahead.
    w = world
    ahead = w.rating("bo", "an hour ahead", ts=w.b.clock.now + 3_600_000)
    log = [*w.genesis, ahead.raw]
    w.b.node.config = replace(w.b.node.config, sync_max_future_ms=7_200_000)
    async with peer(w, log):
        got = await w.b.fed.sync(w.a.did)
    assert got.result == "synced", got
    assert await w.held() == log


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize("case", ["content_length", "chunked", "extra_entry", "long_entry"])
async def test_entry_bundles_over_their_limits_are_refused(world: World, case: str) -> None:
    w = world
    log = [*w.genesis, *w.payload]
    width = len(log)
    async with peer(w, log) as fake:

        async def oversized(request: web.Request) -> web.StreamResponse:
            honest = b"".join(len(r).to_bytes(2, "big") + r for r in log)
            if case == "content_length":
                return web.Response(
                    body=honest + bytes(width * (2 + 32 * 1024)),
                    content_type="application/octet-stream",
                )
            if case == "chunked":
                return await fake.endless(request, "application/octet-stream", 0)
            if case == "extra_entry":
                extra = log[0]
                return web.Response(
                    body=honest + len(extra).to_bytes(2, "big") + extra,
                    content_type="application/octet-stream",
                )
            # One entry of 65 535 bytes, the most a 2-byte length can say.
            body = b"".join(len(r).to_bytes(2, "big") + r for r in log[:-1])
            body += b"\xff\xff" + bytes(0xFFFF)
            return web.Response(body=body, content_type="application/octet-stream")

        fake.script["entries"] = oversized
        got = await w.sync_under_attack()
    code = {"extra_entry": "bad_entry_bundle"}.get(case, "too_large")
    await w.unharmed(got, code, kept=[])


# --------------------------------------------------------------------------- slow answers


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("endless_checkpoint", "too_large"),
        ("endless_slow", "timeout"),
        ("trickled_checkpoint", "timeout"),
        ("trickled_entries", "timeout"),
        ("silent", "timeout"),
    ],
)
async def test_endless_and_trickling_answers_are_cut_off(
    world: World, case: str, code: str
) -> None:
    w = world
    log = [*w.genesis, *w.payload]
    async with peer(w, log) as fake:
        bundle = b"".join(len(r).to_bytes(2, "big") + r for r in log)

        async def hostile(request: web.Request) -> web.StreamResponse:
            if case == "endless_checkpoint":
                return await fake.endless(request, "text/plain", 0)
            if case == "endless_slow":
                return await fake.endless(request, "text/plain", 0.05)
            if case == "trickled_checkpoint":
                return await fake.trickle(request, fake.note, "text/plain")
            if case == "trickled_entries":
                return await fake.trickle(request, bundle, "application/octet-stream")
            return await fake.silent(request)

        fake.script["entries" if case == "trickled_entries" else "checkpoint"] = hostile
        t = time.monotonic()
        got = await w.sync_under_attack(post_after=0.2)
        took = time.monotonic() - t
    assert took < TIMEOUT_S + 1.0, f"the round took {took:.2f} s"
    await w.unharmed(got, code, kept=[])


# --------------------------------------------------------------------------- media types


@pytest.mark.parametrize(
    ("kind", "media"),
    [
        ("checkpoint", "application/json"),
        ("entries", "text/html"),
        ("proof", "text/plain"),
        ("tile", "application/json"),
    ],
)
async def test_answers_of_the_wrong_media_type_are_refused(
    world: World, kind: str, media: str
) -> None:
    w = world
    async with peer(w, w.genesis) as fake:
        assert (await w.b.fed.sync(w.a.did)).result == "synced"
        # From size 4 (a power of two) B reads a proof and the prefix hash from a tile.
        fake.set_log([*w.genesis, *w.payload])

        async def mislabelled(request: web.Request) -> web.StreamResponse:
            return web.Response(body=b"{}", content_type=media)

        fake.script[kind] = mislabelled
        got = await w.sync_under_attack()
    await w.unharmed(got, "wrong_media_type", kept=w.genesis)


# --------------------------------------------------------------------------- values at limits


@pytest.mark.parametrize("case", ["size_2_64_minus_1", "line_64_kib", "proof_ints", "proof_64_kib"])
async def test_integers_and_strings_at_their_limits_are_refused(world: World, case: str) -> None:
    w = world
    log = [*w.genesis, *w.payload]
    first = case != "size_2_64_minus_1"  # a first sync: no stored checkpoint to check it by
    kept = w.genesis if first else []
    async with peer(w, w.genesis) as fake:
        if first:
            assert (await w.b.fed.sync(w.a.did)).result == "synced"
        fake.set_log(log)
        if case == "size_2_64_minus_1":
            cp = Checkpoint(origin=log_origin(w.a.did), size=2**64 - 1, root_hash=bytes(32))
            fake.note = sign_checkpoint(cp, w.key.seed)
        elif case == "line_64_kib":
            origin = log_origin(w.a.did)
            big = Checkpoint(origin=origin, size=len(log), root_hash=fake.tree.root())
            note = sign_checkpoint(big, w.key.seed)
            head, _, rest = note.partition(b"\n\n")
            fake.note = head + b"\n" + b"x" * 65536 + b"\n\n" + rest
        else:
            hexes = ["00" * 32] if case == "proof_ints" else ["ab" * 32768]

            async def proof(request: web.Request) -> web.StreamResponse:
                return web.json_response(
                    {"old": 2**64 - 1, "new": 2**64 - 1, "proof": hexes}
                    if case == "proof_ints"
                    else {"old": 4, "new": len(log), "proof": hexes}
                )

            fake.script["proof"] = proof
        got = await w.sync_under_attack()
    code = {
        "size_2_64_minus_1": "too_large",
        "line_64_kib": "too_large",
        "proof_ints": "root_mismatch",
        "proof_64_kib": "too_large",
    }[case]
    await w.unharmed(got, code, kept=kept)


# --------------------------------------------------------------------------- nested JSON


@pytest.mark.parametrize("case", ["proof", "error_body"])
async def test_deeply_nested_json_answers_are_refused_and_backed_off(
    world: World, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Before issue 11, json.loads raised RecursionError in _proof and _snippet: the round
    # ended in a traceback, with no reason kept and no back-off.
    w = world
    async with peer(w, w.genesis) as fake:
        assert (await w.b.fed.sync(w.a.did)).result == "synced"
        fake.set_log([*w.genesis, *w.payload])

        async def nested(request: web.Request) -> web.StreamResponse:
            if case == "proof":  # 16 KiB of "[": the most a proof answer may be
                return web.Response(body=b"[" * (16 * 1024), content_type="application/json")
            body = b'{"error": ' + b"[" * 4000  # an error's body is read up to 4 KiB
            return web.Response(status=500, body=body, content_type="application/json")

        fake.script["proof"] = nested
        caplog.set_level(logging.INFO)
        got = await w.sync_under_attack()
    code = "bad_proof" if case == "proof" else "http_error"
    assert got.result == ("refused" if case == "proof" else "unreachable"), got
    await w.unharmed(got, code, kept=w.genesis)
    p = w.b.node.peers.get(w.a.did)
    assert p is not None and p.info.failures == 1 and p.info.next_try > w.b.clock.now, p.info
    assert "nested" in (got.reason or "") or case == "error_body", got
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
