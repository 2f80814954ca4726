"""Vectors for effective blocklists (spec/blocklists.md): signed blocks and policy in, entries out.

Each case below states its inputs by name (who blocks which requester, on what evidence; the
policy; who is distrusted) and states the expected blocklist by hand: which requesters are on
it, with which status, own block, adopting co-ops, rule and reason. This script signs the
records from fixed seeds and derives the JSON of the expected entries and the record ids of
each explanation from those declarations and the rules of spec/blocklists.md. It never calls
coopfed.protocol.blocklist, so the vectors check the library rather than echo it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

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
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record

SEED_LABEL = "coopfed/vectors/blocklist/v1/"
TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
REVIEW = TS + 90 * DAY_MS
HOME = "home"
NAMES = ("home", "alpha", "beta", "gamma", "delta")


def seed(name: str) -> bytes:
    return hashlib.sha256((SEED_LABEL + name).encode()).digest()


def stand_in(label: str) -> bytes:
    """A stand-in id for a cited record (a decision, a flag) that the vectors do not include."""
    return hashlib.sha256((SEED_LABEL + "cited/" + label).encode()).digest()


KEYS = {name: SigningIdentity(seed(name)) for name in NAMES}
DID = {name: key.did for name, key in KEYS.items()}


def did_key(name: str) -> bytes:
    return DID[name].encode()


def ref(text: str) -> RequesterRef:
    return RequesterRef.parse(text)


def ref_key(text: str) -> tuple[bytes, bytes]:
    r = ref(text)
    return (r.platform.encode(), r.id.encode())


def block(coop: str, requester: str, reason: str, evidence: str | int, ts: int = TS) -> Record:
    """``evidence`` is ``"decision"`` or a number of member flags (a provisional block)."""
    if evidence == "decision":
        body = Block(
            requester=ref(requester),
            reason=FlagReason(reason),
            provisional=False,
            review=REVIEW,
            decision=stand_in(f"decision/{coop}/{requester}"),
        )
    else:
        assert isinstance(evidence, int)
        flags = sorted(stand_in(f"flag/{coop}/{requester}/{i}") for i in range(evidence))
        body = Block(
            requester=ref(requester),
            reason=FlagReason(reason),
            provisional=True,
            review=REVIEW,
            flags=tuple(flags),
        )
    return sign_record(KEYS[coop], coop=DID[coop], ts=ts, body=body)


def policy(
    follow: list[str],
    adopt: list[tuple[list[str], int]],
    allow: tuple[str, ...] = (),
    drafts: bool = False,
    decision: bool = False,
    coop: str = HOME,
) -> Record:
    body = FederationPolicy(
        follow=tuple(Follow(coop=DID[n]) for n in sorted(follow, key=did_key)),
        adopt=tuple(
            AdoptRule(sources=tuple(DID[n] for n in sorted(src, key=did_key)), k=k)
            for src, k in adopt
        ),
        allow=tuple(ref(a) for a in sorted(allow, key=ref_key)),
        drafts=drafts,
        decision=stand_in(f"decision/{coop}/policy") if decision else None,
    )
    return sign_record(KEYS[coop], coop=DID[coop], ts=TS, body=body)


# --------------------------------------------------------------------------- valid cases
# blocks: co-op name -> [(requester, reason, evidence)]; "home" is the co-op itself.
# expect: one dict per entry (any order): requester, status, own, adopted (co-op names),
# rule (0-based index into the policy's adopt array, or None), reason.

VALID: list[dict[str, Any]] = [
    {
        "name": "own_blocks_only_without_policy",
        "description": "No policy: the co-op's own blocks, decided and provisional, and nothing "
        "from peers. Entries sort bytewise (upper case before lower case).",
        "blocks": {
            "home": [
                ("mturk:a1", "scam", "decision"),
                ("mturk:B2", "underpaid", 3),
                ("prolific:5f00aa", "unfair_rejection", "decision"),
            ],
            "alpha": [("mturk:C3", "broken", "decision")],
        },
        "policy": None,
        "expect": [
            {"requester": "mturk:B2", "status": "blocked", "own": True, "reason": "underpaid"},
            {"requester": "mturk:a1", "status": "blocked", "own": True, "reason": "scam"},
            {
                "requester": "prolific:5f00aa",
                "status": "blocked",
                "own": True,
                "reason": "unfair_rejection",
            },
        ],
        "not_listed": ["mturk:C3", "mturk:NOBODY"],
    },
    {
        "name": "two_of_three_boundary",
        "description": "Adopt when 2 of alpha, beta, gamma block: one blocker is not enough, "
        "two are, three list all three. Reason: the most common, ties to the lowest value.",
        "blocks": {
            "alpha": [
                ("mturk:R1", "underpaid", "decision"),
                ("mturk:R2", "scam", "decision"),
                ("mturk:R3", "broken", 2),
            ],
            "beta": [("mturk:R1", "scam", 2), ("mturk:R3", "scam", "decision")],
            "gamma": [("mturk:R3", "scam", "decision")],
        },
        "policy": {
            "follow": ["alpha", "beta", "gamma"],
            "adopt": [(["alpha", "beta", "gamma"], 2)],
        },
        "expect": [
            {
                "requester": "mturk:R1",
                "status": "blocked",
                "adopted": ["alpha", "beta"],
                "rule": 0,
                "reason": "scam",
            },
            {
                "requester": "mturk:R3",
                "status": "blocked",
                "adopted": ["alpha", "beta", "gamma"],
                "rule": 0,
                "reason": "scam",
            },
        ],
        "not_listed": ["mturk:R2"],
    },
    {
        "name": "distrusted_source_not_counted",
        "description": "2 of alpha, beta, gamma with beta distrusted: alpha and beta are not "
        "enough; alpha and gamma are, and beta's block is not listed among the adopted.",
        "blocks": {
            "alpha": [
                ("mturk:R1", "scam", "decision"),
                ("mturk:R2", "scam", "decision"),
                ("mturk:R3", "broken", "decision"),
            ],
            "beta": [("mturk:R1", "scam", "decision"), ("mturk:R3", "broken", "decision")],
            "gamma": [("mturk:R2", "underpaid", "decision"), ("mturk:R3", "broken", 4)],
        },
        "policy": {
            "follow": ["alpha", "beta", "gamma"],
            "adopt": [(["alpha", "beta", "gamma"], 2)],
        },
        "distrusted": ["beta"],
        "expect": [
            {
                "requester": "mturk:R2",
                "status": "blocked",
                "adopted": ["alpha", "gamma"],
                "rule": 0,
                "reason": "scam",
            },
            {
                "requester": "mturk:R3",
                "status": "blocked",
                "adopted": ["alpha", "gamma"],
                "rule": 0,
                "reason": "broken",
            },
        ],
        "not_listed": ["mturk:R1"],
    },
    {
        "name": "distrust_fails_closed",
        "description": "2 of alpha, beta with beta distrusted leaves one trusted source for k=2: "
        "the rule adopts nothing (k is never lowered), even where both block.",
        "blocks": {
            "alpha": [("mturk:R1", "scam", "decision")],
            "beta": [("mturk:R1", "scam", "decision")],
        },
        "policy": {"follow": ["alpha", "beta"], "adopt": [(["alpha", "beta"], 2)]},
        "distrusted": ["beta"],
        "expect": [],
        "not_listed": ["mturk:R1"],
    },
    {
        "name": "first_satisfied_rule_wins",
        "description": "Rules [2 of alpha, beta, gamma] then [1 of delta]; the policy cites the "
        "decision that adopted it, so explanations name that decision too.",
        "blocks": {
            "alpha": [("mturk:R1", "scam", "decision"), ("mturk:R3", "scam", "decision")],
            "beta": [("mturk:R1", "scam", "decision")],
            "delta": [("mturk:R1", "broken", "decision"), ("mturk:R2", "privacy", 2)],
        },
        "policy": {
            "follow": ["alpha", "beta", "gamma", "delta"],
            "adopt": [(["alpha", "beta", "gamma"], 2), (["delta"], 1)],
            "decision": True,
        },
        "expect": [
            {
                "requester": "mturk:R1",
                "status": "blocked",
                "adopted": ["alpha", "beta"],
                "rule": 0,
                "reason": "scam",
            },
            {
                "requester": "mturk:R2",
                "status": "blocked",
                "adopted": ["delta"],
                "rule": 1,
                "reason": "privacy",
            },
        ],
        "not_listed": ["mturk:R3"],
    },
    {
        "name": "allow_overrides_adopted_only",
        "description": "The allow list suppresses an adopted block (status allowed) but not the "
        "co-op's own block, which stands with the adoption recorded beside it.",
        "blocks": {
            "home": [("mturk:R2", "underpaid", "decision")],
            "alpha": [
                ("mturk:R1", "scam", "decision"),
                ("mturk:R2", "scam", "decision"),
                ("mturk:R3", "harmful_content", 2),
            ],
        },
        "policy": {
            "follow": ["alpha"],
            "adopt": [(["alpha"], 1)],
            "allow": ("mturk:R1", "mturk:R2", "mturk:R9"),
        },
        "expect": [
            {
                "requester": "mturk:R1",
                "status": "allowed",
                "adopted": ["alpha"],
                "rule": 0,
                "reason": "scam",
            },
            {
                "requester": "mturk:R2",
                "status": "blocked",
                "own": True,
                "adopted": ["alpha"],
                "rule": 0,
                "reason": "underpaid",
            },
            {
                "requester": "mturk:R3",
                "status": "blocked",
                "adopted": ["alpha"],
                "rule": 0,
                "reason": "harmful_content",
            },
        ],
        "not_listed": ["mturk:R9"],
    },
    {
        "name": "drafts",
        "description": "With drafts, adopted blocks are drafts; own blocks stay blocked; an "
        "allow still wins over a draft.",
        "blocks": {
            "home": [("mturk:R2", "scam", 2)],
            "alpha": [
                ("mturk:R1", "terms_violation", "decision"),
                ("mturk:R2", "scam", "decision"),
                ("mturk:R3", "scam", "decision"),
            ],
        },
        "policy": {
            "follow": ["alpha"],
            "adopt": [(["alpha"], 1)],
            "allow": ("mturk:R3",),
            "drafts": True,
        },
        "expect": [
            {
                "requester": "mturk:R1",
                "status": "draft",
                "adopted": ["alpha"],
                "rule": 0,
                "reason": "terms_violation",
            },
            {
                "requester": "mturk:R2",
                "status": "blocked",
                "own": True,
                "adopted": ["alpha"],
                "rule": 0,
                "reason": "scam",
            },
            {
                "requester": "mturk:R3",
                "status": "allowed",
                "adopted": ["alpha"],
                "rule": 0,
                "reason": "scam",
            },
        ],
        "not_listed": [],
    },
    {
        "name": "unfollowed_peer_and_no_rules",
        "description": "A policy that follows alpha and adopts nothing: alpha's block is not "
        "adopted; delta's block is ignored because delta is not followed.",
        "blocks": {
            "home": [("mturk:R3", "scam", "decision")],
            "alpha": [("mturk:R1", "scam", "decision")],
            "delta": [("mturk:R1", "scam", "decision"), ("mturk:R2", "scam", "decision")],
        },
        "policy": {"follow": ["alpha"], "adopt": []},
        "expect": [{"requester": "mturk:R3", "status": "blocked", "own": True, "reason": "scam"}],
        "not_listed": ["mturk:R1", "mturk:R2"],
    },
]


def records_of(case: dict[str, Any]) -> dict[str, dict[str, Record]]:
    """Every co-op's block records in a case, by co-op name and requester."""
    return {
        coop: {r: block(coop, r, reason, ev) for r, reason, ev in items}
        for coop, items in case["blocks"].items()
    }


