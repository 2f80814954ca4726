"""Verification bundles as the node exports them: never one that does not verify.

A bundle proves one co-op's decision or block against one signed checkpoint of that co-op's
log (protocol/bundle.py). The node picks, among the checkpoints that cover the subject,
the one most witnesses cosigned (the latest of those), and appends the cosignature lines;
so ``coopfed verify --trust`` can count the witnesses. It exports bundles of its own
co-op's log and of the logs it follows (from its stored copy, with the checkpoint notes
as the co-op served them, cosignatures included).
"""

from __future__ import annotations

from coopfed.protocol.bodies import RecordType, RequesterRef
from coopfed.protocol.bundle import Bundle, build_block_bundle, build_decision_bundle
from coopfed.protocol.checkpoint import add_cosignatures
from coopfed.protocol.merkle import NodeReader, inclusion_proof
from coopfed.protocol.note import Note
from coopfed.protocol.state import CoopState, Entry

from .peers import UnknownPeer
from .service import Node, NotFound


async def _own_checkpoint(node: Node, need: int, *, now_ms: int) -> bytes:
    """The co-op's own checkpoint covering ``need`` entries with the most cosignatures."""
    counts = await node.peers.cosigned_sizes(min_size=need)
    if counts:
        size = max(counts, key=lambda s: (counts[s], s))
        stored = await node.store.checkpoint_at(size)
        if stored is not None:
            lines = await node.peers.cosignatures(size)
            return add_cosignatures(stored.note, [lines[w] for w in sorted(lines)])
    latest = await node.store.latest_checkpoint()
    if latest is None or latest.size < need:
        await node.sign_checkpoint(now_ms=now_ms)
        latest = await node.store.latest_checkpoint()
        assert latest is not None
    lines = await node.peers.cosignatures(latest.size)
    return add_cosignatures(latest.note, [lines[w] for w in sorted(lines)])


async def _peer_checkpoint(node: Node, did: str, need: int) -> bytes:
    """A followed co-op's stored checkpoint covering ``need`` entries, most cosigned first."""
    held = await node.peers.checkpoints(did, min_size=need)
    if not held:
        raise NotFound(f"this node holds no checkpoint of co-op {did} covering entry {need - 1}")
    _, note = max(held, key=lambda sn: (len(Note.parse(sn[1]).signatures), sn[0]))
    return note


async def _build(node: Node, coop: str, state: CoopState, subject: Entry, *, now_ms: int) -> Bundle:
    need = subject.index + 1
    kind = subject.record.type

    def build(read: NodeReader, note: bytes) -> Bundle:
        def proof(index: int, size: int) -> list[bytes]:
            return inclusion_proof(index, size, read)

        if kind is RecordType.DECISION:
            return build_decision_bundle(
                state=state,
                decision_id=subject.record.id,
                checkpoint_note=note,
                inclusion_proof=proof,
            )
        return build_block_bundle(
            state=state, block_id=subject.record.id, checkpoint_note=note, inclusion_proof=proof
        )

    if coop == node.did:
        note = await _own_checkpoint(node, need, now_ms=now_ms)
        return await node.store.with_nodes(lambda read: build(read, note))
    note = await _peer_checkpoint(node, coop, need)
    return await node.peers.with_nodes(coop, lambda read: build(read, note))


def _held(node: Node, coop: str | None) -> tuple[str, CoopState]:
    """The co-op's state as held in memory (a followed co-op's keeps governance only)."""
    if coop is None or coop == node.did:
        return node.did, node.state
    p = node.peers.get(coop)
    if p is None:
        raise UnknownPeer(f"this node does not follow co-op {coop}")
    return coop, p.state


async def _whole(node: Node, did: str, state: CoopState) -> CoopState:
    # A bundle walks the log; a followed co-op's is replayed from storage (only once the
    # subject is known to be there: the replay costs time and memory ∝ the log).
    return state if state.keep_all else await node.peers.full_state(did)


async def decision_bundle(
    node: Node, decision_id: bytes, *, coop: str | None = None, now_ms: int
) -> Bundle:
    """The bundle of a decision in this co-op's log (or a followed co-op's, by ``coop``)."""
    await node.refresh()
    did, state = _held(node, coop)
    if state.keep_all:
        entry = state.entry(decision_id)
    else:
        entry = await node.peers.entry(did, decision_id)
    if entry is None or entry.record.type is not RecordType.DECISION:
        raise NotFound(f"decision {decision_id.hex()} is not in co-op {did}'s log as held here")
    state = await _whole(node, did, state)
    return await _build(node, did, state, entry, now_ms=now_ms)


async def block_bundle(
    node: Node, requester: RequesterRef, *, coop: str | None = None, now_ms: int
) -> Bundle:
    """The bundle of the active block of ``requester`` that puts it on this co-op's list.

    ``coop`` picks whose block (this co-op's or a followed one's); by default the co-op's
    own block, else the first adopted one, else any followed co-op's.
    """
    if coop is None:
        entry = (await node.blocklist(now_ms=now_ms)).get(requester)
        if entry is not None and entry.own is not None:
            coop = node.did
        elif entry is not None and entry.adopted:
            coop = entry.adopted[0].coop
        elif requester in node.state.active_blocks():
            coop = node.did
        else:
            coop = next(
                (p.did for p in node.peers.all() if requester in p.state.active_blocks()), None
            )
        if coop is None:
            raise NotFound(f"no co-op this node knows of blocks {requester}")
    else:
        await node.refresh()
    did, state = _held(node, coop)
    block = state.active_blocks().get(requester)
    if block is None:
        raise NotFound(f"co-op {did} has no active block of {requester}")
    state = await _whole(node, did, state)
    return await _build(node, did, state, block, now_ms=now_ms)
