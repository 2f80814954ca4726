"""The browser's JavaScript (node/static/js) against spec/vectors and the Python protocol code.

``node --test tests/js/`` runs the JavaScript tests; the differential tests here feed the same
random inputs to ``coopfed.protocol.encoding`` and to canonical.js and require the same bytes
and the same refusals (code and offset). Without Node.js >= 20 these tests are skipped with
the reason shown, unless ``COOPFED_REQUIRE_NODE=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from coopfed.protocol import _wordlists
from coopfed.protocol.bodies import (
    BODY_TYPES,
    Charter,
    RecordType,
    Signer,
    coarse_days,
    coarse_minutes,
)
from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.errors import DecodeError, PlatformInputError
from coopfed.protocol.pay import hourly_rate
from coopfed.protocol.platforms import PLATFORMS, parse_pasted
from coopfed.protocol.stricter import coarse_hourly_cents, coarse_rating_minutes

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "node" / "static" / "js"
REQUIRE_NODE = os.environ.get("COOPFED_REQUIRE_NODE") == "1"
MIN_NODE = 20  # WebCrypto Ed25519 on globalThis.crypto.subtle


def _node() -> str:
    """The path of a usable ``node``, or skip (fail under COOPFED_REQUIRE_NODE=1)."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node (Node.js) is not installed"
    else:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False, timeout=30
        )
        match = re.fullmatch(r"v(\d+)\.\S*", out.stdout.strip())
        if match is None or int(match.group(1)) < MIN_NODE:
            problem = f"node {out.stdout.strip()!r} is older than v{MIN_NODE}"
    if problem is not None:
        if REQUIRE_NODE:
            pytest.fail(f"{problem} (COOPFED_REQUIRE_NODE=1)")
        pytest.skip(problem)
    assert node is not None
    return node


