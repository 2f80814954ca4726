// Signed records made in the browser: exactly the bytes protocol/records.py makes and accepts.
//
// A record is the canonical map {author, body, coop, sig, ts, type, v}. The signature is
// Ed25519 by `author` over SIGNING_DOMAIN || encode(envelope without "sig"); the record id is
// SHA-256 of the whole signed record's canonical bytes (spec/records.md). Body schemas are
// the node's to enforce: this module signs what it is given, after checking the envelope
// and that its one-line fields (a pitch, a co-op's or a requester's name, a task's title, a
// URL) are one line.

import { decode, encode, LocalProtocolError } from "./canonical.js";
import {
  didFromPublicKey,
  exportPublicKey,
  publicKeyFromDid,
  sign,
  verifySignature,
} from "./identity.js";
import { NOT_SIGNED_BY_COOP, RECORD_TYPES, SIGNED_BY_COOP } from "./recordtypes.js";

export const FORMAT_VERSION = 1;
export const SIGNING_DOMAIN = new TextEncoder().encode("coopfed/record/v1\0");
export const MAX_RECORD_SIZE = 32 * 1024;
// Unix milliseconds within [2020-01-01, 2200-01-01).
export const MIN_TS = 1577836800000;
export const MAX_TS = 7258118400000;
const ENVELOPE_KEYS = ["author", "body", "coop", "sig", "ts", "type", "v"];

// Text fields refuse controls but TAB and LF, and bidi overrides and isolates; one-line
// fields refuse TAB, LF and the Unicode line and paragraph separators too (spec/records.md
// section 3, "one-line text"): listed, a second line would read as the node's own.
const NOT_IN_TEXT = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const LINE_BREAK = /[\t\n\u2028\u2029]/;

/** True when `text` may stand in a one-line field (its length is the form's to check). */
export function isOneLine(text) {
  return typeof text === "string" && !NOT_IN_TEXT.test(text) && !LINE_BREAK.test(text);
}

// The one-line fields at the top of a body, by type (spec/records.md, "Labels and prose"):
// a requester's name as a member saw it, a task's title.
const ONE_LINE_TOP = {
  rating: ["name"],
  flag: ["name"],
  appeal: ["name"],
  "task.report": ["name", "title"],
};

/** [path, value] of each one-line field of a body: spec/records.md's list. */
function oneLineFields(type, body) {
  const out = [];
  const isMap = (v) => v !== null && typeof v === "object" && !(v instanceof Uint8Array);
  const nameOf = (charter, path) => {
    if (isMap(charter) && "name" in charter) out.push([`${path}.name`, charter.name]);
  };
  for (const key of ONE_LINE_TOP[type] || []) {
    if (key in body) out.push([`body.${key}`, body[key]]);
  }
  if (type === "charter") nameOf(body, "body");
  if (type === "proposal") {
    if ("pitch" in body) out.push(["body.pitch", body.pitch]);
    nameOf(body.charter, "body.charter");
  }
  if (type === "federation.policy" && Array.isArray(body.follow)) {
    body.follow.forEach((f, i) => {
      if (isMap(f) && "url" in f) out.push([`body.follow[${i}].url`, f.url]);
    });
  }
  return out;
}

/** How a one-line field of the body fails, as {code, message} (the node's code), or null. */
function oneLineFault(type, body) {
  for (const [path, value] of oneLineFields(type, body)) {
    if (typeof value !== "string") continue; // not text at all: the node's schema says so
    if (NOT_IN_TEXT.test(value)) {
      return {
        code: "invalid_record",
        message: `${path} contains control or text-direction override characters`,
      };
    }
    if (LINE_BREAK.test(value)) return { code: "not_one_line", message: `${path} is one line` };
  }
  return null;
}

