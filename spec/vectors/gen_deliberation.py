"""Vectors for spec/deliberation.md: members-only comments, and signed members-only reads.

One small co-op log is written from fixed seeds through ``CoopState``. Against its state,
``comments`` offers members-only comments one by one, each with the parent comment the
node's store holds (an accepted comment joins the store), and gives the verdict of
``check_comment``; ``read_auth`` gives ``Authorization`` headers of signed reads and what
``ReadAuth.parse`` and ``ReadAuth.verify`` make of them against the same state. Every
verdict is declared by hand and checked against the reference implementation while
generating. Signing inputs are built here from the bytes deliberation.md §5 gives, not by
the code under test, and compared with it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from coopfed.protocol.bodies import (
    Ballot,
    BlockRule,
    Charter,
    Comment,
    FlagReason,
    MemberAdmit,
    MemberResign,
    Proposal,
    ProposalKind,
    RequesterRef,
)
from coopfed.protocol.checkpoint import log_origin
from coopfed.protocol.deliberation import check_comment
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import ProtocolError
from coopfed.protocol.identity import SigningIdentity
from coopfed.protocol.readauth import ReadAuth, read_signing_input
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import DEFAULT_MAX_SKEW_MS, CoopState

SEED_PREFIX = b"coopfed/vectors/deliberation/"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000
HOUR = 60 * MINUTE
READ_DOMAIN = b"coopfed/read/v1\x00"
NAMES = ("coop", "other-coop", "ana", "bo", "cy", "eve", "fay")
REQ = RequesterRef(platform="mturk", id="A1EXAMPLE")
#: Every code check_comment raises, and every code of a members-only read.
COMMENT_CODES = (
    "wrong_coop", "skew", "not_member", "revoked", "unknown_reference", "wrong_reference",
    "mismatch", "not_author",
)  # fmt: skip
READ_CODES = (
    "auth_required", "auth_malformed", "auth_skew", "auth_bad_signature", "not_member", "revoked",
)  # fmt: skip


def identity(name: str) -> SigningIdentity:
    return SigningIdentity(hashlib.sha256(SEED_PREFIX + name.encode()).digest())


def did(name: str) -> str:
    return identity(name).did


def fake_id(label: str) -> bytes:
    return hashlib.sha256(b"coopfed/vectors/deliberation/no-such-record/" + label.encode()).digest()


CHARTER = Charter(
    name="Vector Talking Co-op",
    quorum_pct=50,
    pass_pct=50,
    amend_pct=66,
    min_window_ms=HOUR,
    max_window_ms=14 * 86_400_000,
    idea_up=2,
    block_rule=BlockRule(flags=3, days=7, review_days=30),
    min_pay_cents=1200,
    admission="invite",
)


class World:
    """The co-op's log (through CoopState), then its members-only store of comments."""

    def __init__(self) -> None:
        self.coop = identity("coop")
        self.state = CoopState(self.coop.did)
        self.log: list[Record] = []
        self.store: dict[bytes, Record] = {}
        self.steps: list[dict[str, Any]] = []
        self.now = T0

    def append(self, who: str, body: Any) -> Record:
        record = sign_record(identity(who), coop=self.coop.did, ts=self.now, body=body)
        self.state.apply(record)
        self.log.append(record)
        self.now += MINUTE
        return record

    def comment(
        self,
        who: str,
        body: Comment,
        expect: str,
        why: str,
        *,
        parent: Record | None = None,
        ts: int | None = None,
        now: int | None = None,
        coop: str | None = None,
    ) -> Record:
        """Offer a comment; ``parent`` is what the store gives for ``body.parent``."""
        record = sign_record(identity(who), coop=coop or self.coop.did,
                             ts=self.now if ts is None else ts, body=body)  # fmt: skip
        now_ms = self.now if now is None else now
        step: dict[str, Any] = {
            "record": record.raw.hex(),
            "parent": None if parent is None else parent.raw.hex(),
            "now_ms": now_ms,
            "why": why,
        }
        try:
            check_comment(self.state, record, parent=parent, now_ms=now_ms)
        except ProtocolError as exc:
            assert exc.code == expect, f"{why}: expected {expect}, got {exc!r}"
            step.update(verdict="reject", error=type(exc).__name__, code=exc.code)
        else:
            assert expect == "accept", f"{why}: expected {expect}, accepted"
            step["verdict"] = "accept"
            self.store[record.id] = record
        self.steps.append(step)
        self.now += 1000
        return record


