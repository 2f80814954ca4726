"""Canonical MessagePack: every value has exactly one encoding, and only that one decodes.

The subset (spec/encoding.md): nil, booleans, integers in [-2**63, 2**64 - 1] in their
shortest form (non-negative values always in the unsigned forms), UTF-8 text, binary,
arrays, and maps whose keys are text, unique and in ascending bytewise order of their
UTF-8 bytes. No floats, no ext types, no trailing bytes, at most ``MAX_DEPTH`` nested
containers and at most ``max_size`` bytes in all.

``decode`` takes a fast path through the msgpack C extension and accepts its result only
when re-encoding gives back the very same bytes; anything else goes through the strict
pure-Python reader, which names the fault and its byte offset.
"""

from __future__ import annotations

import struct
from typing import Any, Final

import msgpack

from .errors import DecodeError, LocalProtocolError

__all__ = [
    "DEFAULT_MAX_SIZE",
    "INT_MAX",
    "INT_MIN",
    "MAX_DEPTH",
    "Value",
    "decode",
    "encode",
]

#: Containers (arrays and maps) that may enclose one another; the top-level value counts.
MAX_DEPTH: Final = 32
#: Default bound on one encoded value, in bytes; callers pass their own where it differs.
DEFAULT_MAX_SIZE: Final = 1 << 20
INT_MIN: Final = -(1 << 63)
INT_MAX: Final = (1 << 64) - 1

#: What ``decode`` can return (recursively): ``None | bool | int | str | bytes | list | dict``.
Value = Any


def _prepare(value: object, depth: int) -> object:
    """Check ``value`` is in the subset and return it with every map's keys sorted.

    Only exact built-in types are accepted (no subclasses such as ``IntEnum`` or ``bool``
    posing as an integer), so what is encoded is exactly what the caller sees.
    """
    t = type(value)
    if value is None or t is bool or t is str or t is bytes:
        return value
    if t is int:
        assert isinstance(value, int)
        if not INT_MIN <= value <= INT_MAX:
            raise LocalProtocolError(f"integer {value} is outside [-2**63, 2**64-1]")
        return value
    if t is bytearray or t is memoryview:
        assert isinstance(value, bytearray | memoryview)
        return bytes(value)
    if t is not dict and t is not list and t is not tuple:
        raise LocalProtocolError(
            f"{t.__name__} values cannot be encoded (no floats, no ext types, no subclasses)"
        )
    if depth >= MAX_DEPTH:
        raise LocalProtocolError(f"value nests deeper than {MAX_DEPTH} containers")
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if type(k) is not str:
                raise LocalProtocolError(f"map key {k!r} is not text")
            try:
                kb = k.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise LocalProtocolError(f"map key {k!r} is not valid UTF-8") from exc
            items.append((kb, k, _prepare(v, depth + 1)))
        items.sort(key=lambda item: item[0])
        return {k: v for _, k, v in items}
    assert isinstance(value, list | tuple)
    return [_prepare(v, depth + 1) for v in value]


def _check_text(value: object, depth: int) -> None:
    """Reject text that is not valid UTF-8 (lone surrogates) before msgpack sees it."""
    if type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise LocalProtocolError(f"text {value!r} is not valid UTF-8") from exc
    elif type(value) is dict:
        for v in value.values():
            _check_text(v, depth + 1)
    elif type(value) is list:
        for v in value:
            _check_text(v, depth + 1)


def encode(value: object) -> bytes:
    """Return the one canonical encoding of ``value`` or raise ``LocalProtocolError``."""
    prepared = _prepare(value, 0)
    _check_text(prepared, 0)
    return msgpack.packb(prepared, use_bin_type=True)  # type: ignore[no-any-return]


