"""``python -m bench``: every benchmark in one run, one table, ``bench/out/latest.json``.

Each figure is taken in the same run as ``verify_per_s`` (raw PyNaCl Ed25519
verifications per second on one core), the limit the ratios are measured against.
``latest.json`` holds exactly the issue's keys, numbers only (``null`` for a figure this
run could not take, with the reason on the table); ``details.json`` beside it holds
everything else each benchmark saw (statuses, cores used, requests by path, ...).

``--tiny`` runs every benchmark at toy sizes (what ``make test`` does, in seconds);
``--only`` picks benchmarks; ``--profile DIR`` samples the node processes with py-spy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import biglog, ingest, sim, syncbench, tally, verify
from .common import log

OUT = Path(__file__).resolve().parent / "out"
KEYS = (
    "verify_per_s",
    "ingest_per_s",
    "ingest_ratio",
    "ingest_pg_per_s",
    "sync_per_s",
    "sync_ratio",
    "sync_wire_overhead",
    "uptodate_requests",
    "proof_us",
    "append_us",
    "sync_peak_rss_mb",
    "sim_coops",
    "sim_fetches_per_record",
    "tally_100k_ms",
)
ALL = ("verify", "ingest", "ingest_pg", "log", "sync", "rss", "sim", "tally")


@dataclass(frozen=True)
class Sizes:
    ingest: int
    clients: int
    log_sizes: tuple[int, ...]
    sync_records: int
    rss_records: int
    sim_coops: int
    sim_records: int
    tally_ballots: int
    verify_seconds: float
    samples: int
    appends: int
    members: int
    log_members: int


FULL = Sizes(
    ingest=30_000,
    clients=128,
    log_sizes=(1_000, 10_000, 100_000, 1_000_000),
    sync_records=100_000,
    rss_records=1_000_000,
    sim_coops=100,
    sim_records=20_000,
    tally_ballots=100_000,
    verify_seconds=2.0,
    samples=200,
    appends=2_000,
    members=1000,
    log_members=300,
)
TINY = Sizes(
    ingest=60,
    clients=8,
    log_sizes=(50, 120),
    sync_records=120,
    rss_records=120,
    sim_coops=5,
    sim_records=60,
    tally_ballots=50,
    verify_seconds=0.05,
    samples=3,
    appends=20,
    members=20,
    log_members=5,
)


class Bench:
    def __init__(self, sizes: Sizes, work: Path, profile: Path | None) -> None:
        self.sizes = sizes
        self.work = work
        self.profile = profile
        self.values: dict[str, Any] = dict.fromkeys(KEYS)
        self.details: dict[str, Any] = {}
        self.notes: dict[str, str] = {}

    def step(self, name: str, fn: Callable[[], None]) -> None:
        log(f"--- {name}")
        start = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # one failing benchmark must not hide the others
            self.notes[name] = f"failed: {type(exc).__name__}: {exc}"
            self.details.setdefault("errors", {})[name] = traceback.format_exc()
            log(f"{name} FAILED: {exc!r}")
        self.details.setdefault("seconds", {})[name] = round(time.perf_counter() - start, 1)

    # ------------------------------------------------------------------ the benchmarks

    def verify(self) -> None:
        self.values["verify_per_s"] = verify.run(seconds=self.sizes.verify_seconds)

    def ingest(self, pg: bool = False) -> None:
        url = None
        if pg:
            why = ingest.pg_available()
            if why is not None:
                self.notes["ingest_pg"] = f"skipped: no PostgreSQL at {ingest.PG_URL} ({why})"
                return
            url = ingest.PG_URL
        prof = None if self.profile is None else self.profile / f"ingest{'_pg' if pg else ''}.txt"
        r = ingest.run(
            n=self.sizes.ingest,
            clients=self.sizes.clients,
            members=self.sizes.members,
            proposals=max(1, min(20, self.sizes.members // 10)),
            warmup=min(500, self.sizes.ingest // 4),
            database_url=url,
            workdir=self.work,
            profile=prof,
        )
        self.details["ingest_pg" if pg else "ingest"] = dataclasses.asdict(r)
        if r.accepted != r.sent or r.log_size < r.accepted:
            self.notes["ingest_pg" if pg else "ingest"] = (
                f"only {r.accepted} of {r.sent} accepted: {r.first_error}"
            )
        if pg:
            self.values["ingest_pg_per_s"] = r.per_s
        else:
            self.values["ingest_per_s"] = r.per_s

    def log(self) -> None:
        s = self.sizes
        snaps = {}
        if s.sync_records in s.log_sizes:
            snaps[s.sync_records] = self.work / "log-sync"
        r = biglog.run(
            self.work / "log",
            sizes=s.log_sizes,
            samples=s.samples,
            appends=s.appends,
            members=s.log_members,
            snapshots=snaps,
        )
        self.values["proof_us"] = r.proof_us
        self.values["append_us"] = {
            k: v for k, v in r.append_us.items() if k in (str(min(s.log_sizes)), str(r.size))
        }
        self.details["log"] = dataclasses.asdict(r)

    def _source(self, records: int, name: str) -> Path:
        """A served log of exactly ``records`` entries (from the log benchmark, or built)."""
        built = self.work / ("log-sync" if records == self.sizes.sync_records else "log")
        if built.exists() and syncbench._record_bytes(built)[0] == records:
            return built
        path = self.work / f"log-{name}"
        if not path.exists():
            biglog.run(path, sizes=(records,), appends=0, samples=1, members=self.sizes.log_members)
        return path

    def sync(self) -> None:
        source = self._source(self.sizes.sync_records, "sync")
        r = syncbench.run(source, self.work / "sync")
        self.details["sync"] = r.to_json()
        self.values["sync_per_s"] = r.per_s
        self.values["sync_wire_overhead"] = r.wire_overhead
        self.values["uptodate_requests"] = r.uptodate_requests

    def rss(self) -> None:
        source = self._source(self.sizes.rss_records, "rss")
        r = syncbench.run(source, self.work / "rss", uptodate_rounds=0)
        self.details["rss"] = r.to_json()
        self.values["sync_peak_rss_mb"] = r.peak_rss_mb
        small = self.details.get("sync", {}).get("peak_rss_mb")
        if small:
            self.details["rss"]["peak_rss_mb_at_sync_records"] = small

    def sim(self) -> None:
        r = sim.run(coops=self.sizes.sim_coops, records=self.sizes.sim_records)
        self.details["sim"] = r.to_json()
        self.values["sim_coops"] = r.coops
        self.values["sim_fetches_per_record"] = r.fetches_per_record

    def tally(self) -> None:
        r = tally.run(ballots=self.sizes.tally_ballots)
        self.details["tally"] = dataclasses.asdict(r)
        self.values["tally_100k_ms"] = r.ms

    # ------------------------------------------------------------------ output

    def finish(self) -> None:
        v = self.values
        limit = v["verify_per_s"]
        if limit:
            if v["ingest_per_s"] is not None:
                v["ingest_ratio"] = v["ingest_per_s"] / limit
            if v["sync_per_s"] is not None:
                v["sync_ratio"] = v["sync_per_s"] / limit


def _fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float):
        text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"
    else:
        text = f"{x:,}"
    return text + unit


def table(b: Bench) -> str:
    v = b.values
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        rows.append((name, value, target, "" if ok is None else ("yes" if ok else "NO")))

    def cmp(key: str, test: Callable[[Any], bool]) -> bool | None:
        return None if v[key] is None else test(v[key])

    row("verify_per_s  (1 core, the limit)", _fmt(v["verify_per_s"], "/s"))
    row("ingest_per_s  (HTTP, SQLite)", _fmt(v["ingest_per_s"], "/s"))
    row("ingest_ratio", _fmt(v["ingest_ratio"]), ">= 0.6", cmp("ingest_ratio", lambda x: x >= 0.6))
    row("ingest_pg_per_s  (HTTP, PostgreSQL)", _fmt(v["ingest_pg_per_s"], "/s"), "report")
    row("sync_per_s  (100k, node to node)", _fmt(v["sync_per_s"], "/s"))
    row("sync_ratio", _fmt(v["sync_ratio"]), ">= 0.6", cmp("sync_ratio", lambda x: x >= 0.6))
    row(
        "sync_wire_overhead",
        _fmt(v["sync_wire_overhead"]),
        "<= 1.3",
        cmp("sync_wire_overhead", lambda x: x <= 1.3),
    )
    row(
        "uptodate_requests",
        _fmt(v["uptodate_requests"]),
        "1",
        cmp("uptodate_requests", lambda x: abs(x - 1) < 1e-9),
    )
    proofs = v["proof_us"] or {}
    for size, p in proofs.items():
        row(
            f"proof_us[{int(size):,}]  incl / cons",
            f"{_fmt(p['inclusion'])} / {_fmt(p['consistency'])}",
            "~log n",
        )
    if len(proofs) >= 2:
        sizes = sorted(proofs, key=int)
        lo, hi = proofs[sizes[0]], proofs[sizes[-1]]
        logs = math.log2(int(sizes[-1])) / math.log2(int(sizes[0]))
        growth = max(hi["inclusion"] / lo["inclusion"], hi["consistency"] / lo["consistency"])
        row(f"  proof growth (log n grows x{logs:.2f})", f"x{growth:.2f}", "", growth <= 2 * logs)
    app = v["append_us"] or {}
    for size, us in app.items():
        row(f"append_us[{int(size):,}]", _fmt(us), "flat")
    if len(app) == 2:
        a, z = (app[k] for k in sorted(app, key=int))
        row("  append growth", f"x{z / a:.2f}", "flat", z / a <= 1.5)
    rss = v["sync_peak_rss_mb"]
    small = b.details.get("rss", {}).get("peak_rss_mb_at_sync_records")
    row(
        "sync_peak_rss_mb  (1M sync)",
        _fmt(rss, " MiB") + (f"  ({_fmt(small)} at 100k)" if small else ""),
        "flat",
        None if rss is None or not small else rss <= 1.5 * small,
    )
    row("sim_coops", _fmt(v["sim_coops"]))
    row(
        "sim_fetches_per_record",
        _fmt(v["sim_fetches_per_record"]),
        "~1",
        cmp("sim_fetches_per_record", lambda x: x <= 1.1),
    )
    row("tally_100k_ms", _fmt(v["tally_100k_ms"], " ms"), "report")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("metric", "value", "target", "met")
    widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    for name, note in b.notes.items():
        lines.append(f"note: {name}: {note}")
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--tiny", action="store_true", help="toy sizes: checks the benchmarks run")
    ap.add_argument("--only", default=",".join(ALL), help=f"comma-separated: {','.join(ALL)}")
    ap.add_argument("--out", type=Path, default=OUT, help="where latest.json goes")
    ap.add_argument("--work", type=Path, default=None, help="scratch directory (default: tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--profile", type=Path, default=None, help="py-spy profiles go here")
    args = ap.parse_args(argv)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = sorted(set(only) - set(ALL))
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="coopfed-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    b = Bench(TINY if args.tiny else FULL, work, args.profile)
    machine = _machine()
    started = time.time()
    steps: dict[str, Callable[[], None]] = {
        "verify": b.verify,
        "ingest": b.ingest,
        "ingest_pg": lambda: b.ingest(pg=True),
        "log": b.log,
        "sync": b.sync,
        "rss": b.rss,
        "sim": b.sim,
        "tally": b.tally,
    }
    try:
        # verify first: every ratio is against this run's own limit.
        for name in ALL:
            if name in only or name == "verify":
                b.step(name, steps[name])
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    b.finish()
    machine["loadavg_end"] = os.getloadavg()
    b.details["machine"] = machine
    b.details["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    b.details["minutes"] = round((time.time() - started) / 60, 1)
    b.details["notes"] = b.notes
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(b.values, indent=2) + "\n")
    (args.out / "details.json").write_text(json.dumps(b.details, indent=2, default=str) + "\n")
    print(
        f"coopfed bench ({'tiny' if args.tiny else 'full'}): {machine['cpus']} cores, "
        f"Python {machine['python']}, load average {machine['loadavg'][0]:.1f} at start, "
        f"{machine['loadavg_end'][0]:.1f} at end, {b.details['minutes']} min"
    )
    print(table(b))
    print(f"wrote {args.out / 'latest.json'}")
    return 1 if b.notes and any(n.startswith("failed") for n in b.notes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
