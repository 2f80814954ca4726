"""The log's Merkle tree, hashed exactly as RFC 9162 §2.1; proofs verify or raise InvalidProof.

Hashing is SHA-256 with the Certificate Transparency prefixes: a leaf hash is
``H(0x00 || data)``, an interior node ``H(0x01 || left || right)``, and the empty tree's root
is ``H("")``. Storage follows golang.org/x/mod/sumdb/tlog: only *complete* subtrees are ever
stored, each addressed as ``(level, index)``, covering leaves ``[index * 2**level,
(index + 1) * 2**level)``. A complete node never changes once the log has grown past it, so
it is written once, in the transaction that appends the leaf completing it
(:meth:`Frontier.append`), and every root, proof and C2SP tlog-tiles tile is computed from
O(log n) stored nodes fetched in one batched ``read`` call. Prose: spec/log-merkle.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from .encoding import decode, encode
from .errors import InvalidProof, LocalProtocolError, RemoteProtocolError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "MAX_BUNDLED_ENTRY",
    "MAX_SIZE",
    "MAX_TILE_LEVEL",
    "NODE_PREFIX",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Frontier",
    "MemoryTree",
    "Node",
    "NodeReader",
    "StoredNode",
    "TileFetcher",
    "consistency_proof",
    "consistency_proof_length",
    "encode_entry_bundle",
    "entries_path",
    "frontier_at",
    "frontier_nodes",
    "full_tile_count",
    "inclusion_proof",
    "inclusion_proof_length",
    "leaf_hash",
    "node_hash",
    "parse_entries_path",
    "parse_tile_path",
    "partial_tile_width",
    "root_at",
    "root_from_inclusion",
    "root_from_leaf_hashes",
    "split_entry_bundle",
    "tile_available",
    "tile_bytes",
    "tile_nodes",
    "tile_path",
    "tile_reader",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
#: Root of the tree with no leaves: SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
#: Tree sizes are unsigned 64-bit integers, as in C2SP tlog-checkpoint.
MAX_SIZE: Final = (1 << 64) - 1
#: C2SP tlog-tiles: a tile spans 8 tree levels, so a full tile holds 2**8 hashes.
TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT
#: tlog-tiles allows tile levels 0..63 in paths.
MAX_TILE_LEVEL: Final = 63
_FRONTIER_MAX_BYTES: Final = 4096
#: An entry bundle gives each entry's length as a big-endian uint16.
MAX_BUNDLED_ENTRY: Final = 0xFFFF

#: A complete subtree: ``(level, index)`` covers leaves ``[index << level, (index + 1) << level)``.
Node = tuple[int, int]
#: A node made complete by an append: ``(level, index, hash)``, to be stored as is.
StoredNode = tuple[int, int, bytes]
#: Returns the stored hashes of the given complete nodes, in the order asked.
NodeReader = Callable[[Sequence[Node]], Sequence[bytes]]
#: Returns tile contents for ``(tile_level, tile_index, width)`` triples, in the order asked.
TileFetcher = Callable[[Sequence[tuple[int, int, int]]], Sequence[bytes]]


# --- hashing -------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, computed straight from the definition (the reference)."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = _split(n)
    return node_hash(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``), RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Root of consecutive complete subtrees of decreasing size: fold from the right.

    RFC 9162's MTH splits off the largest power of two first, so a range whose maximal
    complete subtrees are ``h0, h1, ..., hk`` (largest first) hashes to
    ``H(h0, H(h1, ... H(hk-1, hk)))``.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


# --- argument checks -----------------------------------------------------------------------


def _check_size(name: str, value: int) -> None:
    if type(value) is not int or not 0 <= value <= MAX_SIZE:
        raise LocalProtocolError(f"{name} must be an integer in [0, 2**64-1], got {value!r}")


def _check_hash(what: str, value: bytes) -> None:
    """A hash from outside must be 32 bytes; anything else is bad remote data."""
    if not isinstance(value, bytes):
        raise LocalProtocolError(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise InvalidProof(
            f"{what} must be {HASH_SIZE} bytes, got {len(value)}", code="hash_length"
        )


def _check_proof(proof: Sequence[bytes]) -> None:
    if isinstance(proof, bytes | str):
        raise LocalProtocolError("a proof is a sequence of hashes, not one bytes or str value")
    for i, h in enumerate(proof):
        _check_hash(f"proof hash {i}", h)


# --- node addressing -----------------------------------------------------------------------


def _range_nodes(lo: int, hi: int) -> list[Node]:
    """The maximal complete subtrees covering leaves ``[lo, hi)``, left to right.

    Proofs only ask for ranges where ``lo`` is a multiple of a power of two at least
    ``hi - lo`` (RFC 9162's recursion keeps that true), so the subtrees come out largest
    first, one per set bit of ``hi - lo``, and :func:`_fold` gives the range's MTH.
    """
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def frontier_nodes(size: int) -> list[Node]:
    """Addresses of the maximal complete subtrees of a tree of ``size`` leaves, left to right."""
    _check_size("size", size)
    return _range_nodes(0, size)


def _read(read: NodeReader, wanted: Iterable[Sequence[Node]]) -> dict[Node, bytes]:
    """Fetch every distinct node in ``wanted`` with one ``read`` call, checking the answer."""
    nodes = sorted({node for group in wanted for node in group})
    if not nodes:
        return {}
    hashes = read(nodes)
    if len(hashes) != len(nodes):
        raise LocalProtocolError(f"read() was asked for {len(nodes)} nodes, returned {len(hashes)}")
    out: dict[Node, bytes] = {}
    for node, h in zip(nodes, hashes, strict=True):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise LocalProtocolError(f"read() returned a bad hash for node {node}: {h!r}")
        out[node] = h
    return out


# --- frontier (compact range) --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Frontier:
    """The tree's right edge: hashes of the maximal complete subtrees, largest first.

    It holds exactly ``popcount(size)`` hashes, one per set bit of ``size`` from the
    highest, and is all a writer needs to append leaves and compute the root.
    """

    size: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_size("size", self.size)
        if type(self.hashes) is not tuple:
            raise LocalProtocolError(f"hashes must be a tuple, got {type(self.hashes).__name__}")
        expected = self.size.bit_count()
        if len(self.hashes) != expected:
            raise LocalProtocolError(
                f"a frontier of size {self.size} has {expected} hashes, got {len(self.hashes)}"
            )
        for h in self.hashes:
            if not isinstance(h, bytes) or len(h) != HASH_SIZE:
                raise LocalProtocolError(f"frontier hashes must be {HASH_SIZE} bytes, got {h!r}")

    @classmethod
    def empty(cls) -> Frontier:
        return cls(size=0, hashes=())

    def nodes(self) -> list[Node]:
        """The ``(level, index)`` address of each hash in :attr:`hashes`."""
        return _range_nodes(0, self.size)

    def root(self) -> bytes:
        return _fold(self.hashes)

    def append(self, leaf_hash: bytes) -> tuple[Frontier, list[StoredNode]]:
        """Add one leaf; return the new frontier and the nodes this leaf made complete.

        The nodes are the leaf itself at ``(0, size)`` and every parent it closes, lowest
        first: store them in the transaction that stores the leaf. O(log n), no reads.
        """
        if not isinstance(leaf_hash, bytes) or len(leaf_hash) != HASH_SIZE:
            raise LocalProtocolError(f"a leaf hash is {HASH_SIZE} bytes, got {leaf_hash!r}")
        if self.size == MAX_SIZE:
            raise LocalProtocolError("the tree is full: 2**64-1 leaves")
        hashes = list(self.hashes)
        h = leaf_hash
        level, index, rest = 0, self.size, self.size
        stored: list[StoredNode] = [(0, index, h)]
        # Each trailing 1 bit of the old size is a complete subtree of that height that
        # the new node now pairs with, exactly like a binary carry.
        while rest & 1:
            h = node_hash(hashes.pop(), h)
            level, index, rest = level + 1, index >> 1, rest >> 1
            stored.append((level, index, h))
        hashes.append(h)
        return Frontier(size=self.size + 1, hashes=tuple(hashes)), stored

    def to_bytes(self) -> bytes:
        """Canonical encoding: the map ``{"hashes": [bin 32, ...], "size": uint}``."""
        return encode({"size": self.size, "hashes": list(self.hashes)})

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Decode and validate; raises ``DecodeError`` or ``InvalidProof`` (code bad_frontier)."""
        value = decode(data, max_size=_FRONTIER_MAX_BYTES)

        def bad(message: str) -> InvalidProof:
            return InvalidProof(f"frontier: {message}", code="bad_frontier")

        if type(value) is not dict:
            raise bad(f"expected a map, got {type(value).__name__}")
        if set(value) != {"size", "hashes"}:
            raise bad(f"expected keys ['hashes', 'size'], got {sorted(value)}")
        size, hashes = value["size"], value["hashes"]
        if type(size) is not int or not 0 <= size <= MAX_SIZE:
            raise bad(f"size must be an integer in [0, 2**64-1], got {size!r}")
        if type(hashes) is not list:
            raise bad(f"hashes must be an array, got {type(hashes).__name__}")
        if len(hashes) != size.bit_count():
            raise bad(
                f"size {size} needs popcount(size) = {size.bit_count()} hashes, got {len(hashes)}"
            )
        for i, h in enumerate(hashes):
            if type(h) is not bytes or len(h) != HASH_SIZE:
                got = f"{len(h)} bytes" if type(h) is bytes else type(h).__name__
                raise bad(f"hash {i} must be {HASH_SIZE} bytes of binary, got {got}")
        return cls(size=size, hashes=tuple(hashes))


def frontier_at(size: int, read: NodeReader) -> Frontier:
    """The frontier of the tree's first ``size`` leaves, from stored nodes (one read)."""
    nodes = frontier_nodes(size)
    got = _read(read, [nodes])
    return Frontier(size=size, hashes=tuple(got[n] for n in nodes))


def root_at(size: int, read: NodeReader) -> bytes:
    """Root of the tree's first ``size`` leaves, from at most 64 stored nodes (one read)."""
    return frontier_at(size, read).root()


# --- proof generation ----------------------------------------------------------------------


def _inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]): each element as the nodes it folds from."""
    plan: list[list[Node]] = []
    lo, hi = 0, size
    # Walk down from the root; PATH lists siblings from the leaf up, so reverse at the end.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            plan.append(_range_nodes(lo + k, hi))
            hi = lo + k
        else:
            plan.append(_range_nodes(lo, lo + k))
            lo += k
    plan.reverse()
    return plan


def _consistency_plan(old_size: int, new_size: int) -> list[list[Node]]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]) = SUBPROOF(m, D[n], true)."""
    plan: list[list[Node]] = []
    if old_size == 0 or old_size == new_size:
        return plan
    m, lo, hi, whole = old_size, 0, new_size, True
    while True:
        n = hi - lo
        if m == n:
            if not whole:
                plan.append(_range_nodes(lo, hi))
            break
        k = _split(n)
        if m <= k:
            plan.append(_range_nodes(lo + k, hi))
            hi = lo + k
        else:
            plan.append(_range_nodes(lo, lo + k))
            m, lo, whole = m - k, lo + k, False
    plan.reverse()
    return plan


