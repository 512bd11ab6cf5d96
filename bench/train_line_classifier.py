"""Train the page-dump line model, report its cross-validated quality, and write the shipped model file.

    python3 -m uv run python -m bench.train_line_classifier [EVAL_DIR] [--folds 5] [--out FILE] [--no-write]
                                                          [--no-context] [--stages trees|logistic]
                                                          [--fold-salt S] [--repeats N] [--seeds N]
                                                          [--nested-thresholds]

Labels come from aligning each page's gold body to its page-dump lines: a line is body when its
(case- and space-folded) text, alone or joined with the lines after it, is a whole line of the gold
body or a piece of one at least `LABEL_PIECE_MIN_WORDS` words long between word boundaries (a
paragraph or a table row the dump split over lines). A short line that merely occurs somewhere
inside the gold text ("Home", "Sports", "2", "Subscribe") is not body. Cross-validation splits the pages by site
(the host of `<id>.meta.json`'s url), trains a model on the other folds, runs the *real* pipeline
with it on the held-out pages, and scores them with the benchmark metric: no page is ever scored by
a model that saw it. The model has two stages: the line stage, then a context stage that reads the
line stage's probabilities over the whole page (`cleaners/line_context.py`), trained on out-of-fold
line-stage output from site-grouped inner folds. Each stage is gradient-boosted trees (scikit-learn's
HistGradientBoostingClassifier, shipped as flat node arrays, `TreeStage`) or, with `--stages
logistic`, the earlier logistic regression over standardised and binned features. The shipped model
is then trained on all pages. One assignment of sites to folds moves F1 by ~0.006: `--repeats 3`
cross-validates under three assignments and reports each and their mean, the figure to compare variants on.
Every page is read in two layouts, as dumped and without its blank lines (a WET record's layout): the model is
a pair of readers, one trained on the dumps that mark paragraphs with blank lines, one (`unmarked`) on the dumps
without blank lines, and the cross-validated figures are reported for each layout (`layouts`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import textwrap
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from cleaners.base import claimed_line_indexes
from cleaners.decode import decode_capture
from cleaners.line_classifier import LineModel, LogisticStage, Stage, TreeStage, page_digest, page_language
from cleaners.line_features import feature_names, line_features
from cleaners.metrics import CorpusScore, PageScore, aggregate, score_page
from cleaners.model import Rejection
from cleaners.pipeline import LINE_MODEL_INPUTS, Pipeline
from cleaners.rules import LINE_MODEL_FILE
from cleaners.segment import segment
from cleaners.stopwords import stopwords_for
from cleaners.text_shape import marks_paragraphs

DEFAULT_EVAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "dev"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "cleaners" / LINE_MODEL_FILE
N_BINS = 10  # chosen among 6, 10 and 16 by the site-grouped CV (0.889, 0.898, 0.888)
REGULARISATION_C = 1.0
INNER_FOLDS = 5  # site-grouped folds giving the context stage its out-of-fold first-stage probabilities
# The context stage reads ~1,000 columns (line features, page context, their bins) learned from first-stage
# output: it overfits unless strongly regularised. Chosen on the site-grouped 5-fold CV among 1, 0.03, 0.01 and
# 0.003 (F1 0.881, 0.896, 0.900, 0.900; see README), so the CV figure is slightly optimistic.
CONTEXT_REGULARISATION_C = 0.01
STAGE_KINDS = ("trees", "logistic")
# Every dev page is read in two layouts: as the eval dumped it (paragraphs set off by blank lines) and without its
# blank lines (a WET record, a `get_text("\n")` dump). The shipped model is a pair: one reader trained on the
# dumps that mark paragraphs, one (`LineModel.unmarked`) on the dumps without blank lines, so it never reads the
# blank-line features. A single model trained on the first layout lost 0.027 F1 on the second (0.924 -> 0.897);
# one trained on both layouts together lost 0.007 on the first; one without blank-line features at all cut 0.7
# points more of clean article bodies (test_dev_pages).
AS_DUMPED = "as_dumped"
NO_BLANK_LINES = "no_blank_lines"
# A dump line that is only a piece of a gold line is labelled body from this many words: shorter pieces
# ("Home", "Sports", "2") occur inside gold text by chance. With lines labelled alone, 2, 4 and 6 words and whole
# gold lines only gave CV F1 0.915, 0.918, 0.916, 0.916 (any substring of the gold, the earlier labels: 0.911);
# with lines joined to the next ones (table rows), 4 words: 0.917. See README.
LABEL_PIECE_MIN_WORDS = 4
LABEL_MAX_JOINED_LINES = 20  # a gold line split over more dump lines than this (a wide table row) is not joined
# The trees of both stages (scikit-learn's defaults for the rest). Chosen on the site-grouped 5-fold CV of the
# line stage alone among a handful of settings (200 trees at 0.05: F1 0.903; 100 at 0.1: 0.905; depth ≤ 5: 0.896-0.897;
# 31 leaves: 0.900; 400 trees: 0.907; see README), preferring fewer trees (cost at run time).
CONTEXT_TREE_PARAMETERS: dict[str, object] = {
    "max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 40,
    "l2_regularization": 1.0, "early_stopping": False, "random_state": 0,
}
# Each split of the line stage's trees is the best among a random half of the features (scikit-learn's
# max_features, drawn anew at every split, seeded by random_state): less fitted to the training sites' own
# habits. Mean CV F1 over 3 fold assignments 0.9159 against 0.9070 without it (0.9107 and 0.9125 with seeds 1
# and 2; 0.9112 against 0.9084 on 3 other assignments); half the features in the context stage too: 0.9136; a
# third of them in both: 0.9109. See README.
LINE_TREE_PARAMETERS: dict[str, object] = CONTEXT_TREE_PARAMETERS | {"max_features": 0.5}
# Region decoding (see cleaners/line_classifier.py). Chosen once, by reading out-of-fold predictions of
# the first model on dev (three numbers, not per page); they express "inside the body, keep what is
# plausibly body; outside it, keep only what is almost surely body". The region threshold was 0.3 until stop 30; F1
# is flat over 0.2-0.35 (9 paired draws: 0.9313 / 0.9318 / 0.9321 at 0.2 / 0.25 / 0.3). Stop 30 took 0.25, the highest
# threshold whose mean recall reaches the quality issue's 0.95; since stop 33 the operating point is the threshold
# whose smaller margin to the two targets (F1 0.93, recall 0.95) is largest, a rule that, measured nested
# (`--nested-thresholds`), keeps both targets where the recall rule misses recall: 0.2 on the 9 draws (F1 0.9327, recall
# 0.9536, against 0.9332 and 0.9507 at 0.25). An operating point chosen for the two figures the users asked for, not a
# gain (README, "The operating point, chosen by both targets").
REGION_THRESHOLD = 0.2
KEEP_INSIDE = 0.25
KEEP_OUTSIDE = 0.9
# The context stage reads region features computed at this threshold (`line_context`), the region decoding's until
# stop 30: kept, so that the decoding threshold can move without retraining.
CONTEXT_REGION_THRESHOLD = 0.3
# `--nested-thresholds`: what choosing the region threshold on the scored pages themselves is worth. Each fold's
# threshold is picked among these on the other folds' pages, by the rule that picked REGION_THRESHOLD (the largest
# smaller margin to the quality issue's F1_TARGET and RECALL_TARGET), then the fold is scored with it.
NESTED_REGION_THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
F1_TARGET = 0.93
RECALL_TARGET = 0.95


@dataclass
class LabelledPage:
    """One eval page: its dump bytes, gold body, line features and line labels."""

    page_id: str
    site: str
    raw: bytes
    gold: str
    features: np.ndarray
    labels: np.ndarray
    line_chars: np.ndarray
    layout: str = AS_DUMPED
    marks_paragraphs: bool = True  # its blank lines tell paragraphs apart (cleaners.text_shape.marks_paragraphs)
    html: Path | None = None  # the page's HTML capture, when the folder has one (as_dumped pages only)

    @cached_property
    def text_nodes(self) -> bytes | None:
        """The page's HTML dumped node by node (`text_nodes_dump`), when there is HTML: made when first asked for,
        so training alone never pays for it, and kept, since every draw of a repeated cross-validation scores it."""
        if self.html is None:
            return None
        return text_nodes_dump(self.html.read_text(encoding="utf-8", errors="replace")).encode("utf-8")


def without_blank_lines(text: str) -> str:
    """The same dump with its blank lines dropped, as a Common Crawl WET record or a `get_text("\\n")` dump sets a
    page (no paragraph marks)."""
    return "\n".join(line for line in text.split("\n") if line.strip())


def hard_wrapped(text: str, width: int) -> str:
    """The same dump hard-wrapped at `width` columns, as `lynx -dump` or `html2text` set a page (blank lines kept)."""
    return "\n".join("\n".join(textwrap.wrap(line, width, break_on_hyphens=False, break_long_words=False))
                     if line.strip() else "" for line in text.split("\n"))


def blank_line_before_every_line(text: str) -> str:
    """The same dump with a blank line before each of its lines, as a `"\\n\\n".join(...)` dump sets a page."""
    return "\n\n".join(without_blank_lines(text).split("\n"))


def text_nodes_dump(html: str) -> str:
    """The page's visible text one text node per line, as `soup.get_text("\\n", strip=True)` dumps a page: a
    paragraph breaks at every link or bold word, and no blank line marks paragraphs."""
    from bs4 import BeautifulSoup
    from bs4.element import Comment

    from cleaners.visible_text import is_hidden

    soup = BeautifulSoup(html, "lxml")
    for element in soup.find_all(is_hidden):
        if not element.decomposed:  # inside an element already removed
            element.decompose()
    for comment in soup.find_all(string=lambda node: isinstance(node, Comment)):
        comment.extract()
    return "\n".join(line.strip() for line in soup.get_text("\n", strip=True).splitlines() if line.strip())


LAYOUTS = {AS_DUMPED: lambda text: text, NO_BLANK_LINES: without_blank_lines}
# Layouts the held-out pages are also scored in (never trained on): what other dump tools make of a page.
SCORED_LAYOUTS = {
    "blank_line_before_every_line": blank_line_before_every_line,
    "wrapped_78": lambda text: hard_wrapped(text, 78),
    "wrapped_72_no_blank_lines": lambda text: without_blank_lines(hard_wrapped(text, 72)),
}
# ...and the page's HTML dumped node by node (text_nodes_dump), when the folder has `<id>.html`.
TEXT_NODES = "text_nodes"


def _fold(text: str) -> str:
    # Whitespace only. The gold has a space wherever an inline element began or ended ("“ I Cavalieri “", "NPR ’s")
    # where the dump has none, so 43 lines of gold paragraphs (20 pages) stay labelled not body. Folding those
    # spaces away too labels them body, and the model retrained on it scored lower on all 9 draws (0.9192 against
    # 0.9229; docs/quality-history.md, "Truncated teasers and cleaner labels"): kept as it is, knowingly.
    return " ".join(text.casefold().split())


def body_labels(lines: list[str], gold: str) -> np.ndarray:
    """1.0 for each dump line the gold body holds: alone or with the lines after it, as a whole gold line or a
    long enough piece of one (a paragraph or a table row the dump split over several lines)."""
    gold_lines = {_fold(line) for line in gold.splitlines() if line.strip()}
    folded_gold = _fold(gold)
    folded = [_fold(line) for line in lines]
    labels = np.zeros(len(lines))
    for first, text in enumerate(folded):
        if text not in folded_gold:
            continue
        # The longest run of lines from this one whose joined text the gold holds (up to LABEL_MAX_JOINED_LINES).
        joined, last = text, first
        while last + 1 < min(len(folded), first + LABEL_MAX_JOINED_LINES):
            longer = f"{joined} {folded[last + 1]}"
            if longer not in folded_gold:
                break
            joined, last = longer, last + 1
        if joined in gold_lines or (len(joined.split()) >= LABEL_PIECE_MIN_WORDS and re.search(
                r"(?<!\w)" + re.escape(joined) + r"(?!\w)", folded_gold) is not None):
            labels[first:last + 1] = 1.0
        elif text in gold_lines:
            labels[first] = 1.0
    return labels


def load_pages(folder: Path, layouts: tuple[str, ...] = (AS_DUMPED, NO_BLANK_LINES)) -> list[LabelledPage]:
    """Every `<id>.page.txt` of the folder in each of these layouts, with its features (rules applied first, as in
    the pipeline)."""
    # The rules the line model's cleaner has run before it, in the pipeline: their claims are a feature.
    rules_only = Pipeline(stages=LINE_MODEL_INPUTS)
    pages = []
    for dump in sorted(folder.glob("*.page.txt")):
        page_id = dump.name[: -len(".page.txt")]
        raw = dump.read_bytes()
        decoded = decode_capture(raw, 10**9)
        if isinstance(decoded, Rejection):
            continue
        gold = (folder / f"{page_id}.gold.txt").read_text(encoding="utf-8")
        for layout in layouts:
            text = LAYOUTS[layout](decoded.text)
            page = segment(text)
            claimed = frozenset(claimed_line_indexes(page, rules_only.find_removals(text)))
            features = line_features(page, stopwords_for(page_language(page)), claimed)
            labels = body_labels([line.text for line in page.lines], gold)
            line_chars = np.array([len(line.text) for line in page.lines], dtype=float)
            html = folder / f"{page_id}.html"
            pages.append(LabelledPage(
                page_id, page_site(folder, page_id), raw if layout == AS_DUMPED else text.encode("utf-8"), gold,
                features, labels, line_chars, layout, marks_paragraphs([line.blank_before for line in page.lines]),
                html if layout == AS_DUMPED and html.exists() else None))
    return pages


def fit_stage(x: np.ndarray, y: np.ndarray, regularisation_c: float = REGULARISATION_C) -> LogisticStage:
    """One logistic stage trained on these rows: standardisation, quantile bins, then logistic regression."""
    # Unknown values (NaN: the blank-line features of a dump without paragraph marks) count at their mean.
    mean = np.nan_to_num(np.nanmean(x, axis=0))
    x = np.where(np.isnan(x), mean, x)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    quantiles = np.linspace(0, 1, N_BINS + 1)[1:-1]
    edges = tuple(np.unique(np.quantile(x[:, j], quantiles)) for j in range(x.shape[1]))
    draft = LogisticStage(mean, scale, edges, np.zeros(0), 0.0)
    regression = LogisticRegression(C=regularisation_c, max_iter=5000).fit(draft.transform(x), y)
    return LogisticStage(mean, scale, edges, regression.coef_[0], float(regression.intercept_[0]))


def trees_from_sklearn(model: HistGradientBoostingClassifier) -> TreeStage:
    """A fitted binary HistGradientBoostingClassifier as flat node arrays (numerical splits only).

    Each tree's nodes are renumbered breadth-first, so an inner node's two children are adjacent, and the
    trees are stored deepest first (the sum of their leaves does not depend on their order).
    """
    columns: dict[str, list[float]] = {k: [] for k in ("feature", "threshold", "missing_left", "children", "value")}
    roots = []
    # `_predictors` (one TreePredictor per boosting round for a binary label) is where scikit-learn keeps the
    # trees; there is no public export. The check in `fit_trees` catches any change of its meaning.
    by_depth = sorted(model._predictors, key=lambda tree: -int(tree[0].nodes["depth"].max()))
    for (predictor,) in by_depth:
        nodes = predictor.nodes
        base = len(columns["feature"])
        roots.append(base)
        order = [0]  # sklearn's node indexes, breadth-first
        for old in order:
            if not nodes[old]["is_leaf"]:
                order += [int(nodes[old]["left"]), int(nodes[old]["right"])]
        new_index = {old: base + i for i, old in enumerate(order)}
        for old in order:
            node = nodes[old]
            leaf = bool(node["is_leaf"])
            if not leaf and node["is_categorical"]:
                raise ValueError("categorical splits are not supported")
            columns["feature"].append(0 if leaf else int(node["feature_idx"]))
            columns["threshold"].append(np.inf if leaf else float(node["num_threshold"]))
            columns["missing_left"].append(leaf or bool(node["missing_go_to_left"]))
            columns["children"].append(new_index[old] if leaf else new_index[int(node["left"])])
            columns["value"].append(float(node["value"]) if leaf else 0.0)
    return TreeStage(
        feature=np.array(columns["feature"], dtype=np.intp), threshold=np.array(columns["threshold"]),
        missing_left=np.array(columns["missing_left"], dtype=bool),
        children=np.array(columns["children"], dtype=np.intp), value=np.array(columns["value"]),
        roots=np.array(roots, dtype=np.intp), baseline=float(np.ravel(model._baseline_prediction)[0]))


def fit_trees(x: np.ndarray, y: np.ndarray, parameters: dict[str, object] = LINE_TREE_PARAMETERS) -> TreeStage:
    """One tree stage trained on these rows, checked to give scikit-learn's own probabilities on them."""
    # A column with no known value (the blank-line features of dumps without paragraph marks) cannot be binned:
    # as a constant it is never split on, so its NaN at run time is never read either.
    x = np.where(np.isnan(x).all(axis=0), 0.0, x)
    model = HistGradientBoostingClassifier(**parameters).fit(x, y)  # type: ignore[arg-type]
    stage = trees_from_sklearn(model)
    if not np.allclose(stage.probabilities(x), model.predict_proba(x)[:, 1], rtol=0, atol=1e-9):
        raise RuntimeError("the exported trees disagree with scikit-learn's predictions")
    return stage


