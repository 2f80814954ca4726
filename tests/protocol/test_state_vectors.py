"""spec/vectors/state.json: replaying each log through a fresh CoopState gives every verdict."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from coopfed.protocol import errors
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import ProtocolError
from coopfed.protocol.records import Record
from coopfed.protocol.state import CoopState

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec" / "vectors" / "state.json").read_text(encoding="utf-8"))


def _apply(state: CoopState, step: dict[str, Any]) -> None:
    size = state.size
    raw = bytes.fromhex(step["record"])
    if step["verdict"] == "accept":
        entry = state.apply(Record.from_bytes(raw), now_ms=step["now_ms"])
        assert entry.index == size
        assert state.size == size + 1
        return
    assert step["verdict"] == "reject"
    expected = getattr(errors, step["error"])
    with pytest.raises(ProtocolError) as caught:
        state.apply(Record.from_bytes(raw), now_ms=step["now_ms"])
    assert type(caught.value) is expected, caught.value
    assert caught.value.code == step["code"], caught.value
    assert state.size == size, "a refused record must change nothing"


def _due(state: CoopState, step: dict[str, Any]) -> None:
    got = [
        {"type": body.TYPE.value, "body": encode(body.to_value()).hex()}
        for body in state.due(step["now_ms"])
    ]
    assert got == step["bodies"]


@pytest.mark.parametrize("log", VECTORS["logs"], ids=lambda log: log["name"])
def test_replay(log: dict[str, Any]) -> None:
    state = CoopState(log["coop"])
    for i, step in enumerate(log["steps"]):
        try:
            if step["op"] == "apply":
                _apply(state, step)
            else:
                assert step["op"] == "due"
                _due(state, step)
        except AssertionError as exc:
            raise AssertionError(f"step {i} ({step.get('why', '')}): {exc}") from exc


def test_every_code_in_state_md_has_a_vector() -> None:
    """The codes of state.md §6 are exactly the RecordRejected codes the logs refuse with."""
    text = (ROOT / "spec" / "state.md").read_text(encoding="utf-8")
    table = text[text.index("## 6. Codes") : text.index("## 7. Governance-only state")]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    refused = [
        step
        for log in VECTORS["logs"]
        for step in log["steps"]
        if step["op"] == "apply" and step["verdict"] == "reject"
    ]
    rejected = {step["code"] for step in refused if step["error"] == "RecordRejected"}
    assert rejected == listed
    assert set(VECTORS["codes"]) == rejected | {"invalid_record"}
    # The reference raises exactly these: its own codes, the shared rules' (rules.py),
    # check_decision's (governance.py) and, on a live node, the stricter rules' (§2.7).
    source = "".join(
        (ROOT / "protocol" / name).read_text(encoding="utf-8") for name in ("state.py", "rules.py")
    )
    stricter = "".join(
        (ROOT / "protocol" / name).read_text(encoding="utf-8")
        for name in ("stricter.py", "platforms.py")
    )
    raised = set(re.findall(r'_reject\(\s*"([a-z_]+)"', source)) | {"decision_mismatch"}
    raised |= set(re.findall(r'code="([a-z_]+)"', stricter))
    assert raised == listed
