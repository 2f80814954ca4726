"""The log on disk: a record, its index, its tree nodes and the new frontier commit together.

One writer at a time holds the log: on PostgreSQL the transaction locks the single
``tree_head`` row (``SELECT … FOR UPDATE``), on SQLite it starts with ``BEGIN IMMEDIATE``.
Inside that transaction the writer sees every entry committed before it, inserts the new
records and the complete subtree hashes :meth:`Frontier.append` returns, and rewrites the
head; so after a crash at any point the database holds either all of an append or none of
it, and the records always hash to the stored tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from coopfed.protocol.merkle import Frontier, Node, NodeReader, leaf_hash
from coopfed.protocol.records import Record

from .config import Config

T = TypeVar("T")

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
#: How long a SQLite writer waits for another connection's write lock, in seconds.
SQLITE_BUSY_TIMEOUT_S: Final = 30.0
_WRITE_OPTION: Final = "coopfed_write"

metadata = sa.MetaData()
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
records = sa.Table(
    "records",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
)
tree_nodes = sa.Table(
    "tree_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
)
tree_head = sa.Table(
    "tree_head",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),
)
checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.LargeBinary, nullable=False),
    sa.Column("signed_at", sa.BigInteger, nullable=False),
)
invites = sa.Table(
    "invites",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("used_by", sa.Text, nullable=True),
    sa.Column("used_at", sa.BigInteger, nullable=True),
    sa.Column("admit_id", sa.LargeBinary, nullable=True),
)
#: Applications to join by vote that no member has sponsored yet: outside the log, bounded
#: in number and in time (node/service.py ``Node.join``).
applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", sa.LargeBinary, primary_key=True),
    sa.Column("author", sa.Text, nullable=False, unique=True),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
)


class StorageError(RuntimeError):
    """The database does not hold what a coopfed log must (for example log and tree disagree)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: bytes
    signed_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Invite:
    token_hash: bytes
    created_ms: int
    expires_ms: int
    used_by: str | None
    used_at: int | None
    admit_id: bytes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingApplication:
    """A ``member.apply`` record held outside the log until a member sponsors it."""

    record: Record
    received_ms: int
    expires_ms: int


# --------------------------------------------------------------------------- engine


def make_engine(config: Config) -> AsyncEngine:
    """An engine for the configured database, set up for coopfed's transactions."""
    if config.is_sqlite:
        return _sqlite_engine(config)
    connect_args: dict[str, Any] = {}
    if config.schema is not None:
        # Every connection resolves unqualified names (and alembic_version) in the schema.
        connect_args["server_settings"] = {"search_path": config.schema}
    return create_async_engine(config.url, connect_args=connect_args)


