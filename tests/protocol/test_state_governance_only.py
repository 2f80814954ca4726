"""A governance-only ``CoopState`` (``keep_all=False``) admits exactly what a full one does.

A follower holds each followed co-op's state in this form: its memory follows the co-op's
governance, and the records it no longer holds are looked up in the stored log
(``lookups`` → ``provide``) before a page is applied. Here the "stored log" is a dict of
the entries accepted so far; the full state is the reference.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from coopfed.protocol.bodies import (
    DAY_MS,
    Appeal,
    Block,
    Body,
    Charter,
    Flag,
    FlagReason,
    MemberAdmit,
    Rating,
    RequesterAlias,
    RequesterRef,
    Retraction,
)
from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.errors import LocalProtocolError, ProtocolError
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import BLOCK_BACKDATE_MS, CoopState, Entry

from .conftest import CHARTER, T0, key

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "spec" / "vectors" / "state.json").read_text("utf-8")
)
MINUTE = 60_000


class Follower:
    """A full state and a governance-only one fed the same records; a dict as the store.

    With ``snapshots`` (a random source), now and then between pages the governance-only
    state is snapshotted and restored as a twin, which is then fed the same records too:
    every verdict, every ``due`` and every later snapshot must be the same.
    """

    def __init__(
        self,
        coop: str,
        *,
        page: int = 1,
        snapshots: random.Random | None = None,
        snapshot_rate: float = 0.1,
    ) -> None:
        self.full = CoopState(coop)
        self.slim = CoopState(coop, keep_all=False)
        self.twin: CoopState | None = None
        self.stored: dict[bytes, Entry] = {}
        self.page = page
        self.unsettled = 0
        self.asked = 0
        self.snapshots = snapshots
        self.snapshot_rate = snapshot_rate
        self.restored = 0

    def slims(self) -> list[CoopState]:
        return [self.slim] if self.twin is None else [self.slim, self.twin]

    def offer(self, record: Record, now_ms: int | None = None) -> str:
        for slim in self.slims():
            want = slim.lookups([record])
            self.asked += len(want)
            slim.provide([self.stored[i] for i in want if i in self.stored], want)
        verdicts = []
        for state in (self.full, *self.slims()):
            try:
                entry = state.apply(record, now_ms=now_ms)
            except ProtocolError as exc:
                verdicts.append(f"{type(exc).__name__}:{exc.code}")
            else:
                verdicts.append("accept")
                if state is self.full:
                    self.stored[record.id] = entry
        assert len(set(verdicts)) == 1, (record.type, verdicts)
        assert all(s.size == self.full.size for s in self.slims())
        self.unsettled += 1
        if self.unsettled >= self.page:
            for slim in self.slims():
                slim.settle()
            self.unsettled = 0
            self._maybe_snapshot(record.ts)
        return verdicts[0]

    def _maybe_snapshot(self, now_ms: int) -> None:
        if self.twin is not None:
            assert self.twin.snapshot() == self.slim.snapshot()
        if self.snapshots is None or self.snapshots.random() >= self.snapshot_rate:
            return
        data = self.slim.snapshot()
        twin = CoopState.from_snapshot(self.slim.coop, data, max_skew_ms=self.slim.max_skew_ms)
        # All but the memo of live flags (rebuilt on demand, the same answers) is restored.
        assert {**vars(twin), "_live": None} == {**vars(self.slim), "_live": None}
        assert twin.snapshot() == data
        for later in (now_ms, now_ms + DAY_MS, now_ms + 40 * DAY_MS):
            assert self.slim.due(later) == twin.due(later)
        self.twin = twin
        self.restored += 1

    def due(self, now_ms: int) -> tuple[Body, ...]:
        full = self.full.due(now_ms)
        for slim in self.slims():
            assert [encode(b.to_value()) for b in full] == [
                encode(b.to_value()) for b in slim.due(now_ms)
            ]
        return full


@pytest.mark.parametrize("snapshots", [False, True])
@pytest.mark.parametrize("page", [1, 7])
@pytest.mark.parametrize("log", VECTORS["logs"], ids=lambda log: log["name"])
def test_every_state_vector_gets_the_same_verdicts(
    log: dict[str, Any], page: int, snapshots: bool
) -> None:
    """And with ``snapshots``, a twin restored from a snapshot at every page does too."""
    f = Follower(log["coop"], page=page, snapshots=random.Random(0) if snapshots else None,
                 snapshot_rate=1.0)  # fmt: skip
    for step in log["steps"]:
        if step["op"] == "due":
            f.due(step["now_ms"])
            continue
        try:
            record = Record.from_bytes(bytes.fromhex(step["record"]))
        except ProtocolError:
            continue  # refused before any state sees it
        verdict = f.offer(record, step["now_ms"])
        assert (verdict == "accept") == (step["verdict"] == "accept"), step.get("why")
        if step["verdict"] == "reject" and verdict != "accept":
            assert verdict.endswith(":" + step["code"])


def random_history(f: Follower, rng: random.Random, steps: int = 3000) -> dict[str, int]:
    """About two months of a busy co-op, fed to ``f``; returns how often each verdict came."""
    coop = key("coop")
    members = [key(f"m{i}") for i in range(8)]
    by_did = {m.did: m for m in members}
    ts = T0

    def sign(who: Any, body: Body, at: int | None = None) -> Record:
        return sign_record(who, coop=coop.did, ts=ts if at is None else at, body=body)

    assert f.offer(sign(coop, CHARTER)) == "accept"
    for m in members:
        assert f.offer(sign(coop, MemberAdmit(member=m.did, via="founder"))) == "accept"
    requesters = [RequesterRef(platform="mturk", id=f"R{i}") for i in range(12)]
    mine: list[Record] = []  # members' retractable records
    seen: dict[str, int] = {}
    for _ in range(steps):
        ts += rng.randrange(1, 90) * MINUTE  # about 2 months in all
        roll = rng.random()
        who = rng.choice(members)
        req = rng.choice(requesters)
        if roll < 0.4:
            record = sign(who, Rating(requester=req, hourly_cents=rng.randrange(100, 2000)))
        elif roll < 0.7:
            reason = rng.choice([FlagReason.UNDERPAID, FlagReason.SCAM, FlagReason.BROKEN])
            body = Flag(
                requester=req,
                target="requester",
                target_id=None,
                reason=reason,
                expires=ts + rng.randrange(1, 10) * DAY_MS,
            )
            record = sign(who, body)
        elif roll < 0.8 and mine:
            old = rng.choice(mine)  # often long gone from the slim state's memory
            record = sign(by_did[old.author], Retraction(record=old.id))
        elif roll < 0.87:
            follows = [
                r
                for r in mine[-40:]
                if r.type.value == "appeal" and r.author == who.did and rng.random() < 0.5
            ]
            earlier = follows[0] if follows else None
            body = Appeal(
                requester=earlier.body.requester if earlier else req,  # type: ignore[attr-defined]
                hit_group=f"H{rng.randrange(1000)}",
                status="filed" if earlier is None else "won",
                follows=earlier.id if earlier else None,
            )
            record = sign(who, body)
        elif roll < 0.92 and mine:
            record = rng.choice(mine)  # a replay: the same bytes again
        else:
            for body in f.due(ts):
                if isinstance(body, Block) and rng.random() < 0.2:
                    late = f.offer(sign(coop, body, at=ts - BLOCK_BACKDATE_MS - 90 * MINUTE))
                    seen[late] = seen.get(late, 0) + 1
                verdict = f.offer(sign(coop, body))
                seen[verdict] = seen.get(verdict, 0) + 1
            continue
        verdict = f.offer(record)
        seen[verdict] = seen.get(verdict, 0) + 1
        if verdict == "accept" and record.type.value in ("rating", "flag", "appeal"):
            mine.append(record)
    return seen


def test_a_long_random_history_agrees_and_the_slim_state_forgets_most_of_it() -> None:
    f = Follower(key("coop").did, page=16)
    seen = random_history(f, random.Random(7))
    # The case is not empty: blocks were signed, replays and backdated blocks refused,
    # old records retracted through lookups.
    assert seen["accept"] > 2000
    for code in ("duplicate", "backdated", "already_retracted"):
        assert seen.get(f"RecordRejected:{code}", 0) > 0, (code, seen)
    assert any(isinstance(e.record.body, Block) for e in f.stored.values())
    assert f.asked > f.full.size
    f.slim.settle()
    held = len(f.slim._entries) + len(f.slim._page)
    assert held < f.full.size // 5, (held, f.full.size)


def test_a_restored_snapshot_goes_on_exactly_as_the_state_it_was_taken_of() -> None:
    f = Follower(key("coop").did, page=16, snapshots=random.Random(11))
    seen = random_history(f, random.Random(7))
    assert seen["accept"] > 2000
    assert f.restored > 10
    assert f.twin is not None
    f.slim.settle()
    f.twin.settle()
    assert f.twin.snapshot() == f.slim.snapshot()


def test_a_fork_and_a_restored_snapshot_judge_a_block_by_the_rule_it_was_made_under() -> None:
    """state.md §3 (``unblock``, ``retracted``): the charters fork() and snapshot() carry.

    The ``amended-block-rule`` vector log up to its amendment (3 flags → 4), then the rest
    of it on forks of both kinds of state and on a state restored from a snapshot: each
    still ends the block when fewer than 3 flags remain, not 4.
    """
    (log,) = [g for g in VECTORS["logs"] if g["name"] == "amended-block-rule"]
    f = Follower(log["coop"])
    steps = iter(log["steps"])
    for step in steps:
        if step["op"] == "due":
            f.due(step["now_ms"])
            continue
        record = Record.from_bytes(bytes.fromhex(step["record"]))
        assert f.offer(record, step["now_ms"]) == "accept", step["why"]
        if isinstance(record.body, Charter) and record.body.supersedes is not None:
            break
    ((_, block),) = f.full.active_blocks().items()
    made_under = f.full.charter_at(block.index)
    assert made_under != f.full.charter_at(f.full.size)  # amended since the block

    g = Follower(log["coop"])
    g.full, g.slim, g.stored = f.full.fork(), f.slim.fork(), dict(f.stored)
    g.twin = CoopState.from_snapshot(log["coop"], f.slim.snapshot())
    for state in (g.full, g.slim, g.twin):
        assert state.charter_at(block.index) == made_under
    verdicts = []
    for step in steps:
        if step["op"] == "due":
            got = [{"type": b.TYPE.value, "body": encode(b.to_value()).hex()} for b in
                   g.due(step["now_ms"])]  # fmt: skip
            assert got == step["bodies"], step["why"]
            continue
        verdict = g.offer(Record.from_bytes(bytes.fromhex(step["record"])), step["now_ms"])
        verdicts.append(verdict)
        assert verdict == ("accept" if step["verdict"] == "accept" else
                           f"RecordRejected:{step['code']}"), step["why"]  # fmt: skip
    assert "RecordRejected:still_flagged" in verdicts and not g.full.active_blocks()


def founding(coop: Any, members: list[Any]) -> list[Record]:
    """The charter and the founders' admissions, at T0."""
    bodies: list[Body] = [CHARTER, *(MemberAdmit(member=m.did, via="founder") for m in members)]
    return [sign_record(coop, coop=coop.did, ts=T0, body=b) for b in bodies]


