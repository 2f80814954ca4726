// Ed25519 identities in the browser: did:key names, handles, keys and strict verification.
//
// The same rules as protocol/identity.py (spec/identity.md): a member or co-op is an Ed25519
// key named "did:key:z" + base58btc(0xed 0x01 || key); publicKeyFromDid accepts only the
// canonical form of a key in the prime-order subgroup (libsodium's
// crypto_core_ed25519_is_valid_point); verifySignature refuses what libsodium's strict
// verification refuses. Keys are WebCrypto CryptoKeys: private keys need never be extractable.

import { LocalProtocolError } from "./canonical.js";
import { ADJECTIVES, ANIMALS } from "./wordlists.js";

export { LocalProtocolError };

export const B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
export const DID_KEY_PREFIX = "did:key:";
export const MAX_DID_LENGTH = 64;
export const HANDLE_DOMAIN = new TextEncoder().encode("coopfed/handle/v1\0");
const ED25519_MULTICODEC = [0xed, 0x01];
// PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410): this prefix, then the seed.
const PKCS8_PREFIX = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
);
const B58_INDEX = new Map([...B58_ALPHABET].map((c, i) => [c, BigInt(i)]));

/** A DID or key is malformed or of an unsupported kind (Python: InvalidIdentity). */
export class InvalidIdentity extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidIdentity";
    this.code = "invalid_identity";
  }
}

/** A signature does not verify (Python: InvalidSignature). */
export class InvalidSignature extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidSignature";
    this.code = "bad_signature";
  }
}


function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw new LocalProtocolError("WebCrypto (crypto.subtle) is not available here");
  return s;
}

