"""LogReplay folds a log page by page into a state and its frontier, and finds bad bytes."""

from __future__ import annotations

import pytest

from coopfed.protocol.bodies import Rating, RequesterRef, Retraction
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import (
    InvalidProof,
    InvalidSignature,
    LocalProtocolError,
    RecordRejected,
    RemoteProtocolError,
)
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.replay import LogReplay
from coopfed.protocol.state import CoopState
from coopfed.protocol.sync import verify_each

from .conftest import MemoryLog, key

REQ = RequesterRef(platform="mturk", id="A1")


def busy_log(n: int = 60) -> MemoryLog:
    """Ratings, and retractions of ratings many pages back (a slim state must look them up)."""
    log = MemoryLog()
    ratings: list[tuple[str, Record]] = []
    for i in range(n):
        if i % 5 == 4:
            who, old = ratings.pop(0)
            log.append(who, Retraction(record=old.id))
        else:
            who = ("ana", "bo", "cy")[i % 3]
            ratings.append((who, log.append(who, Rating(requester=REQ, text=f"r{i}"))))
    return log


def pages(raws: list[bytes], size: int, start: int = 0) -> list[list[tuple[int, bytes]]]:
    rows = list(enumerate(raws))[start:]
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def summary(state: CoopState, now_ms: int) -> tuple[object, ...]:
    return (
        state.size,
        state.members(),
        state.charter,
        [encode(b.to_value()) for b in state.due(now_ms)],
        [state.is_retracted(r) for r in state._retracted],
    )


@pytest.mark.parametrize("keep_all", [True, False])
@pytest.mark.parametrize("page", [1, 7, 1000])
def test_a_replay_reaches_the_state_and_tree_of_the_log(keep_all: bool, page: int) -> None:
    log = busy_log()
    stored = {Record.from_bytes(raw).id: (i, raw) for i, raw in enumerate(log.raws)}
    replay = LogReplay(CoopState(log.did, keep_all=keep_all), verify_page=verify_each)
    looked_up = 0
    for rows in pages(log.raws, page):
        want = replay.feed(rows)
        found = [stored[i] for i in want if i in stored and stored[i][0] < replay.size]
        looked_up += len(found)
        replay.apply(found)
    replay.finish(log.tree.frontier)
    assert summary(replay.state, log.now) == summary(log.state, log.now)
    assert replay.frontier == log.tree.frontier
    if keep_all or page == 1000:
        assert looked_up == 0
    else:
        assert looked_up > 0  # retractions of ratings let go with an earlier page


def test_a_replay_goes_on_from_a_state_and_its_frontier() -> None:
    log = busy_log()
    half = len(log.raws) // 2
    first = LogReplay(CoopState(log.did))
    for rows in pages(log.raws[:half], 10):
        first.feed(rows)
        first.apply()
    second = LogReplay(first.state, first.frontier)
    for rows in pages(log.raws, 10, start=half):
        second.feed(rows)
        second.apply()
    second.finish(log.tree.frontier)
    with pytest.raises(LocalProtocolError, match="frontier"):
        LogReplay(CoopState(log.did), first.frontier)


def test_a_gap_a_bad_signature_and_an_inadmissible_entry_are_found_where_they_are() -> None:
    log = busy_log(10)
    rows = list(enumerate(log.raws))
    replay = LogReplay(CoopState(log.did))
    with pytest.raises(RemoteProtocolError) as gap:
        replay.feed(rows[:3] + rows[4:])
    assert gap.value.code == "log_gap" and replay.failed_at == 3 and replay.size == 0

    last = len(rows) - 1  # no other entry cites it
    forged = bytearray(log.raws[last])
    forged[-40] ^= 1  # inside the signature: decodes, does not verify
    bad = [*rows[:last], (last, bytes(forged))]
    checked = LogReplay(CoopState(log.did), verify_page=verify_each)
    with pytest.raises(InvalidSignature):
        checked.feed(bad)
    assert checked.failed_at == last
    # Without a signature check (stored rows) the changed bytes are found by the tree.
    trusting = LogReplay(CoopState(log.did))
    trusting.feed(bad)
    trusting.apply()
    with pytest.raises(InvalidProof) as mismatch:
        trusting.finish(log.tree.frontier)
    assert mismatch.value.code == "root_mismatch"

    outsider = sign_record(
        key("mallory"), coop=log.did, ts=log.now, body=Rating(requester=REQ, text="me too")
    )
    inadmissible = LogReplay(CoopState(log.did))
    inadmissible.feed([*rows[:4], (4, outsider.raw)])
    with pytest.raises(RecordRejected):
        inadmissible.apply()
    assert inadmissible.failed_at == 4 and inadmissible.size == 4
    assert inadmissible.frontier.size == 4  # the entries before it stay applied


def test_misuse_is_a_local_error() -> None:
    log = busy_log(10)
    rows = list(enumerate(log.raws))
    replay = LogReplay(CoopState(log.did, keep_all=False))
    with pytest.raises(LocalProtocolError):
        replay.apply()
    replay.feed(rows[:3])
    with pytest.raises(LocalProtocolError):
        replay.feed(rows[3:])
    with pytest.raises(LocalProtocolError):
        replay.finish(log.tree.frontier)
    with pytest.raises(LocalProtocolError, match="not asked"):
        replay.apply([rows[5]])