def scam_flag(requester: RequesterRef, expires: int) -> Flag:
    return Flag(
        requester=requester,
        target="requester",
        target_id=None,
        reason=FlagReason.SCAM,
        expires=expires,
    )


def test_flags_that_can_never_count_again_leave_no_trace_in_memory() -> None:
    coop, members = key("coop"), [key(n) for n in ("ana", "bo", "cy")]
    f = Follower(coop.did)
    for record in founding(coop, members):
        f.offer(record)
    req = RequesterRef(platform="mturk", id="GONE")
    for i, m in enumerate(members[:2]):
        body = scam_flag(req, T0 + DAY_MS)
        assert f.offer(sign_record(m, coop=coop.did, ts=T0 + i, body=body)) == "accept"
    assert req in f.slim._flags
    later = T0 + 3 * DAY_MS
    f.offer(sign_record(members[0], coop=coop.did, ts=later, body=Rating(requester=req, text="x")))
    f.slim.settle()
    assert f.slim._flags[req] == []  # the key keeps due()'s order
    for table in (f.slim._flags_until, f.slim._flags_last, f.slim._live):
        assert req not in table
    assert f.due(later) == ()


def test_due_waits_for_a_clock_that_is_behind_the_log() -> None:
    """A provisional block due at a clock far behind the log would be refused: not listed."""
    coop, members = key("coop"), [key(n) for n in ("ana", "bo", "cy")]
    state = CoopState(coop.did)
    for record in founding(coop, members):
        state.apply(record)
    req = RequesterRef(platform="mturk", id="LATE")
    for m in members:
        state.apply(sign_record(m, coop=coop.did, ts=T0 + 1, body=scam_flag(req, T0 + 10 * DAY_MS)))
    assert len(state.due(T0 + 2)) == 1  # the block is due
    # A member's record far ahead of the node's clock (a replay has no skew check).
    ahead = T0 + 3 * BLOCK_BACKDATE_MS
    state.apply(
        sign_record(members[0], coop=coop.did, ts=ahead, body=Rating(requester=req, text="x"))
    )
    assert state.due(T0 + 2) == ()  # it could not be signed now: the log would refuse it
    late = sign_record(coop, coop=coop.did, ts=T0 + 2, body=Block(
        requester=req, reason=FlagReason.SCAM, provisional=True,
        review=T0 + 2 + 30 * DAY_MS,
        flags=tuple(sorted(e.record.id for e in state._flags[req]))))  # fmt: skip
    with pytest.raises(ProtocolError, match="at most"):
        state.apply(late)
    (block,) = state.due(ahead - BLOCK_BACKDATE_MS)
    assert isinstance(block, Block)
    state.apply(sign_record(coop, coop=coop.did, ts=ahead - BLOCK_BACKDATE_MS, body=block))


