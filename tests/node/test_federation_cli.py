"""Three ``coopfed serve`` processes on 127.0.0.1 federating, driven by the command line.

Peering (both ways an operator can: the data directory, and the API with the admin
token), policies, blocks adopted k-of-n, witnessing, a node taken down and caught up,
mirrors, ``blocklist explain``, and a block's bundle checked offline by ``coopfed
verify`` — genuine, and with single bytes changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli import Cli, Server

from coopfed.node.keys import read_admin_token, read_coop_key

REQ = "mturk:A7PROCTEST"


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def wait(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def servers() -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    yield started
    for s in started.values():
        s.stop()


def blocked(url: str) -> str | None:
    why = get(f"{url}/api/v1/blocklist/explain/mturk/A7PROCTEST")
    status: str | None = why["status"]
    return status


@pytest.mark.slow
async def test_three_node_processes_federate(tmp_path: Path, servers: dict[str, Server]) -> None:
    run = Cli(tmp_path)
    founders = {"a": ("ana", "bo"), "b": ("dee", "eve"), "c": ("gus",)}
    for name, people in founders.items():
        await run(
            "init",
            "--data",
            name,
            "--name",
            f"Co-op {name.upper()}",
            "--block-flags",
            "2",
            "--checkpoint-seconds",
            "0.2",
            "--sync-seconds",
            "0.3",
            *[x for p in people for x in ("--founder-key", f"{p}.key")],
        )
    for name in founders:
        servers[name] = Server(tmp_path / name)
    url = {n: s.url for n, s in servers.items()}
    did = {n: read_coop_key(tmp_path / n).did for n in founders}
    token = {n: read_admin_token(tmp_path / n) for n in founders}

    # Peering: the operator sees the key's fingerprint and pins it.
    out = (await run("peer", "add", url["b"], "--data", "a", "--yes")).output
    assert did["b"] in out and "fingerprint:" in out
    await run("peer", "add", url["c"], "--data", "a", "--yes")
    await run("peer", "add", url["a"], "--data", "b", "--yes")
    await run("peer", "add", url["c"], "--data", "b", "--yes")
    for other in ("a", "b"):
        await run(
            "peer", "add", url[other], "--node", url["c"], "--admin-token", token["c"], "--yes"
        )
    refused = await run("peer", "add", url["a"], "--data", "c", code=1)
    assert "Abort" in refused.output or "Pin this key" in refused.output
    listing = (await run("peer", "list", "--node", url["c"])).output
    assert did["a"] in listing and did["b"] in listing

    # Policies: B adopts A's blocks; C only what both A and B block.
    out = (await run("policy", "set", "--adopt", f"1:{did['a']}", "--data", "b")).output
    assert "rule 1: adopt a block when 1 of" in out
    await run(
        "policy",
        "set",
        "--adopt",
        f"2:{did['a']},{did['b']}",
        "--node",
        url["c"],
        "--admin-token",
        token["c"],
    )

    # A's members flag the requester; A's charter blocks it on two flags.
    for who in founders["a"]:
        await run("flag", REQ, "--reason", "underpaid", "--key", f"{who}.key", "--node", url["a"])
    wait("A's block", lambda: blocked(url["a"]) == "blocked")
    wait("B adopting A's block", lambda: blocked(url["b"]) == "blocked")
    time.sleep(1.0)  # C has synced A by now, and still does not block
    assert blocked(url["c"]) is None
    out = (await run("blocklist", "explain", REQ, "--node", url["c"])).output
    assert "k=2 does not adopt it" in " ".join(out.split())

    # B's members flag it too: now C adopts, and explains down to signed records.
    for who in founders["b"]:
        await run("flag", REQ, "--reason", "underpaid", "--key", f"{who}.key", "--node", url["b"])
    wait("C adopting the blocks of A and B", lambda: blocked(url["c"]) == "blocked")
    out = (await run("blocklist", "explain", REQ, "--node", url["c"])).output
    assert "BLOCKED" in out and "signed records it rests on" in out
    assert out.count(" block ") >= 2 and " flag " in out and "federation.policy" in out

    # Every co-op witnesses the others: A's checkpoint carries B's and C's cosignatures.
    def cosigned_by_both() -> bool:
        st = get(f"{url['a']}/api/v1/status")
        return bool(
            st["checkpoint"]["size"] == st["size"]
            and set(st["federation"]["witnessed_by"]) == {did["b"], did["c"]}
        )

    wait("A's checkpoint cosigned by B and C", cosigned_by_both)
    status = (await run("status", "--node", url["a"])).output
    assert "latest checkpoint witnessed by" in status and "follows Co-op B" in status

    # A bundle of A's block, checked offline by a third party trusting B and C.
    await run("bundle", "block", REQ, "--node", url["a"], "--out", "block.bundle")
    bundle = (tmp_path / "block.bundle").read_bytes()
    out = (await run("verify", "block.bundle", "--trust", did["b"], "--trust", did["c"])).output
    assert out.startswith("VERIFIED: block.bundle proves a block of co-op")
    assert "Witnessed by 2 co-op(s) you trust" in out
    # As a separate process, as a journalist would run it; and a tampered copy fails.
    proc = subprocess.run(
        [sys.executable, "-m", "coopfed.node", "verify", "block.bundle", "--trust", did["b"]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    bad = bytearray(bundle)
    bad[len(bad) // 2] ^= 0x20
    (tmp_path / "tampered.bundle").write_bytes(bytes(bad))
    proc = subprocess.run(
        [sys.executable, "-m", "coopfed.node", "verify", "tampered.bundle"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("Error: NOT VERIFIED")
    # Every single-byte change fails for a reader who trusts the two witnesses (a sample
    # of positions here; the protocol's tests try them all). Without --trust, changed
    # cosignature lines are ignored, as the signed-note spec says of unknown keys.
    for pos in [*range(0, len(bundle), 97), len(bundle) - 1]:
        bad = bytearray(bundle)
        bad[pos] ^= 0x01
        (tmp_path / "x.bundle").write_bytes(bytes(bad))
        await run.fails(
            "verify", "x.bundle", "--trust", did["b"], "--trust", did["c"], says="NOT VERIFIED"
        )
    # Trusting a witness that did not cosign is a failure too.
    await run.fails("verify", "block.bundle", "--trust", did["a"], says="too_few_witnesses")

    # A goes down: B serves A's log as a mirror, checked against A's signature.
    servers.pop("a").stop()
    note = urllib.request.urlopen(f"{url['b']}/mirror/{did['a']}/checkpoint", timeout=10).read()
    assert note.startswith(f"coopfed/{did['a'][len('did:key:') :]}\n".encode())
    # C goes down too; A comes back and grows; C comes back and catches up.
    servers.pop("c").stop()
    servers["a"] = Server(tmp_path / "a")
    assert servers["a"].url != url["a"] or True
    new_a = servers["a"].url
    await run("peer", "add", new_a, "--data", "b", "--yes")
    await run("peer", "add", new_a, "--data", "c", "--yes")
    await run("rate", REQ, "--pay", "1", "--key", "ana.key", "--node", new_a)
    size_a = wait("A's new checkpoint", lambda: _checkpointed(new_a))
    servers["c"] = Server(tmp_path / "c")
    wait(
        "C to catch up with A",
        lambda: any(
            p["did"] == did["a"] and p["held"] >= size_a
            for p in get(f"{servers['c'].url}/api/v1/peers")["peers"]
        ),
    )


def _checkpointed(url: str) -> int:
    st = get(f"{url}/api/v1/status")
    return int(st["size"]) if st["checkpoint"]["size"] == st["size"] else 0


@pytest.mark.slow
async def test_peer_list_and_remove_through_the_data_directory(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    for name in ("a", "b"):
        await run("init", "--data", name, "--name", f"Co-op {name}", "--founder-key", "x.key")
    server = Server(tmp_path / "b")
    try:
        did_b = read_coop_key(tmp_path / "b").did
        await run("peer", "add", server.url, "--data", "a", "--yes")
        listing = json.loads((await run("peer", "list", "--data", "a", "--json")).output)
        assert [p["did"] for p in listing] == [did_b] and listing[0]["status"] == "active"
        await run.fails(
            "policy",
            "set",
            "--follow",
            read_coop_key(tmp_path / "a").did,
            "--data",
            "a",
            says="not pinned",
        )
        out = (await run("policy", "set", "--adopt", f"1:{did_b}", "--data", "a")).output
        assert "rule 1: adopt a block when 1 of" in out
        await run("peer", "remove", did_b, "--data", "a")
        assert "no peers" in (await run("peer", "list", "--data", "a")).output
        await run.fails("peer", "remove", did_b, "--data", "a", says="does not follow")
        usage = await run("peer", "add", server.url, code=2)  # a usage mistake
        assert "give --data DIR, or --node URL with --admin-token" in usage.output
    finally:
        server.stop()
