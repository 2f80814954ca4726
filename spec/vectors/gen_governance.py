"""Vectors for spec/governance.md: tallies, decisions, the idea launch rule, provisional blocks.

Every record is signed from a fixed seed, so the bytes are the same on every run (Ed25519
signatures are deterministic). Each tally case states its key results by hand (``want``)
and the generator checks the implementation agrees before writing anything, so the file is
not merely a copy of what the code happens to do.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from coopfed.protocol.bodies import (
    DAY_MS,
    Ballot,
    BlockRule,
    Charter,
    Decision,
    Delegation,
    Flag,
    FlagReason,
    Proposal,
    ProposalKind,
    RequesterRef,
)
from coopfed.protocol.errors import LocalProtocolError, ProtocolError, RecordRejected, TallyError
from coopfed.protocol.governance import (
    Tally,
    ballots_root,
    check_decision,
    idea_launched,
    provisional_block_flags,
    tally,
)
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import Record, sign_record

SEED_PREFIX = b"coopfed/vectors/governance/"
HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
OPENS = T0 + HOUR_MS
CLOSES = OPENS + 3 * DAY_MS


def identity(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(SEED_PREFIX + name.encode()).digest())


COOP = identity("coop")
OTHER_COOP = identity("other-coop")
MEMBERS = [identity(f"member-{i}") for i in range(8)]
OUTSIDER = identity("outsider")
REQ = RequesterRef(platform="mturk", id="A1REQUESTER")
REQ2 = RequesterRef(platform="prolific", id="5f00aa")


def charter_body(**changes: Any) -> Charter:
    base = Charter(
        name="Vector Workers Co-op",
        quorum_pct=30,
        pass_pct=50,
        amend_pct=75,
        min_window_ms=HOUR_MS,
        max_window_ms=14 * DAY_MS,
        idea_up=3,
        block_rule=BlockRule(flags=3, days=7, review_days=14),
        min_pay_cents=1200,
        admission="vote",
    )
    return replace(base, **changes)


CHARTER_BODY = charter_body()
CHARTER = sign_record(COOP, coop=COOP.did, ts=T0, body=CHARTER_BODY)
#: The same rules with delegation allowed (governance.md §6).
DELEGATING = sign_record(COOP, coop=COOP.did, ts=T0 + 2, body=charter_body(delegation=True))


def roster(n: int) -> list[str]:
    return sorted(m.did for m in MEMBERS[:n])


def proposal(kind: ProposalKind, **extra: Any) -> Record:
    fields: dict[str, Any] = {}
    if kind is ProposalKind.BLOCK:
        fields = {"requester": REQ, "reason": FlagReason.UNDERPAID}
    elif kind is ProposalKind.UNBLOCK:
        fields = {"requester": REQ}
    elif kind in (ProposalKind.ADMIT, ProposalKind.REVOKE):
        fields = {"member": OUTSIDER.did if kind is ProposalKind.ADMIT else MEMBERS[7].did}
    elif kind is ProposalKind.AMEND:
        fields = {"charter": charter_body(quorum_pct=40)}
    elif kind is ProposalKind.ELECT:
        fields = {"role": "secretary", "candidates": candidates()}
    fields.update(extra)
    body = Proposal(
        kind=kind, pitch=f"A {kind.value} proposal", opens=OPENS, closes=CLOSES, **fields
    )
    return sign_record(MEMBERS[0], coop=COOP.did, ts=OPENS - 1000, body=body)


def candidates() -> tuple[str, ...]:
    return tuple(sorted((MEMBERS[1].did, MEMBERS[2].did, MEMBERS[3].did), key=lambda d: d.encode()))


def ballot(
    prop: Record,
    who: SigningIdentity,
    choice: str,
    at: int = OPENS + 1,
    coop: SigningIdentity = COOP,
) -> Record:
    return sign_record(who, coop=coop.did, ts=at, body=Ballot(proposal=prop.id, choice=choice))


def votes(prop: Record, *choices: str) -> list[Record]:
    """One ballot per member, in member order, an hour apart."""
    return [ballot(prop, MEMBERS[i], c, OPENS + (i + 1) * HOUR_MS) for i, c in enumerate(choices)]


def hexes(items: Any) -> list[str]:
    return [x.hex() for x in items]


def tally_json(t: Tally) -> dict[str, Any]:
    return {
        "proposal_id": t.proposal_id.hex(),
        "charter_id": t.charter_id.hex(),
        "roster_size": t.roster_size,
        "roster_root": t.roster_root.hex(),
        "counts": [[k, n] for k, n in t.counts],
        "counted": hexes(t.counted),
        "ballots_root": t.ballots_root.hex(),
        "quorum_needed": t.quorum_needed,
        "quorum_met": t.quorum_met,
        "result": t.result,
        "winner": t.winner,
        "closed": t.closed,
        "ignored": [[i.hex(), r] for i, r in t.ignored],
        "delegated": hexes(t.delegated),
        "delegations_root": None if t.delegations_root is None else t.delegations_root.hex(),
    }


def inputs(
    charter: Record,
    members: list[str],
    prop: Record,
    ballots: list[Record],
    now_ms: int,
    delegations: list[Record] | None = None,
) -> dict[str, Any]:
    return {
        "charter": charter.raw.hex(),
        "charter_id": charter.id.hex(),
        "roster": members,
        "proposal": prop.raw.hex(),
        "ballots": [b.raw.hex() for b in ballots],
        "delegations": [d.raw.hex() for d in delegations or []],
        "now_ms": now_ms,
    }


def delegation(who: SigningIdentity, to: SigningIdentity | None, at: int = OPENS - 2000) -> Record:
    """``who`` delegates to ``to`` (None: ends their delegation) before the proposal."""
    body = Delegation(to=None if to is None else to.did)
    return sign_record(who, coop=COOP.did, ts=at, body=body)


def run(case: dict[str, Any]) -> Tally:
    charter = Record.from_bytes(bytes.fromhex(case["charter"]))
    assert isinstance(charter.body, Charter)
    return tally(
        charter=charter.body,
        charter_id=bytes.fromhex(case["charter_id"]),
        roster=frozenset(case["roster"]),
        proposal=Record.from_bytes(bytes.fromhex(case["proposal"])),
        ballots=[Record.from_bytes(bytes.fromhex(b)) for b in case["ballots"]],
        now_ms=case["now_ms"],
        delegations=[Record.from_bytes(bytes.fromhex(d)) for d in case["delegations"]],
    )


def decision_record(body: Decision, ts: int = CLOSES + HOUR_MS) -> Record:
    return sign_record(COOP, coop=COOP.did, ts=ts, body=body)


# --------------------------------------------------------------------------- tally cases


def tally_cases() -> list[dict[str, Any]]:
    block = proposal(ProposalKind.BLOCK)
    unblock = proposal(ProposalKind.UNBLOCK)
    admit = proposal(ProposalKind.ADMIT)
    revoke = proposal(ProposalKind.REVOKE)
    amend = proposal(ProposalKind.AMEND)
    elect = proposal(ProposalKind.ELECT)
    idea = proposal(ProposalKind.IDEA)
    c1, c2, c3 = candidates()
    after = CLOSES + HOUR_MS
    charter_q100 = sign_record(
        COOP, coop=COOP.did, ts=T0 + 1, body=charter_body(quorum_pct=100, pass_pct=66, amend_pct=66)
    )
    m = MEMBERS

    cases: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
        (
            "block passed",
            "2 yes, 1 no of 5 members; quorum ceil(30*5/100) = 2",
            inputs(CHARTER, roster(5), block, votes(block, "yes", "yes", "no"), after),
            {"result": "passed", "quorum_needed": 2, "counts": {"abstain": 0, "no": 1, "yes": 2}},
        ),
        (
            "block 50% tie rejected",
            "pass_pct 50: 2 yes, 2 no is 200 > 200, false",
            inputs(CHARTER, roster(5), block, votes(block, "yes", "no", "yes", "no"), after),
            {"result": "rejected", "counts": {"abstain": 0, "no": 2, "yes": 2}},
        ),
        (
            "block abstain only counts for quorum",
            "1 yes, 0 no, 3 abstain: passed",
            inputs(
                CHARTER,
                roster(5),
                block,
                votes(block, "yes", "abstain", "abstain", "abstain"),
                after,
            ),
            {"result": "passed", "counts": {"abstain": 3, "no": 0, "yes": 1}},
        ),
        (
            "all abstain rejected",
            "quorum met but yes+no = 0: rejected",
            inputs(CHARTER, roster(5), block, votes(block, "abstain", "abstain"), after),
            {"result": "rejected", "quorum_met": True},
        ),
        (
            "quorum 30% of 7 is 3, two ballots",
            "ceil(210/100) = 3; 2 counted: no_quorum",
            inputs(CHARTER, roster(7), block, votes(block, "yes", "yes"), after),
            {"result": "no_quorum", "quorum_needed": 3, "quorum_met": False},
        ),
        (
            "quorum 30% of 7 is 3, three ballots",
            "an abstention completes the quorum",
            inputs(CHARTER, roster(7), block, votes(block, "yes", "yes", "abstain"), after),
            {"result": "passed", "quorum_needed": 3, "quorum_met": True},
        ),
        (
            "quorum 100% of 7",
            "every member must vote",
            inputs(charter_q100, roster(7), block, votes(block, *["yes"] * 6), after),
            {"result": "no_quorum", "quorum_needed": 7},
        ),
        (
            "pass_pct 66: 2 of 3 passes",
            "200 > 198",
            inputs(charter_q100, roster(3), block, votes(block, "yes", "yes", "no"), after),
            {"result": "passed", "quorum_needed": 3},
        ),
        (
            "amend at exactly 75% rejected",
            "amend_pct 75: 3 yes 1 no is 300 > 300, false",
            inputs(CHARTER, roster(5), amend, votes(amend, "yes", "yes", "yes", "no"), after),
            {"result": "rejected"},
        ),
        (
            "amend above 75% passed",
            "4 yes 1 no: 400 > 375",
            inputs(
                CHARTER, roster(5), amend, votes(amend, "yes", "yes", "yes", "yes", "no"), after
            ),
            {"result": "passed"},
        ),
        (
            "revoke uses amend_pct",
            "3 yes 1 no under amend_pct 75: rejected",
            inputs(CHARTER, roster(7), revoke, votes(revoke, "yes", "no", "yes", "yes"), after),
            {"result": "rejected"},
        ),
        (
            "unblock uses pass_pct",
            "the same 3 yes 1 no under pass_pct 50: passed",
            inputs(CHARTER, roster(7), unblock, votes(unblock, "yes", "no", "yes", "yes"), after),
            {"result": "passed"},
        ),
        (
            "admit passed",
            "admit uses pass_pct",
            inputs(CHARTER, roster(4), admit, votes(admit, "yes", "no", "yes"), after),
            {"result": "passed"},
        ),
        (
            "elect winner",
            "plurality: c2 has 2, c1 has 1",
            inputs(CHARTER, roster(6), elect, votes(elect, c2, c1, c2, "abstain"), after),
            {"result": "elected", "winner": c2, "counts": {c1: 1, c2: 2, c3: 0, "abstain": 1}},
        ),
        (
            "elect tie for first",
            "c1 and c3 have 2 each",
            inputs(CHARTER, roster(6), elect, votes(elect, c1, c3, c1, c3, c2), after),
            {"result": "tied", "winner": None},
        ),
        (
            "elect only abstentions",
            "zero votes for candidates: tied",
            inputs(CHARTER, roster(4), elect, votes(elect, "abstain", "abstain"), after),
            {"result": "tied", "quorum_met": True},
        ),
        (
            "elect no quorum",
            "1 of 8 voted",
            inputs(CHARTER, roster(8), elect, votes(elect, c1), after),
            {"result": "no_quorum", "quorum_needed": 3},
        ),
        (
            "idea up equals idea_up",
            "3 up with idea_up 3: not launched",
            inputs(CHARTER, roster(8), idea, votes(idea, "up", "up", "up"), after),
            {"result": "not_launched", "counts": {"down": 0, "up": 3}},
        ),
        (
            "idea launched on a tie of up and down",
            "4 up, 4 down: 4 > 3 and 8 >= 8",
            inputs(CHARTER, roster(8), idea, votes(idea, *["up", "down"] * 4), after),
            {"result": "launched"},
        ),
        (
            "idea more down than up",
            "4 up, 5 down: not launched",
            inputs(
                CHARTER,
                roster(8) + sorted([OUTSIDER.did]),
                idea,
                [*votes(idea, *(["up", "down"] * 4)), ballot(idea, OUTSIDER, "down")],
                after,
            ),
            {"result": "not_launched"},
        ),
        (
            "idea launches without quorum",
            "quorum 30% of 20 is 6; 4 up launch anyway",
            inputs(
                CHARTER,
                roster(4) + sorted(identity(f"x{i}").did for i in range(16)),
                idea,
                votes(idea, "up", "up", "up", "up"),
                after,
            ),
            {"result": "launched", "quorum_met": False, "quorum_needed": 6},
        ),
        (
            "ignored ballots",
            "each reason once; a later invalid ballot supersedes nothing",
            inputs(
                CHARTER,
                roster(5),
                block,
                [
                    ballot(block, m[0], "yes", OPENS),  # counted: opens is inside
                    ballot(block, m[1], "yes", OPENS + 10),
                    ballot(block, m[1], "no", OPENS + 20),  # supersedes m1's yes
                    ballot(block, m[2], "yes", OPENS - 1),  # outside_window
                    ballot(block, m[3], "no", CLOSES - 1),  # counted: last inside millisecond
                    ballot(block, m[3], "yes", CLOSES),  # outside_window, does not supersede
                    ballot(block, m[4], "up", OPENS + 5),  # bad_choice
                    ballot(block, m[4], c1, OPENS + 6),  # bad_choice: a DID on a yes/no question
                    ballot(block, OUTSIDER, "yes", OPENS + 7),  # not_eligible
                ],
                after,
            ),
            {"result": "rejected", "counts": {"abstain": 0, "no": 2, "yes": 1}},
        ),
        (
            "same ts: greater id wins",
            "two ballots by one member in the same millisecond",
            inputs(
                CHARTER,
                roster(3),
                block,
                [
                    ballot(block, m[0], "yes", OPENS + 99),
                    ballot(block, m[0], "no", OPENS + 99),
                    ballot(block, m[1], "yes", OPENS + 100),
                ],
                after,
            ),
            {"quorum_met": True},
        ),
        (
            "open one ms before close",
            "live counts, result open",
            inputs(CHARTER, roster(5), block, votes(block, "yes", "yes", "no"), CLOSES - 1),
            {"result": "open", "closed": False, "winner": None},
        ),
        (
            "closed at close",
            "now == closes is closed",
            inputs(CHARTER, roster(5), block, votes(block, "yes", "yes", "no"), CLOSES),
            {"result": "passed", "closed": True},
        ),
        (
            "no ballots",
            "the empty tree's root is SHA-256 of nothing",
            inputs(CHARTER, roster(3), block, [], after),
            {"result": "no_quorum", "counted": [], "ballots_root": hashlib.sha256(b"").hexdigest()},
        ),
        *delegation_cases(block, elect, after),
    ]
    out = []
    for name, description, case, want in cases:
        t = run(case)
        got = tally_json(t)
        for key, value in want.items():
            got_value = dict(got["counts"]) if key == "counts" else got[key]
            assert got_value == value, f"{name}: {key} is {got_value!r}, want {value!r}"
        entry = {
            "function": "tally",
            "name": name,
            "description": description,
            **case,
            "expected": got,
        }
        if t.closed:
            entry["decision"] = decision_record(t.to_decision()).raw.hex()
        out.append(entry)
    return out


def delegation_cases(
    block: Record, elect: Record, after: int
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Tallies under a charter that allows delegation (governance.md §6)."""
    m = MEMBERS
    c1, c2, c3 = candidates()
    empty = hashlib.sha256(b"").hexdigest()
    to_m0 = [delegation(m[2], m[0]), delegation(m[3], m[0])]
    return [
        (
            "delegation: allowed, none given",
            "the decision states 0 votes cast by delegation and the empty root",
            inputs(DELEGATING, roster(5), block, votes(block, "yes", "no"), after),
            {"result": "rejected", "delegated": [], "delegations_root": empty},
        ),
        (
            "delegation: delegators who did not vote count as their delegate",
            "m0 yes, m1 no; m2 and m3 delegate to m0 and do not vote: 3 yes, 1 no",
            inputs(DELEGATING, roster(5), block, votes(block, "yes", "no"), after, to_m0),
            {
                "result": "passed",
                "counts": {"abstain": 0, "no": 1, "yes": 3},
                "delegated": sorted(d.id.hex() for d in to_m0),
            },
        ),
        (
            "delegation: a delegator's own ballot counts instead",
            "m2 delegates to m0 but votes no: m2's own ballot counts, the delegation casts nothing",
            inputs(DELEGATING, roster(5), block, votes(block, "yes", "no", "no"), after, to_m0[:1]),
            {"result": "rejected", "counts": {"abstain": 0, "no": 2, "yes": 1}, "delegated": []},
        ),
        (
            "delegation: a delegate who did not vote casts nothing",
            "m2 delegates to m3, who does not vote",
            inputs(
                DELEGATING,
                roster(5),
                block,
                votes(block, "yes", "no"),
                after,
                [delegation(m[2], m[3])],
            ),
            {"counts": {"abstain": 0, "no": 1, "yes": 1}, "delegated": []},
        ),
        (
            "delegation: one level, no chains",
            "m1 delegates to m0 (who votes yes), m2 to m1 (who cast no ballot): m1 counts as "
            "yes, m2 counts as nothing",
            inputs(
                DELEGATING,
                roster(5),
                block,
                votes(block, "yes"),
                after,
                [delegation(m[1], m[0]), delegation(m[2], m[1])],
            ),
            {"counts": {"abstain": 0, "no": 0, "yes": 2}, "quorum_met": True},
        ),
        (
            "delegation: votes cast by delegation make the quorum",
            "30% of 7 is 3: one ballot and two delegated votes",
            inputs(
                DELEGATING,
                roster(7),
                block,
                votes(block, "yes"),
                after,
                [delegation(m[1], m[0]), delegation(m[2], m[0])],
            ),
            {"result": "passed", "quorum_needed": 3, "quorum_met": True},
        ),
        (
            "delegation: the delegate's counted ballot, not a superseded one",
            "m0 votes yes then no; m1 delegates to m0: 2 no",
            inputs(
                DELEGATING,
                roster(5),
                block,
                [ballot(block, m[0], "yes", OPENS + 10), ballot(block, m[0], "no", OPENS + 20)],
                after,
                [delegation(m[1], m[0])],
            ),
            {"result": "rejected", "counts": {"abstain": 0, "no": 2, "yes": 0}},
        ),
        (
            "delegation: an abstaining delegate",
            "m0 abstains; m1 and m2 delegate to m0: 3 abstentions make the quorum",
            inputs(
                DELEGATING,
                roster(7),
                block,
                votes(block, "abstain"),
                after,
                [delegation(m[1], m[0]), delegation(m[2], m[0])],
            ),
            {"result": "rejected", "quorum_met": True, "counts": {"abstain": 3, "no": 0, "yes": 0}},
        ),
        (
            "delegation: in an election",
            "m0 votes for c2 and m1 for c1; m4 and m5 delegate to m0: c2 is elected",
            inputs(
                DELEGATING,
                roster(6),
                elect,
                votes(elect, c2, c1),
                after,
                [delegation(m[4], m[0]), delegation(m[5], m[0])],
            ),
            {"result": "elected", "winner": c2, "counts": {c1: 1, c2: 3, c3: 0, "abstain": 0}},
        ),
        (
            "delegation: off the roster",
            "m2 delegates to the outsider, the outsider to m0: neither delegation has both "
            "ends on the roster",
            inputs(
                DELEGATING,
                roster(5),
                block,
                votes(block, "yes", "no"),
                after,
                [delegation(m[2], OUTSIDER), delegation(OUTSIDER, m[0])],
            ),
            {"counts": {"abstain": 0, "no": 1, "yes": 1}, "delegated": []},
        ),
        (
            "delegation: live counts while open",
            "delegated votes count in an open tally too",
            inputs(
                DELEGATING,
                roster(5),
                block,
                votes(block, "no"),
                CLOSES - 1,
                [delegation(m[1], m[0])],
            ),
            {"result": "open", "counts": {"abstain": 0, "no": 2, "yes": 0}},
        ),
    ]


