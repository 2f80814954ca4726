"""Pay figures from task reports (spec/pay.md): sums, never means; currencies never mixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol.bodies import (
    DAY_MS,
    MINUTE_BUCKETS,
    Rating,
    RequesterRef,
    TaskReport,
)
from coopfed.protocol.errors import LocalProtocolError
from coopfed.protocol.pay import HOURLY_BINS, hourly_rate, pay_figures
from coopfed.protocol.records import Record, sign_record

from .conftest import key

ROOT = Path(__file__).resolve().parents[2]
VECTORS: dict[str, Any] = json.loads((ROOT / "spec/vectors/pay.json").read_text("utf-8"))
TODAY = 20_900
REQ = RequesterRef(platform="prolific", id="5f0c3b1e2d9a8c7b6a5f4e3d")
STUDY = "65a1b2c3d4e5f60718293a4b"
COOP = key("coop")


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_pay_vector(case: dict[str, Any]) -> None:
    records = [Record.from_bytes(bytes.fromhex(h)) for h in case["records"]]
    got = pay_figures(
        records,
        today=case["today"],
        k=case["k"],
        retracted={bytes.fromhex(r) for r in case["retracted"]},
        min_pay=case["min_pay"],
    )
    assert got.to_json() == case["expected"]


def test_rates_round_half_up() -> None:
    assert hourly_rate(150, 12) == 750
    assert hourly_rate(450, 35) == 771  # 771.43
    assert hourly_rate(1, 120) == 1  # 0.5 goes up
    assert hourly_rate(1, 121) == 0
    assert hourly_rate(0, 5) == 0
    with pytest.raises(LocalProtocolError):
        hourly_rate(1, 0)


def report(who: str, *, ts_day: int = TODAY, **fields: Any) -> Record:
    body: dict[str, Any] = {
        "requester": REQ,
        "task": STUDY,
        "day": TODAY - 1,
        "reward": 100,
        "currency": "GBP",
        "minutes": 10,
        "outcome": "submitted",
    }
    body.update(fields)
    return sign_record(key(who), coop=COOP.did, ts=ts_day * DAY_MS, body=TaskReport(**body))


def test_figures_wait_for_k_members_and_count_each_once() -> None:
    records = [report("ana", minutes=20), report("ana", minutes=10), report("bo")]
    two = pay_figures(records, today=TODAY, k=3)
    figures = two.task("prolific", STUDY)
    assert figures is not None
    shown = figures.all_time
    assert (shown.reports, shown.reporters, shown.shown, shown.pay) == (2, 2, False, ())
    three = pay_figures([*records, report("cy", minutes=40)], today=TODAY, k=3)
    window = three.requester(REQ)
    assert window is not None
    (gbp,) = window.all_time.pay
    # ana's newer report (10 minutes) stands for her older one.
    assert (gbp.reports, gbp.reward, gbp.minutes, gbp.hourly) == (3, 300, 60, 300)


def test_currencies_are_never_mixed() -> None:
    records = [report("ana"), report("bo", currency="USD", reward=200), report("cy")]
    (figures,) = [f for _, f in pay_figures(records, today=TODAY, k=1).requesters]
    assert [(p.currency, p.reward, p.hourly) for p in figures.all_time.pay] == [
        ("GBP", 200, 600),
        ("USD", 200, 1200),
    ]


def test_a_retracted_report_counts_for_nothing() -> None:
    gone = report("bo", minutes=5)
    records = [report("ana"), gone]
    figures = pay_figures(records, today=TODAY, k=1, retracted={gone.id}).task("prolific", STUDY)
    assert figures is not None and figures.all_time.reporters == 1


def test_the_recent_window_is_the_last_90_days_by_day() -> None:
    records = [report("ana", day=TODAY - 89), report("bo", day=TODAY - 90)]
    figures = pay_figures(records, today=TODAY, k=1).task("prolific", STUDY)
    assert figures is not None
    assert (figures.all_time.reports, figures.recent.reports) == (2, 1)


def test_only_task_reports_are_taken() -> None:
    rating = sign_record(key("ana"), coop=COOP.did, ts=TODAY * DAY_MS, body=Rating(
        requester=REQ, recommend=True))  # fmt: skip
    with pytest.raises(LocalProtocolError):
        pay_figures([rating], today=TODAY)
    with pytest.raises(LocalProtocolError):
        pay_figures([], today=TODAY, k=0)


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(1, 5), st.sampled_from(MINUTE_BUCKETS)),
        min_size=1,
        max_size=8,
    )
)
@settings(max_examples=100, deadline=None)
def test_the_hourly_figure_lies_between_the_reports_own(
    items: list[tuple[int, int, int]],
) -> None:
    records = [
        report(f"m{i}", reward=r, minutes=m, **({"count": n} if n > 1 else {}))
        for i, (r, n, m) in enumerate(items)
    ]
    figures = pay_figures(records, today=TODAY, k=1).task("prolific", STUDY)
    assert figures is not None
    (gbp,) = figures.all_time.pay
    rates = [hourly_rate(r * n, m) for r, n, m in items]
    # Σ reward ÷ Σ minutes is a mediant of the reports' own rates (each rounded once).
    assert min(rates) - 1 <= gbp.hourly <= max(rates) + 1
    assert sum(gbp.bins) == len(items) and len(gbp.bins) == len(HOURLY_BINS)
