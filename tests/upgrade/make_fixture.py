"""Build the v0.1.0 upgrade fixture: a lived-in co-op's data directory, on SQLite and PostgreSQL.

Run it against the release the fixture stands for (v0.1.0, schema revision 0003), never
against later code: the point of the fixture is that it was written by the old release. In
a checkout of that release (with this script and observe.py copied in, and `make install`):

    .venv/bin/python tests/upgrade/make_fixture.py [--out tests/upgrade/fixtures/v0.1.0]

It founds two co-ops with the node's own code, each served by a real aiohttp server on
127.0.0.1: Night Shift (the fixture) and Dawn Patrol (a co-op Night Shift follows). Night
Shift issues two invites (one is redeemed), its members rate and flag requesters (three
flags make a provisional block), vote a block proposal through to a decision, adopt
Dawn Patrol's blocks by policy, sync its log (once through a proxy that corrupts it, which
leaves a refusal row), and the two co-ops cosign each other's checkpoints. The same story
is played on SQLite and on a PostgreSQL schema; both must serve exactly the same things.

Written to ``--out``: Night Shift's data directory (``coop.key``, ``admin.token``,
``config.json``, ``coopfed.db``), ``postgres.sql`` (``pg_dump --no-owner --inserts`` of the
PostgreSQL schema ``coopfed_v010``, restorable without psql) and ``expected.json`` (what the
node serves, per tests/upgrade/observe.py, and the commit that made it). Keys, tokens and
times are fixed, so a rerun gives the same files but for the refusal row's source (the
corrupting proxy's port).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
from aiohttp import web

ROOT: Final = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "node"), str(Path(__file__).parent)]

from coopkit import CHARTER, DAY, HOUR, T0  # noqa: E402
from fedkit import Coop, Env, Proxy  # noqa: E402
from observe import PROFILED, observe  # noqa: E402

import coopfed.node.service as service  # noqa: E402
from coopfed.node.config import Config  # noqa: E402
from coopfed.protocol.records import (  # noqa: E402
    AdoptRule,
    Ballot,
    FederationPolicy,
    Flag,
    FlagReason,
    Follow,
    MemberApply,
    Proposal,
    ProposalKind,
    Rating,
    RequesterRef,
)

OUT: Final = ROOT / "tests" / "upgrade" / "fixtures" / "v0.1.0"
PG_URL: Final = os.environ.get(
    "COOPFED_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
#: The schema the PostgreSQL fixture is built in and dumped from; the test renames it.
PG_SCHEMA: Final = "coopfed_v010"
#: Where Night Shift follows Dawn Patrol once the fixture is made (RFC 2606: never resolves).
PEER_URL: Final = "https://dawn-patrol.example"
DATA_FILES: Final = ("coop.key", "admin.token", "config.json")
MINUTE: Final = 60_000
#: While the story is played the nodes' own loops stay idle: every step happens when the
#: script says, so the same checkpoints are signed on every run.
QUIET: Final = {"governance_interval_s": 3600.0, "checkpoint_interval_s": 3600.0}
#: Ratings of other requesters, so that the own log has a full tile and a level-1 tile.
BULK_RATINGS: Final = 260

REQ = RequesterRef(platform=PROFILED[0], id=PROFILED[1])
FLAGGED = RequesterRef(platform="mturk", id="A2FLAGGED")
PROPOSED = RequesterRef(platform="mturk", id="A3PROPOSED")
PEER_BLOCKED = RequesterRef(platform="prolific", id="5f0a4c2b9d1e")


@contextlib.contextmanager
def fixed_randomness(label: str) -> Iterator[None]:
    """The co-op key, the admin token and invite tokens from seeds, not the OS's randomness.

    The node takes them from ``new_seed`` and ``secrets.token_urlsafe``; the fixture must be
    the same on every run and on both backends, so both are replaced while it is built.
    """
    counter = iter(range(1_000_000))

    def seeded(what: str) -> bytes:
        return hashlib.sha256(f"coopfed-fixture/{label}/{what}/{next(counter)}".encode()).digest()

    def token_urlsafe(nbytes: int | None = 32) -> str:
        return seeded("token").hex()[: 2 * (nbytes or 32)]

    saved = service.new_seed, secrets.token_urlsafe
    service.new_seed = lambda: seeded("seed")
    secrets.token_urlsafe = token_urlsafe
    try:
        yield
    finally:
        service.new_seed, secrets.token_urlsafe = saved


def at(coop: Coop, minutes: float) -> int:
    """Set the shared clock to ``minutes`` after the co-ops' founding; return it."""
    coop.clock.now = T0 + int(minutes * MINUTE)
    return coop.clock.now


