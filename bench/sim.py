"""A federation of co-ops simulated in one process: real signed logs, the real SyncSession.

Each co-op writes a real log (Ed25519-signed records, RFC 6962 tree, signed checkpoints)
that grows over several rounds, heavy-tailed: a few big co-ops write most. Co-ops follow
each other along a preferential-attachment graph (new co-ops follow popular ones; some
follows are returned), so a few hubs are followed by many. Every round each node is down
with some probability; an up node syncs each co-op it follows with
:class:`~coopfed.protocol.sync.SyncSession` from the co-op's own node if it is up, else
from any mirror (a node serves the logs it follows, with the checkpoint it verified), and
connections break now and then mid-sync (after entries arrived, before the page proof),
so a node must resume. Every record is verified and applied by every follower.

The figure: entries each node received per record it needed, over all follows, once every
follower holds the co-op's latest checkpoint — 1.0 means nothing was fetched twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from coopfed.protocol.bodies import MemberAdmit
from coopfed.protocol.checkpoint import Checkpoint, SignedCheckpoint, log_origin, sign_checkpoint
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.merkle import Frontier, MemoryTree
from coopfed.protocol.state import CoopState
from coopfed.protocol.sync import (
    AcceptCheckpoint,
    Action,
    Equivocated,
    FetchCheckpoint,
    FetchConsistency,
    FetchEntries,
    FetchPageProof,
    LogInvalid,
    Refused,
    Stale,
    StorePage,
    SyncSession,
    UpToDate,
)

from . import common
from .common import CHARTER, MemberMix, Mix, key


@dataclass
class Origin:
    """A co-op's own log, as its node holds it."""

    index: int
    key: SigningIdentity
    members: list[SigningIdentity]
    gen: MemberMix
    tree: MemoryTree = field(default_factory=MemoryTree)
    raws: list[bytes] = field(default_factory=list)
    note: bytes = b""

    @property
    def did(self) -> str:
        return self.key.did

    def append_raw(self, raw: bytes) -> None:
        self.raws.append(raw)
        self.tree.append(raw)

    def sign(self) -> None:
        cp = Checkpoint(
            origin=log_origin(self.did), size=self.tree.size, root_hash=self.tree.root()
        )
        self.note = sign_checkpoint(cp, self.key.signing_key)


@dataclass
class Mirror:
    """What one node holds of a co-op it follows; it serves this on to others."""

    coop: str
    state: CoopState
    frontier: Frontier = field(default_factory=Frontier.empty)
    verified: SignedCheckpoint | None = None
    tree: MemoryTree = field(default_factory=MemoryTree)
    raws: list[bytes] = field(default_factory=list)
    note: bytes | None = None  # the checkpoint it serves: verified and fully stored
    fetched: int = 0
    requests: int = 0


class Cut(Exception):
    """The connection broke."""


@dataclass
class SimResult:
    coops: int
    follows: int
    records: int
    needed: int
    fetched: int
    fetches_per_record: float
    rounds: int
    requests: int
    uptodate_requests_per_follow: float
    refused: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def follow_graph(n: int, rng: random.Random) -> list[list[int]]:
    """Who follows whom: preferential attachment (2–8 follows each), 30 % returned."""
    follows: list[set[int]] = [set() for _ in range(n)]
    followers = [0] * n
    for i in range(1, n):
        want = min(i, rng.randint(2, 8))
        while len(follows[i]) < want:
            weights = [followers[j] + 1 for j in range(i)]
            j = rng.choices(range(i), weights)[0]
            if j not in follows[i]:
                follows[i].add(j)
                followers[j] += 1
    for i in range(n):
        for j in list(follows[i]):
            if rng.random() < 0.3:
                follows[j].add(i)
    return [sorted(f) for f in follows]


