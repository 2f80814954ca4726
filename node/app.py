"""The co-op node's HTTP API: every route answers from the log, and every refusal is a coded 4xx.

``create_app(config)`` returns an aiohttp application whose :class:`Node` is opened and
closed in a ``cleanup_ctx``, beside the background task that runs the co-op's governance
and signs checkpoints every ``config.governance_interval_s``. Records travel as canonical
MessagePack (``application/vnd.coopfed+msgpack``); views for people are JSON. The log
itself is served in the C2SP tlog-tiles layout (``/checkpoint``, ``/tile/...``). The
federation routes and loops (mirrors, the witness, peers, bundles) are added by
:mod:`coopfed.node.fedroutes`.

Time: the node reads the wall clock here and passes milliseconds down. For demos and
tests only, the environment variable ``COOPFED_CLOCK_OFFSET_MS`` moves this node's clock
by that many milliseconds (for example past a proposal's voting window); it is read once,
by :func:`create_app`, and shown in ``/api/v1/status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Final

from aiohttp import web

from coopfed.protocol.blocklist import Blocklist
from coopfed.protocol.bodies import MemberApply, RecordType, RequesterRef
from coopfed.protocol.errors import LocalProtocolError, RemoteProtocolError
from coopfed.protocol.identity import Identity
from coopfed.protocol.merkle import TILE_WIDTH, parse_entries_path, parse_tile_path
from coopfed.protocol.records import Record

from . import jsonin, limits, openapi
from .api_errors import ApiError, error_response, from_http_exception, from_protocol
from .config import Config
from .keys import KeyFileError, check_admin_token
from .safetext import csv_text
from .service import MAX_INVITE_TTL_S, ApplicationsFull, Node, day, now_ms
from .storage import PendingApplication
from .webapp import setup_webapp

log = logging.getLogger(__name__)

#: Media type of a record's canonical MessagePack bytes.
MSGPACK: Final = "application/vnd.coopfed+msgpack"
#: Environment variable that shifts the node's clock (demos and tests only).
CLOCK_OFFSET_ENV: Final = "COOPFED_CLOCK_OFFSET_MS"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
#: Partial tiles are replaced by full ones as the log grows; clients should come back.
PARTIAL: Final = "public, max-age=60"
DEFAULT_INVITE_TTL_S: Final = 7 * 86_400
#: Largest integer a query parameter may hold: sizes and indexes are signed 64-bit columns.
MAX_INT_PARAM: Final = 2**63 - 1
#: Canonical decimal: no sign, no leading zero, ASCII digits, at most 19 of them.
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,18}")

Clock = Callable[[], int]

CONFIG: Final = web.AppKey("config", Config)
NODE: Final = web.AppKey("node", Node)
CLOCK: Final[web.AppKey[Clock]] = web.AppKey("clock")
CLOCK_OFFSET: Final = web.AppKey("clock_offset_ms", int)
GOVERNANCE: Final[web.AppKey[asyncio.Task[None]]] = web.AppKey("governance")


def clock_offset_from_env(environ: dict[str, str] | None = None) -> int:
    """``COOPFED_CLOCK_OFFSET_MS`` as an integer (0 when unset); a bad value is an error."""
    value = (os.environ if environ is None else environ).get(CLOCK_OFFSET_ENV, "").strip()
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"{CLOCK_OFFSET_ENV} must be an integer number of milliseconds, got {value!r}"
        ) from None


def create_app(config: Config, *, clock: Clock | None = None) -> web.Application:
    """The node's web application; ``clock`` (Unix ms) replaces the wall clock in tests."""
    app = web.Application(
        client_max_size=config.max_body,
        middlewares=[_errors, limits.guard],
        handler_args=limits.server_settings(config),
    )
    app[limits.LIMITS] = limits.Limits.from_config(config)
    offset = clock_offset_from_env()
    app[CONFIG] = config
    app[CLOCK_OFFSET] = offset
    app[CLOCK] = clock if clock is not None else (lambda: now_ms() + offset)
    app.cleanup_ctx.append(_node_ctx)
    app.cleanup_ctx.append(_governance_ctx)
    add_routes(app, ROUTES)
    setup_webapp(app)
    from .fedroutes import setup as setup_federation  # it builds on this module

    setup_federation(app)
    from .operator import setup as setup_operator  # it builds on this module too

    setup_operator(app)
    return app


def add_routes(app: web.Application, routes: Iterable[tuple[str, str, limits.Handler]]) -> None:
    """Add ``(method, path, handler)`` routes; each GET answers HEAD too (RFC 9110 §9.1)."""
    for method, path, handler in routes:
        if method == "GET":
            app.router.add_get(path, handler)
        else:
            app.router.add_route(method, path, handler)