def fit_any(x: np.ndarray, y: np.ndarray, kind: str, context_stage: bool = False, seed: int = 0) -> Stage:
    """A stage of this kind (`trees` or `logistic`) trained on these rows, with the line or the context stage's
    settings (`seed`: the trees' random draws; the shipped model is seed 0)."""
    if kind == "trees":
        parameters = CONTEXT_TREE_PARAMETERS if context_stage else LINE_TREE_PARAMETERS
        return fit_trees(x, y, parameters | {"random_state": seed})
    return fit_stage(x, y, CONTEXT_REGULARISATION_C if context_stage else REGULARISATION_C)


def stages_digest(stages: list[Stage]) -> str:
    """Short digest of these stages' JSON form: the version of a model of trees."""
    return hashlib.sha256(json.dumps([s.to_dict() for s in stages]).encode()).hexdigest()[:8]


def _bare_model(lines: Stage, context: Stage | None, pages: list[LabelledPage]) -> LineModel:
    stages = [s for s in (lines, context) if s is not None]
    if all(isinstance(s, LogisticStage) for s in stages):
        digest = hashlib.sha256(np.round(np.concatenate(
            [np.append(s.coef, s.intercept) for s in stages]), 8).tobytes()).hexdigest()[:8]  # type: ignore[union-attr]
        prefix = "lr"
    else:
        digest = stages_digest(stages)
        prefix = "gb"
    prefix += "2" if context is not None else ""
    return LineModel(f"{prefix}-{digest}", feature_names(), lines, context, REGION_THRESHOLD, KEEP_INSIDE,
                     KEEP_OUTSIDE, CONTEXT_REGION_THRESHOLD, frozenset(page_digest(p.raw) for p in pages))


