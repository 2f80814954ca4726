"""Vectors for spec/bundles.md: verification bundles that verify, and tampered ones that do not.

One small co-op log is written from fixed seeds through ``CoopState`` (Ed25519 signatures
are deterministic, so the bytes are the same on every run): three founders vote to block a
requester, the co-op signs the decision and the block, then the three flag a second
requester into a provisional block. Its checkpoint is cosigned by two witnesses. Each
invalid case changes one thing and names the error code a verifier reports first.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from typing import Any

import msgpack

from coopfed.protocol.bodies import (
    DAY_MS,
    Ballot,
    BlockRule,
    Charter,
    Flag,
    FlagReason,
    MemberAdmit,
    Proposal,
    ProposalKind,
    Rating,
    RecordType,
    RequesterRef,
)
from coopfed.protocol.bundle import (
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
from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.errors import BundleError
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import MemoryTree
from coopfed.protocol.note import NoteVerifier
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState

SEED_PREFIX = b"coopfed/vectors/bundle/"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000
HOUR = 60 * MINUTE
COSIGNED_AT = 1_767_300_000  # POSIX seconds
WITNESSES = ("witness.example/alpha", "witness.example/beta")
UNTRUSTED = "witness.example/gamma"
REQ = RequesterRef(platform="mturk", id="A1EXAMPLE")
REQ2 = RequesterRef(platform="mturk", id="A2FLAGGED")
MEMBERS = ("ana", "bo", "cy")
CHARTER = Charter(
    name="Vector Night Shift Co-op",
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


def identity(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(SEED_PREFIX + name.encode()).digest())


def vkey(name: str) -> str:
    return NoteVerifier.cosignature_v1(name, identity(name).public_key).to_vkey()


class Log:
    """One co-op's log: CoopState decides admissibility, MemoryTree hashes the entries."""

    def __init__(self, name: str) -> None:
        self.key = identity(name)
        self.state = CoopState(self.key.did)
        self.tree = MemoryTree()
        self.records: list[Record] = []
        self.now = T0

    def add(self, who: SigningIdentity, body: Any) -> Record:
        record = sign_record(who, coop=self.key.did, ts=self.now, body=body)
        self.state.apply(record, now_ms=self.now)
        self.tree.append(record.raw)
        self.records.append(record)
        return record

    def govern(self) -> list[Record]:
        done = []
        while due := self.state.due(self.now):
            done.extend(self.add(self.key, body) for body in due)
        return done

    def checkpoint(self, size: int | None = None) -> tuple[Checkpoint, bytes]:
        n = self.tree.size if size is None else size
        cp = Checkpoint(origin=log_origin(self.key.did), size=n, root_hash=self.tree.root(n))
        return cp, sign_checkpoint(cp, self.key.signing_key)

    def cosigned(self) -> bytes:
        cp, note = self.checkpoint()
        lines = [cosign(cp, identity(w).signing_key, w, COSIGNED_AT) for w in WITNESSES]
        return add_cosignatures(note, lines)


def write_log(name: str) -> tuple[Log, dict[str, Record]]:
    log = Log(name)
    log.add(log.key, CHARTER)
    for m in MEMBERS:
        log.add(log.key, MemberAdmit(member=identity(m).did, via="founder"))
    log.add(identity("ana"), Rating(requester=REQ, text="Pays about $3 an hour."))
    prop = log.add(
        identity("ana"),
        Proposal(
            kind=ProposalKind.BLOCK,
            pitch="Block A1EXAMPLE: pays $3/hour",
            opens=log.now,
            closes=log.now + HOUR,
            requester=REQ,
            reason=FlagReason.UNDERPAID,
        ),
    )
    log.now += 10 * MINUTE
    for who, choice in (("ana", "yes"), ("bo", "yes"), ("cy", "no")):
        log.add(identity(who), Ballot(proposal=prop.id, choice=choice))
        log.now += MINUTE
    log.now = T0 + HOUR + MINUTE
    decision, block = log.govern()
    for who in MEMBERS:
        reason = FlagReason.UNFAIR_REJECTION if who == "cy" else FlagReason.SCAM
        log.add(
            identity(who),
            Flag(
                requester=REQ2,
                target="requester",
                target_id=None,
                reason=reason,
                expires=log.now + 30 * DAY_MS,
            ),
        )
        log.now += MINUTE
    (provisional,) = log.govern()
    return log, {"decision": decision, "block": block, "provisional": provisional}


def build(log: Log, kind: str, rid: bytes, note: bytes) -> Bundle:
    if kind == "decision":
        return build_decision_bundle(
            state=log.state,
            decision_id=rid,
            checkpoint_note=note,
            inclusion_proof=log.tree.inclusion_proof,
        )
    return build_block_bundle(
        state=log.state,
        block_id=rid,
        checkpoint_note=note,
        inclusion_proof=log.tree.inclusion_proof,
    )


