"""Node-to-node catch-up: one node process follows another's log over HTTP on 127.0.0.1.

The source is a ``coopfed serve`` process on a log built by :mod:`bench.biglog`. The
receiver is a new co-op's ``coopfed serve`` process that has pinned the source (through
:class:`~bench.proxy.CountingProxy`, so every byte and request between them is counted
outside both) and syncs it with its own federation loop: checkpoint, consistency, entry
bundles, every signature and every rule checked, every page stored with its tree. The
clock runs from the receiver's first request to the moment its status shows the whole log
held and verified.

- ``per_s``: records synced per second;
- ``wire_overhead``: bytes the source sent ÷ the records' own canonical bytes;
- ``uptodate_requests``: requests in one sync round once nothing changed (GETs per round,
  a round beginning with its checkpoint fetch);
- ``peak_rss_mb``: the receiving process's peak resident memory (``VmHWM``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from coopfed.node.keys import read_coop_key
from coopfed.node.service import Node

from . import common
from .common import CHARTER, NodeProcess, bench_config, log
from .proxy import CountingProxy


@dataclass
class SyncResult:
    records: int
    seconds: float
    per_s: float
    record_bytes: int
    wire_bytes: int
    wire_overhead: float
    requests: int
    uptodate_requests: float
    peak_rss_mb: float
    source_open_s: float
    paths: dict[str, int] = field(default_factory=dict)
    #: CPU seconds the receiving and the source process used, start to end of the sync.
    receiver_cpu_s: float = 0.0
    source_cpu_s: float = 0.0
    #: (records held, resident MiB) as the sync went: the slope is memory per record.
    rss_curve: list[tuple[int, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def _record_bytes(data_dir: Path) -> tuple[int, int]:
    """(entries, their canonical bytes) in a SQLite node's log."""
    db = sqlite3.connect(f"file:{data_dir / 'coopfed.db'}?mode=ro", uri=True)
    try:
        n, total = db.execute("SELECT count(*), sum(length(raw)) FROM records").fetchone()
    finally:
        db.close()
    return int(n), int(total or 0)


async def _receiver(data_dir: Path, source_did: str, url: str, interval: float) -> None:
    config = bench_config(data_dir, sync_interval_s=interval, sync_max_backoff_s=interval * 4)
    founders = [s.did for s in common.members(3)]
    node = await Node.create(
        config, name="Receiving Co-op", charter=CHARTER, founders=founders, now_ms=common.now_ms()
    )
    try:
        await node.peers.pin(source_did, url=url, mirrors=[], name="source", now_ms=common.now_ms())
    finally:
        await node.close()


def _held(status: dict[str, Any], did: str) -> tuple[int, int | None]:
    for p in status.get("federation", {}).get("peers", []):
        if p.get("did") == did:
            return int(p.get("held") or 0), p.get("verified")
    return 0, None


async def measure(
    source_dir: Path,
    work: Path,
    *,
    interval: float = 1.0,
    uptodate_rounds: int = 3,
    timeout_s: float = 3600.0,
    profile: Path | None = None,
) -> SyncResult:
    n, record_bytes = _record_bytes(source_dir)
    source_did = read_coop_key(source_dir).did
    opened = time.perf_counter()
    source = NodeProcess(source_dir).start(timeout=timeout_s)
    source_open_s = time.perf_counter() - opened
    proxy = CountingProxy("127.0.0.1", urlsplit(source.url).port or 80)
    receiver: NodeProcess | None = None
    try:
        url = await proxy.start()
        recv_dir = work / "receiver"
        await _receiver(recv_dir, source_did, url, interval)
        proxy.reset()
        source_cpu0 = common.cpu_seconds(source.pid)
        receiver = NodeProcess(recv_dir).start(timeout=timeout_s)
        recv_cpu0 = common.cpu_seconds(receiver.pid)
        log(f"sync: receiver {receiver.url} follows {source.url} (via {url}), {n} entries")
        deadline = time.monotonic() + timeout_s
        done_at = None
        rss_curve: list[tuple[int, float]] = []  # (records held, MiB resident)
        with common.profiled(receiver.pid, profile):
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                status = await asyncio.to_thread(_get_json, receiver.url + "/api/v1/status")
                held, verified = _held(status, source_did)
                if not rss_curve or held - rss_curve[-1][0] >= max(1, n // 20):
                    rss_curve.append((held, round(common.rss_mb(receiver.pid), 1)))
                if held >= n and verified is not None and verified >= n:
                    done_at = time.perf_counter()
                    break
        cpu = common.cpu_seconds(receiver.pid), common.cpu_seconds(source.pid)
        if done_at is None:
            raise RuntimeError(f"sync did not finish in {timeout_s} s")
        counts = proxy.reset()
        assert counts.first is not None
        seconds = done_at - counts.first
        peak = receiver.peak_rss_mb()
        paths: dict[str, int] = {}
        for r in counts.requests:
            key = r.path.split("?")[0]
            key = "/tile/entries" if key.startswith("/tile/entries") else key
            key = "/tile/hashes" if key.startswith("/tile/") and "entries" not in key else key
            paths[f"{r.method} {key}"] = paths.get(f"{r.method} {key}", 0) + 1
        # Up-to-date rounds: let a few pass, then count the GETs each round made.
        await asyncio.sleep(interval * (uptodate_rounds + 1.5))
        idle = proxy.reset()
        gets = [r for r in idle.requests if r.method == "GET"]
        rounds = sum(1 for r in gets if r.path.split("?")[0] == "/checkpoint")
        uptodate = len(gets) / rounds if rounds else float("nan")
        return SyncResult(
            records=n,
            seconds=seconds,
            per_s=n / seconds,
            record_bytes=record_bytes,
            wire_bytes=counts.down,
            wire_overhead=counts.down / record_bytes,
            requests=len(counts.requests),
            uptodate_requests=uptodate,
            peak_rss_mb=peak,
            source_open_s=source_open_s,
            paths=paths,
            receiver_cpu_s=cpu[0] - recv_cpu0,
            source_cpu_s=cpu[1] - source_cpu0,
            rss_curve=rss_curve,
        )
    finally:
        if receiver is not None:
            receiver.stop()
        source.stop()
        await proxy.stop()


def run(source_dir: Path, work: Path, **kw: Any) -> SyncResult:
    work.mkdir(parents=True, exist_ok=True)
    return asyncio.run(measure(source_dir, work, **kw))
