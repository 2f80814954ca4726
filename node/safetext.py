r"""Text from outside, made safe to show: one line that hides nothing; a CSV cell, no formula.

Peers, nodes and members choose the strings the command line prints (co-op names, pitches,
requester ids, error messages). :func:`visible` is the one place those strings are made fit
for a terminal: every character that could move the cursor, start an escape sequence,
break the line or reorder what is shown is written as a visible escape (``\n``, ``\x1b``,
``\u202e``), and the text is cut to a length. :func:`csv_text` is the one place CSV is
written, by the node and by the command line alike (OWASP's rule against formula injection).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

#: A name as shown or stored (a peer co-op's name): the charter's bound on a co-op's name.
MAX_NAME: Final = 100
#: Longest text shown for one value, or one line, when no other bound is given.
MAX_SHOWN: Final = 1000

#: What a terminal must never receive raw: C0 (tab and newline too: shown text is one line),
#: DEL, C1 (ESC's 8-bit twin CSI is U+009B), lone surrogates (they cannot be written as
#: UTF-8), and the Unicode controls that break a line (U+2028, U+2029) or reorder it (the
#: bidirectional marks, embeddings, overrides and isolates).
_UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: The same outside C0, which :func:`json.dumps` already escapes (its own newlines are layout).
_UNSAFE_IN_JSON: Final = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: An escape cut short at the end of a truncated text.
_PARTIAL_ESCAPE: Final = re.compile(r"\\(?:x[0-9a-f]?|u[0-9a-f]{0,3})?$")
#: A cell a spreadsheet would run: it starts with = + - @ (perhaps after white space), or
#: with a tab, CR or LF (OWASP, "CSV Injection").
_FORMULA: Final = re.compile(r"[\t\r\n]|\s*[=+\-@]")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    o = ord(c)
    return _NAMED.get(c) or (f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")


def visible(text: str, limit: int | None = MAX_SHOWN) -> str:
    """``text`` as one line that shows what it holds, at most ``limit`` characters long.

    Unsafe characters become escapes; a text cut short ends in ``…``. Text that is already
    visible and short enough comes back unchanged, so applying this twice changes nothing.
    """
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]  # escapes only lengthen: nothing past here could be shown
    shown = _UNSAFE.sub(_escape, text)
    if limit is not None and (cut or len(shown) > limit):
        shown = _PARTIAL_ESCAPE.sub("", shown[: limit - 1]) + "…"
    return shown


def visible_json(value: Any) -> str:
    r"""``value`` as indented JSON that a terminal shows as it is; the same value when parsed.

    ``json.dumps`` escapes C0 inside strings but not DEL, C1, surrogates or the Unicode line
    and direction controls; those can only stand inside strings, where ``\uXXXX`` means
    the same character.
    """
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def inert_cell(cell: str) -> str:
    """A CSV cell no spreadsheet runs as a formula: such a cell gets a leading ``'``."""
    return "'" + cell if _FORMULA.match(cell) else cell


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV, each cell made inert by :func:`inert_cell`.

    Lines end in CRLF (RFC 4180): Python's writer quotes a cell holding a character of the
    line end only, so with a bare LF a cell's CR would end its row.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([inert_cell(str(cell)) for cell in row])
    return out.getvalue()
