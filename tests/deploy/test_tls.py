"""A co-op's node behind Caddy over HTTPS, as README's "Operate a co-op node" deploys it.

A co-op founded with ``coopfed init`` is served by ``coopfed serve --behind-proxy`` on
127.0.0.1, behind Caddy running deploy/Caddyfile with certificates from Caddy's local CA
(``tls internal``). Clients trust that CA's root certificate, as they would a public CA's:
aiohttp by an SSL context, the ``coopfed`` command line by ``SSL_CERT_FILE``, and Chromium
by its NSS certificate database. Checked: the node answers through Caddy unchanged, with
HSTS; members join and verify the log over HTTPS; each client is rate-limited by its own
address, whatever X-Forwarded-For it sends; more slow clients than the node allows one
address do not lock members out (to the node they all are Caddy); and the web app, loaded
over ``https://`` by a name that is not loopback, is a secure context in which a member
makes a key and joins — while the same app over plain HTTP cannot make keys.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from caddykit import DOMAIN, ROOT, Caddy, tool

sys.path.insert(0, str(ROOT / "tests" / "node"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM_ARGS, chromium_path  # noqa: F401  (a fixture, used below)
from test_cli import Server

from coopfed.node.app import MSGPACK
from coopfed.node.config import Config

PASSPHRASE = "kettle orbit sandal maple"
#: Another name for 127.0.0.1 that the browser reaches over plain HTTP.
PLAIN = "plain.test"


@dataclass
class Deployment:
    data: Path
    node: Server
    caddy: Caddy

    @property
    def admin_token(self) -> str:
        return (self.data / "admin.token").read_text().strip()


def coopfed(*args: str, cwd: Path, ca: Path | None = None) -> str:
    """Run the ``coopfed`` command line in its own process (trusting ``ca`` for HTTPS)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFED_")}
    if ca is not None:
        env["SSL_CERT_FILE"] = str(ca)
    done = subprocess.run(
        [sys.executable, "-m", "coopfed.node", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"coopfed {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout


async def deploy(tmp_path: Path, **settings: Any) -> AsyncIterator[Deployment]:
    data = tmp_path / "coop"
    await asyncio.to_thread(
        coopfed,
        *("init", "--data", str(data), "--name", "Night Shift Co-op"),
        *("--founder-key", "ana.key"),
        cwd=tmp_path,
    )
    if settings:
        config = json.loads((data / "config.json").read_text())
        (data / "config.json").write_text(json.dumps({**config, **settings}))
    node = await asyncio.to_thread(Server, data, "--behind-proxy")
    try:
        upstream = node.url.removeprefix("http://")
        (tmp_path / "caddy").mkdir()
        caddy = await asyncio.to_thread(Caddy, tmp_path / "caddy", upstream)
        try:
            yield Deployment(data, node, caddy)
        finally:
            await asyncio.to_thread(caddy.stop)
    finally:
        await asyncio.to_thread(node.stop)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async for d in deploy(tmp_path):
        yield d


@pytest.fixture
async def strictly_limited(tmp_path: Path) -> AsyncIterator[Deployment]:
    """The same, allowing each client address three writes and nearly no more."""
    async for d in deploy(tmp_path, rate_address_burst=3, rate_address_per_s=0.001):
        yield d


async def test_members_use_the_node_through_caddy_over_https(
    deployment: Deployment, tmp_path: Path
) -> None:
    d = deployment
    tls = d.caddy.ssl_context()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{d.node.url}/.well-known/coopfed") as resp:
            direct = await resp.read()
        async with http.get(f"{d.caddy.url}/.well-known/coopfed", ssl=tls) as resp:
            assert resp.status == 200 and await resp.read() == direct
            assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"
        async with http.get(f"{d.caddy.url}/app/", ssl=tls) as resp:
            assert resp.status == 200
            assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        # Nothing but Caddy's CA vouches for this certificate: it really is that CA's TLS.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(f"{d.caddy.url}/checkpoint")
        # Plain HTTP on Caddy's HTTP port is sent to HTTPS.
        async with http.get(
            f"http://127.0.0.1:{d.caddy.http_port}/app/", allow_redirects=False
        ) as resp:
            assert resp.status == 308 and resp.headers["Location"].startswith("https://")

    # The command line over HTTPS, trusting Caddy's CA (README: SSL_CERT_FILE).
    ca = d.caddy.root_ca
    out = coopfed(
        *("member", "invite", "--node", d.caddy.url, "--admin-token", d.admin_token),
        cwd=tmp_path,
        ca=ca,
    )
    token = out.split("invite token: ", 1)[1].split()[0]
    coopfed("member", "keygen", "--key", "dee.key", cwd=tmp_path)
    coopfed(
        *("member", "join", "--key", "dee.key", "--node", d.caddy.url, "--token", token),
        cwd=tmp_path,
        ca=ca,
    )
    status = json.loads(coopfed("status", "--json", "--node", d.caddy.url, cwd=tmp_path, ca=ca))
    assert status["members"] == 2
    verified = coopfed("log", "verify", "--node", d.caddy.url, cwd=tmp_path, ca=ca)
    assert verified.startswith("checkpoint: ") and "\nOK: " in verified


async def test_behind_caddy_each_client_is_rate_limited_by_its_own_address(
    strictly_limited: Deployment,
) -> None:
    d = strictly_limited
    tls = d.caddy.ssl_context()

    async def write(source: str, forged: str) -> int:
        """A (malformed) write from ``source`` that claims to come from ``forged``."""
        connector = aiohttp.TCPConnector(local_addr=(source, 0), ssl=tls)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.post(
                f"{d.caddy.url}/api/v1/records",
                data=b"\xc1",
                headers={"Content-Type": MSGPACK, "X-Forwarded-For": forged},
            ) as resp,
        ):
            return resp.status

    # A forged X-Forwarded-For buys no writes: Caddy puts the real address last...
    statuses = [await write("127.0.0.1", f"198.51.100.{i}") for i in range(4)]
    assert statuses == [400, 400, 400, 429]
    # ...and the node meters by it: another client still has its own burst.
    assert await write("127.0.0.2", "198.51.100.1") == 400


async def test_more_slow_clients_than_one_address_may_hold_do_not_lock_members_out(
    deployment: Deployment,
) -> None:
    d = deployment
    tls = d.caddy.ssl_context()
    # Each sends a request head and the first byte of a body, then waits: Caddy passes each
    # on to the node over a connection of its own, all from Caddy's one address.
    many = Config(data_dir=d.data).max_connections_per_address + 20
    held = []
    try:
        for _ in range(many):
            _, writer = await asyncio.open_connection("127.0.0.1", d.caddy.https_port, ssl=tls)
            writer.write(
                b"POST /api/v1/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: " + MSGPACK.encode() + b"\r\nContent-Length: 1000\r\n\r\n\x92"
            )
            await writer.drain()
            held.append(writer)
        await asyncio.sleep(1.0)
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(f"{d.caddy.url}/.well-known/coopfed", ssl=tls) as resp,
        ):
            assert resp.status == 200, await resp.text()
    finally:
        for writer in held:
            writer.close()


