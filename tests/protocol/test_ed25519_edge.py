"""Ed25519 edge cases (spec/vectors/ed25519_edge.json) are refused where coopfed checks keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coopfed.protocol.errors import InvalidIdentity, InvalidSignature
from coopfed.protocol.identity import public_key_from_did, verify_signature
from coopfed.protocol.note import NoteVerifier
from coopfed.protocol.records import Record

ROOT = Path(__file__).resolve().parents[2]
VECTORS: dict[str, Any] = json.loads(
    (ROOT / "spec" / "vectors" / "ed25519_edge.json").read_text(encoding="utf-8")
)
SIGNATURES = VECTORS["signatures"]
KEYS = VECTORS["keys"]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


@pytest.mark.parametrize("case", SIGNATURES, ids=_ids(SIGNATURES))
def test_verify_signature(case: dict[str, Any]) -> None:
    pk, msg, sig = (bytes.fromhex(case[k]) for k in ("public_key", "message", "signature"))
    if case["expect"] == "valid":
        assert verify_signature(pk, msg, sig) is None
    else:
        with pytest.raises(InvalidSignature) as caught:
            verify_signature(pk, msg, sig)
        assert caught.value.code == "bad_signature"


@pytest.mark.parametrize("case", KEYS, ids=_ids(KEYS))
def test_bad_keys_are_refused_everywhere_a_key_enters(case: dict[str, Any]) -> None:
    key = bytes.fromhex(case["public_key"])
    with pytest.raises(InvalidIdentity):
        public_key_from_did(case["did"])
    with pytest.raises(InvalidIdentity):
        NoteVerifier.from_vkey(case["vkey"])
    with pytest.raises(InvalidIdentity):
        NoteVerifier.ed25519("coopfed/edge.example", key)
    with pytest.raises(InvalidIdentity):
        NoteVerifier.cosignature_v1("coopfed/edge.example", key)


def test_every_small_order_point_and_its_forgery_is_covered() -> None:
    small = [k for k in KEYS if k["name"].startswith("small-order key")]
    assert len({k["public_key"] for k in small}) == 8
    forged = {c["public_key"] for c in SIGNATURES if c["name"].startswith("forgery under")}
    assert {k["public_key"] for k in KEYS if "mixed" not in k["name"]} <= forged
    assert all(c["expect"] == "invalid" for c in SIGNATURES if c.get("lax_verifiers"))


def test_verify_signature_alone_refuses_all_keys_but_the_mixed_order_one() -> None:
    # What the file's note says: under each small-order and non-canonical key every
    # signature case is refused; under the mixed-order key its one case verifies, since
    # verify_signature checks for small order, not for the prime-order subgroup.
    for k in KEYS:
        expected = {c["expect"] for c in SIGNATURES if c["public_key"] == k["public_key"]}
        assert expected == ({"valid"} if "mixed" in k["name"] else {"invalid"}), k["name"]
    assert any("mixed-order" in note and "expects valid" in note for note in VECTORS["notes"])


@pytest.mark.parametrize("case", VECTORS["records"], ids=_ids(VECTORS["records"]))
def test_malleated_record_signature_is_refused(case: dict[str, Any]) -> None:
    Record.from_bytes(bytes.fromhex(case["valid"]))
    with pytest.raises(InvalidSignature) as caught:
        Record.from_bytes(bytes.fromhex(case["record"]))
    assert caught.value.code == case["code"]


def test_note_signatures_refuse_malleated_and_lax_forms() -> None:
    import hashlib

    from coopfed.protocol.errors import InvalidCheckpoint
    from coopfed.protocol.note import Note, NoteSignature, NoteSigner, open_note

    order_l = 2**252 + 27742317777372353535851937790883648493
    signer = NoteSigner.from_seed("coopfed/edge.example", hashlib.sha256(b"edge-note").digest())
    text = b"coopfed/edge.example\n1\n" + b"A" * 43 + b"=\n"
    good = signer.sign(text)
    open_note(Note(text=text, signatures=(good,)).to_bytes(), [signer.verifier])
    s = int.from_bytes(good.signature[32:], "little")
    for sig in (
        good.signature[:32] + (s + order_l).to_bytes(32, "little"),  # S + L
        bytes(64),  # all zero
        b"\x01" + bytes(63),  # R = neutral element, S = 0
        good.signature[:63],  # short
    ):
        bad = NoteSignature(name=good.name, key_id=good.key_id, signature=sig)
        with pytest.raises(InvalidCheckpoint) as caught:
            open_note(Note(text=text, signatures=(bad,)).to_bytes(), [signer.verifier])
        assert caught.value.code == "invalid_signature"