def source_ids(rec: Record) -> list[bytes]:
    body = rec.body
    assert isinstance(body, Block)
    cited = [body.decision] if body.decision is not None else list(body.flags)
    return [rec.id, *cited]


def source_json(coop: str, rec: Record) -> dict[str, Any]:
    body = rec.body
    assert isinstance(body, Block)
    return {
        "block": rec.id.hex(),
        "coop": DID[coop],
        "provisional": body.provisional,
        "review": body.review,
    }


def valid_case(case: dict[str, Any]) -> dict[str, Any]:
    recs = records_of(case)
    pol = case["policy"]
    pol_rec = policy(**pol) if pol is not None else None
    entries = []
    explain = []
    for exp in sorted(case["expect"], key=lambda e: ref_key(e["requester"])):
        req = exp["requester"]
        sources = [HOME] if exp.get("own") else []
        sources += sorted(exp.get("adopted", []), key=did_key)
        ids = [i for coop in sources for i in source_ids(recs[coop][req])]
        rule = None
        if exp.get("rule") is not None:
            assert pol_rec is not None
            src, k = pol["adopt"][exp["rule"]]
            rule = {
                "from": sorted((DID[n] for n in src), key=str.encode),
                "index": exp["rule"],
                "k": k,
            }
            ids += [pol_rec.id, *pol_rec.body.references()]
        entries.append(
            {
                "policy": pol_rec.id.hex() if rule is not None and pol_rec is not None else None,
                "reason": exp["reason"],
                "requester": ref(req).to_value(),
                "rule": rule,
                "sources": [source_json(c, recs[c][req]) for c in sources],
                "status": exp["status"],
            }
        )
        explain.append(
            {
                "records": [i.hex() for i in dict.fromkeys(ids)],
                "requester": ref(req).to_value(),
                "status": exp["status"],
            }
        )
    for req in case["not_listed"]:
        explain.append({"records": [], "requester": ref(req).to_value(), "status": None})
    return {
        "name": case["name"],
        "description": case["description"],
        "coop": DID[HOME],
        "own": [r.raw.hex() for r in recs.get(HOME, {}).values()],
        "peers": {
            DID[c]: [r.raw.hex() for r in by_req.values()]
            for c, by_req in sorted(recs.items(), key=lambda kv: did_key(kv[0]))
            if c != HOME
        },
        "policy": pol_rec.raw.hex() if pol_rec is not None else None,
        "distrusted": sorted((DID[n] for n in case.get("distrusted", [])), key=str.encode),
        "expected": {"entries": entries, "explain": explain},
    }


