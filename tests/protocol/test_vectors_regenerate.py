"""The committed vectors are exactly what the generators give, and the word lists agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from coopfed.protocol import _wordlists

ROOT = Path(__file__).resolve().parents[2]


def test_generate_check_reproduces_every_vector_file() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "spec" / "vectors" / "generate.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_wordlists_module_equals_the_spec_files() -> None:
    for name, words in (("adjectives", _wordlists.ADJECTIVES), ("animals", _wordlists.ANIMALS)):
        text = (ROOT / "spec" / "wordlists" / f"{name}.txt").read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), name
        assert "\r" not in text, name
        assert tuple(text.splitlines()) == words, name
        assert len(words) == 256, name
