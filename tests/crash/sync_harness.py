"""Crash safety of sync: SIGKILL a following ``coopfed serve`` while it catches up a peer's log.

A peer (an aiohttp server in this process, serving a co-op's signed log of a few thousand
records as C2SP tiles and entry bundles, and consistency proofs) is pinned at a real
``coopfed serve`` process, which syncs it at once. The process is killed with SIGKILL at
random moments of the catch-up and started again, until it holds the whole log. Then:

- its copy is exactly the peer's log: indexes 0…n-1 without a gap, every record byte for
  byte, the root over them equal to the peer's signed root, and the stored frontier too;
- the sync resumed where it stopped: after each restart, no entry bundle wholly below what
  the process had stored when it was killed is fetched again (records lost = entries that
  were stored before a kill and missing after it: 0).

Used by tests/crash/test_crash.py (two kills) and by ``make fuzz``
(``python tests/crash/sync_harness.py --kills 100``), which prints the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


@dataclass
class SyncStats:
    kills: int = 0
    records: int = 0
    lost: int = 0
    refetched: int = 0
    rounds: int = 1
    held_at_kills: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Peer:
    """A co-op's signed log served on 127.0.0.1; remembers which entry bundles were asked."""

    def __init__(self, raws: list[bytes], coop_seed: bytes, coop: str) -> None:
        from coopfed.protocol.checkpoint import Checkpoint, log_origin, sign_checkpoint
        from coopfed.protocol.merkle import MemoryTree

        self.raws = raws
        self.tree = MemoryTree.from_leaves(raws)
        self.root = self.tree.root()
        cp = Checkpoint(origin=log_origin(coop), size=len(raws), root_hash=self.root)
        self.note = sign_checkpoint(cp, coop_seed)
        self.bundles: list[int] = []  # entry bundle indexes, in the order asked
        self.delay = 0.15
        app = web.Application()
        app.router.add_get("/checkpoint", self.checkpoint)
        app.router.add_get("/tile/{path:.+}", self.tile)
        app.router.add_get("/api/v1/proof/consistency", self.consistency)
        self.runner = web.AppRunner(app)
        self.url = ""

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def checkpoint(self, request: web.Request) -> web.Response:
        return web.Response(body=self.note, content_type="text/plain")

    async def tile(self, request: web.Request) -> web.Response:
        from coopfed.protocol.merkle import parse_entries_path, parse_tile_path

        path = "tile/" + request.match_info["path"]
        if path.startswith("tile/entries/"):
            index, width = parse_entries_path(path)
            self.bundles.append(index)
            await asyncio.sleep(self.delay)  # a slow peer: kills land in every step
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


async def make_log(work: Path, records: int) -> tuple[list[bytes], bytes, str]:
    """A co-op (harness.MEMBERS) whose log holds ``records`` ratings: (raws, key seed, DID)."""
    from coopfed.node.config import Config
    from coopfed.node.keys import read_coop_key
    from coopfed.node.service import Node
    from coopfed.protocol.bodies import Rating, RequesterRef
    from coopfed.protocol.records import sign_record

    data = work / "peer"
    coop = await harness.found_async(data)
    node = await Node.open(Config.load(data))
    try:
        now = time.time_ns() // 1_000_000
        signers = [harness.member(m) for m in harness.MEMBERS]
        made = [
            sign_record(
                signers[i % len(signers)],
                coop=coop,
                ts=now,
                body=Rating(requester=RequesterRef(platform="mturk", id=f"S{i}"), text="ok"),
            ).raw
            for i in range(records)
        ]
        for i in range(0, len(made), 1000):
            await node.submit_many(made[i : i + 1000], now_ms=now)
        size = await node.size()
        raws: list[bytes] = []
        while len(raws) < size:
            raws += await node.entries(len(raws), size)
    finally:
        await node.close()
    return raws, read_coop_key(data).seed, coop


async def follower(
    work: Path, *, database_url: str | None = None, schema: str | None = None
) -> Path:
    """A co-op node that syncs every half second (and backs off at most a second)."""
    from coopfed.node.config import Config

    data = work / "follower"
    await harness.found_async(data, database_url=database_url, schema=schema)
    config = Config.load(data)
    dataclasses.replace(config, sync_interval_s=0.5, sync_max_backoff_s=1.0).save()
    return data


async def held(data_dir: Path, coop: str) -> list[tuple[int, bytes]]:
    """(index, raw) of every record of ``coop``'s log stored at ``data_dir`` (process down)."""
    import sqlalchemy as sa

    from coopfed.node.config import Config
    from coopfed.node.peers import peer_records
    from coopfed.node.storage import Store

    store = await Store.open(Config.load(data_dir))
    try:
        async with store.read() as conn:
            rows = await conn.execute(
                sa.select(peer_records.c.idx, peer_records.c.raw)
                .where(peer_records.c.coop == coop)
                .order_by(peer_records.c.idx)
            )
            return [(r.idx, r.raw) for r in rows]
    finally:
        await store.close()