async def test_the_web_app_over_https_is_a_secure_context_where_a_member_makes_a_key(
    deployment: Deployment,
    chromium_path: str,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright, expect

    d = deployment
    # Chromium trusts Caddy's root certificate from its NSS database in $HOME/.pki/nssdb.
    home = tmp_path / "browser-home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    certutil = tool("certutil", "libnss3-tools")
    ca = str(d.caddy.root_ca)
    subprocess.run([certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "caddy-local-ca", "-i", ca],
        check=True,
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{d.caddy.url}/api/v1/invites",
            json={"ttl_s": 3600},
            headers={"Authorization": f"Bearer {d.admin_token}"},
            ssl=d.caddy.ssl_context(),
        ) as resp,
    ):
        assert resp.status == 201
        token = (await resp.json())["token"]

    rules = f"MAP {DOMAIN} 127.0.0.1, MAP {PLAIN} 127.0.0.1"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"],
            env={**os.environ, "HOME": str(home)},
        )
        try:
            context = await browser.new_context(base_url=d.caddy.named_url, locale="en-US")
            page = await context.new_page()
            page.set_default_timeout(15_000)
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith(d.caddy.named_url + "/") else outside.append(r.url)
                ),
            )
            await page.goto(f"/app/join#invite={token}")
            assert await page.evaluate("location.protocol") == "https:"
            assert await page.evaluate("window.isSecureContext") is True
            await page.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
            await page.get_by_label("Passphrase again").fill(PASSPHRASE)
            await page.get_by_role("button", name="Make my key").click()
            handle = page.get_by_test_id("handle")
            await expect(handle).to_be_visible(timeout=30_000)
            member_did = await page.get_by_test_id("did").inner_text()
            await page.get_by_role("button", name="Join with this invite").click()
            await expect(page.locator("#join-done")).to_contain_text("Welcome to Night Shift Co-op")
            await page.goto("/app/key")
            identity = page.locator("#identity")
            await expect(identity).to_contain_text(member_did)
            await expect(identity).to_contain_text("Member")
            assert outside == [], outside
            await context.close()

            # The same app over plain HTTP, by a name that is not loopback: no keys.
            context = await browser.new_context(locale="en-US")
            page = await context.new_page()
            port = d.node.url.rsplit(":", 1)[1]
            await page.goto(f"http://{PLAIN}:{port}/app/join")
            assert await page.evaluate("window.isSecureContext") is False
            await expect(page.locator("#support")).to_contain_text("Open the app over HTTPS")
            await expect(page.get_by_role("button", name="Make my key")).to_be_hidden()
            await context.close()
        finally:
            await browser.close()
