"""Applications to join by vote wait outside the log until a member sponsors them (issue 11).

Real nodes on 127.0.0.1 over HTTP, on SQLite and on PostgreSQL: outsiders cannot grow the
co-op's log, a member's admit proposal brings an application in, and what the node holds
is bounded in number and in time.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from coopkit import CHARTER, DAY, FOUNDERS, HOUR, REQ, T0, did, sign
from test_app import Clock, Live, found_config, serve

from coopfed.node.service import Node
from coopfed.protocol.bodies import Ballot, MemberApply, Proposal, ProposalKind, Rating, RecordType
from coopfed.protocol.identity import Identity, SigningIdentity
from coopfed.protocol.records import Record

BY_VOTE = dataclasses.replace(CHARTER, admission="vote")


def stranger(i: int) -> SigningIdentity:
    """A fresh key nobody invited."""
    return SigningIdentity(hashlib.sha256(b"coopfed-test-stranger-%d" % i).digest())


async def start(backend: Any, **settings: Any) -> Live:
    config = backend.config(governance_interval_s=0.02, checkpoint_interval_s=0.05, **settings)
    await found_config(config, BY_VOTE)
    return await serve(config, Clock(T0 + 1000))


@pytest.fixture
async def live(backend: Any) -> AsyncIterator[Live]:
    node = await start(backend)
    try:
        yield node
    finally:
        await node.client.close()


async def apply(
    live: Live, who: str | SigningIdentity, text: str | None = "Surveys, evenings."
) -> Any:
    """Sign and post a new application: (the response, its JSON, the record)."""
    record = live.sign(who, MemberApply(text=text))
    return await post_apply(live, record)


async def post_apply(live: Live, record: Record) -> Any:
    resp = await live.client.post("/api/v1/join", json={"apply": record.raw.hex()})
    return resp, await resp.json(), record


def sponsorship(live: Live, who: str, application: Record, **fields: Any) -> Record:
    body = Proposal(
        kind=ProposalKind.ADMIT,
        pitch=fields.pop("pitch", "Admit them"),
        member=fields.pop("member", application.author),
        application=application.id,
        opens=live.clock.now,
        closes=live.clock.now + HOUR,
        **fields,
    )
    return live.sign(who, body)


async def size(live: Live) -> int:
    return int((await live.get("/api/v1/status"))["size"])


# --------------------------------------------------------------------------- the flood


async def test_a_flood_of_applications_leaves_the_log_as_it_was(live: Live) -> None:
    """N applications from fresh keys: the log keeps its size, and the ones past the cap
    are refused with ``applications_full`` (before issue 11: 2 log records each)."""
    cap = live.config.max_pending_applications
    assert cap == 50  # the default
    before = await size(live)
    checkpoint = await live.client.get("/checkpoint")
    assert checkpoint.status == 200
    n = cap + 30
    answers = [await apply(live, stranger(i), f"spam {i}") for i in range(n)]
    held = [body for resp, body, _ in answers if resp.status == 202]
    full = [(resp, body) for resp, body, _ in answers if resp.status != 202]
    assert len(held) == cap and len(full) == n - cap
    assert all(b["status"] == "pending" and b["index"] is None for b in held)
    for resp, body in full:
        assert resp.status == 429 and body["error"]["code"] == "applications_full", body
        # A slot frees when the soonest held application expires, at the latest.
        assert int(resp.headers["Retry-After"]) == live.config.application_ttl_s
    assert await size(live) == before
    listed = await live.get("/api/v1/applications")
    assert listed["count"] == cap and listed["max"] == cap
    assert {a["member"] for a in listed["applications"]} == {stranger(i).did for i in range(cap)}
    # Nothing an outsider sent is in the log, the tiles or the checkpoint.
    assert await size(live) == before
    for _, _, record in answers:
        await live.get(f"/api/v1/records/{record.id.hex()}", status=404)
    # A replay of a held application still answers the same though the queue is full.
    resp, again, _ = await post_apply(live, answers[0][2])
    assert resp.status == 202 and again == answers[0][1]


async def test_the_list_shows_what_members_need_and_days_not_times(live: Live) -> None:
    live.clock.now = T0 + 5 * HOUR + 1234  # 2026-01-01 05:00:01.234 UTC
    resp, body, record = await apply(live, "eve", "I do transcription at night.")
    assert resp.status == 202, body
    assert body == {
        "id": record.id.hex(),
        "index": None,
        "member": did("eve"),
        "handle": Identity.from_did(did("eve")).handle,
        "admitted": False,
        "status": "pending",
        "via": "vote",
        "expires": live.clock.now + 14 * DAY,
        "message": body["message"],
    }
    assert "sponsor" in body["message"] and "2026-01-15" in body["message"]
    listed = await live.get("/api/v1/applications")
    assert listed == {
        "count": 1,
        "max": 50,
        "applications": [
            {
                "id": record.id.hex(),
                "member": did("eve"),
                "handle": Identity.from_did(did("eve")).handle,
                "long_handle": Identity.from_did(did("eve")).long_handle,
                "text": "I do transcription at night.",
                "received": "2026-01-01",
                "expires": "2026-01-15",
            }
        ],
    }
    assert str(live.clock.now) not in str(listed)


# --------------------------------------------------------------------------- sponsorship


async def test_a_sponsored_application_enters_the_log_is_voted_and_admits(live: Live) -> None:
    before = await size(live)
    resp, pending, application = await apply(live, "eve")
    assert resp.status == 202 and await size(live) == before
    await live.refused(live.sign("eve", Rating(requester=REQ, text="x")), 403, "not_member")

    # Neither an outsider nor the applicant can sponsor; nor can a member name someone else.
    await live.refused(sponsorship(live, "fay", application), 403, "not_member")
    await live.refused(sponsorship(live, "eve", application), 403, "not_member")
    await live.refused(sponsorship(live, "ana", application, member=did("fay")), 400, "mismatch")
    assert await size(live) == before
    assert (await live.get("/api/v1/applications"))["count"] == 1

    # A member sponsors it: the application, then the proposal, enter the log together.
    live.clock.now += 60_000
    proposal = sponsorship(live, "ana", application, text="I know her work.")
    sponsored = await live.ok(proposal)
    assert await size(live) == before + 2
    assert sponsored["index"] == before + 1
    stored = await live.get(f"/api/v1/records/{application.id.hex()}")
    assert stored["index"] == before and stored["type"] == RecordType.MEMBER_APPLY.value
    assert stored["ts"] == application.ts  # the applicant's own time, as signed
    assert (await live.get("/api/v1/applications"))["count"] == 0
    assert (await live.ok(proposal, status=200))["index"] == sponsored["index"]  # a replay
    # A second member's sponsorship while the vote is open would split the ballots.
    await live.refused(sponsorship(live, "bo", application), 409, "already_sponsored")

    # The applicant's replay now names the vote.
    resp, now_sponsored, _ = await post_apply(live, application)
    assert resp.status == 200, now_sponsored
    assert now_sponsored["status"] == "sponsored" and now_sponsored["id"] == proposal.id.hex()
    assert now_sponsored["index"] == sponsored["index"] and not now_sponsored["admitted"]
    assert pending["id"] == application.id.hex()

    prop = await live.get(f"/api/v1/proposals/{proposal.id.hex()}")
    assert prop["author"] == did("ana") and prop["body"]["member"] == did("eve")
    for who in FOUNDERS:
        await live.ok(live.sign(who, Ballot(proposal=proposal.id, choice="yes")))
    live.clock.now += HOUR

    async def admitted() -> bool:
        members = (await live.get("/api/v1/members"))["members"]
        return did("eve") in {m["did"] for m in members}

    await live.governed(admitted)
    await live.ok(live.sign("eve", Rating(requester=REQ, text="now I can")))
    resp, after, _ = await post_apply(live, application)
    assert resp.status == 200 and after["admitted"] and after["status"] == "sponsored"


async def test_an_application_unknown_here_cannot_be_sponsored(live: Live) -> None:
    never_sent = live.sign("eve", MemberApply())
    await live.refused(sponsorship(live, "ana", never_sent), 409, "unknown_application")


async def test_a_key_admitted_another_way_leaves_the_list(live: Live) -> None:
    """A member may propose admitting someone without citing their application."""
    _, _, application = await apply(live, "eve")
    plain = live.sign(
        "ana",
        Proposal(
            kind=ProposalKind.ADMIT,
            pitch="Admit eve",
            member=did("eve"),
            opens=live.clock.now,
            closes=live.clock.now + HOUR,
        ),
    )
    await live.ok(plain)
    for who in FOUNDERS:
        await live.ok(live.sign(who, Ballot(proposal=plain.id, choice="yes")))
    live.clock.now += HOUR

    async def admitted() -> bool:
        return (await live.get("/api/v1/applications"))["count"] == 0

    await live.governed(admitted)
    await live.refused(sponsorship(live, "ana", application), 409, "already_member")


# --------------------------------------------------------------------------- replay and limits


async def test_a_replayed_application_answers_the_same(live: Live) -> None:
    resp, first, application = await apply(live, "eve")
    resp2, second, _ = await post_apply(live, application)
    assert (resp.status, resp2.status) == (202, 202) and first == second
    # Another application from the same key waits for the first to go.
    resp, body, _ = await apply(live, "eve", "again")
    assert resp.status == 409 and body["error"]["code"] == "already_applied"
    # A member needs no application.
    resp, body, _ = await apply(live, "ana")
    assert resp.status == 409 and body["error"]["code"] == "already_member"


async def test_applications_expire_and_free_their_place(backend: Any) -> None:
    live = await start(backend, max_pending_applications=2, application_ttl_s=3600)
    try:
        before = await size(live)
        _, _, first = await apply(live, "eve")
        live.clock.now += 10 * 60_000
        await apply(live, "fay")
        resp, body, _ = await apply(live, "gus")
        assert resp.status == 429 and body["error"]["code"] == "applications_full"
        assert resp.headers["Retry-After"] == str(3600 - 600)  # when eve's expires
        live.clock.now += 50 * 60_000  # eve's expires now
        assert [a["member"] for a in (await live.get("/api/v1/applications"))["applications"]] == [
            did("fay")
        ]
        await live.refused(sponsorship(live, "ana", first), 409, "application_expired")
        resp, body, _ = await post_apply(live, first)
        assert resp.status == 409 and body["error"]["code"] == "application_expired"
        resp, body, _ = await apply(live, "gus")  # eve's place is free
        assert resp.status == 202, body
        resp, body, _ = await apply(live, "eve", "a new application")  # so is eve
        assert resp.status == 429 and body["error"]["code"] == "applications_full"
        live.clock.now += 10 * 60_000  # fay's expires
        resp, body, _ = await apply(live, "eve", "a new application")
        assert resp.status == 202, body
        listed = (await live.get("/api/v1/applications"))["applications"]
        assert [a["member"] for a in listed] == [did("gus"), did("eve")]
        assert await size(live) == before
    finally:
        await live.client.close()


# --------------------------------------------------------------------------- old logs


async def test_a_log_from_before_issue_11_still_opens_and_votes(backend: Any) -> None:
    """Older nodes appended each application with an admit proposal the co-op key signed."""
    config = backend.config(governance_interval_s=0.02)
    node = await Node.create(
        config, name=BY_VOTE.name, charter=BY_VOTE, founders=[did(f) for f in FOUNDERS], now_ms=T0
    )
    application = sign(node, "eve", MemberApply(text="old style"), ts=T0 + 10)
    old = node._sign(
        Proposal(
            kind=ProposalKind.ADMIT,
            pitch="Admit eve as a member",
            member=did("eve"),
            application=application.id,
            opens=T0 + 10,
            closes=T0 + 10 + HOUR,
        ),
        T0 + 10,
    )
    async with node.store.write() as tx:  # what an older node's database holds
        await tx.append([application, old])
    await node.close()
    node = backend.track(await Node.open(config))
    assert node.state.proposal(old.id) is not None
    await node.close()
    backend.nodes.remove(node)

    live = await serve(config, Clock(T0 + 20))
    try:
        resp, body, _ = await post_apply(live, application)
        assert resp.status == 200 and body["status"] == "sponsored" and body["id"] == old.id.hex()
        for who in FOUNDERS:
            await live.ok(live.sign(who, Ballot(proposal=old.id, choice="yes")))
        live.clock.now += HOUR

        async def admitted() -> bool:
            members = (await live.get("/api/v1/members"))["members"]
            return did("eve") in {m["did"] for m in members}

        await live.governed(admitted)
    finally:
        await live.client.close()


# --------------------------------------------------------------------------- the migration


async def test_migration_0004_adds_the_applications_table(backend: Any) -> None:
    """A database at 0003 upgrades, on SQLite and PostgreSQL, and then holds applications."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from coopfed.node import storage

    config = backend.config()
    node = await Node.create(
        config, name=BY_VOTE.name, charter=BY_VOTE, founders=[did(f) for f in FOUNDERS], now_ms=T0
    )
    await node.close()

    def to(revision: str, down: bool) -> Any:
        def run(connection: sa.Connection) -> list[str]:
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(storage.MIGRATIONS_DIR))
            cfg.attributes["connection"] = connection
            cfg.attributes["schema"] = config.schema
            (command.downgrade if down else command.upgrade)(cfg, revision)
            return sa.inspect(connection).get_table_names()

        return run

    engine = storage.make_engine(config)
    try:
        async with engine.begin() as conn:
            if config.schema is not None:
                await conn.exec_driver_sql(f'SET search_path TO "{config.schema}"')
            tables = await conn.run_sync(to("0003", down=True))
            assert "applications" not in tables and "invites" in tables
            version = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert version.all() == [("0003",)]
    finally:
        await engine.dispose()
    node = backend.track(await Node.open(config))  # upgrades to the newest revision
    async with node.store.read() as conn:
        version = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
        assert version.all() == [("0004",)]
    result = await node.join(
        apply_raw=sign(node, "eve", MemberApply(), ts=T0 + 5).raw, token=None, now_ms=T0 + 5
    )
    assert result.index is None and result.created
    assert [a.record.author for a in await node.applications(now_ms=T0 + 6)] == [did("eve")]
