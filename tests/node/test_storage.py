"""Storage: acknowledged records survive restarts and crashes; the log always hashes to the tree."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import sys
import textwrap

import pytest
import sqlalchemy as sa
from coopkit import DAY, REQ, T0, did, found, key, log_root, rating, reopen, sign

from coopfed.node.config import Config
from coopfed.node.keys import read_coop_key
from coopfed.node.service import Node, NodeSetupError, NotFound
from coopfed.node.storage import StorageError, WriteTx, records, tree_nodes
from coopfed.protocol.bodies import (
    MemberResign,
    MemberRevoke,
    RequesterAlias,
    RequesterRef,
)
from coopfed.protocol.checkpoint import SignedCheckpoint
from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.errors import (
    DecodeError,
    InvalidRecord,
    InvalidSignature,
    RecordRejected,
)
from coopfed.protocol.merkle import (
    TILE_WIDTH,
    Frontier,
    leaf_hash,
    root_from_leaf_hashes,
    tile_reader,
    verify_consistency,
    verify_inclusion,
)
from coopfed.protocol.note import NoteVerifier


def verifier(node: Node) -> NoteVerifier:
    return NoteVerifier.ed25519(node.origin, node.coop.public_key)


def signed(node: Node, note: bytes) -> SignedCheckpoint:
    return SignedCheckpoint(note=note, log_verifier=verifier(node))


async def count(node: Node, table: sa.Table) -> int:
    async with node.store.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


# --------------------------------------------------------------------------- the database


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_runs_in_wal_with_full_sync(backend):
    node = await found(backend)
    async with node.store.read() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL
    assert (node.config.data_dir / "coopfed.db").exists()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_tables_live_in_the_test_schema(backend):
    node = await found(backend)
    async with node.store.read() as conn:
        rows = await conn.execute(
            sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": backend.schema},
        )
        tables = {r[0] for r in rows}
    assert {
        "records",
        "tree_nodes",
        "tree_head",
        "checkpoints",
        "invites",
        "applications",
        "meta",
        "alembic_version",
    } <= tables


async def test_migrations_run_once_and_reopen_cleanly(backend):
    node = await found(backend)
    node = await reopen(backend, node)
    node = await reopen(backend, node)
    async with node.store.read() as conn:
        assert (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all() == [
            ("0004",)
        ]


async def test_migration_0003_gives_stored_peer_records_their_requester(backend):
    """A database from before 0003 holds followed records; the upgrade fills the column."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from coopfed.node import storage
    from coopfed.node.peers import peer_records

    node = await found(backend)
    config = node.config
    other = key("other-coop").did
    made = [rating(node, "ana"), rating(node, "bo", requester=RequesterRef(platform="x", id="Y"))]
    await node.close()

    def to(revision: str, down: bool):
        def run(connection: sa.Connection) -> None:
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(storage.MIGRATIONS_DIR))
            cfg.attributes["connection"] = connection
            cfg.attributes["schema"] = config.schema
            (command.downgrade if down else command.upgrade)(cfg, revision)

        return run

    engine = storage.make_engine(config)
    try:
        async with engine.begin() as conn:
            if config.schema is not None:
                await conn.exec_driver_sql(f'SET search_path TO "{config.schema}"')
            await conn.run_sync(to("0002", down=True))
            rows = [
                {"coop": other, "idx": i, "id": r.id, "type": r.type.value,
                 "author": r.author, "ts": r.ts, "raw": r.raw}
                for i, r in enumerate(made)
            ]  # fmt: skip
            await conn.execute(
                sa.table("peer_records", *[sa.column(k) for k in rows[0]]).insert(), rows
            )
    finally:
        await engine.dispose()
    node = backend.track(await Node.open(config))  # upgrades to the newest revision
    async with node.store.read() as conn:
        got = (
            await conn.execute(
                sa.select(peer_records.c.idx, peer_records.c.requester).order_by(peer_records.c.idx)
            )
        ).all()
    assert [tuple(r) for r in got] == [(0, str(REQ)), (1, "x:Y")]


