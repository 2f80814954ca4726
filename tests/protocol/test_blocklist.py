"""Tests for coopfed.protocol.blocklist: adoption, overrides, provenance, vectors, properties."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.blocklist import (
    Blocklist,
    BlocklistEntry,
    EntryStatus,
    Explanation,
    Source,
    effective_blocklist,
)
from coopfed.protocol.bodies import (
    DAY_MS,
    AdoptRule,
    Block,
    FederationPolicy,
    Flag,
    FlagReason,
    Follow,
    RequesterRef,
)
from coopfed.protocol.errors import LocalProtocolError, PolicyError, ProtocolError
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record

VECTORS_DIR = Path(__file__).resolve().parents[2] / "spec" / "vectors"
VECTORS: dict[str, Any] = json.loads((VECTORS_DIR / "blocklist.json").read_text(encoding="utf-8"))

TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
REVIEW = TS + 30 * DAY_MS
HOME = "home"
PEERS = ("alpha", "beta", "gamma", "delta")


@cache
def key(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(b"coopfed/tests/blocklist/" + name.encode()).digest())


def did(name: str) -> str:
    return key(name).did


def cited(label: str) -> bytes:
    return hashlib.sha256(b"coopfed/tests/blocklist/cited/" + label.encode()).digest()


def ref(text: str) -> RequesterRef:
    return RequesterRef.parse(text)


@cache
def block(coop: str, requester: str, reason: str = "scam", flags: int = 0, ts: int = TS) -> Record:
    """A block by ``coop``: on a decision when ``flags`` is 0, else on that many member flags."""
    evidence: dict[str, Any]
    if flags:
        ids = sorted(cited(f"flag/{coop}/{requester}/{ts}/{i}") for i in range(flags))
        evidence = {"flags": tuple(ids), "provisional": True}
    else:
        evidence = {"decision": cited(f"decision/{coop}/{requester}/{ts}"), "provisional": False}
    body = Block(requester=ref(requester), reason=FlagReason(reason), review=REVIEW, **evidence)
    return sign_record(key(coop), coop=did(coop), ts=ts, body=body)


def policy(
    follow: Iterable[str],
    adopt: Iterable[tuple[Iterable[str], int]] = (),
    *,
    allow: Iterable[str] = (),
    drafts: bool = False,
    decision: bytes | None = None,
    coop: str = HOME,
) -> Record:
    body = FederationPolicy(
        follow=tuple(Follow(coop=d) for d in sorted((did(n) for n in follow), key=str.encode)),
        adopt=tuple(
            AdoptRule(sources=tuple(sorted((did(n) for n in src), key=str.encode)), k=k)
            for src, k in adopt
        ),
        allow=tuple(sorted((ref(a) for a in allow), key=lambda r: (r.platform, r.id))),
        drafts=drafts,
        decision=decision,
    )
    return sign_record(key(coop), coop=did(coop), ts=TS, body=body)


def compute(
    own: Iterable[Record] = (),
    peers: Mapping[str, Iterable[Record]] | None = None,
    pol: Record | None = None,
    distrusted: Iterable[str] = (),
) -> Blocklist:
    return effective_blocklist(
        coop=did(HOME),
        own=own,
        peers={did(n): list(rs) for n, rs in (peers or {}).items()},
        policy=pol,
        distrusted=frozenset(did(n) for n in distrusted),
    )


def status(bl: Blocklist, requester: str) -> EntryStatus | None:
    entry = bl.get(requester)
    return entry.status if entry is not None else None


def adopted(entry: BlocklistEntry | None) -> list[str]:
    assert entry is not None
    return [s.coop for s in entry.adopted]


def dids(*names: str) -> list[str]:
    return sorted((did(n) for n in names), key=str.encode)


# --- own blocks -------------------------------------------------------------------------------


def test_own_blocks_without_policy() -> None:
    decided = block(HOME, "mturk:A1", "scam")
    flagged = block(HOME, "mturk:B2", "underpaid", flags=3)
    bl = compute(own=[decided, flagged], peers={"alpha": [block("alpha", "mturk:C3")]})
    assert [str(e.requester) for e in bl.entries] == ["mturk:A1", "mturk:B2"]
    a1 = bl.get("mturk:A1")
    assert a1 is not None
    assert a1.status is EntryStatus.BLOCKED
    assert a1.own == Source(coop=did(HOME), block=decided, provisional=False)
    assert (a1.adopted, a1.rule, a1.policy, a1.reason) == ((), None, None, FlagReason.SCAM)
    b2 = bl.get(ref("mturk:B2"))
    assert b2 is not None and b2.own is not None
    assert b2.own.provisional is True
    assert b2.reason is FlagReason.UNDERPAID
    assert bl.get("mturk:C3") is None
    assert bl.blocked() == bl.entries
    assert bl.coop == did(HOME)


def test_empty_inputs_give_an_empty_blocklist() -> None:
    bl = compute()
    assert bl.entries == () and bl.blocked() == () and bl.to_json() == []
    assert bl.explain("mturk:A1").status is None


def test_entries_sort_bytewise_by_platform_then_id() -> None:
    names = ["prolific:5f", "mturk:b", "mturk:B", "mturk:a", "clickworker:9", "mturk:_"]
    bl = compute(own=[block(HOME, n) for n in names])
    assert [str(e.requester) for e in bl.entries] == [
        "clickworker:9",
        "mturk:B",
        "mturk:_",
        "mturk:a",
        "mturk:b",
        "prolific:5f",
    ]


def test_inputs_may_be_one_shot_iterators() -> None:
    records = [block(HOME, "mturk:A1"), block(HOME, "mturk:A2")]
    bl = effective_blocklist(
        coop=did(HOME),
        own=iter(records),
        peers={did("alpha"): (r for r in [block("alpha", "mturk:A3")])},
        policy=policy(["alpha"], [(["alpha"], 1)]),
    )
    assert [str(e.requester) for e in bl.entries] == ["mturk:A1", "mturk:A2", "mturk:A3"]


# --- adoption: k of n ------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("blocking", [0, 1, 2, 3, 4])
def test_k_of_n_boundary(k: int, blocking: int) -> None:
    peers = {n: [block(n, "mturk:R1")] for n in PEERS[:blocking]}
    bl = compute(peers=peers, pol=policy(PEERS, [(PEERS, k)]))
    entry = bl.get("mturk:R1")
    if blocking >= k:
        assert entry is not None
        assert entry.status is EntryStatus.BLOCKED
        assert adopted(entry) == dids(*PEERS[:blocking])  # every blocking source, not just k
        assert entry.rule == AdoptRule(sources=tuple(dids(*PEERS)), k=k)
        assert entry.rule_index == 0
        assert entry.own is None
    else:
        assert entry is None


@pytest.mark.parametrize(
    ("k", "blocking", "distrusted", "adopted_by"),
    [
        # 2 of 3; a distrusted blocker does not count, a trusted one still does.
        (2, ("alpha", "beta"), ("beta",), None),
        (2, ("alpha", "gamma"), ("beta",), ("alpha", "gamma")),
        (2, ("alpha", "beta", "gamma"), ("beta",), ("alpha", "gamma")),
        # 3 of 3 with one distrusted: only 2 trusted sources remain, so nothing is adopted,
        # even though all three block. k is never lowered.
        (3, ("alpha", "beta", "gamma"), ("beta",), None),
        (1, ("beta",), ("beta",), None),
        (1, ("alpha", "beta"), ("beta",), ("alpha",)),
        (1, ("alpha", "beta", "gamma"), ("alpha", "beta", "gamma"), None),
    ],
)
def test_distrust_removes_sources_and_never_lowers_k(
    k: int,
    blocking: tuple[str, ...],
    distrusted: tuple[str, ...],
    adopted_by: tuple[str, ...] | None,
) -> None:
    three = ("alpha", "beta", "gamma")
    peers = {n: [block(n, "mturk:R1")] for n in blocking}
    bl = compute(peers=peers, pol=policy(three, [(three, k)]), distrusted=distrusted)
    entry = bl.get("mturk:R1")
    if adopted_by is None:
        assert entry is None
    else:
        assert adopted(entry) == dids(*adopted_by)


def test_unsatisfiable_rule_is_explained() -> None:
    peers = {n: [block(n, "mturk:R1")] for n in ("alpha", "beta")}
    bl = compute(
        peers=peers, pol=policy(["alpha", "beta"], [(["alpha", "beta"], 2)]), distrusted=["beta"]
    )
    why = bl.explain("mturk:R1")
    assert why.status is None and why.records == ()
    text = "\n".join(why.steps)
    assert f"co-op {did('beta')} is distrusted (caught equivocating)" in text
    assert (
        "cannot be satisfied while they are distrusted (1 trusted source(s) left for k=2)" in text
    )
    assert why.steps[-1] == "mturk:R1 is not blocked"


def test_first_satisfied_rule_in_policy_order_wins() -> None:
    pol = policy(
        PEERS,
        [(["alpha", "beta", "gamma"], 2), (["delta"], 1), (["alpha"], 1)],
    )
    peers = {
        "alpha": [block("alpha", "mturk:R1"), block("alpha", "mturk:R3")],
        "beta": [block("beta", "mturk:R1")],
        "delta": [block("delta", "mturk:R1"), block("delta", "mturk:R2")],
    }
    bl = compute(peers=peers, pol=pol)
    r1, r2, r3 = (bl.get(f"mturk:R{i}") for i in (1, 2, 3))
    assert r1 is not None and r1.rule_index == 0 and adopted(r1) == dids("alpha", "beta")
    assert r2 is not None and r2.rule_index == 1 and adopted(r2) == [did("delta")]
    assert r3 is not None and r3.rule_index == 2 and adopted(r3) == [did("alpha")]
    steps = bl.explain("mturk:R3").steps
    assert sum(s.startswith("policy rule ") for s in steps) == 3
    assert any(s.startswith("policy rule 3 of 3 from [") and "adopts it" in s for s in steps)


def test_rule_sources_absent_from_peers_count_as_not_blocking() -> None:
    pol = policy(["alpha", "beta"], [(["alpha", "beta"], 2)])
    bl = compute(peers={"alpha": [block("alpha", "mturk:R1")]}, pol=pol)
    assert bl.entries == ()
    bl = compute(peers={"alpha": [block("alpha", "mturk:R1")], "beta": []}, pol=pol)
    assert bl.entries == ()


def test_unfollowed_peers_are_ignored() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)])
    bl = compute(peers={"delta": [block("delta", "mturk:R1")]}, pol=pol)
    assert bl.entries == ()
    steps = bl.explain("mturk:R1").steps
    assert (
        f"policy {pol.id.hex()} does not follow co-op {did('delta')}: its block is ignored" in steps
    )


def test_without_policy_peers_are_ignored() -> None:
    bl = compute(peers={"alpha": [block("alpha", "mturk:R1")]})
    assert bl.entries == ()
    assert "only the co-op's own blocks count" in bl.explain("mturk:R1").steps[1]


def test_policy_without_rules_adopts_nothing() -> None:
    pol = policy(["alpha"], [])
    bl = compute(peers={"alpha": [block("alpha", "mturk:R1")]}, pol=pol)
    assert bl.entries == ()
    assert (
        f"policy {pol.id.hex()} has no adopt rules: it adopts nothing"
        in bl.explain("mturk:R1").steps
    )


# --- allow and drafts ---------------------------------------------------------------------------


def test_allow_overrides_an_adopted_block() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)], allow=["mturk:R1"])
    bl = compute(peers={"alpha": [block("alpha", "mturk:R1"), block("alpha", "mturk:R2")]}, pol=pol)
    r1 = bl.get("mturk:R1")
    assert r1 is not None and r1.status is EntryStatus.ALLOWED
    assert adopted(r1) == [did("alpha")] and r1.policy == pol
    assert [str(e.requester) for e in bl.blocked()] == ["mturk:R2"]
    why = bl.explain("mturk:R1")
    assert why.status is EntryStatus.ALLOWED
    assert f"local allow override in policy {pol.id.hex()}: the adopted block is not applied" in (
        why.steps
    )


def test_allow_does_not_override_the_coops_own_block() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)], allow=["mturk:R1", "mturk:R2"])
    own1, own2 = block(HOME, "mturk:R1", "underpaid"), block(HOME, "mturk:R2", "broken")
    bl = compute(own=[own1, own2], peers={"alpha": [block("alpha", "mturk:R1")]}, pol=pol)
    r1, r2 = bl.get("mturk:R1"), bl.get("mturk:R2")
    assert r1 is not None and r2 is not None
    assert (r1.status, r2.status) == (EntryStatus.BLOCKED, EntryStatus.BLOCKED)
    # R1 is also adopted: the entry records both paths; its reason is the own block's.
    assert r1.own is not None and adopted(r1) == [did("alpha")] and r1.rule_index == 0
    assert r1.reason is FlagReason.UNDERPAID
    assert r2.adopted == () and r2.rule is None and r2.policy is None
    assert any("overrides adopted blocks only" in s for s in bl.explain("mturk:R2").steps)


def test_drafts() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)], allow=["mturk:R3"], drafts=True)
    peers = {"alpha": [block("alpha", f"mturk:R{i}") for i in (1, 2, 3)]}
    bl = compute(own=[block(HOME, "mturk:R2")], peers=peers, pol=pol)
    assert [status(bl, f"mturk:R{i}") for i in (1, 2, 3)] == [
        EntryStatus.DRAFT,
        EntryStatus.BLOCKED,
        EntryStatus.ALLOWED,
    ]
    assert [str(e.requester) for e in bl.blocked()] == ["mturk:R2"]
    why = bl.explain("mturk:R1")
    assert why.status is EntryStatus.DRAFT
    assert any("takes adopted blocks as drafts" in s for s in why.steps)


# --- reason -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (("scam",), "scam"),
        (("scam", "underpaid", "underpaid"), "underpaid"),
        (("underpaid", "scam"), "scam"),  # a tie goes to the lowest value
        (("unfair_rejection", "broken", "underpaid", "scam"), "broken"),
        (("privacy", "privacy", "broken", "broken"), "broken"),
    ],
)
def test_reason_of_an_adopted_entry(reasons: tuple[str, ...], expected: str) -> None:
    names = PEERS[: len(reasons)]
    peers = {n: [block(n, "mturk:R1", r)] for n, r in zip(names, reasons, strict=True)}
    bl = compute(peers=peers, pol=policy(names, [(names, 1)]))
    entry = bl.get("mturk:R1")
    assert entry is not None and entry.reason == FlagReason(expected)


# --- explain and export ---------------------------------------------------------------------------


def test_explain_lists_exactly_the_records() -> None:
    policy_decision = cited("policy decision")
    pol = policy(["alpha", "beta"], [(["alpha", "beta"], 2)], decision=policy_decision)
    own = block(HOME, "mturk:R1", "underpaid")
    a, b = block("alpha", "mturk:R1", flags=2), block("beta", "mturk:R1")
    bl = compute(own=[own], peers={"alpha": [a], "beta": [b]}, pol=pol)
    first, second = sorted([("alpha", a), ("beta", b)], key=lambda x: did(x[0]).encode())

    def chain(r: Record) -> list[bytes]:
        body = r.body
        assert isinstance(body, Block)
        return [r.id, *([body.decision] if body.decision else body.flags)]

    expected = (
        *chain(own),
        *chain(first[1]),
        *chain(second[1]),
        pol.id,
        policy_decision,
    )
    why = bl.explain("mturk:R1")
    assert why.records == expected
    assert len(set(expected)) == len(expected) == 2 + 3 + 2 + 2
    entry = bl.get("mturk:R1")
    assert entry is not None and entry.records == expected
    # Own-only and adopted-only entries rest on fewer records.
    bl2 = compute(own=[own], peers={"alpha": [a]}, pol=pol)
    assert bl2.explain("mturk:R1").records == tuple(chain(own))


def test_explain_steps_name_blocks_and_rules() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)])
    a = block("alpha", "mturk:A1")
    body = a.body
    assert isinstance(body, Block) and body.decision is not None
    why = compute(peers={"alpha": [a]}, pol=pol).explain(ref("mturk:A1"))
    assert why == Explanation(
        requester=ref("mturk:A1"),
        status=EntryStatus.BLOCKED,
        steps=(
            f"peer co-op {did('alpha')} blocked mturk:A1 by decision {body.decision.hex()} "
            f"(record {a.id.hex()}), reason scam, review due at {REVIEW} (Unix ms)",
            f"policy rule 1 of 1 from [{did('alpha')}] with k=1 adopts it: blocked by 1 of its "
            f"1 sources ({did('alpha')})",
            "mturk:A1 is blocked (reason scam)",
        ),
        records=(a.id, body.decision, pol.id),
    )


def test_explain_unknown_requester() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)], allow=["mturk:Z9"])
    bl = compute(own=[block(HOME, "mturk:A1")], pol=pol)
    why = bl.explain("mturk:NOBODY")
    assert why == Explanation(
        requester=ref("mturk:NOBODY"),
        status=None,
        steps=("nobody blocks mturk:NOBODY",),
        records=(),
    )
    assert bl.explain("mturk:Z9").steps == (
        "nobody blocks mturk:Z9",
        f"policy {pol.id.hex()} allow-lists mturk:Z9",
    )


def test_to_json() -> None:
    pol = policy(["alpha"], [(["alpha"], 1)])
    own = block(HOME, "mturk:A1", "underpaid", flags=2)
    a = block("alpha", "mturk:A2", "privacy")
    bl = compute(own=[own], peers={"alpha": [a]}, pol=pol)
    assert bl.to_json() == [
        {
            "policy": None,
            "reason": "underpaid",
            "requester": {"id": "A1", "platform": "mturk"},
            "rule": None,
            "sources": [
                {"block": own.id.hex(), "coop": did(HOME), "provisional": True, "review": REVIEW}
            ],
            "status": "blocked",
        },
        {
            "policy": pol.id.hex(),
            "reason": "privacy",
            "requester": {"id": "A2", "platform": "mturk"},
            "rule": {"from": [did("alpha")], "index": 0, "k": 1},
            "sources": [
                {"block": a.id.hex(), "coop": did("alpha"), "provisional": False, "review": REVIEW}
            ],
            "status": "blocked",
        },
    ]
    json.dumps(bl.to_json())  # plain JSON types only


def test_values_are_frozen() -> None:
    bl = compute(own=[block(HOME, "mturk:A1")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        bl.coop = "x"  # type: ignore[misc]
    entry = bl.entries[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.status = EntryStatus.DRAFT  # type: ignore[misc]
    assert hash(bl) == hash(compute(own=[block(HOME, "mturk:A1")]))


# --- input errors -------------------------------------------------------------------------------


def flag_record() -> Record:
    member = key("home member")
    body = Flag(
        requester=ref("mturk:R1"),
        target="requester",
        target_id=None,
        reason=FlagReason.SCAM,
        expires=REVIEW,
    )
    return sign_record(member, coop=did(HOME), ts=TS, body=body)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"own": [block("alpha", "mturk:R1")]}, LocalProtocolError, "must be a block of co-op"),
        (
            {"own": [block(HOME, "mturk:R1"), block(HOME, "mturk:R1", flags=2)]},
            LocalProtocolError,
            "two active blocks of mturk:R1",
        ),
        (
            {"own": [block(HOME, "mturk:R1"), block(HOME, "mturk:R1")]},
            LocalProtocolError,
            "two active blocks",
        ),
        ({"own": [flag_record()]}, LocalProtocolError, "got a flag record"),
        (
            {"peers": {"beta": [block("alpha", "mturk:R1")]}},
            LocalProtocolError,
            "must be a block of co-op",
        ),
        (
            {
                "peers": {
                    "alpha": [block("alpha", "mturk:R1"), block("alpha", "mturk:R1", ts=TS + 1)]
                }
            },
            LocalProtocolError,
            "two active blocks",
        ),
        ({"peers": {HOME: [block(HOME, "mturk:R1")]}}, LocalProtocolError, "go in own"),
        (
            {"pol": policy(["beta"], [(["beta"], 1)], coop="alpha")},
            LocalProtocolError,
            "policy must be co-op",
        ),
        ({"pol": block(HOME, "mturk:R1")}, LocalProtocolError, "federation.policy record"),
        ({"pol": policy([HOME, "alpha"], [(["alpha"], 1)])}, PolicyError, "follows co-op"),
        ({"pol": policy([HOME, "alpha"], [([HOME, "alpha"], 2)])}, PolicyError, "itself"),
        ({"distrusted": [HOME]}, LocalProtocolError, "its own distrusted set"),
    ],
)
def test_input_errors(kwargs: dict[str, Any], error: type[ProtocolError], message: str) -> None:
    with pytest.raises(error, match=message):
        compute(**kwargs)


def test_malformed_dids_and_values_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError, match="coop"):
        effective_blocklist(coop="did:key:nope", own=[], peers={}, policy=None)
    with pytest.raises(LocalProtocolError, match="a peer co-op"):
        effective_blocklist(coop=did(HOME), own=[], peers={"mturk:A1": []}, policy=None)
    with pytest.raises(LocalProtocolError, match="a distrusted co-op"):
        effective_blocklist(
            coop=did(HOME), own=[], peers={}, policy=None, distrusted=frozenset({"nope"})
        )
    with pytest.raises(LocalProtocolError, match="must be a Record"):
        effective_blocklist(coop=did(HOME), own=[b"bytes"], peers={}, policy=None)  # type: ignore[list-item]


def test_records_built_around_validation_are_refused() -> None:
    # Record is a plain dataclass; one assembled by hand can claim anything.
    forged = dataclasses.replace(block(HOME, "mturk:R1"), author=did("alpha"))
    with pytest.raises(LocalProtocolError, match="signed by it"):
        compute(own=[forged])
    pol = policy(["alpha"], [(["alpha"], 1)])
    body = pol.body
    assert isinstance(body, FederationPolicy)
    stray = dataclasses.replace(
        pol, body=dataclasses.replace(body, adopt=(AdoptRule(sources=(did("beta"),), k=1),))
    )
    with pytest.raises(PolicyError, match="does not follow"):
        compute(pol=stray)


def test_source_checks_its_block() -> None:
    a = block("alpha", "mturk:R1", flags=2)
    assert Source.of(a) == Source(coop=did("alpha"), block=a, provisional=True)
    with pytest.raises(LocalProtocolError, match="says True"):
        Source(coop=did("alpha"), block=a, provisional=False)
    with pytest.raises(LocalProtocolError, match="a block that co-op signed"):
        Source(coop=did("beta"), block=a, provisional=True)
    with pytest.raises(LocalProtocolError, match="got a flag record"):
        Source.of(flag_record())


def test_blocklist_refuses_unsorted_entries() -> None:
    bl = compute(own=[block(HOME, "mturk:A1"), block(HOME, "mturk:A2")])
    with pytest.raises(LocalProtocolError, match="sorted"):
        Blocklist(coop=bl.coop, entries=bl.entries[::-1])


# --- spec vectors -------------------------------------------------------------------------------


def load_case(case: dict[str, Any]) -> dict[str, Any]:
    def rec(h: str) -> Record:
        return Record.from_bytes(bytes.fromhex(h))

    return {
        "coop": case["coop"],
        "own": [rec(h) for h in case["own"]],
        "peers": {d: [rec(h) for h in hs] for d, hs in case["peers"].items()},
        "policy": rec(case["policy"]) if case["policy"] is not None else None,
        "distrusted": frozenset(case["distrusted"]),
    }


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["name"])
def test_valid_vectors(case: dict[str, Any]) -> None:
    bl = effective_blocklist(**load_case(case))
    assert bl.to_json() == case["expected"]["entries"]
    for item in case["expected"]["explain"]:
        why = bl.explain(RequesterRef.from_value(item["requester"]))
        assert (why.status.value if why.status is not None else None) == item["status"]
        assert [i.hex() for i in why.records] == item["records"]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_vectors(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        effective_blocklist(**load_case(case))
    assert caught.value.code == case["error"]


def test_vectors_file_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location("gen_blocklist", VECTORS_DIR / "gen_blocklist.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = json.dumps(module.generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert fresh == (VECTORS_DIR / "blocklist.json").read_text(encoding="utf-8")


# --- properties -------------------------------------------------------------------------------

REQUESTERS = ("mturk:A1", "mturk:a1", "mturk:B2", "prolific:x")
REASONS = ("broken", "scam", "underpaid")


@dataclasses.dataclass(frozen=True)
class Scenario:
    blocks: dict[str, dict[str, tuple[str, int]]]  # co-op -> requester -> (reason, flags)
    present: frozenset[str]  # peers given in the mapping (possibly with no blocks)
    policy: dict[str, Any] | None
    distrusted: frozenset[str]

    def records(self, coop: str) -> list[Record]:
        return [
            block(coop, r, reason, flags)
            for r, (reason, flags) in sorted(self.blocks.get(coop, {}).items())
        ]

    def peers(self) -> dict[str, list[Record]]:
        return {n: self.records(n) for n in sorted(self.present)}

    def policy_record(self) -> Record | None:
        return policy(**self.policy) if self.policy is not None else None

    def run(self, **changes: Any) -> Blocklist:
        args: dict[str, Any] = {
            "own": self.records(HOME),
            "peers": self.peers(),
            "pol": self.policy_record(),
            "distrusted": self.distrusted,
        }
        args.update(changes)
        return compute(**args)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    per_coop = st.dictionaries(
        st.sampled_from(REQUESTERS),
        st.tuples(st.sampled_from(REASONS), st.sampled_from((0, 2))),
        max_size=len(REQUESTERS),
    )
    blocks = {n: draw(per_coop) for n in (HOME, *PEERS)}
    pol = None
    if draw(st.booleans()):
        follow = sorted(draw(st.sets(st.sampled_from(PEERS))))
        rules = []
        if follow:
            for _ in range(draw(st.integers(0, 3))):
                sources = sorted(draw(st.sets(st.sampled_from(follow), min_size=1)))
                rules.append((sources, draw(st.integers(1, len(sources)))))
        pol = {
            "follow": follow,
            "adopt": rules,
            "allow": sorted(draw(st.sets(st.sampled_from(REQUESTERS)))),
            "drafts": draw(st.booleans()),
        }
    return Scenario(
        blocks=blocks,
        present=frozenset(draw(st.sets(st.sampled_from(PEERS)))),
        policy=pol,
        distrusted=frozenset(draw(st.sets(st.sampled_from(PEERS)))),
    )


def model(sc: Scenario) -> dict[str, tuple[str, bool, list[str], int | None]]:
    """The rules of spec/blocklists.md, restated as simply as possible."""
    out = {}
    for req in REQUESTERS:
        own = req in sc.blocks[HOME]
        rule_index, by = None, []
        if sc.policy is not None:
            for i, (sources, k) in enumerate(sc.policy["adopt"]):
                counted = [
                    s
                    for s in sources
                    if s in sc.present and s not in sc.distrusted and req in sc.blocks[s]
                ]
                if len(counted) >= k:
                    rule_index, by = i, counted
                    break
        if own:
            state = "blocked"
        elif rule_index is None:
            continue
        elif req in sc.policy["allow"]:  # type: ignore[index]
            state = "allowed"
        elif sc.policy["drafts"]:  # type: ignore[index]
            state = "draft"
        else:
            state = "blocked"
        out[req] = (state, own, sorted(did(n) for n in by), rule_index)
    return out


def summary(bl: Blocklist) -> dict[str, tuple[str, bool, list[str], int | None]]:
    return {
        str(e.requester): (e.status.value, e.own is not None, sorted(adopted(e)), e.rule_index)
        for e in bl.entries
    }


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_matches_the_model(sc: Scenario) -> None:
    bl = sc.run()
    assert summary(bl) == model(sc)
    for entry in bl.entries:
        if entry.own is None:
            assert entry.rule is not None
            assert len(entry.adopted) >= entry.rule.k
        for s in entry.adopted:
            assert s.coop not in bl.distrusted
            assert entry.rule is not None and s.coop in entry.rule.sources


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_independent_of_input_order(sc: Scenario, rnd: Any) -> None:
    own = sc.records(HOME)
    peers = [(n, sc.records(n)) for n in sc.present]
    rnd.shuffle(own)
    rnd.shuffle(peers)
    for _, rs in peers:
        rnd.shuffle(rs)
    assert sc.run(own=own, peers=dict(peers)) == sc.run()


@settings(max_examples=100, deadline=None)
@given(
    scenarios(),
    st.sampled_from(PEERS),
    st.dictionaries(
        st.sampled_from(REQUESTERS), st.tuples(st.sampled_from(REASONS), st.sampled_from((0, 2)))
    ),
)
def test_distrusted_blocks_never_add_an_entry(
    sc: Scenario, liar: str, lies: dict[str, tuple[str, int]]
) -> None:
    distrusted = sc.distrusted | {liar}
    without = sc.run(
        peers={n: rs for n, rs in sc.peers().items() if n != liar}, distrusted=distrusted
    )
    liar_blocks = [block(liar, r, reason, flags) for r, (reason, flags) in sorted(lies.items())]
    with_lies = sc.run(peers={**sc.peers(), liar: liar_blocks}, distrusted=distrusted)
    assert with_lies.entries == without.entries


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.sampled_from(PEERS))
def test_more_distrust_never_adds_an_entry(sc: Scenario, extra: str) -> None:
    before = sc.run()
    after = sc.run(distrusted=sc.distrusted | {extra})
    # Distrust can move an adoption to a later rule, but never puts a requester on the list
    # or changes what the list does with it.
    for entry in after.entries:
        old = before.get(entry.requester)
        assert old is not None
        assert old.status is entry.status


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_explain_agrees_with_entries(sc: Scenario) -> None:
    bl = sc.run()
    for req in REQUESTERS:
        why = bl.explain(req)
        entry = bl.get(req)
        assert why.requester == ref(req)
        if entry is None:
            assert why.status is None and why.records == ()
            continue
        expected: list[bytes] = []
        for s in entry.sources:
            expected += [s.block.id, *s.block.body.references()]
        if entry.policy is not None:
            expected += [entry.policy.id, *entry.policy.body.references()]
        assert why.status is entry.status
        assert why.records == tuple(expected)
        assert entry.own is None or why.steps[0].startswith(f"this co-op {did(HOME)} ")
        for r in (i for src in entry.sources for i in src.records):
            assert any(r.hex() in step for step in why.steps)
