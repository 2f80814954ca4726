"""Vectors for spec/pay.md: task reports in, the pay figures every implementation computes.

Members' task reports of two Prolific studies (in GBP and USD) and a Toloka pool are signed
with fixed seeds (Ed25519 is deterministic); each case gives them in log order with
``today``, ``k``, the retracted ids and the co-op's minimum pay, and the figures
``coopfed.protocol.pay.pay_figures`` gives. The main numbers are also worked out by hand
below and checked, so the reference cannot drift from the text of pay.md unnoticed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from coopfed.protocol.bodies import (
    DAY_MS,
    BlockRule,
    Charter,
    MemberAdmit,
    RequesterRef,
    TaskReport,
)
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.pay import HOURLY_BINS, RECENT_DAYS, pay_figures
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState

SEED_PREFIX = b"coopfed/vectors/pay/"
TODAY = 20_897  # 2027-03-21
NOON = TODAY * DAY_MS + 12 * 3_600_000
RESEARCHER = RequesterRef(platform="prolific", id="5f0c3b1e2d9a8c7b6a5f4e3d")
POOL_OWNER = RequesterRef(platform="toloka", id="6c6e20dc86cca2ae787afcb2629de162")
S1, S2 = "65a1b2c3d4e5f60718293a4b", "75b1b2c3d4e5f60718293a4b"
MIN_PAY = {"GBP": 1050, "USD": 1200}
NAMES = ("ana", "bo", "cy", "dee", "eve")


def identity(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(SEED_PREFIX + name.encode()).digest())


COOP = identity("coop")


class Log:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self.ts = NOON

    def sign(self, who: str, body: TaskReport) -> Record:
        self.ts += 60_000
        record = sign_record(identity(who), coop=COOP.did, ts=self.ts, body=body)
        self.records.append(record)
        return record


def first(task: str, day: int, outcome: str = "submitted", **fields: Any) -> TaskReport:
    body: dict[str, Any] = {
        "requester": RESEARCHER,
        "task": task,
        "day": TODAY - day,
        "reward": 150 if task == S1 else 200,
        "currency": "GBP" if task == S1 else "USD",
        "minutes": 10,
        "outcome": outcome,
    }
    body.update(fields)
    return TaskReport(**body)


def later(report: Record, approval: str, days: int) -> TaskReport:
    body = report.body
    assert isinstance(body, TaskReport)
    return TaskReport(
        requester=body.requester,
        task=body.task,
        follows=report.id,
        approval=approval,
        approval_days=days,
    )


def story() -> tuple[list[Record], list[bytes]]:
    """The reports, in log order, and the ids retracted."""
    log = Log()
    ana = log.sign("ana", first(S1, 5, minutes=10))
    log.sign("ana", first(S1, 5, minutes=12))  # ana corrects her time: this one stands
    bo = log.sign("bo", first(S1, 5, minutes=8))
    cy = log.sign("cy", first(S1, 100, minutes=15))
    log.sign(
        "dee",
        first(S1, 90, "returned", minutes=5, progress=25,
              reasons=("time_underestimated", "underpaid")),
    )  # fmt: skip
    log.sign("eve", first(S1, 89, "screened_out_paid", minutes=2, screen_out_pay=14))
    log.sign("ana", later(ana, "approved", 3))
    log.sign("bo", later(bo, "pending", 3))
    log.sign("bo", later(bo, "pending", 5))  # the newer says it is still pending
    log.sign("cy", later(cy, "rejected", 14))
    log.sign("ana", first(S2, 2, minutes=20, count=2))
    log.sign("bo", first(S2, 2, "timed_out", minutes=30))
    gone = log.sign("eve", first(S2, 2, minutes=5))
    log.sign(
        "cy",
        TaskReport(requester=POOL_OWNER, task="32267581", day=TODAY - 1, reward=5,
                   currency="USD", minutes=4, outcome="submitted"),
    )  # fmt: skip
    admitted(log.records)
    return log.records, [gone.id]


def admitted(records: list[Record]) -> None:
    """The story is a log's: a co-op of its five authors admits every report, in order."""
    state = CoopState(COOP.did)
    founding = Charter(
        name="Vector Pay Co-op", quorum_pct=50, pass_pct=50, amend_pct=66,
        min_window_ms=DAY_MS, max_window_ms=14 * DAY_MS, idea_up=3,
        block_rule=BlockRule(flags=3, days=7, review_days=30), admission="invite",
        min_pay=tuple(MIN_PAY.items()),
    )  # fmt: skip
    bodies = [founding, *(MemberAdmit(member=identity(n).did, via="founder") for n in NAMES)]
    for body in bodies:
        state.apply(sign_record(COOP, coop=COOP.did, ts=NOON, body=body))
    for record in records:
        state.apply(record)


