"""The node's service layer: a record is committed to the database before it is acknowledged.

:class:`Node` holds the co-op's key, its :class:`CoopState` (the log folded in memory) and the
:class:`Store`. Every append runs in one database transaction that holds the log's lock;
inside it the node first folds in entries other processes committed, then checks the new
records against that state, then inserts them with their tree nodes. Only after the commit
does the in-memory state change, so a failed transaction leaves it as it was. The HTTP app
(node/app.py) and the command line call nothing below this layer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Final

from coopfed.protocol.applications import (
    admit_proposal_for,
    check_sponsorship,
    sponsored_application,
)
from coopfed.protocol.blocklist import Blocklist, effective_blocklist
from coopfed.protocol.bodies import (
    Block,
    Body,
    Charter,
    MemberAdmit,
    ProposalKind,
    RecordType,
    RequesterRef,
    Signer,
)
from coopfed.protocol.checkpoint import Checkpoint, log_origin, sign_checkpoint
from coopfed.protocol.errors import (
    LocalProtocolError,
    RecordRejected,
    RemoteProtocolError,
    TallyError,
)
from coopfed.protocol.identity import Identity, SigningIdentity
from coopfed.protocol.merkle import (
    TILE_WIDTH,
    Frontier,
    consistency_proof,
    encode_entry_bundle,
    inclusion_proof,
    leaf_hash,
    tile_available,
    tile_bytes,
)
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import (
    CoopState,
    Entry,
    ProposalInfo,
    ProposalStatus,
    batchable_prefix,
    independent,
)
from coopfed.protocol.sync import verify_each

from .config import Config
from .keys import COOP_KEY_FILE, new_seed, read_coop_key, write_admin_token, write_coop_key
from .peers import Peers
from .profile import CoopRecords, alias_group, federation_profile, requester_profile
from .storage import PendingApplication, StorageError, Store, StoredCheckpoint, WriteTx

log = logging.getLogger(__name__)

#: Most records one :meth:`Node.submit_many` call appends (one transaction).
MAX_BATCH: Final = 1000
#: Most concurrent submissions the node verifies, or commits, together (group commit).
GROUP_MAX: Final = 512
#: Most entries one :meth:`Node.entries` call returns.
MAX_ENTRIES: Final = 1000
#: Longest an invite may stay valid.
MAX_INVITE_TTL_S: Final = 90 * 86_400
#: Upper bound on records one governance run signs (each is its own transaction).
MAX_GOVERNANCE_STEPS: Final = 10_000
PROPOSAL_STATUSES: Final = tuple(s.value for s in ProposalStatus)


class NotFound(RemoteProtocolError):
    """The request names something this node's log does not (yet) hold."""

    code = "not_found"


class NodeSetupError(RuntimeError):
    """The data directory or database is not what ``create`` or ``open`` needs."""


@dataclass(frozen=True)
class SubmitResult:
    id: bytes
    index: int
    created: bool


@dataclass(frozen=True)
class JoinResult:
    """What a join came to: an admit (by invite), a held application, or an admit proposal.

    ``index`` is None while the application is held outside the log, until ``expires_ms``.
    """

    id: bytes
    index: int | None
    created: bool
    expires_ms: int | None = None


class ApplicationsFull(RecordRejected):
    """The node holds as many applications as it takes; one leaves within ``retry_after_s``."""

    code = "applications_full"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def now_ms() -> int:
    """The wall clock in Unix milliseconds (the node's only clock read)."""
    return time.time_ns() // 1_000_000


Build = Callable[[WriteTx], Awaitable[list[Record]]]