def run(
    *,
    coops: int = 100,
    rounds: int = 5,
    records: int = 30_000,
    members: int = 20,
    down: float = 0.1,
    cut: float = 0.03,
    page_size: int = 64,
    seed: int = 7,
) -> SimResult:
    import time

    start = time.perf_counter()
    rng = random.Random(seed)
    ts = common.now_ms() - 30 * 86_400_000
    origins: list[Origin] = []
    for i in range(coops):
        k = key(f"sim-coop-{i}")
        ms = [key(f"sim-{i}-member-{m}") for m in range(members)]
        gen = MemberMix(
            coop=k.did, signers=ms, mix=Mix(ballots=0, requesters=500), seed=seed * 1000 + i
        )
        o = Origin(i, k, ms, gen)
        o.append_raw(common.sign_raw(k, coop=k.did, ts=ts, body=CHARTER))
        for m in ms:
            o.append_raw(
                common.sign_raw(k, coop=k.did, ts=ts, body=MemberAdmit(member=m.did, via="founder"))
            )
        o.sign()
        origins.append(o)
    graph = follow_graph(coops, rng)
    mirrors: list[dict[int, Mirror]] = [
        {j: Mirror(coop=origins[j].did, state=CoopState(origins[j].did)) for j in graph[i]}
        for i in range(coops)
    ]
    # Heavy-tailed activity: co-op i writes in proportion to 1/(rank+1).
    activity = [1.0 / (r + 1) for r in range(coops)]
    rng.shuffle(activity)
    total_activity = sum(activity)
    refused = 0
    requests = 0

    def sources(i: int, j: int, up: list[bool]) -> list[tuple[bytes, MemoryTree, list[bytes]]]:
        """Where node ``i`` can get co-op ``j``'s log now: its own node, then mirrors."""
        out = []
        if up[j]:
            o = origins[j]
            out.append((o.note, o.tree, o.raws))
        held = [
            (len(mirrors[k][j].raws), k)
            for k in range(coops)
            if k != i and up[k] and j in mirrors[k] and mirrors[k][j].note is not None
        ]
        for _, k in sorted(held, reverse=True):
            m = mirrors[k][j]
            assert m.note is not None
            out.append((m.note, m.tree, m.raws))
        return out

    def sync(m: Mirror, note: bytes, tree: MemoryTree, raws: list[bytes]) -> bool:
        """One session against one source; False to try another source."""
        nonlocal refused, requests
        s = SyncSession(
            coop=m.coop,
            state=m.state,
            frontier=m.frontier,
            verified=m.verified,
            page_size=page_size,
        )
        todo: list[Action] = s.start()
        while todo:
            a = todo.pop(0)
            if isinstance(a, FetchCheckpoint):
                requests += 1
                m.requests += 1
                todo += s.receive_checkpoint(note)
            elif isinstance(a, FetchConsistency):
                requests += 1
                m.requests += 1
                todo += s.receive_consistency(tree.consistency_proof(a.old, a.new))
            elif isinstance(a, FetchPageProof):
                requests += 1
                m.requests += 1
                if rng.random() < cut:
                    raise Cut  # the entries came, the page proof did not
                todo += s.receive_page_proof(tree.consistency_proof(a.old, a.new))
            elif isinstance(a, FetchEntries):
                requests += 1
                m.requests += 1
                if rng.random() < cut:
                    raise Cut  # nothing came
                page = raws[a.start : a.end]
                m.fetched += len(page)
                todo += s.receive_entries(page)
            elif isinstance(a, AcceptCheckpoint):
                m.verified = a.checkpoint
            elif isinstance(a, StorePage):
                assert a.start == len(m.raws)
                for r in a.records:
                    m.raws.append(r.raw)
                    m.tree.append(r.raw)
                m.frontier = a.frontier
            elif isinstance(a, UpToDate):
                m.note = a.checkpoint.note
                return True
            elif isinstance(a, Stale):
                return False
            elif isinstance(a, Refused | Equivocated | LogInvalid):
                refused += 1
                return False
        return False

    def catch_up(i: int, j: int, up: list[bool]) -> None:
        m = mirrors[i][j]
        for note, tree, raws in sources(i, j, up):
            try:
                if sync(m, note, tree, raws):
                    return
            except Cut:
                # A new session resumes from what was stored (the state applied only
                # stored pages: SyncSession applies a page after it verified).
                return

    def converged() -> bool:
        return all(
            len(mirrors[i][j].raws) == origins[j].tree.size and mirrors[i][j].note is not None
            for i in range(coops)
            for j in mirrors[i]
        )

    ts += 86_400_000
    done_rounds = 0
    for r in range(rounds + 50):
        if r < rounds:
            for o in origins:
                n = max(1, round(records / rounds * activity[o.index] / total_activity))
                for raw in o.gen.records(n, ts=ts + r * 3_600_000):
                    o.append_raw(raw)
                o.sign()
        # The last rounds have everyone up, so the run ends.
        up = [r >= rounds + 10 or rng.random() >= down for _ in range(coops)]
        for i in rng.sample(range(coops), coops):
            if not up[i]:
                continue
            for j in graph[i]:
                catch_up(i, j, up)
        done_rounds = r + 1
        if r >= rounds - 1 and converged():
            break
    assert converged(), "the federation did not converge"
    for i in range(coops):
        for j, m in mirrors[i].items():
            assert m.frontier.root() == origins[j].tree.root()
    needed = sum(len(m.raws) for i in range(coops) for m in mirrors[i].values())
    fetched = sum(m.fetched for i in range(coops) for m in mirrors[i].values())
    follows = sum(len(g) for g in graph)
    # One more round with nothing new: requests per follow when everything is up to date.
    before = requests
    up = [True] * coops
    for i in range(coops):
        for j in graph[i]:
            catch_up(i, j, up)
    return SimResult(
        coops=coops,
        follows=follows,
        records=sum(o.tree.size for o in origins),
        needed=needed,
        fetched=fetched,
        fetches_per_record=fetched / needed,
        rounds=done_rounds,
        requests=before,
        uptodate_requests_per_follow=(requests - before) / follows,
        refused=refused,
        seconds=time.perf_counter() - start,
    )
