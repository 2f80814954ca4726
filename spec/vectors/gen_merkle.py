"""Vectors for the log's Merkle tree (spec/log-merkle.md): CT reference data plus generated cases.

Everything here is computed from the recursive definitions of RFC 9162 §2.1 (MTH, PATH,
SUBPROOF) with hashlib alone, independently of coopfed.protocol.merkle, so the vectors check
the library rather than echo it. The Certificate Transparency reference values are
transcribed below and re-derived before they are written out.
"""

from __future__ import annotations

import hashlib
import random

SEED = 9162
GENERATED_LEAVES = 1000
EMPTY_ROOT = hashlib.sha256(b"").digest()

# transparency-dev/merkle testonly/constants.go (LeafInputs, NodeHashes, RootHashes).
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# transparency-dev/merkle proof/verify_test.go. Its inclusionProofs give the leaf as a
# 1-based number ({1, 8, ...} is leaf index 0); here every index is 0-based.
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

GENERATED_SIZES = [9, 13, 16, 17, 31, 32, 33, 100, 127, 128, 129, 255, 256, 257, 300, 511, 512,
                   513, 777, 999, 1000]  # fmt: skip


# --- RFC 9162 §2.1, straight from the text -------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    """MTH, PATH and PROOF of RFC 9162 over one list of leaf hashes (MTH memoised)."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.hashes = hashes
        self.memo: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        if hi - lo == 0:
            return EMPTY_ROOT
        if hi - lo == 1:
            return self.hashes[lo]
        if (lo, hi) not in self.memo:
            k = split(hi - lo)
            self.memo[lo, hi] = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        return self.memo[lo, hi]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = split(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return [] if m in (0, n) else self.subproof(m, 0, n, True)


# --- canonical MessagePack, by hand (spec/encoding.md), for the frontier encoding ----------


def mp_uint(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    for tag, width in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
        if n < 1 << (8 * width):
            return bytes([tag]) + n.to_bytes(width, "big")
    raise ValueError(n)


def mp_array_header(n: int) -> bytes:
    return bytes([0x90 | n]) if n < 16 else b"\xdc" + n.to_bytes(2, "big")


def frontier_bytes(size: int, hashes: list[bytes]) -> bytes:
    # {"hashes": [...], "size": n}: a 2-entry fixmap, keys in bytewise order.
    out = b"\x82" + b"\xa6hashes" + mp_array_header(len(hashes))
    for h in hashes:
        out += b"\xc4\x20" + h
    return out + b"\xa4size" + mp_uint(size)


def frontier_of(ref: Reference, size: int) -> list[bytes]:
    out, lo = [], 0
    for level in reversed(range(64)):
        if size >> level & 1:
            out.append(ref.mth(lo, lo + (1 << level)))
            lo += 1 << level
    return out


# --- C2SP tlog-tiles -----------------------------------------------------------------------


def fmt_index(n: int) -> str:
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.insert(0, f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(groups)


def tile_path(level: int, index: int, width: int | None) -> str:
    return f"tile/{level}/{fmt_index(index)}" + (f".p/{width}" if width else "")


def hx(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


def flip(h: bytes, at: int) -> bytes:
    return h[:at] + bytes([h[at] ^ 0x01]) + h[at + 1 :]


def generated_leaf(i: int) -> bytes:
    return f"coopfed merkle vector {i}".encode()


def generate() -> dict:
    rng = random.Random(SEED)

    # CT reference tree: re-derive every transcribed value before writing it out.
    ct_hashes = [leaf_hash(bytes.fromhex(d)) for d in CT_LEAVES]
    ct = Reference(ct_hashes)
    for size, root in enumerate(CT_ROOTS):
        assert ct.mth(0, size).hex() == root, size
    for level, row in enumerate(CT_NODE_HASHES):
        for index, h in enumerate(row):
            assert ct.mth(index << level, (index + 1) << level).hex() == h, (level, index)
    for index, size, proof in CT_INCLUSION:
        assert hx(ct.path(index, 0, size)) == proof, (index, size)
    for old, new, proof in CT_CONSISTENCY:
        assert hx(ct.proof(old, new)) == proof, (old, new)

    valid_inclusion: list[dict] = []
    valid_consistency: list[dict] = []

    def incl(ref: Reference, source: str, index: int, size: int) -> dict:
        case = {
            "source": source,
            "index": index,
            "size": size,
            "leaf_hash": ref.hashes[index].hex(),
            "proof": hx(ref.path(index, 0, size)),
            "root": ref.mth(0, size).hex(),
        }
        valid_inclusion.append(case)
        return case

    def cons(ref: Reference, source: str, old: int, new: int) -> dict:
        case = {
            "source": source,
            "old_size": old,
            "new_size": new,
            "old_root": ref.mth(0, old).hex(),
            "new_root": ref.mth(0, new).hex(),
            "proof": hx(ref.proof(old, new)),
        }
        valid_consistency.append(case)
        return case

    for index, size, _ in CT_INCLUSION:
        incl(ct, "ct", index, size)
    for old, new, _ in CT_CONSISTENCY:
        cons(ct, "ct", old, new)
    # Every proof in the 8-leaf CT tree, so small-tree edge cases are all covered.
    for size in range(1, 9):
        for index in range(size):
            if (index, size) not in {(i, s) for i, s, _ in CT_INCLUSION}:
                incl(ct, "ct-tree", index, size)
    for new in range(0, 9):
        for old in range(0, new + 1):
            if (old, new) not in {(o, n) for o, n, _ in CT_CONSISTENCY}:
                cons(ct, "ct-tree", old, new)

    gen_hashes = [leaf_hash(generated_leaf(i)) for i in range(GENERATED_LEAVES)]
    gen = Reference(gen_hashes)
    for size in GENERATED_SIZES:
        indices = {0, size - 1, size // 2, rng.randrange(size), rng.randrange(size)}
        for index in sorted(indices):
            incl(gen, "generated", index, size)
        olds = {1, size - 1, rng.randrange(1, size), rng.randrange(1, size)}
        for old in sorted(olds):
            cons(gen, "generated", old, size)

    # Invalid cases: each a valid case with one thing wrong, and the error it must raise.
    invalid_inclusion: list[dict] = []
    invalid_consistency: list[dict] = []

    def bad_incl(base: dict, why: str, reason: str, **changes: object) -> None:
        invalid_inclusion.append(
            {**base, **changes, "source": why, "error": "InvalidProof", "reason": reason}
        )

    def bad_cons(base: dict, why: str, reason: str, **changes: object) -> None:
        invalid_consistency.append(
            {**base, **changes, "source": why, "error": "InvalidProof", "reason": reason}
        )

    def b(hexes: list[str]) -> list[bytes]:
        return [bytes.fromhex(h) for h in hexes]

    ct_5_8 = next(c for c in valid_inclusion if (c["index"], c["size"]) == (5, 8))
    gen_incl = next(c for c in valid_inclusion if c["source"] == "generated" and c["size"] == 777)
    for base in (ct_5_8, gen_incl):
        proof = b(base["proof"])
        bad_incl(base, "proof missing its last hash", "proof_length", proof=hx(proof[:-1]))
        bad_incl(base, "proof with an extra hash", "proof_length", proof=hx([*proof, proof[0]]))
        bad_incl(base, "proof with the root prepended", "proof_length",
                 proof=[base["root"], *base["proof"]])  # fmt: skip
        for i in range(len(proof)):
            changed = list(proof)
            changed[i] = flip(proof[i], i % 32)
            bad_incl(base, f"proof hash {i} with byte {i % 32} flipped", "root_mismatch",
                     proof=hx(changed))  # fmt: skip
        bad_incl(base, "leaf hash with byte 0 flipped", "root_mismatch",
                 leaf_hash=flip(bytes.fromhex(base["leaf_hash"]), 0).hex())  # fmt: skip
        bad_incl(base, "root with byte 31 flipped", "root_mismatch",
                 root=flip(bytes.fromhex(base["root"]), 31).hex())  # fmt: skip
        bad_incl(base, "empty tree's root", "root_mismatch", root=EMPTY_ROOT.hex())
        bad_incl(base, "index out of range (index == size)", "index_out_of_range",
                 index=base["size"])  # fmt: skip
        bad_incl(base, "proof hash 0 truncated to 31 bytes", "hash_length",
                 proof=[base["proof"][0][:62], *base["proof"][1:]])  # fmt: skip
    # Same proof length (3) for every leaf of an 8-leaf tree: a wrong index only moves the root.
    bad_incl(ct_5_8, "wrong index (4 for 5)", "root_mismatch", index=4)
    # Not "size 7 for 8": leaf 5's path has the same shape in both trees, so the size-8 proof
    # also "verifies" at size 7. Proofs do not authenticate the size; the checkpoint does.
    bad_incl(ct_5_8, "size doubled (16 for 8)", "proof_length", size=16)
    bad_incl(ct_5_8, "size halved (4 for 8)", "index_out_of_range", size=4)
    one = next(c for c in valid_inclusion if (c["index"], c["size"]) == (0, 1))
    bad_incl(one, "index 0 in the empty tree", "index_out_of_range", size=0,
             root=EMPTY_ROOT.hex())  # fmt: skip
    bad_incl(one, "size-1 tree with a non-empty proof", "proof_length", proof=[one["root"]])

    ct_6_8 = next(c for c in valid_consistency if (c["old_size"], c["new_size"]) == (6, 8))
    ct_4_8 = next(c for c in valid_consistency if (c["old_size"], c["new_size"]) == (4, 8))
    gen_cons = next(
        c
        for c in valid_consistency
        if c["source"] == "generated" and c["new_size"] == 999 and c["old_size"] not in (1, 998)
    )
    for base in (ct_6_8, ct_4_8, gen_cons):
        proof = b(base["proof"])
        bad_cons(base, "empty proof", "proof_length", proof=[])
        bad_cons(base, "proof missing its last hash", "proof_length", proof=hx(proof[:-1]))
        bad_cons(base, "proof with an extra hash", "proof_length",
                 proof=hx([*proof, proof[-1]]))  # fmt: skip
        bad_cons(base, "proof with the old root prepended", "proof_length",
                 proof=[base["old_root"], *base["proof"]])  # fmt: skip
        for i in range(len(proof)):
            changed = list(proof)
            changed[i] = flip(proof[i], (7 * i) % 32)
            bad_cons(base, f"proof hash {i} with byte {(7 * i) % 32} flipped", "root_mismatch",
                     proof=hx(changed))  # fmt: skip
        bad_cons(base, "swapped roots", "root_mismatch",
                 old_root=base["new_root"], new_root=base["old_root"])  # fmt: skip
        bad_cons(base, "old root with byte 0 flipped", "root_mismatch",
                 old_root=flip(bytes.fromhex(base["old_root"]), 0).hex())  # fmt: skip
        bad_cons(base, "new root with byte 31 flipped", "root_mismatch",
                 new_root=flip(bytes.fromhex(base["new_root"]), 31).hex())  # fmt: skip
        bad_cons(base, "old size larger than new size", "size_order",
                 old_size=base["new_size"], new_size=base["old_size"],
                 old_root=base["new_root"], new_root=base["old_root"])  # fmt: skip
        bad_cons(base, "new root's proof hash truncated to 31 bytes", "hash_length",
                 proof=[*base["proof"][:-1], base["proof"][-1][:62]])  # fmt: skip
    eq = next(c for c in valid_consistency if (c["old_size"], c["new_size"]) == (5, 5))
    bad_cons(eq, "equal sizes, different roots", "root_mismatch",
             new_root=ct.mth(0, 4).hex())  # fmt: skip
    bad_cons(eq, "equal sizes, non-empty proof", "proof_length", proof=[eq["old_root"]])
    zero = next(c for c in valid_consistency if (c["old_size"], c["new_size"]) == (0, 5))
    bad_cons(zero, "old size 0, non-empty proof", "proof_length", proof=[zero["new_root"]])
    bad_cons(zero, "old size 0, old root not the empty tree's", "root_mismatch",
             old_root=zero["new_root"])  # fmt: skip
    zz = next(c for c in valid_consistency if (c["old_size"], c["new_size"]) == (0, 0))
    bad_cons(zz, "both empty, new root not the empty tree's", "root_mismatch",
             new_root=ct.mth(0, 1).hex())  # fmt: skip

    # Frontiers (compact ranges) and their canonical bytes.
    frontiers = []
    for size in [*range(9), 1000]:
        ref = ct if size <= 8 else gen
        hashes = frontier_of(ref, size)
        frontiers.append(
            {
                "source": "ct" if size <= 8 else "generated",
                "size": size,
                "hashes": hx(hashes),
                "root": ref.mth(0, size).hex(),
                "encoding": frontier_bytes(size, hashes).hex(),
            }
        )
    f3 = frontier_of(ct, 3)
    invalid_frontiers = [
        {"why": "one hash missing for size 3", "reason": "bad_frontier",
         "encoding": frontier_bytes(3, f3[:1]).hex()},
        {"why": "one hash too many for size 4", "reason": "bad_frontier",
         "encoding": frontier_bytes(4, f3).hex()},
        {"why": "a 31-byte hash", "reason": "bad_frontier",
         "encoding": (b"\x82\xa6hashes\x91\xc4\x1f" + f3[0][:31] + b"\xa4size\x01").hex()},
        {"why": "hash given as text", "reason": "bad_frontier",
         "encoding": (b"\x82\xa6hashes\x91\xa1a\xa4size\x01").hex()},
        {"why": "negative size", "reason": "bad_frontier",
         "encoding": (b"\x82\xa6hashes\x90\xa4size\xff").hex()},
        {"why": "an extra key", "reason": "bad_frontier",
         "encoding": (b"\x83\xa5extra\xc0\xa6hashes\x90\xa4size\x00").hex()},
        {"why": "an array, not a map", "reason": "bad_frontier",
         "encoding": (b"\x92\x00\x90").hex()},
        {"why": "keys out of order (not canonical)", "reason": "unsorted_keys",
         "error": "DecodeError", "encoding": (b"\x82\xa4size\x00\xa6hashes\x90").hex()},
        {"why": "size in a longer form than needed (not canonical)", "reason": "non_canonical",
         "error": "DecodeError", "encoding": (b"\x82\xa6hashes\x90\xa4size\xcc\x00").hex()},
    ]  # fmt: skip
    for case in invalid_frontiers:
        case.setdefault("error", "InvalidProof")

    # Tiles: path encoding examples and, for the generated tree at size 1000, every tile.
    paths = [
        {"kind": "tile", "level": 0, "index": 1234067, "width": None,
         "path": "tile/0/x001/x234/067"},
        {"kind": "tile", "level": 0, "index": 1234067, "width": 8,
         "path": "tile/0/x001/x234/067.p/8"},
        {"kind": "tile", "level": 0, "index": 0, "width": None, "path": "tile/0/000"},
        {"kind": "tile", "level": 1, "index": 0, "width": 1, "path": "tile/1/000.p/1"},
        {"kind": "tile", "level": 2, "index": 999, "width": 255, "path": "tile/2/999.p/255"},
        {"kind": "tile", "level": 3, "index": 1000, "width": None, "path": "tile/3/x001/000"},
        {"kind": "tile", "level": 63, "index": 1000000, "width": None,
         "path": "tile/63/x001/x000/000"},
        {"kind": "tile", "level": 0, "index": 2**64 - 1, "width": None,
         "path": "tile/0/x018/x446/x744/x073/x709/x551/615"},
        {"kind": "entries", "index": 0, "width": None, "path": "tile/entries/000"},
        {"kind": "entries", "index": 3, "width": 232, "path": "tile/entries/003.p/232"},
        {"kind": "entries", "index": 1234067, "width": None,
         "path": "tile/entries/x001/x234/067"},
    ]  # fmt: skip
    for p in paths:
        # JSON.parse in JavaScript rounds integers above 2**53: give each index as text too.
        p["index_str"] = str(p["index"])
        level = p.get("level", 0)
        got = tile_path(level, p["index"], p["width"])
        if p["kind"] == "entries":
            got = got.replace(f"tile/{level}/", "tile/entries/", 1)
        assert got == p["path"], (got, p)
    bad_paths = [
        "tile/00/000", "tile/64/000", "tile/-1/000", "tile/0/1", "tile/0/0001",
        "tile/0/x000/001", "tile/0/001/x002", "tile/0/x001/002/", "tile/0/000.p/0",
        "tile/0/000.p/256", "tile/0/000.p/08", "tile/0/000.p/", "tile/0/000.p/8/",
        "tile/0/x1/000", "tile/0/X001/000", "tile/0/+01",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/entries/1", "tile/entries/x000/000", "/tile/0/000", "tile/0/", "tile/0",
        "tiles/0/000", "tile/0/٠٠٠",
    ]  # fmt: skip

    size = GENERATED_LEAVES
    tiles = []
    for level in range(3):
        per = 256**level
        full = size // (256 * per)
        width = (size // per) % 256
        entries = [(n, None) for n in range(full)] + ([(full, width)] if width else [])
        for n, w in entries:
            count = w or 256
            body = b"".join(
                gen.mth((n * 256 + i) * per, (n * 256 + i + 1) * per) for i in range(count)
            )
            tiles.append(
                {
                    "level": level,
                    "index": n,
                    "width": w,
                    "path": tile_path(level, n, w),
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                    "first_hash": body[:32].hex(),
                    "last_hash": body[-32:].hex(),
                }
            )
    tile_widths = [
        # C2SP tlog-tiles' own examples, then the generated tree.
        {"size": 70000, "level": 0, "full_tiles": 273, "partial_width": 112},
        {"size": 70000, "level": 1, "full_tiles": 1, "partial_width": 17},
        {"size": 70000, "level": 2, "full_tiles": 0, "partial_width": 1},
        {"size": 70000, "level": 3, "full_tiles": 0, "partial_width": 0},
        {"size": 256, "level": 0, "full_tiles": 1, "partial_width": 0},
        {"size": 256, "level": 1, "full_tiles": 0, "partial_width": 1},
        {"size": 1000, "level": 0, "full_tiles": 3, "partial_width": 232},
        {"size": 1000, "level": 1, "full_tiles": 0, "partial_width": 3},
    ]

    return {
        "description": (
            "RFC 9162 / RFC 6962 Merkle tree of the coopfed log (spec/log-merkle.md): leaf "
            "hash SHA-256(0x00||data), node hash SHA-256(0x01||left||right), empty root "
            "SHA-256(''). Indices are 0-based. Every hash is lowercase hex."
        ),
        "provenance": {
            "generator": "spec/vectors/gen_merkle.py (python spec/vectors/generate.py merkle)",
            "method": (
                "All values computed by the generator's own recursive RFC 9162 section 2.1 "
                "definitions (MTH, PATH, SUBPROOF) using hashlib only, independent of "
                "coopfed.protocol.merkle; CT reference values are transcribed and re-derived."
            ),
            "seed": SEED,
            "ct_reference": [
                {
                    "repo": "transparency-dev/merkle",
                    "path": "testonly/constants.go",
                    "commit": "582a6ad190b6848f1d26f8bf08ddef29955d9db1",
                    "used": "LeafInputs, NodeHashes, RootHashes, CompactTrees",
                },
                {
                    "repo": "transparency-dev/merkle",
                    "path": "proof/verify_test.go",
                    "commit": "02194e9afb6c1d95b5381350007963aa70fff472",
                    "used": (
                        "inclusionProofs and consistencyProofs; inclusionProofs number leaves "
                        "from 1, converted here to 0-based indices"
                    ),
                },
            ],
            "tiles_reference": {
                "repo": "C2SP/C2SP",
                "path": "tlog-tiles.md",
                "commit": "9e888bf21cfc343096f918511b1f21f69d166b06",
                "used": "path encoding (index 1234067 -> x001/x234/067), partial widths, "
                "the size-70000 and size-256 examples",
            },
            "standards": ["RFC 9162 section 2.1", "RFC 6962 section 2.1", "c2sp.org/tlog-tiles"],
        },
        "hashing": {
            "leaf_prefix": "00",
            "node_prefix": "01",
            "empty_root": EMPTY_ROOT.hex(),
        },
        "ct_tree": {
            "leaves": CT_LEAVES,
            "leaf_hashes": hx(ct_hashes),
            "roots": [{"size": s, "root": r} for s, r in enumerate(CT_ROOTS)],
            "node_hashes": [
                {"level": level, "index": index, "hash": h}
                for level, row in enumerate(CT_NODE_HASHES)
                for index, h in enumerate(row)
            ],
        },
        "generated_tree": {
            "leaf_data": (
                "leaf i (0 <= i < 1000) is the UTF-8 text 'coopfed merkle vector ' followed "
                "by i in decimal, e.g. 'coopfed merkle vector 7'"
            ),
            "leaves": GENERATED_LEAVES,
            "roots": [{"size": s, "root": gen.mth(0, s).hex()} for s in GENERATED_SIZES],
        },
        "valid": {"inclusion": valid_inclusion, "consistency": valid_consistency},
        "invalid": {"inclusion": invalid_inclusion, "consistency": invalid_consistency},
        "frontiers": {"valid": frontiers, "invalid": invalid_frontiers},
        "tiles": {
            "paths": paths,
            "invalid_paths": bad_paths,
            "widths": tile_widths,
            "generated_tree_size_1000": tiles,
        },
    }
