// The app's plumbing: building DOM safely, talking to the node's JSON API, the node's clock,
// and formatting numbers, money and times for people.
//
// No innerHTML anywhere: the pages run under Trusted Types with no policy, so text goes in
// with textContent and elements are built with el(). Every refusal of the node becomes an
// ApiError whose plainMessage() is a sentence a member can act on (errors.js).

import { plainSentence } from "./errors.js";

// ------------------------------------------------------------------------------- DOM

/** document.querySelector, throwing if the page lacks the element (a bug, not a user error). */
export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`this page has no ${selector}`);
  return found;
}

export function $$(selector, root = document) {
  return [...root.querySelectorAll(selector)];
}

/**
 * A new element: el("a", {href: "/app/", class: "x"}, "text", child...). Attributes with
 * value null, undefined or false are left out; true gives an empty attribute. Children are
 * nodes or text (never parsed as HTML); null and false children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** An SVG element (for the charts): same conventions as el(). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the children of `node` by `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// ------------------------------------------------------------------------------- messages

/**
 * Show a message in a region the page reserved for it (a div with role="status" or
 * aria-live, so screen readers announce it). kind: "ok", "error", "info", "busy".
 * An error may carry the node's own code and message, shown under "Details".
 */
export function say(region, kind, text, { details = null, links = [] } = {}) {
  const box = el(
    "div",
    { class: `message message-${kind}` },
    el("p", {}, text),
    links.length ? el("p", { class: "message-links" }, links.flatMap((l, i) => [i ? " · " : "", l])) : null,
    details ? el("details", {}, el("summary", {}, "Details"), el("p", { class: "mono" }, details)) : null,
  );
  fill(region, box);
  if (kind === "error" && region.getAttribute("role") !== "alert") {
    // Errors are announced at once; the region stays a status region for the next message.
    region.setAttribute("aria-live", "assertive");
  } else if (kind !== "error") {
    region.setAttribute("aria-live", "polite");
  }
  return box;
}

/** Show an error (an ApiError, a BackupError, anything thrown) as a plain sentence. */
export function sayError(region, err, { links = [] } = {}) {
  const text = err && typeof err.plainMessage === "function" ? err.plainMessage() : plainOf(err);
  const details = err instanceof ApiError && err.code !== "network"
    ? `${err.code}: ${err.serverMessage}`
    : null;
  return say(region, "error", text, { details, links: links.concat(err?.links || []) });
}

function plainOf(err) {
  if (err && err.code) {
    const sentence = plainSentence(err.code, err.message);
    if (sentence) return sentence;
  }
  return `Something went wrong: ${err && err.message ? err.message : String(err)}`;
}

export function clear(region) {
  region.replaceChildren();
}

/** Disable a form's submit button while `work` runs, and say it is busy. */
export async function busy(form, region, text, work) {
  const buttons = $$("button", form);
  buttons.forEach((b) => {
    b.disabled = true;
  });
  form.setAttribute("aria-busy", "true");
  say(region, "busy", text);
  try {
    return await work();
  } finally {
    buttons.forEach((b) => {
      b.disabled = false;
    });
    form.removeAttribute("aria-busy");
  }
}

// ------------------------------------------------------------------------------- the API

/** A refusal of the node ({"error": {"code", "message"}}), or no answer at all. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = message;
  }

  plainMessage() {
    return plainSentence(this.code, this.serverMessage, this.status);
  }
}

const TIMEOUT_MS = 30_000;

/**
 * fetch() a path of this node and return its JSON; a refusal throws ApiError.
 * options: {method, json (a value to send as JSON), body, contentType}.
 */
export async function api(path, { method = "GET", json, body, contentType } = {}) {
  const headers = { Accept: "application/json" };
  let payload = body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: payload,
      credentials: "same-origin",
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiError(0, "network", `no answer from the node (${e.message})`);
  }
  let value = null;
  const type = resp.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      value = await resp.json();
    } catch {
      value = null;
    }
  }
  if (!resp.ok) {
    const error = value && value.error;
    if (error && typeof error.code === "string") {
      throw new ApiError(resp.status, error.code, String(error.message || ""));
    }
    throw new ApiError(resp.status, `http_${resp.status}`, `the node answered ${resp.status}`);
  }
  return value;
}

