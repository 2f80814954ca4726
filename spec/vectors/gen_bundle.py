"""Vectors for spec/bundles.md: verification bundles that verify, and tampered ones that do not.

One small co-op log is written from fixed seeds through ``CoopState`` (Ed25519 signatures
are deterministic, so the bytes are the same on every run): three founders vote to block a
requester, the co-op signs the decision and the block, then the three flag a second
requester into a provisional block. Its checkpoint is cosigned by two witnesses. Each
invalid case changes one thing, or two where it pins the order of the checks, and names the
error code a verifier reports first. Faults no node would log come from hand-written logs
whose checkpoint the co-op's key signs anyway (:func:`hand_bundle`).
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
    Block,
    BlockRule,
    Charter,
    Decision,
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
    MAX_BUNDLE_SIZE,
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
from coopfed.protocol.governance import tally
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import MemoryTree
from coopfed.protocol.note import NoteVerifier
from coopfed.protocol.records import Record, record_id, sign_record
from coopfed.protocol.rules import main_reason
from coopfed.protocol.state import CoopState
from coopfed.protocol.witness import witness_verifier

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


def bundle_bytes(case: dict[str, Any]) -> bytes:
    """The case's bundle: ``bundle`` (hex), or ``bundle_repeat`` = head, fill × count, tail."""
    if "bundle" in case:
        return bytes.fromhex(case["bundle"])
    r = case["bundle_repeat"]
    return (
        bytes.fromhex(r["head"]) + bytes.fromhex(r["fill"]) * r["count"] + bytes.fromhex(r["tail"])
    )


def verify_case(case: dict[str, Any]) -> Any:
    return verify_bundle(
        bundle_bytes(case),
        trusted_witnesses=[NoteVerifier.from_vkey(v) for v in case["trusted_witnesses"]],
        min_witnesses=case["min_witnesses"],
        expected_coop=case.get("expected_coop"),
    )


def valid_cases(log: Log, ids: dict[str, Record], note: bytes, other: Log) -> list[dict[str, Any]]:
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
    for name, data, keys in witness_cases(log, ids, other)[0]:
        case = {"name": name, "bundle": data.hex(), **keys}
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
    none = trust((), 0)
    for name, description, bundle_or_recipe, code in decoding_cases(dec):
        case = {"name": name, "description": description}
        if isinstance(bundle_or_recipe, dict):
            case["bundle_repeat"] = bundle_or_recipe
        else:
            case["bundle"] = bundle_or_recipe.hex()
        out.append({**case, **both, "code": code})
    for name, description, b, code in [*hand_cases(log, ids, dec, prov), *revoked_cases()]:
        out.append(
            {"name": name, "description": description, "bundle": b.to_bytes().hex(), **none,
             "code": code}
        )  # fmt: skip
    for name, description, data, keys, code in witness_cases(log, ids, other)[1]:
        out.append(
            {"name": name, "description": description, "bundle": data.hex(), **keys, "code": code}
        )
    for case in out:
        try:
            verify_case(case)
        except BundleError as exc:
            assert exc.code == case["code"], (case["name"], exc.code, exc.message)
        else:
            raise AssertionError(f"invalid case {case['name']!r} verifies")
    return out


# --------------------------------------------------------------------------- bundles no node
# would build: every own code of bundles.md §7, and the order of §4 where two faults meet.


def hand_bundle(
    log: Log,
    extra: list[bytes],
    indices: list[int],
    *,
    kind: str,
    subject: bytes,
    roster: tuple[str, ...],
    note: bytes | None = None,
) -> Bundle:
    """A bundle over the log's records plus ``extra`` leaves, which no CoopState checked.

    The co-op's key signs a checkpoint of that tree, as a dishonest or broken node could;
    so only the bundle verifier's own checks stand between these bytes and a verdict.
    """
    raws = [r.raw for r in log.records] + extra
    tree = MemoryTree.from_leaves(raws)
    if note is None:
        cp = Checkpoint(origin=log_origin(log.key.did), size=tree.size, root_hash=tree.root())
        note = sign_checkpoint(cp, log.key.signing_key)
    return Bundle(
        kind=kind,
        coop=log.key.did,
        subject=subject,
        checkpoint=note,
        entries=tuple(
            BundleEntry(index=i, proof=tuple(tree.inclusion_proof(i)), record=raws[i])
            for i in sorted(indices)
        ),
        roster=roster,
    )


def by_did(*dids: str) -> tuple[str, ...]:
    return tuple(sorted(dids, key=str.encode))


