"""Verification bundles: built from a real co-op log, verified offline, and every byte matters."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.bodies import (
    DAY_MS,
    Ballot,
    Block,
    BlockRule,
    Charter,
    Flag,
    FlagReason,
    MemberAdmit,
    MemberResign,
    MemberRevoke,
    Proposal,
    ProposalKind,
    Rating,
    RecordType,
    RequesterRef,
)
from coopfed.protocol.bundle import (
    BUNDLE_FORMAT,
    MAX_BUNDLE_SIZE,
    MAX_ENTRIES,
    Bundle,
    BundleEntry,
    build_block_bundle,
    build_decision_bundle,
    verify_bundle,
)
from coopfed.protocol.checkpoint import (
    Checkpoint,
    add_cosignatures,
    cosign,
    log_origin,
    sign_checkpoint,
)
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import BundleError, LocalProtocolError, RecordRejected
from coopfed.protocol.governance import tally
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import MemoryTree
from coopfed.protocol.note import NoteVerifier
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState
from coopfed.protocol.witness import witness_verifier

T0 = 1_767_225_600_000  # 2026-01-01
MINUTE = 60_000
HOUR = 60 * MINUTE
REQ = RequesterRef(platform="mturk", id="A1EXAMPLE")
REQ2 = RequesterRef(platform="mturk", id="A2FLAGGED")
ROOT = Path(__file__).resolve().parents[2]
VECTORS_DIR = ROOT / "spec" / "vectors"
WITNESSES = ("witness.example/alpha", "witness.example/beta")
COSIGNED_AT = 1_767_300_000  # seconds


def key(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(b"coopfed-bundle-test-" + name.encode()).digest())


def witness(name: str) -> NoteVerifier:
    return NoteVerifier.cosignature_v1(name, key(name).public_key)


TRUSTED = tuple(witness(w) for w in WITNESSES)

CHARTER = Charter(
    name="Night Shift Co-op",
    quorum_pct=50,
    pass_pct=50,
    amend_pct=66,
    min_window_ms=HOUR,
    max_window_ms=14 * DAY_MS,
    idea_up=2,
    block_rule=BlockRule(flags=3, days=7, review_days=30),
    min_pay_cents=1200,
    admission="invite",
)


class Coop:
    """A co-op's log being written: its key, its state, and the Merkle tree of its entries."""

    def __init__(self, name: str = "coop", founders: tuple[str, ...] = ("ana", "bo", "cy")):
        self.key = key(name)
        self.did = self.key.did
        self.state = CoopState(self.did)
        self.tree = MemoryTree()
        self.log: list[Record] = []
        self.now = T0
        self.own(CHARTER)
        for who in founders:
            self.own(MemberAdmit(member=key(who).did, via="founder"))

    def sign(self, who: str | SigningIdentity, body: object) -> Record:
        signer = key(who) if isinstance(who, str) else who
        return sign_record(signer, coop=self.did, ts=self.now, body=body)  # type: ignore[arg-type]

    def add(self, record: Record) -> Record:
        self.state.apply(record, now_ms=self.now)
        assert self.tree.append(record.raw) == self.state.size - 1
        self.log.append(record)
        return record

    def own(self, body: object) -> Record:
        return self.add(self.sign(self.key, body))

    def by(self, who: str, body: object) -> Record:
        return self.add(self.sign(who, body))

    def govern(self) -> list[Record]:
        done = []
        while due := self.state.due(self.now):
            done.extend(self.own(b) for b in due)
        return done

    def checkpoint(self, witnesses: tuple[str, ...] = WITNESSES, at: int = COSIGNED_AT) -> bytes:
        cp = Checkpoint(
            origin=log_origin(self.did), size=self.tree.size, root_hash=self.tree.root()
        )
        note = sign_checkpoint(cp, self.key.signing_key)
        return add_cosignatures(note, [cosign(cp, key(w).signing_key, w, at) for w in witnesses])


@dataclasses.dataclass(frozen=True)
class Story:
    coop: Coop
    decision: Record
    block: Record
    provisional: Record
    rating: Record
    note: bytes

    def decision_bundle(self) -> Bundle:
        return build_decision_bundle(
            state=self.coop.state,
            decision_id=self.decision.id,
            checkpoint_note=self.note,
            inclusion_proof=self.coop.tree.inclusion_proof,
        )

    def block_bundle(self) -> Bundle:
        return build_block_bundle(
            state=self.coop.state,
            block_id=self.block.id,
            checkpoint_note=self.note,
            inclusion_proof=self.coop.tree.inclusion_proof,
        )

    def provisional_bundle(self) -> Bundle:
        return build_block_bundle(
            state=self.coop.state,
            block_id=self.provisional.id,
            checkpoint_note=self.note,
            inclusion_proof=self.coop.tree.inclusion_proof,
        )


