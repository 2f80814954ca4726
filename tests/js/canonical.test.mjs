// node/static/js/canonical.js against spec/vectors/encoding.json, and its JavaScript edges.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";

import {
  DecodeError,
  decode,
  encode,
  fromHex,
  LocalProtocolError,
  MAX_DEPTH,
  toHex as libHex,
} from "../../node/static/js/canonical.js";
import { fromTyped, hex, loadVectors, toHex } from "./helpers.mjs";

const vectors = loadVectors("encoding");

describe("valid vectors", () => {
  for (const c of vectors.valid) {
    test(c.name, () => {
      const value = fromTyped(c.value);
      assert.equal(toHex(encode(value)), c.hex);
      assert.equal(toHex(encode(fromTyped(c.value, { maps: "map" }))), c.hex);
      assert.deepStrictEqual(decode(hex(c.hex)), value);
    });
  }
});

function largeValue(recipe) {
  const { kind, count } = recipe;
  if (kind === "str") return "a".repeat(count);
  if (kind === "bin") return new Uint8Array(count);
  if (kind === "array") return new Array(count).fill(null);
  const out = {};
  for (let i = 0; i < count; i++) out[i.toString(16).padStart(4, "0")] = null;
  return out;
}

describe("valid large vectors", () => {
  for (const c of vectors.valid_large) {
    test(c.name, () => {
      const value = largeValue(c.recipe);
      const bytes = encode(value);
      assert.equal(bytes.length, c.size);
      assert.equal(toHex(bytes.subarray(0, 16)), c.prefix);
      assert.equal(createHash("sha256").update(bytes).digest("hex"), c.sha256);
      assert.deepStrictEqual(decode(bytes), value);
    });
  }
});

describe("invalid vectors", () => {
  const maxSize = vectors.provenance.default_max_size;
  for (const c of vectors.invalid) {
    test(`${c.name} -> ${c.code} at ${c.offset}`, () => {
      assert.throws(
        () => decode(hex(c.hex), { maxSize: c.max_size ?? maxSize }),
        (err) => {
          assert.ok(err instanceof DecodeError, `${err}`);
          assert.equal(err.code, c.code, err.message);
          if (c.offset !== undefined) assert.equal(err.offset, c.offset, err.message);
          return true;
        },
      );
    });
  }
});

describe("integers", () => {
  test("safe integers are Numbers, larger ones BigInts, both ways", () => {
    assert.equal(decode(hex("cf001fffffffffffff")), Number.MAX_SAFE_INTEGER);
    assert.equal(decode(hex("cf0020000000000000")), 2n ** 53n);
    assert.equal(decode(hex("d3ffe0000000000001")), Number.MIN_SAFE_INTEGER);
    assert.equal(decode(hex("d3ffe0000000000000")), -(2n ** 53n));
    assert.equal(toHex(encode(Number.MAX_SAFE_INTEGER)), "cf001fffffffffffff");
    assert.equal(toHex(encode(2n ** 53n)), "cf0020000000000000");
    assert.equal(toHex(encode(Number.MIN_SAFE_INTEGER)), "d3ffe0000000000001");
  });

  test("small BigInts encode like Numbers", () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32, -1, -32, -33, -128, -129, -(2 ** 31) - 1]) {
      assert.equal(toHex(encode(BigInt(n))), toHex(encode(n)));
    }
  });

  test("-0 is 0", () => {
    assert.equal(toHex(encode(-0)), "00");
  });

  test("refused: non-integers, unsafe Numbers, BigInts out of range", () => {
    for (const v of [1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 60), 2n ** 64n, -(2n ** 63n) - 1n]) {
      assert.throws(() => encode(v), LocalProtocolError, String(v));
    }
  });
});

describe("text", () => {
  test("lone surrogates are refused, pairs are fine", () => {
    for (const s of ["\ud800", "a\udc00", "\udc00\ud800", "x\ud83d"]) {
      assert.throws(() => encode(s), (e) => e instanceof LocalProtocolError && e.code === "local_error");
      assert.throws(() => encode({ [s]: 1 }), LocalProtocolError);
    }
    assert.equal(toHex(encode("\ud83d\udc1d")), "a4f09f909d");
  });

  test("a byte-order mark is kept, not stripped", () => {
    assert.equal(toHex(encode("\ufeffa")), "a4efbbbf61");
    assert.equal(decode(hex("a4efbbbf61")), "\ufeffa");
  });

  test("every code point round-trips through encode/decode like TextEncoder", () => {
    const points = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff];
    for (const p of points) {
      const s = String.fromCodePoint(p);
      const bytes = encode(s);
      assert.deepStrictEqual(bytes.subarray(1), new TextEncoder().encode(s));
      assert.equal(decode(bytes), s);
    }
  });
});

