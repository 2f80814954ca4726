"""Ed25519 edge cases of the Wycheproof kind, and where coopfed refuses each (spec/identity.md).

Three sources:

- Wycheproof ``testvectors/eddsa_test.json`` (C2SP/wycheproof
  @ 2927eee6edbeb33b2512db2c6ea401fc50d842d2), its first test group (key ``7d4d0e7f…``):
  the valid tcIds 1, 3, 5 are re-signed here from the group's secret key and must match
  the transcribed signatures byte for byte (Ed25519 is deterministic), and the invalid
  cases are rebuilt the way Wycheproof builds them — special values of R and S (tcId
  10–29), wrong lengths (30–37), R = 0, an R that is no point, R with every bit flipped
  (60–62), and S made malleable (63–70) — then checked against the signatures transcribed
  from that file wherever one was copied (see ``WYCHEPROOF_COPIED``).
- The eight points of small order and their non-canonical encodings (y ≥ p, and x = 0 with
  the sign bit set), computed here with a small pure-Python Edwards-curve implementation:
  as public keys they are refused by ``public_key_from_did``, ``NoteVerifier`` and
  ``verify_signature``, including the forgeries that lax (cofactored or non-strict)
  verifiers accept.
- A mixed-order key (a valid key plus a point of order 8) with a signature that passes the
  cofactorless equation: ``verify_signature`` alone accepts it, by design (spec/identity.md
  §1: every key reaching it comes from a DID or a ``NoteVerifier``, and both refuse it).

Every ``expect`` is checked against libsodium (PyNaCl) at generation time and again by
tests/protocol/test_ed25519_edge.py through coopfed's own functions.
"""

from __future__ import annotations

import base64
import hashlib

import nacl.bindings
import nacl.exceptions
import nacl.signing

from coopfed.protocol.encoding import decode, encode
from coopfed.protocol.identity import did_from_public_key
from coopfed.protocol.note import key_id

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
ORIGIN = (0, 1)
WYCHEPROOF = (
    "C2SP/wycheproof testvectors/eddsa_test.json @ 2927eee6edbeb33b2512db2c6ea401fc50d842d2"
)

# Group 1 of eddsa_test.json.
W_SK = "add4bb8103785baf9ac534258e8aaf65f5f1adb5ef5f3df19bb80ab989c4d64b"
W_PK = "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa"
W_VALID = {
    1: (
        "",
        "d4fbdb52bfa726b44d1786a8c0d171c3e62ca83c9e5bbe63de0bb2483f8fd6cc"
        "1429ab72cafc41ab56af02ff8fcc43b99bfe4c7ae940f60f38ebaa9d311c4007",
    ),
    3: (
        "54657374",
        "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0"
        "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b30d",
    ),
    5: (
        "313233343030",
        "657c1492402ab5ce03e2c3a7f0384d051b9cf3570f1207fc78c1bcc98c281c2b"
        "f0cf5b3a289976458a1be6277a5055545253b45b07dcc1abd96c8b989c00f301",
    ),
}
#: Signatures copied from the file, to check the rebuilt cases against (tcId: hex).
WYCHEPROOF_COPIED = {
    12: "0000000000000000000000000000000000000000000000000000000000000000"
    "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
    22: "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"
    "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
    29: "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    31: "7c38e026f29e14aabd059a0f2db8b0cd783040609a8be684db12f82a27774ab0",
    60: "0000000000000000000000000000000000000000000000000000000000000000"
    "e0b8e7770d51c7a36375d006c5bffd6af43ff54aaf47e4330dc118c71d61ec02",
    61: "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "463a1908382e7eb7693acef9884f7cf931a215e0791876be22c631a59881fd0e",
    62: "9a83eb6dbfd54a31fc1d3c580fc7b2fae4630ca8f0edf803873e433673d7e3d4"
    "0e94254586cb6188c5386c3febed477cb9a6cb29e3979adc4cb27cf5278fb70a",
}
#: S halves of the "checking malleability" cases (tcId 63–70; R and message are tcId 3's).
W_MALLEABLE_S = {
    63: "67654bce3832c2d76f8f6f5dafc08d9339d4eef676573336a5c51eb6f946b31d",
    64: "5439412b5395d42f462c67008eba6ca839d4eef676573336a5c51eb6f946b32d",
    65: "2ee12ce5875bf9dff26556464bae2ad239d4eef676573336a5c51eb6f946b34d",
    66: "e2300459f1e742404cd934d2c595a6253ad4eef676573336a5c51eb6f946b38d",
    67: "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b32d",
    68: "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b34d",
    69: "7a9155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b38d",
    70: "679155711ecfaf7f99f277bad0c6ae7e39d4eef676573336a5c51eb6f946b38d",
}
#: A point of order 8 (libsodium's small-order blocklist); its multiples are all eight.
ORDER8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"