@functools.cache
def story(name: str = "coop") -> Story:
    """Three founders vote to block a requester, then flag another into a provisional block."""
    c = Coop(name)
    rating = c.by("ana", Rating(requester=REQ, scores=(("pay", 1),), hourly_cents=300, minutes=30))
    prop = c.by(
        "ana",
        Proposal(
            kind=ProposalKind.BLOCK,
            pitch="Block A1EXAMPLE: pays $3/hour",
            opens=c.now,
            closes=c.now + HOUR,
            requester=REQ,
            reason=FlagReason.UNDERPAID,
        ),
    )
    c.now += 10 * MINUTE
    for who, choice in (("ana", "yes"), ("bo", "yes"), ("cy", "no")):
        c.by(who, Ballot(proposal=prop.id, choice=choice))
        c.now += MINUTE
    c.now = T0 + HOUR + MINUTE
    decision, block = c.govern()
    for who in ("ana", "bo", "cy"):
        c.by(
            who,
            Flag(
                requester=REQ2,
                target="requester",
                target_id=None,
                reason=FlagReason.UNFAIR_REJECTION if who == "cy" else FlagReason.SCAM,
                expires=c.now + 30 * DAY_MS,
            ),
        )
        c.now += MINUTE
    (provisional,) = c.govern()
    assert isinstance(provisional.body, Block) and provisional.body.provisional
    return Story(
        coop=c,
        decision=decision,
        block=block,
        provisional=provisional,
        rating=rating,
        note=c.checkpoint(),
    )


@functools.cache
def bundles() -> dict[str, Bundle]:
    s = story()
    return {
        "decision": s.decision_bundle(),
        "block-on-decision": s.block_bundle(),
        "provisional-block": s.provisional_bundle(),
    }


def check(data: bytes, **kw: Any) -> Any:
    kw.setdefault("trusted_witnesses", TRUSTED)
    kw.setdefault("min_witnesses", 2)
    return verify_bundle(data, **kw)


def refused(data: bytes, code: str | None = None, **kw: Any) -> BundleError:
    with pytest.raises(BundleError) as caught:
        check(data, **kw)
    if code is not None:
        assert caught.value.code == code, caught.value
    return caught.value


def with_entries(bundle: Bundle, entries: list[BundleEntry], **changes: Any) -> bytes:
    entries = sorted(entries, key=lambda e: e.index)
    return dataclasses.replace(bundle, entries=tuple(entries), **changes).to_bytes()


def entry_of(bundle: Bundle, rtype: RecordType) -> list[BundleEntry]:
    return [e for e in bundle.entries if Record.from_bytes(e.record).type is rtype]


def log_entry(coop: Coop, record: Record, size: int | None = None) -> BundleEntry:
    entry = coop.state.entry(record.id)
    assert entry is not None
    return BundleEntry(
        index=entry.index,
        proof=tuple(coop.tree.inclusion_proof(entry.index, size)),
        record=record.raw,
    )


# --------------------------------------------------------------------------- what verifies


def test_decision_bundle_holds_exactly_what_the_spec_lists() -> None:
    b = story().decision_bundle()
    types = [Record.from_bytes(e.record).type for e in b.entries]
    assert types == [
        RecordType.CHARTER,
        *[RecordType.MEMBER_ADMIT] * 3,
        RecordType.PROPOSAL,
        *[RecordType.BALLOT] * 3,
        RecordType.DECISION,
    ]
    assert b.kind == "decision" and b.subject == story().decision.id
    assert b.roster == tuple(sorted((key(n).did for n in ("ana", "bo", "cy")), key=str.encode))


def test_decision_bundle_verifies_and_says_what_happened() -> None:
    s = story()
    data = s.decision_bundle().to_bytes()
    v = check(data, expected_coop=s.coop.did)
    assert (v.kind, v.coop, v.subject) == ("decision", s.coop.did, s.decision.id)
    assert v.witnesses == tuple(sorted(w.label for w in TRUSTED))
    assert v.checkpoint_size == s.coop.tree.size
    assert v.root_hash == s.coop.tree.root()
    text = "\n".join(v.summary)
    for needle in (
        "it passed",
        "to block requester mturk:A1EXAMPLE for underpaying",
        "3 ballots counted (abstain 0, no 1, yes 2)",
        "roster of 3 members",
        "quorum of 50% needed 2 ballots and was met",
        "more than 50% of the yes and no ballots",
        f"checkpoint of {s.coop.tree.size} entries",
        "witness.example/alpha+",
        "witness.example/beta+",
        "2026-01-01 01:01:00 UTC",
        "cannot show",
    ):
        assert needle in text, needle
    # Nothing but plain text: whole sentences, one or more per line.
    for b in bundles().values():
        lines = check(b.to_bytes()).summary
        assert all(isinstance(line, str) and line.endswith(".") for line in lines), lines


