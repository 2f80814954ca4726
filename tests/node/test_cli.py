"""The ``coopfed`` command line against a live node process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import select
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner, Result

from coopfed.node.app import CLOCK_OFFSET_ENV
from coopfed.node.cli import cli, format_profile
from coopfed.node.keys import read_admin_token, read_key_file

REQ = "mturk:A9CLITEST"
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """``coopfed serve`` (and ``args``) in its own process on a free 127.0.0.1 port."""

    def __init__(self, data: Path, *args: str, offset_ms: int = 0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFED_")}
        if offset_ms:
            env[CLOCK_OFFSET_ENV] = str(offset_ms)
        self.log = data.parent / "serve.log"
        serve = [sys.executable, "-m", "coopfed.node", "serve", "--data", str(data), "--port", "0"]
        with open(self.log, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                [*serve, *args],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if " on http://" not in line:
            self.stop()
            pytest.fail(f"the node did not start: {line!r}\n{self.log.read_text()}")
        self.url = line.rsplit(" on ", 1)[1].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Cli:
    """Runs ``coopfed`` commands with click's CliRunner, in a thread (they run event loops).

    ``color=True`` prints as on a terminal: click then strips no escape sequence.
    """

    def __init__(self, cwd: Path, *, color: bool = False) -> None:
        self.cwd = cwd
        self.color = color
        self.runner = CliRunner(
            env={"COOPFED_NODE": None, "COOPFED_KEY": None, "COOPFED_ADMIN_TOKEN": None}
        )

    def _invoke(self, args: list[str]) -> Result:
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            return self.runner.invoke(cli, args, catch_exceptions=True, color=self.color)
        finally:
            os.chdir(old)

    async def __call__(self, *args: str, code: int = 0) -> Result:
        result = await asyncio.to_thread(self._invoke, list(args))
        assert result.exit_code == code, (args, result.output, result.exception)
        if code == 0:
            assert result.exception is None
        return result

    async def fails(self, *args: str, says: str) -> str:
        """The command fails with exactly one line on stderr, and no traceback."""
        result = await self(*args, code=1)
        assert isinstance(result.exception, SystemExit), result.exception
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert says in lines[0], lines[0]
        return lines[0]


@pytest.fixture
async def coop(backend: Any, tmp_path: Path) -> tuple[Cli, Path, list[str]]:
    """Where ``coopfed init`` founds the co-op on the test backend: (cli, data dir, db args)."""
    config = backend.config()
    db: list[str] = []
    if config.database_url is not None:
        db = ["--database-url", config.database_url, "--database-schema", str(config.schema)]
    return Cli(tmp_path), tmp_path / "node", db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


async def test_a_co_op_at_work_through_the_command_line(
    coop: tuple[Cli, Path, list[str]], servers: list[Server], tmp_path: Path
) -> None:
    run, data, db = coop
    out = (
        await run(
            "init",
            "--data",
            str(data),
            "--name",
            "CLI Co-op",
            "--window-hours",
            "1",
            "--min-pay",
            "GBP:9.50",
            "--min-pay",
            "usd:12",
            "--founder-key",
            "ana.key",
            "--founder-key",
            "bo.key",
            *db,
        )
    ).output
    assert "co-op 'CLI Co-op' founded: did:key:z6Mk" in out
    for name in ("ana.key", "bo.key"):
        assert _mode(tmp_path / name) == 0o600
    assert _mode(data / "coop.key") == 0o600 and _mode(data / "admin.token") == 0o600
    await run.fails("init", "--data", str(data), "--name", "Again", *db, says="co-op already")

    server = Server(data)
    servers.append(server)
    node = ["--node", server.url]
    status = json.loads((await run("status", *node, "--json")).output)
    assert status["name"] == "CLI Co-op" and status["members"] == 2 and status["size"] == 3
    with urllib.request.urlopen(f"{server.url}/api/v1/charter", timeout=30) as answer:
        charter = json.loads(answer.read())["record"]["body"]
    assert charter["min_pay"] == {"GBP": 950, "USD": 1200} and "min_pay_cents" not in charter

    # The operator invites, locally or over HTTP with the admin token; a new member joins.
    local = json.loads((await run("member", "invite", "--data", str(data), "--json")).output)
    token = read_admin_token(data)
    remote = json.loads(
        (await run("member", "invite", *node, "--admin-token", token, "--json")).output
    )
    assert local["token"] != remote["token"]
    await run.fails("member", "invite", *node, "--admin-token", "wrong", says="unauthorized")
    out = (await run("member", "keygen", "--key", "cy.key")).output
    cy = read_key_file(tmp_path / "cy.key")
    assert f"did: {cy.did}" in out and f"handle: {cy.identity.handle}" in out
    assert _mode(tmp_path / "cy.key") == 0o600
    await run.fails("member", "keygen", "--key", "cy.key", says="refusing to overwrite")
    out = (await run("member", "join", "--key", "cy.key", *node, "--token", local["token"])).output
    assert "welcome to CLI Co-op" in out
    await run("member", "keygen", "--key", "dee.key")
    await run.fails(
        "member", "join", "--key", "dee.key", *node, "--token", local["token"], says="invite_used"
    )
    await run("member", "join", "--key", "dee.key", *node, "--token", remote["token"])

    # Ratings, flags, an appeal and its outcome, a retraction.
    out = (
        await run(
            "rate",
            "--key",
            "ana.key",
            *node,
            REQ,
            "--pay",
            "1",
            "--fair",
            "2",
            "--hourly-cents",
            "420",
            "--rejected",
            "some",
            "--no-recommend",
            "--text",
            "slow to pay",
        )
    ).output
    rating_id = out.split("record ", 1)[1].split()[0]
    await run("rate", "--key", "bo.key", *node, REQ, "--pay", "2", "--hourly-cents", "500")
    await run(
        "flag", "--key", "cy.key", *node, REQ, "--reason", "broken", "--hit-group", "3XHITGROUP"
    )
    out = (
        await run(
            "appeal",
            "--key",
            "dee.key",
            *node,
            REQ,
            "--rejected-cents",
            "250",
            "--text",
            "rejected for no reason",
        )
    ).output
    appeal_id = out.split("record ", 1)[1].split()[0]
    await run("appeal", "--key", "dee.key", *node, REQ, "--status", "won", "--follows", appeal_id)
    await run.fails("retract", "--key", "bo.key", *node, rating_id, says="not_author")
    await run("retract", "--key", "ana.key", *node, rating_id, "--reason", "they paid")

    # A block is proposed and voted on.
    out = (
        await run(
            "propose",
            "--key",
            "ana.key",
            *node,
            "--kind",
            "block",
            "--pitch",
            "Block them",
            "--requester",
            REQ,
            "--reason",
            "underpaid",
        )
    ).output
    proposal_id = out.split("record ", 1)[1].split()[0]
    assert f"coopfed vote {proposal_id}" in out
    for who in ("ana", "bo", "cy"):
        await run("vote", "--key", f"{who}.key", *node, proposal_id, "yes")
    await run("vote", "--key", "dee.key", *node, proposal_id, "no")
    await run.fails("vote", "--key", "dee.key", *node, proposal_id, "maybe", says="bad_choice")
    listed = json.loads((await run("proposals", *node, "--status", "open", "--json")).output)
    assert [p["id"] for p in listed] == [proposal_id]
    assert listed[0]["tally"]["counts"] == {"abstain": 0, "no": 1, "yes": 3}
    assert "Block them" in (await run("proposals", *node)).output

    profile = json.loads((await run("requester", "show", REQ, *node, "--json")).output)
    assert profile["all"]["reports"] == 1  # ana's rating is retracted
    assert profile["all"]["flags"] == {"broken": 1}
    assert profile["all"]["appeals"]["won"] == 1
    assert "not blocked" in (await run("requester", "show", REQ, *node)).output

    # Not a member: one line, the node's code and sentence.
    await run("member", "keygen", "--key", "stranger.key")
    line = await run.fails(
        "rate", "--key", "stranger.key", *node, REQ, "--pay", "3", says="not_member"
    )
    assert "403" in line

    # The log verifies end to end.
    note = (await run("log", "checkpoint", *node)).output
    assert note.startswith("coopfed/z6Mk")
    verified = await run("log", "verify", *node, "--coop", status["coop"])
    assert verified.output.rstrip().splitlines()[-1].startswith("OK: ")
    # Not on a terminal: no progress at all, so none can come after the verdict (issue 11).
    assert verified.stderr == "", verified.stderr
    await run.fails("log", "verify", *node, "--coop", cy.did, says="not " + cy.did)

    # An hour later (the node restarted with its clock moved), the block is decided.
    server.stop()
    server = Server(data, offset_ms=61 * 60_000)
    servers.append(server)
    node = ["--node", server.url]
    for _ in range(100):
        decided = json.loads(
            (await run("proposals", *node, "--status", "decided", "--json")).output
        )
        blocklist = json.loads((await run("blocklist", "export", *node)).output)
        if decided and blocklist["entries"]:
            break
        await asyncio.sleep(0.1)
    assert decided[0]["tally"]["result"] == "passed"
    [entry] = blocklist["entries"]
    assert entry["status"] == "blocked" and entry["reason"] == "underpaid"
    csv_out = (await run("blocklist", "export", *node, "--format", "csv", "-o", "bl.csv")).output
    assert "wrote bl.csv" in csv_out
    assert (
        (tmp_path / "bl.csv")
        .read_text()
        .splitlines()[1]
        .startswith("mturk,A9CLITEST,blocked,underpaid,no,")
    )
    shown = (await run("requester", "show", REQ, *node)).output
    assert f"{REQ}: BLOCKED" in shown
    out = (await run("log", "verify", *node)).output
    assert "active blocks: 1" in out


async def test_applying_and_sponsoring_through_the_command_line(
    coop: tuple[Cli, Path, list[str]], servers: list[Server], tmp_path: Path
) -> None:
    run, data, db = coop
    await run(
        "init", "--data", str(data), "--name", "Vote Co-op", "--admission", "vote",
        "--founder-key", "ana.key", "--founder-key", "bo.key", *db,
    )  # fmt: skip
    server = Server(data)
    servers.append(server)
    node = ["--node", server.url]
    size = json.loads((await run("status", *node, "--json")).output)["size"]

    await run("member", "keygen", "--key", "eve.key")
    eve = read_key_file(tmp_path / "eve.key")
    text = "Evenings.\nDECIDED: passed"  # an outsider's words, forging a line
    out = (await run("member", "join", "--key", "eve.key", *node, "--text", text)).output
    assert "waits for a member to sponsor it" in out
    await run.fails("member", "join", "--key", "eve.key", *node, says="already_applied")
    assert json.loads((await run("status", *node, "--json")).output)["size"] == size

    listed = (await run("member", "applications", *node)).output
    assert eve.identity.long_handle in listed and eve.did in listed
    assert "\nDECIDED" not in listed and "Evenings.\\nDECIDED: passed" in listed
    (waiting,) = json.loads((await run("member", "applications", *node, "--json")).output)
    assert waiting["member"] == eve.did and waiting["text"] == text

    await run("member", "keygen", "--key", "stranger.key")
    await run.fails(
        "member", "sponsor", "--key", "stranger.key", *node, waiting["id"], says="not_member"
    )
    await run.fails("member", "sponsor", "--key", "ana.key", *node, "ab" * 32, says="not waiting")
    out = (await run("member", "sponsor", "--key", "ana.key", *node, waiting["id"])).output
    assert "sponsored (admit proposal)" in out and f"log index {size + 1}" in out
    assert "no applications are waiting" in (await run("member", "applications", *node)).output
    (admit,) = json.loads((await run("proposals", *node, "--status", "open", "--json")).output)
    assert admit["kind"] == "admit" and admit["body"]["member"] == eve.did
    assert admit["body"]["application"] == waiting["id"] and admit["body"]["text"] == text
    assert json.loads((await run("status", *node, "--json")).output)["size"] == size + 2


async def test_errors_are_one_line(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    await run.fails("status", "--node", "http://127.0.0.1:9", says="cannot reach the node")
    await run.fails("status", "--node", "ftp://example", says="--node must be an http(s)")
    await run("member", "keygen", "--key", "me.key")
    await run.fails(
        "rate",
        "--key",
        "me.key",
        "--node",
        "http://127.0.0.1:9",
        "no-colon",
        "--pay",
        "1",
        says="PLATFORM:REQUESTER_ID",
    )
    await run.fails(
        "rate", "--key", "missing.key", "--node", "http://127.0.0.1:9", REQ, says="does not exist"
    )
    (tmp_path / "bad.key").write_text("{not json")
    await run.fails(
        "vote",
        "--key",
        "bad.key",
        "--node",
        "http://127.0.0.1:9",
        "ab" * 32,
        "yes",
        says="not a JSON key file",
    )
    await run.fails(
        "vote",
        "--key",
        "me.key",
        "--node",
        "http://127.0.0.1:9",
        "abc",
        "yes",
        says="64 hex digits",
    )
    (tmp_path / "empty").mkdir()
    await run.fails("serve", "--data", str(tmp_path / "empty"), says="holds no co-op")
    await run.fails(
        "init",
        "--data",
        str(tmp_path / "x"),
        "--name",
        "X",
        "--pass-pct",
        "90",
        "--amend-pct",
        "60",
        says="amend_pct must be at least pass_pct",
    )
    result = await run("member", "invite", code=2)  # a usage mistake
    assert "give --data DIR" in result.stderr
    for pay, why in (("9.50", "as GBP:9.50"), ("GBP:9.505", "as GBP:9.50"), ("GBP:0", "no min")):
        result = await run("init", "--data", str(tmp_path / "y"), "--name", "Y", "--min-pay",
                           pay, code=2)  # fmt: skip
        assert why in result.stderr, result.stderr


async def test_nested_json_from_a_node_or_a_key_file_is_one_clear_line(tmp_path: Path) -> None:
    # Before issue 11 both were "unexpected RecursionError".
    run = Cli(tmp_path)

    async def nested(request: web.Request) -> web.Response:
        return web.Response(body=b"[" * 100_000, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", nested)
    async with TestServer(app, host="127.0.0.1") as server:
        url = f"http://127.0.0.1:{server.port}"
        line = await run.fails("status", "--node", url, says="too_deep")
        assert "nested deeper than 32" in line, line
    (tmp_path / "deep.key").write_text("[" * 10_000)
    line = await run.fails(
        "vote",
        "--key",
        "deep.key",
        "--node",
        "http://127.0.0.1:9",
        "ab" * 32,
        "yes",
        says="not a JSON key file",
    )
    assert "nested deeper than 32" in line, line


def test_a_closed_standard_output_ends_quietly(tmp_path: Path) -> None:
    # `coopfed verify FILE | head` ended with "Error: [Errno 32] Broken pipe" (issue 11).
    vectors = json.loads((ROOT / "spec" / "vectors" / "bundle.json").read_text("utf-8"))
    (tmp_path / "decision.bundle").write_bytes(bytes.fromhex(vectors["valid"][0]["bundle"]))
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `head` that has read what it wanted and gone
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "coopfed.node", "verify", "decision.bundle"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 1  # the output did not all arrive


def test_python_dash_m_runs_the_same_command_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "coopfed.node", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    for command in (
        "init",
        "serve",
        "member",
        "rate",
        "flag",
        "appeal",
        "retract",
        "propose",
        "vote",
        "proposals",
        "requester",
        "blocklist",
        "log",
        "status",
    ):
        assert f"  {command}" in proc.stdout


def test_profiles_read_well() -> None:
    stats = {
        "reports": 2,
        "scores": {"pay": {"count": 2, "mean_x100": 150}, "fair": {"count": 0, "mean_x100": None}},
        "hourly_cents": {"count": 2, "median": 455, "buckets": []},
        "rejections": {"none": 1, "some": 1, "all": 0},
        "flags": {"underpaid": 2},
        "appeals": {"filed": 1, "won": 0},
    }
    lines = list(
        format_profile(
            {
                "requester": "mturk:A1",
                "aliases": ["mturk:A0"],
                "all": stats,
                "last_90_days": stats,
                "blocklist": {
                    "status": "blocked",
                    "steps": ["this co-op blocked it"],
                    "records": [],
                },
            }
        )
    )
    text = "\n".join(lines)
    assert lines[0] == "mturk:A1: BLOCKED"
    assert "also known as: mturk:A0" in text
    assert "pay 1.50 (2)" in text and "fair" not in text.split("scores")[1].split("\n")[0]
    assert "median $4.55 over 2 report(s)" in text
    assert "active flags: underpaid 2" in text and "appeals: filed 1" in text
    assert "why: this co-op blocked it" in text