# --------------------------------------------------------------------------- the curve


def _inv(x: int) -> int:
    return pow(x, P - 2, P)


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * _inv(1 + t) % P, (y1 * y2 + x1 * x2) * _inv(1 - t) % P)


def _mul(k: int, pt: tuple[int, int]) -> tuple[int, int]:
    out = ORIGIN
    while k:
        if k & 1:
            out = _add(out, pt)
        pt = _add(pt, pt)
        k >>= 1
    return out


def _x(y: int, sign: int) -> int | None:
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x2 = u * _inv(v) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return x


def _decode(data: bytes) -> tuple[int, int] | None:
    """Lax decoding: y is taken mod p and x = 0 with the sign bit is allowed."""
    n = int.from_bytes(data, "little")
    y = (n & ((1 << 255) - 1)) % P
    x = _x(y, n >> 255)
    return None if x is None else (x, y)


def _encode(pt: tuple[int, int]) -> bytes:
    return (pt[1] | (pt[0] & 1) << 255).to_bytes(32, "little")


BASE = (_x(4 * _inv(5) % P, 0) or 0, 4 * _inv(5) % P)


def _h(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % L


def _lax_accepts(pk: bytes, msg: bytes, sig: bytes) -> bool:
    """The cofactorless equation on decoded points, with no canonicity or order checks."""
    a, r = _decode(pk), _decode(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or len(sig) != 64:
        return False
    return _mul(s, BASE) == _add(r, _mul(_h(sig[:32], pk, msg), a))


def _sodium_accepts(pk: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def _le(n: int) -> str:
    return n.to_bytes(32, "little").hex()


# --------------------------------------------------------------------------- cases


def _wycheproof() -> list[dict]:
    sk = nacl.signing.SigningKey(bytes.fromhex(W_SK))
    assert bytes(sk.verify_key).hex() == W_PK
    for tc, (msg, sig) in W_VALID.items():
        assert bytes(sk.sign(bytes.fromhex(msg)).signature).hex() == sig, f"tcId {tc}"
    out = [
        {
            "name": f"wycheproof tcId {tc}: valid",
            "source": f"{WYCHEPROOF} tcId {tc}",
            "public_key": W_PK,
            "message": msg,
            "signature": sig,
            "expect": "valid",
        }
        for tc, (msg, sig) in W_VALID.items()
    ]

    def bad(tc: int, comment: str, msg: str, sig: str) -> None:
        if tc in WYCHEPROOF_COPIED:
            assert WYCHEPROOF_COPIED[tc] == sig, f"tcId {tc} rebuilt differently"
        out.append(
            {
                "name": f"wycheproof tcId {tc}: {comment}",
                "source": f"{WYCHEPROOF} tcId {tc}",
                "public_key": W_PK,
                "message": msg,
                "signature": sig,
                "expect": "invalid",
            }
        )

    specials_r = [("0", 0), ("1", 1), ("L", L), ("p", P)]
    specials_s = [("0", 0), ("1", 1), ("L-1", L - 1), ("L", L), ("p", P)]
    tc = 10
    for rn, r in specials_r:
        for sn, s in specials_s:
            bad(tc, f"special values R = {rn}, S = {sn}", "3f", _le(r) + _le(s))
            tc += 1
    msg3, sig3 = W_VALID[3]
    r3, s3 = sig3[:64], sig3[64:]
    pk = W_PK
    for tc, comment, sig in (
        (30, "empty signature", ""),
        (31, "S missing", r3),
        (32, "signature too short (62 bytes)", sig3[:-4]),
        (33, "signature too long (66 bytes)", sig3 + "2020"),
        (34, "public key appended to the signature", sig3 + pk),
        (35, "a 0 byte before the signature", "00" + sig3),
        (36, "a 0 byte before S", r3 + "00" + s3),
        (37, "a 0 byte after the signature", sig3 + "00"),
    ):
        bad(tc, comment, msg3, sig)
    msg5, sig5 = W_VALID[5]
    flipped = bytes(b ^ 0xFF for b in bytes.fromhex(sig5[:64])).hex()
    assert flipped == WYCHEPROOF_COPIED[62][:64], "tcId 62 flips tcId 5's R"
    bad(60, "R == 0", msg5, WYCHEPROOF_COPIED[60])
    bad(61, "R is no curve point", msg5, WYCHEPROOF_COPIED[61])
    bad(62, "every bit of R flipped", msg5, flipped + WYCHEPROOF_COPIED[62][64:])
    s_value = int.from_bytes(bytes.fromhex(s3), "little")
    for tc, s_hex in W_MALLEABLE_S.items():
        s = int.from_bytes(bytes.fromhex(s_hex), "little")
        if (s - s_value) % L == 0:
            comment = f"malleability: S + {(s - s_value) // L}·L"
        else:
            comment = f"malleability: S with its top bits changed (S + {s - s_value:#x})"
        bad(tc, comment, msg3, r3 + s_hex)
    return out


def _small_order() -> tuple[list[dict], list[dict]]:
    """The eight small-order points (canonical) and the non-canonical encodings of some."""
    t8 = _decode(bytes.fromhex(ORDER8))
    assert t8 is not None and _mul(8, t8) == ORIGIN and _mul(4, t8) != ORIGIN
    points = [_mul(i, t8) for i in range(8)]
    orders = [next(o for o in (1, 2, 4, 8) if _mul(o, pt) == ORIGIN) for pt in points]
    keys = [
        (f"order {o} ({i}·T8)", _encode(pt))
        for i, (o, pt) in enumerate(zip(orders, points, strict=True))
    ]
    # Non-canonical: y + p where y + p < 2**255 (y = 0, 1), x = 0 with the sign bit set.
    noncanon = [
        ("order 4, y = p (non-canonical 0)", (P).to_bytes(32, "little")),
        ("order 4, y = p with the sign bit", (P | 1 << 255).to_bytes(32, "little")),
        ("order 1, y = p + 1 (non-canonical 1)", (P + 1).to_bytes(32, "little")),
        ("order 1, y = p + 1 with the sign bit", (P + 1 | 1 << 255).to_bytes(32, "little")),
        ("order 1, x = 0 with the sign bit set", (1 | 1 << 255).to_bytes(32, "little")),
        ("order 2, x = 0 with the sign bit set", (P - 1 | 1 << 255).to_bytes(32, "little")),
    ]
    for _, k in noncanon:
        assert _decode(k) is not None
    return (
        [{"name": f"small-order key, {n}", "public_key": k.hex()} for n, k in keys],
        [{"name": f"non-canonical key, {n}", "public_key": k.hex()} for n, k in noncanon],
    )


def _forgeries(keys: list[dict]) -> list[dict]:
    """For each small-order key A: R = the neutral element, S = 0, a message with h·A = 0.

    Lax verifiers accept ([0]B = O = R + [h]A); libsodium refuses the small-order A and R.
    """
    out = []
    neutral = _encode(ORIGIN)
    for k in keys:
        pk = bytes.fromhex(k["public_key"])
        a = _decode(pk)
        assert a is not None
        for i in range(1000):
            msg = b"coopfed forgery %d" % i
            if _mul(_h(neutral, pk, msg), a) == ORIGIN:
                break
        sig = neutral + bytes(32)
        assert _lax_accepts(pk, msg, sig)
        out.append(
            {
                "name": f"forgery under {k['name']}: R = neutral, S = 0",
                "public_key": pk.hex(),
                "message": msg.hex(),
                "signature": sig.hex(),
                "expect": "invalid",
                "lax_verifiers": "accept",
            }
        )
    return out


def _own_key_cases() -> list[dict]:
    """Signatures under a sound key that lax verifiers accept and coopfed must not."""
    seed = hashlib.sha256(b"coopfed-vector-seed-ed25519-edge").digest()
    sk = nacl.signing.SigningKey(seed)
    pk = bytes(sk.verify_key)
    digest = hashlib.sha512(seed).digest()
    a = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    msg = b"coopfed edge message"
    good = bytes(sk.sign(msg).signature)
    s = int.from_bytes(good[32:], "little")
    out = [
        {
            "name": "sound key: valid signature",
            "public_key": pk.hex(),
            "message": msg.hex(),
            "signature": good.hex(),
            "expect": "valid",
        },
        {
            "name": "malleability: S + L",
            "public_key": pk.hex(),
            "message": msg.hex(),
            "signature": (good[:32] + (s + L).to_bytes(32, "little")).hex(),
            "expect": "invalid",
            "lax_verifiers": "accept",
        },
        {
            "name": "all-zero signature",
            "public_key": pk.hex(),
            "message": msg.hex(),
            "signature": "00" * 64,
            "expect": "invalid",
        },
        {
            "name": "all-zero public key and signature",
            "public_key": "00" * 32,
            "message": msg.hex(),
            "signature": "00" * 64,
            "expect": "invalid",
        },
        {
            "name": "public key of 31 bytes",
            "public_key": pk[:31].hex(),
            "message": msg.hex(),
            "signature": good.hex(),
            "expect": "invalid",
        },
        {
            "name": "public key of 33 bytes",
            "public_key": (pk + b"\x00").hex(),
            "message": msg.hex(),
            "signature": good.hex(),
            "expect": "invalid",
        },
        {
            "name": "empty public key",
            "public_key": "",
            "message": msg.hex(),
            "signature": good.hex(),
            "expect": "invalid",
        },
    ]
    # R = the neutral element (canonical, then y = p + 1): S = h·a solves the equation.
    for label, r_bytes in (
        ("canonical", _encode(ORIGIN)),
        ("non-canonical y = p + 1", (P + 1).to_bytes(32, "little")),
    ):
        h = _h(r_bytes, pk, msg)
        sig = r_bytes + (h * a % L).to_bytes(32, "little")
        assert _lax_accepts(pk, msg, sig)
        out.append(
            {
                "name": f"R = the neutral element ({label}), S = h·a",
                "public_key": pk.hex(),
                "message": msg.hex(),
                "signature": sig.hex(),
                "expect": "invalid",
                "lax_verifiers": "accept",
            }
        )
    # Non-canonical R of a real signature: R's y + p, possible only if y < 19; instead R with
    # the sign bit flipped on a point where x = 0 is impossible, so use R = -R (sign flip).
    neg_r = bytes(good[:31]) + bytes([good[31] ^ 0x80])
    out.append(
        {
            "name": "R with its sign bit flipped (-R)",
            "public_key": pk.hex(),
            "message": msg.hex(),
            "signature": (neg_r + good[32:]).hex(),
            "expect": "invalid",
        }
    )
    return out


def _mixed_order() -> dict:
    """A key plus a point of order 8, and a signature that passes the cofactorless check."""
    seed = hashlib.sha256(b"coopfed-vector-seed-ed25519-mixed").digest()
    digest = hashlib.sha512(seed).digest()
    a = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    t8 = _decode(bytes.fromhex(ORDER8))
    assert t8 is not None
    mixed = _encode(_add(_mul(a, BASE), t8))
    for i in range(1000):
        msg = b"coopfed mixed %d" % i
        r = _h(digest[32:], msg)
        r_bytes = _encode(_mul(r, BASE))
        h = _h(r_bytes, mixed, msg)
        if h % 8 == 0:
            break
    sig = r_bytes + ((r + h * a) % L).to_bytes(32, "little")
    assert _lax_accepts(mixed, msg, sig)
    return {
        "name": "mixed-order key (a valid key + a point of order 8)",
        "public_key": mixed.hex(),
        "message": msg.hex(),
        "signature": sig.hex(),
        "expect": "valid",
        "why": "verify_signature is libsodium's cofactorless check, which accepts this; "
        "public_key_from_did and NoteVerifier refuse the key, and every key that "
        "reaches verify_signature comes through one of them (spec/identity.md §1)",
    }


def _did_of(key: bytes) -> str:
    if len(key) == 32:
        return did_from_public_key(key)
    return "did:key:z" + _b58(b"\xed\x01" + key)


def _b58(data: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\x00"))) + out


def _vkey(name: str, key: bytes) -> str:
    kid = key_id(name, 1, key).hex()
    payload = base64.b64encode(bytes([1]) + key).decode()
    return f"{name}+{kid}+{payload}"


def _record_malleated() -> dict:
    """A record whose signature is made malleable (S + L): one record, two byte strings."""
    from coopfed.protocol.bodies import Rating, RequesterRef
    from coopfed.protocol.identity import SigningIdentity
    from coopfed.protocol.records import sign_record

    member = SigningIdentity(hashlib.sha256(b"coopfed-vector-seed-ed25519-member").digest())
    coop = SigningIdentity(hashlib.sha256(b"coopfed-vector-seed-ed25519-coop").digest())
    rec = sign_record(
        member,
        coop=coop.did,
        ts=1_767_225_600_000,
        body=Rating(requester=RequesterRef(platform="mturk", id="A1EDGE"), text="fine"),
    )
    env = decode(rec.raw)
    s = int.from_bytes(env["sig"][32:], "little")
    env["sig"] = env["sig"][:32] + (s + L).to_bytes(32, "little")
    return {
        "name": "record whose signature is S + L",
        "valid": rec.raw.hex(),
        "record": encode(env).hex(),
        "error": "InvalidSignature",
        "code": "bad_signature",
    }


def generate() -> dict:
    small, noncanon = _small_order()
    signatures = _wycheproof() + _own_key_cases() + _forgeries(small + noncanon)
    mixed = _mixed_order()
    signatures.append(mixed)
    for case in signatures:
        pk, msg, sig = (bytes.fromhex(case[k]) for k in ("public_key", "message", "signature"))
        assert _sodium_accepts(pk, msg, sig) == (case["expect"] == "valid"), case["name"]
    keys = []
    for case in [*small, *noncanon, {"name": mixed["name"], "public_key": mixed["public_key"]}]:
        key = bytes.fromhex(case["public_key"])
        assert not nacl.bindings.crypto_core_ed25519_is_valid_point(key), case["name"]
        keys.append(
            {
                **case,
                "did": _did_of(key),
                "vkey": _vkey("coopfed/edge.example", key),
                "expect": "invalid",
            }
        )
    return {
        "provenance": {
            "generator": "spec/vectors/gen_ed25519_edge.py",
            "spec": "spec/identity.md (section 1, strict verification; section 2, did:key)",
            "wycheproof": (
                f"{WYCHEPROOF}, first test group (pk {W_PK}); valid signatures re-signed from "
                "its sk and compared byte for byte, invalid ones rebuilt as Wycheproof does "
                "and compared with the transcribed tcIds 12, 22, 29, 31, 60, 61, 62; "
                "malleable S values of tcId 63-70 transcribed"
            ),
            "small_order": "the multiples of the order-8 point c7176a70… (libsodium's list)",
            "seeds": "SHA-256('coopfed-vector-seed-ed25519-' + role)",
        },
        "notes": [
            "signatures: verify_signature(public_key, message, signature) returns for "
            "expect = valid and raises InvalidSignature for expect = invalid. "
            "lax_verifiers = accept marks cases that non-strict verifiers take.",
            "keys: public_key_from_did(did), NoteVerifier.from_vkey(vkey), "
            "NoteVerifier.ed25519(name, public_key) and NoteVerifier.cosignature_v1(name, "
            "public_key) each raise InvalidIdentity. verify_signature on its own refuses "
            "every signature under the small-order and non-canonical keys (the signatures "
            "cases 'forgery under ...'), but not under the mixed-order key: its check 4 "
            "refuses small-order keys, not mixed-order ones, and the signatures case of that "
            "name expects valid. That is safe because every key reaches verify_signature "
            "through a did:key or a NoteVerifier, and both refuse it (spec/identity.md §1).",
            "records: Record.from_bytes(valid) succeeds; Record.from_bytes(record) raises "
            "error with code.",
        ],
        "signatures": signatures,
        "keys": keys,
        "records": [_record_malleated()],
    }