def test_the_migrations_empty_frontier_is_the_protocols():
    import coopfed.node.storage as storage

    path = storage.MIGRATIONS_DIR / "versions" / "0001_initial.py"
    spec = importlib.util.spec_from_file_location("initial", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert Frontier.empty().to_bytes() == migration.EMPTY_FRONTIER


async def test_create_writes_key_token_config_and_founding_log(backend):
    node = await found(backend)
    data = node.config.data_dir
    for name in ("coop.key", "admin.token"):
        assert (data / name).stat().st_mode & 0o777 == 0o600
    assert read_coop_key(data).did == node.did
    assert Config.load(data) == node.config
    assert node.state.size == 4  # charter + three founders
    assert node.state.members() == {did("ana"), did("bo"), did("cy")}
    cp = signed(node, await node.checkpoint(now_ms=T0))
    assert (cp.size, cp.root_hash) == await log_root(node)


async def test_create_refuses_an_existing_coop(backend):
    node = await found(backend)
    with pytest.raises(NodeSetupError):
        await Node.create(
            node.config, name="Again", charter=node.state.charter[1], founders=[], now_ms=T0
        )


async def test_open_refuses_a_key_that_is_not_the_databases(backend):
    node = await found(backend)
    await node.close()
    backend.nodes.remove(node)
    (node.config.data_dir / "coop.key").write_text(hashlib.sha256(b"x").hexdigest() + "\n")
    with pytest.raises(NodeSetupError, match="belongs to co-op"):
        await Node.open(node.config)


# --------------------------------------------------------------------------- append and replay


async def test_append_replay_and_restart_keep_everything(backend):
    node = await found(backend)
    made = [
        rating(node, who, scores=(("pay", 1 + i % 5),), ts=T0 + i)
        for i, who in enumerate(["ana", "bo", "cy"] * 4)
    ]
    results = [await node.submit(r.raw, now_ms=T0) for r in made]
    assert [r.index for r in results] == list(range(4, 16))
    assert all(r.created for r in results)
    again = [await node.submit(r.raw, now_ms=T0 + DAY) for r in made]  # late replay too
    assert [(r.id, r.index, r.created) for r in again] == [(r.id, r.index, False) for r in results]
    note = await node.sign_checkpoint(now_ms=T0)

    node = await reopen(backend, node)
    assert node.state.size == await node.size() == 16
    for r, res in zip(made, results, strict=True):
        assert await node.record(r.id) == (res.index, r.raw)
        assert node.state.entry(r.id).index == res.index
    assert await node.entries(4, 16) == [r.raw for r in made]
    assert await node.checkpoint(now_ms=T0) == note
    again = await node.submit(made[0].raw, now_ms=T0)
    assert (again.index, again.created) == (4, False)


async def test_log_and_tree_agree_after_restart(backend):
    node = await found(backend, checkpoint_every=10_000)
    page = [
        rating(node, "ana", requester=RequesterRef(platform="mturk", id=f"R{i}"))
        for i in range(300)
    ]
    results = await node.submit_many([r.raw for r in page], now_ms=T0)
    assert [r.index for r in results] == list(range(4, 304))
    node = await reopen(backend, node)
    size, root = await log_root(node)
    assert size == 304
    cp = signed(node, await node.sign_checkpoint(now_ms=T0))
    assert (cp.size, cp.root_hash) == (size, root)
    assert (await node.store.head()).root() == root
    # Proofs and tiles come from stored nodes and check against the signed root.
    raws = await node.entries(0, 304)
    for index in (0, 3, 255, 256, 303):
        proof = await node.inclusion_proof(index, size)
        verify_inclusion(leaf_hash(raws[index]), index, size, proof, root)
    old = signed(node, (await node.store.checkpoint_at(4)).note)
    verify_consistency(4, size, old.root_hash, root, await node.consistency_proof(4, size))

    tile = await node.tile(0, 0, TILE_WIDTH)
    assert tile == b"".join(leaf_hash(r) for r in raws[:256])
    assert await node.tile(0, 1, 48) == b"".join(leaf_hash(r) for r in raws[256:304])
    assert await node.tile(1, 0, 1) == root_from_leaf_hashes([leaf_hash(r) for r in raws[:256]])

    async def fetch(tiles):
        return [await node.tile(*t) for t in tiles]

    wanted = [(0, 0, 256), (0, 1, 48), (1, 0, 1)]
    bodies = dict(zip(wanted, await fetch(wanted), strict=True))
    read = tile_reader(size, lambda ts: [bodies[t] for t in ts])
    assert Frontier(size=size, hashes=tuple(read([(8, 0), (5, 8), (4, 18)]))).root() == root

    bundle = await node.entry_bundle(1, 48)
    out, pos = [], 0
    while pos < len(bundle):
        n = int.from_bytes(bundle[pos : pos + 2], "big")
        out.append(bundle[pos + 2 : pos + 2 + n])
        pos += 2 + n
    assert out == raws[256:304]
    with pytest.raises(NotFound):
        await node.tile(0, 1, 49)
    with pytest.raises(NotFound):
        await node.entry_bundle(1, 49)
    with pytest.raises(NotFound):
        await node.inclusion_proof(0, size + 1)


async def test_a_crash_inside_the_transaction_leaves_nothing(backend, monkeypatch):
    node = await found(backend)
    before = (
        await node.size(),
        await count(node, records),
        await count(node, tree_nodes),
        (await node.store.head()).root(),
        node.state.size,
    )
    real_append = WriteTx.append

    async def crash_after_inserts(self, new):
        await real_append(self, new)
        inserted = await self.conn.execute(sa.select(sa.func.count()).select_from(records))
        assert inserted.scalar_one() == self.size  # visible inside this transaction
        raise RuntimeError("simulated crash between the inserts and the commit")

    monkeypatch.setattr(WriteTx, "append", crash_after_inserts)
    one = rating(node, "ana")
    with pytest.raises(RuntimeError, match="simulated"):
        await node.submit(one.raw, now_ms=T0)
    page = [rating(node, "bo", ts=T0 + i) for i in range(5)]
    with pytest.raises(RuntimeError, match="simulated"):
        await node.submit_many([r.raw for r in page], now_ms=T0)
    with pytest.raises(RuntimeError, match="simulated"):
        await node.append_own(
            RequesterAlias(requester=RequesterRef(platform="mturk", id="B2"), alias_of=REQ),
            now_ms=T0,
        )
    monkeypatch.undo()

    after = (
        await node.size(),
        await count(node, records),
        await count(node, tree_nodes),
        (await node.store.head()).root(),
        node.state.size,
    )
    assert after == before
    assert node.state.entry(one.id) is None and await node.record(one.id) is None
    res = await node.submit(one.raw, now_ms=T0)
    assert (res.index, res.created) == (before[0], True)
    node = await reopen(backend, node)
    assert await log_root(node) == (node.state.size, (await node.store.head()).root())


CRASHER = textwrap.dedent("""
    import asyncio, hashlib, sys
    from coopfed.node.config import Config
    from coopfed.node.service import Node
    from coopfed.protocol.identity import SigningIdentity
    from coopfed.protocol.bodies import Rating, RequesterRef
    from coopfed.protocol.records import sign_record

    async def main(data_dir, t0):
        node = await Node.open(Config.load(data_dir))
        ana = SigningIdentity(hashlib.sha256(b"coopfed-test-ana").digest())
        i = 0
        while True:
            body = Rating(requester=RequesterRef(platform="mturk", id=f"R{i}"), text="x")
            r = sign_record(ana, coop=node.did, ts=t0, body=body)
            res = await node.submit(r.raw, now_ms=t0)
            print(res.index, r.id.hex(), flush=True)
            i += 1

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
""")


async def test_a_killed_process_loses_no_acknowledged_record(backend, tmp_path):
    node = await found(backend, checkpoint_every=7)
    config = node.config
    await node.close()
    backend.nodes.remove(node)
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-bb",
        str(script),
        str(config.data_dir),
        str(T0),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    acked: list[tuple[int, bytes]] = []
    assert proc.stdout is not None
    try:
        while len(acked) < 40:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if not line:
                assert proc.stderr is not None
                pytest.fail((await proc.stderr.read()).decode())
            index, rid = line.split()
            acked.append((int(index), bytes.fromhex(rid.decode())))
    finally:
        proc.kill()  # SIGKILL: no clean-up, possibly mid-transaction
        await proc.wait()

    node = backend.track(await Node.open(config))  # open() checks log == tree itself
    for index, rid in acked:
        assert await node.record(rid) is not None
        assert (await node.record(rid))[0] == index
    assert node.state.size >= acked[-1][0] + 1
    size, root = await log_root(node)
    assert (await node.store.head()).root() == root
    cp = signed(node, await node.sign_checkpoint(now_ms=T0))
    assert (cp.size, cp.root_hash) == (size, root)
    res = await node.submit(rating(node, "bo").raw, now_ms=T0)
    assert res.index == size


async def test_open_detects_a_log_that_disagrees_with_the_tree(backend):
    node = await found(backend)
    await node.submit(rating(node, "ana").raw, now_ms=T0)
    other = rating(node, "bo")
    async with node.store.engine.begin() as conn:
        await conn.execute(records.update().where(records.c.idx == 4).values(raw=other.raw))
    await node.close()
    backend.nodes.remove(node)
    with pytest.raises(StorageError, match="disagree"):
        await Node.open(node.config)


# --------------------------------------------------------------------------- refusals


async def test_each_bad_submission_raises_its_own_error(backend):
    node = await found(backend)
    good = rating(node, "ana")
    with pytest.raises(DecodeError):
        await node.submit(b"\xc1", now_ms=T0)
    with pytest.raises(DecodeError):
        await node.submit(good.raw[:-1], now_ms=T0)
    with pytest.raises(InvalidRecord):
        await node.submit(encode({"hello": "world"}), now_ms=T0)
    tampered = decode(good.raw)
    tampered["sig"] = bytes(64)
    with pytest.raises(InvalidSignature):
        await node.submit(encode(tampered), now_ms=T0)

    with pytest.raises(RecordRejected) as exc:
        await node.submit(rating(node, "mallory").raw, now_ms=T0)
    assert exc.value.code == "not_member"
    with pytest.raises(RecordRejected) as exc:
        await node.submit(good.raw, now_ms=T0 + 3_600_000)
    assert exc.value.code == "skew"

    resign = await node.submit(sign(node, "cy", MemberResign()).raw, now_ms=T0)
    await node.append_own(
        MemberRevoke(member=did("cy"), via="resignation", ref=resign.id), now_ms=T0
    )
    with pytest.raises(RecordRejected) as exc:
        await node.submit(rating(node, "cy").raw, now_ms=T0)
    assert exc.value.code == "revoked"

    other_coop = key("other-coop")
    from coopfed.protocol.bodies import Rating
    from coopfed.protocol.records import sign_record

    foreign = sign_record(
        key("ana"), coop=other_coop.did, ts=T0, body=Rating(requester=REQ, text="hi")
    )
    with pytest.raises(RecordRejected) as exc:
        await node.submit(foreign.raw, now_ms=T0)
    assert exc.value.code == "wrong_coop"
    assert node.state.size == await node.size() == 6  # only the resignation and revocation


# --------------------------------------------------------------------------- checkpoints


async def test_checkpoints_follow_the_count_and_time_policy(backend):
    node = await found(backend, checkpoint_every=4, checkpoint_interval_s=5.0)
    first = signed(node, await node.checkpoint(now_ms=T0))
    assert first.size == 4
    for i in range(3):
        await node.submit(rating(node, "ana", ts=T0 + i).raw, now_ms=T0)
    assert signed(node, await node.checkpoint(now_ms=T0 + 1_000)).size == 4  # not yet
    await node.submit(rating(node, "bo").raw, now_ms=T0)
    assert signed(node, await node.checkpoint(now_ms=T0 + 1_000)).size == 8  # 4 appends
    await node.submit(rating(node, "cy").raw, now_ms=T0 + 2_000)
    assert signed(node, await node.checkpoint(now_ms=T0 + 6_000)).size == 8  # 4 s after
    assert signed(node, await node.checkpoint(now_ms=T0 + 7_000)).size == 9  # 5 s after
    # Forcing at a size already signed gives the stored note, never a second one.
    assert await node.sign_checkpoint(now_ms=T0 + 9_000) == await node.checkpoint(now_ms=T0)
    async with node.store.read() as conn:
        sizes = [
            r[0] for r in await conn.exec_driver_sql("SELECT size FROM checkpoints ORDER BY size")
        ]
    assert sizes == [4, 8, 9]


async def test_a_restarted_node_signs_what_it_had_not_signed(backend):
    node = await found(backend, checkpoint_every=100)
    await node.submit(rating(node, "ana").raw, now_ms=T0)
    node = await reopen(backend, node)
    await node.tick(now_ms=T0 + 1)
    assert signed(node, await node.checkpoint(now_ms=T0 + 1)).size == 5


# --------------------------------------------------------------------------- concurrency


async def test_two_nodes_on_one_database_never_skip_or_repeat_an_index(backend):
    first = await found(backend, checkpoint_every=5)
    second = backend.track(await Node.open(first.config))
    third = backend.track(await Node.open(first.config))
    nodes = [first, second, third]
    made = [
        rating(first, who, requester=RequesterRef(platform="mturk", id=f"R{i}"))
        for i in range(20)
        for who in ("ana", "bo", "cy")
    ]

    parts = [made[i::3] for i in range(3)]
    results: list[list] = [[], [], []]
    # In rounds: each round the three nodes race for the next indexes, so every node
    # appends after entries the others appended (left free, one node can finish its
    # whole share before the others start, and the race is never run).
    for round_ in zip(*parts, strict=True):
        got = await asyncio.gather(
            *(n.submit(r.raw, now_ms=T0) for n, r in zip(nodes, round_, strict=True))
        )
        for out, result in zip(results, got, strict=True):
            out.append(result)
    indexes = sorted(r.index for rs in results for r in rs)
    assert indexes == list(range(4, 64))
    assert all(rs[-1].index - rs[0].index + 1 > len(rs) for rs in results)
    # A replay through another node finds the record where the first put it.
    again = await third.submit(parts[0][0].raw, now_ms=T0)
    assert (again.index, again.created) == (results[0][0].index, False)
    for n in nodes:
        await n.refresh()
        assert n.state.size == 64
    size, root = await log_root(first)
    assert (await first.store.head()).root() == root
    # Every checkpoint any of them signed is of the one history.
    raws = await first.entries(0, size)
    async with first.store.read() as conn:
        notes = [bytes(r[0]) for r in await conn.exec_driver_sql("SELECT note FROM checkpoints")]
    assert len(notes) >= 2
    for note in notes:
        cp = signed(first, note)
        assert cp.root_hash == root_from_leaf_hashes([leaf_hash(r) for r in raws[: cp.size]])
