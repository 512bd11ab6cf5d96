"""Cross-validated F1 of the HTML path's agreement settings, so the dev figure is not just a fit to dev.

    python3 -m uv run python -m bench.html_cv [--folds 5] [--json]

The thresholds of cleaners.agreement (how much readability must confirm, how long and how large the added-back
prose must be) were chosen on the dev pages. Here every setting of a small grid around them is scored page by
page; then, for each of K folds (all pages of a site in one fold, as in the line model's cross-validation), the
setting with the best F1 on the other K-1 folds is applied to the held-out fold. The held-out page scores,
pooled, give the cross-validated corpus F1 (the metric is a mean over pages, so pooling is exact). Also printed:
trafilatura alone (precision mode, then our body cleaners), and the settings as shipped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"
GRID = {
    "MIN_AGREEMENT": (0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
    "MIN_ADDED_WORDS": (10, 20, 30),
    "MIN_ADDED_SHARE": (0.0, 0.1, 0.25, 0.5, float("inf")),
    "MAX_TRIMMED_WORDS": (40, 60, 100, float("inf")),
}


def main() -> None:
    """Score the grid on every dev page, then report K-fold cross-validated F1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    import cleaners.agreement as agreement
    from bench.train_line_classifier import folds_by_site, page_site
    from cleaners import Pipeline
    from cleaners.agreement import second_opinion
    from cleaners.html import EXTRACTOR_TRAFILATURA, Extracted, readability_fragment, trafilatura_extraction
    from cleaners.metrics import PageScore, aggregate, score_page

    pipeline = Pipeline()

    def cleaned(text: str, title: str | None) -> str:
        # The title the page states goes with the text, as in the pipeline (a line repeating it is the headline).
        extracted = Extracted(text, EXTRACTOR_TRAFILATURA, title=title)
        return pipeline.clean_text(text, (), extracted).text if text.strip() else text

    pages, sites = [], []
    for html_path in sorted(EVAL_DEV.glob("*.html")):
        html = html_path.read_text(encoding="utf-8", errors="replace")
        gold = html_path.with_name(html_path.name.replace(".html", ".gold.txt")).read_text(encoding="utf-8")
        # trafilatura's text and the title the pipeline would use, from the one call extract_html makes.
        first = trafilatura_extraction(html)
        pages.append((gold, first.text, second_opinion(readability_fragment(html)), first.title))
        sites.append(page_site(EVAL_DEV, html_path.name.removesuffix(".html")))

    shipped = {name: getattr(agreement, name) for name in GRID}
    settings = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    scores: list[list[PageScore]] = []  # [setting][page]
    for setting in settings:
        for name, value in setting.items():
            setattr(agreement, name, value)
        scores.append([score_page(gold, cleaned(agreement.combine(first, opinion).text, title))
                       for gold, first, opinion, title in pages])
    for name, value in shipped.items():
        setattr(agreement, name, value)

    # Folds by site, as in the line model's cross-validation: no held-out page is scored with a setting chosen on
    # another page of its own site.
    fold_of_page = folds_by_site(sites, args.folds)
    held_out: list[PageScore] = []
    chosen = []
    for k in range(args.folds):
        fold = [i for i, f in enumerate(fold_of_page) if f == k]
        train = [i for i, f in enumerate(fold_of_page) if f != k]
        best = max(range(len(settings)), key=lambda s: aggregate(scores[s][i] for i in train).f1)
        chosen.append(settings[best])
        held_out.extend(scores[best][i] for i in fold)
    alone = aggregate(score_page(gold, cleaned(first, title)) for gold, first, _, title in pages)
    as_shipped = aggregate(scores[settings.index(shipped)])
    cv = aggregate(held_out)
    f1_on_all = [aggregate(setting_scores).f1 for setting_scores in scores]  # each setting on all pages
    report: dict[str, Any] = {
        "pages": len(pages), "folds": args.folds,
        "trafilatura_precision_alone": alone.__dict__, "as_shipped": {"settings": shipped, **as_shipped.__dict__},
        "cross_validated": cv.__dict__, "chosen_per_fold": chosen,
        "grid_f1_range": [min(f1_on_all), max(f1_on_all)],
        # F1 on all pages of each value of each threshold, at its best over the others: where the plateaus are.
        "best_f1_by_value": {name: {str(value): max(f1 for st, f1 in zip(settings, f1_on_all, strict=True)
                                                    if st[name] == value) for value in values}
                             for name, values in GRID.items()},
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return
    print(f"{len(pages)} dev pages, {args.folds}-fold cross-validation over {len(settings)} settings")
    for label, score in (("trafilatura (precision) + cleaners", alone), ("agreement as shipped", as_shipped),
                         ("agreement, cross-validated", cv)):
        print(f"  {label:36s} P {score.precision:.4f}  R {score.recall:.4f}  F1 {score.f1:.4f}")
    print(f"  grid F1 range {report['grid_f1_range'][0]:.4f} .. {report['grid_f1_range'][1]:.4f}")
    for k, setting in enumerate(chosen):
        print(f"  fold {k}: {setting}")
    for name, by_value in report["best_f1_by_value"].items():
        print(f"  best F1 with {name} = " + ", ".join(f"{v}: {f1:.4f}" for v, f1 in by_value.items()))


if __name__ == "__main__":
    main()
