"""The machine's own limit: raw PyNaCl Ed25519 verifications per second on one core.

Signatures by 1,000 keys over record-sized messages (the signing input of a rating, about
300 bytes), verified in a loop on one thread with ``nacl.signing.VerifyKey.verify`` — no
coopfed code in the loop. The median of ``rounds`` rounds of ``seconds`` each, so a burst
of other load on the machine moves it less.
"""

from __future__ import annotations

import statistics
import time

import nacl.signing

from coopfed.protocol.records import SIGNING_DOMAIN

from . import common


def run(*, seconds: float = 2.0, rounds: int = 3, keys: int = 1000) -> float:
    signers = [nacl.signing.SigningKey(common.key(f"verify-{i}").seed) for i in range(keys)]
    items = []
    for i, sk in enumerate(signers):
        msg = SIGNING_DOMAIN + bytes((i * 31 + j) % 251 for j in range(300))
        items.append((nacl.signing.VerifyKey(bytes(sk.verify_key)), msg, sk.sign(msg).signature))
    rates = []
    for _ in range(rounds):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for vk, msg, sig in items:
                vk.verify(msg, sig)
            n += len(items)
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)