def fit_lines(pages: list[LabelledPage], kind: str = "trees", seed: int = 0) -> Stage:
    """The first stage, trained on these pages' line features."""
    return fit_any(np.vstack([p.features for p in pages]), np.concatenate([p.labels for p in pages]), kind,
                   seed=seed)


def out_of_fold_probabilities(pages: list[LabelledPage], k: int, kind: str = "trees",
                               salt: str = "", seed: int = 0) -> list[np.ndarray]:
    """Each page's first-stage probabilities from a first stage trained on the other sites' folds."""
    folds = site_folds(pages, k, salt)
    result: list[np.ndarray] = [np.zeros(0)] * len(pages)
    for fold in range(k):
        stage = fit_lines([p for p, f in zip(pages, folds, strict=True) if f != fold], kind, seed)
        for i, (page, f) in enumerate(zip(pages, folds, strict=True)):
            if f == fold:
                result[i] = stage.probabilities(page.features)
    return result


def fit(pages: list[LabelledPage], context: bool = True, kind: str = "trees", salt: str = "",
        seed: int = 0) -> LineModel:
    """The line model of these pages: a reader of the dumps that mark paragraphs (trained on the pages as dumped
    that do) with, as `unmarked`, a reader of those that do not (trained on the pages without blank lines)."""
    marked = [p for p in pages if p.layout == AS_DUMPED and p.marks_paragraphs]
    unmarked = [p for p in pages if p.layout == NO_BLANK_LINES]
    if not marked or not unmarked:  # one layout only: one reader for every dump
        return fit_reader(marked or unmarked or pages, context, kind, salt, seed)
    first, second = fit_reader(marked, context, kind, salt, seed), fit_reader(unmarked, context, kind, salt, seed)
    digest = stages_digest([s for model in (first, second) for s in (model.lines, model.context) if s is not None])
    return replace(first, version=f"{first.version.split('-')[0]}-{digest}", unmarked=second,
                   training_pages=frozenset(page_digest(p.raw) for p in pages))


