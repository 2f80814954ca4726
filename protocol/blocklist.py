"""A co-op's effective blocklist: a pure function of signed records, each entry traced to them.

The effective blocklist of a co-op is its own active blocks, plus the blocks its federation
policy adopts from the co-ops it follows, minus its local allow overrides (which act on
adopted blocks only). :func:`effective_blocklist` computes it from records alone, so anyone
holding the same records gets the same list; :meth:`Blocklist.explain` says why a requester
is (or is not) on it and names every signed record the verdict rests on. The rules are
written out in spec/blocklists.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from typing import Any

from .bodies import AdoptRule, Block, FederationPolicy, FlagReason, RecordType, RequesterRef
from .errors import InvalidIdentity, LocalProtocolError, PolicyError
from .identity import public_key_from_did
from .records import Record

__all__ = [
    "Blocklist",
    "BlocklistEntry",
    "EntryStatus",
    "Explanation",
    "Source",
    "effective_blocklist",
    "requester_key",
]


class EntryStatus(StrEnum):
    """What the co-op does with a requester on its blocklist."""

    #: Blocked: by the co-op's own block, or adopted from peers.
    BLOCKED = "blocked"
    #: Adopted from peers under a policy with ``drafts``: shown, not yet enforced.
    DRAFT = "draft"
    #: Would be adopted, but the policy's allow list overrides it (kept so explain can say so).
    ALLOWED = "allowed"


def requester_key(requester: RequesterRef) -> tuple[bytes, bytes]:
    """The sort key of a requester: ``(platform, id)`` as UTF-8 bytes, compared bytewise."""
    return (requester.platform.encode(), requester.id.encode())


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One co-op's active block of a requester: the BLOCK record that co-op signed."""

    coop: str
    block: Record
    provisional: bool

    def __post_init__(self) -> None:
        if self.block.type is not RecordType.BLOCK or not isinstance(self.block.body, Block):
            raise LocalProtocolError(
                f"a source is a block record, got a {self.block.type.value} record"
            )
        if not self.block.author == self.block.coop == self.coop:
            raise LocalProtocolError(
                f"a source of co-op {self.coop} is a block that co-op signed, got record "
                f"{self.block.id.hex()} for co-op {self.block.coop} signed by {self.block.author}"
            )
        if self.provisional != self.block.body.provisional:
            raise LocalProtocolError(
                f"provisional is {self.provisional} but block {self.block.id.hex()} says "
                f"{self.block.body.provisional}"
            )

    @classmethod
    def of(cls, block: Record) -> Source:
        """The source a block record is: its co-op, the record, and whether it is provisional."""
        if not isinstance(block.body, Block):
            raise LocalProtocolError(f"a source is a block record, got a {block.type.value} record")
        return cls(coop=block.coop, block=block, provisional=block.body.provisional)

    @property
    def body(self) -> Block:
        body = self.block.body
        assert isinstance(body, Block)  # checked in __post_init__
        return body

    @property
    def requester(self) -> RequesterRef:
        return self.body.requester

    @property
    def reason(self) -> FlagReason:
        return self.body.reason

    @property
    def review(self) -> int:
        return self.body.review

    @property
    def records(self) -> tuple[bytes, ...]:
        """The block's id, then the ids its body cites (its decision, or its flags in order)."""
        return (self.block.id, *self.body.references())

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block.id.hex(),
            "coop": self.coop,
            "provisional": self.provisional,
            "review": self.review,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistEntry:
    """One requester on the blocklist, with every path that put it there."""

    requester: RequesterRef
    status: EntryStatus
    #: The co-op's own active block of the requester, if any.
    own: Source | None
    #: The blocks of the adopting rule's sources that block it, sorted by co-op DID (bytewise).
    adopted: tuple[Source, ...]
    #: The first rule of the policy, in policy order, that is satisfied; None if none is.
    rule: AdoptRule | None
    #: The federation.policy record, when the entry rests on it (exactly when ``rule`` is set).
    policy: Record | None
    #: The own block's reason; else the most common reason among ``adopted`` (ties: lowest value).
    reason: FlagReason

    @property
    def sources(self) -> tuple[Source, ...]:
        """The own block (if any) first, then the adopted blocks."""
        return ((self.own,) if self.own is not None else ()) + self.adopted

    @property
    def rule_index(self) -> int | None:
        """The rule's 0-based position in the policy's ``adopt`` array."""
        if self.rule is None or self.policy is None:
            return None
        body = self.policy.body
        assert isinstance(body, FederationPolicy)
        return body.adopt.index(self.rule)

    @property
    def records(self) -> tuple[bytes, ...]:
        """Ids of every signed record the entry rests on, each once, in a fixed order.

        Each source's block and the records it cites (own first, then adopted by co-op
        DID), then the policy and the decision it cites, if any.
        """
        ids = [i for source in self.sources for i in source.records]
        if self.policy is not None:
            ids += (self.policy.id, *self.policy.body.references())
        return tuple(dict.fromkeys(ids))

    def to_json(self) -> dict[str, Any]:
        rule = None
        if self.rule is not None:
            rule = {"from": list(self.rule.sources), "index": self.rule_index, "k": self.rule.k}
        return {
            "policy": self.policy.id.hex() if self.policy is not None else None,
            "reason": self.reason.value,
            "requester": self.requester.to_value(),
            "rule": rule,
            "sources": [s.to_json() for s in self.sources],
            "status": self.status.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Why a requester has the status it has, in sentences, and the records that show it."""

    requester: RequesterRef
    #: None: the requester is not on the blocklist at all.
    status: EntryStatus | None
    #: Sentences for people; their wording is not part of the protocol.
    steps: tuple[str, ...]
    #: Ids of every signed record the verdict rests on (``BlocklistEntry.records``); empty
    #: when the requester is not on the list.
    records: tuple[bytes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Blocklist:
    """A co-op's effective blocklist, and what it was computed from (so it can explain itself).

    Build it with :func:`effective_blocklist`.
    """

    coop: str
    #: Sorted by requester ``(platform, id)``, bytewise; one entry per requester.
    entries: tuple[BlocklistEntry, ...]
    #: The federation.policy record the list was computed under, if any.
    policy: Record | None = None
    #: Co-ops whose blocks were never adopted because they were caught equivocating.
    distrusted: frozenset[str] = frozenset()
    #: Every active block the computation was given (own and every peer's, followed or not),
    #: sorted by requester, then co-op DID.
    blocks: tuple[Source, ...] = ()
    _entries: dict[RequesterRef, BlocklistEntry] = field(init=False, repr=False, compare=False)
    _blocks: dict[RequesterRef, tuple[Source, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [requester_key(e.requester) for e in self.entries]
        if any(a >= b for a, b in pairwise(keys)):
            raise LocalProtocolError("blocklist entries must be sorted by requester, one each")
        grouped: dict[RequesterRef, list[Source]] = {}
        for source in self.blocks:
            grouped.setdefault(source.requester, []).append(source)
        object.__setattr__(self, "_entries", {e.requester: e for e in self.entries})
        object.__setattr__(self, "_blocks", {r: tuple(s) for r, s in grouped.items()})

    def get(self, requester: RequesterRef | str) -> BlocklistEntry | None:
        """The entry for ``requester`` (a ref or ``PLATFORM:ID``), whatever its status."""
        return self._entries.get(_ref(requester))

    def blocked(self) -> tuple[BlocklistEntry, ...]:
        """The entries the co-op enforces: status BLOCKED (not drafts, not allowed)."""
        return tuple(e for e in self.entries if e.status is EntryStatus.BLOCKED)

    def to_json(self) -> list[dict[str, Any]]:
        """Every entry as JSON (bytes as hex), for the node's JSON and CSV exports."""
        return [e.to_json() for e in self.entries]

    def explain(self, requester: RequesterRef | str) -> Explanation:
        """Why ``requester`` has its status: the blocks, the rules, the overrides, the records."""
        req = _ref(requester)
        entry = self._entries.get(req)
        sources = self._blocks.get(req, ())
        policy = _policy_body(self.policy)
        pid = self.policy.id.hex() if self.policy is not None else ""
        followed = _followed(policy)
        allowed = policy is not None and req in policy.allow
        if not sources:
            steps = [f"nobody blocks {req}"]
            if allowed:
                steps.append(f"policy {pid} allow-lists {req}")
            return Explanation(requester=req, status=None, steps=tuple(steps), records=())

        steps = []
        own = next((s for s in sources if s.coop == self.coop), None)
        if own is not None:
            steps.append(_block_sentence(own, "this co-op"))
        for s in sources:
            if s is own:
                continue
            steps.append(_block_sentence(s, "peer co-op"))
            if s.coop in self.distrusted:
                steps.append(
                    f"co-op {s.coop} is distrusted (caught equivocating): "
                    "its blocks are never adopted"
                )
            elif policy is None:
                steps.append(
                    f"there is no federation policy, so co-op {s.coop}'s block "
                    "is not adopted: only the co-op's own blocks count"
                )
            elif s.coop not in followed:
                steps.append(f"policy {pid} does not follow co-op {s.coop}: its block is ignored")
        blockers = frozenset(s.coop for s in sources if s.coop in followed)
        if policy is not None and blockers:
            checks = _check_rules(policy, blockers, self.distrusted)
            if not policy.adopt:
                steps.append(f"policy {pid} has no adopt rules: it adopts nothing")
            steps += (_rule_sentence(c, len(policy.adopt)) for c in checks)
        if allowed and entry is not None and entry.status is EntryStatus.ALLOWED:
            steps.append(f"local allow override in policy {pid}: the adopted block is not applied")
        elif allowed and own is not None:
            steps.append(
                f"policy {pid} allow-lists {req}, but an allow list overrides adopted "
                "blocks only: the co-op's own block stands until the co-op unblocks it "
                "(by vote, or at review)"
            )
        elif allowed:
            steps.append(f"policy {pid} allow-lists {req}")
        if entry is not None and entry.status is EntryStatus.DRAFT:
            steps.append(
                f"policy {pid} takes adopted blocks as drafts: this one waits for the "
                "co-op to confirm it"
            )
        steps.append(_verdict(req, entry))
        return Explanation(
            requester=req,
            status=entry.status if entry is not None else None,
            steps=tuple(steps),
            records=entry.records if entry is not None else (),
        )


def effective_blocklist(
    *,
    coop: str,
    own: Iterable[Record],
    peers: Mapping[str, Iterable[Record]],
    policy: Record | None,
    distrusted: frozenset[str] = frozenset(),
) -> Blocklist:
    """The effective blocklist of ``coop`` (see spec/blocklists.md), or raise.

    ``own`` and each ``peers[did]`` are that co-op's *active* BLOCK records (the caller has
    already dropped blocks ended by an unblock or past review), at most one per requester.
    ``policy`` is ``coop``'s federation.policy record, or None for own blocks only.
    ``distrusted`` names co-ops caught equivocating: their blocks never count.

    Raises ``LocalProtocolError`` when the inputs break that contract and ``PolicyError``
    when the policy is unusable (it follows the co-op itself, or adopts from a co-op it does
    not follow). The result does not depend on the order of any input.
    """
    _check_did(coop, "coop")
    body = _check_policy(coop, policy)
    distrust = frozenset(distrusted)
    for did in sorted(distrust):
        _check_did(did, "a distrusted co-op")
    if coop in distrust:
        raise LocalProtocolError(f"co-op {coop} is in its own distrusted set")

    own_blocks = _active_blocks(coop, own, "own")
    peer_blocks: dict[str, dict[RequesterRef, Source]] = {}
    for did, records in peers.items():
        _check_did(did, "a peer co-op")
        if did == coop:
            raise LocalProtocolError(f"co-op {coop}'s own blocks go in own, not in peers")
        peer_blocks[did] = _active_blocks(did, records, f"peers[{did}]")

    followed = _followed(body)
    requesters = set(own_blocks)
    for blocks in peer_blocks.values():
        requesters.update(blocks)
    entries = []
    everything: list[Source] = []
    for req in sorted(requesters, key=requester_key):
        here = {did: blocks[req] for did, blocks in peer_blocks.items() if req in blocks}
        everything += sorted(
            ([own_blocks[req]] if req in own_blocks else []) + list(here.values()),
            key=lambda s: s.coop.encode(),
        )
        entry = _decide(req, own_blocks.get(req), here, policy, body, followed, distrust)
        if entry is not None:
            entries.append(entry)
    return Blocklist(
        coop=coop,
        entries=tuple(entries),
        policy=policy,
        distrusted=distrust,
        blocks=tuple(everything),
    )


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True, slots=True, kw_only=True)
class _RuleCheck:
    """One adopt rule evaluated for one requester."""

    index: int
    rule: AdoptRule
    #: The rule's sources that block the requester and are not distrusted.
    blocking: tuple[str, ...]
    #: The rule's sources that are distrusted (blocking or not): they never count.
    distrusted: tuple[str, ...]

    @property
    def satisfied(self) -> bool:
        return len(self.blocking) >= self.rule.k

    @property
    def satisfiable(self) -> bool:
        # Distrust removes sources; it never lowers k. A rule left with fewer than k
        # trusted sources adopts nothing (fail closed).
        return len(self.rule.sources) - len(self.distrusted) >= self.rule.k


