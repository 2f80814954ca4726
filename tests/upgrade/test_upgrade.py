"""A v0.1.0 co-op's data directory, upgraded in place by ``coopfed serve``, serves the same co-op.

The fixture (tests/upgrade/fixtures/v0.1.0, made by make_fixture.py with the v0.1.0 code)
holds a lived-in co-op: members, ratings, flags, a provisional block, a decided proposal,
invites, a followed co-op's synced log, cosignatures, witness state and a refusal. Here it is
copied, opened by today's ``coopfed serve`` (which migrates the database in place) on SQLite
and on PostgreSQL (the fixture's dump restored into a fresh schema), and read over HTTP:
both logs' checkpoints and tiles, the refusal, the witness's memory of the followed log,
the members, the blocklist and a requester's profile must be exactly what v0.1.0 served.
Then the node must still work: the used invite is refused and the unused one admits, a
member's new record is appended, the log grows consistently with the old checkpoint, and
``coopfed log verify`` checks the whole log. Every storage change must keep this test
passing unchanged. The steps are README's ("Operate a co-op node", "Upgrade"): back up,
start, check.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
from observe import checkpoint_head, observe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "node"))

from coopkit import key
from test_cli import Server

from coopfed.node.app import MSGPACK
from coopfed.node.service import now_ms
from coopfed.protocol.bodies import MemberApply, Rating, RequesterRef
from coopfed.protocol.merkle import verify_consistency
from coopfed.protocol.records import sign_record
from tests.conftest import PG_URL, Backend, _dsn

FIXTURE: Final = Path(__file__).parent / "fixtures" / "v0.1.0"
EXPECTED: Final[dict[str, Any]] = json.loads((FIXTURE / "expected.json").read_text())
#: The schema the fixture's PostgreSQL dump was taken from (make_fixture.PG_SCHEMA).
DUMPED_SCHEMA: Final = "coopfed_v010"


async def restore(backend: Backend, data: Path) -> None:
    """The fixture's data directory at ``data``, its database on ``backend``."""
    data.mkdir()
    for name in ("coop.key", "admin.token", "config.json"):
        shutil.copy2(FIXTURE / name, data / name)
        (data / name).chmod(0o600)  # as the node wrote them; git keeps no modes but x
    if backend.name == "sqlite":
        shutil.copy2(FIXTURE / "coopfed.db", data / "coopfed.db")
        return
    assert backend.schema is not None
    dump = (FIXTURE / "postgres.sql").read_text(encoding="utf-8")
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        # The dump creates its schema itself; it goes under this test's name.
        await conn.execute(f'DROP SCHEMA "{backend.schema}"')
        await conn.execute(dump.replace(DUMPED_SCHEMA, backend.schema))
    finally:
        await conn.close()
    config = json.loads((data / "config.json").read_text())
    config.update(database_url=PG_URL, schema=backend.schema)
    (data / "config.json").write_text(json.dumps(config))


def back_up(backend: Backend, data: Path) -> None:
    """README's first upgrade step: a copy of the data directory, and a pg_dump on PostgreSQL."""
    copy = data.with_name(data.name + ".before-upgrade")
    subprocess.run(["cp", "-a", str(data), str(copy)], check=True)
    assert (copy / "coop.key").read_bytes() == (FIXTURE / "coop.key").read_bytes()
    if backend.name == "sqlite":
        assert (copy / "coopfed.db").read_bytes() == (FIXTURE / "coopfed.db").read_bytes()
        return
    dump = data.with_name("coopfed-before-upgrade.sql")
    schema = str(backend.schema)
    subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, "--file", str(dump), _dsn(PG_URL)], check=True
    )
    assert f"CREATE TABLE {schema}.records " in dump.read_text()


async def wait_for_checkpoint(http: aiohttp.ClientSession, url: str, size: int) -> str:
    """The node's checkpoint note once it covers ``size`` entries (the 5 s interval rule)."""
    for _ in range(100):
        async with http.get(f"{url}/checkpoint") as resp:
            note = await resp.text()
        if checkpoint_head(note)[0] >= size:
            return note
        await asyncio.sleep(0.25)
    raise AssertionError(f"no checkpoint of size {size} within 25 s; the latest: {note!r}")


