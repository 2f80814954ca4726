"""The sync state machine between two co-ops wired together in memory (h11's ConnectionPair)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from coopfed.protocol.bodies import Rating, RequesterRef, Retraction
from coopfed.protocol.checkpoint import SignedCheckpoint
from coopfed.protocol.errors import LocalProtocolError
from coopfed.protocol.merkle import Frontier, MemoryTree
from coopfed.protocol.records import Record, record_id, sign_record
from coopfed.protocol.state import CoopState, Entry
from coopfed.protocol.sync import (
    MAX_FUTURE_MS,
    AcceptCheckpoint,
    Action,
    Equivocated,
    FetchCheckpoint,
    FetchConsistency,
    FetchEntries,
    FetchPageProof,
    LogInvalid,
    LookUp,
    Refused,
    Stale,
    StorePage,
    SyncSession,
    UpToDate,
)
from coopfed.protocol.witness import log_verifier

from .conftest import MemoryLog, key

REQ = RequesterRef(platform="prolific", id="5f3c9a")


class Follower:
    """What a following node stores about one peer log, as a real node would."""

    def __init__(self, coop: str, *, keep_all: bool = True) -> None:
        self.coop = coop
        self.keep_all = keep_all
        self.state = CoopState(coop, keep_all=keep_all)
        self.frontier = Frontier.empty()
        self.verified: SignedCheckpoint | None = None
        self.raws: list[bytes] = []
        self.requests = 0
        self.lookups = 0

    def stored(self, ids: frozenset[bytes], before: int) -> list[tuple[int, bytes]]:
        """The stored log's answer to a ``LookUp`` (a database query on a node)."""
        self.lookups += bool(ids)
        return [(i, raw) for i, raw in enumerate(self.raws[:before]) if record_id(raw) in ids]

    def session(self, page_size: int = 4) -> SyncSession:
        # A fresh state rebuilt from what was stored, as after a restart.
        state = CoopState(self.coop, keep_all=self.keep_all)
        for raw in self.raws:
            record = Record.from_bytes(raw)
            want = state.lookups([record])
            state.provide(
                [Entry(i, Record.from_bytes(r)) for i, r in self.stored(want, state.size)], want
            )
            state.apply(record)
            state.settle()
        self.state = state
        return SyncSession(
            coop=self.coop,
            state=state,
            frontier=self.frontier,
            verified=self.verified,
            page_size=page_size,
        )


def run(
    follower: Follower,
    source: MemoryLog,
    *,
    note: bytes | None = None,
    tamper: Callable[[int, bytes], bytes] = lambda i, raw: raw,
    stop_after_pages: int | None = None,
    page_size: int = 4,
) -> list[Action]:
    """Drive a session against ``source``; carry out its actions like a node would."""
    s = follower.session(page_size)
    todo: list[Action] = s.start()
    done: list[Action] = []
    pages = 0
    while todo:
        a = todo.pop(0)
        done.append(a)
        follower.requests += isinstance(
            a, FetchCheckpoint | FetchConsistency | FetchPageProof | FetchEntries
        )
        if isinstance(a, FetchCheckpoint):
            todo += s.receive_checkpoint(note if note is not None else source.checkpoint())
        elif isinstance(a, FetchConsistency):
            todo += s.receive_consistency(source.tree.consistency_proof(a.old, a.new))
        elif isinstance(a, FetchPageProof):
            todo += s.receive_page_proof(source.tree.consistency_proof(a.old, a.new))
        elif isinstance(a, FetchEntries):
            todo += s.receive_entries([tamper(i, source.raws[i]) for i in range(a.start, a.end)])
        elif isinstance(a, LookUp):
            assert not follower.keep_all
            todo += s.receive_lookup(follower.stored(a.ids, s.state.size))
        elif isinstance(a, AcceptCheckpoint):
            follower.verified = a.checkpoint
        elif isinstance(a, StorePage):
            assert a.start == len(follower.raws)
            follower.raws += [r.raw for r in a.records]
            follower.frontier = a.frontier
            pages += 1
            if stop_after_pages is not None and pages >= stop_after_pages:
                break
    return done


