"""Test helpers: fixed keys, a charter, and a co-op node founded on a test backend."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp.test_utils import TestServer
from aiohttp.web_runner import BaseRunner

from coopfed.node.server import NodeRunner
from coopfed.node.service import Node
from coopfed.protocol.bodies import DAY_MS, BlockRule, Body, Charter, Rating, RequesterRef
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import leaf_hash, root_from_leaf_hashes
from coopfed.protocol.records import Record, sign_record

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000
DAY = DAY_MS
REQ = RequesterRef(platform="mturk", id="A1EXAMPLE")
FOUNDERS = ("ana", "bo", "cy")

CHARTER = Charter(
    name="Night Shift Co-op",
    quorum_pct=50,
    pass_pct=50,
    amend_pct=66,
    min_window_ms=HOUR,
    max_window_ms=14 * DAY,
    idea_up=2,
    block_rule=BlockRule(flags=3, days=7, review_days=30),
    min_pay_cents=1200,
    admission="invite",
    roles=("coordinator",),
)


def key(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(b"coopfed-test-" + name.encode()).digest())


def did(name: str) -> str:
    return key(name).did


def sign(node: Node, who: str | SigningIdentity, body: Body, *, ts: int = T0) -> Record:
    signer = key(who) if isinstance(who, str) else who
    return sign_record(signer, coop=node.did, ts=ts, body=body)


def rating(
    node: Node, who: str, *, ts: int = T0, requester: RequesterRef = REQ, **fields: Any
) -> Record:
    fields.setdefault("text", "fine")
    return sign(node, who, Rating(requester=requester, **fields), ts=ts)


async def found(
    backend: Any,
    *,
    charter: Charter = CHARTER,
    founders: tuple[str, ...] = FOUNDERS,
    **settings: Any,
) -> Node:
    """A new co-op on ``backend``, closed when the test ends."""
    config = backend.config(**settings)
    node = await Node.create(
        config, name=charter.name, charter=charter, founders=[did(f) for f in founders], now_ms=T0
    )
    return backend.track(node)


async def reopen(backend: Any, node: Node) -> Node:
    await node.close()
    backend.nodes.remove(node)
    return backend.track(await Node.open(node.config))


async def log_root(node: Node) -> tuple[int, bytes]:
    """The size and root hash recomputed from the stored records alone."""
    size = await node.size()
    raws: list[bytes] = []
    while len(raws) < size:
        raws += await node.entries(len(raws), size)
    return size, root_from_leaf_hashes([leaf_hash(r) for r in raws])


class NodeTestServer(TestServer):
    """aiohttp's test server running a node's app as ``coopfed serve`` does (NodeRunner)."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return NodeRunner(self.app, **kwargs)
