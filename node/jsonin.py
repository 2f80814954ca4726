"""JSON from outside, bounded in size and depth: parsed, or refused with a coded error.

Python's ``json.loads`` recurses once per ``[`` or ``{``, so a body of a few kilobytes of
``[`` raises ``RecursionError``, which escapes every ``except ValueError``. Every JSON text
the node or the command line reads from outside (request bodies, other nodes' answers, a
key file a member is handed) goes through :func:`loads` instead, which first measures the
nesting without recursing (:func:`depth`): strings are cut out by a regular expression (a
quote after a backslash does not end one) and the brackets left are counted in one pass.
Those are exactly the brackets ``json`` recurses on, as far as it reads: a text the two
read differently is malformed at that point, and ``json`` stops at its first fault. So
``json`` never nests deeper than :data:`MAX_DEPTH` here.

Refusals are :class:`JsonRefused`, a :class:`RemoteProtocolError` whose code says why:
``decode_error`` (400) for text that is not UTF-8 JSON (``NaN`` and ``Infinity`` are not),
``too_deep`` (400) past :data:`MAX_DEPTH` levels, ``too_large`` (413) past the limit given.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from coopfed.protocol.errors import RemoteProtocolError

#: Deepest nesting read. The deepest JSON coopfed itself writes (a proposal to amend the
#: charter, inside a list of proposals) is 6 levels; Python's recursion limit is 1000.
MAX_DEPTH: Final = 32
#: A string: from its quote to the next quote no backslash escapes (or to the end of the
#: text, where it is malformed).
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET: Final = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPEN: Final = frozenset(b"[{")


class JsonRefused(RemoteProtocolError):
    """Text from outside is not JSON this side reads; ``code`` says why."""

    code = "decode_error"


def depth(data: bytes, *, stop: int = MAX_DEPTH) -> int:
    """How deep ``[`` and ``{`` outside strings nest, counted up to one past ``stop``.

    No recursion: strings are cut out and the brackets left are counted in one pass.
    """
    level = deepest = 0
    for c in _STRING.sub(b"", data).translate(None, _NOT_BRACKET):
        if c in _OPEN:
            level += 1
            if level > deepest:
                deepest = level
                if deepest > stop:
                    break
        else:
            level -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes, *, limit: int, what: str = "the body") -> Any:
    """Parse ``raw`` (UTF-8) as JSON, or raise :class:`JsonRefused` naming ``what``."""
    if len(raw) > limit:
        raise JsonRefused(f"{what} is {len(raw)} bytes; at most {limit} are read", code="too_large")
    if depth(raw) > MAX_DEPTH:
        raise JsonRefused(
            f"{what} is JSON nested deeper than {MAX_DEPTH} levels, the most read here",
            code="too_deep",
        )
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise JsonRefused(f"{what} is not JSON: {exc}") from None