def decoding_cases(dec: Bundle) -> list[tuple[str, str, bytes | dict[str, Any], str]]:
    """Faults of §1 and §4 step 1, one at a time and in pairs that pin the order."""
    data = dec.to_bytes()
    value = decode(data, max_size=len(data))
    first, second = value["entries"][0], value["entries"][1]
    roster = value["roster"]

    def with_(**fields: Any) -> bytes:
        return encode({**value, **fields})

    pad = MAX_BUNDLE_SIZE - len(data)
    return [
        (
            f"{MAX_BUNDLE_SIZE + 1} bytes",
            "a valid bundle followed by zero bytes to one byte over 16 MiB: refused by size "
            "before it is decoded",
            {"head": data.hex(), "fill": "00", "count": pad + 1, "tail": ""},
            "too_large",
        ),
        (
            f"exactly {MAX_BUNDLE_SIZE} bytes",
            "the same padded to exactly 16 MiB: the limit is inclusive, so it is decoded, and "
            "the padding is trailing bytes",
            {"head": data.hex(), "fill": "00", "count": pad, "tail": ""},
            "trailing_bytes",
        ),
        (
            "not a map",
            "an array holding the format string",
            encode(["coopfed-bundle/v1"]),
            "malformed_bundle",
        ),
        ("an unknown key", "an eighth key, note", with_(note="hi"), "malformed_bundle"),
        (
            "a missing key",
            "no roster",
            encode({k: v for k, v in value.items() if k != "roster"}),
            "malformed_bundle",
        ),
        (
            "version of the wrong kind",
            "bundle is the integer 1: any value but the text is unsupported_version, whatever "
            "its kind",
            with_(bundle=1),
            "unsupported_version",
        ),
        (
            "version before entries",
            "an unsupported version and no entries: step 1.3 comes before 1.4",
            with_(bundle="coopfed-bundle/v2", entries=[]),
            "unsupported_version",
        ),
        ("entries not an array", "entries is a map", with_(entries={}), "malformed_bundle"),
        ("no entries", "entries is empty", with_(entries=[]), "too_many_entries"),
        (
            "entry without a proof",
            "entries[0] has only index and record",
            with_(entries=[{"index": first["index"], "record": first["record"]}, second]),
            "malformed_bundle",
        ),
        (
            "entry index as text",
            "entries[0].index is text",
            with_(entries=[{**first, "index": "0"}, second]),
            "malformed_bundle",
        ),
        (
            "entry index out of range",
            "entries[0].index is 2**64 - 1, one past the largest index",
            with_(entries=[{**first, "index": 2**64 - 1}, second]),
            "bad_entry",
        ),
        (
            "proof hash of 33 bytes",
            "entries[0].proof[0] is 33 bytes",
            with_(entries=[{**first, "proof": [bytes(33)]}, second]),
            "bad_entry",
        ),
        (
            "proof hash as text",
            "entries[0].proof[0] is text: bad_entry, not malformed_bundle (§1)",
            with_(entries=[{**first, "proof": ["00" * 32]}, second]),
            "bad_entry",
        ),
        (
            "65 proof hashes",
            "entries[0].proof holds 65 hashes, one more than a 2**64 - 1 tree needs",
            with_(entries=[{**first, "proof": [bytes(32)] * 65}, second]),
            "bad_entry",
        ),
        (
            "empty record",
            "entries[0].record is 0 bytes",
            with_(entries=[{**first, "record": b""}, second]),
            "bad_entry",
        ),
        (
            "entries checked one by one",
            "entries[0] has a 33-byte proof hash (bad_entry) and entries[1] a text index "
            "(malformed_bundle): each entry is checked whole before the next",
            with_(entries=[{**first, "proof": [bytes(33)]}, {**second, "index": "1"}]),
            "bad_entry",
        ),
        (
            "entries before the roster",
            "a bad entry and a roster that is not an array: step 1.5 comes before 1.6",
            with_(entries=[{**first, "proof": [bytes(33)]}, second], roster={}),
            "bad_entry",
        ),
        ("roster not an array", "roster is a map", with_(roster={}), "malformed_bundle"),
        ("roster item not text", "roster[0] is binary", with_(roster=[b"did"]), "malformed_bundle"),
        ("kind not text", "kind is the integer 1", with_(kind=1), "malformed_bundle"),
        ("subject not binary", "subject is text", with_(subject="00" * 32), "malformed_bundle"),
        ("checkpoint not binary", "checkpoint is text", with_(checkpoint="x"), "malformed_bundle"),
        (
            "types before values",
            "kind is charter (bad_kind) and subject is text (malformed_bundle): every type "
            "(steps 1.2–1.7) is checked before any value (1.8)",
            with_(kind="charter", subject="00" * 32),
            "malformed_bundle",
        ),
        ("unknown kind", "kind is charter", with_(kind="charter"), "bad_kind"),
        (
            "kind before coop",
            "kind is charter and coop is not a did:key: kind is checked first",
            with_(kind="charter", coop="did:key:z6Mk"),
            "bad_kind",
        ),
        ("coop not a did:key", "coop is did:key:z6Mk", with_(coop="did:key:z6Mk"), "bad_coop"),
        ("subject of 31 bytes", "subject is 31 bytes", with_(subject=bytes(31)), "bad_subject"),
        (
            "empty checkpoint",
            "checkpoint is 0 bytes",
            with_(checkpoint=b""),
            "bad_checkpoint_field",
        ),
        (
            "entries out of order before the roster",
            "entries in reverse order and an empty roster: unsorted_entries is checked first",
            with_(entries=list(reversed(value["entries"])), roster=[]),
            "unsorted_entries",
        ),
        ("empty roster", "roster is empty", with_(roster=[]), "bad_roster"),
        (
            "roster DID not canonical",
            "roster[1] is did:key:z6Mk",
            with_(roster=[roster[0], "did:key:z6Mk"]),
            "bad_roster",
        ),
        (
            "roster out of order",
            "roster in reverse order",
            with_(roster=list(reversed(roster))),
            "unsorted_roster",
        ),
        (
            "roster repeated",
            "the last roster DID twice",
            with_(roster=[*roster, roster[-1]]),
            "unsorted_roster",
        ),
        (
            "roster checked DID by DID",
            "roster[1] sorts before roster[0] and roster[2] is not a did:key: each DID is "
            "checked (canonical, then above the previous) before the next",
            with_(roster=[roster[1], roster[0], "did:key:z6Mk"]),
            "unsorted_roster",
        ),
    ]


