"""Catching up with another co-op's log, verifying everything, as a sans-IO state machine.

A :class:`SyncSession` is fed what a peer (or any mirror of the peer's log) answered and
returns the next actions: what to fetch, what to store, or what went wrong. It checks the
co-op's checkpoint signature, the checkpoint's consistency with the last one accepted,
that every page of entries is a prefix of the signed tree, every record's signature and
its admissibility in that co-op's own log (membership at the time, references, votes —
:mod:`.state`). The node does the I/O and stores each ``StorePage`` in one transaction;
a session built from what was stored resumes exactly where an interruption left off.

Nothing a peer sends is stored before it verifies: a page whose entries do not lead to
the signed root is refused whole. A record that *is* in the co-op's signed tree but is
not admissible is different: the co-op itself signed an invalid log, so the session
stores the valid prefix and reports :class:`LogInvalid`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from .checkpoint import EquivocationProof, SignedCheckpoint, find_equivocation
from .errors import InvalidCheckpoint, InvalidProof, LocalProtocolError, RemoteProtocolError
from .merkle import Frontier, StoredNode, leaf_hash, verify_consistency
from .records import MAX_RECORD_SIZE, Record
from .state import DEFAULT_MAX_SKEW_MS, CoopState, Entry
from .witness import log_verifier

__all__ = [
    "DEFAULT_PAGE",
    "MAX_FUTURE_MS",
    "MAX_PAGE",
    "AcceptCheckpoint",
    "Action",
    "Equivocated",
    "FetchCheckpoint",
    "FetchConsistency",
    "FetchEntries",
    "FetchPageProof",
    "LogInvalid",
    "LookUp",
    "PageVerifier",
    "Phase",
    "Refused",
    "Stale",
    "StorePage",
    "SyncSession",
    "UpToDate",
    "verify_each",
]

DEFAULT_PAGE: Final = 256
MAX_PAGE: Final = 4096
#: How far past the follower's clock a record's ``ts`` may be. The co-op's own node took
#: the record within ``max_skew_ms`` (5 min) of its clock; the two nodes' clocks may differ
#: by as much again. A later record is not *invalid* (a replay without a clock admits it,
#: and the follower's clock may be the wrong one): it is not taken *yet*.
MAX_FUTURE_MS: Final = 2 * DEFAULT_MAX_SKEW_MS

#: Checks the signatures of a page of records at once: for each, None or what is wrong.
#: A node may spread the work over its cores; the default checks them one by one.
PageVerifier = Callable[[Sequence[Record]], Sequence[RemoteProtocolError | None]]


def verify_each(records: Sequence[Record]) -> list[RemoteProtocolError | None]:
    """The default :data:`PageVerifier`: each record's signature, in turn."""
    out: list[RemoteProtocolError | None] = []
    for record in records:
        try:
            record.verify_signature()
        except RemoteProtocolError as exc:
            out.append(exc)
        else:
            out.append(None)
    return out


# ---------------------------------------------------------------- actions the node carries out


@dataclass(frozen=True, slots=True)
class FetchCheckpoint:
    """GET the log's latest checkpoint."""


@dataclass(frozen=True, slots=True)
class FetchConsistency:
    """GET the consistency proof between two checkpoints; answer with ``receive_consistency``.

    From the size accepted before (``old``) to the new checkpoint's (``new``), or built
    from the log's tiles. It decides between consistency and equivocation
    (:func:`.checkpoint.find_equivocation` says what proof proves the latter).
    """

    old: int
    new: int


@dataclass(frozen=True, slots=True)
class FetchPageProof:
    """GET the consistency proof of a page; answer with ``receive_page_proof``.

    From the tree the fetched entries end (``old``) to the checkpoint's (``new``): it
    shows the page is a prefix of the signed tree before anything of it is stored.
    """

    old: int
    new: int