def test_a_slim_state_refuses_to_guess() -> None:
    coop = key("coop")
    ana = key("ana")
    slim = CoopState(coop.did, keep_all=False)
    charter = sign_record(coop, coop=coop.did, ts=T0, body=CHARTER)
    slim.provide([], slim.lookups([charter]))
    slim.apply(charter)
    admit = sign_record(coop, coop=coop.did, ts=T0, body=MemberAdmit(member=ana.did, via="founder"))
    # Not looked up: whether it is a duplicate is unknown, and the state says so.
    with pytest.raises(LocalProtocolError, match="look it up first"):
        slim.apply(admit)
    assert slim.size == 1
    slim.provide([], slim.lookups([admit]))
    slim.apply(admit)
    rating = sign_record(ana, coop=coop.did, ts=T0 + 1, body=Rating(requester=RequesterRef(
        platform="mturk", id="A1"), text="fine"))  # fmt: skip
    slim.provide([], slim.lookups([rating]))
    slim.apply(rating)
    assert slim.entry(rating.id) is not None  # held until the page is stored
    slim.settle()
    with pytest.raises(LocalProtocolError):
        slim.entry(rating.id)
    for read in (slim.entries, lambda: slim.entry_at(0), lambda: slim.requester_records(
            RequesterRef(platform="mturk", id="A1"))):  # fmt: skip
        with pytest.raises(LocalProtocolError, match="governance only"):
            read()
    with pytest.raises(LocalProtocolError):
        slim.provide([Entry(5, rating)], [rating.id])  # beyond the log