def of_type(b: Bundle, rtype: RecordType) -> list[BundleEntry]:
    return [e for e in b.entries if Record.from_bytes(e.record).type is rtype]


def without(b: Bundle, gone: BundleEntry) -> bytes:
    return dataclasses.replace(b, entries=tuple(e for e in b.entries if e is not gone)).to_bytes()


def trust(names: tuple[str, ...], minimum: int) -> dict[str, Any]:
    return {"trusted_witnesses": [vkey(n) for n in names], "min_witnesses": minimum}


def verify_case(case: dict[str, Any]) -> Any:
    return verify_bundle(
        bytes.fromhex(case["bundle"]),
        trusted_witnesses=[NoteVerifier.from_vkey(v) for v in case["trusted_witnesses"]],
        min_witnesses=case["min_witnesses"],
        expected_coop=case.get("expected_coop"),
    )


def valid_cases(log: Log, ids: dict[str, Record], note: bytes) -> list[dict[str, Any]]:
    specs = [
        ("decision, two witnesses", "decision", "decision", trust(WITNESSES, 2)),
        ("decision, no witness keys", "decision", "decision", trust((), 0)),
        ("block carrying out a decision", "block", "block", trust(WITNESSES[:1], 1)),
        ("provisional block on flags", "block", "provisional", trust(WITNESSES, 2)),
    ]
    out = []
    for name, kind, which, witnesses in specs:
        b = build(log, kind, ids[which].id, note)
        case = {"name": name, "bundle": b.to_bytes().hex(), **witnesses}
        v = verify_case(case)
        case["expected"] = {
            "kind": v.kind,
            "coop": v.coop,
            "subject": v.subject.hex(),
            "checkpoint_size": v.checkpoint_size,
            "witnesses": list(v.witnesses),
        }
        out.append(case)
    return out