class Node:
    """A running co-op node: its key, its state in memory, its database."""

    def __init__(
        self, config: Config, store: Store, coop: SigningIdentity, state: CoopState, *, name: str
    ) -> None:
        self.config = config
        self.store = store
        self.coop = coop
        self.did = coop.did
        self.origin = log_origin(coop.did)
        self._name = name
        self.state = state
        #: The co-ops this node follows: their logs as stored here (node/peers.py).
        self.peers = Peers(store, coop.did)
        # Serialises this process's writers and every change to ``state``. Writers in
        # other processes are serialised by the database lock taken in Store.write().
        self._lock = asyncio.Lock()
        # Group commit: posted records wait here to be verified (a page at a time, on a
        # thread pool: libsodium releases the GIL), then to be committed together.
        self._unverified: list[_Submission] = []
        self._verified: list[_Submission] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._verify_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._last_checkpoint: StoredCheckpoint | None = None
        # When the first append not yet covered by a checkpoint happened (node clock, ms).
        self._unsigned_since: int | None = None

    @property
    def name(self) -> str:
        """The co-op's name, as the charter in force gives it."""
        charter = self.state.charter
        return self._name if charter is None else charter[1].name

    # ------------------------------------------------------------------ life cycle

    @classmethod
    async def create(
        cls, config: Config, *, name: str, charter: Charter, founders: Sequence[str], now_ms: int
    ) -> Node:
        """Found a co-op: its key, its database, its charter and founders, a first checkpoint.

        ``name`` is the co-op's name; it replaces ``charter.name`` if they differ.
        """
        if len(set(founders)) != len(founders):
            raise LocalProtocolError("founders must be distinct")
        data_dir = config.data_dir
        if (data_dir / COOP_KEY_FILE).exists():
            raise NodeSetupError(f"{data_dir} holds a co-op already ({COOP_KEY_FILE} exists)")
        if charter.supersedes is not None:
            raise LocalProtocolError("a new co-op's charter supersedes nothing")
        charter = dataclasses.replace(charter, name=name)
        data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(config)
        try:
            if await store.size() != 0 or (await store.meta()).get("coop"):
                raise NodeSetupError("the database holds a co-op's log already")
            # The key is on disk (fsynced) before any record it signs is committed: a
            # crash in between leaves an unused key, never a log nobody can extend.
            coop = write_coop_key(data_dir, new_seed())
            with contextlib.suppress(ValueError):  # keep an operator's existing token
                write_admin_token(data_dir)
            config.save()
            node = cls(
                config, store, coop, CoopState(coop.did, max_skew_ms=config.max_skew_ms), name=name
            )
            founding = [node._sign(charter, now_ms)]
            founding += [
                node._sign(MemberAdmit(member=did, via="founder"), now_ms) for did in founders
            ]

            async def build(tx: WriteTx) -> list[Record]:
                await tx.set_meta({"coop": coop.did, "name": name, "created_ms": str(now_ms)})
                return founding

            await node._commit(build, now_ms=now_ms)
            await node.sign_checkpoint(now_ms=now_ms)
        except BaseException:
            await store.close()
            raise
        return node

    @classmethod
    async def open(cls, config: Config) -> Node:
        """Open an existing co-op: migrate the database and fold its log into memory."""
        coop = read_coop_key(config.data_dir)
        store = await Store.open(config)
        try:
            meta = await store.meta()
            if meta.get("coop") != coop.did:
                raise NodeSetupError(
                    f"the database belongs to co-op {meta.get('coop')!r}, but "
                    f"{config.data_dir / COOP_KEY_FILE} is the key of {coop.did}"
                )
            head = await store.head()
            state = CoopState(coop.did, max_skew_ms=config.max_skew_ms)
            frontier = Frontier.empty()
            async for page in store.pages(0, head.size):
                for idx, raw in page:
                    if idx != state.size:
                        raise StorageError(f"the log has a gap: entry {state.size} is missing")
                    # No signature check: every record in this table was fully verified
                    # before the transaction that stored it committed, and the database
                    # is trusted as much as the key file beside it. Decoding still checks
                    # every schema, and the tree check below catches changed bytes.
                    state.apply(Record.from_bytes(raw, verify=False))
                    frontier, _ = frontier.append(leaf_hash(raw))
            if frontier != head:
                raise StorageError(
                    f"the log ({frontier.size} records, root {frontier.root().hex()}) and "
                    f"the stored tree (size {head.size}, root {head.root().hex()}) disagree"
                )
            node = cls(config, store, coop, state, name=meta.get("name", ""))
            await node.peers.load()
            node._last_checkpoint = await store.latest_checkpoint()
            if node._checkpointed_size() < state.size:
                node._unsigned_since = 0  # overdue: the next tick signs one
        except BaseException:
            await store.close()
            raise
        return node

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._verify_pool is not None:
            self._verify_pool.shutdown(wait=True, cancel_futures=True)
        await self.store.close()

    async def __aenter__(self) -> Node:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ appending

    def _sign(self, body: Body, ts: int) -> Record:
        return sign_record(self.coop, coop=self.did, ts=ts, body=body)

    async def _catch_up(self, tx: WriteTx) -> None:
        """Fold in entries other processes committed (the log lock is held)."""
        if tx.size == self.state.size:
            return
        if tx.size < self.state.size:
            raise StorageError(
                f"the database log ({tx.size}) is shorter than this node's ({self.state.size})"
            )
        self._fold(await tx.rows(self.state.size))

    def _fold(self, rows: Sequence[tuple[int, bytes]]) -> None:
        for idx, raw in rows:
            if idx != self.state.size:
                raise StorageError(f"the log has a gap: entry {self.state.size} is missing")
            # Verified by the process that committed it; see Node.open.
            self.state.apply(Record.from_bytes(raw, verify=False))

    async def refresh(self) -> None:
        """Fold in what other processes appended, unless a local writer is busy (it will)."""
        if self._lock.locked() or await self.store.size() == self.state.size:
            return
        async with self._lock:
            async for page in self.store.pages(self.state.size):
                self._fold(page)

    async def _commit(
        self, build: Build, *, now_ms: int, clockless: Collection[bytes] = ()
    ) -> list[Entry]:
        """Append what ``build`` returns (given the up-to-date state) in one transaction.

        ``build`` runs with the log locked and ``self.state`` caught up; it may read and
        write other tables in the same transaction. The records are checked in order
        before anything is inserted; ``self.state`` changes only after the commit.
        Records whose ids are in ``clockless`` are checked as a replay checks them, with
        no clock: applications held since their applicant signed them, whose time is
        theirs, not now (their time was checked when they came).
        """

        def clock(record: Record) -> int | None:
            return None if record.id in clockless else now_ms

        async with self._lock:
            scratch: CoopState | None = None
            async with self.store.write() as tx:
                await self._catch_up(tx)
                new = await build(tx)
                if not new:
                    return []
                if len(new) == 1:
                    self.state.check(new[0], now_ms=clock(new[0]))
                elif independent(new):
                    # O(batch): each is checked against the committed state, which is
                    # what checking them in order would give (see ``independent``).
                    for i, record in enumerate(new):
                        try:
                            self.state.check(record, now_ms=clock(record))
                        except RemoteProtocolError as exc:
                            exc.add_note(f"record {i} of the {len(new)} in this batch")
                            raise
                else:
                    scratch = self.state.fork()
                    for i, record in enumerate(new):
                        try:
                            scratch.apply(record, now_ms=clock(record))
                        except RemoteProtocolError as exc:
                            exc.add_note(f"record {i} of the {len(new)} in this batch")
                            raise
                indexes = await tx.append(new)
                cp = await self._sign_in(tx, now_ms)
            # Committed. The same check with the same clock passes again, so apply cannot fail.
            if scratch is None:
                entries = [self.state.apply(record, now_ms=clock(record)) for record in new]
            else:
                self.state = scratch
                entries = [e for e in (scratch.entry(r.id) for r in new) if e is not None]
            assert [e.index for e in entries] == indexes
            self._signed_in(cp, now_ms)
        await self._maybe_checkpoint(now_ms=now_ms, count_only=True)
        return entries

    async def _commit_one(self, record: Record, *, now_ms: int) -> SubmitResult:
        done = self.state.entry(record.id)
        if done is not None:
            return SubmitResult(record.id, done.index, False)
        replay: list[Entry] = []

        async def build(tx: WriteTx) -> list[Record]:
            earlier = self.state.entry(record.id)
            if earlier is not None:  # another process appended it meanwhile
                replay.append(earlier)
                return []
            return [record]

        entries = await self._commit(build, now_ms=now_ms)
        if replay:
            return SubmitResult(record.id, replay[0].index, False)
        return SubmitResult(record.id, entries[0].index, True)

    @staticmethod
    def _check_submittable(record: Record) -> None:
        signer = type(record.body).SIGNER
        if signer is Signer.COOP:
            raise RecordRejected(
                f"a {record.type.value} record is signed and appended by the co-op's node "
                "itself, not posted",
                code="coop_only",
            )
        if record.type is RecordType.MEMBER_APPLY:
            raise RecordRejected(
                "an application is posted to the join endpoint (with an invite token, or "
                "to wait for a member's sponsorship), not as a plain record",
                code="wrong_type",
            )

    async def submit(self, raw: bytes, *, now_ms: int) -> SubmitResult:
        """Verify and append a record a member (or a requester) signed; replays are harmless.

        Raises ``DecodeError``, ``InvalidRecord``, ``InvalidSignature`` for bad bytes and
        ``RecordRejected`` (with its code) when the co-op's state does not admit it.

        Group commit: records posted at the same time have their signatures verified a
        page at a time on a thread pool, then are checked and appended in one transaction;
        each caller gets its own answer, after the commit, exactly as if alone.
        """
        record = Record.from_bytes(raw, verify=False)  # the signature: in _verify_loop
        self._check_submittable(record)
        done = self.state.entry(record.id)
        if done is not None:
            # The same bytes are in the log, so their signature verified when they went in.
            return SubmitResult(record.id, done.index, False)
        held = sponsored_application(self.state, record)
        if held is not None:
            record.verify_signature()
            return await self._sponsor(record, held, now_ms=now_ms)
        sub = _Submission(record, now_ms, asyncio.get_running_loop().create_future())
        self._unverified.append(sub)
        self._wake("verify", self._verify_loop)
        return await sub.future

    def _wake(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            self._tasks[name] = asyncio.create_task(loop(), name=f"coopfed-{name}")

    async def _verify_loop(self) -> None:
        """Verify waiting records' signatures a page at a time, then queue them to commit."""
        while self._unverified:
            page = self._unverified[:GROUP_MAX]
            del self._unverified[:GROUP_MAX]
            try:
                problems = await self._verify_page([s.record for s in page])
            except BaseException as exc:
                _fail_all(page, exc)
                raise
            for sub, problem in zip(page, problems, strict=True):
                if problem is not None:
                    _settle(sub, problem)
                elif not sub.future.done():
                    self._verified.append(sub)
            if self._verified:
                self._wake("commit", self._commit_loop)

    def _pool(self) -> tuple[concurrent.futures.ThreadPoolExecutor, int]:
        """Threads that check signatures (libsodium releases the GIL): one per core."""
        workers = max(1, min(4, os.cpu_count() or 1))
        if self._verify_pool is None:
            self._verify_pool = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="coopfed-verify"
            )
        return self._verify_pool, workers

    async def _verify_page(self, records: list[Record]) -> list[RemoteProtocolError | None]:
        if len(records) < 4:
            return _verify_records(records)
        pool, n = self._pool()
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(
            *(loop.run_in_executor(pool, _verify_records, c) for c in _chunks(records, n))
        )
        return [p for chunk in results for p in chunk]

    def verify_page(self, records: Sequence[Record]) -> list[RemoteProtocolError | None]:
        """Check a page of signatures on every core, this thread too; returns when done.

        For a :class:`~coopfed.protocol.sync.SyncSession` (its ``verify_page``): the event
        loop waits for the page, but the page takes a fraction of the time it would alone.
        """
        if len(records) < 16:
            return _verify_records(records)
        pool, n = self._pool()
        mine, *theirs = _chunks(records, n + 1)
        futures = [pool.submit(_verify_records, c) for c in theirs]
        out = _verify_records(mine)
        for f in futures:
            out.extend(f.result())
        return out

    async def _commit_loop(self) -> None:
        """Append verified records in groups: one transaction, one answer each."""
        while self._verified:
            n = batchable_prefix([s.record for s in self._verified[:GROUP_MAX]])
            group = self._verified[:n]
            del self._verified[:n]
            try:
                await self._commit_group(group)
            except BaseException as exc:
                _fail_all(group, exc)
                if not isinstance(exc, Exception):
                    raise
                log.exception("group commit of %d records failed", len(group))

    async def _commit_group(self, group: list[_Submission]) -> None:
        created: list[_Submission] = []
        replays: list[tuple[_Submission, bytes]] = []
        now = max(s.now_ms for s in group)
        async with self._lock:
            async with self.store.write() as tx:
                await self._catch_up(tx)
                fresh: set[bytes] = set()
                for sub in group:
                    record = sub.record
                    if sub.future.done():
                        continue
                    if self.state.entry(record.id) is not None or record.id in fresh:
                        replays.append((sub, record.id))
                        continue
                    try:
                        self.state.check(record, now_ms=sub.now_ms)
                    except RemoteProtocolError as exc:
                        _settle(sub, exc)
                        continue
                    fresh.add(record.id)
                    created.append(sub)
                indexes = await tx.append([s.record for s in created])
                cp = await self._sign_in(tx, now) if created else None
            # Committed: each passes the same check again (the group is independent).
            for sub, index in zip(created, indexes, strict=True):
                entry = self.state.apply(sub.record, now_ms=sub.now_ms)
                assert entry.index == index
                _settle(sub, SubmitResult(sub.record.id, index, True))
            for sub, rid in replays:
                earlier = self.state.entry(rid)
                assert earlier is not None
                _settle(sub, SubmitResult(rid, earlier.index, False))
            if created:
                self._signed_in(cp, now)
        if created:
            await self._maybe_checkpoint(now_ms=now, count_only=True)

    async def submit_many(self, raws: Sequence[bytes], *, now_ms: int) -> list[SubmitResult]:
        """Append a page of records in one transaction: all of them, or none.

        Records already in the log (and repeats within the page) come back with
        ``created`` false. The first bad record raises, with a note saying which it was.
        """
        if len(raws) > MAX_BATCH:
            raise LocalProtocolError(f"at most {MAX_BATCH} records per batch, got {len(raws)}")
        parsed = []
        for i, raw in enumerate(raws):
            try:
                record = Record.from_bytes(raw)
                self._check_submittable(record)
            except RemoteProtocolError as exc:
                exc.add_note(f"record {i} of the {len(raws)} in this batch")
                raise
            parsed.append(record)

        async def build(tx: WriteTx) -> list[Record]:
            fresh: dict[bytes, Record] = {}
            for record in parsed:
                if self.state.entry(record.id) is None:
                    fresh.setdefault(record.id, record)
            return list(fresh.values())

        appended = {e.record.id for e in await self._commit(build, now_ms=now_ms)}
        out = []
        for record in parsed:
            entry = self.state.entry(record.id)
            assert entry is not None
            created = record.id in appended
            appended.discard(record.id)  # a repeat within the page is a replay
            out.append(SubmitResult(record.id, entry.index, created))
        return out

    async def append_own(self, body: Body, *, now_ms: int) -> SubmitResult:
        """Sign ``body`` with the co-op's key at ``now_ms`` and append it."""
        return await self._commit_one(self._sign(body, now_ms), now_ms=now_ms)

    # ------------------------------------------------------------------ governance

    async def run_governance(self, *, now_ms: int) -> list[Record]:
        """Sign and append everything the co-op's rules make due at ``now_ms``; idempotent.

        In rounds: each round signs everything ``due`` lists, in order, and appends it in
        one transaction, computed from the state caught up inside it, so two processes
        running this at once never both decide one proposal; consequences of what a round
        appended come in the next round.
        """
        done: list[Record] = []
        while len(done) < MAX_GOVERNANCE_STEPS:
            entries = await self._commit_due(now_ms, MAX_GOVERNANCE_STEPS - len(done))
            if not entries:
                break
            done.extend(e.record for e in entries)
        return done

    async def _commit_due(self, now_ms: int, limit: int) -> list[Entry]:
        """One governance round: sign and append what is due, in one transaction.

        ``due`` promises its records are admissible in the order given, so they are applied
        to ``self.state`` as they are signed (O(round), not a copy of the state); should the
        transaction then fail, the state is rebuilt from the database, which never saw them.
        """
        async with self._lock:
            applied: list[Entry] = []
            try:
                async with self.store.write() as tx:
                    await self._catch_up(tx)
                    for body in self.state.due(now_ms)[:limit]:
                        record = self._sign(body, now_ms)
                        try:
                            applied.append(self.state.apply(record, now_ms=now_ms))
                        except RemoteProtocolError:
                            if not applied:
                                raise
                            log.warning(
                                "governance: %s not admissible after %d others; next round",
                                record.type.value,
                                len(applied),
                            )
                            break
                    if not applied:
                        return []
                    indexes = await tx.append([e.record for e in applied])
                    cp = await self._sign_in(tx, now_ms)
            except BaseException:
                if applied:
                    self.state = await self._load_state()
                raise
            assert [e.index for e in applied] == indexes
            self._signed_in(cp, now_ms)
        await self._maybe_checkpoint(now_ms=now_ms, count_only=True)
        return applied

    async def _load_state(self) -> CoopState:
        """The co-op's state folded afresh from the database (after a failed transaction)."""
        state = CoopState(self.did, max_skew_ms=self.config.max_skew_ms)
        async for page in self.store.pages(0):
            for idx, raw in page:
                if idx != state.size:
                    raise StorageError(f"the log has a gap: entry {state.size} is missing")
                state.apply(Record.from_bytes(raw, verify=False))
        return state

    async def tick(self, *, now_ms: int) -> list[Record]:
        """What the background loop does each round: governance, then checkpoint policy."""
        await self.refresh()
        done = await self.run_governance(now_ms=now_ms)
        await self._maybe_checkpoint(now_ms=now_ms)
        return done

    async def run_forever(self, clock: Callable[[], int] = now_ms) -> None:
        """Tick every ``governance_interval_s`` until cancelled; errors are logged, not fatal."""
        period = min(self.config.governance_interval_s, self.config.checkpoint_interval_s)
        while True:
            try:
                await self.tick(now_ms=clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("governance/checkpoint round failed; retrying")
            await asyncio.sleep(period)

    # ------------------------------------------------------------------ checkpoints

    def _checkpointed_size(self) -> int:
        return -1 if self._last_checkpoint is None else self._last_checkpoint.size

    async def _sign_in(self, tx: WriteTx, now_ms: int) -> StoredCheckpoint | None:
        """Sign the tree ``tx`` leaves in that same transaction, if the count rule says so.

        Saves the separate transaction (and its sync to disk) a checkpoint would cost after
        every ``checkpoint_every`` appends; the time rule stays with the background tick.
        """
        if tx.size - max(self._checkpointed_size(), 0) < self.config.checkpoint_every:
            return None
        root = tx.frontier.root()
        note = sign_checkpoint(
            Checkpoint(origin=self.origin, size=tx.size, root_hash=root), self.coop.signing_key
        )
        cp = StoredCheckpoint(size=tx.size, root=root, note=note, signed_at=now_ms)
        await tx.add_checkpoint(cp)
        return cp

    def _signed_in(self, cp: StoredCheckpoint | None, now_ms: int) -> None:
        """After a commit: note the checkpoint signed in it, or that one is owed."""
        if cp is not None and cp.size >= self._checkpointed_size():
            self._last_checkpoint = cp
        if cp is not None and cp.size >= self.state.size:
            self._unsigned_since = None
        elif self._unsigned_since is None:
            self._unsigned_since = now_ms

    async def _maybe_checkpoint(self, *, now_ms: int, count_only: bool = False) -> None:
        """Sign a checkpoint if ``checkpoint_every`` appends or the interval have passed.

        Right after an append (``count_only``) only the count rule is checked, from memory;
        the time rule is the background tick's.
        """
        size = self.state.size if count_only else await self.store.size()
        behind = size - self._checkpointed_size()
        if behind <= 0:
            return
        if self._unsigned_since is None:
            self._unsigned_since = now_ms
        overdue = now_ms - self._unsigned_since >= self.config.checkpoint_interval_s * 1000
        if behind >= self.config.checkpoint_every or (overdue and not count_only):
            await self.sign_checkpoint(now_ms=now_ms)

    async def sign_checkpoint(self, *, now_ms: int) -> bytes:
        """Sign the committed tree now (unless its size is signed already); return the note.

        Signed under the log lock from the stored frontier, and stored with the size as
        primary key: one size never gets two checkpoints (and Ed25519 is deterministic, so
        the text of a size always gets the same note anyway).
        """
        async with self._lock, self.store.write() as tx:
            cp = await tx.checkpoint_at(tx.size)
            if cp is None:
                root = tx.frontier.root()
                note = sign_checkpoint(
                    Checkpoint(origin=self.origin, size=tx.size, root_hash=root),
                    self.coop.signing_key,
                )
                cp = StoredCheckpoint(size=tx.size, root=root, note=note, signed_at=now_ms)
                await tx.add_checkpoint(cp)
        if cp.size >= self._checkpointed_size():
            self._last_checkpoint = cp
        if cp.size >= self.state.size:
            self._unsigned_since = None
        return cp.note

    async def checkpoint(self, *, now_ms: int) -> bytes:
        """The latest signed checkpoint note, signing one first if the policy says it is time."""
        await self._maybe_checkpoint(now_ms=now_ms)
        latest = await self.store.latest_checkpoint()
        if latest is None:
            return await self.sign_checkpoint(now_ms=now_ms)
        if latest.size > self._checkpointed_size():
            self._last_checkpoint = latest  # another process signed a newer one
        return latest.note

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        return await self.store.latest_checkpoint()

    # ------------------------------------------------------------------ the log

    async def record(self, rid: bytes) -> tuple[int, bytes] | None:
        return await self.store.record(rid)

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Raw records ``[start, end)``; at most :data:`MAX_ENTRIES`, fewer past the end."""
        if start < 0 or end < start:
            raise RemoteProtocolError(f"bad range [{start}, {end})", code="bad_request")
        return await self.store.entries(start, min(end, start + MAX_ENTRIES))

    async def size(self) -> int:
        return await self.store.size()

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        current = await self.store.size()
        if not 0 <= index < size:
            raise RemoteProtocolError(
                f"leaf {index} is not in a tree of size {size}", code="bad_request"
            )
        if size > current:
            raise NotFound(f"the log has {current} entries, not {size}")
        return await self.store.with_nodes(lambda read: inclusion_proof(index, size, read))

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        current = await self.store.size()
        if not 0 <= old <= new:
            raise RemoteProtocolError(
                f"a consistency proof goes from a smaller size to a larger, got {old} → {new}",
                code="bad_request",
            )
        if new > current:
            raise NotFound(f"the log has {current} entries, not {new}")
        return await self.store.with_nodes(lambda read: consistency_proof(old, new, read))

    async def tile(self, level: int, index: int, width: int) -> bytes:
        """The C2SP tlog-tiles hash tile ``(level, index)`` of ``width`` hashes."""
        if not (0 <= level <= 63 and index >= 0 and 1 <= width <= TILE_WIDTH):
            raise RemoteProtocolError(
                f"no tile ({level}, {index}) of width {width}", code="bad_request"
            )
        size = await self.store.size()
        if not tile_available(level, index, width, size):
            raise NotFound(
                f"tile {level}/{index} of width {width} is not in a tree of size {size} yet",
                code="tile_not_available",
            )
        return await self.store.with_nodes(lambda read: tile_bytes(level, index, width, read))

    async def entry_bundle(self, index: int, width: int) -> bytes:
        """C2SP tlog-tiles entry bundle: each entry as a 2-byte big-endian length, then it."""
        if index < 0 or not 1 <= width <= TILE_WIDTH:
            raise RemoteProtocolError(
                f"no entry bundle {index} of width {width}", code="bad_request"
            )
        start = index * TILE_WIDTH
        size = await self.store.size()
        if start + width > size:
            raise NotFound(
                f"entries [{start}, {start + width}) are not all in a log of size {size} yet",
                code="tile_not_available",
            )
        raws = await self.store.entries(start, start + width)
        return encode_entry_bundle(raws)

    # ------------------------------------------------------------------ reading the co-op

    async def blocklist(self, *, now_ms: int | None = None) -> Blocklist:
        """The effective blocklist: own and followed co-ops' active blocks, under the policy.

        Blocks past their review date are left out when ``now_ms`` is given (governance
        appends their unblock on its next round; a peer's node does the same for its own).
        Co-ops this node holds an equivocation proof against are distrusted.
        """
        await self.refresh()
        await self.peers.refresh()
        own = [
            e.record
            for e in self.state.active_blocks().values()
            if now_ms is None or now_ms < _block_review(e.record)
        ]
        policy = self.state.policy()
        return effective_blocklist(
            coop=self.did,
            own=own,
            peers=self.peers.active_blocks(now_ms),
            policy=None if policy is None else policy.record,
            distrusted=self.peers.distrusted(),
        )

    async def locate(self, rid: bytes) -> tuple[str, Entry] | None:
        """Which log holds record ``rid``: this co-op's, or a followed co-op's copy."""
        entry = self.state.entry(rid)
        if entry is not None:
            return self.did, entry
        return await self.peers.find(rid)

    async def profile(self, requester: RequesterRef, *, now_ms: int) -> dict[str, Any]:
        blocklist = await self.blocklist(now_ms=now_ms)
        profile = requester_profile(self.state, blocklist, requester, now_ms=now_ms)
        own = alias_group(self.state, requester)
        logs = [
            CoopRecords(
                self.did,
                self.name,
                self.state,
                [e for n in own for e in self.state.requester_records(n)],
            )
        ]
        for p in self.peers.all():
            names = alias_group(p.state, requester)
            held = await self.peers.requester_records(p.did, names)
            logs.append(CoopRecords(p.did, p.info.name, p.state, held))
        profile["federation"] = federation_profile(
            logs[0],
            logs[1:],
            requester,
            now_ms=now_ms,
            distrusted=self.peers.distrusted(),
        )
        return profile

    async def proposals(self, *, now_ms: int, status: str | None = None) -> list[dict[str, Any]]:
        """Every proposal as JSON with its live tally, newest first; ``status`` filters."""
        if status is not None and status not in PROPOSAL_STATUSES:
            raise RemoteProtocolError(
                f"status must be one of {', '.join(PROPOSAL_STATUSES)}, got {status!r}",
                code="bad_request",
            )
        await self.refresh()
        out = [self._proposal_json(p, now_ms) for p in reversed(self.state.proposals())]
        return [p for p in out if status is None or p["status"] == status]

    async def proposal(self, pid: bytes, *, now_ms: int) -> dict[str, Any] | None:
        await self.refresh()
        info = self.state.proposal(pid)
        return None if info is None else self._proposal_json(info, now_ms)

    def _proposal_json(self, info: ProposalInfo, now_ms: int) -> dict[str, Any]:
        record = info.entry.record
        body = info.body
        tally: dict[str, Any] | None
        try:
            # Decided proposals are shown as decided: counted when the decision was signed.
            at = info.decision.record.ts if info.decision is not None else now_ms
            t = info.tally(_charter_of(self.state, info), at)
            tally = {
                "result": t.result,
                "closed": t.closed,
                "counts": dict(t.counts),
                "ballots": len(t.counted),
                "ignored": len(t.ignored),
                "roster_size": t.roster_size,
                "quorum_needed": t.quorum_needed,
                "quorum_met": t.quorum_met,
                "winner": t.winner,
            }
        except TallyError as exc:
            tally = {"error": exc.message}
        return {
            "id": record.id.hex(),
            "index": info.entry.index,
            "author": record.author,
            "ts": record.ts,
            "kind": body.kind.value,
            "body": record.to_json()["body"],
            "status": info.status(now_ms).value,
            "tally": tally,
            "decision": None if info.decision is None else info.decision.record.id.hex(),
        }

    async def status(self, *, now_ms: int) -> dict[str, Any]:
        await self.refresh()
        cp = await self.store.latest_checkpoint()
        try:
            pending = len(self.state.due(now_ms))
        except TallyError:
            pending = -1
        charter = self.state.charter
        return {
            "coop": self.did,
            "name": self.name,
            "origin": self.origin,
            "size": await self.store.size(),
            "checkpoint": None if cp is None else {"size": cp.size, "signed_at": cp.signed_at},
            "charter": None if charter is None else charter[0].hex(),
            "members": len(self.state.members()),
            "open_proposals": sum(
                1 for p in self.state.proposals() if p.status(now_ms) is ProposalStatus.OPEN
            ),
            "blocks": len(self.state.active_blocks()),
            "governance_due": pending,
            "federation": await self._federation_status(cp),
        }

    async def _federation_status(self, cp: StoredCheckpoint | None) -> dict[str, Any]:
        await self.peers.refresh()
        proofs = await self.peers.equivocations()
        witnesses = {} if cp is None else await self.peers.cosignatures(cp.size)
        return {
            "peers": [
                {
                    **p.info.to_json(),
                    "handle": Identity.from_did(p.did).handle,
                    "held": p.frontier.size,
                    "verified": None if p.verified is None else p.verified.size,
                    "blocks": len(p.state.active_blocks()),
                }
                for p in self.peers.all()
            ],
            "equivocations": [
                {"coop": e.coop, "id": e.id.hex(), "found_at": e.found_at, "source": e.source}
                for e in proofs
            ],
            "distrusted": sorted(self.peers.distrusted()),
            "witnessed_by": sorted(witnesses),
        }

    # ------------------------------------------------------------------ membership

    async def create_invite(self, *, ttl_s: int, now_ms: int) -> str:
        """A single-use invite token valid for ``ttl_s`` seconds; only its SHA-256 is stored."""
        if not 1 <= ttl_s <= MAX_INVITE_TTL_S:
            raise LocalProtocolError(f"an invite lives 1–{MAX_INVITE_TTL_S} s, got {ttl_s}")
        token = secrets.token_urlsafe(32)
        async with self.store.write() as tx:
            await tx.add_invite(
                invite_hash(token), created_ms=now_ms, expires_ms=now_ms + ttl_s * 1000
            )
        return token

    async def join(self, *, apply_raw: bytes, token: str | None, now_ms: int) -> JoinResult:
        """Take a ``member.apply`` record: admit its signer by invite, or hold it for a sponsor.

        The application, signed by the new key, proves the applicant holds it. With a
        valid token the co-op appends ``member.admit`` (via invite, ref = SHA-256 of the
        token) and marks the token used, in one transaction; the result names that admit.
        Without a token, under a charter that admits by vote, the node holds the
        application outside the log (at most ``max_pending_applications``, each for
        ``application_ttl_s``) until a member sponsors it (:meth:`_sponsor`): nobody
        outside the co-op can add a record to its log. A replay of the same application
        gives the same answer; once sponsored, the answer names the admit proposal.
        """
        apply = Record.from_bytes(apply_raw)
        if apply.type is not RecordType.MEMBER_APPLY:
            raise RecordRejected(
                f"joining takes a member.apply record signed by the new key, got a "
                f"{apply.type.value} record",
                code="wrong_type",
            )
        if token is not None:
            return await self._join_by_invite(apply, token, now_ms)
        return await self._hold_application(apply, now_ms)

    async def _join_by_invite(self, apply: Record, token: str, now_ms: int) -> JoinResult:
        ref = invite_hash(token)
        replay: list[JoinResult] = []

        async def build(tx: WriteTx) -> list[Record]:
            invite = await tx.invite(ref)
            if invite is None:
                raise RecordRejected(
                    "this invite token is not one this co-op issued", code="bad_invite"
                )
            if invite.used_by is not None:
                used = None if invite.admit_id is None else self.state.entry(invite.admit_id)
                if invite.used_by == apply.author and used is not None:
                    replay.append(JoinResult(used.record.id, used.index, False))
                    return []
                raise RecordRejected("this invite has been used already", code="invite_used")
            if now_ms >= invite.expires_ms:
                raise RecordRejected(
                    "this invite has expired; ask for a new one", code="invite_expired"
                )
            self.state.check(apply, now_ms=now_ms)  # right co-op, on time, not a member yet
            admit = self._sign(MemberAdmit(member=apply.author, via="invite", ref=ref), now_ms)
            await tx.use_invite(ref, member=apply.author, now_ms=now_ms, admit_id=admit.id)
            await tx.drop_applications(apply.author)  # a member needs no sponsor
            return [admit]

        entries = await self._commit(build, now_ms=now_ms)
        if replay:
            return replay[0]
        return JoinResult(entries[0].record.id, entries[0].index, True)

    async def _hold_application(self, apply: Record, now_ms: int) -> JoinResult:
        # First without the log's lock: a replay or a refusal (a full queue, above all)
        # is answered from what is committed, so a flood of applications never holds up
        # the members' writes. Then again under the lock, which decides.
        early = await self._application_verdict(apply, now_ms, self.store)
        if early is not None:
            return early
        answer: list[JoinResult] = []

        async def build(tx: WriteTx) -> list[Record]:
            verdict = await self._application_verdict(apply, now_ms, tx)
            if verdict is None:
                expires = now_ms + self.config.application_ttl_s * 1000
                await tx.hold_application(apply, now_ms=now_ms, expires_ms=expires)
                verdict = JoinResult(apply.id, None, True, expires)
            answer.append(verdict)
            return []

        await self._commit(build, now_ms=now_ms)
        return answer[0]

    async def _application_verdict(
        self, apply: Record, now_ms: int, held: Store | WriteTx
    ) -> JoinResult | None:
        """The answer to a replayed application, or None for a new one to hold; or raise."""
        if self.state.entry(apply.id) is not None:
            prop = admit_proposal_for(self.state, apply.id)
            if prop is not None:
                return JoinResult(prop.entry.record.id, prop.entry.index, False)
        same = await held.application(apply.id)
        if same is not None:
            if now_ms < same.expires_ms:
                return JoinResult(apply.id, None, False, same.expires_ms)
            raise RecordRejected(
                f"this application expired on {day(same.expires_ms)} without a member's "
                "sponsorship; sign a new one to apply again",
                code="application_expired",
            )
        charter = self.state.charter
        assert charter is not None
        if charter[1].admission != "vote":
            raise RecordRejected(
                "this co-op admits members by invite: ask a member for an invite token",
                code="invite_required",
            )
        self.state.check(apply, now_ms=now_ms)  # right co-op, on time, not a member
        if not self.state.members():
            raise RecordRejected(
                "the co-op has no members to sponsor an application", code="no_members"
            )
        mine = await held.application_of(apply.author)
        if mine is not None and now_ms < mine.expires_ms:
            raise RecordRejected(
                "this key has an application waiting for a member's sponsorship already "
                f"(until {day(mine.expires_ms)})",
                code="already_applied",
            )
        if any(
            p.decision is None
            and p.body.kind is ProposalKind.ADMIT
            and p.body.member == apply.author
            for p in self.state.proposals()
        ):
            raise RecordRejected(
                "an application of this key is being voted on already", code="already_applied"
            )
        count, soonest = await held.applications_held(now_ms=now_ms)
        if count >= self.config.max_pending_applications:
            assert soonest is not None
            raise ApplicationsFull(
                f"this co-op holds {count} applications waiting for a member's sponsorship, "
                f"as many as it takes; one leaves by {day(soonest)} at the latest: apply "
                "again then, or ask a member for an invite",
                retry_after_s=max(1, -(-(soonest - now_ms) // 1000)),
            )
        return None

    async def _sponsor(self, proposal: Record, application: bytes, *, now_ms: int) -> SubmitResult:
        """Append a held application and the admit proposal citing it, in one transaction.

        The application goes first, so the proposal's citation resolves (state.md §3); both
        are checked as any record is, the proposal's author must be a member. The
        application leaves the queue in the same transaction.
        """
        try:
            # Every rule but the citation, before the costlier check of the pair: a
            # non-member's proposal is refused here, with the state's own code.
            self.state.check(proposal, now_ms=now_ms)
        except RecordRejected as exc:
            if exc.code != "unknown_reference":  # the application, not in the log yet
                raise
        replay: list[SubmitResult] = []

        async def build(tx: WriteTx) -> list[Record]:
            done = self.state.entry(proposal.id)
            if done is not None:  # another process appended it meanwhile
                replay.append(SubmitResult(proposal.id, done.index, False))
                return []
            if self.state.entry(application) is not None:
                check_sponsorship(self.state, application)
                return [proposal]
            held = await tx.application(application)
            if held is None:
                raise RecordRejected(
                    f"application {application.hex()} is not waiting at this node "
                    "(see GET /api/v1/applications)",
                    code="unknown_application",
                )
            if now_ms >= held.expires_ms:
                raise RecordRejected(
                    f"application {application.hex()} expired on {day(held.expires_ms)}, "
                    "before any member sponsored it",
                    code="application_expired",
                )
            await tx.drop_applications(held.record.author)
            return [held.record, proposal]

        entries = await self._commit(build, now_ms=now_ms, clockless={application})
        if replay:
            return replay[0]
        return SubmitResult(proposal.id, entries[-1].index, True)

    async def applications(self, *, now_ms: int) -> list[PendingApplication]:
        """The applications waiting for a member's sponsorship, oldest first."""
        await self.refresh()
        return [
            a
            for a in await self.store.applications(now_ms=now_ms)
            if self.state.entry(a.record.id) is None and not self.state.is_member(a.record.author)
        ]


# --------------------------------------------------------------------------- helpers


@dataclass(slots=True)
class _Submission:
    """A posted record waiting for its signature check and its commit."""

    record: Record
    now_ms: int
    future: asyncio.Future[SubmitResult]


def _settle(sub: _Submission, outcome: SubmitResult | BaseException) -> None:
    if sub.future.done():  # the caller went away; the record may still be appended
        return
    if isinstance(outcome, BaseException):
        sub.future.set_exception(outcome)
    else:
        sub.future.set_result(outcome)


def _fail_all(subs: Sequence[_Submission], exc: BaseException) -> None:
    for sub in subs:
        if not sub.future.done():
            if isinstance(exc, asyncio.CancelledError):
                sub.future.cancel()
            else:
                sub.future.set_exception(exc)


def _chunks(records: Sequence[Record], n: int) -> list[Sequence[Record]]:
    size = -(-len(records) // n)
    return [records[i : i + size] for i in range(0, len(records), size)]


# Each record's signature problem, or None; runs on a worker thread.
_verify_records = verify_each


def invite_hash(token: str) -> bytes:
    """What the node stores of an invite token, and what the admit record cites: SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def _block_review(record: Record) -> int:
    body = record.body
    assert isinstance(body, Block)
    return body.review


def _charter_of(state: CoopState, info: ProposalInfo) -> Charter:
    """The charter a proposal is decided under: the one in force when it was made."""
    entry = state.entry(info.charter_id)
    assert entry is not None and isinstance(entry.record.body, Charter)
    return entry.record.body


def day(ms: int) -> str:
    """A Unix time in ms as its UTC day, ``YYYY-MM-DD`` (when applications come and go)."""
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))