def _check_rules(
    policy: FederationPolicy, blockers: frozenset[str], distrusted: frozenset[str]
) -> list[_RuleCheck]:
    """The rules in policy order, up to and including the first satisfied one."""
    checks = []
    for index, rule in enumerate(policy.adopt):
        check = _RuleCheck(
            index=index,
            rule=rule,
            blocking=tuple(s for s in rule.sources if s in blockers and s not in distrusted),
            distrusted=tuple(s for s in rule.sources if s in distrusted),
        )
        checks.append(check)
        if check.satisfied:
            break
    return checks


def _decide(
    req: RequesterRef,
    own: Source | None,
    peers: Mapping[str, Source],
    policy: Record | None,
    body: FederationPolicy | None,
    followed: frozenset[str],
    distrusted: frozenset[str],
) -> BlocklistEntry | None:
    rule: AdoptRule | None = None
    adopted: tuple[Source, ...] = ()
    if body is not None:
        blockers = frozenset(did for did in peers if did in followed)
        checks = _check_rules(body, blockers, distrusted)
        if checks and checks[-1].satisfied:
            rule = checks[-1].rule
            adopted = tuple(
                sorted((peers[did] for did in checks[-1].blocking), key=lambda s: s.coop.encode())
            )
    if own is not None:
        # The co-op's own block is its members' decision: no allow list or draft setting
        # of the operator's policy overrides it. Ending it takes an unblock.
        status = EntryStatus.BLOCKED
        reason = own.reason
    elif rule is not None:
        assert body is not None
        if req in body.allow:
            status = EntryStatus.ALLOWED
        elif body.drafts:
            status = EntryStatus.DRAFT
        else:
            status = EntryStatus.BLOCKED
        reason = _most_common(s.reason for s in adopted)
    else:
        return None
    return BlocklistEntry(
        requester=req,
        status=status,
        own=own,
        adopted=adopted,
        rule=rule,
        policy=policy if rule is not None else None,
        reason=reason,
    )


