"""Pay figures from task reports: per task and per requester, per currency, in whole numbers.

Hourly pay is computed, never typed: Σ reward ÷ Σ minutes over the reports of a task or a
requester, in each currency apart (never converted), all-time and over the last 90 days by
the tasks' ``day``; with the distribution of the reports' own hourly rates, the outcomes,
the reasons given, and how long approval took. Every number is an integer; the one rounding
is half up (:func:`hourly_rate`). Figures are shown only once ``k`` distinct members
reported (privacy.md §5); fewer, and only the counts of reports and reporters are given.
spec/pay.md is the normative text; vectors/pay.json holds cases every implementation must
compute alike.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .bodies import (
    APPROVAL_DAY_BUCKETS,
    APPROVALS,
    DEFAULT_TASK_K,
    REPORT_OUTCOMES,
    REPORT_REASONS,
    RecordType,
    RequesterRef,
    TaskReport,
)
from .errors import LocalProtocolError
from .records import Record

__all__ = [
    "HOURLY_BINS",
    "RECENT_DAYS",
    "CurrencyPay",
    "Figures",
    "PayFigures",
    "Window",
    "hourly_rate",
    "pay_figures",
]

#: The recent window: reports whose ``day`` is within this many days up to today.
RECENT_DAYS: Final = 90
#: Lower edges of the distribution's bins, in minor units per hour (cents, pence): a
#: report's rate falls in the last bin whose edge is not above it.
HOURLY_BINS: Final = (0, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000)


def hourly_rate(reward: int, minutes: int) -> int:
    """``reward`` (minor units) earned in ``minutes``, per hour: 60 × reward ÷ minutes, half up."""
    if reward < 0 or minutes <= 0:
        raise LocalProtocolError(f"a rate needs reward ≥ 0, minutes > 0; got {reward}, {minutes}")
    return (120 * reward + minutes) // (2 * minutes)


def _bin(rate: int) -> int:
    return max(i for i, edge in enumerate(HOURLY_BINS) if edge <= rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrencyPay:
    """What reports paid in one currency."""

    currency: str
    #: Reports counted, and the submissions they cover (a report may cover several).
    reports: int
    submissions: int
    #: Σ reward × submissions (minor units), and Σ minutes.
    reward: int
    minutes: int
    #: :func:`hourly_rate` of those sums: minor units per hour.
    hourly: int
    #: How many reports' own rates fall in each bin of :data:`HOURLY_BINS`.
    bins: tuple[int, ...]
    #: Reports whose own rate is under the co-op's minimum in this currency (None: no
    #: minimum for it).
    below_minimum: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "reports": self.reports,
            "submissions": self.submissions,
            "reward": self.reward,
            "minutes": self.minutes,
            "hourly": self.hourly,
            "bins": list(self.bins),
            "below_minimum": self.below_minimum,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """The figures of one set of reports (all-time, or the recent days)."""

    #: First reports counted (one per member, task and day: the newest), and their authors.
    reports: int
    reporters: int
    #: ``reporters ≥ k``: the fields below are filled; else they are empty and zero.
    shown: bool
    #: ``submitted`` reports, by currency (sorted by code).
    pay: tuple[CurrencyPay, ...] = ()
    #: ``screened_out_paid`` reports that give ``screen_out_pay``, by currency.
    screen_out_pay: tuple[CurrencyPay, ...] = ()
    #: Each outcome of :data:`~.bodies.REPORT_OUTCOMES`, in that order, with its count.
    outcomes: tuple[tuple[str, int], ...] = ()
    #: Each reason given at least once, in :data:`~.bodies.REPORT_REASONS` order.
    reasons: tuple[tuple[str, int], ...] = ()
    #: Σ minutes spent before returning, and in unpaid screen-outs.
    returned_minutes: int = 0
    unpaid_minutes: int = 0
    #: Each approval of :data:`~.bodies.APPROVALS` with its count (each report's newest).
    approvals: tuple[tuple[str, int], ...] = ()
    #: Approved and partially approved reports by days to approval, and reports still
    #: pending by days waited: counts per bucket of ``APPROVAL_DAY_BUCKETS``.
    approval_days: tuple[int, ...] = ()
    pending_days: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "reporters": self.reporters,
            "shown": self.shown,
            "pay": [p.to_json() for p in self.pay],
            "screen_out_pay": [p.to_json() for p in self.screen_out_pay],
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
            "returned_minutes": self.returned_minutes,
            "unpaid_minutes": self.unpaid_minutes,
            "approvals": dict(self.approvals),
            "approval_days": list(self.approval_days),
            "pending_days": list(self.pending_days),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    all_time: Window
    recent: Window

    def to_json(self) -> dict[str, Any]:
        return {"all_time": self.all_time.to_json(), "recent": self.recent.to_json()}


@dataclass(frozen=True, slots=True, kw_only=True)
class PayFigures:
    """Figures per requester and per task (``(platform, task)``), each sorted by its key."""

    requesters: tuple[tuple[RequesterRef, Figures], ...]
    tasks: tuple[tuple[tuple[str, str], Figures], ...]

    def requester(self, ref: RequesterRef) -> Figures | None:
        return dict(self.requesters).get(ref)

    def task(self, platform: str, task: str) -> Figures | None:
        return dict(self.tasks).get((platform, task))

    def to_json(self) -> dict[str, Any]:
        return {
            "requesters": [{"requester": str(r), **f.to_json()} for r, f in self.requesters],
            "tasks": [{"platform": p, "task": t, **f.to_json()} for (p, t), f in self.tasks],
        }


@dataclass(frozen=True, slots=True)
class _Report:
    author: str
    first: TaskReport
    approval: TaskReport | None


def _currency_pay(
    currency: str, items: list[tuple[int, int, int]], minimum: int | None
) -> CurrencyPay:
    """``items``: (reward per submission, submissions, minutes) of each report."""
    bins = [0] * len(HOURLY_BINS)
    below = 0
    for reward, n, minutes in items:
        rate = hourly_rate(reward * n, minutes)
        bins[_bin(rate)] += 1
        below += minimum is not None and rate < minimum
    reward = sum(r * n for r, n, _ in items)
    minutes = sum(m for _, _, m in items)
    return CurrencyPay(
        currency=currency,
        reports=len(items),
        submissions=sum(n for _, n, _ in items),
        reward=reward,
        minutes=minutes,
        hourly=hourly_rate(reward, minutes),
        bins=tuple(bins),
        below_minimum=None if minimum is None else below,
    )


def _by_currency(
    found: list[tuple[str, int, int, int]], min_pay: Mapping[str, int]
) -> tuple[CurrencyPay, ...]:
    groups: dict[str, list[tuple[int, int, int]]] = {}
    for currency, reward, n, minutes in found:
        groups.setdefault(currency, []).append((reward, n, minutes))
    return tuple(
        _currency_pay(c, groups[c], min_pay.get(c)) for c in sorted(groups, key=str.encode)
    )


def _window(reports: list[_Report], k: int, min_pay: Mapping[str, int]) -> Window:
    reporters = len({r.author for r in reports})
    if reporters < k:
        return Window(reports=len(reports), reporters=reporters, shown=False)
    paid: list[tuple[str, int, int, int]] = []
    screen: list[tuple[str, int, int, int]] = []
    outcomes = dict.fromkeys(REPORT_OUTCOMES, 0)
    reasons = dict.fromkeys(REPORT_REASONS, 0)
    approvals = dict.fromkeys(APPROVALS, 0)
    approval_days = [0] * len(APPROVAL_DAY_BUCKETS)
    pending_days = [0] * len(APPROVAL_DAY_BUCKETS)
    returned = unpaid = 0
    for r in reports:
        b = r.first
        assert b.outcome and b.currency and b.reward is not None and b.minutes
        outcomes[b.outcome] += 1
        for reason in b.reasons:
            reasons[reason] += 1
        if b.outcome == "submitted":
            paid.append((b.currency, b.reward, b.submissions, b.minutes))
        elif b.outcome == "screened_out_paid" and b.screen_out_pay is not None:
            screen.append((b.currency, b.screen_out_pay, b.submissions, b.minutes))
        elif b.outcome == "returned":
            returned += b.minutes
        elif b.outcome == "screened_out_unpaid":
            unpaid += b.minutes
        a = r.approval
        if a is not None:
            assert a.approval and a.approval_days is not None
            approvals[a.approval] += 1
            at = APPROVAL_DAY_BUCKETS.index(a.approval_days)
            if a.approval in ("approved", "partially_approved"):
                approval_days[at] += 1
            elif a.approval == "pending":
                pending_days[at] += 1
    return Window(
        reports=len(reports),
        reporters=reporters,
        shown=True,
        pay=_by_currency(paid, min_pay),
        screen_out_pay=_by_currency(screen, min_pay),
        outcomes=tuple(outcomes.items()),
        reasons=tuple((r, n) for r, n in reasons.items() if n),
        returned_minutes=returned,
        unpaid_minutes=unpaid,
        approvals=tuple(approvals.items()),
        approval_days=tuple(approval_days),
        pending_days=tuple(pending_days),
    )


def _figures(reports: list[_Report], today: int, k: int, min_pay: Mapping[str, int]) -> Figures:
    recent = [r for r in reports if today - RECENT_DAYS < (r.first.day or 0) <= today]
    return Figures(all_time=_window(reports, k, min_pay), recent=_window(recent, k, min_pay))


def pay_figures(
    records: Iterable[Record],
    *,
    today: int,
    k: int = DEFAULT_TASK_K,
    retracted: Collection[bytes] = frozenset(),
    min_pay: Mapping[str, int] | None = None,
) -> PayFigures:
    """The pay figures of ``records``: ``task.report`` records in log order.

    ``today`` is a UTC day number (days since 1970-01-01); ``k`` the number of distinct
    members who must have reported before figures are shown (the charter's
    ``report_k``); ``retracted`` the ids of retracted records; ``min_pay`` the co-op's
    minimum per currency (``Charter.min_pay_per_hour``). Each member's newest first report
    of a task on a day stands for the others (an edit); a report of an approval applies to
    the task and day of the report it follows, and the newest counts. Records are taken as
    a log admitted them (state.md §3); their admissibility is not checked again.
    """
    if k < 1:
        raise LocalProtocolError(f"k is at least 1, got {k}")
    pay_min = dict(min_pay or {})
    key_of: dict[bytes, tuple[str, str, str, int]] = {}
    firsts: dict[tuple[str, str, str, int], tuple[str, TaskReport]] = {}
    approvals: dict[tuple[str, str, str, int], TaskReport] = {}
    for record in records:
        if record.type is not RecordType.TASK_REPORT:
            raise LocalProtocolError(f"pay_figures takes task reports, not a {record.type.value}")
        body = record.body
        assert isinstance(body, TaskReport)
        if body.follows is None:
            assert body.day is not None
            key = (record.author, body.requester.platform, body.task, body.day)
            key_of[record.id] = key
            if record.id not in retracted:
                firsts[key] = (record.author, body)
        elif record.id not in retracted:
            followed = key_of.get(body.follows)
            if followed is not None and followed[0] == record.author:
                approvals[followed] = body
    by_requester: dict[RequesterRef, list[_Report]] = {}
    by_task: dict[tuple[str, str], list[_Report]] = {}
    for key, (author, first) in firsts.items():
        report = _Report(author=author, first=first, approval=approvals.get(key))
        by_requester.setdefault(first.requester, []).append(report)
        by_task.setdefault((first.requester.platform, first.task), []).append(report)
    return PayFigures(
        requesters=tuple(
            (r, _figures(by_requester[r], today, k, pay_min))
            for r in sorted(by_requester, key=lambda r: (r.platform.encode(), r.id.encode()))
        ),
        tasks=tuple(
            (t, _figures(by_task[t], today, k, pay_min))
            for t in sorted(by_task, key=lambda t: (t[0].encode(), t[1].encode()))
        ),
    )
