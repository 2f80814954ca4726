"""The logs this node follows: each verified page is stored with its tree in one transaction.

A followed co-op (a *peer*) is pinned by its DID. What the node holds of its log —
records, the complete tree nodes, the frontier, every checkpoint it verified — is written
only by :class:`Peers`, one transaction per :class:`~coopfed.protocol.sync.StorePage`
(the records, their nodes and the new frontier together, the peer's row locked), so a
restart resumes exactly where the last committed page ended. The same module keeps the
node's witness state (the latest checkpoint it cosigned per log, checked and stored in
the transaction that reads it), the cosignatures other co-ops gave this co-op's own
checkpoints, the equivocation proofs it found and a log of the data it refused.

In memory each peer is a :class:`PeerLog`: its :class:`CoopState`, rebuilt from the stored
records at startup, its frontier and its latest verified checkpoint. Several node
processes may share one PostgreSQL database; :meth:`Peers.refresh` folds in what the
others stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from coopfed.protocol.bodies import REQUESTER_TYPES, Block, RequesterRef
from coopfed.protocol.checkpoint import (
    Checkpoint,
    EquivocationProof,
    SignedCheckpoint,
    add_cosignatures,
    find_equivocation,
    log_origin,
)
from coopfed.protocol.errors import (
    InvalidProof,
    LocalProtocolError,
    RemoteProtocolError,
)
from coopfed.protocol.identity import SigningIdentity, public_key_from_did
from coopfed.protocol.merkle import (
    Frontier,
    Node,
    NodeReader,
    consistency_proof,
    encode_entry_bundle,
    inclusion_proof,
    leaf_hash,
    tile_available,
    tile_bytes,
)
from coopfed.protocol.note import Note
from coopfed.protocol.records import Record
from coopfed.protocol.state import CoopState, Entry
from coopfed.protocol.sync import StorePage
from coopfed.protocol.witness import (
    AddCheckpointRequest,
    Witnessed,
    WitnessResponse,
    add_checkpoint,
    log_verifier,
)

from .safetext import MAX_NAME, visible
from .storage import StorageError, Store, metadata

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Records read per query when a peer's state is rebuilt.
_PAGE: Final = 1000

peers = sa.Table(
    "peers",
    metadata,
    sa.Column("did", sa.Text, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("mirrors", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("pinned_at", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("last_code", sa.Text, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_sync", sa.BigInteger, nullable=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("next_try", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),
    sa.Column("checkpoint", sa.BigInteger, nullable=True),
)
peer_records = sa.Table(
    "peer_records",
    metadata,
    sa.Column("coop", sa.Text, primary_key=True),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", sa.LargeBinary, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    # ``PLATFORM:ID`` of a rating, flag, appeal or reply (migration 0003), for profiles.
    sa.Column("requester", sa.Text, nullable=True),
)
peer_nodes = sa.Table(
    "peer_nodes",
    metadata,
    sa.Column("coop", sa.Text, primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
)
peer_checkpoints = sa.Table(
    "peer_checkpoints",
    metadata,
    sa.Column("coop", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.LargeBinary, nullable=False),
    sa.Column("seen_at", sa.BigInteger, nullable=False),
)
equivocations = sa.Table(
    "equivocations",
    metadata,
    sa.Column("id", sa.LargeBinary, primary_key=True),
    sa.Column("coop", sa.Text, nullable=False),
    sa.Column("proof", sa.LargeBinary, nullable=False),
    sa.Column("found_at", sa.BigInteger, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
)
witness_state = sa.Table(
    "witness_state",
    metadata,
    sa.Column("origin", sa.Text, primary_key=True),
    sa.Column("coop", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)
cosignatures = sa.Table(
    "cosignatures",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("witness", sa.Text, primary_key=True),
    sa.Column("line", sa.LargeBinary, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.BigInteger, nullable=False),
)
refusals = sa.Table(
    "refusals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("coop", sa.Text, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_idx", sa.BigInteger, nullable=True),
    sa.Column("end_idx", sa.BigInteger, nullable=True),
)


class PeerStatus(StrEnum):
    """Where a followed co-op stands with this node."""

    #: Synced, or syncing; nothing wrong seen.
    ACTIVE = "active"
    #: The last sync got data that did not verify from every source (retried with back-off).
    REFUSED = "refused"
    #: The co-op's signed log holds a record its own rules do not admit; the valid prefix is kept.
    INVALID = "invalid"
    #: The co-op signed two histories; the proof is stored and its blocks are never adopted.
    EQUIVOCATED = "equivocated"


#: The only legal status changes (h2's ``_transitions`` idea): an equivocation is for good,
#: an invalid log stays invalid, a refusal clears on the next good sync.
_TRANSITIONS: Final[dict[PeerStatus, frozenset[PeerStatus]]] = {
    PeerStatus.ACTIVE: frozenset(PeerStatus),
    PeerStatus.REFUSED: frozenset(PeerStatus),
    PeerStatus.INVALID: frozenset({PeerStatus.INVALID, PeerStatus.EQUIVOCATED}),
    PeerStatus.EQUIVOCATED: frozenset({PeerStatus.EQUIVOCATED}),
}


class PageConflict(StorageError):
    """Another process stored entries of this peer meanwhile; rebuild and sync again."""


class UnknownPeer(RemoteProtocolError):
    """The request names a co-op this node does not follow."""

    code = "unknown_peer"


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerInfo:
    """A peer's row: where to fetch its log, and how syncing it went."""

    did: str
    url: str
    mirrors: tuple[str, ...]
    name: str
    pinned_at: int
    status: PeerStatus
    last_code: str | None
    last_error: str | None
    last_sync: int | None
    failures: int
    next_try: int
    size: int
    checkpoint: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "url": self.url,
            "mirrors": list(self.mirrors),
            "name": self.name,
            "pinned_at": self.pinned_at,
            "status": self.status.value,
            "last_code": self.last_code,
            "last_error": self.last_error,
            "last_sync": self.last_sync,
            "failures": self.failures,
            "next_try": self.next_try,
            "size": self.size,
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEquivocation:
    id: bytes
    coop: str
    proof: bytes
    found_at: int
    source: str

    def to_json(self) -> dict[str, Any]:
        p = EquivocationProof.from_bytes(self.proof)
        first, second = p.first_checkpoint, p.second_checkpoint
        return {
            "id": self.id.hex(),
            "coop": self.coop,
            "found_at": self.found_at,
            "source": self.source,
            "first": {"size": first.size, "root": first.root_hash.hex()},
            "second": {"size": second.size, "root": second.root_hash.hex()},
            "proof": self.proof.hex(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    coop: str
    at: int
    source: str
    code: str
    reason: str
    first_idx: int | None
    end_idx: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "coop": self.coop,
            "at": self.at,
            "source": self.source,
            "code": self.code,
            "reason": self.reason,
            "entries": None if self.first_idx is None else [self.first_idx, self.end_idx],
        }


class PeerLog:
    """One followed co-op's log as this node holds it; mirrors what is committed.

    ``state`` is only changed by a sync (which holds ``lock``) or by folding in what another
    process stored (which takes ``lock`` too).
    """

    def __init__(
        self,
        info: PeerInfo,
        state: CoopState,
        frontier: Frontier,
        verified: SignedCheckpoint | None,
    ) -> None:
        self.info = info
        self.state = state
        self.frontier = frontier
        self.verified = verified
        self.lock = asyncio.Lock()
        #: Bumped by every change this process makes, so that a refresh that read the
        #: database before the change never puts older values back.
        self.version = 0

    @property
    def did(self) -> str:
        return self.info.did

    @property
    def origin(self) -> str:
        return log_origin(self.info.did)


def key_fingerprint(did: str) -> str:
    """What an operator compares out of band before pinning: SHA-256 of the public key."""
    digest = hashlib.sha256(public_key_from_did(did)).hexdigest()
    return " ".join(digest[i : i + 8] for i in range(0, 64, 8))


def full_consistency_path(old: int, new: int, read: NodeReader) -> list[bytes]:
    """The consistency proof from ``old`` to ``new``, with the prefix hash when ``old`` is 2^k.

    RFC 9162 leaves that hash (the tree of size ``old`` itself) out of the proof; without
    it, an inconsistent pair of checkpoints can only be refused, not proved to conflict
    (see :func:`~coopfed.protocol.checkpoint.find_equivocation`).
    """
    proof = consistency_proof(old, new, read)
    if 0 < old < new and old & (old - 1) == 0:
        (prefix,) = read([(old.bit_length() - 1, 0)])
        return [prefix, *proof]
    return proof


def _info(row: Any) -> PeerInfo:
    return PeerInfo(
        did=row.did,
        url=row.url,
        mirrors=tuple(json.loads(row.mirrors)),
        name=row.name,
        pinned_at=int(row.pinned_at),
        status=PeerStatus(row.status),
        last_code=row.last_code,
        last_error=row.last_error,
        last_sync=None if row.last_sync is None else int(row.last_sync),
        failures=int(row.failures),
        next_try=int(row.next_try),
        size=int(row.size),
        checkpoint=None if row.checkpoint is None else int(row.checkpoint),
    )


async def _lock_peer(conn: AsyncConnection, did: str) -> Any:
    """The peer's row, locked for this transaction (PostgreSQL; SQLite holds the database)."""
    return (
        await conn.execute(sa.select(peers).where(peers.c.did == did).with_for_update())
    ).first()


def _peer_node_reader(conn: sa.Connection, did: str) -> NodeReader:
    def read(wanted: Sequence[Node]) -> list[bytes]:
        by_level: dict[int, list[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, []).append(index)
        cond = sa.or_(
            *(
                sa.and_(peer_nodes.c.level == level, peer_nodes.c.idx.in_(idxs))
                for level, idxs in by_level.items()
            )
        )
        got = {
            (int(r.level), int(r.idx)): bytes(r.hash)
            for r in conn.execute(
                sa.select(peer_nodes.c.level, peer_nodes.c.idx, peer_nodes.c.hash).where(
                    peer_nodes.c.coop == did, cond
                )
            )
        }
        missing = [n for n in wanted if n not in got]
        if missing:
            raise StorageError(f"tree nodes {missing[:4]} of co-op {did} are not stored")
        return [got[n] for n in wanted]

    return read


def _origin_of(body: bytes) -> str | None:
    """The origin an ``add-checkpoint`` body names, if it parses (``add_checkpoint`` rechecks)."""
    try:
        req = AddCheckpointRequest.parse(body)
        return Checkpoint.parse(Note.parse(req.checkpoint).text).origin
    except (RemoteProtocolError, LocalProtocolError):
        return None


class Peers:
    """The followed co-ops: their stored logs, their in-memory states, and the witness state."""

    def __init__(self, store: Store, coop: str) -> None:
        self.store = store
        self.coop = coop
        self._logs: dict[str, PeerLog] = {}
        self._distrusted: frozenset[str] = frozenset()
        self._replaying = asyncio.Lock()

    # ------------------------------------------------------------------ loading

    async def load(self) -> None:
        """Rebuild every peer's state from the stored records (at startup)."""
        async with self.store.read() as conn:
            rows = (await conn.execute(sa.select(peers).order_by(peers.c.did))).all()
            self._distrusted = await _distrusted(conn)
        self._logs = {}
        for row in rows:
            self._logs[row.did] = await self._rebuild(_info(row), Frontier.from_bytes(row.frontier))

    async def _catch_up(self, held: PeerLog, info: PeerInfo, frontier: Frontier) -> None:
        """Fold in the pages another process stored; rebuild if they do not follow on."""
        if frontier.size >= held.frontier.size:
            try:
                fresh = await self._rebuild(
                    info, frontier, state=held.state, computed=held.frontier
                )
            except (StorageError, RemoteProtocolError):
                fresh = None  # the live state may be half-advanced: start over below
            if fresh is not None:
                held.frontier, held.verified = fresh.frontier, fresh.verified
                return
        fresh = await self._rebuild(info, frontier)
        held.state, held.frontier, held.verified = fresh.state, fresh.frontier, fresh.verified

    async def _rebuild(
        self,
        info: PeerInfo,
        frontier: Frontier,
        *,
        state: CoopState | None = None,
        computed: Frontier | None = None,
    ) -> PeerLog:
        """The peer's log from storage, from scratch or on from ``state`` and ``computed``."""
        did = info.did
        state = _peer_state(did) if state is None else state
        computed = Frontier.empty() if computed is None else computed
        state.settle()  # whatever it applied before is stored
        start = state.size
        while start < frontier.size:
            async with self.store.read() as conn:
                rows = (
                    await conn.execute(
                        sa.select(peer_records.c.idx, peer_records.c.raw)
                        .where(
                            peer_records.c.coop == did,
                            peer_records.c.idx >= start,
                            peer_records.c.idx < min(start + _PAGE, frontier.size),
                        )
                        .order_by(peer_records.c.idx)
                    )
                ).all()
                if not rows:
                    break
                records: list[Record] = []
                for idx, raw in rows:
                    if idx != start + len(records):
                        raise StorageError(
                            f"co-op {did}'s stored log has a gap at {start + len(records)}"
                        )
                    raw = bytes(raw)
                    # No signature check: each of these records was verified before the
                    # transaction that stored it committed — its signature, its author's
                    # standing at that point of the co-op's log, and the tree up to the
                    # co-op's signed root (SyncSession) — and this database is trusted as
                    # much as the co-op key beside it. Decoding still checks every schema,
                    # apply every rule, and the frontier check below catches changed bytes.
                    records.append(Record.from_bytes(raw, verify=False))
                    computed, _ = computed.append(leaf_hash(raw))
                want = state.lookups(records)
                if want:
                    found = await _lookup(conn, did, want, before=start)
                    state.provide(_entries(found), want)
            for record in records:
                state.apply(record)
            state.settle()
            start = state.size
        if computed != frontier:
            raise StorageError(
                f"co-op {did}'s stored records ({computed.size}, root {computed.root().hex()}) "
                f"and its stored frontier (size {frontier.size}) disagree"
            )
        verified = None
        async with self.store.read() as conn:
            row = (
                await conn.execute(
                    sa.select(peer_checkpoints.c.note)
                    .where(peer_checkpoints.c.coop == did)
                    .order_by(peer_checkpoints.c.size.desc())
                    .limit(1)
                )
            ).first()
        if row is not None:
            # One signature: cheap, and it keeps a hand-edited row from posing as verified.
            verified = SignedCheckpoint(note=bytes(row.note), log_verifier=log_verifier(did))
        return PeerLog(info, state, frontier, verified)

    async def reload(self, did: str) -> None:
        """Rebuild one peer from storage (after a failed commit left memory ahead of it)."""
        async with self.store.read() as conn:
            row = (await conn.execute(sa.select(peers).where(peers.c.did == did))).first()
        held = self._logs.pop(did, None)
        if row is None:
            return
        self._logs[did] = await self._rebuild(_info(row), Frontier.from_bytes(row.frontier))
        if held is not None:
            self._logs[did].lock = held.lock  # a sync holding it may be the caller

    async def refresh(self) -> None:
        """Fold in what other processes stored: new peers, new pages, statuses, removals."""
        versions = {did: p.version for did, p in self._logs.items()}
        async with self.store.read() as conn:
            rows = (await conn.execute(sa.select(peers))).all()
            self._distrusted = await _distrusted(conn)
        seen = set()
        for row in rows:
            seen.add(row.did)
            info = _info(row)
            held = self._logs.get(row.did)
            if held is None:
                fresh = await self._rebuild(info, Frontier.from_bytes(row.frontier))
                # Pinned in this process meanwhile: that object (and its lock) stays.
                self._logs.setdefault(row.did, fresh)
                continue
            if held.lock.locked() or held.version != versions.get(row.did):
                continue  # this process changed it meanwhile: its memory is the newer
            if info.size != held.frontier.size or info.checkpoint != _size(held.verified):
                async with held.lock:
                    # Read again under the lock: a sync of this process may have stored
                    # more since the rows above were read, and memory must never go back.
                    async with self.store.read() as conn:
                        now = (
                            await conn.execute(sa.select(peers).where(peers.c.did == row.did))
                        ).first()
                    if now is None:
                        continue
                    info = _info(now)
                    if info.size != held.frontier.size or info.checkpoint != _size(held.verified):
                        await self._catch_up(held, info, Frontier.from_bytes(now.frontier))
            held.info = info
        missing = [did for did in self._logs if did not in seen]
        if missing:
            # Ask again: a peer pinned while the rows above were read is no removed peer.
            async with self.store.read() as conn:
                kept = set(
                    (await conn.execute(sa.select(peers.c.did).where(peers.c.did.in_(missing))))
                    .scalars()
                    .all()
                )
            for did in missing:
                if did not in kept:
                    self._logs.pop(did, None)

    # ------------------------------------------------------------------ reading

    def get(self, did: str) -> PeerLog | None:
        return self._logs.get(did)

    def all(self) -> list[PeerLog]:
        return [self._logs[d] for d in sorted(self._logs)]

    def distrusted(self) -> frozenset[str]:
        """Co-ops this node holds an equivocation proof against: never adopted again."""
        return self._distrusted

    def active_blocks(self, now_ms: int | None) -> dict[str, list[Record]]:
        """Each held peer's active blocks, leaving out those past their review date."""
        out: dict[str, list[Record]] = {}
        for did, p in self._logs.items():
            blocks = []
            for e in p.state.active_blocks().values():
                body = e.record.body
                assert isinstance(body, Block)
                if now_ms is None or now_ms < body.review:
                    blocks.append(e.record)
            out[did] = blocks
        return out

    async def stored_size(self, did: str) -> int:
        async with self.store.read() as conn:
            size = (await conn.execute(sa.select(peers.c.size).where(peers.c.did == did))).scalar()
        if size is None:
            raise UnknownPeer(f"this node does not follow co-op {did}")
        return int(size)

    async def mirror_checkpoint(self, did: str) -> bytes:
        """The latest verified checkpoint of ``did`` whose entries are all stored here."""
        size = await self.stored_size(did)
        async with self.store.read() as conn:
            note = (
                await conn.execute(
                    sa.select(peer_checkpoints.c.note)
                    .where(peer_checkpoints.c.coop == did, peer_checkpoints.c.size <= size)
                    .order_by(peer_checkpoints.c.size.desc())
                    .limit(1)
                )
            ).scalar()
        if note is None:
            raise UnknownPeer(f"this node holds no checkpoint of co-op {did} yet")
        return bytes(note)

    async def checkpoints(self, did: str, *, min_size: int = 0) -> list[tuple[int, bytes]]:
        """``(size, note)`` of every stored checkpoint of ``did`` whose entries are all here."""
        size = await self.stored_size(did)
        async with self.store.read() as conn:
            rows = await conn.execute(
                sa.select(peer_checkpoints.c.size, peer_checkpoints.c.note)
                .where(
                    peer_checkpoints.c.coop == did,
                    peer_checkpoints.c.size <= size,
                    peer_checkpoints.c.size >= min_size,
                )
                .order_by(peer_checkpoints.c.size)
            )
            return [(int(r.size), bytes(r.note)) for r in rows]

    async def with_nodes(self, did: str, fn: Callable[[NodeReader], T]) -> T:
        """Run a merkle computation over ``did``'s stored tree (see ``Store.with_nodes``)."""
        async with self.store.read() as conn:
            result: T = await conn.run_sync(lambda sync: fn(_peer_node_reader(sync, did)))
            return result

    async def tile(self, did: str, level: int, index: int, width: int) -> bytes:
        size = await self.stored_size(did)
        if not tile_available(level, index, width, size):
            raise RemoteProtocolError(
                f"tile {level}/{index} of width {width} is not in this mirror's copy of "
                f"co-op {did}'s log (size {size}) yet",
                code="tile_not_available",
            )
        return await self.with_nodes(did, lambda read: tile_bytes(level, index, width, read))

    async def entry_bundle(self, did: str, index: int, width: int) -> bytes:
        size = await self.stored_size(did)
        start = index * 256
        if start + width > size:
            raise RemoteProtocolError(
                f"entries [{start}, {start + width}) are not all in this mirror's copy of "
                f"co-op {did}'s log (size {size}) yet",
                code="tile_not_available",
            )
        async with self.store.read() as conn:
            raws = [
                bytes(r.raw)
                for r in await conn.execute(
                    sa.select(peer_records.c.raw)
                    .where(
                        peer_records.c.coop == did,
                        peer_records.c.idx >= start,
                        peer_records.c.idx < start + width,
                    )
                    .order_by(peer_records.c.idx)
                )
            ]
        return encode_entry_bundle(raws)

    async def consistency_proof(self, did: str, old: int, new: int) -> list[bytes]:
        size = await self.stored_size(did)
        _check_range(old, new, size, did)
        return await self.with_nodes(did, lambda read: consistency_proof(old, new, read))

    async def inclusion_proof(self, did: str, index: int, size: int) -> list[bytes]:
        stored = await self.stored_size(did)
        if not 0 <= index < size:
            raise RemoteProtocolError(
                f"leaf {index} is not in a tree of size {size}", code="bad_request"
            )
        _check_range(0, size, stored, did)
        return await self.with_nodes(did, lambda read: inclusion_proof(index, size, read))

    async def equivocations(self, did: str | None = None) -> list[StoredEquivocation]:
        q = sa.select(equivocations).order_by(equivocations.c.found_at, equivocations.c.id)
        if did is not None:
            q = q.where(equivocations.c.coop == did)
        async with self.store.read() as conn:
            return [
                StoredEquivocation(
                    id=bytes(r.id),
                    coop=r.coop,
                    proof=bytes(r.proof),
                    found_at=int(r.found_at),
                    source=r.source,
                )
                for r in await conn.execute(q)
            ]

    async def refusals(self, did: str | None = None, *, limit: int = 50) -> list[Refusal]:
        q = sa.select(refusals).order_by(refusals.c.id.desc()).limit(limit)
        if did is not None:
            q = q.where(refusals.c.coop == did)
        async with self.store.read() as conn:
            return [
                Refusal(
                    coop=r.coop,
                    at=int(r.at),
                    source=r.source,
                    code=r.code,
                    reason=r.reason,
                    first_idx=None if r.first_idx is None else int(r.first_idx),
                    end_idx=None if r.end_idx is None else int(r.end_idx),
                )
                for r in await conn.execute(q)
            ]

    async def cosignatures(self, size: int) -> dict[str, bytes]:
        """Witness DID → cosignature line, for this co-op's own checkpoint of ``size``."""
        async with self.store.read() as conn:
            rows = await conn.execute(
                sa.select(cosignatures.c.witness, cosignatures.c.line).where(
                    cosignatures.c.size == size
                )
            )
            return {r.witness: bytes(r.line) for r in rows}

    async def with_cosignatures(self, note: bytes) -> bytes:
        """Our own checkpoint ``note`` with the cosignature lines gathered for it."""
        size = Checkpoint.parse(Note.parse(note).text).size
        lines = await self.cosignatures(size)
        if not lines:
            return note
        return add_cosignatures(note, [lines[w] for w in sorted(lines)])

    async def cosigned_sizes(self, min_size: int = 0) -> dict[int, int]:
        """Size → how many witnesses cosigned this co-op's checkpoint of that size."""
        async with self.store.read() as conn:
            rows = await conn.execute(
                sa.select(cosignatures.c.size, sa.func.count())
                .where(cosignatures.c.size >= min_size)
                .group_by(cosignatures.c.size)
            )
            return {int(r[0]): int(r[1]) for r in rows}

    async def last_cosigned(self, witness: str) -> int:
        """The largest size of this co-op's log that ``witness`` cosigned (0 if none)."""
        async with self.store.read() as conn:
            size = (
                await conn.execute(
                    sa.select(sa.func.max(cosignatures.c.size)).where(
                        cosignatures.c.witness == witness
                    )
                )
            ).scalar()
        return 0 if size is None else int(size)

    # ------------------------------------------------------------------ pinning

    async def pin(
        self, did: str, *, url: str, mirrors: Sequence[str], name: str, now_ms: int
    ) -> PeerInfo:
        """Follow co-op ``did`` at ``url`` (again: the URL, mirrors and name are updated).

        ``name`` is a label the operator sees (the peer's own claim, as a rule): one visible
        line of at most :data:`~.safetext.MAX_NAME` characters, else ``LocalProtocolError``.
        """
        if did == self.coop:
            raise LocalProtocolError("a co-op does not follow itself")
        if visible(name, MAX_NAME) != name:
            raise LocalProtocolError(
                f"a peer's name is one line of at most {MAX_NAME} characters with no control "
                f"characters; show it with visible() first, got {name[: MAX_NAME + 1]!r}"
            )
        log_origin(did)  # a canonical Ed25519 did:key, or InvalidIdentity
        async with self.store.transaction() as conn:
            row = await _lock_peer(conn, did)
            values = {"url": url, "mirrors": json.dumps(list(mirrors)), "name": name}
            if row is None:
                status = PeerStatus.ACTIVE
                if (
                    await conn.execute(
                        sa.select(equivocations.c.id).where(equivocations.c.coop == did).limit(1)
                    )
                ).first() is not None:
                    status = PeerStatus.EQUIVOCATED  # its key signed two histories: for good
                await conn.execute(
                    peers.insert().values(
                        did=did,
                        pinned_at=now_ms,
                        status=status.value,
                        failures=0,
                        next_try=0,
                        size=0,
                        frontier=Frontier.empty().to_bytes(),
                        **values,
                    )
                )
            else:
                await conn.execute(peers.update().where(peers.c.did == did).values(**values))
            row = (await conn.execute(sa.select(peers).where(peers.c.did == did))).one()
        info = _info(row)
        held = self._logs.get(did)
        if held is None:
            self._logs[did] = PeerLog(info, _peer_state(did), Frontier.empty(), None)
        else:
            held.info = info
            held.version += 1
        return info

    async def remove(self, did: str) -> bool:
        """Stop following ``did`` and drop its copy; proofs, refusals and witness state stay."""
        async with self.store.transaction() as conn:
            row = await _lock_peer(conn, did)
            if row is None:
                return False
            for table in (peer_records, peer_nodes, peer_checkpoints):
                await conn.execute(table.delete().where(table.c.coop == did))
            await conn.execute(peers.delete().where(peers.c.did == did))
        self._logs.pop(did, None)
        return True

    # ------------------------------------------------------------------ what a sync stores

    async def accept_checkpoint(self, did: str, cp: SignedCheckpoint, *, now_ms: int) -> None:
        """Store a checkpoint the sync verified (signature and consistency), before its entries."""
        async with self.store.transaction() as conn:
            row = await _lock_peer(conn, did)
            if row is None:
                raise UnknownPeer(f"co-op {did} was removed while syncing")
            held = (
                await conn.execute(
                    sa.select(peer_checkpoints.c.root).where(
                        peer_checkpoints.c.coop == did, peer_checkpoints.c.size == cp.size
                    )
                )
            ).first()
            if held is None:
                await conn.execute(
                    peer_checkpoints.insert().values(
                        coop=did, size=cp.size, root=cp.root_hash, note=cp.note, seen_at=now_ms
                    )
                )
            elif bytes(held.root) != cp.root_hash:
                # Another process accepted a different root for this size: only an
                # equivocating log can cause it, and its sync reports the proof.
                raise PageConflict(f"co-op {did}: a different checkpoint of size {cp.size} is held")
            if row.checkpoint is None or row.checkpoint < cp.size:
                await conn.execute(
                    peers.update().where(peers.c.did == did).values(checkpoint=cp.size)
                )
        p = self._logs.get(did)
        if p is not None and (p.verified is None or p.verified.size <= cp.size):
            p.verified = cp
            p.version += 1

    async def keep_note(self, did: str, cp: SignedCheckpoint) -> bool:
        """Replace the stored note of an already verified checkpoint (same size and root).

        The co-op may serve its checkpoint again with more cosignatures; the mirror then
        serves those too. Returns whether anything changed.
        """
        async with self.store.transaction() as conn:
            result = await conn.execute(
                peer_checkpoints.update()
                .where(
                    peer_checkpoints.c.coop == did,
                    peer_checkpoints.c.size == cp.size,
                    peer_checkpoints.c.root == cp.root_hash,
                    peer_checkpoints.c.note != cp.note,
                )
                .values(note=cp.note)
            )
        changed = bool(result.rowcount)
        p = self._logs.get(did)
        if changed and p is not None and p.verified is not None and p.verified.size == cp.size:
            p.verified = cp
            p.version += 1
        return changed

    # ------------------------------------------------------------------ reading records

    async def lookup(
        self, did: str, ids: Iterable[bytes], *, before: int
    ) -> list[tuple[int, bytes]]:
        """(index, raw) of the stored records of co-op ``did`` with these ids, below ``before``."""
        async with self.store.read() as conn:
            return await _lookup(conn, did, ids, before=before)

    async def entry(self, did: str, rid: bytes) -> Entry | None:
        """Record ``rid`` in co-op ``did``'s stored log, with its index."""
        p = self._logs.get(did)
        if p is None:
            return None
        found = await self.lookup(did, [rid], before=p.frontier.size)
        return _entries(found)[0] if found else None

    async def find(self, rid: bytes) -> tuple[str, Entry] | None:
        """Which followed co-op's stored log holds record ``rid``, and where."""
        for did in sorted(self._logs):  # co-op by co-op: (coop, id) is the unique index
            entry = await self.entry(did, rid)
            if entry is not None:
                return did, entry
        return None

    async def requester_records(self, did: str, names: Iterable[RequesterRef]) -> list[Entry]:
        """Co-op ``did``'s stored ratings, flags, appeals and replies about these names."""
        keys = sorted({str(n) for n in names})
        async with self.store.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(peer_records.c.idx, peer_records.c.raw)
                    .where(peer_records.c.coop == did, peer_records.c.requester.in_(keys))
                    .order_by(peer_records.c.idx)
                )
            ).all()
        return _entries((int(r.idx), bytes(r.raw)) for r in rows)

    async def full_state(self, did: str) -> CoopState:
        """Co-op ``did``'s whole stored log folded into a state that keeps every entry.

        For what needs the whole log at hand (a verification bundle of its records);
        memory and time grow with the log, so only on demand.
        """
        p = self._logs.get(did)
        if p is None:
            raise UnknownPeer(f"this node does not follow co-op {did}")
        async with self._replaying:  # one whole log in memory at a time
            return (await self._rebuild(p.info, p.frontier, state=CoopState(did))).state

    async def store_page(self, did: str, page: StorePage) -> None:
        """Store one verified page: its records, new tree nodes and frontier, atomically."""
        rows = []
        for i, record in enumerate(page.records):
            body = record.body
            about = getattr(body, "requester", None) if record.type in REQUESTER_TYPES else None
            rows.append(
                {
                    "coop": did,
                    "idx": page.start + i,
                    "id": record.id,
                    "type": record.type.value,
                    "author": record.author,
                    "ts": record.ts,
                    "raw": record.raw,
                    "requester": None if about is None else str(about),
                }
            )
        nodes = [{"coop": did, "level": lv, "idx": i, "hash": h} for lv, i, h in page.nodes]
        async with self.store.transaction() as conn:
            row = await _lock_peer(conn, did)
            if row is None:
                raise UnknownPeer(f"co-op {did} was removed while syncing")
            if int(row.size) != page.start:
                raise PageConflict(
                    f"co-op {did}: {row.size} entries are stored, the page starts at {page.start}"
                )
            if rows:
                await conn.execute(peer_records.insert(), rows)
            if nodes:
                await conn.execute(peer_nodes.insert(), nodes)
            await conn.execute(
                peers.update()
                .where(peers.c.did == did)
                .values(size=page.frontier.size, frontier=page.frontier.to_bytes())
            )
        p = self._logs.get(did)
        if p is not None:
            p.frontier = page.frontier
            p.version += 1

    async def set_outcome(
        self,
        did: str,
        *,
        status: PeerStatus | None,
        ok: bool,
        code: str | None,
        error: str | None,
        failures: int,
        next_try: int,
        now_ms: int,
    ) -> PeerInfo | None:
        """Record how a sync went: the status (if it changes), the error, the back-off."""
        async with self.store.transaction() as conn:
            row = await _lock_peer(conn, did)
            if row is None:
                return None
            values: dict[str, Any] = {
                "last_code": code,
                "last_error": error,
                "failures": failures,
                "next_try": next_try,
            }
            if ok:
                values["last_sync"] = now_ms
            old = PeerStatus(row.status)
            if status is not None and status != old:
                if status not in _TRANSITIONS[old]:
                    raise LocalProtocolError(f"peer status cannot go from {old} to {status}")
                values["status"] = status.value
            await conn.execute(peers.update().where(peers.c.did == did).values(**values))
            row = (await conn.execute(sa.select(peers).where(peers.c.did == did))).one()
        info = _info(row)
        p = self._logs.get(did)
        if p is not None:
            p.info = info
            p.version += 1
        return info

    async def add_refusal(
        self,
        did: str,
        *,
        source: str,
        code: str,
        reason: str,
        now_ms: int,
        first_idx: int | None = None,
        end_idx: int | None = None,
    ) -> None:
        """Keep the reason a source's data was refused (nothing of that data is stored)."""
        async with self.store.transaction() as conn:
            await conn.execute(
                refusals.insert().values(
                    coop=did,
                    at=now_ms,
                    source=source,
                    code=code,
                    reason=reason,
                    first_idx=first_idx,
                    end_idx=end_idx,
                )
            )

    async def add_equivocation(
        self, did: str, proof: EquivocationProof, *, source: str, now_ms: int
    ) -> bool:
        """Store a proof that ``did`` equivocated (after checking it) and distrust the co-op."""
        proof.verify(log_verifier(did))
        async with self.store.transaction() as conn:
            new = await _store_equivocation(conn, did, proof, source, now_ms)
        await self._after_equivocation(did)
        return new

    async def _after_equivocation(self, did: str) -> None:
        self._distrusted = self._distrusted | {did}
        async with self.store.read() as conn:
            row = (await conn.execute(sa.select(peers).where(peers.c.did == did))).first()
        p = self._logs.get(did)
        if row is not None and p is not None:
            p.info = _info(row)
            p.version += 1

    # ------------------------------------------------------------------ witnessing

    def _by_origin(self, origin: str | None) -> str | None:
        return next((p.did for p in self._logs.values() if p.origin == origin), None)

    async def witness(
        self, body: bytes, *, signer: SigningIdentity, now_s: int, now_ms: int
    ) -> WitnessResponse:
        """C2SP tlog-witness ``add-checkpoint``: read, check and store in one transaction.

        Only logs of followed co-ops are witnessed (404 for any other). Besides the spec's
        check against the last checkpoint cosigned, a checkpoint that this node's synced
        copy of the log contradicts is refused (409) with an equivocation proof, stored.
        """
        origin = _origin_of(body)
        did = self._by_origin(origin)
        if did is None and origin is not None:
            await self.refresh()  # perhaps pinned by another process sharing the database
            did = self._by_origin(origin)
        found: EquivocationProof | None = None
        async with self.store.transaction() as conn:
            logs = {}
            latest: dict[str, Witnessed] = {}
            row = None if did is None else await _lock_peer(conn, did)
            if did is not None and origin is not None and row is not None:
                logs[origin] = log_verifier(did)
                w = (
                    await conn.execute(
                        sa.select(witness_state).where(witness_state.c.origin == origin)
                    )
                ).first()
                if w is not None:
                    latest[origin] = Witnessed(
                        origin=origin, size=int(w.size), root=bytes(w.root), note=bytes(w.note)
                    )
            if row is not None and row.status == PeerStatus.EQUIVOCATED.value:
                return WitnessResponse(
                    status=409,
                    body=b"this witness holds proof that the log equivocated "
                    b"(see /api/v1/equivocations); it cosigns none of its checkpoints\n",
                    content_type="text/plain; charset=utf-8",
                    message="the log equivocated",
                )
            r = add_checkpoint(
                body,
                logs=logs,
                latest=latest,
                witness_key=signer.signing_key,
                witness_name=log_origin(self.coop),
                now_s=now_s,
            )
            found = r.equivocation
            if r.status == 200 and r.new_state is not None:
                assert did is not None and row is not None
                new = SignedCheckpoint(note=r.new_state.note, log_verifier=log_verifier(did))
                found = await _against_copy(conn, did, int(row.size), new)
                if found is None:
                    await _store_witnessed(conn, did, r.new_state, now_ms, update=bool(latest))
                else:
                    r = WitnessResponse(
                        status=409,
                        body=b"this checkpoint contradicts the log as this witness holds it\n",
                        content_type="text/plain; charset=utf-8",
                        message="the log equivocated",
                        equivocation=found,
                    )
            if found is not None:
                assert did is not None
                found.verify(log_verifier(did))  # never keep a "proof" that proves nothing
                await _store_equivocation(conn, did, found, "witness", now_ms)
        if found is not None:
            assert did is not None
            await self._after_equivocation(did)
        return r

    async def add_cosignature(
        self, *, size: int, witness: str, line: bytes, timestamp: int, now_ms: int
    ) -> None:
        """Keep a witness's verified cosignature line on this co-op's checkpoint of ``size``."""
        async with self.store.transaction() as conn:
            await _lock_peer(conn, witness)
            held = (
                await conn.execute(
                    sa.select(cosignatures.c.timestamp).where(
                        cosignatures.c.size == size, cosignatures.c.witness == witness
                    )
                )
            ).first()
            if held is None:
                await conn.execute(
                    cosignatures.insert().values(
                        size=size,
                        witness=witness,
                        line=line,
                        timestamp=timestamp,
                        received_at=now_ms,
                    )
                )


