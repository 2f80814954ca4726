"""The node's federation routes: mirrors, the witness, peers, policy, equivocations, bundles.

:func:`setup` adds them to the app built by :func:`coopfed.node.app.create_app`, with the
``cleanup_ctx`` that runs :class:`~coopfed.node.federation.Federation` (the sync loops and
the gathering of cosignatures) beside the node. Reads are public; pinning co-ops and
setting the policy are operator calls (``Authorization: Bearer <admin token>``). The
prose is spec/federation.md.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from aiohttp import web

from coopfed.protocol.bodies import AdoptRule, FederationPolicy, Follow, RequesterRef
from coopfed.protocol.errors import RemoteProtocolError
from coopfed.protocol.identity import Identity, public_key_from_did
from coopfed.protocol.merkle import TILE_WIDTH, parse_entries_path, parse_tile_path
from coopfed.protocol.witness import MAX_REQUEST_SIZE

from .api_errors import ApiError
from .app import (
    CLOCK,
    CLOCK_OFFSET,
    CONFIG,
    IMMUTABLE,
    MSGPACK,
    NODE,
    PARTIAL,
    _hex_id,
    _int_param,
    _json,
    _json_body,
    _requester,
    add_routes,
)
from .bundles import block_bundle, decision_bundle
from .federation import ClientFactory, Federation, default_client_factory
from .keys import KeyFileError, check_admin_token
from .peers import UnknownPeer, key_fingerprint
from .safetext import MAX_NAME, visible
from .service import Node

CLIENT_FACTORY: Final[web.AppKey[ClientFactory]] = web.AppKey("client_factory")
FEDERATION: Final = web.AppKey("federation", Federation)


def wall_clock(app: web.Application) -> Callable[[], int]:
    """Real time in Unix ms: the node's clock without the demo/test offset.

    The offset exists to move governance past voting windows; cosignature timestamps and
    sync times are statements to other co-ops and must stay true.
    """
    clock, offset = app[CLOCK], app[CLOCK_OFFSET]
    return lambda: clock() - offset


def setup(app: web.Application) -> None:
    """Add the federation routes and the federation's ``cleanup_ctx`` (after the node's)."""
    app.cleanup_ctx.append(_federation_ctx)
    add_routes(app, ROUTES)


async def _federation_ctx(app: web.Application) -> AsyncIterator[None]:
    factory = app.get(CLIENT_FACTORY) or default_client_factory(app[CONFIG])
    session = factory()
    fed = Federation(app[NODE], session=session, clock=wall_clock(app))
    app[FEDERATION] = fed
    fed.start()
    try:
        yield
    finally:
        await fed.stop()
        await session.close()


# --------------------------------------------------------------------------- helpers


def require_admin(request: web.Request) -> None:
    """Refuse (401) unless the request carries the operator's admin token."""
    auth = request.headers.get("Authorization", "")
    scheme, _, presented = auth.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="coopfed admin"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            "unauthorized",
            "send the operator's admin token as 'Authorization: Bearer TOKEN'",
            headers=challenge,
        )
    try:
        ok = check_admin_token(request.app[CONFIG].data_dir, presented.strip())
    except KeyFileError:
        ok = False
    if not ok:
        raise ApiError("unauthorized", "the admin token is wrong", headers=challenge)


def _did(text: str) -> str:
    try:
        public_key_from_did(text)
    except RemoteProtocolError as exc:
        raise ApiError("bad_request", f"not a co-op's did:key: {exc.message}") from None
    return text


