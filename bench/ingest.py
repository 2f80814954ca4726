"""Member ingest: concurrent clients POST signed records over HTTP to a real node process.

A co-op is founded (``Node.create``) with ``members`` founders and a few open proposals;
then ``n`` records in the realistic mix (ratings, flags, ballots; Zipf over requesters) are
signed in advance and posted by ``clients`` keep-alive connections from a separate load
generator process to ``coopfed serve``. Every 201 is a record that was verified, checked
against the co-op's state, committed to the log and its tree: the node acknowledges only
after the commit. The figure is 201s per second of wall time.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coopfed.node.service import Node

from . import common
from .common import CHARTER, PY, ROOT, MemberMix, NodeProcess, bench_config, log
from .loadgen import write_records

PG_URL = os.environ.get(
    "COOPFED_BENCH_PG",
    os.environ.get("COOPFED_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)


@dataclass
class IngestResult:
    per_s: float
    accepted: int
    sent: int
    seconds: float
    statuses: dict[str, int]
    p50_ms: float
    p99_ms: float
    log_size: int
    first_error: str | None
    mix: dict[str, int]
    #: CPU seconds per second of the run: the node process, the load generator, the machine.
    node_cores: float = 0.0
    client_cores: float = 0.0
    machine_cores: float = 0.0


async def found(
    data_dir: Path, *, members: int, proposals: int, ts: int, **settings: Any
) -> tuple[str, list[bytes]]:
    """Found the co-op and open ``proposals`` block votes; returns its DID and their ids."""
    config = bench_config(data_dir, **settings)
    signers = common.members(members)
    node = await Node.create(
        config, name=CHARTER.name, charter=CHARTER, founders=[s.did for s in signers], now_ms=ts
    )
    try:
        raws = [
            common.sign_raw(signers[i % members], coop=node.did, ts=ts, body=body)
            for i, body in enumerate(common.proposal_bodies(proposals, ts=ts))
        ]
        done = await node.submit_many(raws, now_ms=ts) if raws else []
        return node.did, [r.id for r in done]
    finally:
        await node.close()


def _status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/api/v1/status", timeout=60) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def run(
    *,
    n: int = 30_000,
    members: int = 1000,
    proposals: int = 20,
    clients: int = 64,
    warmup: int = 500,
    database_url: str | None = None,
    workdir: Path | None = None,
    profile: Path | None = None,
) -> IngestResult:
    tmp = Path(tempfile.mkdtemp(prefix="coopfed-ingest-", dir=workdir))
    data_dir = tmp / "node"
    settings: dict[str, Any] = {}
    schema = None
    if database_url is not None:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        settings = {"database_url": database_url, "schema": schema}
    ts = common.now_ms()
    coop, pids = asyncio.run(
        found(data_dir, members=members, proposals=proposals, ts=ts, **settings)
    )
    gen = MemberMix(coop=coop, signers=common.members(members), proposals=pids)
    log(f"ingest: signing {warmup + n} records")
    raws = gen.records(warmup + n, ts=common.now_ms())
    common.check_sample(raws)
    write_records(tmp / "warmup.bin", raws[:warmup])
    write_records(tmp / "load.bin", raws[warmup:])
    try:
        with NodeProcess(data_dir) as node:
            before = _status(node.url)["size"]
            if warmup:
                _loadgen(node.url, tmp / "warmup.bin", clients)
            log(f"ingest: posting {n} records with {clients} clients to {node.url}")
            cpu0, busy0 = common.cpu_seconds(node.pid), common.machine_busy()[0]
            with common.profiled(node.pid, profile):
                out = _loadgen(node.url, tmp / "load.bin", clients)
            cpu1, busy1 = common.cpu_seconds(node.pid), common.machine_busy()[0]
            size = _status(node.url)["size"]
    finally:
        if schema is not None:
            asyncio.run(_drop_schema(database_url or "", schema))
    accepted = int(out["statuses"].get("201", 0))
    return IngestResult(
        per_s=accepted / out["seconds"],
        accepted=accepted,
        sent=int(out["sent"]),
        seconds=float(out["seconds"]),
        statuses=out["statuses"],
        p50_ms=float(out["p50_ms"]),
        p99_ms=float(out["p99_ms"]),
        log_size=size - before,
        first_error=out["first_error"],
        mix=gen.counts,
        node_cores=(cpu1 - cpu0) / out["seconds"],
        client_cores=float(out["cpu_s"]) / out["seconds"],
        machine_cores=(busy1 - busy0) / out["seconds"],
    )


def _loadgen(url: str, path: Path, clients: int) -> dict[str, Any]:
    proc = subprocess.run(
        [PY, "-m", "bench.loadgen", url, str(path), str(clients)],
        capture_output=True,
        cwd=ROOT,
        check=True,
        timeout=3600,
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def pg_available(url: str = PG_URL) -> str | None:
    """None if PostgreSQL at ``url`` answers; else why not."""

    async def probe() -> None:
        import asyncpg

        conn = await asyncpg.connect(
            url.replace("postgresql+asyncpg://", "postgresql://", 1), timeout=5
        )
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure means: no PostgreSQL for this run
        return f"{type(exc).__name__}: {exc}"
    return None
