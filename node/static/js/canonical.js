// Canonical MessagePack for coopfed: every value has exactly one encoding, and only that one decodes.
//
// The same subset as protocol/encoding.py (spec/encoding.md), byte for byte:
//   null, booleans, integers in [-2**63, 2**64 - 1] in their shortest form (non-negative
//   values always in the unsigned forms), UTF-8 text, binary, arrays, and maps whose keys
//   are text, unique and in ascending bytewise order of their UTF-8 bytes. No floats, no ext
//   types, no trailing bytes, at most MAX_DEPTH nested containers, at most maxSize bytes.
//
// JavaScript values:
//   null <-> nil, true/false <-> booleans,
//   integers: Number when it is a safe integer (|n| <= 2**53 - 1), BigInt beyond,
//   string <-> text (lone surrogates are refused: they have no UTF-8 form),
//   Uint8Array (or ArrayBuffer) <-> binary,
//   Array <-> array, plain object or Map with string keys <-> map (decode gives plain objects).
// Anything else (undefined, non-integer numbers, NaN, functions, symbols, class instances,
// other typed arrays) is refused with a LocalProtocolError, never silently converted.
//
// decode() throws a DecodeError whose .code and .offset are those protocol/encoding.py gives.

export const MAX_DEPTH = 32;
export const DEFAULT_MAX_SIZE = 1 << 20;
export const INT_MIN = -(2n ** 63n);
export const INT_MAX = 2n ** 64n - 1n;

/** The caller asked for something that can never be encoded (Python: LocalProtocolError). */
export class LocalProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = "LocalProtocolError";
    this.code = "local_error";
  }
}

/** Bytes that are not canonical coopfed MessagePack (Python: DecodeError). */
export class DecodeError extends Error {
  constructor(message, offset, code = "decode_error") {
    super(`${message} (at byte ${offset})`);
    this.name = "DecodeError";
    this.code = code;
    this.offset = offset;
  }
}

// ------------------------------------------------------------------------------- UTF-8

/** UTF-8 bytes of a string; lone surrogates are refused (TextEncoder would replace them). */
export function utf8Encode(text) {
  const out = new Uint8Array(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) {
        throw new LocalProtocolError(
          `text ${JSON.stringify(text.slice(0, 40))} is not valid UTF-8 ` +
            `(lone surrogate at index ${i})`,
        );
      }
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      i++;
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 0x3f);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return out.slice(0, n);
}

/**
 * Index of the first ill-formed UTF-8 sequence in bytes[start, end), or -1.
 *
 * Python reports the first byte of the sequence it could not decode (the lead byte, or a
 * stray continuation byte); so does this, following Unicode's Table 3-7 of well-formed
 * sequences (no overlongs, no surrogates, nothing above U+10FFFF).
 */
