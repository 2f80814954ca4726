"""C2SP log checkpoints, v1 witness cosignatures, and equivocation proofs that cannot frame a log.

A checkpoint (c2sp.org/tlog-checkpoint) is a signed note whose text is the log's origin,
its tree size in decimal, the base64 root hash of the RFC 9162 tree at that size, and
optional extension lines. A coopfed log's origin is ``coopfed/<did without "did:key:">``
and its note key name is that origin. Witnesses cosign with c2sp.org/tlog-cosignature v1
(type 0x04). An :class:`EquivocationProof` is two checkpoints the log signed that no
single append-only history can explain; :meth:`EquivocationProof.verify` accepts it only
when that is so, assuming SHA-256 is collision resistant and Ed25519 unforgeable. Prose:
spec/log-checkpoints.md; vectors: spec/vectors/checkpoint.json.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Final

import nacl.signing

from .encoding import decode, encode
from .errors import (
    Equivocation,
    InvalidCheckpoint,
    InvalidProof,
    LocalProtocolError,
)
from .identity import DID_KEY_PREFIX, public_key_from_did
from .merkle import EMPTY_ROOT, HASH_SIZE, MAX_SIZE, consistency_proof_length, node_hash
from .note import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    MAX_TIMESTAMP,
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    check_key_name,
    cosignature_v1_message,
    key_id,
    open_note,
)

__all__ = [
    "DEFAULT_MAX_FUTURE_SKEW",
    "EQUIVOCATION_PROOF_TYPE",
    "ORIGIN_PREFIX",
    "Checkpoint",
    "Cosignature",
    "EquivocationProof",
    "SignedCheckpoint",
    "add_cosignatures",
    "cosign",
    "find_equivocation",
    "log_origin",
    "parse_signed",
    "sign_checkpoint",
    "verified_witnesses",
    "verify_consistent",
    "verify_cosignature",
]

#: Every coopfed log origin starts with this; the co-op's did:key (less "did:key:") follows.
ORIGIN_PREFIX: Final = "coopfed/"
#: How far in the future (seconds past ``now``) a cosignature may be and still count.
DEFAULT_MAX_FUTURE_SKEW: Final = 300
#: The ``type`` field of an encoded :class:`EquivocationProof`.
EQUIVOCATION_PROOF_TYPE: Final = "coopfed.equivocation.v1"
#: Longest path an equivocation proof can need: a consistency proof between 64-bit sizes has
#: at most 2 * 64 hashes, plus the one prefix hash a power-of-two old size adds.
_MAX_PATH: Final = 2 * 64 + 1
_SIZE_RE: Final = re.compile(rb"0|[1-9][0-9]{0,19}")
_CONTROLS: Final = frozenset(range(0x20))


def log_origin(coop_did: str) -> str:
    """The checkpoint origin (and note key name) of a co-op's log: ``coopfed/z6Mk…``.

    Raises ``InvalidIdentity`` unless ``coop_did`` is a canonical Ed25519 did:key.
    """
    public_key_from_did(coop_did)
    return ORIGIN_PREFIX + coop_did[len(DID_KEY_PREFIX) :]


def _bad(message: str) -> InvalidCheckpoint:
    return InvalidCheckpoint(f"malformed checkpoint: {message}", code="malformed_checkpoint")


def _line_problem(line: str) -> str | None:
    """Why ``line`` cannot be one checkpoint line (None if it can)."""
    if type(line) is not str:
        return f"is {type(line).__name__}, not text"
    if not line:
        return "is empty"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(ord(c) in _CONTROLS for c in line):
        return "holds a newline or another ASCII control character"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A log's tree head: origin, size, root hash, and opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = _line_problem(self.origin)
        if problem:
            raise LocalProtocolError(f"origin {self.origin!r} {problem}")
        if type(self.size) is not int or not 0 <= self.size <= MAX_SIZE:
            raise LocalProtocolError(f"size must be an integer in [0, 2**64-1], got {self.size!r}")
        if type(self.root_hash) is not bytes or len(self.root_hash) != HASH_SIZE:
            raise LocalProtocolError(f"root hash must be {HASH_SIZE} bytes, got {self.root_hash!r}")
        if type(self.extensions) is not tuple:
            raise LocalProtocolError("extensions must be a tuple of lines")
        for line in self.extensions:
            problem = _line_problem(line)
            if problem:
                raise LocalProtocolError(f"extension line {line!r} {problem}")

    def to_text(self) -> bytes:
        """The note text: origin, size and base64 root hash, then any extension lines.

        Each line ends with a newline (0x0A); the whole is UTF-8.
        """
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        lines.extend(self.extensions)
        return "".join(line + "\n" for line in lines).encode("utf-8")

    @classmethod
    def parse(cls, text: bytes) -> Checkpoint:
        """Parse a checkpoint note text strictly; raise ``InvalidCheckpoint``.

        Only the one canonical spelling parses, so ``parse(t).to_text() == t``.
        """
        if not isinstance(text, bytes):
            raise LocalProtocolError(f"checkpoint text is bytes, not {type(text).__name__}")
        if len(text) > MAX_NOTE_SIZE:
            raise _bad(f"text is {len(text)} bytes, more than {MAX_NOTE_SIZE}")
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
        if not decoded.endswith("\n"):
            raise _bad("text does not end with a newline")
        lines = decoded[:-1].split("\n")
        if len(lines) < 3:
            raise _bad(f"expected at least 3 lines (origin, size, root hash), got {len(lines)}")
        for i, line in enumerate(lines):
            problem = _line_problem(line)
            if problem:
                raise _bad(f"line {i + 1} {problem}")
        size_text = lines[1].encode("ascii", "replace")
        if not _SIZE_RE.fullmatch(size_text) or int(size_text) > MAX_SIZE:
            raise _bad(
                "tree size must be decimal digits with no sign, space or leading zero, "
                f"at most 2**64-1; got {lines[1]!r}"
            )
        root_text = lines[2]
        root: bytes | None = None
        if root_text.isascii():
            try:
                root = base64.b64decode(root_text, validate=True)
            except ValueError:
                root = None
        if root is None or base64.b64encode(root).decode("ascii") != root_text:
            raise _bad(f"root hash must be canonical standard base64, got {root_text!r}")
        if len(root) != HASH_SIZE:
            raise _bad(f"root hash must be {HASH_SIZE} bytes, got {len(root)}")
        return cls(
            origin=lines[0], size=int(size_text), root_hash=root, extensions=tuple(lines[3:])
        )


def _signing_key(key: nacl.signing.SigningKey | bytes) -> nacl.signing.SigningKey:
    if isinstance(key, nacl.signing.SigningKey):
        return key
    if type(key) is bytes and len(key) == 32:
        return nacl.signing.SigningKey(key)
    raise LocalProtocolError("a signing key is a nacl.signing.SigningKey or a 32-byte seed")


def sign_checkpoint(
    cp: Checkpoint, signing_key: nacl.signing.SigningKey | bytes, name: str | None = None
) -> bytes:
    """The checkpoint as a signed note, signed (type 0x01) by the log key ``name``.

    ``name`` defaults to the origin, which is what coopfed logs use.
    """
    if not isinstance(cp, Checkpoint):
        raise LocalProtocolError(f"sign_checkpoint takes a Checkpoint, not {type(cp).__name__}")
    signer = NoteSigner(
        name=cp.origin if name is None else name, signing_key=_signing_key(signing_key)
    )
    text = cp.to_text()
    return Note(text=text, signatures=(signer.sign(text),)).to_bytes()


@dataclass(frozen=True, slots=True, kw_only=True)
class Cosignature:
    """A verified v1 cosignature: which witness, at what time, and its signature line."""

    witness: NoteVerifier
    timestamp: int
    signature: NoteSignature

    @property
    def line(self) -> bytes:
        return self.signature.to_line()


def _witness_index(
    witness_verifiers: Iterable[NoteVerifier],
) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in witness_verifiers:
        if not isinstance(v, NoteVerifier) or v.sig_type != SIG_TYPE_COSIGNATURE_V1:
            raise LocalProtocolError(f"witness verifiers are type-0x04 NoteVerifiers, got {v!r}")
        if known.setdefault((v.name, v.key_id), v) != v:
            raise LocalProtocolError(f"two different witness keys share {v.label}")
    return known


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedCheckpoint:
    """A checkpoint note whose log signature has verified; constructing one verifies it.

    ``SignedCheckpoint(note=..., log_verifier=...)`` raises ``InvalidCheckpoint`` unless the
    note carries a valid signature by ``log_verifier`` (a type-0x01 key) and its text is a
    well-formed checkpoint whose origin is ``origin`` (default: the log key's name).
    Other signature lines (cosignatures) are kept but not checked here.
    """

    note: bytes
    log_verifier: NoteVerifier
    origin: InitVar[str | None] = None
    checkpoint: Checkpoint = field(init=False)
    signatures: tuple[NoteSignature, ...] = field(init=False)

    def __post_init__(self, origin: str | None) -> None:
        if not isinstance(self.log_verifier, NoteVerifier):
            raise LocalProtocolError("log_verifier is a NoteVerifier")
        if self.log_verifier.sig_type != SIG_TYPE_ED25519:
            raise LocalProtocolError(f"log key {self.log_verifier.label} is not a type-0x01 key")
        opened = open_note(self.note, [self.log_verifier])
        cp = Checkpoint.parse(opened.text)
        expected = self.log_verifier.name if origin is None else origin
        if cp.origin != expected:
            raise InvalidCheckpoint(
                f"checkpoint origin is {cp.origin!r}, expected {expected!r}",
                code="origin_mismatch",
            )
        object.__setattr__(self, "checkpoint", cp)
        object.__setattr__(self, "signatures", opened.signatures)

    @classmethod
    def parse(
        cls, note: bytes, log_verifier: NoteVerifier, *, origin: str | None = None
    ) -> SignedCheckpoint:
        return cls(note=note, log_verifier=log_verifier, origin=origin)

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash

    def cosignatures(
        self,
        witness_verifiers: Iterable[NoteVerifier],
        *,
        now: int,
        max_future_skew: int = DEFAULT_MAX_FUTURE_SKEW,
    ) -> tuple[Cosignature, ...]:
        """The known witnesses' cosignatures on this checkpoint, verified, one per witness.

        Every line from a known witness must verify (else ``InvalidCheckpoint``). A
        cosignature dated after ``now + max_future_skew`` is not counted. Where a witness
        signed more than once, its latest counted cosignature is returned. Sorted by witness
        name, then key ID.
        """
        if type(now) is not int or not 0 <= now <= MAX_TIMESTAMP:
            raise LocalProtocolError(f"now is a POSIX time in seconds, got {now!r}")
        if type(max_future_skew) is not int or max_future_skew < 0:
            raise LocalProtocolError(f"max_future_skew is seconds >= 0, got {max_future_skew!r}")
        known = _witness_index(witness_verifiers)
        text = self.checkpoint.to_text()
        best: dict[tuple[str, bytes], Cosignature] = {}
        for sig in self.signatures:
            v = known.get((sig.name, sig.key_id))
            if v is None:
                continue
            v.verify(text, sig)
            timestamp = v.cosignature_timestamp(sig)
            if timestamp > now + max_future_skew:
                continue
            key = (v.name, v.key_id)
            if key not in best or best[key].timestamp < timestamp:
                best[key] = Cosignature(witness=v, timestamp=timestamp, signature=sig)
        return tuple(best[k] for k in sorted(best))


def parse_signed(
    note: bytes, log_verifier: NoteVerifier, *, origin: str | None = None
) -> SignedCheckpoint:
    """Open a checkpoint note with the log's key; see :class:`SignedCheckpoint`."""
    return SignedCheckpoint(note=note, log_verifier=log_verifier, origin=origin)


def cosign(
    checkpoint: Checkpoint,
    witness_signing_key: nacl.signing.SigningKey | bytes,
    witness_name: str,
    timestamp: int,
) -> bytes:
    """A v1 cosignature line (type 0x04) for ``checkpoint``, dated ``timestamp``.

    The witness must have checked the checkpoint is consistent with what it saw before.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise LocalProtocolError(f"cosign takes a Checkpoint, not {type(checkpoint).__name__}")
    check_key_name(witness_name)
    key = _signing_key(witness_signing_key)
    message = cosignature_v1_message(checkpoint.to_text(), timestamp)
    raw = timestamp.to_bytes(8, "big") + bytes(key.sign(message).signature)
    kid = key_id(witness_name, SIG_TYPE_COSIGNATURE_V1, bytes(key.verify_key))
    return NoteSignature(name=witness_name, key_id=kid, signature=raw).to_line()


def verify_cosignature(
    checkpoint: Checkpoint, line: bytes, witness_verifier: NoteVerifier
) -> Cosignature:
    """Return the cosignature if ``line`` is ``witness_verifier``'s valid one; else raise.

    Raises ``InvalidCheckpoint``: ``malformed_note`` for a bad line, ``unknown_key`` if the
    line names another key, ``invalid_signature`` if it does not verify.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise LocalProtocolError("verify_cosignature takes a Checkpoint")
    (verifier,) = _witness_index([witness_verifier]).values()
    sig = NoteSignature.parse_line(line)
    if not verifier.matches(sig):
        raise InvalidCheckpoint(
            f"cosignature is from {sig.name}+{sig.key_id.hex()}, expected {verifier.label}",
            code="unknown_key",
        )
    verifier.verify(checkpoint.to_text(), sig)
    return Cosignature(
        witness=verifier, timestamp=verifier.cosignature_timestamp(sig), signature=sig
    )


def _split_lines(lines: bytes | Iterable[bytes]) -> list[bytes]:
    if isinstance(lines, bytes):
        if lines and not lines.endswith(b"\n"):
            raise InvalidCheckpoint(
                "signature lines must each end with a newline", code="malformed_note"
            )
        return lines.splitlines(keepends=True) if lines else []
    out = list(lines)
    for line in out:
        if not isinstance(line, bytes):
            raise LocalProtocolError(f"signature lines are bytes, not {type(line).__name__}")
    return out


def add_cosignatures(signed_note: bytes, lines: bytes | Iterable[bytes]) -> bytes:
    """The note with ``lines`` (signature lines, e.g. a tlog-witness answer) appended.

    Nothing is verified here: check each line with :func:`verify_cosignature` first. Lines
    already present are not repeated. A line whose (name, key ID) is already on the note
    with different bytes raises ``InvalidCheckpoint`` (``duplicate_key``): a key signs a
    note once, and a colliding key ID must never displace the log's own signature.
    """
    note = Note.parse(signed_note)
    signatures = list(note.signatures)
    by_key = {(s.name, s.key_id): s for s in signatures}
    for line in _split_lines(lines):
        sig = NoteSignature.parse_line(line)
        old = by_key.get((sig.name, sig.key_id))
        if old == sig:
            continue
        if old is not None:
            raise InvalidCheckpoint(
                f"the note already has a different signature from {sig.name}+{sig.key_id.hex()}",
                code="duplicate_key",
            )
        by_key[(sig.name, sig.key_id)] = sig
        signatures.append(sig)
    if len(signatures) > MAX_SIGNATURES:
        raise InvalidCheckpoint(
            f"the note would carry {len(signatures)} signatures, more than {MAX_SIGNATURES}",
            code="too_many_signatures",
        )
    return Note(text=note.text, signatures=tuple(signatures)).to_bytes()


def verified_witnesses(
    note: bytes,
    log_verifier: NoteVerifier,
    witness_verifiers: Iterable[NoteVerifier],
    *,
    now: int,
    max_future_skew: int = DEFAULT_MAX_FUTURE_SKEW,
) -> tuple[Cosignature, ...]:
    """Verify the log's signature, then return the known witnesses' valid cosignatures.

    See :meth:`SignedCheckpoint.cosignatures`; ``now`` is the caller's clock.
    """
    signed = SignedCheckpoint(note=note, log_verifier=log_verifier)
    return signed.cosignatures(witness_verifiers, now=now, max_future_skew=max_future_skew)


# --- equivocation --------------------------------------------------------------------------


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _full_path_length(old_size: int, new_size: int) -> int:
    """Hashes in the full consistency path from ``0 < old_size < new_size``.

    That is the RFC 9162 consistency proof, with the hash of leaves ``[0, old_size)``
    first when ``old_size`` is a power of two (the RFC leaves it out there, since a
    verifier then takes it from the old checkpoint).
    """
    return consistency_proof_length(old_size, new_size) + _is_power_of_two(old_size)


def _roots_from_path(old_size: int, new_size: int, path: Sequence[bytes]) -> tuple[bytes, bytes]:
    """The (old, new) roots a full consistency path gives for ``0 < old_size < new_size``.

    RFC 9162 §2.1.4.2 steps 3-6, after its step 2: nothing is compared here. If the new
    root is a signed one, the old root returned is the root of that tree's first
    ``old_size`` leaves (else SHA-256 has a collision).
    """
    expected = _full_path_length(old_size, new_size)
    if len(path) != expected:
        raise InvalidProof(
            f"full consistency path from size {old_size} to {new_size} has {expected} "
            f"hashes, got {len(path)}",
            code="proof_length",
        )
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        # The length check above makes the path end exactly where sn reaches 0.
        assert sn != 0
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return fr, sr


def _proof_problem(first: Checkpoint, second: Checkpoint, path: Sequence[bytes]) -> str | None:
    """Why (first, second, path) cannot be an equivocation proof, before any signature check."""
    if first.origin != second.origin:
        return f"origins differ: {first.origin!r} and {second.origin!r}"
    if (first.size, first.root_hash) == (second.size, second.root_hash):
        return f"both checkpoints are size {first.size} with the same root: no conflict"
    if (first.size, first.root_hash) > (second.size, second.root_hash):
        return "the checkpoints are out of order (first must have the smaller (size, root))"
    if len(path) > _MAX_PATH:
        return f"the path has {len(path)} hashes, more than {_MAX_PATH}"
    for i, h in enumerate(path):
        if type(h) is not bytes or len(h) != HASH_SIZE:
            return f"path hash {i} is not {HASH_SIZE} bytes"
    if (first.size == second.size or first.size == 0) and path:
        return "the path must be empty when the sizes are equal or the first size is 0"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class EquivocationProof:
    """Two checkpoint notes one log signed that no single history can explain.

    ``first`` has the smaller ``(size, root hash)``. With equal sizes the roots differ and
    ``consistency`` is empty. With ``first.size == 0`` the first root is not the empty
    tree's and ``consistency`` is empty. Otherwise ``consistency`` is the full consistency
    path (see :func:`_full_path_length`) taken from the larger tree: it must lead to the
    larger signed root and, from the same hashes, to a root for the smaller size that
    differs from the signed one. Nothing here is verified until :meth:`verify`.
    """

    first: bytes
    second: bytes
    consistency: tuple[bytes, ...] = ()
    first_checkpoint: Checkpoint = field(init=False)
    second_checkpoint: Checkpoint = field(init=False)

    def __post_init__(self) -> None:
        if type(self.consistency) is not tuple:
            raise LocalProtocolError("consistency is a tuple of hashes")
        first = Checkpoint.parse(Note.parse(self.first).text)
        second = Checkpoint.parse(Note.parse(self.second).text)
        problem = _proof_problem(first, second, self.consistency)
        if problem:
            raise LocalProtocolError(f"not an equivocation proof: {problem}")
        object.__setattr__(self, "first_checkpoint", first)
        object.__setattr__(self, "second_checkpoint", second)

    @property
    def origin(self) -> str:
        return self.first_checkpoint.origin

    def to_bytes(self) -> bytes:
        """Canonical MessagePack: ``{consistency: [bin], first: bin, second: bin, type}``."""
        return encode(
            {
                "type": EQUIVOCATION_PROOF_TYPE,
                "first": self.first,
                "second": self.second,
                "consistency": list(self.consistency),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> EquivocationProof:
        """Decode and check the structure; signatures are not checked here.

        Raises ``DecodeError``, ``InvalidCheckpoint`` for a malformed note, or
        ``InvalidProof`` (code ``bad_equivocation_proof``).
        """
        value = decode(data, max_size=2 * MAX_NOTE_SIZE + (_MAX_PATH + 1) * (HASH_SIZE + 2) + 256)

        def bad(message: str) -> InvalidProof:
            return InvalidProof(f"equivocation proof: {message}", code="bad_equivocation_proof")

        keys = {"type", "first", "second", "consistency"}
        if type(value) is not dict or set(value) != keys:
            got = sorted(value) if type(value) is dict else type(value).__name__
            raise bad(f"expected a map with keys {sorted(keys)}, got {got}")
        if type(value["type"]) is not str or value["type"] != EQUIVOCATION_PROOF_TYPE:
            raise bad(f"type must be {EQUIVOCATION_PROOF_TYPE!r}, got {value['type']!r}")
        first, second, path = value["first"], value["second"], value["consistency"]
        if type(first) is not bytes or type(second) is not bytes:
            raise bad("first and second must be binary (signed checkpoint notes)")
        if type(path) is not list:
            raise bad("consistency must be an array of hashes")
        first_cp = Checkpoint.parse(Note.parse(first).text)
        second_cp = Checkpoint.parse(Note.parse(second).text)
        problem = _proof_problem(first_cp, second_cp, path)
        if problem:
            raise bad(problem)
        return cls(first=first, second=second, consistency=tuple(path))

    def verify(self, log_verifier: NoteVerifier) -> None:
        """Return None if this proves the log of ``log_verifier`` equivocated; else raise.

        Raises ``InvalidCheckpoint`` if either note is not validly signed by the log key
        for the log's origin, ``InvalidProof`` if the checkpoints are not shown to conflict
        (``not_equivocation``) or the path does not lead to the larger signed root
        (``root_mismatch``, ``proof_length``).
        """
        a = SignedCheckpoint(note=self.first, log_verifier=log_verifier)
        b = SignedCheckpoint(note=self.second, log_verifier=log_verifier)
        m, n = a.size, b.size
        if m == n:
            return  # Same size, two roots: structure already ensured the roots differ.
        if m == 0:
            if a.root_hash == EMPTY_ROOT:
                raise InvalidProof(
                    "a size-0 checkpoint with the empty tree's root is consistent with any tree",
                    code="not_equivocation",
                )
            return
        old_root, new_root = _roots_from_path(m, n, self.consistency)
        if new_root != b.root_hash:
            raise InvalidProof(
                f"the path gives root {new_root.hex()} for size {n}, but the log signed "
                f"{b.root_hash.hex()}: it proves nothing",
                code="root_mismatch",
            )
        if old_root == a.root_hash:
            raise InvalidProof(
                f"the tree of size {n} extends the tree of size {m}: no equivocation",
                code="not_equivocation",
            )


def find_equivocation(
    a: SignedCheckpoint, b: SignedCheckpoint, consistency_proof: Sequence[bytes] | None
) -> EquivocationProof | None:
    """Compare two checkpoints of one log: None if consistent, a proof if they conflict.

    For equal sizes no Merkle proof is needed (pass None). For different sizes pass the
    RFC 9162 consistency proof from the smaller to the larger, as the log serves it
    (tlog-witness ``add-checkpoint`` carries one); when the smaller size is a power of two
    that proof omits the smaller tree's root hash, and an equivocation can only be shown
    with the full path (the prefix subtree's hash from the larger tree first, e.g. taken
    from the log's tiles), which is accepted too. Raises ``InvalidProof`` when the proof
    does not lead to the larger signed root: such a proof shows nothing either way (an
    adversary can always send a bad proof), so it is never taken as evidence.
    """
    for s in (a, b):
        if not isinstance(s, SignedCheckpoint):
            raise LocalProtocolError(f"find_equivocation takes SignedCheckpoints, not {s!r}")
    if a.log_verifier != b.log_verifier or a.checkpoint.origin != b.checkpoint.origin:
        raise LocalProtocolError("the two checkpoints are not from the same log and key")
    small, large = sorted((a, b), key=lambda s: (s.size, s.root_hash))
    m, n = small.size, large.size
    if isinstance(consistency_proof, bytes | str):
        raise LocalProtocolError("a consistency proof is a sequence of hashes")
    path = [] if consistency_proof is None else list(consistency_proof)
    for i, h in enumerate(path):
        if type(h) is not bytes or len(h) != HASH_SIZE:
            raise InvalidProof(f"proof hash {i} is not {HASH_SIZE} bytes", code="hash_length")

    def proof(full_path: Sequence[bytes] = ()) -> EquivocationProof:
        return EquivocationProof(first=small.note, second=large.note, consistency=tuple(full_path))

    if m == n or m == 0:
        if path:
            raise InvalidProof(
                f"a consistency proof from size {m} to {n} is empty, got {len(path)} hashes",
                code="proof_length",
            )
        consistent = small.root_hash == (EMPTY_ROOT if m == 0 else large.root_hash)
        return None if consistent else proof()
    if consistency_proof is None:
        raise LocalProtocolError(f"sizes {m} and {n} differ: a consistency proof is needed")
    standard = consistency_proof_length(m, n)
    if len(path) == standard and _is_power_of_two(m):
        path.insert(0, small.root_hash)
    elif len(path) != _full_path_length(m, n):
        raise InvalidProof(
            f"a consistency proof from size {m} to {n} has {standard} hashes, got {len(path)}",
            code="proof_length",
        )
    old_root, new_root = _roots_from_path(m, n, path)
    if new_root != large.root_hash:
        raise InvalidProof(
            f"the consistency proof gives root {new_root.hex()} for size {n}, but the log "
            f"signed {large.root_hash.hex()}",
            code="root_mismatch",
        )
    return None if old_root == small.root_hash else proof(path)


def verify_consistent(
    a: SignedCheckpoint, b: SignedCheckpoint, consistency_proof: Sequence[bytes] | None
) -> None:
    """Return None if the two checkpoints are consistent; raise ``Equivocation`` if not.

    Raises ``InvalidProof`` if the proof shows neither. Use :func:`find_equivocation` to
    keep the evidence.
    """
    found = find_equivocation(a, b, consistency_proof)
    if found is not None:
        first, second = found.first_checkpoint, found.second_checkpoint
        raise Equivocation(
            f"log {first.origin} signed size {first.size} root {first.root_hash.hex()} and "
            f"size {second.size} root {second.root_hash.hex()}, which no single history has"
        )