@dataclass(frozen=True, slots=True)
class FetchEntries:
    """GET the raw records at indexes ``[start, end)``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class LookUp:
    """Read these record ids from the stored log: answer with ``receive_lookup``.

    Only for a governance-only state (``CoopState(keep_all=False)``): the ids a page's
    checks need that the state does not hold (``CoopState.lookups``).
    """

    ids: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class AcceptCheckpoint:
    """Store this checkpoint as the latest verified one for the log (before any entries)."""

    checkpoint: SignedCheckpoint


@dataclass(frozen=True, slots=True)
class StorePage:
    """Store these verified records at ``start…``, the new nodes and frontier, atomically."""

    start: int
    records: tuple[Record, ...]
    frontier: Frontier
    nodes: tuple[StoredNode, ...]


@dataclass(frozen=True, slots=True)
class UpToDate:
    """Nothing more to fetch: the stored log matches ``checkpoint``."""

    checkpoint: SignedCheckpoint


@dataclass(frozen=True, slots=True)
class Stale:
    """The source served an older checkpoint than one already accepted; try another source."""

    size: int


@dataclass(frozen=True, slots=True)
class Refused:
    """The source sent something that does not verify; nothing of it was kept.

    ``start``, ``end``: the entries ``[start, end)`` refused, when entries are the reason
    (a page that does not verify, or the one entry dated too far ahead, ``future``);
    None for a checkpoint or a consistency proof between checkpoints.
    """

    code: str
    reason: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class Equivocated:
    """The co-op signed two incompatible histories; the proof convinces anyone."""

    proof: EquivocationProof


@dataclass(frozen=True, slots=True)
class LogInvalid:
    """The co-op's signed log holds a record that is not admissible at ``index``."""

    index: int
    code: str
    reason: str


Action = (
    FetchCheckpoint
    | FetchConsistency
    | FetchPageProof
    | FetchEntries
    | LookUp
    | AcceptCheckpoint
    | StorePage
    | UpToDate
    | Stale
    | Refused
    | Equivocated
    | LogInvalid
)


class Phase(Enum):
    IDLE = "idle"
    AWAIT_CHECKPOINT = "await_checkpoint"
    AWAIT_CONSISTENCY = "await_consistency"
    AWAIT_ENTRIES = "await_entries"
    AWAIT_PAGE_PROOF = "await_page_proof"
    AWAIT_LOOKUP = "await_lookup"
    DONE = "done"
    FAILED = "failed"


#: The only legal moves; anything else is a bug in the caller (h2's ``_transitions`` idea).
_TRANSITIONS: Final = {
    (Phase.IDLE, "start"): {Phase.AWAIT_CHECKPOINT},
    (Phase.DONE, "start"): {Phase.AWAIT_CHECKPOINT},
    (Phase.FAILED, "start"): {Phase.AWAIT_CHECKPOINT},
    (Phase.AWAIT_CHECKPOINT, "checkpoint"): {
        Phase.AWAIT_CONSISTENCY,
        Phase.AWAIT_ENTRIES,
        Phase.DONE,
        Phase.FAILED,
    },
    (Phase.AWAIT_CONSISTENCY, "consistency"): {Phase.AWAIT_ENTRIES, Phase.DONE, Phase.FAILED},
    (Phase.AWAIT_ENTRIES, "entries"): {
        Phase.AWAIT_ENTRIES,
        Phase.AWAIT_PAGE_PROOF,
        Phase.AWAIT_LOOKUP,
        Phase.DONE,
        Phase.FAILED,
    },
    (Phase.AWAIT_PAGE_PROOF, "page_proof"): {
        Phase.AWAIT_ENTRIES,
        Phase.AWAIT_LOOKUP,
        Phase.DONE,
        Phase.FAILED,
    },
    (Phase.AWAIT_LOOKUP, "lookup"): {Phase.AWAIT_ENTRIES, Phase.DONE, Phase.FAILED},
}


