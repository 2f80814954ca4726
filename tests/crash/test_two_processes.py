"""Two node processes sharing one PostgreSQL database under concurrent writes (short run).

The long run is ``make fuzz`` (two_processes.py --seconds 20).
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import harness
import pytest
import two_processes

pytestmark = pytest.mark.postgres


async def _require_pg() -> None:
    try:
        conn = await asyncpg.connect(
            harness.PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=5
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL at {harness.PG_URL} is unreachable: {exc!r}"
        if os.environ.get("COOPFED_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    await conn.close()


async def test_two_processes_never_fork_the_log_or_decide_twice(tmp_path: Path) -> None:
    await _require_pg()
    counts = await two_processes.run(tmp_path, seconds=2.0, proposals=3, seed=5)
    assert counts["proposals"] == counts["decisions"] == 3
    assert counts["records"] >= counts["acknowledged"] > 0
