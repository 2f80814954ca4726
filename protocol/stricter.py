"""Rules made stricter once records were in logs: by effective time in a replay, always live.

records.md "Rules made stricter": a rule that would refuse records some log already holds
applies, in a replay, only to records whose ``ts`` is at or after its effective time, so
every log stays valid; a live node (``ts=None`` here) applies it to every record it is sent
now, whatever its ``ts``, so no new record escapes it in the meantime. Each rule's code:

- the platform rules (platforms.md §4): ``non_canonical_id``, ``wrong_currency``;
- coarse pay in ratings (privacy.md §4): ``not_coarse``.
"""

from __future__ import annotations

from typing import Final

from .bodies import MINUTE_BUCKETS, Body, Rating, coarse_minutes
from .errors import InvalidRecord, LocalProtocolError
from .platforms import EARLIEST_RULE, check_platform_ids

__all__ = [
    "HOURLY_STEP",
    "RATING_COARSE_FROM",
    "check_stricter",
    "coarse_hourly_cents",
    "coarse_rating_minutes",
    "is_coarse_hourly_cents",
    "is_coarse_rating_minutes",
]

#: Ratings signed at or after this time give coarse pay and time (Unix ms).
RATING_COARSE_FROM: Final = 1_803_859_200_000  # 2027-03-01T00:00:00Z
_EARLIEST: Final = min(EARLIEST_RULE, RATING_COARSE_FROM)
#: A rating's ``hourly_cents`` is a multiple of this.
HOURLY_STEP: Final = 50


def is_coarse_rating_minutes(minutes: int) -> bool:
    """A rating's ``minutes``: one of the task buckets, or whole hours beyond twelve."""
    return minutes in MINUTE_BUCKETS or (minutes > MINUTE_BUCKETS[-1] and minutes % 60 == 0)


def is_coarse_hourly_cents(cents: int) -> bool:
    """A rating's ``hourly_cents``: a multiple of 50 (half a dollar or pound)."""
    return cents % HOURLY_STEP == 0


def coarse_rating_minutes(minutes: int) -> int:
    """``minutes`` as a rating gives them: the nearest bucket, or whole hour beyond twelve.

    Ties go up, as :func:`~.bodies.coarse_minutes`'s do.
    """
    if type(minutes) is not int or minutes < 1:
        raise LocalProtocolError(f"minutes is a positive integer, got {minutes!r}")
    if minutes <= MINUTE_BUCKETS[-1]:
        return coarse_minutes(60 * minutes)
    return max(MINUTE_BUCKETS[-1], (minutes + 30) // 60 * 60)


def coarse_hourly_cents(cents: int) -> int:
    """``cents`` per hour as a rating gives them: the nearest multiple of 50, ties up."""
    if type(cents) is not int or cents < 0:
        raise LocalProtocolError(f"cents is a non-negative integer, got {cents!r}")
    return (cents + HOURLY_STEP // 2) // HOURLY_STEP * HOURLY_STEP


def check_stricter(body: Body, *, ts: int | None) -> None:
    """Every stricter rule for ``body`` signed at ``ts`` (None: a live node); None or raise."""
    if ts is not None and ts < _EARLIEST:
        return  # the log's records until 2027: no stricter rule applies yet
    check_platform_ids(body, ts=ts)
    if isinstance(body, Rating) and (ts is None or ts >= RATING_COARSE_FROM):
        if body.minutes is not None and not is_coarse_rating_minutes(body.minutes):
            raise InvalidRecord(
                f"body.minutes is coarse: one of {', '.join(map(str, MINUTE_BUCKETS))} or "
                f"whole hours beyond; got {body.minutes}",
                code="not_coarse",
            )
        if body.hourly_cents is not None and not is_coarse_hourly_cents(body.hourly_cents):
            raise InvalidRecord(
                f"body.hourly_cents is coarse: a multiple of {HOURLY_STEP}; got "
                f"{body.hourly_cents}",
                code="not_coarse",
            )