def invalid_cases(
    log: Log, ids: dict[str, Record], note: bytes, other: Log, other_ids: dict[str, Record]
) -> list[dict[str, Any]]:
    dec = build(log, "decision", ids["decision"].id, note)
    prov = build(log, "block", ids["provisional"].id, note)
    theirs = build(other, "decision", other_ids["decision"].id, other.cosigned())
    data = dec.to_bytes()
    value = decode(data, max_size=len(data))
    both = trust(WITNESSES, 2)

    flipped = bytearray(data)
    flipped[data.index(dec.entries[4].record) + 40] ^= 0x01

    size = log.tree.size
    rating = next(i for i, r in enumerate(log.records) if r.type is RecordType.RATING)
    extra = BundleEntry(
        index=rating,
        proof=tuple(log.tree.inclusion_proof(rating, size)),
        record=log.records[rating].raw,
    )

    d_index = max(e.index for e in dec.entries)
    _, stale = log.checkpoint(d_index)
    stale_entries = tuple(
        dataclasses.replace(e, proof=tuple(log.tree.inclusion_proof(e.index, d_index)))
        if e.index < d_index
        else e
        for e in dec.entries
    )

    cp, plain = log.checkpoint()
    real = cosign(cp, identity(WITNESSES[0]).signing_key, WITNESSES[0], COSIGNED_AT)
    forged = cosign(cp, identity("mallory").signing_key, WITNESSES[0], COSIGNED_AT)
    head = len("— ".encode()) + len(WITNESSES[0]) + 1
    spliced = (
        real[:head]
        + base64.b64encode(
            base64.b64decode(real[head:-1])[:4] + base64.b64decode(forged[head:-1])[4:]
        )
        + b"\n"
    )

    specs: list[tuple[str, str, bytes, dict[str, Any], str]] = [
        ("trailing byte", "one byte after the map", data + b"\x00", both, "trailing_bytes"),
        (
            "keys out of order",
            "the same map, keys not in bytewise order: not the canonical encoding",
            msgpack.packb(dict(reversed(list(value.items()))), use_bin_type=True),
            both,
            "unsorted_keys",
        ),
        (
            "unsupported version",
            "bundle field names another format",
            encode({**value, "bundle": "coopfed-bundle/v2"}),
            both,
            "unsupported_version",
        ),
        (
            "entries out of order",
            "entry indices must strictly ascend",
            encode({**value, "entries": list(reversed(value["entries"]))}),
            both,
            "unsorted_entries",
        ),
        (
            "checkpoint of another co-op",
            "the other co-op's cosigned checkpoint; the co-op's own key signed none",
            dataclasses.replace(dec, checkpoint=theirs.checkpoint).to_bytes(),
            both,
            "no_known_signature",
        ),
        (
            "forged cosignature",
            "a line under alpha's name and key ID, signed by another key",
            dataclasses.replace(dec, checkpoint=add_cosignatures(plain, [spliced])).to_bytes(),
            trust(WITNESSES[:1], 1),
            "invalid_signature",
        ),
        (
            "untrusted witness only",
            "the reader trusts gamma, who did not cosign",
            data,
            trust((UNTRUSTED,), 1),
            "too_few_witnesses",
        ),
        (
            "stale checkpoint",
            "a checkpoint taken before the decision entered the log",
            dataclasses.replace(dec, checkpoint=stale, entries=stale_entries).to_bytes(),
            trust((), 0),
            "index_out_of_range",
        ),
        (
            "flipped record byte",
            "one bit of the proposal record changed: its leaf hash no longer fits the proof",
            bytes(flipped),
            both,
            "root_mismatch",
        ),
        (
            "entry of another co-op",
            "the same ballot position from another co-op's bundle, with that co-op's proof",
            dataclasses.replace(
                dec,
                entries=tuple(
                    theirs.entries[i] if e.index == of_type(dec, RecordType.BALLOT)[0].index else e
                    for i, e in enumerate(dec.entries)
                ),
            ).to_bytes(),
            both,
            "root_mismatch",
        ),
        (
            "missing ballot",
            "a counted ballot left out: the recomputed tally differs from the decision",
            without(dec, of_type(dec, RecordType.BALLOT)[0]),
            both,
            "decision_mismatch",
        ),
        (
            "roster short by one",
            "two roster members for a decision that counted three",
            dataclasses.replace(dec, roster=dec.roster[:2]).to_bytes(),
            both,
            "roster_mismatch",
        ),
        (
            "missing admit",
            "a roster member's member.admit left out",
            without(dec, of_type(dec, RecordType.MEMBER_ADMIT)[0]),
            both,
            "not_admitted",
        ),
        (
            "extra entry",
            "a rating from the same log, validly proved, that no check uses",
            dataclasses.replace(
                dec, entries=tuple(sorted((*dec.entries, extra), key=lambda e: e.index))
            ).to_bytes(),
            both,
            "unused_entry",
        ),
        (
            "missing flag",
            "one of the flags the provisional block cites left out",
            without(prov, of_type(prov, RecordType.FLAG)[0]),
            both,
            "missing_entry",
        ),
        (
            "decision labelled a block",
            "kind says block but the subject is a decision",
            dataclasses.replace(dec, kind="block").to_bytes(),
            both,
            "wrong_subject",
        ),
    ]
    out = []
    for name, description, bundle, witnesses, code in specs:
        case = {
            "name": name,
            "description": description,
            "bundle": bundle.hex(),
            **witnesses,
            "code": code,
        }
        out.append(case)
    out.append(
        {
            "name": "another co-op expected",
            "description": "a genuine bundle, but the reader asked about the other co-op",
            "bundle": data.hex(),
            **both,
            "expected_coop": other.key.did,
            "code": "wrong_coop",
        }
    )
    for case in out:
        try:
            verify_case(case)
        except BundleError as exc:
            assert exc.code == case["code"], (case["name"], exc.code, exc.message)
        else:
            raise AssertionError(f"invalid case {case['name']!r} verifies")
    return out


def generate() -> dict[str, Any]:
    log, ids = write_log("coop")
    other, other_ids = write_log("other-coop")
    note = log.cosigned()
    return {
        "provenance": {
            "generator": "spec/vectors/gen_bundle.py",
            "spec": "spec/bundles.md",
            "seeds": 'each key\'s Ed25519 seed is SHA-256("coopfed/vectors/bundle/" || name), '
            "names: coop, other-coop, ana, bo, cy, mallory, witness.example/alpha, "
            "witness.example/beta, witness.example/gamma",
            "notes": "bundle is the whole file (canonical MessagePack, hex). Verify each case "
            "with trusted_witnesses (C2SP vkeys of type-0x04 cosignature keys), min_witnesses "
            "and, where given, expected_coop. Cosignatures are dated "
            f"{COSIGNED_AT} (POSIX seconds); verify with no clock or a later one. Invalid "
            "cases name the code of the first failing check in the order of spec/bundles.md.",
        },
        "identities": {
            "coop": log.key.did,
            "other-coop": other.key.did,
            **{m: identity(m).did for m in MEMBERS},
        },
        "witnesses": {name: vkey(name) for name in (*WITNESSES, UNTRUSTED)},
        "valid": valid_cases(log, ids, note),
        "invalid": invalid_cases(log, ids, note, other, other_ids),
    }
