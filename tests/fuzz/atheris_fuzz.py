"""Coverage-guided fuzzing of one decoder with atheris (libFuzzer): ``make fuzz`` runs it.

Usage: ``python tests/fuzz/atheris_fuzz.py TARGET CORPUS_DIR [libFuzzer flags]``. The corpus
directory is seeded from the committed vectors (tests/fuzz/targets.py). A crash is any
exception but the protocol's refusals; libFuzzer writes the input to ``crash-*`` under
``-artifact_prefix`` and the campaign (tests/fuzz/campaign.py) reports it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["coopfed"]):
    import targets

    targets.load()  # imports (and so instruments) every protocol module a target uses


def main() -> None:
    name, corpus = sys.argv[1], Path(sys.argv[2])
    if name not in targets.load():
        raise SystemExit(f"unknown target {name!r}; known: {', '.join(targets.load())}")
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in targets.seeds()[name]:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)

    def one(data: bytes) -> None:
        targets.run(name, data)

    atheris.Setup([sys.argv[0], *sys.argv[3:], str(corpus)], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
