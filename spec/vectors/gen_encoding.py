"""Vectors for spec/encoding.md: canonical values with their exact bytes, and refusals.

Every expected byte string here is written out by hand from the rules in spec/encoding.md
(not produced by ``coopfed.protocol.encoding``), so the vectors test the implementation
rather than echo it. Values use a typed JSON form, because JSON alone cannot tell text from
binary or carry integers beyond 2**53 exactly:

    {"nil": null}  {"bool": true}  {"int": "-12"}  {"str": "text"}  {"bin": "00ff"}
    {"array": [VALUE, ...]}  {"map": [["key", VALUE], ...]}   (map pairs in encoded order)
"""

from __future__ import annotations

import hashlib

MAX_DEPTH = 32
DEFAULT_MAX_SIZE = 1 << 20


# ----------------------------------------------------------------------------- typed JSON


def nil() -> dict:
    return {"nil": None}


def boolean(b: bool) -> dict:
    return {"bool": b}


def integer(n: int) -> dict:
    return {"int": str(n)}


def text(s: str) -> dict:
    return {"str": s}


def blob(b: bytes) -> dict:
    return {"bin": b.hex()}


def array(*items: dict) -> dict:
    return {"array": list(items)}


def mapping(*pairs: tuple[str, dict]) -> dict:
    return {"map": [[k, v] for k, v in pairs]}


def hexstr(s: str) -> str:
    """The lowercase hex of a string's UTF-8 bytes."""
    return s.encode("utf-8").hex()


def nested_arrays(depth: int) -> tuple[dict, str]:
    """``depth`` arrays, each holding the next; the innermost is empty."""
    value: dict = array()
    encoded = "90"
    for _ in range(depth - 1):
        value = array(value)
        encoded = "91" + encoded
    return value, encoded


# ----------------------------------------------------------------------------- valid values