function utf8ErrorAt(bytes, start, end) {
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    // a sequence cut short by the end of the text is faulty from its lead byte, whatever
    // the bytes that are there (Python reports the same offset either way)
    if (i + need >= end) return i;
    const b1 = bytes[i + 1];
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const bk = bytes[i + k];
      if (bk < 0x80 || bk > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ------------------------------------------------------------------------------- encoding

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }

  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b) {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  u16(type, v) {
    this.reserve(3);
    this.buf[this.len] = type;
    this.view.setUint16(this.len + 1, v);
    this.len += 3;
  }

  u32(type, v) {
    this.reserve(5);
    this.buf[this.len] = type;
    this.view.setUint32(this.len + 1, v);
    this.len += 5;
  }

  bytes(data) {
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  result() {
    return this.buf.slice(0, this.len);
  }
}

function describe(value) {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    const name = proto && proto.constructor ? proto.constructor.name : "object";
    return `a ${name}`;
  }
  return `a ${typeof value}`;
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function writeInt(w, n) {
  // n is a BigInt in range, or a safe-integer Number
  if (typeof n === "bigint") {
    if (n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n) {
      writeInt(w, Number(n));
      return;
    }
    w.reserve(9);
    if (n >= 0n) {
      w.buf[w.len] = 0xcf;
      w.view.setBigUint64(w.len + 1, n);
    } else {
      w.buf[w.len] = 0xd3;
      w.view.setBigInt64(w.len + 1, n);
    }
    w.len += 9;
    return;
  }
  if (n >= 0) {
    if (n <= 0x7f) w.byte(n);
    else if (n <= 0xff) {
      w.byte(0xcc);
      w.byte(n);
    } else if (n <= 0xffff) w.u16(0xcd, n);
    else if (n <= 0xffffffff) w.u32(0xce, n);
    else {
      w.reserve(9);
      w.buf[w.len] = 0xcf;
      w.view.setUint32(w.len + 1, Math.floor(n / 0x100000000));
      w.view.setUint32(w.len + 5, n >>> 0);
      w.len += 9;
    }
    return;
  }
  if (n >= -32) w.byte(n & 0xff);
  else if (n >= -128) {
    w.byte(0xd0);
    w.byte(n & 0xff);
  } else if (n >= -32768) w.u16(0xd1, n & 0xffff);
  else if (n >= -2147483648) w.u32(0xd2, n >>> 0);
  else {
    w.reserve(9);
    w.buf[w.len] = 0xd3;
    w.view.setBigInt64(w.len + 1, BigInt(n));
    w.len += 9;
  }
}

function writeText(w, bytes) {
  const n = bytes.length;
  if (n < 32) w.byte(0xa0 | n);
  else if (n <= 0xff) {
    w.byte(0xd9);
    w.byte(n);
  } else if (n <= 0xffff) w.u16(0xda, n);
  else if (n <= 0xffffffff) w.u32(0xdb, n);
  else throw new LocalProtocolError(`text of ${n} bytes is too long`);
  w.bytes(bytes);
}

function writeValue(w, value, depth) {
  if (value === null) {
    w.byte(0xc0);
    return;
  }
  switch (typeof value) {
    case "boolean":
      w.byte(value ? 0xc3 : 0xc2);
      return;
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new LocalProtocolError(
          Number.isInteger(value)
            ? `integer ${value} is beyond 2**53 - 1: pass it as a BigInt`
            : `${value} is not an integer (no floats)`,
        );
      }
      writeInt(w, value === 0 ? 0 : value); // -0 is 0
      return;
    case "bigint":
      if (value < INT_MIN || value > INT_MAX) {
        throw new LocalProtocolError(`integer ${value} is outside [-2**63, 2**64-1]`);
      }
      writeInt(w, value);
      return;
    case "string":
      writeText(w, utf8Encode(value));
      return;
    case "object":
      break;
    default:
      throw new LocalProtocolError(`${describe(value)} cannot be encoded`);
  }
  let bin = null;
  if (value instanceof Uint8Array) bin = value;
  else if (value instanceof ArrayBuffer) bin = new Uint8Array(value);
  if (bin !== null) {
    const n = bin.length;
    if (n <= 0xff) {
      w.byte(0xc4);
      w.byte(n);
    } else if (n <= 0xffff) w.u16(0xc5, n);
    else if (n <= 0xffffffff) w.u32(0xc6, n);
    else throw new LocalProtocolError(`binary of ${n} bytes is too long`);
    w.bytes(bin);
    return;
  }
  const isArray = Array.isArray(value);
  const isMap = value instanceof Map;
  if (!isArray && !isMap && !isPlainObject(value)) {
    throw new LocalProtocolError(
      `${describe(value)} cannot be encoded (no floats, no ext types, no class instances)`,
    );
  }
  if (depth >= MAX_DEPTH) {
    throw new LocalProtocolError(`value nests deeper than ${MAX_DEPTH} containers`);
  }
  if (isArray) {
    const n = value.length;
    if (n < 16) w.byte(0x90 | n);
    else if (n <= 0xffff) w.u16(0xdc, n);
    else w.u32(0xdd, n);
    for (let i = 0; i < n; i++) {
      if (!(i in value)) throw new LocalProtocolError(`array has a hole at index ${i}`);
      writeValue(w, value[i], depth + 1);
    }
    return;
  }
  let entries;
  if (isMap) {
    entries = [];
    for (const [k, v] of value) {
      if (typeof k !== "string") {
        throw new LocalProtocolError(`map key ${String(k)} is not text`);
      }
      entries.push([k, v]);
    }
  } else {
    if (Object.getOwnPropertySymbols(value).length) {
      throw new LocalProtocolError("map keys must be text, not symbols");
    }
    entries = Object.entries(value);
  }
  const items = entries.map(([k, v]) => [utf8Encode(k), k, v]);
  items.sort((a, b) => compareBytes(a[0], b[0]));
  for (let i = 1; i < items.length; i++) {
    // only possible for a Map holding two strings with the same UTF-8 bytes: none exist
    if (compareBytes(items[i - 1][0], items[i][0]) === 0) {
      throw new LocalProtocolError(`duplicate map key ${JSON.stringify(items[i][1])}`);
    }
  }
  const n = items.length;
  if (n < 16) w.byte(0x80 | n);
  else if (n <= 0xffff) w.u16(0xde, n);
  else w.u32(0xdf, n);
  for (const [kb, k, v] of items) {
    if (v === undefined) {
      throw new LocalProtocolError(`map value of ${JSON.stringify(k)} is undefined`);
    }
    writeText(w, kb);
    writeValue(w, v, depth + 1);
  }
}

