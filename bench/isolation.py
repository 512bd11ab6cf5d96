"""What the per-capture time budget costs: cleaning in a worker process against cleaning in this one.

    python3 -m uv run python -m bench.isolation [--pages 150] [--repeat 2]

The dev HTML pages (shared/eval/dev/*.html) and their text dumps are cleaned through
`flows.isolation.IsolatedCleaner` with the default budget (a worker process, bytes and results
pickled across a pipe) and with the budget off (`capture_timeout_seconds=0`, in this process),
alternating, best of --repeat; the ratio is isolated time / in-process time. Worker start-up is
paid once, before timing, as a unit of a run pays it once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=150, help="pages of each kind (default 150)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs (default 2)")
    args = parser.parse_args(argv)

    from cleaners import Config
    from flows.isolation import IsolatedCleaner

    html = [p.read_bytes() for p in sorted(EVAL_DEV.glob("*.html"))[: args.pages]]
    text = [p.read_bytes() for p in sorted(EVAL_DEV.glob("*.page.txt"))[: args.pages]]
    if not html or not text:
        print(f"no pages in {EVAL_DEV}", file=sys.stderr)
        return 2
    report: dict[str, object] = {}
    isolated = IsolatedCleaner(Config())
    in_process = IsolatedCleaner(Config(capture_timeout_seconds=0))
    try:
        for kind, pages in (("html", html), ("text", text)):
            isolated.clean(pages[0], kind)  # start the worker outside the timing
            in_process.clean(pages[0], kind)
            best = {"isolated": float("inf"), "in_process": float("inf")}
            for _ in range(args.repeat):
                for name, cleaner in (("isolated", isolated), ("in_process", in_process)):
                    start = time.perf_counter()
                    for page in pages:
                        cleaner.clean(page, kind)
                    best[name] = min(best[name], time.perf_counter() - start)
            report[kind] = {"pages": len(pages),
                            "ms_per_page_isolated": round(1000 * best["isolated"] / len(pages), 2),
                            "ms_per_page_in_process": round(1000 * best["in_process"] / len(pages), 2),
                            "ratio_isolated_to_in_process": round(best["isolated"] / best["in_process"], 3)}
    finally:
        isolated.close()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
