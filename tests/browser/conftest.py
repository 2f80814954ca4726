"""A real node on 127.0.0.1 and Debian's Chromium driven by Playwright, for the web app's tests.

Chromium is ``/usr/bin/chromium`` (or ``COOPFED_CHROMIUM``); it is never downloaded. Without it
(or without the ``playwright`` package) these tests skip with the reason shown, unless
``COOPFED_REQUIRE_BROWSER=1`` (CI), which makes that a failure. Screenshots go to
``test-artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "node"))

from coopkit import CHARTER, FOUNDERS, HOUR, did, key  # noqa: E402

from coopfed.node.app import MSGPACK, create_app  # noqa: E402
from coopfed.node.config import Config  # noqa: E402
from coopfed.node.keys import read_admin_token  # noqa: E402
from coopfed.node.server import NodeRunner  # noqa: E402
from coopfed.node.service import Node, now_ms  # noqa: E402
from coopfed.protocol.bodies import Body, Charter  # noqa: E402
from coopfed.protocol.identity import SigningIdentity  # noqa: E402
from coopfed.protocol.records import Record, sign_record  # noqa: E402

CHROMIUM = os.environ.get("COOPFED_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("COOPFED_REQUIRE_BROWSER") == "1"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def _browser_problem() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium is not at {CHROMIUM} (apt-get install chromium, or make test-browser)"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    problem = _browser_problem()
    if problem is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"{problem} (COOPFED_REQUIRE_BROWSER=1)")
        pytest.skip(problem)
    return CHROMIUM


class Clock:
    """The node's clock in these tests: the wall clock, moved forward when a test says so."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return now_ms() + self.offset

    def advance(self, ms: int) -> None:
        self.offset += ms


@dataclasses.dataclass
class LiveNode:
    """A co-op node served on 127.0.0.1 for a browser, and ways to act as its founders."""

    url: str
    config: Config
    clock: Clock
    coop: str
    http: aiohttp.ClientSession

    def sign(self, who: str | SigningIdentity, body: Body) -> Record:
        signer = key(who) if isinstance(who, str) else who
        return sign_record(signer, coop=self.coop, ts=self.clock(), body=body)

    async def post(self, record: Record) -> dict[str, Any]:
        async with self.http.post(
            f"{self.url}/api/v1/records", data=record.raw, headers={"Content-Type": MSGPACK}
        ) as resp:
            body = await resp.json()
            assert resp.status in (200, 201), body
            return dict(body)

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.url}{path}") as resp:
            body = await resp.json()
            assert resp.status == 200, body
            return body

    async def invite(self) -> str:
        token = read_admin_token(self.config.data_dir)
        async with self.http.post(
            f"{self.url}/api/v1/invites",
            json={"ttl_s": 3600},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            body = await resp.json()
            assert resp.status == 201, body
            return str(body["token"])


async def serve_node(tmp_path: Path, charter: Charter = CHARTER) -> AsyncIterator[LiveNode]:
    clock = Clock()
    config = Config(
        data_dir=tmp_path / "coop",
        governance_interval_s=0.2,
        checkpoint_interval_s=0.5,
    )
    node = await Node.create(
        config,
        name=charter.name,
        charter=charter,
        founders=[did(f) for f in FOUNDERS],
        now_ms=clock(),
    )
    await node.close()
    runner = NodeRunner(create_app(config, clock=clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/.well-known/coopfed") as resp:
            coop = (await resp.json())["coop"]
        try:
            yield LiveNode(url=url, config=config, clock=clock, coop=coop, http=http)
        finally:
            await runner.cleanup()
            # Let a database call of the stopped governance task report before the loop closes.
            await asyncio.sleep(0.05)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveNode]:
    """A co-op that admits by invite: founders ana, bo and cy; a one-hour shortest vote."""
    async for node in serve_node(tmp_path):
        yield node


@pytest.fixture
async def live_by_vote(tmp_path: Path) -> AsyncIterator[LiveNode]:
    """The same co-op, admitting new members by vote."""
    charter = dataclasses.replace(CHARTER, admission="vote", name="Day Shift Co-op")
    async for node in serve_node(tmp_path, charter):
        yield node


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


__all__ = ["DESKTOP", "HOUR", "PHONE", "SCREENSHOTS", "LiveNode"]
