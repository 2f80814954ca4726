"""Coverage-guided fuzzing of the node's HTTP endpoints with atheris: ``make fuzz`` runs it.

Usage: ``python tests/fuzz/atheris_endpoints.py endpoints CORPUS_DIR [libFuzzer flags]``.
A real node (SQLite, a temporary directory) serves on 127.0.0.1 from a thread; every
input becomes one HTTP request (tests/fuzz/endpoints.py) and every answer must be a 2xx
or a 4xx with the error JSON.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["coopfed"]):
    import endpoints

    import coopfed.node.app
    import coopfed.node.service  # noqa: F401


def main() -> None:
    corpus = Path(sys.argv[2])
    corpus.mkdir(parents=True, exist_ok=True)
    node = endpoints.NodeThread().start()
    for seed in node.seeds():
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    client = endpoints.Client(node)
    atheris.Setup([sys.argv[0], *sys.argv[3:], str(corpus)], client.run)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