def _url(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > 300:
        raise ApiError("bad_request", f"{what} must be an http(s) URL of at most 300 characters")
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ApiError("bad_request", f"{what} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def peer_json(node: Node, did: str) -> dict[str, Any]:
    p = node.peers.get(did)
    if p is None:
        raise UnknownPeer(f"this node does not follow co-op {did}")
    return {
        **p.info.to_json(),
        "handle": Identity.from_did(did).handle,
        "fingerprint": key_fingerprint(did),
        "held": p.frontier.size,
        "verified": None if p.verified is None else p.verified.size,
        "members": len(p.state.members()),
        "blocks": len(p.state.active_blocks()),
    }


def policy_from_json(value: Any, *, pinned: frozenset[str]) -> FederationPolicy:
    """A federation policy from the operator's JSON; sorted into its one canonical form.

    ``{"follow": [DID or {"coop": DID, "url": URL}], "adopt": [{"from": [DID], "k": K}],
    "allow": ["PLATFORM:ID"], "drafts": BOOL}``. Every followed co-op must be pinned.
    """
    if not isinstance(value, dict) or set(value) - {"follow", "adopt", "allow", "drafts"}:
        raise ApiError(
            "bad_request", 'send {"follow": [...], "adopt": [...], "allow": [...], "drafts": B}'
        )
    follows: dict[str, Follow] = {}
    for item in value.get("follow") or []:
        if isinstance(item, str):
            item = {"coop": item}
        if not isinstance(item, dict) or not isinstance(item.get("coop"), str):
            raise ApiError("bad_request", 'each follow is a DID or {"coop": DID, "url": URL}')
        did = _did(item["coop"])
        if did not in pinned:
            raise ApiError(
                "not_pinned",
                f"co-op {did} is not pinned: pin it first (coopfed peer add URL), so that its "
                "log is fetched and checked against the key you confirmed",
            )
        url = item.get("url")
        follows[did] = Follow(coop=did, url=None if url is None else _url(url, "follow url"))
    rules = []
    for item in value.get("adopt") or []:
        if not isinstance(item, dict) or not isinstance(item.get("from"), list):
            raise ApiError("bad_request", 'each adopt rule is {"from": [DID, ...], "k": K}')
        if not all(isinstance(s, str) for s in item["from"]):
            raise ApiError("bad_request", "an adopt rule's sources are DIDs")
        sources = sorted({_did(s) for s in item["from"]}, key=str.encode)
        k = item.get("k")
        if type(k) is not int or not 1 <= k <= len(sources):
            raise ApiError("bad_request", f"k must be between 1 and {len(sources)}")
        missing = [s for s in sources if s not in follows]
        if missing:
            raise ApiError("bad_request", f"adopt rule names co-ops not followed: {missing}")
        rules.append(AdoptRule(sources=tuple(sources), k=k))
    allow = []
    for item in value.get("allow") or []:
        if not isinstance(item, str):
            raise ApiError("bad_request", "allow lists requesters as PLATFORM:ID")
        allow.append(RequesterRef.parse(item))
    drafts = value.get("drafts", False)
    if type(drafts) is not bool:
        raise ApiError("bad_request", "drafts is true or false")
    policy = FederationPolicy(
        follow=tuple(follows[d] for d in sorted(follows, key=str.encode)),
        adopt=tuple(rules),
        allow=tuple(sorted(set(allow), key=lambda r: (r.platform.encode(), r.id.encode()))),
        drafts=drafts,
    )
    # The record schema's own checks (one encoding per value, limits) are the last word.
    return FederationPolicy.from_value(policy.to_value())


# --------------------------------------------------------------------------- mirrors


async def mirror_checkpoint(request: web.Request) -> web.Response:
    did = _did(request.match_info["did"])
    note = await request.app[NODE].peers.mirror_checkpoint(did)
    return web.Response(
        body=note, content_type="text/plain", charset="utf-8", headers={"Cache-Control": "no-cache"}
    )


async def mirror_tile(request: web.Request) -> web.Response:
    did = _did(request.match_info["did"])
    peers = request.app[NODE].peers
    path = "tile/" + request.match_info["path"]
    if path.startswith("tile/entries/"):
        index, width = parse_entries_path(path)
        body = await peers.entry_bundle(did, index, width or TILE_WIDTH)
    else:
        level, index, width = parse_tile_path(path)
        body = await peers.tile(did, level, index, width or TILE_WIDTH)
    return web.Response(
        body=body,
        content_type="application/octet-stream",
        headers={"Cache-Control": PARTIAL if width else IMMUTABLE},
    )


async def mirror_inclusion(request: web.Request) -> web.Response:
    did = _did(request.match_info["did"])
    index = _int_param(request, "index")
    size = _int_param(request, "size", minimum=1)
    proof = await request.app[NODE].peers.inclusion_proof(did, index, size)
    return _json({"index": index, "size": size, "proof": [h.hex() for h in proof]})


async def mirror_consistency(request: web.Request) -> web.Response:
    did = _did(request.match_info["did"])
    old = _int_param(request, "old")
    new = _int_param(request, "new")
    proof = await request.app[NODE].peers.consistency_proof(did, old, new)
    return _json({"old": old, "new": new, "proof": [h.hex() for h in proof]})


# --------------------------------------------------------------------------- the witness


async def add_checkpoint(request: web.Request) -> web.Response:
    """C2SP tlog-witness: cosign a followed co-op's checkpoint, or say why not (plain text)."""
    if request.content_length is not None and request.content_length > MAX_REQUEST_SIZE:
        raise ApiError(
            "too_large", f"an add-checkpoint request is at most {MAX_REQUEST_SIZE} bytes"
        )
    body = await request.read()
    node = request.app[NODE]
    now = wall_clock(request.app)()
    r = await node.peers.witness(body, signer=node.coop, now_s=now // 1000, now_ms=now)
    return web.Response(status=r.status, body=r.body, headers={"Content-Type": r.content_type})


# --------------------------------------------------------------------------- peers and policy


async def list_peers(request: web.Request) -> web.Response:
    node = request.app[NODE]
    await node.peers.refresh()
    return _json({"peers": [peer_json(node, p.did) for p in node.peers.all()]})


async def get_peer(request: web.Request) -> web.Response:
    node = request.app[NODE]
    did = _did(request.match_info["did"])
    await node.peers.refresh()
    body = peer_json(node, did)
    body["refusals"] = [r.to_json() for r in await node.peers.refusals(did, limit=20)]
    return _json(body)


async def pin_peer(request: web.Request) -> web.Response:
    require_admin(request)
    value = await _json_body(request)
    if not isinstance(value, dict) or not isinstance(value.get("did"), str):
        raise ApiError("bad_request", 'send {"did": DID, "url": URL, "mirrors": [URL], "name": T}')
    did = _did(value["did"])
    url = _url(value.get("url"), "url")
    mirrors = value.get("mirrors") or []
    if not isinstance(mirrors, list) or len(mirrors) > 20:
        raise ApiError("bad_request", "mirrors is a list of at most 20 URLs")
    name = value.get("name") or ""
    if not isinstance(name, str) or visible(name, MAX_NAME) != name:
        raise ApiError(
            "bad_request",
            f"name is one line of at most {MAX_NAME} characters, with no control characters "
            "(line breaks, terminal escapes, text-direction overrides)",
        )
    node = request.app[NODE]
    if did == node.did:
        raise ApiError("bad_request", "a co-op does not follow itself")
    info = await node.peers.pin(
        did,
        url=url,
        mirrors=[_url(m, "a mirror") for m in mirrors],
        name=name,
        now_ms=wall_clock(request.app)(),
    )
    fed = request.app.get(FEDERATION)
    if fed is not None:
        fed.ensure_task(did)
    return _json(peer_json(node, info.did), status=201)


async def remove_peer(request: web.Request) -> web.Response:
    require_admin(request)
    did = _did(request.match_info["did"])
    if not await request.app[NODE].peers.remove(did):
        raise UnknownPeer(f"this node does not follow co-op {did}")
    return _json({"removed": did})


async def set_policy(request: web.Request) -> web.Response:
    require_admin(request)
    node = request.app[NODE]
    await node.peers.refresh()
    policy = policy_from_json(
        await _json_body(request), pinned=frozenset(p.did for p in node.peers.all())
    )
    result = await node.append_own(policy, now_ms=request.app[CLOCK]())
    return _json(
        {"id": result.id.hex(), "index": result.index, "policy": policy_json(policy)},
        status=201 if result.created else 200,
    )


def policy_json(policy: FederationPolicy) -> dict[str, Any]:
    return {
        "follow": [{"coop": f.coop, "url": f.url} for f in policy.follow],
        "adopt": [{"from": list(r.sources), "k": r.k} for r in policy.adopt],
        "allow": [str(a) for a in policy.allow],
        "drafts": policy.drafts,
    }


# --------------------------------------------------------------------------- equivocations


async def list_equivocations(request: web.Request) -> web.Response:
    proofs = await request.app[NODE].peers.equivocations()
    return _json({"equivocations": [e.to_json() for e in proofs]})


async def get_equivocation(request: web.Request) -> web.Response:
    did = _did(request.match_info["did"])
    proofs = await request.app[NODE].peers.equivocations(did)
    if not proofs:
        raise ApiError("not_found", f"this node holds no equivocation proof against {did}")
    return web.Response(
        body=proofs[0].proof,
        content_type=MSGPACK,
        headers={
            "Content-Disposition": f'attachment; filename="equivocation-{proofs[0].id.hex()[:16]}"'
        },
    )


# --------------------------------------------------------------------------- bundles


def _bundle_response(data: bytes, name: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=MSGPACK,
        headers={"Content-Disposition": f'attachment; filename="{name}.bundle"'},
    )


async def get_decision_bundle(request: web.Request) -> web.Response:
    rid = _hex_id(request.match_info["id"], "a decision id")
    coop = request.query.get("coop")
    bundle = await decision_bundle(
        request.app[NODE],
        rid,
        coop=None if coop is None else _did(coop),
        now_ms=request.app[CLOCK](),
    )
    return _bundle_response(bundle.to_bytes(), f"decision-{rid.hex()[:16]}")


async def get_block_bundle(request: web.Request) -> web.Response:
    requester = _requester(request)
    coop = request.query.get("coop")
    bundle = await block_bundle(
        request.app[NODE],
        requester,
        coop=None if coop is None else _did(coop),
        now_ms=request.app[CLOCK](),
    )
    return _bundle_response(bundle.to_bytes(), f"block-{bundle.subject.hex()[:16]}")


ROUTES: Final = (
    ("GET", "/mirror/{did}/checkpoint", mirror_checkpoint),
    ("GET", "/mirror/{did}/tile/{path:.+}", mirror_tile),
    ("GET", "/mirror/{did}/api/v1/proof/inclusion", mirror_inclusion),
    ("GET", "/mirror/{did}/api/v1/proof/consistency", mirror_consistency),
    ("POST", "/witness/add-checkpoint", add_checkpoint),
    ("GET", "/api/v1/peers", list_peers),
    ("POST", "/api/v1/peers", pin_peer),
    ("GET", "/api/v1/peers/{did}", get_peer),
    ("DELETE", "/api/v1/peers/{did}", remove_peer),
    ("POST", "/api/v1/policy", set_policy),
    ("GET", "/api/v1/equivocations", list_equivocations),
    ("GET", "/api/v1/equivocations/{did}", get_equivocation),
    ("GET", "/api/v1/bundles/decision/{id}", get_decision_bundle),
    ("GET", "/api/v1/bundles/block/{platform}/{rid:.+}", get_block_bundle),
)