# --------------------------------------------------------------------------- life cycle


async def _node_ctx(app: web.Application) -> AsyncIterator[None]:
    node = await Node.open(app[CONFIG])
    app[NODE] = node
    try:
        yield
    finally:
        await node.close()


async def _governance_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_governance_loop(app), name="coopfed-governance")
    app[GOVERNANCE] = task
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def governance_round(app: web.Application) -> None:
    """One round: sign what the charter makes due now, then a checkpoint if it is time."""
    node = app[NODE]
    now = app[CLOCK]()
    done = await node.run_governance(now_ms=now)
    for record in done:
        log.info("governance: appended %s %s", record.type.value, record.id.hex())
    await node.checkpoint(now_ms=app[CLOCK]())


async def _governance_loop(app: web.Application) -> None:
    config = app[CONFIG]
    # Checkpoints are signed from this loop too, so it also wakes at their interval.
    interval = min(config.governance_interval_s, config.checkpoint_interval_s)
    while True:
        try:
            await governance_round(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bad round must not stop the co-op's governance for good
            log.exception("governance round failed; trying again in %s s", interval)
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------- errors


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except RemoteProtocolError as exc:
        return error_response(from_protocol(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(from_http_exception(exc))
    except ConnectionError:
        raise  # the client is gone: nothing to answer (node/server.py logs it, addressless)
    except Exception as exc:
        # A bug or a failing database: logged here, with no client address (aiohttp's own
        # server would log "Error handling request from <address>"), and answered coded.
        # The path as sent (percent-encoded: no line breaks), without its query string,
        # which may hold what is not the log's (an invite token sent by mistake).
        log.exception("internal error on %s %s", request.method, request.rel_url.raw_path[:200])
        detail = exc.message if isinstance(exc, LocalProtocolError) else type(exc).__name__
        return error_response(ApiError("internal", f"the node failed: {detail}", status=500))


# --------------------------------------------------------------------------- helpers


def _int_param(request: web.Request, name: str, *, minimum: int = 0) -> int:
    """A whole-number query parameter in canonical decimal: one value, one spelling."""
    text = request.query.get(name)
    if text is None:
        raise ApiError("bad_request", f"query parameter {name!r} is required")
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_INT_PARAM:
        raise ApiError(
            "bad_request",
            f"query parameter {name!r} must be a whole number in [0, {MAX_INT_PARAM}] "
            f"in plain decimal (no sign, no leading zeros), got {text[:40]!r}",
        )
    value = int(text)
    if value < minimum:
        raise ApiError("bad_request", f"query parameter {name!r} must be at least {minimum}")
    return value


def _hex_id(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32 or text != value.hex():
        raise ApiError(
            "bad_request", f"{what} must be 64 lowercase hex digits (a SHA-256), got {text!r}"
        )
    return value


def _requester(request: web.Request) -> RequesterRef:
    # RequesterRef validates platform and id; its InvalidRecord becomes a 400.
    return RequesterRef(platform=request.match_info["platform"], id=request.match_info["rid"])


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _wants_msgpack(request: web.Request) -> bool:
    """Content negotiation between JSON (the default) and the canonical record bytes."""
    best_json = best_pack = -1.0
    for i, part in enumerate(request.headers.get("Accept", "").split(",")):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                with contextlib.suppress(ValueError):
                    q = float(p[2:])
        rank = q - i * 1e-6  # earlier wins a tie
        if kind.lower() == MSGPACK:
            best_pack = max(best_pack, rank)
        elif kind.lower() in ("application/json", "application/*", "*/*"):
            best_json = max(best_json, rank)
    return best_pack > 0 and best_pack > best_json


async def _read_body(request: web.Request, media_type: str) -> bytes:
    got = _media_type(request.headers.get("Content-Type", ""))
    if got != media_type:
        raise ApiError(
            "unsupported_media_type",
            f"send the body as {media_type}; got {got or 'no Content-Type'}",
        )
    limit = request.app[CONFIG].max_body
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(
            "too_large",
            f"the body is {request.content_length} bytes; this node accepts at most {limit}",
        )
    return await request.read()


async def _json_body(request: web.Request, *, if_empty: Any = None) -> Any:
    """The request's JSON body, bounded in size and depth (:mod:`.jsonin` refuses the rest).

    ``if_empty``: what an empty body means, when the route allows one.
    """
    raw = await _read_body(request, "application/json")
    if if_empty is not None and not raw.strip():
        return if_empty
    return jsonin.loads(raw, limit=request.app[CONFIG].max_body)


def _json(value: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        value, status=status, headers=headers, dumps=lambda v: json.dumps(v, ensure_ascii=False)
    )


def _member_json(did: str, roles: dict[str, str]) -> dict[str, Any]:
    ident = Identity.from_did(did)
    return {
        "did": did,
        "handle": ident.handle,
        "long_handle": ident.long_handle,
        "roles": sorted(r for r, holder in roles.items() if holder == did),
    }


def blocklist_csv(blocklist: Blocklist) -> str:
    """The blocklist as CSV: one row per requester, provenance as block record ids.

    A requester id is the requester's choice (``=HYPERLINK(…)`` is a valid one): every cell
    is made inert for spreadsheets by :func:`~.safetext.csv_text`.
    """
    header = [
        "platform",
        "requester_id",
        "status",
        "reason",
        "provisional",
        "review",
        "blocks",
        "policy",
    ]
    rows = [
        [
            entry.requester.platform,
            entry.requester.id,
            entry.status.value,
            entry.reason.value,
            "yes" if entry.sources and all(s.provisional for s in entry.sources) else "no",
            min((s.review for s in entry.sources), default=""),
            " ".join(s.block.id.hex() for s in entry.sources),
            "" if entry.policy is None else entry.policy.id.hex(),
        ]
        for entry in blocklist.entries
    ]
    return csv_text([header, *rows])


# --------------------------------------------------------------------------- the log


async def well_known(request: web.Request) -> web.Response:
    node = request.app[NODE]
    await node.refresh()
    charter = node.state.charter
    return _json(
        {
            "coop": node.did,
            "name": node.name,
            "origin": node.origin,
            "handle": Identity.from_did(node.did).handle,
            "charter": None if charter is None else charter[0].hex(),
            "size": await node.size(),
            # Paths, relative to this document's URL: right behind any proxy or TLS terminator.
            "endpoints": {
                "checkpoint": "/checkpoint",
                "tiles": "/tile/",
                "records": "/api/v1/records",
                "join": "/api/v1/join",
                "applications": "/api/v1/applications",
                "blocklist": "/api/v1/blocklist",
                "proposals": "/api/v1/proposals",
                "openapi": "/openapi.json",
                "witness": "/witness/add-checkpoint",
                "mirrors": "/mirror/{did}/",
                "peers": "/api/v1/peers",
                "equivocations": "/api/v1/equivocations",
            },
        }
    )


async def checkpoint(request: web.Request) -> web.Response:
    node = request.app[NODE]
    note = await node.peers.with_cosignatures(await node.checkpoint(now_ms=request.app[CLOCK]()))
    return web.Response(
        body=note, content_type="text/plain", charset="utf-8", headers={"Cache-Control": "no-cache"}
    )


async def tile(request: web.Request) -> web.Response:
    node = request.app[NODE]
    path = "tile/" + request.match_info["path"]
    if path.startswith("tile/entries/"):
        index, width = parse_entries_path(path)
        body = await node.entry_bundle(index, width or TILE_WIDTH)
    else:
        level, index, width = parse_tile_path(path)
        body = await node.tile(level, index, width or TILE_WIDTH)
    return web.Response(
        body=body,
        content_type="application/octet-stream",
        headers={"Cache-Control": PARTIAL if width else IMMUTABLE},
    )


async def inclusion(request: web.Request) -> web.Response:
    index = _int_param(request, "index")
    size = _int_param(request, "size", minimum=1)
    proof = await request.app[NODE].inclusion_proof(index, size)
    return _json({"index": index, "size": size, "proof": [h.hex() for h in proof]})


async def consistency(request: web.Request) -> web.Response:
    old = _int_param(request, "old")
    new = _int_param(request, "new")
    proof = await request.app[NODE].consistency_proof(old, new)
    return _json({"old": old, "new": new, "proof": [h.hex() for h in proof]})


# --------------------------------------------------------------------------- records


async def post_record(request: web.Request) -> web.Response:
    raw = await _read_body(request, MSGPACK)
    limits.charge_member(request, raw)
    result = await request.app[NODE].submit(raw, now_ms=request.app[CLOCK]())
    return _json(
        {"id": result.id.hex(), "index": result.index},
        status=201 if result.created else 200,
        headers={"Location": f"/api/v1/records/{result.id.hex()}"},
    )


async def get_record(request: web.Request) -> web.Response:
    rid = _hex_id(request.match_info["id"], "a record id")
    found = await request.app[NODE].record(rid)
    if found is None:
        raise ApiError("unknown_record", f"record {rid.hex()} is not in this co-op's log")
    index, raw = found
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept"}
    if _wants_msgpack(request):
        return web.Response(body=raw, content_type=MSGPACK, headers=headers)
    view = Record.from_bytes(raw, verify=False).to_json()
    view["index"] = index
    return _json(view, headers=headers)


# --------------------------------------------------------------------------- reading the co-op


async def requester_profile(request: web.Request) -> web.Response:
    node = request.app[NODE]
    profile = await node.profile(_requester(request), now_ms=request.app[CLOCK]())
    return _json(profile)


async def blocklist(request: web.Request) -> web.Response:
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError("bad_request", f"format must be json or csv, got {fmt!r}")
    node = request.app[NODE]
    bl = await node.blocklist(now_ms=request.app[CLOCK]())
    if fmt == "csv":
        return web.Response(
            text=blocklist_csv(bl),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'inline; filename="blocklist.csv"'},
        )
    return _json({"coop": node.did, "size": await node.size(), "entries": bl.to_json()})


async def blocklist_explain(request: web.Request) -> web.Response:
    node = request.app[NODE]
    bl = await node.blocklist(now_ms=request.app[CLOCK]())
    why = bl.explain(_requester(request))
    trace = []
    for rid in why.records:
        found = await node.locate(rid)
        if found is not None:
            coop, entry = found
            trace.append(
                {
                    "id": rid.hex(),
                    "coop": coop,
                    "index": entry.index,
                    "type": entry.record.type.value,
                    "author": entry.record.author,
                    "ts": entry.record.ts,
                }
            )
    return _json(
        {
            "requester": str(why.requester),
            "status": None if why.status is None else why.status.value,
            "steps": list(why.steps),
            "records": [r.hex() for r in why.records],
            "trace": trace,
        }
    )


async def proposals(request: web.Request) -> web.Response:
    status = request.query.get("status")
    found = await request.app[NODE].proposals(now_ms=request.app[CLOCK](), status=status)
    return _json({"proposals": found})


async def proposal(request: web.Request) -> web.Response:
    pid = _hex_id(request.match_info["id"], "a proposal id")
    found = await request.app[NODE].proposal(pid, now_ms=request.app[CLOCK]())
    if found is None:
        raise ApiError("unknown_proposal", f"proposal {pid.hex()} is not in this co-op's log")
    return _json(found)


async def charter(request: web.Request) -> web.Response:
    node = request.app[NODE]
    await node.refresh()
    current = node.state.charter
    if current is None:
        raise ApiError("not_found", "this co-op has no charter yet")
    entry = node.state.entry(current[0])
    assert entry is not None
    return _json({"id": current[0].hex(), "index": entry.index, "record": entry.record.to_json()})


async def members(request: web.Request) -> web.Response:
    node = request.app[NODE]
    await node.refresh()
    roles = node.state.roles()
    listed = sorted(node.state.members())
    return _json(
        {
            "count": len(listed),
            "roles": roles,
            "members": [_member_json(did, roles) for did in listed],
        }
    )


async def status(request: web.Request) -> web.Response:
    body = await request.app[NODE].status(now_ms=request.app[CLOCK]())
    body["clock_offset_ms"] = request.app[CLOCK_OFFSET]
    return _json(body)


# --------------------------------------------------------------------------- membership


async def join(request: web.Request) -> web.Response:
    value = await _json_body(request)
    if not isinstance(value, dict) or not isinstance(value.get("apply"), str):
        raise ApiError(
            "bad_request",
            'send {"apply": HEX of a signed member.apply record, "token": invite token (optional)}',
        )
    token = value.get("token")
    if token is not None and not isinstance(token, str):
        raise ApiError("bad_request", "token must be text")
    try:
        apply_raw = bytes.fromhex(value["apply"])
    except ValueError:
        raise ApiError("bad_request", "apply must be the record's bytes in hex") from None
    node = request.app[NODE]
    try:
        result = await node.join(
            apply_raw=apply_raw, token=token or None, now_ms=request.app[CLOCK]()
        )
    except ApplicationsFull as exc:
        raise ApiError(
            exc.code, exc.message, headers={"Retry-After": str(exc.retry_after_s)}
        ) from None
    member = Record.from_bytes(apply_raw, verify=False).author
    answer: dict[str, Any] = {
        "id": result.id.hex(),
        "index": result.index,
        "member": member,
        "handle": Identity.from_did(member).handle,
        "admitted": node.state.is_member(member),
    }
    if result.index is None:
        # Held outside the log: the same answer for every replay, until it expires.
        assert result.expires_ms is not None
        answer |= {
            "status": "pending",
            "via": "vote",
            "expires": result.expires_ms,
            "message": f"Your application waits for a member of {node.name} to sponsor it; "
            "it is not in the co-op's log yet. Once a member sponsors it, the members vote "
            f"on it. If no member does by {day(result.expires_ms)} (UTC), it is dropped and "
            "you may apply again.",
        }
        return _json(answer, status=202)
    entry = node.state.entry(result.id)
    assert entry is not None
    if entry.record.type is RecordType.MEMBER_ADMIT:
        answer |= {"status": "admitted", "via": "invite", "message": f"Welcome to {node.name}."}
    else:
        answer |= {
            "status": "sponsored",
            "via": "vote",
            "message": "A member sponsored your application; the members vote on it in "
            f"proposal {result.id.hex()}.",
        }
    return _json(answer, status=201 if result.created else 200)


async def applications(request: web.Request) -> web.Response:
    """The applications waiting for a member's sponsorship (public, like the log they join)."""
    node = request.app[NODE]
    held = await node.applications(now_ms=request.app[CLOCK]())
    return _json(
        {
            "count": len(held),
            "max": request.app[CONFIG].max_pending_applications,
            "applications": [_application_json(a) for a in held],
        }
    )


def _application_json(held: PendingApplication) -> dict[str, Any]:
    record = held.record
    body = record.body
    assert isinstance(body, MemberApply)
    ident = Identity.from_did(record.author)
    # Days, not milliseconds: the exact moment someone applied says more about them than
    # the members need to sponsor it.
    return {
        "id": record.id.hex(),
        "member": record.author,
        "handle": ident.handle,
        "long_handle": ident.long_handle,
        "text": body.text,
        "received": day(held.received_ms),
        "expires": day(held.expires_ms),
    }


async def create_invite(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    auth = request.headers.get("Authorization", "")
    scheme, _, presented = auth.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="coopfed admin"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            "unauthorized",
            "send the operator's admin token as "
            "'Authorization: Bearer TOKEN' (it is in the node's data directory)",
            headers=challenge,
        )
    try:
        ok = check_admin_token(config.data_dir, presented.strip())
    except KeyFileError:
        ok = False
    if not ok:
        raise ApiError("unauthorized", "the admin token is wrong", headers=challenge)
    ttl_s = DEFAULT_INVITE_TTL_S
    if request.can_read_body:
        value = await _json_body(request, if_empty={})
        if not isinstance(value, dict):
            raise ApiError("bad_request", 'send {"ttl_s": SECONDS}')
        ttl = value.get("ttl_s", ttl_s)
        if type(ttl) is not int or not 1 <= ttl <= MAX_INVITE_TTL_S:
            raise ApiError(
                "bad_request", f"ttl_s must be a whole number of seconds in [1, {MAX_INVITE_TTL_S}]"
            )
        ttl_s = ttl
    now = request.app[CLOCK]()
    token = await request.app[NODE].create_invite(ttl_s=ttl_s, now_ms=now)
    return _json({"token": token, "expires": now + ttl_s * 1000}, status=201)


async def openapi_json(request: web.Request) -> web.Response:
    return _json(openapi.document(server="/"))


ROUTES: Final = (
    ("GET", "/.well-known/coopfed", well_known),
    ("GET", "/openapi.json", openapi_json),
    ("GET", "/checkpoint", checkpoint),
    ("GET", "/tile/{path:.+}", tile),
    ("GET", "/api/v1/proof/inclusion", inclusion),
    ("GET", "/api/v1/proof/consistency", consistency),
    ("POST", "/api/v1/records", post_record),
    ("GET", "/api/v1/records/{id}", get_record),
    ("GET", "/api/v1/requesters/{platform}/{rid:.+}", requester_profile),
    ("GET", "/api/v1/blocklist", blocklist),
    ("GET", "/api/v1/blocklist/explain/{platform}/{rid:.+}", blocklist_explain),
    ("GET", "/api/v1/proposals", proposals),
    ("GET", "/api/v1/proposals/{id}", proposal),
    ("GET", "/api/v1/charter", charter),
    ("GET", "/api/v1/members", members),
    ("GET", "/api/v1/status", status),
    ("POST", "/api/v1/join", join),
    ("GET", "/api/v1/applications", applications),
    ("POST", "/api/v1/invites", create_invite),
)