def valid_cases() -> list[dict]:
    a31 = "a" * 31
    a32 = "a" * 32
    a255 = "a" * 255
    a256 = "a" * 256
    cases: list[tuple[str, dict, str]] = [
        # nil and booleans
        ("nil", nil(), "c0"),
        ("false", boolean(False), "c2"),
        ("true", boolean(True), "c3"),
        # non-negative integers: always the unsigned forms, shortest first
        ("int 0 (positive fixint)", integer(0), "00"),
        ("int 1", integer(1), "01"),
        ("int 127 (largest positive fixint)", integer(127), "7f"),
        ("int 128 (smallest uint8)", integer(128), "cc80"),
        ("int 255 (largest uint8)", integer(255), "ccff"),
        ("int 256 (smallest uint16)", integer(256), "cd0100"),
        ("int 65535 (largest uint16)", integer(65535), "cdffff"),
        ("int 65536 (smallest uint32)", integer(65536), "ce00010000"),
        ("int 2**32-1 (largest uint32)", integer(2**32 - 1), "ceffffffff"),
        ("int 2**32 (smallest uint64)", integer(2**32), "cf0000000100000000"),
        ("int 2**63-1", integer(2**63 - 1), "cf7fffffffffffffff"),
        ("int 2**63 (beyond int64: still uint64)", integer(2**63), "cf8000000000000000"),
        ("int 2**64-1 (largest integer)", integer(2**64 - 1), "cfffffffffffffffff"),
        # negative integers: shortest signed form
        ("int -1 (negative fixint)", integer(-1), "ff"),
        ("int -32 (smallest negative fixint)", integer(-32), "e0"),
        ("int -33 (int8)", integer(-33), "d0df"),
        ("int -128 (smallest int8)", integer(-128), "d080"),
        ("int -129 (int16)", integer(-129), "d1ff7f"),
        ("int -32768 (smallest int16)", integer(-32768), "d18000"),
        ("int -32769 (int32)", integer(-32769), "d2ffff7fff"),
        ("int -2**31 (smallest int32)", integer(-(2**31)), "d280000000"),
        ("int -2**31-1 (int64)", integer(-(2**31) - 1), "d3ffffffff7fffffff"),
        ("int -2**63 (smallest integer)", integer(-(2**63)), "d38000000000000000"),
        # text
        ("empty text", text(""), "a0"),
        ("text 'a'", text("a"), "a161"),
        ("text of 31 bytes (largest fixstr)", text(a31), "bf" + hexstr(a31)),
        ("text of 32 bytes (smallest str8)", text(a32), "d920" + hexstr(a32)),
        ("text of 255 bytes (largest str8)", text(a255), "d9ff" + hexstr(a255)),
        ("text of 256 bytes (smallest str16)", text(a256), "da0100" + hexstr(a256)),
        ("text length counts UTF-8 bytes: 'é' is 2", text("é"), "a2c3a9"),
        ("text with CJK (3 bytes each)", text("協同組合"), "ac" + hexstr("協同組合")),
        ("text outside the BMP (4 bytes)", text("🐝"), "a4f09f909d"),
        ("text with U+0000 inside", text("a\x00b"), "a3610062"),
        (
            "16 two-byte characters: 32 bytes, so str8 although only 16 characters",
            text("é" * 16),
            "d920" + "c3a9" * 16,
        ),
        # binary: no fix form, so bin8 from length 0
        ("empty binary (bin8)", blob(b""), "c400"),
        ("binary of 1 byte", blob(b"\x00"), "c40100"),
        ("binary of 255 bytes (largest bin8)", blob(b"\xff" * 255), "c4ff" + "ff" * 255),
        ("binary of 256 bytes (smallest bin16)", blob(b"\x01" * 256), "c50100" + "01" * 256),
        # arrays
        ("empty array", array(), "90"),
        (
            "array of 15 (largest fixarray)",
            array(*[integer(i) for i in range(15)]),
            "9f" + "".join(f"{i:02x}" for i in range(15)),
        ),
        (
            "array of 16 (smallest array16)",
            array(*[integer(i) for i in range(16)]),
            "dc0010" + "".join(f"{i:02x}" for i in range(16)),
        ),
        (
            "array mixing kinds",
            array(nil(), boolean(True), integer(-1), text("x"), blob(b"x")),
            "95c0c3ffa178c40178",
        ),
        # maps
        ("empty map", mapping(), "80"),
        ("map of 1", mapping(("a", integer(1))), "81a16101"),
        (
            "map of 15 (largest fixmap)",
            mapping(*[(f"{i:02d}", nil()) for i in range(15)]),
            "8f" + "".join("a2" + hexstr(f"{i:02d}") + "c0" for i in range(15)),
        ),
        (
            "map of 16 (smallest map16)",
            mapping(*[(f"{i:02d}", nil()) for i in range(16)]),
            "de0010" + "".join("a2" + hexstr(f"{i:02d}") + "c0" for i in range(16)),
        ),
        (
            "empty text is a valid key and sorts first",
            mapping(("", integer(0)), ("a", integer(1))),
            "82a000a16101",
        ),
        (
            "keys sort bytewise, not by length: 'aa' before 'b'",
            mapping(("aa", integer(1)), ("b", integer(2))),
            "82a2616101a16202",
        ),
        (
            "a key sorts before its extensions: 'a' before 'a\\x00'",
            mapping(("a", integer(1)), ("a\x00", integer(2))),
            "82a16101a2610002",
        ),
        (
            "upper case sorts before lower case: 'Z' before 'a'",
            mapping(("Z", integer(1)), ("a", integer(2))),
            "82a15a01a16102",
        ),
        (
            "keys sort by UTF-8 bytes: 'z' (7a) before 'é' (c3 a9)",
            mapping(("z", integer(1)), ("é", integer(2))),
            "82a17a01a2c3a902",
        ),
        (
            "UTF-8 order, not UTF-16: U+E000 (ee 80 80) before U+10000 (f0 90 80 80)",
            mapping(("\ue000", integer(1)), ("\U00010000", integer(2))),
            "82a3ee808001a4f090808002",
        ),
        (
            "nested map and array",
            mapping(("a", array(mapping(("b", nil())))), ("c", blob(b"\x01\x02"))),
            "82a1619181a162c0a163c4020102",
        ),
        (
            "a record-like map with every kind",
            mapping(
                ("bin", blob(bytes(range(4)))),
                ("f", boolean(False)),
                ("list", array(integer(300), integer(-300))),
                ("n", nil()),
                ("t", text("ok")),
            ),
            "85a362696ec40400010203a166c2a46c69737492cd012cd1fed4a16ec0a174a26f6b",
        ),
    ]
    depth_value, depth_hex = nested_arrays(MAX_DEPTH)
    cases.append((f"{MAX_DEPTH} nested arrays (the depth limit)", depth_value, depth_hex))
    maps_value: dict = mapping()
    maps_hex = "80"
    for _ in range(MAX_DEPTH - 1):
        maps_value = mapping(("k", maps_value))
        maps_hex = "81a16b" + maps_hex
    cases.append((f"{MAX_DEPTH} nested maps (the depth limit)", maps_value, maps_hex))
    return [{"name": n, "value": v, "hex": h} for n, v, h in cases]