def hand_cases(log: Log, ids: dict[str, Record], dec: Bundle, prov: Bundle) -> list[Any]:
    """Faults only a dishonest co-op's key can sign into its log: §4 steps 4–10."""
    coop = log.key
    n = len(log.records)
    at = {r.id: i for i, r in enumerate(log.records)}
    dec_idx = [e.index for e in dec.entries]
    prov_idx = [e.index for e in prov.entries]
    decision, block, provisional = ids["decision"], ids["block"], ids["provisional"]
    rating = next(r for r in log.records if r.type is RecordType.RATING)
    ballot = next(r for r in log.records if r.type is RecordType.BALLOT)
    charter = log.records[0]
    later = log.records[-1].ts + MINUTE

    def signed(who: SigningIdentity, body: Any, ts: int = later, to: str | None = None) -> bytes:
        return sign_record(who, coop=to or coop.did, ts=ts, body=body).raw

    foreign = signed(identity("ana"), Rating(requester=REQ, text="Fine."), to=identity("x").did)
    env = decode(rating.raw)
    env["sig"] = env["sig"][:-1] + bytes([env["sig"][-1] ^ 1])
    bad_sig = encode(env)
    other_rating = signed(identity("bo"), Rating(requester=REQ2, text="Slow to pay."))
    dec_body, blk_body, prov_body = decision.body, block.body, provisional.body
    assert isinstance(dec_body, Decision) and isinstance(blk_body, Block)
    assert isinstance(prov_body, Block)
    flags = [log.records[at[f]] for f in prov_body.flags]

    def dec_plus(*extra: bytes, **kw: Any) -> Bundle:
        return hand_bundle(
            log,
            list(extra),
            [*dec_idx, *range(n, n + len(extra))],
            kind=kw.get("kind", "decision"),
            subject=kw.get("subject", decision.id),
            roster=dec.roster,
        )

    corrupt = dec_plus(foreign, other_rating)
    last = corrupt.entries[-1]
    corrupt = dataclasses.replace(
        corrupt,
        entries=(
            *corrupt.entries[:-1],
            dataclasses.replace(last, proof=(bytes(32), *last.proof[1:])),
        ),
    )
    wrong_ref = signed(coop, dataclasses.replace(dec_body, proposal=charter.id))
    late_ballot = signed(
        identity("cy"), Ballot(proposal=dec_body.proposal, choice="yes"), ts=ballot.ts
    )
    no_review = Block(
        requester=prov_body.requester,
        reason=prov_body.reason,
        provisional=True,
        review=later,
        flags=prov_body.flags,
    )
    other_reason = dataclasses.replace(blk_body, reason=FlagReason.SCAM)
    two = sorted(flags[:2], key=lambda r: r.id)
    two_flags = Block(
        requester=prov_body.requester,
        reason=main_reason(two),
        provisional=True,
        review=later + CHARTER.block_rule.review_days * DAY_MS,
        flags=tuple(r.id for r in two),
    )
    two_admits = [
        i
        for i in prov_idx
        if log.records[i].type is RecordType.MEMBER_ADMIT
        and any(f.author == log.records[i].body.member for f in two)  # type: ignore[union-attr]
    ]
    return [
        (
            "subject not in the bundle",
            "a decision bundle whose subject is the block's id",
            dataclasses.replace(dec, subject=block.id),
            "missing_subject",
        ),
        (
            "subject before records",
            "an entry of another co-op and a subject not in the bundle: step 5 comes before 6",
            dec_plus(foreign, subject=block.id),
            "missing_subject",
        ),
        (
            "entry of another co-op in its log",
            "the co-op's key signed a tree holding another co-op's rating, included here",
            dec_plus(foreign),
            "foreign_entry",
        ),
        (
            "every proof before any record",
            "an entry of another co-op, then an entry whose proof is wrong: all inclusion "
            "proofs (step 4) are checked before any record (step 6)",
            corrupt,
            "root_mismatch",
        ),
        (
            "records checked entry by entry",
            "an entry of another co-op, then a rating whose signature is broken: each "
            "entry's record is decoded, verified and its co-op checked before the next",
            dec_plus(foreign, bad_sig),
            "foreign_entry",
        ),
        (
            "a broken signature first",
            "the same two entries the other way round: the broken signature comes first",
            dec_plus(bad_sig, foreign),
            "bad_signature",
        ),
        (
            "the same record twice",
            "a ballot the log holds twice (a node refuses it: duplicate), both included",
            dec_plus(ballot.raw),
            "duplicate_record",
        ),
        (
            "duplicates before the subject's type",
            "a duplicated ballot in a decision bundle labelled block: step 7 before step 8",
            dec_plus(ballot.raw, kind="block"),
            "duplicate_record",
        ),
        (
            "decision citing a charter as its proposal",
            "the co-op's key signed a decision whose proposal is the charter's id",
            hand_bundle(
                log, [wrong_ref], [*dec_idx, n], kind="decision", subject=record_id(wrong_ref),
                roster=dec.roster,
            ),
            "wrong_reference",
        ),
        (
            "ballot after the decision",
            "cy votes again after the co-op signed the decision; the ballot is included",
            dec_plus(late_ballot),
            "wrong_order",
        ),
        (
            "block reviewed at its own time",
            "a provisional block whose review equals its ts",
            hand_bundle(
                log, [signed(coop, no_review)], [*prov_idx[:-1], n], kind="block",
                subject=record_id(signed(coop, no_review)), roster=prov.roster,
            ),
            "bad_review",
        ),
        (
            "block on a decision with another reason",
            "the decision was to block for underpaying; the block says scam",
            hand_bundle(
                log, [signed(coop, other_reason)], [*dec_idx, n], kind="block",
                subject=record_id(signed(coop, other_reason)), roster=dec.roster,
            ),
            "mismatch",
        ),
        (
            "provisional block on two flags",
            "a block citing two of the three flags, under a rule of three",
            hand_bundle(
                log, [signed(coop, two_flags)],
                [0, *(at[r.id] for r in two), *two_admits, n], kind="block",
                subject=record_id(signed(coop, two_flags)),
                roster=by_did(*(r.author for r in two)),
            ),
            "flags_mismatch",
        ),
    ]  # fmt: skip


