"""Tests for coopfed.protocol.encoding: spec vectors, round trips, and the strict reader."""

from __future__ import annotations

import hashlib
import json
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopfed.protocol.encoding import (
    DEFAULT_MAX_SIZE,
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    _Reader,
    decode,
    encode,
)
from coopfed.protocol.errors import (
    DecodeError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "spec" / "vectors" / "encoding.json").read_text(
        encoding="utf-8"
    )
)
CODES = {
    "non_canonical",
    "unsorted_keys",
    "duplicate_key",
    "bad_key",
    "float",
    "ext",
    "reserved",
    "truncated",
    "trailing_bytes",
    "too_deep",
    "too_large",
    "bad_utf8",
}


# --------------------------------------------------------------------------- helpers


def from_typed(t: dict[str, Any]) -> Any:
    """The Python value of the vectors' typed JSON form."""
    ((kind, x),) = t.items()
    if kind == "nil":
        return None
    if kind == "bool":
        return x
    if kind == "int":
        return int(x)
    if kind == "str":
        return x
    if kind == "bin":
        return bytes.fromhex(x)
    if kind == "array":
        return [from_typed(i) for i in x]
    if kind == "map":
        return {k: from_typed(v) for k, v in x}
    raise AssertionError(kind)


def tagged(v: Any) -> Any:
    """A form of ``v`` where equality also compares kinds and map order (1 != True)."""
    if v is None:
        return ("nil",)
    if type(v) is bool:
        return ("bool", v)
    if type(v) is int:
        return ("int", v)
    if type(v) is str:
        return ("str", v)
    if type(v) is bytes:
        return ("bin", v)
    if type(v) is list:
        return ("array", [tagged(x) for x in v])
    if type(v) is dict:
        return ("map", [(k, tagged(x)) for k, x in v.items()])
    raise AssertionError(f"decode returned a {type(v).__name__}")


def canonical(v: Any) -> Any:
    """``v`` with every map's keys in the order the encoding writes them."""
    if type(v) in (list, tuple):
        return [canonical(x) for x in v]
    if type(v) is dict:
        return {k: canonical(v[k]) for k in sorted(v, key=lambda k: k.encode("utf-8"))}
    return v


def outcome(fn: Any, data: bytes) -> tuple[Any, ...]:
    try:
        return ("ok", tagged(fn(data)))
    except DecodeError as exc:
        return ("error", exc.code, exc.offset)


def depth_of(v: Any) -> int:
    if type(v) is list:
        return 1 + max((depth_of(x) for x in v), default=0)
    if type(v) is dict:
        return 1 + max((depth_of(x) for x in v.values()), default=0)
    return 0


def build_large(recipe: dict[str, Any]) -> Any:
    kind, count = recipe["kind"], recipe["count"]
    if kind == "str":
        return "a" * count
    if kind == "bin":
        return b"\x00" * count
    if kind == "array":
        return [None] * count
    if kind == "map":
        return {f"{i:04x}": None for i in range(count)}
    raise AssertionError(kind)


# --------------------------------------------------------------------------- strategies

EDGE_INTS = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2**32 - 1,
    2**32,
    2**63 - 1,
    2**63,
    INT_MAX,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2**31),
    -(2**31) - 1,
    INT_MIN,
]
integers = st.one_of(st.sampled_from(EDGE_INTS), st.integers(min_value=INT_MIN, max_value=INT_MAX))
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0x80, exclude_categories=("Cs",))),
    st.text(min_size=28, max_size=40),  # around the fixstr/str8 boundary (in bytes)
)
scalars = st.one_of(st.none(), st.booleans(), integers, texts, st.binary())
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=20),
        st.dictionaries(texts, children, max_size=20),
    ),
    max_leaves=25,
).filter(lambda v: depth_of(v) <= MAX_DEPTH)