# --------------------------------------------------------------------------- invalid cases


def mutated(d: Decision, **changes: Any) -> Decision:
    out = replace(d, **changes)
    Decision.from_value(out.to_value())  # still schema-valid: only the tally can catch it
    return out


def invalid_cases() -> list[dict[str, Any]]:
    block = proposal(ProposalKind.BLOCK)
    elect = proposal(ProposalKind.ELECT)
    c1, c2, _ = candidates()
    after = CLOSES + HOUR_MS
    base = inputs(CHARTER, roster(5), block, votes(block, "yes", "yes", "no"), after)
    good = run(base).to_decision()
    other = hashlib.sha256(b"not this").digest()
    wrong: list[tuple[str, str, Decision]] = [
        ("decision for another proposal", "proposal", mutated(good, proposal=other)),
        ("decision under another charter", "charter", mutated(good, charter=other)),
        ("decision with wrong roster size", "roster_size", mutated(good, roster_size=6)),
        ("decision naming another roster", "roster_root", mutated(good, roster_root=other)),
        (
            "decision dropping a ballot",
            "ballots",
            mutated(good, ballots=2, counts=(("abstain", 0), ("no", 0), ("yes", 2))),
        ),
        ("decision with wrong ballots_root", "ballots_root", mutated(good, ballots_root=other)),
        (
            "decision with yes and no swapped",
            "counts",
            mutated(good, counts=(("abstain", 0), ("no", 2), ("yes", 1)), result="rejected"),
        ),
        ("decision omitting a zero count", "counts", mutated(good, counts=(("no", 1), ("yes", 2)))),
        ("decision claiming no quorum", "quorum_met", mutated(good, quorum_met=False)),
        ("decision with the opposite result", "result", mutated(good, result="rejected")),
    ]
    out: list[dict[str, Any]] = []
    for name, field, decision in wrong:
        out.append(
            {
                "function": "check_decision",
                "name": name,
                **base,
                "decision": decision_record(decision).raw.hex(),
                "error": "RecordRejected",
                "code": "decision_mismatch",
                "field": field,
            }
        )
    eb = inputs(CHARTER, roster(6), elect, votes(elect, c2, c1, c2, "abstain"), after)
    good_e = run(eb).to_decision()
    out.append(
        {
            "function": "check_decision",
            "name": "decision electing the runner-up",
            **eb,
            "decision": decision_record(mutated(good_e, winner=c1)).raw.hex(),
            "error": "RecordRejected",
            "code": "decision_mismatch",
            "field": "winner",
        }
    )
    dbase = inputs(DELEGATING, roster(5), block, votes(block, "yes", "no"), after,
                   [delegation(MEMBERS[2], MEMBERS[0])])  # fmt: skip
    good_d = run(dbase).to_decision()
    for name, field, decision in (
        (
            "decision leaving out a vote cast by delegation",
            "delegated",
            mutated(good_d, delegated=0, counts=(("abstain", 0), ("no", 1), ("yes", 1))),
        ),
        (
            "decision naming other delegations",
            "delegations_root",
            mutated(good_d, delegations_root=other),
        ),
        (
            "decision without delegation under a charter with it",
            "delegated",
            mutated(
                good_d,
                delegated=None,
                delegations_root=None,
                counts=(("abstain", 0), ("no", 1), ("yes", 1)),
            ),
        ),
    ):
        out.append(
            {
                "function": "check_decision",
                "name": name,
                **dbase,
                "decision": decision_record(decision).raw.hex(),
                "error": "RecordRejected",
                "code": "decision_mismatch",
                "field": field,
            }
        )
    for name, case in (
        (
            "delegations under a charter without delegation",
            dict(dbase, charter=CHARTER.raw.hex(), charter_id=CHARTER.id.hex()),
        ),
        (
            "two delegations by one member",
            dict(
                dbase,
                delegations=[delegation(MEMBERS[2], x).raw.hex() for x in (MEMBERS[0], MEMBERS[1])],
            ),
        ),
        (
            "a delegation that ends one is never in force",
            dict(dbase, delegations=[delegation(MEMBERS[2], None).raw.hex()]),
        ),
        (
            "a delegation is not a ballot",
            dict(dbase, delegations=[votes(block, "yes")[0].raw.hex()]),
        ),
    ):
        out.append({"function": "tally", "name": name, **case, "error": "LocalProtocolError",
                    "code": "local_error"})  # fmt: skip
    early = dict(base, now_ms=CLOSES - 1)
    out.append(
        {
            "function": "check_decision",
            "name": "decision before the close",
            "description": "the recomputed tally is still open",
            **early,
            "decision": decision_record(good, ts=CLOSES - 1).raw.hex(),
            "error": "RecordRejected",
            "code": "decision_mismatch",
            "field": "result",
        }
    )
    out.append(
        {
            "function": "tally",
            "name": "empty roster",
            **dict(base, roster=[]),
            "error": "TallyError",
            "code": "tally_error",
        }
    )
    other_prop = proposal(ProposalKind.UNBLOCK)
    out.append(
        {
            "function": "tally",
            "name": "ballot names another proposal",
            **inputs(
                CHARTER,
                roster(5),
                block,
                [*votes(block, "yes"), ballot(other_prop, MEMBERS[1], "yes")],
                after,
            ),
            "error": "LocalProtocolError",
            "code": "local_error",
        }
    )
    out.append(
        {
            "function": "tally",
            "name": "proposal is not a proposal record",
            **dict(base, proposal=CHARTER.raw.hex()),
            "error": "LocalProtocolError",
            "code": "local_error",
        }
    )
    out.append(
        {
            "function": "tally",
            "name": "ballot for another co-op",
            **inputs(
                CHARTER,
                roster(5),
                block,
                [ballot(block, MEMBERS[0], "yes", coop=OTHER_COOP)],
                after,
            ),
            "error": "LocalProtocolError",
            "code": "local_error",
        }
    )
    now = T0 + 30 * DAY_MS
    out.append(
        {
            "function": "provisional_block_flags",
            "name": "flags on two requesters",
            "charter": CHARTER.raw.hex(),
            "now_ms": now,
            "excluded": [],
            "flags": [
                flag(MEMBERS[0], now - 1).raw.hex(),
                flag(MEMBERS[1], now - 1, requester=REQ2).raw.hex(),
            ],
            "error": "LocalProtocolError",
            "code": "local_error",
        }
    )
    for case in out:
        check_invalid(case)
    return out


