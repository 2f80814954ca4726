"""Operator routes that sign with the co-op's key: requester aliases and requesters' reply keys.

Both records are facts the operator checked out of band (a requester renamed on its
platform; a requester proved a key is theirs, e.g. by posting its DID on their profile), so
they take the admin token. Everything else the co-op key signs comes from governance.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from coopfed.protocol.bodies import Body, RequesterAlias, RequesterKey, RequesterRef
from coopfed.protocol.errors import RemoteProtocolError

from .api_errors import ApiError
from .app import CLOCK, NODE, _json_body, add_routes
from .fedroutes import require_admin


def _requester(value: Any, what: str) -> RequesterRef:
    if not isinstance(value, str):
        raise ApiError("bad_request", f"{what} is 'PLATFORM:REQUESTER_ID' text")
    try:
        return RequesterRef.parse(value)
    except RemoteProtocolError as exc:
        raise ApiError("bad_request", f"{what}: {exc.message}") from None


async def _append(request: web.Request, body: Body) -> web.Response:
    node = request.app[NODE]
    result = await node.append_own(body, now_ms=request.app[CLOCK]())
    return web.json_response(
        {"id": result.id.hex(), "index": result.index, "type": body.TYPE.value},
        status=201 if result.created else 200,
    )


async def requester_alias(request: web.Request) -> web.Response:
    """``{"requester": "P:NEW", "alias_of": "P:OLD"}``: NEW is OLD under a new name."""
    require_admin(request)
    value = await _json_body(request)
    if not isinstance(value, dict):
        raise ApiError("bad_request", 'send {"requester": "P:NEW", "alias_of": "P:OLD"}')
    try:
        body = RequesterAlias(
            requester=_requester(value.get("requester"), "requester"),
            alias_of=_requester(value.get("alias_of"), "alias_of"),
        )
        body = RequesterAlias.from_value(body.to_value())
    except RemoteProtocolError as exc:
        raise ApiError("bad_request", exc.message) from None
    return await _append(request, body)


async def requester_key(request: web.Request) -> web.Response:
    """``{"requester": "P:ID", "key": DID, "evidence": TEXT}``: the requester may reply."""
    require_admin(request)
    value = await _json_body(request)
    if not isinstance(value, dict):
        raise ApiError("bad_request", 'send {"requester": "P:ID", "key": DID, "evidence": TEXT}')
    try:
        fields = {
            "evidence": value.get("evidence"),
            "key": value.get("key"),
            "requester": _requester(value.get("requester"), "requester").to_value(),
        }
        body = RequesterKey.from_value({k: v for k, v in fields.items() if v is not None})
    except RemoteProtocolError as exc:
        raise ApiError("bad_request", exc.message) from None
    return await _append(request, body)


ROUTES = (
    ("POST", "/api/v1/operator/requester-alias", requester_alias),
    ("POST", "/api/v1/operator/requester-key", requester_key),
)


def setup(app: web.Application) -> None:
    add_routes(app, ROUTES)
