"""The deployment files say what README promises: checked by the tools that read them.

deploy/compose.yaml is parsed as YAML; deploy/Dockerfile instruction by instruction;
deploy/Caddyfile by ``caddy adapt`` (for both deployments); deploy/coopfed.service by
``systemd-analyze verify`` and ``systemd-analyze security --offline``. The image itself is
built and run by test_image.py (``make test-image``), the proxy by test_tls.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from caddykit import DEPLOY, tool

from coopfed.node.openapi import document

DATA = "/var/lib/coopfed"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line of a Dockerfile, continuations joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_runs_the_node_unprivileged_with_its_data_on_a_volume() -> None:
    steps = instructions(DEPLOY / "Dockerfile")
    stages = [i for i, (op, _) in enumerate(steps) if op == "FROM"]
    assert len(stages) == 2, "a build stage and a run stage"
    run = steps[stages[-1] :]
    assert ("ARG", "PYTHON_IMAGE=docker.io/library/python:3.11-slim") in steps[: stages[0]]
    assert all(
        args == "${PYTHON_IMAGE}" or args.startswith("${PYTHON_IMAGE} AS ")
        for op, args in steps
        if op == "FROM"
    )
    users = [args for op, args in run if op == "USER"]
    assert users == ["10001:10001"], "the node runs as uid 10001, never root"
    assert ("VOLUME", f'["{DATA}"]') in run
    assert ("COPY", "--from=build /opt/coopfed /opt/coopfed") in run
    entry = json.loads(dict(run)["ENTRYPOINT"])
    cmd = json.loads(dict(run)["CMD"])
    assert entry + cmd == ["coopfed", "serve", "--data", DATA, "--host", "0.0.0.0"]
    # The health check asks a route the node serves today (/healthz will replace it).
    check = dict(run)["HEALTHCHECK"]
    route = re.search(r"http://127\.0\.0\.1:\{port\}(/[^']*)'", check)
    assert route is not None and route.group(1) in document(server="/")["paths"]


def test_the_compose_file_puts_the_node_behind_caddy_with_postgresql() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "coopfed", "caddy"}
    db, node, caddy = services["db"], services["coopfed"], services["caddy"]
    assert db["image"].startswith("docker.io/library/postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert node["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / node["build"]["context"] / node["build"]["dockerfile"]).is_file()
    assert f"coopfed:{DATA}" in node["volumes"]
    assert node["depends_on"]["db"]["condition"] == "service_healthy"
    assert node["command"] == [
        "serve",
        "--data",
        DATA,
        "--host",
        "0.0.0.0",
        "--behind-proxy",
    ]
    # Only Caddy is reachable from outside, on 80 and 443.
    assert "ports" not in node and "ports" not in db
    assert sorted(caddy["ports"]) == ["443:443", "443:443/udp", "80:80"]
    assert caddy["environment"]["COOPFED_UPSTREAM"] == "coopfed:8470"
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert (DEPLOY / "Caddyfile").is_file()
    assert set(compose["volumes"]) == {"db", "coopfed", "caddy_data", "caddy_config"}


def adapt(**env: str) -> dict[str, Any]:
    """deploy/Caddyfile as Caddy's JSON configuration, with ``env`` in its environment."""
    caddyfile = str(DEPLOY / "Caddyfile")
    done = subprocess.run(
        [tool("caddy", "caddy"), "adapt", "--adapter", "caddyfile", "--config", caddyfile],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    # No warnings either (for example "Caddyfile input is not formatted").
    assert done.stderr == "", done.stderr
    config: dict[str, Any] = json.loads(done.stdout)
    return config


def test_the_caddyfile_proxies_the_node_for_both_deployments() -> None:
    for upstream in (None, "coopfed:8470"):
        env = {"COOPFED_DOMAIN": "night-shift.example"}
        if upstream is not None:
            env["COOPFED_UPSTREAM"] = upstream
        (server,) = adapt(**env)["apps"]["http"]["servers"].values()
        assert server["listen"] == [":443"]
        (route,) = server["routes"]
        assert route["match"] == [{"host": ["night-shift.example"]}]
        handlers = {h["handler"]: h for h in route["handle"][0]["routes"][0]["handle"]}
        dial = handlers["reverse_proxy"]["upstreams"][0]["dial"]
        assert dial == (upstream or "127.0.0.1:8470")
        hsts = handlers["headers"]["response"]["set"]["Strict-Transport-Security"]
        assert hsts == ["max-age=31536000"]


def unit() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "coopfed.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_the_systemd_unit_is_valid_and_hardened(tmp_path: Path) -> None:
    systemd_analyze = tool("systemd-analyze", "systemd")
    settings = unit()
    (exec_start,) = settings["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv == ["/opt/coopfed/bin/coopfed", "serve", "--data", DATA, "--behind-proxy"]
    assert settings["StateDirectory"] == ["coopfed"] and DATA == "/var/lib/coopfed"
    assert settings["User"] == ["coopfed"] and settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"]
    # systemd checks the file with the node this suite runs standing in for /opt/coopfed.
    here = tmp_path / "coopfed.service"
    coopfed = Path(sys.executable).with_name("coopfed")
    here.write_text((DEPLOY / "coopfed.service").read_text().replace(argv[0], str(coopfed)))
    verify = subprocess.run(
        [systemd_analyze, "verify", str(here)], capture_output=True, text=True, check=False
    )
    # verify only warns about unknown or malformed settings: any output is a failure.
    assert (verify.returncode, verify.stdout, verify.stderr) == (0, "", "")
    security = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", str(here)],
        capture_output=True,
        text=True,
        check=True,
    )
    level = re.search(r"Overall exposure level for coopfed\.service: ([\d.]+)", security.stdout)
    assert level is not None, security.stdout
    assert float(level.group(1)) <= 2.0, security.stdout
