"""Short fuzzing of the node's HTTP endpoints in the suite: only 2xx and coded 4xx answers.

A real node (SQLite) serves on 127.0.0.1 from a thread; requests are built from bytes by
tests/fuzz/endpoints.py (records, join, invites, tile paths, record ids, proofs,
requesters, proposals). The long run is ``make fuzz`` (atheris_endpoints.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import endpoints
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_decoders import mutated


@pytest.fixture(scope="module")
def client() -> Iterator[endpoints.Client]:
    with endpoints.NodeThread() as node:
        c = endpoints.Client(node)
        try:
            yield c
        finally:
            c.close()


def requests(seeds: tuple[bytes, ...]) -> st.SearchStrategy[bytes]:
    route = st.integers(0, endpoints.ROUTES - 1).map(lambda r: bytes([r]))
    long_path = st.sampled_from(
        [
            b"\x030/000.p/" + b"1" * 5000,
            b"\x03" + b"1" * 5000 + b"/000",
            b"\x03entries/" + b"9" * 4400,
        ]
    )
    return st.one_of(
        st.tuples(route, st.binary(min_size=1, max_size=300)).map(lambda t: t[0] + t[1]),
        mutated(seeds),
        long_path,
    )


def test_seeded_requests_are_answered(client: endpoints.Client) -> None:
    for seed in client.node.seeds():
        client.run(seed)


@pytest.mark.parametrize("round_", range(2))
def test_fuzzed_requests_get_only_2xx_or_coded_4xx(client: endpoints.Client, round_: int) -> None:
    seeds = tuple(client.node.seeds())

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(data=requests(seeds))
    def one(data: bytes) -> None:
        client.run(data)

    one()
