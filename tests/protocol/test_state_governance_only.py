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
    Flag,
    FlagReason,
    MemberAdmit,
    Rating,
    RequesterRef,
    Retraction,
)
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import LocalProtocolError, ProtocolError
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import BLOCK_BACKDATE_MS, CoopState, Entry

from .conftest import CHARTER, T0, key

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "spec" / "vectors" / "state.json").read_text("utf-8")
)
MINUTE = 60_000


class Follower:
    """A full state and a governance-only one fed the same records; a dict as the store."""

    def __init__(self, coop: str, *, page: int = 1) -> None:
        self.full = CoopState(coop)
        self.slim = CoopState(coop, keep_all=False)
        self.stored: dict[bytes, Entry] = {}
        self.page = page
        self.unsettled = 0
        self.asked = 0

    def offer(self, record: Record, now_ms: int | None = None) -> str:
        want = self.slim.lookups([record])
        self.asked += len(want)
        self.slim.provide([self.stored[i] for i in want if i in self.stored], want)
        verdicts = []
        for state in (self.full, self.slim):
            try:
                entry = state.apply(record, now_ms=now_ms)
            except ProtocolError as exc:
                verdicts.append(f"{type(exc).__name__}:{exc.code}")
            else:
                verdicts.append("accept")
                if state is self.full:
                    self.stored[record.id] = entry
        assert verdicts[0] == verdicts[1], (record.type, verdicts)
        assert self.full.size == self.slim.size
        self.unsettled += 1
        if self.unsettled >= self.page:
            self.slim.settle()
            self.unsettled = 0
        return verdicts[0]

    def due(self, now_ms: int) -> tuple[Body, ...]:
        full, slim = self.full.due(now_ms), self.slim.due(now_ms)
        assert [encode(b.to_value()) for b in full] == [encode(b.to_value()) for b in slim]
        return full


@pytest.mark.parametrize("page", [1, 7])
@pytest.mark.parametrize("log", VECTORS["logs"], ids=lambda log: log["name"])
def test_every_state_vector_gets_the_same_verdicts(log: dict[str, Any], page: int) -> None:
    f = Follower(log["coop"], page=page)
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


def test_a_long_random_history_agrees_and_the_slim_state_forgets_most_of_it() -> None:
    rng = random.Random(7)
    coop = key("coop")
    members = [key(f"m{i}") for i in range(8)]
    by_did = {m.did: m for m in members}
    f = Follower(coop.did, page=16)
    ts = T0

    def sign(who: Any, body: Body, at: int | None = None) -> Record:
        return sign_record(who, coop=coop.did, ts=ts if at is None else at, body=body)

    assert f.offer(sign(coop, CHARTER)) == "accept"
    for m in members:
        assert f.offer(sign(coop, MemberAdmit(member=m.did, via="founder"))) == "accept"
    requesters = [RequesterRef(platform="mturk", id=f"R{i}") for i in range(12)]
    mine: list[Record] = []  # members' retractable records
    seen: dict[str, int] = {}
    for _ in range(3000):
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
