"""The web app's routes without a browser: pages, static files, headers, the clock, packaging."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from coopkit import CHARTER, FOUNDERS, T0, did

from coopfed.node.api_errors import STATUS_BY_CODE
from coopfed.node.app import create_app
from coopfed.node.config import Config
from coopfed.node.service import Node
from coopfed.node.webapp import CSP, PAGES, STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    config = Config(data_dir=tmp_path / "coop")
    node = await Node.create(
        config, name=CHARTER.name, charter=CHARTER, founders=[did(f) for f in FOUNDERS], now_ms=T0
    )
    await node.close()
    async with TestClient(
        TestServer(create_app(config, clock=lambda: T0 + 42), host="127.0.0.1")
    ) as c:
        yield c
    # A database call the stopped governance task left in aiosqlite's thread may finish
    # only now; give it the loop to report to before pytest closes the loop.
    await asyncio.sleep(0.05)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
async def test_every_page_is_served_with_a_strict_policy(
    client: TestClient[Any, Any], page: Any
) -> None:
    resp = await client.get(page.path)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert csp == CSP
    assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    text = await resp.text()
    assert f"<title>{page.title} · Night Shift Co-op</title>" in text
    assert f'src="/static/app/pages/{page.name}.js"' in text
    assert '<main id="main"' in text and "<h1" in text
    # Nothing from outside: every src and href is a path of this node (or a fragment).
    for ref in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref
    # No inline script or style for the policy to refuse.
    assert re.search(r"<script(?![^>]*\bsrc=)", text) is None
    assert " style=" not in text and "<style" not in text


async def test_the_module_of_every_page_and_what_it_imports_is_served(
    client: TestClient[Any, Any],
) -> None:
    seen: set[str] = set()
    todo = [f"/static/app/pages/{p.name}.js" for p in PAGES] + ["/static/app/pages/not_found.js"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.content_type == "text/javascript"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        source = await resp.text()
        # No HTML parsing of strings, no code from strings (Trusted Types would refuse it).
        sinks = (
            r"\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function"
        )
        assert re.search(sinks, source) is None, path
        base = path.rsplit("/", 1)[0]
        for spec in re.findall(r'^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"', source, re.M):
            if spec.startswith("/"):
                todo.append(spec)
            else:
                parts = (base + "/" + spec).split("/")
                out: list[str] = []
                for part in parts:
                    if part == "..":
                        out.pop()
                    elif part != ".":
                        out.append(part)
                todo.append("/".join(out))
    assert "/static/js/records.js" in seen and "/static/app/keystore.js" in seen


async def test_static_files_are_cached_by_etag_and_only_known_files_are_served(
    client: TestClient[Any, Any],
) -> None:
    resp = await client.get("/static/app/app.css")
    assert resp.status == 200 and resp.content_type == "text/css"
    etag = resp.headers["ETag"]
    again = await client.get("/static/app/app.css", headers={"If-None-Match": etag})
    assert again.status == 304
    for path in (
        "/static/app/nothing.js",
        "/static/pages/home.html",
        "/static/js/generate.py",
        "/static/../webapp.py",
        "/static/app/%2e%2e/%2e%2e/webapp.py",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path


async def test_an_unknown_page_is_a_page_not_found(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/app/nowhere")
    assert resp.status == 404
    assert "Page not found" in await resp.text()
    assert resp.headers["Content-Security-Policy"] == CSP


async def test_the_root_leads_to_the_app(client: TestClient[Any, Any]) -> None:
    for path in ("/", "/app"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == "/app/"


async def test_the_app_reads_the_nodes_clock(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/app/now")
    assert resp.status == 200
    assert await resp.json() == {"now_ms": T0 + 42}
    assert resp.headers["Cache-Control"] == "no-store"


async def test_the_api_is_untouched_by_the_app(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/api/v1/status")
    assert resp.status == 200
    assert "Content-Security-Policy" not in resp.headers


def test_the_app_files_are_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["coopfed.node"]
    node_dir = ROOT / "node"
    covered = {p for pattern in patterns for p in node_dir.glob(pattern) if p.is_file()}
    for folder in ("app", "js", "pages"):
        for path in (STATIC_DIR / folder).rglob("*"):
            if path.is_file() and path.suffix in {".js", ".css", ".svg", ".html"}:
                assert path in covered, f"{path.relative_to(ROOT)} is not in package-data"


# Refusals a member meets in the app; each must read as a plain sentence, not a code.
MEMBER_FACING = (
    "not_member",
    "revoked",
    "not_eligible",
    "voting_closed",
    "voting_not_open",
    "bad_invite",
    "invite_used",
    "invite_expired",
    "invite_required",
    "invite_not_allowed",
    "already_member",
    "already_applied",
    "skew",
    "bad_window",
    "bad_choice",
    "too_large",
    "not_blocked",
    "rate_limited",
)


def test_refusals_members_meet_have_plain_sentences() -> None:
    source = (STATIC_DIR / "app" / "errors.js").read_text()
    sentences = set(re.findall(r"^\s+([a-z_0-9]+):", source, re.M))
    for code in MEMBER_FACING:
        assert code in sentences, code
    known = set(STATUS_BY_CODE) | {"network", "no_key", "no_webcrypto", "no_ed25519", "internal"}
    known.add("local_error")  # the browser's own signing library (node/static/js)
    known |= {"http_502", "http_503", "http_504", "rate_limited"}
    assert sentences <= known, sentences - known