def revoked_cases() -> list[Any]:
    """A roster member whose revocation lies between their admission and the proposal."""
    log = Log("coop")
    coop = log.key
    names = ("ana", "bo", "dee")
    roster = by_did(*(identity(m).did for m in names))
    gone = next(m for m in names if identity(m).did == roster[0])  # sorts first
    late = next(m for m in names if identity(m).did == roster[-1])  # sorts last

    def add(who: SigningIdentity, body: Any) -> Record:
        record = sign_record(who, coop=coop.did, ts=log.now, body=body)
        log.records.append(record)
        log.now += MINUTE
        return record

    add(coop, CHARTER)
    admits = {m: add(coop, MemberAdmit(member=identity(m).did, via="founder")) for m in names}
    resign = add(identity(gone), MemberResign())
    revoke = add(coop, MemberRevoke(member=identity(gone).did, via="resignation", ref=resign.id))
    opens = log.now
    prop = add(
        coop, Proposal(kind=ProposalKind.IDEA, pitch="A pay calculator", opens=opens,
                       closes=opens + HOUR),
    )  # fmt: skip
    vote = add(identity(late), Ballot(proposal=prop.id, choice="up"))
    log.now = opens + HOUR
    t = tally(
        charter=CHARTER, charter_id=log.records[0].id, roster=frozenset(roster), proposal=prop,
        ballots=[vote], now_ms=log.now,
    )  # fmt: skip
    decision = add(coop, t.to_decision())
    at = {r.id: i for i, r in enumerate(log.records)}
    base = [0, at[revoke.id], at[prop.id], at[vote.id], at[decision.id]]
    every = [*base, *(at[a.id] for a in admits.values())]
    short = [*base, *(at[a.id] for m, a in admits.items() if m != late)]
    return [
        (
            "roster member revoked before the proposal",
            f"{gone} is on the roster, admitted, then revoked (included) before the proposal",
            hand_bundle(log, [], every, kind="decision", subject=decision.id, roster=roster),
            "revoked",
        ),
        (
            "admissions before revocations",
            f"{gone} (first on the roster) was revoked, and {late} (last) has no admission "
            "in the bundle: every roster DID's admission (not_admitted) is checked before any "
            "revocation (revoked)",
            hand_bundle(log, [], short, kind="decision", subject=decision.id, roster=roster),
            "not_admitted",
        ),
    ]