@st.composite
def mutated_encodings(draw: st.DrawFn) -> bytes:
    """Canonical bytes with a few edits: the inputs most likely to fool a decoder."""
    data = bytearray(encode(draw(values)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "append"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif op == "insert":
            data.insert(pos, draw(st.integers(min_value=0, max_value=255)))
        elif op == "delete" and data:
            del data[pos]
        elif op == "truncate":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


any_bytes = st.one_of(st.binary(max_size=200), mutated_encodings())


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda c: c["name"])
def test_valid_vector(case: dict[str, Any]) -> None:
    value = from_typed(case["value"])
    data = bytes.fromhex(case["hex"])
    assert encode(value).hex() == case["hex"]
    assert tagged(decode(data)) == tagged(value)
    assert tagged(_Reader(data).read_all()) == tagged(value)


@pytest.mark.parametrize("case", VECTORS["valid_large"], ids=lambda c: c["name"])
def test_valid_large_vector(case: dict[str, Any]) -> None:
    value = build_large(case["recipe"])
    data = encode(value)
    assert len(data) == case["size"]
    assert data[:16].hex() == case["prefix"]
    assert hashlib.sha256(data).hexdigest() == case["sha256"]
    assert decode(data) == value
    assert _Reader(data).read_all() == value


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_invalid_vector(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    with pytest.raises(DecodeError) as info:
        decode(data, max_size=case.get("max_size", DEFAULT_MAX_SIZE))
    assert (info.value.code, info.value.offset) == (case["code"], case["offset"])
    assert f"at byte {case['offset']}" in str(info.value)
    if case["code"] != "too_large":  # the size bound belongs to decode(), not the reader
        with pytest.raises(DecodeError) as strict:
            _Reader(data).read_all()
        assert (strict.value.code, strict.value.offset) == (case["code"], case["offset"])


def test_vectors_cover_every_refusal_code() -> None:
    assert {c["code"] for c in VECTORS["invalid"]} == CODES


def test_vectors_use_every_allowed_type_byte() -> None:
    used: set[int] = set()
    for case in VECTORS["valid"]:
        used |= _type_bytes(bytes.fromhex(case["hex"]))
    for case in VECTORS["valid_large"]:
        used.add(int(case["prefix"][:2], 16))
    allowed = (
        set(range(0x00, 0x80))
        | set(range(0x80, 0xA0))
        | set(range(0xA0, 0xC0))
        | {0xC0, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xCC, 0xCD, 0xCE, 0xCF}
        | {0xD0, 0xD1, 0xD2, 0xD3, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF}
        | set(range(0xE0, 0x100))
    )
    families = {
        "fixint": range(0x00, 0x80),
        "fixmap": range(0x80, 0x90),
        "fixarray": range(0x90, 0xA0),
        "fixstr": range(0xA0, 0xC0),
        "negative fixint": range(0xE0, 0x100),
    }
    singles = allowed - set().union(*map(set, families.values()))
    assert singles <= used, sorted(hex(b) for b in singles - used)
    for name, family in families.items():
        assert used & set(family), name


def _type_bytes(data: bytes) -> set[int]:
    """The type byte of every value in ``data`` (canonical input)."""
    out: set[int] = set()

    class Tracing(_Reader):
        __slots__ = ()

        def read(self, depth: int) -> Any:
            out.add(self.data[self.pos])
            return super().read(depth)

    Tracing(data).read_all()
    return out


# --------------------------------------------------------------------------- round trips


@given(values)
@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
def test_round_trip(value: Any) -> None:
    data = encode(value)
    assert tagged(decode(data)) == tagged(canonical(value))
    assert encode(decode(data)) == data


@given(st.sampled_from(EDGE_INTS))
def test_edge_integers_round_trip(n: int) -> None:
    assert decode(encode(n)) == n
    assert type(decode(encode(n))) is int


@pytest.mark.parametrize("n", [INT_MIN - 1, INT_MAX + 1, 2**100, -(2**100)])
def test_integers_outside_the_range_are_refused(n: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode(n)
    with pytest.raises(LocalProtocolError):
        encode([n])


@given(st.dictionaries(texts, st.integers(min_value=0, max_value=3), min_size=2, max_size=30))
def test_keys_are_written_in_bytewise_order(d: dict[str, int]) -> None:
    keys = list(decode(encode(d)))
    assert keys == sorted(d, key=lambda k: k.encode("utf-8"))
    encoded_keys = [k.encode("utf-8") for k in keys]
    assert encoded_keys == sorted(set(encoded_keys))


@given(values)
@settings(max_examples=100, suppress_health_check=[HealthCheck.filter_too_much])
def test_tuples_encode_as_arrays_and_insertion_order_does_not_matter(value: Any) -> None:
    def tuplify(v: Any) -> Any:
        if type(v) is list:
            return tuple(tuplify(x) for x in v)
        if type(v) is dict:
            return {k: tuplify(v[k]) for k in reversed(list(v))}
        return v

    assert encode(tuplify(value)) == encode(value)


def test_binary_like_values_encode_as_binary() -> None:
    assert encode(bytearray(b"ab")) == bytes.fromhex("c4026162")
    assert encode(memoryview(b"ab")) == bytes.fromhex("c4026162")
    assert encode({"k": bytearray(b"\x01")}) == bytes.fromhex("81a16bc40101")


class _Colour(StrEnum):
    RED = "red"


class _Size(IntEnum):
    ONE = 1


class _Bytes(bytes):
    pass


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        float("nan"),
        {1, 2},
        frozenset(),
        object(),
        _Colour.RED,
        _Size.ONE,
        _Bytes(b"x"),
        {1: "int key"},
        {b"k": "binary key"},
        {None: 1},
        {"ok": 1.5},
        ["\ud800"],
        {"\udfff": 1},
        "lone \udc80 surrogate",
        range(3),
        complex(1, 2),
    ],
    ids=repr,
)
def test_values_outside_the_subset_are_refused(value: Any) -> None:
    with pytest.raises(LocalProtocolError):
        encode(value)


def test_depth_limit_on_encode() -> None:
    ok: Any = []
    for _ in range(MAX_DEPTH - 1):
        ok = [ok]
    assert decode(encode(ok)) == ok
    with pytest.raises(LocalProtocolError):
        encode([ok])
    with pytest.raises(LocalProtocolError):
        encode({"k": ok})


def test_default_size_limit_is_inclusive() -> None:
    header = bytes.fromhex("c6") + (DEFAULT_MAX_SIZE - 5).to_bytes(4, "big")
    exactly = header + bytes(DEFAULT_MAX_SIZE - 5)
    assert len(exactly) == DEFAULT_MAX_SIZE
    assert decode(exactly) == bytes(DEFAULT_MAX_SIZE - 5)
    with pytest.raises(DecodeError) as info:
        decode(exactly + b"\x00")
    assert (info.value.code, info.value.offset) == ("too_large", DEFAULT_MAX_SIZE)
    assert decode(exactly + b"", max_size=DEFAULT_MAX_SIZE) is not None


def test_decode_takes_bytes_like_values_only() -> None:
    assert decode(bytearray(b"\x01")) == 1
    assert decode(memoryview(b"\xa1a")) == "a"
    with pytest.raises(LocalProtocolError):
        decode("c0")  # type: ignore[arg-type]


def test_decode_error_is_a_remote_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode(b"\xc1")
    assert isinstance(info.value, DecodeError)
    assert info.value.offset == 0
    assert info.value.code == "reserved"


# --------------------------------------------------------------------------- arbitrary input


@given(any_bytes)
@settings(max_examples=600)
def test_decode_of_arbitrary_bytes_raises_only_decode_errors(data: bytes) -> None:
    try:
        value = decode(data)
    except DecodeError as exc:
        assert exc.code in CODES
        assert 0 <= exc.offset <= len(data)
    except ProtocolError as exc:  # pragma: no cover - would be a bug
        pytest.fail(f"decode raised {type(exc).__name__}, not DecodeError: {exc}")
    else:
        # Whatever decodes is canonical: it re-encodes to the very same bytes.
        assert encode(value) == data


@given(any_bytes)
@settings(max_examples=600)
def test_fast_path_and_strict_reader_agree(data: bytes) -> None:
    assert outcome(decode, data) == outcome(lambda d: _Reader(d).read_all(), data)


@given(values)
@settings(max_examples=200, suppress_health_check=[HealthCheck.filter_too_much])
def test_fast_path_and_strict_reader_agree_on_canonical_input(value: Any) -> None:
    data = encode(value)
    assert tagged(_Reader(data).read_all()) == tagged(decode(data)) == tagged(canonical(value))


@given(values, st.data())
@settings(max_examples=200, suppress_health_check=[HealthCheck.filter_too_much])
def test_every_proper_prefix_is_refused(value: Any, data: st.DataObject) -> None:
    encoded = encode(value)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    with pytest.raises(DecodeError) as info:
        decode(encoded[:cut])
    assert info.value.code == "truncated"


@given(values, st.binary(min_size=1, max_size=8))
@settings(max_examples=200, suppress_health_check=[HealthCheck.filter_too_much])
def test_bytes_after_a_value_are_refused(value: Any, extra: bytes) -> None:
    encoded = encode(value)
    with pytest.raises(DecodeError) as info:
        decode(encoded + extra)
    assert (info.value.code, info.value.offset) == ("trailing_bytes", len(encoded))
