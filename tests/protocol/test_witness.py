"""The C2SP tlog-witness add-checkpoint exchange: a co-op witnessing another's log."""

from __future__ import annotations

import nacl.signing
import pytest

from coopfed.protocol.bodies import Rating, RequesterRef
from coopfed.protocol.checkpoint import (
    SignedCheckpoint,
    add_cosignatures,
    verified_witnesses,
)
from coopfed.protocol.errors import InvalidCheckpoint, LocalProtocolError
from coopfed.protocol.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpointRequest,
    Witnessed,
    WitnessRequestError,
    add_checkpoint,
    consistency_request,
    log_verifier,
    parse_response,
    witness_verifier,
)

from .conftest import MemoryLog

NOW_S = 1_767_225_600
REQ = RequesterRef(platform="toloka", id="req-77")


class WitnessCoop:
    """Co-op B acting as a witness for co-op A; its stored state is a plain dict."""

    def __init__(self, *follows: MemoryLog) -> None:
        self.log = MemoryLog("coop-b")
        self.logs = {f.origin: log_verifier(f.did) for f in follows}
        self.latest: dict[str, Witnessed] = {}

    def submit(self, body: bytes) -> tuple[int, bytes]:
        r = add_checkpoint(
            body,
            logs=self.logs,
            latest=self.latest,
            witness_key=nacl.signing.SigningKey(self.log.key.seed),
            witness_name=self.log.origin,
            now_s=NOW_S,
        )
        if r.status == 200:
            assert r.new_state is not None
            self.latest[r.new_state.origin] = r.new_state
        else:
            assert r.new_state is None
        self.last = r
        return r.status, r.body


def grow(log: MemoryLog, n: int) -> None:
    for i in range(n):
        log.append("ana", Rating(requester=REQ, text=f"r{i}"))


def test_cosign_first_then_consistent_growth() -> None:
    a = MemoryLog("coop-a")
    b = WitnessCoop(a)
    note1 = a.checkpoint()
    status, body = b.submit(consistency_request(old_size=0, proof=[], checkpoint_note=note1))
    assert status == 200
    line = parse_response(note1, body, witness_verifier(b.log.did), now_s=NOW_S)
    cosigned = add_cosignatures(note1, line)
    (cs,) = verified_witnesses(
        cosigned, log_verifier(a.did), [witness_verifier(b.log.did)], now=NOW_S
    )
    assert cs.timestamp == NOW_S
    size1 = a.tree.size
    grow(a, 5)
    note2 = a.checkpoint()
    proof = a.tree.consistency_proof(size1, a.tree.size)
    status, _ = b.submit(consistency_request(old_size=size1, proof=proof, checkpoint_note=note2))
    assert status == 200 and b.latest[a.origin].size == a.tree.size


def test_wrong_old_size_gets_409_with_the_stored_size() -> None:
    a = MemoryLog("coop-a")
    b = WitnessCoop(a)
    b.submit(consistency_request(old_size=0, proof=[], checkpoint_note=a.checkpoint()))
    grow(a, 2)
    status, body = b.submit(
        consistency_request(old_size=0, proof=[], checkpoint_note=a.checkpoint())
    )
    assert status == 409 and body == b"%d\n" % 4
    assert b.last.content_type == SIZE_CONTENT_TYPE


def test_bad_proof_is_422_and_changes_nothing() -> None:
    a = MemoryLog("coop-a")
    b = WitnessCoop(a)
    b.submit(consistency_request(old_size=0, proof=[], checkpoint_note=a.checkpoint()))
    before = dict(b.latest)
    grow(a, 3)
    proof = a.tree.consistency_proof(4, a.tree.size)
    proof[0] = bytes(32)
    status, _ = b.submit(
        consistency_request(old_size=4, proof=proof, checkpoint_note=a.checkpoint())
    )
    assert status == 422 and b.latest == before


def test_unknown_log_404_and_bad_signature_403() -> None:
    a, c = MemoryLog("coop-a"), MemoryLog("coop-c")
    b = WitnessCoop(a)
    assert (
        b.submit(consistency_request(old_size=0, proof=[], checkpoint_note=c.checkpoint()))[0]
        == 404
    )
    note = bytearray(a.checkpoint())
    note[-3] ^= 1
    assert b.submit(b"old 0\n\n" + bytes(note))[0] in (400, 403)
    # A note signed by another key under A's origin: 403.
    forged = MemoryLog("coop-c")
    forged.origin = a.origin
    status, _ = b.submit(
        consistency_request(old_size=0, proof=[], checkpoint_note=forged.checkpoint())
    )
    assert status == 403


def test_same_size_other_root_yields_equivocation_proof() -> None:
    a = MemoryLog("coop-a")
    grow(a, 2)
    b = WitnessCoop(a)
    b.submit(consistency_request(old_size=0, proof=[], checkpoint_note=a.checkpoint()))
    fork = MemoryLog("coop-a")
    grow(fork, 1)
    fork.append("bo", Rating(requester=REQ, text="other"))
    status, _ = b.submit(
        consistency_request(old_size=a.tree.size, proof=[], checkpoint_note=fork.checkpoint())
    )
    assert status == 409 and b.last.equivocation is not None
    b.last.equivocation.verify(log_verifier(a.did))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 01\n\n",
        b"old 1\nnot-base64\n\n",
        b"old -1\n\n",
        b"old 1\n",
        b"old 1\n" + b"AAAA\n" + b"\n",
    ],
)
def test_malformed_requests_are_400(body: bytes) -> None:
    a = MemoryLog("coop-a")
    b = WitnessCoop(a)
    assert b.submit(body + a.checkpoint())[0] == 400
    with pytest.raises(WitnessRequestError):
        AddCheckpointRequest.parse(body + a.checkpoint())


def test_request_round_trip_and_limits() -> None:
    a = MemoryLog("coop-a")
    grow(a, 3)
    proof = a.tree.consistency_proof(2, a.tree.size)
    req = AddCheckpointRequest(old_size=2, proof=tuple(proof), checkpoint=a.checkpoint())
    assert AddCheckpointRequest.parse(req.to_bytes()) == req
    with pytest.raises(LocalProtocolError):
        AddCheckpointRequest(old_size=-1, proof=(), checkpoint=b"")


def test_response_without_the_witness_line_is_refused() -> None:
    a = MemoryLog("coop-a")
    b = MemoryLog("coop-b")
    with pytest.raises(InvalidCheckpoint):
        parse_response(
            a.checkpoint(), b"\xe2\x80\x94 x AAAA\n", witness_verifier(b.did), now_s=NOW_S
        )


def test_signed_checkpoint_of_memory_log_verifies() -> None:
    a = MemoryLog("coop-a")
    cp = SignedCheckpoint(note=a.checkpoint(), log_verifier=log_verifier(a.did))
    assert cp.size == a.tree.size