def large_cases() -> list[dict]:
    """Values too big to spell out; each is built from a recipe (see ``notes``)."""
    out = []
    for kind, count, header in (
        ("str", 65535, "daffff"),
        ("str", 65536, "db00010000"),
        ("bin", 65535, "c5ffff"),
        ("bin", 65536, "c600010000"),
        ("array", 65535, "dcffff"),
        ("array", 65536, "dd00010000"),
        ("map", 65535, "deffff"),
        ("map", 65536, "df00010000"),
    ):
        if kind == "str":
            body = b"a" * count
        elif kind == "bin":
            body = b"\x00" * count
        elif kind == "array":
            body = b"\xc0" * count
        else:
            body = b"".join(b"\xa4" + f"{i:04x}".encode() + b"\xc0" for i in range(count))
        encoded = bytes.fromhex(header) + body
        out.append(
            {
                "name": f"{kind} of {count}",
                "recipe": {"kind": kind, "count": count},
                "size": len(encoded),
                "prefix": encoded[:16].hex(),
                "sha256": hashlib.sha256(encoded).hexdigest(),
            }
        )
    return out


# ----------------------------------------------------------------------------- refusals


def invalid_cases() -> list[dict]:
    deep_value_hex = "91" * MAX_DEPTH + "90"  # 33 containers
    cases: list[tuple[str, str, str, int] | tuple[str, str, str, int, int]] = [
        # non_canonical: a shorter form exists (offset: the type byte)
        ("uint8 holding 5 (fixint exists)", "cc05", "non_canonical", 0),
        ("uint8 holding 127", "cc7f", "non_canonical", 0),
        ("uint16 holding 255", "cd00ff", "non_canonical", 0),
        ("uint32 holding 65535", "ce0000ffff", "non_canonical", 0),
        ("uint64 holding 2**32-1", "cf00000000ffffffff", "non_canonical", 0),
        ("int8 holding 0 (non-negative must be unsigned)", "d000", "non_canonical", 0),
        ("int8 holding 5", "d005", "non_canonical", 0),
        ("int16 holding 1000 (non-negative must be unsigned)", "d103e8", "non_canonical", 0),
        ("int64 holding 2**63-1", "d37fffffffffffffff", "non_canonical", 0),
        ("int8 holding -1 (negative fixint exists)", "d0ff", "non_canonical", 0),
        ("int8 holding -32", "d0e0", "non_canonical", 0),
        ("int16 holding -128 (int8 exists)", "d1ff80", "non_canonical", 0),
        ("int32 holding -32768 (int16 exists)", "d2ffff8000", "non_canonical", 0),
        ("int64 holding -2**31 (int32 exists)", "d3ffffffff80000000", "non_canonical", 0),
        ("int16 holding -1", "d1ffff", "non_canonical", 0),
        ("str8 of length 0 (fixstr exists)", "d900", "non_canonical", 0),
        ("str8 of length 31", "d91f" + "61" * 31, "non_canonical", 0),
        ("str16 of length 255", "da00ff" + "61" * 255, "non_canonical", 0),
        ("str32 of length 1", "db0000000161", "non_canonical", 0),
        ("bin16 of length 1", "c5000100", "non_canonical", 0),
        ("bin32 of length 0", "c600000000", "non_canonical", 0),
        ("array16 of 0 items", "dc0000", "non_canonical", 0),
        ("array16 of 15 items", "dc000f" + "00" * 15, "non_canonical", 0),
        ("array32 of 1 item", "dd0000000100", "non_canonical", 0),
        ("map16 of 0 entries", "de0000", "non_canonical", 0),
        ("map32 of 1 entry", "df00000001a16100", "non_canonical", 0),
        ("non-canonical integer nested in a map value", "81a161cc01", "non_canonical", 3),
        # map keys
        ("keys out of order", "82a16201a16102", "unsorted_keys", 4),
        (
            "keys ordered by length, not bytewise ('b' before 'aa')",
            "82a16201a2616102",
            "unsorted_keys",
            4,
        ),
        (
            "keys in UTF-16 order: U+10000 before U+E000",
            "82a4f090808001a3ee808002",
            "unsorted_keys",
            7,
        ),
        ("longer key first ('a\\x00' before 'a')", "82a2610001a16102", "unsorted_keys", 5),
        ("duplicate key", "82a16101a16102", "duplicate_key", 4),
        ("duplicate key with the same value", "82a16101a16101", "duplicate_key", 4),
        ("duplicate key after a sorted pair", "83a16101a16202a16203", "duplicate_key", 7),
        ("integer key", "810102", "bad_key", 1),
        ("binary key", "81c4016100", "bad_key", 1),
        ("nil key", "81c000", "bad_key", 1),
        ("array key", "819000", "bad_key", 1),
        ("second key not text", "82a161000102", "bad_key", 4),
        # floats and ext types
        ("float32", "ca3f800000", "float", 0),
        ("float64", "cb3ff0000000000000", "float", 0),
        ("float inside an array", "9201cb0000000000000000", "float", 2),
        (
            "float as a map key (the key is read first, then its kind checked)",
            "81ca3f80000000",
            "float",
            1,
        ),
        ("fixext1", "d40100", "ext", 0),
        ("fixext2", "d5010000", "ext", 0),
        ("fixext4 (a MessagePack timestamp, type -1)", "d6ff00000000", "ext", 0),
        ("fixext8", "d701" + "00" * 8, "ext", 0),
        ("fixext16", "d801" + "00" * 16, "ext", 0),
        ("ext8", "c70101" + "00", "ext", 0),
        ("ext16", "c8000101" + "00", "ext", 0),
        ("ext32", "c90000000101" + "00", "ext", 0),
        ("ext inside a map", "81a161d40100", "ext", 3),
        # reserved
        ("0xc1 is never used", "c1", "reserved", 0),
        ("0xc1 inside an array", "9200c1", "reserved", 2),
        # truncated (offset: where the missing bytes should start, or the container)
        ("empty input", "", "truncated", 0),
        ("uint8 without its byte", "cc", "truncated", 1),
        ("uint64 with 7 of 8 bytes", "cf00000000000001", "truncated", 1),
        ("str8 without its length", "d9", "truncated", 1),
        ("fixstr of 2 with 1 byte", "a261", "truncated", 1),
        ("str8 of 40 with 2 bytes", "d9286161", "truncated", 2),
        ("bin8 of 2 with 1 byte", "c40200", "truncated", 2),
        ("array of 2 with 1 byte left (count check at the array)", "9201", "truncated", 0),
        ("map of 1 with only a key left (count check: 2 bytes per entry)", "81a1", "truncated", 0),
        ("map of 1 missing its value", "81a161", "truncated", 3),
        ("array16 claiming 65535 items", "dcffff00", "truncated", 0),
        ("array of 2 whose second item is cut", "9201cd01", "truncated", 3),
        ("array32 claiming 2**32-1 items", "ddffffffff", "truncated", 0),
        ("str32 claiming 2**32-1 bytes", "dbffffffff61", "truncated", 5),
        # trailing bytes
        ("two values", "0000", "trailing_bytes", 1),
        ("nil then a byte", "c0c0", "trailing_bytes", 1),
        ("map then garbage", "80ff", "trailing_bytes", 1),
        ("complete array then bytes", "920102c3c3", "trailing_bytes", 3),
        # depth
        (f"{MAX_DEPTH + 1} nested arrays", deep_value_hex, "too_deep", MAX_DEPTH),
        (f"{MAX_DEPTH + 1} nested maps", "81a16b" * MAX_DEPTH + "80", "too_deep", 3 * MAX_DEPTH),
        # size (offset: the size limit)
        ("5 bytes with a 4-byte limit", "a461626364", "too_large", 4, 4),
        ("1 byte with a 0-byte limit", "00", "too_large", 0, 0),
        # text that is not UTF-8 (offset: the first byte of the first ill-formed sequence)
        ("lone continuation byte", "a180", "bad_utf8", 1),
        ("0xff is never UTF-8", "a2ff61", "bad_utf8", 1),
        ("2-byte lead followed by ASCII", "a2c328", "bad_utf8", 1),
        ("overlong encoding of '/'", "a2c0af", "bad_utf8", 1),
        ("overlong 3-byte encoding of NUL", "a3e08080", "bad_utf8", 1),
        ("UTF-16 surrogate U+D800", "a3eda080", "bad_utf8", 1),
        ("beyond U+10FFFF", "a4f4908080", "bad_utf8", 1),
        ("sequence cut by the end of the text", "a361e282", "bad_utf8", 2),
        ("valid prefix then bad byte", "a4c3a961ff", "bad_utf8", 4),
        ("bad UTF-8 in a map key", "81a1ff00", "bad_utf8", 2),
        ("bad UTF-8 in str8", "d920" + "61" * 31 + "ff", "bad_utf8", 33),
    ]
    out = []
    for case in cases:
        name, h, code, offset = case[:4]
        entry = {"name": name, "hex": h, "code": code, "offset": offset}
        if len(case) == 5:
            entry["max_size"] = case[4]
        out.append(entry)
    return out


def generate() -> dict:
    return {
        "provenance": {
            "spec": "spec/encoding.md",
            "generator": "spec/vectors/gen_encoding.py",
            "method": "expected bytes written by hand from the spec's rules; no randomness",
            "max_depth": MAX_DEPTH,
            "default_max_size": DEFAULT_MAX_SIZE,
        },
        "notes": [
            "Values are typed JSON: {'nil': null}, {'bool': b}, {'int': decimal string}, "
            "{'str': text}, {'bin': hex}, {'array': [v...]}, {'map': [[key, v]...]} "
            "(map pairs listed in their encoded order).",
            "valid: decode(hex) gives value, and encode(value) gives hex.",
            "valid_large: recipe kind 'str' is count times 'a'; 'bin' is count zero bytes; "
            "'array' is count nils; 'map' maps each of the count keys format(i, '04x') "
            "(i = 0, 1, ...) to nil. Check size, the first 16 bytes and the SHA-256.",
            "invalid: decode(hex, max_size=max_size or default_max_size) fails with code at "
            "offset.",
        ],
        "valid": valid_cases(),
        "valid_large": large_cases(),
        "invalid": invalid_cases(),
    }
