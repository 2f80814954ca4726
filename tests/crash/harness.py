"""Crash safety: SIGKILL a real ``coopfed serve`` at random moments of concurrent ingest.

Each cycle starts the node's process (or finds it running), lets several members post
signed records to it over HTTP at once, kills the process with SIGKILL after a random
delay, starts it again, and then checks:

- every record whose POST was answered 201 or 200 is in the log (nothing acknowledged
  was lost);
- the log, the tree and the checkpoints agree: the root recomputed from the stored
  records equals the stored tree head, and every stored checkpoint's root equals the root
  recomputed over the first ``size`` records, its note verifies under the co-op's key and
  names the same size and root.

Used by tests/crash/test_crash.py (a few kills, SQLite and PostgreSQL) and by ``make fuzz``
(``python tests/crash/harness.py --kills 100 --backend sqlite``), which prints the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
MSGPACK = "application/vnd.coopfed+msgpack"
PG_URL = os.environ.get("COOPFED_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
MEMBERS = ("ana", "bo", "cy", "dee")
CLOCK_ENV = "COOPFED_CLOCK_OFFSET_MS"
_SERVING = re.compile(r"on http://([^\s:]+|\[[^\]]+\]):(\d+)")


def member(name: str) -> Any:
    from coopfed.protocol.identity import SigningIdentity

    return SigningIdentity(hashlib.sha256(b"coopfed-test-" + name.encode()).digest())


@dataclass
class Stats:
    kills: int = 0
    acknowledged: int = 0
    lost: int = 0
    checkpoints_checked: int = 0
    size: int = 0
    problems: list[str] = field(default_factory=list)


class Server:
    """One ``coopfed serve`` process on a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> None:
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "coopfed.node",
                    "serve",
                    "--data",
                    str(self.data_dir),
                    "--port",
                    "0",
                ],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = _SERVING.search(line)
            if m:
                self.url = f"http://{m.group(1)}:{m.group(2)}"
                return
        self.kill()
        raise RuntimeError(f"coopfed serve did not start; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM) without waiting; :meth:`stop` waits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


def found(data_dir: Path, *, database_url: str | None = None, schema: str | None = None) -> str:
    """Found a co-op in ``data_dir`` whose members are MEMBERS; return its DID."""
    return asyncio.run(found_async(data_dir, database_url=database_url, schema=schema))


async def found_async(
    data_dir: Path, *, database_url: str | None = None, schema: str | None = None
) -> str:
    """:func:`found`, in a running event loop."""
    from coopfed.node.config import Config
    from coopfed.node.service import Node
    from coopfed.protocol.bodies import DAY_MS, BlockRule, Charter

    config = Config(
        data_dir=data_dir,
        database_url=database_url,
        schema=schema,
        # Checkpoints every few appends, so kills land in checkpoint signing too.
        checkpoint_every=3,
        checkpoint_interval_s=0.2,
        governance_interval_s=0.2,
        rate_address_per_s=0,
        rate_member_per_s=0,
    )
    charter = Charter(
        name="Crash Co-op",
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
        founders=[member(m).did for m in MEMBERS],
        now_ms=time.time_ns() // 1_000_000,
    )
    await node.close()
    return node.did


async def ingest(
    url: str, coop: str, acked: dict[bytes, int], stop: asyncio.Event, counter: list[int], seed: int
) -> None:
    """Post records as every member at once until ``stop`` or the server dies."""
    from coopfed.protocol.bodies import Rating, RequesterRef
    from coopfed.protocol.records import sign_record

    timeout = aiohttp.ClientTimeout(total=10)
    req = RequesterRef(platform="mturk", id="A1CRASH")

    async def one_member(name: str, session: aiohttp.ClientSession) -> None:
        key = member(name)
        while not stop.is_set():
            counter[0] += 1
            record = sign_record(
                key,
                coop=coop,
                ts=time.time_ns() // 1_000_000,
                body=Rating(requester=req, text=f"{seed}-{name}-{counter[0]}"),
            )
            try:
                async with session.post(
                    url + "/api/v1/records", data=record.raw, headers={"Content-Type": MSGPACK}
                ) as resp:
                    await resp.read()
                    if resp.status in (200, 201):
                        acked[record.id] = resp.status
                    elif resp.status >= 500:
                        raise AssertionError(f"the node answered {resp.status}")
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                return  # the node was killed: this POST was never acknowledged

    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(one_member(m, session) for m in MEMBERS))


async def present(url: str, ids: list[bytes]) -> list[bytes]:
    """The ids among ``ids`` the running node does not hold."""
    missing: list[bytes] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        for rid in ids:
            async with session.get(f"{url}/api/v1/records/{rid.hex()}") as resp:
                await resp.read()
                if resp.status != 200:
                    missing.append(rid)
    return missing