describe("maps", () => {
  test("keys sort by UTF-8 bytes, whatever order JavaScript keeps them in", () => {
    // JavaScript lists integer-like keys first and numerically: "9" before "10"
    assert.equal(toHex(encode({ 9: 1, 10: 2, a: 3 })), "83a2313002a13901a16103");
    assert.deepStrictEqual(decode(encode({ 9: 1, 10: 2 })), { 10: 2, 9: 1 });
  });

  test("__proto__ is an ordinary key", () => {
    const bytes = hex("81a95f5f70726f746f5f5f01");
    const value = decode(bytes);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepStrictEqual(Object.keys(value), ["__proto__"]);
    assert.equal(toHex(encode(value)), toHex(bytes));
    assert.equal(toHex(encode(new Map([["__proto__", 1]]))), toHex(bytes));
  });

  test("Map keys must be text", () => {
    assert.throws(() => encode(new Map([[1, 2]])), LocalProtocolError);
  });

  test("undefined values and symbol keys are refused", () => {
    assert.throws(() => encode({ a: undefined }), LocalProtocolError);
    assert.throws(() => encode({ [Symbol("s")]: 1 }), LocalProtocolError);
  });

  test("null-prototype objects are maps", () => {
    const o = Object.create(null);
    o.b = 2;
    o.a = 1;
    assert.equal(toHex(encode(o)), "82a16101a16202");
  });
});

describe("refused values", () => {
  for (const [name, v] of [
    ["undefined", undefined],
    ["a function", () => 1],
    ["a symbol", Symbol("x")],
    ["a Date", new Date(0)],
    ["a Set", new Set()],
    ["an Int8Array", new Int8Array(2)],
    ["a Uint16Array", new Uint16Array(2)],
    ["a Uint8ClampedArray", new Uint8ClampedArray(2)],
    ["a class instance", new (class Point {})()],
    ["an array with undefined", [undefined]],
    ["a sparse array", [, 1]],
  ]) {
    test(name, () => {
      assert.throws(() => encode(v), (e) => e instanceof LocalProtocolError && e.code === "local_error");
    });
  }

  test(`more than ${MAX_DEPTH} nested containers`, () => {
    let ok = [];
    for (let i = 1; i < MAX_DEPTH; i++) ok = [ok];
    assert.equal(encode(ok).length, MAX_DEPTH);
    assert.throws(() => encode([ok]), LocalProtocolError);
    let okMap = {};
    for (let i = 1; i < MAX_DEPTH; i++) okMap = { k: okMap };
    encode(okMap);
    assert.throws(() => encode({ k: okMap }), LocalProtocolError);
  });

  test("a cycle is refused by the depth limit", () => {
    const a = [];
    a.push(a);
    assert.throws(() => encode(a), LocalProtocolError);
  });
});

describe("inputs", () => {
  test("binary from Uint8Array, Buffer, ArrayBuffer and subarrays", () => {
    const base = Uint8Array.of(9, 1, 2, 9);
    for (const b of [Uint8Array.of(1, 2), Buffer.from([1, 2]), Uint8Array.of(1, 2).buffer, base.subarray(1, 3)]) {
      assert.equal(toHex(encode(b)), "c4020102");
    }
  });

  test("decode accepts ArrayBuffer and subarrays; decoded binary is a copy", () => {
    const outer = Uint8Array.of(0xff, 0xc4, 0x01, 0x07, 0xff);
    const inner = outer.subarray(1, 4);
    const value = decode(inner);
    assert.deepStrictEqual(value, Uint8Array.of(7));
    outer[3] = 8;
    assert.deepStrictEqual(value, Uint8Array.of(7));
    assert.deepStrictEqual(decode(Uint8Array.of(0x92, 1, 2).buffer), [1, 2]);
  });

  test("decode refuses what is not bytes", () => {
    for (const v of ["c0", [0xc0], null, undefined]) {
      assert.throws(() => decode(v), LocalProtocolError);
    }
  });

  test("the size limit is inclusive", () => {
    assert.equal(decode(hex("a3616263"), { maxSize: 4 }), "abc");
    assert.throws(() => decode(hex("a3616263"), { maxSize: 3 }), (e) => e.code === "too_large" && e.offset === 3);
  });

  test("hex helpers", () => {
    assert.equal(libHex(fromHex("00ffAB")), "00ffab");
    assert.throws(() => fromHex("abc"), LocalProtocolError);
    assert.throws(() => fromHex("zz"), LocalProtocolError);
  });
});
