"""Checkpoints, cosignatures and equivocation proofs: vectors, rules, and soundness."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.checkpoint import (
    DEFAULT_MAX_FUTURE_SKEW,
    EQUIVOCATION_PROOF_TYPE,
    Checkpoint,
    EquivocationProof,
    SignedCheckpoint,
    add_cosignatures,
    cosign,
    find_equivocation,
    log_origin,
    parse_signed,
    sign_checkpoint,
    verified_witnesses,
    verify_consistent,
    verify_cosignature,
)
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import (
    DecodeError,
    Equivocation,
    InvalidCheckpoint,
    InvalidIdentity,
    InvalidProof,
    LocalProtocolError,
    ProtocolError,
)
from coopfed.protocol.identity import did_from_public_key
from coopfed.protocol.merkle import EMPTY_ROOT, MemoryTree, verify_consistency
from coopfed.protocol.note import (
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    NoteVerifier,
    open_note,
)

ROOT = Path(__file__).parents[2]
VECTORS: dict[str, Any] = json.loads(
    (ROOT / "spec" / "vectors" / "checkpoint.json").read_text("utf-8")
)
CATEGORY: dict[str, type[ProtocolError]] = {
    "bad_checkpoint": InvalidCheckpoint,
    "bad_proof": InvalidProof,
    "decode_error": DecodeError,
    "equivocation": Equivocation,
    "invalid_identity": InvalidIdentity,
}


def key(label: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(label.encode()).digest())


LOG_KEY = key("test log")
ORIGIN = log_origin(did_from_public_key(bytes(LOG_KEY.verify_key)))
LOG = NoteVerifier.ed25519(ORIGIN, LOG_KEY.verify_key)
W1_KEY, W2_KEY = key("witness 1"), key("witness 2")
W1 = NoteVerifier.cosignature_v1("w1.example/witness", W1_KEY.verify_key)
W2 = NoteVerifier.cosignature_v1("w2.example/witness", W2_KEY.verify_key)
T = 1_800_000_000


def tree(n: int, fork: int | None = None) -> MemoryTree:
    return MemoryTree.from_leaves(b"fork %d" % i if i == fork else b"leaf %d" % i for i in range(n))


def signed(t: MemoryTree, size: int) -> SignedCheckpoint:
    cp = Checkpoint(origin=ORIGIN, size=size, root_hash=t.root(size))
    return parse_signed(sign_checkpoint(cp, LOG_KEY), LOG)


def cases(section: str, kind: str) -> list[dict[str, Any]]:
    return [c for c in VECTORS[section] if c["kind"] == kind]


def params(section: str, kind: str) -> Any:
    found = cases(section, kind)
    return pytest.mark.parametrize("case", found, ids=[c["description"][:70] for c in found])


def expect_error(case: dict[str, Any], call: Callable[[], object]) -> None:
    with pytest.raises(CATEGORY[case["category"]]) as info:
        call()
    assert info.value.code == case["error"], info.value.message
    assert type(info.value).code == case["category"]


def vkey(text: str) -> NoteVerifier:
    return NoteVerifier.from_vkey(text)


def hexes(items: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in items]


# --- vectors -------------------------------------------------------------------------------


def test_vectors_regenerate_identically() -> None:
    gen_path = ROOT / "spec" / "vectors" / "generate.py"
    spec = importlib.util.spec_from_file_location("coopfed_vectors_generate", gen_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.render(module.generators()["checkpoint"]())
    assert fresh == (ROOT / "spec" / "vectors" / "checkpoint.json").read_text("utf-8")


def test_vector_provenance_names_its_sources() -> None:
    sources = {s["id"]: s for s in VECTORS["provenance"]["sources"]}
    assert {"c2sp-signed-note", "c2sp-tlog-checkpoint", "c2sp-tlog-cosignature"} <= set(sources)
    for s in sources.values():
        assert len(s["commit"]) == 40 and s["repository"] and s["path"]
    for section in ("valid", "invalid"):
        for c in VECTORS[section]:
            assert "source" not in c or c["source"] in sources


@params("valid", "log_origin")
def test_vector_log_origin(case: dict[str, Any]) -> None:
    assert log_origin(case["did"]) == case["origin"]


@params("valid", "checkpoint_text")
def test_vector_checkpoint_text(case: dict[str, Any]) -> None:
    text = bytes.fromhex(case["text"])
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size, cp.root_hash.hex()) == (
        case["origin"],
        case["size"],
        case["root_hash"],
    )
    assert list(cp.extensions) == case["extensions"]
    assert cp.to_text() == text


@params("valid", "signed_checkpoint")
def test_vector_signed_checkpoint(case: dict[str, Any]) -> None:
    note = bytes.fromhex(case["note"])
    s = parse_signed(note, vkey(case["log_vkey"]))
    cp = s.checkpoint
    assert (cp.origin, cp.size, cp.root_hash.hex(), list(cp.extensions)) == (
        case["origin"],
        case["size"],
        case["root_hash"],
        case["extensions"],
    )
    assert cp.to_text().hex() == case["text"]
    seed = next(k["seed"] for k in VECTORS["keys"] if k["log_vkey"] == case["log_vkey"])
    assert sign_checkpoint(cp, bytes.fromhex(seed)) == note


@params("invalid", "signed_checkpoint")
def test_vector_invalid_signed_checkpoint(case: dict[str, Any]) -> None:
    expect_error(case, lambda: parse_signed(bytes.fromhex(case["note"]), vkey(case["log_vkey"])))


@params("valid", "cosignature")
def test_vector_cosignature(case: dict[str, Any]) -> None:
    cp = Checkpoint.parse(bytes.fromhex(case["checkpoint_text"]))
    line = cosign(cp, bytes.fromhex(case["witness_seed"]), case["witness_name"], case["timestamp"])
    assert line.hex() == case["line"]
    got = verify_cosignature(cp, line, vkey(case["witness_vkey"]))
    assert got.timestamp == case["timestamp"]
    assert got.line == line
    # The Ed25519 signature in the line is over exactly the published message.
    sig = NoteSignature.parse_line(line).signature
    pub = vkey(case["witness_vkey"]).public_key
    nacl.signing.VerifyKey(pub).verify(bytes.fromhex(case["message"]), sig[8:])


@params("invalid", "cosignature")
def test_vector_invalid_cosignature(case: dict[str, Any]) -> None:
    cp = Checkpoint.parse(bytes.fromhex(case["checkpoint_text"]))
    expect_error(
        case,
        lambda: verify_cosignature(cp, bytes.fromhex(case["line"]), vkey(case["witness_vkey"])),
    )


@params("valid", "add_cosignatures")
def test_vector_add_cosignatures(case: dict[str, Any]) -> None:
    got = add_cosignatures(bytes.fromhex(case["note"]), bytes.fromhex(case["lines"]))
    assert got.hex() == case["result"]


@params("invalid", "add_cosignatures")
def test_vector_invalid_add_cosignatures(case: dict[str, Any]) -> None:
    expect_error(
        case, lambda: add_cosignatures(bytes.fromhex(case["note"]), bytes.fromhex(case["lines"]))
    )


@params("valid", "witnessed")
def test_vector_witnessed(case: dict[str, Any]) -> None:
    got = verified_witnesses(
        bytes.fromhex(case["note"]),
        vkey(case["log_vkey"]),
        [vkey(v) for v in case["witness_vkeys"]],
        now=case["now"],
        max_future_skew=case["max_future_skew"],
    )
    assert [
        {"name": c.witness.name, "key_id": c.witness.key_id.hex(), "timestamp": c.timestamp}
        for c in got
    ] == case["witnesses"]


@params("invalid", "witnessed")
def test_vector_invalid_witnessed(case: dict[str, Any]) -> None:
    expect_error(
        case,
        lambda: verified_witnesses(
            bytes.fromhex(case["note"]),
            vkey(case["log_vkey"]),
            [vkey(v) for v in case["witness_vkeys"]],
            now=case["now"],
            max_future_skew=case["max_future_skew"],
        ),
    )


@params("valid", "consistent")
def test_vector_consistent(case: dict[str, Any]) -> None:
    log = vkey(case["log_vkey"])
    a = parse_signed(bytes.fromhex(case["a"]), log)
    b = parse_signed(bytes.fromhex(case["b"]), log)
    proof = hexes(case["consistency"])
    assert find_equivocation(a, b, proof) is None
    assert find_equivocation(b, a, proof) is None
    verify_consistent(a, b, proof)
    verify_consistency(a.size, b.size, a.root_hash, b.root_hash, proof)


@params("valid", "equivocation")
def test_vector_equivocation(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["proof"])
    proof = EquivocationProof.from_bytes(data)
    assert proof.first.hex() == case["first"]
    assert proof.second.hex() == case["second"]
    assert [h.hex() for h in proof.consistency] == case["consistency"]
    assert proof.to_bytes() == data
    proof.verify(vkey(case["log_vkey"]))
    # find_equivocation rebuilds exactly this proof, whatever the argument order.
    log = vkey(case["log_vkey"])
    a, b = parse_signed(proof.first, log), parse_signed(proof.second, log)
    path = list(proof.consistency) if a.size != b.size else None
    assert find_equivocation(b, a, path) == proof
    with pytest.raises(Equivocation):
        verify_consistent(a, b, path)


@params("invalid", "equivocation")
def test_vector_invalid_equivocation(case: dict[str, Any]) -> None:
    def run() -> None:
        EquivocationProof.from_bytes(bytes.fromhex(case["proof"])).verify(vkey(case["log_vkey"]))

    expect_error(case, run)


@params("invalid", "find_equivocation")
def test_vector_invalid_find_equivocation(case: dict[str, Any]) -> None:
    log = vkey(case["log_vkey"])
    a = parse_signed(bytes.fromhex(case["a"]), log)
    b = parse_signed(bytes.fromhex(case["b"]), log)
    expect_error(case, lambda: find_equivocation(a, b, hexes(case["consistency"])))


@params("invalid", "verify_consistent")
def test_vector_invalid_verify_consistent(case: dict[str, Any]) -> None:
    log = vkey(case["log_vkey"])
    a = parse_signed(bytes.fromhex(case["a"]), log)
    b = parse_signed(bytes.fromhex(case["b"]), log)
    path = hexes(case["consistency"])
    expect_error(case, lambda: verify_consistent(a, b, path))
    expect_error(case, lambda: verify_consistent(b, a, path))


def note_from_recipe(recipe: dict[str, Any]) -> bytes:
    """``head``, then ``fill`` repeated ``count`` times, then ``tail`` (all hex)."""
    fill = bytes.fromhex(recipe["fill"]) * recipe["count"]
    return bytes.fromhex(recipe["head"]) + fill + bytes.fromhex(recipe["tail"])


@params("valid", "note_size")
def test_vector_note_size(case: dict[str, Any]) -> None:
    note = note_from_recipe(case["note_repeat"])
    assert len(note) == case["size"] == VECTORS["constants"]["max_note_size"]
    assert hashlib.sha256(note).hexdigest() == case["note_sha256"]
    parse_signed(note, vkey(case["log_vkey"]))


@params("invalid", "note_size")
def test_vector_invalid_note_size(case: dict[str, Any]) -> None:
    note = note_from_recipe(case["note_repeat"])
    assert len(note) == VECTORS["constants"]["max_note_size"] + 1
    expect_error(case, lambda: parse_signed(note, vkey(case["log_vkey"])))
    expect_error(case, lambda: Note.parse(note))


def test_every_error_code_of_the_spec_has_a_vector() -> None:
    # log-checkpoints.md §7: the second column of the table lists each code (in backticks).
    text = (ROOT / "spec" / "log-checkpoints.md").read_text("utf-8")
    table = text.split("## 7. Error codes", 1)[1].split("## 8.", 1)[0]
    codes = {
        code
        for row in table.splitlines()
        if row.count("|") >= 3
        for code in re.findall(r"`([a-z_]+)`", row.split("|")[2])
    }
    assert {"note_too_large", "hash_length", "equivocation"} <= codes
    covered = {c["error"] for c in VECTORS["invalid"]}
    assert codes <= covered, f"no vector for {sorted(codes - covered)}"


def test_published_cosignature_example_carries_its_message_time() -> None:
    (case,) = [c for c in cases("valid", "parse_note") if c["source"] == "c2sp-tlog-cosignature"]
    note = Note.parse(bytes.fromhex(case["note"]))
    cp = Checkpoint.parse(note.text)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    witness = note.signatures[1]
    (message,) = cases("valid", "cosignature_message")
    assert int.from_bytes(witness.signature[:8], "big") == message["timestamp"]


# --- checkpoints ---------------------------------------------------------------------------


def test_log_origin() -> None:
    did = did_from_public_key(bytes(LOG_KEY.verify_key))
    assert "coopfed/" + did.removeprefix("did:key:") == ORIGIN
    with pytest.raises(InvalidIdentity):
        log_origin("did:web:example.org")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "a\nb"},
        {"origin": "a\tb"},
        {"size": -1},
        {"size": 1 << 64},
        {"size": True},
        {"root_hash": b"\0" * 31},
        {"extensions": ("",)},
        {"extensions": ["x"]},
        {"extensions": ("a\nb",)},
    ],
)
def test_checkpoint_constructor_validates(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"origin": "o", "size": 1, "root_hash": bytes(32)}
    base.update(kwargs)
    with pytest.raises(LocalProtocolError):
        Checkpoint(**base)


def test_checkpoint_text_exact() -> None:
    cp = Checkpoint(origin="o", size=0, root_hash=EMPTY_ROOT, extensions=("e 1", "e+2"))
    root = base64.b64encode(EMPTY_ROOT)
    assert cp.to_text() == b"o\n0\n" + root + b"\ne 1\ne+2\n"
    # Origins with spaces are not recommended but must be accepted (tlog-checkpoint).
    assert Checkpoint.parse(b"Moon Log\n1\n" + root + b"\n").origin == "Moon Log"


def test_largest_size() -> None:
    root = base64.b64encode(bytes(32))
    cp = Checkpoint.parse(b"o\n18446744073709551615\n" + root + b"\n")
    assert cp.size == (1 << 64) - 1


origins = st.text(
    st.characters(exclude_categories=("Cs",), min_codepoint=0x20), min_size=1, max_size=60
)
checkpoints = st.builds(
    lambda o, s, r, e: Checkpoint(origin=o, size=s, root_hash=r, extensions=tuple(e)),
    origins,
    st.integers(0, (1 << 64) - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(origins, max_size=3),
)


@given(cp=checkpoints)
def test_checkpoint_round_trip(cp: Checkpoint) -> None:
    text = cp.to_text()
    assert Checkpoint.parse(text) == cp
    assert Checkpoint.parse(text).to_text() == text


@settings(max_examples=200)
@given(cp=checkpoints, data=st.data())
def test_checkpoint_parse_is_canonical(cp: Checkpoint, data: st.DataObject) -> None:
    # Any other spelling of the same text either fails or is a different checkpoint.
    text = cp.to_text()
    i = data.draw(st.integers(0, len(text) - 1))
    insert = data.draw(st.sampled_from([b"0", b" ", b"+", b"=", b"\n", b"A"]))
    variant = text[:i] + insert + text[i:]
    try:
        other = Checkpoint.parse(variant)
    except InvalidCheckpoint:
        return
    assert other.to_text() == variant
    assert other != cp


def test_signed_checkpoint_requires_origin_and_key() -> None:
    cp = Checkpoint(origin="someone/else", size=0, root_hash=EMPTY_ROOT)
    note = sign_checkpoint(cp, LOG_KEY, ORIGIN)
    with pytest.raises(InvalidCheckpoint) as info:
        parse_signed(note, LOG)
    assert info.value.code == "origin_mismatch"
    assert parse_signed(note, LOG, origin="someone/else").checkpoint == cp
    # Default key name is the origin.
    with pytest.raises(InvalidCheckpoint) as info:
        parse_signed(sign_checkpoint(cp, LOG_KEY), LOG)
    assert info.value.code == "no_known_signature"
    with pytest.raises(LocalProtocolError):
        SignedCheckpoint(note=note, log_verifier=W1)


def test_signed_checkpoint_keeps_all_lines() -> None:
    s = signed(tree(3), 3)
    line = cosign(s.checkpoint, W1_KEY, W1.name, T)
    s2 = parse_signed(add_cosignatures(s.note, line), LOG)
    assert s2.checkpoint == s.checkpoint
    assert [x.name for x in s2.signatures] == [ORIGIN, W1.name]


# --- cosignatures --------------------------------------------------------------------------


def test_cosign_and_gather() -> None:
    s = signed(tree(5), 5)
    l1 = cosign(s.checkpoint, W1_KEY, W1.name, T)
    l2 = cosign(s.checkpoint, W2_KEY, W2.name, T + 1)
    note = add_cosignatures(s.note, [l1, l2])
    assert add_cosignatures(note, l1 + l2) == note  # no repeats
    got = verified_witnesses(note, LOG, [W2, W1], now=T + 1)
    assert [(c.witness, c.timestamp) for c in got] == [(W1, T), (W2, T + 1)]
    assert verified_witnesses(note, LOG, [], now=T) == ()
    # The log's own note still opens with only the log key.
    assert open_note(note, [LOG]).text == s.checkpoint.to_text()


def test_latest_cosignature_per_witness_counts() -> None:
    s = signed(tree(5), 5)
    early = cosign(s.checkpoint, W1_KEY, W1.name, T)
    late = cosign(s.checkpoint, W1_KEY, W1.name, T + 100)
    # add_cosignatures refuses a second line from one key; a note can still carry both.
    with pytest.raises(InvalidCheckpoint):
        add_cosignatures(add_cosignatures(s.note, early), late)
    note = s.note + early + late
    (c,) = verified_witnesses(note, LOG, [W1], now=T + 100)
    assert c.timestamp == T + 100
    (c,) = verified_witnesses(note, LOG, [W1], now=T + 100 - DEFAULT_MAX_FUTURE_SKEW - 1)
    assert c.timestamp == T
    assert verified_witnesses(note, LOG, [W1], now=T - 1, max_future_skew=0) == ()


def test_cosignature_arguments() -> None:
    cp = signed(tree(1), 1).checkpoint
    for ts in (-1, 1 << 63, 1.5):
        with pytest.raises(LocalProtocolError):
            cosign(cp, W1_KEY, W1.name, ts)  # type: ignore[arg-type]
    assert cosign(cp, W1_KEY, W1.name, (1 << 63) - 1)
    with pytest.raises(LocalProtocolError):
        cosign(cp, W1_KEY, "bad name", T)
    with pytest.raises(LocalProtocolError):
        verify_cosignature(cp, cosign(cp, W1_KEY, W1.name, T), LOG)  # not a witness key
    with pytest.raises(LocalProtocolError):
        verified_witnesses(signed(tree(1), 1).note, LOG, [LOG], now=T)
    with pytest.raises(LocalProtocolError):
        verified_witnesses(signed(tree(1), 1).note, LOG, [W1], now=-1)


def test_add_cosignatures_limits() -> None:
    s = signed(tree(2), 2)
    many = [
        NoteSignature(name=f"w{i}", key_id=b"\0\0\0\0", signature=b"x").to_line()
        for i in range(MAX_SIGNATURES)
    ]
    with pytest.raises(InvalidCheckpoint) as info:
        add_cosignatures(s.note, many)
    assert info.value.code == "too_many_signatures"
    assert len(Note.parse(add_cosignatures(s.note, many[:-1])).signatures) == MAX_SIGNATURES
    with pytest.raises(InvalidCheckpoint):
        add_cosignatures(s.note, b"not a line\n")
    with pytest.raises(InvalidCheckpoint):
        add_cosignatures(s.note, many[0][:-1])
    assert add_cosignatures(s.note, b"") == s.note


# --- equivocation --------------------------------------------------------------------------


def full_path(t: MemoryTree, m: int, n: int) -> list[bytes]:
    path = t.consistency_proof(m, n)
    return [t.root(m), *path] if m & (m - 1) == 0 else path


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_forks_are_caught_and_honest_logs_never_framed(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 40), label="n")
    m = data.draw(st.integers(1, n - 1), label="m")
    fork = data.draw(st.integers(0, n - 1), label="fork")
    honest, forked = tree(n), tree(n, fork)
    old, new = signed(honest, m), signed(forked, n)
    found = find_equivocation(old, new, full_path(forked, m, n))
    if fork >= m:
        # The fork is past the old size: one history explains both.
        assert found is None
        verify_consistency(m, n, old.root_hash, new.root_hash, forked.consistency_proof(m, n))
        assert find_equivocation(old, new, forked.consistency_proof(m, n)) is None
        return
    assert found is not None
    found.verify(LOG)
    assert EquivocationProof.from_bytes(found.to_bytes()) == found
    # Every hash of the path is bound: change one and the proof proves nothing.
    i = data.draw(st.integers(0, len(found.consistency) - 1), label="i")
    path = list(found.consistency)
    path[i] = hashlib.sha256(path[i]).digest()
    tampered = EquivocationProof(first=found.first, second=found.second, consistency=tuple(path))
    with pytest.raises(InvalidProof) as info:
        tampered.verify(LOG)
    assert info.value.code == "root_mismatch"
    # The honest log's own pair can never be presented as an equivocation.
    honest_pair = EquivocationProof(
        first=old.note, second=signed(honest, n).note, consistency=tuple(full_path(honest, m, n))
    )
    with pytest.raises(InvalidProof) as info:
        honest_pair.verify(LOG)
    assert info.value.code == "not_equivocation"


def test_same_size_needs_no_merkle_proof() -> None:
    a, b = signed(tree(6), 6), signed(tree(6, 3), 6)
    proof = find_equivocation(a, b, None)
    assert proof is not None and proof.consistency == ()
    proof.verify(LOG)
    assert find_equivocation(a, a, None) is None
    assert find_equivocation(a, a, []) is None
    with pytest.raises(InvalidProof):
        find_equivocation(a, b, [bytes(32)])


def test_proof_only_binds_the_log_that_signed() -> None:
    a, b = signed(tree(6), 6), signed(tree(6, 3), 6)
    proof = find_equivocation(a, b, None)
    assert proof is not None
    other = NoteVerifier.ed25519(ORIGIN, W1_KEY.verify_key)
    with pytest.raises(InvalidCheckpoint):
        proof.verify(other)


def test_find_equivocation_misuse() -> None:
    a, b = signed(tree(3), 3), signed(tree(5), 5)
    with pytest.raises(LocalProtocolError):
        find_equivocation(a, b, None)
    with pytest.raises(LocalProtocolError):
        find_equivocation(a, b, b"".join(tree(5).consistency_proof(3, 5)))  # type: ignore[arg-type]
    stranger_key = key("stranger")
    stranger_origin = log_origin(did_from_public_key(bytes(stranger_key.verify_key)))
    stranger = parse_signed(
        sign_checkpoint(
            Checkpoint(origin=stranger_origin, size=3, root_hash=tree(3).root()), stranger_key
        ),
        NoteVerifier.ed25519(stranger_origin, stranger_key.verify_key),
    )
    with pytest.raises(LocalProtocolError):
        find_equivocation(a, stranger, None)
    with pytest.raises(InvalidProof) as info:
        find_equivocation(a, b, [b"short"])
    assert info.value.code == "hash_length"


def test_size_zero() -> None:
    empty = parse_signed(
        sign_checkpoint(Checkpoint(origin=ORIGIN, size=0, root_hash=EMPTY_ROOT), LOG_KEY), LOG
    )
    b = signed(tree(4), 4)
    assert find_equivocation(empty, b, []) is None
    assert find_equivocation(empty, b, None) is None
    lie = parse_signed(
        sign_checkpoint(Checkpoint(origin=ORIGIN, size=0, root_hash=bytes(32)), LOG_KEY), LOG
    )
    proof = find_equivocation(b, lie, None)
    assert proof is not None and proof.first == lie.note
    proof.verify(LOG)


def test_standard_proof_for_power_of_two_cannot_show_a_fork() -> None:
    old, new = signed(tree(8), 4), signed(tree(8, 1), 8)
    forked = tree(8, 1)
    with pytest.raises(InvalidProof) as info:
        find_equivocation(old, new, forked.consistency_proof(4, 8))
    assert info.value.code == "root_mismatch"
    proof = find_equivocation(old, new, [forked.root(4), *forked.consistency_proof(4, 8)])
    assert proof is not None
    proof.verify(LOG)


def test_verify_consistent_raises_equivocation() -> None:
    a, b = signed(tree(6), 6), signed(tree(6, 0), 6)
    with pytest.raises(Equivocation) as info:
        verify_consistent(a, b, None)
    assert info.value.code == "equivocation"
    verify_consistent(signed(tree(6), 2), a, tree(6).consistency_proof(2, 6))


def test_equivocation_proof_encoding_is_strict() -> None:
    a, b = signed(tree(6), 3), signed(tree(6, 1), 6)
    proof = find_equivocation(a, b, tree(6, 1).consistency_proof(3, 6))
    assert proof is not None
    value = {
        "type": EQUIVOCATION_PROOF_TYPE,
        "first": proof.first,
        "second": proof.second,
        "consistency": list(proof.consistency),
    }
    assert encode(value) == proof.to_bytes()
    for change in (
        {"extra": 1},
        {"consistency": [b"x"]},
        {"consistency": "nope"},
        {"first": "text"},
        {"type": "other"},
    ):
        with pytest.raises(InvalidProof) as info:
            EquivocationProof.from_bytes(encode({**value, **change}))
        assert info.value.code == "bad_equivocation_proof"
    with pytest.raises(InvalidCheckpoint):
        EquivocationProof.from_bytes(encode({**value, "first": b"garbage"}))
    with pytest.raises(InvalidProof):
        EquivocationProof.from_bytes(encode([1, 2]))
    with pytest.raises(LocalProtocolError):
        EquivocationProof(first=proof.second, second=proof.first, consistency=proof.consistency)
