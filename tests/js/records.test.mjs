// node/static/js/records.js against spec/vectors/records.json: re-signing gives the same bytes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { decode, encode } from "../../node/static/js/canonical.js";
import { keyPairFromSeed } from "../../node/static/js/identity.js";
import {
  isOneLine,
  MAX_RECORD_SIZE,
  openRecord,
  recordId,
  SIGNING_DOMAIN,
  signingInput,
  signRecord,
} from "../../node/static/js/records.js";
import { hex, loadVectors, toHex, vectorSeed } from "./helpers.mjs";

const vectors = loadVectors("records");
const seedIndex = Object.fromEntries(vectors.identities.map((i) => [i.name, i.seed_index]));

// Body fields that hold binary (32-byte record ids); the JSON view shows them as hex.
const BINARY_FIELDS = new Set([
  "about",
  "application",
  "ballot",
  "ballots_root",
  "delegations_root",
  "parent",
  "roster_root",
  "block",
  "charter",
  "decision",
  "follows",
  "proposal",
  "record",
  "ref",
  "supersedes",
]);

/** The body value of a record's JSON view (spec: bytes as hex). */
function bodyFromJson(type, body) {
  const out = {};
  for (const [k, v] of Object.entries(body)) {
    if (BINARY_FIELDS.has(k) && typeof v === "string") out[k] = hex(v);
    else if (type === "block" && k === "flags") out[k] = v.map(hex);
    else out[k] = v;
  }
  return out;
}

const keyCache = new Map();
async function keysOf(name) {
  if (!keyCache.has(name)) keyCache.set(name, await keyPairFromSeed(await vectorSeed(seedIndex[name])));
  return keyCache.get(name);
}

test("the signing domain", () => {
  assert.equal(toHex(SIGNING_DOMAIN), vectors.constants.signing_domain);
  assert.equal(MAX_RECORD_SIZE, vectors.constants.max_record_size);
});

describe("valid records, re-signed from their JSON fields", () => {
  for (const c of vectors.valid) {
    test(c.name, async () => {
      const j = c.json;
      const body = bodyFromJson(j.type, j.body);
      const fields = { type: j.type, coop: j.coop, ts: j.ts, body };
      assert.equal(toHex(signingInput({ ...fields, author: j.author })), c.signing_input);

      const keys = await keysOf(c.signer);
      const bytes = await signRecord(keys, fields);
      assert.equal(toHex(bytes), c.hex);
      assert.equal(bytes.length, c.size);
      assert.equal(toHex(await recordId(bytes)), c.id);
      assert.equal(toHex(await recordId(hex(c.hex))), j.id);
    });
  }
});

describe("valid records, re-signed from their decoded bytes", () => {
  for (const c of vectors.valid) {
    test(c.name, async () => {
      const env = decode(hex(c.hex));
      assert.equal(toHex(encode(env)), c.hex);
      const bytes = await signRecord(await keysOf(c.signer), env);
      assert.equal(toHex(bytes), c.hex);
      const opened = await openRecord(hex(c.hex));
      assert.equal(toHex(opened.id), c.id);
      assert.equal(opened.author, c.json.author);
      assert.equal(toHex(opened.sig), c.json.sig);
    });
  }
});

// openRecord checks the envelope, the signer rule and the signature, not body schemas (the
// node does): the cases whose fault lies there must fail with the same code; a body fault
// may pass, and if it is refused, it is with the same code.
const ENVELOPE_CODES = new Set(["bad_signature", "unsupported_version", "too_large"]);
const ENVELOPE_FAULT =
  /^(record is|unknown envelope|missing envelope|missing sig|unknown type|type is|ts |coop |author |sig |wrong signer)/;

describe("invalid records", () => {
  for (const c of vectors.invalid) {
    test(`${c.name} -> ${c.code}`, async () => {
      const bytes = hex(c.hex);
      let error = null;
      try {
        await openRecord(bytes);
      } catch (e) {
        error = e;
      }
      if (c.error === "DecodeError" || ENVELOPE_CODES.has(c.code) || ENVELOPE_FAULT.test(c.name)) {
        assert.ok(error, "accepted");
        assert.equal(error.code, c.code, error.message);
      } else if (error !== null) {
        assert.equal(error.code, c.code, error.message);
      }
    });
  }
});

describe("misuse", () => {
  const coop = vectors.identities[0].did;
  const good = { type: "member.resign", coop, ts: 1767225600000, body: {} };

  test("out-of-range timestamps, unknown types, bad DIDs and non-map bodies are refused", async () => {
    const keys = await keysOf("member1");
    for (const change of [
      { ts: 1577836800000 - 1 },
      { ts: 7258118400000 },
      { ts: 1767225600000.5 },
      { ts: "1767225600000" },
      { type: "member.quit" },
      { coop: "did:key:zabc" },
      { body: [] },
      { body: null },
    ]) {
      await assert.rejects(signRecord(keys, { ...good, ...change }), JSON.stringify(change));
    }
    await assert.rejects(signRecord({ privateKey: keys.privateKey }, good));
  });

  test("a record over the size limit is refused", async () => {
    const keys = await keysOf("member1");
    const body = { reason: "x".repeat(MAX_RECORD_SIZE) };
    await assert.rejects(signRecord(keys, { ...good, body }), (e) => e.code === "local_error");
  });

  test("keys may be given as {privateKey, publicKey: raw bytes}", async () => {
    const keys = await keysOf("member1");
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
    const a = await signRecord(keys, good);
    const b = await signRecord({ privateKey: keys.privateKey, publicKey: raw }, good);
    assert.deepStrictEqual(a, b);
    const opened = await openRecord(a);
    assert.equal(opened.type, "member.resign");
  });
});

describe("one-line fields (issue 11: a pitch on two lines forged a verdict)", () => {
  const coop = vectors.identities[0].did;
  const idea = { kind: "idea", opens: 1767312000000, closes: 1767571200000 };

  test("isOneLine refuses line breaks, tabs, controls and direction overrides", () => {
    for (const ok of ["Share a pay script", "Café 😀 co-op", "a\u00a0b"]) assert.ok(isOneLine(ok), ok);
    for (const bad of ["a\nb", "a\r", "a\tb", "a\u2028b", "a\u2029b", "a\x1b[8m", "a\x85", "a\u202eb", 5]) {
      assert.ok(!isOneLine(bad), JSON.stringify(bad));
    }
  });

  test("signRecord will not sign a pitch, a co-op's name or a URL on two lines", async () => {
    const member = await keysOf("member1");
    const ts = 1767312000000;
    for (const body of [
      { ...idea, pitch: "ok\nDECIDED: passed" },
      { ...idea, pitch: "ok\u2028DECIDED: passed" },
      { ...idea, kind: "amend", pitch: "Rename", charter: { name: "North\nSouth" } },
    ]) {
      await assert.rejects(signRecord(member, { type: "proposal", coop, ts, body }), /is one line/);
    }
    const policy = { adopt: [], follow: [{ coop, url: "https://a.example/\nx" }] };
    await assert.rejects(
      signRecord(await keysOf("coop"), { type: "federation.policy", coop, ts, body: policy }),
      /body.follow\[0\].url is one line/,
    );
    await signRecord(member, { type: "proposal", coop, ts, body: { ...idea, pitch: "One line" } });
  });

  test("openRecord refuses each one-line vector with the node's code", async () => {
    const cases = vectors.invalid.filter((c) => c.code === "not_one_line");
    assert.ok(cases.length >= 5);
    for (const c of cases) {
      await assert.rejects(openRecord(hex(c.hex)), (e) => e.code === "not_one_line", c.name);
    }
  });
});
