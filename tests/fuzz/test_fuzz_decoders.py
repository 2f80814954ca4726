"""Short fuzzing of every decoder in the suite: only the protocol's refusals may come out.

Three kinds of input per target: arbitrary bytes, byte-level mutations of valid inputs
from the vectors, and (for the MessagePack formats) valid inputs with one value deep
inside replaced by another of any type, re-encoded canonically so that the schema checks
behind the decoder are reached. The long, coverage-guided run is ``make fuzz``
(tests/fuzz/campaign.py); every crash either found becomes a named regression vector
(spec/vectors/regressions.json, checked in test_regressions.py).
"""

from __future__ import annotations

from typing import Any

import pytest
import targets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.errors import LocalProtocolError

MSGPACK_TARGETS = ("decode", "record", "equivocation", "frontier", "bundle", "verify_bundle")
TEXT_TARGETS = ("tile_path", "did", "requester", "vkey", "checkpoint_text", "witness_request")
EXAMPLES = 150

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1),
    st.sampled_from([0, 1, -1, 255, 256, 65535, 65536, (1 << 63) - 1, (1 << 64) - 1, -(1 << 63)]),
    st.text(max_size=40),
    st.binary(min_size=1, max_size=80),
    st.just(b""),
    st.sampled_from(["", "did:key:z", "mturk", "a" * 300, "\u2014 ", "yes", "requester"]),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=24,
)


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed with a few byte edits: flips, inserts, deletes, truncation, duplication."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "repeat"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xC0, 0xC1, 0xFF, 0x0A, 0x20]))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[at:]
        elif op == "repeat" and data:
            chunk = data[at : at + draw(st.integers(1, 64))]
            data[at:at] = chunk * draw(st.integers(1, 3))
    return bytes(data)


@st.composite
def long_numeral(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed with a long run of one digit inserted: numbers past int()'s 4300-digit limit."""
    data = draw(st.sampled_from(seeds))
    at = draw(st.integers(0, len(data)))
    digit = draw(st.sampled_from([b"0", b"1", b"9"]))
    run = digit * draw(st.sampled_from([20, 21, 300, 4301, 5000]))
    return data[:at] + run + data[at:]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def swapped(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A valid MessagePack seed with one value anywhere in it replaced, re-encoded."""
    candidates = []
    for s in seeds:
        try:
            candidates.append(decode(s))
        except Exception:  # seeds include invalid encodings on purpose
            continue
    if not candidates:
        return draw(st.binary(min_size=1))
    value = draw(st.sampled_from(candidates))
    path = draw(st.sampled_from(_paths(value)))
    try:
        return encode(_replace(value, path, draw(values)))
    except LocalProtocolError:
        # A nested value put deep in a deep seed can pass the encoder's depth limit:
        # nothing to send then (the decoder's own depth refusals come from the seeds).
        return encode(value)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    seeds = targets.seeds()[name]
    options = [st.binary(min_size=1, max_size=512), mutated(seeds)]
    if name in MSGPACK_TARGETS:
        options += [swapped(seeds), values.map(encode)]
    if name in TEXT_TARGETS:
        options += [long_numeral(seeds)]
        options += [st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))]
    return st.one_of(*options)


@pytest.mark.parametrize("name", sorted(targets.load()))
def test_seeds_run(name: str) -> None:
    # Hypothesis under python -bb trips on b"" (its hash equals 0's): run it here instead.
    for seed in (b"", *targets.seeds()[name]):
        targets.run(name, seed)


@pytest.mark.parametrize("name", sorted(targets.load()))
def test_only_protocol_refusals_escape(name: str) -> None:
    @FUZZ
    @given(data=inputs(name))
    def one(data: bytes) -> None:
        targets.run(name, data)

    one()
