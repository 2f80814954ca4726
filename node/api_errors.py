"""Every refusal the HTTP API gives: a 4xx status, a stable code and a sentence a person can act on.

The body is always ``{"error": {"code": CODE, "message": MESSAGE}}`` with
``Content-Type: application/json``. Protocol errors (:class:`RemoteProtocolError` and its
subclasses) carry their own code; :data:`STATUS_BY_CODE` says which HTTP status each code
gets. The rule of the table:

- 400: the bytes or values sent are malformed, do not verify, or make no sense here
  (including a record that cites a record this log does not hold: the request is wrong,
  the URL is not);
- 401: an operator endpoint was called without the right admin token;
- 403: the signer has no standing to say this (not a member, revoked, not on the roster);
- 404: the URL names something this node does not have;
- 409: the record is valid but conflicts with the co-op's state (voting closed, already
  decided, invite used, ...);
- 413: too large; 415: wrong media type; 431: a request line or header line longer
  than the node reads (node/server.py);
- 408: the request was not read and answered in time; 429: too many writes, too many open
  connections from one address (with ``Retry-After``; see node/limits.py), or too many
  applications waiting for a sponsor.

A code missing from the table falls back on its class: ``RecordRejected`` → 409, any other
remote error → 400. spec/api.md §5 lists every code of :func:`answer_codes`, and a test holds
the two equal.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from coopfed.protocol.errors import DecodeError, RecordRejected, RemoteProtocolError

#: HTTP status of each error code the node may answer with.
STATUS_BY_CODE: Final[dict[str, int]] = {
    # --- malformed or invalid input: 400
    "bad_request": 400,
    "invalid": 400,
    "decode_error": 400,
    "too_deep": 400,
    "invalid_identity": 400,
    "bad_signature": 400,
    "invalid_record": 400,
    "not_one_line": 400,
    "unsupported_version": 400,
    "wrong_coop": 400,
    "skew": 400,
    "no_charter": 400,
    "wrong_reference": 400,
    "unknown_reference": 400,
    "mismatch": 400,
    "bad_choice": 400,
    "bad_window": 400,
    "bad_review": 400,
    "backdated": 400,
    "bad_member": 400,
    "bad_policy": 400,
    "flags_mismatch": 400,
    "expired": 400,
    "too_long": 400,
    "unknown_role": 400,
    "not_passed": 400,
    "bad_proof": 400,
    "bad_tile": 400,
    "bad_checkpoint": 400,
    "malformed_checkpoint": 400,
    "no_known_signature": 400,
    "invalid_signature": 400,
    "origin_mismatch": 400,
    "bad_bundle": 400,
    "wrong_type": 400,
    "members_only": 400,
    "self_delegation": 400,
    "non_canonical_id": 400,
    "wrong_currency": 400,
    "not_coarse": 400,
    "too_soon": 400,
    "too_old": 400,
    "bad_platform_id": 400,
    "no_id_in_address": 400,
    "unknown_address": 400,
    "not_platform_id": 400,
    # --- no standing: 403
    "not_member": 403,
    "revoked": 403,
    "not_eligible": 403,
    "not_author": 403,
    "not_requester_key": 403,
    "coop_only": 403,
    "bad_invite": 403,
    "invite_required": 403,
    "invite_not_allowed": 403,
    "delegation_not_allowed": 403,
    # --- operator authentication: 401
    "unauthorized": 401,
    # --- unknown URL target: 404
    "not_found": 404,
    "bad_tile_path": 404,
    "tile_not_available": 404,
    "unknown_record": 404,
    "unknown_proposal": 404,
    "unknown_peer": 404,
    # --- conflicts with the co-op's state: 409
    "rejected": 409,
    "decision_mismatch": 409,
    "duplicate": 409,
    "voting_closed": 409,
    "voting_not_open": 409,
    "voting_open": 409,
    "already_decided": 409,
    "already_member": 409,
    "already_retracted": 409,
    "already_blocked": 409,
    "already_applied": 409,
    "already_sponsored": 409,
    "unknown_application": 409,
    "application_expired": 409,
    "not_blocked": 409,
    "still_flagged": 409,
    "too_early": 409,
    "stale_charter": 409,
    "not_founding": 409,
    "invite_used": 409,
    "invite_expired": 409,
    "equivocation": 409,
    "no_members": 409,
    "not_pinned": 409,
    "not_delegating": 409,
    # --- too slow or too often
    "timeout": 408,
    "rate_limited": 429,
    "too_many_connections": 429,
    "applications_full": 429,
    # --- size and media type
    "too_large": 413,
    "head_too_large": 431,
    "unsupported_media_type": 415,
}


class ApiError(Exception):
    """A refusal raised inside a handler; the error middleware turns it into a response."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 400)
        self.headers = headers or {}


def status_for(exc: RemoteProtocolError) -> int:
    """The HTTP status of a protocol error, by its code, else by its class."""
    status = STATUS_BY_CODE.get(exc.code)
    if status is not None:
        return status
    return 409 if isinstance(exc, RecordRejected) else 400


def from_protocol(exc: RemoteProtocolError) -> ApiError:
    """The answer to a protocol error.

    Every decoding fault is ``decode_error``; which one it was (``reserved``,
    ``non_canonical``, ``truncated``, ...) ends the message.
    """
    if isinstance(exc, DecodeError) and exc.code != "too_large":
        detail = "" if exc.code == "decode_error" else f" [{exc.code}]"
        return ApiError(
            "decode_error",
            f"the body is not canonical coopfed MessagePack: {exc.message}{detail}",
            status=400,
        )
    return ApiError(exc.code, exc.message, status=status_for(exc))


def error_response(err: ApiError) -> web.Response:
    return web.json_response(
        {"error": {"code": err.code, "message": err.message}},
        status=err.status,
        headers=err.headers,
    )


#: What aiohttp's own HTTP exceptions become, so even its refusals have our shape.
_HTTP_CODES: Final[dict[int, tuple[str, str]]] = {
    400: ("bad_request", "the request is malformed"),
    404: ("not_found", "there is nothing at this URL; see /openapi.json for the routes"),
    405: ("method_not_allowed", "this URL does not take that method; see /openapi.json"),
    413: ("too_large", "the request body is too large"),
    415: ("unsupported_media_type", "the request body has the wrong media type"),
}


def answer_codes() -> dict[str, int | None]:
    """Every code an answer of the node may carry, with its status.

    The table above, the codes given to aiohttp's own refusals, ``http_error`` for any other
    HTTP status aiohttp refuses with (None here: its status varies) and ``internal`` (500).
    """
    codes: dict[str, int | None] = dict(STATUS_BY_CODE)
    codes.update({code: status for status, (code, _) in _HTTP_CODES.items()})
    codes["http_error"] = None
    codes["internal"] = 500
    return codes


def from_http_exception(exc: web.HTTPException) -> ApiError:
    code, message = _HTTP_CODES.get(exc.status, ("http_error", exc.reason))
    if exc.status == 413:
        message = f"the request body is larger than this node accepts ({exc.text})"
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    return ApiError(code, message, status=exc.status, headers=headers)