async def check_store(data_dir: Path, acked: dict[bytes, int]) -> tuple[int, int, list[str]]:
    """Recompute the tree from the stored records; check the head, checkpoints and acks.

    Returns (log size, checkpoints checked, problems).
    """
    import sqlalchemy as sa

    from coopfed.node.config import Config
    from coopfed.node.keys import read_coop_key
    from coopfed.node.storage import Store, checkpoints, records
    from coopfed.protocol.checkpoint import SignedCheckpoint
    from coopfed.protocol.merkle import Frontier, leaf_hash
    from coopfed.protocol.witness import log_verifier

    problems: list[str] = []
    config = Config.load(data_dir)
    coop = read_coop_key(data_dir)
    store = await Store.open(config)
    try:
        async with store.read() as conn:
            cps = (await conn.execute(sa.select(checkpoints).order_by(checkpoints.c.size))).all()
            stored = {bytes(r.id) for r in await conn.execute(sa.select(records.c.id))}
            lost = [rid for rid in acked if rid not in stored]
            if lost:
                problems.append(f"{len(lost)} acknowledged records are not in the database")
            head = await store.head()
            roots: dict[int, bytes] = {}
            frontier = Frontier.empty()
            roots[0] = frontier.root()
            wanted = {int(c.size) for c in cps}
            expected = 0
            async for page in store.pages(0, head.size):
                for idx, raw in page:
                    if idx != expected:
                        problems.append(f"log index {expected} is missing (next is {idx})")
                        expected = idx
                    frontier, _ = frontier.append(leaf_hash(raw))
                    expected += 1
                    if frontier.size in wanted:
                        roots[frontier.size] = frontier.root()
        if frontier != head:
            problems.append(
                f"records ({frontier.size}, {frontier.root().hex()}) and tree head "
                f"({head.size}, {head.root().hex()}) disagree"
            )
        verifier = log_verifier(coop.did)
        for c in cps:
            size, root = int(c.size), bytes(c.root)
            if size > head.size:
                problems.append(f"checkpoint {size} is beyond the log ({head.size})")
                continue
            if roots.get(size) != root:
                problems.append(f"checkpoint {size}'s root is not the tree's at that size")
            signed = SignedCheckpoint(note=bytes(c.note), log_verifier=verifier)
            if signed.size != size or signed.root_hash != root:
                problems.append(f"checkpoint {size}'s note says {signed.size}")
        return head.size, len(cps), problems
    finally:
        await store.close()


async def cycle(
    server: Server, coop: str, acked: dict[bytes, int], rng: random.Random, stats: Stats
) -> None:
    stop = asyncio.Event()
    counter = [0]
    fresh: dict[bytes, int] = {}
    task = asyncio.create_task(
        ingest(server.url, coop, fresh, stop, counter, rng.randrange(1 << 30))
    )
    await asyncio.sleep(rng.uniform(0.02, 0.6))
    server.kill()  # SIGKILL: no cleanup, no flush beyond what was committed
    stats.kills += 1
    stop.set()
    await task
    server.start()
    acked.update(fresh)
    # The records acknowledged just before the kill are the ones at risk: ask the node.
    missing = await present(server.url, list(fresh))
    stats.lost += len(missing)
    if missing:
        stats.problems.append(
            f"{len(missing)} acknowledged records are gone after kill {stats.kills}"
        )


async def run(data_dir: Path, kills: int, seed: int, check_every: int = 1) -> Stats:
    stats = Stats()
    rng = random.Random(seed)
    coop = found_did(data_dir)
    server = Server(data_dir, data_dir.parent / "serve.log")
    acked: dict[bytes, int] = {}
    server.start()
    try:
        for i in range(kills):
            await cycle(server, coop, acked, rng, stats)
            if stats.problems:
                break
            if (i + 1) % check_every == 0 or i + 1 == kills:
                size, checked, problems = await check_store(data_dir, acked)
                stats.size, stats.checkpoints_checked = size, stats.checkpoints_checked + checked
                stats.problems += problems
                if problems:
                    break
    finally:
        server.stop()
    stats.acknowledged = len(acked)
    return stats


def found_did(data_dir: Path) -> str:
    from coopfed.node.keys import read_coop_key

    return read_coop_key(data_dir).did


async def _pg_schema(action: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=5
    )
    try:
        if action == "create":
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check-every", type=int, default=5, help="full store check every N kills")
    args = parser.parse_args()
    schema = f"crash_{uuid.uuid4().hex[:12]}" if args.backend == "postgres" else None
    with tempfile.TemporaryDirectory(prefix="coopfed-crash-") as tmp:
        data_dir = Path(tmp) / "node"
        if schema:
            asyncio.run(_pg_schema("create", schema))
        try:
            found(data_dir, database_url=PG_URL if schema else None, schema=schema)
            started = time.monotonic()
            stats = asyncio.run(run(data_dir, args.kills, args.seed, args.check_every))
        finally:
            if schema:
                asyncio.run(_pg_schema("drop", schema))
    print(
        f"crash ({args.backend}): {stats.kills} kills survived, {stats.acknowledged} records "
        f"acknowledged, {stats.lost} records lost, log size {stats.size}, "
        f"{stats.checkpoints_checked} checkpoint checks, {time.monotonic() - started:.0f} s"
    )
    for p in stats.problems:
        print(f"  PROBLEM: {p}")
    return 1 if stats.problems or stats.lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
