"""spec/api.md, the node's router, /openapi.json and api_errors.py say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coopfed.node.api_errors import answer_codes
from coopfed.node.app import create_app
from coopfed.node.config import Config
from coopfed.node.openapi import document

ROOT = Path(__file__).resolve().parents[2]
API_MD = ROOT / "spec" / "api.md"


def _section(title: str) -> str:
    """The text of the spec/api.md section whose heading starts with ``title``."""
    text = API_MD.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _spec_routes() -> list[tuple[str, str]]:
    rows = re.findall(r"^\| `([A-Z]+)` \| `([^`]+)` \|", _section("2. Routes"), re.M)
    assert rows, "spec/api.md §2 lists no routes"
    return rows


def _spec_codes() -> dict[str, int | None]:
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}|other) \|", _section("5. Refusal codes"), re.M)
    assert rows, "spec/api.md §5 lists no codes"
    codes = [code for code, _ in rows]
    assert len(codes) == len(set(codes)), "a code is listed twice in spec/api.md §5"
    return {code: None if status == "other" else int(status) for code, status in rows}


def test_the_route_table_is_every_route_the_node_serves(tmp_path: Path) -> None:
    routes = _spec_routes()
    assert len(routes) == len(set(routes)), "a route is listed twice in spec/api.md §2"
    app = create_app(Config(data_dir=tmp_path))
    served = {
        (route.method, re.sub(r":[^}]+}", "}", route.resource.canonical))
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    described = {
        (method.upper(), path) for path, item in document()["paths"].items() for method in item
    }
    spec = set(routes)
    assert served - spec == set(), "routes the node serves that spec/api.md §2 does not list"
    assert spec - served == set(), "routes spec/api.md §2 lists that the node does not serve"
    assert described == spec, "/openapi.json and spec/api.md §2 list different routes"


def test_every_get_route_answers_head(tmp_path: Path) -> None:
    routes = [
        (route.method, route.resource.canonical)
        for route in create_app(Config(data_dir=tmp_path)).router.routes()
        if route.resource is not None
    ]
    gets = {path for method, path in routes if method == "GET"}
    heads = {path for method, path in routes if method == "HEAD"}
    assert sorted(gets - heads) == [], "GET routes that do not answer HEAD (spec/api.md §1.2)"


def test_the_code_table_is_every_code_the_node_answers_with() -> None:
    spec, node = _spec_codes(), answer_codes()
    missing = sorted(set(node) - set(spec))
    assert not missing, f"codes of node/api_errors.py with no line in spec/api.md §5: {missing}"
    unknown = sorted(set(spec) - set(node))
    assert not unknown, f"codes in spec/api.md §5 the node never answers with: {unknown}"
    differ = {c: (spec[c], node[c]) for c in spec if spec[c] != node[c]}
    assert not differ, f"(spec/api.md, api_errors.py) statuses differ: {differ}"
    enum = document()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert sorted(enum["code"]["enum"]) == sorted(spec), "/openapi.json's Error codes differ"


# Outbound refusals (a peer's bad answer) are stored and shown, never sent as an answer.
_OUTBOUND = {"federation.py"}
_RAISED = re.compile(r'ApiError\(\s*"([a-z_]+)"|\bcode\s*=\s*"([a-z_]+)"|_reject\(\s*"([a-z_]+)"')


@pytest.mark.parametrize(
    "path",
    [
        *sorted(p for p in (ROOT / "node").glob("*.py") if p.name not in _OUTBOUND),
        ROOT / "protocol" / "state.py",
    ],
    ids=lambda p: p.name,
)
def test_every_code_the_code_raises_is_in_the_table(path: Path) -> None:
    # A new code written into a handler (ApiError("…")), a node error class (code = "…")
    # or a state rule (_reject("…")) needs its line in spec/api.md §5 and api_errors.py.
    raised = {c for match in _RAISED.findall(path.read_text(encoding="utf-8")) for c in match if c}
    missing = sorted(raised - set(_spec_codes()))
    assert not missing, f"{path.name} raises codes spec/api.md §5 does not list: {missing}"


def test_the_document_names_its_version_as_the_node_does() -> None:
    head = API_MD.read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "**version 1**" in head
    assert document()["info"]["version"] == "1"
    assert all("/api/v1/" in path for _, path in _spec_routes() if "/api/" in path)