def build() -> World:
    w = World()
    w.append("coop", CHARTER)
    for name in ("ana", "bo", "cy", "eve"):
        w.append("coop", MemberAdmit(member=did(name), via="founder"))
    block = w.append("ana", Proposal(kind=ProposalKind.BLOCK, pitch="Block A1EXAMPLE",
                                     opens=w.now, closes=w.now + HOUR, requester=REQ,
                                     reason=FlagReason.UNDERPAID))  # fmt: skip
    idea = w.append("bo", Proposal(kind=ProposalKind.IDEA, pitch="A shared pay calculator",
                                   opens=w.now, closes=w.now + HOUR))  # fmt: skip
    yes = w.append("ana", Ballot(proposal=block.id, choice="yes"))
    up = w.append("bo", Ballot(proposal=idea.id, choice="up"))
    w.append("eve", MemberResign(text="Leaving."))
    (revoke,) = w.state.due(w.now)
    w.append("coop", revoke)

    first = w.comment("bo", Comment(proposal=block.id, text="They rejected my batch too."),
                      "accept", "a comment on a proposal")  # fmt: skip
    w.comment("cy", Comment(proposal=block.id, parent=first.id, text="Same, twice in March."),
              "accept", "a reply to it", parent=first)  # fmt: skip
    w.comment("ana", Comment(proposal=block.id, ballot=yes.id, text="Pay is half our minimum."),
              "accept", "the reason for ana's own ballot")  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, text="Later thought."), "accept",
              "a comment whose time is exactly max_skew_ms from the clock",
              now=w.now + DEFAULT_MAX_SKEW_MS)  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, text="Hello."), "wrong_coop",
              "a comment for another co-op", coop=did("other-coop"))  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, text="Hello."), "skew",
              "a comment 300 001 ms from the node's clock",
              now=w.now + DEFAULT_MAX_SKEW_MS + 1)  # fmt: skip
    w.comment("fay", Comment(proposal=block.id, text="Hello."), "not_member",
              "an outsider comments")  # fmt: skip
    w.comment("eve", Comment(proposal=block.id, text="Hello."), "revoked",
              "a former member comments")  # fmt: skip
    w.comment("bo", Comment(proposal=fake_id("p"), text="Hello."), "unknown_reference",
              "a comment on a proposal not in the log")  # fmt: skip
    w.comment("bo", Comment(proposal=yes.id, text="Hello."), "wrong_reference",
              "a comment on a ballot, not a proposal")  # fmt: skip
    w.comment("cy", Comment(proposal=block.id, parent=fake_id("c"), text="Hm."),
              "unknown_reference", "a reply to a comment the store does not hold")  # fmt: skip
    w.comment("cy", Comment(proposal=block.id, parent=yes.id, text="Hm."), "wrong_reference",
              "a reply whose parent is a ballot", parent=yes)  # fmt: skip
    w.comment("cy", Comment(proposal=idea.id, parent=first.id, text="Hm."), "mismatch",
              "a reply on another proposal than its parent", parent=first)  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, ballot=fake_id("b"), text="Because."),
              "unknown_reference", "the reason for a ballot not in the log")  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, ballot=block.id, text="Because."),
              "wrong_reference", "the reason for a proposal, not a ballot")  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, ballot=yes.id, text="Because."), "not_author",
              "bo gives the reason for ana's ballot")  # fmt: skip
    w.comment("bo", Comment(proposal=block.id, ballot=up.id, text="Because."), "mismatch",
              "the reason for a ballot on another proposal")  # fmt: skip
    return w


