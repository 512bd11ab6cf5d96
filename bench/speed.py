"""Speed of the text path against trafilatura, side by side, with the text path's per-stage breakdown.

    python3 -m uv run python -m bench.speed [--rounds 5] [--pages N] [--json]

For every dev page (shared/eval/dev), in the same process and interleaved page by page:
- text: our cleaning of `<id>.page.txt` as ingest does it (`Pipeline.clean_bytes(data)`: decode, every cleaner,
  guard, render, language);
- trafilatura: `trafilatura.extract` of `<id>.html` (comments off), the extractor alone;
- html: our whole HTML path (`Pipeline.clean_bytes(data, "html")`: trafilatura with metadata, readability's
  second opinion, body cleaners), for reference.
Each round visits the pages in a fresh shuffled order; docs/s is pages / summed seconds, and the ratio text vs
trafilatura is taken within the same run, so a noisy shared machine moves both sides alike. The breakdown times
the text path's stages inside the real path (`Pipeline.clean_bytes`, each stage it calls wrapped in a timer), so each
cleaner sees what the pipeline gives it, and the stages with "the rest" sum to the whole.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"


def load_pages(limit: int | None) -> list[tuple[bytes, bytes, str]]:
    """(page dump bytes, HTML bytes, HTML text) of each dev page that has both."""
    pages = []
    for dump in sorted(EVAL_DEV.glob("*.page.txt"))[:limit]:
        html = dump.with_name(dump.name.replace(".page.txt", ".html"))
        if html.exists():
            raw = html.read_bytes()
            pages.append((dump.read_bytes(), raw, raw.decode("utf-8", errors="replace")))
    if not pages:
        raise SystemExit(f"no dev pages in {EVAL_DEV}")
    return pages


def side_by_side(pages: list[tuple[bytes, bytes, str]], rounds: int, seed: int = 0) -> dict[str, Any]:
    """Seconds per side over all rounds, pages interleaved in a shuffled order each round."""
    import trafilatura

    from cleaners import Pipeline

    pipeline = Pipeline()
    sides: dict[str, Callable[[tuple[bytes, bytes, str]], object]] = {
        "text": lambda p: pipeline.clean_bytes(p[0]),
        "trafilatura": lambda p: trafilatura.extract(p[2], include_comments=False),
        "html": lambda p: pipeline.clean_bytes(p[1], "html"),
    }
    for page in pages[:3]:  # load models and rules, fill caches
        for run in sides.values():
            run(page)
    seconds: dict[str, float] = defaultdict(float)
    rng = random.Random(seed)
    order = list(range(len(pages)))
    for _ in range(rounds):
        rng.shuffle(order)
        for i in order:
            for name, run in sides.items():
                start = time.perf_counter()
                run(pages[i])
                seconds[name] += time.perf_counter() - start
    docs = len(pages) * rounds
    result: dict[str, Any] = {"pages": len(pages), "rounds": rounds}
    for name, secs in seconds.items():
        result[name] = {"docs_per_s": docs / secs, "ms_per_doc": 1000 * secs / docs}
    result["ratio_text_vs_trafilatura"] = seconds["trafilatura"] / seconds["text"]
    return result


def stage_breakdown(pages: list[tuple[bytes, bytes, str]], rounds: int) -> dict[str, float]:
    """Milliseconds per page of each stage of the text path, in pipeline order, timed inside the real path.

    `Pipeline.clean_bytes` runs as ingest runs it, with each stage it calls wrapped in a timer: decoding, segmenting,
    rule matching, every cleaner's `find` (each given what the pipeline gives it: a cleaner after the line model sees
    only the named removals), rendering and language id. What is left of the whole is "the rest": resolving overlaps
    when a cleaner found something, the over-deletion guard, building the result. So the stages sum to the whole.
    """
    from cleaners import Pipeline
    from cleaners import pipeline as pipeline_module

    pipeline = Pipeline()
    ms: dict[str, float] = defaultdict(float)

    def timer(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                ms[stage] += 1000 * (time.perf_counter() - start)
        return timed

    for dump, _, _ in pages[:3]:  # load the model and rules, fill caches, as side_by_side does
        pipeline.clean_bytes(dump)
    # The module-level functions `Pipeline` calls, by the stage they are.
    labels = {"decode_capture": "decode (incl. mojibake check)", "segment": "segment", "excise": "render (excise)",
              "detect_language": "language id"}
    patched = {name: getattr(pipeline_module, name) for name in labels}
    ms.update({labels["decode_capture"]: 0.0, labels["segment"]: 0.0, "rule matching (RE2 sets)": 0.0})  # in order
    for cleaner in pipeline.page_dump_cleaners:
        after = " (after the model)" if cleaner.takes_after_model_rules else ""
        # setattr: an instance attribute that shadows the method on this pipeline's own cleaners (mypy refuses a
        # plain assignment to a method).
        setattr(cleaner, "find", timer(f"cleaner {cleaner.category}{after}", cleaner.find))  # noqa: B010
    # The matcher is shared by every pipeline of the process (`matcher_for` caches it): its timer is taken off again.
    setattr(pipeline.matcher, "match", timer("rule matching (RE2 sets)", pipeline.matcher.match))  # noqa: B010
    for name, fn in patched.items():
        setattr(pipeline_module, name, timer(labels[name], fn))
    whole = 0.0
    try:
        for _ in range(rounds):
            for dump, _, _ in pages:
                start = time.perf_counter()
                pipeline.clean_bytes(dump)
                whole += 1000 * (time.perf_counter() - start)
    finally:
        for name, fn in patched.items():
            setattr(pipeline_module, name, fn)
        del pipeline.matcher.match  # the instance attribute goes; the class's method shows again
    ms["the rest (overlaps, guard, result)"] = whole - sum(ms.values())
    n = len(pages) * rounds
    return {stage: total / n for stage, total in ms.items()}


def main() -> None:
    """Run the side-by-side timing and the stage breakdown; print a table (JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the pages (default 5)")
    parser.add_argument("--pages", type=int, default=None, help="only the first N dev pages")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    pages = load_pages(args.pages)
    report = {"side_by_side": side_by_side(pages, args.rounds), "stages_ms": stage_breakdown(pages, args.rounds)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    sbs = report["side_by_side"]
    print(f"{sbs['pages']} dev pages x {sbs['rounds']} rounds, interleaved")
    for name in ("text", "trafilatura", "html"):
        print(f"  {name:12s} {sbs[name]['docs_per_s']:8.1f} docs/s  {sbs[name]['ms_per_doc']:7.2f} ms/doc")
    print(f"  text cleaning is {sbs['ratio_text_vs_trafilatura']:.1f}x faster than trafilatura.extract")
    print("text path stages (ms/page):")
    width = max(len(stage) for stage in report["stages_ms"])
    for stage, value in report["stages_ms"].items():
        print(f"  {stage:{width}s} {value:6.2f}")
    print(f"  {'sum':{width}s} {sum(report['stages_ms'].values()):6.2f}")


if __name__ == "__main__":
    main()
