"""Pathological lines: cleaning cost per MB of the worst inputs against an ordinary article's, and linearity.

    python3 -m uv run python -m bench.pathological [--mb 1] [--repeat 2]

The ordinary cost is the dev page dumps (shared/eval/dev/*.page.txt) cleaned one by one (decode,
every cleaner, render), in seconds per MB. Each pathological line (a huge line of words, repeated
tokens next to a rule's pattern, near-matches just under the rule line limit, control characters)
and each all-boilerplate page (thousands of short lines that are all removed: menus, share buttons,
footers, mojibake) and each long page (a forum thread: prose posts between short lines, which the line
model reads line by line; reported under long_pages) is cleaned by the same pipeline at --mb and at
twice that size: the report gives its cost per MB, its ratio to the ordinary cost (target for lines:
<= 3), and the time ratio between the two sizes (2.0 means linear). Best of --repeat, all in one
process, so a noisy shared machine moves both sides alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"
MB = 1 << 20


def _fill(unit: str, size: int, sep: str = "") -> str:
    """`unit` repeated (joined by sep) to about `size` characters."""
    return sep.join([unit] * max(1, size // (len(unit) + len(sep))))


def pathological_lines(limit: int) -> dict[str, Callable[[int], bytes]]:
    """Worst single lines (the target: within 3x an ordinary article per MB); each builder makes ~`size` bytes."""
    near = "Read more: " * ((limit - 1) // len("Read more: "))  # just under max_rule_line_chars
    return {
        "one line of words (a 10 MB line)": lambda size: _fill("word ", size).encode(),
        "repeated tokens by a pattern, one line": lambda size: (
            _fill("Share this article ", size) + "\nShare this article\n").encode(),
        "near-matches just under the rule line limit": lambda size: _fill(near, size, "\n").encode(),
        "control characters and bidi, one line": lambda size: _fill(
            "text \u202eevil\u202c \u2067iso\u2069 \x07 more ", size).encode(),
        "a sentence broken at every word, joined back into one line": lambda size: _fill(
            "the\n, council\nvoted\n. to close\n", size).encode(),
    }


def boilerplate_pages(limit: int) -> dict[str, Callable[[int], bytes]]:
    """Pages of short lines that are all boilerplate: every line is a removal (reported, linearity checked)."""
    return {
        "runs of menu words, one per line": lambda size: _fill(
            "Home\nNews\nWorld\nPolitics\nBusiness\nSport\n", size).encode(),
        "runs of share buttons and related links": lambda size: _fill(
            "Share this article\nFacebook\nTwitter\nEmail\nRelated Posts\nA headline of a related story here\n",
            size).encode(),
        "copyright/footer lines": lambda size: _fill("© 2024 Example Media. All rights reserved. Privacy Policy",
                                                     size, "\n").encode(),
        "mojibake everywhere": lambda size: _fill("Les Ã©lÃ¨ves ont visitÃ© le musÃ©e â€” un succÃ¨s. ", size,
                                                  "\n").encode(),
    }


def long_pages() -> dict[str, Callable[[int], bytes]]:
    """Long pages of real-looking structure that the line model reads whole (reported, linearity checked)."""
    return {"a long forum thread: distinct prose posts between reply links": _forum_thread}


def _forum_thread(size: int) -> bytes:
    """A thread of ~`size` bytes: every post a distinct sentence of prose, between a poster line and a reply link.

    Half its lines are prose and half furniture, so the line model reads all of them (a page of prose only is
    left whole before the model runs), and every page feature spans thousands of prose lines.
    """
    posts = []
    total = i = 0
    while total < size:
        post = (f"user{i} says:\nPost number {i} of the thread goes on about the match and what the coach said "
                f"after it, at some length.\nReply\n")
        posts.append(post)
        total += len(post)
        i += 1
    return "".join(posts).encode()


def best_seconds(run: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """The best time of `repeat` runs by `clock` (wall time unless told)."""
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a JSON report; exit 1 if a line costs over 3x an ordinary article per MB."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=1.0, help="size of each pathological input, MB (default 1)")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs (default 2)")
    args = parser.parse_args(argv)

    from cleaners import Config, Pipeline

    config = Config()
    pipeline = Pipeline(config)
    pages = [p.read_bytes() for p in sorted(EVAL_DEV.glob("*.page.txt"))]
    if not pages:
        print(f"no page dumps in {EVAL_DEV}", file=sys.stderr)
        return 2
    pipeline.clean_capture(pages[0])  # load lazy models outside the timing
    ordinary_mb = sum(len(p) for p in pages) / MB
    ordinary = best_seconds(lambda: [pipeline.clean_capture(p) for p in pages], args.repeat) / ordinary_mb
    report: dict[str, object] = {"ordinary_pages": len(pages), "ordinary_mb": round(ordinary_mb, 2),
                                 "ordinary_seconds_per_mb": round(ordinary, 3)}
    size = int(args.mb * MB)

    def measure(builders: dict[str, Callable[[int], bytes]]) -> tuple[dict[str, object], float]:
        cases: dict[str, object] = {}
        worst = 0.0
        for name, build in builders.items():
            small, large = build(size), build(2 * size)
            t_small = best_seconds(partial(pipeline.clean_capture, small), args.repeat)
            t_large = best_seconds(partial(pipeline.clean_capture, large), args.repeat)
            per_mb = t_large / (len(large) / MB)
            worst = max(worst, per_mb / ordinary)
            cases[name] = {"mb": round(len(large) / MB, 2), "seconds_per_mb": round(per_mb, 3),
                           "ratio_to_ordinary": round(per_mb / ordinary, 2),
                           "time_ratio_2x_size": round(t_large / t_small, 2)}
            print(f"{name}: {cases[name]}", file=sys.stderr, flush=True)
        return cases, worst

    report["lines"], worst = measure(pathological_lines(config.max_rule_line_chars))
    report["boilerplate_pages"], worst_pages = measure(boilerplate_pages(config.max_rule_line_chars))
    report["long_pages"], _ = measure(long_pages())
    report["worst_page_ratio_to_ordinary"] = round(worst_pages, 2)
    report["worst_line_ratio_to_ordinary"] = round(worst, 2)
    report["target"] = "worst line ratio <= 3; time ratio at 2x size about 2 (linear) for every case"
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if worst <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