def fit_reader(pages: list[LabelledPage], context: bool = True, kind: str = "trees", salt: str = "",
               seed: int = 0) -> LineModel:
    """One reader trained on these pages; its context stage learns from out-of-fold first-stage output.

    The second stage must see first-stage probabilities as they are on unseen pages, not the
    over-confident in-sample ones: each training page's probabilities come from a first stage trained
    on the other sites (site-grouped inner folds).
    """
    lines = fit_lines(pages, kind, seed)
    if not context:
        return _bare_model(lines, None, pages)
    draft = _bare_model(lines, None, [])
    first = out_of_fold_probabilities(pages, INNER_FOLDS, kind, salt, seed)
    x = np.vstack([draft.context_inputs(p.features, q, p.line_chars) for p, q in zip(pages, first, strict=True)])
    second = fit_any(x, np.concatenate([p.labels for p in pages]), kind, context_stage=True, seed=seed)
    return _bare_model(lines, second, pages)


def page_site(folder: Path, page_id: str) -> str:
    """The site (host) of a labelled page, from its `<id>.meta.json` URL; the page id when it has none."""
    meta_file = folder / f"{page_id}.meta.json"
    url = json.loads(meta_file.read_text())["url"] if meta_file.exists() else page_id
    return urlsplit(url).netloc or url