def _most_common(reasons: Iterable[FlagReason]) -> FlagReason:
    counts = Counter(reasons)
    return min(counts, key=lambda r: (-counts[r], r.value.encode()))


# --------------------------------------------------------------------------- input checks


def _check_did(did: object, what: str) -> None:
    if type(did) is not str:
        raise LocalProtocolError(f"{what} is named by a did:key, got {type(did).__name__}")
    try:
        public_key_from_did(did)
    except InvalidIdentity as exc:
        raise LocalProtocolError(f"{what}: {exc.message}") from None


def _check_policy(coop: str, policy: Record | None) -> FederationPolicy | None:
    if policy is None:
        return None
    if not isinstance(policy, Record):
        raise LocalProtocolError(f"policy must be a Record or None, got {type(policy).__name__}")
    body = policy.body
    if policy.type is not RecordType.FEDERATION_POLICY or not isinstance(body, FederationPolicy):
        raise LocalProtocolError(
            f"policy must be a federation.policy record, got a {policy.type.value} record"
        )
    if not policy.author == policy.coop == coop:
        raise LocalProtocolError(
            f"policy must be co-op {coop}'s own, signed by it; got record {policy.id.hex()} "
            f"for co-op {policy.coop} signed by {policy.author}"
        )
    followed = _followed(body)
    if coop in followed:
        raise PolicyError(
            f"policy {policy.id.hex()} follows co-op {coop} itself; a co-op's "
            "own blocks apply without adoption"
        )
    for i, rule in enumerate(body.adopt):
        missing = [s for s in rule.sources if s not in followed]
        if missing:
            raise PolicyError(
                f"policy {policy.id.hex()} rule {i} adopts from co-ops it does "
                f"not follow: {', '.join(missing)}"
            )
    return body


