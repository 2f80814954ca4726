"""Fuzz targets: every decoder of outside bytes, and the seeds that start a campaign.

Each target takes arbitrary bytes and either returns or raises one of the protocol's
errors for bad remote data (:class:`RemoteProtocolError`). Anything else escaping is a
crash: a ``LocalProtocolError`` too, because the node answers that with a 500. The same
targets run under hypothesis (tests/fuzz/test_fuzz_decoders.py, short, in the suite) and
under atheris (tests/fuzz/atheris_fuzz.py, long, ``make fuzz``).

This module imports coopfed lazily (:func:`load`) so that atheris can instrument the
protocol modules when it imports them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "spec" / "vectors"

Target = Callable[[bytes], None]


def _vectors(name: str) -> Any:
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


def _text(data: bytes) -> str:
    # surrogateescape keeps every byte: invalid UTF-8 becomes lone surrogates, which
    # text parsers must refuse as well.
    return data.decode("utf-8", "surrogateescape")


@cache
def load() -> dict[str, Target]:
    """Name → target. Imports the protocol (call inside atheris' instrumentation)."""
    from coopfed.protocol.bodies import RequesterRef
    from coopfed.protocol.bundle import Bundle, verify_bundle
    from coopfed.protocol.checkpoint import Checkpoint, EquivocationProof, SignedCheckpoint
    from coopfed.protocol.encoding import decode
    from coopfed.protocol.identity import public_key_from_did
    from coopfed.protocol.merkle import Frontier, parse_entries_path, parse_tile_path
    from coopfed.protocol.note import Note, NoteSignature, NoteVerifier, open_note
    from coopfed.protocol.records import Record
    from coopfed.protocol.witness import (
        AddCheckpointRequest,
        Witnessed,
        add_checkpoint,
        parse_response,
        witness_verifier,
    )

    cp_vectors = _vectors("checkpoint")
    key = cp_vectors["keys"][0]
    log_key = NoteVerifier.from_vkey(key["log_vkey"])
    coop_did = key["did"]
    witness_seed = bytes.fromhex(cp_vectors["keys"][1]["seed"])
    import nacl.signing

    witness_key = nacl.signing.SigningKey(witness_seed)
    witness_name = "coopfed/witness.example"
    witness_check = witness_verifier(cp_vectors["keys"][1]["did"])
    bundle_vectors = _vectors("bundle")
    trusted = [NoteVerifier.from_vkey(v) for v in bundle_vectors["witnesses"].values()]
    signed_note = next(
        bytes.fromhex(v["note"])
        for v in cp_vectors["valid"]
        if v["kind"] == "signed_checkpoint" and v["size"] == 7
    )
    stored = SignedCheckpoint(note=signed_note, log_verifier=log_key)
    latest = {
        stored.checkpoint.origin: Witnessed(
            origin=stored.checkpoint.origin,
            size=stored.size,
            root=stored.root_hash,
            note=signed_note,
        )
    }

    def t_decode(data: bytes) -> None:
        decode(data)

    def t_record(data: bytes) -> None:
        Record.from_bytes(data)

    def t_note(data: bytes) -> None:
        note = Note.parse(data)
        Checkpoint.parse(note.text)

    def t_open_note(data: bytes) -> None:
        open_note(data, [log_key])

    def t_note_line(data: bytes) -> None:
        NoteSignature.parse_line(data)

    def t_checkpoint_text(data: bytes) -> None:
        Checkpoint.parse(data)

    def t_signed_checkpoint(data: bytes) -> None:
        cp = SignedCheckpoint(note=data, log_verifier=log_key)
        cp.cosignatures([witness_check], now=1_767_225_600)

    def t_vkey(data: bytes) -> None:
        NoteVerifier.from_vkey(_text(data))

    def t_equivocation(data: bytes) -> None:
        EquivocationProof.from_bytes(data).verify(log_key)

    def t_frontier(data: bytes) -> None:
        Frontier.from_bytes(data)

    def t_witness_request(data: bytes) -> None:
        AddCheckpointRequest.parse(data)

    def t_witness_add(data: bytes) -> None:
        # The witness side answers every request with a status; it never raises.
        answer = add_checkpoint(
            data,
            logs={log_key.name: log_key},
            latest=latest,
            witness_key=witness_key,
            witness_name=witness_name,
            now_s=1_767_225_600,
        )
        assert 200 <= answer.status < 500, answer

    def t_witness_response(data: bytes) -> None:
        parse_response(signed_note, data, witness_check, now_s=1_767_225_600)

    def t_bundle(data: bytes) -> None:
        Bundle.from_bytes(data)

    def t_verify_bundle(data: bytes) -> None:
        verify_bundle(data, trusted_witnesses=trusted, min_witnesses=0)

    def t_tile_path(data: bytes) -> None:
        text = _text(data)
        if text.startswith("tile/entries/"):
            parse_entries_path(text)
        else:
            parse_tile_path(text)

    def t_did(data: bytes) -> None:
        public_key_from_did(_text(data))

    def t_requester(data: bytes) -> None:
        RequesterRef.parse(_text(data))

    _ = coop_did
    return {
        "decode": t_decode,
        "record": t_record,
        "note": t_note,
        "open_note": t_open_note,
        "note_line": t_note_line,
        "checkpoint_text": t_checkpoint_text,
        "signed_checkpoint": t_signed_checkpoint,
        "vkey": t_vkey,
        "equivocation": t_equivocation,
        "frontier": t_frontier,
        "witness_request": t_witness_request,
        "witness_add": t_witness_add,
        "witness_response": t_witness_response,
        "bundle": t_bundle,
        "verify_bundle": t_verify_bundle,
        "tile_path": t_tile_path,
        "did": t_did,
        "requester": t_requester,
    }


def allowed() -> tuple[type[BaseException], ...]:
    """The only exceptions a target may raise."""
    from coopfed.protocol.errors import RemoteProtocolError

    return (RemoteProtocolError,)


def run(name: str, data: bytes) -> None:
    """Run target ``name`` on ``data``; a refusal is fine, anything else propagates."""
    try:
        load()[name](data)
    except allowed():
        pass


# --------------------------------------------------------------------------- seeds


def _hexes(value: Any, keys: set[str]) -> list[bytes]:
    out: list[bytes] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys and isinstance(v, str):
                try:
                    out.append(bytes.fromhex(v))
                except ValueError:
                    out.append(v.encode("utf-8"))
            else:
                out += _hexes(v, keys)
    elif isinstance(value, list):
        for v in value:
            out += _hexes(v, keys)
    return out


@cache
def seeds() -> dict[str, tuple[bytes, ...]]:
    """Valid and near-valid inputs per target, from the committed vectors."""
    enc = _vectors("encoding")
    rec = _vectors("records")
    cp = _vectors("checkpoint")
    mk = _vectors("merkle")
    bd = _vectors("bundle")
    ident = _vectors("identity")
    notes = _hexes(cp, {"note"})
    texts = _hexes(cp, {"text", "checkpoint_text"})
    records = _hexes(rec, {"hex"})
    proofs = _hexes(
        [v for v in cp["valid"] + cp["invalid"] if v["kind"] == "equivocation"], {"proof"}
    )
    lines = [
        line + b"\n" for n in notes for line in n.split(b"\n") if line.startswith("—".encode())
    ]
    vkeys = [v.encode() for v in _strings(cp, {"vkey", "log_vkey", "witness_vkey"})]
    bundles = _hexes(bd, {"bundle"})
    frontiers = _hexes(mk["frontiers"], {"encoding"})
    paths = [p["path"].encode() for p in mk["tiles"]["paths"]]
    paths += [p.encode() for p in mk["tiles"]["invalid_paths"]]
    dids = [d.encode() for d in _strings(ident, {"did"})]
    requests = [b"old 0\n\n" + n for n in notes[:8]]
    requests += [b"old 7\n" + b"A" * 43 + b"=\n\n" + n for n in notes[:4]]
    witness_lines = [line for line in lines if line][:8]
    return {
        "decode": tuple(_hexes(enc, {"hex"}) + records[:16] + frontiers),
        "record": tuple(records),
        "note": tuple(notes),
        "open_note": tuple(notes),
        "note_line": tuple(lines),
        "checkpoint_text": tuple(texts),
        "signed_checkpoint": tuple(notes),
        "vkey": tuple(vkeys),
        "equivocation": tuple(proofs),
        "frontier": tuple(frontiers),
        "witness_request": tuple(requests),
        "witness_add": tuple(requests),
        "witness_response": tuple(witness_lines),
        "bundle": tuple(bundles),
        "verify_bundle": tuple(bundles),
        "tile_path": tuple(paths),
        "did": tuple(dids),
        "requester": (b"mturk:A1B2C3", b"prolific:team/alpha", b"toloka:42"),
    }


def _strings(value: Any, keys: set[str]) -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys and isinstance(v, str):
                out.append(v)
            else:
                out += _strings(v, keys)
    elif isinstance(value, list):
        for v in value:
            out += _strings(v, keys)
    return out
