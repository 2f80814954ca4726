"""Bounded JSON (node/jsonin.py): depth measured without recursion; only coded errors escape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coopfed.node import jsonin

ROOT = Path(__file__).resolve().parents[2]
#: Reads of JSON in node/ that are not from outside: the node's own database row and the
#: operator's own config file; the demo talks to nodes it started itself.
OWN_DATA = {"peers.py", "config.py", "demo.py"}

# Strings full of what could fool a scan: brackets, quotes, backslashes, escapes.
tricky = st.text(alphabet='[]{}"\\\n\t\u2028é\U0001f600ab', max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky, inner, max_size=4),
    max_leaves=40,
)


def nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


@given(values, st.booleans())
def test_the_depth_is_the_nesting_and_what_is_shallow_enough_parses_as_json_does(
    value: Any, ascii_only: bool
) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert jsonin.depth(raw) == nesting(value)
    assert jsonin.loads(raw, limit=len(raw)) == value


@given(st.binary(max_size=200) | st.text(alphabet='[]{}"\\,:1 ', max_size=200).map(str.encode))
def test_any_bytes_parse_or_are_refused_with_a_code(raw: bytes) -> None:
    try:
        jsonin.loads(raw, limit=1000)
    except jsonin.JsonRefused as exc:
        assert exc.code in ("decode_error", "too_deep"), exc.code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[" * 100_000, "too_deep"),  # never closed: json would recurse on every one
        (b"[" * 33 + b"]" * 33, "too_deep"),
        (b'{"a":' * 33 + b"1" + b"}" * 33, "too_deep"),
        (b'["' + b"[" * 1000 + b'"]', None),  # brackets in a string do not count
        (b'["\\"' + b"[" * 1000 + b'"]', None),  # nor after an escaped quote
        (b'["\\\\"' + b"[" * 40 + b"]" * 40 + b"]", "too_deep"),  # that quote was not escaped
        (b'"' + b"[" * 1000, "decode_error"),  # a string never closed
        (b"[" * 32 + b"]" * 32, None),
        (b"NaN", "decode_error"),
        (b"[Infinity]", "decode_error"),
        (b"1" * 5000, "decode_error"),  # past Python's integer digit limit
        (b'"\xff"', "decode_error"),
        (b"\xef\xbb\xbf{}", "decode_error"),  # a byte order mark
    ],
)
def test_edge_cases(raw: bytes, code: str | None) -> None:
    if code is None:
        json.loads(raw)  # the reference agrees it is JSON
        jsonin.loads(raw, limit=len(raw))
        return
    with pytest.raises(jsonin.JsonRefused) as caught:
        jsonin.loads(raw, limit=len(raw))
    assert caught.value.code == code


def test_text_over_the_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(jsonin.JsonRefused) as caught:
        jsonin.loads(b"[" * 10, limit=9, what="the answer")
    assert caught.value.code == "too_large"
    assert caught.value.message == "the answer is 10 bytes; at most 9 are read"


def test_every_json_read_of_outside_data_in_the_node_is_bounded() -> None:
    # json.loads on outside data raised RecursionError (issue 11): node/ reads such JSON
    # through jsonin.loads only.
    for path in sorted((ROOT / "node").glob("*.py")):
        if path.name in OWN_DATA | {"jsonin.py"}:
            continue
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"json\.loads?\(|\.json\(\)", text)
        assert not found, f"{path.name} parses JSON without bounds: {found}"
