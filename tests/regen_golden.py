"""Rewrite the golden expectations of the seed captures from the current cleaner output.

Run only when a change of output is intended, then read the diff of tests/fixtures/seeds/ before
committing it: `uv run python tests/regen_golden.py`. The hand-made `*.gold.txt` bodies are never
rewritten; they are the fixed reference the golden test also scores against.
"""

from __future__ import annotations

import json
from pathlib import Path

from flows.cli import clean_file

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "seeds"


def main() -> None:
    """Write `<seed>.expected.json` for every seed capture."""
    for capture in sorted((ROOT / "seeds").glob("*.txt")):
        result = clean_file(capture)
        expected = {
            "title": result.title,
            "site_name": result.site_name,
            "description": result.description,
            "language": result.language,
            "text": result.text,
            "removed": [[r.category, r.rule, " ".join(r.text.split())] for r in result.removed],
        }
        path = GOLDEN / f"{capture.stem}.expected.json"
        path.write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