/** Bytewise comparison of two Uint8Arrays: negative, zero or positive. */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** The one canonical encoding of `value`, or a LocalProtocolError. */
export function encode(value) {
  const w = new Writer();
  writeValue(w, value, 0);
  return w.result();
}

// ------------------------------------------------------------------------------- decoding

// Shortest-form thresholds, as in protocol/encoding.py's strict reader.
const NEG_SHORTEST = [
  [-32, 1],
  [-128, 2],
  [-32768, 3],
  [-2147483648, 5],
];

class Reader {
  constructor(data) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos = 0;
    this.textStart = 0; // where the bytes of the last text read begin
  }

  take(n, what) {
    const start = this.pos;
    const remain = this.data.length - start;
    if (n > remain) {
      throw new DecodeError(`${what} needs ${n} bytes but only ${remain} remain`, start, "truncated");
    }
    this.pos = start + n;
    return start;
  }

  readAll() {
    if (this.data.length === 0) throw new DecodeError("input is empty", 0, "truncated");
    const value = this.read(0);
    if (this.pos !== this.data.length) {
      throw new DecodeError(
        `${this.data.length - this.pos} trailing bytes after the value`,
        this.pos,
        "trailing_bytes",
      );
    }
    return value;
  }

  uintAt(at, n) {
    if (n === 1) return this.data[at];
    if (n === 2) return this.view.getUint16(at);
    return this.view.getUint32(at);
  }

  length(start, n, minimum, kind) {
    const at = this.take(n, `${kind} length`);
    const value = this.uintAt(at, n);
    if (value < minimum) {
      throw new DecodeError(
        `${kind} of length ${value} must use a shorter form`,
        start,
        "non_canonical",
      );
    }
    return value;
  }

  read(depth) {
    const start = this.pos;
    const b = this.data[this.take(1, "type byte")];
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.text(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return this.array(start, b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(start, b & 0x0f, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        return this.uint(start, 1, 0x80);
      case 0xcd:
        return this.uint(start, 2, 0x100);
      case 0xce:
        return this.uint(start, 4, 0x10000);
      case 0xcf:
        return this.uint(start, 8, 0x100000000);
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        return this.sint(start, 1 << (b - 0xd0));
      case 0xd9:
        return this.text(this.length(start, 1, 32, "text"));
      case 0xda:
        return this.text(this.length(start, 2, 0x100, "text"));
      case 0xdb:
        return this.text(this.length(start, 4, 0x10000, "text"));
      case 0xc4:
        return this.blob(this.length(start, 1, 0, "binary"));
      case 0xc5:
        return this.blob(this.length(start, 2, 0x100, "binary"));
      case 0xc6:
        return this.blob(this.length(start, 4, 0x10000, "binary"));
      case 0xdc:
        return this.array(start, this.length(start, 2, 16, "array"), depth);
      case 0xdd:
        return this.array(start, this.length(start, 4, 0x10000, "array"), depth);
      case 0xde:
        return this.map(start, this.length(start, 2, 16, "map"), depth);
      case 0xdf:
        return this.map(start, this.length(start, 4, 0x10000, "map"), depth);
      case 0xca:
      case 0xcb:
        throw new DecodeError("floats are not allowed (use integers)", start, "float");
      default:
        if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
          throw new DecodeError("ext types are not allowed", start, "ext");
        }
        throw new DecodeError(
          `byte 0x${b.toString(16).padStart(2, "0")} is never used in MessagePack`,
          start,
          "reserved",
        );
    }
  }

  uint(start, n, minimum) {
    const at = this.take(n, "integer");
    let value;
    if (n === 8) {
      const big = this.view.getBigUint64(at);
      value = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    } else {
      value = this.uintAt(at, n);
    }
    if (value < minimum) {
      throw new DecodeError(`integer ${value} must use a shorter form`, start, "non_canonical");
    }
    return value;
  }

  sint(start, n) {
    const at = this.take(n, "integer");
    let value;
    if (n === 1) value = this.view.getInt8(at);
    else if (n === 2) value = this.view.getInt16(at);
    else if (n === 4) value = this.view.getInt32(at);
    else {
      const big = this.view.getBigInt64(at);
      value = big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
    }
    if (value >= 0) {
      throw new DecodeError(
        `non-negative integer ${value} must use an unsigned form`,
        start,
        "non_canonical",
      );
    }
    let shortest = 9;
    for (const [bound, size] of NEG_SHORTEST) {
      if (value >= bound) {
        shortest = size;
        break;
      }
    }
    if (1 + n !== shortest) {
      throw new DecodeError(`integer ${value} must use a shorter form`, start, "non_canonical");
    }
    return value;
  }

  text(n) {
    const at = this.take(n, "text");
    const bad = utf8ErrorAt(this.data, at, at + n);
    if (bad >= 0) throw new DecodeError("text is not valid UTF-8", bad, "bad_utf8");
    this.textStart = at;
    return textDecoder.decode(this.data.subarray(at, at + n));
  }

  blob(n) {
    const at = this.take(n, "binary");
    return this.data.slice(at, at + n);
  }

  enter(start, depth, count, perItem, kind) {
    if (depth + 1 > MAX_DEPTH) {
      throw new DecodeError(`more than ${MAX_DEPTH} nested containers`, start, "too_deep");
    }
    const remaining = this.data.length - this.pos;
    if (count * perItem > remaining) {
      throw new DecodeError(
        `${kind} claims ${count} items but only ${remaining} bytes remain`,
        start,
        "truncated",
      );
    }
  }

  array(start, count, depth) {
    this.enter(start, depth, count, 1, "array");
    const out = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.read(depth + 1);
    return out;
  }

  map(start, count, depth) {
    this.enter(start, depth, count, 2, "map");
    const out = {};
    let previous = null;
    for (let i = 0; i < count; i++) {
      const keyAt = this.pos;
      const key = this.read(depth + 1);
      if (typeof key !== "string") {
        throw new DecodeError(`map key must be text, not ${kindOf(key)}`, keyAt, "bad_key");
      }
      const kb = this.data.subarray(this.textStart, this.pos);
      if (previous !== null) {
        const order = compareBytes(kb, previous);
        if (order === 0) {
          throw new DecodeError(`duplicate map key ${JSON.stringify(key)}`, keyAt, "duplicate_key");
        }
        if (order < 0) {
          throw new DecodeError(
            `map key ${JSON.stringify(key)} is out of order (keys ascend bytewise)`,
            keyAt,
            "unsorted_keys",
          );
        }
      }
      previous = kb;
      // defineProperty, not assignment: a key "__proto__" must stay an ordinary key
      Object.defineProperty(out, key, {
        value: this.read(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

function kindOf(v) {
  if (v === null) return "nil";
  if (v instanceof Uint8Array) return "binary";
  if (Array.isArray(v)) return "array";
  if (typeof v === "bigint" || typeof v === "number") return "integer";
  if (typeof v === "boolean") return "boolean";
  return "map";
}

/**
 * Decode canonical bytes, or throw a DecodeError naming the fault and its offset.
 *
 * @param {Uint8Array|ArrayBuffer} bytes
 * @param {{maxSize?: number}} [options] refuse inputs longer than maxSize (default 1 MiB)
 */
export function decode(bytes, { maxSize = DEFAULT_MAX_SIZE } = {}) {
  let data;
  if (bytes instanceof Uint8Array) data = bytes;
  else if (bytes instanceof ArrayBuffer) data = new Uint8Array(bytes);
  else throw new LocalProtocolError(`decode() takes a Uint8Array, not ${describe(bytes)}`);
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new LocalProtocolError(`maxSize must be a non-negative integer, got ${maxSize}`);
  }
  if (data.length > maxSize) {
    throw new DecodeError(
      `input is ${data.length} bytes, more than the limit of ${maxSize}`,
      maxSize,
      "too_large",
    );
  }
  return new Reader(data).readAll();
}

// ------------------------------------------------------------------------------- hex

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of a hex string (either case); throws on odd length or a non-hex digit. */
export function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new LocalProtocolError("expected an even number of hex digits");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}
