"""Shared pieces of the benchmarks: keys, a realistic record mix, node processes, memory, timing.

Everything here builds *real* data: records are Ed25519-signed canonical MessagePack that
``Record.from_bytes`` accepts, co-ops are founded with ``Node.create``, and nodes run as
separate ``coopfed serve`` processes on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import nacl.signing

from coopfed.node.config import Config
from coopfed.protocol.bodies import (
    DAY_MS,
    MINUTE_BUCKETS,
    Ballot,
    BlockRule,
    Body,
    Charter,
    Flag,
    FlagReason,
    Proposal,
    ProposalKind,
    Rating,
    RequesterRef,
)
from coopfed.protocol.encoding import encode
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.records import FORMAT_VERSION, SIGNING_DOMAIN, Record

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOUR = 3_600_000

#: The charter every benchmark co-op is founded with (a realistic one: the README's defaults).
CHARTER = Charter(
    name="Bench Co-op",
    quorum_pct=50,
    pass_pct=50,
    amend_pct=66,
    min_window_ms=HOUR,
    max_window_ms=14 * DAY_MS,
    idea_up=2,
    block_rule=BlockRule(flags=3, days=7, review_days=30),
    min_pay_cents=1200,
    admission="invite",
    roles=("coordinator",),
)

_TEXTS = (
    "pays fairly, approves within a day",
    "rejected half my work without a reason",
    "instructions unclear but the requester answered my e-mail",
    "survey took 25 minutes, not 10 as advertised",
    "good batch, will do again",
    "",
)
_REASONS = (
    FlagReason.UNDERPAID,
    FlagReason.UNFAIR_REJECTION,
    FlagReason.BROKEN,
    FlagReason.UNDERPAID,
    FlagReason.SCAM,
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def key(name: str) -> SigningIdentity:
    """A fixed test key: the same name gives the same key in every process."""
    return SigningIdentity(hashlib.sha256(b"coopfed-bench-" + name.encode()).digest())


def members(n: int) -> list[SigningIdentity]:
    return [key(f"member-{i}") for i in range(n)]


def sign_raw(signer: SigningIdentity, *, coop: str, ts: int, body: Body) -> bytes:
    """A record's canonical bytes, signed; what ``sign_record`` makes, minus its self-checks.

    ``sign_record`` round-trips every body through its validator and parses the result
    (some 250 µs); building a million records for a benchmark takes this path instead,
    and :func:`check_sample` parses a sample of what it made with the real decoder.
    """
    envelope: dict[str, Any] = {
        "author": signer.did,
        "body": body.to_value(),
        "coop": coop,
        "ts": ts,
        "type": body.TYPE.value,
        "v": FORMAT_VERSION,
    }
    envelope["sig"] = signer.sign(SIGNING_DOMAIN + encode(envelope))
    return encode(envelope)


def check_sample(raws: Sequence[bytes], k: int = 50) -> None:
    """Parse (and verify) a spread of ``raws`` with the real decoder; raises if one is bad."""
    step = max(1, len(raws) // k)
    for raw in raws[::step]:
        Record.from_bytes(raw)


class Zipf:
    """Draw indexes in [0, n) with a Zipf-like skew: a few requesters get most of the talk."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        weights = [1.0 / (i + 1) ** s for i in range(n)]
        total = sum(weights)
        acc = 0.0
        self.cum = []
        for w in weights:
            acc += w / total
            self.cum.append(acc)
        self.rng = rng

    def __call__(self) -> int:
        import bisect

        return min(bisect.bisect_left(self.cum, self.rng.random()), len(self.cum) - 1)


def requester(i: int) -> RequesterRef:
    return RequesterRef(platform="mturk", id=f"A{i:08X}")


@dataclass
class Mix:
    """What a co-op's members post: mostly ratings, then flags, then ballots (per mille)."""

    ratings: int = 600
    flags: int = 250
    ballots: int = 150
    requesters: int = 5000
    #: Zipf exponent over requesters (1.0: the busiest gets about 1/9 of all talk for 5000).
    skew: float = 1.0