def _run_node_script(script: str, stdin: str) -> str:
    out = subprocess.run(
        [_node(), "--input-type=module", "-e", script],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return out.stdout


def test_node_test_suite() -> None:
    out = subprocess.run(
        [_node(), "--test", "tests/js/"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-8000:] + out.stderr[-4000:]
    assert re.search(r"^# fail 0$", out.stdout, re.MULTILINE), out.stdout[-2000:]


def test_browser_modules_use_no_node_apis() -> None:
    """The modules are served to browsers as they are: no Node.js globals or imports."""
    for path in sorted(JS_DIR.glob("*.js")):
        text = path.read_text(encoding="utf-8")
        for banned in (r"\bBuffer\b", r"\brequire\(", r"\bprocess\.", r"[\"']node:"):
            assert re.search(banned, text) is None, f"{path.name} matches {banned}"
        for target in re.findall(r'from "([^"]+)"', text):
            assert target.startswith("./") and (JS_DIR / target).is_file(), (path.name, target)


# ----------------------------------------------------------------------------- generated modules


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", JS_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name",
    [
        "node/static/js/wordlists.js",
        "node/static/js/recordtypes.js",
        "node/static/js/platforms.js",
        "node/static/js/reportfields.js",
        "protocol/_platforms.py",
    ],
)
def test_generated_modules_are_up_to_date(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert text == _generator().OUTPUTS[name](), "run node/static/js/generate.py"


def test_the_generator_checks_what_it_writes() -> None:
    assert _generator().main(["--check"]) == 0


def _js_lists(name: str) -> dict[str, list[str]]:
    text = (JS_DIR / name).read_text(encoding="utf-8")
    found = re.findall(r"export const (\w+) = Object\.freeze\(\[\n(.*?)\]\);", text, re.DOTALL)
    return {k: [json.loads(x.strip().rstrip(",")) for x in v.splitlines()] for k, v in found}


def test_wordlists_js_equals_python_lists() -> None:
    lists = _js_lists("wordlists.js")
    for name, words in (("ADJECTIVES", _wordlists.ADJECTIVES), ("ANIMALS", _wordlists.ANIMALS)):
        assert tuple(lists[name]) == words, name


def test_recordtypes_js_holds_the_body_classes_signer_rule() -> None:
    lists = _js_lists("recordtypes.js")
    assert lists["RECORD_TYPES"] == [t.value for t in RecordType]
    for export, signers in (
        ("SIGNED_BY_COOP", {Signer.COOP}),
        ("NOT_SIGNED_BY_COOP", {Signer.MEMBER, Signer.APPLICANT, Signer.REQUESTER}),
    ):
        assert set(lists[export]) == {t.value for t, c in BODY_TYPES.items() if c.SIGNER in signers}
    assert lists["MEMBERS_ONLY"] == [t.value for t, c in BODY_TYPES.items() if c.MEMBERS_ONLY]
    # records.js takes them from there and keeps no list of its own.
    records_js = (JS_DIR / "records.js").read_text(encoding="utf-8")
    assert 'from "./recordtypes.js"' in records_js
    assert not re.search(r"\b(RECORD_TYPES|SIGNED_BY_COOP|NOT_SIGNED_BY_COOP)\s*=", records_js)


# ----------------------------------------------------------------------------- differential

_DIFF_SCRIPT = """
import { decode, encode } from "./node/static/js/canonical.js";
import { fromTyped } from "./tests/js/helpers.mjs";
import { readFileSync } from "node:fs";
const hex = (b) => Buffer.from(b).toString("hex");
const results = [];
for (const c of JSON.parse(readFileSync(0, "utf8"))) {
  try {
    if (c.typed !== undefined) results.push({ hex: hex(encode(fromTyped(c.typed))) });
    else results.push({ hex: hex(encode(decode(Buffer.from(c.hex, "hex"), { maxSize: c.max }))) });
  } catch (e) {
    results.push({ code: e.code, offset: e.offset ?? null });
  }
}
process.stdout.write(JSON.stringify(results));
"""

_CHARS = "a\x00é\U00010000\ufeff\u07ff\u0800\uffff"
_INTS = (0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53 - 1, 2**53, 2**64 - 1)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        n = rng.choice([*_INTS, rng.randrange(-(2**63), 2**64), rng.randrange(-300, 300)])
        return max(-(2**63), -n - 1) if rng.random() < 0.4 and n > 0 else n
    if kind == 2:
        return "".join(rng.choice(_CHARS) for _ in range(rng.choice([0, 1, 7, 31, 32, 40])))
    if kind == 3:
        return rng.randbytes(rng.choice([0, 1, 5, 255, 256]))
    if kind == 4:
        return rng.randrange(-40, 140)
    if kind in (5, 6):
        return [_random_value(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 15, 16]))]
    return {
        "".join(rng.choice("ab\xe9\U00010000") for _ in range(rng.randrange(3))): _random_value(
            rng, depth + 1
        )
        for _ in range(rng.choice([0, 1, 2, 3, 16]))
    }


def _typed(v: Any) -> dict[str, Any]:
    """The typed JSON form of spec/vectors/encoding.json."""
    if v is None:
        return {"nil": None}
    if type(v) is bool:
        return {"bool": v}
    if type(v) is int:
        return {"int": str(v)}
    if type(v) is str:
        return {"str": v}
    if type(v) is bytes:
        return {"bin": v.hex()}
    if type(v) is list:
        return {"array": [_typed(x) for x in v]}
    return {"map": [[k, _typed(x)] for k, x in v.items()]}


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    how = rng.randrange(5)
    if how == 0 and b:
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif how == 1 and b:
        del b[rng.randrange(len(b)) :]
    elif how == 2:
        b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
    elif how == 3 and b:
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif how == 4 and b:
        at = rng.randrange(len(b))
        lead = rng.choice([0xA1, 0x81, 0x91, 0xC1, 0xC4, 0xCA, 0xCC, 0xD0, 0xD4, 0xD9, 0xDC, 0xDE])
        b[at : at + 2] = bytes([lead, rng.randrange(256)])
    return bytes(b)