def test_block_bundles_verify() -> None:
    s = story()
    v = check(s.block_bundle().to_bytes())
    assert (v.kind, v.subject) == ("block", s.block.id)
    text = "\n".join(v.summary)
    assert "blocked requester mturk:A1EXAMPLE for underpaying" in text
    assert "carries out the members' decision" in text and "it passed" in text
    p = s.provisional_bundle()
    assert len(p.roster) == 3
    assert [Record.from_bytes(e.record).type for e in p.entries].count(RecordType.FLAG) == 3
    v = check(p.to_bytes())
    text = "\n".join(v.summary)
    assert (v.kind, v.subject) == ("block", s.provisional.id)
    assert "provisional: 3 members flagged" in text
    assert "3 members flag a requester within 7 days" in text
    assert "blocked requester mturk:A2FLAGGED for a scam" in text


def test_without_witness_keys_the_verdict_says_so() -> None:
    v = verify_bundle(story().decision_bundle().to_bytes())
    assert v.witnesses == ()
    assert "No witness keys were given" in "\n".join(v.summary)
    v = verify_bundle(story().decision_bundle().to_bytes(), trusted_witnesses=[witness("w/gamma")])
    assert v.witnesses == ()
    assert "None of the 1 witnesses you trust" in "\n".join(v.summary)


def test_round_trip_is_canonical() -> None:
    for b in bundles().values():
        data = b.to_bytes()
        again = Bundle.from_bytes(data)
        assert again == b
        assert again.to_bytes() == data


# --------------------------------------------------------------------------- every byte matters