# ---------------------------------------------------------------------------- helpers


def _peer_state(did: str) -> CoopState:
    """A followed co-op's state: governance in memory, its records in the database."""
    return CoopState(did, keep_all=False)


#: Ids per query of a lookup (well under SQLite's limit of bound parameters).
_IDS_PER_QUERY: Final = 900


async def _lookup(
    conn: AsyncConnection, did: str, ids: Iterable[bytes], *, before: int
) -> list[tuple[int, bytes]]:
    wanted = sorted(ids)
    out: list[tuple[int, bytes]] = []
    sqlite = conn.dialect.name == "sqlite"
    for i in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[i : i + _IDS_PER_QUERY]
        # By (coop, id), the unique index. ``idx < before`` is checked here, not in SQL:
        # there SQLite would take the primary key's (coop, idx) range instead, a scan of
        # the whole stored log for every page (seen: the 1M sync slowed to 1,000/s).
        # Plain SQL: compiling an IN of a page's ids costs SQLAlchemy as much as the query.
        if sqlite:
            marks = ",".join("?" * len(chunk))
            rows = await conn.exec_driver_sql(
                f"SELECT idx, raw FROM peer_records WHERE coop = ? AND id IN ({marks})",
                (did, *chunk),
            )
        else:
            rows = await conn.execute(
                sa.text("SELECT idx, raw FROM peer_records WHERE coop = :c AND id = ANY(:ids)"),
                {"c": did, "ids": chunk},
            )
        out.extend((int(r.idx), bytes(r.raw)) for r in rows if r.idx < before)
    return out


