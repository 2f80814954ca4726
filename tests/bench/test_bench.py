"""Each benchmark at toy size, so ``make bench`` keeps working: real runs, no timing asserts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import __main__ as runner
from bench import biglog, ingest, sim, syncbench, tally, verify
from bench.common import check_sample, members, sign_raw
from bench.loadgen import read_records, write_records


def test_verify_counts_verifications() -> None:
    assert verify.run(seconds=0.01, rounds=1, keys=5) > 0


def test_records_the_benchmarks_sign_are_real(tmp_path: Path) -> None:
    from bench.common import CHARTER, MemberMix, key

    signer = key("test-coop")
    raws = [sign_raw(signer, coop=signer.did, ts=1_800_000_000_000, body=CHARTER)]
    raws += MemberMix(coop=signer.did, signers=members(3), proposals=[b"\x01" * 32]).records(
        30, ts=1_800_000_000_000
    )
    check_sample(raws, k=len(raws))  # every one decodes and its signature verifies
    write_records(tmp_path / "r.bin", raws)
    assert read_records(tmp_path / "r.bin") == raws


def test_tally_counts_every_latest_ballot() -> None:
    r = tally.run(ballots=25, repeat=1)
    assert sum(r.counts.values()) == r.members == 20
    assert r.result in ("passed", "failed", "no_quorum")


def test_sim_converges_and_fetches_each_record_about_once() -> None:
    r = sim.run(coops=4, rounds=2, records=40, members=3, page_size=8)
    assert r.coops == 4 and r.needed > 0
    assert r.fetched >= r.needed
    assert r.uptodate_requests_per_follow == 1.0
    assert r.refused == 0


def test_log_benchmark_measures_proofs_appends_and_keeps_a_snapshot(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    r = biglog.run(
        tmp_path / "log", sizes=(20, 50), members=3, samples=2, appends=8, snapshots={20: snap}
    )
    assert set(r.proof_us) == {"20", "50"}
    assert set(r.append_us) == {"20", "50"}
    assert r.size == 50
    assert syncbench._record_bytes(snap)[0] == 20
    assert syncbench._record_bytes(tmp_path / "log")[0] == 50


def test_ingest_posts_over_http_to_a_node_process(tmp_path: Path) -> None:
    r = ingest.run(n=30, members=6, proposals=1, clients=4, warmup=4, workdir=tmp_path)
    assert r.accepted == r.sent == 30, r.first_error
    assert r.log_size >= 34
    assert sum(r.mix.values()) == 34


def test_ingest_on_postgresql(tmp_path: Path) -> None:
    why = ingest.pg_available()
    if why is not None:
        if os.environ.get("COOPFED_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL unavailable: {why}")
        pytest.skip(f"PostgreSQL unavailable: {why}")
    r = ingest.run(
        n=20,
        members=5,
        proposals=1,
        clients=4,
        warmup=0,
        workdir=tmp_path,
        database_url=ingest.PG_URL,
    )
    assert r.accepted == 20, r.first_error


def test_sync_between_two_node_processes_counts_the_wire(tmp_path: Path) -> None:
    biglog.run(tmp_path / "source", sizes=(40,), members=3, samples=1, appends=0)
    r = syncbench.run(tmp_path / "source", tmp_path / "work", uptodate_rounds=1)
    assert r.records == 40
    assert 1.0 <= r.wire_overhead < 3.0
    assert r.uptodate_requests == 1.0
    assert r.peak_rss_mb > 0
    assert r.paths.get("GET /checkpoint", 0) >= 1


def test_runner_writes_exactly_the_issue_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = runner.main(["--tiny", "--only", "tally,sim", "--out", str(tmp_path)])
    assert code == 0
    values = json.loads((tmp_path / "latest.json").read_text())
    assert tuple(values) == runner.KEYS
    assert isinstance(values["verify_per_s"], float)
    assert isinstance(values["tally_100k_ms"], float)
    assert values["sim_coops"] == 5
    assert values["ingest_per_s"] is None  # not run
    assert "tally_100k_ms" in capsys.readouterr().out
