"""The C2SP tlog-witness ``add-checkpoint`` exchange, both sides, with no I/O.

A co-op witnesses the logs of the co-ops it federates with: it cosigns a checkpoint only
after checking it is consistent with the last checkpoint it cosigned for that log. The
witness side is :func:`add_checkpoint`, a pure function from the request body and the
stored state to a response and the new state; the node must read the state, call it and
store the new state in one transaction (the spec's rollback race). The client side is
:class:`AddCheckpointRequest` and :func:`parse_response`.

In coopfed a co-op's witness key is its own co-op key, named by its log origin, with the
cosignature type 0x04: "co-op B witnessed co-op A's log" is then checkable from B's DID.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import nacl.signing

from .checkpoint import (
    Checkpoint,
    EquivocationProof,
    SignedCheckpoint,
    cosign,
    find_equivocation,
    log_origin,
)
from .errors import InvalidCheckpoint, InvalidProof, LocalProtocolError, RemoteProtocolError
from .identity import public_key_from_did
from .merkle import HASH_SIZE, verify_consistency
from .note import MAX_NOTE_SIZE, Note, NoteVerifier

__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_SIZE",
    "SIZE_CONTENT_TYPE",
    "AddCheckpointRequest",
    "WitnessRequestError",
    "WitnessResponse",
    "Witnessed",
    "add_checkpoint",
    "consistency_request",
    "log_verifier",
    "parse_response",
    "witness_verifier",
]

#: A consistency proof between 64-bit sizes has at most 63 hashes (C2SP tlog-witness).
MAX_PROOF_LINES: Final = 63
MAX_REQUEST_SIZE: Final = 32 + MAX_PROOF_LINES * 46 + MAX_NOTE_SIZE
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
_OLD_RE: Final = re.compile(rb"old (0|[1-9][0-9]{0,19})")


class WitnessRequestError(RemoteProtocolError):
    """An ``add-checkpoint`` request body is malformed (HTTP 400)."""

    code = "bad_witness_request"


def log_verifier(coop_did: str) -> NoteVerifier:
    """The key that signs co-op ``coop_did``'s checkpoints (type 0x01, name = its origin)."""
    return NoteVerifier.ed25519(log_origin(coop_did), public_key_from_did(coop_did))