def site_folds(pages: list[LabelledPage], k: int, salt: str = "") -> list[int]:
    """A fold per page, all pages of one site in the same fold (deterministic; another salt, other folds)."""
    return folds_by_site([p.site for p in pages], k, salt)


def folds_by_site(sites: list[str], k: int, salt: str = "") -> list[int]:
    """A fold for each item of `sites` (one site per page), every page of a site in the same fold."""
    ordered = sorted(set(sites), key=lambda s: hashlib.sha256((salt + s).encode()).hexdigest())
    fold_of_site = {site: i % k for i, site in enumerate(ordered)}
    return [fold_of_site[site] for site in sites]


def repeat_salts(first: str, repeats: int) -> list[str]:
    """The fold salts of `repeats` cross-validations: `first`, then "a", "b", ... (skipping `first`)."""
    others = (chr(ord("a") + i) for i in range(26))
    return [first, *[salt for salt in others if salt != first][: max(repeats, 1) - 1]]


def with_region_threshold(model: LineModel, threshold: float) -> LineModel:
    """The same model (both readers) decoding its body region at another threshold; probabilities are unchanged."""
    unmarked = None if model.unmarked is None else with_region_threshold(model.unmarked, threshold)
    return replace(model, region_threshold=threshold, unmarked=unmarked)


