"""Every regression vector (spec/vectors/regressions.json) is refused as the vector says."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import endpoints
import pytest

from coopfed.protocol import errors, merkle

ROOT = Path(__file__).resolve().parents[2]
CASES: list[dict[str, Any]] = json.loads(
    (ROOT / "spec" / "vectors" / "regressions.json").read_text(encoding="utf-8")
)["invalid"]
DECODERS = {
    "parse_tile_path": merkle.parse_tile_path,
    "parse_entries_path": merkle.parse_entries_path,
}


def _input(case: dict[str, Any]) -> Any:
    return bytes.fromhex(case["input_hex"]) if "input_hex" in case else case["input"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_regression_is_refused(case: dict[str, Any]) -> None:
    error = getattr(errors, case["error"])
    assert issubclass(error, errors.RemoteProtocolError)
    with pytest.raises(error) as caught:
        DECODERS[case["decoder"]](_input(case))
    assert caught.value.code == case["code"]


def test_regressions_over_http() -> None:
    with endpoints.NodeThread() as node:
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
        try:
            for case in CASES:
                want = case["http"]
                conn.request(want["method"], want["path"])
                resp = conn.getresponse()
                body = json.loads(resp.read())
                assert resp.status == want["status"], (case["name"], body)
                assert body["error"]["code"] == case["code"], case["name"]
        finally:
            conn.close()
