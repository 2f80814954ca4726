"""Verification bundles: one file that proves a co-op's decision or block offline, or fails.

A bundle holds a co-op's decision or blocklist entry together with every record it rests
on (and the outcome its proposer stated, if any), an inclusion proof for each record against
one signed (and possibly witnessed) checkpoint of the co-op's log, and the roster the
decision was taken by.
:func:`verify_bundle` needs nothing but the bundle's bytes and, optionally, the witness
keys the reader trusts: it checks every signature and proof, recomputes the tally or the
provisional-block rule, and raises :class:`BundleError` on any fault, including an entry
the checks did not need, so that every byte of a valid bundle is load-bearing. What a
bundle can and cannot prove is spec/bundles.md.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from .bodies import (
    Ballot,
    Block,
    Charter,
    Decision,
    Delegation,
    Flag,
    MemberAdmit,
    MemberRevoke,
    Outcome,
    Proposal,
    ProposalKind,
    RecordType,
)
from .checkpoint import SignedCheckpoint, log_origin
from .encoding import decode, encode
from .errors import (
    BundleError,
    InvalidIdentity,
    LocalProtocolError,
    ProtocolError,
    RecordRejected,
)
from .governance import (
    SUPERMAJORITY_KINDS,
    YES_NO_KINDS,
    Tally,
    check_decision,
    tally,
)
from .identity import long_handle_for, public_key_from_did
from .merkle import MAX_SIZE, leaf_hash, verify_inclusion
from .note import MAX_NOTE_SIZE, MAX_TIMESTAMP, SIG_TYPE_COSIGNATURE_V1, NoteVerifier
from .records import MAX_RECORD_SIZE, Record, record_id
from .rules import (
    check_ballot,
    check_block_review,
    check_carries_out,
    check_decision_time,
    check_outcome,
    check_provisional_block,
    check_same_block,
    check_window,
)
from .state import CoopState, Entry

__all__ = [
    "BUNDLE_FORMAT",
    "KINDS",
    "MAX_BUNDLE_SIZE",
    "MAX_ENTRIES",
    "MAX_PROOF_HASHES",
    "Bundle",
    "BundleEntry",
    "InclusionProof",
    "Verdict",
    "build_block_bundle",
    "build_decision_bundle",
    "verify_bundle",
]

#: The value of a bundle's ``bundle`` field; a new layout gets a new version.
BUNDLE_FORMAT: Final = "coopfed-bundle/v1"
#: What a bundle may hold: a decision, or a blocklist entry (a ``block`` record).
KINDS: Final = ("block", "decision")
#: Largest bundle accepted, in bytes.
MAX_BUNDLE_SIZE: Final = 16 * 1024 * 1024
#: Most entries (and most roster members) a bundle may hold.
MAX_ENTRIES: Final = 100_000
#: An inclusion proof in a tree of at most 2**64 - 1 leaves has at most 64 hashes.
MAX_PROOF_HASHES: Final = 64

_KEYS: Final = frozenset({"bundle", "checkpoint", "coop", "entries", "kind", "roster", "subject"})
_ENTRY_KEYS: Final = frozenset({"index", "proof", "record"})
_HASH_SIZE: Final = 32
#: 9999-12-31 23:59:59 UTC, the last second ``datetime`` can show.
_LAST_DATE_S: Final = 253_402_300_799

#: An inclusion proof source: ``(index, tree size) -> proof hashes`` (e.g. MemoryTree's).
InclusionProof = Callable[[int, int], Sequence[bytes]]


@functools.lru_cache(maxsize=1024)
def _did_key(did: str) -> bytes:
    """``public_key_from_did``, remembered: a bundle names the same few DIDs many times."""
    return public_key_from_did(did)


def _local(code: str, message: str) -> LocalProtocolError:
    return LocalProtocolError(message, code=code)


def _kind_of(value: object) -> str:
    return {
        dict: "a map",
        list: "an array",
        str: "text",
        bytes: "binary",
        int: "an integer",
        bool: "a boolean",
        type(None): "nil",
    }.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- the file


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleEntry:
    """One log entry: its index, its inclusion proof, and the record's canonical bytes."""

    index: int
    proof: tuple[bytes, ...]
    record: bytes

    def __post_init__(self) -> None:
        if type(self.index) is not int or not 0 <= self.index < MAX_SIZE:
            raise _local("bad_entry", f"entry index must be in [0, 2**64-2], got {self.index!r}")
        if type(self.proof) is not tuple or len(self.proof) > MAX_PROOF_HASHES:
            raise _local(
                "bad_entry",
                f"an inclusion proof is a tuple of at most {MAX_PROOF_HASHES} hashes",
            )
        for h in self.proof:
            if type(h) is not bytes or len(h) != _HASH_SIZE:
                raise _local("bad_entry", f"proof hashes are {_HASH_SIZE} bytes, got {h!r}")
        if type(self.record) is not bytes or not 0 < len(self.record) <= MAX_RECORD_SIZE:
            raise _local("bad_entry", f"an entry's record is 1–{MAX_RECORD_SIZE} bytes of binary")

    def to_value(self) -> dict[str, object]:
        return {"index": self.index, "proof": list(self.proof), "record": self.record}


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    """A verification bundle, structurally valid; :func:`verify_bundle` checks the rest."""

    kind: str
    coop: str
    subject: bytes
    checkpoint: bytes
    entries: tuple[BundleEntry, ...]
    roster: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS or type(self.kind) is not str:
            raise _local("bad_kind", f"kind must be one of {KINDS}, got {self.kind!r}")
        if type(self.coop) is not str:
            raise _local("bad_coop", f"coop must be a did:key, got {self.coop!r}")
        try:
            _did_key(self.coop)
        except InvalidIdentity as exc:
            raise _local("bad_coop", f"coop: {exc.message}") from None
        if type(self.subject) is not bytes or len(self.subject) != _HASH_SIZE:
            raise _local("bad_subject", "subject must be a 32-byte record id")
        if type(self.checkpoint) is not bytes or not 0 < len(self.checkpoint) <= MAX_NOTE_SIZE:
            raise _local(
                "bad_checkpoint_field", f"checkpoint must be 1–{MAX_NOTE_SIZE} bytes of binary"
            )
        if type(self.entries) is not tuple or not 0 < len(self.entries) <= MAX_ENTRIES:
            raise _local("too_many_entries", f"a bundle holds 1–{MAX_ENTRIES} entries")
        previous = -1
        for e in self.entries:
            if not isinstance(e, BundleEntry):
                raise _local("bad_entry", f"entries are BundleEntry values, got {e!r}")
            if e.index <= previous:
                raise _local(
                    "unsorted_entries",
                    f"entry indices must strictly ascend; {e.index} follows {previous}",
                )
            previous = e.index
        if type(self.roster) is not tuple or not 0 < len(self.roster) <= MAX_ENTRIES:
            raise _local("bad_roster", f"the roster holds 1–{MAX_ENTRIES} DIDs")
        last: bytes | None = None
        for did in self.roster:
            if type(did) is not str:
                raise _local("bad_roster", f"roster entries are did:keys, got {did!r}")
            try:
                _did_key(did)
            except InvalidIdentity as exc:
                raise _local("bad_roster", f"roster: {exc.message}") from None
            raw = did.encode("utf-8")
            if last is not None and raw <= last:
                raise _local(
                    "unsorted_roster", "the roster must be sorted bytewise with no duplicates"
                )
            last = raw

    def to_bytes(self) -> bytes:
        """The canonical MessagePack encoding (spec/bundles.md §1)."""
        data = encode(
            {
                "bundle": BUNDLE_FORMAT,
                "checkpoint": self.checkpoint,
                "coop": self.coop,
                "entries": [e.to_value() for e in self.entries],
                "kind": self.kind,
                "roster": list(self.roster),
                "subject": self.subject,
            }
        )
        if len(data) > MAX_BUNDLE_SIZE:
            raise _local(
                "too_large", f"the bundle is {len(data)} bytes, more than {MAX_BUNDLE_SIZE}"
            )
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> Bundle:
        """Decode strictly: canonical bytes, exact keys, types and sizes; else BundleError."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise LocalProtocolError(f"from_bytes takes bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) > MAX_BUNDLE_SIZE:
            raise BundleError(
                f"bundle is {len(data)} bytes, more than the limit of {MAX_BUNDLE_SIZE}",
                code="too_large",
            )
        try:
            value = decode(data, max_size=MAX_BUNDLE_SIZE)
        except ProtocolError as exc:
            raise BundleError(f"bundle is not canonical: {exc.message}", code=exc.code) from exc
        if type(value) is not dict:
            raise _malformed(f"a bundle is a map, got {_kind_of(value)}")
        keys = set(value)
        if keys != _KEYS:
            missing = ", ".join(sorted(_KEYS - keys)) or "none"
            extra = ", ".join(sorted(keys - _KEYS)) or "none"
            raise _malformed(f"bundle fields wrong: missing {missing}; unknown {extra}")
        if type(value["bundle"]) is not str or value["bundle"] != BUNDLE_FORMAT:
            raise BundleError(
                f"bundle format must be {BUNDLE_FORMAT!r}, got {value['bundle']!r}",
                code="unsupported_version",
            )
        raw_entries = value["entries"]
        if type(raw_entries) is not list:
            raise _malformed(f"entries must be an array, got {_kind_of(raw_entries)}")
        if not 0 < len(raw_entries) <= MAX_ENTRIES:
            raise BundleError(
                f"a bundle holds 1–{MAX_ENTRIES} entries, got {len(raw_entries)}",
                code="too_many_entries",
            )
        entries = tuple(_entry_from_value(i, v) for i, v in enumerate(raw_entries))
        roster = value["roster"]
        if type(roster) is not list:
            raise _malformed(f"roster must be an array, got {_kind_of(roster)}")
        for i, did in enumerate(roster):
            if type(did) is not str:
                raise _malformed(f"roster[{i}] must be a did:key, got {_kind_of(did)}")
        for name in ("kind", "coop"):
            if type(value[name]) is not str:
                raise _malformed(f"{name} must be text, got {_kind_of(value[name])}")
        for name in ("subject", "checkpoint"):
            if type(value[name]) is not bytes:
                raise _malformed(f"{name} must be binary, got {_kind_of(value[name])}")
        try:
            return cls(
                kind=value["kind"],
                coop=value["coop"],
                subject=value["subject"],
                checkpoint=value["checkpoint"],
                entries=entries,
                roster=tuple(roster),
            )
        except LocalProtocolError as exc:
            raise BundleError(exc.message, code=exc.code) from None


def _malformed(message: str) -> BundleError:
    return BundleError(f"malformed bundle: {message}", code="malformed_bundle")


def _entry_from_value(i: int, value: object) -> BundleEntry:
    if type(value) is not dict or set(value) != _ENTRY_KEYS:
        got = sorted(value) if type(value) is dict else _kind_of(value)
        raise _malformed(f"entries[{i}] must be a map with keys index, proof, record; got {got}")
    index, proof, record = value["index"], value["proof"], value["record"]
    if type(index) is not int:
        raise _malformed(f"entries[{i}].index must be an integer, got {_kind_of(index)}")
    if type(proof) is not list:
        raise _malformed(f"entries[{i}].proof must be an array, got {_kind_of(proof)}")
    if type(record) is not bytes:
        raise _malformed(f"entries[{i}].record must be binary, got {_kind_of(record)}")
    try:
        return BundleEntry(index=index, proof=tuple(proof), record=record)
    except LocalProtocolError as exc:
        raise BundleError(f"entries[{i}]: {exc.message}", code=exc.code) from None


# --------------------------------------------------------------------------- building


def _entry_of(state: CoopState, rid: bytes, rtype: RecordType, name: str) -> Entry:
    if type(rid) is not bytes or len(rid) != _HASH_SIZE:
        raise LocalProtocolError(f"{name} must be a 32-byte record id, got {rid!r}")
    e = state.entry(rid)
    if e is None:
        raise LocalProtocolError(f"{name} {rid.hex()} is not in co-op {state.coop}'s log")
    if e.record.type is not rtype:
        raise LocalProtocolError(
            f"{name} {rid.hex()} is a {e.record.type.value}, expected a {rtype.value}"
        )
    return e


def _log_entries(state: CoopState) -> Iterable[Entry]:
    return state.entries()


def _latest_admits(state: CoopState, before: dict[str, int]) -> list[Entry]:
    """For each DID, its latest ``member.admit`` entry with an index below ``before[did]``."""
    found: dict[str, Entry] = {}
    for e in _log_entries(state):
        body = e.record.body
        if isinstance(body, MemberAdmit) and e.index < before.get(body.member, -1):
            held = found.get(body.member)
            if held is None or held.index < e.index:
                found[body.member] = e
    missing = sorted(set(before) - set(found))
    if missing:
        raise LocalProtocolError(f"no member.admit in the log for {', '.join(missing)}")
    return list(found.values())


def _latest_outcome(state: CoopState, decision_id: bytes) -> list[Entry]:
    """The outcome of a decision that holds (the latest in the log), as a list of 0 or 1."""
    found: list[Entry] = []
    for e in _log_entries(state):
        body = e.record.body
        if isinstance(body, Outcome) and body.decision == decision_id:
            found = [e]
    return found


def _decision_parts(state: CoopState, d: Entry) -> tuple[list[Entry], tuple[str, ...]]:
    dec = d.record.body
    assert isinstance(dec, Decision)
    info = state.proposal(dec.proposal)
    if info is None or info.decision != d:
        raise LocalProtocolError(f"decision {d.record.id.hex()} closes no proposal in this state")
    charter = state.entry(info.charter_id)
    assert charter is not None and isinstance(charter.record.body, Charter)
    # The delegations that cast a vote, and only those: the tally says which.
    used = set(info.tally(charter.record.body, d.record.ts).delegated)
    delegations = [e for e in info.delegations if e.record.id in used]
    p_index = info.entry.index
    admits = _latest_admits(state, dict.fromkeys(info.roster, p_index))
    entries = [
        charter,
        info.entry,
        *info.ballots,
        *delegations,
        d,
        *admits,
        *_latest_outcome(state, d.record.id),
    ]
    return entries, tuple(sorted(info.roster, key=lambda m: m.encode()))


def _assemble(
    *,
    state: CoopState,
    kind: str,
    subject: bytes,
    entries: list[Entry],
    roster: tuple[str, ...],
    checkpoint_note: bytes,
    inclusion_proof: InclusionProof,
) -> Bundle:
    if type(checkpoint_note) is not bytes:
        raise LocalProtocolError("checkpoint_note is the signed checkpoint note, as bytes")
    coop = state.coop
    try:
        signed = SignedCheckpoint(note=checkpoint_note, log_verifier=_log_verifier(coop))
    except ProtocolError as exc:
        raise LocalProtocolError(
            f"checkpoint_note is not a checkpoint of {coop}'s log: {exc.message}"
        ) from exc
    size = signed.size
    last = max(e.index for e in entries)
    if last >= size:
        raise LocalProtocolError(
            f"the checkpoint covers {size} entries but the bundle needs entry {last}"
        )
    by_index = {e.index: e for e in entries}
    built = tuple(
        BundleEntry(
            index=i,
            proof=tuple(inclusion_proof(i, size)),
            record=by_index[i].record.raw,
        )
        for i in sorted(by_index)
    )
    bundle = Bundle(
        kind=kind,
        coop=coop,
        subject=subject,
        checkpoint=checkpoint_note,
        entries=built,
        roster=roster,
    )
    # Never hand out a bundle that does not verify: a wrong proof source or a checkpoint
    # of another tree shows up here, where the fault is the caller's.
    try:
        verify_bundle(bundle.to_bytes())
    except BundleError as exc:
        raise LocalProtocolError(
            f"the bundle built does not verify ({exc.code}): {exc.message}"
        ) from exc
    return bundle


def build_decision_bundle(
    *,
    state: CoopState,
    decision_id: bytes,
    checkpoint_note: bytes,
    inclusion_proof: InclusionProof,
) -> Bundle:
    """The bundle of a decision in ``state``'s log, proved against ``checkpoint_note``.

    ``inclusion_proof(index, size)`` returns the inclusion proof of entry ``index`` in the
    tree of ``size`` entries the checkpoint signs (for example ``MemoryTree.inclusion_proof``).
    Raises ``LocalProtocolError`` if the decision is not in the log, the checkpoint is not
    the co-op's or does not cover the entries, or the result does not verify.
    """
    d = _entry_of(state, decision_id, RecordType.DECISION, "decision_id")
    entries, roster = _decision_parts(state, d)
    return _assemble(
        state=state,
        kind="decision",
        subject=d.record.id,
        entries=entries,
        roster=roster,
        checkpoint_note=checkpoint_note,
        inclusion_proof=inclusion_proof,
    )


def build_block_bundle(
    *,
    state: CoopState,
    block_id: bytes,
    checkpoint_note: bytes,
    inclusion_proof: InclusionProof,
) -> Bundle:
    """The bundle of a ``block`` record in ``state``'s log; see :func:`build_decision_bundle`."""
    b = _entry_of(state, block_id, RecordType.BLOCK, "block_id")
    block = b.record.body
    assert isinstance(block, Block)
    if block.decision is not None:
        d = _entry_of(state, block.decision, RecordType.DECISION, "the block's decision")
        entries, roster = _decision_parts(state, d)
        entries.append(b)
    else:
        flags = [_entry_of(state, f, RecordType.FLAG, "the block's flag") for f in block.flags]
        first_flag: dict[str, int] = {}
        for f in flags:
            first_flag.setdefault(f.record.author, f.index)
        admits = _latest_admits(state, first_flag)
        entries = [state.charter_at(b.index), *flags, *admits, b]
        roster = tuple(sorted(first_flag, key=lambda m: m.encode()))
    return _assemble(
        state=state,
        kind="block",
        subject=b.record.id,
        entries=entries,
        roster=roster,
        checkpoint_note=checkpoint_note,
        inclusion_proof=inclusion_proof,
    )


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """What a verified bundle shows, in values and in sentences a reader can quote."""

    kind: str
    coop: str
    subject: bytes
    #: Plain sentences: who decided what and when, the counts, quorum, roster, checkpoint
    #: and witnesses, ending with what the bundle cannot show.
    summary: tuple[str, ...]
    #: ``name+keyid`` of each trusted witness whose cosignature verified, sorted.
    witnesses: tuple[str, ...]
    checkpoint_size: int
    root_hash: bytes = field(repr=False)
    #: The text of the outcome statement the bundle carries (its proposer's), if any.
    outcome: str | None = None


