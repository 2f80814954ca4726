// Shared helpers for the JavaScript tests: load spec/vectors, hex, typed JSON values.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const JS = new URL("../../node/static/js/", import.meta.url);

export function loadVectors(name) {
  return JSON.parse(readFileSync(new URL(`spec/vectors/${name}.json`, `file://${ROOT}`), "utf8"));
}

export function hex(text) {
  return Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function toHex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

/** A typed-JSON vector value ({"int": "5"}, {"map": [[k, v]]}, ...) as a JavaScript value. */
export function fromTyped(v, { maps = "object" } = {}) {
  const [[kind, x]] = Object.entries(v);
  switch (kind) {
    case "nil":
      return null;
    case "bool":
      return x;
    case "int": {
      const n = BigInt(x);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(n)
        : n;
    }
    case "str":
      return x;
    case "bin":
      return hex(x);
    case "array":
      return x.map((item) => fromTyped(item, { maps }));
    case "map": {
      const pairs = x.map(([k, item]) => [k, fromTyped(item, { maps })]);
      if (maps === "map") return new Map(pairs.reverse()); // any order: encode sorts
      const out = {};
      for (const [k, item] of pairs) {
        Object.defineProperty(out, k, { value: item, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    default:
      throw new Error(`unknown typed JSON kind ${kind}`);
  }
}

/** seed_i = SHA-256(UTF-8 "coopfed-vector-seed-" + decimal i), as spec/vectors generate them. */
export async function vectorSeed(i) {
  const data = new TextEncoder().encode(`coopfed-vector-seed-${i}`);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}