@dataclass
class MemberMix:
    """Generates signed member records in a realistic mix for one co-op."""

    coop: str
    signers: Sequence[SigningIdentity]
    proposals: Sequence[bytes] = ()
    mix: Mix = field(default_factory=Mix)
    seed: int = 1

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.zipf = Zipf(self.mix.requesters, self.mix.skew, self.rng)
        self.voted: set[tuple[int, int]] = set()
        self.counts = {"rating": 0, "flag": 0, "ballot": 0}

    def body(self, member: int, ts: int) -> Body:
        rng = self.rng
        roll = rng.randrange(1000)
        if roll < self.mix.ballots and self.proposals:
            p = rng.randrange(len(self.proposals))
            if (member, p) not in self.voted:
                self.voted.add((member, p))
                self.counts["ballot"] += 1
                return Ballot(proposal=self.proposals[p], choice=rng.choice(("yes", "no", "yes")))
        req = requester(self.zipf())
        if roll < self.mix.ballots + self.mix.flags:
            self.counts["flag"] += 1
            return Flag(
                requester=req,
                target="requester",
                target_id=None,
                reason=rng.choice(_REASONS),
                expires=ts + rng.choice((7, 14, 30)) * DAY_MS,
            )
        self.counts["rating"] += 1
        scores = tuple(
            (d, rng.randint(1, 5)) for d in ("pay", "fair", "comm", "fast") if rng.random() < 0.8
        )
        text = rng.choice(_TEXTS)
        return Rating(
            requester=req,
            scores=scores or (("pay", 3),),
            # Coarse, as a rating's pay and time are (spec/records.md §4.7).
            hourly_cents=50 * rng.randrange(4, 48),
            minutes=rng.choice(MINUTE_BUCKETS[:16]),
            rejected=rng.choice(("none", "none", "some")),
            text=text or None,
        )

    def records(self, n: int, *, ts: int) -> list[bytes]:
        """``n`` signed records; member ``i`` signs at ``ts + i`` ms so every record is unique."""
        out = []
        for i in range(n):
            m = self.rng.randrange(len(self.signers))
            t = ts + i
            out.append(sign_raw(self.signers[m], coop=self.coop, ts=t, body=self.body(m, t)))
        return out


def proposal_bodies(n: int, *, ts: int) -> list[Proposal]:
    """Open block proposals (14-day window) for ballots to be cast on."""
    return [
        Proposal(
            kind=ProposalKind.BLOCK,
            pitch=f"Block requester {i}: pays under minimum",
            requester=requester(10_000 + i),
            reason=FlagReason.UNDERPAID,
            opens=ts,
            closes=ts + 13 * DAY_MS,
        )
        for i in range(n)
    ]


# --------------------------------------------------------------------------- processes


def bench_config(data_dir: Path, **settings: Any) -> Config:
    """A node configuration for a benchmark: abuse limits off (one client stands for many).

    Settings this version of the node does not know are left out, so the same benchmark
    runs against an older checkout (``PYTHONPATH`` pointing at it) for a before/after.
    """
    known = {f.name for f in dataclasses.fields(Config)}
    settings.setdefault("rate_address_per_s", 0.0)
    settings.setdefault("rate_member_per_s", 0.0)
    settings.setdefault("max_connections_per_address", 0)
    return Config(data_dir=data_dir, **{k: v for k, v in settings.items() if k in known})


_URL_RE = re.compile(rb"on (http://[^\s]+)")


class NodeProcess:
    """A ``coopfed serve`` process on 127.0.0.1, stopped with SIGTERM on exit."""

    def __init__(
        self, data_dir: Path, *, log: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log or data_dir / "serve.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 600.0) -> NodeProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PY, "-m", "coopfed.node", "serve", "--data", str(self.data_dir), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self.env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = _URL_RE.search(line)
            if m:
                self.url = m.group(1).decode()
                return self
        self.stop()
        tail = self.log_path.read_bytes()[-2000:].decode(errors="replace")
        raise RuntimeError(f"node in {self.data_dir} did not start: {line!r}\n{tail}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> NodeProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of a live process (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (and its reaped children) has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / ticks


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (all cores)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + values[4]
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / ticks, sum(values) / ticks


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` holds the seconds the block took."""
    out: list[float] = []
    start = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - start)


def verify_key(did_key: SigningIdentity) -> nacl.signing.VerifyKey:
    return nacl.signing.VerifyKey(did_key.public_key)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def profiled(pid: int, out: Path | None, *, rate: int = 200) -> Iterator[None]:
    """Sample ``pid`` with py-spy while the block runs (``out``: a collapsed-stacks file).

    Off when ``out`` is None. py-spy comes from PyPI (``pip install py-spy``); the
    benchmarks run without it.
    """
    if out is None:
        yield
        return
    spy = Path(PY).with_name("py-spy")
    proc = subprocess.Popen(
        [str(spy), "record", "-p", str(pid), "-r", str(rate), "-f", "raw", "-o", str(out), "-s"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def top_frames(
    collapsed: Path, n: int = 25, *, own: bool = False, within: str | None = None
) -> list[tuple[str, float]]:
    """The functions a py-spy collapsed-stacks file spends most samples in (share of all).

    ``own`` counts only the innermost frame (self time); otherwise every frame on the stack.
    ``within`` keeps only stacks through a frame containing that text (one thread, say
    ``run_forever`` for the event loop), and shares are of those stacks.
    """
    from collections import Counter

    counts: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, num = line.rpartition(" ")
        k = int(num)
        frames = stack.split(";")
        if within is not None and not any(within in f for f in frames):
            continue
        total += k
        if own:
            counts[frames[-1]] += k
        else:
            for f in set(frames):
                counts[f] += k
    return [(f, c / total) for f, c in counts.most_common(n)] if total else []
