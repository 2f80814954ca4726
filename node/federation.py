"""Federation at work: pull followed co-ops' logs and ask them to witness ours, with bounded I/O.

:class:`Federation` drives the protocol's sans-IO pieces over HTTP. A sync round for one
followed co-op runs a :class:`~coopfed.protocol.sync.SyncSession` against the co-op's own
node first and then against its mirrors, fetching the checkpoint, consistency proofs (the
``/api/v1/proof/consistency`` endpoint, else computed from C2SP hash tiles) and entries
as C2SP entry bundles; every page the session verifies is stored in one transaction
(:mod:`.peers`). An up-to-date co-op costs one request: its checkpoint. After this co-op
signs a checkpoint, each followed co-op is asked to cosign it (C2SP tlog-witness).

Every request is bounded in time (``Config.outbound_timeout_s``) and size (each answer
is read up to a limit fixed by what it can legitimately hold, and refused past it), and
an answer of the wrong media type is refused. Failures back off exponentially, jittered.
The ``aiohttp.ClientSession`` comes from a factory the app holds (:data:`CLIENT_FACTORY`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import aiohttp

from coopfed.protocol.checkpoint import SignedCheckpoint, verify_cosignature
from coopfed.protocol.errors import InvalidCheckpoint, RemoteProtocolError
from coopfed.protocol.merkle import (
    HASH_SIZE,
    TILE_WIDTH,
    NodeReader,
    consistency_proof,
    entries_path,
    split_entry_bundle,
    tile_path,
    tile_reader,
)
from coopfed.protocol.records import MAX_RECORD_SIZE
from coopfed.protocol.sync import (
    AcceptCheckpoint,
    Action,
    Equivocated,
    FetchCheckpoint,
    FetchConsistency,
    FetchEntries,
    FetchPageProof,
    LogInvalid,
    LookUp,
    Refused,
    Stale,
    StorePage,
    SyncSession,
    UpToDate,
)
from coopfed.protocol.witness import (
    SIZE_CONTENT_TYPE,
    consistency_request,
    log_verifier,
    parse_response,
    witness_verifier,
)

from . import jsonin
from .config import Config
from .jsonin import JsonRefused
from .limits import client_timeout
from .peers import PageConflict, PeerLog, Peers, PeerStatus, UnknownPeer
from .service import Node
from .storage import StoredCheckpoint

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Path of the C2SP tlog-witness endpoint, relative to a node's URL.
WITNESS_PATH: Final = "/witness/add-checkpoint"
#: Largest checkpoint read: a note with the most signature lines a note may carry (100)
#: is some 20 KiB; the protocol's own ceiling for any note (1 MiB) is far more than a
#: checkpoint needs.
MAX_CHECKPOINT_ANSWER: Final = 64 * 1024
#: Largest consistency-proof answer read (at most 129 hashes of 64 hex digits, as JSON).
MAX_PROOF_ANSWER: Final = 16 * 1024
#: Largest well-known document read.
MAX_DOCUMENT: Final = 64 * 1024
#: A witness answers with a few signature lines.
MAX_WITNESS_ANSWER: Final = 4096
_USER_AGENT: Final = "coopfed-node"
#: The largest log size stored (sizes and indexes are signed 64-bit columns). A signed
#: checkpoint may say up to 2^64-1; one past this is refused, not stored.
MAX_LOG_SIZE: Final = 2**63 - 1
#: Entries one sync page holds (verified, then stored in one transaction).
SYNC_PAGE: Final = 4 * TILE_WIDTH

ClientFactory = Callable[[], aiohttp.ClientSession]


def default_client_factory(config: Config) -> ClientFactory:
    """Sessions with the node's outbound timeout and no cookie jar (nodes keep no sessions)."""

    def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=client_timeout(config),
            headers={"User-Agent": _USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    return make


class FetchError(Exception):
    """A request to another node failed; ``bad_data`` when what came does not verify."""

    def __init__(
        self, message: str, *, code: str, bad_data: bool = False, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.bad_data = bad_data
        self.status = status


class WitnessError(Exception):
    """A witness did not cosign; the message says why."""


# --------------------------------------------------------------------------- bounded HTTP


class Http:
    """GET and POST with a size limit on every answer and a check of its media type."""

    def __init__(self, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout) -> None:
        self.session = session
        self.timeout = timeout
        #: Requests sent (tests and logs count them).
        self.requests = 0

    async def get(self, url: str, *, accept: str, types: frozenset[str], limit: int) -> bytes:
        status, media, body = await self._request("GET", url, accept=accept, limit=limit)
        if status != 200:
            raise FetchError(
                f"GET {url} answered {status}: {_snippet(body)}",
                code="not_found" if status == 404 else "http_error",
                status=status,
            )
        if media not in types:
            raise FetchError(
                f"GET {url} answered {media or 'no media type'}, expected {' or '.join(types)}",
                code="wrong_media_type",
                bad_data=True,
            )
        return body

    async def post(
        self, url: str, body: bytes, *, content_type: str, limit: int
    ) -> tuple[int, str, bytes]:
        return await self._request(
            "POST", url, accept="text/plain", limit=limit, body=body, content_type=content_type
        )

    async def _request(
        self,
        method: str,
        url: str,
        *,
        accept: str,
        limit: int,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, str, bytes]:
        headers = {"Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        self.requests += 1
        try:
            async with self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            ) as resp:
                if resp.status != 200:
                    limit = min(limit, 4096)  # an error's body is only read for its message
                if resp.content_length is not None and resp.content_length > limit:
                    raise FetchError(
                        f"{method} {url}: the answer is {resp.content_length} bytes, over "
                        f"the {limit} this node reads",
                        code="too_large",
                        bad_data=resp.status == 200,
                    )
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        if resp.status != 200:
                            break
                        raise FetchError(
                            f"{method} {url}: the answer is over the {limit} bytes this node reads",
                            code="too_large",
                            bad_data=True,
                        )
                return resp.status, resp.content_type.lower(), bytes(data[:limit])
        except TimeoutError:
            raise FetchError(f"{method} {url}: no answer in time", code="timeout") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"{method} {url}: {exc}", code="unreachable") from None


def _snippet(body: bytes) -> str:
    """What an error answer says: its code and message if it is ours, else its first bytes."""
    try:
        err = jsonin.loads(body, limit=len(body))["error"]
        return f"{err['code']}: {err['message']}"[:300]
    except (JsonRefused, KeyError, TypeError):
        return body[:300].decode("utf-8", "replace").strip() or "(no body)"


# --------------------------------------------------------------------------- a source


def split_bundle(data: bytes, width: int, where: str) -> list[bytes]:
    """A C2SP entry bundle's ``width`` entries; bad framing is the source's bad data."""
    try:
        return split_entry_bundle(data, width)
    except RemoteProtocolError as exc:
        raise FetchError(f"{where}: {exc.message}", code=exc.code, bad_data=True) from None


class Source:
    """One place a co-op's log can be read: its own node, or any node mirroring it.

    ``base`` is the URL under which ``/checkpoint``, ``/tile/...`` and
    ``/api/v1/proof/...`` are served (``https://node`` or ``https://other/mirror/<did>``).
    """

    def __init__(self, http: Http, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self._bundle: tuple[int, int, list[bytes]] | None = None

    async def checkpoint(self) -> bytes:
        return await self.http.get(
            self.base + "/checkpoint",
            accept="text/plain",
            types=frozenset({"text/plain"}),
            limit=MAX_CHECKPOINT_ANSWER,
        )

    async def consistency(self, old: int, new: int, *, full: bool) -> list[bytes]:
        """The consistency proof from ``old`` to ``new``.

        With ``full`` and ``old`` a power of two the prefix hash comes first (from the
        tiles), so that an inconsistency can be proved, not only refused.
        """
        try:
            proof = await self._proof(old, new)
        except FetchError as exc:
            if exc.status != 404:
                raise
            # A plain tlog-tiles server has no proof endpoint: build it from the tiles.
            proof = await self.with_tiles(new, lambda read: consistency_proof(old, new, read))
        if full and 0 < old < new and old & (old - 1) == 0:
            level = old.bit_length() - 1
            (prefix,) = await self.with_tiles(new, lambda read: list(read([(level, 0)])))
            proof = [prefix, *proof]
        return proof

    async def _proof(self, old: int, new: int) -> list[bytes]:
        data = await self.http.get(
            f"{self.base}/api/v1/proof/consistency?old={old}&new={new}",
            accept="application/json",
            types=frozenset({"application/json"}),
            limit=MAX_PROOF_ANSWER,
        )
        what = f"{self.base}: the consistency proof"
        try:
            hashes = jsonin.loads(data, limit=MAX_PROOF_ANSWER, what=what)["proof"]
            if not isinstance(hashes, list) or len(hashes) > 130:
                raise ValueError
            proof = [bytes.fromhex(h) for h in hashes]
            if any(len(h) != HASH_SIZE or h.hex() != s for h, s in zip(proof, hashes, strict=True)):
                raise ValueError
        except JsonRefused as exc:
            raise FetchError(exc.message, code="bad_proof", bad_data=True) from None
        except (ValueError, KeyError, TypeError):
            raise FetchError(
                f"{what} is not a JSON list of hex SHA-256 hashes", code="bad_proof", bad_data=True
            ) from None
        return proof

    async def _tile(self, level: int, index: int, width: int) -> bytes:
        return await self.http.get(
            f"{self.base}/{tile_path(level, index, None if width == TILE_WIDTH else width)}",
            accept="application/octet-stream",
            types=frozenset({"application/octet-stream"}),
            limit=width * HASH_SIZE,
        )

    async def with_tiles(self, size: int, fn: Callable[[NodeReader], T]) -> T:
        """Run a merkle computation over this source's hash tiles of the tree of ``size``.

        The protocol's readers are synchronous; which tiles a computation needs depends on
        the sizes only, so a first dry run names them, they are fetched, and a second run
        uses them. What the tiles give is untrusted until checked against a signed root.
        """
        wanted: set[tuple[int, int, int]] = set()

        def probe(tiles: Sequence[tuple[int, int, int]]) -> list[bytes]:
            wanted.update(tiles)
            return [bytes(t[2] * HASH_SIZE) for t in tiles]

        fn(tile_reader(size, probe))
        bodies = {t: await self._tile(*t) for t in sorted(wanted)}
        try:
            return fn(tile_reader(size, lambda tiles: [bodies[t] for t in tiles]))
        except RemoteProtocolError as exc:
            raise FetchError(
                f"{self.base}: bad tile: {exc.message}", code=exc.code, bad_data=True
            ) from None

    async def entries(self, start: int, end: int, size: int) -> list[bytes]:
        """Entries ``[start, end)`` of the tree of ``size``, from its C2SP entry bundles."""
        out: list[bytes] = []
        n = start // TILE_WIDTH
        while start + len(out) < end:
            width = min(TILE_WIDTH, size - n * TILE_WIDTH)
            raws = await self._entry_bundle(n, width)
            lo = max(start, n * TILE_WIDTH) - n * TILE_WIDTH
            hi = min(end, n * TILE_WIDTH + width) - n * TILE_WIDTH
            out += raws[lo:hi]
            n += 1
        return out

    async def _entry_bundle(self, n: int, width: int) -> list[bytes]:
        # Consecutive pages share a bundle when they do not start on a bundle boundary.
        if self._bundle is not None and self._bundle[:2] == (n, width):
            return self._bundle[2]
        path = entries_path(n, None if width == TILE_WIDTH else width)
        data = await self.http.get(
            f"{self.base}/{path}",
            accept="application/octet-stream",
            types=frozenset({"application/octet-stream"}),
            limit=width * (2 + MAX_RECORD_SIZE),
        )
        raws = split_bundle(data, width, f"{self.base}/{path}")
        self._bundle = (n, width, raws)
        return raws


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncOutcome:
    """How one sync round of one followed co-op went."""

    coop: str
    #: up_to_date, synced, stale, refused, equivocated, invalid, unreachable
    result: str
    source: str | None = None
    size: int = 0
    pages: int = 0
    code: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.result in ("up_to_date", "synced")


# --------------------------------------------------------------------------- the federation


class Federation:
    """One node's federation work: sync loops per followed co-op, and gathering cosignatures.

    ``clock`` is Unix milliseconds of real time (cosignature timestamps are statements to
    outsiders, so a demo's shifted governance clock never reaches them).
    """

    def __init__(
        self,
        node: Node,
        *,
        session: aiohttp.ClientSession,
        clock: Callable[[], int],
        rng: random.Random | None = None,
    ) -> None:
        self.node = node
        self.peers: Peers = node.peers
        self.config = node.config
        self.http = Http(session, client_timeout(node.config))
        self.clock = clock
        self.rng = rng or random.Random()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._witness_retry: dict[str, tuple[int, int]] = {}  # did -> (failures, next try ms)
        self._via: dict[str, str] = {}  # did -> the source the last good sync used

    # ------------------------------------------------------------------ back-off

    def delay_s(self, failures: int) -> float:
        """Seconds until the next try: the interval, doubled per failure, capped, jittered."""
        interval = self.config.sync_interval_s
        if failures <= 0:
            return interval * self.rng.uniform(0.8, 1.0)
        base = min(self.config.sync_max_backoff_s, interval * 2.0 ** min(failures, 30))
        return base * self.rng.uniform(0.5, 1.0)

    # ------------------------------------------------------------------ syncing

    def sources(self, p: PeerLog) -> list[Source]:
        """Where ``p``'s log can be read, in order: its node, its mirrors, other peers' mirrors."""
        bases = [p.info.url, *p.info.mirrors]
        bases += [
            f"{o.info.url.rstrip('/')}/mirror/{p.did}" for o in self.peers.all() if o is not p
        ]
        seen: dict[str, None] = {}
        for b in bases:
            if b:
                seen.setdefault(b.rstrip("/"), None)
        return [Source(self.http, b) for b in seen]

    async def sync(self, did: str) -> SyncOutcome:
        """One round for ``did``: its own node first, then each mirror until one serves."""
        p = self.peers.get(did)
        if p is None:
            raise UnknownPeer(f"this node does not follow co-op {did}")
        async with p.lock:
            return await self._sync_locked(did)

    async def _sync_locked(self, did: str) -> SyncOutcome:
        p = self.peers.get(did)
        assert p is not None
        if p.info.status in (PeerStatus.EQUIVOCATED, PeerStatus.INVALID):
            # Nothing more is taken from a co-op that signed two histories or an invalid
            # log; what is held stays (and is mirrored) as it was.
            return SyncOutcome(
                coop=did,
                result=p.info.status.value,
                code=p.info.last_code,
                reason=p.info.last_error,
            )
        now = self.clock()
        failed: list[SyncOutcome] = []
        outcome: SyncOutcome | None = None
        for source in self.sources(p):
            p = self.peers.get(did)
            if p is None:
                raise UnknownPeer(f"co-op {did} was removed while syncing")
            try:
                got = await self._sync_from(p, source)
            except FetchError as exc:
                if exc.bad_data:
                    await self.peers.add_refusal(
                        did, source=source.base, code=exc.code, reason=exc.message, now_ms=now
                    )
                failed.append(
                    SyncOutcome(
                        coop=did,
                        result="refused" if exc.bad_data else "unreachable",
                        source=source.base,
                        code=exc.code,
                        reason=exc.message,
                    )
                )
                continue
            except PageConflict as exc:
                # Another process stored this peer's entries meanwhile: start from theirs.
                await self.peers.reload(did)
                failed.append(
                    SyncOutcome(coop=did, result="unreachable", source=source.base, reason=str(exc))
                )
                break
            except BaseException:
                # The session may have applied records to the state whose page did not
                # commit: memory must not run ahead of the database.
                await self.peers.reload(did)
                raise
            if got.result in ("stale", "refused"):
                failed.append(got)
                continue
            outcome = got
            break
        return await self._record(did, outcome, failed, now)

    async def _record(
        self, did: str, outcome: SyncOutcome | None, failed: list[SyncOutcome], now: int
    ) -> SyncOutcome:
        p = self.peers.get(did)
        failures = 0 if p is None else p.info.failures
        if outcome is not None and outcome.ok:
            if self._via.get(did) != outcome.source:
                # Said once when the source changes (its node went down, or came back).
                self._via[did] = outcome.source or ""
                log.info(
                    "co-op %s: syncing from %s%s",
                    did,
                    outcome.source,
                    "".join(f"; {f.source}: {f.reason}" for f in failed),
                )
            await self.peers.set_outcome(
                did,
                status=PeerStatus.ACTIVE,
                ok=True,
                code=None,
                error=None,
                failures=0,
                next_try=now + int(self.delay_s(0) * 1000),
                now_ms=now,
            )
            return outcome
        if outcome is not None and outcome.result == "invalid":
            log.warning("co-op %s signed an invalid log: %s", did, outcome.reason)
            await self.peers.set_outcome(
                did,
                status=PeerStatus.INVALID,
                ok=False,
                code=outcome.code,
                error=outcome.reason,
                failures=failures,
                next_try=now + int(self.delay_s(0) * 1000),
                now_ms=now,
            )
            return outcome
        if outcome is not None:  # equivocated: stored with its proof already
            return outcome
        last = failed[-1] if failed else SyncOutcome(coop=did, result="unreachable")
        refused = any(f.result == "refused" for f in failed)
        status = PeerStatus.REFUSED if refused else None
        if p is not None and p.info.status in (PeerStatus.INVALID, PeerStatus.EQUIVOCATED):
            status = None
        reason = "; ".join(f"{f.source}: {f.reason}" for f in failed) or "no source to fetch from"
        log.warning("co-op %s: sync failed (%s)", did, reason)
        await self.peers.set_outcome(
            did,
            status=status,
            ok=False,
            code=last.code or last.result,
            error=reason[:2000],
            failures=failures + 1,
            next_try=now + int(self.delay_s(failures + 1) * 1000),
            now_ms=now,
        )
        return SyncOutcome(
            coop=did,
            result="refused" if refused else last.result,
            source=last.source,
            code=last.code,
            reason=reason,
        )

    async def _sync_from(self, p: PeerLog, source: Source) -> SyncOutcome:
        did = p.did
        now = self.clock()
        session = SyncSession(
            coop=did,
            state=p.state,
            frontier=p.frontier,
            verified=p.verified,
            # Four entry bundles a page: a quarter of the proofs and transactions.
            page_size=SYNC_PAGE,
            verify_page=self.node.verify_page,  # a page's signatures on every core
            now_ms=now,  # entries dated far past this node's clock wait (``future``)
            max_future_ms=self.node.config.sync_max_future_ms,
        )
        todo: list[Action] = session.start()
        note: bytes | None = None
        pages = 0
        # What the session will ask for next — the page proof of the entries it asked for,
        # and the page after them — is fetched while it checks and stores this page.
        ahead: dict[tuple[str, int, int], asyncio.Task[list[bytes]]] = {}
        try:
            while todo:
                a = todo.pop(0)
                if isinstance(a, FetchCheckpoint):
                    note = await source.checkpoint()
                    todo += session.receive_checkpoint(note)
                elif isinstance(a, FetchConsistency):
                    proof = await source.consistency(a.old, a.new, full=True)
                    todo += session.receive_consistency(proof)
                elif isinstance(a, FetchPageProof):
                    task = ahead.pop(("proof", a.old, a.new), None)
                    proof = await (task or source.consistency(a.old, a.new, full=False))
                    todo += session.receive_page_proof(proof)
                elif isinstance(a, FetchEntries):
                    target = session.verified
                    assert target is not None
                    task = ahead.pop(("entries", a.start, a.end), None)
                    if a.end < target.size:
                        nxt = (a.end, min(a.end + session.page_size, target.size))
                        ahead[("proof", a.end, target.size)] = asyncio.create_task(
                            source.consistency(a.end, target.size, full=False)
                        )
                        ahead[("entries", *nxt)] = asyncio.create_task(
                            source.entries(*nxt, target.size)
                        )
                    raws = await (task or source.entries(a.start, a.end, target.size))
                    todo += session.receive_entries(raws)
                elif isinstance(a, LookUp):
                    # What the page cites, and whether its records are stored already.
                    found = await self.peers.lookup(did, a.ids, before=session.state.size)
                    todo += session.receive_lookup(found)
                elif isinstance(a, AcceptCheckpoint):
                    if a.checkpoint.size > MAX_LOG_SIZE:
                        raise FetchError(
                            f"{source.base}: the checkpoint says {a.checkpoint.size} entries, "
                            f"more than the {MAX_LOG_SIZE} a log can hold here",
                            code="too_large",
                            bad_data=True,
                        )
                    await self.peers.accept_checkpoint(did, a.checkpoint, now_ms=now)
                elif isinstance(a, StorePage):
                    await self.peers.store_page(did, a)
                    pages += 1
                elif isinstance(a, UpToDate):
                    if note is not None and note != a.checkpoint.note:
                        # Same size and root (the session checked), perhaps more cosignatures.
                        with contextlib.suppress(InvalidCheckpoint):
                            fresh = SignedCheckpoint(note=note, log_verifier=session.verifier)
                            held = a.checkpoint
                            if (fresh.size, fresh.root_hash) == (held.size, held.root_hash):
                                await self.peers.keep_note(did, fresh)
                    return SyncOutcome(
                        coop=did,
                        result="synced" if pages else "up_to_date",
                        source=source.base,
                        size=a.checkpoint.size,
                        pages=pages,
                    )
                elif isinstance(a, Stale):
                    return SyncOutcome(
                        coop=did,
                        result="stale",
                        source=source.base,
                        size=a.size,
                        reason=f"serves an older checkpoint (size {a.size})",
                    )
                elif isinstance(a, Refused):
                    await self.peers.add_refusal(
                        did,
                        source=source.base,
                        code=a.code,
                        reason=a.reason,
                        now_ms=now,
                        first_idx=a.start,
                        end_idx=a.end,
                    )
                    return SyncOutcome(
                        coop=did, result="refused", source=source.base, code=a.code, reason=a.reason
                    )
                elif isinstance(a, Equivocated):
                    await self.peers.add_equivocation(
                        did, a.proof, source=f"sync from {source.base}", now_ms=now
                    )
                    return SyncOutcome(
                        coop=did,
                        result="equivocated",
                        source=source.base,
                        code="equivocation",
                        reason="the co-op signed two histories",
                    )
                elif isinstance(a, LogInvalid):
                    await self.peers.add_refusal(
                        did,
                        source=source.base,
                        code=a.code,
                        reason=f"entry {a.index}: {a.reason}",
                        now_ms=now,
                        first_idx=a.index,
                        end_idx=a.index + 1,
                    )
                    return SyncOutcome(
                        coop=did,
                        result="invalid",
                        source=source.base,
                        code=a.code,
                        reason=f"entry {a.index} of its signed log is not admissible: {a.reason}",
                    )
        finally:
            for t in ahead.values():
                t.cancel()
            await asyncio.gather(*ahead.values(), return_exceptions=True)
        raise AssertionError("a sync session always ends with an outcome")  # pragma: no cover

    # ------------------------------------------------------------------ witnessing our log

    async def gather(self) -> dict[str, str]:
        """Ask each followed co-op to cosign our latest checkpoint; did → what happened."""
        latest = await self.node.store.latest_checkpoint()
        if latest is None:
            return {}
        have = await self.peers.cosignatures(latest.size)
        now = self.clock()
        asked = [
            p
            for p in self.peers.all()
            if p.did not in have
            and p.info.status is not PeerStatus.EQUIVOCATED
            and p.info.url
            and now >= self._witness_retry.get(p.did, (0, 0))[1]
        ]
        # Concurrently: one slow witness must not hold up the others.
        results = await asyncio.gather(*(self._ask(p, latest, now) for p in asked))
        return dict(zip((p.did for p in asked), results, strict=True))

    async def _ask(self, p: PeerLog, latest: StoredCheckpoint, now: int) -> str:
        try:
            await self.ask_witness(p, latest)
        except (FetchError, WitnessError) as exc:
            failures = self._witness_retry.get(p.did, (0, 0))[0] + 1
            self._witness_retry[p.did] = (failures, now + int(self.delay_s(failures) * 1000))
            log.info("co-op %s did not cosign checkpoint %d: %s", p.did, latest.size, exc)
            return f"not cosigned: {exc}"
        self._witness_retry.pop(p.did, None)
        return "cosigned"

    async def ask_witness(self, p: PeerLog, cp: StoredCheckpoint) -> bytes:
        """C2SP tlog-witness ``add-checkpoint`` to ``p``; on 409, once more from its size."""
        old = await self.peers.last_cosigned(p.did)
        url = p.info.url.rstrip("/") + WITNESS_PATH
        for attempt in range(2):
            if old > cp.size:
                raise WitnessError(
                    f"it cosigned size {old} of our log, larger than our checkpoint {cp.size}"
                )
            proof: list[bytes] = []
            if 0 < old < cp.size:
                proof = await self.node.consistency_proof(old, cp.size)
            body = consistency_request(old_size=old, proof=proof, checkpoint_note=cp.note)
            status, media, data = await self.http.post(
                url, body, content_type="text/plain", limit=MAX_WITNESS_ANSWER
            )
            if status == 200:
                try:
                    lines = parse_response(
                        cp.note, data, witness_verifier(p.did), now_s=self.clock() // 1000
                    )
                except (InvalidCheckpoint, RemoteProtocolError) as exc:
                    raise WitnessError(f"its answer does not verify: {exc}") from None
                await self._keep(p.did, cp, lines)
                return lines
            if status == 409 and media == SIZE_CONTENT_TYPE and attempt == 0:
                text = data.decode("ascii", "replace").strip()
                if not text.isdigit() or len(text) > 20:
                    raise WitnessError(f"its 409 answer is not a size: {text[:40]!r}")
                old = int(text)
                continue
            raise WitnessError(f"{url} answered {status}: {_snippet(data)}")
        raise WitnessError("it kept answering 409")

    async def _keep(self, witness: str, cp: StoredCheckpoint, lines: bytes) -> None:
        own = log_verifier(self.node.did)
        checkpoint = SignedCheckpoint(note=cp.note, log_verifier=own).checkpoint
        best = None
        for line in lines.splitlines(keepends=True):
            c = verify_cosignature(checkpoint, line, witness_verifier(witness))
            if best is None or c.timestamp > best.timestamp:
                best = c
        assert best is not None
        await self.peers.add_cosignature(
            size=cp.size,
            witness=witness,
            line=best.line,
            timestamp=best.timestamp,
            now_ms=self.clock(),
        )

    # ------------------------------------------------------------------ the loops

    def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="coopfed-federation")

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._supervisor = None
        self._tasks.clear()

    def ensure_task(self, did: str) -> None:
        """Make sure ``did`` has its sync loop (after it was pinned)."""
        task = self._tasks.get(did)
        if self._supervisor is not None and (task is None or task.done()):
            self._tasks[did] = asyncio.create_task(self._peer_loop(did), name=f"coopfed-sync-{did}")

    async def _supervise(self) -> None:
        while True:
            try:
                await self.peers.refresh()
                held = {p.did for p in self.peers.all()}
                for did in held:
                    self.ensure_task(did)
                for did in list(self._tasks):
                    if did not in held:
                        self._tasks.pop(did).cancel()
                await self.gather()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("federation round failed; trying again")
            await asyncio.sleep(self.delay_s(0))

    async def _peer_loop(self, did: str) -> None:
        interval = self.config.sync_interval_s
        while True:
            p = self.peers.get(did)
            if p is None:
                return
            if p.info.status in (PeerStatus.INVALID, PeerStatus.EQUIVOCATED):
                await asyncio.sleep(interval)  # nothing more to fetch from it
                continue
            wait = (p.info.next_try - self.clock()) / 1000
            if wait > 0:
                await asyncio.sleep(min(wait, interval))
                continue
            try:
                await self.sync(did)
            except asyncio.CancelledError:
                raise
            except UnknownPeer:
                return  # unpinned meanwhile
            except Exception:
                log.exception("syncing co-op %s failed", did)
                await asyncio.sleep(self.delay_s(1))
