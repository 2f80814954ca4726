"""A big co-op log in the node's real storage, and what proofs and appends cost as it grows.

:func:`build` founds a co-op (``Node.create``: charter, founders, first checkpoint) and
fills its log with signed member records — ratings and flags spread over the past months,
as a co-op's history — through the storage layer's own append (``WriteTx.append``: the
records, their tree nodes and the new head in one transaction), in transactions of
``chunk`` records. At each size in ``sizes`` it measures:

- ``proof_us``: a Merkle inclusion proof (random leaf) and a consistency proof (random
  older size) served from the stored tree nodes, as ``Node.inclusion_proof`` and
  ``Node.consistency_proof`` do; mean µs over ``samples`` proofs of each kind;
- ``append_us`` (at the first and the last size): µs per record appended in transactions
  of ``group`` records (a group commit's worth), through the same append path.

The log stays a valid co-op log (every record is admissible in order), so the directory
can be served and synced from afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coopfed.node.service import Node
from coopfed.node.storage import Store
from coopfed.protocol.bodies import DAY_MS, RecordType
from coopfed.protocol.merkle import consistency_proof, inclusion_proof

from . import common
from .common import CHARTER, MemberMix, Mix, bench_config, log


@dataclass(frozen=True, slots=True)
class Row:
    """What ``WriteTx.append`` reads of a record (built without decoding it again)."""

    id: bytes
    type: RecordType
    author: str
    ts: int
    raw: bytes


@dataclass
class LogResult:
    #: size → {"inclusion": µs, "consistency": µs}
    proof_us: dict[str, dict[str, float]] = field(default_factory=dict)
    #: size → µs per appended record
    append_us: dict[str, float] = field(default_factory=dict)
    #: size → ms for one single-record append transaction (synced to disk)
    append_one_ms: dict[str, float] = field(default_factory=dict)
    size: int = 0
    build_s: float = 0.0
    coop: str = ""


_MIX = Mix(ratings=750, flags=250, ballots=0, requesters=20_000, skew=0.8)


def _sign_chunk(args: tuple[str, int, int, int, int, int]) -> list[tuple[bytes, str, int, str]]:
    """Sign ``n`` records for co-op ``coop`` (in a worker process): (raw, type, ts, author)."""
    coop, members, n, ts0, step, seed = args
    gen = MemberMix(coop=coop, signers=common.members(members), mix=_MIX, seed=seed)
    out = []
    for i in range(n):
        m = gen.rng.randrange(members)
        ts = ts0 + i * step
        body = gen.body(m, ts)
        signer = gen.signers[m]
        out.append(
            (common.sign_raw(signer, coop=coop, ts=ts, body=body), body.TYPE.value, ts, signer.did)
        )
    return out


def _rows(signed: Sequence[tuple[bytes, str, int, str]]) -> list[Row]:
    return [
        Row(id=hashlib.sha256(raw).digest(), type=RecordType(t), author=a, ts=ts, raw=raw)
        for raw, t, ts, a in signed
    ]


async def _proofs(store: Store, size: int, samples: int, rng: random.Random) -> dict[str, float]:
    incl = 0.0
    for _ in range(samples):
        index = rng.randrange(size)
        start = time.perf_counter()
        proof = await store.with_nodes(lambda read, i=index: inclusion_proof(i, size, read))
        incl += time.perf_counter() - start
        assert proof or size == 1
    cons = 0.0
    for _ in range(samples):
        old = rng.randrange(1, size)
        start = time.perf_counter()
        await store.with_nodes(lambda read, o=old: consistency_proof(o, size, read))
        cons += time.perf_counter() - start
    return {"inclusion": incl / samples * 1e6, "consistency": cons / samples * 1e6}


async def _append(store: Store, rows: list[Row], group: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(rows), group):
        async with store.write() as tx:
            await tx.append(rows[i : i + group])  # type: ignore[arg-type]
    return (time.perf_counter() - start) / len(rows) * 1e6


async def _append_one(store: Store, rows: list[Row]) -> float:
    start = time.perf_counter()
    for row in rows:
        async with store.write() as tx:
            await tx.append([row])  # type: ignore[arg-type]
    return (time.perf_counter() - start) / len(rows) * 1e3


async def build(
    data_dir: Path,
    *,
    sizes: Sequence[int] = (1_000, 10_000, 100_000, 1_000_000),
    members: int = 300,
    chunk: int = 20_000,
    samples: int = 200,
    group: int = 100,
    appends: int = 2_000,
    workers: int = 2,
    snapshots: dict[int, Path] | None = None,
    **settings: Any,
) -> LogResult:
    started = time.perf_counter()
    config = bench_config(data_dir, **settings)
    target = max(sizes)
    now = common.now_ms()
    # History: the records span the last 200 days, oldest first; the founding is before.
    span = 200 * DAY_MS
    ts0 = now - span - DAY_MS
    step = max(1, span // target)
    founders = [s.did for s in common.members(members)]
    node = await Node.create(
        config, name=CHARTER.name, charter=CHARTER, founders=founders, now_ms=ts0
    )
    coop = node.did
    await node.close()
    store = await Store.open(config)
    result = LogResult(coop=coop)
    rng = random.Random(5)
    size = await store.size()
    todo = sorted(s for s in sizes if s >= size)
    next_ts = ts0 + DAY_MS
    seed = 0
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        while todo:
            goal = todo[0]
            is_edge = goal in (min(sizes), max(sizes))
            need = goal - size
            # Append measurements happen just below the goal, so they end exactly at it.
            measured = min(appends, need // 2) if is_edge else 0
            fill = need - measured
            while fill > 0:
                n = min(fill, chunk)
                per = -(-n // workers)
                jobs = []
                for w in range(workers):
                    k = min(per, n - w * per)
                    if k <= 0:
                        break
                    seed += 1
                    jobs.append((coop, members, k, next_ts + w * per * step, step, seed))
                signed = [x for part in pool.map(_sign_chunk, jobs) for x in part]
                next_ts += n * step
                rows = _rows(signed)
                if size < 50_000:
                    common.check_sample([r.raw for r in rows])
                async with store.write() as tx:
                    await tx.append(rows)  # type: ignore[arg-type]
                size += n
                fill -= n
            if measured:
                seed += 1
                rows = _rows(_sign_chunk((coop, members, measured, next_ts, step, seed)))
                next_ts += measured * step
                one = max(1, min(200, measured // 10))
                result.append_one_ms[str(goal)] = await _append_one(store, rows[:one])
                result.append_us[str(goal)] = await _append(store, rows[one:], group)
                size += measured
            assert size == await store.size() == goal, (size, goal)
            result.proof_us[str(goal)] = await _proofs(store, goal, samples, rng)
            log(f"log: {goal} entries, proofs {result.proof_us[str(goal)]}")
            if snapshots and goal in snapshots:
                # A copy of the log as it stands, with a checkpoint of this size, to serve.
                await store.close()
                await _sign_final(config)
                shutil.copytree(data_dir, snapshots[goal])
                store = await Store.open(config)
            todo.pop(0)
    await store.close()
    # A checkpoint of the final size, signed by the co-op, so the log can be served as is.
    await _sign_final(config)
    result.size = size
    result.build_s = time.perf_counter() - started
    return result


async def _sign_final(config: Any) -> None:
    from coopfed.node.keys import read_coop_key
    from coopfed.node.storage import StoredCheckpoint
    from coopfed.protocol.checkpoint import Checkpoint, log_origin, sign_checkpoint

    coop = read_coop_key(config.data_dir)
    store = await Store.open(config)
    try:
        async with store.write() as tx:
            if await tx.checkpoint_at(tx.size) is not None:
                return
            root = tx.frontier.root()
            note = sign_checkpoint(
                Checkpoint(origin=log_origin(coop.did), size=tx.size, root_hash=root),
                coop.signing_key,
            )
            await tx.add_checkpoint(
                StoredCheckpoint(size=tx.size, root=root, note=note, signed_at=common.now_ms())
            )
    finally:
        await store.close()


def run(data_dir: Path, **kw: Any) -> LogResult:
    return asyncio.run(build(data_dir, **kw))
