"""Vectors for spec/identity.md: Ed25519 keys, did:key names, handles, strict verification.

The RFC 8032 section 7.1 inputs and outputs are copied below and checked at generation time
(PyNaCl must reproduce each public key and signature byte for byte). Everything else is
derived from fixed seeds: seed_i = SHA-256("coopfed-vector-seed-" + str(i)).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nacl.bindings
import nacl.signing

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
HANDLE_DOMAIN = b"coopfed/handle/v1\x00"
WORDLISTS = Path(__file__).resolve().parent.parent / "wordlists"
#: Order of the Ed25519 base point.
L = 2**252 + 27742317777372353535851937790883648493

# RFC 8032, section 7.1 ("Test Vectors for Ed25519"): SECRET KEY, PUBLIC KEY, MESSAGE,
# SIGNATURE. Transcribed from leif-ibsen/SwiftEdDSA (TEST 1, 2, 3, SHA(abc)) and
# paulmillr/noble-ed25519 (TEST 1, 2, 1024); see provenance.
RFC8032 = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
        "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
        "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
        "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
        "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
        "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
        "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
        "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
        "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
        "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
        "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
        "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
        "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
        "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
        "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
        "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
        "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
        "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
        "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
        "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
        "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
        "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
        "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
        "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
        "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
        "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
        "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
        "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
        "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
        "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
        "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
        "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]

#: seed_44191 is the first fixed seed whose public key starts with two zero bytes.
LEADING_ZERO_SEED = 44191
#: An Ed25519 point of order 8 (the torsion subgroup's generator), in canonical encoding.
ORDER_8_POINT = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"


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


def did_for(public_key: bytes) -> str:
    return "did:key:z" + b58(b"\xed\x01" + public_key)


def words(name: str) -> list[str]:
    return (WORDLISTS / f"{name}.txt").read_text(encoding="utf-8").splitlines()


ADJECTIVES = words("adjectives")
ANIMALS = words("animals")


def naming(public_key: bytes) -> dict:
    digest = hashlib.sha256(HANDLE_DOMAIN + public_key).digest()
    handle = f"{ADJECTIVES[digest[0]]}_{ANIMALS[digest[1]]}"
    return {
        "did": did_for(public_key),
        "multikey": (b"\xed\x01" + public_key).hex(),
        "handle_digest": digest.hex(),
        "handle": handle,
        "long_handle": f"{handle}_{digest[2:4].hex()}",
    }


def public_key(seed_bytes: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed_bytes).verify_key)


def sign(seed_bytes: bytes, message: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed_bytes).sign(message).signature)


# ----------------------------------------------------------------------------- cases


def rfc8032_cases() -> list[dict]:
    out = []
    for name, sk, pk, msg, sig in RFC8032:
        seed_bytes = bytes.fromhex(sk)
        # A transcription error would surface here: libsodium must reproduce the RFC.
        assert public_key(seed_bytes).hex() == pk, name
        assert sign(seed_bytes, bytes.fromhex(msg)).hex() == sig, name
        out.append(
            {
                "name": f"RFC 8032 7.1 {name}",
                "seed": sk,
                "public_key": pk,
                "message": msg,
                "signature": sig,
                **naming(bytes.fromhex(pk)),
            }
        )
    return out


def seeded_identities() -> list[dict]:
    out = []
    for i in [*range(8), LEADING_ZERO_SEED]:
        s = seed(i)
        pk = public_key(s)
        message = f"coopfed identity vector {i}".encode()
        out.append(
            {
                "name": f"seed_{i}",
                "seed_index": i,
                "seed": s.hex(),
                "public_key": pk.hex(),
                "message": message.hex(),
                "signature": sign(s, message).hex(),
                **naming(pk),
            }
        )
    assert bytes.fromhex(out[-1]["public_key"])[:2] == b"\x00\x00"
    return out


def invalid_dids() -> list[dict]:
    good_pk = public_key(seed(0))
    good = did_for(good_pk)
    mixed = nacl.bindings.crypto_core_ed25519_add(good_pk, bytes.fromhex(ORDER_8_POINT))
    identity_point = b"\x01" + bytes(31)
    cases = [
        ("empty text", ""),
        ("did:web, not did:key", "did:web:coop.example"),
        ("upper-case method prefix", "DID:KEY:" + good[len("did:key:") :]),
        ("no multibase prefix", "did:key:" + good[len("did:key:z") :]),
        (
            "multibase base58flickr ('Z') instead of base58btc ('z')",
            "did:key:Z" + good[len("did:key:z") :],
        ),
        ("multibase base64url ('u')", "did:key:u7QE" + "A" * 43),
        ("nothing after 'z'", "did:key:z"),
        ("'0' is not a base58btc digit", good[:-1] + "0"),
        ("'O' is not a base58btc digit", good[:20] + "O" + good[21:]),
        ("'l' is not a base58btc digit", good[:20] + "l" + good[21:]),
        ("space at the end", good + " "),
        ("fragment appended (a DID URL, not a DID)", good + "#" + good[len("did:key:") :]),
        (
            "leading '1': an extra zero byte before the multicodec",
            "did:key:z1" + good[len("did:key:z") :],
        ),
        (
            "multicodec secp256k1-pub (0xe7 0x01), 33-byte key",
            "did:key:z" + b58(b"\xe7\x01\x02" + good_pk),
        ),
        ("multicodec x25519-pub (0xec 0x01)", "did:key:z" + b58(b"\xec\x01" + good_pk)),
        (
            "multicodec 0xed alone, without the varint continuation byte",
            "did:key:z" + b58(b"\xed" + good_pk),
        ),
        ("multicodec ed25519 with a 31-byte key", "did:key:z" + b58(b"\xed\x01" + good_pk[:31])),
        (
            "multicodec ed25519 with a 33-byte key",
            "did:key:z" + b58(b"\xed\x01" + good_pk + b"\x00"),
        ),
        ("too long (65 characters)", good + "z" * (65 - len(good))),
        ("small-order key: the neutral element (y = 1)", did_for(identity_point)),
        ("small-order key: all zero bytes (y = 0, order 4)", did_for(bytes(32))),
        ("small-order key: a point of order 8", did_for(bytes.fromhex(ORDER_8_POINT))),
        ("not on the curve (y = 2)", did_for(b"\x02" + bytes(31))),
        (
            "non-canonical point encoding (y = p, i.e. 0 + p)",
            did_for(bytes.fromhex("ec" + "ff" * 30 + "7f")),
        ),
        (
            "non-canonical point encoding (y = p + 1, i.e. 1 + p)",
            did_for(bytes.fromhex("ed" + "ff" * 30 + "7f")),
        ),
        (
            "mixed-order key: a valid key plus a point of order 8 (not in the prime subgroup)",
            did_for(mixed),
        ),
    ]
    return [
        {"name": n, "did": d, "error": "InvalidIdentity", "code": "invalid_identity"}
        for n, d in cases
    ]


def invalid_signatures() -> list[dict]:
    _name, _seed, pk, msg, sig = RFC8032[0]
    sig_b = bytes.fromhex(sig)
    s = int.from_bytes(sig_b[32:], "little")
    malleated = sig_b[:32] + (s + L).to_bytes(32, "little")
    identity_point = b"\x01" + bytes(31)
    other = sign(bytes.fromhex(RFC8032[1][1]), b"")
    flipped = bytes([sig_b[0] ^ 1]) + sig_b[1:]
    cases = [
        ("RFC 8032 TEST 1 signature on another message", pk, "00", sig),
        ("RFC 8032 TEST 1 signature with R's first bit flipped", pk, msg, flipped.hex()),
        (
            "RFC 8032 TEST 1 signature with S's last bit flipped",
            pk,
            msg,
            (sig_b[:63] + bytes([sig_b[63] ^ 0x80])).hex(),
        ),
        (
            "non-canonical S: S + L (malleability; libsodium refuses S >= L)",
            pk,
            msg,
            malleated.hex(),
        ),
        ("signature by another key (RFC 8032 TEST 2's) on the same message", pk, msg, other.hex()),
        ("63-byte signature", pk, msg, sig[:-2]),
        ("65-byte signature", pk, msg, sig + "00"),
        ("empty signature", pk, msg, ""),
        ("all-zero signature", pk, msg, "00" * 64),
        (
            "small-order key with R = neutral element and S = 0 (verifies in lax "
            "implementations for every message)",
            identity_point.hex(),
            "6465636973696f6e",
            (identity_point + bytes(32)).hex(),
        ),
    ]
    return [
        {
            "name": n,
            "public_key": k,
            "message": m,
            "signature": g,
            "error": "InvalidSignature",
            "code": "bad_signature",
        }
        for n, k, m, g in cases
    ]


def generate() -> dict:
    return {
        "provenance": {
            "spec": "spec/identity.md",
            "generator": "spec/vectors/gen_identity.py",
            "seeds": "seed_i = SHA-256(UTF-8 'coopfed-vector-seed-' + decimal i)",
            "rfc8032": (
                "RFC 8032 section 7.1, https://www.rfc-editor.org/rfc/rfc8032#section-7.1; "
                "hex transcribed from leif-ibsen/SwiftEdDSA "
                "Tests/SwiftEdDSATests/TestSignature25519.swift "
                "@2d5c70090cae216262003d212f70f96dcd950ccc (TEST 1, 2, 3, SHA(abc)) and "
                "paulmillr/noble-ed25519 test/ed25519.test.js "
                "@085982acbc2dcaca472dbedde4751c449c4ef2a4 (TEST 1, 2, 1024), cross-checked "
                "against a third copy in an s2n-bignum Ed25519 test harness; the generator "
                "asserts libsodium reproduces every public key and signature"
            ),
            "wordlists": "spec/wordlists/adjectives.txt, spec/wordlists/animals.txt",
            "libsodium_rules": (
                "verification refuses S >= L, small-order R, non-canonical or small-order A "
                "(crypto_sign_verify_detached); did:key refuses keys that are not canonical "
                "points of the prime-order subgroup (crypto_core_ed25519_is_valid_point)"
            ),
        },
        "notes": [
            "rfc8032 and identities: SigningIdentity(seed) has public_key; its did, handle and "
            "long_handle are as listed; sign(message) == signature; verification succeeds.",
            "handle_digest = SHA-256('coopfed/handle/v1' 0x00 || public_key); byte 0 indexes "
            "adjectives.txt, byte 1 animals.txt (0-based line numbers); long_handle appends "
            "'_' and the hex of bytes 2 and 3.",
            "multikey is the decoded base58btc payload after 'did:key:z'.",
            "invalid_dids: public_key_from_did(did) raises InvalidIdentity.",
            "invalid_signatures: verify_signature(public_key, message, signature) raises "
            "InvalidSignature.",
        ],
        "rfc8032": rfc8032_cases(),
        "identities": seeded_identities(),
        "invalid_dids": invalid_dids(),
        "invalid_signatures": invalid_signatures(),
    }