export const MSGPACK = "application/vnd.coopfed+msgpack";

/** Post a record's signed bytes; returns {id, index} (201, or 200 for a replay). */
export function postRecord(bytes) {
  return api("/api/v1/records", { method: "POST", body: bytes, contentType: MSGPACK });
}

let wellKnown = null;

/** The co-op's self-description (/.well-known/coopfed), fetched once per page. */
export function coopInfo() {
  if (!wellKnown) {
    wellKnown = api("/.well-known/coopfed").catch((e) => {
      wellKnown = null;
      throw e;
    });
  }
  return wellKnown;
}

let charterPromise = null;

/** The charter in force: {id, index, record: {body: {...}}}. */
export function charter() {
  if (!charterPromise) {
    charterPromise = api("/api/v1/charter").catch((e) => {
      charterPromise = null;
      throw e;
    });
  }
  return charterPromise;
}

let routesPromise = null;

/**
 * Whether the node serves `template` (an OpenAPI path such as "/api/v1/bundles/decision/{id}").
 * Parts of the API arrive over time (federation, bundles): pages link to them only when there.
 */
export async function hasRoute(template) {
  if (!routesPromise) {
    routesPromise = api("/openapi.json")
      .then((doc) => new Set(Object.keys((doc && doc.paths) || {})))
      .catch(() => new Set());
  }
  return (await routesPromise).has(template);
}

let clockOffset = null;

/**
 * The node's clock now, in Unix ms. Records are stamped with it: the node refuses a record
 * whose time is minutes away from its own, and a phone's clock may be wrong.
 */
export async function nodeNow() {
  if (clockOffset === null) {
    const before = Date.now();
    const { now_ms: nodeMs } = await api("/app/now");
    const after = Date.now();
    clockOffset = nodeMs - Math.round((before + after) / 2);
  }
  return Date.now() + clockOffset;
}

/** Forget the clock offset (after a "skew" refusal: the device's clock may have changed). */
export function resetClock() {
  clockOffset = null;
}

/** The node's clock as far as we know it, without asking (for countdowns). */
export function nodeNowSync() {
  return Date.now() + (clockOffset || 0);
}

// ------------------------------------------------------------------------------- requesters

export const PLATFORM_RE = /^[a-z0-9][a-z0-9._-]{0,31}$/;
export const REQUESTER_ID_RE = /^[\x21-\x7e]{1,128}$/;

/** "platform:id" → {platform, id}; null if it does not parse. */
export function parseRequester(text) {
  const value = String(text || "").trim();
  const at = value.indexOf(":");
  if (at < 1) return null;
  const platform = value.slice(0, at).toLowerCase();
  const id = value.slice(at + 1);
  if (!PLATFORM_RE.test(platform) || !REQUESTER_ID_RE.test(id)) return null;
  return { platform, id };
}

export function requesterText(r) {
  return `${r.platform}:${r.id}`;
}

export function requesterPath(r) {
  return `${encodeURIComponent(r.platform)}/${encodeURIComponent(r.id)}`;
}

/**
 * Read a requester from a form's "platform" and "requester" fields; a full "mturk:A1B2"
 * typed into the id field wins. Returns {platform, id} or throws a FormError.
 */
export function requesterFromForm(form) {
  const platformField = form.elements.namedItem("platform");
  const idField = form.elements.namedItem("requester");
  const typed = idField.value.trim();
  const whole = typed.includes(":") ? parseRequester(typed) : null;
  if (whole) return whole;
  const platform = platformField.value.trim().toLowerCase();
  if (!PLATFORM_RE.test(platform)) {
    throw new FormError(
      "The platform is a short name in lower case, like mturk or prolific.",
      platformField,
    );
  }
  if (!REQUESTER_ID_RE.test(typed)) {
    throw new FormError(
      typed
        ? "A requester ID has no spaces and only plain letters, digits and punctuation."
        : "Type the requester's ID, as the platform shows it (for example A1B2C3D4E5).",
      idField,
    );
  }
  return { platform, id: typed };
}

