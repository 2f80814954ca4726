"""``make demo`` end to end: three node processes federate; a block is verified offline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_demo_runs_end_to_end_and_exits_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFED_")}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "coopfed.node.demo", "--keep", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    # Each step is told in plain words, with the command a person would type.
    for step in range(1, 13):
        assert f"\n{step}. " in out, f"step {step} missing"
    assert "$ coopfed init --data a --name 'Night Shift Co-op'" in out
    assert "fingerprint: " in out
    # Dawn Patrol adopts Night Shift's block; Harbor Workers waits for a second co-op.
    flat = " ".join(out.split())  # the command line wraps long sentences
    assert "with k=1 adopts it" in flat
    assert "with k=2 does not adopt it" in flat
    assert "with k=2 adopts it: blocked by 2 of its 2 sources" in flat
    assert "signed records it rests on:" in out
    assert "latest checkpoint witnessed by: " in out
    assert "VERIFIED: block.bundle proves a block of co-op" in out
    assert "Witnessed by 2 co-op(s) you trust" in out
    assert "Error: NOT VERIFIED" in out
    assert "demo finished" in out
    assert took < 90, f"the demo took {took:.0f} s"
    # The node processes were stopped, and none of them failed along the way.
    for name in ("a", "b", "c"):
        log = (tmp_path / "demo" / f"{name}.log").read_text()
        assert "Traceback" not in log, log
