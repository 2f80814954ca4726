"""Regression vectors: inputs fuzzing found that once escaped as something but a refusal.

Each case is named after its bug and says which decoder takes it, the input (text for the
text parsers, lowercase hex for bytes) and the refusal it must now get: the error class
(a ``RemoteProtocolError`` subclass, or the class itself) and its ``code``. The node must
answer the same inputs over HTTP with a coded 4xx (``http`` gives the request and status).
Found by tests/fuzz/ (hypothesis in the suite, atheris in ``make fuzz``).
"""

from __future__ import annotations

#: Python's int() refuses decimal strings longer than this (CVE-2020-10735 mitigation).
INT_MAX_STR_DIGITS = 4300


def _long(digit: str = "1") -> str:
    return digit * (INT_MAX_STR_DIGITS + 1)


def cases() -> list[dict]:
    width = "tile/0/000.p/" + _long()
    level = "tile/" + _long() + "/000"
    entries = "tile/entries/000.p/" + _long("9")
    bug = (
        "parse_tile_path/parse_entries_path called int() on an unbounded run of digits; "
        "past 4300 digits int() raises ValueError, which escaped as a 500 from GET /tile/..."
    )
    return [
        {
            "name": "tile-path-width-past-int-digit-limit",
            "bug": bug,
            "decoder": "parse_tile_path",
            "input": width,
            "error": "RemoteProtocolError",
            "code": "bad_tile_path",
            "http": {"method": "GET", "path": "/" + width, "status": 404},
            "found_by": "hypothesis, tests/fuzz/test_fuzz_decoders.py (long_numeral)",
        },
        {
            "name": "tile-path-level-past-int-digit-limit",
            "bug": bug,
            "decoder": "parse_tile_path",
            "input": level,
            "error": "RemoteProtocolError",
            "code": "bad_tile_path",
            "http": {"method": "GET", "path": "/" + level, "status": 404},
            "found_by": "hypothesis, tests/fuzz/test_fuzz_decoders.py (long_numeral)",
        },
        {
            "name": "entries-path-width-past-int-digit-limit",
            "bug": bug,
            "decoder": "parse_entries_path",
            "input": entries,
            "error": "RemoteProtocolError",
            "code": "bad_tile_path",
            "http": {"method": "GET", "path": "/" + entries, "status": 404},
            "found_by": "hypothesis, tests/fuzz/test_fuzz_endpoints.py",
        },
    ]


def generate() -> dict:
    return {
        "provenance": {
            "generator": "spec/vectors/gen_regressions.py",
            "method": (
                "inputs found by fuzzing (tests/fuzz/: hypothesis in the suite, atheris "
                "coverage-guided in 'make fuzz'), minimised by hand; each is named after "
                "the bug it pins"
            ),
            "spec": "spec/log-merkle.md (tile paths)",
        },
        "notes": [
            "decoder(input) must raise the named error class with the named code; before "
            "the fix it raised something else (see bug).",
            "http: the node answers that request with that status and the error JSON "
            "{error: {code, message}}, never a 5xx.",
        ],
        "valid": [],
        "invalid": cases(),
    }
