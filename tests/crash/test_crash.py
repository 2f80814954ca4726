"""A few SIGKILLs of a real node during concurrent ingest, on SQLite and PostgreSQL.

The long runs (at least 100 kills) are ``make fuzz``; see harness.py and sync_harness.py.
"""

from __future__ import annotations

from typing import Any

import harness
import sync_harness


async def test_sigkill_during_ingest_loses_no_acknowledged_record(backend: Any) -> None:
    config = backend.config()
    data_dir = config.data_dir
    await harness.found_async(data_dir, database_url=config.database_url, schema=config.schema)
    stats = await harness.run(data_dir, kills=2, seed=11, check_every=1)
    assert stats.problems == []
    assert stats.kills == 2 and stats.lost == 0
    assert stats.acknowledged > 0 and stats.size >= stats.acknowledged
    assert stats.checkpoints_checked > 0


async def test_sigkill_during_sync_resumes_and_converges_to_the_peers_log(backend: Any) -> None:
    config = backend.config()
    work = config.data_dir.parent / "sync-crash"
    work.mkdir()
    stats = await sync_harness.run(
        work, kills=2, seed=5, records=3000, database_url=config.database_url, schema=config.schema
    )
    assert stats.problems == []
    # The catch-up may finish before a second kill; what matters is that a kill landed
    # with part of the log held, and that nothing was lost or fetched again.
    assert 1 <= stats.kills <= 2 and stats.lost == 0 and stats.refetched == 0
    assert any(0 < held < stats.records for held in stats.held_at_kills)
    assert stats.records > 3000