# --------------------------------------------------------------------------- invalid cases


def invalid_cases() -> list[dict[str, Any]]:
    a1 = block("alpha", "mturk:R1", "scam", "decision")
    h1 = block("home", "mturk:R1", "scam", "decision")
    h1b = block("home", "mturk:R1", "underpaid", 2, ts=TS + 1)
    a1b = block("alpha", "mturk:R1", "broken", 2, ts=TS + 1)
    member = SigningIdentity(seed("home/member/1"))
    flag = sign_record(
        member,
        coop=DID[HOME],
        ts=TS,
        body=Flag(
            requester=ref("mturk:R1"),
            target="requester",
            target_id=None,
            reason=FlagReason.SCAM,
            expires=REVIEW,
        ),
    )
    follows_alpha = policy(["alpha"], [(["alpha"], 1)])
    alphas_policy = policy(["beta"], [(["beta"], 1)], coop="alpha")
    follows_itself = policy(["alpha", "home"], [(["alpha"], 1)])

    def case(
        name: str,
        description: str,
        error: str,
        *,
        own: Sequence[Record] = (),
        peers: dict[str, list[Record]] | None = None,
        pol: Record | None = None,
        distrusted: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "error": error,
            "coop": DID[HOME],
            "own": [r.raw.hex() for r in own],
            "peers": {DID[c]: [r.raw.hex() for r in rs] for c, rs in (peers or {}).items()},
            "policy": pol.raw.hex() if pol is not None else None,
            "distrusted": sorted(DID[n] for n in distrusted),
        }

    return [
        case("own_block_of_another_coop", "own holds alpha's block", "local_error", own=[a1]),
        case(
            "own_two_active_blocks",
            "two active own blocks of one requester",
            "local_error",
            own=[h1, h1b],
        ),
        case("own_not_a_block", "own holds a member's flag record", "local_error", own=[flag]),
        case(
            "peer_block_under_wrong_coop",
            "peers[beta] holds alpha's block",
            "local_error",
            peers={"beta": [a1]},
        ),
        case(
            "peer_two_active_blocks",
            "alpha has two active blocks of one requester",
            "local_error",
            peers={"alpha": [a1, a1b]},
        ),
        case(
            "peers_holds_the_coop_itself",
            "the co-op's own blocks given as a peer's",
            "local_error",
            peers={"home": [h1]},
        ),
        case(
            "policy_of_another_coop",
            "the policy is alpha's, not the co-op's",
            "local_error",
            pol=alphas_policy,
        ),
        case("policy_not_a_policy", "a block record given as the policy", "local_error", pol=h1),
        case(
            "policy_follows_itself",
            "the policy follows the co-op itself",
            "bad_policy",
            pol=follows_itself,
        ),
        case(
            "distrusts_itself",
            "the co-op is in its own distrusted set",
            "local_error",
            pol=follows_alpha,
            distrusted=("home",),
        ),
    ]


def generate() -> dict[str, Any]:
    return {
        "provenance": {
            "generator": "spec/vectors/gen_blocklist.py",
            "spec": "spec/blocklists.md",
            "seeds": f'each identity\'s Ed25519 seed is SHA-256("{SEED_LABEL}" + name)',
            "cited": f"decision and flag ids cited by blocks and policies are stand-ins, "
            f'SHA-256("{SEED_LABEL}cited/" + label); the blocklist only copies them',
            "ts": TS,
            "notes": "Records are the canonical bytes of signed records, hex. 'own' and each "
            "'peers' list are that co-op's active blocks. Expected entries are the "
            "Blocklist.to_json() form; explain lists, per requester, the status (null: not on "
            "the list) and the exact record ids the verdict rests on, in order. Errors are "
            "ProtocolError codes: local_error (caller broke the input contract), bad_policy.",
        },
        "identities": {name: {"did": DID[name], "seed": seed(name).hex()} for name in NAMES},
        "valid": [valid_case(c) for c in VALID],
        "invalid": invalid_cases(),
    }
