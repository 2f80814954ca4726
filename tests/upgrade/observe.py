"""What a co-op node serves that must survive an upgrade, read over HTTP only.

Both the fixture generator (``make_fixture.py``, run against the release that made the
fixture) and the upgrade test (run against today's code) call :func:`observe`, so it must
not import anything of ``coopfed.node``: node internals change between releases, the HTTP
API a node serves must not. Tiles are kept as SHA-256 digests; everything else as served.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Final

import aiohttp

TILE_WIDTH: Final = 256
#: The requester whose profile the fixture pins (rated in both co-ops' logs).
PROFILED: Final = ("mturk", "A1EXAMPLE")


def tile_paths(size: int) -> list[str]:
    """Every hash tile and entry bundle of a log of ``size`` entries (C2SP tlog-tiles)."""
    paths: list[str] = []
    level, width = 0, size
    while width > 0:
        paths += _level(f"tile/{level}", width)
        if width < TILE_WIDTH:  # a partial tile is the top of this log's tiles
            break
        level, width = level + 1, width // TILE_WIDTH
    return paths + _level("tile/entries", size)


def _level(prefix: str, width: int) -> list[str]:
    full, rest = divmod(width, TILE_WIDTH)
    assert full + (rest > 0) <= 1000, "the fixture's logs stay small (three-digit tile indexes)"
    paths = [f"{prefix}/{i:03d}" for i in range(full)]
    if rest:
        paths.append(f"{prefix}/{full:03d}.p/{rest}")
    return paths


def checkpoint_head(note: str) -> tuple[int, str]:
    """The size and root hash (hex) a checkpoint note's body states."""
    lines = note.split("\n")
    return int(lines[1]), base64.b64decode(lines[2]).hex()


async def _get(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.get(url) as resp:
        body = await resp.read()
        assert resp.status == 200, f"GET {url}: {resp.status} {body[:200]!r}"
        return body


async def _log(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    note = (await _get(http, f"{base}/checkpoint")).decode()
    size, root = checkpoint_head(note)
    tiles = {
        path: hashlib.sha256(await _get(http, f"{base}/{path}")).hexdigest()
        for path in tile_paths(size)
    }
    return {"size": size, "root": root, "checkpoint": note, "tiles": tiles}


async def _witnessed(http: aiohttp.ClientSession, url: str, note: str) -> dict[str, Any]:
    """What the node's witness says to ``note`` sent as new (C2SP tlog-witness): a witness
    that cosigned this log before answers 409 with the size it cosigned, and changes nothing.
    """
    body = b"old 0\n\n" + note.encode()
    async with http.post(f"{url}/witness/add-checkpoint", data=body) as resp:
        return {"status": resp.status, "answer": (await resp.read()).decode()}


async def observe(http: aiohttp.ClientSession, url: str, peer: str) -> dict[str, Any]:
    """The co-op's own log, its mirror of co-op ``peer`` and what it holds about it, its
    members, blocklist and a requester's profile."""

    async def get_json(path: str) -> Any:
        return json.loads(await _get(http, url + path))

    platform, rid = PROFILED
    members = await get_json("/api/v1/members")
    mirror = await _log(http, f"{url}/mirror/{peer}")
    # A refusal's source is the address of the server that sent the bad data (in the
    # fixture a proxy on a port of the moment); the rest of it is what the node decided.
    refusals = [
        {k: v for k, v in r.items() if k != "source"}
        for r in (await get_json(f"/api/v1/peers/{peer}"))["refusals"]
    ]
    return {
        "coop": (await get_json("/.well-known/coopfed"))["coop"],
        "log": await _log(http, url),
        "peer": {
            "coop": peer,
            "log": mirror,
            "refusals": refusals,
            "witness": await _witnessed(http, url, mirror["checkpoint"]),
        },
        "equivocations": await get_json("/api/v1/equivocations"),
        "member_count": len(members["members"]),
        "members": members,
        "blocklist": await get_json("/api/v1/blocklist?format=json"),
        "profile": await get_json(f"/api/v1/requesters/{platform}/{rid}"),
    }
