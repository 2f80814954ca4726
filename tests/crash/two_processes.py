"""Two ``coopfed serve`` processes on one PostgreSQL database, written to at the same time.

Both processes get a copy of one data directory (the co-op's key and a config naming the
same database and schema). Members post ratings, block proposals and ballots to either
process at random, concurrently. Then both are restarted with their clocks moved past
every voting window, so both governance loops race to decide each proposal and carry out
each block, while members keep posting. Checks:

- the log's indexes are exactly 0..n-1 (none skipped, none twice) and no record twice;
- every acknowledged record is in it; the tree and every checkpoint agree
  (harness.check_store);
- each proposal has exactly one decision, and each blocked requester exactly one block.

Used by tests/crash/test_two_processes.py (short) and ``make fuzz`` (``--seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import harness

HOUR = 3_600_000
OFFSET_MS = 2 * HOUR


async def _post(
    session: aiohttp.ClientSession, url: str, raw: bytes, acked: dict[bytes, int], rid: bytes
) -> int:
    async with session.post(
        url + "/api/v1/records", data=raw, headers={"Content-Type": harness.MSGPACK}
    ) as resp:
        await resp.read()
        assert resp.status < 500, f"{url} answered {resp.status}"
        if resp.status in (200, 201):
            acked[rid] = resp.status
        return resp.status


async def traffic(
    urls: list[str],
    coop: str,
    acked: dict[bytes, int],
    *,
    seconds: float,
    offset_ms: int,
    proposals: int,
    rng: random.Random,
) -> list[bytes]:
    """Ratings from every member to random processes; some block proposals, all voted yes."""
    from coopfed.protocol.bodies import (
        Ballot,
        FlagReason,
        Proposal,
        ProposalKind,
        Rating,
        RequesterRef,
    )
    from coopfed.protocol.records import sign_record

    made: list[bytes] = []
    deadline = time.monotonic() + seconds

    def now() -> int:
        return time.time_ns() // 1_000_000 + offset_ms

    async def worker(name: str, session: aiohttp.ClientSession) -> None:
        key = harness.member(name)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            body = Rating(
                requester=RequesterRef(platform="mturk", id="A1TWO"), text=f"{name}-{n}-{offset_ms}"
            )
            rec = sign_record(key, coop=coop, ts=now(), body=body)
            await _post(session, rng.choice(urls), rec.raw, acked, rec.id)

    async def proposer(session: aiohttp.ClientSession) -> None:
        for i in range(proposals):
            ts = now()
            prop = sign_record(
                harness.member(harness.MEMBERS[i % len(harness.MEMBERS)]),
                coop=coop,
                ts=ts,
                body=Proposal(
                    kind=ProposalKind.BLOCK,
                    pitch=f"Block requester {i}",
                    opens=ts,
                    closes=ts + HOUR,
                    requester=RequesterRef(platform="mturk", id=f"A1BLOCK{i}"),
                    reason=FlagReason.UNDERPAID,
                ),
            )
            status = await _post(session, rng.choice(urls), prop.raw, acked, prop.id)
            assert status in (200, 201), status
            made.append(prop.id)
            # Every member votes, each ballot to either process, all at once.
            ballots = [
                sign_record(
                    harness.member(m),
                    coop=coop,
                    ts=now(),
                    body=Ballot(proposal=prop.id, choice="yes"),
                )
                for m in harness.MEMBERS
            ]
            await asyncio.gather(
                *(_post(session, rng.choice(urls), b.raw, acked, b.id) for b in ballots)
            )

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(proposer(session), *(worker(m, session) for m in harness.MEMBERS))
    return made


async def outcome(data_dir: Path) -> tuple[list[int], Counter[bytes], Counter[str]]:
    """Log indexes, decisions per proposal, blocks per requester, from the database."""
    import sqlalchemy as sa

    from coopfed.node.config import Config
    from coopfed.node.storage import Store, records
    from coopfed.protocol.bodies import Block, Decision
    from coopfed.protocol.records import Record

    store = await Store.open(Config.load(data_dir))
    try:
        async with store.read() as conn:
            rows = (
                await conn.execute(sa.select(records.c.idx, records.c.raw).order_by(records.c.idx))
            ).all()
    finally:
        await store.close()
    decisions: Counter[bytes] = Counter()
    blocks: Counter[str] = Counter()
    for row in rows:
        rec = Record.from_bytes(bytes(row.raw), verify=False)
        if isinstance(rec.body, Decision):
            decisions[rec.body.proposal] += 1
        elif isinstance(rec.body, Block):
            blocks[str(rec.body.requester)] += 1
    return [int(r.idx) for r in rows], decisions, blocks


def stop_all(servers: list[harness.Server]) -> None:
    for s in servers:
        s.terminate()
    for s in servers:
        s.stop()
    servers.clear()


async def run(tmp: Path, *, seconds: float, proposals: int, seed: int) -> dict[str, int]:
    schema = f"two_{uuid.uuid4().hex[:12]}"
    await harness._pg_schema("create", schema)
    rng = random.Random(seed)
    servers: list[harness.Server] = []
    try:
        first = tmp / "a" / "node"
        coop = await harness.found_async(first, database_url=harness.PG_URL, schema=schema)
        second = tmp / "b" / "node"
        shutil.copytree(first, second)
        dirs = [first, second]
        acked: dict[bytes, int] = {}

        async def phase(offset_ms: int, phase_seconds: float, n_proposals: int) -> list[bytes]:
            import os

            os.environ[harness.CLOCK_ENV] = str(offset_ms)
            try:
                for d in dirs:
                    s = harness.Server(d, d.parent / "serve.log")
                    s.spawn()
                    servers.append(s)
                for s in servers:
                    s.wait_ready()
            finally:
                os.environ.pop(harness.CLOCK_ENV, None)
            urls = [s.url for s in servers]
            made = await traffic(
                urls,
                coop,
                acked,
                seconds=phase_seconds,
                offset_ms=offset_ms,
                proposals=n_proposals,
                rng=rng,
            )
            return made

        made = await phase(0, seconds, proposals)
        stop_all(servers)
        # Past every window: both governance loops now race to decide and block.
        await phase(OFFSET_MS, max(1.0, seconds / 2), 0)
        await asyncio.sleep(1.0)  # let both governance loops finish their rounds
        stop_all(servers)
        indexes, decisions, blocks = await outcome(first)
        size, checked, problems = await harness.check_store(first, acked)
        assert problems == [], problems
        assert indexes == list(range(len(indexes))), "a log index was skipped or repeated"
        assert size == len(indexes)
        assert set(decisions) == set(made), "a proposal was not decided"
        assert all(c == 1 for c in decisions.values()), f"a proposal decided twice: {decisions}"
        assert len(blocks) == len(made) and all(c == 1 for c in blocks.values()), blocks
        return {
            "records": size,
            "acknowledged": len(acked),
            "proposals": len(made),
            "decisions": sum(decisions.values()),
            "checkpoints": checked,
        }
    finally:
        for s in servers:
            s.kill()
        await harness._pg_schema("drop", schema)


def main() -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--proposals", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coopfed-two-") as tmp:
        started = time.monotonic()
        counts = asyncio.run(
            run(Path(tmp), seconds=args.seconds, proposals=args.proposals, seed=args.seed)
        )
    shown = ", ".join(f"{v} {k}" for k, v in counts.items())
    print(
        f"two processes on PostgreSQL: {shown}; 0 indexes skipped or repeated, "
        f"0 double decisions ({time.monotonic() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