def case(name: str, why: str, *, k: int, today: int = TODAY) -> dict[str, Any]:
    records, retracted = story()
    figures = pay_figures(records, today=today, k=k, retracted=retracted, min_pay=MIN_PAY)
    return {
        "name": name,
        "why": why,
        "today": today,
        "k": k,
        "min_pay": MIN_PAY,
        "retracted": [r.hex() for r in retracted],
        "records": [r.raw.hex() for r in records],
        "expected": figures.to_json(),
    }


def checked_by_hand(doc: dict[str, Any]) -> None:
    """The numbers pay.md §6 works out, against what the reference gave."""
    main = doc["cases"][0]["expected"]
    s1 = next(t for t in main["tasks"] if t["task"] == S1)
    gbp = s1["all_time"]["pay"][0]
    # ana 12 min (her newer report), bo 8, cy 15, each £1.50: 450 pence in 35 minutes.
    assert (gbp["reward"], gbp["minutes"], gbp["hourly"]) == (450, 35, 771)  # 771.43
    # Own rates 750, 1125, 600: bins from 600, from 1000, from 600; two under 1050.
    assert gbp["bins"][3] == 2 and gbp["bins"][5] == 1 and gbp["below_minimum"] == 2
    assert s1["all_time"]["screen_out_pay"][0]["hourly"] == 420  # 14p in 2 minutes
    assert s1["all_time"]["pending_days"][4] == 1  # bo's newer: still pending after 5 days
    assert s1["all_time"]["approvals"] == {
        "approved": 1, "partially_approved": 0, "rejected": 1, "pending": 1,
    }  # fmt: skip
    # Recent: days today-89 to today. dee (today-90) and cy (today-100) are out.
    recent = s1["recent"]
    assert (recent["reports"], recent["reporters"], recent["shown"]) == (3, 3, True)
    assert recent["pay"][0]["hourly"] == 900  # 300 pence in 20 minutes
    s2 = next(t for t in main["tasks"] if t["task"] == S2)
    assert (s2["all_time"]["reporters"], s2["all_time"]["shown"]) == (2, False)  # eve retracted
    researcher = main["requesters"][0]
    usd = next(p for p in researcher["all_time"]["pay"] if p["currency"] == "USD")
    assert (usd["submissions"], usd["reward"], usd["hourly"]) == (2, 400, 1200)


def generate() -> dict[str, Any]:
    doc = {
        "provenance": {
            "spec": "spec/pay.md",
            "generator": "spec/vectors/gen_pay.py",
            "seeds": "identity NAME = Ed25519 seed SHA-256('coopfed/vectors/pay/' + NAME)",
            "method": "pay_figures of protocol/pay.py; the main numbers are also worked out "
            "by hand in the generator (pay.md §6)",
        },
        "constants": {"recent_days": RECENT_DAYS, "hourly_bins": list(HOURLY_BINS)},
        "notes": [
            "records are task.report records (hex) in log order; retracted are the ids of "
            "those retracted; today is a UTC day number; figures are shown from k distinct "
            "reporters. expected is PayFigures.to_json().",
        ],
        "cases": [
            case("k of 3", "the co-op's default: one study withheld, two reporters", k=3),
            case("k of 1", "every figure shown", k=1),
            case(
                "k of 5, a year later",
                "nothing recent; only the first study has 5 reporters",
                k=5,
                today=TODAY + 365,
            ),
        ],
    }
    checked_by_hand(doc)
    return doc
