"""The long fuzzing campaign of ``make fuzz``: every decoder and every endpoint under atheris.

Runs tests/fuzz/atheris_fuzz.py once per decoder and tests/fuzz/atheris_endpoints.py for
the node's HTTP endpoints, ``--jobs`` at a time, each for its share of ``--runs`` inputs
(endpoints get ``--endpoint-runs``: each input there is a real HTTP request). Prints one
line per target and the totals (inputs tried, crashes); exits 1 if anything crashed. A
crash leaves its input as ``crash-*`` in ``--work``: pin it in
spec/vectors/gen_regressions.py under the bug's name, then fix the bug.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TEXT_TARGETS = frozenset(
    {"tile_path", "did", "requester", "vkey", "checkpoint_text", "note_line", "witness_request"}
)
_DONE = re.compile(rb"Done (\d+) runs in")
_PROGRESS = re.compile(rb"^#(\d+)\s", re.MULTILINE)


@dataclass
class Result:
    target: str
    runs: int
    crashes: list[Path]
    seconds: float
    returncode: int
    tail: str


def fuzz(script: str, target: str, runs: int, work: Path, max_len: int, seed: int) -> Result:
    out_dir = work / target
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("crash-*"))
    started = time.monotonic()
    cmd = [
        sys.executable,
        str(HERE / script),
        target,
        str(out_dir / "corpus"),
        f"-runs={runs}",
        f"-max_len={max_len}",
        f"-seed={seed}",
        f"-artifact_prefix={out_dir}/",
        "-print_final_stats=1",
        "-rss_limit_mb=4096",
        "-timeout=30",
    ]
    if target in TEXT_TARGETS:
        # Text parsers break on long inputs (digits past int()'s limit): start long.
        cmd.append("-len_control=0")
    done = subprocess.run(cmd, capture_output=True, check=False, timeout=3600)
    log = done.stdout + done.stderr
    m = _DONE.search(log)
    tried = int(m.group(1)) if m else max((int(x) for x in _PROGRESS.findall(log)), default=0)
    crashes = sorted(set(out_dir.glob("crash-*")) - before)
    (out_dir / "last.log").write_bytes(log)
    return Result(
        target,
        tried,
        crashes,
        time.monotonic() - started,
        done.returncode,
        log[-3000:].decode("utf-8", "replace"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1_000_000, help="decoder inputs in total")
    parser.add_argument("--endpoint-runs", type=int, default=20_000, help="HTTP inputs")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(".fuzz"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="targets to run (default: all)")
    args = parser.parse_args()

    import targets

    names = [n for n in targets.load() if not args.only or n in args.only]
    # Cheap targets get more of the budget; verifying bundles is ~100x slower per input.
    weight = {"verify_bundle": 0.25, "bundle": 0.5, "record": 0.5, "equivocation": 0.5}
    total_w = sum(weight.get(n, 1.0) for n in names)
    jobs: list[tuple[str, str, int, int]] = [
        ("atheris_fuzz.py", n, max(1, int(args.runs * weight.get(n, 1.0) / total_w)), 1 << 16)
        for n in names
    ]
    if not args.only or "endpoints" in args.only:
        jobs.insert(0, ("atheris_endpoints.py", "endpoints", args.endpoint_runs, 1 << 14))
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: list[Result] = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(fuzz, script, name, runs, args.work, max_len, args.seed + i)
            for i, (script, name, runs, max_len) in enumerate(jobs)
        ]
        for future in futures:
            r = future.result()
            results.append(r)
            status = f"{len(r.crashes)} crash(es)" if r.crashes else "no crash"
            if r.returncode not in (0,) and not r.crashes:
                status = f"exit {r.returncode}"
            print(
                f"  {r.target:<18} {r.runs:>10,} inputs  {r.seconds:7.1f} s  {status}", flush=True
            )
            for c in r.crashes:
                print(f"      crash input: {c}")
            if r.returncode != 0:
                print("      " + r.tail.replace("\n", "\n      ")[-1500:])
    tried = sum(r.runs for r in results)
    crashes = sum(len(r.crashes) for r in results)
    failed = [r for r in results if r.returncode != 0]
    print(
        f"fuzz: {tried:,} inputs tried, {crashes} crashes, "
        f"{len(results)} targets, {time.monotonic() - started:.0f} s"
    )
    return 1 if crashes or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
