"""``make demo``: a real co-op node on 127.0.0.1, its members at work, told step by step.

The demo founds a co-op in a temporary directory, starts ``coopfed serve`` as a separate
process, and then does what members and an operator would, each step with the real
``coopfed`` command line in its own process: invites, joins, ratings and flags of a
requester, a proposal to block it and the members' votes. Voting stays open for the
charter's shortest window, one hour; rather than wait, the demo restarts the node with
its clock moved past the close (``COOPFED_CLOCK_OFFSET_MS``, an option for demos and
tests only), and the node tallies, signs the decision and blocks the requester. The demo
then shows the requester's profile and the blocklist, verifies the whole log, stops the
node and exits 0 (non-zero, with the reason, if any step fails).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any, Final

from .app import CLOCK_OFFSET_ENV

REQUESTER: Final = "mturk:A3DEMOREQUESTER"
#: The charter's shortest voting window is one hour; the restarted node's clock runs ahead
#: by that and a minute, so the proposal has closed when it looks.
OFFSET_MS: Final = 61 * 60_000
START_TIMEOUT_S: Final = 30.0


class DemoError(RuntimeError):
    """A step failed; the message says which and why."""


class Demo:
    def __init__(self, root: Path, *, quiet: bool = False) -> None:
        self.root = root
        self.data = root / "node"
        self.quiet = quiet
        self.server: subprocess.Popen[str] | None = None
        self.url = ""
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

    def coopfed(self, *args: str, show: bool = True) -> str:
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
        if proc.returncode != 0:
            raise DemoError(
                f"'{shlex.join(shown)}' failed ({proc.returncode}): "
                f"{proc.stderr.strip() or proc.stdout.strip()}"
            )
        if show:
            self.show(proc.stdout)
        return proc.stdout

    def member(self, command: str, name: str, *args: str) -> str:
        """``coopfed COMMAND --key NAME.key --node URL ARGS`` (COMMAND may be two words)."""
        return self.coopfed(*command.split(), "--key", f"{name}.key", "--node", self.url, *args)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.load(resp)

    # ------------------------------------------------------------------ the node process

    def start(self, *, clock_offset_ms: int = 0) -> None:
        env = dict(self.env)
        if clock_offset_ms:
            env[CLOCK_OFFSET_ENV] = str(clock_offset_ms)
        # The node's log goes to a file: a pipe nobody reads could fill and stall it.
        with open(self.root / "node.log", "a", encoding="utf-8") as log:
            self.server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "coopfed.node",
                    "serve",
                    "--data",
                    str(self.data),
                    "--port",
                    "0",
                ],
                cwd=self.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.server.stdout is not None
        ready, _, _ = select.select([self.server.stdout], [], [], START_TIMEOUT_S)
        line = self.server.stdout.readline() if ready else ""
        if " on http://" not in line:  # "coopfed: serving NAME (DID) on URL"
            self.stop()
            problem = (self.root / "node.log").read_text(encoding="utf-8").strip()
            raise DemoError(
                f"the node did not start: {(problem.splitlines() or ['no output'])[-1]}"
            )
        self.url = line.rsplit(" on ", 1)[1].strip()
        self.show(line.strip())

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stdout is not None:
            server.stdout.close()

    def wait_for(self, what: str, check: Any, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"timed out waiting for {what}")
            time.sleep(0.2)

    # ------------------------------------------------------------------ the story

    def run(self) -> None:
        self.say(
            "1. Ana founds a co-op of crowdworkers. 'coopfed init' makes the co-op's key, "
            "its charter (the rules: here, a decision needs half the members to vote and "
            "half of the votes cast; voting lasts at least an hour; 3 members' flags "
            "within a week block a requester provisionally) and its database. Ana is the "
            "founding member; her key is made on her machine."
        )
        self.coopfed(
            "init",
            "--data",
            str(self.data),
            "--name",
            "Night Shift Co-op",
            "--window-hours",
            "1",
            "--checkpoint-seconds",
            "1",
            "--founder-key",
            "ana.key",
        )

        self.say("2. The operator starts the node: a real server process on this machine.")
        self.start()
        self.coopfed("status", "--node", self.url)

        self.say(
            "3. Three more workers join. Each makes a key of their own (the node never "
            "sees it), and the operator hands each a single-use invite token."
        )
        for name in ("bo", "cy", "dee"):
            self.coopfed("member", "keygen", "--key", f"{name}.key")
            token = json.loads(
                self.coopfed("member", "invite", "--data", str(self.data), "--json", show=False)
            )["token"]
            self.show(f"(the operator gives {name} an invite token)")
            self.member("member join", name, "--token", token)

        self.say(
            f"4. They have all worked for requester {REQUESTER}, and report what "
            "happened: scores from 1 to 5, what the work paid per hour, rejections. "
            "Each rating is a record signed by its author and appended to the co-op's "
            "log."
        )
        self.member(
            "rate",
            "ana",
            REQUESTER,
            "--pay",
            "1",
            "--fair",
            "2",
            "--comm",
            "1",
            "--hourly-cents",
            "380",
            "--minutes",
            "95",
            "--rejected",
            "some",
            "--no-recommend",
            "--text",
            "Rejected half a batch with no reason given.",
        )
        self.member(
            "rate",
            "bo",
            REQUESTER,
            "--pay",
            "2",
            "--fair",
            "1",
            "--hourly-cents",
            "450",
            "--rejected",
            "some",
            "--no-recommend",
        )
        self.member(
            "rate",
            "cy",
            REQUESTER,
            "--pay",
            "1",
            "--fast",
            "2",
            "--hourly-cents",
            "300",
            "--rejected",
            "none",
        )

        self.say(
            "5. Two of them flag the requester: one for underpaying, one for an unfair "
            "rejection of a batch. Two flags are one short of the charter's rule for a "
            "provisional block, so the members decide by vote."
        )
        self.member("flag", "bo", REQUESTER, "--reason", "underpaid", "--days", "30")
        self.member(
            "flag",
            "dee",
            REQUESTER,
            "--reason",
            "unfair_rejection",
            "--batch",
            "BATCH-2291",
            "--note",
            "All 40 HITs rejected after the deadline.",
        )

        self.say(
            "6. Ana proposes to block the requester; voting opens now and closes in an "
            "hour. Ana, Bo and Cy vote yes, Dee votes no."
        )
        out = self.member(
            "propose",
            "ana",
            "--kind",
            "block",
            "--pitch",
            f"Block {REQUESTER}: underpays and rejects unfairly",
            "--requester",
            REQUESTER,
            "--reason",
            "underpaid",
        )
        proposal = out.split("record ", 1)[1].split()[0]
        for name, choice in (("ana", "yes"), ("bo", "yes"), ("cy", "yes"), ("dee", "no")):
            self.member("vote", name, proposal, choice)
        self.coopfed("proposals", "--node", self.url)

        self.say(
            "7. Nobody wants to wait an hour in a demo. The node is stopped and started "
            "again with its clock an hour ahead (COOPFED_CLOCK_OFFSET_MS, for demos "
            "and tests only). Everything it accepted is still in its database. At once "
            "the node sees that voting has closed: it tallies the ballots under the "
            "charter, signs the decision with the co-op's key, and carries it out by "
            "signing a block of the requester."
        )
        self.stop()
        self.start(clock_offset_ms=OFFSET_MS)
        decided = self.wait_for(
            "the decision", lambda: self.get(f"/api/v1/proposals/{proposal}").get("decision")
        )
        tally = self.get(f"/api/v1/proposals/{proposal}")["tally"]
        votes = ", ".join(f"{n} {choice}" for choice, n in sorted(tally["counts"].items()))
        quorum = "met" if tally["quorum_met"] else "not met"
        self.show(f"decision {decided}: {tally['result']} ({votes}; quorum {quorum})")
        self.wait_for("the block", lambda: self.get("/api/v1/blocklist")["entries"])
        self.coopfed("proposals", "--node", self.url, "--status", "decided")

        self.say(
            "8. The requester's profile, as any member sees it before taking work: "
            "mean scores, median hourly pay, rejections, flags, and the block with the "
            "records it rests on."
        )
        self.coopfed("requester", "show", REQUESTER, "--node", self.url)

        self.say(
            "9. The co-op's blocklist, as CSV for other tools (JSON too), each entry "
            "naming the signed block record behind it."
        )
        self.coopfed("blocklist", "export", "--format", "csv", "--node", self.url)

        self.say(
            "10. Anyone can check the co-op's whole history without trusting the node: "
            "'coopfed log verify' fetches the signed checkpoint and every entry, "
            "recomputes the Merkle root, and checks every signature and every rule."
        )
        self.wait_for(
            "a checkpoint of the whole log",
            lambda: (
                self.get("/api/v1/status")["checkpoint"]["size"]
                == self.get("/api/v1/status")["size"]
            ),
        )
        self.coopfed("log", "verify", "--node", self.url)

        self.say("11. The demo stops the node. Done.")
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coopfed.node.demo", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="Keep the co-op's files in DIR (must not exist) instead of a temporary directory",
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
        demo.stop()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(
        "\ndemo finished: the co-op decided, by its members' votes, to block "
        f"{REQUESTER}." + (f" Files kept in {root}." if args.keep else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