async def flag(coop: Coop, who: str, requester: RequesterRef) -> None:
    body = Flag(
        requester=requester,
        target="requester",
        target_id=None,
        reason=FlagReason.UNDERPAID,
        expires=coop.clock.now + 30 * DAY,
        note="under $4/h once the screener is counted",
    )
    await coop.submit(coop.sign(who, body))


def rating(coop: Coop, who: str, requester: RequesterRef, **fields: Any) -> Any:
    return coop.sign(who, Rating(requester=requester, **fields))


async def corrupt_entries(
    request: web.Request, status: int, ctype: str, data: bytes
) -> web.StreamResponse | None:
    if request.path.startswith("/tile/entries/"):
        bad = bytearray(data)
        bad[-5] ^= 0x01  # inside the last record's signature: the root will not match
        return web.Response(body=bytes(bad), headers={"Content-Type": ctype})
    return None


async def build(env: Env, **database: Any) -> tuple[Coop, Coop, dict[str, str]]:
    """Play the fixture's story; return Night Shift, Dawn Patrol (both still served) and
    Night Shift's invite tokens (``used``, ``unused``)."""
    with fixed_randomness("night-shift"):
        a = await env.found(
            "Night Shift", charter=CHARTER, founders=("ana", "bo", "cy"), **QUIET, **database
        )
    with fixed_randomness("dawn-patrol"):
        b = await env.found("Dawn Patrol", founders=("dee", "eve", "fay"), **QUIET)
    for coop in (a, b):  # the jitter of the next sync's time, stored with each peer
        coop.fed.rng = random.Random(coop.name)
    # The data directory keeps the defaults, as `coopfed init` writes them.
    Config(data_dir=a.config.data_dir, **database).save()

    # Invites: one redeemed by dan, one never used.
    now = at(a, 1)
    with fixed_randomness("invites"):
        used = await a.node.create_invite(ttl_s=7 * 86_400, now_ms=now)
        unused = await a.node.create_invite(ttl_s=7 * 86_400, now_ms=now)
    apply = a.sign("dan", MemberApply(text="I do surveys at night"))
    await a.node.join(apply_raw=apply.raw, token=used, now_ms=now)

    # Ratings of the profiled requester, and many others (a full tile and more).
    at(a, 2)
    await a.submit(
        rating(
            a,
            "ana",
            REQ,
            scores=(("comm", 2), ("fair", 1), ("fast", 3), ("pay", 1)),
            hourly_cents=350,
            minutes=12,
            rejected="some",
            recommend=False,
            text="rejected half the batch without a reason",
        ),
        rating(a, "bo", REQ, scores=(("pay", 2),), hourly_cents=480, rejected="none"),
        rating(a, "dan", REQ, scores=(("fair", 4),), recommend=True, text="paid on time"),
    )
    members = ("ana", "bo", "cy", "dan")
    at(a, 3)
    await a.submit(
        *(
            rating(
                a,
                members[i % 4],
                RequesterRef(platform="mturk", id=f"A5BULK{i:04d}"),
                scores=(("pay", 1 + i % 5),),
                hourly_cents=600 + 7 * i,
            )
            for i in range(BULK_RATINGS)
        )
    )

    # Three members flag a requester: the charter's rule blocks it provisionally.
    at(a, 4)
    for who in ("ana", "bo", "cy"):
        await flag(a, who, FLAGGED)
    assert [r.type.value for r in await a.govern()] == ["block"]

    # A block proposal, voted and decided after its window.
    now = at(a, 5)
    proposal = a.sign(
        "bo",
        Proposal(
            kind=ProposalKind.BLOCK,
            pitch="Block A3PROPOSED: rejects work to keep it unpaid",
            opens=now,
            closes=now + HOUR,
            requester=PROPOSED,
            reason=FlagReason.UNFAIR_REJECTION,
        ),
    )
    await a.submit(proposal)
    at(a, 6)
    for who, choice in (("ana", "yes"), ("bo", "yes"), ("cy", "no"), ("dan", "yes")):
        await a.submit(a.sign(who, Ballot(proposal=proposal.id, choice=choice)))
    at(a, 70)
    assert sorted(r.type.value for r in await a.govern()) == ["block", "decision"]

    # Dawn Patrol: its own provisional block, and a rating of the profiled requester.
    at(b, 71)
    for who in ("dee", "eve", "fay"):
        await flag(b, who, PEER_BLOCKED)
    assert [r.type.value for r in await b.govern()] == ["block"]
    await b.submit(rating(b, "eve", REQ, scores=(("pay", 1),), text="same story here"))

    # Each follows the other; Night Shift adopts what Dawn Patrol blocks.
    now = at(a, 72)
    await a.pin(b)
    await b.pin(a)
    await a.node.append_own(
        FederationPolicy(
            follow=(Follow(coop=b.did, url=PEER_URL),),
            adopt=(AdoptRule(sources=(b.did,), k=1),),
        ),
        now_ms=now,
    )

    # A sync through a proxy that corrupts the entries is refused (one refusal row)...
    await a.checkpoint()
    await b.checkpoint()
    at(a, 73)
    async with Proxy(b.url, corrupt_entries) as proxy:
        await a.pin(b, url=proxy.url)
        refused = await a.fed.sync(b.did)
    assert (refused.result, refused.code) == ("refused", "root_mismatch"), refused
    # ...and from Dawn Patrol's own node the same log verifies.
    at(a, 74)
    await a.pin(b)
    assert (await a.fed.sync(b.did)).result == "synced"

    # Witnessing both ways: Dawn Patrol cosigns Night Shift's checkpoint, and the reverse.
    at(a, 75)
    assert await a.fed.gather() == {b.did: "cosigned"}
    assert await b.fed.gather() == {a.did: "cosigned"}
    at(a, 76)
    assert (await a.fed.sync(b.did)).result == "up_to_date"
    # From now on Night Shift finds Dawn Patrol at its public address.
    await a.pin(b, url=PEER_URL)
    at(a, 80)
    return a, b, {"used": used, "unused": unused}