def _active_blocks(coop: str, records: Iterable[Record], where: str) -> dict[RequesterRef, Source]:
    out: dict[RequesterRef, Source] = {}
    for i, record in enumerate(records):
        if not isinstance(record, Record):
            raise LocalProtocolError(f"{where}[{i}] must be a Record, got {type(record).__name__}")
        if record.type is not RecordType.BLOCK or not isinstance(record.body, Block):
            raise LocalProtocolError(
                f"{where}[{i}] must be a block record, got a {record.type.value} record"
            )
        if not record.author == record.coop == coop:
            raise LocalProtocolError(
                f"{where}[{i}] must be a block of co-op {coop} signed by it; got record "
                f"{record.id.hex()} for co-op {record.coop} signed by {record.author}"
            )
        source = Source.of(record)
        earlier = out.get(source.requester)
        if earlier is not None:
            a, b = sorted((earlier.block.id.hex(), record.id.hex()))
            raise LocalProtocolError(
                f"co-op {coop} has two active blocks of {source.requester} (records {a} and "
                f"{b}); at most one block per requester is active"
            )
        out[source.requester] = source
    return out


def _followed(policy: FederationPolicy | None) -> frozenset[str]:
    return frozenset(f.coop for f in policy.follow) if policy is not None else frozenset()


