"""Tests for coopfed.protocol.merkle: CT reference vectors, spec vectors, properties."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopfed.protocol import merkle
from coopfed.protocol.encoding import encode
from coopfed.protocol.errors import (
    DecodeError,
    InvalidProof,
    LocalProtocolError,
    RemoteProtocolError,
)
from coopfed.protocol.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    Node,
    consistency_proof,
    consistency_proof_length,
    entries_path,
    frontier_at,
    frontier_nodes,
    full_tile_count,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    node_hash,
    parse_entries_path,
    parse_tile_path,
    partial_tile_width,
    root_at,
    root_from_inclusion,
    root_from_leaf_hashes,
    tile_available,
    tile_bytes,
    tile_nodes,
    tile_path,
    tile_reader,
    verify_consistency,
    verify_inclusion,
)

VECTORS_DIR = Path(__file__).resolve().parents[2] / "spec" / "vectors"
VECTORS: dict[str, Any] = json.loads((VECTORS_DIR / "merkle.json").read_text(encoding="utf-8"))


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def hs(texts: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(t) for t in texts]


def data_leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def generated_tree() -> MemoryTree:
    return MemoryTree.from_leaves(
        f"coopfed merkle vector {i}".encode() for i in range(VECTORS["generated_tree"]["leaves"])
    )


CT_TREE = MemoryTree.from_leaves(hs(VECTORS["ct_tree"]["leaves"]))
GEN_TREE = generated_tree()
BIG_TREE = MemoryTree.from_leaves(data_leaves(300))


def tree_for(source: str) -> MemoryTree:
    return GEN_TREE if source == "generated" else CT_TREE


class CountingReader:
    """Wraps a reader to count calls and nodes, and to check requests are distinct."""

    def __init__(self, read: Callable[[Sequence[Node]], Sequence[bytes]]) -> None:
        self.inner = read
        self.calls = 0
        self.nodes = 0

    def __call__(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        assert len(set(nodes)) == len(nodes)
        self.calls += 1
        self.nodes += len(nodes)
        return self.inner(nodes)


# --- hashing and the CT reference tree -----------------------------------------------------


def test_hashing_matches_rfc_9162() -> None:
    assert EMPTY_ROOT.hex() == VECTORS["hashing"]["empty_root"]
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert root_from_leaf_hashes([a]) == a
    assert root_from_leaf_hashes([a, b]) == node_hash(a, b)


def test_ct_leaf_hashes_roots_and_nodes() -> None:
    ct = VECTORS["ct_tree"]
    leaves = hs(ct["leaves"])
    assert [leaf_hash(d).hex() for d in leaves] == ct["leaf_hashes"]
    hashes = hs(ct["leaf_hashes"])
    for entry in ct["roots"]:
        size, root = entry["size"], h(entry["root"])
        assert root_from_leaf_hashes(hashes[:size]) == root
        assert CT_TREE.root(size) == root
        assert MemoryTree.from_leaves(leaves[:size]).root() == root
    assert len(ct["roots"]) == 9
    for entry in ct["node_hashes"]:
        assert CT_TREE.read([(entry["level"], entry["index"])]) == [h(entry["hash"])]


# --- spec vectors, both ways: verify them, and regenerate them -----------------------------


@pytest.mark.parametrize("case", VECTORS["valid"]["inclusion"])
def test_valid_inclusion_vectors(case: dict[str, Any]) -> None:
    leaf, proof, root = h(case["leaf_hash"]), hs(case["proof"]), h(case["root"])
    verify_inclusion(leaf, case["index"], case["size"], proof, root)
    assert root_from_inclusion(leaf, case["index"], case["size"], proof) == root
    tree = tree_for(case["source"])
    assert tree.leaf_hash(case["index"]) == leaf
    assert tree.inclusion_proof(case["index"], case["size"]) == proof
    assert tree.root(case["size"]) == root


@pytest.mark.parametrize("case", VECTORS["valid"]["consistency"])
def test_valid_consistency_vectors(case: dict[str, Any]) -> None:
    old, new = case["old_size"], case["new_size"]
    old_root, new_root, proof = h(case["old_root"]), h(case["new_root"]), hs(case["proof"])
    verify_consistency(old, new, old_root, new_root, proof)
    tree = tree_for(case["source"])
    assert tree.consistency_proof(old, new) == proof
    assert tree.root(old) == old_root
    assert tree.root(new) == new_root


def test_vectors_cover_the_ct_reference() -> None:
    sources = {c["source"] for c in VECTORS["valid"]["inclusion"]}
    assert sources == {"ct", "ct-tree", "generated"}
    ct_incl = [c for c in VECTORS["valid"]["inclusion"] if c["source"] == "ct"]
    ct_cons = [c for c in VECTORS["valid"]["consistency"] if c["source"] == "ct"]
    assert len(ct_incl) == 5
    assert len(ct_cons) == 5
    assert max(c["size"] for c in VECTORS["valid"]["inclusion"]) == 1000


@pytest.mark.parametrize("case", VECTORS["invalid"]["inclusion"], ids=lambda c: c["source"])
def test_invalid_inclusion_vectors(case: dict[str, Any]) -> None:
    assert case["error"] == "InvalidProof"
    with pytest.raises(InvalidProof) as info:
        verify_inclusion(
            h(case["leaf_hash"]), case["index"], case["size"], hs(case["proof"]), h(case["root"])
        )
    assert info.value.code == case["reason"]


@pytest.mark.parametrize("case", VECTORS["invalid"]["consistency"], ids=lambda c: c["source"])
def test_invalid_consistency_vectors(case: dict[str, Any]) -> None:
    assert case["error"] == "InvalidProof"
    with pytest.raises(InvalidProof) as info:
        verify_consistency(
            case["old_size"],
            case["new_size"],
            h(case["old_root"]),
            h(case["new_root"]),
            hs(case["proof"]),
        )
    assert info.value.code == case["reason"]


def test_generated_roots() -> None:
    for entry in VECTORS["generated_tree"]["roots"]:
        assert GEN_TREE.root(entry["size"]) == h(entry["root"])


def test_vectors_file_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location("gen_merkle", VECTORS_DIR / "gen_merkle.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = json.dumps(module.generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert fresh == (VECTORS_DIR / "merkle.json").read_text(encoding="utf-8")


# --- frontier ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["frontiers"]["valid"], ids=lambda c: str(c["size"]))
def test_frontier_vectors(case: dict[str, Any]) -> None:
    tree = tree_for(case["source"])
    frontier = frontier_at(case["size"], tree.read)
    assert list(frontier.hashes) == hs(case["hashes"])
    assert frontier.root() == h(case["root"])
    assert frontier.to_bytes() == h(case["encoding"])
    assert Frontier.from_bytes(h(case["encoding"])) == frontier


@pytest.mark.parametrize("case", VECTORS["frontiers"]["invalid"], ids=lambda c: c["why"])
def test_invalid_frontier_vectors(case: dict[str, Any]) -> None:
    errors: dict[str, type[RemoteProtocolError]] = {
        "InvalidProof": InvalidProof,
        "DecodeError": DecodeError,
    }
    error = errors[case["error"]]
    with pytest.raises(error) as info:
        Frontier.from_bytes(h(case["encoding"]))
    assert info.value.code == case["reason"]


def test_frontier_matches_ct_compact_trees() -> None:
    # transparency-dev/merkle testonly CompactTrees(): the frontier after each append.
    nodes = {(e["level"], e["index"]): h(e["hash"]) for e in VECTORS["ct_tree"]["node_hashes"]}
    expected = [
        [],
        [nodes[0, 0]],
        [nodes[1, 0]],
        [nodes[1, 0], nodes[0, 2]],
        [nodes[2, 0]],
        [nodes[2, 0], nodes[0, 4]],
        [nodes[2, 0], nodes[1, 2]],
        [nodes[2, 0], nodes[1, 2], nodes[0, 6]],
        [nodes[3, 0]],
    ]
    frontier = Frontier.empty()
    for size, leaf in enumerate(hs(VECTORS["ct_tree"]["leaf_hashes"])):
        assert list(frontier.hashes) == expected[size]
        frontier, _ = frontier.append(leaf)
    assert list(frontier.hashes) == expected[8]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=300))
def test_frontier_after_n_appends(n: int) -> None:
    leaves = [leaf_hash(d) for d in data_leaves(n)]
    frontier = Frontier.empty()
    stored: dict[Node, bytes] = {}
    for leaf in leaves:
        before = frontier.size
        frontier, new = frontier.append(leaf)
        assert frontier.size == before + 1
        assert new[0] == (0, before, leaf)
        assert [level for level, _, _ in new] == list(range(len(new)))
        for level, index, value in new:
            assert (level, index) not in stored
            stored[level, index] = value
    assert frontier.root() == root_from_leaf_hashes(leaves)
    assert frontier.nodes() == frontier_nodes(n)
    assert list(frontier.hashes) == [stored[node] for node in frontier_nodes(n)]
    # Stored nodes are exactly the complete subtrees, with their MTH.
    complete = {(level, index) for level in range(n.bit_length()) for index in range(n >> level)}
    assert set(stored) == complete
    for (level, index), value in stored.items():
        assert value == root_from_leaf_hashes(leaves[index << level : (index + 1) << level])
    assert Frontier.from_bytes(frontier.to_bytes()) == frontier


def test_frontier_rejects_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        Frontier(size=1, hashes=())
    with pytest.raises(LocalProtocolError):
        Frontier(size=-1, hashes=())
    with pytest.raises(LocalProtocolError):
        Frontier(size=1, hashes=(b"short",))
    with pytest.raises(LocalProtocolError):
        Frontier.empty().append(b"\x00" * 31)
    full = Frontier(size=merkle.MAX_SIZE, hashes=(EMPTY_ROOT,) * 64)
    with pytest.raises(LocalProtocolError, match="full"):
        full.append(EMPTY_ROOT)


def test_frontier_from_bytes_bounds() -> None:
    with pytest.raises(DecodeError):
        Frontier.from_bytes(b"")
    with pytest.raises(DecodeError):
        Frontier.from_bytes(b"\x00" * 5000)
    with pytest.raises(InvalidProof, match="size"):
        Frontier.from_bytes(encode({"size": "3", "hashes": []}))
    with pytest.raises(InvalidProof, match="hashes must be an array"):
        Frontier.from_bytes(encode({"size": 0, "hashes": {}}))
    big = Frontier(size=merkle.MAX_SIZE, hashes=(EMPTY_ROOT,) * 64)
    assert Frontier.from_bytes(big.to_bytes()) == big


# --- proofs: properties --------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_every_proof_of_a_tree_verifies(size: int) -> None:
    leaves = [BIG_TREE.leaf_hash(i) for i in range(size)]
    root = root_from_leaf_hashes(leaves)
    assert BIG_TREE.root(size) == root
    for index in range(size):
        proof = BIG_TREE.inclusion_proof(index, size)
        assert len(proof) == inclusion_proof_length(index, size)
        verify_inclusion(leaves[index], index, size, proof, root)
    for old in range(size + 1):
        proof = BIG_TREE.consistency_proof(old, size)
        assert len(proof) == consistency_proof_length(old, size)
        verify_consistency(old, size, root_from_leaf_hashes(leaves[:old]), root, proof)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_one_changed_byte_fails(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=2, max_value=300), label="size")
    kind = data.draw(st.sampled_from(["inclusion", "consistency"]), label="kind")
    root = BIG_TREE.root(size)
    if kind == "inclusion":
        index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
        proof = BIG_TREE.inclusion_proof(index, size)
        leaf = BIG_TREE.leaf_hash(index)
        # Leaf hash, root and every proof hash are all candidates for the flip.
        parts = [leaf, *proof, root]
    else:
        old = data.draw(st.integers(min_value=1, max_value=size - 1), label="old")
        proof = BIG_TREE.consistency_proof(old, size)
        old_root = BIG_TREE.root(old)
        parts = [old_root, *proof, root]
    which = data.draw(st.integers(min_value=0, max_value=len(parts) - 1), label="which")
    at = data.draw(st.integers(min_value=0, max_value=31), label="at")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    changed = bytearray(parts[which])
    changed[at] ^= mask
    parts[which] = bytes(changed)
    with pytest.raises(InvalidProof) as info:
        if kind == "inclusion":
            verify_inclusion(parts[0], index, size, parts[1:-1], parts[-1])
        else:
            verify_consistency(old, size, parts[0], parts[-1], parts[1:-1])
    assert info.value.code == "root_mismatch"


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_wrong_lengths_and_sizes_fail(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=300), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = BIG_TREE.inclusion_proof(index, size)
    leaf, root = BIG_TREE.leaf_hash(index), BIG_TREE.root(size)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, [*proof, root], root)
    if proof:
        with pytest.raises(InvalidProof):
            verify_inclusion(leaf, index, size, proof[:-1], root)
    # Another size fails when its path has another length. (With the same path shape it
    # can pass: proofs do not authenticate the size, the signed checkpoint does.)
    other = data.draw(st.integers(min_value=index + 1, max_value=600), label="other")
    if inclusion_proof_length(index, other) != len(proof):
        with pytest.raises(InvalidProof) as info:
            verify_inclusion(leaf, index, other, proof, root)
        assert info.value.code == "proof_length"
    with pytest.raises(InvalidProof) as info:
        verify_inclusion(leaf, size + data.draw(st.integers(0, 5)), size, proof, root)
    assert info.value.code == "index_out_of_range"


def test_proofs_read_once_and_log_many_nodes() -> None:
    tree = MemoryTree.from_leaves(data_leaves(1000))
    for size in (1, 2, 3, 255, 256, 257, 511, 999, 1000):
        bound = 2 * size.bit_length()
        for index in {0, size // 3, size - 1}:
            reader = CountingReader(tree.read)
            inclusion_proof(index, size, reader)
            assert reader.calls <= 1
            assert reader.nodes <= bound
        for old in {0, 1, size // 3, size - 1, size}:
            reader = CountingReader(tree.read)
            consistency_proof(old, size, reader)
            assert reader.calls <= 1
            assert reader.nodes <= bound
        reader = CountingReader(tree.read)
        assert root_at(size, reader) == tree.root(size)
        assert reader.calls == 1
        assert reader.nodes == size.bit_count()
    reader = CountingReader(tree.read)
    assert root_at(0, reader) == EMPTY_ROOT
    assert reader.calls == 0


def test_huge_tree_plans_stay_logarithmic() -> None:
    # A reader that invents hashes: the library must ask for O(log n) nodes even at 2**63.
    asked: list[Node] = []

    def read(nodes: Sequence[Node]) -> list[bytes]:
        asked.extend(nodes)
        return [hashlib.sha256(repr(n).encode()).digest() for n in nodes]

    size = (1 << 63) + 12345
    proof = inclusion_proof(size - 2, size, read)
    assert len(proof) == inclusion_proof_length(size - 2, size)
    assert len(asked) <= 2 * size.bit_length()
    asked.clear()
    proof = consistency_proof(size - 1000, size, read)
    assert len(proof) == consistency_proof_length(size - 1000, size)
    assert len(asked) <= 2 * size.bit_length()


def test_reader_misbehaviour_is_local() -> None:
    with pytest.raises(LocalProtocolError, match="returned 0"):
        inclusion_proof(0, 2, lambda nodes: [])
    with pytest.raises(LocalProtocolError, match="bad hash"):
        inclusion_proof(0, 2, lambda nodes: [b"x"] * len(nodes))
    with pytest.raises(LocalProtocolError, match="not complete"):
        CT_TREE.read([(4, 0)])


def test_generation_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        inclusion_proof(3, 3, CT_TREE.read)
    with pytest.raises(LocalProtocolError):
        consistency_proof(4, 3, CT_TREE.read)
    with pytest.raises(LocalProtocolError):
        CT_TREE.inclusion_proof(0, 9)
    with pytest.raises(LocalProtocolError):
        inclusion_proof(-1, 3, CT_TREE.read)
    with pytest.raises(LocalProtocolError):
        inclusion_proof_length(3, 3)
    with pytest.raises(LocalProtocolError):
        consistency_proof_length(4, 3)
    with pytest.raises(LocalProtocolError):
        verify_inclusion(EMPTY_ROOT, 0, 1, EMPTY_ROOT, EMPTY_ROOT)  # type: ignore[arg-type]


def test_size_is_not_authenticated_by_the_proof() -> None:
    # RFC 9162 proofs bind hashes, not the tree size: leaf 5's path has the same shape in
    # trees of 7 and 8 leaves, so the size-8 proof also passes for "size 7" with root 8.
    # Callers must take size and root together from one verified checkpoint.
    proof, leaf, root = CT_TREE.inclusion_proof(5, 8), CT_TREE.leaf_hash(5), CT_TREE.root(8)
    verify_inclusion(leaf, 5, 7, proof, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, 5, 7, proof, CT_TREE.root(7))


def test_verification_edge_cases() -> None:
    a = CT_TREE.root(1)
    # old_size == new_size: empty proof, equal roots.
    verify_consistency(1, 1, a, a, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 8, EMPTY_ROOT, CT_TREE.root(8), [])
    with pytest.raises(InvalidProof, match="expected equal roots"):
        verify_consistency(1, 1, a, EMPTY_ROOT, [])
    with pytest.raises(InvalidProof, match="must have 0 hashes, got 1"):
        verify_consistency(1, 1, a, a, [a])
    with pytest.raises(InvalidProof, match="larger than new size"):
        verify_consistency(2, 1, a, a, [])
    with pytest.raises(InvalidProof, match="must be 32 bytes, got 12"):
        verify_consistency(1, 1, b"don't care 1", b"don't care 1", [])
    # Inclusion: empty tree, single leaf, hash lengths.
    with pytest.raises(InvalidProof, match="outside a tree of size 0"):
        verify_inclusion(a, 0, 0, [], EMPTY_ROOT)
    verify_inclusion(a, 0, 1, [], a)
    with pytest.raises(InvalidProof, match="must be 32 bytes, got 0"):
        verify_inclusion(b"", 0, 1, [], a)
    with pytest.raises(InvalidProof, match="must be 32 bytes, got 0"):
        verify_inclusion(a, 0, 1, [], b"")


def test_error_messages_name_expected_and_got() -> None:
    proof = CT_TREE.inclusion_proof(5, 8)
    leaf, root = CT_TREE.leaf_hash(5), CT_TREE.root(8)
    with pytest.raises(InvalidProof, match="must have 3 hashes, got 2"):
        verify_inclusion(leaf, 5, 8, proof[:2], root)
    with pytest.raises(InvalidProof) as info:
        verify_inclusion(leaf, 5, 8, proof, EMPTY_ROOT)
    assert root.hex() in info.value.message
    assert EMPTY_ROOT.hex() in info.value.message
    cons = CT_TREE.consistency_proof(6, 8)
    with pytest.raises(InvalidProof, match="gives old root") as info:
        verify_consistency(6, 8, root, CT_TREE.root(6), cons)


def test_memory_tree_accessors() -> None:
    tree = MemoryTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert tree.append(b"a") == 0
    assert tree.append_leaf_hash(leaf_hash(b"b")) == 1
    assert tree.frontier.size == 2
    assert tree.root() == node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
    assert MemoryTree.from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b")]).root() == tree.root()
    with pytest.raises(LocalProtocolError):
        tree.root(3)


# --- C2SP tlog-tiles -----------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["tiles"]["paths"], ids=lambda c: c["path"])
def test_tile_paths(case: dict[str, Any]) -> None:
    if case["kind"] == "tile":
        assert tile_path(case["level"], case["index"], case["width"]) == case["path"]
        assert parse_tile_path(case["path"]) == (case["level"], case["index"], case["width"])
    else:
        assert entries_path(case["index"], case["width"]) == case["path"]
        assert parse_entries_path(case["path"]) == (case["index"], case["width"])


def test_tile_path_examples_from_c2sp() -> None:
    # c2sp.org/tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"
    assert tile_path(0, 1234067, 256) == "tile/0/x001/x234/067"
    assert entries_path(1234067, 8) == "tile/entries/x001/x234/067.p/8"
    with pytest.raises(LocalProtocolError):
        tile_path(64, 0)
    with pytest.raises(LocalProtocolError):
        tile_path(0, 0, 0)
    with pytest.raises(LocalProtocolError):
        entries_path(-1)


@pytest.mark.parametrize("path", VECTORS["tiles"]["invalid_paths"])
def test_invalid_tile_paths(path: str) -> None:
    parse = parse_entries_path if path.startswith("tile/entries/") else parse_tile_path
    with pytest.raises(RemoteProtocolError) as info:
        parse(path)
    assert info.value.code == "bad_tile_path"


@settings(max_examples=200)
@given(
    st.integers(min_value=0, max_value=63),
    st.integers(min_value=0, max_value=merkle.MAX_SIZE),
    st.one_of(st.none(), st.integers(min_value=1, max_value=255)),
)
def test_tile_path_round_trip(level: int, index: int, width: int | None) -> None:
    assert parse_tile_path(tile_path(level, index, width)) == (level, index, width)
    assert parse_entries_path(entries_path(index, width)) == (index, width)


@pytest.mark.parametrize("case", VECTORS["tiles"]["widths"], ids=str)
def test_tile_widths(case: dict[str, int]) -> None:
    assert full_tile_count(case["level"], case["size"]) == case["full_tiles"]
    assert partial_tile_width(case["level"], case["size"]) == case["partial_width"]


@pytest.mark.parametrize(
    "case", VECTORS["tiles"]["generated_tree_size_1000"], ids=lambda c: c["path"]
)
def test_generated_tiles(case: dict[str, Any]) -> None:
    width = case["width"] or 256
    assert tile_path(case["level"], case["index"], case["width"]) == case["path"]
    assert tile_available(case["level"], case["index"], width, 1000)
    body = GEN_TREE.tile(case["level"], case["index"], width)
    assert hashlib.sha256(body).hexdigest() == case["body_sha256"]
    assert body[:32].hex() == case["first_hash"]
    assert body[-32:].hex() == case["last_hash"]


def test_tile_nodes_and_availability() -> None:
    assert tile_nodes(0, 0, 2) == [(0, 0), (0, 1)]
    assert tile_nodes(1, 3, 1) == [(8, 768)]
    assert len(tile_nodes(2, 0)) == 256
    assert tile_available(0, 0, 256, 256)
    assert not tile_available(0, 0, 256, 255)
    assert tile_available(0, 0, 255, 255)
    assert tile_available(1, 0, 1, 256)
    assert not tile_available(1, 0, 2, 511)
    assert tile_available(0, 3, 232, 1000)
    assert not tile_available(0, 3, 233, 1000)
    with pytest.raises(LocalProtocolError, match="not complete"):
        tile_bytes(0, 3, 233, GEN_TREE.read)


def serve_tiles(tree: MemoryTree, log: list[tuple[int, int, int]]) -> merkle.TileFetcher:
    """What a peer's tile endpoint returns, as a batched fetcher."""

    def fetch(tiles: Sequence[tuple[int, int, int]]) -> list[bytes]:
        out = []
        for level, index, width in tiles:
            assert tile_available(level, index, width, tree.size)
            path = tile_path(level, index, width)
            assert parse_tile_path(path)[:2] == (level, index)
            log.append((level, index, width))
            out.append(tree.tile(level, index, width))
        return out

    return fetch


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_proofs_from_tiles_match(data: st.DataObject) -> None:
    # A client that only has a peer's tiles computes the very same proofs and roots.
    tree = BIG_TREE if data.draw(st.booleans(), label="small") else GEN_TREE
    size = data.draw(st.integers(min_value=1, max_value=tree.size), label="size")
    fetched: list[tuple[int, int, int]] = []
    reader = tile_reader(size, serve_tiles(tree, fetched))
    assert root_at(size, reader) == tree.root(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    assert inclusion_proof(index, size, reader) == tree.inclusion_proof(index, size)
    old = data.draw(st.integers(min_value=0, max_value=size), label="old")
    assert consistency_proof(old, size, reader) == tree.consistency_proof(old, size)
    for level, index, width in fetched:
        full = full_tile_count(level, size)
        assert index <= full
        assert width == (256 if index < full else partial_tile_width(level, size))


def test_tile_reader_rejects_bad_tiles() -> None:
    reader = tile_reader(1000, lambda tiles: [b"\x00" * 31 for _ in tiles])
    with pytest.raises(InvalidProof, match=r"tile/0/000 must be 8192 bytes, got 31 bytes"):
        reader([(0, 0)])
    with pytest.raises(LocalProtocolError, match="not complete"):
        tile_reader(1000, lambda tiles: [])([(3, 125)])
    with pytest.raises(LocalProtocolError, match="asked for 1 tiles"):
        tile_reader(1000, lambda tiles: [])([(0, 0)])
    assert tile_reader(1000, lambda tiles: [])([]) == []


# --------------------------------------------------------------------------- entry bundles


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=merkle.TILE_WIDTH))
@settings(max_examples=50)
def test_an_entry_bundle_splits_back_into_its_entries(raws: list[bytes]) -> None:
    data = merkle.encode_entry_bundle(raws)
    assert len(data) == sum(2 + len(r) for r in raws)
    assert merkle.split_entry_bundle(data, len(raws)) == raws


def test_bad_entry_bundle_framing_is_refused_with_its_code() -> None:
    data = merkle.encode_entry_bundle([b"abc", b"", b"de"])
    assert data == b"\x00\x03abc\x00\x00\x00\x02de"
    for bad, width in (
        (data, 2),  # one more entry than the width says
        (data, 4),  # one fewer
        (data[:-1], 3),  # ends inside an entry
        (data + b"\x00", 3),  # ends inside a length
        (b"", 1),
    ):
        with pytest.raises(RemoteProtocolError) as info:
            merkle.split_entry_bundle(bad, width)
        assert info.value.code == "bad_entry_bundle", (bad, width)
    for width in (0, merkle.TILE_WIDTH + 1):
        with pytest.raises(LocalProtocolError):
            merkle.split_entry_bundle(data, width)
    with pytest.raises(LocalProtocolError):
        merkle.encode_entry_bundle([bytes(merkle.MAX_BUNDLED_ENTRY + 1)])
