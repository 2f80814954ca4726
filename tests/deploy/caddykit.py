"""Caddy in front of a real ``coopfed serve``, with deploy/Caddyfile and Caddy's own local CA.

Caddy runs as a subprocess on free high ports, with its configuration and data in a
temporary directory, and serves deploy/Caddyfile unchanged: a small wrapper only adds the
global options a test needs (no admin endpoint, the ports, ``local_certs`` so that every
site gets ``tls internal``, and no attempt to install the CA in the system's trust store).
The CA's root certificate is where Caddy writes it (``root_ca``); clients trust that file.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = ROOT / "deploy"
#: CI (.ci/run) sets it: a missing tool fails these tests instead of skipping them.
REQUIRE: Final = os.environ.get("COOPFED_REQUIRE_DEPLOY") == "1"
#: The name the browser reaches the co-op by (mapped to 127.0.0.1 by Chromium's resolver
#: rules): not a loopback name, so only TLS can make its pages a secure context.
DOMAIN: Final = "coop.test"


def tool(name: str, package: str) -> str:
    """The path of command ``name``; skip (fail under COOPFED_REQUIRE_DEPLOY=1) without it."""
    path = shutil.which(name)
    if path is None:
        problem = f"{name} is not installed (apt-get install {package}, or make test-deploy)"
        if REQUIRE:
            pytest.fail(f"{problem} (COOPFED_REQUIRE_DEPLOY=1)")
        pytest.skip(problem)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Caddy:
    """``caddy run`` with deploy/Caddyfile for ``DOMAIN`` and 127.0.0.1, proxying ``upstream``."""

    def __init__(self, work: Path, upstream: str) -> None:
        self.work = work
        self.https_port = free_port()
        self.http_port = free_port()
        self.root_ca = work / "data" / "pki" / "authorities" / "local" / "root.crt"
        self.log = work / "caddy.log"
        config = work / "Caddyfile"
        config.write_text(
            "{\n"
            "\tadmin off\n"
            f"\thttp_port {self.http_port}\n"
            f"\thttps_port {self.https_port}\n"
            "\tlocal_certs\n"
            "\tskip_install_trust\n"
            f"\tstorage file_system {work / 'data'}\n"
            "}\n"
            f"import {DEPLOY / 'Caddyfile'}\n",
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "HOME": str(work),
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_DATA_HOME": str(work / "data-home"),
            "COOPFED_DOMAIN": f"{DOMAIN}, 127.0.0.1",
            "COOPFED_UPSTREAM": upstream,
        }
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [tool("caddy", "caddy"), "run", "--config", str(config), "--adapter", "caddyfile"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """The node through Caddy, by IP address (what command-line tools can resolve)."""
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def named_url(self) -> str:
        """The node through Caddy by its name (for the browser, which maps it to 127.0.0.1)."""
        return f"https://{DOMAIN}:{self.https_port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.root_ca))

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        problem = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.root_ca.exists():
                try:
                    with urllib.request.urlopen(
                        f"{self.url}/.well-known/coopfed", timeout=5, context=self.ssl_context()
                    ):
                        return
                except (OSError, urllib.error.URLError) as exc:
                    problem = repr(exc)
            time.sleep(0.2)
        raise AssertionError(
            f"Caddy did not serve the node over HTTPS ({problem}):\n{self.log.read_text()}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