def _entries(found: Iterable[tuple[int, bytes]]) -> list[Entry]:
    # Stored records were verified when stored (see ``_rebuild``).
    return [Entry(idx, Record.from_bytes(raw, verify=False)) for idx, raw in found]


def _size(cp: SignedCheckpoint | None) -> int | None:
    return None if cp is None else cp.size


def _check_range(old: int, new: int, size: int, did: str) -> None:
    if not 0 <= old <= new:
        raise RemoteProtocolError(
            f"a consistency proof goes from a smaller size to a larger, got {old} → {new}",
            code="bad_request",
        )
    if new > size:
        raise RemoteProtocolError(
            f"this node holds {size} entries of co-op {did}'s log, not {new}",
            code="not_found",
        )


async def _distrusted(conn: AsyncConnection) -> frozenset[str]:
    rows = await conn.execute(sa.select(equivocations.c.coop).distinct())
    return frozenset(r.coop for r in rows)


async def _store_equivocation(
    conn: AsyncConnection, did: str, proof: EquivocationProof, source: str, now_ms: int
) -> bool:
    data = proof.to_bytes()
    pid = hashlib.sha256(data).digest()
    held = (
        await conn.execute(sa.select(equivocations.c.id).where(equivocations.c.id == pid))
    ).first()
    if held is None:
        await conn.execute(
            equivocations.insert().values(
                id=pid, coop=did, proof=data, found_at=now_ms, source=source
            )
        )
        first, second = proof.first_checkpoint, proof.second_checkpoint
        log.warning(
            "EQUIVOCATION: co-op %s signed size %d root %s and size %d root %s, which no "
            "single history has (found by %s); proof %s stored, its blocks are no longer "
            "adopted",
            did,
            first.size,
            first.root_hash.hex(),
            second.size,
            second.root_hash.hex(),
            source,
            pid.hex(),
        )
    await conn.execute(
        peers.update()
        .where(peers.c.did == did)
        .values(
            status=PeerStatus.EQUIVOCATED.value,
            last_code="equivocation",
            last_error=f"the co-op signed two histories; proof {pid.hex()}",
        )
    )
    return held is None


