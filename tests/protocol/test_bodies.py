"""Body traits: each record type says once what the rest of the protocol needs to know."""

from __future__ import annotations

import dataclasses

from coopfed.protocol.bodies import (
    BODY_TYPES,
    COOP_SIGNED_TYPES,
    NOT_COOP_SIGNED_TYPES,
    REQUESTER_TYPES,
    RETRACTABLE_TYPES,
    Charter,
    Comment,
    Decision,
    MemberAdmit,
    RecordType,
    Signer,
)
from coopfed.protocol.records import Record, sign_record
from coopfed.protocol.state import CoopState

from .conftest import CHARTER, T0, key

#: Digest fields that name no record of the log: the decision's tally commitments, and the
#: members-only comment a comment replies to.
NOT_CITING = {
    (Decision, "roster_root"),
    (Decision, "ballots_root"),
    (Decision, "delegations_root"),
    (Comment, "parent"),
}


def test_every_digest_field_either_cites_a_record_or_is_known_not_to() -> None:
    for cls in BODY_TYPES.values():
        digests = {
            f.name
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.type in ("bytes", "bytes | None", "tuple[bytes, ...]")
        }
        assert set(cls.CITES) <= digests, cls.__name__
        assert digests - set(cls.CITES) == {n for c, n in NOT_CITING if c is cls}, cls.__name__


def test_the_type_tables_are_the_traits() -> None:
    assert {
        RecordType.RATING,
        RecordType.FLAG,
        RecordType.APPEAL,
        RecordType.REPLY,
        RecordType.TASK_REPORT,
    } == REQUESTER_TYPES
    assert {
        RecordType.RATING,
        RecordType.FLAG,
        RecordType.APPEAL,
        RecordType.TASK_REPORT,
    } == RETRACTABLE_TYPES
    for t in REQUESTER_TYPES:
        assert "requester" in {f.name for f in dataclasses.fields(BODY_TYPES[t])}  # type: ignore[arg-type]
    # Every type is signed by the co-op, never by it, or (a proposal) either way.
    either = set(RecordType) - COOP_SIGNED_TYPES - NOT_COOP_SIGNED_TYPES
    assert either == {t for t, c in BODY_TYPES.items() if c.SIGNER is Signer.MEMBER_OR_COOP}
    assert not COOP_SIGNED_TYPES & NOT_COOP_SIGNED_TYPES
    # Only members' (and requesters') many records are forgotten or checked in any order.
    for t, cls in BODY_TYPES.items():
        if cls.FORGETTABLE or cls.ORDER_FREE:
            assert t not in COOP_SIGNED_TYPES, t


def test_an_admission_by_invite_cites_no_record() -> None:
    """Its ``ref`` is an invite token's hash: a governance-only state must not look it up."""
    coop, ana, bo = key("coop"), key("ana"), key("bo")
    slim = CoopState(coop.did, keep_all=False)
    for body in (CHARTER, MemberAdmit(member=ana.did, via="founder")):
        record = sign_record(coop, coop=coop.did, ts=T0, body=body)
        slim.provide([], slim.lookups([record]))
        slim.apply(record)
    invite = bytes(32)
    admit = sign_record(
        coop, coop=coop.did, ts=T0 + 1, body=MemberAdmit(member=bo.did, via="invite", ref=invite)
    )
    assert admit.body.references() == ()
    assert slim.lookups([admit]) == {admit.id}
    by_vote = MemberAdmit(member=bo.did, via="decision", ref=invite)
    assert by_vote.references() == (invite,)


def test_a_charter_holds_delegation_and_pay_per_currency_together() -> None:
    """Issue 15's ``delegation`` and issue 13's ``min_pay``/``task_k`` live in one charter.

    A charter that uses neither encodes as it did before both: the same keys, no new ones.
    """
    both = dataclasses.replace(
        CHARTER, delegation=True, min_pay=(("USD", 1500), ("GBP", 1050)), min_pay_cents=None,
        task_k=5,
    )  # fmt: skip
    signed = sign_record(key("coop"), coop=key("coop").did, ts=T0, body=both)
    body = Record.from_bytes(signed.raw).body
    assert isinstance(body, Charter) and body == both
    assert body.delegation and body.min_pay == (("GBP", 1050), ("USD", 1500)) and body.task_k == 5
    assert set(CHARTER.to_value()) == {
        "admission", "amend_pct", "block_rule", "idea_up", "max_window_ms", "min_pay_cents",
        "min_window_ms", "name", "pass_pct", "quorum_pct", "roles",
    }  # fmt: skip