def _log_verifier(coop: str) -> NoteVerifier:
    return NoteVerifier.ed25519(log_origin(coop), _did_key(coop))


@dataclass(frozen=True, slots=True)
class _Item:
    """A bundle entry whose record decoded, verified and is included in the checkpoint."""

    position: int
    index: int
    record: Record

    def where(self) -> str:
        return f"entry {self.position} (log index {self.index}, a {self.record.type.value})"


def _fail(code: str, message: str) -> BundleError:
    return BundleError(message, code=code)


@contextlib.contextmanager
def _rule(item: _Item, context: str | None = None) -> Iterator[None]:
    """A rule the log applies too (:mod:`.rules`): its refusal, with its code, as BundleError."""
    try:
        yield
    except RecordRejected as exc:
        raise BundleError(f"{context or item.where()}: {exc.message}", code=exc.code) from exc


def _when(ms: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _when_s(seconds: int) -> str:
    # Cosignature times may be any 63-bit value; dates stop at the year 9999.
    return _when(seconds * 1000) if seconds <= _LAST_DATE_S else f"POSIX time {seconds}"


def _who(did: str) -> str:
    return f"member {long_handle_for(_did_key(did))}"


def _short(rid: bytes) -> str:
    return rid.hex()[:16]


@dataclass(slots=True)
class _DecisionFacts:
    charter: _Item
    proposal: _Item
    decision: _Item
    ballots: list[_Item]
    tally: Tally
    outcome: _Item | None = None


class _Check:
    """One run of the checks over one decoded bundle; raises BundleError at the first fault."""

    def __init__(self, bundle: Bundle, items: list[_Item]) -> None:
        self.bundle = bundle
        self.items = items
        self.by_id: dict[bytes, _Item] = {}
        for it in items:
            other = self.by_id.setdefault(it.record.id, it)
            if other is not it:
                raise _fail(
                    "duplicate_record", f"{it.where()} repeats the record of {other.where()}"
                )
        self.used: set[bytes] = set()

    def need(self, rid: bytes, rtype: RecordType, what: str) -> _Item:
        it = self.by_id.get(rid)
        if it is None:
            raise _fail("missing_entry", f"{what} ({rid.hex()}) is not in the bundle")
        if it.record.type is not rtype:
            raise _fail(
                "wrong_reference", f"{what} is {it.where()}, expected a {rtype.value} record"
            )
        self.used.add(rid)
        return it

    def of_type(self, rtype: RecordType) -> list[_Item]:
        return [it for it in self.items if it.record.type is rtype]

    @staticmethod
    def before(a: _Item, b: _Item, why: str) -> None:
        if not a.index < b.index:
            raise _fail("wrong_order", f"{a.where()} must come before {b.where()}: {why}")

    def admits(self, before: dict[str, _Item]) -> None:
        """Each DID in ``before`` has an admit before that item and no included revoke after."""
        admits: dict[str, _Item] = {}
        for it in self.of_type(RecordType.MEMBER_ADMIT):
            body = it.record.body
            assert isinstance(body, MemberAdmit)
            limit = before.get(body.member)
            if limit is not None and it.index < limit.index:
                held = admits.get(body.member)
                if held is None or held.index < it.index:
                    admits[body.member] = it
        for did, limit in before.items():
            admit = admits.get(did)
            if admit is None:
                raise _fail(
                    "not_admitted",
                    f"roster member {did} has no member.admit in the bundle before {limit.where()}",
                )
            self.used.add(admit.record.id)
        for it in self.of_type(RecordType.MEMBER_REVOKE):
            body = it.record.body
            assert isinstance(body, MemberRevoke)
            admit = admits.get(body.member)
            limit = before.get(body.member)
            if admit is not None and limit is not None and admit.index < it.index < limit.index:
                raise _fail(
                    "revoked",
                    f"{it.where()} ended {body.member}'s membership before {limit.where()}",
                )

    def decision(self, d: _Item) -> _DecisionFacts:
        dec = d.record.body
        assert isinstance(dec, Decision)
        self.used.add(d.record.id)
        p = self.need(dec.proposal, RecordType.PROPOSAL, "the proposal the decision closes")
        c = self.need(dec.charter, RecordType.CHARTER, "the charter the decision names")
        self.before(c, p, "the charter was in force when the proposal entered the log")
        self.before(p, d, "a decision follows its proposal")
        prop = p.record.body
        charter = c.record.body
        assert isinstance(prop, Proposal) and isinstance(charter, Charter)
        roster = self.bundle.roster
        if len(roster) != dec.roster_size:
            raise _fail(
                "roster_mismatch",
                f"the bundle's roster has {len(roster)} members; the decision counts "
                f"{dec.roster_size}",
            )
        members = frozenset(roster)
        if p.record.author != self.bundle.coop and p.record.author not in members:
            # The signer rule (state.md §2): the roster is the members at P's index.
            raise _fail(
                "not_member", f"{p.where()} is by {p.record.author}, who is not on the roster"
            )
        with _rule(p):
            check_window(charter, prop)
        self.admits(dict.fromkeys(roster, p))
        ballots = []
        for b in self.of_type(RecordType.BALLOT):
            body = b.record.body
            assert isinstance(body, Ballot)
            if body.proposal != p.record.id:
                continue
            self.before(p, b, "a ballot follows its proposal")
            self.before(b, d, "no ballot follows the decision")
            with _rule(b):
                check_ballot(prop, members, b.record)
            self.used.add(b.record.id)
            ballots.append(b)
        # Under a charter without delegation none is read: any included is unused.
        delegations = self.delegations(p) if charter.delegation else []
        t = tally(
            charter=charter,
            charter_id=c.record.id,
            roster=members,
            proposal=p.record,
            ballots=[b.record for b in ballots],
            now_ms=d.record.ts,
            delegations=[x.record for x in delegations],
        )
        self.used.update(t.delegated)
        with _rule(d):
            check_decision_time(prop, d.record.ts)
        with _rule(d, "the tally of the bundle's ballots differs from the signed decision"):
            check_decision(dec, t)
        return _DecisionFacts(
            charter=c, proposal=p, decision=d, ballots=ballots, tally=t, outcome=self.outcome(p, d)
        )

    def delegations(self, p: _Item) -> list[_Item]:
        """The included delegations, item by item: grants, one per member, before ``p``."""
        out: list[_Item] = []
        delegators: set[str] = set()
        for it in self.of_type(RecordType.DELEGATION):
            body = it.record.body
            assert isinstance(body, Delegation)
            if body.to is None:
                raise _fail(
                    "bad_delegation",
                    f"{it.where()} ends a delegation; a bundle holds the delegations that voted",
                )
            if it.record.author in delegators:
                raise _fail(
                    "bad_delegation",
                    f"{it.where()} is a second delegation by {it.record.author}; one is in force",
                )
            delegators.add(it.record.author)
            self.before(it, p, "a delegation counts on proposals that enter the log after it")
            out.append(it)
        return out

    def outcome(self, p: _Item, d: _Item) -> _Item | None:
        """The outcome of ``d`` the bundle carries, if any: one, after ``d``, by P's author."""
        found = [
            it
            for it in self.of_type(RecordType.OUTCOME)
            if isinstance(it.record.body, Outcome) and it.record.body.decision == d.record.id
        ]
        if len(found) > 1:
            raise _fail(
                "extra_outcome",
                f"{found[1].where()} is a second outcome of the decision; a bundle carries the "
                "one that holds (the latest)",
            )
        if not found:
            return None
        o = found[0]
        self.before(d, o, "an outcome follows its decision")
        with _rule(o):
            check_outcome(o.record, p.record)
        self.used.add(o.record.id)
        return o

    def block_on_decision(self, b: _Item, block: Block) -> _DecisionFacts:
        assert block.decision is not None
        d = self.need(block.decision, RecordType.DECISION, "the decision the block carries out")
        self.before(d, b, "a block follows the decision it carries out")
        facts = self.decision(d)
        dec = d.record.body
        prop = facts.proposal.record.body
        assert isinstance(dec, Decision) and isinstance(prop, Proposal)
        with _rule(b):
            check_carries_out(dec, prop, [ProposalKind.BLOCK], what=f"the decision {d.where()}")
            check_same_block(block, prop)
        return facts

    def block_on_flags(self, b: _Item, block: Block) -> tuple[_Item, list[_Item]]:
        flags = [self.need(f, RecordType.FLAG, "a flag the block cites") for f in block.flags]
        for f in flags:
            self.before(f, b, "a block follows its flags")
            body = f.record.body
            assert isinstance(body, Flag)
            if body.requester != block.requester:
                raise _fail(
                    "flags_mismatch",
                    f"{f.where()} is about {body.requester}, not the blocked {block.requester}",
                )
        charters = [c for c in self.of_type(RecordType.CHARTER) if c.index < b.index]
        if not charters:
            raise _fail("missing_entry", "the charter in force at the block is not in the bundle")
        c = max(charters, key=lambda it: it.index)
        self.used.add(c.record.id)
        charter = c.record.body
        assert isinstance(charter, Charter)
        with _rule(b):
            check_provisional_block(charter, block, b.record.ts, [f.record for f in flags])
        authors = {f.record.author: f for f in flags}
        if set(self.bundle.roster) != set(authors):
            raise _fail(
                "roster_mismatch", "the roster of a block on flags is the flags' authors exactly"
            )
        self.admits(authors)
        return c, flags

    def unused(self) -> None:
        for it in self.items:
            if it.record.id not in self.used:
                raise _fail(
                    "unused_entry",
                    f"{it.where()} is not needed to check this {self.bundle.kind}: a bundle "
                    "holds exactly the records its checks use",
                )


def _check_arguments(
    trusted_witnesses: Sequence[NoteVerifier],
    min_witnesses: int,
    expected_coop: str | None,
    now_s: int | None,
) -> tuple[NoteVerifier, ...]:
    if isinstance(trusted_witnesses, NoteVerifier):
        raise LocalProtocolError("trusted_witnesses is a sequence of NoteVerifiers")
    witnesses = tuple(trusted_witnesses)
    seen: dict[tuple[str, bytes], NoteVerifier] = {}
    for w in witnesses:
        if not isinstance(w, NoteVerifier) or w.sig_type != SIG_TYPE_COSIGNATURE_V1:
            raise LocalProtocolError(f"trusted witnesses are type-0x04 NoteVerifiers, got {w!r}")
        if seen.setdefault((w.name, w.key_id), w) != w:
            raise LocalProtocolError(f"two different witness keys share {w.label}")
    if type(min_witnesses) is not int or not 0 <= min_witnesses <= len(seen):
        raise LocalProtocolError(
            f"min_witnesses must be between 0 and the {len(seen)} trusted witnesses, "
            f"got {min_witnesses!r}"
        )
    if expected_coop is not None:
        try:
            public_key_from_did(expected_coop)
        except InvalidIdentity as exc:
            raise LocalProtocolError(f"expected_coop: {exc.message}") from exc
    if now_s is not None and (type(now_s) is not int or not 0 <= now_s <= MAX_TIMESTAMP):
        raise LocalProtocolError(f"now_s is POSIX seconds, got {now_s!r}")
    return tuple(seen.values())


def verify_bundle(
    data: bytes,
    *,
    trusted_witnesses: Sequence[NoteVerifier] = (),
    min_witnesses: int = 0,
    expected_coop: str | None = None,
    now_s: int | None = None,
) -> Verdict:
    """Check a bundle completely and offline; return what it shows or raise BundleError.

    ``trusted_witnesses`` are the cosignature (type 0x04) keys the reader trusts; at least
    ``min_witnesses`` of them must have validly cosigned the checkpoint, and any cosignature
    line from one of them that fails to verify rejects the bundle. Lines from other keys
    cannot be checked and are ignored. ``now_s`` (POSIX seconds), when given, discounts
    cosignatures dated more than five minutes after it. Arguments that can never be right
    raise ``LocalProtocolError``; every fault in ``data`` raises ``BundleError`` whose
    ``code`` names it (spec/bundles.md §4).
    """
    witnesses = _check_arguments(trusted_witnesses, min_witnesses, expected_coop, now_s)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"verify_bundle takes bytes, not {type(data).__name__}")
    bundle = Bundle.from_bytes(data)
    try:
        return _verify(bundle, witnesses, min_witnesses, expected_coop, now_s)
    except BundleError:
        raise
    except ProtocolError as exc:
        # Every check above names its fault; this keeps the promise that bad data never
        # escapes as anything but a BundleError should a library check fire first.
        raise BundleError(f"bundle does not verify: {exc.message}", code=exc.code) from exc