def witness_verifier(coop_did: str) -> NoteVerifier:
    """The key with which co-op ``coop_did`` cosigns other logs (type 0x04)."""
    return NoteVerifier.cosignature_v1(log_origin(coop_did), public_key_from_did(coop_did))


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCheckpointRequest:
    """``old <size>`` line, consistency proof lines, a blank line, then the checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def __post_init__(self) -> None:
        if type(self.old_size) is not int or not 0 <= self.old_size < 1 << 64:
            raise LocalProtocolError("old_size is an unsigned 64-bit integer")
        if len(self.proof) > MAX_PROOF_LINES or any(
            type(h) is not bytes or len(h) != HASH_SIZE for h in self.proof
        ):
            raise LocalProtocolError(f"proof is at most {MAX_PROOF_LINES} 32-byte hashes")

    def to_bytes(self) -> bytes:
        lines = [b"old %d\n" % self.old_size]
        lines += [base64.b64encode(h) + b"\n" for h in self.proof]
        return b"".join(lines) + b"\n" + self.checkpoint

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpointRequest:
        """Parse a request body strictly; raise ``WitnessRequestError`` if malformed."""
        if len(body) > MAX_REQUEST_SIZE:
            raise WitnessRequestError(f"request is {len(body)} bytes, over {MAX_REQUEST_SIZE}")
        head, sep, note = body.partition(b"\n\n")
        if not sep:
            raise WitnessRequestError("expected the old size and proof lines, then a blank line")
        lines = head.split(b"\n")
        m = _OLD_RE.fullmatch(lines[0])
        if m is None:
            raise WitnessRequestError("the first line must be 'old <size>' in canonical decimal")
        proof = []
        for i, line in enumerate(lines[1:]):
            try:
                h = base64.b64decode(line, validate=True)
            except binascii.Error:
                h = b""
            if len(h) != HASH_SIZE or base64.b64encode(h) != line:
                raise WitnessRequestError(f"proof line {i + 1} is not one base64 SHA-256 hash")
            proof.append(h)
        if len(proof) > MAX_PROOF_LINES:
            raise WitnessRequestError(f"more than {MAX_PROOF_LINES} proof lines")
        return cls(old_size=int(m.group(1)), proof=tuple(proof), checkpoint=note)


@dataclass(frozen=True, slots=True, kw_only=True)
class Witnessed:
    """What a witness keeps per log: the latest checkpoint it cosigned, as the log signed it."""

    origin: str
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessResponse:
    """The HTTP answer, the state to store when ``status == 200``, and any evidence."""

    status: int
    body: bytes
    content_type: str
    message: str
    new_state: Witnessed | None = None
    equivocation: EquivocationProof | None = None


def _answer(
    status: int, message: str, *, equivocation: EquivocationProof | None = None
) -> WitnessResponse:
    return WitnessResponse(
        status=status,
        body=message.encode() + b"\n",
        content_type="text/plain; charset=utf-8",
        message=message,
        equivocation=equivocation,
    )


def add_checkpoint(
    body: bytes,
    *,
    logs: Mapping[str, NoteVerifier],
    latest: Mapping[str, Witnessed],
    witness_key: nacl.signing.SigningKey,
    witness_name: str,
    now_s: int,
) -> WitnessResponse:
    """Run the witness side of ``add-checkpoint`` (c2sp.org/tlog-witness) as a pure function.

    ``logs`` maps each origin the witness follows to the log's key; ``latest`` holds the
    witness's stored state per origin. Statuses follow the spec: 400 malformed, 404 unknown
    origin, 403 no valid log signature, 409 old size differs from the stored one (body: the
    stored size, ``text/x.tlog.size``) or same size with another root (with an
    ``equivocation`` proof when the stored note shows it), 422 the proof does not verify,
    200 with the cosignature line and ``new_state``.
    """
    try:
        req = AddCheckpointRequest.parse(body)
        note = Note.parse(req.checkpoint)
        cp = Checkpoint.parse(note.text)
    except (WitnessRequestError, InvalidCheckpoint) as exc:
        return _answer(400, exc.message)
    verifier = logs.get(cp.origin)
    if verifier is None:
        return _answer(404, f"this witness does not follow the log {cp.origin!r}")
    try:
        signed = SignedCheckpoint(note=req.checkpoint, log_verifier=verifier)
    except InvalidCheckpoint as exc:
        return _answer(403, f"no valid signature by the log's key: {exc.message}")
    if req.old_size > cp.size:
        return _answer(400, f"old size {req.old_size} is larger than the checkpoint's {cp.size}")
    stored = latest.get(cp.origin)
    stored_size = 0 if stored is None else stored.size
    if req.old_size != stored_size:
        return WitnessResponse(
            status=409,
            body=b"%d\n" % stored_size,
            content_type=SIZE_CONTENT_TYPE,
            message=f"the last checkpoint cosigned for this log has size {stored_size}",
        )
    if stored is not None and stored.size == cp.size:
        if stored.root != cp.root_hash:
            old = SignedCheckpoint(note=stored.note, log_verifier=verifier)
            proof = find_equivocation(old, signed, None)
            return _answer(
                409, "same size, different root: the log equivocated", equivocation=proof
            )
        if req.proof:
            return _answer(422, "a proof between equal sizes is empty")
    elif stored is None:
        if req.proof:
            return _answer(422, "the proof must be empty when the old size is 0")
    else:
        try:
            verify_consistency(stored.size, cp.size, stored.root, cp.root_hash, list(req.proof))
        except InvalidProof as exc:
            return _answer(422, f"the consistency proof does not verify: {exc.message}")
    line = cosign(cp, witness_key, witness_name, now_s)
    return WitnessResponse(
        status=200,
        body=line,
        content_type="text/plain; charset=utf-8",
        message="cosigned",
        new_state=Witnessed(origin=cp.origin, size=cp.size, root=cp.root_hash, note=req.checkpoint),
    )


def parse_response(
    checkpoint_note: bytes, response: bytes, witness: NoteVerifier, *, now_s: int
) -> bytes:
    """Check a witness's 200 answer and return the cosignature line(s) from ``witness``.

    Raises ``InvalidCheckpoint`` if the body holds no valid cosignature by ``witness``.
    Lines from other keys are ignored, as the spec requires.
    """
    if len(response) > MAX_NOTE_SIZE or not response.endswith(b"\n"):
        raise InvalidCheckpoint(
            "a witness answers with signature lines ending in a newline",
            code="bad_witness_response",
        )
    note = Note.parse(checkpoint_note)
    combined = Note.parse(note.to_bytes() + response)
    mine = [s for s in combined.signatures if witness.matches(s)]
    if not mine:
        raise InvalidCheckpoint(
            f"no cosignature by {witness.label} in the answer", code="bad_witness_response"
        )
    good = []
    for sig in mine:
        witness.verify(note.text, sig)
        if witness.cosignature_timestamp(sig) <= now_s + 300:
            good.append(sig.to_line())
    if not good:
        raise InvalidCheckpoint(
            "the cosignature is dated in the future", code="bad_witness_response"
        )
    return b"".join(good)


def consistency_request(*, old_size: int, proof: Sequence[bytes], checkpoint_note: bytes) -> bytes:
    """The body a log sends to a witness: see :class:`AddCheckpointRequest`."""
    return AddCheckpointRequest(
        old_size=old_size, proof=tuple(proof), checkpoint=checkpoint_note
    ).to_bytes()