def test_differential_against_python_encoding() -> None:
    """canonical.js and protocol/encoding.py agree on random values and damaged bytes."""
    rng = random.Random(20240508)
    cases: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    for _ in range(1500):
        value = _random_value(rng)
        data = encode(value)
        cases.append({"typed": _typed(value)})
        expected.append({"hex": data.hex()})
        for _ in range(2):
            damaged = _mutate(rng, data)
            limit = rng.choice([1 << 20, 1 << 20, len(damaged), max(0, len(damaged) - 1)])
            cases.append({"hex": damaged.hex(), "max": limit})
            try:
                expected.append({"hex": encode(decode(damaged, max_size=limit)).hex()})
            except DecodeError as exc:
                expected.append({"code": exc.code, "offset": exc.offset})
    # ill-formed and well-formed UTF-8 in short texts, byte by byte
    pool = [0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
    pool += [0x8F, 0x90, 0x9F, 0xA0]
    for _ in range(3000):
        text = bytes(rng.choice(pool) for _ in range(rng.randrange(1, 6)))
        data = bytes([0xA0 | len(text)]) + text
        cases.append({"hex": data.hex(), "max": 1 << 20})
        try:
            expected.append({"hex": encode(decode(data)).hex()})
        except DecodeError as exc:
            expected.append({"code": exc.code, "offset": exc.offset})
    got = json.loads(_run_node_script(_DIFF_SCRIPT, json.dumps(cases)))
    assert len(got) == len(cases)
    mismatches = [
        (case, want, have)
        for case, want, have in zip(cases, expected, got, strict=True)
        if want != have
    ]
    assert not mismatches, mismatches[:5]
    refused = sum("code" in e for e in expected)
    assert refused > 2000, "the damage should make most inputs invalid"


# ----------------------------------------------------------------------------- pasted text

_PASTE_SCRIPT = """
import { parsePasted } from "./node/static/js/paste.js";
import { readFileSync } from "node:fs";
const results = [];
for (const c of JSON.parse(readFileSync(0, "utf8"))) {
  try {
    const r = parsePasted(c.text, { kind: c.kind });
    results.push({ platform: r.platform, kind: r.kind, id: r.id, removed: r.removed });
  } catch (e) {
    results.push({ code: e.code ?? String(e) });
  }
}
process.stdout.write(JSON.stringify(results));
"""


def _random_paste(rng: random.Random) -> str:
    """Something a member might paste: an address of the table or not, ids, noise, case."""
    hosts = [
        h for p in PLATFORMS.values() for a in p.addresses for h in a.hosts if h != "*"
    ] + ["we.toloka.ai", "example.com", "app.prolific.com@evil.example", "WORKER.MTURK.COM."]
    ids = ["A3JH8W2N5R6T0Y", "65a1b2c3d4e5f60718293a4b", "32267581", "FF4E356E38", "x y", "Ä1"]
    segs = ["studies", "task", "requesters", "projects", "participant", "project", "dashboard",
            "mturk", "preview", "ru", "tasks", "start", "%41%31", ""]  # fmt: skip
    params = ["STUDY_ID", "study_id", "PROLIFIC_PID", "groupId", "requesterId", "workerId",
              "hit_type_message%5Brequester_id%5D", "ref", "utm_source", "cc"]  # fmt: skip
    pick = rng.random()
    if pick < 0.3:
        platform = rng.choice([*PLATFORMS, "Prolific", "MTURK", "cloudresearch", "https", "x y"])
        text = f"{platform}{rng.choice([':', ' : ', ''])}{rng.choice(ids)}"
    else:
        path = "/".join(rng.choice([*segs, *ids]) for _ in range(rng.randrange(0, 5)))
        query = "&".join(
            f"{rng.choice(params)}={rng.choice(ids)}" for _ in range(rng.randrange(0, 4))
        )
        scheme = rng.choice(["https://", "http://", "HTTPS://", ""])
        port = rng.choice(["", ":443", ":"])
        text = f"{scheme}{rng.choice(hosts)}{port}/{path}" + (f"?{query}" if query else "")
        text += rng.choice(["", "#frag", "/"])
    if rng.random() < 0.3:
        text = "".join(c.swapcase() if rng.random() < 0.3 else c for c in text)
    return rng.choice(["", " ", "\u00a0", "\ufeff", "\t"]) + text + rng.choice(["", "\n", " "])


def test_pasted_text_reads_the_same_in_javascript() -> None:
    rng = random.Random(20261204)
    cases = [
        {"text": _random_paste(rng), "kind": rng.choice(["requester", "task"])}
        for _ in range(1500)
    ]
    want = []
    for c in cases:
        try:
            r = parse_pasted(c["text"], kind=c["kind"])
            want.append({"platform": r.platform, "kind": r.kind, "id": r.id,
                         "removed": list(r.removed)})  # fmt: skip
        except PlatformInputError as exc:
            want.append({"code": exc.code})
    got = json.loads(_run_node_script(_PASTE_SCRIPT, json.dumps(cases)))
    differ = [(c["text"], w, g) for c, w, g in zip(cases, want, got, strict=True) if w != g]
    assert not differ, differ[:5]
    assert sum("id" in w for w in want) > 100 and sum("code" in w for w in want) > 300


# ----------------------------------------------------------------------------- coarse values

_MONEY_SCRIPT = """
import * as m from "./node/static/js/money.js";
import { readFileSync } from "node:fs";
const c = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify({
  minutes: c.seconds.map(m.coarseMinutes),
  days: c.days.map(m.coarseDays),
  ratingMinutes: c.minutes.map(m.coarseRatingMinutes),
  cents: c.cents.map(m.coarseHourlyCents),
  rates: c.rates.map(([r, n]) => m.hourlyRate(r, n)),
  minPay: c.charters.map(m.minPayPerHour),
}));
"""


def test_coarse_values_and_rates_are_the_same_in_javascript() -> None:
    rng = random.Random(13)
    seconds = [*range(0, 3 * 3600, 7), *(rng.randrange(0, 10**6) for _ in range(500))]
    days = list(range(0, 200))
    minutes = [*range(1, 2000), 100_000]
    cents = [*range(0, 5000), 999_999]
    rates = [(rng.randrange(0, 10**7), rng.randrange(1, 10**5)) for _ in range(2000)]
    charters = [c.to_value() for c in _CHARTERS]
    inputs = {"seconds": seconds, "days": days, "minutes": minutes, "cents": cents}
    inputs |= {"rates": rates, "charters": charters}
    got = json.loads(_run_node_script(_MONEY_SCRIPT, json.dumps(inputs)))
    assert got["minutes"] == [coarse_minutes(s) for s in seconds]
    assert got["days"] == [coarse_days(d) for d in days]
    assert got["ratingMinutes"] == [coarse_rating_minutes(m) for m in minutes]
    assert got["cents"] == [coarse_hourly_cents(c) for c in cents]
    assert got["rates"] == [hourly_rate(r, n) for r, n in rates]
    assert got["minPay"] == [c.min_pay_per_hour for c in _CHARTERS]


_RULES: dict[str, Any] = {
    "admission": "invite", "amend_pct": 66, "idea_up": 3, "max_window_ms": 14 * 86_400_000,
    "min_window_ms": 86_400_000, "name": "Co-op", "pass_pct": 50, "quorum_pct": 50,
    "roles": [], "block_rule": {"days": 7, "flags": 3, "review_days": 30},
}  # fmt: skip
_CHARTERS = [
    Charter.from_value({**_RULES, "min_pay_cents": 1200}),
    Charter.from_value({**_RULES, "min_pay_cents": 0}),
    Charter.from_value({**_RULES, "min_pay": {"GBP": 1050, "USD": 1200}}),
    Charter.from_value({**_RULES, "min_pay": {}}),
]
