"""``make demo``: three co-ops on 127.0.0.1 federate, block a requester, and prove it to anyone.

Three co-ops found their nodes, each a ``coopfed serve`` process with a database of its
own, and pin each other's keys. Members of two of them rate and flag a requester; the
first votes to block it. The second co-op's policy adopts that co-op's blocks (k=1 of
[A]); the third adopts only what two co-ops it trusts both block (k=2 of [A, B]), so it
waits until the second co-op's own members have voted too. Meanwhile each co-op witnesses
the others' logs. Finally a third party checks the block offline from one bundle file,
trusting the two witnesses — and a copy with one byte changed fails. Every step is run
with the real ``coopfed`` command line in its own process and told in plain words.

Voting stays open an hour; rather than wait, the demo restarts a node with its clock
moved past the close (``COOPFED_CLOCK_OFFSET_MS``, for demos and tests only). Exit 0 when
every step did what it should; non-zero, with the reason, otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Final

from .app import CLOCK_OFFSET_ENV
from .config import Config

REQUESTER: Final = "mturk:A3DEMOREQUESTER"
#: The charter's shortest voting window is one hour; a restarted node's clock runs ahead by
#: that and a minute, so the proposal has closed when it looks.
OFFSET_MS: Final = 61 * 60_000
START_TIMEOUT_S: Final = 30.0
COOPS: Final = {
    "a": ("Night Shift Co-op", ("ana", "bo")),
    "b": ("Dawn Patrol Co-op", ("dee", "eve")),
    "c": ("Harbor Workers Co-op", ("gus",)),
}


class DemoError(RuntimeError):
    """A step failed; the message says which and why."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Coop:
    """One co-op's node: its data directory, its port and its server process."""

    def __init__(self, key: str, root: Path) -> None:
        self.key = key
        self.name, self.members = COOPS[key]
        self.data = root / key
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"{key}.log"
        self.proc: subprocess.Popen[str] | None = None
        self.did = ""

    @property
    def short(self) -> str:
        return self.name.split()[0] + " " + self.name.split()[1]