/** A mistake in a form, found before anything is signed; points at the field to fix. */
export class FormError extends Error {
  constructor(message, field = null) {
    super(message);
    this.name = "FormError";
    this.field = field;
  }

  plainMessage() {
    return this.message;
  }
}

/** Show a FormError next to its field (aria-invalid, aria-describedby) and focus it. */
export function markInvalid(err) {
  const field = err && err.field;
  if (!field) return;
  const target = field instanceof RadioNodeList ? field[0] : field;
  if (!target || !target.setAttribute) return;
  target.setAttribute("aria-invalid", "true");
  target.focus();
  const clearMark = () => {
    target.removeAttribute("aria-invalid");
    target.removeEventListener("input", clearMark);
  };
  target.addEventListener("input", clearMark);
}

export function clearInvalid(form) {
  $$("[aria-invalid]", form).forEach((f) => f.removeAttribute("aria-invalid"));
}

// ------------------------------------------------------------------------------- formatting

/** Integer cents as "$12.34" (integers only: no floating point anywhere near money). */
export function money(cents) {
  if (cents === null || cents === undefined) return "—";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

export function hourly(cents) {
  return cents === null || cents === undefined ? "—" : `${money(cents)}/hour`;
}

/**
 * "12", "12.5", "12.50", "$12.50" → 1250 cents; null when empty. Parsed as text, so no
 * rounding surprises. Throws FormError for anything else.
 */
export function parseMoney(text, field = null) {
  const value = String(text || "").trim().replace(/^\$/, "").replace(",", ".");
  if (!value) return null;
  const match = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(value);
  if (!match) {
    throw new FormError("Write the amount in dollars and cents, like 7.25.", field);
  }
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

/** A mean in hundredths (as the node gives it) as "3.25". */
export function hundredths(x100) {
  if (x100 === null || x100 === undefined) return "—";
  return `${Math.floor(x100 / 100)}.${String(x100 % 100).padStart(2, "0")}`;
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});
const DATE_ONLY = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function dateTime(ms) {
  return DATE_TIME.format(new Date(ms));
}

export function dateOnly(ms) {
  return DATE_ONLY.format(new Date(ms));
}

/** A <time> element showing `ms` in the reader's locale. */
export function timeEl(ms, { date = false } = {}) {
  return el("time", { datetime: new Date(ms).toISOString() }, date ? dateOnly(ms) : dateTime(ms));
}

/** A duration in words: "3 days 4 hours", "45 minutes", "less than a minute". */
export function duration(ms) {
  let minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return "less than a minute";
  // Beyond a day, to the nearest hour: "3 days", not "2 days 23 hours".
  if (minutes >= 1440) minutes = Math.round(minutes / 60) * 60;
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const part = (n, word) => (n ? `${n} ${word}${n === 1 ? "" : "s"}` : "");
  if (days) return [part(days, "day"), part(hours, "hour")].filter(Boolean).join(" ");
  if (hours) return [part(hours, "hour"), part(mins, "minute")].filter(Boolean).join(" ");
  return part(mins, "minute");
}

/** "5 minutes ago", "in 2 hours" relative to the node's clock. */
export function relative(ms) {
  const diff = ms - nodeNowSync();
  return diff >= 0 ? `in ${duration(diff)}` : `${duration(-diff)} ago`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Text length as the protocol counts it: Unicode scalar values, not UTF-16 units. */
export function textLength(text) {
  return [...text].length;
}

/** The query parameter `name` of this page's URL, or "". */
export function param(name) {
  return new URLSearchParams(location.search).get(name) || "";
}

/** Lowercase hex (as the API gives ids) to bytes. */
export function fromHexBytes(hex) {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`not lowercase hex: ${hex}`);
  return Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));
}