def check_invalid(case: dict[str, Any]) -> None:
    errors: dict[str, type[ProtocolError]] = {
        "RecordRejected": RecordRejected,
        "TallyError": TallyError,
        "LocalProtocolError": LocalProtocolError,
    }
    try:
        if case["function"] == "check_decision":
            body = Record.from_bytes(bytes.fromhex(case["decision"])).body
            assert isinstance(body, Decision)
            check_decision(body, run(case))
        elif case["function"] == "tally":
            run(case)
        else:
            run_flags(case)
    except errors[case["error"]] as exc:
        assert exc.code == case["code"], case["name"]
        if "field" in case:
            assert exc.message.startswith(f"decision body.{case['field']}"), exc.message
    else:
        raise AssertionError(f"{case['name']}: no error")


# --------------------------------------------------------------------------- flags


def flag(
    who: SigningIdentity, at: int, *, expires: int | None = None, requester: RequesterRef = REQ
) -> Record:
    body = Flag(
        requester=requester,
        target="requester",
        target_id=None,
        reason=FlagReason.UNDERPAID,
        expires=expires if expires is not None else at + 30 * DAY_MS,
    )
    return sign_record(who, coop=COOP.did, ts=at, body=body)


def run_flags(case: dict[str, Any]) -> tuple[bytes, ...] | None:
    charter = Record.from_bytes(bytes.fromhex(case["charter"]))
    assert isinstance(charter.body, Charter)
    return provisional_block_flags(
        charter.body,
        [Record.from_bytes(bytes.fromhex(f)) for f in case["flags"]],
        case["now_ms"],
        excluded=frozenset(bytes.fromhex(x) for x in case["excluded"]),
    )


