// The member web app's pure parts (node/static/app): money and times as people read them,
// the node's refusals as sentences, and the passphrase-encrypted key backup.
import assert from "node:assert/strict";
import { test } from "node:test";

import { duration, hundredths, money, parseMoney, parseRequester, textLength } from "../../node/static/app/core.js";
import { plainSentence } from "../../node/static/app/errors.js";
import {
  BackupError,
  KDF_ITERATIONS,
  openBackup,
  parseBackup,
  sealSeed,
} from "../../node/static/app/keystore.js";
import { didFromPublicKey, keyPairFromSeed, exportPublicKey } from "../../node/static/js/identity.js";

test("money is integer cents, shown and read without floating point", () => {
  assert.equal(money(0), "$0.00");
  assert.equal(money(1205), "$12.05");
  assert.equal(money(-50), "-$0.50");
  assert.equal(parseMoney("7.25"), 725);
  assert.equal(parseMoney("$12"), 1200);
  assert.equal(parseMoney("4,5"), 450);
  assert.equal(parseMoney("0.1"), 10);
  assert.equal(parseMoney("  "), null);
  for (const bad of ["1.234", "-3", "abc", "1e3", "12.5.0"]) {
    assert.throws(() => parseMoney(bad), /dollars and cents/, bad);
  }
  assert.equal(hundredths(267), "2.67");
  assert.equal(hundredths(500), "5.00");
});

test("durations read as words, rounded to the hour beyond a day", () => {
  assert.equal(duration(30_000), "less than a minute");
  assert.equal(duration(60_000), "1 minute");
  assert.equal(duration(3_600_000), "1 hour");
  assert.equal(duration(5_400_000), "1 hour 30 minutes");
  assert.equal(duration(3 * 86_400_000 - 60_000), "3 days");
  assert.equal(duration(86_400_000 + 5 * 3_600_000), "1 day 5 hours");
});

test("requesters are read as platform:id, with the protocol's patterns", () => {
  assert.deepEqual(parseRequester("mturk:A1B2C3"), { platform: "mturk", id: "A1B2C3" });
  assert.deepEqual(parseRequester(" MTurk:A1:B2 "), { platform: "mturk", id: "A1:B2" });
  assert.equal(parseRequester("A1B2C3"), null);
  assert.equal(parseRequester("mturk:has space"), null);
  assert.equal(parseRequester(":A1"), null);
});

test("text length counts code points, as the protocol's 140-character pitch does", () => {
  assert.equal(textLength("abc"), 3);
  assert.equal(textLength("🙂🙂"), 2);
  assert.equal(textLength("é"), 1);
});

test("refusals become plain sentences; unknown codes keep the node's own words", () => {
  assert.match(plainSentence("not_member"), /not a member of this co-op yet/);
  assert.match(plainSentence("voting_closed"), /Voting on this proposal has closed/);
  assert.equal(
    plainSentence("invalid_record", "body.pitch has 141 characters, more than 140."),
    "Something in what you sent isn't accepted: body.pitch has 141 characters, more than 140.",
  );
  assert.equal(plainSentence("some_new_code", "the moon is full"), "The node refused this: the moon is full.");
  assert.match(plainSentence("whatever", "", 503), /problem of its own/);
});

async function didOf(seed) {
  return didFromPublicKey(await exportPublicKey((await keyPairFromSeed(seed)).publicKey));
}

test("a backup opens with its passphrase only, and only for the DID it names", async () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const did = await didOf(seed);
  const doc = await sealSeed(seed, "correct horse battery", did, { handle: "x", node: "http://127.0.0.1", coop: did });
  assert.equal(doc.kdf.iterations, KDF_ITERATIONS);
  assert.ok(KDF_ITERATIONS >= 600_000);
  assert.equal(doc.kdf.salt.length, 32);
  assert.equal(doc.cipher.iv.length, 24);
  assert.ok(!JSON.stringify(doc).includes(Buffer.from(seed).toString("hex")));
  const opened = await openBackup(parseBackup(JSON.stringify(doc)), "correct horse battery");
  assert.deepEqual(opened, seed);
  await assert.rejects(openBackup(parseBackup(JSON.stringify(doc)), "wrong horse"), BackupError);
  // The DID is bound to the ciphertext (AES-GCM additional data): relabelling fails.
  const other = { ...doc, did: await didOf(new Uint8Array(32).fill(9)) };
  await assert.rejects(openBackup(parseBackup(JSON.stringify(other)), "correct horse battery"), BackupError);
});

test("a backup file that is not one, or asks for too little work, is refused up front", async () => {
  const seed = new Uint8Array(32).fill(3);
  const did = await didOf(seed);
  const doc = await sealSeed(seed, "correct horse battery", did, {});
  const variants = [
    ["not json", /not JSON/],
    [JSON.stringify({ format: "something-else" }), /isn't a coopfed key backup/],
    [JSON.stringify({ ...doc, version: 2 }), /newer kind/],
    [JSON.stringify({ ...doc, kdf: { ...doc.kdf, iterations: 1000 } }), /safe range/],
    [JSON.stringify({ ...doc, kdf: { ...doc.kdf, iterations: 1e9 } }), /safe range/],
    [JSON.stringify({ ...doc, kdf: { ...doc.kdf, hash: "SHA-1" } }), /doesn't know/],
    [JSON.stringify({ ...doc, cipher: { ...doc.cipher, iv: "00" } }), /damaged/],
    [JSON.stringify({ ...doc, cipher: { ...doc.cipher, ciphertext: "zz" } }), /not hex/],
  ];
  for (const [text, message] of variants) {
    assert.throws(() => parseBackup(text), (e) => e instanceof BackupError && message.test(e.message), text.slice(0, 60));
  }
});
