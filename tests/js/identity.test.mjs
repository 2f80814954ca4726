// node/static/js/identity.js against spec/vectors/identity.json (RFC 8032 and fixed seeds).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  b58decode,
  b58encode,
  didFromPublicKey,
  exportPublicKey,
  generateKeyPair,
  handleFor,
  hasSmallOrder,
  isValidPoint,
  keyPairFromSeed,
  longHandleFor,
  publicKeyFromDid,
  sign,
  verifySignature,
} from "../../node/static/js/identity.js";
import { ADJECTIVES, ANIMALS } from "../../node/static/js/wordlists.js";
import { hex, loadVectors, ROOT, toHex } from "./helpers.mjs";

const vectors = loadVectors("identity");
const PKCS8_PREFIX = "302e020100300506032b657004220420";

describe("RFC 8032 and seeded identities", () => {
  for (const c of [...vectors.rfc8032, ...vectors.identities]) {
    test(c.name, async () => {
      // the seed imported as PKCS#8, exactly as the brief of spec/identity.md describes
      const direct = await crypto.subtle.importKey(
        "pkcs8",
        hex(PKCS8_PREFIX + c.seed),
        { name: "Ed25519" },
        false,
        ["sign"],
      );
      const message = hex(c.message);
      assert.equal(toHex(await sign(direct, message)), c.signature);

      const pair = await keyPairFromSeed(hex(c.seed));
      assert.equal(pair.privateKey.extractable, false);
      const publicKey = await exportPublicKey(pair);
      assert.equal(toHex(publicKey), c.public_key);
      assert.equal(didFromPublicKey(publicKey), c.did);
      assert.equal(toHex(b58decode(c.did.slice("did:key:z".length))), c.multikey);
      assert.equal(toHex(publicKeyFromDid(c.did)), c.public_key);
      assert.equal(await handleFor(publicKey), c.handle);
      assert.equal(await longHandleFor(publicKey), c.long_handle);
      assert.equal(toHex(await sign(pair.privateKey, message)), c.signature);
      await verifySignature(publicKey, message, hex(c.signature));
    });
  }
});

describe("invalid DIDs", () => {
  for (const c of vectors.invalid_dids) {
    test(c.name, () => {
      assert.throws(
        () => publicKeyFromDid(c.did),
        (e) => e.name === c.error && e.code === c.code,
      );
    });
  }
  test("a remembered DID still gives a fresh copy of its key", () => {
    const did = vectors.identities[0].did;
    const key = publicKeyFromDid(did);
    key.fill(0);
    assert.equal(toHex(publicKeyFromDid(did)), vectors.identities[0].public_key);
  });

  test("not text", () => {
    for (const v of [null, 5, hex("00")]) {
      assert.throws(() => publicKeyFromDid(v), (e) => e.code === "invalid_identity");
    }
  });
});

describe("invalid signatures", () => {
  for (const c of vectors.invalid_signatures) {
    test(c.name, async () => {
      await assert.rejects(
        verifySignature(hex(c.public_key), hex(c.message), hex(c.signature)),
        (e) => e.name === c.error && e.code === c.code,
      );
    });
  }
});

describe("points", () => {
  test("the small-order blocklist: refused as keys, with either sign bit", () => {
    for (const h of [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]) {
      const p = hex(h);
      assert.ok(hasSmallOrder(p), h);
      assert.equal(isValidPoint(p), false, h);
      p[31] |= 0x80;
      assert.ok(hasSmallOrder(p), h);
      assert.equal(isValidPoint(p), false, h);
    }
  });

  test("the small-order keys of the DID vectors are on the blocklist", () => {
    const small = vectors.invalid_dids.filter((c) => c.name.startsWith("small-order key"));
    assert.equal(small.length, 3);
    for (const c of small) {
      const key = b58decode(c.did.slice("did:key:z".length)).subarray(2);
      assert.ok(hasSmallOrder(key), c.name);
    }
  });

  test("every seeded key is a valid point and not small order", () => {
    for (const c of [...vectors.rfc8032, ...vectors.identities]) {
      assert.ok(isValidPoint(hex(c.public_key)), c.name);
      assert.equal(hasSmallOrder(hex(c.public_key)), false, c.name);
    }
  });
});

describe("base58btc", () => {
  test("leading zero bytes are leading ones", () => {
    assert.equal(b58encode(new Uint8Array(0)), "");
    assert.equal(b58encode(Uint8Array.of(0, 0, 1)), "112");
    assert.deepStrictEqual(b58decode("112"), Uint8Array.of(0, 0, 1));
    assert.deepStrictEqual(b58decode("11"), Uint8Array.of(0, 0));
    assert.deepStrictEqual(b58decode(""), new Uint8Array(0));
  });

  test("round trip", () => {
    for (const h of ["ff", "00ff", "0102030405", "ed01" + "ab".repeat(32)]) {
      assert.equal(toHex(b58decode(b58encode(hex(h)))), h);
    }
  });

  test("foreign characters are refused with their position", () => {
    assert.throws(() => b58decode("12O"), (e) => e.code === "invalid_identity" && /position 2/.test(e.message));
  });
});

describe("keys", () => {
  test("a generated key pair signs and verifies; its private key stays inside", async () => {
    const pair = await generateKeyPair();
    assert.equal(pair.privateKey.extractable, false);
    const publicKey = await exportPublicKey(pair.publicKey);
    assert.equal(publicKey.length, 32);
    assert.deepStrictEqual(publicKeyFromDid(didFromPublicKey(publicKey)), publicKey);
    const message = new TextEncoder().encode("hello");
    await verifySignature(publicKey, message, await sign(pair.privateKey, message));
    await assert.rejects(crypto.subtle.exportKey("pkcs8", pair.privateKey));
  });

  test("an extractable key from a seed exports the same seed", async () => {
    const seed = hex(vectors.rfc8032[0].seed);
    const pair = await keyPairFromSeed(seed, { extractable: true });
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    assert.equal(toHex(pkcs8), PKCS8_PREFIX + toHex(seed));
  });

  test("misuse is a local error", async () => {
    assert.throws(() => didFromPublicKey(new Uint8Array(31)), (e) => e.code === "local_error");
    assert.throws(() => didFromPublicKey("ab"), (e) => e.code === "local_error");
    await assert.rejects(keyPairFromSeed(new Uint8Array(16)), (e) => e.code === "local_error");
  });
});

describe("word lists", () => {
  test("wordlists.js holds spec/wordlists/*.txt in order", () => {
    for (const [list, name] of [
      [ADJECTIVES, "adjectives"],
      [ANIMALS, "animals"],
    ]) {
      const text = readFileSync(`${ROOT}spec/wordlists/${name}.txt`, "utf8");
      assert.deepStrictEqual([...list], text.split("\n").filter((w) => w !== ""));
      assert.equal(list.length, 256);
      assert.ok(Object.isFrozen(list));
    }
  });
});
