// What a member pastes or types, read into one id on one platform: spec/platforms.md §3–§5.
//
// The same rules as protocol/platforms.py, case for case (tests/js/platforms.test.mjs runs
// spec/vectors/platforms.json through both). Only the id is kept: a worker's own ids in a
// pasted address (PROLIFIC_PID, workerId, …) are dropped, and only their names reported.

import { TABLE } from "./platforms.js";

export const ID_KINDS = Object.freeze(["requester", "task", "batch"]);
export const MAX_PASTE = 4096;
// Stripped from both ends: ASCII white space, no-break spaces, zero-width space, BOM.
const STRIP = new Set([" ", "\t", "\n", "\r", "\f", "\v", "\u00a0", "\u2007", "\u202f", "\u200b", "\ufeff"]);
const PLATFORM_RE = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const GENERAL_ID_RE = /^[\x21-\x7e]{1,128}$/;
const ASCII_RE = /^[\x00-\x7f]*$/;

/** A refusal with a stable code (platforms.md §7), as PlatformInputError in Python. */
export class PlatformInputError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "PlatformInputError";
    this.code = code;
  }
}

function strip(text) {
  let a = 0;
  let b = text.length;
  while (a < b && STRIP.has(text[a])) a += 1;
  while (b > a && STRIP.has(text[b - 1])) b -= 1;
  return text.slice(a, b);
}

const asciiLower = (t) => (ASCII_RE.test(t) ? t.toLowerCase() : t);
const shown = (t, limit = 40) =>
  JSON.stringify([...t].length <= limit ? t : [...t].slice(0, limit - 1).join("") + "…");