def signing_input(coop: str, author: str, method: str, target: str, ts: int) -> bytes:
    """deliberation.md §5.2, written out: the domain, then the canonical five-key map."""
    return READ_DOMAIN + encode(
        {"author": author, "method": method, "origin": log_origin(coop), "target": target, "ts": ts}
    )


def header(who: str, coop: str, method: str, target: str, ts: int) -> str:
    sig = identity(who).sign(signing_input(coop, did(who), method, target, ts))
    b64 = base64.urlsafe_b64encode(sig).decode().rstrip("=")
    return f'Coopfed-Member author="{did(who)}", ts="{ts}", sig="{b64}"'


def with_sig(hdr: str, sig: bytes) -> str:
    """``hdr`` with its signature replaced by ``sig``."""
    return (
        hdr.rsplit('sig="', 1)[0]
        + 'sig="'
        + base64.urlsafe_b64encode(sig).decode().rstrip("=")
        + '"'
    )


def read_cases(w: World) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    coop = w.coop.did
    now = w.now
    target = "/api/v1/proposals/" + "ab" * 32 + "/comments?after=2"

    def case(name: str, hdr: str | None, *, method: str = "GET", tgt: str = target,
             at: int = now, **extra: Any) -> dict[str, Any]:  # fmt: skip
        return {"name": name, "header": hdr, "coop": coop, "method": method, "target": tgt,
                "now_ms": at, **extra}  # fmt: skip

    valid = []
    for name, who, method, tgt, ts in (
        ("a member reads a proposal's comments", "bo", "GET", target, now),
        ("HEAD, signed as HEAD", "ana", "HEAD", target, now),
        ("a path without a query", "cy", "GET", "/api/v1/comments", now),
        ("signed max_skew_ms before the node's clock", "bo", "GET", target,
         now - DEFAULT_MAX_SKEW_MS),
        ("signed max_skew_ms after the node's clock", "bo", "GET", target,
         now + DEFAULT_MAX_SKEW_MS),
    ):  # fmt: skip
        message = signing_input(coop, did(who), method, tgt, ts)
        assert message == read_signing_input(coop=coop, author=did(who), method=method,
                                             target=tgt, ts=ts)  # fmt: skip
        c = case(name, header(who, coop, method, tgt, ts), method=method, tgt=tgt,
                 author=did(who), ts=ts, signing_input=message.hex())  # fmt: skip
        auth = ReadAuth.parse(c["header"])
        auth.verify(coop=coop, method=method, target=tgt, now_ms=now, state=w.state)
        assert auth.to_header() == c["header"] and auth.author == did(who)
        valid.append(c)

    good = header("bo", coop, "GET", target, now)
    sig = good.rsplit('sig="', 1)[1][:-1]
    padded = good[:-1] + '=="'
    # The last of 86 characters carries 2 bits of the signature and 4 unused bits: set one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    noisy = good[:-2] + alphabet[alphabet.index(sig[-1]) ^ 1] + '"'
    assert base64.urlsafe_b64decode(noisy[-87:-1] + "==") == base64.urlsafe_b64decode(sig + "==")
    invalid = [
        case("no header", None, code="auth_required"),
        case("an empty header", "", code="auth_required"),
        case("another scheme", good.replace("Coopfed-Member", "Bearer", 1),
             code="auth_malformed"),
        case("the scheme in lower case", good.replace("Coopfed-Member", "coopfed-member", 1),
             code="auth_malformed"),
        case("two spaces after a comma", good.replace(", ts=", ",  ts=", 1),
             code="auth_malformed"),
        case("parameters in another order",
             f'Coopfed-Member ts="{now}", author="{did("bo")}", sig="{sig}"',
             code="auth_malformed"),
        case("ts with a leading zero", good.replace(f'ts="{now}"', f'ts="0{now}"', 1),
             code="auth_malformed"),
        case("ts in seconds", good.replace(f'ts="{now}"', f'ts="{now // 1000}"', 1),
             code="auth_malformed"),
        case("sig with base64 padding", padded, code="auth_malformed"),
        case("sig with a character outside base64url (+)", good[:-2] + '+"',
             code="auth_malformed"),
        case("sig whose unused bits are not zero", noisy, code="auth_malformed"),
        case("author not a did:key", good.replace(did("bo"), "did:web:bo.example", 1),
             code="auth_malformed"),
        case("longer than 512 characters", good + " " * 400, code="auth_malformed"),
        case("signed 300 001 ms before the node's clock",
             header("bo", coop, "GET", target, now - DEFAULT_MAX_SKEW_MS - 1),
             code="auth_skew"),
        case("signed 300 001 ms after the node's clock",
             header("bo", coop, "GET", target, now + DEFAULT_MAX_SKEW_MS + 1),
             code="auth_skew"),
        case("signed for another path", good, tgt="/api/v1/proposals/" + "cd" * 32
             + "/comments?after=2", code="auth_bad_signature"),
        case("signed for another query", good, tgt=target.replace("after=2", "after=3"),
             code="auth_bad_signature"),
        case("signed as GET, sent as HEAD", good, method="HEAD", code="auth_bad_signature"),
        case("signed for another co-op's node",
             header("bo", did("other-coop"), "GET", target, now), code="auth_bad_signature"),
        case("signed under the record domain", with_sig(good, identity("bo").sign(
             b"coopfed/record/v1\x00" + signing_input(coop, did("bo"), "GET", target, now)[
                 len(READ_DOMAIN):])), code="auth_bad_signature"),
        case("another key's signature", good.replace(did("bo"), did("ana"), 1),
             code="auth_bad_signature"),
        case("skew before the signature", header("bo", coop, "GET", target, now)
             .replace(f'ts="{now}"', f'ts="{now - DEFAULT_MAX_SKEW_MS - 1}"', 1),
             code="auth_skew"),
        case("an outsider's key", header("fay", coop, "GET", target, now), code="not_member"),
        case("a former member's key", header("eve", coop, "GET", target, now),
             code="revoked"),
    ]  # fmt: skip
    for c in invalid:
        c["error"] = "AuthError"
        try:
            auth = ReadAuth.parse(c["header"])
            auth.verify(coop=coop, method=c["method"], target=c["target"], now_ms=c["now_ms"],
                        state=w.state)  # fmt: skip
        except ProtocolError as exc:
            assert (type(exc).__name__, exc.code) == ("AuthError", c["code"]), (c["name"], exc)
        else:
            raise AssertionError(f"{c['name']}: accepted")
    return valid, invalid


