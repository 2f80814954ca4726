"""Members-only reads: a request signed by a member's key, checked to the byte, or refused.

A node serves members-only records (spec/deliberation.md) only to a request that carries
``Authorization: Coopfed-Member author="…", ts="…", sig="…"``: an Ed25519 signature by a
member's key over the request's method and target, the co-op's log origin and the time,
under its own domain. :meth:`ReadAuth.parse` reads the header; :meth:`ReadAuth.verify`
checks the signature, the time and the member's standing against the co-op's state. It
covers no request body: it authenticates reads (``GET``, ``HEAD``) only.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from .bodies import MAX_TS, MIN_TS
from .checkpoint import log_origin
from .encoding import encode
from .errors import (
    AuthError,
    InvalidIdentity,
    InvalidSignature,
    LocalProtocolError,
    RecordRejected,
)
from .identity import SigningIdentity, canonical_did, public_key_from_did, verify_signature
from .state import DEFAULT_MAX_SKEW_MS, CoopState

__all__ = [
    "MAX_HEADER_LENGTH",
    "READ_DOMAIN",
    "READ_METHODS",
    "READ_SCHEME",
    "ReadAuth",
    "read_signing_input",
    "sign_read_request",
]

#: Signatures over reads are made under this domain, and never under a record's.
READ_DOMAIN: Final = b"coopfed/read/v1\x00"
#: The ``Authorization`` scheme, written exactly so.
READ_SCHEME: Final = "Coopfed-Member"
#: The methods the scheme authenticates: it covers no body, so reads only.
READ_METHODS: Final = frozenset({"GET", "HEAD"})
#: A longer header value is refused before it is read (a real one is about 190 characters).
MAX_HEADER_LENGTH: Final = 512
#: The longest request target signed (path and query).
MAX_TARGET_LENGTH: Final = 8192

_HEADER_RE: Final = re.compile(
    r'Coopfed-Member author="([^"]*)", ts="([^"]*)", sig="([^"]*)"', re.ASCII
)
_TS_RE: Final = re.compile(r"[1-9][0-9]{12}", re.ASCII)
_SIG_RE: Final = re.compile(r"[A-Za-z0-9_-]{86}", re.ASCII)
_TARGET_RE: Final = re.compile(r"/[\x21-\x7e]*", re.ASCII)


def _malformed(message: str) -> AuthError:
    return AuthError(f"Authorization: {message}", code="auth_malformed")


def _check_request(method: str, target: str) -> None:
    if method not in READ_METHODS:
        raise LocalProtocolError(f"the read scheme signs GET or HEAD requests, not {method!r}")
    if type(target) is not str or not len(target) <= MAX_TARGET_LENGTH:
        raise LocalProtocolError(f"target is the request's path and query, got {target!r}")
    if _TARGET_RE.fullmatch(target) is None:
        raise LocalProtocolError(
            f"target is the origin-form request target (/path?query, printable ASCII), "
            f"got {target!r}"
        )


def read_signing_input(*, coop: str, author: str, method: str, target: str, ts: int) -> bytes:
    """``READ_DOMAIN || encode({author, method, origin, target, ts})`` (deliberation.md §5.2).

    ``origin`` is the co-op's log origin (``coopfed/z6Mk…``), so a signed read is good at
    one co-op's node only; ``target`` the request target exactly as sent (``/path?query``).
    """
    _check_request(method, target)
    if type(ts) is not int or not MIN_TS <= ts < MAX_TS:
        raise LocalProtocolError(f"ts must be Unix milliseconds in [{MIN_TS}, {MAX_TS})")
    try:
        origin = log_origin(coop)
        author = canonical_did(author)
    except InvalidIdentity as exc:
        raise LocalProtocolError(f"not a co-op's or a member's DID: {exc.message}") from exc
    return READ_DOMAIN + encode(
        {"author": author, "method": method, "origin": origin, "target": target, "ts": ts}
    )


def sign_read_request(
    signer: SigningIdentity, *, coop: str, method: str, target: str, ts: int
) -> str:
    """The ``Authorization`` header value that lets ``signer`` read ``target`` at ``ts`` (ms)."""
    message = read_signing_input(coop=coop, author=signer.did, method=method, target=target, ts=ts)
    return ReadAuth(author=signer.did, ts=ts, sig=signer.sign(message)).to_header()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadAuth:
    """A read request's ``Authorization`` value, well-formed; :meth:`verify` checks the rest."""

    author: str
    ts: int
    sig: bytes

    @classmethod
    def parse(cls, header: str | None) -> ReadAuth:
        """Read the header value exactly (deliberation.md §5.1), or raise ``AuthError``.

        ``auth_required`` when there is none (None or empty), ``auth_malformed`` for any
        other form: the scheme, the spacing, the quotes, a DID that is not canonical, a time
        that is not 13 digits in range, a signature that is not 86 base64url characters
        in their one canonical form.
        """
        if header is None or header == "":
            raise AuthError(
                "members only: sign the request with your member key (Authorization: "
                f"{READ_SCHEME} …)",
                code="auth_required",
            )
        if type(header) is not str:
            raise LocalProtocolError(f"header is text or None, got {type(header).__name__}")
        if len(header) > MAX_HEADER_LENGTH:
            raise _malformed(f"longer than {MAX_HEADER_LENGTH} characters")
        m = _HEADER_RE.fullmatch(header)
        if m is None:
            raise _malformed(f'expected exactly {READ_SCHEME} author="…", ts="…", sig="…"')
        author, ts_text, sig_text = m.groups()
        try:
            if canonical_did(author) != author:
                raise _malformed("author is not a canonical did:key")
        except InvalidIdentity as exc:
            raise _malformed(f"author: {exc.message}") from None
        if _TS_RE.fullmatch(ts_text) is None or not MIN_TS <= int(ts_text) < MAX_TS:
            raise _malformed("ts is Unix milliseconds: 13 digits, no leading zero, in range")
        if _SIG_RE.fullmatch(sig_text) is None:
            raise _malformed("sig is 86 base64url characters without padding")
        try:
            sig = base64.urlsafe_b64decode(sig_text + "==")
        except binascii.Error:  # pragma: no cover - the pattern admits only the alphabet
            raise _malformed("sig is not base64url") from None
        if _b64(sig) != sig_text:
            raise _malformed("sig is not in its one base64url form (unused bits must be 0)")
        return cls(author=author, ts=int(ts_text), sig=sig)

    def to_header(self) -> str:
        """The header value: ``Coopfed-Member author="…", ts="…", sig="…"``."""
        return f'{READ_SCHEME} author="{self.author}", ts="{self.ts}", sig="{_b64(self.sig)}"'

    def verify(
        self,
        *,
        coop: str,
        method: str,
        target: str,
        now_ms: int,
        state: CoopState,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    ) -> None:
        """Return if a member signed this very request, recently; else raise ``AuthError``.

        In this order: ``|ts − now_ms| ≤ max_skew_ms`` (``auth_skew``); the signature over
        :func:`read_signing_input` by ``author`` (``auth_bad_signature``); ``author`` is a
        member of ``state``'s co-op now (``revoked``, ``not_member``).
        """
        if coop != state.coop:
            raise LocalProtocolError(f"state is co-op {state.coop}'s, not {coop}'s")
        if type(now_ms) is not int or now_ms < 0:
            raise LocalProtocolError(f"now_ms is Unix milliseconds, got {now_ms!r}")
        if abs(self.ts - now_ms) > max_skew_ms:
            raise AuthError(
                f"the request was signed at {self.ts}, more than {max_skew_ms} ms from the "
                f"node's clock ({now_ms}): check your device's clock, then sign it again",
                code="auth_skew",
            )
        message = read_signing_input(
            coop=coop, author=self.author, method=method, target=target, ts=self.ts
        )
        try:
            verify_signature(public_key_from_did(self.author), message, self.sig)
        except InvalidSignature:
            raise AuthError(
                f"the signature is not {self.author}'s over {method} {target} for this co-op",
                code="auth_bad_signature",
            ) from None
        try:
            state.check_member(self.author)
        except RecordRejected as exc:
            raise AuthError(exc.message, code=exc.code) from None


def _b64(sig: bytes) -> str:
    return base64.urlsafe_b64encode(sig).decode("ascii").rstrip("=")