function ms(day) {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The canonical form of `text` under an id rule, or null (§3). */
export function canonicalUnder(rule, text) {
  if (!ASCII_RE.test(text)) return null;
  const out = rule.case === "lower" ? text.toLowerCase() : rule.case === "upper" ? text.toUpperCase() : text;
  if (out.length < rule.min || out.length > rule.max) return null;
  for (const c of out) if (!rule.alphabet.includes(c)) return null;
  return out;
}

/** For people: "24 characters of 0-9 and a-f". */
export function describeRule(rule) {
  const size = rule.min === rule.max ? `${rule.min} characters` : `${rule.min} to ${rule.max} characters`;
  const runs = [];
  const chars = rule.alphabet;
  for (let i = 0; i < chars.length; ) {
    let j = i;
    while (j + 1 < chars.length && chars.charCodeAt(j + 1) === chars.charCodeAt(j) + 1) j += 1;
    runs.push(i === j ? chars[i] : `${chars[i]}-${chars[j]}`);
    i = j + 1;
  }
  return `${size} of ${runs.length < 3 ? runs.join(" and ") : runs.join(", ")}`;
}

const PLATFORMS = TABLE.platforms;
const ALIASES = Object.fromEntries(
  Object.entries(PLATFORMS).flatMap(([key, p]) => p.aliases.map((a) => [a, key])),
);
const WORKER_PARAMS = Object.fromEntries(TABLE.worker_params.map((w) => [w.toLowerCase(), w]));

/** The platform's entry of the table, or undefined for a platform the table does not know. */
export function platformOf(key) {
  return Object.hasOwn(PLATFORMS, key) ? PLATFORMS[key] : undefined;
}

/** What the platform calls a kind of thing: "study" for a Prolific task. */
export function wordFor(key, kind) {
  const p = platformOf(key);
  if (!p) return kind;
  return { requester: p.words.requester, task: p.words.task }[kind] || p.words.batch || kind;
}

function article(key, kind) {
  const p = platformOf(key);
  const word = p ? `${p.name} ${wordFor(key, kind)}` : `${key} ${kind}`;
  return `${"aeiou".includes(word[0].toLowerCase()) ? "an" : "a"} ${word}`;
}

/** A platform as typed (any case, an alias) → its key; unknown platforms pass as typed. */
export function resolvePlatform(text) {
  const name = strip(text);
  let key = asciiLower(name);
  if (Object.hasOwn(ALIASES, key)) key = ALIASES[key];
  if (TABLE.not_platforms.includes(key)) {
    throw new PlatformInputError(
      "not_platform_id",
      `${shown(name)} is the start of an address, not a platform: paste the whole address, or type platform:id`,
    );
  }
  if (!PLATFORM_RE.test(key)) {
    throw new PlatformInputError(
      "not_platform_id",
      `${shown(name)} is not a platform: a platform is a short name such as ${Object.keys(PLATFORMS).join(", ")}`,
    );
  }
  return key;
}

/** `text` as an id of `kind` on `platform`, in its canonical form, or PlatformInputError. */
export function canonicalId(platform, kind, text) {
  if (!ID_KINDS.includes(kind)) throw new TypeError(`kind is one of ${ID_KINDS.join(", ")}`);
  const key = resolvePlatform(platform);
  const id = strip(text);
  const p = platformOf(key);
  const rule = p ? p.ids[kind] : null;
  if (rule) {
    const out = canonicalUnder(rule, id);
    if (out === null) {
      throw new PlatformInputError(
        "bad_platform_id",
        `${article(key, kind)} id is ${describeRule(rule)}, as ${rule.example}; ${shown(id)} is not one`,
      );
    }
    return out;
  }
  if (!GENERAL_ID_RE.test(id)) {
    throw new PlatformInputError(
      "bad_platform_id",
      `${article(key, kind)} id is 1 to 128 printable characters with no spaces; ${shown(id)} is not one`,
    );
  }
  return id;
}

function withoutPort(host) {
  const i = host.lastIndexOf(":");
  if (i < 0 || host.endsWith("]") || !/^[0-9]*$/.test(host.slice(i + 1))) return host;
  return host.slice(0, i);
}

const unpercent = (t) => t.replace(/%([0-7][0-9A-Fa-f])/g, (_, h) => String.fromCharCode(parseInt(h, 16)));

function partition(text, sep) {
  const i = text.indexOf(sep);
  return i < 0 ? [text, "", ""] : [text.slice(0, i), sep, text.slice(i + sep.length)];
}

/** host[:port]/path?query#fragment (no scheme) → {host, segments, pairs} (§5 step 2). */
function splitAddress(rest) {
  const [noFragment] = partition(rest, "#");
  const [before, , query] = partition(noFragment, "?");
  const slash = before.indexOf("/");
  const authority = slash < 0 ? before : before.slice(0, slash);
  const path = slash < 0 ? "" : before.slice(slash);
  const at = authority.lastIndexOf("@");
  let host = asciiLower(withoutPort(at < 0 ? authority : authority.slice(at + 1)));
  host = host.replace(/\.+$/, "");
  const segments = path.split("/").filter((s) => s !== "").map(unpercent);
  const pairs = [];
  for (const item of query.split("&")) {
    if (item === "") continue;
    const [k, , v] = partition(item, "=");
    pairs.push([unpercent(k.replaceAll("+", " ")), unpercent(v.replaceAll("+", " "))]);
  }
  return { host, segments, pairs };
}

function serves(address, host) {
  return address.hosts.some(
    (h) =>
      h !== "*" &&
      (h === host || (h.startsWith("*.") && host.endsWith(h.slice(1)) && host.length > h.length - 1)),
  );
}

function readAddress(address, segments, query) {
  const tpl = address.path.split("/").filter((s) => s !== "");
  if (segments.length < tpl.length) return null;
  for (let i = 0; i < tpl.length; i += 1) {
    const part = tpl[i];
    if (part.startsWith("{")) return [part.slice(1, -1), segments[i]];
    if (part !== "*" && part.toLowerCase() !== segments[i].toLowerCase()) return null;
  }
  for (const [param, kind] of address.query || []) {
    const value = strip(query.has(param) ? query.get(param) : "");
    if (value) return [kind, value];
  }
  return null;
}

function looksLikeHost(text) {
  const head = asciiLower(withoutPort(text.split(/[/?#]/, 1)[0]));
  return Object.values(PLATFORMS).some((p) => p.addresses.some((a) => serves(a, head)));
}

function parseAddress(rest) {
  const { host, segments, pairs } = splitAddress(rest);
  const query = new Map();
  const removed = [];
  for (const [k, v] of pairs) {
    if (!query.has(k)) query.set(k, v);
    const name = WORKER_PARAMS[k.toLowerCase()];
    if (name !== undefined && !removed.includes(name)) removed.push(name);
  }
  let known = null;
  for (const [key, p] of Object.entries(PLATFORMS)) {
    for (const a of p.addresses) {
      if (!serves(a, host)) continue;
      known = known || key;
      const found = readAddress(a, segments, query);
      if (found !== null) {
        const [kind, id] = found;
        return { platform: key, kind, id: canonicalId(key, kind, id), removed };
      }
    }
  }
  if (known !== null) {
    const p = PLATFORMS[known];
    throw new PlatformInputError(
      "no_id_in_address",
      `this is a ${p.name} address, but no ${p.words.requester} or ${p.words.task} id is in it: open the ${p.words.task}'s own page and paste its address, or type ${known}:id`,
    );
  }
  for (const [key, p] of Object.entries(PLATFORMS)) {
    for (const a of p.addresses) {
      if (a.hosts.length === 1 && a.hosts[0] === "*" && a.when && query.has(a.when)) {
        const found = readAddress(a, segments, query);
        if (found !== null) {
          const [kind, id] = found;
          return { platform: key, kind, id: canonicalId(key, kind, id), removed };
        }
      }
    }
  }
  throw new PlatformInputError(
    "unknown_address",
    `coopfed does not know the pages of ${shown(host, 60)}: paste the address of the requester's or the task's page on its platform, or type platform:id`,
  );
}

/**
 * Read what a member pasted or typed: a page's address, or platform:id (spec/platforms.md §5).
 *
 * @returns {{platform: string, kind: string, id: string, removed: string[]}} `kind` is the
 *   address's when it came from one (a study's page gives a task); `removed` names the
 *   worker-id parameters the address held, which were dropped.
 * @throws PlatformInputError (bad_platform_id, no_id_in_address, unknown_address,
 *   not_platform_id); its message never repeats an address's path or query.
 */
export function parsePasted(text, { kind = "requester" } = {}) {
  if (!ID_KINDS.includes(kind)) throw new TypeError(`kind is one of ${ID_KINDS.join(", ")}`);
  if (typeof text !== "string") throw new TypeError("parsePasted takes text");
  const t = strip(text);
  const length = [...t].length;
  if (length > MAX_PASTE) {
    throw new PlatformInputError("not_platform_id", `this is ${length} characters: too long to be an id`);
  }
  if (t === "") {
    throw new PlatformInputError(
      "not_platform_id",
      "nothing to read: paste the address of a requester's or a task's page, or type platform:id",
    );
  }
  const low = t.slice(0, 8).toLowerCase();
  if (low.startsWith("http://") || low.startsWith("https://")) {
    return parseAddress(t.slice(t.indexOf("://") + 3));
  }
  if (looksLikeHost(t)) return parseAddress(t);
  const [platform, sep, id] = partition(t, ":");
  if (!sep) {
    throw new PlatformInputError(
      "not_platform_id",
      "type the platform and the id, as prolific:5f0c3b1e2d9a8c7b6a5f4e3d, or paste the address of the page",
    );
  }
  const key = resolvePlatform(platform);
  return { platform: key, kind, id: canonicalId(key, kind, id), removed: [] };
}

/** The Unix ms from which records follow a platform's id rules (§4); null if unknown. */
export function strictFrom(key) {
  const p = platformOf(key);
  return p ? ms(p.strict_from) : null;
}