def flag_cases() -> list[dict[str, Any]]:
    now = T0 + 30 * DAY_MS
    window = 7 * DAY_MS  # CHARTER's block_rule: 3 distinct members within 7 days
    m = MEMBERS
    a, b, c = flag(m[0], now - DAY_MS), flag(m[1], now - 2 * DAY_MS), flag(m[2], now)
    a_later = flag(m[0], now - HOUR_MS)
    edge_out = flag(m[2], now - window)
    edge_in = flag(m[2], now - window + 1)
    expired = flag(m[2], now - DAY_MS, expires=now)
    future = flag(m[2], now + 1)
    cases: list[tuple[str, str, list[Record], list[Record], list[Record] | None]] = [
        ("three members", "3 distinct members within 7 days: blocked", [a, b, c], [], [a, b, c]),
        ("one member twice", "only 2 distinct members", [a, a_later, b], [], None),
        (
            "latest flag per member",
            "m0's later flag is the one cited",
            [a, a_later, b, c],
            [],
            [a_later, b, c],
        ),
        ("window start is exclusive", "ts == now - 7 days is too old", [a, b, edge_out], [], None),
        (
            "window start plus one",
            "ts == now - 7 days + 1 counts",
            [a, b, edge_in],
            [],
            [a, b, edge_in],
        ),
        ("expired at now", "expires == now no longer counts", [a, b, expired], [], None),
        ("flag from the future", "ts > now does not count yet", [a, b, future], [], None),
        ("retracted flag", "excluded ids do not count", [a, b, c], [c], None),
        (
            "retracted latest, earlier still counts",
            "m0's earlier flag qualifies instead",
            [a, a_later, b, c],
            [a_later],
            [a, b, c],
        ),
        ("no flags", "nothing to count", [], [], None),
    ]
    out = []
    for name, description, flags, excluded, want in cases:
        case = {
            "function": "provisional_block_flags",
            "name": name,
            "description": description,
            "charter": CHARTER.raw.hex(),
            "now_ms": now,
            "flags": [f.raw.hex() for f in flags],
            "excluded": [x.id.hex() for x in excluded],
        }
        got = run_flags(case)
        expected = None if want is None else sorted(x.id for x in want)
        assert (None if got is None else list(got)) == expected, name
        case["expected"] = None if got is None else hexes(got)
        out.append(case)
    return out


