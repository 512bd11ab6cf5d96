"""Rewrite the golden expectations of the real captures (seeds, and the HTML pages) from the current output.

Run only when a change of output is intended, then read the diff of tests/fixtures/ before committing it:
`uv run python tests/regen_golden.py`. The `*.gold.txt` bodies (hand-made for the seeds, the annotators' for the
HTML pages) are never rewritten; they are the fixed reference the golden tests also score against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cleaners import CleanResult
from flows.cli import clean_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN_SEEDS = FIXTURES / "seeds"
GOLDEN_HTML = FIXTURES / "html"


def expectation(result: CleanResult) -> dict[str, Any]:
    """What a golden file pins of a result: metadata, which extractor, the kept text, every removal."""
    return {
        "title": result.title,
        "site_name": result.site_name,
        "description": result.description,
        "language": result.language,
        "extractor": result.extractor,
        "text": result.text,
        "removed": [[r.category, r.rule, " ".join(r.text.split())] for r in result.removed],
    }


def captures() -> list[tuple[Path, Path]]:
    """(capture, its golden file) for every seed capture and every HTML fixture."""
    seeds = [(c, GOLDEN_SEEDS / f"{c.stem}.expected.json") for c in sorted((ROOT / "seeds").glob("*.txt"))]
    pages = [(c, GOLDEN_HTML / f"{c.stem}.expected.json") for c in sorted(GOLDEN_HTML.glob("*.html"))]
    return seeds + pages


def main() -> None:
    """Write `<capture>.expected.json` for every capture."""
    for capture, golden in captures():
        result = clean_file(capture)
        assert isinstance(result, CleanResult), (capture, result)
        golden.write_text(json.dumps(expectation(result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {golden.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
