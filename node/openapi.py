"""The OpenAPI 3.1 description of the node's HTTP API, served at ``/openapi.json``.

Every route :mod:`coopfed.node.app` registers has an operation here, each with the error
answers it may give. The normative text is spec/api.md; tests/node/test_api_spec.py holds
its routes and codes, the router's and this document's equal.
"""

from __future__ import annotations

from typing import Any, Final

from .api_errors import answer_codes
from .webapp import openapi_paths as webapp_paths

MSGPACK: Final = "application/vnd.coopfed+msgpack"
_HEX32: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_DID: Final = {"type": "string", "pattern": "^did:key:z[1-9A-HJ-NP-Za-km-z]+$"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    """References to the shared error answers (see ``components.responses``)."""
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}


def _path_param(
    name: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _query(
    name: str, description: str, schema: dict[str, Any], *, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


_REQUESTER_PARAMS: Final = [
    _path_param(
        "platform",
        "The requester's platform, e.g. mturk",
        {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,31}$"},
    ),
    _path_param(
        "rid",
        "The requester's id on that platform",
        {"type": "string", "pattern": "^[\\x21-\\x7e]{1,128}$"},
    ),
]

_TILE_NOTE: Final = (
    "C2SP tlog-tiles (https://c2sp.org/tlog-tiles). `tile/<L>/<N>[.p/<W>]` is a hash tile: "
    "W (default 256) SHA-256 hashes of tree level 8*L. `tile/entries/<N>[.p/<W>]` is an "
    "entry bundle: each record as a 2-byte big-endian length, then its canonical bytes. "
    "<N> is written in 3-digit groups, all but the last prefixed with x (x001/x234/067). "
    "Full tiles never change and are served immutable; partial tiles briefly cacheable."
)


def document(server: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document; ``server`` is the base URL the node is reached at."""
    paths: dict[str, Any] = {
        "/.well-known/coopfed": {
            "get": {
                "operationId": "wellKnown",
                "tags": ["discovery"],
                "summary": "Who this co-op is and where its endpoints are",
                "responses": {"200": _json(_ref("WellKnown"), "The co-op's identity")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["discovery"],
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
        "/checkpoint": {
            "get": {
                "operationId": "checkpoint",
                "tags": ["log"],
                "summary": "The latest signed checkpoint (C2SP tlog-checkpoint, signed-note)",
                "description": "Origin `coopfed/<did without did:key:>`, tree size, base64 root "
                "hash, signed by the co-op's key under the origin as key name. "
                "Served with `Cache-Control: no-cache`.",
                "responses": {
                    "200": {
                        "description": "The signed note",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/tile/{path}": {
            "get": {
                "operationId": "tile",
                "tags": ["log"],
                "summary": "A hash tile or entry bundle of the log",
                "description": _TILE_NOTE,
                "parameters": [
                    _path_param(
                        "path",
                        "The tile path after `tile/`, e.g. `0/000`, "
                        "`0/001.p/17`, `entries/000.p/5`",
                    )
                ],
                "responses": {
                    "200": {
                        "description": "Tile bytes",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    **_errors(400, 404),
                },
            }
        },
        "/api/v1/proof/inclusion": {
            "get": {
                "operationId": "inclusionProof",
                "tags": ["log"],
                "summary": "RFC 9162 inclusion proof of entry `index` in the tree of `size`",
                "parameters": [
                    _query(
                        "index",
                        "0-based entry index",
                        {"type": "integer", "minimum": 0},
                        required=True,
                    ),
                    _query(
                        "size",
                        "Tree size (of a checkpoint)",
                        {"type": "integer", "minimum": 1},
                        required=True,
                    ),
                ],
                "responses": {
                    "200": _json(_ref("InclusionProof"), "The proof"),
                    **_errors(400, 404),
                },
            }
        },
        "/api/v1/proof/consistency": {
            "get": {
                "operationId": "consistencyProof",
                "tags": ["log"],
                "summary": "RFC 9162 consistency proof between tree sizes `old` and `new`",
                "parameters": [
                    _query(
                        "old", "Older tree size", {"type": "integer", "minimum": 0}, required=True
                    ),
                    _query(
                        "new", "Newer tree size", {"type": "integer", "minimum": 0}, required=True
                    ),
                ],
                "responses": {
                    "200": _json(_ref("ConsistencyProof"), "The proof"),
                    **_errors(400, 404),
                },
            }
        },
        "/api/v1/records": {
            "post": {
                "operationId": "submitRecord",
                "tags": ["records"],
                "summary": "Append a record a member signed",
                "description": "The signature is the authentication: the node checks the author "
                "is a member now, validates the record against the co-op's state "
                "and appends it. Posting the same record again is harmless: the "
                "same id and index come back with status 200. An admit `proposal` whose "
                "`application` is waiting at `/api/v1/applications` sponsors it: the "
                "application is appended first, then the proposal (the answer names the "
                "proposal); see `/api/v1/applications` for its own refusals.",
                "requestBody": {
                    "required": True,
                    "content": {MSGPACK: {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "201": _json(_ref("Appended"), "Appended"),
                    "200": _json(_ref("Appended"), "Already in the log (a replay)"),
                    **_errors(400, 403, 409, 413, 415, 429),
                },
            }
        },
        "/api/v1/records/{id}": {
            "get": {
                "operationId": "getRecord",
                "tags": ["records"],
                "summary": "One record: JSON view, or its canonical bytes by Accept",
                "parameters": [_path_param("id", "Record id (SHA-256 of its bytes), hex", _HEX32)],
                "responses": {
                    "200": {
                        "description": "The record",
                        "content": {
                            "application/json": {"schema": _ref("Record")},
                            MSGPACK: {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **_errors(400, 404),
                },
            }
        },
        "/api/v1/requesters/{platform}/{rid}": {
            "get": {
                "operationId": "requesterProfile",
                "tags": ["requesters"],
                "summary": "What the members reported about a requester, and its blocklist status",
                "parameters": _REQUESTER_PARAMS,
                "responses": {"200": _json(_ref("Profile"), "The profile"), **_errors(400)},
            }
        },
        "/api/v1/blocklist": {
            "get": {
                "operationId": "blocklist",
                "tags": ["requesters"],
                "summary": "The co-op's effective blocklist with provenance",
                "parameters": [
                    _query(
                        "format",
                        "json (default) or csv",
                        {"type": "string", "enum": ["json", "csv"]},
                    )
                ],
                "responses": {
                    "200": {
                        "description": "The blocklist",
                        "content": {
                            "application/json": {"schema": _ref("Blocklist")},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400),
                },
            }
        },
        "/api/v1/blocklist/explain/{platform}/{rid}": {
            "get": {
                "operationId": "blocklistExplain",
                "tags": ["requesters"],
                "summary": "Why a requester is (or is not) on the blocklist, in sentences",
                "parameters": _REQUESTER_PARAMS,
                "responses": {"200": _json(_ref("Explanation"), "The explanation"), **_errors(400)},
            }
        },
        "/api/v1/proposals": {
            "get": {
                "operationId": "proposals",
                "tags": ["governance"],
                "summary": "Proposals with their live tallies, newest first",
                "parameters": [
                    _query(
                        "status",
                        "Only proposals in this state",
                        {"type": "string", "enum": ["open", "closed", "decided"]},
                    )
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "proposals": {"type": "array", "items": _ref("Proposal")}
                            },
                        },
                        "Proposals",
                    ),
                    **_errors(400),
                },
            }
        },
        "/api/v1/proposals/{id}": {
            "get": {
                "operationId": "proposal",
                "tags": ["governance"],
                "summary": "One proposal, its tally and its decision",
                "parameters": [_path_param("id", "Proposal record id, hex", _HEX32)],
                "responses": {"200": _json(_ref("Proposal"), "The proposal"), **_errors(400, 404)},
            }
        },
        "/api/v1/charter": {
            "get": {
                "operationId": "charter",
                "tags": ["governance"],
                "summary": "The charter in force",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "id": _HEX32,
                                "index": {"type": "integer"},
                                "record": _ref("Record"),
                            },
                        },
                        "The charter record",
                    )
                },
            }
        },
        "/api/v1/members": {
            "get": {
                "operationId": "members",
                "tags": ["governance"],
                "summary": "Current members (pseudonymous keys and handles) and role holders",
                "responses": {"200": _json(_ref("Members"), "The members")},
            }
        },
        "/api/v1/status": {
            "get": {
                "operationId": "status",
                "tags": ["discovery"],
                "summary": "Log size, last checkpoint, members, open proposals, blocks",
                "responses": {"200": _json({"type": "object"}, "Status")},
            }
        },
        "/api/v1/join": {
            "post": {
                "operationId": "join",
                "tags": ["membership"],
                "summary": "Join with a signed member.apply record: by invite token, or apply "
                "for a member's sponsorship",
                "description": "With a valid token the co-op admits the key at once (201, "
                "`status: admitted`). Without one, under a charter that admits by vote, the "
                "node holds the application outside the log (202, `status: pending`; listed "
                "at `/api/v1/applications`) until a member sponsors it by posting an admit "
                "`proposal` that cites it (`application`: its id) to `/api/v1/records`: the "
                "application and the proposal then enter the log together, and the members "
                "vote. A held application is dropped after the node's `application_ttl_s` "
                "(default 14 days); a node holds at most `max_pending_applications` (default "
                "50) and refuses more with 429 `applications_full` and `Retry-After` (when "
                "the soonest held one expires). Posting the same application again gives the "
                "same answer: 202 while it waits, then 200 naming the admit proposal "
                "(`status: sponsored`). Refusals: `invite_required` (403, the charter admits "
                "by invite), `already_member`, `already_applied` (this key has an application "
                "waiting or being voted on), `no_members` (409), `skew` (400).",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["apply"],
                                "properties": {
                                    "apply": {
                                        "type": "string",
                                        "description": "The record's bytes, hex",
                                    },
                                    "token": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("Joined"), "Admitted by invite"),
                    "202": _json(_ref("Joined"), "Held, waiting for a member's sponsorship"),
                    "200": _json(_ref("Joined"), "A replay of an earlier join, now in the log"),
                    **_errors(400, 403, 409, 413, 415, 429),
                },
            }
        },
        "/api/v1/applications": {
            "get": {
                "operationId": "applications",
                "tags": ["membership"],
                "summary": "Applications to join waiting for a member's sponsorship",
                "description": "Public, like the log they ask to join: the applicant's DID, "
                "handles and text, and the days (UTC) it came and will be dropped, oldest "
                "first. To sponsor one, a member signs an admit `proposal` with "
                "`member` = the applicant's DID and `application` = the id, and posts it to "
                "`/api/v1/records`: the node appends the application, then the proposal, in "
                "one transaction (201 names the proposal). Refusals of that post, beyond any "
                "proposal's: `unknown_application` (409: not held here, or expired), "
                "`already_sponsored` (409: another member sponsored it a moment before).",
                "responses": {"200": _json(_ref("Applications"), "The waiting applications")},
            }
        },
        "/api/v1/invites": {
            "post": {
                "operationId": "createInvite",
                "tags": ["membership"],
                "summary": "Create a single-use, expiring invite token (operator only)",
                "security": [{"adminToken": []}],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"ttl_s": {"type": "integer", "minimum": 1}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {
                                "token": {"type": "string"},
                                "expires": {"type": "integer", "description": "Unix ms"},
                            },
                        },
                        "The invite",
                    ),
                    **_errors(400, 401, 413, 415, 429),
                },
            }
        },
    }
    paths.update(_federation_paths())
    paths.update(_operator_paths())
    paths.update(webapp_paths())
    for item in paths.values():
        for op in item.values():
            # Any request may meet these: the server answers them before any route runs.
            for status in ("429", "431", "500"):
                op["responses"].setdefault(status, {"$ref": f"#/components/responses/E{status}"})
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "coopfed node",
            "version": "1",
            "summary": "A crowdworker co-operative's node: its signed log, governance and "
            "requester knowledge",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The operator's token from <data dir>/admin.token",
                }
            },
            "responses": {
                f"E{s}": _json(_ref("Error"), d)
                for s, d in (
                    (
                        400,
                        "Malformed or invalid input. A JSON body must be UTF-8 JSON "
                        "(`decode_error`) nested at most 32 levels deep (`too_deep`); an "
                        "integer query parameter is plain decimal (no sign, no leading zero, "
                        "at most 2^63-1) and no parameter may be given twice (`bad_request`)",
                    ),
                    (401, "Missing or wrong admin token"),
                    (403, "No standing"),
                    (404, "Not found"),
                    (409, "Conflicts with the co-op's state"),
                    (413, "Too large"),
                    (415, "Unsupported media type"),
                    (
                        429,
                        "Too many writes (`rate_limited`), or too many connections open "
                        "from one address (`too_many_connections`): see Retry-After",
                    ),
                    (
                        431,
                        "The request line (with its query string) or a header line is over "
                        "8190 bytes, or there are over 64 header fields (`head_too_large`)",
                    ),
                    (500, "The node failed"),
                )
            },
            "schemas": _schemas(),
        },
    }
    if server is not None:
        doc["servers"] = [{"url": server}]
    return doc


def _schemas() -> dict[str, Any]:
    obj = {"type": "object"}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "enum": sorted(answer_codes()),
                            "description": "Stable, machine-readable",
                        },
                        "message": {"type": "string", "description": "A sentence for people"},
                    },
                }
            },
        },
        "WellKnown": {
            "type": "object",
            "required": ["coop", "name", "origin", "size"],
            "properties": {
                "coop": _DID,
                "name": {"type": "string"},
                "origin": {"type": "string"},
                "handle": {"type": "string"},
                "charter": _HEX32,
                "size": {"type": "integer"},
                "endpoints": obj,
            },
        },
        "Appended": {
            "type": "object",
            "required": ["id", "index"],
            "properties": {"id": _HEX32, "index": {"type": "integer"}},
        },
        "Joined": {
            "type": "object",
            "required": ["id", "index", "status", "via", "member", "admitted", "message"],
            "properties": {
                "id": {
                    **_HEX32,
                    "description": "admitted: the member.admit record; pending: the "
                    "application; sponsored: the admit proposal",
                },
                "index": {
                    "type": ["integer", "null"],
                    "description": "Its place in the log; null while the application waits",
                },
                "status": {"type": "string", "enum": ["admitted", "pending", "sponsored"]},
                "via": {"type": "string", "enum": ["invite", "vote"]},
                "member": _DID,
                "handle": {"type": "string"},
                "admitted": {"type": "boolean", "description": "Whether the key is a member now"},
                "expires": {
                    "type": "integer",
                    "description": "pending only: when the node drops the application (Unix ms)",
                },
                "message": {"type": "string", "description": "What happens next, for people"},
            },
        },
        "Applications": {
            "type": "object",
            "required": ["count", "max", "applications"],
            "properties": {
                "count": {"type": "integer"},
                "max": {"type": "integer", "description": "How many this node holds at most"},
                "applications": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "member", "handle", "received", "expires"],
                        "properties": {
                            "id": {**_HEX32, "description": "The member.apply record's id"},
                            "member": _DID,
                            "handle": {"type": "string"},
                            "long_handle": {"type": "string"},
                            "text": {"type": ["string", "null"]},
                            "received": {"type": "string", "format": "date"},
                            "expires": {"type": "string", "format": "date"},
                        },
                    },
                },
            },
        },
        "Record": {
            "type": "object",
            "required": ["id", "type", "coop", "author", "ts", "body", "sig"],
            "properties": {
                "id": _HEX32,
                "index": {"type": "integer"},
                "v": {"type": "integer"},
                "type": {"type": "string"},
                "coop": _DID,
                "author": _DID,
                "ts": {"type": "integer", "description": "Unix ms"},
                "body": obj,
                "sig": {"type": "string"},
            },
        },
        "InclusionProof": {
            "type": "object",
            "properties": {
                "index": {"type": "integer"},
                "size": {"type": "integer"},
                "proof": {"type": "array", "items": _HEX32},
            },
        },
        "ConsistencyProof": {
            "type": "object",
            "properties": {
                "old": {"type": "integer"},
                "new": {"type": "integer"},
                "proof": {"type": "array", "items": _HEX32},
            },
        },
        "Profile": {
            "type": "object",
            "properties": {
                "requester": {"type": "string"},
                "aliases": {"type": "array"},
                "all": obj,
                "last_90_days": obj,
                "blocklist": obj,
            },
        },
        "Blocklist": {
            "type": "object",
            "properties": {
                "coop": _DID,
                "size": {"type": "integer"},
                "entries": {"type": "array", "items": obj},
            },
        },
        "Explanation": {
            "type": "object",
            "properties": {
                "requester": {"type": "string"},
                "status": {
                    "type": ["string", "null"],
                    "enum": ["blocked", "draft", "allowed", None],
                },
                "steps": {"type": "array", "items": {"type": "string"}},
                "records": {"type": "array", "items": _HEX32},
            },
        },
        "Proposal": {
            "type": "object",
            "properties": {
                "id": _HEX32,
                "index": {"type": "integer"},
                "author": _DID,
                "ts": {"type": "integer"},
                "kind": {"type": "string"},
                "body": obj,
                "status": {"type": "string", "enum": ["open", "closed", "decided"]},
                "tally": {"type": ["object", "null"]},
                "decision": {"type": ["string", "null"]},
            },
        },
        "Members": {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "roles": obj,
                "members": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "did": _DID,
                            "handle": {"type": "string"},
                            "long_handle": {"type": "string"},
                            "roles": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        },
    }


# --------------------------------------------------------------------------- federation

_DID_PARAM: Final = _path_param("did", "A followed co-op's did:key", _DID)
_BINARY: Final = {"schema": {"type": "string", "format": "binary"}}
_TEXT: Final = {"schema": {"type": "string"}}
_ADMIN: Final[list[dict[str, list[str]]]] = [{"adminToken": []}]
_MIRROR_NOTE: Final = (
    "Read-only mirror of a co-op this node follows, as verified and stored here: the same "
    "layout as the co-op's own node (C2SP tlog-tiles), so a node can sync co-op X from "
    "`<mirror>/mirror/<X's did>` and check it against X's own signature. Only what is "
    "stored is served: the checkpoint is the latest whose entries are all here."
)


def _get(op_id: str, tag: str, summary: str, responses: dict[str, Any], **extra: Any) -> Any:
    return {
        "get": {
            "operationId": op_id,
            "tags": [tag],
            "summary": summary,
            **extra,
            "responses": responses,
        }
    }


def _operator_paths() -> dict[str, Any]:
    def op(op_id: str, summary: str, props: dict[str, Any], required: list[str]) -> Any:
        return {
            "post": {
                "operationId": op_id,
                "tags": ["operator"],
                "summary": summary,
                "security": _ADMIN,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": props, "required": required}
                        }
                    },
                },
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "index": {"type": "integer"},
                                "type": {"type": "string"},
                            },
                        },
                        "Signed with the co-op's key and appended",
                    ),
                    **_errors(400, 401, 409, 413, 415, 429),
                },
            }
        }

    text = {"type": "string"}
    return {
        "/api/v1/operator/requester-alias": op(
            "requesterAlias",
            "Record that a requester was renamed (operator only)",
            {"requester": text, "alias_of": text},
            ["requester", "alias_of"],
        ),
        "/api/v1/operator/requester-key": op(
            "requesterKey",
            "Bind a key the requester proved is theirs, so it may reply (operator only)",
            {"requester": text, "key": text, "evidence": text},
            ["requester", "key", "evidence"],
        ),
    }


def _federation_paths() -> dict[str, Any]:
    """The federation routes (node/fedroutes.py; prose in spec/federation.md)."""
    peer = {"type": "object", "description": "A followed co-op and how syncing it goes"}
    return {
        "/mirror/{did}/checkpoint": _get(
            "mirrorCheckpoint",
            "mirror",
            "A followed co-op's latest checkpoint held here, with its cosignatures",
            {
                "200": {"description": "The signed note", "content": {"text/plain": _TEXT}},
                **_errors(400, 404),
            },
            description=_MIRROR_NOTE,
            parameters=[_DID_PARAM],
        ),
        "/mirror/{did}/tile/{path}": _get(
            "mirrorTile",
            "mirror",
            "A hash tile or entry bundle of a followed co-op's log",
            {
                "200": {
                    "description": "Tile bytes",
                    "content": {"application/octet-stream": _BINARY},
                },
                **_errors(400, 404),
            },
            description=_MIRROR_NOTE + " " + _TILE_NOTE,
            parameters=[_DID_PARAM, _path_param("path", "The tile path after `tile/`")],
        ),
        "/mirror/{did}/api/v1/proof/inclusion": _get(
            "mirrorInclusionProof",
            "mirror",
            "Inclusion proof in a followed co-op's log",
            {"200": _json(_ref("InclusionProof"), "The proof"), **_errors(400, 404)},
            parameters=[
                _DID_PARAM,
                _query(
                    "index", "0-based entry index", {"type": "integer", "minimum": 0}, required=True
                ),
                _query("size", "Tree size", {"type": "integer", "minimum": 1}, required=True),
            ],
        ),
        "/mirror/{did}/api/v1/proof/consistency": _get(
            "mirrorConsistencyProof",
            "mirror",
            "Consistency proof in a followed co-op's log",
            {"200": _json(_ref("ConsistencyProof"), "The proof"), **_errors(400, 404)},
            parameters=[
                _DID_PARAM,
                _query("old", "Older size", {"type": "integer", "minimum": 0}, required=True),
                _query("new", "Newer size", {"type": "integer", "minimum": 0}, required=True),
            ],
        ),
        "/witness/add-checkpoint": {
            "post": {
                "operationId": "addCheckpoint",
                "tags": ["witness"],
                "summary": "C2SP tlog-witness: cosign a followed co-op's checkpoint",
                "description": "Body: `old <size>`, the consistency proof from that size as "
                "base64 lines, a blank line, the signed checkpoint note. Answers are text/plain "
                "as the C2SP spec says: 200 the cosignature line (type 0x04, key name = this "
                "co-op's log origin); 400 malformed; 403 not signed by the log's key; 404 a log "
                "this node does not follow; 409 the old size is not the last one cosigned "
                "(body: that size, `text/x.tlog.size`), or the checkpoint contradicts what this "
                "node holds (an equivocation, stored and served at /api/v1/equivocations); 422 "
                "the proof does not verify.",
                "requestBody": {"required": True, "content": {"text/plain": _TEXT}},
                "responses": {
                    str(s): {"description": d, "content": {"text/plain": _TEXT}}
                    for s, d in (
                        (200, "The cosignature line"),
                        (400, "Malformed request"),
                        (403, "No valid signature by the log's key"),
                        (404, "Not a followed log"),
                        (409, "Old size mismatch (text/x.tlog.size) or equivocation"),
                        (422, "The consistency proof does not verify"),
                    )
                },
            }
        },
        "/api/v1/peers": {
            "get": {
                "operationId": "listPeers",
                "tags": ["federation"],
                "summary": "The co-ops this node follows, and how syncing them goes",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"peers": {"type": "array", "items": peer}},
                        },
                        "The peers",
                    )
                },
            },
            "post": {
                "operationId": "pinPeer",
                "tags": ["federation"],
                "summary": "Pin (follow) a co-op by its DID (operator only)",
                "security": _ADMIN,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["did", "url"],
                                "properties": {
                                    "did": _DID,
                                    "url": {"type": "string"},
                                    "mirrors": {"type": "array", "items": {"type": "string"}},
                                    "name": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {"201": _json(peer, "Pinned"), **_errors(400, 401, 413, 415, 429)},
            },
        },
        "/api/v1/peers/{did}": {
            "get": {
                "operationId": "getPeer",
                "tags": ["federation"],
                "summary": "One followed co-op, with the latest refusals of its data",
                "parameters": [_DID_PARAM],
                "responses": {"200": _json(peer, "The peer"), **_errors(400, 404)},
            },
            "delete": {
                "operationId": "removePeer",
                "tags": ["federation"],
                "summary": "Stop following a co-op; its copy is dropped, proofs are kept",
                "security": _ADMIN,
                "parameters": [_DID_PARAM],
                "responses": {
                    "200": _json({"type": "object"}, "Removed"),
                    **_errors(400, 401, 404, 429),
                },
            },
        },
        "/api/v1/policy": {
            "post": {
                "operationId": "setPolicy",
                "tags": ["federation"],
                "summary": "Sign a federation.policy record with the co-op's key (operator only)",
                "security": _ADMIN,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "follow": {"type": "array", "items": {}},
                                    "adopt": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "from": {"type": "array", "items": _DID},
                                                "k": {"type": "integer", "minimum": 1},
                                            },
                                        },
                                    },
                                    "allow": {"type": "array", "items": {"type": "string"}},
                                    "drafts": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json({"type": "object"}, "Appended"),
                    "200": _json({"type": "object"}, "The same policy is in force"),
                    **_errors(400, 401, 409, 413, 415, 429),
                },
            }
        },
        "/api/v1/equivocations": _get(
            "listEquivocations",
            "federation",
            "Equivocation proofs this node holds, with the proof bytes in hex",
            {"200": _json({"type": "object"}, "The proofs")},
        ),
        "/api/v1/equivocations/{did}": _get(
            "getEquivocation",
            "federation",
            "The first equivocation proof against a co-op, as canonical MessagePack",
            {
                "200": {
                    "description": "EquivocationProof.to_bytes()",
                    "content": {MSGPACK: _BINARY},
                },
                **_errors(400, 404),
            },
            description="Anyone can recheck it with EquivocationProof.from_bytes(...)"
            ".verify(log key of the co-op): two checkpoints signed by one key that no single "
            "append-only history can explain.",
            parameters=[_DID_PARAM],
        ),
        "/api/v1/bundles/decision/{id}": _get(
            "decisionBundle",
            "bundles",
            "A verification bundle of a decision (check it offline with coopfed verify)",
            {
                "200": {"description": "The bundle", "content": {MSGPACK: _BINARY}},
                **_errors(400, 404),
            },
            parameters=[
                _path_param("id", "The decision record's id", _HEX32),
                _query("coop", "A followed co-op whose decision it is (default: this one)", _DID),
            ],
        ),
        "/api/v1/bundles/block/{platform}/{rid}": _get(
            "blockBundle",
            "bundles",
            "A verification bundle of the active block that puts a requester on the list",
            {
                "200": {"description": "The bundle", "content": {MSGPACK: _BINARY}},
                **_errors(400, 404),
            },
            parameters=[
                *_REQUESTER_PARAMS,
                _query("coop", "Whose block (default: own, else the first adopted)", _DID),
            ],
        ),
    }
