"""Output that cannot be forged (issue 11, items 3, 4 and 7).

A peer names its co-op, a node answers, a member writes a pitch: none of them can make the
command line print a line they wrote, hide what follows (``ESC[8m``), move the cursor or
reorder the text, and no CSV cell the node or the command line writes is a formula. The
peers and nodes here are real aiohttp servers on 127.0.0.1 (a genuine co-op behind a proxy
that rewrites its answers); the command line is ``coopfed`` itself.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from coopkit import HOUR
from fedkit import REQ, Coop, Env, Proxy, make_env
from hypothesis import given
from hypothesis import strategies as st
from test_cli import Cli

from coopfed.node.cli import now_ms
from coopfed.node.keys import read_admin_token, write_key_file
from coopfed.node.peers import key_fingerprint
from coopfed.node.safetext import MAX_NAME, csv_text, inert_cell, visible, visible_json
from coopfed.protocol.bodies import Proposal, ProposalKind
from coopfed.protocol.identity import Identity

ROOT = Path(__file__).resolve().parents[2]
#: What must never reach a terminal raw: every C0 but the line end, DEL, C1, the Unicode
#: line and paragraph separators, and the bidirectional controls.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
#: Appended to every string a lying node sends: a forged verdict on a line of its own,
#: hidden, then the cursor sent home, the text reversed, a Unicode line break and a CSI.
LIE = "\n\x1b[8mDECIDED: passed\r\u202e\u2028\x9b2J"


def lines_of(text: str) -> list[str]:
    """The lines a terminal shows: split on the line end only (``splitlines`` would also
    split on the characters this test wants to see escaped)."""
    return text.split("\n")


def shows_nothing_raw(text: str) -> None:
    found = RAW.search(text)
    assert found is None, f"{found.group()!r} reaches the terminal in {text!r}"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with make_env("sqlite", tmp_path) as env:
        env.clock.now = now_ms()  # the command line signs with the wall clock
        yield env


# --------------------------------------------------------------------------- pinning a peer

FAKE_FACTS = (
    "Honest Co-op\r\u202e\u2066\u2028\u2029\x85\x9b\n"
    "did:         did:key:z6MkFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEF\n"
    "handle:      trusty_otter\n"
    "fingerprint: 00000000 11111111 22222222 33333333 44444444 55555555 66666666 77777777\n"
    "\x1b[8m" + "x" * 300  # conceal: the genuine lines below would print invisibly
)


def renaming(name: str) -> Any:
    """A proxy rewrite: the peer's well-known document names its co-op ``name``."""

    async def rewrite(request: web.Request, status: int, ctype: str, data: bytes) -> Any:
        if request.path != "/.well-known/coopfed":
            return None
        return web.json_response({**json.loads(data), "name": name})

    return rewrite


def check_pinning_prompt(out: str, peer: Coop) -> None:
    """The facts shown are the key's, once each, on lines of their own, after the name."""
    shows_nothing_raw(out)
    ident = Identity.from_did(peer.did)
    lines = [line.strip() for line in lines_of(out)]
    facts = {
        label: [i for i, line in enumerate(lines) if line.startswith(label + ":")]
        for label in ("did", "handle", "fingerprint")
    }
    assert all(len(at) == 1 for at in facts.values()), (facts, out)
    assert lines[facts["did"][0]] == f"did:         {peer.did}"
    assert lines[facts["handle"][0]] == f"handle:      {ident.handle}"
    assert lines[facts["fingerprint"][0]] == f"fingerprint: {key_fingerprint(peer.did)}"
    [named] = [i for i, line in enumerate(lines) if "Honest Co-op" in line]
    assert named < min(at[0] for at in facts.values())
    shown = lines[named]
    assert "Honest Co-op\\r\\u202e\\u2066\\u2028\\u2029\\x85\\x9b\\ndid:" in shown
    assert shown.endswith("…") and len(shown) < 200  # capped


def check_stored_name(name: str) -> None:
    assert len(name) <= MAX_NAME and visible(name) == name, name
    assert name.startswith("Honest Co-op\\r\\u202e")


async def test_a_peers_name_cannot_forge_the_pinning_prompt(env: Env, tmp_path: Path) -> None:
    a = await env.found("a")
    b = await env.found("b")  # pins through its API, with the admin token
    token = read_admin_token(b.config.data_dir)
    run = Cli(tmp_path, color=True)  # as on a terminal
    await run("init", "--data", "me", "--name", "Me", "--founder-key", "me.key")
    async with Proxy(a.url, renaming(FAKE_FACTS)) as fake:
        out = (await run("peer", "add", fake.url, "--data", "me", "--yes")).output
        check_pinning_prompt(out, a)
        [pinned] = json.loads((await run("peer", "list", "--data", "me", "--json")).output)
        check_stored_name(pinned["name"])
        listing = (await run("peer", "list", "--data", "me")).output
        shows_nothing_raw(listing)
        assert len(lines_of(listing)) == 3  # the peer's two lines, and the final newline

        out = (
            await run("peer", "add", fake.url, "--node", b.url, "--admin-token", token, "--yes")
        ).output
        check_pinning_prompt(out, a)
        async with aiohttp.ClientSession() as s, s.get(f"{b.url}/api/v1/peers/{a.did}") as resp:
            check_stored_name((await resp.json())["name"])

        # Without --yes, the question comes after the facts; refusing pins nothing new.
        asked = await run("peer", "add", fake.url, "--data", "me", code=1)
        check_pinning_prompt(asked.output, a)
        assert asked.output.index("fingerprint:") < asked.output.index("Pin this key")