def _verify(
    bundle: Bundle,
    witnesses: tuple[NoteVerifier, ...],
    min_witnesses: int,
    expected_coop: str | None,
    now_s: int | None,
) -> Verdict:
    coop = bundle.coop
    if expected_coop is not None and coop != expected_coop:
        raise _fail("wrong_coop", f"the bundle is about co-op {coop}, expected {expected_coop}")

    # 1. The checkpoint: signed by the co-op's own key, for the co-op's own log.
    try:
        signed = SignedCheckpoint(note=bundle.checkpoint, log_verifier=_log_verifier(coop))
        coop_key = _did_key(coop)
        # A co-op cannot witness its own log: its cosignature would add nothing.
        own = [w for w in witnesses if w.public_key != coop_key]
        if now_s is None:
            cosigs = signed.cosignatures(own, now=MAX_TIMESTAMP, max_future_skew=0)
        else:
            cosigs = signed.cosignatures(own, now=now_s)
    except ProtocolError as exc:
        raise BundleError(
            f"the checkpoint is not a valid signed checkpoint of co-op {coop}'s log: {exc.message}",
            code=exc.code,
        ) from exc
    if len(cosigs) < min_witnesses:
        named = ", ".join(c.witness.label for c in cosigs) or "none"
        raise _fail(
            "too_few_witnesses",
            f"{len(cosigs)} trusted witnesses cosigned the checkpoint ({named}); "
            f"{min_witnesses} are required",
        )
    size, root = signed.size, signed.root_hash

    # 2. Every entry is in that tree. Hashing comes before any signature check: it is
    # cheap, and it binds every byte of every record to the checkpoint first.
    for pos, e in enumerate(bundle.entries):
        where = f"entry {pos} (log index {e.index})"
        if e.index >= size:
            raise _fail(
                "index_out_of_range",
                f"{where} lies beyond the checkpoint, which covers {size} entries",
            )
        try:
            verify_inclusion(leaf_hash(e.record), e.index, size, e.proof, root)
        except ProtocolError as exc:
            raise BundleError(
                f"{where} is not proved to be in the co-op's log: {exc.message}", code=exc.code
            ) from exc

    if bundle.subject not in {record_id(e.record) for e in bundle.entries}:
        raise _fail("missing_subject", f"the subject {bundle.subject.hex()} is not in the bundle")

    # 3. Every entry is a valid, signed record of this co-op.
    items = []
    for pos, e in enumerate(bundle.entries):
        where = f"entry {pos} (log index {e.index})"
        try:
            record = Record.from_bytes(e.record)
        except ProtocolError as exc:
            raise BundleError(
                f"{where} is not a valid record: {exc.message}", code=exc.code
            ) from exc
        if record.coop != coop:
            raise _fail(
                "foreign_entry", f"{where} is a record of co-op {record.coop}, not of {coop}"
            )
        items.append(_Item(pos, e.index, record))

    # 4. The subject and what it rests on.
    check = _Check(bundle, items)
    subject = check.by_id[bundle.subject]
    want = RecordType.DECISION if bundle.kind == "decision" else RecordType.BLOCK
    if subject.record.type is not want:
        raise _fail("wrong_subject", f"the subject is {subject.where()}, expected a {want.value}")
    lines: list[str] = []
    outcome: _Item | None = None
    if bundle.kind == "decision":
        facts = check.decision(subject)
        outcome = facts.outcome
        lines += _decision_lines(coop, facts, lead=True)
    else:
        check.used.add(subject.record.id)
        block = subject.record.body
        assert isinstance(block, Block)
        with _rule(subject):
            check_block_review(block, subject.record.ts)
        lines.append(
            f"Co-op {coop} blocked requester {block.requester} for "
            f"{_for(block.reason.value)} on {_when(subject.record.ts)}, until a review on "
            f"{_when(block.review)}."
        )
        if block.decision is not None:
            facts = check.block_on_decision(subject, block)
            outcome = facts.outcome
            lines.append("The block carries out the members' decision set out next.")
            lines += _decision_lines(coop, facts, lead=False)
        else:
            c, flags = check.block_on_flags(subject, block)
            lines += _flag_lines(c, flags)
    check.unused()

    # 5. The log and the witnesses.
    lines.append(
        f"All {len(items)} records in this file are included in the co-op's log, as its "
        f"signed checkpoint of {size} entries (root {root.hex()[:16]}…) shows."
    )
    if cosigs:
        lines.append(
            "Witnesses you trust cosigned that checkpoint: "
            + "; ".join(f"{c.witness.label} on {_when_s(c.timestamp)}" for c in cosigs)
            + "."
        )
    elif witnesses:
        lines.append(f"None of the {len(witnesses)} witnesses you trust cosigned the checkpoint.")
    else:
        lines.append(
            "No witness keys were given, so no cosignature was checked: the checkpoint is "
            "vouched for by the co-op's own signature alone."
        )
    lines.append(
        "This file cannot show records the co-op's log holds outside it (such as a later "
        "change); a witness or the log itself can."
    )
    return Verdict(
        kind=bundle.kind,
        coop=coop,
        subject=bundle.subject,
        summary=tuple(lines),
        witnesses=tuple(c.witness.label for c in cosigs),
        checkpoint_size=size,
        root_hash=root,
        outcome=None if outcome is None else _outcome_text(outcome),
    )