def operating_point(scores: dict[float, CorpusScore], f1_target: float = F1_TARGET,
                    recall_target: float = RECALL_TARGET) -> float:
    """The threshold whose smaller margin to the two targets (F1 and recall above them) is largest; of equal margins,
    the lower threshold."""
    return max(sorted(scores), key=lambda t: (min(scores[t].f1 - f1_target, scores[t].recall - recall_target), -t))


def nested_operating_point(scores: dict[float, list[tuple[int, PageScore]]], f1_target: float = F1_TARGET,
                           recall_target: float = RECALL_TARGET) -> tuple[list[PageScore], list[float]]:
    """Each fold's pages scored at the threshold chosen on the other folds' pages (`operating_point`), and the
    threshold chosen for each fold. `scores[t]` holds (fold, score) of every page cleaned at threshold t, in the same
    page order for every t."""
    thresholds = sorted(scores)
    folds = [fold for fold, _ in scores[thresholds[0]]]
    held_out: list[PageScore] = []
    chosen: list[float] = []
    for fold in sorted(set(folds)):
        others = {t: aggregate(s for f, s in scores[t] if f != fold) for t in thresholds}
        pick = operating_point(others, f1_target, recall_target)
        chosen.append(pick)
        held_out += [s for f, s in scores[pick] if f == fold]
    return held_out, chosen