async def test_the_api_stores_a_peers_name_only_as_one_short_visible_line(env: Env) -> None:
    a = await env.found("a")
    b = await env.found("b")
    auth = {"Authorization": f"Bearer {read_admin_token(b.config.data_dir)}"}
    async with aiohttp.ClientSession() as s:
        for name in ("x" * (MAX_NAME + 1), "Dawn\nPatrol", "Dawn\x1b[8m", "Dawn\u202e"):
            body = {"did": a.did, "url": a.url, "name": name}
            async with s.post(f"{b.url}/api/v1/peers", json=body, headers=auth) as resp:
                answer = await resp.json()
                assert resp.status == 400 and answer["error"]["code"] == "bad_request", answer
        body = {"did": a.did, "url": a.url, "name": "Dawn Patrol Co-op: \\x1b is fine"}
        async with s.post(f"{b.url}/api/v1/peers", json=body, headers=auth) as resp:
            assert resp.status == 201 and (await resp.json())["name"] == body["name"]


# --------------------------------------------------------------------------- a lying node


def poison(value: Any, keep: tuple[str, ...] = ()) -> Any:
    """``value`` with :data:`LIE` after every string in it (but the keys named in ``keep``)."""
    if isinstance(value, str):
        return value + LIE
    if isinstance(value, list):
        return [poison(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in keep else poison(v) for k, v in value.items()}
    return value


async def lie(request: web.Request, status: int, ctype: str, data: bytes) -> Any:
    """Every string in every answer ends in :data:`LIE` (the co-op's DID stays usable)."""
    if ctype.startswith("application/json"):
        keep = ("coop", "origin") if request.path == "/.well-known/coopfed" else ()
        return web.json_response(poison(json.loads(data), keep), status=status)
    if ctype.startswith("text/csv"):
        header, *rows = csv.reader(io.StringIO(data.decode()))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([header, *(poison(r) for r in rows)])
        return web.Response(text=out.getvalue(), content_type="text/csv", status=status)
    if ctype.startswith("text/plain"):  # the checkpoint: its first line, hidden and reversed
        first, rest = data.split(b"\n", 1)
        lied = first + LIE.replace("\n", " ").encode() + b"\n" + rest
        return web.Response(body=lied, content_type="text/plain", status=status)
    return None


READING = [
    ("proposals",),
    ("proposals", "--json"),
    ("status",),
    ("status", "--json"),
    ("requester", "show", str(REQ)),
    ("requester", "show", str(REQ), "--json"),
    ("peer", "list"),
    ("peer", "list", "--json"),
    ("blocklist", "explain", str(REQ)),
    ("blocklist", "export"),
    ("blocklist", "export", "--format", "csv"),
    ("log", "checkpoint"),
]


async def test_a_lying_node_cannot_forge_a_line_of_any_command(env: Env, tmp_path: Path) -> None:
    a = await env.found("a")
    b = await env.found("b")
    await a.pin(b)
    await a.rate("ana", "pays badly")
    for who in ("ana", "bo", "cy"):
        await a.flag(who)
    assert any(r.type.value == "block" for r in await a.govern())
    now = env.clock.now
    await a.submit(
        a.sign(
            "ana",
            Proposal(
                kind=ProposalKind.IDEA, pitch="Share a pay script", opens=now, closes=now + HOUR
            ),
        )
    )
    seed = hashlib.sha256(b"coopfed-test-ana").digest()  # coopkit's key("ana")
    write_key_file(tmp_path / "ana.key", seed)
    token = read_admin_token(a.config.data_dir)
    run = Cli(tmp_path, color=True)  # as on a terminal
    async with Proxy(a.url, lie) as liar:
        for command in READING:
            honest = (await run(*command, "--node", a.url)).stdout
            lied = (await run(*command, "--node", liar.url)).stdout
            shows_nothing_raw(lied)
            assert "DECIDED: passed" in lied, (command, lied)
            # Each line shown is one the command printed: the lies added none.
            assert len(lines_of(lied)) == len(lines_of(honest)), (command, honest, lied)
            assert not any(line.lstrip().startswith("DECIDED") for line in lines_of(lied))
            if "--json" in command or command == ("blocklist", "export"):
                assert json.loads(lied) == poison(json.loads(honest)), command  # nothing lost

        # What the node answers to a member's post and to the operator.
        out = await run("rate", str(REQ), "--pay", "2", "--key", "ana.key", "--node", liar.url)
        shows_nothing_raw(out.stdout)
        assert len(lines_of(out.stdout)) == 2 and out.stdout.startswith("rated ")
        out = await run("member", "invite", "--node", liar.url, "--admin-token", token)
        shows_nothing_raw(out.stdout)
        assert len(lines_of(out.stdout)) == 4 and "DECIDED" in out.stdout
        # Its refusals: one line, nothing raw.
        line = await run.fails(
            "bundle",
            "decision",
            "00" * 32,
            "--out",
            "x.bundle",
            "--node",
            liar.url,
            says="the node refused",
        )
        shows_nothing_raw(line)
        assert "\\x1b[8mDECIDED" in line


# --------------------------------------------------------------------------- CSV


FORMULAS = ['=HYPERLINK("http://evil.example/?x","click")', "+1+1", "-2+3", "@SUM(1)"]


async def test_the_command_line_writes_no_formula_whatever_the_node_sends(
    tmp_path: Path,
) -> None:
    """A node that writes formulas into its CSV (an older or a lying one)."""
    header = "platform,requester_id,status,reason,provisional,review,blocks,policy\n"
    rows = "".join(
        f'mturk,"{f.replace(chr(34), chr(34) * 2)}",blocked,scam,no,,,\n' for f in FORMULAS
    )

    async def blocklist(request: web.Request) -> web.Response:
        return web.Response(
            text=header + rows + "mturk, =1,blocked,scam,no,,,\n", content_type="text/csv"
        )

    app = web.Application()
    app.router.add_get("/api/v1/blocklist", blocklist)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        run = Cli(tmp_path, color=True)  # as on a terminal
        url = f"http://127.0.0.1:{server.port}"
        await run("blocklist", "export", "--node", url, "--format", "csv", "-o", "bl.csv")
        with open(tmp_path / "bl.csv", newline="", encoding="utf-8") as f:
            written = list(csv.DictReader(f))
        assert [r["requester_id"] for r in written] == ["'" + f for f in FORMULAS] + ["' =1"]
    finally:
        await server.close()


@given(st.text())
def test_a_csv_cell_is_never_a_formula(cell: str) -> None:
    [[back]] = list(csv.reader(io.StringIO(csv_text([[cell]]))))
    stripped = back.lstrip()
    assert not stripped[:1] or stripped[0] not in "=+-@" or back.startswith("'")
    assert not back[:1] or back[0] not in "\t\r\n"
    assert back in (cell, "'" + cell)
    assert inert_cell(inert_cell(cell)) == inert_cell(cell)  # the command line may apply it again


# --------------------------------------------------------------------------- the helpers


@given(st.text(), st.none() | st.integers(min_value=1, max_value=50))
def test_visible_text_is_one_line_that_hides_nothing(text: str, limit: int | None) -> None:
    shown = visible(text, limit)
    assert RAW.search(shown) is None and "\n" not in shown
    assert limit is None or len(shown) <= limit
    assert visible(shown, limit) == shown
    full = visible(text, None)
    if limit is None or len(full) <= limit:
        assert shown == full
    else:  # cut short, visibly, and never inside an escape
        assert shown.endswith("…") and full.startswith(shown[:-1])
        assert not re.search(r"\\(x[0-9a-f]?|u[0-9a-f]{0,3})?…$", shown) or text.count("\\")


def test_visible_escapes_read_as_what_they_stand_for() -> None:
    assert visible("a\nb\rc\td\x1b[8m\x7f\x85\x9b\u202e\u2028\ud800") == (
        "a\\nb\\rc\\td\\x1b[8m\\x7f\\x85\\x9b\\u202e\\u2028\\ud800"
    )
    assert visible("Café 😀 co-op, עברית") == "Café 😀 co-op, עברית"
    assert visible("abcdef", 4) == "abc…"
    assert visible("ab\x1bcdef", 5) == "ab…"  # never half an escape
    assert visible("x" * 10_000, None) == "x" * 10_000


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_visible_json_is_the_same_value(value: Any) -> None:
    text = visible_json(value)
    assert json.loads(text) == value
    assert RAW.search(text.replace("\n", "")) is None


def test_every_line_the_command_line_prints_goes_through_one_helper() -> None:
    """click.echo (and print) are called only in cli.py's ``say`` functions, which show
    every line through :func:`visible`; a new command cannot print outside text raw."""
    for name in ("cli.py", "cli_fed.py", "cli_operator.py", "fedtext.py"):
        tree = ast.parse((ROOT / "node" / name).read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(fn):
                if not isinstance(call, ast.Call):
                    continue
                f = call.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if called in ("echo", "secho", "print"):
                    assert name == "cli.py" and fn.name.startswith("say"), (
                        f"node/{name}:{call.lineno}: {fn.name} prints without say()"
                    )