def _outcome_text(item: _Item) -> str:
    body = item.record.body
    assert isinstance(body, Outcome)
    return body.text


# --------------------------------------------------------------------------- sentences


_FOR_REASON: Final = {
    "underpaid": "underpaying",
    "unfair_rejection": "unfair rejections",
    "broken": "broken tasks",
    "scam": "a scam",
    "harmful_content": "harmful content",
    "privacy": "privacy violations",
    "unpaid_screener": "unpaid screeners",
    "terms_violation": "breaking the platform's terms",
    "other": "another reason (see the flags or proposal)",
}


def _reason(value: str) -> str:
    """A flag reason code as words: ``unfair_rejection`` → ``unfair rejection``."""
    return value.replace("_", " ")


def _for(value: str) -> str:
    """A reason code as what a requester is blocked for."""
    return _FOR_REASON.get(value, _reason(value))


def _choice(choice: str) -> str:
    return _who(choice) if choice.startswith("did:key:") else choice


def _question(prop: Proposal) -> str:
    kind = prop.kind
    if kind is ProposalKind.BLOCK:
        reason = _for(prop.reason.value) if prop.reason else "no stated reason"
        return f"to block requester {prop.requester} for {reason}"
    if kind is ProposalKind.UNBLOCK:
        return f"to unblock requester {prop.requester}"
    if kind is ProposalKind.ADMIT:
        return f"to admit {prop.member} as a member"
    if kind is ProposalKind.REVOKE:
        return f"to end the membership of {prop.member}"
    if kind is ProposalKind.AMEND:
        return "to amend the charter"
    if kind is ProposalKind.ELECT:
        return f"to elect a {prop.role} from {len(prop.candidates)} candidates"
    return "to launch an idea"


