"""A node's configuration: one frozen value, stored as JSON beside the co-op's data."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

CONFIG_FILE: Final = "config.json"
DB_FILE: Final = "coopfed.db"
_SCHEMA_RE: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    data_dir: Path
    #: None: SQLite (WAL) at ``<data_dir>/coopfed.db``; else for example
    #: ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``.
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8470
    #: Sign a checkpoint after this many appends...
    checkpoint_every: int = 64
    #: ...or this many seconds after the first append no checkpoint covers yet.
    checkpoint_interval_s: float = 5.0
    governance_interval_s: float = 1.0
    max_body: int = 64 * 1024
    #: A member's record must carry a time within this of the node's clock.
    max_skew_ms: int = 5 * 60_000
    #: PostgreSQL schema holding the tables (one per test, for isolation); None: search_path.
    schema: str | None = None
    #: Writes (POSTs) one client address may make: sustained per second (0: no limit)...
    rate_address_per_s: float = 20.0
    #: ...and in one burst.
    rate_address_burst: int = 300
    #: Records one member (one signing key) may post: sustained per second (0: no limit)...
    rate_member_per_s: float = 2.0
    #: ...and in one burst.
    rate_member_burst: int = 120
    #: Meter the last X-Forwarded-For address instead of the peer's (behind a trusted proxy).
    trust_forwarded_for: bool = False
    #: Connections one client address may hold open at once (0: no cap). Behind a reverse
    #: proxy every client comes from the proxy's address: raise it, or cap at the proxy.
    max_connections_per_address: int = 100
    #: A connection must send a complete request head within this many seconds.
    header_timeout_s: float = 15.0
    #: A request must be read and answered within this many seconds (else 408).
    request_timeout_s: float = 30.0
    #: Every request the node makes to another server gives up after this many seconds.
    outbound_timeout_s: float = 30.0
    #: How often each followed co-op's log is pulled (jittered), and witnesses are asked...
    sync_interval_s: float = 30.0
    #: ...and the longest back-off after failures (it doubles from sync_interval_s).
    sync_max_backoff_s: float = 600.0
    #: Entries of a followed log dated more than this past the node's clock wait until the
    #: clock is there (``future``). Only demos, whose nodes move their clocks, raise it.
    sync_max_future_ms: int = 600_000
    #: Applications to join by vote held outside the log, waiting for a member to sponsor
    #: them; beyond this many the node refuses new ones (``applications_full``)...
    max_pending_applications: int = 50
    #: ...and how long each waits before it is dropped.
    application_ttl_s: int = 14 * 86_400

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.schema is not None and not _SCHEMA_RE.fullmatch(self.schema):
            raise ValueError(f"schema must match {_SCHEMA_RE.pattern}, got {self.schema!r}")
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        if self.checkpoint_interval_s <= 0 or self.governance_interval_s <= 0:
            raise ValueError("intervals must be positive")
        if self.max_skew_ms < 0 or self.max_body < 1:
            raise ValueError("max_skew_ms must be >= 0 and max_body >= 1")
        if self.rate_address_per_s < 0 or self.rate_member_per_s < 0:
            raise ValueError("rates must be >= 0 (0 turns a limit off)")
        if self.rate_address_burst < 1 or self.rate_member_burst < 1:
            raise ValueError("bursts must be at least 1")
        if self.max_connections_per_address < 0:
            raise ValueError("max_connections_per_address must be >= 0 (0 turns the cap off)")
        if min(self.header_timeout_s, self.request_timeout_s, self.outbound_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
        if self.sync_interval_s <= 0 or self.sync_max_backoff_s < self.sync_interval_s:
            raise ValueError("sync_interval_s must be positive and sync_max_backoff_s no less")
        if self.sync_max_future_ms < 0:
            raise ValueError("sync_max_future_ms must be >= 0")
        if self.max_pending_applications < 1 or self.application_ttl_s < 1:
            raise ValueError("max_pending_applications and application_ttl_s must be >= 1")
        if self.schema is not None and self.is_sqlite:
            raise ValueError("a schema is a PostgreSQL setting; SQLite has none")

    @property
    def url(self) -> str:
        """The SQLAlchemy URL the node connects to."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / DB_FILE}"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @classmethod
    def load(cls, data_dir: Path | str) -> Config:
        """Read ``<data_dir>/config.json``; a missing file gives the defaults."""
        data_dir = Path(data_dir)
        path = data_dir / CONFIG_FILE
        if not path.exists():
            return cls(data_dir=data_dir)
        value = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(value, dict):
            raise ValueError(f"{path} must hold a JSON object")
        known = {f.name for f in dataclasses.fields(cls)} - {"data_dir"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        return cls(data_dir=data_dir, **value)

    def to_json(self) -> dict[str, Any]:
        """Every setting but ``data_dir`` (the file's own location gives it)."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "data_dir"
        }

    def save(self) -> None:
        """Write ``<data_dir>/config.json`` atomically (it may hold a database password)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / CONFIG_FILE
        tmp = path.with_suffix(".json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
