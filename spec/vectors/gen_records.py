"""Vectors for spec/records.md: signed records of every type, and records that must be refused.

Records are assembled here from plain maps written after the field tables of
spec/records.md (not from the body classes of ``coopfed.protocol.bodies``), encoded with the
canonical encoder and signed with fixed seeds: seed_i = SHA-256("coopfed-vector-seed-" + i).
Ed25519 is deterministic, so every run gives the same bytes. Each invalid case changes one
thing and is otherwise signed correctly, so the one fault named is the one found.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgpack
import nacl.signing

from coopfed.protocol.encoding import encode

SIGNING_DOMAIN = b"coopfed/record/v1\x00"
MAX_RECORD_SIZE = 32 * 1024
MIN_TS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_TS = 7_258_118_400_000  # 2200-01-01T00:00:00Z
DAY = 86_400_000
HOUR = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
L = 2**252 + 27742317777372353535851937790883648493


def seed(i: int) -> bytes:
    return hashlib.sha256(f"coopfed-vector-seed-{i}".encode()).digest()


def b58(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * zeros + out


class Key:
    def __init__(self, name: str, index: int) -> None:
        self.name = name
        self.index = index
        self._sk = nacl.signing.SigningKey(seed(index))
        self.public_key = bytes(self._sk.verify_key)
        self.did = "did:key:z" + b58(b"\xed\x01" + self.public_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._sk.sign(message).signature)


COOP = Key("coop", 0)
M1 = Key("member1", 1)
M2 = Key("member2", 2)
M3 = Key("member3", 3)
M4 = Key("member4", 4)
APPLICANT = Key("applicant", 5)
REQUESTER_KEY = Key("requester", 6)
PEERS = sorted([Key("peer7", 7), Key("peer8", 8), Key("peer9", 9)], key=lambda k: k.did)
APPLICANT2 = Key("applicant2", 10)
KEYS = [COOP, M1, M2, M3, M4, APPLICANT, REQUESTER_KEY, *PEERS, APPLICANT2]
#: Members in the order they joined: a decision's roster is a prefix of this list.
ROSTER = [M1, M2, APPLICANT, M3, M4]
SMALL_ORDER_DID = "did:key:z" + b58(b"\xed\x01\x01" + bytes(31))

REQ = {"id": "A1B2C3D4E5F6G7", "platform": "mturk"}
REQ_RENAMED = {"id": "A9Z8Y7X6W5", "platform": "mturk"}
REQ_PROLIFIC = {"id": "5f0c3b1e2d9a8c7b6a5f4e3d", "platform": "prolific"}
#: REQ's id on a platform whose name has "mturk" as a prefix (records.md §4.19, allow order).
REQ_MTURK2 = {"id": "A1B2C3D4E5F6G7", "platform": "mturk2"}


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc6962_root(leaves: list[bytes]) -> bytes:
    """Merkle tree hash of RFC 6962 section 2.1 (a decision's ballots_root and roster_root)."""
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return sha(b"\x00" + leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha(b"\x01" + rfc6962_root(leaves[:k]) + rfc6962_root(leaves[k:]))


def jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


# ----------------------------------------------------------------------------- building


def envelope(signer: Key, rtype: str, body: Any, ts: int, **over: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "author": signer.did,
        "body": body,
        "coop": COOP.did,
        "ts": ts,
        "type": rtype,
        "v": 1,
    }
    env.update(over)
    return env


def seal(signer: Key, env: dict[str, Any], *, domain: bytes = SIGNING_DOMAIN) -> dict[str, Any]:
    """Sign ``env`` (the envelope without ``sig``) and return it with its ``sig``."""
    unsigned = {k: v for k, v in env.items() if k != "sig"}
    return {**unsigned, "sig": signer.sign(domain + encode(unsigned))}


class Book:
    def __init__(self) -> None:
        self.valid: list[dict[str, Any]] = []
        self.invalid: list[dict[str, Any]] = []
        self.ids: dict[str, bytes] = {}

    def add(
        self,
        name: str,
        signer: Key,
        rtype: str,
        body: dict[str, Any],
        ts: int,
        refs: tuple[str | bytes, ...] = (),
    ) -> bytes:
        env = seal(signer, envelope(signer, rtype, body, ts))
        raw = encode(env)
        rid = sha(raw)
        unsigned = {k: v for k, v in env.items() if k != "sig"}
        self.valid.append(
            {
                "name": name,
                "type": rtype,
                "signer": signer.name,
                "hex": raw.hex(),
                "id": rid.hex(),
                "size": len(raw),
                "signing_input": (SIGNING_DOMAIN + encode(unsigned)).hex(),
                "json": {
                    "id": rid.hex(),
                    "v": 1,
                    "type": rtype,
                    "coop": env["coop"],
                    "author": env["author"],
                    "ts": ts,
                    "body": jsonable(body),
                    "sig": env["sig"].hex(),
                },
                "references": sorted(
                    (r if isinstance(r, bytes) else self.ids[r]).hex() for r in refs
                ),
            }
        )
        self.ids[name] = rid
        return rid

    def bad(self, name: str, raw: bytes, error: str, code: str) -> None:
        self.invalid.append({"name": name, "hex": raw.hex(), "error": error, "code": code})

    def bad_body(
        self,
        name: str,
        signer: Key,
        rtype: str,
        body: Any,
        *,
        code: str = "invalid_record",
        ts: int | None = None,
    ) -> None:
        """A correctly signed record whose body breaks its schema."""
        env = seal(signer, envelope(signer, rtype, body, T0 + DAY if ts is None else ts))
        self.bad(name, encode(env), "InvalidRecord", code)


# ----------------------------------------------------------------------------- bodies


def charter_rules(**changes: Any) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "admission": "vote",
        "amend_pct": 67,
        "block_rule": {"days": 7, "flags": 3, "review_days": 30},
        "idea_up": 5,
        "max_window_ms": 14 * DAY,
        "min_pay_cents": 1200,
        "min_window_ms": DAY,
        "name": "Turkers' Co-operative North",
        "pass_pct": 50,
        "quorum_pct": 20,
        "roles": ["moderator", "treasurer"],
    }
    rules.update(changes)
    return {k: v for k, v in rules.items() if v is not None}


def window(start: int) -> dict[str, int]:
    return {"opens": start, "closes": start + 3 * DAY}


def decision_body(
    proposal: bytes,
    charter: bytes,
    result: str,
    counts: dict[str, int],
    ballots: list[bytes],
    roster: int,
    winner: str | None = None,
) -> dict:
    """A decision whose roster is the first ``roster`` members of ``ROSTER``."""
    dids = sorted({k.did.encode("utf-8") for k in ROSTER[:roster]})
    body: dict[str, Any] = {
        "ballots": len(ballots),
        "ballots_root": rfc6962_root(ballots),
        "charter": charter,
        "counts": counts,
        "proposal": proposal,
        "quorum_met": True,
        "result": result,
        "roster_root": rfc6962_root(dids),
        "roster_size": roster,
    }
    if winner is not None:
        body["winner"] = winner
    return body


def valid_records(book: Book) -> None:
    t = T0
    charter = book.add("charter: the founding charter", COOP, "charter", charter_rules(), t)
    book.add(
        "member.admit: founder", COOP, "member.admit", {"member": M1.did, "via": "founder"}, t + 1
    )
    book.add(
        "member.admit: second founder",
        COOP,
        "member.admit",
        {"member": M2.did, "via": "founder"},
        t + 2,
    )
    apply_ = book.add(
        "member.apply: with a text",
        APPLICANT,
        "member.apply",
        {"text": "I do surveys and transcription, mostly evenings."},
        t + HOUR,
    )
    book.add("member.apply: empty body", APPLICANT2, "member.apply", {}, t + HOUR + 1)

    # An admission by vote: proposal, two ballots, the decision, the admission.
    p_admit = book.add(
        "proposal: admit (with the application)",
        M1,
        "proposal",
        {
            "application": apply_,
            "kind": "admit",
            "member": APPLICANT.did,
            "pitch": "Admit the applicant who wrote on 1 January",
            **window(t + 2 * HOUR),
        },
        t + 2 * HOUR,
        refs=(apply_,),
    )
    b1 = book.add(
        "ballot: yes",
        M1,
        "ballot",
        {"choice": "yes", "proposal": p_admit},
        t + 3 * HOUR,
        refs=(p_admit,),
    )
    b2 = book.add(
        "ballot: abstain",
        M2,
        "ballot",
        {"choice": "abstain", "proposal": p_admit},
        t + 4 * HOUR,
        refs=(p_admit,),
    )
    d_admit = book.add(
        "decision: passed",
        COOP,
        "decision",
        decision_body(p_admit, charter, "passed", {"abstain": 1, "yes": 1}, [b1, b2], 2),
        t + 2 * HOUR + 3 * DAY,
        refs=(p_admit, charter),
    )
    book.add(
        "member.admit: by decision",
        COOP,
        "member.admit",
        {"member": APPLICANT.did, "ref": d_admit, "via": "decision"},
        t + 2 * HOUR + 3 * DAY + 1,
        refs=(d_admit,),
    )
    book.add(
        "member.admit: by invite (ref is SHA-256 of the invite token)",
        COOP,
        "member.admit",
        {"member": M3.did, "ref": sha(b"example invite token"), "via": "invite"},
        t + 4 * DAY,
    )
    book.add(
        "member.admit: by invite, a fourth member",
        COOP,
        "member.admit",
        {"member": M4.did, "ref": sha(b"another invite token"), "via": "invite"},
        t + 4 * DAY + 1,
    )

    # Ratings, flags, appeals, replies.
    t = T0 + 5 * DAY
    rating = book.add(
        "rating: every field",
        M1,
        "rating",
        {
            "hourly_cents": 540,
            "minutes": 35,
            "recommend": False,
            "rejected": "some",
            "requester": REQ,
            "scores": {"comm": 2, "fair": 1, "fast": 4, "pay": 1},
            "text": "Paid $3.15 for 35 minutes; rejected 3 of 10 without a reason.",
        },
        t,
    )
    good_rating = book.add(
        "rating: a recommendation only",
        M2,
        "rating",
        {"recommend": True, "requester": REQ_PROLIFIC},
        t + 1,
    )
    book.add("rating: one score", M3, "rating", {"requester": REQ, "scores": {"pay": 2}}, t + 2)
    book.add(
        "rating: pay without minutes", M4, "rating", {"hourly_cents": 0, "requester": REQ}, t + 3
    )
    flags = [
        book.add(
            "flag: a requester, underpaid",
            M1,
            "flag",
            {
                "expires": t + 30 * DAY,
                "reason": "underpaid",
                "requester": REQ,
                "target": "requester",
            },
            t + 10,
        ),
        book.add(
            "flag: a HIT group, broken, with a note",
            M2,
            "flag",
            {
                "expires": t + 7 * DAY,
                "note": "The submit button never appears.",
                "reason": "broken",
                "requester": REQ,
                "target": "hit_group",
                "target_id": "3ZXYWVUTSRQPONMLKJIHGFEDCBA",
            },
            t + 11,
        ),
        book.add(
            "flag: a batch, reason other (note required)",
            M3,
            "flag",
            {
                "expires": t + 14 * DAY,
                "note": "Asks for a phone number in the HIT.",
                "reason": "other",
                "requester": REQ,
                "target": "batch",
                "target_id": "batch-2026-01-06",
            },
            t + 12,
        ),
    ]
    filed = book.add(
        "appeal: filed",
        M1,
        "appeal",
        {
            "hit_group": "3ZXYWVUTSRQPONMLKJIHGFEDCBA",
            "rejected_cents": 250,
            "requester": REQ,
            "status": "filed",
            "text": "Rejected with 'bad quality' though all checks passed.",
        },
        t + 20,
    )
    book.add(
        "appeal: its outcome (won)",
        M1,
        "appeal",
        {"follows": filed, "requester": REQ, "status": "won"},
        t + 2 * DAY,
        refs=(filed,),
    )
    book.add(
        "requester.key: the co-op binds a requester's key",
        COOP,
        "requester.key",
        {
            "evidence": "Key posted on the requester's verified profile page, 2026-01-07.",
            "key": REQUESTER_KEY.did,
            "requester": REQ,
        },
        t + 2 * DAY + 1,
    )
    book.add(
        "reply: a requester answers a rating",
        REQUESTER_KEY,
        "reply",
        {
            "about": rating,
            "requester": REQ,
            "text": "We have reviewed the batch and reversed the rejections.",
        },
        t + 3 * DAY,
        refs=(rating,),
    )
    book.add(
        "reply: without about",
        REQUESTER_KEY,
        "reply",
        {"requester": REQ, "text": "New batches pay $12/hour from today."},
        t + 3 * DAY + 1,
    )
    book.add(
        "requester.alias: a renamed account",
        COOP,
        "requester.alias",
        {"alias_of": REQ, "requester": REQ_RENAMED},
        t + 3 * DAY + 2,
    )
    book.add(
        "retraction: with a reason",
        M2,
        "retraction",
        {"reason": "Posted on the wrong requester.", "record": good_rating},
        t + 3 * DAY + 3,
        refs=(good_rating,),
    )
    book.add(
        "retraction: without a reason",
        M1,
        "retraction",
        {"record": flags[0]},
        t + 3 * DAY + 4,
        refs=(flags[0],),
    )

    # Proposals of every kind.
    t = T0 + 10 * DAY
    p_block = book.add(
        "proposal: block",
        M1,
        "proposal",
        {
            "kind": "block",
            "pitch": "Block mturk:A1B2C3D4E5F6G7 for underpaying",
            "reason": "underpaid",
            "requester": REQ,
            "text": "Median reported pay is $5.40/hour against our minimum of $12.",
            **window(t),
        },
        t,
    )
    book.add(
        "proposal: unblock, put by the co-op key",
        COOP,
        "proposal",
        {
            "kind": "unblock",
            "pitch": "Lift the block now that pay is fair",
            "requester": REQ_PROLIFIC,
            **window(t + 1),
        },
        t + 1,
    )
    p_revoke = book.add(
        "proposal: revoke",
        M2,
        "proposal",
        {
            "kind": "revoke",
            "member": M4.did,
            "pitch": "Revoke a member who shared members' data",
            **window(t + 2),
        },
        t + 2,
    )
    p_amend = book.add(
        "proposal: amend (the complete new rules)",
        M1,
        "proposal",
        {
            "charter": charter_rules(
                min_pay_cents=1500, roles=["moderator", "secretary", "treasurer"]
            ),
            "kind": "amend",
            "pitch": "Raise our minimum pay to $15/hour",
            **window(t + 3),
        },
        t + 3,
    )
    candidates = sorted([M1.did, M2.did])
    p_elect = book.add(
        "proposal: elect",
        M3,
        "proposal",
        {
            "candidates": candidates,
            "kind": "elect",
            "pitch": "Elect a treasurer for 2026",
            "role": "treasurer",
            **window(t + 4),
        },
        t + 4,
    )
    p_idea = book.add(
        "proposal: idea",
        M4,
        "proposal",
        {"kind": "idea", "pitch": "Share a script that shows real hourly pay", **window(t + 5)},
        t + 5,
    )
    book.add(
        "proposal: admit without an application",
        M2,
        "proposal",
        {
            "kind": "admit",
            "member": APPLICANT2.did,
            "pitch": "Admit our colleague",
            **window(t + 6),
        },
        t + 6,
    )

    t = T0 + 11 * DAY
    bb = [
        book.add(
            f"ballot: yes on the block ({k.name})",
            k,
            "ballot",
            {"choice": "yes", "proposal": p_block},
            t + i,
            refs=(p_block,),
        )
        for i, k in enumerate((M1, M2, M3))
    ]
    be = [
        book.add(
            "ballot: a candidate's DID",
            M2,
            "ballot",
            {"choice": M1.did, "proposal": p_elect},
            t + 10,
            refs=(p_elect,),
        ),
        book.add(
            "ballot: abstain in an election",
            M3,
            "ballot",
            {"choice": "abstain", "proposal": p_elect},
            t + 11,
            refs=(p_elect,),
        ),
    ]
    book.add(
        "ballot: up on an idea",
        M1,
        "ballot",
        {"choice": "up", "proposal": p_idea},
        t + 12,
        refs=(p_idea,),
    )
    ba = [
        book.add(
            f"ballot: yes on the amendment ({k.name})",
            k,
            "ballot",
            {"choice": "yes", "proposal": p_amend},
            t + 20 + i,
            refs=(p_amend,),
        )
        for i, k in enumerate((M1, M2, M3))
    ]
    br = [
        book.add(
            "ballot: no on the revocation",
            M1,
            "ballot",
            {"choice": "no", "proposal": p_revoke},
            t + 30,
            refs=(p_revoke,),
        )
    ]

    t = T0 + 14 * DAY
    d_block = book.add(
        "decision: passed (a block)",
        COOP,
        "decision",
        decision_body(p_block, charter, "passed", {"yes": 3}, sorted(bb), 5),
        t,
        refs=(p_block, charter),
    )
    d_elect = book.add(
        "decision: elected",
        COOP,
        "decision",
        decision_body(
            p_elect, charter, "elected", {M1.did: 1, "abstain": 1}, sorted(be), 5, winner=M1.did
        ),
        t + 1,
        refs=(p_elect, charter),
    )
    d_amend = book.add(
        "decision: passed (an amendment)",
        COOP,
        "decision",
        decision_body(p_amend, charter, "passed", {"yes": 3}, sorted(ba), 5),
        t + 2,
        refs=(p_amend, charter),
    )
    book.add(
        "decision: rejected",
        COOP,
        "decision",
        decision_body(p_revoke, charter, "rejected", {"no": 1}, br, 5),
        t + 3,
        refs=(p_revoke, charter),
    )
    no_quorum = decision_body(p_idea, charter, "no_quorum", {}, [], 5)
    no_quorum["quorum_met"] = False
    book.add(
        "decision: no quorum, no ballots",
        COOP,
        "decision",
        no_quorum,
        t + 4,
        refs=(p_idea, charter),
    )
    book.add(
        "role.assign: with until",
        COOP,
        "role.assign",
        {"decision": d_elect, "member": M1.did, "role": "treasurer", "until": T0 + 365 * DAY},
        t + 5,
        refs=(d_elect,),
    )
    book.add(
        "charter: an amendment",
        COOP,
        "charter",
        {
            **charter_rules(min_pay_cents=1500, roles=["moderator", "secretary", "treasurer"]),
            "decision": d_amend,
            "supersedes": charter,
        },
        t + 6,
        refs=(charter, d_amend),
    )
    block = book.add(
        "block: by decision",
        COOP,
        "block",
        {
            "decision": d_block,
            "note": "See the decision's proposal.",
            "provisional": False,
            "reason": "underpaid",
            "requester": REQ,
            "review": t + 365 * DAY,
        },
        t + 7,
        refs=(d_block,),
    )
    prov = book.add(
        "block: provisional, on flags",
        COOP,
        "block",
        {
            "flags": sorted(flags),
            "provisional": True,
            "reason": "underpaid",
            "requester": REQ_PROLIFIC,
            "review": t + 30 * DAY,
        },
        t + 8,
        refs=tuple(flags),
    )
    book.add(
        "unblock: at review",
        COOP,
        "unblock",
        {"block": prov, "requester": REQ_PROLIFIC, "why": "review"},
        t + 30 * DAY,
        refs=(prov,),
    )
    book.add(
        "unblock: by decision",
        COOP,
        "unblock",
        {"block": block, "decision": d_block, "requester": REQ, "why": "decision"},
        t + 31 * DAY,
        refs=(block, d_block),
    )
    book.add(
        "unblock: flags expired",
        COOP,
        "unblock",
        {"block": prov, "requester": REQ_PROLIFIC, "why": "expired"},
        t + 32 * DAY,
        refs=(prov,),
    )
    resign = book.add(
        "member.resign: with a text",
        M4,
        "member.resign",
        {"text": "Moving on; thank you all."},
        t + 40 * DAY,
    )
    book.add("member.resign: empty body", M3, "member.resign", {}, t + 40 * DAY + 1)
    book.add(
        "member.revoke: on resignation",
        COOP,
        "member.revoke",
        {"member": M4.did, "ref": resign, "via": "resignation"},
        t + 40 * DAY + 2,
        refs=(resign,),
    )
    book.add(
        "member.revoke: by decision",
        COOP,
        "member.revoke",
        {"member": M2.did, "ref": d_block, "via": "decision"},
        t + 40 * DAY + 3,
        refs=(d_block,),
    )

    book.add(
        "charter: no roles (roles present and empty), admission by invite",
        COOP,
        "charter",
        charter_rules(roles=[], admission="invite", name="Small Co-op"),
        t + 41 * DAY,
    )

    # Federation policies.
    t = T0 + 60 * DAY
    peers = [p.did for p in PEERS]
    book.add(
        "federation.policy: every field",
        COOP,
        "federation.policy",
        {
            "adopt": [{"from": peers, "k": 2}, {"from": [peers[0]], "k": 1}],
            "allow": sorted(
                [REQ_PROLIFIC, REQ_RENAMED],
                key=lambda r: (r["platform"].encode(), r["id"].encode()),
            ),
            "decision": d_amend,
            "drafts": True,
            "follow": [
                {"coop": peers[0], "url": "https://north.coop.example/"},
                {"coop": peers[1]},
                {"coop": peers[2], "url": "https://mirror.example/coops/third"},
            ],
        },
        t,
        refs=(d_amend,),
    )
    # The pair order and the text order differ when one platform name is a prefix of
    # another: (mturk, …) < (mturk2, …), but "mturk2:…" < "mturk:…" since '2' < ':'.
    book.add(
        "federation.policy: allow sorted by (platform, id), not by the text platform:id",
        COOP,
        "federation.policy",
        {"adopt": [], "allow": [REQ, REQ_MTURK2], "follow": []},
        t + 3,
    )
    book.add(
        "federation.policy: follows nobody",
        COOP,
        "federation.policy",
        {"adopt": [], "follow": []},
        t + 1,
    )
    body, _ = sized_policy(MAX_RECORD_SIZE, t + 2)
    book.add(
        f"federation.policy: exactly {MAX_RECORD_SIZE} bytes (the size limit)",
        COOP,
        "federation.policy",
        body,
        t + 2,
    )
    assert book.valid[-1]["size"] == MAX_RECORD_SIZE
    # Prose keeps its line breaks and tabs; one-line fields (a pitch, a name, a URL) do not.
    book.add(
        "rating: a text of two lines (prose may break lines)",
        M2,
        "rating",
        {"requester": REQ, "text": "Paid late twice.\n\tBoth times without a word."},
        t + 3,
    )
    deliberation_records(book)


def deliberation_records(book: Book) -> None:
    """Comments (members-only), outcome statements and delegations (issue 15)."""
    t = T0 + 70 * DAY
    p_block = book.ids["proposal: block"]
    ballot = book.ids["ballot: yes on the block (member1)"]
    d_block = book.ids["decision: passed (a block)"]
    first = book.add(
        "comment: on a proposal",
        M2,
        "comment",
        {"proposal": p_block, "text": "They rejected my last two batches without a word."},
        t,
        refs=(p_block,),
    )
    book.add(
        "comment: a reply (parent names a comment)",
        M3,
        "comment",
        {"parent": first, "proposal": p_block, "text": "Same here, in March.\nTwice."},
        t + 1,
        refs=(p_block,),
    )
    book.add(
        "comment: the reason for a ballot",
        M1,
        "comment",
        {"ballot": ballot, "proposal": p_block, "text": "Their pay is under half our minimum."},
        t + 2,
        refs=(p_block, ballot),
    )
    book.add(
        "outcome: the proposer states what came of it",
        M1,
        "outcome",
        {"decision": d_block, "text": "Blocked for a year; we will ask them to raise pay."},
        t + 3,
        refs=(d_block,),
    )
    book.add("delegation: to a member", M4, "delegation", {"to": M1.did}, t + 4)
    book.add("delegation: ended (no to)", M4, "delegation", {}, t + 5)
    book.add(
        "charter: delegation allowed",
        COOP,
        "charter",
        charter_rules(delegation=True, name="Delegating Co-op"),
        t + 6,
    )
    body = decision_body(p_block, book.ids["charter: the founding charter"], "passed",
                         {"abstain": 0, "no": 0, "yes": 4}, [ballot], 5)  # fmt: skip
    body.update(delegated=3, delegations_root=rfc6962_root([sha(b"d1"), sha(b"d2"), sha(b"d3")]))
    book.add(
        "decision: with votes cast by delegation",
        COOP,
        "decision",
        body,
        t + 7,
        refs=(p_block, book.ids["charter: the founding charter"]),
    )


#: The platform rules and coarse ratings apply to records signed from 2027-03-01 (records.md
#: "Rules made stricter"; spec/platforms.json's strict_from).
STRICT_FROM = 1_803_859_200_000
T13 = STRICT_FROM + DAY  # 2027-03-02T00:00:00Z
TODAY13 = T13 // DAY
PROLIFIC_STUDY = "65a1b2c3d4e5f60718293a4b"
REQ_TOLOKA = {"id": "6c6e20dc86cca2ae787afcb2629de162", "platform": "toloka"}


def report(**fields: Any) -> dict[str, Any]:
    """A first task report about REQ_PROLIFIC's study, with ``fields`` changed."""
    body: dict[str, Any] = {
        "currency": "GBP",
        "day": TODAY13 - 1,
        "minutes": 10,
        "outcome": "submitted",
        "requester": REQ_PROLIFIC,
        "reward": 150,
        "task": PROLIFIC_STUDY,
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def issue13_records(book: Book) -> None:
    """Names, task reports, per-currency pay in charters, and the platform rules (issue 13)."""
    t = T13
    book.add(
        "charter: minimum pay per currency, and k",
        COOP,
        "charter",
        charter_rules(min_pay={"GBP": 1050, "USD": 1200}, min_pay_cents=None, task_k=5),
        t,
    )
    book.add(
        "charter: no agreed minimum (min_pay empty)",
        COOP,
        "charter",
        charter_rules(min_pay={}, min_pay_cents=None),
        t + 1,
    )
    book.add(
        "rating: with the requester's name",
        M1,
        "rating",
        {"name": "Decision Lab, Univ. of Example", "requester": REQ_PROLIFIC, "scores": {"pay": 4}},
        t + 2,
    )
    book.add(
        "rating: coarse pay and time (from 2027-03-01)",
        M2,
        "rating",
        {"hourly_cents": 850, "minutes": 40, "requester": REQ},
        t + 3,
    )
    book.add(
        "rating: minutes in whole hours beyond twelve",
        M3,
        "rating",
        {"hourly_cents": 1000, "minutes": 900, "requester": REQ},
        t + 4,
    )
    book.add(
        "flag: a study, with the researcher's name",
        M1,
        "flag",
        {
            "expires": t + 7 * DAY,
            "name": "Decision Lab",
            "reason": "broken",
            "requester": REQ_PROLIFIC,
            "target": "hit_group",
            "target_id": PROLIFIC_STUDY,
        },
        t + 5,
    )
    book.add(
        "appeal: filed, with the requester's name",
        M2,
        "appeal",
        {"name": "ACME Data", "requester": REQ, "status": "filed"},
        t + 6,
    )
    book.add(
        "rating: an unknown platform keeps the general id rule",
        M3,
        "rating",
        {"recommend": True, "requester": {"id": "team/Alpha-1", "platform": "clickworker"}},
        t + 7,
    )
    book.add(
        "rating: a lower-case MTurk id signed before 2027-03-01 (the rules then)",
        M4,
        "rating",
        {"recommend": False, "requester": {"id": "a3jh8w2n5r6t0y", "platform": "mturk"}},
        STRICT_FROM - 1,
    )
    first = book.add(
        "task.report: submitted, every field of a first report",
        M1,
        "task.report",
        report(
            count=2,
            name="Decision Lab",
            note="Two parts; the second needs headphones.",
            reasons=["download_other", "time_underestimated"],
            title="A short survey on everyday decisions",
        ),
        t + 10,
    )
    book.add(
        "task.report: returned, underpaid, with progress",
        M2,
        "task.report",
        report(minutes=20, outcome="returned", progress=25, reasons=["underpaid"]),
        t + 11,
    )
    book.add(
        "task.report: screened out, paid",
        M3,
        "task.report",
        report(minutes=2, outcome="screened_out_paid", screen_out_pay=14),
        t + 12,
    )
    book.add(
        "task.report: screened out, unpaid",
        M4,
        "task.report",
        report(minutes=3, outcome="screened_out_unpaid"),
        t + 13,
    )
    book.add(
        "task.report: timed out, on Toloka in USD",
        M1,
        "task.report",
        report(
            currency="USD",
            minutes=30,
            outcome="timed_out",
            requester=REQ_TOLOKA,
            reward=5,
            task="32267581",
        ),
        t + 14,
    )
    book.add(
        "task.report: the day it was done is 400 days before",
        M2,
        "task.report",
        report(day=TODAY13 - 400, minutes=720, reward=0),
        t + 15,
    )
    book.add(
        "task.report: its approval, 5 days on",
        M1,
        "task.report",
        {
            "approval": "approved",
            "approval_days": 5,
            "follows": first,
            "requester": REQ_PROLIFIC,
            "task": PROLIFIC_STUDY,
        },
        t + 5 * DAY,
        refs=(first,),
    )
    book.add(
        "task.report: rejected, with a note and the name",
        M1,
        "task.report",
        {
            "approval": "rejected",
            "approval_days": 7,
            "follows": first,
            "name": "Decision Lab",
            "note": "Rejected for 'too fast' at 9 minutes of an estimated 10.",
            "requester": REQ_PROLIFIC,
            "task": PROLIFIC_STUDY,
        },
        t + 8 * DAY,
        refs=(first,),
    )


def issue13_invalid(book: Book) -> None:
    """Each rule of issue 13 broken once (platforms.md §4, records.md §4.23, §4.1)."""

    def tr(name: str, body: Any, code: str = "invalid_record") -> None:
        book.bad_body(name, M1, "task.report", body, code=code, ts=T13)

    def later(**fields: Any) -> dict[str, Any]:
        body = {
            "approval": "approved",
            "approval_days": 5,
            "follows": sha(b"first"),
            "requester": REQ_PROLIFIC,
            "task": PROLIFIC_STUDY,
        }
        body.update(fields)
        return {k: v for k, v in body.items() if v is not None}

    # --- the platform rules (from 2027-03-01)
    def rated(name: str, requester: dict[str, str], code: str = "non_canonical_id") -> None:
        body = {"recommend": True, "requester": requester}
        book.bad_body(name, M1, "rating", body, code=code, ts=T13)

    rated("MTurk requester id in lower case", {"id": "a3jh8w2n5r6t0y", "platform": "mturk"})
    rated("Prolific id in upper case", {**REQ_PROLIFIC, "id": REQ_PROLIFIC["id"].upper()})
    rated("Prolific researcher id of 12 characters", {**REQ_PROLIFIC, "id": "5f0a4c2b9d1e"})
    rated("Toloka requester id not hex", {"id": "requester-42", "platform": "toloka"})
    rated("MTurk requester id with a dash", {"id": "A3JH-8W2N", "platform": "mturk"})
    rated(
        "platform https (an address read as platform:id)",
        {"id": "//worker.mturk.com/requesters/A3JH8W2N5R6T0Y/projects", "platform": "https"},
    )
    book.bad_body(
        "flag on a study id in upper case",
        M1,
        "flag",
        {
            "expires": T13 + DAY,
            "reason": "broken",
            "requester": REQ_PROLIFIC,
            "target": "hit_group",
            "target_id": PROLIFIC_STUDY.upper(),
        },
        code="non_canonical_id",
        ts=T13,
    )
    book.bad_body(
        "appeal on a HIT group in lower case",
        M1,
        "appeal",
        {"hit_group": "3zxywvutsrqponmlkjihgfedcba", "requester": REQ, "status": "filed"},
        code="non_canonical_id",
        ts=T13,
    )
    book.bad_body(
        "block proposal on a lower-case MTurk id",
        M1,
        "proposal",
        {
            "kind": "block",
            "pitch": "Block them",
            "reason": "scam",
            "requester": {"id": "a1b2c3", "platform": "mturk"},
            **window(T13),
        },
        code="non_canonical_id",
        ts=T13,
    )
    tr("task.report on a Toloka pool that is not a number", report(
        currency="USD", requester=REQ_TOLOKA, task="pool-7"), "non_canonical_id")
    tr("task.report paid in EUR on Prolific", report(currency="EUR"), "wrong_currency")

    # --- coarse ratings (from 2027-03-01)
    def coarse(name: str, body: dict[str, Any]) -> None:
        book.bad_body(name, M1, "rating", {"requester": REQ, **body}, code="not_coarse", ts=T13)

    coarse("rating minutes 37 (not a bucket)", {"hourly_cents": 800, "minutes": 37})
    coarse("rating minutes 750 (not whole hours beyond 12)", {"hourly_cents": 800, "minutes": 750})
    coarse("rating hourly_cents 833 (not a multiple of 50)", {"hourly_cents": 833})

    # --- task.report: coarse fields
    tr("task.report minutes 7 (not a bucket)", report(minutes=7), "not_coarse")
    tr("task.report minutes 721 (above the buckets)", report(minutes=721))
    tr("task.report progress 30 (not a bucket)", report(outcome="returned", progress=30,
       reasons=["underpaid"]), "not_coarse")
    tr("task.report approval_days 4 (not a bucket)", later(approval_days=4), "not_coarse")

    # --- task.report: schema
    tr("task.report first report with an approval", report(approval="approved"))
    tr("task.report approval without follows", {
        k: v for k, v in later().items() if k != "follows"})
    tr("task.report approval with a reward", later(reward=150))
    tr("task.report approval without approval_days", later(approval_days=None))
    tr("task.report without reward", report(reward=None))
    tr("task.report without day", report(day=None))
    tr("task.report without task", report(task=None))
    tr("task.report reward negative", report(reward=-1))
    tr("task.report currency in lower case", report(currency="gbp"))
    tr("task.report count of 1 (omitted when one)", report(count=1))
    tr("task.report outcome unknown", report(outcome="approved"))
    tr("task.report returned without a reason", report(outcome="returned"))
    tr("task.report reason unknown", report(reasons=["boring"]))
    tr("task.report reasons unsorted", report(reasons=["underpaid", "broken"]))
    tr("task.report reasons repeated", report(reasons=["broken", "broken"]))
    tr("task.report reasons empty", report(reasons=[]))
    tr("task.report reason other without a note", report(reasons=["other"]))
    tr("task.report progress without returned", report(progress=50))
    tr("task.report screen_out_pay when submitted", report(screen_out_pay=10))
    tr("task.report approval not one of the four", later(approval="paid"))
    tr("task.report title with a line break", report(title="A survey\nDECIDED: passed"),
       "not_one_line")
    tr("task.report title of 201 characters", report(title="t" * 201))
    tr("task.report task id with a space", report(task="65a1b2c3 d4e5f6"))

    # --- names: one line, at most 100 characters
    for rtype, body in (
        ("rating", {"recommend": True, "requester": REQ}),
        ("flag", {"expires": T13 + DAY, "reason": "scam", "requester": REQ, "target": "requester"}),
        ("appeal", {"requester": REQ, "status": "filed"}),
        ("task.report", report()),
    ):
        book.bad_body(
            f"{rtype} name with a line break",
            M1,
            rtype,
            {**body, "name": "ACME\nBlocked: no"},
            code="not_one_line",
            ts=T13,
        )
    book.bad_body(
        "rating name of 101 characters",
        M1,
        "rating",
        {"name": "n" * 101, "recommend": True, "requester": REQ},
        ts=T13,
    )
    book.bad_body(
        "rating name with a right-to-left override",
        M1,
        "rating",
        {"name": "ACME\u202e", "recommend": True, "requester": REQ},
        ts=T13,
    )

    # --- charter: minimum pay per currency
    def ch(name: str, **changes: Any) -> None:
        book.bad_body(name, COOP, "charter", charter_rules(**changes), ts=T13)

    ch("charter with both min_pay and min_pay_cents", min_pay={"USD": 1200})
    ch("charter with neither min_pay nor min_pay_cents", min_pay_cents=None)
    ch("charter min_pay keyed by a lower-case currency", min_pay={"usd": 1200}, min_pay_cents=None)
    ch("charter min_pay of 0 (leave the currency out)", min_pay={"USD": 0}, min_pay_cents=None)
    ch("charter min_pay is a list", min_pay=[["USD", 1200]], min_pay_cents=None)
    ch("charter task_k of 0", task_k=0)


def sized_policy(target: int, ts: int) -> tuple[dict[str, Any], bytes]:
    """A federation policy whose signed record is exactly ``target`` bytes long.

    Follows carry URLs of 221 to 255 characters (all str8), so each added character adds
    exactly one byte: take as many follows as fit, then lengthen URLs from the last one.
    """
    keys = sorted((Key(f"follow{i}", 1000 + i) for i in range(150)), key=lambda k: k.did)
    prefix = "https://coop.example/"

    def build(lengths: list[int]) -> tuple[dict[str, Any], bytes]:
        follow = [
            {"coop": k.did, "url": prefix + "x" * (n - len(prefix))}
            for k, n in zip(keys, lengths, strict=False)
        ]
        body = {"adopt": [], "follow": follow}
        return body, encode(seal(COOP, envelope(COOP, "federation.policy", body, ts)))

    n = 1
    while len(build([221] * (n + 1))[1]) <= target:
        n += 1
    lengths = [221] * n
    deficit = target - len(build(lengths)[1])
    for i in reversed(range(n)):
        grow = min(deficit, 255 - lengths[i])
        lengths[i] += grow
        deficit -= grow
    body, raw = build(lengths)
    assert len(raw) == target, (len(raw), target)
    return body, raw


# ----------------------------------------------------------------------------- refusals


def swap(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert raw.count(old) == 1, old
    return raw.replace(old, new)


def invalid_records(book: Book) -> None:
    ts = T0 + DAY
    rating = {"requester": REQ, "scores": {"pay": 2}}
    good = seal(M1, envelope(M1, "rating", rating, ts))
    good_raw = encode(good)

    # --- the bytes are not canonical MessagePack (DecodeError, before anything else)
    book.bad(
        "non-canonical integer: v as uint8",
        swap(good_raw, b"\xa1v\x01", b"\xa1v\xcc\x01"),
        "DecodeError",
        "non_canonical",
    )
    unsorted = msgpack.packb(
        {"v": 1, **{k: v for k, v in good.items() if k != "v"}}, use_bin_type=True
    )
    book.bad("envelope keys out of order", unsorted, "DecodeError", "unsorted_keys")
    book.bad(
        "duplicate envelope key",
        swap(good_raw, b"\xa1v\x01", b"\xa1v\x01\xa1v\x01").replace(b"\x87", b"\x88", 1),
        "DecodeError",
        "duplicate_key",
    )
    book.bad("trailing byte after the record", good_raw + b"\x00", "DecodeError", "trailing_bytes")
    book.bad("truncated record", good_raw[:-1], "DecodeError", "truncated")
    book.bad(
        "float in a body",
        swap(good_raw, b"\xa3pay\x02", b"\xa3pay\xcb" + bytes(8)),
        "DecodeError",
        "float",
    )
    book.bad(
        "bad UTF-8 in the platform",
        swap(good_raw, b"mturk", b"mt\xffrk"),
        "DecodeError",
        "bad_utf8",
    )

    # --- the envelope
    book.bad("record is an array, not a map", encode([1, 2, 3]), "InvalidRecord", "invalid_record")
    book.bad(
        "unknown envelope field",
        encode(seal(M1, {**envelope(M1, "rating", rating, ts), "x": 1})),
        "InvalidRecord",
        "invalid_record",
    )
    no_ts = envelope(M1, "rating", rating, ts)
    del no_ts["ts"]
    book.bad(
        "missing envelope field (ts)", encode(seal(M1, no_ts)), "InvalidRecord", "invalid_record"
    )
    book.bad(
        "missing sig",
        encode({k: v for k, v in good.items() if k != "sig"}),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "format version 2",
        encode(seal(M1, envelope(M1, "rating", rating, ts, v=2))),
        "InvalidRecord",
        "unsupported_version",
    )
    book.bad(
        "format version 0",
        encode(seal(M1, envelope(M1, "rating", rating, ts, v=0))),
        "InvalidRecord",
        "unsupported_version",
    )
    book.bad(
        "format version true",
        encode(seal(M1, envelope(M1, "rating", rating, ts, v=True))),
        "InvalidRecord",
        "unsupported_version",
    )
    book.bad(
        "unknown type",
        encode(seal(M1, envelope(M1, "review", rating, ts))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "type is not text",
        encode(seal(M1, envelope(M1, 7, rating, ts))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "ts one millisecond before 2020-01-01",
        encode(seal(M1, envelope(M1, "rating", rating, MIN_TS - 1))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "ts at 2200-01-01 (the bound is exclusive)",
        encode(seal(M1, envelope(M1, "rating", rating, MAX_TS))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "ts in seconds, not milliseconds",
        encode(seal(M1, envelope(M1, "rating", rating, ts // 1000))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "ts is text",
        encode(seal(M1, envelope(M1, "rating", rating, str(ts)))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "ts is negative",
        encode(seal(M1, envelope(M1, "rating", rating, -ts))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "coop is not a did:key",
        encode(seal(M1, envelope(M1, "rating", rating, ts, coop="did:web:coop.example"))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "author is a small-order key",
        encode(seal(M1, envelope(M1, "rating", rating, ts, author=SMALL_ORDER_DID))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "sig of 63 bytes",
        encode({**good, "sig": good["sig"][:63]}),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "sig as text", encode({**good, "sig": good["sig"].hex()}), "InvalidRecord", "invalid_record"
    )
    book.bad(
        "body is an array",
        encode(seal(M1, envelope(M1, "rating", [REQ], ts))),
        "InvalidRecord",
        "invalid_record",
    )
    book.bad(
        "body is nil",
        encode(seal(M1, envelope(M1, "rating", None, ts))),
        "InvalidRecord",
        "invalid_record",
    )

    # --- the signature
    sig = good["sig"]
    book.bad(
        "signature with one bit flipped",
        encode({**good, "sig": bytes([sig[0] ^ 1]) + sig[1:]}),
        "InvalidSignature",
        "bad_signature",
    )
    s = int.from_bytes(sig[32:], "little") + L
    book.bad(
        "signature with S + L (non-canonical S)",
        encode({**good, "sig": sig[:32] + s.to_bytes(32, "little")}),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "signed by another key than the author",
        encode(
            {
                **good,
                "sig": M2.sign(
                    SIGNING_DOMAIN + encode({k: v for k, v in good.items() if k != "sig"})
                ),
            }
        ),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "signed without the domain prefix",
        encode(seal(M1, envelope(M1, "rating", rating, ts), domain=b"")),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "signed with another domain (the handle domain)",
        encode(seal(M1, envelope(M1, "rating", rating, ts), domain=b"coopfed/handle/v1\x00")),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "ts changed after signing",
        encode({**good, "ts": ts + 1}),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "coop changed after signing",
        encode({**good, "coop": M3.did}),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "body changed after signing",
        encode({**good, "body": {"requester": REQ, "scores": {"pay": 5}}}),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "signature over the whole record, sig field included as empty binary",
        encode({**good, "sig": M1.sign(SIGNING_DOMAIN + encode({**good, "sig": b""}))}),
        "InvalidSignature",
        "bad_signature",
    )
    book.bad(
        "all-zero signature",
        encode({**good, "sig": bytes(64)}),
        "InvalidSignature",
        "bad_signature",
    )

    # --- the signer rule
    book.bad_body("wrong signer: a charter signed by a member", M1, "charter", charter_rules())
    book.bad_body(
        "wrong signer: member.admit signed by a member",
        M1,
        "member.admit",
        {"member": M2.did, "via": "founder"},
    )
    book.bad_body(
        "wrong signer: a decision signed by a member",
        M1,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "passed", {"yes": 1}, [sha(b"b")], 1),
    )
    book.bad_body(
        "wrong signer: block signed by a member",
        M2,
        "block",
        {
            "decision": sha(b"d"),
            "provisional": False,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    book.bad_body("wrong signer: a rating signed by the co-op key", COOP, "rating", rating)
    book.bad_body(
        "wrong signer: a ballot signed by the co-op key",
        COOP,
        "ballot",
        {"choice": "yes", "proposal": sha(b"p")},
    )
    book.bad_body("wrong signer: member.apply signed by the co-op key", COOP, "member.apply", {})
    book.bad_body(
        "wrong signer: a reply signed by the co-op key",
        COOP,
        "reply",
        {"requester": REQ, "text": "Hello."},
    )

    book.bad_body(
        "wrong signer: an outcome signed by the co-op key",
        COOP,
        "outcome",
        {"decision": sha(b"d"), "text": "Done."},
    )
    book.bad_body(
        "wrong signer: a comment signed by the co-op key",
        COOP,
        "comment",
        {"proposal": sha(b"p"), "text": "Hello."},
    )
    book.bad_body("wrong signer: a delegation signed by the co-op key", COOP, "delegation", {})

    # --- oversized
    _, raw = sized_policy(MAX_RECORD_SIZE + 1, T0 + 60 * DAY + 2)
    book.bad(
        f"{MAX_RECORD_SIZE + 1} bytes, one over the limit (otherwise valid)",
        raw,
        "InvalidRecord",
        "too_large",
    )

    # --- body schema: fields
    def rb(name: str, body: Any) -> None:
        book.bad_body(name, M1, "rating", body)

    rb("unknown body field", {**rating, "stars": 5})
    rb("unknown field inside scores", {"requester": REQ, "scores": {"pay": 2, "speed": 3}})
    rb("unknown field inside requester", {"requester": {**REQ, "name": "ACME"}, "recommend": True})
    book.bad_body(
        "missing body field (flag without expires)",
        M1,
        "flag",
        {"reason": "scam", "requester": REQ, "target": "requester"},
    )
    book.bad_body(
        "missing field in requester (no platform)",
        M1,
        "flag",
        {
            "expires": T0 + 9 * DAY,
            "reason": "scam",
            "requester": {"id": "A1"},
            "target": "requester",
        },
    )
    rb("score 6 (range 1-5)", {"requester": REQ, "scores": {"pay": 6}})
    rb("score 0 (range 1-5)", {"requester": REQ, "scores": {"fair": 0}})
    rb("score -1", {"requester": REQ, "scores": {"fair": -1}})
    rb("hourly_cents above 1000000", {"hourly_cents": 1_000_001, "requester": REQ})
    rb("minutes 0", {"hourly_cents": 100, "minutes": 0, "requester": REQ})
    rb("text of 1001 characters", {"requester": REQ, "text": "a" * 1001})
    rb("empty text", {"recommend": True, "requester": REQ, "text": ""})
    rb("text with a control character (escape)", {"requester": REQ, "text": "bad\x1b[31m"})
    rb("text with a carriage return", {"requester": REQ, "text": "line\r\nline"})
    rb("text with a right-to-left override (U+202E)", {"requester": REQ, "text": "pay\u202e"})
    rb("text with a C1 control (U+0085)", {"requester": REQ, "text": "next\u0085line"})
    rb("recommend as an integer", {"recommend": 1, "requester": REQ})
    rb("score as text", {"requester": REQ, "scores": {"pay": "2"}})
    rb("scores is an empty map", {"recommend": True, "requester": REQ, "scores": {}})
    rb("rejected not one of all/none/some", {"rejected": "most", "requester": REQ})
    rb(
        "platform in upper case",
        {"recommend": True, "requester": {"id": "A1", "platform": "MTurk"}},
    )
    rb(
        "platform of 33 characters",
        {"recommend": True, "requester": {"id": "A1", "platform": "p" * 33}},
    )
    rb(
        "requester id with a space",
        {"recommend": True, "requester": {"id": "A1 B2", "platform": "mturk"}},
    )
    rb(
        "requester id of 129 characters",
        {"recommend": True, "requester": {"id": "A" * 129, "platform": "mturk"}},
    )
    rb(
        "requester id not ASCII",
        {"recommend": True, "requester": {"id": "Ä1", "platform": "mturk"}},
    )
    rb("requester as text 'mturk:A1'", {"recommend": True, "requester": "mturk:A1"})
    book.bad_body(
        "flag reason not in the list",
        M1,
        "flag",
        {"expires": T0 + 9 * DAY, "reason": "rude", "requester": REQ, "target": "requester"},
    )
    book.bad_body(
        "flag expires after 2200-01-01",
        M1,
        "flag",
        {"expires": MAX_TS + 1, "reason": "scam", "requester": REQ, "target": "requester"},
    )
    book.bad_body("retraction of a 31-byte id", M1, "retraction", {"record": bytes(31)})
    book.bad_body(
        "retraction of an id given as hex text", M1, "retraction", {"record": sha(b"x").hex()}
    )
    book.bad_body(
        "member.admit of a did:web",
        COOP,
        "member.admit",
        {"member": "did:web:example.com", "via": "founder"},
    )
    book.bad_body(
        "member.admit of a small-order key",
        COOP,
        "member.admit",
        {"member": SMALL_ORDER_DID, "via": "founder"},
    )
    book.bad_body(
        "role not matching [a-z][a-z0-9_]{0,31}",
        COOP,
        "role.assign",
        {"decision": sha(b"d"), "member": M1.did, "role": "Treasurer"},
    )
    book.bad_body("charter quorum_pct 0", COOP, "charter", charter_rules(quorum_pct=0))
    book.bad_body("charter pass_pct 100", COOP, "charter", charter_rules(pass_pct=100))
    book.bad_body(
        "charter min_window_ms under an hour",
        COOP,
        "charter",
        charter_rules(min_window_ms=HOUR - 1),
    )
    book.bad_body("charter name of 101 characters", COOP, "charter", charter_rules(name="n" * 101))
    book.bad_body(
        "charter block_rule flags 1",
        COOP,
        "charter",
        charter_rules(block_rule={"days": 7, "flags": 1, "review_days": 30}),
    )
    book.bad_body(
        "charter with 17 roles",
        COOP,
        "charter",
        charter_rules(roles=[f"role{i:02d}" for i in range(17)]),
    )
    book.bad_body("charter admission 'open'", COOP, "charter", charter_rules(admission="open"))
    book.bad_body(
        "proposal pitch of 141 characters",
        M1,
        "proposal",
        {"kind": "idea", "pitch": "p" * 141, **window(T0 + DAY)},
    )
    book.bad_body(
        "proposal kind 'recall'",
        M1,
        "proposal",
        {"kind": "recall", "pitch": "Recall", **window(T0 + DAY)},
    )
    book.bad_body("ballot choice 'Yes!'", M1, "ballot", {"choice": "Yes!", "proposal": sha(b"p")})
    book.bad_body(
        "ballot choice a malformed did:key",
        M1,
        "ballot",
        {"choice": "did:key:z6MkNOTAKEY", "proposal": sha(b"p")},
    )
    book.bad_body(
        "decision result 'won'",
        COOP,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "won", {"yes": 1}, [sha(b"b")], 1),
    )
    no_root = decision_body(sha(b"p"), sha(b"c"), "passed", {"yes": 1}, [sha(b"b")], 1)
    del no_root["roster_root"]
    book.bad_body("decision without roster_root", COOP, "decision", no_root)
    book.bad_body(
        "ballot choice 'did:web:…' (text starting 'did:' must be a did:key)",
        M1,
        "ballot",
        {"choice": "did:web:coop.example", "proposal": sha(b"p")},
    )
    book.bad_body(
        "decision roster_size 0",
        COOP,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "no_quorum", {}, [], 0),
    )
    book.bad_body(
        "decision counts key 'Yes'",
        COOP,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "passed", {"Yes": 1}, [sha(b"b")], 1),
    )
    book.bad_body(
        "decision counts key a malformed did:key",
        COOP,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "passed", {"did:key:zNOPE": 1}, [sha(b"b")], 1),
    )
    book.bad_body(
        "unblock why 'pardon'",
        COOP,
        "unblock",
        {"block": sha(b"b"), "requester": REQ, "why": "pardon"},
    )
    book.bad_body(
        "federation.policy with an empty allow list (omitted when empty)",
        COOP,
        "federation.policy",
        {"adopt": [], "allow": [], "follow": []},
    )
    book.bad_body(
        "federation.policy follow url of 301 characters",
        COOP,
        "federation.policy",
        {"adopt": [], "follow": [{"coop": PEERS[0].did, "url": "u" * 301}]},
    )
    book.bad_body(
        "federation.policy follow of a non-DID",
        COOP,
        "federation.policy",
        {"adopt": [], "follow": [{"coop": "north-coop"}]},
    )

    # --- body schema: one-line fields (issue 11: a pitch on two lines forged a verdict)
    def one_line(name: str, signer: Key, rtype: str, body: dict[str, Any]) -> None:
        book.bad_body(name, signer, rtype, body, code="not_one_line")

    idea = {"kind": "idea", **window(T0 + DAY)}
    one_line(
        "proposal pitch with a line feed (not_one_line)",
        M1,
        "proposal",
        {**idea, "pitch": "ok\nDECIDED: passed"},
    )
    one_line(
        "proposal pitch with a line separator U+2028 (not_one_line)",
        M1,
        "proposal",
        {**idea, "pitch": "ok\u2028DECIDED: passed"},
    )
    one_line(
        "proposal pitch with a paragraph separator U+2029 (not_one_line)",
        M1,
        "proposal",
        {**idea, "pitch": "ok\u2029DECIDED: passed"},
    )
    one_line("proposal pitch with a tab (not_one_line)", M1, "proposal", {**idea, "pitch": "a\tb"})
    one_line(
        "charter name with a line feed (not_one_line)",
        COOP,
        "charter",
        charter_rules(name="North\nfingerprint: 00000000"),
    )
    one_line(
        "proposal amend whose charter name holds a line feed (not_one_line)",
        M1,
        "proposal",
        {
            "charter": charter_rules(name="North\nSouth"),
            "kind": "amend",
            "pitch": "Rename the co-op",
            **window(T0 + DAY),
        },
    )
    one_line(
        "federation.policy follow url with a line feed (not_one_line)",
        COOP,
        "federation.policy",
        {"adopt": [], "follow": [{"coop": PEERS[0].did, "url": "https://a.example/\nx"}]},
    )
    book.bad_body(
        "proposal pitch with a carriage return (a control: invalid_record)",
        M1,
        "proposal",
        {**idea, "pitch": "ok\rDECIDED: passed"},
    )

    # --- body schema: one encoding per value
    rb("optional field given as nil", {"recommend": True, "requester": REQ, "text": None})
    book.bad_body(
        "charter delegation given as false (omit it)",
        COOP,
        "charter",
        charter_rules(delegation=False),
    )
    book.bad_body("delegation to given as nil (omit it)", M1, "delegation", {"to": None})
    book.bad_body(
        "drafts given as false (omit it)",
        COOP,
        "federation.policy",
        {"adopt": [], "drafts": False, "follow": []},
    )
    book.bad_body(
        "allow given as an empty array (omit it)",
        COOP,
        "federation.policy",
        {"adopt": [], "allow": [], "follow": []},
    )
    book.bad_body(
        "block flags given as an empty array",
        COOP,
        "block",
        {
            "decision": sha(b"d"),
            "flags": [],
            "provisional": False,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    book.bad_body(
        "proposal candidates empty",
        M1,
        "proposal",
        {
            "candidates": [],
            "kind": "elect",
            "pitch": "Elect",
            "role": "treasurer",
            **window(T0 + DAY),
        },
    )
    book.bad_body(
        "charter without roles (roles is required, possibly empty)",
        COOP,
        "charter",
        charter_rules(roles=None),
    )
    book.bad_body(
        "charter roles out of order",
        COOP,
        "charter",
        charter_rules(roles=["treasurer", "moderator"]),
    )
    book.bad_body(
        "charter roles repeated", COOP, "charter", charter_rules(roles=["moderator", "moderator"])
    )
    book.bad_body(
        "proposal candidates out of order",
        M1,
        "proposal",
        {
            "candidates": sorted([M1.did, M2.did], reverse=True),
            "kind": "elect",
            "pitch": "Elect",
            "role": "treasurer",
            **window(T0 + DAY),
        },
    )
    book.bad_body(
        "block flags out of order",
        COOP,
        "block",
        {
            "flags": sorted([sha(b"1"), sha(b"2")], reverse=True),
            "provisional": True,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    book.bad_body(
        "block flags repeated",
        COOP,
        "block",
        {
            "flags": [sha(b"1"), sha(b"1")],
            "provisional": True,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    peers = [p.did for p in PEERS]
    book.bad_body(
        "federation.policy follow out of order",
        COOP,
        "federation.policy",
        {"adopt": [], "follow": [{"coop": peers[1]}, {"coop": peers[0]}]},
    )
    book.bad_body(
        "federation.policy adopt from out of order",
        COOP,
        "federation.policy",
        {
            "adopt": [{"from": [peers[1], peers[0]], "k": 1}],
            "follow": [{"coop": peers[0]}, {"coop": peers[1]}],
        },
    )
    book.bad_body(
        "federation.policy allow out of order",
        COOP,
        "federation.policy",
        {"adopt": [], "allow": [REQ_PROLIFIC, REQ], "follow": []},
    )
    book.bad_body(
        "federation.policy allow in the order of the text platform:id (mturk2:… before mturk:…)",
        COOP,
        "federation.policy",
        {"adopt": [], "allow": [REQ_MTURK2, REQ], "follow": []},
    )

    # --- body schema: cross-field rules
    book.bad_body(
        "charter min_window_ms above max_window_ms",
        COOP,
        "charter",
        charter_rules(min_window_ms=3 * DAY, max_window_ms=2 * DAY),
    )
    book.bad_body(
        "charter amend_pct below pass_pct",
        COOP,
        "charter",
        charter_rules(amend_pct=55, pass_pct=60),
    )
    book.bad_body(
        "charter supersedes without decision",
        COOP,
        "charter",
        {**charter_rules(), "supersedes": sha(b"c")},
    )
    book.bad_body(
        "charter decision without supersedes",
        COOP,
        "charter",
        {**charter_rules(), "decision": sha(b"d")},
    )
    book.bad_body(
        "member.admit founder with a ref",
        COOP,
        "member.admit",
        {"member": M1.did, "ref": sha(b"r"), "via": "founder"},
    )
    book.bad_body(
        "member.admit invite without a ref",
        COOP,
        "member.admit",
        {"member": M1.did, "via": "invite"},
    )
    book.bad_body(
        "member.revoke via 'vote'",
        COOP,
        "member.revoke",
        {"member": M1.did, "ref": sha(b"r"), "via": "vote"},
    )
    rb("rating with nothing to say", {"requester": REQ})
    rb("rating minutes without hourly_cents", {"minutes": 30, "requester": REQ, "recommend": True})
    book.bad_body(
        "flag on the requester with a target_id",
        M1,
        "flag",
        {
            "expires": T0 + 9 * DAY,
            "reason": "scam",
            "requester": REQ,
            "target": "requester",
            "target_id": "3ABC",
        },
    )
    book.bad_body(
        "flag on a batch without target_id",
        M1,
        "flag",
        {"expires": T0 + 9 * DAY, "reason": "scam", "requester": REQ, "target": "batch"},
    )
    book.bad_body(
        "flag reason 'other' without a note",
        M1,
        "flag",
        {"expires": T0 + 9 * DAY, "reason": "other", "requester": REQ, "target": "requester"},
    )
    book.bad_body(
        "appeal filed with follows",
        M1,
        "appeal",
        {"follows": sha(b"a"), "requester": REQ, "status": "filed"},
    )
    book.bad_body(
        "appeal outcome without follows", M1, "appeal", {"requester": REQ, "status": "won"}
    )
    book.bad_body(
        "requester.alias of itself", COOP, "requester.alias", {"alias_of": REQ, "requester": REQ}
    )
    book.bad_body(
        "proposal closes at opens",
        M1,
        "proposal",
        {"closes": T0 + DAY, "kind": "idea", "opens": T0 + DAY, "pitch": "Idea"},
    )
    book.bad_body(
        "block proposal without reason",
        M1,
        "proposal",
        {"kind": "block", "pitch": "Block", "requester": REQ, **window(T0 + DAY)},
    )
    book.bad_body(
        "idea proposal naming a requester",
        M1,
        "proposal",
        {"kind": "idea", "pitch": "Idea", "requester": REQ, **window(T0 + DAY)},
    )
    book.bad_body(
        "admit proposal without member",
        M1,
        "proposal",
        {"kind": "admit", "pitch": "Admit", **window(T0 + DAY)},
    )
    book.bad_body(
        "revoke proposal with an application",
        M1,
        "proposal",
        {
            "application": sha(b"a"),
            "kind": "revoke",
            "member": M2.did,
            "pitch": "Revoke",
            **window(T0 + DAY),
        },
    )
    book.bad_body(
        "elect proposal without role",
        M1,
        "proposal",
        {"candidates": [M1.did], "kind": "elect", "pitch": "Elect", **window(T0 + DAY)},
    )
    book.bad_body(
        "amend proposal without charter",
        M1,
        "proposal",
        {"kind": "amend", "pitch": "Amend", **window(T0 + DAY)},
    )
    book.bad_body(
        "amend proposal whose charter has supersedes",
        M1,
        "proposal",
        {
            "charter": {**charter_rules(), "decision": sha(b"d"), "supersedes": sha(b"c")},
            "kind": "amend",
            "pitch": "Amend",
            **window(T0 + DAY),
        },
    )
    book.bad_body(
        "amend proposal whose charter breaks a rule",
        M1,
        "proposal",
        {
            "charter": charter_rules(quorum_pct=0),
            "kind": "amend",
            "pitch": "Amend",
            **window(T0 + DAY),
        },
    )
    book.bad_body(
        "block proposal with a charter",
        M1,
        "proposal",
        {
            "charter": charter_rules(),
            "kind": "block",
            "pitch": "Block",
            "reason": "scam",
            "requester": REQ,
            **window(T0 + DAY),
        },
    )
    book.bad_body(
        "decision counts do not add up to ballots",
        COOP,
        "decision",
        {**decision_body(sha(b"p"), sha(b"c"), "passed", {"yes": 2}, [sha(b"b")], 3)},
    )
    book.bad_body(
        "decision elected without winner",
        COOP,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "elected", {M1.did: 1}, [sha(b"b")], 3),
    )
    book.bad_body(
        "decision passed with a winner",
        COOP,
        "decision",
        decision_body(sha(b"p"), sha(b"c"), "passed", {"yes": 1}, [sha(b"b")], 3, winner=M1.did),
    )
    book.bad_body(
        "decision counts do not add up to ballots plus delegated",
        COOP,
        "decision",
        {
            **decision_body(sha(b"p"), sha(b"c"), "passed", {"yes": 2}, [sha(b"b")], 3),
            "delegated": 2,
            "delegations_root": sha(b"r"),
        },
    )
    book.bad_body(
        "decision delegated without delegations_root",
        COOP,
        "decision",
        {
            **decision_body(sha(b"p"), sha(b"c"), "passed", {"yes": 2}, [sha(b"b")], 3),
            "delegated": 1,
        },
    )
    book.bad_body(
        "comment both replying and giving a ballot's reason",
        M1,
        "comment",
        {"ballot": sha(b"b"), "parent": sha(b"c"), "proposal": sha(b"p"), "text": "Both."},
    )
    book.bad_body("comment without text", M1, "comment", {"proposal": sha(b"p")})
    book.bad_body("comment with empty text", M1, "comment", {"proposal": sha(b"p"), "text": ""})
    book.bad_body(
        "comment of 4001 characters",
        M1,
        "comment",
        {"proposal": sha(b"p"), "text": "x" * 4001},
    )
    book.bad_body("outcome without a decision", M1, "outcome", {"text": "Done."})
    book.bad_body("delegation to something not a did:key", M1, "delegation", {"to": "brave_otter"})
    book.bad_body(
        "block with both decision and flags",
        COOP,
        "block",
        {
            "decision": sha(b"d"),
            "flags": [sha(b"f")],
            "provisional": True,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    book.bad_body(
        "block with neither decision nor flags",
        COOP,
        "block",
        {"provisional": False, "reason": "scam", "requester": REQ, "review": T0 + 90 * DAY},
    )
    book.bad_body(
        "block on flags not marked provisional",
        COOP,
        "block",
        {
            "flags": [sha(b"f")],
            "provisional": False,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    book.bad_body(
        "block on a decision marked provisional",
        COOP,
        "block",
        {
            "decision": sha(b"d"),
            "provisional": True,
            "reason": "scam",
            "requester": REQ,
            "review": T0 + 90 * DAY,
        },
    )
    book.bad_body(
        "unblock why 'decision' without decision",
        COOP,
        "unblock",
        {"block": sha(b"b"), "requester": REQ, "why": "decision"},
    )
    book.bad_body(
        "unblock why 'review' with a decision",
        COOP,
        "unblock",
        {"block": sha(b"b"), "decision": sha(b"d"), "requester": REQ, "why": "review"},
    )
    book.bad_body(
        "federation.policy adopts from a co-op it does not follow",
        COOP,
        "federation.policy",
        {"adopt": [{"from": [peers[0]], "k": 1}], "follow": [{"coop": peers[1]}]},
    )
    book.bad_body(
        "federation.policy k above the number of sources",
        COOP,
        "federation.policy",
        {"adopt": [{"from": [peers[0]], "k": 2}], "follow": [{"coop": peers[0]}]},
    )
    book.bad_body(
        "federation.policy k of 0",
        COOP,
        "federation.policy",
        {"adopt": [{"from": [peers[0]], "k": 0}], "follow": [{"coop": peers[0]}]},
    )

    # --- required fields given as nil (the schema's answer: InvalidRecord)
    book.bad_body(
        "required integer given as nil (flag expires)",
        M1,
        "flag",
        {"expires": None, "reason": "scam", "requester": REQ, "target": "requester"},
    )
    book.bad_body(
        "required requester given as nil (reply)",
        REQUESTER_KEY,
        "reply",
        {"requester": None, "text": "Hello."},
    )
    book.bad_body(
        "required integer given as nil (federation.policy k)",
        COOP,
        "federation.policy",
        {"adopt": [{"from": [peers[0]], "k": None}], "follow": [{"coop": peers[0]}]},
    )
    book.bad_body(
        "required text given as nil (reply text)",
        REQUESTER_KEY,
        "reply",
        {"requester": REQ, "text": None},
    )
    book.bad_body(
        "required map given as nil (decision counts)",
        COOP,
        "decision",
        {**decision_body(sha(b"p"), sha(b"c"), "no_quorum", {}, [], 1), "counts": None},
    )


def generate() -> dict[str, Any]:
    book = Book()
    valid_records(book)
    issue13_records(book)
    invalid_records(book)
    issue13_invalid(book)
    names = [c["name"] for c in book.valid + book.invalid]
    assert len(names) == len(set(names)), "case names must be unique"
    return {
        "provenance": {
            "spec": "spec/records.md",
            "generator": "spec/vectors/gen_records.py",
            "seeds": "seed_i = SHA-256(UTF-8 'coopfed-vector-seed-' + decimal i); Ed25519 "
            "signatures are deterministic",
            "method": "bodies written as plain maps from the field tables of spec/records.md, "
            "encoded canonically and signed; each invalid case has one fault",
        },
        "constants": {
            "signing_domain": SIGNING_DOMAIN.hex(),
            "max_record_size": MAX_RECORD_SIZE,
            "min_ts": MIN_TS,
            "max_ts": MAX_TS,
        },
        "identities": [{"name": k.name, "seed_index": k.index, "did": k.did} for k in KEYS],
        "notes": [
            "valid: Record.from_bytes(hex) succeeds; its id is SHA-256(hex bytes); "
            "signing_input is 'coopfed/record/v1' 0x00 || encode(envelope without sig); "
            "json is the JSON view; references are the record ids the body cites, sorted.",
            "invalid: Record.from_bytes(hex) raises error (an error class of "
            "protocol/errors.py) with that code.",
            "Admissibility in a co-op's log (membership, references, windows) is not "
            "checked here: see spec/state.md. The valid records tell one plausible story "
            "but are not meant to form one admissible log.",
        ],
        "valid": book.valid,
        "invalid": book.invalid,
    }