def grow(log: MemoryLog, n: int) -> None:
    for i in range(n):
        log.append(("ana", "bo", "cy")[i % 3], Rating(requester=REQ, text=f"report {i}"))


def test_full_catch_up_then_one_request_when_nothing_changed() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 10)
    f = Follower(peer.did)
    actions = run(f, peer)
    assert isinstance(actions[-1], UpToDate)
    assert f.raws == peer.raws
    assert f.frontier.root() == peer.tree.root()
    assert f.state.members() == peer.state.members()
    f.requests = 0
    actions = run(f, peer)
    assert [type(a) for a in actions] == [FetchCheckpoint, UpToDate]
    assert f.requests == 1


def test_incremental_sync_checks_consistency() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 5)
    f = Follower(peer.did)
    run(f, peer)
    grow(peer, 6)
    actions = run(f, peer)
    # One proof that the new checkpoint extends the one accepted, then a proof per page
    # that its entries are a prefix of the new tree: two actions, each with its answer.
    kinds = [type(a) for a in actions if isinstance(a, FetchConsistency | FetchPageProof)]
    assert kinds[0] is FetchConsistency and kinds.count(FetchConsistency) == 1
    assert FetchPageProof in kinds
    assert isinstance(actions[-1], UpToDate) and f.raws == peer.raws


def test_resume_after_interruption() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 20)
    f = Follower(peer.did)
    run(f, peer, stop_after_pages=2)
    assert 0 < len(f.raws) < len(peer.raws)
    stored = len(f.raws)
    actions = run(f, peer)
    first_fetch = next(a for a in actions if isinstance(a, FetchEntries))
    assert first_fetch.start == stored
    assert f.raws == peer.raws


def test_tampered_entry_is_refused_and_nothing_of_its_page_stored() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 10)
    f = Follower(peer.did)

    def flip(i: int, raw: bytes) -> bytes:
        return raw[:-1] + bytes([raw[-1] ^ 1]) if i == 9 else raw

    actions = run(f, peer, tamper=flip)
    refused = actions[-1]
    assert isinstance(refused, Refused) and (refused.start, refused.end) == (8, 12)
    # Pages before the tampered one verified and were kept; the bad page was not.
    assert len(f.raws) == 8 and f.raws == peer.raws[:8]


def test_forked_log_is_caught_with_a_proof() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 6)
    f = Follower(peer.did)
    run(f, peer)
    # The co-op signs a different history of the same size.
    fork = MemoryLog("coop-a")
    grow(fork, 5)
    fork.append("bo", Rating(requester=REQ, text="a different story"))
    actions = run(f, fork)
    ev = actions[-1]
    assert isinstance(ev, Equivocated)
    ev.proof.verify(log_verifier(peer.did))
    # A fork that also grew is caught through the consistency proof.
    grow(fork, 3)
    actions = run(f, fork)
    assert isinstance(actions[-1], Equivocated)
    ev2 = actions[-1]
    assert isinstance(ev2, Equivocated)
    ev2.proof.verify(log_verifier(peer.did))


def test_invalid_record_in_signed_log_stores_valid_prefix() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 2)
    # The operator slips a non-member's record into the signed tree, bypassing the rules.
    bad = sign_record(
        key("mallory"), coop=peer.did, ts=peer.now + 1, body=Rating(requester=REQ, text="fake")
    )
    peer.tree.append(bad.raw)
    peer.raws.append(bad.raw)
    f = Follower(peer.did)
    actions = run(f, peer, page_size=16)
    problem = actions[-1]
    assert isinstance(problem, LogInvalid) and problem.code == "not_member"
    assert problem.index == len(peer.raws) - 1
    assert f.raws == peer.raws[:-1]


