"""The fast paths answer exactly as the slow ones: DID cache, decoder, text check, signing input.

Each speed-up made for the node's ingest (bench/RESULTS.md) is checked here against the
code path it short-cuts, over the spec's vectors and generated inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol import identity
from coopfed.protocol.bodies import (
    _FORBIDDEN_RE,
    DAY_MS,
    BlockRule,
    Flag,
    FlagReason,
    MemberAdmit,
    Rating,
    RequesterRef,
    Retraction,
    _forbidden_char,
)
from coopfed.protocol.encoding import _Reader, decode, encode
from coopfed.protocol.errors import DecodeError, InvalidIdentity
from coopfed.protocol.governance import provisional_block_flags
from coopfed.protocol.records import Record, sign_record, signing_input
from coopfed.protocol.state import CoopState

from .conftest import CHARTER, T0, key

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"
REQ = RequesterRef(platform="mturk", id="A1")


# --------------------------------------------------------------------------- DIDs


def test_did_cache_gives_the_key_and_never_remembers_a_refusal() -> None:
    for i in range(50):
        k = key(f"did-{i}")
        assert identity.public_key_from_did(k.did) == k.public_key
        assert identity.public_key_from_did(k.did) == k.public_key  # from the cache
    bad = key("x").did[:-1] + ("2" if key("x").did[-1] != "2" else "3")
    for _ in range(2):
        with pytest.raises(InvalidIdentity):
            identity.public_key_from_did(bad)
    with pytest.raises(InvalidIdentity):
        identity.public_key_from_did(b"did:key:z6Mk")  # type: ignore[arg-type]


def test_did_cache_is_bounded() -> None:
    info = identity._checked_did.cache_info()
    assert info.maxsize == identity.DID_CACHE_SIZE


def test_records_share_one_string_per_did_and_one_value_per_requester() -> None:
    coop = key("coop").did
    made = [
        sign_record(key("ana"), coop=coop, ts=T0 + i, body=Rating(requester=REQ, text=f"{i}"))
        for i in range(3)
    ]
    again = [Record.from_bytes(bytes(r.raw)) for r in made]
    assert again[0].author is again[1].author is again[2].author
    assert again[0].coop is again[2].coop
    assert again[0].body.requester is again[1].body.requester  # type: ignore[attr-defined]
    assert identity.canonical_did("".join(list(coop))) is identity.canonical_did(coop)
    with pytest.raises(InvalidIdentity):
        identity.canonical_did("did:key:z6MkNOPE")


# --------------------------------------------------------------------------- decoding


def _strict(data: bytes) -> object:
    try:
        return ("ok", _Reader(data).read_all())
    except DecodeError as exc:
        return ("error", exc.code, exc.offset)


def _fast(data: bytes) -> object:
    try:
        return ("ok", decode(data))
    except DecodeError as exc:
        return ("error", exc.code, exc.offset)


NEAR_MISSES = [
    msgpack.packb({"b": 1, "a": 2}),  # keys out of order
    msgpack.packb({"a": 1.5}),  # float64
    b"\x81\xa1a\xca\x3f\xc0\x00\x00",  # float32
    msgpack.packb({b"a": 1}, use_bin_type=True),  # binary key
    msgpack.packb({1: 1}),  # integer key
    msgpack.packb([msgpack.Timestamp(1, 0)], use_bin_type=True, datetime=False),  # fixext4
    msgpack.packb([msgpack.Timestamp(1, 1)], use_bin_type=True),  # fixext8
    msgpack.packb([msgpack.Timestamp(2**40, 1)], use_bin_type=True),  # ext8, 12 bytes
    msgpack.packb(msgpack.ExtType(5, b"x"), use_bin_type=True),
    b"\x82\xa1a\x01\xa1a\x02",  # duplicate key
    b"\x91" * 33 + b"\xc0",  # one array too deep
    b"\x81\xa1a" * 33 + b"\xc0",  # one map too deep
    b"\xcc\x05",  # a long form of 5
    b"\xd9\x01a",  # str8 for one byte
]


@pytest.mark.parametrize("data", NEAR_MISSES, ids=lambda d: d[:12].hex())
def test_fast_path_refuses_what_the_strict_reader_refuses(data: bytes) -> None:
    assert _fast(data) == _strict(data)
    assert _fast(data)[0] == "error"


def test_fast_path_accepts_the_deepest_allowed_value() -> None:
    for data in (b"\x91" * 32 + b"\xc0", b"\x81\xa1a" * 32 + b"\xc0"):
        assert _fast(data) == _strict(data)
        assert _fast(data)[0] == "ok"


scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(values, st.data())
@settings(max_examples=300)
def test_fast_path_and_strict_reader_agree_on_mutated_encodings(
    value: object, data: st.DataObject
) -> None:
    raw = bytearray(encode(value))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] = data.draw(st.integers(0, 255))
    assert _fast(bytes(raw)) == _strict(bytes(raw))


# --------------------------------------------------------------------------- text


def test_forbidden_characters_regex_matches_the_rule_on_every_code_point() -> None:
    for o in range(0x110000):
        if 0xD800 <= o <= 0xDFFF:
            continue
        c = chr(o)
        assert (_FORBIDDEN_RE.search(c) is not None) == _forbidden_char(c), hex(o)


# --------------------------------------------------------------------------- signing input


def test_signing_input_cut_from_the_bytes_matches_the_encoded_one_on_every_vector() -> None:
    vectors = json.loads((VECTORS / "records.json").read_text())
    assert vectors["valid"]
    for case in vectors["valid"]:
        record = Record.from_bytes(bytes.fromhex(case["hex"]))
        expected = signing_input(record.type, record.coop, record.author, record.ts, record.body)
        assert record.signing_bytes() == expected == bytes.fromhex(case["signing_input"])


@given(st.text(max_size=300), st.integers(1_600_000_000_000, 7_000_000_000_000))
@settings(max_examples=100)
def test_signing_input_cut_from_the_bytes_matches_for_any_text_and_time(text: str, ts: int) -> None:
    coop = key("coop").did
    try:
        record = sign_record(key("ana"), coop=coop, ts=ts, body=Rating(requester=REQ, text=text))
    except Exception:  # text the schema refuses: nothing to compare
        return
    assert record.signing_bytes() == signing_input(
        record.type, record.coop, record.author, record.ts, record.body
    )


# --------------------------------------------------------------------------- due()


def test_due_blocks_exactly_the_requesters_the_rule_names() -> None:
    """The per-requester rule, applied one by one, gives what due() lists (many requesters)."""
    coop = key("coop")
    state = CoopState(coop.did)
    members = [key(f"m{i}") for i in range(6)]
    ts = T0
    state.apply(sign_record(coop, coop=coop.did, ts=ts, body=CHARTER))
    for m in members:
        state.apply(
            sign_record(coop, coop=coop.did, ts=ts, body=MemberAdmit(member=m.did, via="founder"))
        )
    flags: dict[RequesterRef, list[Record]] = {}
    for r in range(40):
        req = RequesterRef(platform="mturk", id=f"R{r}")
        for j in range(r % 5):  # 0..4 flags, from distinct or repeated members
            ts += 1
            who = members[(r + j * (1 + r % 2)) % len(members)]
            body = Flag(
                requester=req,
                target="requester",
                target_id=None,
                reason=FlagReason.UNDERPAID,
                expires=ts + 5 * DAY_MS,
            )
            rec = sign_record(who, coop=coop.did, ts=ts, body=body)
            state.apply(rec)
            flags.setdefault(req, []).append(rec)
    # Retract one flag of a requester that would otherwise cross the rule.
    victim = flags[RequesterRef(platform="mturk", id="R3")][0]
    ts += 1
    state.apply(
        sign_record(
            key_of(members, victim.author), coop=coop.did, ts=ts, body=Retraction(record=victim.id)
        )
    )
    rule = CHARTER.block_rule
    assert isinstance(rule, BlockRule)
    # Now, when most qualify; later, when the oldest have expired; then when all have.
    # (Each later time reuses what the earlier one left alive; the last goes back in time.)
    times = ((ts + 1, True), (T0 + 5 * DAY_MS + 60, True), (ts + 6 * DAY_MS, False), (ts + 1, True))
    for now, nonempty in times:
        expected = {
            req: provisional_block_flags(CHARTER, fl, now, excluded=frozenset({victim.id}))
            for req, fl in flags.items()
        }
        expected = {r: f for r, f in expected.items() if f is not None}
        listed = {b.requester: b.flags for b in state.due(now)}
        assert listed == expected
        assert bool(expected) == nonempty  # the case is not empty


def key_of(members, did):
    return next(m for m in members if m.did == did)


# --------------------------------------------------------------------------- sync pages


def test_a_page_verifier_sees_whole_pages_and_its_verdict_is_reported_in_order() -> None:
    """SyncSession hands a page's records to ``verify_page`` at once; the first bad one
    is the entry reported, and only the entries before it are applied and stored."""
    from coopfed.protocol.errors import InvalidSignature
    from coopfed.protocol.merkle import Frontier
    from coopfed.protocol.sync import (
        FetchCheckpoint,
        FetchEntries,
        FetchPageProof,
        LogInvalid,
        StorePage,
        SyncSession,
        verify_each,
    )

    from .conftest import MemoryLog

    peer = MemoryLog("coop-v")
    for i in range(20):
        peer.append(("ana", "bo", "cy")[i % 3], Rating(requester=REQ, text=f"r{i}"))
    seen: list[int] = []
    bad_at = 13

    def verifier(records):  # type: ignore[no-untyped-def]
        seen.append(len(records))
        out = list(verify_each(records))
        for i, r in enumerate(records):
            if peer.raws.index(r.raw) == bad_at:
                out[i] = InvalidSignature("pretend this one does not verify")
        return out

    s = SyncSession(
        coop=peer.did,
        state=CoopState(peer.did),
        frontier=Frontier.empty(),
        verified=None,
        page_size=8,
        verify_page=verifier,
    )
    todo = s.start()
    stored: list[bytes] = []
    problem = None
    while todo:
        a = todo.pop(0)
        if isinstance(a, FetchCheckpoint):
            todo += s.receive_checkpoint(peer.checkpoint())
        elif isinstance(a, FetchEntries):
            todo += s.receive_entries(peer.raws[a.start : a.end])
        elif isinstance(a, FetchPageProof):
            todo += s.receive_page_proof(peer.tree.consistency_proof(a.old, a.new))
        elif isinstance(a, StorePage):
            stored += [r.raw for r in a.records]
        elif isinstance(a, LogInvalid):
            problem = a
    assert seen[:2] == [8, 8]  # whole pages
    assert isinstance(problem, LogInvalid) and problem.index == bad_at
    assert problem.code == "bad_signature"
    assert stored == peer.raws[:bad_at]
