"""Tests for coopfed.protocol.identity: RFC 8032 vectors, did:key, handles, strict verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol._wordlists import ADJECTIVES, ANIMALS
from coopfed.protocol.errors import (
    InvalidIdentity,
    InvalidSignature,
    LocalProtocolError,
    RemoteProtocolError,
)
from coopfed.protocol.identity import (
    B58_ALPHABET,
    HANDLE_DOMAIN,
    MAX_DID_LENGTH,
    Identity,
    SigningIdentity,
    b58decode,
    b58encode,
    did_from_public_key,
    handle_for,
    long_handle_for,
    public_key_from_did,
    verify_signature,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec" / "vectors" / "identity.json").read_text(encoding="utf-8"))
L = 2**252 + 27742317777372353535851937790883648493

seeds = st.binary(min_size=32, max_size=32)


def identity_cases() -> list[dict[str, Any]]:
    return VECTORS["rfc8032"] + VECTORS["identities"]


# --------------------------------------------------------------------------- vectors


def test_rfc8032_section_7_1_is_all_there() -> None:
    names = [c["name"] for c in VECTORS["rfc8032"]]
    assert names == [f"RFC 8032 7.1 TEST {n}" for n in ("1", "2", "3", "1024", "SHA(abc)")]
    assert len(bytes.fromhex(VECTORS["rfc8032"][3]["message"])) == 1023


@pytest.mark.parametrize("case", identity_cases(), ids=lambda c: c["name"])
def test_identity_vector(case: dict[str, Any]) -> None:
    signer = SigningIdentity(bytes.fromhex(case["seed"]))
    message = bytes.fromhex(case["message"])
    assert signer.public_key.hex() == case["public_key"]
    assert signer.did == case["did"]
    assert signer.identity.handle == case["handle"]
    assert signer.identity.long_handle == case["long_handle"]
    assert signer.sign(message).hex() == case["signature"]
    verify_signature(signer.public_key, message, bytes.fromhex(case["signature"]))

    public = Identity.from_did(case["did"])
    assert public == signer.identity
    assert public.public_key.hex() == case["public_key"]
    public.verify(message, bytes.fromhex(case["signature"]))
    assert b58decode(case["did"][len("did:key:z") :]).hex() == case["multikey"]

    digest = hashlib.sha256(HANDLE_DOMAIN + public.public_key).digest()
    assert digest.hex() == case["handle_digest"]
    assert case["handle"] == f"{ADJECTIVES[digest[0]]}_{ANIMALS[digest[1]]}"
    assert case["long_handle"] == f"{case['handle']}_{digest[2:4].hex()}"


def test_a_key_with_leading_zero_bytes() -> None:
    (case,) = [c for c in VECTORS["identities"] if c["public_key"].startswith("0000")]
    assert public_key_from_did(case["did"]).hex() == case["public_key"]
    assert did_from_public_key(bytes.fromhex(case["public_key"])) == case["did"]


@pytest.mark.parametrize("case", VECTORS["invalid_dids"], ids=lambda c: c["name"])
def test_invalid_did_vector(case: dict[str, Any]) -> None:
    assert case["error"] == "InvalidIdentity"
    with pytest.raises(InvalidIdentity) as info:
        public_key_from_did(case["did"])
    assert info.value.code == case["code"]
    with pytest.raises(InvalidIdentity):
        Identity.from_did(case["did"])


@pytest.mark.parametrize("case", VECTORS["invalid_signatures"], ids=lambda c: c["name"])
def test_invalid_signature_vector(case: dict[str, Any]) -> None:
    assert case["error"] == "InvalidSignature"
    with pytest.raises(InvalidSignature) as info:
        verify_signature(
            bytes.fromhex(case["public_key"]),
            bytes.fromhex(case["message"]),
            bytes.fromhex(case["signature"]),
        )
    assert info.value.code == case["code"]


# --------------------------------------------------------------------------- did:key


@given(seeds)
@settings(max_examples=200)
def test_did_round_trip(seed: bytes) -> None:
    signer = SigningIdentity(seed)
    did = signer.did
    assert len(did) == 56 <= MAX_DID_LENGTH
    assert did.startswith("did:key:z6Mk")
    assert public_key_from_did(did) == signer.public_key
    assert Identity.from_did(did) == signer.identity


@given(st.binary(max_size=64))
def test_base58_round_trip(data: bytes) -> None:
    text = b58encode(data)
    assert set(text) <= set(B58_ALPHABET)
    assert b58decode(text) == data
    zeros = len(data) - len(data.lstrip(b"\x00"))
    assert text[:zeros] == "1" * zeros
    assert not text[zeros:].startswith("1")


@given(st.text(alphabet=B58_ALPHABET, max_size=60))
def test_base58_text_round_trip(text: str) -> None:
    # With leading zero bytes spelled as '1's, base58btc is a bijection: every string over the
    # alphabet is the one encoding of what it decodes to.
    assert b58encode(b58decode(text)) == text


def test_base58_known_values() -> None:
    assert b58encode(b"") == ""
    assert b58encode(b"\x00") == "1"
    assert b58encode(b"\x00\x00\x01") == "112"
    assert b58encode(b"\x39") == "z"
    assert b58encode(b"\x3a") == "21"
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"


@given(seeds, st.text(min_size=1, max_size=8))
def test_any_change_to_a_did_is_refused(seed: bytes, junk: str) -> None:
    did = SigningIdentity(seed).did
    for bad in (did + junk, did[:-1], did.upper(), " " + did, did.replace("z", "Z", 1)):
        with pytest.raises(InvalidIdentity):
            public_key_from_did(bad)


def test_did_of_non_text_is_refused() -> None:
    with pytest.raises(InvalidIdentity):
        public_key_from_did(b"did:key:z6Mk")  # type: ignore[arg-type]
    with pytest.raises(InvalidIdentity):
        public_key_from_did(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), bytearray(32), "00" * 32])
def test_did_from_public_key_needs_32_bytes(key: Any) -> None:
    with pytest.raises(LocalProtocolError):
        did_from_public_key(key)


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33), bytearray(32), "00" * 32])
def test_signing_identity_needs_a_32_byte_seed(seed: Any) -> None:
    with pytest.raises(LocalProtocolError):
        SigningIdentity(seed)


def test_every_accepted_key_is_a_prime_order_point() -> None:
    for case in identity_cases():
        key = public_key_from_did(case["did"])
        assert nacl.bindings.crypto_core_ed25519_is_valid_point(key)


def test_invalid_identity_is_remote() -> None:
    assert issubclass(InvalidIdentity, RemoteProtocolError)
    assert issubclass(InvalidSignature, RemoteProtocolError)


@pytest.mark.parametrize(
    "key",
    [
        b"\x01" + bytes(31),  # the neutral element
        bytes(32),  # order 4
        b"\x02" + bytes(31),  # not on the curve
        bytes.fromhex("ec" + "ff" * 30 + "7f"),  # y = p, non-canonical
    ],
    ids=["neutral", "order-4", "off-curve", "non-canonical"],
)
def test_identity_constructor_checks_the_key(key: bytes) -> None:
    # Identity(public_key=...) and Identity.from_did(...) accept exactly the same keys.
    with pytest.raises(InvalidIdentity):
        Identity(public_key=key)
    with pytest.raises(InvalidIdentity):
        Identity.from_did(did_from_public_key(key))


# --------------------------------------------------------------------------- handles


def test_wordlists_have_256_distinct_words() -> None:
    for words in (ADJECTIVES, ANIMALS):
        assert len(words) == 256
        assert len(set(words)) == 256
        assert all(w.isascii() and w.isalpha() and w.islower() for w in words)


@given(st.binary(min_size=32, max_size=32))
def test_handle_derivation(public_key: bytes) -> None:
    digest = hashlib.sha256(b"coopfed/handle/v1\x00" + public_key).digest()
    handle = handle_for(public_key)
    assert handle == f"{ADJECTIVES[digest[0]]}_{ANIMALS[digest[1]]}"
    assert long_handle_for(public_key) == f"{handle}_{digest[2]:02x}{digest[3]:02x}"
    assert handle.count("_") == 1


# --------------------------------------------------------------------------- signatures


@given(seeds, st.binary(max_size=300))
@settings(max_examples=100)
def test_sign_verify_round_trip(seed: bytes, message: bytes) -> None:
    signer = SigningIdentity(seed)
    sig = signer.sign(message)
    assert len(sig) == 64
    signer.identity.verify(message, sig)
    assert signer.sign(message) == sig  # deterministic


@given(seeds, st.binary(max_size=64), st.integers(min_value=0, max_value=511))
@settings(max_examples=150)
def test_any_flipped_signature_bit_is_refused(seed: bytes, message: bytes, bit: int) -> None:
    signer = SigningIdentity(seed)
    sig = bytearray(signer.sign(message))
    sig[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidSignature):
        verify_signature(signer.public_key, message, bytes(sig))


@given(seeds, st.binary(max_size=64), st.binary(min_size=1, max_size=4))
@settings(max_examples=100)
def test_a_changed_message_is_refused(seed: bytes, message: bytes, extra: bytes) -> None:
    signer = SigningIdentity(seed)
    sig = signer.sign(message)
    with pytest.raises(InvalidSignature):
        verify_signature(signer.public_key, message + extra, sig)


@given(seeds, st.binary(max_size=64))
@settings(max_examples=50)
def test_malleated_s_is_refused(seed: bytes, message: bytes) -> None:
    signer = SigningIdentity(seed)
    sig = signer.sign(message)
    s = int.from_bytes(sig[32:], "little") + L
    with pytest.raises(InvalidSignature):
        verify_signature(signer.public_key, message, sig[:32] + s.to_bytes(32, "little"))


@pytest.mark.parametrize("sig", [None, "00" * 64, bytearray(64), b"\x00" * 63], ids=repr)
def test_signature_of_the_wrong_kind_is_refused(sig: Any) -> None:
    signer = SigningIdentity(bytes(32))
    with pytest.raises(InvalidSignature):
        verify_signature(signer.public_key, b"m", sig)