function checkEnvelope({ type, coop, author, ts, body }) {
  if (!RECORD_TYPES.includes(type)) {
    throw new LocalProtocolError(`unknown record type ${JSON.stringify(type)}`);
  }
  publicKeyFromDid(coop);
  publicKeyFromDid(author);
  if (!Number.isSafeInteger(ts) || ts < MIN_TS || ts >= MAX_TS) {
    throw new LocalProtocolError(`ts must be Unix milliseconds in [${MIN_TS}, ${MAX_TS})`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new LocalProtocolError("a record body is a map");
  }
}

/** SIGNING_DOMAIN || encode({author, body, coop, ts, type, v: 1}): the bytes that are signed. */
export function signingInput({ type, coop, author, ts, body }) {
  checkEnvelope({ type, coop, author, ts, body });
  const encoded = encode({ author, body, coop, ts, type, v: FORMAT_VERSION });
  const out = new Uint8Array(SIGNING_DOMAIN.length + encoded.length);
  out.set(SIGNING_DOMAIN);
  out.set(encoded, SIGNING_DOMAIN.length);
  return out;
}

/**
 * Sign a record and return its canonical bytes (what the node's API takes).
 *
 * @param keys a CryptoKeyPair, or {privateKey: CryptoKey, publicKey: CryptoKey | Uint8Array}
 * @param record {type, coop, ts, body}; the author is the DID of keys.publicKey
 * @returns {Promise<Uint8Array>}
 */
export async function signRecord(keys, { type, coop, ts, body }) {
  if (!keys || !keys.privateKey || !keys.publicKey) {
    throw new LocalProtocolError("signRecord needs {privateKey, publicKey}");
  }
  const fault = body !== null && typeof body === "object" ? oneLineFault(type, body) : null;
  if (fault !== null) throw new LocalProtocolError(`cannot sign this ${type}: ${fault.message}`);
  const author = didFromPublicKey(await exportPublicKey(keys.publicKey));
  const sig = await sign(keys.privateKey, signingInput({ type, coop, author, ts, body }));
  const raw = encode({ author, body, coop, sig, ts, type, v: FORMAT_VERSION });
  if (raw.length > MAX_RECORD_SIZE) {
    throw new LocalProtocolError(
      `record is ${raw.length} bytes, more than the limit of ${MAX_RECORD_SIZE}`,
    );
  }
  return raw;
}

/** The id of a record's canonical bytes: SHA-256 (32 bytes). */
export async function recordId(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
}

/**
 * Decode a record's bytes, check its envelope, signer rule and signature (spec/records.md
 * section 3, steps 1-9, 11 and 14), and return {type, coop, author, ts, body, sig, id}.
 * Body schemas (steps 10 and 12) are the node's to check, but for one-line fields.
 * Throws DecodeError, an Error with code "invalid_record" (or "not_one_line"),
 * InvalidIdentity or InvalidSignature.
 */
export async function openRecord(bytes) {
  const invalid = (message, code = "invalid_record") =>
    Object.assign(new Error(message), { name: "InvalidRecord", code });
  if (bytes.length > MAX_RECORD_SIZE) {
    throw invalid(`record is ${bytes.length} bytes, more than ${MAX_RECORD_SIZE}`, "too_large");
  }
  const env = decode(bytes, { maxSize: MAX_RECORD_SIZE });
  if (env === null || typeof env !== "object" || Array.isArray(env) || env instanceof Uint8Array) {
    throw invalid("a record is a map");
  }
  const keys = Object.keys(env).sort();
  if (keys.join() !== ENVELOPE_KEYS.join()) {
    throw invalid(`record envelope fields wrong: ${keys.join(", ")}`);
  }
  if (env.v !== FORMAT_VERSION) {
    throw invalid(`record format version must be ${FORMAT_VERSION}`, "unsupported_version");
  }
  const { type, coop, author, ts, body, sig } = env;
  if (!RECORD_TYPES.includes(type)) throw invalid(`unknown record type ${JSON.stringify(type)}`);
  const didOf = (v, path) => {
    if (typeof v !== "string") throw invalid(`${path} must be a did:key`);
    try {
      return publicKeyFromDid(v);
    } catch (e) {
      throw invalid(`${path}: ${e.message}`);
    }
  };
  didOf(coop, "coop");
  const key = didOf(author, "author");
  if (!Number.isSafeInteger(ts) || ts < MIN_TS || ts >= MAX_TS) {
    throw invalid(`ts must be Unix milliseconds in [${MIN_TS}, ${MAX_TS})`);
  }
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw invalid("sig must be 64 bytes");
  if (body === null || typeof body !== "object" || Array.isArray(body) || body instanceof Uint8Array) {
    throw invalid("body must be a map");
  }
  const fault = oneLineFault(type, body);
  if (fault !== null) throw invalid(fault.message, fault.code);
  if (SIGNED_BY_COOP.includes(type) && author !== coop) {
    throw invalid(`a ${type} record is signed by the co-op's own key`);
  }
  if (NOT_SIGNED_BY_COOP.includes(type) && author === coop) {
    throw invalid(`a ${type} record is not signed by the co-op's key`);
  }
  await verifySignature(key, signingInput({ type, coop, author, ts, body }), sig);
  return { type, coop, author, ts, body, sig, id: await recordId(bytes) };
}