async def test_a_v010_data_directory_upgrades_in_place_and_serves_the_same_coop(
    backend: Backend, tmp_path: Path
) -> None:
    data = tmp_path / "coop"
    await restore(backend, data)
    await asyncio.to_thread(back_up, backend, data)
    # The node's clock reads the time the fixture was observed at, so that profiles,
    # flags and reviews are judged at the same moment (COOPFED_CLOCK_OFFSET_MS, for tests).
    offset = EXPECTED["now_ms"] - now_ms()
    server = await asyncio.to_thread(Server, data, offset_ms=offset)
    try:
        async with aiohttp.ClientSession() as http:
            seen = await observe(http, server.url, EXPECTED["peer"]["coop"])
            for part in ("coop", "log", "peer", "equivocations", "members", "blocklist"):
                assert seen[part] == EXPECTED[part], part
            assert seen["member_count"] == EXPECTED["member_count"]
            assert seen["profile"] == EXPECTED["profile"]

            # The invites survived: the used one is refused, the unused one admits.
            old_size, old_root = checkpoint_head(EXPECTED["log"]["checkpoint"])
            apply = sign_record(
                key("gil"), coop=EXPECTED["coop"], ts=now_ms() + offset, body=MemberApply()
            )
            for token, status in (
                (EXPECTED["invites"]["used"], 409),
                (EXPECTED["invites"]["unused"], 201),
            ):
                async with http.post(
                    f"{server.url}/api/v1/join", json={"apply": apply.raw.hex(), "token": token}
                ) as resp:
                    assert resp.status == status, await resp.text()
            async with http.get(f"{server.url}/api/v1/members") as resp:
                assert len((await resp.json())["members"]) == EXPECTED["member_count"] + 1

            # Still a working node: a member's record is appended, and the new log
            # extends the old one (a consistency proof from the fixture's checkpoint).
            record = sign_record(
                key("ana"),
                coop=EXPECTED["coop"],
                ts=now_ms() + offset,
                body=Rating(
                    requester=RequesterRef(platform="mturk", id="A6AFTERUPGRADE"),
                    scores=(("pay", 4),),
                ),
            )
            async with http.post(
                f"{server.url}/api/v1/records",
                data=record.raw,
                headers={"Content-Type": MSGPACK},
            ) as resp:
                assert resp.status == 201, await resp.text()
                assert (await resp.json())["index"] == old_size + 1
            note = await wait_for_checkpoint(http, server.url, old_size + 2)
            new_size, new_root = checkpoint_head(note)
            async with http.get(
                f"{server.url}/api/v1/proof/consistency?old={old_size}&new={new_size}"
            ) as resp:
                proof = [bytes.fromhex(h) for h in (await resp.json())["proof"]]
            verify_consistency(
                old_size, new_size, bytes.fromhex(old_root), bytes.fromhex(new_root), proof
            )

        # What the README tells an operator to run after an upgrade.
        env = {k: v for k, v in os.environ.items() if not k.startswith("COOPFED_")}
        verify = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "coopfed.node", "log", "verify", "--node", server.url],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert verify.returncode == 0, verify.stderr
        assert str(new_size) in verify.stdout, verify.stdout
    finally:
        await asyncio.to_thread(server.stop)


def test_the_fixture_files_agree_with_each_other() -> None:
    """The fixture files agree with each other (a regenerated fixture must keep them so)."""
    assert (FIXTURE / "coopfed.db").read_bytes()[:16] == b"SQLite format 3\x00"
    assert not list(FIXTURE.glob("coopfed.db-*")), "a WAL beside the fixture would be lost"
    dump = (FIXTURE / "postgres.sql").read_text(encoding="utf-8")
    assert f"CREATE SCHEMA {DUMPED_SCHEMA};" in dump and "\\restrict" not in dump
    assert "INSERT INTO coopfed_v010.alembic_version VALUES ('0003');" in dump
    size, root = checkpoint_head(EXPECTED["log"]["checkpoint"])
    assert (size, root) == (EXPECTED["log"]["size"], EXPECTED["log"]["root"])
    assert base64.b64decode(EXPECTED["log"]["checkpoint"].split("\n")[2]).hex() == root
    total = sum(p.stat().st_size for p in FIXTURE.iterdir())
    assert total < 800_000, f"the fixture grew to {total} bytes"