def test_foreign_or_badly_signed_checkpoint_is_refused() -> None:
    peer = MemoryLog("coop-a")
    other = MemoryLog("coop-b")
    f = Follower(peer.did)
    actions = run(f, peer, note=other.checkpoint())
    assert isinstance(actions[-1], Refused)
    note = bytearray(peer.checkpoint())
    note[-5] ^= 1
    assert isinstance(run(f, peer, note=bytes(note))[-1], Refused)
    assert f.raws == []


def test_an_entry_dated_too_far_ahead_is_refused_alone_and_its_prefix_kept() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 3)
    clock = peer.now
    peer.now += MAX_FUTURE_MS + 1_000  # the next record is dated past the follower's clock
    grow(peer, 2)
    f = Follower(peer.did)
    s = f.session(page_size=16)
    s.now_ms = clock
    s.start()
    todo = s.receive_checkpoint(peer.checkpoint())
    assert isinstance(todo[-1], FetchEntries)
    actions = s.receive_entries(peer.raws)
    stored, refused = actions
    assert isinstance(stored, StorePage) and len(stored.records) == 7
    assert isinstance(refused, Refused) and refused.code == "future"
    assert (refused.start, refused.end) == (7, 8)


def test_stale_checkpoint_from_a_mirror() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 6)
    f = Follower(peer.did)
    run(f, peer)
    actions = run(f, peer, note=peer.checkpoint(size=3))
    assert actions[-1] == Stale(3)


def test_wrong_number_of_entries_is_refused() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 6)
    f = Follower(peer.did)
    s = f.session()
    s.start()
    (_accept, fetch) = s.receive_checkpoint(peer.checkpoint())
    assert isinstance(fetch, FetchEntries)
    (refused,) = s.receive_entries(peer.raws[fetch.start : fetch.end - 1])
    assert isinstance(refused, Refused) and refused.code == "bad_page"


def test_illegal_moves_raise() -> None:
    peer = MemoryLog("coop-a")
    s = Follower(peer.did).session()
    with pytest.raises(LocalProtocolError):
        s.receive_entries([])
    s.start()
    with pytest.raises(LocalProtocolError):
        s.start()


def test_state_and_frontier_must_agree() -> None:
    peer = MemoryLog("coop-a")
    tree = MemoryTree()
    tree.append(b"x")
    with pytest.raises(LocalProtocolError):
        SyncSession(coop=peer.did, state=CoopState(peer.did), frontier=tree.frontier, verified=None)


# --------------------------------------------------------------------------- governance only


def test_a_governance_only_follower_looks_up_what_pages_cite_and_catches_duplicates() -> None:
    peer = MemoryLog("coop-a")
    grow(peer, 9)
    first = Record.from_bytes(peer.raws[4])  # ana's first report
    slim, full = Follower(peer.did, keep_all=False), Follower(peer.did)
    run(slim, peer)
    run(full, peer)
    # A later page retracts a record of an earlier one: found in the stored log.
    peer.append("ana", Retraction(record=first.id))
    grow(peer, 5)
    for f in (slim, full):
        actions = run(f, peer, page_size=3)
        assert isinstance(actions[-1], UpToDate) and f.raws == peer.raws
        assert f.state.is_retracted(first.id)
    assert slim.lookups > 0 and full.lookups == 0
    assert any(isinstance(a, LookUp) for a in run(Follower(peer.did, keep_all=False), peer))
    with pytest.raises(LocalProtocolError):  # not held: the stored log has it
        slim.state.entry(first.id)
    assert full.state.entry(first.id) is not None
    # The operator slips a copy of an earlier record into the signed tree.
    peer.tree.append(peer.raws[2])
    peer.raws.append(peer.raws[2])
    for f in (slim, full):
        actions = run(f, peer, page_size=3)
        problem = actions[-1]
        assert isinstance(problem, LogInvalid) and problem.code == "duplicate"
        assert problem.index == len(peer.raws) - 1
        assert f.raws == peer.raws[:-1]