def _policy_body(policy: Record | None) -> FederationPolicy | None:
    if policy is None:
        return None
    body = policy.body
    assert isinstance(body, FederationPolicy)
    return body


def _ref(requester: RequesterRef | str) -> RequesterRef:
    return RequesterRef.parse(requester) if isinstance(requester, str) else requester


# --------------------------------------------------------------------------- sentences


def _block_sentence(source: Source, who: str) -> str:
    b = source.body
    if b.decision is not None:
        how = f"blocked {b.requester} by decision {b.decision.hex()}"
    else:
        flags = ", ".join(f.hex() for f in b.flags)
        how = f"provisionally blocked {b.requester} on {len(b.flags)} member flag(s) {flags}"
    return (
        f"{who} {source.coop} {how} (record {source.block.id.hex()}), reason "
        f"{b.reason.value}, review due at {b.review} (Unix ms)"
    )


def _rule_sentence(check: _RuleCheck, count: int) -> str:
    rule = check.rule
    verdict = "adopts it" if check.satisfied else "does not adopt it"
    text = (
        f"policy rule {check.index + 1} of {count} from [{', '.join(rule.sources)}] with "
        f"k={rule.k} {verdict}: blocked by {len(check.blocking)} of its "
        f"{len(rule.sources)} sources"
    )
    if check.blocking:
        text += f" ({', '.join(check.blocking)})"
    if check.distrusted:
        text += f"; distrusted, so not counted: {', '.join(check.distrusted)}"
    if not check.satisfiable:
        left = len(rule.sources) - len(check.distrusted)
        text += (
            f"; it cannot be satisfied while they are distrusted ({left} trusted "
            f"source(s) left for k={rule.k})"
        )
    return text


def _verdict(req: RequesterRef, entry: BlocklistEntry | None) -> str:
    if entry is None:
        return f"{req} is not blocked"
    if entry.status is EntryStatus.BLOCKED:
        return f"{req} is blocked (reason {entry.reason.value})"
    if entry.status is EntryStatus.DRAFT:
        return f"{req} is a draft block (reason {entry.reason.value}), not yet enforced"
    return f"{req} is allowed: a local override suppresses the adopted block"
