"""The platform table, ids in one form, pasted addresses, and the record rule (platforms.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol import _platforms
from coopfed.protocol.bodies import (
    Block,
    Flag,
    FlagReason,
    MemberAdmit,
    Rating,
    Reply,
    RequesterRef,
    TaskReport,
)
from coopfed.protocol.errors import (
    InvalidRecord,
    LocalProtocolError,
    PlatformInputError,
    RecordRejected,
)
from coopfed.protocol.platforms import (
    NOT_PLATFORMS,
    PLATFORMS,
    canonical_id,
    canonical_requester,
    check_platform_ids,
    parse_pasted,
)
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState

from .conftest import CHARTER, key

ROOT = Path(__file__).resolve().parents[2]
VECTORS: dict[str, Any] = json.loads((ROOT / "spec/vectors/platforms.json").read_text("utf-8"))
STRICT = PLATFORMS["mturk"].strict_from
BEFORE, AFTER = STRICT - 1, STRICT


def test_the_generated_table_is_the_json_file() -> None:
    table = json.loads((ROOT / "spec/platforms.json").read_text(encoding="utf-8"))
    assert table == _platforms.TABLE
    assert list(PLATFORMS) == ["prolific", "toloka", "connect", "mturk"]
    assert PLATFORMS["mturk"].closed == "2026-09-30"
    assert PLATFORMS["prolific"].words.task == "study"
    assert PLATFORMS["prolific"].currencies == ("GBP", "USD")


@pytest.mark.parametrize("case", VECTORS["canonical"], ids=lambda c: f"{c['platform']}:{c['text']}")
def test_canonical_vector(case: dict[str, Any]) -> None:
    if "code" in case:
        with pytest.raises(PlatformInputError) as caught:
            canonical_id(case["platform"], case["kind"], case["text"])
        assert caught.value.code == case["code"]
    else:
        assert canonical_id(case["platform"], case["kind"], case["text"]) == case["id"]


@pytest.mark.parametrize("case", VECTORS["pasted"], ids=lambda c: c["text"][:60])
def test_pasted_vector(case: dict[str, Any]) -> None:
    if "code" in case:
        with pytest.raises(PlatformInputError) as caught:
            parse_pasted(case["text"], kind=case["kind"])
        assert caught.value.code == case["code"]
        # Nothing of an address's query comes back in the message.
        assert "PROLIFIC_PID" not in caught.value.message
        assert "workerId" not in caught.value.message
    else:
        got = parse_pasted(case["text"], kind=case["kind"])
        assert (got.platform, got.kind, got.id) == (
            case["platform"],
            case["result_kind"],
            case["id"],
        )
        assert list(got.removed) == case["removed"]


def test_the_issue_s_addresses_name_the_blocked_requester() -> None:
    """Issue 13: the page address and a lower-case id both name mturk:A3JH8W2N5R6T0Y."""
    want = RequesterRef(platform="mturk", id="A3JH8W2N5R6T0Y")
    for text in (
        "https://worker.mturk.com/requesters/A3JH8W2N5R6T0Y/projects",
        "mturk:a3jh8w2n5r6t0y",
        " MTURK : A3JH8W2N5R6T0Y ",
    ):
        assert parse_pasted(text).requester == want
    assert canonical_requester("MTurk", "a3jh8w2n5r6t0y") == want


def test_a_study_link_keeps_none_of_the_worker_s_ids() -> None:
    pid = "5e9d0c1b2a3f4e5d6c7b8a90"
    got = parse_pasted(
        f"https://uni.example/q?PROLIFIC_PID={pid}&STUDY_ID=65a1b2c3d4e5f60718293a4b"
        "&SESSION_ID=s1"
    )
    assert pid not in repr(got)
    assert got.removed == ("PROLIFIC_PID", "SESSION_ID")
    with pytest.raises(LocalProtocolError):
        _ = got.requester  # a study, not a requester


def test_messages_say_what_an_id_should_be() -> None:
    with pytest.raises(PlatformInputError) as caught:
        parse_pasted("prolific:5f0a4c2b9d1e")
    assert "a Prolific researcher id is 24 characters of 0-9 and a-f" in caught.value.message
    with pytest.raises(PlatformInputError) as caught:
        parse_pasted("https://app.prolific.com/studies")
    assert caught.value.message.startswith("this is a Prolific address, but no researcher")
    with pytest.raises(PlatformInputError) as caught:
        canonical_id("mturk", "requester", "A-1")
    assert "an Amazon Mechanical Turk requester id is 1 to 64 characters" in caught.value.message


canonical_ids = st.sampled_from(list(PLATFORMS)).flatmap(
    lambda p: st.tuples(
        st.just(p),
        st.sampled_from([k for k, r in PLATFORMS[p].ids if r is not None]),
    )
)


@given(
    choice=canonical_ids,
    data=st.data(),
)
@settings(max_examples=200, deadline=None)
def test_canonical_forms_are_fixed_points(choice: tuple[str, str], data: st.DataObject) -> None:
    platform, kind = choice
    rule = PLATFORMS[platform].rule(kind)
    assert rule is not None
    text = data.draw(
        st.text(alphabet=rule.alphabet, min_size=rule.min_len, max_size=rule.max_len)
    )
    swapped = data.draw(st.booleans())
    typed = text.swapcase() if swapped else text
    assert canonical_id(platform, kind, typed) == text
    assert canonical_id(platform, kind, text) == text
    assert parse_pasted(f" {platform.upper()}:{typed} ", kind=kind).id == text


# ----------------------------------------------------------------------------- the record rule

MEMBER, COOP = key("ana"), key("coop")


def rating(platform: str, rid: str) -> Rating:
    return Rating(requester=RequesterRef(platform=platform, id=rid), recommend=True)


@pytest.mark.parametrize(
    ("platform", "rid"),
    [("mturk", "a3jh8w2n5r6t0y"), ("prolific", "5F0C3B1E2D9A8C7B6A5F4E3D"), ("https", "//x")],
)
def test_a_non_canonical_id_is_refused_from_its_effective_day(platform: str, rid: str) -> None:
    body = rating(platform, rid)
    # Signed before the day, it is well-formed: logs written by v0.1.0 stay valid.
    old = sign_record(MEMBER, coop=COOP.did, ts=BEFORE, body=body)
    assert Record.from_bytes(old.raw) == old
    with pytest.raises(InvalidRecord) as caught:
        check_platform_ids(body, ts=AFTER)
    assert caught.value.code == "non_canonical_id"
    with pytest.raises(LocalProtocolError, match=r"canonical form|start of an address"):
        sign_record(MEMBER, coop=COOP.did, ts=AFTER, body=body)


def test_a_live_node_refuses_it_whatever_the_ts() -> None:
    state = CoopState(COOP.did)
    for body in (CHARTER, MemberAdmit(member=MEMBER.did, via="founder")):
        state.apply(sign_record(COOP, coop=COOP.did, ts=BEFORE - 10, body=body))
    old = sign_record(MEMBER, coop=COOP.did, ts=BEFORE, body=rating("mturk", "a1"))
    with pytest.raises(RecordRejected) as caught:
        state.check(old, now_ms=BEFORE)
    assert caught.value.code == "non_canonical_id"
    state.check(old)  # a replay takes it: the rules of its time


def test_records_that_name_a_requester_already_in_the_log_are_not_checked() -> None:
    """A block or a reply names the requester as the log has it (platforms.md §4)."""
    old = RequesterRef(platform="mturk", id="a3jh8w2n5r6t0y")
    for body in (
        Reply(requester=old, text="We paid."),
        Block(
            requester=old,
            reason=FlagReason.SCAM,
            provisional=False,
            review=AFTER + 1,
            decision=bytes(32),
        ),
    ):
        check_platform_ids(body, ts=AFTER)


def test_flag_and_task_ids_are_checked_as_tasks() -> None:
    req = RequesterRef(platform="prolific", id="5f0c3b1e2d9a8c7b6a5f4e3d")
    flag = Flag(
        requester=req,
        target="hit_group",
        target_id="65A1B2C3D4E5F60718293A4B",
        reason=FlagReason.BROKEN,
        expires=AFTER + 1,
    )
    with pytest.raises(InvalidRecord, match=r"body\.target_id"):
        check_platform_ids(flag, ts=AFTER)
    report = TaskReport(
        requester=req,
        task="65a1b2c3d4e5f60718293a4b",
        day=AFTER // 86_400_000 - 1,
        reward=100,
        currency="JPY",
        minutes=10,
        outcome="submitted",
    )
    with pytest.raises(InvalidRecord) as caught:
        check_platform_ids(report, ts=AFTER)
    assert caught.value.code == "wrong_currency"


def test_not_platforms_are_in_the_table() -> None:
    assert {"http", "https"} == NOT_PLATFORMS