_RESULTS: Final = {
    "passed": "it passed",
    "rejected": "it was rejected",
    "no_quorum": "it failed for want of a quorum",
    "tied": "the election was tied",
    "launched": "the idea was launched",
    "not_launched": "the idea was not launched",
}


def _decision_lines(coop: str, facts: _DecisionFacts, *, lead: bool) -> list[str]:
    p, d, t = facts.proposal, facts.decision, facts.tally
    prop, dec, charter = p.record.body, d.record.body, facts.charter.record.body
    assert isinstance(prop, Proposal) and isinstance(dec, Decision)
    assert isinstance(charter, Charter)
    if dec.result == "elected" and dec.winner is not None:
        outcome = f"{_who(dec.winner)} was elected"
    else:
        outcome = _RESULTS.get(dec.result, dec.result)
    author = "the co-op" if p.record.author == coop else _who(p.record.author)
    lines = []
    if lead:
        lines.append(f"Co-op {coop} signed a decision on {_when(d.record.ts)}: {outcome}.")
    else:
        lines.append(f"The co-op signed that decision on {_when(d.record.ts)}: {outcome}.")
    lines.append(
        f"The proposal, put by {author} on {_when(p.record.ts)}, asked {_question(prop)}; "
        f"its pitch: “{prop.pitch}”. Voting was open from {_when(prop.opens)} to "
        f"{_when(prop.closes)}."
    )
    counts = ", ".join(f"{_choice(k)} {n}" for k, n in t.counts)
    quorum = "met" if t.quorum_met else "not met"
    if t.delegations_root is None:
        lines.append(
            f"{len(t.counted)} ballots counted ({counts}) from a roster of {t.roster_size} "
            f"members; the quorum of {charter.quorum_pct}% needed {t.quorum_needed} ballots "
            f"and was {quorum}."
        )
    else:
        lines.append(
            f"{len(t.counted)} ballots counted and {len(t.delegated)} votes cast by delegation "
            f"({counts}) from a roster of {t.roster_size} members; the quorum of "
            f"{charter.quorum_pct}% needed {t.quorum_needed} votes and was {quorum}."
        )
        lines.append(
            "The charter lets members delegate their vote: a member who did not vote counted "
            "as the member they delegated to voted, one level deep; the delegations that did "
            "are in this file."
        )
    if t.ignored:
        lines.append(
            f"{len(t.ignored)} earlier ballots were replaced by their authors' later ones."
        )
    if prop.kind in YES_NO_KINDS:
        pct = charter.amend_pct if prop.kind in SUPERMAJORITY_KINDS else charter.pass_pct
        lines.append(f"To pass, yes had to be more than {pct}% of the yes and no ballots.")
    elif prop.kind is ProposalKind.IDEA:
        lines.append(
            f"An idea launches with more than {charter.idea_up} up votes and no more downs "
            "than ups."
        )
    lines.append(
        f"The rules are those of the charter “{charter.name}” "
        f"({_short(facts.charter.record.id)}…), "
        "recorded before the proposal; the tally was recomputed from the ballots in this "
        "file and matches the co-op's signed decision."
    )
    lines.append(
        f"Each of the {t.roster_size} members on the roster is shown admitted to the co-op "
        "before the proposal entered its log."
    )
    if facts.outcome is not None:
        lines.append(
            f"The proposal's author stated the outcome on {_when(facts.outcome.record.ts)}: "
            f"“{_outcome_text(facts.outcome)}”"
        )
    return lines


def _flag_lines(c: _Item, flags: list[_Item]) -> list[str]:
    charter = c.record.body
    assert isinstance(charter, Charter)
    rule = charter.block_rule
    parts = []
    for f in sorted(flags, key=lambda it: it.index):
        body = f.record.body
        assert isinstance(body, Flag)
        parts.append(
            f"{_who(f.record.author)} ({_reason(body.reason.value)}, {_when(f.record.ts)})"
        )
    return [
        f"The block is provisional: {len(flags)} members flagged the requester — "
        + "; ".join(parts)
        + ".",
        f"The charter “{charter.name}” ({_short(c.record.id)}…) blocks provisionally when "
        f"{rule.flags} members flag a requester within {rule.days} days, for {rule.review_days} "
        "days; these flags meet that rule at the block's time.",
        f"Each of the {len(flags)} flagging members is shown admitted to the co-op before "
        "their flag.",
    ]
