"""`boilerstrip eval`: run the real cleaning pipeline over a labelled folder and score it.

The folder is laid out like `shared/eval/dev/`: `<id>.page.txt` (full-page text dump),
`<id>.gold.txt` (the article body), `<id>.html` (the raw capture). `--input text` cleans the page
dumps, `--input html` the HTML captures (trafilatura, then the body cleaners). Every page is cleaned and scored on
its own and the corpus figures are means over pages, so results do not depend on the order or
number of pages scored. `--baselines` scores the field's extractors (cleaners.baselines) on the same pages with the
same metric, beside boilerstrip.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cleaners import Config, Pipeline, Rejection, cleaner_version, rules_version
from cleaners.baselines import HTML_BASELINES, TEXT_BASELINES, baseline_input, baseline_text
from cleaners.line_classifier import page_digest, shipped_model
from cleaners.metrics import CorpusScore, PageScore, aggregate, score_page

INPUT_SUFFIXES = {"text": ".page.txt", "html": ".html"}


@dataclass
class PageResult:
    """One page's score and what the cleaners removed from it."""

    page_id: str
    score: PageScore
    removals: Counter[str] = field(default_factory=Counter)
    flagged: bool = False
    rejected: str | None = None
    # The field's extractors' F1 on this page (`--baselines`), to see where boilerstrip loses to one of them.
    baseline_f1: dict[str, float] = field(default_factory=dict)


@dataclass
class EvalReport:
    """Corpus figures for the pipeline and for keeping everything, plus per-page results."""

    ours: CorpusScore
    keep_everything: CorpusScore
    pages: list[PageResult]
    removals_by_category: Counter[str]
    # Text input: pages the shipped line model was trained on (their figures are in-sample).
    pages_in_training: int = 0
    # What produced the figures, as a dataset row would name it: code, rules and model, config.
    cleaned_by: dict[str, str] = field(default_factory=dict)
    # The field's extractors on the same pages, same metric (only when asked for: they cost far more than ours).
    baselines: dict[str, CorpusScore] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures (per-page rows left out)."""
        return {"ours": asdict(self.ours), "keep_everything": asdict(self.keep_everything),
                "removals_by_category": dict(self.removals_by_category.most_common()),
                "flagged_overdeletion": sum(p.flagged for p in self.pages),
                "rejected": sum(p.rejected is not None for p in self.pages),
                "pages_in_line_model_training": self.pages_in_training, "cleaned_by": self.cleaned_by,
                "baselines": {name: asdict(score) for name, score in self.baselines.items()}}


def evaluate_folder(folder: str | Path, input_kind: str = "text", config: Config | None = None,
                    baselines: bool = False) -> EvalReport:
    """Clean every labelled page of `folder` (input `text`: the page dumps) and score it; with `baselines`, score
    the field's extractors on the same pages too."""
    if input_kind not in INPUT_SUFFIXES:
        raise ValueError(f"unsupported --input {input_kind!r}: use one of {sorted(INPUT_SUFFIXES)}")
    suffix = INPUT_SUFFIXES[input_kind]
    pages = sorted(Path(folder).glob(f"*{suffix}"))
    if not pages:
        raise FileNotFoundError(f"no *{suffix} pages in {folder}")
    pipeline = Pipeline(config)
    results: list[PageResult] = []
    baseline: list[PageScore] = []
    totals: Counter[str] = Counter()
    in_training = 0
    baseline_names = (HTML_BASELINES if input_kind == "html" else TEXT_BASELINES) if baselines else ()
    reference: dict[str, list[PageScore]] = {name: [] for name in baseline_names}
    for page in pages:
        page_id = page.name[: -len(suffix)]
        gold = page.with_name(f"{page_id}.gold.txt").read_text(encoding="utf-8")
        raw = page.read_bytes()
        if input_kind == "text" and "boilerplate" in pipeline.config.categories:
            in_training += page_digest(raw) in shipped_model().training_pages
        outcome = pipeline.clean_html(raw) if input_kind == "html" else pipeline.clean_capture(raw)
        # The baseline keeps every visible line of the page: its page dump, whatever the input.
        dump = page.with_name(f"{page_id}.page.txt")
        baseline.append(score_page(gold, dump.read_text(encoding="utf-8", errors="replace") if dump.exists() else ""))
        if baseline_names:
            prepared = baseline_input(raw, input_kind, pipeline.config.max_capture_bytes)  # once for all of them
            for name in baseline_names:
                reference[name].append(score_page(gold, baseline_text(name, prepared)))
        page_baselines = {name: scores[-1].f1 for name, scores in reference.items()}
        if isinstance(outcome, Rejection):
            results.append(PageResult(page_id, score_page(gold, ""), rejected=outcome.reason,
                                      baseline_f1=page_baselines))
            continue
        removals = Counter(r.category for r in outcome.removed)
        totals.update(removals)
        flagged = any(f.startswith("overdeletion_guard") for f in outcome.flags)
        results.append(PageResult(page_id, score_page(gold, outcome.text), removals, flagged, None, page_baselines))
    model = shipped_model()
    # The pair's version covers both readers; the second's own version is what its removals name (dumps without
    # blank lines), so the report names it too.
    readers = {} if model.unmarked is None else {"line_model_unmarked_reader": model.unmarked.version}
    cleaned_by = {"boilerstrip_version": cleaner_version(), "rules_version": rules_version(),
                  "line_model": model.version, **readers, "config_hash": pipeline.config.config_hash()}
    return EvalReport(aggregate(r.score for r in results), aggregate(baseline), results, totals, in_training,
                      cleaned_by, {name: aggregate(scores) for name, scores in reference.items()})


def write_per_page(report: EvalReport, path: str | Path) -> None:
    """Per-page table (TSV, worst F1 first) so the worst pages can be read; with baselines, each one's F1 too."""
    rows = sorted(report.pages, key=lambda r: r.score.f1)
    names = list(report.baselines)
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.write("id\tprecision\trecall\tf1\tempty\tflagged\trejected\tremovals"
                 + "".join(f"\tf1_{name}" for name in names) + "\n")
        for r in rows:
            removed = ",".join(f"{k}:{v}" for k, v in r.removals.most_common())
            fh.write(f"{r.page_id}\t{r.score.precision:.4f}\t{r.score.recall:.4f}\t{r.score.f1:.4f}\t"
                     f"{int(r.score.empty_prediction)}\t{int(r.flagged)}\t{r.rejected or ''}\t{removed}"
                     + "".join(f"\t{r.baseline_f1[name]:.4f}" for name in names) + "\n")
