// Money and time as records give them: coarse, per currency, never converted.
//
// The same rules as protocol/bodies.py (coarse_minutes, coarse_days), protocol/stricter.py
// (coarse_hourly_cents, coarse_rating_minutes), protocol/pay.py (hourlyRate) and
// Charter.min_pay_per_hour; tests/node/test_js.py holds them equal to the Python ones.

import { TABLE } from "./platforms.js";
import { APPROVAL_DAY_BUCKETS, HOURLY_STEP, MINUTE_BUCKETS } from "./reportfields.js";

function count(n, what) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} is a non-negative integer`);
}

/** The bucket of MINUTE_BUCKETS nearest to `seconds`; a tie goes to the larger. */
export function coarseMinutes(seconds) {
  count(seconds, "seconds");
  let best = MINUTE_BUCKETS[0];
  for (const m of MINUTE_BUCKETS) {
    const d = Math.abs(60 * m - seconds);
    const e = Math.abs(60 * best - seconds);
    if (d < e || (d === e && m > best)) best = m;
  }
  return best;
}

/** The greatest bucket of APPROVAL_DAY_BUCKETS not above `days`. */
export function coarseDays(days) {
  count(days, "days");
  return Math.max(...APPROVAL_DAY_BUCKETS.filter((d) => d <= days));
}

/** A rating's minutes: the nearest bucket, or whole hours beyond twelve (ties up). */
export function coarseRatingMinutes(minutes) {
  count(minutes, "minutes");
  if (minutes < 1) throw new RangeError("minutes is at least 1");
  const top = MINUTE_BUCKETS[MINUTE_BUCKETS.length - 1];
  if (minutes <= top) return coarseMinutes(60 * minutes);
  return Math.max(top, Math.floor((minutes + 30) / 60) * 60);
}

/** A rating's hourly cents: the nearest multiple of 50, ties up. */
export function coarseHourlyCents(cents) {
  count(cents, "cents");
  return Math.floor((cents + HOURLY_STEP / 2) / HOURLY_STEP) * HOURLY_STEP;
}

/** 60 × reward ÷ minutes, rounded half up, in integers (spec/pay.md §4). */
export function hourlyRate(reward, minutes) {
  count(reward, "reward");
  if (!Number.isSafeInteger(minutes) || minutes <= 0) throw new RangeError("minutes > 0");
  return Math.floor((120 * reward + minutes) / (2 * minutes));
}

/** A charter's minimum pay per currency (records.md §4.1): an old charter's is USD. */
export function minPayPerHour(charter) {
  if (charter.min_pay !== undefined) return { ...charter.min_pay };
  return charter.min_pay_cents > 0 ? { USD: charter.min_pay_cents } : {};
}

/** `minor` units of `currency` for people: "£10.50", "$12.00", "1050 XYZ" (unknown). */
export function formatMoney(minor, currency) {
  if (minor === null || minor === undefined) return "—";
  const c = Object.hasOwn(TABLE.currencies, currency) ? TABLE.currencies[currency] : null;
  if (c === null) return `${minor} ${currency} (minor units)`;
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const unit = 10 ** c.exponent;
  const frac = c.exponent ? `.${String(abs % unit).padStart(c.exponent, "0")}` : "";
  return `${sign}${c.symbol}${Math.floor(abs / unit)}${frac}`;
}
