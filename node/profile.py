"""A requester's profile: what the co-op's members reported, counted the same way everywhere.

Pure: a function of the co-op's state, its blocklist and the time. Numbers only as
integers (money in cents, means in hundredths) so the JSON has no floats. Counting rules:

- a member's *latest* non-retracted rating counts (greatest ``(ts, id)``), one per member;
- a flag counts while it is active: not expired at ``now`` and not retracted;
- an appeal's status is that of its latest follow-up by its author, else ``filed``;
- ``last_90_days`` applies the same rules to records made in the 90 days before ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from coopfed.protocol.blocklist import Blocklist
from coopfed.protocol.bodies import (
    DAY_MS,
    SCORE_DIMENSIONS,
    Appeal,
    Flag,
    Rating,
    Reply,
    RequesterRef,
)
from coopfed.protocol.records import Record
from coopfed.protocol.state import CoopState, Entry

WINDOW_MS: Final = 90 * DAY_MS
#: Reported hourly pay buckets, in cents per hour: [from, to), the last open-ended.
PAY_BUCKETS: Final = ((0, 300), (300, 600), (600, 900), (900, 1200), (1200, 1800), (1800, None))
APPEAL_STATUSES: Final = ("filed", "lost", "no_response", "won")


def alias_group(state: CoopState, requester: RequesterRef) -> list[RequesterRef]:
    """Every name linked to ``requester`` by alias records (either way, transitively), sorted."""
    links: dict[RequesterRef, set[RequesterRef]] = {}
    for alias, of in state.aliases().items():
        links.setdefault(alias, set()).add(of)
        links.setdefault(of, set()).add(alias)
    seen = {requester}
    todo = [requester]
    while todo:
        for other in links.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return sorted(seen, key=lambda r: (r.platform.encode(), r.id.encode()))


def requester_profile(
    state: CoopState, blocklist: Blocklist, requester: RequesterRef, *, now_ms: int
) -> dict[str, Any]:
    names = alias_group(state, requester)
    entries = sorted(
        (e for name in names for e in state.requester_records(name)), key=lambda e: e.index
    )
    live = [e for e in entries if not state.is_retracted(e.record.id)]
    since = now_ms - WINDOW_MS
    recent = [e for e in live if since < e.record.ts <= now_ms]
    # The blocklist names one requester per entry; any name of the group may carry a block.
    explained = [blocklist.explain(name) for name in names]
    on_list = next((x for x in explained if x.status is not None), explained[0])
    return {
        "requester": str(requester),
        "aliases": [str(n) for n in names if n != requester],
        "all": _stats(live, now_ms),
        "last_90_days": _stats(recent, now_ms),
        "blocklist": {
            "requester": str(on_list.requester),
            "status": None if on_list.status is None else on_list.status.value,
            "steps": list(on_list.steps),
            "records": [r.hex() for r in on_list.records],
        },
    }


def _stats(entries: Sequence[Entry], now_ms: int) -> dict[str, Any]:
    ratings = _latest_per_author(e.record for e in entries if isinstance(e.record.body, Rating))
    bodies = [_rating(r) for r in ratings]
    scores: dict[str, dict[str, int | None]] = {}
    for dim in SCORE_DIMENSIONS:
        values = [v for v in (b.score(dim) for b in bodies) if v is not None]
        scores[dim] = {"count": len(values), "mean_x100": _mean_x100(values)}
    pay = sorted(b.hourly_cents for b in bodies if b.hourly_cents is not None)
    flags = Counter(
        body.reason.value
        for e in entries
        if isinstance(body := e.record.body, Flag) and body.expires > now_ms
    )
    return {
        "reports": len(bodies),
        "scores": scores,
        "hourly_cents": {
            "count": len(pay),
            "median": _median(pay),
            "buckets": [
                {
                    "from": lo,
                    "to": hi,
                    "count": sum(1 for p in pay if lo <= p and (hi is None or p < hi)),
                }
                for lo, hi in PAY_BUCKETS
            ],
        },
        "rejections": {
            k: sum(1 for b in bodies if b.rejected == k) for k in ("none", "some", "all")
        },
        "recommend": {
            "yes": sum(1 for b in bodies if b.recommend is True),
            "no": sum(1 for b in bodies if b.recommend is False),
        },
        "flags": dict(sorted(flags.items())),
        "appeals": _appeals(entries),
        "replies": sum(1 for e in entries if isinstance(e.record.body, Reply)),
    }


def _rating(record: Record) -> Rating:
    body = record.body
    assert isinstance(body, Rating)
    return body


def _latest_per_author(records: Iterable[Record]) -> list[Record]:
    latest: dict[str, Record] = {}
    for r in records:
        held = latest.get(r.author)
        if held is None or (r.ts, r.id) > (held.ts, held.id):
            latest[r.author] = r
    return list(latest.values())


def _mean_x100(values: Sequence[int]) -> int | None:
    """The mean in hundredths, rounded half up, by integer arithmetic."""
    if not values:
        return None
    return (200 * sum(values) + len(values)) // (2 * len(values))


def _median(values: Sequence[int]) -> int | None:
    """The median of sorted ``values``; for an even count the lower-rounded midpoint."""
    if not values:
        return None
    mid = len(values) // 2
    if len(values) % 2:
        return values[mid]
    return (values[mid - 1] + values[mid]) // 2


def _appeals(entries: Sequence[Entry]) -> dict[str, int]:
    filed: dict[bytes, Record] = {}
    outcome: dict[bytes, Record] = {}
    for e in entries:
        body = e.record.body
        if not isinstance(body, Appeal):
            continue
        if body.follows is None:
            filed[e.record.id] = e.record
        else:
            held = outcome.get(body.follows)
            if held is None or (e.record.ts, e.record.id) > (held.ts, held.id):
                outcome[body.follows] = e.record
    counts = dict.fromkeys(APPEAL_STATUSES, 0)
    for aid in filed:
        last = outcome.get(aid)
        status = "filed"
        if last is not None:
            body = last.body
            assert isinstance(body, Appeal)
            status = body.status
        counts[status] += 1
    return counts


@dataclass(frozen=True, slots=True)
class CoopRecords:
    """One co-op's log as a profile reads it: its state, and its records about the requester.

    ``records``: every rating, flag, appeal and reply of the co-op's log about any name in
    the requester's alias group there (a follower reads a followed co-op's from storage).
    """

    did: str
    name: str
    state: CoopState
    records: Sequence[Entry]


def federation_profile(
    own: CoopRecords,
    peers: Sequence[CoopRecords],
    requester: RequesterRef,
    *,
    now_ms: int,
    distrusted: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The requester across the federation: combined counts, and each co-op's share.

    Each co-op's records are counted by its own log's rules (its aliases, its
    retractions); the combined figures apply the counting rules to all of them together
    (one latest rating per member key, wherever it was given). Co-ops caught
    equivocating are listed, marked, and left out of the combined figures.
    """
    combined: list[Entry] = []
    shares = []
    for log in [own, *peers]:
        did, name, state = log.did, log.name, log.state
        names = alias_group(state, requester)
        ordered = sorted(log.records, key=lambda e: e.index)
        entries = [e for e in ordered if not state.is_retracted(e.record.id)]
        stats = _stats(entries, now_ms)
        trusted = did not in distrusted
        if trusted:
            combined += entries
        shares.append(
            {
                "coop": did,
                "name": name,
                "own": did == own.did,
                "distrusted": not trusted,
                "reports": stats["reports"],
                "flags": sum(stats["flags"].values()),
                "hourly_cents_median": stats["hourly_cents"]["median"],
                "blocked": any(n in state.active_blocks() for n in names),
            }
        )
    return {"combined": _stats(combined, now_ms), "coops": shares}
