"""The co-op state machine: which records a co-op's log may accept next, and what they change.

``CoopState`` folds one co-op's log in order. ``check`` says whether a signed, well-formed
record is *admissible* at the end of the log (its author's standing, the records it cites,
voting windows, the charter's rules) and raises ``RecordRejected`` with a stable code
when it is not; ``apply`` checks and then updates. Every rule depends only on the log
before the record and, for a live node, the clock passed in as ``now_ms`` — so a peer or an
outsider replaying the same log (``now_ms=None``) reaches the same state.

``due(now_ms)`` lists what the co-op's own key must sign next (decisions on closed
proposals and their consequences, provisional blocks, ends of blocks): governance is a
pure function of the log and the time; the node only signs and appends.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, TypeVar

from .bodies import (
    APPROVABLE_OUTCOMES,
    DAY_MS,
    REQUESTER_TYPES,
    RETRACTABLE_TYPES,
    Appeal,
    Ballot,
    Block,
    Body,
    Charter,
    Decision,
    Delegation,
    FederationPolicy,
    Flag,
    MemberAdmit,
    MemberResign,
    MemberRevoke,
    Outcome,
    Proposal,
    ProposalKind,
    Rating,
    RecordType,
    Reply,
    RequesterAlias,
    RequesterKey,
    RequesterRef,
    Retraction,
    RoleAssign,
    Signer,
    TaskReport,
    Unblock,
)
from .encoding import decode, encode
from .errors import InvalidRecord, LocalProtocolError, RecordRejected, RemoteProtocolError
from .governance import Tally, check_decision, provisional_block_flags, tally
from .records import Record
from .rules import (
    check_ballot,
    check_block_review,
    check_carries_out,
    check_decision_time,
    check_outcome,
    check_provisional_block,
    check_same_block,
    check_window,
    main_reason,
)
from .stricter import check_stricter

__all__ = [
    "BLOCK_BACKDATE_MS",
    "DECISION_BLOCK_REVIEW_MS",
    "DEFAULT_MAX_SKEW_MS",
    "PROPOSAL_BACKDATE_MS",
    "REPORT_MAX_AGE_DAYS",
    "SNAPSHOT_VERSION",
    "CoopState",
    "Entry",
    "ProposalInfo",
    "ProposalStatus",
    "batchable_prefix",
    "independent",
]

#: A proposal may say it opened at most this long before it was signed.
PROPOSAL_BACKDATE_MS: Final = 5 * 60_000
#: A block decided by vote is reviewed after this long unless the members decide otherwise.
DECISION_BLOCK_REVIEW_MS: Final = 365 * DAY_MS
DEFAULT_MAX_SKEW_MS: Final = 5 * 60_000
#: A provisional block may be dated at most this long before the latest record ahead of it
#: in the log. A node signs blocks at its clock, and takes records at most ``max_skew_ms``
#: from it; the margin is for its clock stepping back. Without this bound any flag, however
#: long expired, could count for a block dated far enough back, and a follower would have
#: to keep every flag forever.
BLOCK_BACKDATE_MS: Final = 60 * 60_000
#: A task is reported within this many days of the day it was done.
REPORT_MAX_AGE_DAYS: Final = 400
_T = TypeVar("_T")
#: The version of :meth:`CoopState.snapshot`'s format (2: with delegations).
SNAPSHOT_VERSION: Final = 2
#: A governance-only state forgets expired flags once the log's time is this far past them.
_PRUNE_EVERY_MS: Final = DAY_MS


@dataclass(frozen=True, slots=True)
class Entry:
    """A record at its place in the log."""

    index: int
    record: Record


class ProposalStatus(StrEnum):
    """Where a proposal stands at a given time."""

    OPEN = "open"  # ballots are taken
    CLOSED = "closed"  # its window has closed; its decision is due
    DECIDED = "decided"  # its decision is in the log


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalInfo:
    """A proposal, the roster eligible on it, the ballots cast, and its decision if any."""

    entry: Entry
    charter_id: bytes
    roster: frozenset[str]
    ballots: tuple[Entry, ...]
    decision: Entry | None
    #: The delegations in force when the proposal entered the log (governance.md §6).
    delegations: tuple[Entry, ...] = ()

    @property
    def body(self) -> Proposal:
        body = self.entry.record.body
        assert isinstance(body, Proposal)
        return body

    def status(self, now_ms: int) -> ProposalStatus:
        """Decided once its decision is in the log; else open until ``closes``, then closed."""
        if self.decision is not None:
            return ProposalStatus.DECIDED
        return ProposalStatus.OPEN if now_ms < self.body.closes else ProposalStatus.CLOSED

    def tally(self, charter: Charter, now_ms: int) -> Tally:
        return tally(
            charter=charter,
            charter_id=self.charter_id,
            roster=self.roster,
            proposal=self.entry.record,
            ballots=[b.record for b in self.ballots],
            now_ms=now_ms,
            delegations=[d.record for d in self.delegations],
        )


@dataclass(slots=True)
class _Proposal:
    entry: Entry
    charter_id: bytes
    roster: frozenset[str]
    ballots: list[Entry] = field(default_factory=list)
    decision: Entry | None = None
    delegations: tuple[Entry, ...] = ()

    def freeze(self) -> ProposalInfo:
        return ProposalInfo(
            entry=self.entry,
            charter_id=self.charter_id,
            roster=self.roster,
            ballots=tuple(self.ballots),
            decision=self.decision,
            delegations=self.delegations,
        )


def _reject(code: str, message: str) -> RecordRejected:
    return RecordRejected(message, code=code)


class CoopState:
    """One co-op's state, built by applying its log in order. Not thread-safe; pure.

    By default it holds every entry (``entries()``, ``requester_records()``). With
    ``keep_all=False`` it holds what admissibility needs beyond single records — charters,
    the roster, proposals and their open ballots, blocks and the flags that can still count,
    retracted ids — and, for a while, the entries of the current page; the caller stores
    the rest and answers ``lookups()`` through ``provide()`` before it applies a page, then
    calls ``settle()`` once the page is stored. Its memory then follows the co-op's
    governance, not the length of its log. Both kinds admit exactly the same records.
    """

    def __init__(
        self, coop: str, *, max_skew_ms: int = DEFAULT_MAX_SKEW_MS, keep_all: bool = True
    ) -> None:
        self.coop = coop
        self.max_skew_ms = max_skew_ms
        self.keep_all = keep_all
        self.size = 0
        self._entries: dict[bytes, Entry] = {}
        self._log: list[Entry] = []
        self._page: dict[bytes, Entry] = {}  # keep_all=False: entries held until settle()
        self._absent: set[bytes] = set()  # keep_all=False: ids looked up and not in the log
        self._latest_ts = 0  # the latest record time in the log
        self._pruned_at = 0  # keep_all=False: the log time expired flags were last dropped
        # keep_all=False: held flags by expiry (a heap), and expired ones a block still cites
        self._expiring: list[tuple[int, bytes, RequesterRef]] = []
        self._cited_expired: list[tuple[int, bytes, RequesterRef]] = []
        self._charter: Entry | None = None
        self._charters: dict[bytes, Entry] = {}  # every charter, in log order
        self._founding = True
        self._intervals: dict[str, list[list[int | None]]] = {}
        self._current: set[str] = set()
        self._proposals: dict[bytes, _Proposal] = {}
        self._consumed: set[bytes] = set()  # decisions whose consequence is in the log
        self._invites_used: set[bytes] = set()
        self._blocks: dict[RequesterRef, Entry] = {}
        self._cited_flags: set[bytes] = set()
        self._flags: dict[RequesterRef, list[Entry]] = {}
        self._flags_until: dict[RequesterRef, int] = {}  # latest expiry of each one's flags
        self._flags_last: dict[RequesterRef, int] = {}  # latest time of each one's flags
        # requester -> (as of now_ms, window days, flags seen, those still alive): a memo.
        self._live: dict[RequesterRef, tuple[int, int, int, list[Entry]]] = {}
        self._about: dict[RequesterRef, list[Entry]] = {}
        self._retracted: set[bytes] = set()
        self._requester_keys: dict[RequesterRef, set[str]] = {}
        self._aliases: dict[RequesterRef, RequesterRef] = {}
        self._policy: Entry | None = None
        self._roles: dict[str, str] = {}
        self._resigned: dict[str, bytes] = {}  # member → their resignation not yet carried out
        self._delegations: dict[str, Entry] = {}  # delegator → their delegation in force

    # ------------------------------------------------------------------ reading

    @property
    def charter(self) -> tuple[bytes, Charter] | None:
        if self._charter is None:
            return None
        body = self._charter.record.body
        assert isinstance(body, Charter)
        return self._charter.record.id, body

    def charter_at(self, index: int) -> Entry:
        """The charter in force when the entry at ``index`` entered the log (the latest below).

        A provisional block ends by retraction under this charter's rule for its index, not
        under the one in force now (spec/state.md §3, ``unblock``).
        """
        for e in reversed(self._charters.values()):
            if e.index < index:
                return e
        raise LocalProtocolError(f"no charter precedes index {index}")

    def _charter_body(self, charter_id: bytes) -> Charter:
        body = self._charters[charter_id].record.body
        assert isinstance(body, Charter)
        return body

    def _charter_or_reject(self) -> tuple[bytes, Charter]:
        ch = self.charter
        if ch is None:
            raise _reject("no_charter", "the co-op's log must begin with its charter")
        return ch

    def is_member(self, did: str, at: int | None = None) -> bool:
        """Whether ``did`` was a member when entry ``at`` (default: the next) was added."""
        at = self.size if at is None else at
        for admitted, revoked in self._intervals.get(did, ()):
            assert admitted is not None
            if admitted < at and (revoked is None or at <= revoked):
                return True
        return False

    def members(self) -> frozenset[str]:
        return frozenset(self._current)

    def check_member(self, did: str) -> None:
        """Return if ``did`` is a member now; else ``revoked`` (once one) or ``not_member``."""
        if not self.is_member(did):
            if did in self._intervals:
                raise _reject("revoked", f"{did} is no longer a member of this co-op")
            raise _reject("not_member", f"{did} is not a member of this co-op")

    def delegations(self) -> dict[str, Entry]:
        """Each member who delegates their vote now → their delegation (governance.md §6)."""
        return dict(self._delegations)

    def roles(self) -> dict[str, str]:
        return dict(self._roles)

    def entry(self, rid: bytes) -> Entry | None:
        """The entry of record ``rid``, None if it is not in the log.

        A governance-only state raises ``LocalProtocolError`` for an id it neither holds
        nor was told about through ``provide()``.
        """
        e = self._entries.get(rid)
        if e is not None or self.keep_all:
            return e
        e = self._page.get(rid)
        if e is not None:
            return e
        if rid in self._absent:
            return None
        raise LocalProtocolError(
            f"record {rid.hex()} is not held in memory: look it up first "
            "(CoopState.lookups, then provide)"
        )

    def _all(self, what: str) -> None:
        if not self.keep_all:
            raise LocalProtocolError(f"{what}: this state keeps governance only (keep_all=False)")

    def entry_at(self, index: int) -> Entry:
        """The entry at ``index`` (0 ≤ index < size)."""
        self._all("entry_at")
        if not 0 <= index < self.size:
            raise LocalProtocolError(f"index {index} is outside the log of {self.size} entries")
        return self._log[index]

    def entries(self, start: int = 0, end: int | None = None) -> tuple[Entry, ...]:
        """Entries ``[start, end)`` in log order."""
        self._all("entries")
        return tuple(self._log[start:end])

    # ------------------------------------------------------------------ governance only

    def lookups(self, records: Iterable[Record]) -> frozenset[bytes]:
        """Ids that checking ``records`` in turn needs and this state does not hold.

        Each record's own id (is it in the log already?) and the ids it cites, less those
        held. Empty when ``keep_all``.
        """
        if self.keep_all:
            return frozenset()
        want: set[bytes] = set()
        for record in records:
            want.add(record.id)
            want.update(record.body.references())
        held, page, absent = self._entries, self._page, self._absent
        return frozenset(i for i in want if i not in held and i not in page and i not in absent)

    def provide(self, found: Iterable[Entry], asked: Iterable[bytes]) -> None:
        """The answer to ``lookups``: the entries found in the stored log, of the ids asked."""
        got = set()
        for e in found:
            if not 0 <= e.index < self.size:
                raise LocalProtocolError(f"entry {e.index} is not in the log of {self.size}")
            self._page[e.record.id] = e
            got.add(e.record.id)
        self._absent.update(i for i in asked if i not in got)

    def settle(self) -> None:
        """The entries applied so far are stored: a governance-only state lets them go."""
        if self.keep_all:
            return
        self._page.clear()
        self._absent.clear()
        if self._latest_ts - self._pruned_at >= _PRUNE_EVERY_MS:
            self._prune_flags()

    def _prune_flags(self) -> None:
        # A flag that expired before any block the log can still take (BLOCK_BACKDATE_MS)
        # never counts again; one an active block cites is read again when it ends.
        # Only the flags that expired since the last time are looked at (a heap by expiry).
        self._pruned_at = self._latest_ts
        horizon = self._latest_ts - BLOCK_BACKDATE_MS
        heap = self._expiring
        if not (heap and heap[0][0] <= horizon) and not self._cited_expired:
            return
        cited = {f for e in self._blocks.values() for f in _block(e.record).flags}
        expired = self._cited_expired
        while heap and heap[0][0] <= horizon:
            expired.append(heapq.heappop(heap))
        self._cited_expired = [x for x in expired if x[1] in cited]
        touched = set()
        for _, fid, requester in expired:
            if fid not in cited:
                del self._entries[fid]
                touched.add(requester)
        for requester in touched:
            held = self._entries
            kept = [e for e in self._flags[requester] if e.record.id in held]
            self._live.pop(requester, None)
            # The key stays (an empty list when nothing can count again): due() lists
            # blocks in the order requesters were first flagged, as a full state does.
            self._flags[requester] = kept
            if not kept:
                self._flags_until.pop(requester, None)
                self._flags_last.pop(requester, None)

    def fork(self) -> CoopState:
        """An independent copy: apply records to it without touching this state.

        Records, entries and charters are immutable and shared; every container that
        ``apply``, ``provide``, ``settle`` or ``due`` changes is copied, as deep as they
        change it. The time it takes follows what the state holds: the whole log when
        ``keep_all``, the co-op's governance otherwise.
        """
        other = CoopState(self.coop, max_skew_ms=self.max_skew_ms, keep_all=self.keep_all)
        other.size = self.size
        other._entries = dict(self._entries)
        other._log = list(self._log)
        other._page = dict(self._page)
        other._absent = set(self._absent)
        other._latest_ts = self._latest_ts
        other._pruned_at = self._pruned_at
        other._expiring = list(self._expiring)
        other._cited_expired = list(self._cited_expired)
        other._charter = self._charter
        other._charters = dict(self._charters)
        other._founding = self._founding
        other._intervals = {k: [list(iv) for iv in v] for k, v in self._intervals.items()}
        other._current = set(self._current)
        other._proposals = {
            k: _Proposal(
                entry=p.entry,
                charter_id=p.charter_id,
                roster=p.roster,
                ballots=list(p.ballots),
                decision=p.decision,
                delegations=p.delegations,
            )
            for k, p in self._proposals.items()
        }
        other._consumed = set(self._consumed)
        other._invites_used = set(self._invites_used)
        other._blocks = dict(self._blocks)
        other._cited_flags = set(self._cited_flags)
        other._flags = {k: list(v) for k, v in self._flags.items()}
        other._flags_until = dict(self._flags_until)
        other._flags_last = dict(self._flags_last)
        other._live = dict(self._live)  # its values are replaced, never changed
        other._about = {k: list(v) for k, v in self._about.items()}
        other._retracted = set(self._retracted)
        other._requester_keys = {k: set(v) for k, v in self._requester_keys.items()}
        other._aliases = dict(self._aliases)
        other._policy = self._policy
        other._roles = dict(self._roles)
        other._resigned = dict(self._resigned)
        other._delegations = dict(self._delegations)
        return other

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> bytes:
        """All a governance-only state holds, as canonical MessagePack (spec/state.md §10).

        Taken between pages (after ``settle``) of a ``keep_all=False`` state;
        :meth:`from_snapshot` gives back a state that admits, lists as ``due`` and
        snapshots exactly as this one does. Node-local, never on the wire: a node keeps
        it beside its stored log so that opening does not replay the whole log.
        """
        if self.keep_all:
            raise LocalProtocolError("only a governance-only state (keep_all=False) is snapshotted")
        if self._page or self._absent:
            raise LocalProtocolError("a state is snapshotted between pages: settle() first")

        def rid(e: Entry | None) -> bytes | None:
            return None if e is None else e.record.id

        def req(r: RequesterRef) -> dict[str, str]:
            return r.to_value()

        held = sorted(self._entries.values(), key=lambda e: e.index)
        # Dicts are written as arrays of pairs in their order (due() lists in that order);
        # sets are sorted, so that equal states give equal bytes.
        return encode(
            {
                "v": SNAPSHOT_VERSION,
                "coop": self.coop,
                "size": self.size,
                "latest_ts": self._latest_ts,
                "pruned_at": self._pruned_at,
                "founding": self._founding,
                "entries": [[e.index, e.record.raw] for e in held],
                "charter": rid(self._charter),
                "expiring": [fid for _, fid, _ in self._expiring],
                "cited_expired": [fid for _, fid, _ in self._cited_expired],
                "intervals": [[did, ivs] for did, ivs in self._intervals.items()],
                "current": sorted(self._current),
                "proposals": [
                    [
                        pid,
                        p.charter_id,
                        sorted(p.roster),
                        [[b.index, b.record.raw] for b in p.ballots],
                        rid(p.decision),
                        [[d.index, d.record.raw] for d in p.delegations],
                    ]
                    for pid, p in self._proposals.items()
                ],
                "consumed": sorted(self._consumed),
                "invites_used": sorted(self._invites_used),
                "blocks": [e.record.id for e in self._blocks.values()],
                "cited_flags": sorted(self._cited_flags),
                "flags": [[req(r), [e.record.id for e in es]] for r, es in self._flags.items()],
                "flags_until": [[req(r), t] for r, t in self._flags_until.items()],
                "flags_last": [[req(r), t] for r, t in self._flags_last.items()],
                "retracted": sorted(self._retracted),
                "requester_keys": [[req(r), sorted(k)] for r, k in self._requester_keys.items()],
                "aliases": [[req(a), req(b)] for a, b in self._aliases.items()],
                "policy": rid(self._policy),
                "roles": [[role, did] for role, did in self._roles.items()],
                "resigned": [[did, r] for did, r in self._resigned.items()],
                "delegations": [
                    [did, [e.index, e.record.raw]] for did, e in self._delegations.items()
                ],
            }
        )

    @classmethod
    def from_snapshot(
        cls, coop: str, data: bytes, *, max_skew_ms: int = DEFAULT_MAX_SKEW_MS
    ) -> CoopState:
        """The governance-only state :meth:`snapshot` wrote, or ``LocalProtocolError``.

        Held records are decoded without a signature check (they were verified before
        they were stored). Anything malformed or inconsistent raises: replay the log then.
        """
        state = cls(coop, max_skew_ms=max_skew_ms, keep_all=False)
        try:
            _Restore(state, decode(data, max_size=max(len(data), 1))).run()
        except RemoteProtocolError as exc:  # a record or a value that does not decode
            raise LocalProtocolError(f"malformed state snapshot: {exc.message}") from exc
        return state

    def is_retracted(self, rid: bytes) -> bool:
        return rid in self._retracted

    def proposal(self, pid: bytes) -> ProposalInfo | None:
        p = self._proposals.get(pid)
        return None if p is None else p.freeze()

    def proposals(self) -> tuple[ProposalInfo, ...]:
        return tuple(p.freeze() for p in self._proposals.values())

    def active_blocks(self) -> dict[RequesterRef, Entry]:
        return dict(self._blocks)

    def policy(self) -> Entry | None:
        return self._policy

    def requester_records(self, requester: RequesterRef) -> tuple[Entry, ...]:
        self._all("requester_records")
        return tuple(self._about.get(requester, ()))

    def aliases(self) -> dict[RequesterRef, RequesterRef]:
        """Each alias (a requester's later name) → the name it is an alias of."""
        return dict(self._aliases)

    def requester_keys(self, requester: RequesterRef) -> frozenset[str]:
        return frozenset(self._requester_keys.get(requester, ()))

    # ------------------------------------------------------------------ checking

    def check(self, record: Record, *, now_ms: int | None = None) -> None:
        """Return if ``record`` may be appended next; else raise ``RecordRejected``."""
        if record.coop != self.coop:
            raise _reject("wrong_coop", f"record is for co-op {record.coop}, this is {self.coop}")
        if type(record.body).MEMBERS_ONLY:
            raise _reject(
                "members_only",
                f"a {record.type.value} is for members only and never enters the public log "
                "(spec/deliberation.md)",
            )
        if self.entry(record.id) is not None:
            raise _reject("duplicate", "this record is already in the log")
        if now_ms is not None and abs(record.ts - now_ms) > self.max_skew_ms:
            raise _reject(
                "skew",
                f"record time {record.ts} is more than {self.max_skew_ms} ms from the node's "
                f"clock ({now_ms}); check your device's clock",
            )
        if self.size == 0:
            if record.type is not RecordType.CHARTER:
                raise _reject("no_charter", "the co-op's log must begin with its charter")
        elif self._charter is None:  # pragma: no cover - size > 0 implies a charter
            raise _reject("no_charter", "the co-op's log must begin with its charter")
        self._check_signer(record)
        handler = _CHECKS.get(record.type)
        if handler is not None:
            handler(self, record, now_ms)
        if now_ms is not None:
            # A live node applies every stricter rule, whatever the record's ts (§2.7).
            try:
                check_stricter(record.body, ts=None)
            except InvalidRecord as exc:
                raise _reject(exc.code, exc.message) from None

    def _check_signer(self, record: Record) -> None:
        signer = type(record.body).SIGNER
        author = record.author
        if signer is Signer.MEMBER or (signer is Signer.MEMBER_OR_COOP and author != self.coop):
            self.check_member(author)
        elif signer is Signer.APPLICANT:
            if self.is_member(author):
                raise _reject("already_member", f"{author} is already a member")
        elif signer is Signer.REQUESTER:
            body = record.body
            assert isinstance(body, Reply)
            if author not in self._requester_keys.get(body.requester, ()):
                raise _reject(
                    "not_requester_key",
                    f"{author} is not a key this co-op has bound to requester {body.requester}",
                )

    def cited(self, rid: bytes, rtype: RecordType | Iterable[RecordType], what: str) -> Entry:
        """The entry a record cites as ``what``: ``unknown_reference`` or ``wrong_reference``.

        A governance-only state must have been told about ``rid`` first (``lookups``).
        """
        return self._ref(rid, rtype, what)

    def _ref(self, rid: bytes, rtype: RecordType | Iterable[RecordType], what: str) -> Entry:
        e = self.entry(rid)
        types = {rtype} if isinstance(rtype, RecordType) else set(rtype)
        if e is None:
            raise _reject("unknown_reference", f"{what} {rid.hex()} is not in this co-op's log")
        if e.record.type not in types:
            raise _reject(
                "wrong_reference",
                f"{what} {rid.hex()} is a {e.record.type.value}, expected "
                + " or ".join(sorted(t.value for t in types)),
            )
        return e

    def _passed(
        self, did: bytes, kinds: Collection[ProposalKind], *, results: tuple[str, ...] = ("passed",)
    ) -> tuple[Decision, Proposal]:
        e = self._ref(did, RecordType.DECISION, "decision")
        dec = e.record.body
        assert isinstance(dec, Decision)
        prop = self._proposals[dec.proposal].entry.record.body
        assert isinstance(prop, Proposal)
        check_carries_out(dec, prop, kinds, results=results, what=f"decision {did.hex()}")
        if did in self._consumed:
            raise _reject("already_applied", f"decision {did.hex()} has been carried out already")
        return dec, prop

    def _check_charter(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Charter)
        if self._charter is None:
            if body.supersedes is not None:
                raise _reject("no_charter", "the first charter supersedes nothing")
            return
        current = self._charter.record.id
        if body.supersedes != current:
            raise _reject("stale_charter", "an amendment supersedes the charter in force")
        assert body.decision is not None
        _, prop = self._passed(body.decision, [ProposalKind.AMEND])
        assert prop.charter is not None
        if prop.charter.rules_value() != body.rules_value():
            raise _reject("mismatch", "the amended charter differs from the one voted on")

    def _check_admit(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, MemberAdmit)
        if body.member == self.coop:
            raise _reject("bad_member", "the co-op's key is not a member")
        if self.is_member(body.member):
            raise _reject("already_member", f"{body.member} is already a member")
        if body.via == "founder":
            if not self._founding:
                raise _reject(
                    "not_founding", "founders are admitted only right after the first charter"
                )
        elif body.via == "invite":
            assert body.ref is not None
            _, charter = self._charter_or_reject()
            if charter.admission != "invite":
                raise _reject(
                    "invite_not_allowed", "the charter admits members by vote, not by invite"
                )
            if body.ref in self._invites_used:
                raise _reject("invite_used", "this invite has been redeemed already")
        else:
            assert body.ref is not None
            _, prop = self._passed(body.ref, [ProposalKind.ADMIT])
            if prop.member != body.member:
                raise _reject("mismatch", "the decision admitted someone else")

    def _check_revoke(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, MemberRevoke)
        if not self.is_member(body.member):
            raise _reject("not_member", f"{body.member} is not a member")
        if body.via == "resignation":
            e = self._ref(body.ref, RecordType.MEMBER_RESIGN, "resignation")
            if e.record.author != body.member:
                raise _reject("mismatch", "the resignation is someone else's")
            # A resignation ends the membership it was made in, never a later one: else a
            # re-admitted member could be removed on their old word, without a vote.
            admitted = self._intervals[body.member][-1][0]
            assert admitted is not None
            if e.index < admitted:
                raise _reject(
                    "mismatch", "the resignation is from an earlier membership, carried out already"
                )
        else:
            _, prop = self._passed(body.ref, [ProposalKind.REVOKE])
            if prop.member != body.member:
                raise _reject("mismatch", "the decision revoked someone else")

    def _check_role(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, RoleAssign)
        dec, prop = self._passed(body.decision, [ProposalKind.ELECT], results=("elected",))
        if dec.winner != body.member or prop.role != body.role:
            raise _reject("mismatch", "the role or member differs from the election's result")
        if not self.is_member(body.member):
            raise _reject("not_member", f"{body.member} has left; the role cannot go to them")

    def _check_flag(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Flag)
        if body.expires <= record.ts:
            raise _reject("expired", "a flag's expiry must be after its time")
        if body.expires > record.ts + 365 * DAY_MS:
            raise _reject("too_long", "a flag expires within 365 days")

    def _check_appeal(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Appeal)
        if body.follows is not None:
            e = self._ref(body.follows, RecordType.APPEAL, "appeal")
            earlier = e.record.body
            assert isinstance(earlier, Appeal)
            if e.record.author != record.author:
                raise _reject("not_author", "only the appeal's author records its outcome")
            if earlier.requester != body.requester:
                raise _reject("mismatch", "the outcome names another requester")

    def _check_task_report(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, TaskReport)
        today = record.ts // DAY_MS
        if body.follows is None:
            assert body.day is not None
            if body.day >= today:
                raise _reject(
                    "too_soon",
                    "a task report is signed on a later UTC day than the day of the task, so "
                    "that its time says nothing of when the member did it",
                )
            if body.day < today - REPORT_MAX_AGE_DAYS:
                raise _reject(
                    "too_old", f"a task is reported within {REPORT_MAX_AGE_DAYS} days of its day"
                )
            return
        e = self._ref(body.follows, RecordType.TASK_REPORT, "task report")
        first = e.record.body
        assert isinstance(first, TaskReport)
        if e.record.author != record.author:
            raise _reject("not_author", "members report the approval of their own tasks only")
        if first.follows is not None:
            raise _reject("mismatch", "an approval follows the first report of the task")
        if first.requester != body.requester or first.task != body.task:
            raise _reject("mismatch", "the approval names another requester or task")
        if first.outcome not in APPROVABLE_OUTCOMES:
            raise _reject("mismatch", f"a task that was {first.outcome} has nothing to approve")
        assert first.day is not None and body.approval_days is not None
        if today < first.day + body.approval_days:
            raise _reject(
                "too_soon",
                f"an approval after {body.approval_days} days is reported on day "
                f"{first.day + body.approval_days} or later",
            )

    def _check_reply(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Reply)
        if body.about is not None:
            e = self._ref(body.about, REQUESTER_TYPES, "record replied to")
            about = e.record.body
            assert isinstance(about, Rating | Flag | Appeal | Reply | TaskReport)
            if about.requester != body.requester:
                raise _reject("mismatch", "the record replied to is about another requester")

    def _check_retraction(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Retraction)
        e = self._ref(body.record, RETRACTABLE_TYPES, "retracted record")
        if e.record.author != record.author:
            raise _reject("not_author", "members retract only their own records")
        if body.record in self._retracted:
            raise _reject("already_retracted", "that record is retracted already")

    def _check_proposal(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Proposal)
        _, charter = self._charter_or_reject()
        if not self._current:
            raise _reject("no_members", "a co-op with no members cannot vote on anything")
        check_window(charter, body)
        if body.opens < record.ts - PROPOSAL_BACKDATE_MS:
            raise _reject("bad_window", "a proposal cannot open in the past")
        if body.kind is ProposalKind.ADMIT:
            assert body.member is not None
            if self.is_member(body.member):
                raise _reject("already_member", f"{body.member} is already a member")
            if body.application is not None:
                e = self._ref(body.application, RecordType.MEMBER_APPLY, "application")
                if e.record.author != body.member:
                    raise _reject("mismatch", "the application is someone else's")
        elif body.kind is ProposalKind.REVOKE:
            assert body.member is not None
            if not self.is_member(body.member):
                raise _reject("not_member", f"{body.member} is not a member")
        elif body.kind is ProposalKind.ELECT:
            assert body.role is not None
            if body.role not in charter.roles:
                raise _reject("unknown_role", f"the charter has no role {body.role!r}")
            outsiders = [c for c in body.candidates if not self.is_member(c)]
            if outsiders:
                raise _reject("not_member", f"candidates must be members: {', '.join(outsiders)}")
        elif body.kind is ProposalKind.UNBLOCK:
            assert body.requester is not None
            if body.requester not in self._blocks:
                raise _reject("not_blocked", f"{body.requester} is not blocked")

    def _check_ballot(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Ballot)
        self._ref(body.proposal, RecordType.PROPOSAL, "proposal")
        p = self._proposals[body.proposal]
        prop = p.entry.record.body
        assert isinstance(prop, Proposal)
        if p.decision is not None:
            raise _reject("voting_closed", "this proposal has been decided")
        check_ballot(prop, p.roster, record)
        if now_ms is not None and now_ms >= prop.closes:
            raise _reject("voting_closed", "voting on this proposal has closed")

    def _check_decision(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Decision)
        self._ref(body.proposal, RecordType.PROPOSAL, "proposal")
        p = self._proposals[body.proposal]
        prop = p.entry.record.body
        assert isinstance(prop, Proposal)
        if p.decision is not None:
            raise _reject("already_decided", "this proposal has a decision already")
        check_decision_time(prop, record.ts)
        charter = self._charter_body(p.charter_id)
        check_decision(body, p.freeze().tally(charter, record.ts))

    def _check_block(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Block)
        _, charter = self._charter_or_reject()
        check_block_review(body, record.ts)
        active = self._blocks.get(body.requester)
        if body.decision is not None:
            _, prop = self._passed(body.decision, [ProposalKind.BLOCK])
            check_same_block(body, prop)
            return
        if active is not None:
            raise _reject("already_blocked", f"{body.requester} is blocked already")
        if record.ts < self._latest_ts - BLOCK_BACKDATE_MS:
            raise _reject(
                "backdated",
                f"a provisional block is dated at most {BLOCK_BACKDATE_MS} ms before the "
                "latest record in the log",
            )
        candidates = self._flag_candidates(body.requester, charter, record.ts)
        check_provisional_block(
            charter, body, record.ts, candidates, excluded=self._excluded_flags()
        )

    def _check_unblock(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Unblock)
        e = self._ref(body.block, RecordType.BLOCK, "block")
        if self._blocks.get(body.requester) != e:
            raise _reject("not_blocked", "that block is not the requester's active block")
        block = e.record.body
        assert isinstance(block, Block)
        if body.why == "decision":
            assert body.decision is not None
            _, prop = self._passed(body.decision, [ProposalKind.UNBLOCK])
            if prop.requester != body.requester:
                raise _reject("mismatch", "the decision unblocked another requester")
        elif body.why == "review":
            if record.ts < block.review:
                raise _reject("too_early", "the block's review date has not come")
        elif body.why == "retracted":
            if not block.provisional or not self._retracted_below(e):
                raise _reject("still_flagged", "the block's flags still cross the rule")
        elif not block.provisional or any(
            _flag(self._entries[f].record).expires > record.ts for f in block.flags
        ):
            raise _reject("still_flagged", "the block's flags have not all expired")

    def _retracted_below(self, entry: Entry) -> bool:
        """Whether a provisional block's unretracted flags no longer meet its own rule.

        Its own rule is the one in force when the block entered the log: an amendment since
        neither ends a block nor keeps one, and the unblock's ``why`` stays true.
        """
        block = _block(entry.record)
        charter = self.charter_at(entry.index).record.body
        assert isinstance(charter, Charter)
        live = {self._entries[f].record.author for f in block.flags if f not in self._retracted}
        return len(live) < charter.block_rule.flags

    def _check_outcome(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Outcome)
        e = self._ref(body.decision, RecordType.DECISION, "decision")
        decision = e.record.body
        assert isinstance(decision, Decision)
        check_outcome(record, self._proposals[decision.proposal].entry.record)

    def _check_delegation(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, Delegation)
        _, charter = self._charter_or_reject()
        if not charter.delegation:
            raise _reject(
                "delegation_not_allowed", "the charter does not let members delegate their vote"
            )
        if body.to is None:
            if record.author not in self._delegations:
                raise _reject("not_delegating", "there is no delegation in force to end")
            return
        if body.to == record.author:
            raise _reject("self_delegation", "a member does not delegate to themselves")
        if not self.is_member(body.to):
            raise _reject("not_member", f"{body.to} is not a member; a delegate is")

    def _check_policy(self, record: Record, now_ms: int | None) -> None:
        body = record.body
        assert isinstance(body, FederationPolicy)
        if body.decision is not None:
            self._ref(body.decision, RecordType.DECISION, "decision")
        if any(f.coop == self.coop for f in body.follow):
            raise _reject("bad_policy", "a co-op does not follow itself")

    def _provisional_flags(
        self,
        requester: RequesterRef,
        charter: Charter,
        now_ms: int,
        excluded: frozenset[bytes] | None = None,
    ) -> tuple[bytes, ...] | None:
        flags = self._flag_candidates(requester, charter, now_ms)
        if excluded is None:
            excluded = self._excluded_flags()
        return provisional_block_flags(charter, flags, now_ms, excluded=excluded)

    def _flag_candidates(
        self, requester: RequesterRef, charter: Charter, now_ms: int
    ) -> list[Record]:
        """The requester's flags that may count for a block at ``now_ms``, in log order.

        Only flags by current members count: a revoked member's flags stay in the log but
        no longer move the co-op to act.
        """
        return [
            e.record
            for e in self._live_flags(requester, now_ms, charter.block_rule.days)
            if self.is_member(e.record.author)
        ]

    def _live_flags(self, requester: RequesterRef, now_ms: int, days: int) -> list[Entry]:
        """The requester's flags that may still count at ``now_ms`` or later, in log order.

        A flag never counts again once it has expired or left the rule's window
        (``ts <= now - days``): both only grow more true as time goes on. So the flags
        still alive at the last time asked are remembered, and a later question only
        looks at those and the flags added since — not at the requester's whole history,
        which ``due`` would otherwise go through every round. An earlier ``now_ms`` or
        another window starts from the whole history again; the answer is the same.
        """
        flags = self._flags.get(requester, [])
        since = now_ms - days * DAY_MS
        held = self._live.get(requester)
        if held is not None and held[0] <= now_ms and held[1] == days:
            candidates = held[3] + flags[held[2] :]
        else:
            candidates = flags
        live = [e for e in candidates if _flag(e.record).expires > now_ms and e.record.ts > since]
        self._live[requester] = (now_ms, days, len(flags), live)
        return live

    def _excluded_flags(self) -> frozenset[bytes]:
        """Flags that no longer count towards a provisional block: retracted or cited."""
        return frozenset(self._retracted | self._cited_flags)

    # ------------------------------------------------------------------ applying

    def apply(self, record: Record, *, now_ms: int | None = None) -> Entry:
        """Check ``record`` and append it; return its entry. Raises and changes nothing if not."""
        self.check(record, now_ms=now_ms)
        entry = Entry(self.size, record)
        rtype = record.type
        if self.keep_all:
            self._entries[record.id] = entry
            self._log.append(entry)
        else:
            self._absent.discard(record.id)
            (self._page if type(record.body).FORGETTABLE else self._entries)[record.id] = entry
        self.size += 1
        if record.ts > self._latest_ts:
            self._latest_ts = record.ts
        body = record.body
        if rtype is not RecordType.CHARTER and not (
            isinstance(body, MemberAdmit) and body.via == "founder"
        ):
            self._founding = False
        if isinstance(body, Charter):
            self._charter = entry
            self._charters[record.id] = entry
            if body.decision is not None:
                self._consumed.add(body.decision)
            if not body.delegation:
                # A co-op that stops delegation ends every delegation: none comes back later.
                self._delegations.clear()
        elif isinstance(body, MemberAdmit):
            self._intervals.setdefault(body.member, []).append([entry.index, None])
            self._current.add(body.member)
            if body.via == "invite" and body.ref is not None:
                self._invites_used.add(body.ref)
            elif body.via == "decision" and body.ref is not None:
                self._consumed.add(body.ref)
        elif isinstance(body, MemberResign):
            self._resigned[record.author] = record.id
        elif isinstance(body, MemberRevoke):
            self._resigned.pop(body.member, None)
            self._intervals[body.member][-1][1] = entry.index
            self._current.discard(body.member)
            if body.via == "decision":
                self._consumed.add(body.ref)
            for role, holder in list(self._roles.items()):
                if holder == body.member:
                    del self._roles[role]
            # A delegation is between members: it ends when either of them leaves.
            for delegator, e in list(self._delegations.items()):
                if delegator == body.member or _delegate(e.record) == body.member:
                    del self._delegations[delegator]
        elif isinstance(body, RoleAssign):
            self._roles[body.role] = body.member
            self._consumed.add(body.decision)
        elif isinstance(body, Rating | Appeal | Reply | TaskReport):
            if self.keep_all:
                self._about.setdefault(body.requester, []).append(entry)
        elif isinstance(body, Flag):
            if self.keep_all:
                self._about.setdefault(body.requester, []).append(entry)
            self._flags.setdefault(body.requester, []).append(entry)
            if body.expires > self._flags_until.get(body.requester, 0):
                self._flags_until[body.requester] = body.expires
            if record.ts > self._flags_last.get(body.requester, 0):
                self._flags_last[body.requester] = record.ts
            if not self.keep_all:
                heapq.heappush(self._expiring, (body.expires, record.id, body.requester))
        elif isinstance(body, RequesterKey):
            self._requester_keys.setdefault(body.requester, set()).add(body.key)
        elif isinstance(body, RequesterAlias):
            self._aliases[body.requester] = body.alias_of
        elif isinstance(body, Retraction):
            self._retracted.add(body.record)
        elif isinstance(body, Proposal):
            assert self._charter is not None
            self._proposals[record.id] = _Proposal(
                entry=entry,
                charter_id=self._charter.record.id,
                roster=frozenset(self._current),
                delegations=tuple(sorted(self._delegations.values(), key=lambda e: e.record.id)),
            )
        elif isinstance(body, Ballot):
            self._proposals[body.proposal].ballots.append(entry)
        elif isinstance(body, Decision):
            decided = self._proposals[body.proposal]
            decided.decision = entry
            if not self.keep_all:
                decided.ballots = []  # a decided proposal takes no more ballots
                decided.delegations = ()
        elif isinstance(body, Block):
            self._blocks[body.requester] = entry
            self._cited_flags.update(body.flags)
            if body.decision is not None:
                self._consumed.add(body.decision)
        elif isinstance(body, Unblock):
            del self._blocks[body.requester]
            if body.decision is not None:
                self._consumed.add(body.decision)
        elif isinstance(body, FederationPolicy):
            self._policy = entry
        elif isinstance(body, Delegation):
            if body.to is None:
                del self._delegations[record.author]
            else:
                self._delegations[record.author] = entry
        return entry

    # ------------------------------------------------------------------ governance at work

    def due(self, now_ms: int) -> tuple[Body, ...]:
        """What the co-op's key must sign now, in order; append them, then ask again.

        Consequences of a decision are listed once the decision is in the log.
        """
        ch = self.charter
        if ch is None:
            return ()
        charter_id, charter = ch
        out: list[Body] = []
        for p in self._proposals.values():
            prop = p.entry.record.body
            assert isinstance(prop, Proposal)
            if p.decision is None and now_ms >= prop.closes:
                t = p.freeze().tally(self._charter_body(p.charter_id), now_ms)
                out.append(t.to_decision())
            elif p.decision is not None and p.decision.record.id not in self._consumed:
                out.extend(self._consequence(p, prop, now_ms, charter_id))
        for member, resignation in self._resigned.items():
            out.append(MemberRevoke(member=member, via="resignation", ref=resignation))
        # Built once, not per requester: it grows with every block and retraction.
        excluded = self._excluded_flags()
        # A clock more than BLOCK_BACKDATE_MS behind the log's latest record cannot sign a
        # provisional block the log would take: those wait until the clock is there.
        flags_now = {} if now_ms < self._latest_ts - BLOCK_BACKDATE_MS else self._flags
        for requester, flags in flags_now.items():
            # Fewer flags than the rule asks for cannot come from enough distinct members,
            # and flags that expired or left the window never count: most of a long
            # history is skipped here.
            if (
                requester in self._blocks
                or len(flags) < charter.block_rule.flags
                or self._flags_until[requester] <= now_ms
                or self._flags_last[requester] <= now_ms - charter.block_rule.days * DAY_MS
            ):
                continue
            cited = self._provisional_flags(requester, charter, now_ms, excluded)
            if cited is not None:
                out.append(
                    Block(
                        requester=requester,
                        reason=main_reason(self._entries[f].record for f in cited),
                        provisional=True,
                        review=now_ms + charter.block_rule.review_days * DAY_MS,
                        flags=cited,
                    )
                )
        for requester, entry in self._blocks.items():
            block = entry.record.body
            assert isinstance(block, Block)
            if now_ms >= block.review:
                out.append(Unblock(requester=requester, block=entry.record.id, why="review"))
            elif block.provisional and self._retracted_below(entry):
                out.append(Unblock(requester=requester, block=entry.record.id, why="retracted"))
        return tuple(out)

    def _consequence(
        self, p: _Proposal, prop: Proposal, now_ms: int, charter_id: bytes
    ) -> list[Body]:
        dec_entry = p.decision
        assert dec_entry is not None
        dec = dec_entry.record.body
        assert isinstance(dec, Decision)
        did = dec_entry.record.id
        kind = prop.kind
        if kind is ProposalKind.ELECT and dec.result == "elected":
            assert prop.role is not None and dec.winner is not None
            if self.is_member(dec.winner):
                return [RoleAssign(role=prop.role, member=dec.winner, decision=did)]
            return []
        if dec.result != "passed":
            return []
        if kind is ProposalKind.ADMIT and prop.member and not self.is_member(prop.member):
            return [MemberAdmit(member=prop.member, via="decision", ref=did)]
        if kind is ProposalKind.REVOKE and prop.member and self.is_member(prop.member):
            return [MemberRevoke(member=prop.member, via="decision", ref=did)]
        if kind is ProposalKind.BLOCK:
            assert prop.requester is not None and prop.reason is not None
            return [
                Block(
                    requester=prop.requester,
                    reason=prop.reason,
                    provisional=False,
                    review=now_ms + DECISION_BLOCK_REVIEW_MS,
                    decision=did,
                )
            ]
        if kind is ProposalKind.UNBLOCK:
            assert prop.requester is not None
            active = self._blocks.get(prop.requester)
            if active is not None:
                return [
                    Unblock(
                        requester=prop.requester,
                        block=active.record.id,
                        why="decision",
                        decision=did,
                    )
                ]
            return []
        if kind is ProposalKind.AMEND:
            assert prop.charter is not None
            rules = prop.charter.rules_value()
            return [Charter.from_value({**rules, "supersedes": charter_id, "decision": did})]
        return []


def independent(records: Sequence[Record]) -> bool:
    """Whether checking each record against the same state equals checking them in order.

    True when every record's type is ``ORDER_FREE`` (see :class:`.bodies.Body`), none
    cites or repeats another of them, and no two retract the same record: what such a
    record's check reads (its author's standing, the records it cites, the charter, the
    proposal it votes on) is changed by none of the others' ``apply``.
    """
    return batchable_prefix(records) == len(records)


def batchable_prefix(records: Sequence[Record]) -> int:
    """How many of the first ``records`` are :func:`independent` (at least one, if any)."""
    seen: set[bytes] = set()
    for i, record in enumerate(records):
        body = record.body
        if not body.ORDER_FREE:
            return max(i, 1)
        refs = body.references()
        if record.id in seen or any(r in seen for r in refs):
            return max(i, 1)
        seen.add(record.id)
        if isinstance(body, Retraction):
            seen.update(refs)  # a second retraction of the same record depends on the first
    return len(records)


def _delegate(record: Record) -> str | None:
    body = record.body
    assert isinstance(body, Delegation)
    return body.to


def _flag(record: Record) -> Flag:
    body = record.body
    assert isinstance(body, Flag)
    return body


def _block(record: Record) -> Block:
    body = record.body
    assert isinstance(body, Block)
    return body


class _Restore:
    """Reads a snapshot into a fresh governance-only state, checking each part as it goes."""

    FIELDS: Final = frozenset(
        {
            "v", "coop", "size", "latest_ts", "pruned_at", "founding", "entries", "charter",
            "expiring", "cited_expired", "intervals", "current", "proposals", "consumed",
            "invites_used", "blocks", "cited_flags", "flags", "flags_until", "flags_last",
            "retracted", "requester_keys", "aliases", "policy", "roles", "resigned",
            "delegations",
        }
    )  # fmt: skip

    def __init__(self, state: CoopState, snap: object) -> None:
        self.state = state
        self.m = _of(dict, snap, "the snapshot")
        self.held: dict[bytes, Entry] = {}

    def run(self) -> None:
        st, m = self.state, self.m
        if set(m) != self.FIELDS:
            raise _bad(f"fields {sorted(set(m) ^ self.FIELDS)} missing or unknown")
        if m["v"] != SNAPSHOT_VERSION:
            raise _bad(f"version {m['v']!r}, this code reads {SNAPSHOT_VERSION}")
        if m["coop"] != st.coop:
            raise _bad(f"it is co-op {m['coop']!r}'s, not {st.coop}'s")
        st.size = _uint(m["size"], "size")
        st._latest_ts = _uint(m["latest_ts"], "latest_ts")
        st._pruned_at = _uint(m["pruned_at"], "pruned_at")
        st._founding = _of(bool, m["founding"], "founding")
        last = -1
        for index, raw in self._pairs("entries"):
            entry = self._entry(index, raw, "entries")
            if entry.index <= last or type(entry.record.body).FORGETTABLE:
                raise _bad("entries must be held ones, in log order")
            last = entry.index
            self.held[entry.record.id] = entry
        st._entries = dict(self.held)
        for e in st._entries.values():
            if isinstance(e.record.body, Charter):
                st._charters[e.record.id] = e
        st._charter = self._opt(m["charter"], RecordType.CHARTER, "charter")
        st._expiring = [self._flag_key(x, "expiring") for x in _of(list, m["expiring"], "expiring")]
        st._cited_expired = [
            self._flag_key(x, "cited_expired")
            for x in _of(list, m["cited_expired"], "cited_expired")
        ]
        for did, ivs in self._pairs("intervals"):
            st._intervals[_of(str, did, "intervals")] = [
                [_uint(a, "intervals"), None if r is None else _uint(r, "intervals")]
                for a, r in (_pair(iv, "intervals") for iv in _of(list, ivs, "intervals"))
            ]
        st._current = set(self._texts("current"))
        for item in _of(list, m["proposals"], "proposals"):
            pid, charter_id, roster, ballots, decision, dels = _tuple(item, 6, "proposals")
            p = _Proposal(
                entry=self._get(pid, RecordType.PROPOSAL, "proposals"),
                charter_id=self._get(charter_id, RecordType.CHARTER, "proposals").record.id,
                roster=frozenset(_of(str, d, "roster") for d in _of(list, roster, "roster")),
                ballots=[
                    self._entry(i, r, "ballots")
                    for i, r in (_pair(b, "ballots") for b in _of(list, ballots, "ballots"))
                ],
                decision=self._opt(decision, RecordType.DECISION, "proposals"),
                delegations=tuple(
                    self._entry(i, r, "delegations", RecordType.DELEGATION)
                    for i, r in (_pair(d, "delegations") for d in _of(list, dels, "delegations"))
                ),
            )
            st._proposals[p.entry.record.id] = p
        st._consumed = set(self._digests("consumed"))
        st._invites_used = set(self._digests("invites_used"))
        for bid in _of(list, m["blocks"], "blocks"):
            e = self._get(bid, RecordType.BLOCK, "blocks")
            st._blocks[_block(e.record).requester] = e
        st._cited_flags = set(self._digests("cited_flags"))
        for r, ids in self._pairs("flags"):
            flags = [self._get(i, RecordType.FLAG, "flags") for i in _of(list, ids, "flags")]
            st._flags[_requester(r)] = flags
        for name, table in (("flags_until", st._flags_until), ("flags_last", st._flags_last)):
            for r, t in self._pairs(name):
                table[_requester(r)] = _uint(t, name)
        st._retracted = set(self._digests("retracted"))
        for r, keys in self._pairs("requester_keys"):
            st._requester_keys[_requester(r)] = {
                _of(str, k, "requester_keys") for k in _of(list, keys, "requester_keys")
            }
        for a, b in self._pairs("aliases"):
            st._aliases[_requester(a)] = _requester(b)
        st._policy = self._opt(m["policy"], RecordType.FEDERATION_POLICY, "policy")
        for role, did in self._pairs("roles"):
            st._roles[_of(str, role, "roles")] = _of(str, did, "roles")
        for did, rid in self._pairs("resigned"):
            resignation = self._get(rid, RecordType.MEMBER_RESIGN, "resigned")
            st._resigned[_of(str, did, "resigned")] = resignation.record.id
        for did, held in self._pairs("delegations"):
            e = self._entry(*_pair(held, "delegations"), "delegations", RecordType.DELEGATION)
            if e.record.author != did or _delegate(e.record) is None:
                raise _bad("delegations: each is its delegator's, naming a delegate")
            st._delegations[_of(str, did, "delegations")] = e

    def _pairs(self, name: str) -> list[tuple[object, object]]:
        return [_pair(x, name) for x in _of(list, self.m[name], name)]

    def _digests(self, name: str) -> list[bytes]:
        return [_of(bytes, x, name) for x in _of(list, self.m[name], name)]

    def _texts(self, name: str) -> list[str]:
        return [_of(str, x, name) for x in _of(list, self.m[name], name)]

    def _entry(
        self, index: object, raw: object, what: str, rtype: RecordType | None = None
    ) -> Entry:
        i = _uint(index, what)
        if i >= self.state.size:
            raise _bad(f"{what}: entry {i} is beyond the log of {self.state.size}")
        # Verified before it was stored; decoding still checks its schema.
        record = Record.from_bytes(_of(bytes, raw, what), verify=False)
        if record.coop != self.state.coop:
            raise _bad(f"{what}: entry {i} is another co-op's")
        if rtype is not None and record.type is not rtype:
            raise _bad(f"{what}: entry {i} is a {record.type.value}, not a {rtype.value}")
        return Entry(i, record)

    def _get(self, rid: object, rtype: RecordType, what: str) -> Entry:
        e = self.held.get(_of(bytes, rid, what))
        if e is None or e.record.type is not rtype:
            raise _bad(f"{what}: no held {rtype.value} {_of(bytes, rid, what).hex()}")
        return e

    def _opt(self, rid: object, rtype: RecordType, what: str) -> Entry | None:
        return None if rid is None else self._get(rid, rtype, what)

    def _flag_key(self, fid: object, what: str) -> tuple[int, bytes, RequesterRef]:
        e = self._get(fid, RecordType.FLAG, what)
        body = _flag(e.record)
        return body.expires, e.record.id, body.requester


def _bad(what: str) -> LocalProtocolError:
    return LocalProtocolError(f"malformed state snapshot: {what}")


def _of(kind: type[_T], value: object, what: str) -> _T:
    if type(value) is not kind:
        raise _bad(f"{what} must be {kind.__name__}, got {type(value).__name__}")
    assert isinstance(value, kind)
    return value


def _uint(value: object, what: str) -> int:
    n = _of(int, value, what)
    if n < 0:
        raise _bad(f"{what} must not be negative")
    return n


def _tuple(value: object, n: int, what: str) -> list[object]:
    items = _of(list, value, what)
    if len(items) != n:
        raise _bad(f"{what}: each item has {n} parts, got {len(items)}")
    return items


def _pair(value: object, what: str) -> tuple[object, object]:
    a, b = _tuple(value, 2, what)
    return a, b


def _requester(value: object) -> RequesterRef:
    return RequesterRef.from_value(value)


_CHECKS = {
    RecordType.CHARTER: CoopState._check_charter,
    RecordType.MEMBER_ADMIT: CoopState._check_admit,
    RecordType.MEMBER_REVOKE: CoopState._check_revoke,
    RecordType.ROLE_ASSIGN: CoopState._check_role,
    RecordType.FLAG: CoopState._check_flag,
    RecordType.APPEAL: CoopState._check_appeal,
    RecordType.REPLY: CoopState._check_reply,
    RecordType.RETRACTION: CoopState._check_retraction,
    RecordType.PROPOSAL: CoopState._check_proposal,
    RecordType.BALLOT: CoopState._check_ballot,
    RecordType.DECISION: CoopState._check_decision,
    RecordType.BLOCK: CoopState._check_block,
    RecordType.UNBLOCK: CoopState._check_unblock,
    RecordType.FEDERATION_POLICY: CoopState._check_policy,
    RecordType.OUTCOME: CoopState._check_outcome,
    RecordType.DELEGATION: CoopState._check_delegation,
    RecordType.TASK_REPORT: CoopState._check_task_report,
}