def cross_validate(pages: list[LabelledPage], k: int, context: bool = True, kind: str = "trees",
                   salt: str = "", seed: int = 0, region_thresholds: tuple[float, ...] = ()) -> dict[str, Any]:
    """Benchmark P/R/F1 of the full pipeline on each page, using a model that never saw the page's site: of the
    pages as dumped, then of each layout (`layouts`: those trained on, then SCORED_LAYOUTS of the pages as dumped,
    then the pages' HTML dumped node by node). With `region_thresholds`, the pages as dumped are also cleaned at each
    of these region thresholds, and `nested` gives the figures of a threshold chosen without each fold's own pages
    (`nested_operating_point`).

    The context stage's inner folds split the outer training pages only: no held-out page reaches it.
    """
    folds = site_folds(pages, k, salt)
    scores: dict[str, list[PageScore]] = {}
    by_threshold: dict[float, list[tuple[int, PageScore]]] = {}
    for fold in range(k):
        model = fit([p for p, f in zip(pages, folds, strict=True) if f != fold], context, kind, salt, seed)
        pipeline = Pipeline(line_model=model)
        at_threshold = {t: Pipeline(line_model=with_region_threshold(model, t)) for t in region_thresholds}
        for page, f in zip(pages, folds, strict=True):
            if f == fold and page.layout == AS_DUMPED:
                for t, other in at_threshold.items():
                    result = other.clean_capture(page.raw)
                    kept = "" if isinstance(result, Rejection) else result.text
                    by_threshold.setdefault(t, []).append((fold, score_page(page.gold, kept)))
            if f == fold:
                variants = {page.layout: page.raw}
                if page.layout == AS_DUMPED:
                    text = page.raw.decode("utf-8", errors="replace")
                    variants |= {name: make(text).encode("utf-8") for name, make in SCORED_LAYOUTS.items()}
                    text_nodes = page.text_nodes
                    if text_nodes is not None:
                        variants[TEXT_NODES] = text_nodes
                for layout, raw in variants.items():
                    result = pipeline.clean_capture(raw)
                    kept = "" if isinstance(result, Rejection) else result.text
                    scores.setdefault(layout, []).append(score_page(page.gold, kept))
    by_layout = {}
    for layout, layout_scores in scores.items():
        corpus = aggregate(layout_scores)
        by_layout[layout] = {"precision": corpus.precision, "recall": corpus.recall, "f1": corpus.f1,
                             "pages": corpus.pages, "emptied": corpus.empty_predictions}
    # The headline figure is the pages as the eval dumped them; each layout's figure follows.
    report = {**(by_layout.get(AS_DUMPED) or next(iter(by_layout.values()))), "layouts": by_layout}
    if by_threshold:
        fixed = {t: aggregate(s for _, s in by_threshold[t]) for t in sorted(by_threshold)}
        report["region_thresholds"] = {str(t): {"precision": c.precision, "recall": c.recall, "f1": c.f1}
                                       for t, c in fixed.items()}
        held_out, chosen = nested_operating_point(by_threshold)
        nested = aggregate(held_out)
        report["nested"] = {"precision": nested.precision, "recall": nested.recall, "f1": nested.f1,
                            "chosen": chosen}
    return report


