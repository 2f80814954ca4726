// node/static/js/paste.js against spec/vectors/platforms.json: the same ids and codes as Python.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { canonicalId, parsePasted, PlatformInputError, strictFrom } from "../../node/static/js/paste.js";
import { TABLE } from "../../node/static/js/platforms.js";
import { loadVectors } from "./helpers.mjs";

const vectors = loadVectors("platforms");

function outcome(fn) {
  try {
    return { value: fn() };
  } catch (e) {
    assert.ok(e instanceof PlatformInputError, `not a PlatformInputError: ${e}`);
    return { code: e.code, message: e.message };
  }
}

describe("canonical ids", () => {
  for (const c of vectors.canonical) {
    test(`${c.platform} ${c.kind} ${JSON.stringify(c.text).slice(0, 50)}`, () => {
      const got = outcome(() => canonicalId(c.platform, c.kind, c.text));
      if ("code" in c) assert.equal(got.code, c.code, got.message);
      else assert.equal(got.value, c.id);
    });
  }
});

describe("pasted text", () => {
  for (const c of vectors.pasted) {
    test(JSON.stringify(c.text).slice(0, 70), () => {
      const got = outcome(() => parsePasted(c.text, { kind: c.kind }));
      if ("code" in c) {
        assert.equal(got.code, c.code, got.message);
        // A message never repeats a worker's own id from the address.
        assert.ok(!/PROLIFIC_PID|workerId|5e9d0c1b/.test(got.message), got.message);
      } else {
        assert.deepEqual(got.value, {
          platform: c.platform,
          kind: c.result_kind,
          id: c.id,
          removed: c.removed,
        });
      }
    });
  }
});

test("the table is frozen, and each platform's rules start on a day", () => {
  assert.ok(Object.isFrozen(TABLE) && Object.isFrozen(TABLE.platforms.prolific.ids));
  assert.equal(strictFrom("prolific"), Date.UTC(2027, 2, 1));
  assert.equal(strictFrom("clickworker"), null);
});
