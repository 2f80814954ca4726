"""Ed25519 identities: did:key names, signatures that verify or raise, and readable handles.

A co-op and each member is an Ed25519 key named ``did:key:z…`` (multicodec 0xed01,
base58btc). Members are pseudonymous: the key and the handle derived from it are all a
record ever shows of them. Key seeds are parameters; this module never makes randomness.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Final

import nacl.bindings
import nacl.exceptions
import nacl.signing

from ._wordlists import ADJECTIVES, ANIMALS
from .errors import InvalidIdentity, InvalidSignature, LocalProtocolError

__all__ = [
    "B58_ALPHABET",
    "DID_CACHE_SIZE",
    "DID_KEY_PREFIX",
    "ED25519_MULTICODEC",
    "HANDLE_DOMAIN",
    "MAX_DID_LENGTH",
    "Identity",
    "SigningIdentity",
    "b58decode",
    "b58encode",
    "canonical_did",
    "did_from_public_key",
    "handle_for",
    "long_handle_for",
    "public_key_from_did",
    "verify_signature",
]

B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(B58_ALPHABET)}
DID_KEY_PREFIX: Final = "did:key:"
ED25519_MULTICODEC: Final = b"\xed\x01"
#: An Ed25519 did:key is always 56 characters ("did:key:z" + 47 base58 digits); allow some slack.
MAX_DID_LENGTH: Final = 64
HANDLE_DOMAIN: Final = b"coopfed/handle/v1\x00"
#: DIDs whose key :func:`public_key_from_did` remembers (a co-op's members sign again and again).
DID_CACHE_SIZE: Final = 16384


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58: each leading zero byte becomes a leading '1'."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    digits = []
    while n:
        n, r = divmod(n, 58)
        digits.append(B58_ALPHABET[r])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises ``InvalidIdentity`` on a foreign character."""
    n = 0
    for i, c in enumerate(text):
        digit = _B58_INDEX.get(c)
        if digit is None:
            raise InvalidIdentity(f"character {c!r} at position {i} is not base58btc")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\x00" * zeros + body


def did_from_public_key(public_key: bytes) -> str:
    """Return the ``did:key`` of a 32-byte Ed25519 public key."""
    if type(public_key) is not bytes or len(public_key) != 32:
        raise LocalProtocolError("an Ed25519 public key is 32 bytes")
    return DID_KEY_PREFIX + "z" + b58encode(ED25519_MULTICODEC + public_key)


def public_key_from_did(did: str) -> bytes:
    """Return the Ed25519 public key a ``did:key`` names, or raise ``InvalidIdentity``.

    Only the canonical form is accepted (re-encoding must give the same text), and the key
    must be a valid curve point of large order: small-order keys would let anyone forge.
    """
    if type(did) is not str:
        raise InvalidIdentity(f"a DID is text, not {type(did).__name__}")
    return _checked_did(did)[0]


def canonical_did(did: str) -> str:
    """``did`` once :func:`public_key_from_did` accepts it, as one shared string object.

    Records keep the DID of their co-op and author; a log of a million records names a
    few hundred DIDs, so sharing one object per DID saves two strings per record.
    """
    if type(did) is not str:
        raise InvalidIdentity(f"a DID is text, not {type(did).__name__}")
    return _checked_did(did)[1]


# The checks below cost about 120 µs, more than the signature check they precede, and every
# record names two DIDs (its co-op and its author) out of a small set: remember the answers
# (and the first string seen for each). Only successes are cached (an exception is never
# stored), and the function is pure.
@functools.lru_cache(maxsize=DID_CACHE_SIZE)
def _checked_did(did: str) -> tuple[bytes, str]:
    return _public_key_from_did(did), did


def _public_key_from_did(did: str) -> bytes:
    if type(did) is not str:  # pragma: no cover - checked by the caller
        raise InvalidIdentity(f"a DID is text, not {type(did).__name__}")
    if len(did) > MAX_DID_LENGTH:
        raise InvalidIdentity(f"DID is {len(did)} characters, more than {MAX_DID_LENGTH}")
    if not did.startswith(DID_KEY_PREFIX + "z"):
        raise InvalidIdentity(f"expected a did:key in base58btc ('did:key:z…'), got {did!r}")
    raw = b58decode(did[len(DID_KEY_PREFIX) + 1 :])
    if len(raw) != 34 or raw[:2] != ED25519_MULTICODEC:
        raise InvalidIdentity(f"expected multicodec 0xed01 and a 32-byte Ed25519 key in {did!r}")
    key = raw[2:]
    if did_from_public_key(key) != did:
        raise InvalidIdentity(f"DID {did!r} is not in canonical form")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(key):
        raise InvalidIdentity(f"DID {did!r} holds a small-order or invalid Ed25519 key")
    return key


def handle_for(public_key: bytes) -> str:
    """The readable ``adjective_animal`` handle of a key: a name for people, not an identity.

    Handles collide (65,536 of them); :func:`long_handle_for` adds four hex digits.
    """
    digest = hashlib.sha256(HANDLE_DOMAIN + public_key).digest()
    return f"{ADJECTIVES[digest[0]]}_{ANIMALS[digest[1]]}"


def long_handle_for(public_key: bytes) -> str:
    """The handle followed by four hex digits of the same digest, for disambiguation."""
    digest = hashlib.sha256(HANDLE_DOMAIN + public_key).digest()
    return f"{ADJECTIVES[digest[0]]}_{ANIMALS[digest[1]]}_{digest[2:4].hex()}"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Return if ``signature`` is ``public_key``'s Ed25519 signature of ``message``; else raise.

    libsodium's strict verification refuses non-canonical S, small-order R and A.
    """
    if type(signature) is not bytes or len(signature) != 64:
        got = len(signature) if isinstance(signature, bytes) else type(signature).__name__
        raise InvalidSignature(f"an Ed25519 signature is 64 bytes, got {got}")
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as exc:
        raise InvalidSignature("the Ed25519 signature does not verify") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """A verified public identity: its key, its DID and its handle."""

    public_key: bytes
    did: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "did", did_from_public_key(self.public_key))
        if not nacl.bindings.crypto_core_ed25519_is_valid_point(self.public_key):
            raise InvalidIdentity("the key is a small-order or invalid Ed25519 point")

    @classmethod
    def from_did(cls, did: str) -> Identity:
        return cls(public_key=public_key_from_did(did))

    @property
    def handle(self) -> str:
        return handle_for(self.public_key)

    @property
    def long_handle(self) -> str:
        return long_handle_for(self.public_key)

    def verify(self, message: bytes, signature: bytes) -> None:
        verify_signature(self.public_key, message, signature)


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """A private key (from a 32-byte seed the caller supplies) and its public identity."""

    seed: bytes = field(repr=False)
    identity: Identity = field(init=False)
    _key: nacl.signing.SigningKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.seed) is not bytes or len(self.seed) != 32:
            raise LocalProtocolError("an Ed25519 seed is 32 bytes")
        key = nacl.signing.SigningKey(self.seed)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "identity", Identity(public_key=bytes(key.verify_key)))

    @property
    def did(self) -> str:
        return self.identity.did

    @property
    def public_key(self) -> bytes:
        return self.identity.public_key

    @property
    def signing_key(self) -> nacl.signing.SigningKey:
        return self._key

    def sign(self, message: bytes) -> bytes:
        """The detached 64-byte Ed25519 signature of ``message``."""
        return bytes(self._key.sign(message).signature)