def test_a_snapshot_keeps_aliases_and_refuses_what_it_cannot_read() -> None:
    coop, members = key("coop"), [key(n) for n in ("ana", "bo", "cy")]
    f = Follower(coop.did)
    for record in founding(coop, members):
        f.offer(record)
    old, new = RequesterRef(platform="mturk", id="OLD"), RequesterRef(platform="mturk", id="NEW")
    f.offer(sign_record(coop, coop=coop.did, ts=T0 + 1, body=RequesterAlias(
        requester=new, alias_of=old)))  # fmt: skip
    data = f.slim.snapshot()
    restored = CoopState.from_snapshot(coop.did, data)
    assert restored.aliases() == {new: old}
    assert restored.members() == f.slim.members() and restored.size == f.slim.size

    with pytest.raises(LocalProtocolError, match="governance-only"):
        f.full.snapshot()
    rating = sign_record(members[0], coop=coop.did, ts=T0 + 2, body=Rating(requester=old, text="x"))
    f.slim.provide([], f.slim.lookups([rating]))
    f.slim.apply(rating)
    with pytest.raises(LocalProtocolError, match="settle"):
        f.slim.snapshot()

    value = decode(data, max_size=len(data))

    def broken(**change: Any) -> bytes:
        return encode({**value, **change})

    for bad in (
        data[:-1],  # truncated
        b"",
        encode([1, 2]),
        broken(v=1),  # before delegations: replay the log instead
        broken(v=3),
        broken(coop=key("other").did),
        broken(size=-1),
        broken(charter=b"\x00" * 32),  # no such held entry
        broken(current=[1]),
        broken(entries=[[0, b"\xc1"], *value["entries"][1:]]),  # a record that does not decode
        broken(entries=value["entries"][::-1]),  # out of log order
        broken(intervals=[["did", [[1, 2, 3]]]]),
        broken(aliases=[[{"platform": "BAD PLATFORM", "id": "x"}, old.to_value()]]),
    ):
        with pytest.raises(LocalProtocolError, match="snapshot"):
            CoopState.from_snapshot(coop.did, bad)
    with pytest.raises(LocalProtocolError, match="fields"):
        CoopState.from_snapshot(coop.did, encode({k: v for k, v in value.items() if k != "roles"}))