async def _store_witnessed(
    conn: AsyncConnection, did: str, state: Witnessed, now_ms: int, *, update: bool
) -> None:
    values = {
        "coop": did,
        "size": state.size,
        "root": state.root,
        "note": state.note,
        "updated_at": now_ms,
    }
    if update:
        await conn.execute(
            witness_state.update().where(witness_state.c.origin == state.origin).values(**values)
        )
    else:
        await conn.execute(witness_state.insert().values(origin=state.origin, **values))


async def _against_copy(
    conn: AsyncConnection, did: str, stored: int, new: SignedCheckpoint
) -> EquivocationProof | None:
    """An equivocation proof if ``new`` contradicts the synced copy of ``did``'s log."""
    row = (
        await conn.execute(
            sa.select(peer_checkpoints.c.note)
            .where(
                peer_checkpoints.c.coop == did,
                peer_checkpoints.c.size <= stored,
                peer_checkpoints.c.size >= new.size,
            )
            .order_by(peer_checkpoints.c.size.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    held = SignedCheckpoint(note=bytes(row.note), log_verifier=log_verifier(did))
    if held.size == new.size:
        return find_equivocation(held, new, None)
    old, size = new.size, held.size
    path: list[bytes] = []
    if old > 0:
        path = await conn.run_sync(
            lambda sync: full_consistency_path(old, size, _peer_node_reader(sync, did))
        )
    try:
        return find_equivocation(held, new, path if old > 0 else None)
    except InvalidProof:
        # Our own stored tree does not lead to a checkpoint we verified: storage trouble,
        # not evidence against the co-op.
        log.exception("co-op %s: the stored tree does not match checkpoint %d", did, size)
        return None
