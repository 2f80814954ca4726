"""Federation between co-op nodes served on 127.0.0.1, each with its own database.

Every test runs on SQLite and on PostgreSQL. The nodes' background loops are idle here
(a long sync interval); the tests drive sync rounds and witness requests themselves, so
that what each round fetches can be counted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from fedkit import REQ, Coop, Env, Proxy, StaticLog, fork_of, make_env

from coopfed.node.federation import SYNC_PAGE
from coopfed.node.peers import PeerStatus, peer_records, refusals
from coopfed.protocol.bodies import AdoptRule, FederationPolicy, Follow, Rating, RequesterRef
from coopfed.protocol.checkpoint import EquivocationProof, verified_witnesses
from coopfed.protocol.merkle import (
    TILE_WIDTH,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from coopfed.protocol.witness import log_verifier, witness_verifier


@pytest.fixture(params=["sqlite", "postgres"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with make_env(request.param, tmp_path) as e:
        yield e


async def set_policy(coop: Coop, follow: list[Coop], *rules: tuple[int, list[Coop]]) -> None:
    policy = FederationPolicy(
        follow=tuple(
            Follow(coop=c.did, url=c.url) for c in sorted(follow, key=lambda c: c.did.encode())
        ),
        adopt=tuple(
            AdoptRule(sources=tuple(sorted((c.did for c in cs), key=str.encode)), k=k)
            for k, cs in rules
        ),
    )
    await coop.node.append_own(policy, now_ms=coop.clock.now)


async def block_by_flags(coop: Coop, members: tuple[str, ...] = ("ana", "bo", "cy")) -> None:
    """Three members flag REQ; the charter's rule makes the co-op block it provisionally."""
    for m in members:
        await coop.flag(m)
    done = await coop.govern()
    assert any(r.type.value == "block" for r in done)
    await coop.checkpoint()


def _hexes(body: bytes) -> list[bytes]:
    return [bytes.fromhex(h) for h in json.loads(body)["proof"]]


async def held_root(coop: Coop, of: Coop) -> tuple[int, bytes]:
    p = coop.node.peers.get(of.did)
    assert p is not None
    return p.frontier.size, p.frontier.root()


async def own_root(coop: Coop) -> tuple[int, bytes]:
    size = await coop.node.size()
    raws: list[bytes] = []
    while len(raws) < size:  # node.entries answers at most MAX_ENTRIES at a time
        raws += await coop.node.entries(len(raws), size)
    return len(raws), root_from_leaf_hashes([leaf_hash(r) for r in raws])


# --------------------------------------------------------------------------- convergence