def generate() -> dict[str, Any]:
    w = build()
    valid, invalid = read_cases(w)
    seen = {s["code"] for s in w.steps if s["verdict"] == "reject"}
    assert seen == set(COMMENT_CODES), sorted(seen ^ set(COMMENT_CODES))
    assert {c["code"] for c in invalid} == set(READ_CODES)
    return {
        "provenance": {
            "generator": "spec/vectors/gen_deliberation.py (python spec/vectors/generate.py "
            "deliberation)",
            "spec": "spec/deliberation.md",
            "seeds": "identity NAME = Ed25519 seed SHA-256('coopfed/vectors/deliberation/' + NAME)",
            "notes": (
                "Replay log (record hexes, in order) in a fresh CoopState(coop) without a "
                "clock. comments: in order, check_comment(state, record, parent=parent or "
                "None, now_ms=now_ms); verdict 'accept' (the comment joins the store and may "
                "be a later parent) or 'reject' with error and code. read_auth: valid headers "
                "parse (ReadAuth.parse) and verify against the replayed state (ReadAuth.verify "
                "with coop, method, target, now_ms); signing_input is READ_DOMAIN || "
                "encode({author, method, origin, target, ts}). invalid: the first of parse "
                "and verify raises error with code. why is for people."
            ),
        },
        "identities": {name: did(name) for name in NAMES},
        "constants": {
            "read_domain": READ_DOMAIN.hex(),
            "scheme": "Coopfed-Member",
            "max_skew_ms": DEFAULT_MAX_SKEW_MS,
            "max_header_length": 512,
        },
        "coop": w.coop.did,
        "log": [r.raw.hex() for r in w.log],
        "comments": w.steps,
        "read_auth": {"valid": valid, "invalid": invalid},
    }
