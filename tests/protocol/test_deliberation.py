"""Members-only comments and signed members-only reads: the vectors, and the rules around them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.bodies import (
    MEMBERS_ONLY_TYPES,
    Ballot,
    Comment,
    MemberAdmit,
    MemberResign,
    Proposal,
    ProposalKind,
    RecordType,
)
from coopfed.protocol.deliberation import check_comment
from coopfed.protocol.errors import (
    AuthError,
    LocalProtocolError,
    RecordRejected,
    RemoteProtocolError,
)
from coopfed.protocol.readauth import (
    READ_DOMAIN,
    ReadAuth,
    read_signing_input,
    sign_read_request,
)
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState, Entry

from .conftest import CHARTER, HOUR, T0, MemoryLog, key

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec" / "vectors" / "deliberation.json").read_text("utf-8"))


def _replayed() -> CoopState:
    state = CoopState(VECTORS["coop"])
    for raw in VECTORS["log"]:
        state.apply(Record.from_bytes(bytes.fromhex(raw)))
    return state


STATE = _replayed()


# --------------------------------------------------------------------------- vectors


def test_comment_vectors_in_order() -> None:
    """Each verdict is check_comment's; accepted comments become possible parents."""
    store: dict[bytes, Record] = {}
    for step in VECTORS["comments"]:
        record = Record.from_bytes(bytes.fromhex(step["record"]))
        parent = (
            None if step["parent"] is None else Record.from_bytes(bytes.fromhex(step["parent"]))
        )
        if parent is not None and parent.type is RecordType.COMMENT:
            assert parent.id in store, step["why"]
        try:
            check_comment(STATE, record, parent=parent, now_ms=step["now_ms"])
        except RemoteProtocolError as exc:
            assert step["verdict"] == "reject", step["why"]
            assert (type(exc).__name__, exc.code) == (step["error"], step["code"]), step["why"]
        else:
            assert step["verdict"] == "accept", step["why"]
            store[record.id] = record


def _codes(after: str, until: str) -> set[str]:
    """The codes deliberation.md §7 lists between two phrases."""
    text = (ROOT / "spec" / "deliberation.md").read_text(encoding="utf-8")
    section = text.split("## 7. Codes", 1)[1].split("\n## ", 1)[0]
    part = section.split(after, 1)[1].split(until, 1)[0]
    return set(re.findall(r"`([a-z_]+)`", part))