def _sqlite_engine(config: Config) -> AsyncEngine:
    if config.database_url is None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(config.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN and hide BEGIN IMMEDIATE;
        # take it over (SQLAlchemy's documented recipe) and begin in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a transaction is durable once COMMIT returns, even on power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A writer takes the database's write lock at BEGIN, so two writers can never
        # both read the head and then both append after it.
        writes = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _migration_lock_key(schema: str | None) -> int:
    digest = hashlib.sha256(b"coopfed/migrate\x00" + (schema or "").encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def migrate(engine: AsyncEngine, config: Config) -> None:
    """Bring the schema to the newest revision (Alembic, in one transaction)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{_WRITE_OPTION: True})
        async with conn.begin():
            if not config.is_sqlite:
                # Several node processes may start at once on one database.
                await conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_migration_lock_key(config.schema)))
                )
                if config.schema is not None:
                    await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{config.schema}"')
            await conn.run_sync(_upgrade, config.schema)


def _upgrade(connection: sa.Connection, schema: str | None) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    command.upgrade(cfg, "head")


# --------------------------------------------------------------------------- the store


class Store:
    """The node's database: reads anywhere, writes only inside :meth:`write`."""

    def __init__(self, engine: AsyncEngine, config: Config) -> None:
        self.engine = engine
        self.config = config

    @classmethod
    async def open(cls, config: Config) -> Store:
        engine = make_engine(config)
        try:
            await migrate(engine, config)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, config)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTx]:
        """One write transaction holding the log's lock; commits when the block ends."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{_WRITE_OPTION: True})
            async with conn.begin():
                row = (
                    await conn.execute(
                        sa.select(tree_head.c.size, tree_head.c.frontier)
                        .where(tree_head.c.id == 1)
                        .with_for_update()
                    )
                ).one()
                tx = WriteTx(conn, Frontier.from_bytes(row.frontier))
                if tx.frontier.size != row.size:
                    raise StorageError(
                        f"tree_head says size {row.size} but its frontier {tx.frontier.size}"
                    )
                yield tx

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction that does not take the log's lock (for the other tables).

        On SQLite it still takes the database's write lock at BEGIN (BEGIN IMMEDIATE); on
        PostgreSQL the caller locks the rows it reads in order to change them
        (``SELECT … FOR UPDATE``). Commits when the block ends.
        """
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{_WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    # ------------------------------------------------------------------ reads

    async def meta(self) -> dict[str, str]:
        async with self.read() as conn:
            rows = await conn.execute(sa.select(meta.c.key, meta.c.value))
            return {r.key: r.value for r in rows}

    async def head(self) -> Frontier:
        async with self.read() as conn:
            return await _head(conn)

    async def size(self) -> int:
        async with self.read() as conn:
            return int(
                (
                    await conn.execute(sa.select(tree_head.c.size).where(tree_head.c.id == 1))
                ).scalar_one()
            )

    async def find(self, rid: bytes) -> int | None:
        async with self.read() as conn:
            return await _find(conn, rid)

    async def record(self, rid: bytes) -> tuple[int, bytes] | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    sa.select(records.c.idx, records.c.raw).where(records.c.id == rid)
                )
            ).first()
        return None if row is None else (int(row.idx), bytes(row.raw))

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Raw records ``[start, end)``, as committed (fewer if the log is shorter)."""
        async with self.read() as conn:
            return [raw for _, raw in await _rows(conn, start, end)]

    async def pages(
        self, start: int, end: int | None = None, *, page: int = 1000
    ) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Committed entries ``[start, end)`` (to the last if ``end`` is None), in order."""
        while end is None or start < end:
            stop = start + page if end is None else min(start + page, end)
            async with self.read() as conn:
                rows = await _rows(conn, start, stop)
            if not rows:
                return
            yield rows
            start = rows[-1][0] + 1

    async def with_nodes(self, fn: Callable[[NodeReader], T]) -> T:
        """Run a merkle computation whose :data:`NodeReader` reads ``tree_nodes``.

        The protocol's proof and tile functions are synchronous and ask for all their
        nodes in one call; SQLAlchemy's ``run_sync`` lets them query on this connection.
        """
        async with self.read() as conn:
            return await conn.run_sync(lambda sync: fn(_node_reader(sync)))

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    sa.select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1)
                )
            ).first()
        return None if row is None else _checkpoint(row)

    async def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        async with self.read() as conn:
            row = (
                await conn.execute(sa.select(checkpoints).where(checkpoints.c.size == size))
            ).first()
        return None if row is None else _checkpoint(row)

    async def invite(self, token_hash: bytes) -> Invite | None:
        async with self.read() as conn:
            row = (
                await conn.execute(sa.select(invites).where(invites.c.token_hash == token_hash))
            ).first()
        return None if row is None else _invite(row)

    async def applications(self, *, now_ms: int) -> list[PendingApplication]:
        """The applications not expired at ``now_ms``, oldest first."""
        async with self.read() as conn:
            rows = await conn.execute(
                sa.select(applications)
                .where(applications.c.expires_ms > now_ms)
                .order_by(applications.c.received_ms, applications.c.id)
            )
            return [_application(r) for r in rows]

    # The same reads as WriteTx's, outside the log lock: for answers that need no lock.

    async def application(self, rid: bytes) -> PendingApplication | None:
        async with self.read() as conn:
            return await _application_where(conn, applications.c.id == rid)

    async def application_of(self, author: str) -> PendingApplication | None:
        async with self.read() as conn:
            return await _application_where(conn, applications.c.author == author)

    async def applications_held(self, *, now_ms: int) -> tuple[int, int | None]:
        async with self.read() as conn:
            return await _applications_held(conn, now_ms)


