"""``make demo`` end to end: a real node process, members at work, a block decided by vote."""

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
    for step in range(1, 12):
        assert f"\n{step}. " in out, f"step {step} missing"
    assert "$ coopfed init --data node --name 'Night Shift Co-op'" in out
    assert "welcome to Night Shift Co-op" in out
    assert ": passed (0 abstain, 1 no, 3 yes; quorum met)" in out
    assert "mturk:A3DEMOREQUESTER: BLOCKED" in out
    assert "mturk,A3DEMOREQUESTER,blocked,underpaid,no," in out
    assert "OK: " in out and "active blocks: 1" in out
    assert "demo finished" in out
    assert took < 90, f"the demo took {took:.0f} s"
    # The node process was stopped: its data is closed and nothing listens any more.
    log = (tmp_path / "demo" / "node.log").read_text()
    assert "Traceback" not in log