@pytest.mark.parametrize("name", ["decision", "block-on-decision", "provisional-block"])
def test_flipping_any_byte_is_refused(name: str) -> None:
    data = bundles()[name].to_bytes()
    check(data)
    codes: set[str] = set()
    for offset in range(len(data)):
        flipped = bytearray(data)
        flipped[offset] ^= 0x01
        try:
            check(bytes(flipped))
        except BundleError as exc:
            codes.add(exc.code)
        else:
            pytest.fail(f"flipping byte {offset} of {len(data)} still verifies")
    # The faults are caught by many different checks, not by one catch-all.
    assert {"root_mismatch", "invalid_signature", "unsorted_keys"} <= codes, codes


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_corruption_never_raises_anything_else(data: st.DataObject) -> None:
    original = bundles()["decision"].to_bytes()
    corrupt = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(corrupt) - 1))
        op = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if op == "set":
            corrupt[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del corrupt[at : at + data.draw(st.integers(1, 64))]
        else:
            corrupt[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        if not corrupt:
            corrupt = bytearray(b"\x00")
    if bytes(corrupt) == original:
        return
    with pytest.raises(BundleError):
        check(bytes(corrupt))


@pytest.mark.parametrize("name", ["decision", "block-on-decision", "provisional-block"])
def test_every_entry_is_needed(name: str) -> None:
    b = bundles()[name]
    for i in range(len(b.entries)):
        rest = list(b.entries[:i] + b.entries[i + 1 :])
        refused(with_entries(b, rest))


@pytest.mark.parametrize("name", ["decision", "block-on-decision", "provisional-block"])
def test_any_other_log_entry_is_an_unused_entry(name: str) -> None:
    s = story()
    b = bundles()[name]
    inside = {e.index for e in b.entries}
    size = s.coop.tree.size
    others = [i for i in range(size) if i not in inside]
    assert others
    raws = [r.raw for r in s.coop.log]
    for i in others:
        extra = BundleEntry(
            index=i, proof=tuple(s.coop.tree.inclusion_proof(i, size)), record=raws[i]
        )
        refused(with_entries(b, [*b.entries, extra]), "unused_entry")


# --------------------------------------------------------------------------- named attacks


def test_entry_swapped_in_from_another_coop() -> None:
    ours, theirs = story(), story("other-coop")
    b = ours.decision_bundle()
    t = theirs.decision_bundle()
    # Same members, same votes, same position: only the co-op differs, and the other
    # co-op's record with its own proof is not in this co-op's tree.
    for mine, other in zip(b.entries, t.entries, strict=True):
        assert mine.index == other.index and mine.record != other.record
        swapped = [other if e is mine else e for e in b.entries]
        refused(with_entries(b, swapped), "root_mismatch")


def test_foreign_record_in_a_coops_own_log_is_refused() -> None:
    # Only a co-op that logged another co-op's record could prove its inclusion.
    foreign = sign_record(
        key("ana"), coop=key("other-coop").did, ts=T0, body=Rating(requester=REQ, text="fine")
    )
    roster = ("ana", "bo", "cy")
    records = vote_log([foreign], [("ana", "up")], roster)
    _, note, entries = hand_log(records)
    b = Bundle(
        kind="decision",
        coop=key("coop").did,
        subject=records[-1].id,
        checkpoint=note,
        entries=tuple(entries),
        roster=tuple(sorted((key(n).did for n in roster), key=str.encode)),
    )
    refused(b.to_bytes(), "foreign_entry", trusted_witnesses=(), min_witnesses=0)


def test_checkpoint_from_another_coop() -> None:
    b = story().decision_bundle()
    err = refused(
        dataclasses.replace(b, checkpoint=story("other-coop").note).to_bytes(),
        "no_known_signature",
    )
    assert "checkpoint" in err.message
    # Claiming the other co-op instead: its checkpoint now verifies, its entries do not.
    other = story("other-coop").coop.did
    refused(dataclasses.replace(b, coop=other, checkpoint=story("other-coop").note).to_bytes())
    refused(b.to_bytes(), "wrong_coop", expected_coop=other)


def test_stale_checkpoint_that_does_not_cover_the_decision() -> None:
    s = story()
    b = s.decision_bundle()
    d = s.coop.state.entry(s.decision.id)
    assert d is not None
    tree, n = s.coop.tree, d.index
    cp = Checkpoint(origin=log_origin(s.coop.did), size=n, root_hash=tree.root(n))
    stale = sign_checkpoint(cp, s.coop.key.signing_key)
    # Every earlier entry proved against the stale tree; the decision lies past its end.
    entries = [
        dataclasses.replace(e, proof=tuple(tree.inclusion_proof(e.index, n))) if e.index < n else e
        for e in b.entries
    ]
    data = with_entries(b, entries, checkpoint=stale)
    refused(data, "index_out_of_range", min_witnesses=0)


def test_missing_ballot_changes_the_tally() -> None:
    b = story().decision_bundle()
    ballots = entry_of(b, RecordType.BALLOT)
    for gone in ballots:
        err = refused(with_entries(b, [e for e in b.entries if e is not gone]), "decision_mismatch")
        assert "ballots" in err.message


def test_roster_must_match_the_decision() -> None:
    b = story().decision_bundle()
    refused(dataclasses.replace(b, roster=b.roster[:2]).to_bytes(), "roster_mismatch")
    outsider = tuple(sorted((*b.roster[:2], key("mallory").did), key=str.encode))
    refused(dataclasses.replace(b, roster=outsider).to_bytes(), "not_admitted")


def test_missing_admit_is_refused() -> None:
    b = story().decision_bundle()
    for admit in entry_of(b, RecordType.MEMBER_ADMIT):
        refused(with_entries(b, [e for e in b.entries if e is not admit]), "not_admitted")


def test_wrong_witness() -> None:
    data = story().decision_bundle().to_bytes()
    refused(data, "too_few_witnesses", trusted_witnesses=[witness("w/gamma")], min_witnesses=1)
    # The right name with another key has another key ID: its line is not the trusted one.
    impostor = NoteVerifier.cosignature_v1(WITNESSES[0], key("w/gamma").public_key)
    refused(data, "too_few_witnesses", trusted_witnesses=[impostor], min_witnesses=1)
    # A future-dated cosignature does not count once the reader gives the time.
    refused(data, "too_few_witnesses", now_s=COSIGNED_AT - 3600)
    check(data, now_s=COSIGNED_AT)


def test_forged_cosignature_under_a_trusted_key_id_is_refused() -> None:
    s = story()
    b = s.decision_bundle()
    cp = Checkpoint(
        origin=log_origin(s.coop.did), size=s.coop.tree.size, root_hash=s.coop.tree.root()
    )
    note = sign_checkpoint(cp, s.coop.key.signing_key)
    # A line signed by mallory, relabelled with alpha's name and key ID.
    real = cosign(cp, key(WITNESSES[0]).signing_key, WITNESSES[0], COSIGNED_AT)
    forged = cosign(cp, key("mallory").signing_key, WITNESSES[0], COSIGNED_AT)
    prefix = len("— ".encode()) + len(WITNESSES[0]) + 1
    real_raw = base64.b64decode(real[prefix:-1])
    forged_raw = base64.b64decode(forged[prefix:-1])
    line = real[:prefix] + base64.b64encode(real_raw[:4] + forged_raw[4:]) + b"\n"
    bad = add_cosignatures(note, [line])
    refused(dataclasses.replace(b, checkpoint=bad).to_bytes(), "invalid_signature", min_witnesses=1)


def test_witness_arguments_are_checked() -> None:
    data = story().decision_bundle().to_bytes()
    with pytest.raises(LocalProtocolError):
        verify_bundle(data, min_witnesses=1)
    with pytest.raises(LocalProtocolError):
        verify_bundle(data, trusted_witnesses=TRUSTED, min_witnesses=-1)
    with pytest.raises(LocalProtocolError):
        verify_bundle(data, trusted_witnesses=[NoteVerifier.ed25519("x", key("x").public_key)])
    with pytest.raises(LocalProtocolError):
        verify_bundle(data, expected_coop="did:key:nope")
    with pytest.raises(LocalProtocolError):
        verify_bundle("text")  # type: ignore[arg-type]


def test_block_must_follow_its_decision_and_flags() -> None:
    s = story()
    b = s.provisional_bundle()
    flags = entry_of(b, RecordType.FLAG)
    refused(with_entries(b, [e for e in b.entries if e is not flags[0]]), "missing_entry")
    refused(dataclasses.replace(b, roster=b.roster[:2]).to_bytes(), "roster_mismatch")
    charter = entry_of(b, RecordType.CHARTER)[0]
    refused(with_entries(b, [e for e in b.entries if e is not charter]), "missing_entry")
    # A decision bundle is not a block bundle: the subject's type is part of the claim.
    d = s.decision_bundle()
    refused(dataclasses.replace(d, kind="block").to_bytes(), "wrong_subject")
    refused(dataclasses.replace(d, subject=s.block.id).to_bytes(), "missing_subject")


# --------------------------------------------------------------------------- logs no node accepts


def hand_log(records: list[Record]) -> tuple[MemoryTree, bytes, list[BundleEntry]]:
    """A log built without CoopState, to show the verifier's own admissibility checks."""
    tree = MemoryTree.from_leaves(r.raw for r in records)
    coop = key("coop")
    cp = Checkpoint(origin=log_origin(coop.did), size=tree.size, root_hash=tree.root())
    note = sign_checkpoint(cp, coop.signing_key)
    entries = [
        BundleEntry(index=i, proof=tuple(tree.inclusion_proof(i)), record=r.raw)
        for i, r in enumerate(records)
    ]
    return tree, note, entries


def vote_log(
    extra_before: list[Record], voters: list[tuple[str, str]], roster: tuple[str, ...]
) -> list[Record]:
    coop = key("coop")

    def sign(who: SigningIdentity, body: object, ts: int) -> Record:
        return sign_record(who, coop=coop.did, ts=ts, body=body)  # type: ignore[arg-type]

    charter = sign(coop, CHARTER, T0)
    admits = [
        sign(coop, MemberAdmit(member=key(n).did, via="founder"), T0) for n in ("ana", "bo", "cy")
    ]
    prop = sign(
        key("ana"),
        Proposal(
            kind=ProposalKind.IDEA, pitch="Share a pay calculator", opens=T0, closes=T0 + HOUR
        ),
        T0,
    )
    ballots = [sign(key(who), Ballot(proposal=prop.id, choice=c), T0 + MINUTE) for who, c in voters]
    t = tally(
        charter=CHARTER,
        charter_id=charter.id,
        roster=frozenset(key(n).did for n in roster),
        proposal=prop,
        ballots=ballots,
        now_ms=T0 + 2 * HOUR,
    )
    decision = sign(coop, t.to_decision(), T0 + 2 * HOUR)
    return [charter, *admits, *extra_before, prop, *ballots, decision]


def test_ballot_by_a_non_member_is_refused() -> None:
    roster = ("ana", "bo", "cy")
    records = vote_log([], [("ana", "up"), ("mallory", "up")], roster)
    _, note, entries = hand_log(records)
    b = Bundle(
        kind="decision",
        coop=key("coop").did,
        subject=records[-1].id,
        checkpoint=note,
        entries=tuple(entries),
        roster=tuple(sorted((key(n).did for n in roster), key=str.encode)),
    )
    err = refused(b.to_bytes(), "not_eligible", trusted_witnesses=(), min_witnesses=0)
    assert "on the roster" in err.message
    # Without the stray ballot the same log's decision verifies.
    records = vote_log([], [("ana", "up")], roster)
    _, note, entries = hand_log(records)
    check(
        dataclasses.replace(
            b, subject=records[-1].id, checkpoint=note, entries=tuple(entries)
        ).to_bytes(),
        trusted_witnesses=(),
        min_witnesses=0,
    )


def test_included_revoke_before_the_proposal_is_refused() -> None:
    coop = key("coop")
    dee_admit = sign_record(
        coop, coop=coop.did, ts=T0, body=MemberAdmit(member=key("dee").did, via="founder")
    )
    resign = sign_record(key("dee"), coop=coop.did, ts=T0, body=MemberResign())
    revoke = sign_record(
        coop,
        coop=coop.did,
        ts=T0,
        body=MemberRevoke(member=key("dee").did, via="resignation", ref=resign.id),
    )
    # The honest roster is ana, bo, cy; the bundle claims dee in cy's place (cy did not vote).
    records = vote_log([dee_admit, resign, revoke], [("ana", "up")], ("ana", "bo", "cy"))
    _, note, entries = hand_log(records)
    claimed = tuple(sorted((key(n).did for n in ("ana", "bo", "dee")), key=str.encode))
    wanted = {r.raw for r in records} - {resign.raw, records[3].raw}  # drop cy's admit
    b = Bundle(
        kind="decision",
        coop=coop.did,
        subject=records[-1].id,
        checkpoint=note,
        entries=tuple(e for e in entries if e.record in wanted),
        roster=claimed,
    )
    refused(b.to_bytes(), "revoked", trusted_witnesses=(), min_witnesses=0)


# --------------------------------------------------------------------------- structure


# --------------------------------------------------------------------------- one rule, one code


def _signed(who: str, body: object, ts: int) -> Record:
    return sign_record(key(who), coop=key("coop").did, ts=ts, body=body)  # type: ignore[arg-type]


def _founding() -> list[Record]:
    return [
        _signed("coop", CHARTER, T0),
        *(_signed("coop", MemberAdmit(member=key(n).did, via="founder"), T0) for n in FOUNDERS),
    ]


FOUNDERS = ("ana", "bo", "cy")


def _vote(
    kind: ProposalKind = ProposalKind.IDEA,
    *,
    closes: int = T0 + HOUR,
    choice: str = "up",
    ballot_ts: int = T0 + MINUTE,
    decided_at: int = T0 + 2 * HOUR,
    forge: dict[str, Any] | None = None,
    **fields: Any,
) -> list[Record]:
    """A hand-written vote: the proposal, a ballot each, and the co-op's decision."""
    head = _founding()
    prop = _signed("ana", Proposal(kind=kind, pitch="p", opens=T0, closes=closes, **fields), T0)
    ballots = [_signed(n, Ballot(proposal=prop.id, choice=choice), ballot_ts) for n in FOUNDERS]
    t = tally(
        charter=CHARTER,
        charter_id=head[0].id,
        roster=frozenset(key(n).did for n in FOUNDERS),
        proposal=prop,
        ballots=ballots,
        now_ms=max(decided_at, closes),
    )
    body = t.to_decision()
    if forge:
        body = dataclasses.replace(body, **forge)
    return [*head, prop, *ballots, _signed("coop", body, decided_at)]


def _flagged(**block: Any) -> list[Record]:
    """Three members flag REQ2; the co-op blocks it provisionally (``block`` changes fields)."""
    reasons = (FlagReason.SCAM, FlagReason.SCAM, FlagReason.BROKEN)
    flags = [
        _signed(n, _flag_body(reason), T0 + i)
        for i, (n, reason) in enumerate(zip(FOUNDERS, reasons, strict=True))
    ]
    at = T0 + MINUTE
    body = Block(
        requester=REQ2,
        reason=FlagReason.SCAM,
        provisional=True,
        review=at + CHARTER.block_rule.review_days * DAY_MS,
        flags=tuple(sorted(f.id for f in flags)),
    )
    return [*_founding(), *flags, _signed("coop", dataclasses.replace(body, **block), at)]


def _flag_body(reason: FlagReason) -> Flag:
    return Flag(
        requester=REQ2, target="requester", target_id=None, reason=reason, expires=T0 + DAY_MS
    )


def _carried_out(voted: list[Record], **block: Any) -> list[Record]:
    """``voted``, then a block citing its decision (``block`` changes fields)."""
    at = T0 + 3 * HOUR
    body = Block(
        requester=REQ,
        reason=FlagReason.UNDERPAID,
        provisional=False,
        review=at + 365 * DAY_MS,
        decision=voted[-1].id,
    )
    return [*voted, _signed("coop", dataclasses.replace(body, **block), at)]


def _block_vote() -> list[Record]:
    return _vote(ProposalKind.BLOCK, choice="yes", requester=REQ, reason=FlagReason.UNDERPAID)


FAULTS = {
    "window longer than the charter's": (
        lambda: _vote(closes=T0 + 15 * DAY_MS, decided_at=T0 + 15 * DAY_MS),
        "bad_window",
    ),
    "ballot after the close": (lambda: _vote(ballot_ts=T0 + HOUR), "voting_closed"),
    "ballot naming no choice": (lambda: _vote(choice="yes"), "bad_choice"),
    "decision before the close": (lambda: _vote(decided_at=T0 + HOUR - 1), "voting_open"),
    "decision with other counts": (
        lambda: _vote(forge={"counts": (("down", 1), ("up", 2))}),
        "decision_mismatch",
    ),
    "block reviewed before it begins": (lambda: _flagged(review=T0 + MINUTE), "bad_review"),
    "provisional block off the charter's review": (
        lambda: _flagged(review=T0 + MINUTE + DAY_MS),
        "bad_review",
    ),
    "provisional block for another reason": (
        lambda: _flagged(reason=FlagReason.BROKEN),
        "mismatch",
    ),
    "provisional block citing too few flags": (
        lambda: _flagged(flags=tuple(sorted(r.id for r in _flagged()[4:6]))),
        "flags_mismatch",
    ),
    "block for another requester than voted": (
        lambda: _carried_out(_block_vote(), requester=REQ2),
        "mismatch",
    ),
    "block on a decision not passed": (lambda: _carried_out(_vote()), "not_passed"),
    "block on a passed revocation": (
        lambda: _carried_out(_vote(ProposalKind.REVOKE, choice="yes", member=key("cy").did)),
        "wrong_reference",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_has_one_code_in_the_log_and_in_a_bundle(fault: str) -> None:
    """The log and a bundle check a rule with the same function (protocol/rules.py)."""
    build, code = FAULTS[fault]
    records = build()
    state = CoopState(key("coop").did)
    with pytest.raises(RecordRejected) as in_log:
        for r in records:
            state.apply(r)
    assert in_log.value.code == code, in_log.value
    subject = records[-1]
    _, note, entries = hand_log(records)
    b = Bundle(
        kind="decision" if subject.type is RecordType.DECISION else "block",
        coop=key("coop").did,
        subject=subject.id,
        checkpoint=note,
        entries=tuple(entries),
        roster=tuple(sorted((key(n).did for n in FOUNDERS), key=str.encode)),
    )
    assert refused(b.to_bytes(), trusted_witnesses=(), min_witnesses=0).code == code


def raw_value(b: Bundle) -> dict[str, Any]:
    return {
        "bundle": BUNDLE_FORMAT,
        "checkpoint": b.checkpoint,
        "coop": b.coop,
        "entries": [e.to_value() for e in b.entries],
        "kind": b.kind,
        "roster": list(b.roster),
        "subject": b.subject,
    }


def test_strict_decoding() -> None:
    b = story().decision_bundle()
    good = raw_value(b)
    refused(b"", "truncated")
    refused(b"\xc1", "reserved")
    refused(encode([1, 2]), "malformed_bundle")
    refused(encode({**good, "extra": 1}), "malformed_bundle")
    refused(encode({k: v for k, v in good.items() if k != "roster"}), "malformed_bundle")
    refused(encode({**good, "bundle": "coopfed-bundle/v2"}), "unsupported_version")
    refused(encode({**good, "kind": "charter"}), "bad_kind")
    refused(encode({**good, "kind": 1}), "malformed_bundle")
    refused(encode({**good, "subject": b"\x00" * 31}), "bad_subject")
    refused(encode({**good, "coop": "did:key:z6Mk"}), "bad_coop")
    refused(encode({**good, "roster": list(reversed(good["roster"]))}), "unsorted_roster")
    refused(encode({**good, "roster": good["roster"] + good["roster"][-1:]}), "unsorted_roster")
    refused(encode({**good, "roster": []}), "bad_roster")
    refused(encode({**good, "entries": []}), "too_many_entries")
    refused(encode({**good, "entries": list(reversed(good["entries"]))}), "unsorted_entries")
    first = good["entries"][0]
    refused(encode({**good, "entries": [{**first, "x": 1}]}), "malformed_bundle")
    refused(encode({**good, "entries": [{**first, "proof": [b"\x00" * 33]}]}), "bad_entry")
    refused(encode({**good, "entries": [{**first, "index": -1}]}), "bad_entry")
    refused(encode({**good, "entries": [{**first, "record": b""}]}), "bad_entry")
    # The same map with its keys out of order is not the canonical encoding.
    shuffled = msgpack.packb(dict(reversed(list(good.items()))), use_bin_type=True)
    refused(shuffled, "unsorted_keys")
    refused(b.to_bytes() + b"\x00", "trailing_bytes")


def test_size_limits() -> None:
    refused(b"\x00" * (MAX_BUNDLE_SIZE + 1), "too_large")
    b = story().decision_bundle()
    many = [{"index": i, "proof": [], "record": b"x"} for i in range(MAX_ENTRIES + 1)]
    refused(encode({**raw_value(b), "entries": many}), "too_many_entries")


def test_builders_refuse_misuse() -> None:
    s = story()
    c = s.coop
    common: dict[str, Any] = {"state": c.state, "inclusion_proof": c.tree.inclusion_proof}
    with pytest.raises(LocalProtocolError):
        build_decision_bundle(decision_id=b"\x00" * 32, checkpoint_note=s.note, **common)
    with pytest.raises(LocalProtocolError):
        build_decision_bundle(decision_id=s.block.id, checkpoint_note=s.note, **common)
    with pytest.raises(LocalProtocolError):
        build_block_bundle(block_id=s.decision.id, checkpoint_note=s.note, **common)
    with pytest.raises(LocalProtocolError):
        build_decision_bundle(
            decision_id=s.decision.id, checkpoint_note=story("other-coop").note, **common
        )
    d = c.state.entry(s.decision.id)
    assert d is not None
    cp = Checkpoint(origin=log_origin(c.did), size=d.index, root_hash=c.tree.root(d.index))
    with pytest.raises(LocalProtocolError):
        build_decision_bundle(
            decision_id=s.decision.id,
            checkpoint_note=sign_checkpoint(cp, c.key.signing_key),
            **common,
        )
    # Proofs for another tree size than the checkpoint's are caught before anything leaves.
    with pytest.raises(LocalProtocolError):
        build_decision_bundle(
            state=c.state,
            decision_id=s.decision.id,
            checkpoint_note=s.note,
            inclusion_proof=lambda i, n: c.tree.inclusion_proof(i, n - 1) if i < n - 1 else [],
        )


def test_bundle_values_refuse_bad_fields() -> None:
    b = story().decision_bundle()
    with pytest.raises(LocalProtocolError):
        dataclasses.replace(b, entries=b.entries[::-1])
    with pytest.raises(LocalProtocolError):
        BundleEntry(index=0, proof=(b"x",), record=b"r")
    with pytest.raises(LocalProtocolError):
        dataclasses.replace(b, kind="charter")
    with pytest.raises(LocalProtocolError):
        dataclasses.replace(b, roster=([b.coop],))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        dataclasses.replace(b, coop=b"did")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- vectors


def _vectors() -> dict[str, Any]:
    return dict(json.loads((VECTORS_DIR / "bundle.json").read_text(encoding="utf-8")))


def _kw(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "trusted_witnesses": [NoteVerifier.from_vkey(v) for v in case["trusted_witnesses"]],
        "min_witnesses": case["min_witnesses"],
        "expected_coop": case.get("expected_coop"),
    }


def test_vectors_have_provenance_and_both_kinds() -> None:
    doc = _vectors()
    assert doc["provenance"]["generator"] == "spec/vectors/gen_bundle.py"
    assert {c["expected"]["kind"] for c in doc["valid"]} == {"decision", "block"}
    assert len({c["code"] for c in doc["invalid"]}) >= 10


def _bundle(case: dict[str, Any]) -> bytes:
    """``bundle`` (hex), or the recipe ``bundle_repeat``: head, fill × count, tail."""
    if "bundle" in case:
        return bytes.fromhex(case["bundle"])
    r = case["bundle_repeat"]
    fill = bytes.fromhex(r["fill"]) * r["count"]
    return bytes.fromhex(r["head"]) + fill + bytes.fromhex(r["tail"])


def test_every_own_code_has_a_vector() -> None:
    # bundles.md §7 lists the own codes before "Codes passed through".
    text = (ROOT / "spec" / "bundles.md").read_text(encoding="utf-8")
    section = re.split(r"Codes\s+passed", text.split("## 7. Error codes", 1)[1], maxsplit=1)[0]
    own = set(re.findall(r"`([a-z_]+)`", section))
    assert len(own) == 26
    covered = {c["code"] for c in _vectors()["invalid"]}
    assert own <= covered, f"no vector for {sorted(own - covered)}"


def test_a_witness_coop_is_named_by_its_did() -> None:
    # bundles.md §3: a co-op's witness key is its co-op key, named by its log origin.
    doc = _vectors()
    for did, vkey in doc["witness_coops"].items():
        assert witness_verifier(did).to_vkey() == vkey
        assert vkey.startswith(log_origin(did) + "+")
    (case,) = [c for c in doc["valid"] if c["name"] == "witnessed by a co-op named by its DID"]
    assert case["trusted_witnesses"] == list(doc["witness_coops"].values())


@pytest.mark.parametrize("case", _vectors()["valid"], ids=lambda c: c["name"])
def test_valid_vector(case: dict[str, Any]) -> None:
    v = verify_bundle(_bundle(case), **_kw(case))
    e = case["expected"]
    assert (v.kind, v.coop, v.subject.hex()) == (e["kind"], e["coop"], e["subject"])
    assert (v.checkpoint_size, list(v.witnesses)) == (e["checkpoint_size"], e["witnesses"])


@pytest.mark.parametrize("case", _vectors()["invalid"], ids=lambda c: c["name"])
def test_invalid_vector(case: dict[str, Any]) -> None:
    with pytest.raises(BundleError) as caught:
        verify_bundle(_bundle(case), **_kw(case))
    assert caught.value.code == case["code"]


def test_vectors_file_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location("gen_bundle", VECTORS_DIR / "gen_bundle.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = json.dumps(module.generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert fresh == (VECTORS_DIR / "bundle.json").read_text(encoding="utf-8")
