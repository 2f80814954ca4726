"""deploy/Dockerfile builds, with Podman, an image that runs the node as compose.yaml runs it.

Run by ``make test-image`` (``COOPFED_TEST_IMAGE=1``); skipped otherwise, since it needs
Podman and a few minutes. The image is built from deploy/Dockerfile unchanged, then run with
the command and options deploy/compose.yaml gives it (read-only root, no capabilities, no
new privileges, ``serve --behind-proxy``): a co-op founded by ``init`` in the data volume,
served, answering on the published port, healthy by its own HEALTHCHECK, as uid 10001.

The base image is ``COOPFED_IMAGE_BASE`` (default: the Dockerfile's python:3.11-slim). When
no registry can be reached, :func:`base_image` builds a stand-in from Debian bookworm's own
packages (Python 3.11, with ``python`` on the PATH as in python:3.11-slim) with mmdebstrap.
``COOPFED_PODMAN_ARGS`` and ``COOPFED_PODMAN_RUN_ARGS`` pass what a host needs (the
Makefile's defaults say why).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
import yaml
from caddykit import DEPLOY, ROOT, free_port, tool

ENABLED: Final = os.environ.get("COOPFED_TEST_IMAGE") == "1"
BASE: Final = os.environ.get("COOPFED_IMAGE_BASE", "docker.io/library/python:3.11-slim")
STAND_IN: Final = "localhost/coopfed-base-standin:bookworm"
IMAGE: Final = "localhost/coopfed:test"
#: The node's code and its dependencies add at most this much to the base image.
MAX_ADDED_MB: Final = 120

pytestmark = pytest.mark.skipif(not ENABLED, reason="make test-image builds the image")


def podman(
    *args: str, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    command = [tool("podman", "podman"), *shlex.split(os.environ.get("COOPFED_PODMAN_ARGS", ""))]
    done = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert done.returncode == 0, f"podman {' '.join(args)}:\n{done.stderr}{done.stdout}"
    return done


def base_image(work: Path) -> str:
    """``BASE`` if Podman has it or can pull it; else the Debian stand-in, built once."""
    for name in (BASE, STAND_IN):
        if podman("image", "exists", name, check=False).returncode == 0:
            return name
    if podman("pull", "--quiet", BASE, check=False, timeout=300).returncode == 0:
        return BASE
    rootfs = work / "base.tar"
    subprocess.run(
        [
            tool("mmdebstrap", "mmdebstrap"),
            *("--quiet", "--variant=minbase", "--mode=root"),
            "--include=python3,python3-venv,ca-certificates",
            '--customize-hook=ln -s /usr/bin/python3 "$1/usr/local/bin/python"',
            '--customize-hook=rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* '
            '"$1"/var/lib/apt/lists/*',
            *("bookworm", str(rootfs), "http://deb.debian.org/debian"),
        ],
        check=True,
        timeout=900,
    )
    podman("import", "--change", 'CMD ["python3"]', str(rootfs), STAND_IN)
    return STAND_IN


def size_mb(image: str) -> float:
    return float(podman("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    base = base_image(tmp_path_factory.mktemp("base"))
    # docker format: OCI images have no HEALTHCHECK. No layers kept: every run would leave
    # another build stage behind (the build takes some 20 s anyway).
    build = ["build", "--format", "docker", "--layers=false", "--isolation", "chroot"]
    build += ["--network", "host"]
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca.exists():  # pip in the build trusts what this machine trusts (a proxy's CA, say)
        build += ["--volume", f"{ca}:{ca}:ro"]
    podman(
        *build,
        *("--build-arg", f"PYTHON_IMAGE={base}", "--file", "deploy/Dockerfile", "--tag", IMAGE),
        str(ROOT),
    )
    try:
        yield IMAGE, base
    finally:
        podman("rmi", "--force", IMAGE, check=False)


def test_the_image_is_small_and_runs_as_an_unprivileged_user(image: tuple[str, str]) -> None:
    name, base = image
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", name).stdout)
    assert config["User"] == "10001:10001"
    assert set(config["Volumes"]) == {"/var/lib/coopfed"}
    check = json.loads(podman("image", "inspect", "--format", "{{json .HealthCheck}}", name).stdout)
    assert check["Test"][0] == "CMD"
    added = size_mb(name) - size_mb(base)
    assert 0 < added <= MAX_ADDED_MB, f"the image adds {added:.0f} MB to {base}"


def test_the_image_founds_and_serves_a_coop_as_compose_runs_it(
    image: tuple[str, str], tmp_path: Path
) -> None:
    name, _ = image
    data = tmp_path / "data"
    data.mkdir()
    # As deploy/compose.yaml runs it (but for its open-files limit: COOPFED_PODMAN_RUN_ARGS).
    service = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["coopfed"]
    run = ["run", *shlex.split(os.environ.get("COOPFED_PODMAN_RUN_ARGS", ""))]
    run += ["--read-only"] if service["read_only"] else []
    run += [f"--cap-drop={cap}" for cap in service["cap_drop"]]
    run += [f"--security-opt={opt}" for opt in service["security_opt"]]
    # :U gives the directory to the container's user, as a new named volume would be.
    run += ["--volume", f"{data}:/var/lib/coopfed:U"]
    podman(
        *run,
        "--rm",
        name,
        *("init", "--data", "/var/lib/coopfed", "--name", "Night Shift Co-op"),
        *("--founder-key", "/var/lib/coopfed/ana.key"),
    )
    assert {p.name for p in data.iterdir()} >= {"coop.key", "admin.token", "config.json"}
    assert (data / "coop.key").stat().st_uid == 10001
    assert (data / "coop.key").stat().st_mode & 0o777 == 0o600

    port = free_port()
    container = f"coopfed-test-{port}"
    publish = f"127.0.0.1:{port}:8470"
    podman(*run, "--detach", "--name", container, "--publish", publish, name, *service["command"])
    try:
        url = f"http://127.0.0.1:{port}/.well-known/coopfed"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    about = json.load(resp)
                break
            except OSError:
                if time.monotonic() > deadline:
                    logs = podman("logs", container, check=False)
                    raise AssertionError(f"no answer from {url}:\n{logs.stderr}") from None
                time.sleep(0.5)
        assert about["name"] == "Night Shift Co-op" and about["size"] == 2
        assert podman("healthcheck", "run", container, check=False).returncode == 0
        assert podman("exec", container, "id", "-u").stdout.strip() == "10001"
    finally:
        podman("rm", "--force", "--time", "10", container, check=False)