# --------------------------------------------------------------------------- small rules


def idea_cases() -> list[dict[str, Any]]:
    out = []
    for up, down, want in [
        (0, 0, False),
        (3, 0, False),
        (4, 0, True),
        (4, 4, True),
        (4, 5, False),
        (100, 99, True),
        (100, 101, False),
    ]:
        assert idea_launched(CHARTER_BODY, up, down) is want
        out.append(
            {
                "function": "idea_launched",
                "name": f"idea_up 3: {up} up {down} down",
                "charter": CHARTER.raw.hex(),
                "up": up,
                "down": down,
                "expected": want,
            }
        )
    return out


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written out here, independent of protocol/merkle.py."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


def root_cases() -> list[dict[str, Any]]:
    out = []
    for n in (0, 1, 2, 3, 5, 8):
        ids = [hashlib.sha256(b"ballot %d" % i).digest() for i in range(n)]
        want = reference_root(ids)
        assert ballots_root(ids) == want
        out.append(
            {
                "function": "ballots_root",
                "name": f"{n} ids",
                "ids": hexes(ids),
                "expected": want.hex(),
            }
        )
    return out


def generate() -> dict[str, Any]:
    return {
        "provenance": {
            "generator": "spec/vectors/gen_governance.py",
            "spec": "spec/governance.md",
            "seeds": 'each identity\'s Ed25519 seed is SHA-256("coopfed/vectors/governance/" '
            "|| name), names: coop, other-coop, member-0..member-7, outsider, x0..x15",
            "notes": "Records are raw canonical bytes (hex); ids are SHA-256 of those bytes. "
            "tally cases give the inputs of tally() and every field of the expected "
            "Tally; closed ones also give the decision record the co-op signs, which "
            "check_decision accepts. Invalid check_decision cases name the first "
            "field that differs, in the order of spec/governance.md.",
        },
        "identities": {
            name: ident.did
            for name, ident in [("coop", COOP), ("other-coop", OTHER_COOP), ("outsider", OUTSIDER)]
            + [(f"member-{i}", x) for i, x in enumerate(MEMBERS)]
        },
        "valid": tally_cases() + flag_cases() + idea_cases() + root_cases(),
        "invalid": invalid_cases(),
    }