def main(argv: list[str] | None = None) -> int:
    """Cross-validate, then train on every page and write the model file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("eval_dir", nargs="?", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-write", action="store_true", help="cross-validate only")
    parser.add_argument("--no-context", action="store_true", help="first stage only (no page-context stage)")
    parser.add_argument("--stages", choices=STAGE_KINDS, default="trees",
                        help="what each stage is: gradient-boosted trees (default) or logistic regression")
    parser.add_argument("--fold-salt", default="", help="assign sites to folds by another hash: how much the CV "
                        "figure owes to one split (the shipped model is always trained on every page)")
    parser.add_argument("--repeats", type=int, default=1, help="cross-validate under this many assignments of sites "
                        "to folds (the --fold-salt one, then salts a, b, c, ...) and report each and their mean: "
                        "compare variants on the mean of 3, since one split moves F1 by ~0.006")
    parser.add_argument("--seeds", type=int, default=1, help="cross-validate each assignment with the trees' random "
                        "draws seeded 0, 1, ... up to this many and report each and the mean over all: one draw "
                        "moves F1 by up to 0.02 (the shipped model is seed 0)")
    parser.add_argument("--nested-thresholds", action="store_true", help="also clean the pages as dumped at each "
                        "region threshold of NESTED_REGION_THRESHOLDS, and report the figures of a threshold chosen "
                        "on the other folds' pages only (`nested`): what choosing it on these pages is worth")
    args = parser.parse_args(argv)
    pages = load_pages(args.eval_dir)
    if len({p.site for p in pages}) < args.folds:
        print(f"need pages from at least {args.folds} sites", file=sys.stderr)
        return 2
    lines = sum(len(p.labels) for p in pages)
    body = int(sum(p.labels.sum() for p in pages))
    layouts = sorted({p.layout for p in pages})
    n_pages = len({p.page_id for p in pages})
    print(f"{n_pages} pages, {len({p.site for p in pages})} sites, each in {len(layouts)} layouts "
          f"({', '.join(layouts)}): {lines} lines, {body} labelled body", file=sys.stderr)
    if args.folds > 1:
        draws = [(salt, seed) for seed in range(max(args.seeds, 1))
                 for salt in repeat_salts(args.fold_salt, args.repeats)]
        runs = []
        for salt, seed in draws:
            runs.append(cross_validate(pages, args.folds, not args.no_context, args.stages, salt, seed,
                                       NESTED_REGION_THRESHOLDS if args.nested_thresholds else ()))
            if len(draws) > 1:
                print(f"fold salt {salt!r}, seed {seed}: F1 {runs[-1]['f1']:.4f}", file=sys.stderr, flush=True)
        report: dict[str, object] = {"cross_validated": runs[0], "folds": args.folds, "stages": args.stages,
                                     "fold_salt": args.fold_salt}
        if len(runs) > 1:
            report["repeats"] = [{"fold_salt": salt, "seed": seed, **run}
                                 for (salt, seed), run in zip(draws, runs, strict=True)]
            report["mean"] = {key: sum(run[key] for run in runs) / len(runs) for key in ("precision", "recall", "f1")}
            report["mean_by_layout"] = {
                layout: {key: sum(run["layouts"][layout][key] for run in runs) / len(runs)
                         for key in ("precision", "recall", "f1")} for layout in runs[0]["layouts"]}
            report["f1_range"] = [min(run["f1"] for run in runs), max(run["f1"] for run in runs)]
            if args.nested_thresholds:
                report["mean_nested"] = {key: sum(run["nested"][key] for run in runs) / len(runs)
                                         for key in ("precision", "recall", "f1")}
                report["mean_by_region_threshold"] = {
                    t: {key: sum(run["region_thresholds"][t][key] for run in runs) / len(runs)
                        for key in ("precision", "recall", "f1")} for t in runs[0]["region_thresholds"]}
        print(json.dumps(report, indent=1))
    if not args.no_write:
        model = fit(pages, not args.no_context, args.stages)
        payload = model.to_dict() | {"trained_on": {"pages": n_pages, "layouts": layouts, "lines": lines,
                                                     "body_lines": body}}
        tmp = args.out.with_suffix(".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(payload, separators=(",", ":")) + "\n", encoding="utf-8")  # ~6,000 tree nodes
        tmp.replace(args.out)
        print(f"wrote {args.out} ({model.version})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