@dataclass(slots=True)
class _Pending:
    start: int
    records: list[Record]
    leaf_hashes: list[bytes]
    frontier: Frontier
    nodes: list[StoredNode] = field(default_factory=list)


class SyncSession:
    """One co-op's log, followed from one source at a time. Feed it answers; do its actions."""

    def __init__(
        self,
        *,
        coop: str,
        state: CoopState,
        frontier: Frontier,
        verified: SignedCheckpoint | None,
        page_size: int = DEFAULT_PAGE,
        verify_page: PageVerifier = verify_each,
        now_ms: int | None = None,
        max_future_ms: int = MAX_FUTURE_MS,
    ) -> None:
        if state.coop != coop:
            raise LocalProtocolError("the state is another co-op's")
        if state.size != frontier.size:
            raise LocalProtocolError(
                f"state has {state.size} entries but the stored tree {frontier.size}"
            )
        if verified is not None and verified.size < frontier.size:
            raise LocalProtocolError("entries are stored beyond the verified checkpoint")
        if not 1 <= page_size <= MAX_PAGE:
            raise LocalProtocolError(f"page_size is 1…{MAX_PAGE}")
        self.coop = coop
        self.state = state
        self.frontier = frontier
        self.verified = verified
        self.page_size = page_size
        self.verify_page = verify_page
        #: The follower's clock: entries dated more than ``max_future_ms`` past it are not
        #: taken yet (None: a replay without a clock, no such check).
        self.now_ms = now_ms
        self.max_future_ms = max_future_ms
        self.verifier = log_verifier(coop)
        self.phase = Phase.IDLE
        self._target: SignedCheckpoint | None = None
        self._pending: _Pending | None = None
        self._requested: FetchEntries | None = None
        self._raws: list[bytes] = []
        self._asked: LookUp | None = None
        self._checked: (
            tuple[list[Record], tuple[int, RemoteProtocolError] | None, Refused | None] | None
        ) = None

    def _move(self, event: str, to: Phase) -> None:
        allowed = _TRANSITIONS.get((self.phase, event))
        if allowed is None or to not in allowed:
            raise LocalProtocolError(f"sync: cannot take '{event}' in phase {self.phase.value}")
        self.phase = to

    def _expect(self, event: str) -> None:
        if (self.phase, event) not in _TRANSITIONS:
            raise LocalProtocolError(f"sync: cannot take '{event}' in phase {self.phase.value}")

    def _fail(self, event: str, action: Action) -> list[Action]:
        self._move(event, Phase.FAILED)
        self._pending = None
        self._asked = self._checked = None
        return [action]

    # ---------------------------------------------------------------- the exchange

    def start(self) -> list[Action]:
        self._move("start", Phase.AWAIT_CHECKPOINT)
        return [FetchCheckpoint()]

    def receive_checkpoint(self, note: bytes) -> list[Action]:
        self._expect("checkpoint")
        try:
            cp = SignedCheckpoint(note=note, log_verifier=self.verifier)
        except (InvalidCheckpoint, RemoteProtocolError) as exc:
            return self._fail("checkpoint", Refused(exc.code, f"checkpoint: {exc.message}"))
        seen = self.verified
        if seen is not None and cp.size < seen.size:
            self._move("checkpoint", Phase.DONE)
            return [Stale(cp.size)]
        if seen is not None and cp.size == seen.size:
            if cp.root_hash != seen.root_hash:
                proof = find_equivocation(seen, cp, None)
                assert proof is not None
                return self._fail("checkpoint", Equivocated(proof))
            self._target = seen
            return self._next_fetch("checkpoint")
        self._target = cp
        if seen is None or seen.size == 0:
            if cp.size == 0 and seen is not None and cp.root_hash != seen.root_hash:
                raise AssertionError("unreachable: equal sizes handled above")
            return [AcceptCheckpoint(cp), *self._accept(cp, "checkpoint")]
        self._move("checkpoint", Phase.AWAIT_CONSISTENCY)
        return [FetchConsistency(seen.size, cp.size)]

    def receive_consistency(self, proof: list[bytes]) -> list[Action]:
        self._expect("consistency")
        seen, target = self.verified, self._target
        assert seen is not None and target is not None
        try:
            evidence = find_equivocation(seen, target, proof)
        except InvalidProof as exc:
            return self._fail("consistency", Refused(exc.code, f"consistency proof: {exc.message}"))
        if evidence is not None:
            return self._fail("consistency", Equivocated(evidence))
        return [AcceptCheckpoint(target), *self._accept(target, "consistency")]

    def _accept(self, cp: SignedCheckpoint, event: str) -> list[Action]:
        self.verified = cp
        return self._next_fetch(event)

    def _next_fetch(self, event: str) -> list[Action]:
        target = self._target
        assert target is not None
        if self.frontier.size > target.size:  # pragma: no cover - guarded in __init__
            raise LocalProtocolError("stored beyond the target")
        if self.frontier.size == target.size:
            if self.frontier.root() != target.root_hash:
                # Our stored entries and the checkpoint disagree although consistency
                # verified: only possible if the stored data was altered.
                raise LocalProtocolError("stored log does not match a verified checkpoint")
            self._move(event, Phase.DONE)
            return [UpToDate(target)]
        self._move(event, Phase.AWAIT_ENTRIES)
        start = self.frontier.size
        self._requested = FetchEntries(start, min(start + self.page_size, target.size))
        return [self._requested]

    def receive_entries(self, raws: list[bytes]) -> list[Action]:
        self._expect("entries")
        req, target = self._requested, self._target
        assert req is not None and target is not None
        if len(raws) != req.end - req.start:
            return self._fail(
                "entries",
                Refused(
                    "bad_page",
                    f"asked for {req.end - req.start} entries, got {len(raws)}",
                    req.start,
                    req.end,
                ),
            )
        frontier = self.frontier
        nodes: list[StoredNode] = []
        hashes = []
        for i, raw in enumerate(raws):
            if type(raw) is not bytes or len(raw) > MAX_RECORD_SIZE:
                return self._fail(
                    "entries",
                    Refused(
                        "too_large",
                        f"entry {req.start + i} is over {MAX_RECORD_SIZE} bytes",
                        req.start,
                        req.end,
                    ),
                )
            h = leaf_hash(raw)
            hashes.append(h)
            frontier, new = frontier.append(h)
            nodes.extend(new)
        self._pending = _Pending(
            start=req.start, records=[], leaf_hashes=hashes, frontier=frontier, nodes=nodes
        )
        self._raws = raws
        if frontier.size == target.size:
            if frontier.root() != target.root_hash:
                return self._fail(
                    "entries",
                    Refused(
                        "root_mismatch",
                        "the entries do not lead to the co-op's signed root",
                        req.start,
                        req.end,
                    ),
                )
            return self._verify_page("entries")
        self._move("entries", Phase.AWAIT_PAGE_PROOF)
        return [FetchPageProof(frontier.size, target.size)]

    def receive_page_proof(self, proof: list[bytes]) -> list[Action]:
        self._expect("page_proof")
        pending, target = self._pending, self._target
        assert pending is not None and target is not None
        try:
            verify_consistency(
                pending.frontier.size, target.size, pending.frontier.root(), target.root_hash, proof
            )
        except InvalidProof as exc:
            return self._fail(
                "page_proof",
                Refused(
                    exc.code,
                    f"entries {pending.start}…{pending.frontier.size - 1} are not a "
                    f"prefix of the signed tree: {exc.message}",
                    pending.start,
                    pending.frontier.size,
                ),
            )
        return self._verify_page("page_proof")

    def receive_lookup(self, found: Sequence[tuple[int, bytes]]) -> list[Action]:
        """The stored entries (index, raw record) of the ids ``LookUp`` asked for."""
        self._expect("lookup")
        asked, checked = self._asked, self._checked
        assert asked is not None and checked is not None
        entries = []
        for index, raw in found:
            # The node's own store: verified when it was stored.
            record = Record.from_bytes(raw, verify=False)
            if record.id not in asked.ids:
                raise LocalProtocolError(f"record {record.id.hex()} was not asked for")
            entries.append(Entry(index, record))
        self.state.provide(entries, asked.ids)
        self._asked = self._checked = None
        return self._apply_page("lookup", *checked)

    def _verify_page(self, event: str) -> list[Action]:
        pending = self._pending
        assert pending is not None
        # The node stored every page before it fed the next: the state may let them go.
        self.state.settle()
        # Decode every entry, then check the signatures of the page in one call (the node
        # may spread them over its cores), then apply in order. The first entry that
        # fails any step is the one reported, exactly as if each went through all three
        # before the next: only the entries before it are applied.
        decoded: list[Record] = []
        first_bad: tuple[int, RemoteProtocolError] | None = None
        future: Refused | None = None
        for i, raw in enumerate(self._raws):
            try:
                record = Record.from_bytes(raw, verify=False)
                if record.coop != self.coop:
                    raise RemoteProtocolError(
                        f"record is for co-op {record.coop}", code="wrong_coop"
                    )
            except RemoteProtocolError as exc:
                first_bad = (i, exc)
                break
            if self.now_ms is not None and record.ts > self.now_ms + self.max_future_ms:
                # Not taken yet: the entries before it are, and the next round resumes here.
                future = Refused(
                    "future",
                    f"entry {pending.start + i} is dated {record.ts}, "
                    f"{record.ts - self.now_ms} ms past this node's clock ({self.now_ms}; at "
                    f"most {self.max_future_ms} allowed); it is taken once the clock is there",
                    pending.start + i,
                    pending.start + i + 1,
                )
                break
            decoded.append(record)
        for i, sig_problem in enumerate(self.verify_page(decoded)):
            if sig_problem is not None:
                first_bad = (i, sig_problem)
                decoded = decoded[:i]
                break
        want = self.state.lookups(decoded)
        if want:
            self._move(event, Phase.AWAIT_LOOKUP)
            self._asked = LookUp(want)
            self._checked = (decoded, first_bad, future)
            return [self._asked]
        return self._apply_page(event, decoded, first_bad, future)

    def _apply_page(
        self,
        event: str,
        decoded: list[Record],
        first_bad: tuple[int, RemoteProtocolError] | None,
        future: Refused | None,
    ) -> list[Action]:
        pending = self._pending
        assert pending is not None
        stored: list[Record] = []
        for i, record in enumerate(decoded):
            try:
                self.state.apply(record)
            except RemoteProtocolError as exc:
                first_bad = (i, exc)
                break
            stored.append(record)
        problem: LogInvalid | Refused | None = None
        if first_bad is not None:
            at, why = first_bad
            problem = LogInvalid(pending.start + at, why.code, why.message)
        elif future is not None:
            problem = future
        actions: list[Action] = []
        if stored:
            if problem is None:
                frontier, nodes = pending.frontier, pending.nodes
            else:
                frontier, nodes = self._prefix(pending, len(stored))
            self.frontier = frontier
            actions.append(StorePage(pending.start, tuple(stored), frontier, tuple(nodes)))
        self._pending = None
        if problem is not None:
            self._move(event, Phase.FAILED)
            return [*actions, problem]
        return actions + self._next_fetch(event)

    def _prefix(self, pending: _Pending, n: int) -> tuple[Frontier, list[StoredNode]]:
        frontier = self.frontier
        nodes: list[StoredNode] = []
        for h in pending.leaf_hashes[:n]:
            frontier, new = frontier.append(h)
            nodes.extend(new)
        return frontier, nodes