async def test_three_coops_converge_and_adopt_blocks_under_their_policies(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee", "eve", "fay"))
    c = await env.found("c", founders=("gus", "hal", "ivy"))
    for x in (a, b, c):
        for y in (a, b, c):
            if x is not y:
                await x.pin(y)
    await set_policy(b, [a, c], (1, [a]))
    await set_policy(c, [a, b], (2, [a, b]))
    await a.rate("ana")
    await b.rate("dee", "unfair rejections")
    await block_by_flags(a)
    for x in (b, c):
        for y in (a, b, c):
            if x is not y:
                assert (await x.fed.sync(y.did)).ok
    bl_b = await b.node.blocklist(now_ms=b.clock.now)
    bl_c = await c.node.blocklist(now_ms=c.clock.now)
    assert [e.requester for e in bl_b.blocked()] == [REQ]
    assert bl_c.get(REQ) is None
    why = bl_c.explain(REQ)
    assert any("k=2" in s and "does not adopt it" in s for s in why.steps)

    # B's own members now block it too; C syncs and adopts (2 of [A, B]).
    await block_by_flags(b, ("dee", "eve", "fay"))
    assert (await c.fed.sync(b.did)).result == "synced"
    entry = (await c.node.blocklist(now_ms=c.clock.now)).get(REQ)
    assert entry is not None and entry.status.value == "blocked"
    assert {s.coop for s in entry.adopted} == {a.did, b.did}

    # Convergence: everyone's copy of everyone's log is that log, record for record.
    for x in (a, b, c):
        await x.checkpoint()
    for x in (a, b, c):
        for y in (a, b, c):
            if x is not y:
                await x.fed.sync(y.did)
                assert await held_root(x, y) == await own_root(y)

    # The explanation goes down to signed records in the right logs.
    status, _, data = await c.fetch("/api/v1/blocklist/explain/mturk/A9FEDTEST")
    assert status == 200
    why_json = json.loads(data)
    assert why_json["status"] == "blocked"
    coops = {r["coop"] for r in why_json["trace"]}
    assert {a.did, b.did, c.did} <= coops
    assert {r["type"] for r in why_json["trace"]} >= {"block", "flag", "federation.policy"}

    # The requester's profile counts ratings across the federation, each co-op's share shown.
    profile = await c.node.profile(REQ, now_ms=c.clock.now)
    shares = {s["coop"]: s for s in profile["federation"]["coops"]}
    assert shares[a.did]["reports"] == 1 and shares[b.did]["reports"] == 1
    assert shares[c.did]["own"] and shares[c.did]["reports"] == 0
    assert profile["federation"]["combined"]["reports"] == 2


async def test_an_up_to_date_peer_costs_one_request(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    await b.pin(a)
    await a.rate("ana")
    await a.checkpoint()
    first = await b.fed.sync(a.did)
    assert first.result == "synced"
    a.served.clear()
    again = await b.fed.sync(a.did)
    assert again.result == "up_to_date"
    assert a.served == [("GET", "/checkpoint")]
    # Growth costs the checkpoint, one consistency proof and the entry bundle.
    await a.rate("bo")
    await a.checkpoint()
    a.served.clear()
    assert (await b.fed.sync(a.did)).result == "synced"
    paths = [p for _, p in a.served]
    assert paths[0] == "/checkpoint"
    assert any(p.startswith("/api/v1/proof/consistency") for p in paths)
    assert any(p.startswith("/tile/entries/") for p in paths)
    assert len(paths) <= 4, paths


async def test_a_node_down_is_served_by_a_mirror_and_catches_up_when_back(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    c = await env.found("c", founders=("gus",))
    for x, y in ((b, a), (c, a), (c, b), (a, b)):
        await x.pin(y)
    await a.rate("ana")
    await a.checkpoint()
    assert (await b.fed.sync(a.did)).ok
    # A goes down; C has never synced it, and gets A's whole log from B's mirror,
    # checked against A's own signature.
    await a.stop()
    got = await c.fed.sync(a.did)
    assert got.result == "synced" and got.source == f"{b.url}/mirror/{a.did}"
    assert await held_root(c, a) == await held_root(b, a)
    # A mirror serves only what it verified: its checkpoint is A's, signed by A.
    status, ctype, note = await b.fetch(f"/mirror/{a.did}/checkpoint")
    assert status == 200 and ctype == "text/plain"
    assert note == (c.node.peers.get(a.did).verified.note)  # type: ignore[union-attr]
    # ...and its proofs are those of A's tree.
    size, root = await held_root(b, a)
    status, _, body = await b.fetch(f"/mirror/{a.did}/api/v1/proof/inclusion?index=1&size={size}")
    raws = (await c.node.peers.full_state(a.did)).entries()
    verify_inclusion(leaf_hash(raws[1].record.raw), 1, size, _hexes(body), root)
    status, _, body = await b.fetch(f"/mirror/{a.did}/api/v1/proof/consistency?old=3&new={size}")
    first3 = root_from_leaf_hashes([leaf_hash(e.record.raw) for e in raws[:3]])
    verify_consistency(3, size, first3, root, _hexes(body))
    assert (await b.fetch(f"/mirror/{a.did}/api/v1/proof/consistency?old=1&new=99"))[0] == 404
    assert (await b.fetch(f"/mirror/{c.did}/checkpoint"))[0] == 404

    # Now C goes down while A (back up) and B go on.
    a = await env.restart(a)
    await c.stop()
    await a.rate("bo")
    await a.rate("cy")
    await a.checkpoint()
    assert (await b.fed.sync(a.did)).result == "synced"
    # C returns: its copy of A is rebuilt from its database, and the sync resumes there.
    c = await env.restart(c)
    held = c.node.peers.get(a.did)
    assert held is not None and held.state.size == held.frontier.size > 0
    a.served.clear()
    assert (await c.fed.sync(a.did)).result == "synced"
    assert await held_root(c, a) == await own_root(a)
    bundles = [p for _, p in a.served if p.startswith("/tile/entries/")]
    assert bundles == [f"/tile/entries/000.p/{await a.node.size()}"]


async def test_an_interrupted_sync_resumes_where_it_stopped(env: Env) -> None:
    a = await env.found("a", checkpoint_every=10_000)
    b = await env.found("b", founders=("dee",))
    # One sync page and then some (the log starts with 4 founding entries).
    made = [
        a.sign(
            ("ana", "bo", "cy")[i % 3],
            Rating(requester=RequesterRef(platform="mturk", id=f"R{i}"), text="ok"),
        )
        for i in range(SYNC_PAGE + 44)
    ]
    await a.submit(*made[:1000])
    await a.submit(*made[1000:])
    await a.checkpoint()
    after_page = f"/tile/entries/{SYNC_PAGE // TILE_WIDTH:03d}"

    async def bundle_after_the_first_page_fails(
        request: web.Request, status: int, ctype: str, data: bytes
    ) -> Any:
        if request.path.startswith(after_page):
            return web.Response(status=503, text="busy")
        return None

    async with Proxy(a.url, bundle_after_the_first_page_fails) as proxy:
        await b.pin(a, url=proxy.url)
        # Reading the database meanwhile (as status pages do) never rolls memory back.
        got, *_ = await asyncio.gather(
            b.fed.sync(a.did), *(b.node.peers.refresh() for _ in range(5))
        )
        await b.node.peers.refresh()
    assert got.result == "unreachable"
    p = b.node.peers.get(a.did)
    assert p is not None and p.frontier.size == SYNC_PAGE and p.info.failures == 1
    assert p.info.next_try > b.clock.now  # backing off
    # Restart: the copy is rebuilt from the database and the next round fetches the rest.
    b = await env.restart(b)
    await b.pin(a)
    a.served.clear()
    got = await b.fed.sync(a.did)
    assert got.result == "synced"
    bundles = [q for _, q in a.served if q.startswith("/tile/entries/")]
    assert bundles == [f"{after_page}.p/48"]
    assert await held_root(b, a) == await own_root(a)
    assert b.node.peers.get(a.did).info.failures == 0  # type: ignore[union-attr]


# --------------------------------------------------------------------------- refusing bad data


async def test_tampered_entries_are_refused_and_nothing_of_them_is_stored(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    await a.rate("ana")
    await a.checkpoint()

    async def flip(request: web.Request, status: int, ctype: str, data: bytes) -> Any:
        if request.path.startswith("/tile/entries/"):
            bad = bytearray(data)
            bad[-5] ^= 0x01  # inside the last record's signature
            return web.Response(body=bytes(bad), headers={"Content-Type": ctype})
        return None

    async with Proxy(a.url, flip) as proxy:
        await b.pin(a, url=proxy.url)
        got = await b.fed.sync(a.did)
    assert got.result == "refused" and got.code == "root_mismatch"
    p = b.node.peers.get(a.did)
    assert p is not None and p.info.status is PeerStatus.REFUSED
    assert p.frontier.size == 0 and p.state.size == 0
    async with b.node.store.read() as conn:
        assert (
            await conn.execute(sa.select(sa.func.count()).select_from(peer_records))
        ).scalar() == 0
        rows = (await conn.execute(sa.select(refusals))).all()
    assert rows and rows[0].code == "root_mismatch" and rows[0].source == proxy.url
    assert "signed root" in rows[0].reason
    # The checkpoint itself verified (A signed it), so it is kept; the entries are not.
    assert p.verified is not None
    # From A's own node the same entries verify, and the co-op is trusted again.
    await b.pin(a)
    assert (await b.fed.sync(a.did)).result == "synced"
    assert b.node.peers.get(a.did).info.status is PeerStatus.ACTIVE  # type: ignore[union-attr]


async def test_a_signed_log_with_an_inadmissible_record_keeps_its_valid_prefix(env: Env) -> None:
    from coopfed.node.keys import read_coop_key

    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    await a.rate("ana")
    good = await a.node.entries(0, await a.node.size())
    # A's key signs a log holding a rating by someone who is no member, then more.
    bad = a.sign("mallory", Rating(requester=REQ, text="not a member"))
    after = a.sign("bo", Rating(requester=REQ, text="fine"))
    async with StaticLog([*good, bad.raw, after.raw], read_coop_key(a.config.data_dir)) as log:
        await b.pin(a, url=log.url)
        got = await b.fed.sync(a.did)
    assert got.result == "invalid" and got.code == "not_member"
    p = b.node.peers.get(a.did)
    assert p is not None and p.info.status is PeerStatus.INVALID
    assert p.frontier.size == len(good) == p.state.size
    (refusal,) = await b.node.peers.refusals(a.did)
    assert refusal.code == "not_member" and refusal.first_idx == len(good)
    # Nothing more is taken from it.
    assert (await b.fed.sync(a.did)).result == "invalid"


async def test_a_plain_tiles_server_is_enough_proofs_come_from_its_tiles(env: Env) -> None:
    from coopfed.node.keys import read_coop_key

    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    key = read_coop_key(a.config.data_dir)
    for i, who in enumerate(("ana", "bo", "cy", "ana", "bo")):
        await a.rate(who, f"report {i}")
    raws = await a.node.entries(0, await a.node.size())
    assert len(raws) == 9
    # Sizes 5, 8, 9: from the power of two 8 the prefix hash is read from the tiles too.
    for upto in (5, 8, 9):
        async with StaticLog(raws[:upto], key, proofs=False) as log:
            await b.pin(a, url=log.url)
            got = await b.fed.sync(a.did)
            assert got.ok, got
            held = b.node.peers.get(a.did)
            assert held is not None and held.frontier.size == upto
            if upto > 5:
                assert any(r.startswith("/api/v1/proof/consistency") for r in log.requests)
                assert any(r.startswith("/tile/0/") for r in log.requests), log.requests
    assert await held_root(b, a) == await own_root(a)


@pytest.mark.parametrize("attack", ["foreign_checkpoint", "wrong_media_type", "too_large"])
async def test_unverifiable_answers_are_refused(env: Env, attack: str) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    other = await env.found("x", founders=("gus",))

    async def lie(request: web.Request, status: int, ctype: str, data: bytes) -> Any:
        if request.path != "/checkpoint":
            return None
        if attack == "foreign_checkpoint":
            _, _, note = await other.fetch("/checkpoint")
            return web.Response(body=note, content_type="text/plain")
        if attack == "wrong_media_type":
            return web.Response(body=data, content_type="text/html")
        return web.Response(body=data + b"x" * 100_000, content_type="text/plain")

    async with Proxy(a.url, lie) as proxy:
        await b.pin(a, url=proxy.url)
        got = await b.fed.sync(a.did)
    assert got.result == "refused", got
    p = b.node.peers.get(a.did)
    assert p is not None and p.verified is None and p.frontier.size == 0
    found = await b.node.peers.refusals(a.did)
    assert (
        found
        and found[0].code
        in {
            "foreign_checkpoint": {"no_known_signature", "unknown_key", "origin_mismatch"},
            "wrong_media_type": {"wrong_media_type"},
            "too_large": {"too_large"},
        }[attack]
    ), found[0]


# --------------------------------------------------------------------------- equivocation


async def test_a_forked_log_is_caught_with_a_proof_anyone_can_check(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    c = await env.found("c", founders=("gus",))
    for x in (b, c):
        await x.pin(a)
        await set_policy(x, [a], (1, [a]))
    await block_by_flags(a)
    cp = await a.checkpoint()
    assert cp.size == 8  # a power of two: the RFC proof alone could not show a fork there
    for x in (b, c):
        assert (await x.fed.sync(a.did)).ok
        assert (await x.node.blocklist(now_ms=x.clock.now)).get(REQ) is not None
    # A forks: the same key signs another history from entry 7 on, and grows it. (Its
    # governance signs the block again, a second later: a different entry 7.)
    env.clock.now += 1000
    fork = await fork_of(env, a, 7, "a-fork")
    await fork.govern()
    await fork.rate("bo", "a different story")
    assert (await fork.checkpoint()).size == 9
    await b.pin(a, url=fork.url)
    got = await b.fed.sync(a.did)
    assert got.result == "equivocated"
    p = b.node.peers.get(a.did)
    assert p is not None and p.info.status is PeerStatus.EQUIVOCATED
    assert a.did in b.node.peers.distrusted()
    # The proof is served as canonical bytes; anyone rechecks it with A's key alone.
    status, ctype, data = await b.fetch(f"/api/v1/equivocations/{a.did}")
    assert status == 200 and ctype == "application/vnd.coopfed+msgpack"
    proof = EquivocationProof.from_bytes(data)
    assert proof.to_bytes() == data
    proof.verify(log_verifier(a.did))
    listing = json.loads((await b.fetch("/api/v1/equivocations"))[2])
    assert listing["equivocations"][0]["coop"] == a.did
    st = await b.node.status(now_ms=b.clock.now)
    assert st["federation"]["distrusted"] == [a.did]
    assert st["federation"]["peers"][0]["status"] == "equivocated"
    from coopfed.node.fedtext import federation_status_lines

    lines = federation_status_lines(st)
    assert any(line.startswith(f"  WARNING: co-op {a.did} EQUIVOCATED") for line in lines)
    # A's block, still in B's copy, is no longer adopted; C, which saw no fork, adopts it.
    bl = await b.node.blocklist(now_ms=b.clock.now)
    assert bl.get(REQ) is None
    assert any("distrusted" in step for step in bl.explain(REQ).steps)
    assert (await c.node.blocklist(now_ms=c.clock.now)).get(REQ) is not None
    # Syncing the genuine node again changes nothing: the key signed two histories.
    await b.pin(a)
    assert b.node.peers.get(a.did).info.status is PeerStatus.EQUIVOCATED  # type: ignore[union-attr]


async def test_a_witness_catches_a_fork_against_what_it_cosigned_or_holds(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    c = await env.found("c", founders=("gus",))
    for x in (b, c):
        await x.pin(a)
    await a.rate("ana")
    cp = await a.checkpoint()
    # B cosigned A at this size; C never cosigned, but synced A's log.
    assert (await b.post("/witness/add-checkpoint", _add_checkpoint_body(0, [], cp.note)))[0] == 200
    assert (await c.fed.sync(a.did)).ok
    fork = await fork_of(env, a, cp.size - 1, "a-fork")
    await fork.rate("bo", "a different story")
    other = await fork.checkpoint()
    assert other.size == cp.size and other.root_hash != cp.root_hash
    status, _, _ = await b.post(
        "/witness/add-checkpoint", _add_checkpoint_body(cp.size, [], other.note)
    )
    assert status == 409
    status, _, body = await c.post(
        "/witness/add-checkpoint", _add_checkpoint_body(0, [], other.note)
    )
    assert status == 409 and b"contradicts" in body
    for x in (b, c):
        (held,) = await x.node.peers.equivocations(a.did)
        assert held.source == "witness"
        EquivocationProof.from_bytes(held.proof).verify(log_verifier(a.did))
        assert x.node.peers.get(a.did).info.status is PeerStatus.EQUIVOCATED  # type: ignore[union-attr]
    # A witness holding the proof cosigns nothing more of that log.
    status, _, body = await b.post("/witness/add-checkpoint", _add_checkpoint_body(0, [], cp.note))
    assert status == 409 and b"equivocated" in body


def _add_checkpoint_body(old: int, proof: list[bytes], note: bytes) -> bytes:
    from coopfed.protocol.witness import consistency_request

    return consistency_request(old_size=old, proof=proof, checkpoint_note=note)


# --------------------------------------------------------------------------- witnessing


async def test_witnesses_cosign_checkpoints_and_a_lost_size_is_recovered_by_409(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    c = await env.found("c", founders=("gus",))
    for x in (b, c):
        await x.pin(a)
        await a.pin(x)
    await a.rate("ana")
    cp1 = await a.checkpoint()
    done = await a.fed.gather()
    assert done == {b.did: "cosigned", c.did: "cosigned"}
    _, _, note = await a.fetch("/checkpoint")
    cosigs = verified_witnesses(
        note,
        log_verifier(a.did),
        [witness_verifier(b.did), witness_verifier(c.did)],
        now=a.clock.now // 1000,
    )
    assert {s.witness.name for s in cosigs} == {b.node.origin, c.node.origin}
    # The log grows: the witness checks consistency from the size it cosigned.
    await a.rate("bo")
    cp2 = await a.checkpoint()
    assert cp2.size > cp1.size
    assert await a.fed.gather() == {b.did: "cosigned", c.did: "cosigned"}
    # A loses what it knew of B's cosignatures: it asks from size 0, B answers 409 with
    # the size it cosigned last, and A asks again from there.
    from coopfed.node.peers import cosignatures

    async with a.node.store.transaction() as conn:
        await conn.execute(cosignatures.delete())
    await a.rate("cy")
    await a.checkpoint()
    b.served.clear()
    assert (await a.fed.gather())[b.did] == "cosigned"
    assert [p for m, p in b.served if m == "POST"] == ["/witness/add-checkpoint"] * 2


async def test_the_witness_endpoint_answers_as_c2sp_says(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    x = await env.found("x", founders=("gus",))
    await b.pin(a)
    await a.rate("ana")
    cp = await a.checkpoint()
    # Not a log B follows: 404. Malformed: 400. Forged signature: 403.
    _, _, other = await x.fetch("/checkpoint")
    assert (await b.post("/witness/add-checkpoint", _add_checkpoint_body(0, [], other)))[0] == 404
    assert (await b.post("/witness/add-checkpoint", b"old 01\n\n" + cp.note))[0] == 400
    forged = bytearray(cp.note)
    forged[-3] ^= 1
    assert (await b.post("/witness/add-checkpoint", b"old 0\n\n" + bytes(forged)))[0] in (400, 403)
    status, ctype, line = await b.post(
        "/witness/add-checkpoint", _add_checkpoint_body(0, [], cp.note)
    )
    assert status == 200 and ctype == "text/plain"
    assert line.startswith("— ".encode() + b.node.origin.encode() + b" ")
    # Old size wrong: 409 with the size, text/x.tlog.size. Bad proof: 422.
    await a.rate("bo")
    cp2 = await a.checkpoint()
    status, ctype, body = await b.post(
        "/witness/add-checkpoint", _add_checkpoint_body(0, [], cp2.note)
    )
    assert (status, ctype, body) == (409, "text/x.tlog.size", b"%d\n" % cp.size)
    proof = await a.node.consistency_proof(cp.size, cp2.size)
    proof[0] = bytes(32)
    status, _, _ = await b.post(
        "/witness/add-checkpoint", _add_checkpoint_body(cp.size, proof, cp2.note)
    )
    assert status == 422


# --------------------------------------------------------------------------- bundles


async def test_bundles_come_from_the_most_witnessed_checkpoint_and_verify(env: Env) -> None:
    from coopfed.protocol.bundle import verify_bundle

    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    c = await env.found("c", founders=("gus",))
    for x in (b, c):
        await x.pin(a)
        await a.pin(x)
        await set_policy(x, [a], (1, [a]))
    await block_by_flags(a)
    assert await a.fed.gather() == {b.did: "cosigned", c.did: "cosigned"}
    # The log grows past the cosigned checkpoint; the bundle still uses the witnessed one.
    await a.rate("ana")
    await a.checkpoint()
    witnesses = [witness_verifier(b.did), witness_verifier(c.did)]
    status, ctype, data = await a.fetch("/api/v1/bundles/block/mturk/A9FEDTEST")
    assert status == 200 and ctype == "application/vnd.coopfed+msgpack"
    verdict = verify_bundle(data, trusted_witnesses=witnesses, min_witnesses=2)
    assert verdict.kind == "block" and verdict.coop == a.did and len(verdict.witnesses) == 2
    # B serves the bundle of the block it adopted, from its copy of A's log.
    for x in (b, c):
        assert (await x.fed.sync(a.did)).ok
    status, _, copy = await b.fetch("/api/v1/bundles/block/mturk/A9FEDTEST")
    assert status == 200
    assert verify_bundle(copy, trusted_witnesses=witnesses, expected_coop=a.did).coop == a.did
    # Not a block anyone knows of: 404; a decision id that is not one: 404.
    assert (await a.fetch("/api/v1/bundles/block/mturk/NOBODY"))[0] == 404
    assert (await a.fetch(f"/api/v1/bundles/decision/{'00' * 32}"))[0] == 404


# --------------------------------------------------------------------------- the operator API


async def test_pinning_and_policy_need_the_admin_token(env: Env) -> None:
    from coopfed.node.keys import read_admin_token

    a = await env.found("a")
    b = await env.found("b", founders=("dee",))
    c = await env.found("c", founders=("gus",))
    body = json.dumps({"did": a.did, "url": a.url}).encode()
    json_type = {"Content-Type": "application/json"}
    assert (await b.post("/api/v1/peers", body, headers=json_type))[0] == 401
    auth = {**json_type, "Authorization": f"Bearer {read_admin_token(b.config.data_dir)}"}
    status, _, answer = await b.post("/api/v1/peers", body, headers=auth)
    assert status == 201 and json.loads(answer)["fingerprint"]
    # A policy may only follow pinned co-ops.
    policy = {"adopt": [{"from": [a.did, c.did], "k": 2}], "follow": [a.did, c.did]}
    status, _, answer = await b.post("/api/v1/policy", json.dumps(policy).encode(), headers=auth)
    assert status == 409 and json.loads(answer)["error"]["code"] == "not_pinned"
    status, _, answer = await b.post(
        "/api/v1/policy",
        json.dumps({"follow": [a.did], "adopt": [{"from": [a.did], "k": 1}]}).encode(),
        headers=auth,
    )
    assert status == 201, answer
    assert json.loads(answer)["policy"]["adopt"] == [{"from": [a.did], "k": 1}]
    # The node starts syncing a co-op pinned through the API at once.
    peers = json.loads((await b.fetch("/api/v1/peers"))[2])["peers"]
    assert [p["did"] for p in peers] == [a.did]
    async with (
        aiohttp_session() as s,
        s.delete(f"{b.url}/api/v1/peers/{a.did}", headers=auth) as resp,
    ):
        assert resp.status == 200
    assert b.node.peers.get(a.did) is None


def aiohttp_session() -> Any:
    import aiohttp

    return aiohttp.ClientSession()


async def test_the_outgoing_http_client_is_injectable(env: Env) -> None:
    import aiohttp

    a = await env.found("a")
    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession(headers={"User-Agent": "injected-client"}))
        return made[-1]

    b = await env.found("b", founders=("dee",))
    await b.stop()
    b = await env.serve("b2", b.config, client_factory=factory)
    await b.pin(a)
    assert (await b.fed.sync(a.did)).ok
    assert len(made) == 1 and b.fed.http.session is made[0]
    await b.stop()
    assert made[0].closed


def test_back_off_doubles_with_jitter_up_to_the_cap(tmp_path: Path) -> None:
    import random

    from coopfed.node.config import Config
    from coopfed.node.federation import Federation

    fed = Federation.__new__(Federation)
    fed.config = Config(data_dir=tmp_path, sync_interval_s=2.0, sync_max_backoff_s=60.0)
    fed.rng = random.Random(7)
    for _ in range(50):
        assert 1.6 <= fed.delay_s(0) <= 2.0
        assert 2.0 <= fed.delay_s(1) <= 4.0
        assert 8.0 <= fed.delay_s(3) <= 16.0
        assert 30.0 <= fed.delay_s(40) <= 60.0
    assert len({fed.delay_s(2) for _ in range(20)}) > 10  # jittered, not lockstep


# --------------------------------------------------------------------------- several processes


async def test_two_processes_on_one_database_sync_one_peer_without_harm(env: Env) -> None:
    import aiohttp

    from coopfed.node.federation import Federation
    from coopfed.node.service import Node

    a = await env.found("a", checkpoint_every=10_000)
    b = await env.found("b", founders=("dee",))
    await a.submit(
        *(
            a.sign(
                ("ana", "bo", "cy")[i % 3],
                Rating(requester=RequesterRef(platform="mturk", id=f"R{i}"), text="ok"),
            )
            for i in range(600)
        )
    )
    await a.checkpoint()
    await b.pin(a)
    other = await Node.open(b.config)  # a second process on B's database
    try:
        async with aiohttp.ClientSession() as s1, aiohttp.ClientSession() as s2:
            f1 = Federation(b.node, session=s1, clock=b.clock)
            f2 = Federation(other, session=s2, clock=b.clock)
            await other.peers.refresh()
            results = await asyncio.gather(f1.sync(a.did), f2.sync(a.did))
            assert any(r.ok for r in results), results
            for f in (f1, f2):
                await f.node.peers.refresh()
                if not (await f.sync(a.did)).ok:
                    raise AssertionError("a second round must succeed")
            for n in (b.node, other):
                await n.peers.refresh()
                assert await held_root(_as_coop(n), a) == await own_root(a)
    finally:
        await other.close()


class _as_coop:
    def __init__(self, node: Any) -> None:
        self.node = node


# --------------------------------------------------------------------------- memory


async def test_a_follower_holds_governance_and_reads_the_rest_from_its_database(
    env: Env,
) -> None:
    """A followed co-op's records are not all kept in memory; nothing is lost by that.

    Records of a later sync cite records of an earlier one (a retraction, an appeal's
    outcome): the follower finds them in its database. After a restart it rebuilds the
    same state, and profiles, explanations and bundles still read every record.
    """
    from coopfed.protocol.bodies import Appeal, Retraction
    from coopfed.protocol.bundle import verify_bundle

    a = await env.found("a")
    b = await env.found("b", founders=("dee", "eve", "fay"))
    await b.pin(a)
    await set_policy(b, [a], (1, [a]))
    bad = a.sign("ana", Rating(requester=REQ, text="mistaken", scores=(("pay", 1),)))
    filed = a.sign("bo", Appeal(requester=REQ, status="filed", hit_group="HG1"))
    await a.submit(bad, filed)
    await a.rate("cy")
    await a.checkpoint()
    assert (await b.fed.sync(a.did)).ok
    held = b.node.peers.get(a.did)
    assert held is not None and not held.state.keep_all
    a.clock.now += 1000
    await a.submit(
        a.sign("ana", Retraction(record=bad.id)),
        a.sign("bo", Appeal(requester=REQ, status="won", follows=filed.id)),
    )
    await block_by_flags(a)
    assert (await b.fed.sync(a.did)).result == "synced"
    assert await held_root(b, a) == await own_root(a)
    p = b.node.peers.get(a.did)
    assert p is not None and p.state.is_retracted(bad.id)
    assert p.state.active_blocks().keys() == {REQ}

    async def share() -> dict:
        profile = await b.node.profile(REQ, now_ms=b.clock.now)
        return {s["coop"]: s for s in profile["federation"]["coops"]}[a.did]

    before = await share()
    assert before["reports"] == 1  # cy's rating; ana's is retracted
    assert before["flags"] == 3 and before["blocked"]
    b = await env.restart(b)
    p = b.node.peers.get(a.did)
    assert p is not None and p.state.size == (await own_root(a))[0]
    assert p.state.is_retracted(bad.id) and p.state.active_blocks().keys() == {REQ}
    assert await share() == before
    # The explanation still goes down to A's flags, read from the database.
    status, _, data = await b.fetch("/api/v1/blocklist/explain/mturk/A9FEDTEST")
    assert status == 200
    assert {r["type"] for r in json.loads(data)["trace"] if r["coop"] == a.did} >= {"flag"}
    # A bundle of A's block is built from A's whole stored log, and verifies.
    full = await b.node.peers.full_state(a.did)
    assert full.keep_all and full.size == p.state.size
    assert [e.record.id for e in full.requester_records(REQ)][:2] == [bad.id, filed.id]
    status, _, copy = await b.fetch("/api/v1/bundles/block/mturk/A9FEDTEST")
    assert status == 200
    verdict = verify_bundle(copy, trusted_witnesses=[], expected_coop=a.did)
    assert verdict.kind == "block" and verdict.coop == a.did
    # A decision id A's log does not hold (here a flag's): 404, found out without a replay.
    flag_id = full.requester_records(REQ)[-1].record.id
    for rid in (flag_id, bytes(32)):
        status, _, _ = await b.fetch(f"/api/v1/bundles/decision/{rid.hex()}?coop={a.did}")
        assert status == 404
    assert await b.node.locate(flag_id) == (a.did, full.entry(flag_id))
    assert await b.node.locate(bytes(32)) is None
