r"""C2SP signed notes, byte for byte: a note opens only if a known key's signature verifies.

Format (c2sp.org/signed-note): UTF-8 text with no ASCII control character but newline,
ending in a newline; then one blank line; then one or more signature lines
``"— " name " " base64(key ID (4 bytes) || signature) "\n"``. The text is everything
before the last blank line, its final newline included. A key is named by the pair
(key name, key ID), where key ID = ``SHA-256(name || 0x0A || type || public key)[:4]``.

Two signature types are supported: ``0x01`` Ed25519 over the note text, and ``0x04``
timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature), which sign
``"cosignature/v1\ntime <T>\n" || text`` and carry ``timestamp (8 bytes, big-endian) ||
signature``. Signature lines from keys the verifier does not know are ignored; a line from
a known key that fails to verify rejects the whole note; a note with no verified signature
from a known key is rejected. Prose and vectors: spec/log-checkpoints.md,
spec/vectors/checkpoint.json.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import nacl.bindings
import nacl.exceptions
import nacl.signing

from .errors import InvalidCheckpoint, InvalidIdentity, LocalProtocolError

__all__ = [
    "COSIGNATURE_V1_HEADER",
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "MAX_TIMESTAMP",
    "SIG_TYPE_COSIGNATURE_V1",
    "SIG_TYPE_ED25519",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "VerifiedNote",
    "check_key_name",
    "cosignature_v1_message",
    "is_valid_key_name",
    "key_id",
    "open_note",
    "sign_note",
]

#: Signature type byte of plain Ed25519 note signatures (c2sp.org/signed-note).
SIG_TYPE_ED25519: Final = 0x01
#: Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature).
SIG_TYPE_COSIGNATURE_V1: Final = 0x04
#: Most signature lines a note may carry. The spec asks verifiers to accept at least 16;
#: 100 is the limit of golang.org/x/mod/sumdb/note, so both accept and refuse the same notes.
MAX_SIGNATURES: Final = 100
#: Largest note accepted, in bytes: room for 100 post-quantum signatures (about 5 kB each).
MAX_NOTE_SIZE: Final = 1 << 20
#: Cosignature timestamps "MUST NOT exceed 2^63 - 1" (c2sp.org/tlog-cosignature).
MAX_TIMESTAMP: Final = (1 << 63) - 1
#: First line of the message a v1 cosignature signs; it separates it from a note signature.
COSIGNATURE_V1_HEADER: Final = b"cosignature/v1\n"

_SIG_PREFIX: Final = "— ".encode()  # em dash U+2014, then a space
_KEY_ID_SIZE: Final = 4
_ED25519_SIG_SIZE: Final = 64
_TIMESTAMP_SIZE: Final = 8
_TYPES: Final = {SIG_TYPE_ED25519: "Ed25519", SIG_TYPE_COSIGNATURE_V1: "Ed25519 cosignature/v1"}
#: Characters with the Unicode White_Space property (PropList.txt). Go's unicode.IsSpace,
#: which golang.org/x/mod/sumdb/note uses for key names, tests exactly this set.
_WHITE_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_HEX8: Final = re.compile(r"[0-9a-f]{8}")
#: The controls a note must not hold: every byte below 0x20 except newline.
_CONTROLS: Final = bytes(b for b in range(0x20) if b != 0x0A)


def _malformed(message: str) -> InvalidCheckpoint:
    return InvalidCheckpoint(f"malformed note: {message}", code="malformed_note")


def is_valid_key_name(name: object) -> bool:
    """Whether ``name`` may name a key: non-empty text, no Unicode space, no ``+``.

    No control character either (C0, DEL, C1: Unicode's Cc), stricter than Go: names are
    shown to people, and C1's U+009B is a terminal's CSI.
    """
    if type(name) is not str or not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(c in _WHITE_SPACE or c == "+" or _is_control(c) for c in name)


def _is_control(c: str) -> bool:
    """Unicode general category Cc: U+0000–U+001F, U+007F–U+009F."""
    return c < " " or "\x7f" <= c <= "\x9f"


def check_key_name(name: object) -> str:
    """Return ``name`` if it is a valid key name, else raise ``LocalProtocolError``."""
    if not is_valid_key_name(name):
        raise LocalProtocolError(
            f"a key name is non-empty text with no spaces, '+' or control characters, got {name!r}"
        )
    assert isinstance(name, str)
    return name


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: ``SHA-256(name || 0x0A || sig_type || public_key)[:4]``."""
    check_key_name(name)
    if type(sig_type) is not int or not 0 <= sig_type <= 0xFF:
        raise LocalProtocolError(f"a signature type is one byte, got {sig_type!r}")
    if not isinstance(public_key, bytes):
        raise LocalProtocolError(f"a public key is bytes, not {type(public_key).__name__}")
    data = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(data).digest()[:_KEY_ID_SIZE]


def cosignature_v1_message(text: bytes, timestamp: int) -> bytes:
    r"""What a v1 Ed25519 cosignature signs: ``cosignature/v1\ntime <T>\n`` then the text."""
    if type(timestamp) is not int or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise LocalProtocolError(f"a timestamp is an integer in [0, 2**63-1], got {timestamp!r}")
    return COSIGNATURE_V1_HEADER + b"time %d\n" % timestamp + text


def _b64decode_canonical(text: bytes) -> bytes | None:
    """Standard base64 with padding, in its one canonical form; None if it is not."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Non-zero padding bits decode too; only the canonical spelling is accepted, so that
    # one signature has one line.
    return raw if base64.b64encode(raw) == text else None


def _check_text(text: bytes, what: str) -> None:
    """Raise ``LocalProtocolError`` unless ``text`` may be a note's text."""
    if not isinstance(text, bytes):
        raise LocalProtocolError(f"{what} is bytes, not {type(text).__name__}")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LocalProtocolError(f"{what} is not valid UTF-8: {exc}") from exc
    bad = text.translate(None, delete=b"\n")
    if any(b in _CONTROLS for b in bad):
        raise LocalProtocolError(f"{what} holds an ASCII control character other than newline")
    if not text.endswith(b"\n"):
        raise LocalProtocolError(f"{what} must end with a newline")


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte key ID, and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if type(self.key_id) is not bytes or len(self.key_id) != _KEY_ID_SIZE:
            raise LocalProtocolError(f"a key ID is 4 bytes, got {self.key_id!r}")
        if type(self.signature) is not bytes or not self.signature:
            raise LocalProtocolError("a signature is at least one byte")

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    def to_line(self) -> bytes:
        r"""``— <name> <base64(key ID || signature)>\n``."""
        payload = base64.b64encode(self.key_id + self.signature)
        return _SIG_PREFIX + self.name.encode("utf-8") + b" " + payload + b"\n"

    @classmethod
    def parse_line(cls, line: bytes) -> NoteSignature:
        """Parse one signature line, its final newline included; raise ``InvalidCheckpoint``."""
        if not isinstance(line, bytes):
            raise LocalProtocolError(f"a signature line is bytes, not {type(line).__name__}")
        if not line.endswith(b"\n") or b"\n" in line[:-1]:
            raise _malformed(f"a signature line is one line ending in a newline, got {line!r}")
        if any(b in _CONTROLS for b in line):
            raise _malformed("a signature line holds an ASCII control character")
        return cls._parse(line[:-1])

    @classmethod
    def _parse(cls, line: bytes) -> NoteSignature:
        """Parse a line without its newline (control characters already excluded)."""
        if not line.startswith(_SIG_PREFIX):
            raise _malformed(f"a signature line starts with '— ' (U+2014, space), got {line!r}")
        rest = line[len(_SIG_PREFIX) :]
        name_bytes, sep, b64 = rest.partition(b" ")
        try:
            name = name_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(f"key name is not valid UTF-8: {name_bytes!r}") from exc
        if not sep or not is_valid_key_name(name):
            raise _malformed(
                f"expected '— <key name> <base64>' with a name free of spaces and '+', got {line!r}"
            )
        raw = _b64decode_canonical(b64)
        if raw is None:
            raise _malformed(f"signature of {name} is not canonical standard base64: {b64!r}")
        if len(raw) <= _KEY_ID_SIZE:
            raise _malformed(
                f"signature of {name} must hold a 4-byte key ID and at least one byte, "
                f"got {len(raw)} bytes"
            )
        return cls(name=name, key_id=raw[:_KEY_ID_SIZE], signature=raw[_KEY_ID_SIZE:])


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """A note's text and its signature lines, parsed for syntax only (nothing verified)."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text, "note text")
        if type(self.signatures) is not tuple or not self.signatures:
            raise LocalProtocolError("a note carries a non-empty tuple of signatures")
        if len(self.signatures) > MAX_SIGNATURES:
            raise LocalProtocolError(f"a note carries at most {MAX_SIGNATURES} signatures")

    @classmethod
    def parse(cls, data: bytes) -> Note:
        """Split a signed note into text and signature lines; raise ``InvalidCheckpoint``.

        The text MUST be ignored until :func:`open_note` has verified a signature.
        """
        if not isinstance(data, bytes):
            raise LocalProtocolError(f"a note is bytes, not {type(data).__name__}")
        if len(data) > MAX_NOTE_SIZE:
            raise InvalidCheckpoint(
                f"note is {len(data)} bytes, more than the limit of {MAX_NOTE_SIZE}",
                code="note_too_large",
            )
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
        for i, b in enumerate(data):
            if b in _CONTROLS:
                raise _malformed(f"ASCII control character 0x{b:02x} at byte {i}")
        # The text is separated from the signatures by the last empty line.
        split = data.rfind(b"\n\n")
        if split < 0:
            raise _malformed("no blank line separates the text from the signatures")
        text, block = data[: split + 1], data[split + 2 :]
        if not block:
            raise _malformed("no signature line follows the blank line")
        if not block.endswith(b"\n"):
            raise _malformed("the last signature line does not end with a newline")
        lines = block[:-1].split(b"\n")
        if len(lines) > MAX_SIGNATURES:
            raise InvalidCheckpoint(
                f"note carries {len(lines)} signature lines, more than the limit of "
                f"{MAX_SIGNATURES}",
                code="too_many_signatures",
            )
        return cls(text=text, signatures=tuple(NoteSignature._parse(line) for line in lines))

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + b"".join(s.to_line() for s in self.signatures)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteVerifier:
    """A known public key: its name, its signature type (0x01 or 0x04) and 32 key bytes.

    Build it with :meth:`ed25519`, :meth:`cosignature_v1` or :meth:`from_vkey`.
    """

    name: str
    sig_type: int
    public_key: bytes
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if type(self.sig_type) is not int or self.sig_type not in _TYPES:
            raise LocalProtocolError(
                f"supported signature types are 0x01 and 0x04, got {self.sig_type!r}"
            )
        if type(self.public_key) is not bytes or len(self.public_key) != 32:
            raise LocalProtocolError(f"an Ed25519 public key is 32 bytes, got {self.public_key!r}")
        # A small-order key would make every signature check meaningless; refuse it here.
        if not nacl.bindings.crypto_core_ed25519_is_valid_point(self.public_key):
            raise InvalidIdentity(
                f"public key of {self.name} is not a valid Ed25519 point of large order",
                code="bad_public_key",
            )
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public_key))

    @classmethod
    def ed25519(cls, name: str, public_key: bytes | nacl.signing.VerifyKey) -> NoteVerifier:
        """A verifier of plain Ed25519 note signatures (type 0x01)."""
        return cls(name=name, sig_type=SIG_TYPE_ED25519, public_key=_raw_public_key(public_key))

    @classmethod
    def cosignature_v1(cls, name: str, public_key: bytes | nacl.signing.VerifyKey) -> NoteVerifier:
        """A verifier of timestamped Ed25519 witness cosignatures (type 0x04)."""
        return cls(
            name=name, sig_type=SIG_TYPE_COSIGNATURE_V1, public_key=_raw_public_key(public_key)
        )

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``<name>+<key ID, 8 lowercase hex>+<base64(type || public key)>``.

        Raises ``InvalidIdentity`` (code ``bad_vkey``) if any part is malformed, the type is
        not 0x01 or 0x04, or the key ID is not the one the name and key give.
        """
        if type(vkey) is not str:
            raise LocalProtocolError(f"a verifier key is text, not {type(vkey).__name__}")

        def bad(message: str) -> InvalidIdentity:
            return InvalidIdentity(f"verifier key {vkey!r}: {message}", code="bad_vkey")

        name, sep1, rest = vkey.partition("+")
        hex_id, sep2, b64 = rest.partition("+")
        if not sep1 or not sep2 or not is_valid_key_name(name):
            raise bad("expected <name>+<hex key ID>+<base64 key>")
        if not _HEX8.fullmatch(hex_id):
            raise bad("the key ID must be 8 lowercase hex digits")
        if not b64.isascii():
            raise bad("the key is not base64")
        raw = _b64decode_canonical(b64.encode("ascii"))
        if raw is None or len(raw) != 33:
            raise bad("the key must be canonical base64 of a type byte and 32 key bytes")
        if raw[0] not in _TYPES:
            raise bad(f"signature type 0x{raw[0]:02x} is not supported (0x01 or 0x04)")
        verifier = cls(name=name, sig_type=raw[0], public_key=raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise bad(f"key ID {hex_id} does not match the key's, {verifier.key_id.hex()}")
        return verifier

    def to_vkey(self) -> str:
        """``<name>+<hex key ID>+<base64(type || public key)>``."""
        payload = base64.b64encode(bytes([self.sig_type]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{payload}"

    @property
    def label(self) -> str:
        """``name+keyid``: how messages name this key."""
        return f"{self.name}+{self.key_id.hex()}"

    def matches(self, signature: NoteSignature) -> bool:
        """Whether ``signature`` claims this key: same name *and* same key ID."""
        return signature.name == self.name and signature.key_id == self.key_id

    def cosignature_timestamp(self, signature: NoteSignature) -> int:
        """The timestamp a type-0x04 signature carries (not verified by this call)."""
        if self.sig_type != SIG_TYPE_COSIGNATURE_V1:
            raise LocalProtocolError(f"{self.label} is not a cosignature key")
        return int.from_bytes(signature.signature[:_TIMESTAMP_SIZE], "big")

    def verify(self, text: bytes, signature: NoteSignature) -> None:
        """Return None if ``signature`` is this key's valid signature of ``text``; else raise.

        Raises ``InvalidCheckpoint`` (code ``invalid_signature``); ``LocalProtocolError`` if
        the line names another key.
        """
        if not self.matches(signature):
            raise LocalProtocolError(
                f"signature of {signature.name}+{signature.key_id.hex()} is not from {self.label}"
            )
        sig = signature.signature
        expected = _ED25519_SIG_SIZE
        if self.sig_type == SIG_TYPE_COSIGNATURE_V1:
            expected += _TIMESTAMP_SIZE
        if len(sig) != expected:
            raise InvalidCheckpoint(
                f"a {_TYPES[self.sig_type]} signature of {self.label} is {expected} bytes "
                f"after the key ID, got {len(sig)}",
                code="invalid_signature",
            )
        message = text
        if self.sig_type == SIG_TYPE_COSIGNATURE_V1:
            timestamp = int.from_bytes(sig[:_TIMESTAMP_SIZE], "big")
            if timestamp > MAX_TIMESTAMP:
                raise InvalidCheckpoint(
                    f"cosignature of {self.label} has timestamp {timestamp}, above 2**63-1",
                    code="invalid_signature",
                )
            message = cosignature_v1_message(text, timestamp)
            sig = sig[_TIMESTAMP_SIZE:]
        try:
            nacl.signing.VerifyKey(self.public_key).verify(message, sig)
        except (nacl.exceptions.BadSignatureError, ValueError) as exc:
            raise InvalidCheckpoint(
                f"signature of {self.label} does not verify", code="invalid_signature"
            ) from exc


def _raw_public_key(key: bytes | nacl.signing.VerifyKey) -> bytes:
    if isinstance(key, nacl.signing.VerifyKey):
        return bytes(key)
    if type(key) is not bytes:
        raise LocalProtocolError(f"a public key is bytes or a VerifyKey, not {type(key).__name__}")
    return key


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteSigner:
    """An Ed25519 private key under a key name, signing notes with type 0x01.

    Built from a 32-byte seed (:meth:`from_seed`) or a PyNaCl ``SigningKey``.
    """

    name: str
    signing_key: nacl.signing.SigningKey = field(repr=False, compare=False)
    verifier: NoteVerifier = field(init=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if not isinstance(self.signing_key, nacl.signing.SigningKey):
            raise LocalProtocolError(
                f"signing_key is a nacl.signing.SigningKey, not {type(self.signing_key).__name__}"
            )
        object.__setattr__(
            self, "verifier", NoteVerifier.ed25519(self.name, self.signing_key.verify_key)
        )

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        if type(seed) is not bytes or len(seed) != 32:
            raise LocalProtocolError("an Ed25519 seed is 32 bytes")
        return cls(name=name, signing_key=nacl.signing.SigningKey(seed))

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    def sign(self, text: bytes) -> NoteSignature:
        """Sign a note text (which must be a valid note text) with this key."""
        _check_text(text, "note text")
        raw = bytes(self.signing_key.sign(text).signature)
        return NoteSignature(name=self.name, key_id=self.key_id, signature=raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedNote:
    """An opened note: its text, every signature line, and those that verified."""

    text: bytes
    signatures: tuple[NoteSignature, ...]
    #: Lines from known keys, each verified (duplicates from one key all verified).
    verified: tuple[NoteSignature, ...]
    #: The known keys with at least one verified line, in order of first appearance.
    verifiers: tuple[NoteVerifier, ...]

    @property
    def unverified(self) -> tuple[NoteSignature, ...]:
        """Lines from keys the verifier did not know, which were ignored."""
        return tuple(s for s in self.signatures if s not in self.verified)

    def is_signed_by(self, verifier: NoteVerifier) -> bool:
        return verifier in self.verifiers


def sign_note(text: bytes, signers: Sequence[NoteSigner]) -> bytes:
    """The signed note: ``text``, a blank line, one signature line per signer, in order."""
    _check_text(text, "note text")
    if isinstance(signers, NoteSigner) or not signers:
        raise LocalProtocolError("sign_note takes a non-empty sequence of signers")
    return Note(text=text, signatures=tuple(s.sign(text) for s in signers)).to_bytes()


def _index(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        if not isinstance(v, NoteVerifier):
            raise LocalProtocolError(f"verifiers are NoteVerifier values, not {type(v).__name__}")
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            # Two different keys under one (name, key ID): the configuration is ambiguous.
            raise LocalProtocolError(f"two different verifiers share the key {v.label}")
    return known


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Parse ``data`` and verify every line from a known key; raise ``InvalidCheckpoint``.

    A known key is matched by name and key ID together. Raises with code
    ``invalid_signature`` if any such line fails, and ``no_known_signature`` if none is there.
    """
    known = _index(verifiers)
    note = Note.parse(data)
    verified: list[NoteSignature] = []
    used: list[NoteVerifier] = []
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        v.verify(note.text, sig)
        verified.append(sig)
        if v not in used:
            used.append(v)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        wanted = ", ".join(v.label for v in known.values()) or "none"
        raise InvalidCheckpoint(
            f"note has no signature from a known key (known: {wanted}; signed by: {names})",
            code="no_known_signature",
        )
    return VerifiedNote(
        text=note.text,
        signatures=note.signatures,
        verified=tuple(verified),
        verifiers=tuple(used),
    )
