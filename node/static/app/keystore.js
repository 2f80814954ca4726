// The member's key in this browser: made here, kept here, signing here.
//
// How the key is kept (README, "Web app"):
//   - A new key starts as 32 random bytes (the Ed25519 seed) from crypto.getRandomValues.
//   - From the seed, WebCrypto makes the key pair; the private key is imported
//     NON-EXTRACTABLE, so no script (ours included) can read it back out of the browser.
//     That CryptoKey object is what IndexedDB stores, and what signs.
//   - The seed itself is kept only encrypted, under a passphrase the member chooses:
//     PBKDF2-SHA256 (600,000 iterations, 16-byte random salt) derives an AES-256-GCM key,
//     which encrypts the seed with the member's DID as additional data. That encrypted
//     blob is the backup file, and a copy of it stays in IndexedDB so the member can
//     download the backup again later. The plain seed is wiped from memory at once.
//   - Restoring on another device decrypts the backup with the passphrase, checks that the
//     seed gives the DID written in the file, and stores a new non-extractable key.
// Why not a key generated non-extractable from the start? Then no backup could ever be
// made, and clearing the browser would lose the member's identity for good. Why not an
// extractable key? Then any script running in the page could copy the private key at any
// time; here, an attacker who gets the stored blob still needs the passphrase.

import {
  didFromPublicKey,
  exportPublicKey,
  handleFor,
  keyPairFromSeed,
  longHandleFor,
} from "../js/identity.js";

export const BACKUP_FORMAT = "coopfed-key-backup";
export const BACKUP_VERSION = 1;
export const KDF_ITERATIONS = 600_000;
// A file may ask for more work (a later, stronger default) but not for less, nor for so
// much that opening it hangs the page.
export const MIN_ITERATIONS = 600_000;
export const MAX_ITERATIONS = 10_000_000;
export const MIN_PASSPHRASE = 10;
const AAD_PREFIX = "coopfed-key-backup/v1\0";
const DB_NAME = "coopfed";
const DB_VERSION = 1;
const STORE = "keys";
const SLOT = "member";

/** A backup that can't be used; the message is for the member. */
export class BackupError extends Error {
  constructor(message) {
    super(message);
    this.name = "BackupError";
  }

  plainMessage() {
    return this.message;
  }
}

/** The browser can't do what the key needs; code is no_webcrypto or no_ed25519. */
export class BrowserError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "BrowserError";
    this.code = code;
  }
}

// ------------------------------------------------------------------------------- bytes

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (typeof text !== "string" || !/^(?:[0-9a-f]{2})*$/.test(text)) {
    throw new BackupError("This file isn't a coopfed key backup (a value is not hex).");
  }
  return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
}

// ------------------------------------------------------------------------------- support

/** Throw a BrowserError unless this page can make and use Ed25519 keys. */
export async function checkSupport() {
  if (!globalThis.isSecureContext || !globalThis.crypto || !crypto.subtle) {
    throw new BrowserError("no_webcrypto", "WebCrypto is not available on this page");
  }
  if (!globalThis.indexedDB) {
    throw new BrowserError("no_webcrypto", "IndexedDB is not available on this page");
  }
  try {
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch {
    throw new BrowserError("no_ed25519", "WebCrypto cannot make Ed25519 keys here");
  }
}

// ------------------------------------------------------------------------------- IndexedDB

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the key store is busy in another tab"));
  });
}

async function withStore(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = work(tx.objectStore(STORE));
      let value;
      if (req) req.onsuccess = () => {
        value = req.result;
      };
      tx.oncomplete = () => resolve(value);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("the key store refused the change"));
    });
  } finally {
    db.close();
  }
}

let cached = null;

/**
 * The member's key as stored: {did, handle, longHandle, privateKey, publicKey, backup,
 * created}, or null when this browser has none. privateKey is a non-extractable CryptoKey.
 */
export async function loadKey() {
  if (cached === null) {
    cached = withStore("readonly", (s) => s.get(SLOT)).then((v) => v || null);
  }
  return cached;
}

async function saveKey(entry) {
  await withStore("readwrite", (s) => s.put(entry, SLOT));
  cached = Promise.resolve(entry);
  // Ask the browser not to clear this site's storage when space runs low (best effort).
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().catch(() => {});
  }
  return entry;
}

/** Remove the key from this browser (the backup file is then the only copy). */
export async function forgetKey() {
  await withStore("readwrite", (s) => s.delete(SLOT));
  cached = Promise.resolve(null);
}

// ------------------------------------------------------------------------------- backups

function aad(did) {
  return new TextEncoder().encode(AAD_PREFIX + did);
}

async function passphraseKey(passphrase, salt, iterations) {
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(passphrase.normalize("NFC")),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** Refuse a passphrase too short to protect a backup that may be copied anywhere. */
export function checkPassphrase(passphrase, confirm) {
  if ([...passphrase].length < MIN_PASSPHRASE) {
    throw new BackupError(
      `Choose a passphrase of at least ${MIN_PASSPHRASE} characters. A few unrelated words work well.`,
    );
  }
  if (confirm !== undefined && confirm !== passphrase) {
    throw new BackupError("The two passphrases are not the same. Type them again.");
  }
}

/** The backup document of `seed` (see the module comment); `about` adds handle, node, coop. */
export async function sealSeed(seed, passphrase, did, about) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await passphraseKey(passphrase, salt, KDF_ITERATIONS);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(did) }, key, seed);
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    did,
    handle: about.handle,
    node: about.node,
    coop: about.coop,
    created: new Date().toISOString(),
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations: KDF_ITERATIONS, salt: toHex(salt) },
    cipher: { name: "AES-GCM", iv: toHex(iv), ciphertext: toHex(new Uint8Array(sealed)) },
  };
}