async def pin(url: str, data_dir: Path, peer: Peer, coop: str) -> None:
    token = (data_dir / "admin.token").read_text().strip()
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            url + "/api/v1/peers",
            json={"did": coop, "url": peer.url, "mirrors": [], "name": "peer"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as resp,
    ):
        if resp.status != 201:
            raise RuntimeError(f"pinning answered {resp.status}: {await resp.text()}")


async def run(
    work: Path,
    kills: int,
    seed: int,
    records: int,
    *,
    database_url: str | None = None,
    schema: str | None = None,
) -> SyncStats:
    from coopfed.protocol.merkle import TILE_WIDTH, leaf_hash, root_from_leaf_hashes

    stats = SyncStats()
    rng = random.Random(seed)
    raws, coop_seed, coop = await make_log(work, records)
    stats.records = len(raws)
    data = await follower(work, database_url=database_url, schema=schema)
    peer = Peer(raws, coop_seed, coop)
    await peer.start()
    server = harness.Server(data, work / "serve.log")
    try:
        server.start()
        await pin(server.url, data, peer, coop)
        stored = 0
        restarts: list[tuple[int, int]] = []  # (bundles asked before the restart, held)
        while stats.kills < kills:
            # A random moment of the catch-up; a kill before it starts or after it is
            # complete is no test. So wait until the restarted node asks for a bundle.
            asked = len(peer.bundles)
            waited = time.monotonic() + 10
            while len(peer.bundles) == asked and time.monotonic() < waited:
                await asyncio.sleep(0.01)
            # A page is four bundles: up to ten bundle delays lands kills before, during
            # and after page commits.
            await asyncio.sleep(rng.uniform(0.0, 10 * peer.delay))
            if await _synced(server.url, coop, len(raws)):
                break
            server.kill()
            stats.kills += 1
            now = await held(data, coop)
            if len(now) < stored:
                stats.lost += stored - len(now)
                stats.problems.append(f"kill {stats.kills}: {stored} entries held, then {len(now)}")
            stored = len(now)
            stats.held_at_kills.append(stored)
            restarts.append((len(peer.bundles), stored))
            server.start()
        deadline = time.monotonic() + 120
        while not await _synced(server.url, coop, len(raws)):
            if time.monotonic() > deadline:
                stats.problems.append("the follower did not catch up in 120 s")
                break
            await asyncio.sleep(0.1)
        server.stop()
        final = await held(data, coop)
        for start, at in restarts:
            # Resumed where it stopped: no bundle wholly below what was held is read again.
            stats.refetched += sum(1 for b in peer.bundles[start:] if (b + 1) * TILE_WIDTH <= at)
        if stats.refetched:
            stats.problems.append(f"{stats.refetched} stored entry bundles were fetched again")
        if [i for i, _ in final] != list(range(len(raws))):
            stats.problems.append(f"held indexes are not 0…{len(raws) - 1}: {len(final)} held")
        elif [r for _, r in final] != raws:
            stats.problems.append("held records differ from the peer's log")
        elif root_from_leaf_hashes([leaf_hash(r) for _, r in final]) != peer.root:
            stats.problems.append("the held root is not the peer's signed root")
        stats.lost += sum(1 for r in set(raws) - {r for _, r in final})
    finally:
        server.stop()
        await peer.stop()
    return stats


async def _synced(url: str, coop: str, size: int) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{url}/api/v1/peers/{coop}", timeout=aiohttp.ClientTimeout(total=5)) as resp,
        ):
            if resp.status != 200:
                return False
            text = await resp.text()
    except (aiohttp.ClientError, TimeoutError):
        return False
    view = json.loads(text)
    peer = view.get("peer", view)
    return bool(peer.get("entries") == size or peer.get("size") == size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    # A catch-up ends after some kills; new rounds (a fresh follower each) until enough.
    total = SyncStats(rounds=0)
    while total.kills < args.kills and not total.problems and total.rounds < 10 * args.kills:
        with tempfile.TemporaryDirectory(prefix="coopfed-sync-crash-") as tmp:
            stats = asyncio.run(
                run(Path(tmp), args.kills - total.kills, args.seed + total.rounds, args.records)
            )
        total.rounds += 1
        total.kills += stats.kills
        total.records += stats.records
        total.lost += stats.lost
        total.refetched += stats.refetched
        total.held_at_kills += stats.held_at_kills
        total.problems += stats.problems
    stats = total
    mid = sum(1 for h in stats.held_at_kills if h > 0)
    print(
        f"sync crash (sqlite): {stats.kills} kills survived ({mid} with a partial copy held) "
        f"in {stats.rounds} catch-ups, {stats.records} records synced, {stats.lost} records "
        f"lost, {stats.refetched} stored pages fetched again, "
        f"{time.monotonic() - started:.0f} s"
    )
    for p in stats.problems:
        print(f"  PROBLEM: {p}")
    return 1 if stats.problems or stats.lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