class WriteTx:
    """The open write transaction: the committed head, and the operations that extend it."""

    def __init__(self, conn: AsyncConnection, frontier: Frontier) -> None:
        self.conn = conn
        self.frontier = frontier

    @property
    def size(self) -> int:
        return self.frontier.size

    async def rows(self, start: int, end: int | None = None) -> list[tuple[int, bytes]]:
        return await _rows(self.conn, start, self.size if end is None else end)

    async def find(self, rid: bytes) -> int | None:
        return await _find(self.conn, rid)

    async def append(self, new: Sequence[Record]) -> list[int]:
        """Insert ``new`` after the head with their tree nodes, and move the head."""
        if not new:
            return []
        frontier = self.frontier
        rows: list[dict[str, Any]] = []
        nodes: list[dict[str, Any]] = []
        for record in new:
            rows.append(
                {
                    "idx": frontier.size,
                    "id": record.id,
                    "type": record.type.value,
                    "author": record.author,
                    "ts": record.ts,
                    "raw": record.raw,
                }
            )
            frontier, made = frontier.append(leaf_hash(record.raw))
            nodes.extend({"level": lv, "idx": i, "hash": h} for lv, i, h in made)
        await self.conn.execute(records.insert(), rows)
        await self.conn.execute(tree_nodes.insert(), nodes)
        await self.conn.execute(
            tree_head.update()
            .where(tree_head.c.id == 1)
            .values(size=frontier.size, frontier=frontier.to_bytes())
        )
        first = self.frontier.size
        self.frontier = frontier
        return list(range(first, frontier.size))

    async def set_meta(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            await self.conn.execute(meta.delete().where(meta.c.key == key))
            await self.conn.execute(meta.insert().values(key=key, value=value))

    async def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        row = (
            await self.conn.execute(sa.select(checkpoints).where(checkpoints.c.size == size))
        ).first()
        return None if row is None else _checkpoint(row)

    async def add_checkpoint(self, cp: StoredCheckpoint) -> None:
        await self.conn.execute(
            checkpoints.insert().values(
                size=cp.size, root=cp.root, note=cp.note, signed_at=cp.signed_at
            )
        )

    async def add_invite(self, token_hash: bytes, *, created_ms: int, expires_ms: int) -> None:
        await self.conn.execute(
            invites.insert().values(
                token_hash=token_hash, created_ms=created_ms, expires_ms=expires_ms
            )
        )

    async def invite(self, token_hash: bytes) -> Invite | None:
        # The log lock held by this transaction already serialises redemptions.
        row = (
            await self.conn.execute(sa.select(invites).where(invites.c.token_hash == token_hash))
        ).first()
        return None if row is None else _invite(row)

    async def use_invite(
        self, token_hash: bytes, *, member: str, now_ms: int, admit_id: bytes
    ) -> None:
        result = await self.conn.execute(
            invites.update()
            .where(invites.c.token_hash == token_hash, invites.c.used_by.is_(None))
            .values(used_by=member, used_at=now_ms, admit_id=admit_id)
        )
        if result.rowcount != 1:
            raise StorageError("invite vanished or was used inside the log lock")

    # The log lock this transaction holds serialises every change to applications, so
    # a count checked here still holds when the insert commits.

    async def application(self, rid: bytes) -> PendingApplication | None:
        """The held application with id ``rid``, expired or not."""
        return await _application_where(self.conn, applications.c.id == rid)

    async def application_of(self, author: str) -> PendingApplication | None:
        """The application ``author`` has held here, expired or not."""
        return await _application_where(self.conn, applications.c.author == author)

    async def applications_held(self, *, now_ms: int) -> tuple[int, int | None]:
        """How many applications are held unexpired at ``now_ms``, and the soonest expiry."""
        return await _applications_held(self.conn, now_ms)

    async def hold_application(self, record: Record, *, now_ms: int, expires_ms: int) -> None:
        """Hold ``record`` (a verified ``member.apply``), first dropping expired ones."""
        await self.conn.execute(applications.delete().where(applications.c.expires_ms <= now_ms))
        await self.conn.execute(
            applications.insert().values(
                id=record.id,
                author=record.author,
                raw=record.raw,
                received_ms=now_ms,
                expires_ms=expires_ms,
            )
        )

    async def drop_applications(self, author: str) -> None:
        """Forget what ``author`` applied with: sponsored, admitted or expired."""
        await self.conn.execute(applications.delete().where(applications.c.author == author))


# --------------------------------------------------------------------------- helpers


async def _head(conn: AsyncConnection) -> Frontier:
    raw = (
        await conn.execute(sa.select(tree_head.c.frontier).where(tree_head.c.id == 1))
    ).scalar_one()
    return Frontier.from_bytes(raw)


async def _find(conn: AsyncConnection, rid: bytes) -> int | None:
    idx = (await conn.execute(sa.select(records.c.idx).where(records.c.id == rid))).scalar()
    return None if idx is None else int(idx)


async def _rows(conn: AsyncConnection, start: int, end: int) -> list[tuple[int, bytes]]:
    if end <= start:
        return []
    result = await conn.execute(
        sa.select(records.c.idx, records.c.raw)
        .where(records.c.idx >= start, records.c.idx < end)
        .order_by(records.c.idx)
    )
    return [(int(r.idx), bytes(r.raw)) for r in result]


def _node_reader(conn: sa.Connection) -> NodeReader:
    def read(wanted: Sequence[Node]) -> list[bytes]:
        by_level: dict[int, list[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, []).append(index)
        cond = sa.or_(
            *(
                sa.and_(tree_nodes.c.level == level, tree_nodes.c.idx.in_(idxs))
                for level, idxs in by_level.items()
            )
        )
        got = {
            (int(r.level), int(r.idx)): bytes(r.hash)
            for r in conn.execute(sa.select(tree_nodes).where(cond))
        }
        missing = [n for n in wanted if n not in got]
        if missing:
            raise StorageError(f"tree nodes {missing[:4]} are not stored")
        return [got[n] for n in wanted]

    return read


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        size=int(row.size), root=bytes(row.root), note=bytes(row.note), signed_at=int(row.signed_at)
    )


async def _application_where(
    conn: AsyncConnection, cond: sa.ColumnElement[bool]
) -> PendingApplication | None:
    row = (await conn.execute(sa.select(applications).where(cond))).first()
    return None if row is None else _application(row)


async def _applications_held(conn: AsyncConnection, now_ms: int) -> tuple[int, int | None]:
    row = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.min(applications.c.expires_ms)).where(
                applications.c.expires_ms > now_ms
            )
        )
    ).one()
    return int(row[0]), None if row[1] is None else int(row[1])


def _application(row: Any) -> PendingApplication:
    return PendingApplication(
        # Verified before it was stored, like the log's rows (see Node.open).
        record=Record.from_bytes(bytes(row.raw), verify=False),
        received_ms=int(row.received_ms),
        expires_ms=int(row.expires_ms),
    )


def _invite(row: Any) -> Invite:
    return Invite(
        token_hash=bytes(row.token_hash),
        created_ms=int(row.created_ms),
        expires_ms=int(row.expires_ms),
        used_by=row.used_by,
        used_at=None if row.used_at is None else int(row.used_at),
        admit_id=None if row.admit_id is None else bytes(row.admit_id),
    )