async def make(kind: str, work: Path, pg: asyncpg.Connection | None) -> dict[str, Any]:
    """Build the fixture on one backend in ``work``; return what Night Shift serves."""
    env = Env(kind, work, PG_URL if pg is not None else None, pg)
    env.clock.now = T0
    settings: dict[str, Any] = {}
    if pg is not None:
        await pg.execute(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
        settings = {"database_url": PG_URL, "schema": PG_SCHEMA}
    try:
        a, b, invites = await build(env, **settings)
        async with aiohttp.ClientSession() as http:
            seen = await observe(http, a.url, b.did)
        seen["now_ms"] = a.clock.now  # the time the node's answers were read at
        seen["invites"] = invites  # redeemed (or refused) by the upgrade test
        seen["source"] = {"release": "v0.1.0", "commit": source_commit()}
    finally:
        await env.close()
    return seen


def source_commit() -> str:
    """The commit of the code that made the fixture (its checkout must be clean but for it)."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "protocol", "node"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not out.strip(), f"the node's code differs from its commit:\n{out}"
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def compact_sqlite(db: Path) -> None:
    """One self-contained file: the WAL folded in and free pages dropped."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
    for suffix in ("-wal", "-shm"):
        assert not db.with_name(db.name + suffix).exists()


def pg_dump(schema: str) -> str:
    """``pg_dump --no-owner --inserts`` of ``schema``, without psql-only meta-commands."""
    url = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    out = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--inserts", "--schema", schema, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # pg_dump >= 15.14 brackets the script in \restrict KEY ... \unrestrict KEY (a random
    # key, for psql only); the fixture is restored by a driver and must not change per run.
    return "".join(
        line for line in out.splitlines(keepends=True) if not re.match(r"\\(un)?restrict ", line)
    )


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="coopfed-fixture-") as tmp:
        work = Path(tmp)
        lite = await make("sqlite", work / "sqlite", None)
        pg = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            on_pg = await make("postgres", work / "postgres", pg)
            assert on_pg == lite, "the same story served differently on PostgreSQL"
            for name in DATA_FILES:
                a, b = (work / k / "Night Shift" / name for k in ("sqlite", "postgres"))
                assert a.read_bytes() == b.read_bytes() or name == "config.json", name
            dump = pg_dump(PG_SCHEMA)
        finally:
            await pg.execute(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE')
            await pg.close()
        data = work / "sqlite" / "Night Shift"
        compact_sqlite(data / "coopfed.db")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for name in (*DATA_FILES, "coopfed.db"):
            shutil.copy2(data / name, out / name)
        (out / "postgres.sql").write_text(dump, encoding="utf-8")
        (out / "expected.json").write_text(
            json.dumps(lite, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    print(f"wrote {out}: " + ", ".join(f"{k} {v // 1024} KiB" for k, v in sizes.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT)
    asyncio.run(main(parser.parse_args().out))