/** Parse and check a backup file's text; throws BackupError with a sentence for people. */
export function parseBackup(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BackupError("This file isn't a coopfed key backup (it is not JSON).");
  }
  if (!doc || doc.format !== BACKUP_FORMAT) {
    throw new BackupError("This file isn't a coopfed key backup.");
  }
  if (doc.version !== BACKUP_VERSION) {
    throw new BackupError(
      `This backup is of a newer kind (version ${doc.version}) than this app reads. Update the node's app first.`,
    );
  }
  const kdf = doc.kdf || {};
  const cipher = doc.cipher || {};
  if (kdf.name !== "PBKDF2" || kdf.hash !== "SHA-256" || cipher.name !== "AES-GCM") {
    throw new BackupError("This backup uses an encryption this app doesn't know.");
  }
  if (!Number.isSafeInteger(kdf.iterations) || kdf.iterations < MIN_ITERATIONS || kdf.iterations > MAX_ITERATIONS) {
    throw new BackupError("This backup's encryption settings are out of the safe range; it can't be used.");
  }
  const salt = fromHex(kdf.salt);
  const iv = fromHex(cipher.iv);
  const ciphertext = fromHex(cipher.ciphertext);
  if (salt.length < 16 || salt.length > 64 || iv.length !== 12 || ciphertext.length !== 48) {
    throw new BackupError("This backup is damaged (a value has the wrong length).");
  }
  if (typeof doc.did !== "string" || !doc.did.startsWith("did:key:z")) {
    throw new BackupError("This backup doesn't say whose key it holds.");
  }
  return { doc, salt, iv, ciphertext, iterations: kdf.iterations };
}

/** The seed inside a backup; wrong passphrase or a changed file → BackupError. */
export async function openBackup(parsed, passphrase) {
  const key = await passphraseKey(passphrase, parsed.salt, parsed.iterations);
  let seed;
  try {
    seed = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: parsed.iv, additionalData: aad(parsed.doc.did) },
        key,
        parsed.ciphertext,
      ),
    );
  } catch {
    throw new BackupError("That passphrase doesn't open this backup. Check it and try again.");
  }
  return seed;
}

async function entryFromSeed(seed, backup) {
  const pair = await keyPairFromSeed(seed, { extractable: false });
  const publicKey = await exportPublicKey(pair.publicKey);
  return {
    did: didFromPublicKey(publicKey),
    handle: await handleFor(publicKey),
    longHandle: await longHandleFor(publicKey),
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    backup,
    created: Date.now(),
  };
}

/**
 * Make a new key, encrypt its seed under `passphrase`, store both; return the entry.
 * `about`: {node, coop} written into the backup so the member knows where it belongs.
 */
export async function createKey(passphrase, about = {}) {
  checkPassphrase(passphrase);
  await checkSupport();
  const seed = crypto.getRandomValues(new Uint8Array(32));
  try {
    const entry = await entryFromSeed(seed, null);
    entry.backup = await sealSeed(seed, passphrase, entry.did, { handle: entry.handle, ...about });
    return await saveKey(entry);
  } finally {
    seed.fill(0);
  }
}

/** Restore a key from a backup file's text; the restored key is stored and returned. */
export async function restoreKey(text, passphrase) {
  await checkSupport();
  const parsed = parseBackup(text);
  const seed = await openBackup(parsed, passphrase);
  try {
    if (seed.length !== 32) throw new BackupError("This backup is damaged.");
    const entry = await entryFromSeed(seed, parsed.doc);
    if (entry.did !== parsed.doc.did) {
      throw new BackupError("This backup is damaged: the key inside isn't the one it names.");
    }
    return await saveKey(entry);
  } finally {
    seed.fill(0);
  }
}

/** Encrypt the stored key's seed under a new passphrase (the old one opens it). */
export async function changePassphrase(oldPassphrase, newPassphrase) {
  checkPassphrase(newPassphrase);
  const entry = await loadKey();
  if (!entry || !entry.backup) throw new BackupError("There is no key in this browser.");
  const seed = await openBackup(parseBackup(JSON.stringify(entry.backup)), oldPassphrase);
  try {
    const { handle, node, coop } = entry.backup;
    const backup = await sealSeed(seed, newPassphrase, entry.did, { handle, node, coop });
    return await saveKey({ ...entry, backup });
  } finally {
    seed.fill(0);
  }
}

/** Check a passphrase against the stored backup without changing anything. */
export async function checkStoredPassphrase(passphrase) {
  const entry = await loadKey();
  if (!entry || !entry.backup) throw new BackupError("There is no key in this browser.");
  const seed = await openBackup(parseBackup(JSON.stringify(entry.backup)), passphrase);
  seed.fill(0);
}

/** Offer the stored backup as a file download. */
export function downloadBackup(entry) {
  const text = `${JSON.stringify(entry.backup, null, 2)}\n`;
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `coopfed-key-${entry.handle}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return a.download;
}