def _materialise(plan: list[list[Node]], read: NodeReader) -> list[bytes]:
    got = _read(read, plan)
    return [_fold([got[n] for n in group]) for group in plan]


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    At most ``2 * bit_length(size)`` stored nodes, fetched with one ``read`` call.
    """
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise LocalProtocolError(f"leaf index {index} is not in a tree of size {size}")
    return _materialise(_inclusion_plan(index, size), read)


def consistency_proof(old_size: int, new_size: int, read: NodeReader) -> list[bytes]:
    """The RFC 9162 consistency proof from ``old_size`` to ``new_size`` (empty for 0 or equal).

    At most ``2 * bit_length(new_size)`` stored nodes, fetched with one ``read`` call.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise LocalProtocolError(f"old size {old_size} is larger than new size {new_size}")
    return _materialise(_consistency_plan(old_size, new_size), read)


# --- verification --------------------------------------------------------------------------


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes the inclusion proof of ``index`` in a tree of ``size`` has."""
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise LocalProtocolError(f"leaf index {index} is not in a tree of size {size}")
    # Levels where the paths to ``index`` and to the last leaf part ways ("inner"), plus
    # one hash for each complete left subtree above that point ("border").
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """How many hashes the consistency proof from ``old_size`` to ``new_size`` has."""
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise LocalProtocolError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0 or old_size == new_size:
        return 0
    # The inclusion path of the old tree's last leaf in the new tree, less the levels
    # inside the old tree's rightmost complete subtree, plus that subtree's own hash
    # unless it is the whole old tree (old_size a power of two).
    shift = (old_size & -old_size).bit_length() - 1
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    seed = 0 if old_size == 1 << shift else 1
    return seed + inner - shift + border


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` gives for ``leaf_hash`` at ``index``, per RFC 9162 §2.1.3.2.

    Raises ``InvalidProof`` if ``index >= size`` or the proof has the wrong length.
    """
    _check_size("size", size)
    _check_size("index", index)
    _check_hash("leaf hash", leaf_hash)
    _check_proof(proof)
    if index >= size:
        raise InvalidProof(
            f"leaf index {index} is outside a tree of size {size} (expected index < size)",
            code="index_out_of_range",
        )
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise InvalidProof(
            f"inclusion proof for leaf {index} in a tree of size {size} must have "
            f"{expected} hashes, got {len(proof)}",
            code="proof_length",
        )
    # RFC 9162 §2.1.3.2 steps 2-5, literally.
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise InvalidProof("inclusion proof is longer than the path", code="proof_length")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("inclusion proof is shorter than the path", code="proof_length")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Return None if ``proof`` shows ``leaf_hash`` at ``index`` in the tree ``(size, root)``."""
    _check_hash("root", root)
    got = root_from_inclusion(leaf_hash, index, size, proof)
    if got != root:
        raise InvalidProof(
            f"inclusion proof for leaf {index} in a tree of size {size} gives root "
            f"{got.hex()}, expected {root.hex()}",
            code="root_mismatch",
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Return None if ``proof`` shows tree ``(old_size, old_root)`` is a prefix of the new one.

    RFC 9162 §2.1.4.2 for ``0 < old_size < new_size``. Its edge cases: ``old_size ==
    new_size`` needs an empty proof and equal roots; ``old_size == 0`` needs an empty proof
    and ``old_root`` equal to the empty tree's root, and any ``new_root`` is consistent.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_proof(proof)
    if old_size > new_size:
        raise InvalidProof(
            f"old size {old_size} is larger than new size {new_size} (expected old <= new)",
            code="size_order",
        )
    expected = consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise InvalidProof(
            f"consistency proof from size {old_size} to {new_size} must have {expected} "
            f"hashes, got {len(proof)}",
            code="proof_length",
        )
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise InvalidProof(
            f"the root of the empty tree is {EMPTY_ROOT.hex()}, got {old_root.hex()}",
            code="root_mismatch",
        )
    if old_size == new_size and old_root != new_root:
        raise InvalidProof(
            f"two roots for size {old_size}: {old_root.hex()} and {new_root.hex()} "
            "(expected equal roots)",
            code="root_mismatch",
        )
    if old_size == 0 or old_size == new_size:
        return
    # RFC 9162 §2.1.4.2 steps 2-7, literally.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is longer than the path", code="proof_length")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("consistency proof is shorter than the path", code="proof_length")
    if fr != old_root:
        raise InvalidProof(
            f"consistency proof from size {old_size} to {new_size} gives old root "
            f"{fr.hex()}, expected {old_root.hex()}",
            code="root_mismatch",
        )
    if sr != new_root:
        raise InvalidProof(
            f"consistency proof from size {old_size} to {new_size} gives new root "
            f"{sr.hex()}, expected {new_root.hex()}",
            code="root_mismatch",
        )


# --- in-memory tree ------------------------------------------------------------------------


class MemoryTree:
    """A whole tree in memory, for tests and for verifiers that hold a log's leaves.

    A builder, not a value: it grows in place. It stores exactly what a node's database
    stores (the nodes :meth:`Frontier.append` returns), so it exercises the same path.
    """

    __slots__ = ("_frontier", "_levels")

    def __init__(self) -> None:
        self._frontier = Frontier.empty()
        self._levels: list[list[bytes]] = []

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MemoryTree:
        tree = cls()
        for data in leaves:
            tree.append(data)
        return tree

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MemoryTree:
        tree = cls()
        for h in hashes:
            tree.append_leaf_hash(h)
        return tree

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def frontier(self) -> Frontier:
        return self._frontier

    def append(self, data: bytes) -> int:
        """Append one leaf's data; return its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, leaf_hash: bytes) -> int:
        """Append one leaf by its hash; return its index."""
        index = self._frontier.size
        self._frontier, stored = self._frontier.append(leaf_hash)
        for level, i, h in stored:
            if level == len(self._levels):
                self._levels.append([])
            # Nodes complete in order on each level, so each one lands at the end.
            assert i == len(self._levels[level])
            self._levels[level].append(h)
        return index

    def leaf_hash(self, index: int) -> bytes:
        return self.read([(0, index)])[0]

    def read(self, nodes: Sequence[Node]) -> list[bytes]:
        """A :data:`NodeReader`: the stored hash of each complete node asked for."""
        out = []
        for level, index in nodes:
            if not (0 <= level < len(self._levels) and 0 <= index < len(self._levels[level])):
                raise LocalProtocolError(
                    f"node ({level}, {index}) is not complete in a tree of size {self.size}"
                )
            out.append(self._levels[level][index])
        return out

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        _check_size("size", size)
        if size > self.size:
            raise LocalProtocolError(f"size {size} is larger than the tree ({self.size})")
        return size

    def root(self, size: int | None = None) -> bytes:
        if size is None or size == self.size:
            return self._frontier.root()
        return root_at(self._size(size), self.read)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self._size(size), self.read)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self._size(new_size), self.read)

    def tile(self, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
        """The bytes of tlog-tiles tile ``(level, index)`` of the given width."""
        return tile_bytes(level, index, width, self.read)


# --- C2SP tlog-tiles -----------------------------------------------------------------------


def _check_tile(level: int, index: int, width: int) -> None:
    if type(level) is not int or not 0 <= level <= MAX_TILE_LEVEL:
        raise LocalProtocolError(f"tile level must be in [0, {MAX_TILE_LEVEL}], got {level!r}")
    _check_size("tile index", index)
    if type(width) is not int or not 1 <= width <= TILE_WIDTH:
        raise LocalProtocolError(f"tile width must be in [1, {TILE_WIDTH}], got {width!r}")


def tile_nodes(level: int, index: int, width: int = TILE_WIDTH) -> list[Node]:
    """The tree nodes whose hashes tile ``(level, index)`` of ``width`` holds, in order.

    Tile level ``L`` holds nodes of tree level ``8 * L``; tile ``N`` starts at node
    ``N * 256`` of that level. Every one is a complete subtree, so it is stored.
    """
    _check_tile(level, index, width)
    start = index * TILE_WIDTH
    return [(level * TILE_HEIGHT, start + i) for i in range(width)]


def tile_available(level: int, index: int, width: int, size: int) -> bool:
    """Whether every hash of tile ``(level, index, width)`` is complete in a tree of ``size``.

    Such a tile never changes once available, so it can be served as immutable.
    """
    _check_tile(level, index, width)
    _check_size("size", size)
    return (index * TILE_WIDTH + width) << (level * TILE_HEIGHT) <= size


def full_tile_count(level: int, size: int) -> int:
    """How many full (256-hash) tiles level ``level`` has in a tree of ``size`` leaves."""
    _check_tile(level, 0, TILE_WIDTH)
    _check_size("size", size)
    return size >> ((level + 1) * TILE_HEIGHT)


def partial_tile_width(level: int, size: int) -> int:
    """Width of the partial tile at ``level`` for a tree of ``size``, 0 if there is none.

    C2SP tlog-tiles: ``floor(size / 256**level) mod 256``; its index is
    :func:`full_tile_count`.
    """
    _check_tile(level, 0, TILE_WIDTH)
    _check_size("size", size)
    return (size >> (level * TILE_HEIGHT)) % TILE_WIDTH


def tile_bytes(level: int, index: int, width: int, read: NodeReader) -> bytes:
    """A tile's body: its ``width`` hashes concatenated, from one ``read`` call."""
    nodes = tile_nodes(level, index, width)
    got = _read(read, [nodes])
    return b"".join(got[n] for n in nodes)


def tile_reader(size: int, fetch: TileFetcher) -> NodeReader:
    """A :data:`NodeReader` over a tiled log of ``size`` leaves (for example a peer's).

    Each ``read`` asks ``fetch`` once for the distinct tiles it needs, each as ``(level,
    index, width)`` with ``width`` 256 for a full tile, and rebuilds nodes between tile
    levels by hashing. Tile contents are not trusted: check what you compute against a
    verified checkpoint. A tile of the wrong length raises ``InvalidProof`` (bad_tile).
    """
    _check_size("size", size)

    def read(nodes: Sequence[Node]) -> list[bytes]:
        # node -> (tile, first hash in the tile, hashes to fold)
        where: list[tuple[tuple[int, int, int], int, int]] = []
        for level, index in nodes:
            if level < 0 or index < 0 or (index + 1) << level > size:
                raise LocalProtocolError(
                    f"node ({level}, {index}) is not complete in a tree of size {size}"
                )
            tile_level, height = divmod(level, TILE_HEIGHT)
            span = 1 << height
            first = index * span
            tile_index, offset = divmod(first, TILE_WIDTH)
            base_count = size >> (tile_level * TILE_HEIGHT)
            width = min(TILE_WIDTH, base_count - tile_index * TILE_WIDTH)
            where.append(((tile_level, tile_index, width), offset, span))
        tiles = sorted({t for t, _, _ in where})
        if not tiles:
            return []
        bodies = fetch(tiles)
        if len(bodies) != len(tiles):
            raise LocalProtocolError(f"fetch() was asked for {len(tiles)} tiles, got {len(bodies)}")
        by_tile: dict[tuple[int, int, int], bytes] = {}
        for t, body in zip(tiles, bodies, strict=True):
            if not isinstance(body, bytes) or len(body) != t[2] * HASH_SIZE:
                got = f"{len(body)} bytes" if isinstance(body, bytes) else type(body).__name__
                raise InvalidProof(
                    f"tile {tile_path(*t)} must be {t[2] * HASH_SIZE} bytes, got {got}",
                    code="bad_tile",
                )
            by_tile[t] = body
        out = []
        for t, offset, span in where:
            body = by_tile[t]
            layer = [
                body[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(offset, offset + span)
            ]
            while len(layer) > 1:
                layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
            out.append(layer[0])
        return out

    return read


def _encode_index(index: int) -> str:
    """tlog-tiles ``<N>``: 3-digit groups, most significant first, all but the last ``x``-led."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _suffix(width: int | None) -> str:
    if width is None or width == TILE_WIDTH:
        return ""
    if type(width) is not int or not 1 <= width < TILE_WIDTH:
        raise LocalProtocolError(f"tile width must be in [1, {TILE_WIDTH}], got {width!r}")
    return f".p/{width}"


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """C2SP tlog-tiles path ``tile/<L>/<N>[.p/<W>]``; ``width`` None or 256 is a full tile.

    ``tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"``.
    """
    _check_tile(level, index, TILE_WIDTH if width is None else width)
    return f"tile/{level}/{_encode_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int | None = None) -> str:
    """C2SP tlog-tiles path ``tile/entries/<N>[.p/<W>]`` of entry bundle ``index``.

    Bundle ``N`` holds entries ``[N * 256, N * 256 + width)``.
    """
    _check_tile(0, index, TILE_WIDTH if width is None else width)
    return f"tile/entries/{_encode_index(index)}{_suffix(width)}"


def encode_entry_bundle(raws: Iterable[bytes]) -> bytes:
    """The body of a C2SP entry bundle: each entry as a big-endian uint16 length, then itself."""
    out = bytearray()
    for raw in raws:
        if len(raw) > MAX_BUNDLED_ENTRY:
            raise LocalProtocolError(
                f"an entry bundle holds entries of at most {MAX_BUNDLED_ENTRY} bytes, "
                f"got {len(raw)}"
            )
        out += len(raw).to_bytes(2, "big")
        out += raw
    return bytes(out)


def split_entry_bundle(data: bytes, width: int) -> list[bytes]:
    """The ``width`` entries of an entry bundle's body, or ``RemoteProtocolError``.

    The code is ``bad_entry_bundle`` when the body ends inside a length or an entry, or
    holds another number of entries than ``width``.
    """
    if type(width) is not int or not 1 <= width <= TILE_WIDTH:
        raise LocalProtocolError(f"an entry bundle holds 1–{TILE_WIDTH} entries, not {width!r}")
    out: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise _bad_bundle(f"truncated in the length of entry {len(out)}")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > end:
            raise _bad_bundle(f"truncated in entry {len(out)}")
        out.append(data[pos : pos + length])
        pos += length
    if len(out) != width:
        raise _bad_bundle(f"holds {len(out)} entries, expected {width}")
    return out


def _bad_bundle(why: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"entry bundle {why}", code="bad_entry_bundle")


def _bad_path(path: str, why: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"not a tlog-tiles path ({why}): {path!r}", code="bad_tile_path")


def _parse_index_width(path: str, rest: str) -> tuple[int, int | None]:
    width: int | None = None
    if ".p/" in rest:
        rest, w = rest.split(".p/", 1)
        # The length check comes first: int() refuses more than 4300 digits with ValueError.
        if (
            not w.isascii()
            or not w.isdigit()
            or len(w) > 3
            or w != str(int(w))
            or not 1 <= int(w) < 256
        ):
            raise _bad_path(path, f"width {w!r} is not a decimal in [1, 255]")
        width = int(w)
    groups = rest.split("/")
    index = 0
    for i, g in enumerate(groups):
        digits = g[1:] if i < len(groups) - 1 and g.startswith("x") else g
        if i < len(groups) - 1 and not g.startswith("x"):
            raise _bad_path(path, f"index group {g!r} must start with 'x'")
        if len(digits) != 3 or not digits.isascii() or not digits.isdigit():
            raise _bad_path(path, f"index group {g!r} is not 3 digits")
        index = index * 1000 + int(digits)
    if index > MAX_SIZE or _encode_index(index) != rest:
        raise _bad_path(path, "index is not in its one canonical form")
    return index, width


def parse_tile_path(path: str) -> tuple[int, int, int | None]:
    """Parse ``tile/<L>/<N>[.p/<W>]`` strictly into ``(level, index, width or None)``.

    Only the form :func:`tile_path` produces is accepted; anything else raises
    ``RemoteProtocolError`` with code ``bad_tile_path``.
    """
    head, _, rest = path.partition("/")
    level_text, _, rest = rest.partition("/")
    if head != "tile" or not rest:
        raise _bad_path(path, "expected tile/<L>/<N>")
    if (
        not level_text.isascii()
        or not level_text.isdigit()
        or len(level_text) > len(str(MAX_TILE_LEVEL))
        or level_text != str(int(level_text))
        or int(level_text) > MAX_TILE_LEVEL
    ):
        raise _bad_path(path, f"level {level_text!r} is not a decimal in [0, {MAX_TILE_LEVEL}]")
    index, width = _parse_index_width(path, rest)
    return int(level_text), index, width


def parse_entries_path(path: str) -> tuple[int, int | None]:
    """Parse ``tile/entries/<N>[.p/<W>]`` strictly into ``(index, width or None)``."""
    prefix = "tile/entries/"
    if not path.startswith(prefix):
        raise _bad_path(path, "expected tile/entries/<N>")
    return _parse_index_width(path, path[len(prefix) :])