def test_every_comment_code_of_the_spec_has_a_vector() -> None:
    listed = _codes("`check_comment` (§3.2):", "— all codes")
    seen = {s["code"] for s in VECTORS["comments"] if s["verdict"] == "reject"}
    assert listed == seen
    # And the function raises no other: its source names exactly these.
    source = (ROOT / "protocol" / "deliberation.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'_reject\(\s*"([a-z_]+)"', source))
    assert raised | {"not_member", "revoked"} == listed  # those two through check_member


@pytest.mark.parametrize("case", VECTORS["read_auth"]["valid"], ids=lambda c: c["name"])
def test_valid_read(case: dict[str, Any]) -> None:
    message = read_signing_input(
        coop=case["coop"],
        author=case["author"],
        method=case["method"],
        target=case["target"],
        ts=case["ts"],
    )
    assert message.hex() == case["signing_input"]
    assert (
        message.startswith(READ_DOMAIN) and READ_DOMAIN.hex() == VECTORS["constants"]["read_domain"]
    )
    auth = ReadAuth.parse(case["header"])
    assert (auth.author, auth.ts) == (case["author"], case["ts"])
    assert auth.to_header() == case["header"]
    auth.verify(
        coop=case["coop"],
        method=case["method"],
        target=case["target"],
        now_ms=case["now_ms"],
        state=STATE,
    )


@pytest.mark.parametrize("case", VECTORS["read_auth"]["invalid"], ids=lambda c: c["name"])
def test_invalid_read(case: dict[str, Any]) -> None:
    with pytest.raises(AuthError) as caught:
        ReadAuth.parse(case["header"]).verify(
            coop=case["coop"],
            method=case["method"],
            target=case["target"],
            now_ms=case["now_ms"],
            state=STATE,
        )
    assert caught.value.code == case["code"]


def test_every_read_code_of_the_spec_has_a_vector() -> None:
    listed = _codes("Reads (§5.3):", "Every one")
    assert listed == {c["code"] for c in VECTORS["read_auth"]["invalid"]}


# --------------------------------------------------------------------------- the log


def test_the_log_never_takes_a_comment() -> None:
    """Members-only records are refused by every log, before anything else is read."""
    assert {RecordType.COMMENT} == MEMBERS_ONLY_TYPES
    log = MemoryLog()
    idea = log.append(
        "ana", Proposal(kind=ProposalKind.IDEA, pitch="Talk", opens=log.now, closes=log.now + HOUR)
    )
    comment = sign_record(
        key("ana"), coop=log.did, ts=log.now, body=Comment(proposal=idea.id, text="Members only.")
    )
    check_comment(log.state, comment, now_ms=log.now)  # a node's store takes it
    for state in (log.state, CoopState(log.did, keep_all=False)):
        with pytest.raises(RecordRejected) as caught:
            state.check(comment)
        assert caught.value.code == "members_only"
    size = log.state.size
    with pytest.raises(RecordRejected):
        log.state.apply(comment)
    assert log.state.size == size


def test_a_governance_only_state_checks_comments_once_told() -> None:
    full = MemoryLog()
    idea = full.append(
        "ana",
        Proposal(kind=ProposalKind.IDEA, pitch="Talk", opens=full.now, closes=full.now + HOUR),
    )
    vote = full.append("bo", Ballot(proposal=idea.id, choice="up"))
    slim = CoopState(full.did, keep_all=False)
    for i, raw in enumerate(full.raws):
        record = Record.from_bytes(raw)
        want = slim.lookups([record])
        slim.provide(
            [
                Entry(j, Record.from_bytes(full.raws[j]))
                for j in range(i)
                if Record.from_bytes(full.raws[j]).id in want
            ],
            want,
        )
        slim.apply(record)
        slim.settle()
    reason = sign_record(
        key("bo"),
        coop=full.did,
        ts=full.now,
        body=Comment(proposal=idea.id, ballot=vote.id, text="A calculator saves us hours."),
    )
    with pytest.raises(LocalProtocolError, match="look it up first"):
        check_comment(slim, reason)
    want = slim.lookups([reason])
    slim.provide([e for e in (full.state.entry(i) for i in want) if e is not None], want)
    check_comment(slim, reason)
    check_comment(full.state, reason)


def test_check_comment_refuses_misuse() -> None:
    log = MemoryLog()
    idea = log.append(
        "ana", Proposal(kind=ProposalKind.IDEA, pitch="Talk", opens=log.now, closes=log.now + HOUR)
    )
    first = sign_record(
        key("ana"), coop=log.did, ts=log.now, body=Comment(proposal=idea.id, text="First.")
    )
    reply = sign_record(
        key("bo"),
        coop=log.did,
        ts=log.now,
        body=Comment(proposal=idea.id, parent=first.id, text="Second."),
    )
    check_comment(log.state, reply, parent=first)
    with pytest.raises(LocalProtocolError, match="takes a comment"):
        check_comment(log.state, idea)
    with pytest.raises(LocalProtocolError, match="parent"):
        check_comment(log.state, first, parent=reply)  # first names no parent
    with pytest.raises(LocalProtocolError, match="parent"):
        check_comment(log.state, reply, parent=reply)  # not the comment it names


def test_a_reason_may_cite_a_superseded_ballot_of_its_author() -> None:
    """Which reason a reader shows is presentation (deliberation.md §3.3); both are kept."""
    log = MemoryLog()
    idea = log.append(
        "ana", Proposal(kind=ProposalKind.IDEA, pitch="Talk", opens=log.now, closes=log.now + HOUR)
    )
    up = log.append("bo", Ballot(proposal=idea.id, choice="up"))
    log.append("bo", Ballot(proposal=idea.id, choice="down"))
    reason = sign_record(
        key("bo"),
        coop=log.did,
        ts=log.now,
        body=Comment(proposal=idea.id, ballot=up.id, text="I liked it at first."),
    )
    check_comment(log.state, reason, now_ms=log.now)


# --------------------------------------------------------------------------- read auth


COOP = key("coop").did
TARGET = "/api/v1/proposals/" + "0f" * 32 + "/comments"


def _member_state() -> CoopState:
    log = MemoryLog()
    return log.state


def test_sign_and_verify_round_trip() -> None:
    state = _member_state()
    header = sign_read_request(key("ana"), coop=state.coop, method="GET", target=TARGET, ts=T0)
    auth = ReadAuth.parse(header)
    assert auth.author == key("ana").did and auth.ts == T0 and len(auth.sig) == 64
    auth.verify(coop=state.coop, method="GET", target=TARGET, now_ms=T0, state=state)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "get", ""])
