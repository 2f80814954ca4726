"""Tallying a big vote: 100,000 signed ballots on one proposal, counted by ``governance.tally``.

A co-op of ``members`` members; each votes once and a fifth of them change their mind
(a later ballot supersedes the earlier one), so ``ballots`` records are counted in all. The
figure is the time of one ``tally`` call — the pure function anyone can rerun to check a
decision — with its roster and ballot Merkle roots, best of three.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from coopfed.protocol.bodies import DAY_MS, Ballot
from coopfed.protocol.governance import tally
from coopfed.protocol.records import Record

from . import common
from .common import CHARTER


@dataclass
class TallyResult:
    ms: float
    ballots: int
    members: int
    result: str
    counts: dict[str, int]


def run(*, ballots: int = 100_000, repeat: int = 3) -> TallyResult:
    members = max(1, ballots * 4 // 5)
    coop = common.key("tally-coop")
    signers = [common.key(f"tally-{i}") for i in range(members)]
    ts = common.now_ms() - 20 * DAY_MS
    body = common.proposal_bodies(1, ts=ts)[0]
    proposal = Record.from_bytes(common.sign_raw(signers[0], coop=coop.did, ts=ts, body=body))
    records = []
    for i in range(ballots):
        who = signers[i % members]
        choice = ("yes", "no", "yes", "abstain")[(i * 7919) % 4]
        raw = common.sign_raw(
            who,
            coop=coop.did,
            ts=ts + 1 + i,
            body=Ballot(proposal=proposal.id, choice=choice),
        )
        records.append(Record.from_bytes(raw, verify=False))
    common.check_sample([r.raw for r in records])
    roster = frozenset(s.did for s in signers)
    charter_id = b"\x00" * 32
    best = float("inf")
    out = None
    for _ in range(repeat):
        start = time.perf_counter()
        out = tally(
            charter=CHARTER,
            charter_id=charter_id,
            roster=roster,
            proposal=proposal,
            ballots=records,
            now_ms=body.closes,
        )
        best = min(best, time.perf_counter() - start)
    assert out is not None
    return TallyResult(
        ms=best * 1000,
        ballots=ballots,
        members=members,
        result=out.result,
        counts=dict(out.counts),
    )
