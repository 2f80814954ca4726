"""The OpenAPI 3.1 description of the node's HTTP API, served at ``/openapi.json``.

Every route :mod:`coopfed.node.app` registers has an operation here (a test holds the two
lists equal), each with the error answers it may give.
"""

from __future__ import annotations

from typing import Any, Final

from .api_errors import STATUS_BY_CODE

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
                "same id and index come back with status 200.",
                "requestBody": {
                    "required": True,
                    "content": {MSGPACK: {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "201": _json(_ref("Appended"), "Appended"),
                    "200": _json(_ref("Appended"), "Already in the log (a replay)"),
                    **_errors(400, 403, 409, 413, 415),
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
                "summary": "Join with a signed member.apply record: by invite token, or by vote",
                "description": "With a valid token the co-op admits the key at once. Without "
                "one, under a charter that admits by vote, the application is "
                "appended with an admit proposal, and the answer names the proposal.",
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
                    "201": _json(_ref("Joined"), "Admitted, or put to a vote"),
                    "200": _json(_ref("Joined"), "A replay of an earlier join"),
                    **_errors(400, 403, 409, 413, 415),
                },
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
                    **_errors(400, 401, 413, 415),
                },
            }
        },
    }
    for item in paths.values():
        for op in item.values():
            op["responses"].setdefault("500", {"$ref": "#/components/responses/E500"})
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
                    (400, "Malformed or invalid input"),
                    (401, "Missing or wrong admin token"),
                    (403, "No standing"),
                    (404, "Not found"),
                    (406, "Not acceptable"),
                    (409, "Conflicts with the co-op's state"),
                    (413, "Too large"),
                    (415, "Unsupported media type"),
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
                            "enum": sorted({*STATUS_BY_CODE, "internal"}),
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
            "properties": {
                "id": _HEX32,
                "index": {"type": "integer"},
                "via": {"type": "string", "enum": ["invite", "vote"]},
                "member": _DID,
                "handle": {"type": "string"},
                "admitted": {"type": "boolean"},
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
