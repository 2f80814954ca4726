"""Signed records: one envelope, one signature, one id around a body of :mod:`.bodies`.

A record is the canonical map ``{author, body, coop, sig, ts, type, v}``. The signature
is Ed25519 by ``author`` over ``SIGNING_DOMAIN || encode(envelope without "sig")``; the
record id is SHA-256 of the whole signed record's canonical bytes. ``Record.from_bytes``
decodes, validates the envelope and the body of its type, and verifies the signature, so
a ``Record`` that exists is well-formed and signed. Whether it is *acceptable* in its
co-op's log (is the author a member? is the ballot on time?) is :mod:`.state`'s question.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Final

from .bodies import (
    BODY_TYPES,
    COOP_SIGNED_TYPES,
    MAX_TS,
    MIN_TS,
    NOT_COOP_SIGNED_TYPES,
    Body,
    RecordType,
    _did,
    _enum,
    _kind,
)
from .encoding import decode, encode
from .errors import (
    DecodeError,
    InvalidRecord,
    LocalProtocolError,
    RemoteProtocolError,
)
from .identity import (
    SigningIdentity,
    public_key_from_did,
    verify_signature,
)
from .stricter import check_stricter

__all__ = [
    "ENVELOPE_KEYS",
    "FORMAT_VERSION",
    "MAX_RECORD_SIZE",
    "SIGNING_DOMAIN",
    "Record",
    "record_id",
    "sign_record",
    "signing_input",
]

FORMAT_VERSION: Final = 1
SIGNING_DOMAIN: Final = b"coopfed/record/v1\x00"
#: No record may encode to more than this many bytes.
MAX_RECORD_SIZE: Final = 32 * 1024

ENVELOPE_KEYS: Final = frozenset({"author", "body", "coop", "sig", "ts", "type", "v"})

# --------------------------------------------------------------------------- the envelope


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """A signed, validated record. Build with :meth:`from_bytes` or :func:`sign_record`."""

    type: RecordType
    coop: str
    author: str
    ts: int
    body: Body
    sig: bytes
    raw: bytes = field(repr=False)
    id: bytes = field(repr=False)
    version: int = FORMAT_VERSION

    @classmethod
    def from_bytes(cls, data: bytes, *, verify: bool = True) -> Record:
        """Decode, validate and (unless ``verify`` is false) check the signature, or raise.

        ``verify=False`` is for records whose signature is checked elsewhere: stored after
        it verified, or one of a page checked at once (a :data:`.sync.PageVerifier`);
        everything else is still checked.
        """
        if len(data) > MAX_RECORD_SIZE:
            raise InvalidRecord(
                f"record is {len(data)} bytes, more than the limit of {MAX_RECORD_SIZE}",
                code="too_large",
            )
        try:
            env = decode(data, max_size=MAX_RECORD_SIZE)
        except DecodeError:
            raise
        if type(env) is not dict:
            raise InvalidRecord(f"a record is a map, got {_kind(env)}")
        keys = set(env)
        if keys != ENVELOPE_KEYS:
            missing = ", ".join(sorted(ENVELOPE_KEYS - keys)) or "none"
            extra = ", ".join(sorted(keys - ENVELOPE_KEYS)) or "none"
            raise InvalidRecord(f"record envelope fields wrong: missing {missing}; unknown {extra}")
        if env["v"] != FORMAT_VERSION or type(env["v"]) is not int:
            raise InvalidRecord(
                f"record format version must be {FORMAT_VERSION}, got {env['v']!r}",
                code="unsupported_version",
            )
        rtype = _enum(env["type"], RecordType, "type")
        coop = _did(env["coop"], "coop")
        author = _did(env["author"], "author")
        ts = env["ts"]
        if type(ts) is not int or not MIN_TS <= ts < MAX_TS:
            raise InvalidRecord(f"ts must be Unix milliseconds in [{MIN_TS}, {MAX_TS}), got {ts!r}")
        sig = env["sig"]
        if type(sig) is not bytes or len(sig) != 64:
            raise InvalidRecord(f"sig must be 64 bytes of binary, got {_kind(sig)}")
        body_cls = BODY_TYPES[rtype]
        body = body_cls.from_value(env["body"])
        if rtype in COOP_SIGNED_TYPES and author != coop:
            raise InvalidRecord(f"a {rtype.value} record is signed by the co-op's own key")
        if rtype in NOT_COOP_SIGNED_TYPES and author == coop:
            raise InvalidRecord(f"a {rtype.value} record is not signed by the co-op's key")
        if body.to_value() != env["body"]:
            # Unreachable for canonical input unless a body type's schema is incomplete;
            # kept because a record must have exactly one encoding.
            raise InvalidRecord("body is not in its one canonical form")
        check_stricter(body, ts=ts)
        record = cls(
            type=rtype,
            coop=coop,
            author=author,
            ts=ts,
            body=body,
            sig=sig,
            raw=bytes(data),
            id=hashlib.sha256(data).digest(),
        )
        if verify:
            record.verify_signature()
        return record

    def signing_bytes(self) -> bytes:
        cut = _signing_input_from_raw(self.raw, self.ts, self.type, self.version, self.sig)
        if cut is not None:
            return cut
        return signing_input(self.type, self.coop, self.author, self.ts, self.body)

    def verify_signature(self) -> None:
        verify_signature(public_key_from_did(self.author), self.signing_bytes(), self.sig)

    def to_json(self) -> dict[str, Any]:
        """A JSON view for people and tools (bytes as hex); not the signed form."""
        return {
            "id": self.id.hex(),
            "v": self.version,
            "type": self.type.value,
            "coop": self.coop,
            "author": self.author,
            "ts": self.ts,
            "body": _jsonable(self.body.to_value()),
            "sig": self.sig.hex(),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


def _uint_size(n: int) -> int:
    """Bytes of the shortest MessagePack form of a non-negative integer."""
    return 1 if n < 0x80 else 2 if n < 0x100 else 3 if n < 0x10000 else 5 if n < 1 << 32 else 9


def _signing_input_from_raw(
    raw: bytes, ts: int, rtype: RecordType, version: int, sig: bytes
) -> bytes | None:
    """:func:`signing_input` cut out of a record's canonical bytes, or None if they are not.

    The envelope is a canonical map of seven pairs in bytewise key order — author, body,
    coop, sig, ts, type, v — so the six-pair map the signature covers is those same bytes
    with the header one smaller and the ``sig`` pair removed, and that pair sits just before
    the ``ts``, ``type`` and ``v`` pairs, whose length the values give. This saves encoding
    the envelope again (a third of the cost of checking a record).
    """
    tname = rtype.value.encode()
    if len(tname) > 31 or not 0 <= version < 0x80 or ts < 0:
        return None
    tail = 3 + _uint_size(ts) + 5 + 1 + len(tname) + 2 + 1
    pair = b"\xa3sig\xc4\x40" + sig
    at = len(raw) - tail - len(pair)
    if raw[:1] != b"\x87" or at < 1 or raw[at : at + len(pair)] != pair:
        return None
    return SIGNING_DOMAIN + b"\x86" + raw[1:at] + raw[at + len(pair) :]


def signing_input(rtype: RecordType, coop: str, author: str, ts: int, body: Body) -> bytes:
    """``SIGNING_DOMAIN || encode({author, body, coop, ts, type, v})``."""
    return SIGNING_DOMAIN + encode(
        {
            "author": author,
            "body": body.to_value(),
            "coop": coop,
            "ts": ts,
            "type": rtype.value,
            "v": FORMAT_VERSION,
        }
    )


def sign_record(signer: SigningIdentity, *, coop: str, ts: int, body: Body) -> Record:
    """Sign ``body`` as ``signer`` for ``coop`` at ``ts`` (ms) and return the record."""
    rtype = body.TYPE
    if type(ts) is not int or not MIN_TS <= ts < MAX_TS:
        raise LocalProtocolError(f"ts must be Unix milliseconds in [{MIN_TS}, {MAX_TS})")
    try:
        # Round-trip the body through its own validator so nothing unsigned-for slips in.
        checked = type(body).from_value(body.to_value())
    except RemoteProtocolError as exc:
        raise LocalProtocolError(f"cannot sign an invalid {rtype.value}: {exc.message}") from exc
    if checked != body:
        raise LocalProtocolError("body does not survive its own validation unchanged")
    sig = signer.sign(signing_input(rtype, coop, signer.did, ts, body))
    raw = encode(
        {
            "author": signer.did,
            "body": body.to_value(),
            "coop": coop,
            "sig": sig,
            "ts": ts,
            "type": rtype.value,
            "v": FORMAT_VERSION,
        }
    )
    try:
        return Record.from_bytes(raw)
    except RemoteProtocolError as exc:
        raise LocalProtocolError(f"cannot sign this record: {exc.message}") from exc


def record_id(data: bytes) -> bytes:
    """The id of a record's canonical bytes: SHA-256."""
    return hashlib.sha256(data).digest()
