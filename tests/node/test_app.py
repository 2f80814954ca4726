"""The HTTP API on real aiohttp servers on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from coopkit import CHARTER, DAY, FOUNDERS, HOUR, REQ, T0, NodeTestServer, did, key
from test_cli import Cli

from coopfed.node import app as app_module
from coopfed.node.api_errors import STATUS_BY_CODE
from coopfed.node.app import CLOCK_OFFSET_ENV, MSGPACK, clock_offset_from_env, create_app
from coopfed.node.config import Config
from coopfed.node.keys import read_admin_token
from coopfed.node.openapi import document
from coopfed.node.service import Node
from coopfed.protocol.bodies import (
    Ballot,
    Body,
    Charter,
    Flag,
    FlagReason,
    MemberApply,
    Proposal,
    ProposalKind,
    Rating,
    RequesterRef,
    Retraction,
    TaskReport,
)
from coopfed.protocol.checkpoint import SignedCheckpoint, log_origin
from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.identity import SigningIdentity, public_key_from_did
from coopfed.protocol.merkle import (
    TILE_WIDTH,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from coopfed.protocol.note import NoteVerifier
from coopfed.protocol.records import SIGNING_DOMAIN, Record, sign_record

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """The node's clock in these tests: Unix ms that the test moves forward."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclasses.dataclass
class Live:
    """A node served on 127.0.0.1, the client talking to it, and its clock."""

    config: Config
    clock: Clock
    client: TestClient[Any, Any]
    coop: str

    def sign(self, who: str | SigningIdentity, body: Body, *, ts: int | None = None) -> Record:
        signer = key(who) if isinstance(who, str) else who
        return sign_record(
            signer, coop=self.coop, ts=self.clock.now if ts is None else ts, body=body
        )

    async def post(self, record: Record | bytes, *, content_type: str = MSGPACK) -> ClientResponse:
        raw = record.raw if isinstance(record, Record) else record
        return await self.client.post(
            "/api/v1/records", data=raw, headers={"Content-Type": content_type}
        )

    async def ok(self, record: Record, status: int = 201) -> dict[str, Any]:
        resp = await self.post(record)
        body = await resp.json()
        assert resp.status == status, body
        assert body["id"] == record.id.hex()
        return dict(body)

    async def refused(self, record: Record | bytes, status: int, code: str, **kw: Any) -> str:
        resp = await self.post(record, **kw)
        return await expect_error(resp, status, code)

    async def get(self, path: str, status: int = 200, **kw: Any) -> Any:
        resp = await self.client.get(path, **kw)
        body = await resp.json()
        assert resp.status == status, body
        return body

    async def invite(self) -> str:
        token = read_admin_token(self.config.data_dir)
        resp = await self.client.post(
            "/api/v1/invites", json={"ttl_s": 3600}, headers={"Authorization": f"Bearer {token}"}
        )
        body = await resp.json()
        assert resp.status == 201, body
        assert body["expires"] == self.clock.now + 3_600_000
        return str(body["token"])

    async def join(self, who: str, token: str | None, status: int = 201) -> dict[str, Any]:
        apply = self.sign(who, MemberApply(text="hello"))
        payload: dict[str, Any] = {"apply": apply.raw.hex()}
        if token is not None:
            payload["token"] = token
        resp = await self.client.post("/api/v1/join", json=payload)
        body = await resp.json()
        assert resp.status == status, body
        return dict(body)

    async def governed(self, until: Any, timeout: float = 10.0) -> Any:
        """Wait for the background governance task to make ``until()`` true."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await until()
            if value:
                return value
            assert asyncio.get_running_loop().time() < deadline, "governance did not run"
            await asyncio.sleep(0.02)


async def expect_error(resp: ClientResponse, status: int, code: str) -> str:
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return str(body["error"]["message"])


async def serve(config: Config, clock: Clock) -> Live:
    client: TestClient[Any, Any] = TestClient(
        NodeTestServer(create_app(config, clock=clock), host="127.0.0.1")
    )
    await client.start_server()
    known = await (await client.get("/.well-known/coopfed")).json()
    return Live(config=config, clock=clock, client=client, coop=known["coop"])


async def found_config(config: Config, charter: Charter = CHARTER) -> None:
    node = await Node.create(
        config, name=charter.name, charter=charter, founders=[did(f) for f in FOUNDERS], now_ms=T0
    )
    await node.close()


@pytest.fixture
async def live(backend: Any) -> AsyncIterator[Live]:
    config = backend.config(governance_interval_s=0.02, checkpoint_interval_s=0.05)
    await found_config(config)
    node = await serve(config, Clock(T0 + 1000))
    try:
        yield node
    finally:
        await node.client.close()


def flag(
    live: Live, who: str, reason: FlagReason = FlagReason.UNDERPAID, requester: RequesterRef = REQ
) -> Record:
    return live.sign(
        who,
        Flag(
            requester=requester,
            target="requester",
            target_id=None,
            reason=reason,
            expires=live.clock.now + 30 * DAY,
        ),
    )


def proposal(live: Live, who: str, **fields: Any) -> Record:
    return live.sign(
        who,
        Proposal(pitch="A question", opens=live.clock.now, closes=live.clock.now + HOUR, **fields),
    )


# --------------------------------------------------------------------------- the whole story


async def test_members_rate_flag_and_vote_a_block_over_http(live: Live) -> None:
    known = await live.get("/.well-known/coopfed")
    assert known["name"] == CHARTER.name and known["origin"] == log_origin(live.coop)
    assert known["size"] == 1 + len(FOUNDERS)
    assert known["endpoints"]["checkpoint"] == "/checkpoint"
    charter = await live.get("/api/v1/charter")
    assert charter["id"] == known["charter"] and charter["record"]["type"] == "charter"

    # A new member joins by invite; the token works once.
    token = await live.invite()
    joined = await live.join("dee", token)
    assert joined["admitted"] and joined["via"] == "invite" and joined["member"] == did("dee")
    assert (await live.join("dee", token, status=200))["id"] == joined["id"]  # a replay
    resp = await live.client.post(
        "/api/v1/join", json={"apply": live.sign("eve", MemberApply()).raw.hex(), "token": token}
    )
    await expect_error(resp, 409, "invite_used")
    members = await live.get("/api/v1/members")
    assert members["count"] == 4 and did("dee") in {m["did"] for m in members["members"]}

    # Ratings and flags; a replay answers 200 with the same id and index.
    r1 = live.sign(
        "ana",
        Rating(
            requester=REQ,
            scores=(("fair", 1), ("pay", 2)),
            hourly_cents=400,
            rejected="some",
            text="rejected half",
        ),
    )
    first = await live.ok(r1)
    assert await live.ok(r1, status=200) == first
    await live.ok(live.sign("dee", Rating(requester=REQ, scores=(("pay", 1),), hourly_cents=300)))
    await live.ok(flag(live, "ana"))
    await live.ok(flag(live, "bo", FlagReason.UNFAIR_REJECTION))

    # The record comes back as JSON, or as the very bytes posted.
    view = await live.get(f"/api/v1/records/{r1.id.hex()}")
    assert view["type"] == "rating" and view["index"] == first["index"]
    resp = await live.client.get(f"/api/v1/records/{r1.id.hex()}", headers={"Accept": MSGPACK})
    assert resp.content_type == MSGPACK and await resp.read() == r1.raw

    # A block proposal, four ballots, and the window closes.
    prop = proposal(
        live, "ana", kind=ProposalKind.BLOCK, requester=REQ, reason=FlagReason.UNDERPAID
    )
    await live.ok(prop)
    for who, choice in (("ana", "yes"), ("bo", "yes"), ("cy", "no"), ("dee", "yes")):
        await live.ok(live.sign(who, Ballot(proposal=prop.id, choice=choice)))
    listed = (await live.get("/api/v1/proposals?status=open"))["proposals"]
    assert [p["id"] for p in listed] == [prop.id.hex()]
    assert listed[0]["tally"]["counts"] == {"abstain": 0, "no": 1, "yes": 3}

    live.clock.now += HOUR
    late = live.sign("cy", Ballot(proposal=prop.id, choice="yes"))
    await live.refused(late, 409, "voting_closed")

    # The background task tallies, signs the decision and carries it out.
    decided = await live.governed(lambda: _decided(live, prop.id.hex()))
    assert decided["status"] == "decided" and decided["tally"]["result"] == "passed"
    decision = await live.get(f"/api/v1/records/{decided['decision']}")
    assert decision["type"] == "decision" and decision["author"] == live.coop
    assert decision["body"]["result"] == "passed"

    # The blocklist, its CSV and its explanation; the requester's profile.
    bl = await live.governed(lambda: _blocklist(live))
    [entry] = bl["entries"]
    assert entry["requester"] == {"id": REQ.id, "platform": REQ.platform}
    assert entry["status"] == "blocked" and entry["reason"] == "underpaid"
    resp = await live.client.get("/api/v1/blocklist?format=csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["platform"], r["requester_id"], r["status"]) for r in rows] == [
        ("mturk", REQ.id, "blocked")
    ]
    assert rows[0]["blocks"] == entry["sources"][0]["block"]
    why = await live.get(f"/api/v1/blocklist/explain/{REQ.platform}/{REQ.id}")
    assert why["status"] == "blocked" and decided["decision"] in why["records"]
    assert any("decision" in step for step in why["steps"])
    profile = await live.get(f"/api/v1/requesters/{REQ.platform}/{REQ.id}")
    assert profile["blocklist"]["status"] == "blocked"
    assert profile["all"]["reports"] == 2
    assert profile["all"]["hourly_cents"]["median"] == 350
    assert profile["all"]["flags"] == {"underpaid": 1, "unfair_rejection": 1}
    assert profile["all"]["scores"]["pay"] == {"count": 2, "mean_x100": 150}

    status = await live.get("/api/v1/status")
    assert status["blocks"] == 1 and status["members"] == 4
    assert status["clock_offset_ms"] == 0


async def _decided(live: Live, pid: str) -> dict[str, Any] | None:
    p = await live.get(f"/api/v1/proposals/{pid}")
    return p if p["decision"] else None


async def _blocklist(live: Live) -> dict[str, Any] | None:
    bl = await live.get("/api/v1/blocklist")
    return bl if bl["entries"] else None


async def test_the_log_is_served_as_verifiable_tiles_and_proofs(live: Live) -> None:
    for i in range(5):
        await live.ok(live.sign(FOUNDERS[i % 3], Rating(requester=REQ, text=f"note {i}")))
    resp = await live.client.get("/checkpoint")
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-cache"
    assert resp.content_type == "text/plain"
    verifier = NoteVerifier.ed25519(log_origin(live.coop), public_key_from_did(live.coop))
    old = SignedCheckpoint.parse(await resp.read(), verifier)

    await live.ok(live.sign("ana", Rating(requester=REQ, text="one more")))
    live.clock.now += 10_000  # past checkpoint_interval_s on the node's clock
    new = await live.governed(lambda: _checkpoint_beyond(live, verifier, old.size))
    size = new.size

    # Entry bundle and level-0 tile: partial (size < 256), briefly cacheable.
    resp = await live.client.get(f"/tile/entries/000.p/{size}")
    assert resp.status == 200 and resp.headers["Cache-Control"] == app_module.PARTIAL
    data = await resp.read()
    raws = []
    while data:
        n = int.from_bytes(data[:2], "big")
        raws.append(data[2 : 2 + n])
        data = data[2 + n :]
    assert len(raws) == size
    hashes = [leaf_hash(r) for r in raws]
    assert root_from_leaf_hashes(hashes) == new.root_hash
    resp = await live.client.get(f"/tile/0/000.p/{size}")
    assert await resp.read() == b"".join(hashes)
    for r in raws:
        Record.from_bytes(r)  # every entry is a signed record

    # A full tile does not exist yet; a malformed tile path is not found either.
    await expect_error(await live.client.get("/tile/0/000"), 404, "tile_not_available")
    await expect_error(await live.client.get("/tile/0/0.p/3"), 404, "bad_tile_path")
    await expect_error(
        await live.client.get(f"/tile/entries/000.p/{size + 1}"), 404, "tile_not_available"
    )

    # Inclusion of the last entry, consistency between the two checkpoints.
    proof = await live.get(f"/api/v1/proof/inclusion?index={size - 1}&size={size}")
    verify_inclusion(
        hashes[-1], size - 1, size, [bytes.fromhex(h) for h in proof["proof"]], new.root_hash
    )
    proof = await live.get(f"/api/v1/proof/consistency?old={old.size}&new={size}")
    verify_consistency(
        old.size, size, old.root_hash, new.root_hash, [bytes.fromhex(h) for h in proof["proof"]]
    )
    await expect_error(
        await live.client.get("/api/v1/proof/inclusion?index=x&size=2"), 400, "bad_request"
    )
    await expect_error(await live.client.get("/api/v1/proof/inclusion?index=0"), 400, "bad_request")
    await expect_error(
        await live.client.get(f"/api/v1/proof/consistency?old=1&new={size + 9}"), 404, "not_found"
    )


async def _checkpoint_beyond(
    live: Live, verifier: NoteVerifier, size: int
) -> SignedCheckpoint | None:
    cp = SignedCheckpoint.parse(await (await live.client.get("/checkpoint")).read(), verifier)
    return cp if cp.size > size else None


async def test_full_tiles_are_immutable(tmp_path: Path) -> None:
    config = Config(
        data_dir=tmp_path / "node", governance_interval_s=0.02, checkpoint_interval_s=0.05
    )
    await found_config(config)
    live = await serve(config, Clock(T0 + 1000))
    try:
        ratings = [
            live.sign(FOUNDERS[i % 3], Rating(requester=REQ, text=f"r{i}"))
            for i in range(TILE_WIDTH)
        ]
        for r in ratings:
            resp = await live.post(r)
            assert resp.status == 201
        for path in ("/tile/0/000", "/tile/entries/000"):
            resp = await live.client.get(path)
            assert resp.status == 200, path
            assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert len(await (await live.client.get("/tile/0/000")).read()) == 32 * TILE_WIDTH
    finally:
        await live.client.close()


# --------------------------------------------------------------------------- refusals


async def test_each_refusal_has_its_own_code(live: Live) -> None:
    good = live.sign("ana", Rating(requester=REQ, text="fine"))

    # Not a member: 403.
    msg = await live.refused(
        live.sign("mallory", Rating(requester=REQ, text="x")), 403, "not_member"
    )
    assert did("mallory") in msg

    # A bad signature: flip one bit of it and re-encode canonically.
    env = decode(good.raw)
    assert isinstance(env, dict)
    sig = bytearray(env["sig"])  # type: ignore[arg-type]
    sig[0] ^= 1
    await live.refused(encode({**env, "sig": bytes(sig)}), 400, "bad_signature")

    # Malformed bodies: not MessagePack at all, non-canonical, not a record.
    await live.refused(b"\xc1", 400, "decode_error")
    await live.refused(b"\xcc\x05", 400, "decode_error")  # 5 as uint8: not the shortest form
    await live.refused(encode({"hello": 1}), 400, "invalid_record")

    # Too large for the node (413 before reading), too large for a record (413 too).
    await live.refused(b"\x00" * (live.config.max_body + 1), 413, "too_large")
    await live.refused(b"\x00" * (40 * 1024), 413, "too_large")

    # The wrong media type, or none.
    await live.refused(good, 415, "unsupported_media_type", content_type="application/json")
    resp = await live.client.post("/api/v1/records", data=good.raw, headers={"Content-Type": ""})
    await expect_error(resp, 415, "unsupported_media_type")

    # Clock skew, another co-op, a record the node signs itself.
    await live.refused(
        live.sign("ana", Rating(requester=REQ, text="x"), ts=live.clock.now + 3 * HOUR), 400, "skew"
    )
    other = sign_record(
        key("ana"), coop=did("other-coop"), ts=live.clock.now, body=Rating(requester=REQ, text="x")
    )
    await live.refused(other, 400, "wrong_coop")
    await live.refused(
        live.sign("bo", Ballot(proposal=b"\x01" * 32, choice="yes")), 400, "unknown_reference"
    )

    # Nothing was appended by any of that.
    assert (await live.get("/.well-known/coopfed"))["size"] == 1 + len(FOUNDERS)
    await live.ok(good)

    # Unknown things: 404; malformed ids: 400; unknown routes and methods: JSON too.
    await expect_error(await live.client.get("/api/v1/records/" + "ab" * 32), 404, "unknown_record")
    await expect_error(await live.client.get("/api/v1/records/xyz"), 400, "bad_request")
    await expect_error(
        await live.client.get("/api/v1/proposals/" + "ab" * 32), 404, "unknown_proposal"
    )
    await expect_error(await live.client.get("/api/v1/proposals?status=maybe"), 400, "bad_request")
    await expect_error(await live.client.get("/api/v1/blocklist?format=xml"), 400, "bad_request")
    await expect_error(await live.client.get("/api/v1/requesters/MTurk/A1"), 400, "invalid_record")
    await expect_error(await live.client.get("/nothing/here"), 404, "not_found")
    resp = await live.client.delete("/api/v1/records")
    await expect_error(resp, 405, "method_not_allowed")


async def test_a_revoked_member_is_refused(live: Live) -> None:
    prop = proposal(live, "ana", kind=ProposalKind.REVOKE, member=did("cy"))
    await live.ok(prop)
    for who in ("ana", "bo"):
        await live.ok(live.sign(who, Ballot(proposal=prop.id, choice="yes")))
    earlier = live.sign("cy", Rating(requester=REQ, text="before"))
    await live.ok(earlier)
    live.clock.now += HOUR

    async def revoked() -> bool:
        return did("cy") not in {m["did"] for m in (await live.get("/api/v1/members"))["members"]}

    await live.governed(revoked)
    msg = await live.refused(live.sign("cy", Rating(requester=REQ, text="after")), 403, "revoked")
    assert "no longer a member" in msg
    await live.refused(live.sign("cy", Retraction(record=earlier.id)), 403, "revoked")
    # The record cy made while a member stays in the log.
    assert (await live.get(f"/api/v1/records/{earlier.id.hex()}"))["author"] == did("cy")


async def test_invites_need_the_admin_token(live: Live) -> None:
    resp = await live.client.post("/api/v1/invites", json={"ttl_s": 60})
    await expect_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await live.client.post(
        "/api/v1/invites", json={"ttl_s": 60}, headers={"Authorization": "Bearer wrong"}
    )
    await expect_error(resp, 401, "unauthorized")
    token = read_admin_token(live.config.data_dir)
    resp = await live.client.post(
        "/api/v1/invites", json={"ttl_s": 0}, headers={"Authorization": f"Bearer {token}"}
    )
    await expect_error(resp, 400, "bad_request")
    # Joining needs a token under an invite charter; an unknown token is refused.
    resp = await live.client.post(
        "/api/v1/join", json={"apply": live.sign("eve", MemberApply()).raw.hex()}
    )
    await expect_error(resp, 403, "invite_required")
    resp = await live.client.post(
        "/api/v1/join",
        json={"apply": live.sign("eve", MemberApply()).raw.hex(), "token": "made-up"},
    )
    await expect_error(resp, 403, "bad_invite")
    resp = await live.client.post(
        "/api/v1/join", data=b"{", headers={"Content-Type": "application/json"}
    )
    await expect_error(resp, 400, "decode_error")  # bytes that are not JSON, as for MessagePack
    resp = await live.client.post(
        "/api/v1/join", data=b"{}", headers={"Content-Type": "text/plain"}
    )
    await expect_error(resp, 415, "unsupported_media_type")
    # An invite expires.
    fresh = await live.invite()
    live.clock.now += 2 * HOUR
    resp = await live.client.post(
        "/api/v1/join", json={"apply": live.sign("eve", MemberApply()).raw.hex(), "token": fresh}
    )
    await expect_error(resp, 409, "invite_expired")


# --------------------------------------------------------------------------- output (issue 11)


async def test_the_blocklist_csv_holds_no_formula(live: Live, tmp_path: Path) -> None:
    """A requester id is the requester's choice, and ``=HYPERLINK(…)`` is a valid one: three
    members flag four such ids, and no CSV cell the node or the command line writes is one
    a spreadsheet would run (item 4)."""
    formulas = ['=HYPERLINK("http://evil.example/?q","Open")', "+1+1", "-2+3", "@SUM(1)"]
    for rid in formulas:
        for who in FOUNDERS:
            # A platform the table does not know takes any printable id (platforms.md §3).
            ref = RequesterRef(platform="clickworker", id=rid)
            await live.ok(flag(live, who, requester=ref))

    async def all_blocked() -> bool:
        return len((await live.get("/api/v1/blocklist"))["entries"]) == len(formulas)

    await live.governed(all_blocked)
    resp = await live.client.get("/api/v1/blocklist?format=csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    served = await resp.text()
    await Cli(tmp_path)(
        "blocklist",
        "export",
        "--node",
        str(live.client.make_url("")),
        "--format",
        "csv",
        "-o",
        "bl.csv",
    )
    written = (tmp_path / "bl.csv").read_text(encoding="utf-8")
    for text in (served, written):
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert sorted(r["requester_id"] for r in rows) == sorted("'" + f for f in formulas)
        for row in rows:
            assert all(not c.lstrip() or c.lstrip()[0] not in "=+-@\t\r" for c in row.values())
    # What the cell shows is the id after the quote; the JSON view is exact.
    ids = [e["requester"]["id"] for e in (await live.get("/api/v1/blocklist"))["entries"]]
    assert sorted(ids) == sorted(formulas)


async def test_a_pitch_is_one_line(live: Live) -> None:
    """A pitch holding a line break is refused with its own code (item 7): listed, it
    would print a line of its own, such as a verdict."""
    good = proposal(live, "ana", kind=ProposalKind.IDEA)
    env = decode(good.raw)
    assert isinstance(env, dict)
    for pitch in ("ok\nDECIDED: passed", "ok\u2028DECIDED: passed", "ok\tpassed"):
        unsigned = {k: v for k, v in env.items() if k != "sig"}
        unsigned["body"] = {**env["body"], "pitch": pitch}  # type: ignore[dict-item]
        sig = key("ana").sign(SIGNING_DOMAIN + encode(unsigned))
        msg = await live.refused(encode({**unsigned, "sig": sig}), 400, "not_one_line")
        assert "body.pitch" in msg
    await live.ok(good)


# --------------------------------------------------------------------------- membership by vote


async def test_admission_by_vote(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "node", governance_interval_s=0.02)
    await found_config(config, dataclasses.replace(CHARTER, admission="vote"))
    live = await serve(config, Clock(T0 + 1000))
    try:
        joined = await live.join("eve", None, status=202)
        assert joined["status"] == "pending" and not joined["admitted"]
        assert "sponsor" in joined["message"]
        (waiting,) = (await live.get("/api/v1/applications"))["applications"]
        assert waiting["id"] == joined["id"] and waiting["member"] == did("eve")
        sponsor = live.sign(
            "ana",
            Proposal(
                kind=ProposalKind.ADMIT,
                pitch="Admit eve",
                member=did("eve"),
                application=bytes.fromhex(waiting["id"]),
                opens=live.clock.now,
                closes=live.clock.now + HOUR,
            ),
        )
        await live.ok(sponsor)
        prop = await live.get(f"/api/v1/proposals/{sponsor.id.hex()}")
        assert prop["kind"] == "admit" and prop["body"]["member"] == did("eve")
        for who in FOUNDERS:
            await live.ok(live.sign(who, Ballot(proposal=sponsor.id, choice="yes")))
        await live.refused(live.sign("eve", Rating(requester=REQ, text="x")), 403, "not_member")
        live.clock.now += HOUR

        async def admitted() -> bool:
            members = (await live.get("/api/v1/members"))["members"]
            return did("eve") in {m["did"] for m in members}

        await live.governed(admitted)
        await live.ok(live.sign("eve", Rating(requester=REQ, text="now I can")))
    finally:
        await live.client.close()


# --------------------------------------------------------------------------- restart


async def test_a_restarted_node_still_has_everything(live: Live) -> None:
    kept = live.sign("ana", Rating(requester=REQ, text="kept"))
    await live.ok(kept)
    for who in FOUNDERS:
        await live.ok(flag(live, who))
    # Three distinct members' flags cross the charter's rule: a provisional block.
    await live.governed(lambda: _blocklist(live))
    prop = proposal(live, "bo", kind=ProposalKind.IDEA, text="a co-op newsletter")
    await live.ok(prop)
    await live.ok(live.sign("cy", Ballot(proposal=prop.id, choice="up")))
    live.clock.now += 10_000  # past checkpoint_interval_s on the node's clock
    await live.governed(lambda: _checkpoint_covers_all(live))
    before = {
        path: await live.get(path)
        for path in (
            "/.well-known/coopfed",
            "/api/v1/members",
            "/api/v1/blocklist",
            "/api/v1/proposals",
            "/api/v1/charter",
            f"/api/v1/requesters/{REQ.platform}/{REQ.id}",
        )
    }
    note = await (await live.client.get("/checkpoint")).read()
    await live.client.close()

    again = await serve(live.config, live.clock)
    try:
        for path, value in before.items():
            assert await again.get(path) == value, path
        assert await (await again.client.get("/checkpoint")).read() == note
        await again.ok(kept, status=200)  # a replay after the restart
        await again.ok(again.sign("cy", Rating(requester=REQ, text="after the restart")))
    finally:
        await again.client.close()


async def _checkpoint_covers_all(live: Live) -> bool:
    status = await live.get("/api/v1/status")
    return bool(status["checkpoint"]["size"] == status["size"])


# --------------------------------------------------------------------------- documents


def test_openapi_describes_every_route(tmp_path: Path) -> None:
    app = create_app(Config(data_dir=tmp_path))
    served = {
        (route.method, re.sub(r":[^}]+}", "}", route.resource.canonical))
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    doc = document(server="http://127.0.0.1:8470")
    described = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert served == described
    assert doc["openapi"].startswith("3.1")
    for path, item in doc["paths"].items():
        for op in item.values():
            assert op["operationId"] and op["summary"], path
            for ref in _refs(op):
                name = ref.rsplit("/", 1)[1]
                section = ref.split("/")[2]
                assert name in doc["components"][section], ref


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "$ref"] + [
            r for v in value.values() for r in _refs(v)
        ]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


async def test_get_routes_answer_head(live: Live) -> None:
    # RFC 9110 §9.1: a general-purpose server supports HEAD wherever it supports GET.
    for path in ("/checkpoint", "/.well-known/coopfed", "/api/v1/status", "/openapi.json"):
        got = await live.client.get(path)
        head = await live.client.head(path)
        assert got.status == head.status == 200, path
        assert head.content_type == got.content_type, path
        assert await head.read() == b"", path


async def test_openapi_is_served(live: Live) -> None:
    doc = await live.get("/openapi.json")
    assert "/api/v1/records" in doc["paths"]
    assert doc["servers"] == [{"url": "/"}]


def test_every_rejection_code_has_a_status() -> None:
    # Rejections of well-formed records need a deliberate status (the class fallback is
    # 409); any other remote error falls back on 400, which is right for bad data.
    def read(*paths: str) -> str:
        return "".join((ROOT / p).read_text(encoding="utf-8") for p in paths)

    state = read("protocol/state.py", "protocol/rules.py")
    others = read("node/service.py", "protocol/governance.py", "protocol/applications.py")
    codes = set(re.findall(r'_reject\(\s*"([a-z_]+)"', state))
    codes |= set(re.findall(r'code\s*=\s*"([a-z_]+)"', others))
    assert "not_member" in codes and "invite_used" in codes
    missing = sorted(codes - set(STATUS_BY_CODE))
    assert not missing, f"add these codes to api_errors.STATUS_BY_CODE: {missing}"
    assert all(400 <= s < 500 for s in STATUS_BY_CODE.values())
    assert STATUS_BY_CODE["not_member"] == STATUS_BY_CODE["revoked"] == 403
    assert STATUS_BY_CODE["bad_signature"] == STATUS_BY_CODE["decode_error"] == 400
    assert STATUS_BY_CODE["voting_closed"] == STATUS_BY_CODE["invite_used"] == 409


def test_the_clock_offset_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clock_offset_from_env({}) == 0
    assert clock_offset_from_env({CLOCK_OFFSET_ENV: "3600000"}) == 3_600_000
    with pytest.raises(ValueError, match=CLOCK_OFFSET_ENV):
        clock_offset_from_env({CLOCK_OFFSET_ENV: "an hour"})
    monkeypatch.setenv(CLOCK_OFFSET_ENV, "-5")
    assert clock_offset_from_env() == -5


async def test_requester_ids_in_urls_may_hold_slashes(live: Live) -> None:
    # A platform the table does not know keeps the general rule: any printable id.
    ref = RequesterRef(platform="clickworker", id="team/alpha")
    await live.ok(live.sign("ana", Rating(requester=ref, text="fine")))
    profile = await live.get("/api/v1/requesters/clickworker/team/alpha")
    assert profile["requester"] == "clickworker:team/alpha" and profile["all"]["reports"] == 1
    why = await live.get("/api/v1/blocklist/explain/clickworker/team%2Falpha")
    assert why["requester"] == "clickworker:team/alpha" and why["status"] is None


async def test_the_platform_rules_and_task_reports_through_the_api(live: Live) -> None:
    """Issue 13: a requester named in another case, or exact pay, is refused as the node
    takes it, whatever the record's ts (state.md §2.7); a task report is taken, and one
    signed on its task's own day is not."""
    lower = RequesterRef(platform=REQ.platform, id=REQ.id.lower())
    await live.refused(live.sign("ana", Rating(requester=lower, recommend=True)), 400,
                       "non_canonical_id")  # fmt: skip
    await live.refused(live.sign("ana", Rating(requester=REQ, hourly_cents=333)), 400,
                       "not_coarse")  # fmt: skip
    today = live.clock.now // DAY
    report = TaskReport(requester=REQ, task="3ZXYWVUTSRQPONMLKJIHGFEDCBA012", day=today - 1,
                        reward=50, currency="USD", minutes=5, outcome="submitted",
                        name="ACME Data")  # fmt: skip
    await live.ok(live.sign("ana", report))
    same_day = dataclasses.replace(report, day=today)
    await live.refused(live.sign("bo", same_day), 400, "too_soon")
    profile = await live.get(f"/api/v1/requesters/{REQ.platform}/{REQ.id}")
    assert profile["requester"] == str(REQ)