function isBytes(v) {
  return v instanceof Uint8Array;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ------------------------------------------------------------------------------- base58btc

/** Bitcoin-alphabet base58: each leading zero byte becomes a leading '1'. */
export function b58encode(bytes) {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let digits = "";
  while (n > 0n) {
    digits = B58_ALPHABET[Number(n % 58n)] + digits;
    n /= 58n;
  }
  return "1".repeat(zeros) + digits;
}

/** Inverse of b58encode; throws InvalidIdentity on a foreign character. */
export function b58decode(text) {
  let n = 0n;
  let i = 0;
  for (const c of text) {
    const digit = B58_INDEX.get(c);
    if (digit === undefined) {
      throw new InvalidIdentity(`character ${JSON.stringify(c)} at position ${i} is not base58btc`);
    }
    n = n * 58n + digit;
    i++;
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const body = [];
  while (n > 0n) {
    body.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return Uint8Array.from([...new Array(zeros).fill(0), ...body]);
}

// ------------------------------------------------------------------------------- Ed25519 points

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mod = (a) => {
  const r = a % P;
  return r < 0n ? r + P : r;
};
function pow(base, exp) {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}
const D = mod(-121665n * pow(121666n, P - 2n));
const D2 = mod(2n * D);
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

// Extended coordinates (X:Y:Z:T) with x = X/Z, y = Y/Z, xy = T/Z; a = -1 (RFC 8032 5.1.4).
function add(p, q) {
  const a = mod((p[1] - p[0]) * (q[1] - q[0]));
  const b = mod((p[1] + p[0]) * (q[1] + q[0]));
  const c = mod(p[3] * D2 * q[3]);
  const d = mod(2n * p[2] * q[2]);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function double(p) {
  const a = mod(p[0] * p[0]);
  const b = mod(p[1] * p[1]);
  const c = mod(2n * p[2] * p[2]);
  const h = a + b;
  const e = h - mod((p[0] + p[1]) * (p[0] + p[1]));
  const g = a - b;
  const f = c + g;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(point, scalar) {
  let result = [0n, 1n, 1n, 0n];
  for (const bit of scalar.toString(2)) {
    result = double(result);
    if (bit === "1") result = add(result, point);
  }
  return result;
}

function isNeutral(p) {
  return p[0] === 0n && p[1] === p[2];
}

/** The point a 32-byte encoding names, or null if y >= p or it is not on the curve. */
function decompress(bytes) {
  const sign = bytes[31] >> 7;
  const copy = Uint8Array.from(bytes);
  copy[31] &= 0x7f;
  const y = littleEndian(copy);
  if (y >= P) return null;
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  // x = sqrt(u / v) = u v^3 (u v^7)^((p-5)/8), then fix by sqrt(-1) if needed
  const v3 = (v * v * v) % P;
  let x = mod(u * v3 * pow(u * v3 * v3 * v, (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === u) {
    // x is a root
  } else if (vx2 === mod(-u)) {
    x = mod(x * SQRT_M1);
  } else {
    return null;
  }
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y, 1n, mod(x * y)];
}

/**
 * True if `bytes` is the canonical encoding of an Ed25519 point of large prime order: what
 * libsodium's crypto_core_ed25519_is_valid_point accepts (and so protocol/identity.py).
 */
export function isValidPoint(bytes) {
  if (!isBytes(bytes) || bytes.length !== 32) return false;
  const point = decompress(bytes);
  // x = 0 means y = ±1: the neutral element or the point of order 2
  if (point === null || point[0] === 0n) return false;
  return isNeutral(multiply(point, L));
}

// libsodium's ge25519_has_small_order blocklist (the sign bit is ignored).
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16)));

/** libsodium's small-order test on an encoded point (exported for tests). */
export function hasSmallOrder(bytes) {
  return SMALL_ORDER.some((entry) => {
    for (let i = 0; i < 31; i++) if (bytes[i] !== entry[i]) return false;
    return (bytes[31] & 0x7f) === entry[31];
  });
}

function isCanonicalPoint(bytes) {
  const copy = Uint8Array.from(bytes);
  copy[31] &= 0x7f;
  return littleEndian(copy) < P;
}

// ------------------------------------------------------------------------------- did:key

const MAX_REMEMBERED_DIDS = 4096;
const validDids = new Map();

/** The did:key of a 32-byte Ed25519 public key. */
export function didFromPublicKey(publicKey) {
  if (!isBytes(publicKey) || publicKey.length !== 32) {
    throw new LocalProtocolError("an Ed25519 public key is 32 bytes (a Uint8Array)");
  }
  return `${DID_KEY_PREFIX}z${b58encode(concat(ED25519_MULTICODEC, publicKey))}`;
}

/**
 * The Ed25519 public key a did:key names, or throw InvalidIdentity.
 *
 * Only the canonical form is accepted, and the key must be a valid curve point of large
 * order: small-order keys would let anyone forge.
 */
export function publicKeyFromDid(did) {
  const known = validDids.get(did);
  if (known !== undefined) return known.slice();
  if (typeof did !== "string") throw new InvalidIdentity(`a DID is text, not ${typeof did}`);
  if (did.length > MAX_DID_LENGTH) {
    throw new InvalidIdentity(`DID is ${did.length} characters, more than ${MAX_DID_LENGTH}`);
  }
  if (!did.startsWith(`${DID_KEY_PREFIX}z`)) {
    throw new InvalidIdentity(
      `expected a did:key in base58btc ('did:key:z…'), got ${JSON.stringify(did)}`,
    );
  }
  const raw = b58decode(did.slice(DID_KEY_PREFIX.length + 1));
  if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) {
    throw new InvalidIdentity(
      `expected multicodec 0xed01 and a 32-byte Ed25519 key in ${JSON.stringify(did)}`,
    );
  }
  const key = raw.slice(2);
  if (didFromPublicKey(key) !== did) {
    throw new InvalidIdentity(`DID ${JSON.stringify(did)} is not in canonical form`);
  }
  if (!isValidPoint(key)) {
    throw new InvalidIdentity(`DID ${JSON.stringify(did)} holds a small-order or invalid Ed25519 key`);
  }
  // the subgroup check costs milliseconds in BigInt arithmetic: remember the DIDs that passed
  if (validDids.size >= MAX_REMEMBERED_DIDS) validDids.delete(validDids.keys().next().value);
  validDids.set(did, key.slice());
  return key;
}

// ------------------------------------------------------------------------------- handles

async function handleDigest(publicKey) {
  if (!isBytes(publicKey)) throw new LocalProtocolError("a public key is a Uint8Array");
  const digest = await subtle().digest("SHA-256", concat(HANDLE_DOMAIN, publicKey));
  return new Uint8Array(digest);
}

/** The readable "adjective_animal" handle of a key: a name for people, not an identity. */
export async function handleFor(publicKey) {
  const d = await handleDigest(publicKey);
  return `${ADJECTIVES[d[0]]}_${ANIMALS[d[1]]}`;
}

/** The handle followed by four hex digits of the same digest, for disambiguation. */
export async function longHandleFor(publicKey) {
  const d = await handleDigest(publicKey);
  const hex = [d[2], d[3]].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${ADJECTIVES[d[0]]}_${ANIMALS[d[1]]}_${hex}`;
}

// ------------------------------------------------------------------------------- keys

const ED25519 = { name: "Ed25519" };

/** A new Ed25519 key pair; the private key is not extractable unless asked. */
export async function generateKeyPair({ extractable = false } = {}) {
  return subtle().generateKey(ED25519, extractable, ["sign", "verify"]);
}

function base64urlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) =>
    c.charCodeAt(0),
  );
}

/**
 * The key pair of a 32-byte Ed25519 seed (RFC 8032's "private key"), e.g. from a backup.
 *
 * The seed is imported as PKCS#8; the public key comes from the JWK export. With
 * extractable false (the default) the private key returned cannot be exported again.
 */
export async function keyPairFromSeed(seed, { extractable = false } = {}) {
  if (!isBytes(seed) || seed.length !== 32) {
    throw new LocalProtocolError("an Ed25519 seed is 32 bytes (a Uint8Array)");
  }
  const s = subtle();
  const temporary = await s.importKey("pkcs8", concat(PKCS8_PREFIX, seed), ED25519, true, [
    "sign",
  ]);
  const jwk = await s.exportKey("jwk", temporary);
  const publicKey = await s.importKey("raw", base64urlDecode(jwk.x), ED25519, true, ["verify"]);
  const privateKey = extractable
    ? temporary
    : await s.importKey("jwk", jwk, ED25519, false, ["sign"]);
  return { privateKey, publicKey };
}

/** The 32 raw bytes of a public key: a CryptoKey, a CryptoKeyPair, or bytes already. */
export async function exportPublicKey(key) {
  if (isBytes(key)) return key;
  if (key && key.publicKey !== undefined) return exportPublicKey(key.publicKey);
  return new Uint8Array(await subtle().exportKey("raw", key));
}

/** The detached 64-byte Ed25519 signature of `message` by a private CryptoKey. */
export async function sign(privateKey, message) {
  return new Uint8Array(await subtle().sign(ED25519, privateKey, message));
}

/**
 * Return if `signature` is `publicKey`'s Ed25519 signature of `message`, else throw
 * InvalidSignature. Before WebCrypto checks the equation, refuse what libsodium refuses:
 * S >= L, a small-order R, a non-canonical or small-order public key.
 */
export async function verifySignature(publicKey, message, signature) {
  if (!isBytes(signature) || signature.length !== 64) {
    const got = isBytes(signature) ? signature.length : typeof signature;
    throw new InvalidSignature(`an Ed25519 signature is 64 bytes, got ${got}`);
  }
  const fail = () => new InvalidSignature("the Ed25519 signature does not verify");
  if (!isBytes(publicKey) || publicKey.length !== 32) throw fail();
  if (littleEndian(signature.subarray(32)) >= L) throw fail();
  if (hasSmallOrder(signature.subarray(0, 32))) throw fail();
  if (!isCanonicalPoint(publicKey) || hasSmallOrder(publicKey)) throw fail();
  let ok = false;
  try {
    const key = await subtle().importKey("raw", publicKey, ED25519, false, ["verify"]);
    ok = await subtle().verify(ED25519, key, signature, message);
  } catch {
    ok = false;
  }
  if (!ok) throw fail();
}

export { concat, equalBytes };