def test_only_reads_are_signed(method: str) -> None:
    with pytest.raises(LocalProtocolError, match="GET or HEAD"):
        sign_read_request(key("ana"), coop=COOP, method=method, target=TARGET, ts=T0)


@pytest.mark.parametrize("target", ["", "api/v1", "/with space", "/caf\u00e9", "/" + "x" * 8192])
def test_the_target_is_an_origin_form_request_target(target: str) -> None:
    with pytest.raises(LocalProtocolError, match="target"):
        read_signing_input(coop=COOP, author=key("ana").did, method="GET", target=target, ts=T0)


def test_verify_checks_its_arguments() -> None:
    state = _member_state()
    auth = ReadAuth.parse(
        sign_read_request(key("ana"), coop=state.coop, method="GET", target=TARGET, ts=T0)
    )
    with pytest.raises(LocalProtocolError, match="state"):
        auth.verify(coop=key("other").did, method="GET", target=TARGET, now_ms=T0, state=state)
    with pytest.raises(LocalProtocolError, match="now_ms"):
        auth.verify(coop=state.coop, method="GET", target=TARGET, now_ms=-1, state=state)
    with pytest.raises(LocalProtocolError, match="GET or HEAD"):
        auth.verify(coop=state.coop, method="POST", target=TARGET, now_ms=T0, state=state)


def test_a_signed_read_is_good_at_one_coop_only() -> None:
    """Two co-ops with the same member: a read signed for one fails at the other's node."""
    here, there = MemoryLog("coop"), MemoryLog("other")
    header = sign_read_request(key("ana"), coop=here.did, method="GET", target=TARGET, ts=T0)
    auth = ReadAuth.parse(header)
    auth.verify(coop=here.did, method="GET", target=TARGET, now_ms=T0, state=here.state)
    with pytest.raises(AuthError) as caught:
        auth.verify(coop=there.did, method="GET", target=TARGET, now_ms=T0, state=there.state)
    assert caught.value.code == "auth_bad_signature"


def test_a_member_who_leaves_loses_access() -> None:
    log = MemoryLog()
    header = sign_read_request(key("cy"), coop=log.did, method="GET", target=TARGET, ts=T0)
    auth = ReadAuth.parse(header)
    auth.verify(coop=log.did, method="GET", target=TARGET, now_ms=T0, state=log.state)
    log.append("cy", MemberResign())
    (revoke,) = log.state.due(log.now)
    log.append(log.key, revoke)
    with pytest.raises(AuthError) as caught:
        auth.verify(coop=log.did, method="GET", target=TARGET, now_ms=T0, state=log.state)
    assert caught.value.code == "revoked"
    log.append(log.key, MemberAdmit(member=key("cy").did, via="invite", ref=bytes(32)))
    auth.verify(coop=log.did, method="GET", target=TARGET, now_ms=T0, state=log.state)


@settings(max_examples=50, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60),
    st.sampled_from(["GET", "HEAD"]),
    st.integers(min_value=0, max_value=10**9),
)
def test_any_valid_request_round_trips_and_binds_every_part(
    rest: str, method: str, offset: int
) -> None:
    target = "/" + rest
    ts = T0 + offset
    header = sign_read_request(key("ana"), coop=COOP, method=method, target=target, ts=ts)
    auth = ReadAuth.parse(header)
    assert auth.to_header() == header
    state = CoopState(COOP)
    state.apply(sign_record(key("coop"), coop=COOP, ts=T0, body=CHARTER))
    state.apply(
        sign_record(
            key("coop"), coop=COOP, ts=T0, body=MemberAdmit(member=key("ana").did, via="founder")
        )
    )
    auth.verify(coop=COOP, method=method, target=target, now_ms=ts, state=state)
    for changed in ({"target": target + "x"}, {"method": "HEAD" if method == "GET" else "GET"}):
        with pytest.raises(AuthError) as caught:
            auth.verify(
                **{
                    "coop": COOP,
                    "method": method,
                    "target": target,
                    "now_ms": ts,
                    "state": state,
                    **changed,
                }
            )
        assert caught.value.code == "auth_bad_signature"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_anything_but_auth_error(text: str) -> None:
    try:
        ReadAuth.parse(text)
    except AuthError as exc:
        assert exc.code in {"auth_required", "auth_malformed"}