class Demo:
    def __init__(self, root: Path, *, quiet: bool = False) -> None:
        self.root = root
        self.quiet = quiet
        self.coops = {k: Coop(k, root) for k in COOPS}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFED_")} | {
            "PYTHONUNBUFFERED": "1"
        }

    # ------------------------------------------------------------------ output

    def say(self, text: str) -> None:
        if not self.quiet:
            print()
            print(textwrap.fill(text, width=92))

    def show(self, text: str) -> None:
        if not self.quiet:
            print(textwrap.indent(text.rstrip("\n"), "    "))

    # ------------------------------------------------------------------ commands

    def coopfed(self, *args: str, show: bool = True, fails: bool = False) -> str:
        """Run ``coopfed ARGS`` as its own process (as a person would) and return its output."""
        shown = ["coopfed", *(a.replace(str(self.root) + "/", "") for a in args)]
        if show:
            self.show("$ " + shlex.join(shown))
        proc = subprocess.run(
            [sys.executable, "-m", "coopfed.node", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if fails:
            if proc.returncode == 0:
                raise DemoError(f"'{shlex.join(shown)}' should have failed, but it passed")
            if show:
                self.show(proc.stderr)
            return proc.stderr
        if proc.returncode != 0:
            raise DemoError(
                f"'{shlex.join(shown)}' failed ({proc.returncode}): "
                f"{proc.stderr.strip() or proc.stdout.strip()}"
            )
        if show:
            self.show(proc.stdout)
        return proc.stdout

    def member(self, command: str, name: str, coop: Coop, *args: str, show: bool = True) -> str:
        """``coopfed COMMAND --key NAME.key --node URL ARGS`` (COMMAND may be two words)."""
        return self.coopfed(
            *command.split(), "--key", f"{name}.key", "--node", coop.url, *args, show=show
        )

    def get(self, coop: Coop, path: str) -> Any:
        with urllib.request.urlopen(coop.url + path, timeout=10) as resp:
            return json.load(resp)

    def status_of(self, coop: Coop) -> str | None:
        platform, rid = REQUESTER.split(":", 1)
        why = self.get(coop, f"/api/v1/blocklist/explain/{platform}/{urllib.parse.quote(rid)}")
        status: str | None = why["status"]
        return status

    def wait_for(self, what: str, check: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = check()
            except OSError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}")
            time.sleep(0.2)

    # ------------------------------------------------------------------ node processes

    def start(self, coop: Coop, *, clock_offset_ms: int = 0) -> None:
        env = dict(self.env)
        if clock_offset_ms:
            env[CLOCK_OFFSET_ENV] = str(clock_offset_ms)
        # The node's log goes to a file: a pipe nobody reads could fill and stall it.
        with open(coop.log, "a", encoding="utf-8") as log:
            coop.proc = subprocess.Popen(
                [sys.executable, "-m", "coopfed.node", "serve", "--data", str(coop.data)],
                cwd=self.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert coop.proc.stdout is not None
        ready, _, _ = select.select([coop.proc.stdout], [], [], START_TIMEOUT_S)
        line = coop.proc.stdout.readline() if ready else ""
        if " on http://" not in line:  # "coopfed: serving NAME (DID) on URL"
            self.stop(coop)
            problem = coop.log.read_text(encoding="utf-8").strip()
            raise DemoError(
                f"{coop.name}'s node did not start: {(problem.splitlines() or ['no output'])[-1]}"
            )
        self.show(line.strip())

    def stop(self, coop: Coop) -> None:
        proc, coop.proc = coop.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def stop_all(self) -> None:
        for coop in self.coops.values():
            self.stop(coop)

    def vote_and_decide(self, coop: Coop, pitch: str) -> str:
        """Members propose a block and vote yes; the node restarts past the window and decides."""
        out = self.member(
            "propose",
            coop.members[0],
            coop,
            "--kind",
            "block",
            "--pitch",
            pitch,
            "--requester",
            REQUESTER,
            "--reason",
            "underpaid",
        )
        proposal = out.split("record ", 1)[1].split()[0]
        for name in coop.members:
            self.member("vote", name, coop, proposal, "yes")
        self.show(f"(restarting {coop.short}'s node with its clock an hour ahead)")
        self.stop(coop)
        self.start(coop, clock_offset_ms=OFFSET_MS)
        decided = self.wait_for(
            f"{coop.name}'s decision",
            lambda: self.get(coop, f"/api/v1/proposals/{proposal}").get("decision"),
        )
        tally = self.get(coop, f"/api/v1/proposals/{proposal}")["tally"]
        votes = ", ".join(f"{n} {c}" for c, n in sorted(tally["counts"].items()))
        self.show(f"decision {decided}: {tally['result']} ({votes})")
        self.wait_for(f"{coop.name}'s block", lambda: self.status_of(coop) == "blocked")
        return str(decided)

    # ------------------------------------------------------------------ the story

    def run(self) -> None:
        a, b, c = self.coops["a"], self.coops["b"], self.coops["c"]
        self.say(
            "1. Three co-ops of crowdworkers each found a node: Night Shift (Ana and Bo), "
            "Dawn Patrol (Dee and Eve) and Harbor Workers (Gus). 'coopfed init' makes each "
            "co-op's key, its charter (decisions by vote, an hour at least to vote) and its "
            "own database. The members' keys are made on their own machines."
        )
        for coop in (a, b, c):
            founders = [x for m in coop.members for x in ("--founder-key", f"{m}.key")]
            out = self.coopfed(
                "init",
                "--data",
                str(coop.data),
                "--name",
                coop.name,
                "--window-hours",
                "1",
                "--checkpoint-seconds",
                "0.5",
                "--sync-seconds",
                "0.5",
                "--port",
                str(coop.port),
                *founders,
                show=coop is a,
            )
            coop.did = out.split("founded: ", 1)[1].split()[0]
            # Nodes restart with their clocks an hour ahead in this demo (to close votes);
            # their peers, on the true clock, must take those records now, not in an hour.
            config = Config.load(coop.data)
            dataclasses.replace(config, sync_max_future_ms=3 * OFFSET_MS).save()
            if coop is not a:
                self.show(f"$ coopfed init --data {coop.key} --name '{coop.name}' ...")
                self.show(f"co-op {coop.name!r} founded: {coop.did}")

        self.say("2. The three operators start their nodes: three server processes.")
        for coop in (a, b, c):
            self.start(coop)

        self.say(
            "3. The co-ops agree to federate. Each operator pins the others' keys: 'coopfed "
            "peer add' fetches the other node's description and shows its co-op key's "
            "fingerprint, which the operators compare over a channel they trust (a call, "
            "a meeting) before confirming. From then on every record of the other co-op "
            "must carry that key's signature."
        )
        self.coopfed("peer", "add", b.url, "--data", str(a.data), "--yes")
        for x, y in ((a, c), (b, a), (b, c), (c, a), (c, b)):
            self.coopfed("peer", "add", y.url, "--data", str(x.data), "--yes", show=False)
            self.show(f"$ coopfed peer add {y.url} --data {x.key} --yes   ({y.name})")

        self.say(
            "4. Each co-op signs its federation policy. Dawn Patrol trusts Night Shift: "
            "it adopts Night Shift's blocks (k=1 of [Night Shift]). Harbor Workers is "
            "more careful: it adopts a block only when both Night Shift and Dawn Patrol "
            "block (k=2 of [Night Shift, Dawn Patrol])."
        )
        self.coopfed("policy", "set", "--data", str(a.data))
        self.coopfed("policy", "set", "--adopt", f"1:{a.did}", "--data", str(b.data))
        self.coopfed("policy", "set", "--adopt", f"2:{a.did},{b.did}", "--data", str(c.data))

        self.say(
            f"5. Members of Night Shift and Dawn Patrol have worked for requester "
            f"{REQUESTER}. They rate it (scores 1 to 5, pay per hour) and flag it, each "
            "record signed by its author and appended to their own co-op's log."
        )
        self.member(
            "rate", "ana", a, REQUESTER, "--pay", "1", "--fair", "2", "--hourly-cents", "380"
        )
        self.member("flag", "bo", a, REQUESTER, "--reason", "underpaid")
        self.member(
            "rate", "dee", b, REQUESTER, "--pay", "2", "--fair", "1", "--hourly-cents", "450"
        )
        self.member("flag", "eve", b, REQUESTER, "--reason", "unfair_rejection")

        self.say(
            "6. Night Shift's members vote to block the requester. (Nobody waits an hour in "
            "a demo: the node restarts with its clock an hour ahead — for demos and tests "
            "only — tallies the votes, signs the decision and blocks the requester.)"
        )
        self.vote_and_decide(a, f"Block {REQUESTER}: pays under $4/h")

        self.say(
            "7. Dawn Patrol and Harbor Workers pull Night Shift's log: its checkpoint, then "
            "the entries they are missing, checking every signature, every member's "
            "standing and the Merkle tree against Night Shift's signed root. Dawn Patrol's "
            "policy adopts the block; Harbor Workers' does not, yet: one of the two co-ops "
            "it needs blocks the requester."
        )
        self.wait_for("Dawn Patrol to adopt the block", lambda: self.status_of(b) == "blocked")
        self.coopfed("blocklist", "explain", REQUESTER, "--node", b.url)
        self.wait_for(
            "Harbor Workers to hold Night Shift's block",
            lambda: any(
                p["did"] == a.did and p["blocks"] >= 1
                for p in self.get(c, "/api/v1/peers")["peers"]
            ),
        )
        if self.status_of(c) is not None:
            raise DemoError("Harbor Workers adopted a block its policy should not adopt yet")
        self.coopfed("blocklist", "explain", REQUESTER, "--node", c.url)

        self.say(
            "8. Dawn Patrol's own members now vote too, and their node blocks the requester. "
            "Harbor Workers syncs Dawn Patrol and adopts: two co-ops it trusts block. Its "
            "explanation goes down to the signed records, in each co-op's log."
        )
        self.vote_and_decide(b, f"Block {REQUESTER}: unfair rejections")
        self.wait_for("Harbor Workers to adopt", lambda: self.status_of(c) == "blocked")
        self.coopfed("blocklist", "explain", REQUESTER, "--node", c.url)
        self.coopfed("requester", "show", REQUESTER, "--node", c.url)

        self.say(
            "9. All along, each co-op has witnessed the others: after it signs a checkpoint, "
            "a node asks the co-ops it follows to cosign it (C2SP tlog-witness), and each "
            "cosigns only a checkpoint consistent with the last one it saw. A co-op that "
            "showed two histories would be caught with a proof."
        )

        def witnessed() -> bool:
            st = self.get(a, "/api/v1/status")
            return bool(
                st["checkpoint"]["size"] == st["size"]
                and set(st["federation"]["witnessed_by"]) == {b.did, c.did}
            )

        self.wait_for("Night Shift's checkpoint to be cosigned by both", witnessed)
        self.coopfed("status", "--node", a.url)

        self.say(
            "10. A journalist wants to know whether the block is real. Night Shift exports "
            "one bundle file: the block, the decision, the proposal, the ballots, the roster, "
            "the charter, each with its inclusion proof, and the checkpoint with the "
            "witnesses' cosignatures. 'coopfed verify' checks it with no network at all, "
            "trusting only the two witness co-ops' keys."
        )
        self.coopfed("bundle", "block", REQUESTER, "--node", a.url, "--out", "block.bundle")
        self.coopfed("verify", "block.bundle", "--trust", b.did, "--trust", c.did)

        self.say(
            "11. Someone changes a single byte of the file (here: one byte inside a ballot). "
            "The check fails, and says why."
        )
        data = bytearray((self.root / "block.bundle").read_bytes())
        pos = data.find(b"ballot")
        pos = pos + 40 if pos >= 0 else len(data) // 2
        data[pos] ^= 0x01
        (self.root / "tampered.bundle").write_bytes(bytes(data))
        self.show(f"(byte {pos} of {len(data)} changed)")
        self.coopfed("verify", "tampered.bundle", "--trust", b.did, "--trust", c.did, fails=True)

        self.say("12. The demo stops the three nodes. Done.")
        self.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coopfed.node.demo", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="Keep the co-ops' files in DIR (must not exist) instead of a temporary directory",
    )
    parser.add_argument("--quiet", action="store_true", help="Print only the verdict")
    args = parser.parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True)
        root = args.keep.resolve()
    else:
        root = Path(tempfile.mkdtemp(prefix="coopfed-demo-"))
    demo = Demo(root, quiet=args.quiet)
    try:
        demo.run()
    except (DemoError, OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop_all()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"\ndemo finished: three co-ops federated; {REQUESTER} is blocked by the votes of "
        "two co-ops' members, adopted by the third under its policy, and a third party "
        "verified it offline." + (f" Files kept in {root}." if args.keep else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
