"""Shared builders for protocol tests: co-ops writing real signed logs in memory."""

from __future__ import annotations

import hashlib

from coopfed.protocol.bodies import DAY_MS, BlockRule, Body, Charter, MemberAdmit
from coopfed.protocol.checkpoint import Checkpoint, log_origin, sign_checkpoint
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import MemoryTree
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000


def key(name: str) -> SigningIdentity:
    """A fixed test key per name."""
    return SigningIdentity(hashlib.sha256(b"coopfed-test-" + name.encode()).digest())


CHARTER = Charter(
    name="Night Shift Co-op",
    quorum_pct=50,
    pass_pct=50,
    amend_pct=66,
    min_window_ms=HOUR,
    max_window_ms=14 * DAY_MS,
    idea_up=2,
    block_rule=BlockRule(flags=3, days=7, review_days=30),
    min_pay_cents=1200,
    admission="invite",
    roles=("coordinator",),
)


class MemoryLog:
    """A co-op whose log lives in memory: state, Merkle tree, raw entries, checkpoints."""

    def __init__(self, name: str = "coop", founders: tuple[str, ...] = ("ana", "bo", "cy")) -> None:
        self.key = key(name)
        self.did = self.key.did
        self.origin = log_origin(self.did)
        self.state = CoopState(self.did)
        self.tree = MemoryTree()
        self.raws: list[bytes] = []
        self.now = T0
        self.append(self.key, CHARTER)
        for f in founders:
            self.append(self.key, MemberAdmit(member=key(f).did, via="founder"))

    def append(self, signer: SigningIdentity | str, body: Body) -> Record:
        who = key(signer) if isinstance(signer, str) else signer
        self.now += 1
        record = sign_record(who, coop=self.did, ts=self.now, body=body)
        self.state.apply(record)
        self.tree.append(record.raw)
        self.raws.append(record.raw)
        return record

    def checkpoint(self, size: int | None = None) -> bytes:
        size = self.tree.size if size is None else size
        cp = Checkpoint(origin=self.origin, size=size, root_hash=self.tree.root(size))
        return sign_checkpoint(cp, self.key.seed)
