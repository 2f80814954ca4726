"""Shared fixtures: ``backend`` runs a test on SQLite and on PostgreSQL.

PostgreSQL is the server named by ``COOPFED_TEST_PG`` (default: the local one, database
``test``), with a fresh schema per test, dropped afterwards. If it cannot be reached the
PostgreSQL half is skipped with the reason shown, unless ``COOPFED_REQUIRE_PG=1`` (CI), which
turns that into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from coopfed.node.config import Config

PG_URL = os.environ.get("COOPFED_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("COOPFED_REQUIRE_PG") == "1"
_pg_problem: list[str] = []  # the reason PostgreSQL is unusable, once found


def _dsn(url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_connect() -> asyncpg.Connection:
    if _pg_problem:
        _unavailable(_pg_problem[0])
    try:
        return await asyncpg.connect(_dsn(PG_URL), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _pg_problem.append(f"PostgreSQL at {PG_URL} is unreachable: {exc!r}")
        _unavailable(_pg_problem[0])
        raise  # unreachable: _unavailable raises


def _unavailable(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(f"{reason} (COOPFED_REQUIRE_PG=1)")
    pytest.skip(reason)


@dataclass
class Backend:
    """One database backend for a test, and the nodes the test opened on it."""

    name: str
    tmp_path: Path
    schema: str | None = None
    nodes: list[Any] = field(default_factory=list)

    def config(self, data_dir: Path | None = None, **settings: Any) -> Config:
        """A node configuration on this backend (the same database for every call)."""
        data_dir = data_dir if data_dir is not None else self.tmp_path / "node"
        if self.name == "postgres":
            settings.setdefault("database_url", PG_URL)
            settings.setdefault("schema", self.schema)
        return Config(data_dir=data_dir, **settings)

    def track(self, node: Any) -> Any:
        """Close ``node`` when the test ends (before the schema is dropped)."""
        self.nodes.append(node)
        return node


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        b = Backend("sqlite", tmp_path)
        yield b
        for node in reversed(b.nodes):
            await node.close()
        return
    conn = await _pg_connect()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        b = Backend("postgres", tmp_path, schema)
        yield b
        for node in reversed(b.nodes):
            await node.close()
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
