"""Regenerate every file in spec/vectors/ from fixed seeds; `--check` fails on any difference.

Each `gen_NAME.py` beside this script defines `generate() -> dict`, which becomes `NAME.json`.
Output is deterministic: sorted keys, two-space indent, bytes as lowercase hex, trailing newline.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generators() -> dict[str, object]:
    out = {}
    for path in sorted(HERE.glob("gen_*.py")):
        name = path.stem.removeprefix("gen_")
        spec = importlib.util.spec_from_file_location(f"coopfed_vectors_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out[name] = module.generate
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("only", nargs="*", help="names to regenerate (default: all)")
    args = parser.parse_args()
    failed = []
    for name, generate in generators().items():
        if args.only and name not in args.only:
            continue
        text = render(generate())  # type: ignore[operator]
        target = HERE / f"{name}.json"
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                failed.append(name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parent.parent)}")
    if failed:
        print("vectors differ from a fresh generation: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
