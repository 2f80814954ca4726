"""C2SP signed notes: the published vectors, the format's rules, and signatures that bind."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.errors import (
    InvalidCheckpoint,
    InvalidIdentity,
    LocalProtocolError,
    ProtocolError,
)
from coopfed.protocol.note import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    cosignature_v1_message,
    is_valid_key_name,
    key_id,
    open_note,
    sign_note,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "spec" / "vectors" / "checkpoint.json").read_text("utf-8")
)
CATEGORY = {
    "bad_checkpoint": InvalidCheckpoint,
    "invalid_identity": InvalidIdentity,
}
SEED = hashlib.sha256(b"test_note seed").digest()
SIGNER = NoteSigner.from_seed("example.org/log", SEED)
OTHER = NoteSigner.from_seed("example.org/other", hashlib.sha256(b"other").digest())
TEXT = b"hello\nworld\n"


def cases(section: str, *kinds: str) -> list[dict[str, Any]]:
    return [c for c in VECTORS[section] if c["kind"] in kinds]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [f"{c['kind']}: {c['description'][:60]}" for c in items]


def expect(case: dict[str, Any], exc: ProtocolError) -> None:
    assert exc.code == case["error"], exc.message
    assert type(exc).code == case["category"]


# --- vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("valid", "vkey"), ids=ids(cases("valid", "vkey")))
def test_vector_vkey(case: dict[str, Any]) -> None:
    v = NoteVerifier.from_vkey(case["vkey"])
    assert v.name == case["name"]
    assert v.sig_type == case["sig_type"]
    assert v.public_key.hex() == case["public_key"]
    assert v.key_id.hex() == case["key_id"]
    assert v.to_vkey() == case["vkey"]
    pub = bytes.fromhex(case["public_key"])
    assert key_id(case["name"], case["sig_type"], pub).hex() == case["key_id"]


def test_vector_keys() -> None:
    for key in VECTORS["keys"]:
        seed = hashlib.sha256(f"coopfed-vector-seed-{key['seed_index']}".encode()).digest()
        assert seed.hex() == key["seed"]
        signer = NoteSigner.from_seed(key["name"], seed)
        assert signer.verifier.public_key.hex() == key["public_key"]
        assert signer.verifier.to_vkey() == key["log_vkey"]
        assert NoteVerifier.from_vkey(key["witness_vkey"]).sig_type == SIG_TYPE_COSIGNATURE_V1


@pytest.mark.parametrize("case", cases("valid", "sign_note"), ids=ids(cases("valid", "sign_note")))
def test_vector_sign_note(case: dict[str, Any]) -> None:
    signer = NoteSigner.from_seed(case["name"], bytes.fromhex(case["seed"]))
    assert signer.verifier.to_vkey() == case["vkey"]
    note = sign_note(bytes.fromhex(case["text"]), [signer])
    assert note.hex() == case["note"]
    assert note.decode() == case["note_text"]
    opened = open_note(note, [NoteVerifier.from_vkey(case["vkey"])])
    assert opened.text.hex() == case["text"]


@pytest.mark.parametrize("case", cases("valid", "open_note"), ids=ids(cases("valid", "open_note")))
def test_vector_open_note(case: dict[str, Any]) -> None:
    verifiers = [NoteVerifier.from_vkey(v) for v in case["verifiers"]]
    opened = open_note(bytes.fromhex(case["note"]), verifiers)
    assert opened.text.hex() == case["text"]
    assert [v.label for v in opened.verifiers] == case["verified_keys"]
    assert all(any(v.matches(s) for v in verifiers) for s in opened.verified)
    assert not any(any(v.matches(s) for v in verifiers) for s in opened.unverified)


@pytest.mark.parametrize(
    "case", cases("valid", "parse_note"), ids=ids(cases("valid", "parse_note"))
)
def test_vector_parse_note(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["note"])
    assert data.decode() == case["note_text"]
    note = Note.parse(data)
    assert note.text.hex() == case["text"]
    got = [
        {"name": s.name, "key_id": s.key_id.hex(), "signature": s.signature.hex()}
        for s in note.signatures
    ]
    assert got == case["signatures"]
    assert note.to_bytes() == data


@pytest.mark.parametrize(
    "case",
    cases("valid", "cosignature_timestamp"),
    ids=ids(cases("valid", "cosignature_timestamp")),
)
def test_vector_cosignature_timestamp(case: dict[str, Any]) -> None:
    line = f"— w.example {case['signature_base64']}\n".encode()
    sig = NoteSignature.parse_line(line)
    assert sig.key_id.hex() == case["key_id"]
    assert int.from_bytes(sig.signature[:8], "big") == case["timestamp"]
    assert len(sig.signature) == 8 + 64


@pytest.mark.parametrize(
    "case",
    cases("valid", "cosignature_message"),
    ids=ids(cases("valid", "cosignature_message")),
)
def test_vector_cosignature_message(case: dict[str, Any]) -> None:
    message = cosignature_v1_message(bytes.fromhex(case["checkpoint_text"]), case["timestamp"])
    assert message.hex() == case["message"]


@pytest.mark.parametrize(
    "case", cases("invalid", "open_note"), ids=ids(cases("invalid", "open_note"))
)
def test_vector_invalid_note(case: dict[str, Any]) -> None:
    verifiers = [NoteVerifier.from_vkey(v) for v in case["verifiers"]]
    with pytest.raises(CATEGORY[case["category"]]) as info:
        open_note(bytes.fromhex(case["note"]), verifiers)
    expect(case, info.value)


@pytest.mark.parametrize("case", cases("invalid", "vkey"), ids=ids(cases("invalid", "vkey")))
def test_vector_invalid_vkey(case: dict[str, Any]) -> None:
    with pytest.raises(CATEGORY[case["category"]]) as info:
        NoteVerifier.from_vkey(case["vkey"])
    expect(case, info.value)


def test_every_vector_kind_is_checked_somewhere() -> None:
    here = {
        "vkey",
        "sign_note",
        "open_note",
        "parse_note",
        "cosignature_timestamp",
        "cosignature_message",
    }
    checkpoint_kinds = {
        "log_origin",
        "signed_checkpoint",
        "checkpoint_text",
        "cosignature",
        "add_cosignatures",
        "witnessed",
        "equivocation",
        "consistent",
        "find_equivocation",
        "verify_consistent",
        "note_size",
    }
    kinds = {c["kind"] for section in ("valid", "invalid") for c in VECTORS[section]}
    assert kinds <= here | checkpoint_kinds


# --- key names and key IDs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        *("", "a b", "a+b", "a\tb", "a\u00a0b", "a\u2028b", "a\u3000b", "a\x85b", "a\x01b"),
        *("\ud800", "a\x7fb", "a\x80b", "a\x9bb", "a\x9fb"),
    ],
)
def test_invalid_key_names(name: str) -> None:
    assert not is_valid_key_name(name)
    with pytest.raises(LocalProtocolError):
        NoteSigner.from_seed(name, SEED)


@pytest.mark.parametrize(
    "name", ["a", "example.com/log", "coopfed/z6Mk", "é—ü", "a~b", "a\xa1b", "a\u200bb"]
)
def test_valid_key_names(name: str) -> None:
    # U+200B ZERO WIDTH SPACE is not White_Space (Go agrees); "~" and "¡" border the
    # refused DEL and C1 controls (U+007F–U+009F; U+00A0 is a space).
    assert is_valid_key_name(name)


def test_key_id_is_the_spec_formula() -> None:
    pub = SIGNER.verifier.public_key
    digest = hashlib.sha256(b"example.org/log\n\x01" + pub).digest()
    assert key_id("example.org/log", SIG_TYPE_ED25519, pub) == digest[:4]
    assert SIGNER.key_id == digest[:4]
    cosig = NoteVerifier.cosignature_v1("example.org/log", pub)
    assert cosig.key_id == hashlib.sha256(b"example.org/log\n\x04" + pub).digest()[:4]


def test_verifier_from_verify_key_and_bytes_agree() -> None:
    vk = nacl.signing.SigningKey(SEED).verify_key
    assert NoteVerifier.ed25519("example.org/log", vk) == SIGNER.verifier
    assert NoteVerifier.ed25519("example.org/log", bytes(vk)) == SIGNER.verifier
    assert NoteSigner(name="example.org/log", signing_key=nacl.signing.SigningKey(SEED)) == SIGNER


def test_verifier_refuses_small_order_and_bad_arguments() -> None:
    with pytest.raises(InvalidIdentity):
        NoteVerifier.ed25519("x", bytes(32))
    with pytest.raises(LocalProtocolError):
        NoteVerifier.ed25519("x", b"\x01" * 31)
    with pytest.raises(LocalProtocolError):
        NoteVerifier(name="x", sig_type=2, public_key=SIGNER.verifier.public_key)
    with pytest.raises(LocalProtocolError):
        NoteSigner.from_seed("x", b"short")


# --- note format ---------------------------------------------------------------------------


def test_sign_and_open() -> None:
    note = sign_note(TEXT, [SIGNER, OTHER])
    assert note.startswith(TEXT + b"\n\xe2\x80\x94 example.org/log ")
    opened = open_note(note, [SIGNER.verifier])
    assert opened.text == TEXT
    assert opened.verifiers == (SIGNER.verifier,)
    assert [s.name for s in opened.unverified] == ["example.org/other"]
    assert opened.is_signed_by(SIGNER.verifier) and not opened.is_signed_by(OTHER.verifier)
    both = open_note(note, [OTHER.verifier, SIGNER.verifier])
    assert both.verifiers == (SIGNER.verifier, OTHER.verifier)


def test_text_may_hold_empty_lines_and_the_last_one_separates() -> None:
    text = b"a\n\nb\n\n\n"
    note = sign_note(text, [SIGNER])
    assert open_note(note, [SIGNER.verifier]).text == text


def test_signature_lines_in_the_text_are_text() -> None:
    # A line that looks like a signature above the last blank line belongs to the text.
    text = sign_note(TEXT, [OTHER])
    note = sign_note(text, [SIGNER])
    opened = open_note(note, [SIGNER.verifier, OTHER.verifier])
    assert opened.text == text
    assert opened.verifiers == (SIGNER.verifier,)


@pytest.mark.parametrize(
    "text", [b"no newline", b"", b"tab\there\n", b"cr\r\n", b"\xff\n", b"nul\x00\n"]
)
def test_sign_note_refuses_bad_text(text: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        sign_note(text, [SIGNER])


def test_sign_note_needs_signers() -> None:
    with pytest.raises(LocalProtocolError):
        sign_note(TEXT, [])
    with pytest.raises(LocalProtocolError):
        sign_note(TEXT, SIGNER)  # type: ignore[arg-type]


def test_limits() -> None:
    note = sign_note(TEXT, [SIGNER])
    filler = NoteSignature(name="x", key_id=b"\0\0\0\0", signature=b"y").to_line()
    at_limit = note + filler * (MAX_SIGNATURES - 1)
    assert len(open_note(at_limit, [SIGNER.verifier]).signatures) == MAX_SIGNATURES
    with pytest.raises(InvalidCheckpoint) as info:
        open_note(at_limit + filler, [SIGNER.verifier])
    assert info.value.code == "too_many_signatures"
    big = b"x" * MAX_NOTE_SIZE + b"\n"
    with pytest.raises(InvalidCheckpoint) as info:
        Note.parse(big + b"\n" + filler)
    assert info.value.code == "note_too_large"


def test_spec_minimum_of_sixteen_signatures_is_accepted() -> None:
    signers = [NoteSigner.from_seed(f"k{i}", bytes([i]) * 32) for i in range(16)]
    note = sign_note(TEXT, signers)
    opened = open_note(note, [s.verifier for s in signers])
    assert len(opened.verifiers) == 16


def test_unknown_keys_sharing_a_name_or_an_id_are_ignored() -> None:
    note = sign_note(TEXT, [SIGNER])
    sig = Note.parse(note).signatures[0]
    same_name = NoteSignature(name=sig.name, key_id=b"\xde\xad\xbe\xef", signature=b"junk")
    same_id = NoteSignature(name="example.org/elsewhere", key_id=sig.key_id, signature=b"junk")
    opened = open_note(note + same_name.to_line() + same_id.to_line(), [SIGNER.verifier])
    assert opened.unverified == (same_name, same_id)


def test_a_known_key_with_a_bad_signature_rejects_the_note() -> None:
    note = sign_note(TEXT, [SIGNER, OTHER])
    bad = NoteSignature(name=OTHER.name, key_id=OTHER.key_id, signature=bytes(64))
    tampered = Note.parse(note).text + b"\n" + Note.parse(note).signatures[0].to_line()
    tampered += bad.to_line()
    assert open_note(tampered, [SIGNER.verifier]).text == TEXT  # OTHER unknown: ignored
    with pytest.raises(InvalidCheckpoint) as info:
        open_note(tampered, [SIGNER.verifier, OTHER.verifier])
    assert info.value.code == "invalid_signature"


def test_ambiguous_verifiers_are_a_local_error() -> None:
    twin = NoteVerifier.ed25519("example.org/log", OTHER.verifier.public_key)
    fake = NoteVerifier.__new__(NoteVerifier)
    for attr in ("name", "sig_type", "public_key"):
        object.__setattr__(fake, attr, getattr(twin, attr))
    object.__setattr__(fake, "key_id", SIGNER.key_id)  # a 32-bit key ID collision
    with pytest.raises(LocalProtocolError):
        open_note(sign_note(TEXT, [SIGNER]), [SIGNER.verifier, fake])
    # The same verifier twice is not ambiguous.
    open_note(sign_note(TEXT, [SIGNER]), [SIGNER.verifier, SIGNER.verifier])


def test_cosignature_type_verifies_through_open_note() -> None:
    key = nacl.signing.SigningKey(SEED)
    verifier = NoteVerifier.cosignature_v1("w.example", key.verify_key)
    raw = (1234).to_bytes(8, "big") + key.sign(cosignature_v1_message(TEXT, 1234)).signature
    line = NoteSignature(name="w.example", key_id=verifier.key_id, signature=raw).to_line()
    note = sign_note(TEXT, [SIGNER]) + line
    opened = open_note(note, [verifier])
    assert opened.verifiers == (verifier,)
    assert verifier.cosignature_timestamp(opened.verified[0]) == 1234
    # The same key as a plain 0x01 verifier has another key ID: the line is unknown to it.
    with pytest.raises(InvalidCheckpoint) as info:
        open_note(note, [NoteVerifier.ed25519("w.example", key.verify_key)])
    assert info.value.code == "no_known_signature"


def test_verify_refuses_a_line_for_another_key() -> None:
    sig = SIGNER.sign(TEXT)
    with pytest.raises(LocalProtocolError):
        OTHER.verifier.verify(TEXT, sig)


def test_cosignature_message_bounds() -> None:
    assert cosignature_v1_message(b"x\n", 0) == b"cosignature/v1\ntime 0\nx\n"
    with pytest.raises(LocalProtocolError):
        cosignature_v1_message(b"x\n", 1 << 63)
    with pytest.raises(LocalProtocolError):
        cosignature_v1_message(b"x\n", -1)


def test_parse_line() -> None:
    line = SIGNER.sign(TEXT).to_line()
    assert NoteSignature.parse_line(line).to_line() == line
    for bad in (line[:-1], line + b"\n", line.replace(b" ", b"  ", 1), b"\xe2\x80\x94 \n"):
        with pytest.raises(InvalidCheckpoint):
            NoteSignature.parse_line(bad)


# --- properties ----------------------------------------------------------------------------

_text_chars = st.characters(exclude_categories=("Cs",), min_codepoint=0x20) | st.just("\n")
texts = st.text(_text_chars, max_size=200).map(lambda s: (s + "\n").encode())
names = st.text(
    st.characters(exclude_categories=("Cs", "Zs", "Zl", "Zp"), min_codepoint=0x21),
    min_size=1,
    max_size=40,
).filter(is_valid_key_name)


@given(text=texts)
def test_sign_open_round_trip(text: bytes) -> None:
    note = sign_note(text, [SIGNER])
    assert open_note(note, [SIGNER.verifier]).text == text
    assert Note.parse(note).to_bytes() == note


@settings(max_examples=300)
@given(text=texts, data=st.data())
def test_any_single_byte_change_fails_to_open(text: bytes, data: st.DataObject) -> None:
    note = sign_note(text, [SIGNER])
    i = data.draw(st.integers(0, len(note) - 1), label="index")
    delta = data.draw(st.integers(1, 255), label="xor")
    changed = note[:i] + bytes([note[i] ^ delta]) + note[i + 1 :]
    with pytest.raises(InvalidCheckpoint):
        open_note(changed, [SIGNER.verifier])


@given(name=names, key_seed=st.binary(min_size=32, max_size=32), cosig=st.booleans())
def test_vkey_round_trip(name: str, key_seed: bytes, cosig: bool) -> None:
    vk = nacl.signing.SigningKey(key_seed).verify_key
    v = NoteVerifier.cosignature_v1(name, vk) if cosig else NoteVerifier.ed25519(name, vk)
    assert NoteVerifier.from_vkey(v.to_vkey()) == v


@given(
    name=names, payload=st.binary(min_size=1, max_size=100), kid=st.binary(min_size=4, max_size=4)
)
def test_signature_line_round_trip(name: str, payload: bytes, kid: bytes) -> None:
    sig = NoteSignature(name=name, key_id=kid, signature=payload)
    assert NoteSignature.parse_line(sig.to_line()) == sig
    b64 = base64.b64encode(kid + payload)
    assert sig.to_line() == "— ".encode() + name.encode() + b" " + b64 + b"\n"