def corrupt(line: bytes) -> bytes:
    """The line with one base64 digit of its signature changed: still canonical, not valid."""
    digit = line[-6:-5]  # in the last full group of the signature, never a padding digit
    return line[:-6] + (b"B" if digit == b"A" else b"A") + line[-5:]


def witness_cases(log: Log, ids: dict[str, Record], other: Log) -> tuple[list[Any], list[Any]]:
    """Witnesses named by a co-op's DID, and the co-op's own key offered as a witness."""
    cp, plain = log.checkpoint()
    alpha = cosign(cp, identity(WITNESSES[0]).signing_key, WITNESSES[0], COSIGNED_AT)
    by_coop = cosign(cp, other.key.signing_key, log_origin(other.key.did), COSIGNED_AT)
    own = witness_verifier(log.key.did)
    itself = cosign(cp, log.key.signing_key, own.name, COSIGNED_AT)
    alias = "witness.example/self"
    broken = corrupt(cosign(cp, log.key.signing_key, alias, COSIGNED_AT))
    aliased = NoteVerifier.cosignature_v1(alias, log.key.public_key)
    mallory = identity("mallory")
    dec = build(log, "decision", ids["decision"].id, plain)

    def on(*lines: bytes) -> bytes:
        return dataclasses.replace(dec, checkpoint=add_cosignatures(plain, list(lines))).to_bytes()

    def keys(*verifiers: NoteVerifier, minimum: int) -> dict[str, Any]:
        return {"trusted_witnesses": [v.to_vkey() for v in verifiers], "min_witnesses": minimum}

    alpha_v = NoteVerifier.from_vkey(vkey(WITNESSES[0]))
    valid = [
        (
            "witnessed by a co-op named by its DID",
            on(by_coop),
            keys(witness_verifier(other.key.did), minimum=1),
        ),
        (
            "the co-op's own cosignature is not counted",
            on(alpha, itself),
            keys(own, alpha_v, minimum=1),
        ),
        (
            "the co-op's own key is left out by key, unread",
            on(alpha, broken),
            keys(aliased, alpha_v, minimum=1),
        ),
    ]
    invalid = [
        (
            "the co-op's own cosignature cannot make up the number",
            "the co-op cosigned its own checkpoint under its witness name; trusted: that key "
            "and alpha, two required: only alpha counts",
            on(alpha, itself),
            keys(own, alpha_v, minimum=2),
            "too_few_witnesses",
        ),
        (
            "a trusted witness's broken line",
            "the same broken line when its key is not the co-op's: every line from a trusted "
            "witness must verify",
            on(alpha, corrupt(cosign(cp, mallory.signing_key, alias, COSIGNED_AT))),
            keys(NoteVerifier.cosignature_v1(alias, mallory.public_key), alpha_v, minimum=1),
            "invalid_signature",
        ),
    ]
    return valid, invalid


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
        "witness_coops": {did: witness_verifier(did).to_vkey() for did in (other.key.did,)},
        "valid": valid_cases(log, ids, note, other),
        "invalid": invalid_cases(log, ids, note, other, other_ids),
    }