def decode(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> Value:
    """Decode canonical bytes, or raise ``DecodeError`` naming the fault and its offset."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"decode() takes bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise DecodeError(
            f"input is {len(data)} bytes, more than the limit of {max_size}",
            offset=max_size,
            code="too_large",
        )
    try:
        value = msgpack.unpackb(
            data, raw=False, strict_map_key=True, use_list=True, ext_hook=_no_ext
        )
        # The packer writes every value in its shortest form and keeps each map's keys in
        # the order read, so equal bytes leave only what it does not check: the subset's
        # kinds, key order and depth (a third of the cost of a full ``encode``).
        if msgpack.packb(value, use_bin_type=True) == data and _in_subset(value, 0):
            return value
    except Exception:
        pass
    return _Reader(data).read_all()


def _in_subset(value: object, depth: int) -> bool:
    """Whether a decoded value is in the subset: its kinds, text keys in order, not too deep.

    Python orders ``str`` by code point, which for valid text (the decoder refuses
    anything else) is the bytewise order of its UTF-8 encoding. Loops, not generators:
    this runs on every record a node receives.
    """
    t = type(value)
    if t is dict:
        if depth >= MAX_DEPTH:
            return False
        assert isinstance(value, dict)
        previous = None
        for k, v in value.items():
            if type(k) is not str or (previous is not None and k <= previous):
                return False
            previous = k
            if not _scalar(v) and not _in_subset(v, depth + 1):
                return False
        return True
    if t is list:
        if depth >= MAX_DEPTH:
            return False
        assert isinstance(value, list)
        return all(_scalar(v) or _in_subset(v, depth + 1) for v in value)
    return _scalar(value)


def _scalar(value: object) -> bool:
    # Not float, nor msgpack's Timestamp (ext type -1 decodes without the ext hook).
    t = type(value)
    return value is None or t is bool or t is int or t is str or t is bytes


def _no_ext(code: int, data: bytes) -> object:
    raise ValueError("ext")


class _Reader:
    """The strict reader: slow, exact, and the authority on what is canonical."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, message: str, offset: int, code: str = "decode_error") -> DecodeError:
        return DecodeError(message, offset=offset, code=code)

    def take(self, n: int, what: str) -> bytes:
        start = self.pos
        end = start + n
        if end > len(self.data):
            raise self.fail(
                f"{what} needs {n} bytes but only {len(self.data) - start} remain",
                start,
                "truncated",
            )
        self.pos = end
        return self.data[start:end]

    def read_all(self) -> Value:
        if not self.data:
            raise self.fail("input is empty", 0, "truncated")
        value = self.read(0)
        if self.pos != len(self.data):
            raise self.fail(
                f"{len(self.data) - self.pos} trailing bytes after the value",
                self.pos,
                "trailing_bytes",
            )
        return value

    def length(self, start: int, n: int, minimum: int, kind: str) -> int:
        raw = self.take(n, f"{kind} length")
        value = int.from_bytes(raw, "big")
        if value < minimum:
            raise self.fail(
                f"{kind} of length {value} must use a shorter form", start, "non_canonical"
            )
        return value

    def read(self, depth: int) -> Value:
        start = self.pos
        b = self.take(1, "type byte")[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0xA0 <= b <= 0xBF:
            return self.text(start, b & 0x1F)
        if 0x90 <= b <= 0x9F:
            return self.array(start, b & 0x0F, depth)
        if 0x80 <= b <= 0x8F:
            return self.map(start, b & 0x0F, depth)
        if b == 0xC0:
            return None
        if b == 0xC2:
            return False
        if b == 0xC3:
            return True
        if b == 0xCC:
            return self.uint(start, 1, 0x80)
        if b == 0xCD:
            return self.uint(start, 2, 0x100)
        if b == 0xCE:
            return self.uint(start, 4, 0x10000)
        if b == 0xCF:
            return self.uint(start, 8, 0x100000000)
        if b in (0xD0, 0xD1, 0xD2, 0xD3):
            return self.sint(start, 1 << (b - 0xD0))
        if b == 0xD9:
            return self.text(start, self.length(start, 1, 32, "text"))
        if b == 0xDA:
            return self.text(start, self.length(start, 2, 0x100, "text"))
        if b == 0xDB:
            return self.text(start, self.length(start, 4, 0x10000, "text"))
        if b == 0xC4:
            return self.blob(start, self.length(start, 1, 0, "binary"))
        if b == 0xC5:
            return self.blob(start, self.length(start, 2, 0x100, "binary"))
        if b == 0xC6:
            return self.blob(start, self.length(start, 4, 0x10000, "binary"))
        if b == 0xDC:
            return self.array(start, self.length(start, 2, 16, "array"), depth)
        if b == 0xDD:
            return self.array(start, self.length(start, 4, 0x10000, "array"), depth)
        if b == 0xDE:
            return self.map(start, self.length(start, 2, 16, "map"), depth)
        if b == 0xDF:
            return self.map(start, self.length(start, 4, 0x10000, "map"), depth)
        if b in (0xCA, 0xCB):
            raise self.fail("floats are not allowed (use integers)", start, "float")
        if 0xC7 <= b <= 0xC9 or 0xD4 <= b <= 0xD8:
            raise self.fail("ext types are not allowed", start, "ext")
        raise self.fail(f"byte 0x{b:02x} is never used in MessagePack", start, "reserved")

    def uint(self, start: int, n: int, minimum: int) -> int:
        value = int.from_bytes(self.take(n, "integer"), "big")
        if value < minimum:
            raise self.fail(f"integer {value} must use a shorter form", start, "non_canonical")
        return value

    def sint(self, start: int, n: int) -> int:
        raw = self.take(n, "integer")
        value: int = struct.unpack({1: ">b", 2: ">h", 4: ">i", 8: ">q"}[n], raw)[0]
        if value >= 0:
            raise self.fail(
                f"non-negative integer {value} must use an unsigned form",
                start,
                "non_canonical",
            )
        shortest = (
            1
            if value >= -32
            else 2
            if value >= -128
            else 3
            if value >= -32768
            else (5 if value >= -(1 << 31) else 9)
        )
        if 1 + n != shortest:
            raise self.fail(f"integer {value} must use a shorter form", start, "non_canonical")
        return value

    def text(self, start: int, n: int) -> str:
        raw = self.take(n, "text")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(
                f"text is not valid UTF-8 ({exc.reason})",
                self.pos - n + exc.start,
                "bad_utf8",
            ) from None

    def blob(self, start: int, n: int) -> bytes:
        return self.take(n, "binary")

    def enter(self, start: int, depth: int, count: int, per_item: int, kind: str) -> None:
        if depth + 1 > MAX_DEPTH:
            raise self.fail(f"more than {MAX_DEPTH} nested containers", start, "too_deep")
        remaining = len(self.data) - self.pos
        if count * per_item > remaining:
            raise self.fail(
                f"{kind} claims {count} items but only {remaining} bytes remain",
                start,
                "truncated",
            )

    def array(self, start: int, count: int, depth: int) -> list[Value]:
        self.enter(start, depth, count, 1, "array")
        return [self.read(depth + 1) for _ in range(count)]

    def map(self, start: int, count: int, depth: int) -> dict[str, Value]:
        self.enter(start, depth, count, 2, "map")
        out: dict[str, Value] = {}
        previous: bytes | None = None
        for _ in range(count):
            key_at = self.pos
            key = self.read(depth + 1)
            if type(key) is not str:
                raise self.fail(
                    f"map key must be text, not {type(key).__name__}", key_at, "bad_key"
                )
            kb = key.encode("utf-8")
            if previous is not None:
                if kb == previous:
                    raise self.fail(f"duplicate map key {key!r}", key_at, "duplicate_key")
                if kb < previous:
                    raise self.fail(
                        f"map key {key!r} is out of order (keys ascend bytewise)",
                        key_at,
                        "unsorted_keys",
                    )
            previous = kb
            out[key] = self.read(depth + 1)
        return out
