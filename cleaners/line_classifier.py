"""Removes what is not article body from a page dump, line by line, with a small trained model.

The model (`cleaners/models/line_classifier.json`, trained by `bench/train_line_classifier.py`) has two
stages, each either gradient-boosted trees (shipped) or a logistic regression over standardised values plus
quantile-bin indicators: the line stage reads `cleaners.line_features`; the context stage reads the same
features plus `cleaners.line_context`, how the line stage's probabilities lie over the whole page
(neighbours, body mass before and after, the strongest runs of likely-body lines). Its line
probabilities are then read with the one prior every article page shares: the body is mostly one
contiguous region. The region is the run of lines with the largest excess of probability over
`region_threshold`, each line weighted by its characters (the expected body text it brings, net of the
threshold's share); inside it a line is kept from `keep_inside`, outside only from `keep_outside`. A list the
model began to keep is then kept to its end (`continue_lists`: the cut lines that go on repeating the kept items'
punctuation). Every removal names the model version and where the line stood relative to the body.

The shipped model is a pair of such readers. Blank lines are the dump tool's choice: the eval's dumps set
paragraphs off with them, a Common Crawl WET record or a `get_text("\n")` dump has none. A dump whose blank lines
mark paragraphs (`text_shape.marks_paragraphs`) is read by both: by the model itself, with its blank lines, and by
`LineModel.unmarked` as if it had none, their probabilities averaged (`LineModel.read`); its removals name the
pair's version. Any other dump is read by `LineModel.unmarked` alone, trained on the same pages with their blank
lines dropped, which never reads the blank-line features; its removals name its own version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from cleaners import libm
from cleaners.base import Cleaner, claimed_line_indexes, line_removal
from cleaners.language import detect_language
from cleaners.line_context import CONTEXT_FEATURE_NAMES, best_run, context_features
from cleaners.line_features import (
    PROSE_MIN_WORDS,
    feature_names,
    furniture_share,
    is_prose,
    line_counts,
    line_features,
    without_paragraph_marks,
)
from cleaners.model import Config, Page, Removal
from cleaners.rules import LINE_MODEL_FILE, RuleSet
from cleaners.rules.matcher import PageHits
from cleaners.stopwords import stopwords_for
from cleaners.text_shape import marks_paragraphs

LANGUAGE_SAMPLE_CHARS = 2_000
TREE_ROWS_PER_BLOCK = 4_096
# A list item's shape is its punctuation: at least two marks ("England (Group A): 10th appearance", "June 9 – Tampa,
# FL @ …"), so that two sentences ending in a full stop never make a list. A numbered item's is its numbering.
LIST_SHAPE_MIN_MARKS = 2
NUMBERED_ITEM = re.compile(r"(\d{1,3})([.)])\s+\S")
# What is not a punctuation mark in a list item's shape: re's \w is exactly `str.isalnum()` or "_", and \s exactly
# `str.isspace()`, so one substitution gives what a loop over the characters gave, several times faster.
NOT_A_MARK = re.compile(r"[\w\s]+")
# Records of up to this many lines repeat as a list does (a numbered title over its link, a product's name, price
# and buying link).
LIST_RECORD_MAX_LINES = 4


@dataclass(frozen=True)
class LogisticStage:
    """One logistic regression over standardised features plus their quantile-bin indicators."""

    mean: np.ndarray
    scale: np.ndarray
    bin_edges: tuple[np.ndarray, ...]  # inner quantile edges per feature (one-hot of the bin index)
    coef: np.ndarray
    intercept: float

    def imputed(self, features: np.ndarray) -> np.ndarray:
        """The features with each unknown (NaN) value replaced by its training mean (trees route NaN themselves)."""
        return np.where(np.isnan(features), self.mean, features)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Standardised features followed by the one-hot bin indicators, as in training."""
        features = self.imputed(features)
        n, width = features.shape
        # One matrix filled in place (the same values hstack of per-feature one-hots gave, at a fraction of the cost).
        out = np.zeros((n, width + sum(len(edges) + 1 for edges in self.bin_edges)))
        out[:, :width] = (features - self.mean) / self.scale
        columns = np.empty((n, len(self.bin_edges)), dtype=np.intp)
        for j, edges in enumerate(self.bin_edges):
            columns[:, j] = width + np.searchsorted(edges, features[:, j], side="right")
            width += len(edges) + 1
        out[np.arange(n)[:, None], columns] = 1.0
        return out

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row: `transform(features) @ coef`, computed without
        the one-hot matrix (each feature's bin picks its own weight), which is most of the cost."""
        features = self.imputed(features)
        n_features = len(self.bin_edges)
        z = ((features - self.mean) / self.scale) @ self.coef[:n_features] + self.intercept
        offset = n_features
        for j, edges in enumerate(self.bin_edges):
            z += self.coef[offset + np.searchsorted(edges, features[:, j], side="right")]
            offset += len(edges) + 1
        return libm.logistic(z)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "bin_edges": [e.tolist() for e in self.bin_edges], "coef": self.coef.tolist(),
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticStage:
        """Rebuild a stage from `to_dict`'s form."""
        return cls(
            mean=np.array(data["mean"], dtype=float),
            scale=np.array(data["scale"], dtype=float),
            bin_edges=tuple(np.array(e, dtype=float) for e in data["bin_edges"]),
            coef=np.array(data["coef"], dtype=float),
            intercept=float(data["intercept"]),
        )


@dataclass(frozen=True)
class TreeStage:
    """Gradient-boosted decision trees for a binary label, every tree's nodes side by side in flat arrays.

    An inner node's two children are adjacent: a row goes to `children[node]` when its feature value is
    <= the node's threshold (a NaN goes there when `missing_left` says so), to `children[node] + 1`
    otherwise. A leaf is its own child with an infinite threshold, so after `depth` steps (the deepest
    leaf's depth, derived from the arrays) every row sits on a leaf of every tree. The probability is the
    logistic of `baseline` plus the leaves' values.
    Trees are stored deepest first, so the trees a level still has to move are a leading slice of them.
    """

    feature: np.ndarray  # int: the feature each node tests (0 at a leaf, unused there)
    threshold: np.ndarray  # float (+inf at a leaf)
    missing_left: np.ndarray  # bool (True at a leaf, so a NaN stays there too)
    children: np.ndarray  # int: index (in these arrays) of the node's first child; a leaf's own index
    value: np.ndarray  # float: the leaf's score, 0 at inner nodes
    roots: np.ndarray  # int: each tree's root node
    baseline: float
    # Derived from the arrays: the deepest leaf's depth, and how many (leading) trees are deeper than each
    # level (the walk moves only those).
    depth: int = field(init=False, repr=False, compare=False)
    deeper_trees: np.ndarray = field(init=False, repr=False, compare=False)
    tested_features: np.ndarray = field(init=False, repr=False, compare=False)  # the features some inner node tests
    node_depth: np.ndarray = field(init=False, repr=False, compare=False)  # each node's depth in its tree (root: 0)

    def __post_init__(self) -> None:
        node_depth = np.zeros(self.children.shape[0], dtype=np.intp)
        for node, child in enumerate(self.children.tolist()):  # a parent always comes before its children
            if child != node:
                node_depth[child] = node_depth[child + 1] = node_depth[node] + 1
        tree_depths = np.maximum.reduceat(node_depth, self.roots) if self.roots.shape[0] else node_depth[:0]
        if np.any(np.diff(tree_depths) > 0):
            raise ValueError("trees must be stored deepest first")
        depth = int(tree_depths.max()) if tree_depths.shape[0] else 0
        object.__setattr__(self, "node_depth", node_depth)
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "deeper_trees", (tree_depths[None, :] > np.arange(depth)[:, None]).sum(axis=1))
        inner = self.children != np.arange(self.children.shape[0])
        object.__setattr__(self, "tested_features", np.unique(self.feature[inner]))

    def raw_scores(self, features: np.ndarray) -> np.ndarray:
        """The trees' summed score (log-odds) of each row, rows and trees walked together, level by level."""
        # Blocks of rows bound the (rows × trees) work arrays on a page of a million lines.
        return np.concatenate([self._block_scores(features[start:start + TREE_ROWS_PER_BLOCK])
                               for start in range(0, features.shape[0], TREE_ROWS_PER_BLOCK)] or [np.zeros(0)])

    def leaves(self, features: np.ndarray) -> np.ndarray:
        """The leaf (node index) each row reaches in every tree: a (rows × trees) array, by the walk that scores."""
        return np.concatenate([self._block_leaves(features[start:start + TREE_ROWS_PER_BLOCK])
                               for start in range(0, features.shape[0], TREE_ROWS_PER_BLOCK)]
                              or [np.zeros((0, self.roots.shape[0]), dtype=np.intp)])

    def _block_scores(self, features: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.baseline + self.value.take(self._block_leaves(features)).sum(axis=1)
        return scores

    def _block_leaves(self, features: np.ndarray) -> np.ndarray:
        n_rows, n_features = features.shape
        flat = np.ascontiguousarray(features, dtype=float).ravel()
        row_offsets = (np.arange(n_rows) * n_features)[:, None]
        # The NaN test costs as much as a step: only when a feature some node tests is unknown (the unmarked reader
        # gets the blank-line features as NaN, and never tests them).
        with_nan = bool(np.isnan(flat).any()) and bool(np.isnan(features[:, self.tested_features]).any())
        node = np.tile(self.roots, (n_rows, 1))
        # `take` rather than `array[indices]`: the same gathers, but fancy indexing goes through numpy's general
        # indexing machinery on every call, and these are ~7 small gathers a level, ~12 levels a stage, 2-4 stages a
        # page (the walk takes ~25 % less time; the scores are bit for bit the same).
        for trees in self.deeper_trees.tolist():
            moving = node[:, :trees]  # the trees with a leaf deeper than this level (a view)
            values = flat.take(self.feature.take(moving) + row_offsets)
            go_second = values > self.threshold.take(moving)
            if with_nan:
                go_second |= np.isnan(values) & ~self.missing_left.take(moving)
            np.add(self.children.take(moving), go_second, out=moving)
        return node

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row."""
        return libm.logistic(self.raw_scores(features))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (a leaf's threshold is written as 0; `from_dict` makes it infinite again)."""
        leaf = self.children == np.arange(self.children.shape[0])
        return {"kind": "trees", "feature": self.feature.tolist(),
                "threshold": np.where(leaf, 0.0, self.threshold).tolist(),
                "missing_left": self.missing_left.astype(int).tolist(), "children": self.children.tolist(),
                "value": self.value.tolist(), "roots": self.roots.tolist(), "baseline": self.baseline,
                "depth": self.depth}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeStage:
        """Rebuild a stage from `to_dict`'s form."""
        children = np.array(data["children"], dtype=np.intp)
        leaf = children == np.arange(children.shape[0])
        return cls(
            feature=np.array(data["feature"], dtype=np.intp),
            threshold=np.where(leaf, np.inf, np.array(data["threshold"], dtype=float)),
            missing_left=np.array(data["missing_left"], dtype=bool) | leaf,
            children=children,
            value=np.array(data["value"], dtype=float),
            roots=np.array(data["roots"], dtype=np.intp),
            baseline=float(data["baseline"]),
        )


Stage = LogisticStage | TreeStage


def stage_from_dict(data: dict[str, Any]) -> Stage:
    """Either kind of stage from its `to_dict` form (a form without `kind` is a logistic stage)."""
    return TreeStage.from_dict(data) if data.get("kind") == "trees" else LogisticStage.from_dict(data)


@dataclass(frozen=True)
class LineModel:
    """A trained line model: the line stage, the page-context stage and the region-decoding thresholds."""

    version: str
    feature_names: tuple[str, ...]
    lines: Stage  # first stage: each line's own features and its neighbours'
    context: Stage | None  # second stage: the line features plus `line_context` of the first's output
    region_threshold: float  # decoding: the body region (see `keep_mask`)
    keep_inside: float
    keep_outside: float
    # The threshold the context stage's region features were trained with (`line_context`): part of what the second
    # stage reads, so unlike the decoding thresholds it cannot change without a retrain.
    context_region_threshold: float
    training_pages: frozenset[str] = frozenset()  # `page_digest` of every page dump it was trained on
    # The model that reads a dump whose blank lines do not mark paragraphs (`marks_paragraphs`): trained on the
    # same pages with their blank lines dropped, so it never reads the blank-line features (None: this one reads
    # every dump).
    unmarked: LineModel | None = None

    def for_dump(self, marks_paragraphs: bool) -> LineModel:
        """The model that reads a dump that does, or does not, mark paragraphs with blank lines."""
        return self if marks_paragraphs or self.unmarked is None else self.unmarked

    def read(self, features: np.ndarray, line_chars: np.ndarray, marks_paragraphs: bool) -> np.ndarray:
        """Probability that each line of a dump is body, by the readers its layout allows.

        A dump without paragraph marks has only the unmarked reader's features. A dump that marks paragraphs can
        be read by both: with its blank lines, and as if it had none. The two readers learned from different
        features, so their errors differ, and their mean (equal weights, nothing fitted) reads such a dump better
        than either does alone (see the README's "Both readers on a dump that marks paragraphs").
        """
        if self.unmarked is None:
            return self.probabilities(features, line_chars)
        if not marks_paragraphs:
            return self.unmarked.probabilities(features, line_chars)
        as_unmarked = self.unmarked.probabilities(without_paragraph_marks(features), line_chars)
        mean: np.ndarray = (self.probabilities(features, line_chars) + as_unmarked) / 2
        return mean

    def probabilities(self, features: np.ndarray, line_chars: np.ndarray) -> np.ndarray:
        """Probability that each line (row) is article body."""
        first = self.lines.probabilities(features)
        if self.context is None:
            return first
        return self.context.probabilities(self.context_inputs(features, first, line_chars))

    def context_inputs(self, features: np.ndarray, first: np.ndarray, line_chars: np.ndarray) -> np.ndarray:
        """The second stage's inputs: the line features, then the context of the first stage's probabilities."""
        return np.hstack([features, context_features(first, line_chars, self.context_region_threshold)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the shipped model file)."""
        return {
            "version": self.version,
            "feature_names": list(self.feature_names),
            "context_feature_names": list(CONTEXT_FEATURE_NAMES),
            "lines": self.lines.to_dict(),
            "context": None if self.context is None else self.context.to_dict(),
            "region_threshold": self.region_threshold,
            "keep_inside": self.keep_inside,
            "keep_outside": self.keep_outside,
            "context_region_threshold": self.context_region_threshold,
            "training_pages": sorted(self.training_pages),
            "unmarked": None if self.unmarked is None else self.unmarked.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineModel:
        """Rebuild a model from `to_dict`'s form; refuses a model built for other features."""
        names = tuple(data["feature_names"])
        if names != feature_names() or tuple(data.get("context_feature_names", ())) != CONTEXT_FEATURE_NAMES:
            raise ValueError("line model was trained on other features: retrain it (bench/train_line_classifier.py)")
        return cls(
            version=str(data["version"]),
            feature_names=names,
            lines=stage_from_dict(data["lines"]),
            context=None if data["context"] is None else stage_from_dict(data["context"]),
            region_threshold=float(data["region_threshold"]),
            keep_inside=float(data["keep_inside"]),
            keep_outside=float(data["keep_outside"]),
            context_region_threshold=float(data["context_region_threshold"]),
            training_pages=frozenset(data.get("training_pages", ())),
            unmarked=None if data.get("unmarked") is None else cls.from_dict(data["unmarked"]),
        )


def page_digest(data: bytes) -> str:
    """Short digest of a page dump's bytes: how the model file names the pages it was trained on."""
    return hashlib.sha256(data).hexdigest()[:16]


@cache
def shipped_model() -> LineModel:
    """The model shipped in the package."""
    text = resources.files("cleaners").joinpath(LINE_MODEL_FILE).read_text(encoding="utf-8")
    return LineModel.from_dict(json.loads(text))


def page_language(page: Page) -> str | None:
    """The page's language, read from its prose lines (menus are too short to tell)."""
    prose = " ".join(line.text for line in page.lines if len(line.text.split()) >= PROSE_MIN_WORDS)
    sample = prose[:LANGUAGE_SAMPLE_CHARS] or page.text[:LANGUAGE_SAMPLE_CHARS]
    return detect_language(sample)


def body_region(scores: np.ndarray) -> tuple[int, int] | None:
    """[first, last] line of the run with the largest positive sum of scores (Kadane), or None."""
    run = best_run(scores)
    return None if run is None else (run[1], run[2])


def keep_mask(
    model: LineModel, probabilities: np.ndarray, line_chars: np.ndarray
) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Which lines to keep, and the body region they were read against."""
    # Each line weighs its length in characters, as the metric weighs text: the region is the run that adds the
    # most expected body text net of the threshold. A logarithmic weight made a three-word menu line count half
    # as much as a 60-word paragraph, so runs of short lines could outweigh the article (9 paired draws: F1
    # 0.9219 -> 0.9229, recall 0.9373 -> 0.9447; docs/quality-history.md).
    region = body_region((probabilities - model.region_threshold) * line_chars)
    keep = probabilities >= model.keep_outside
    if region is not None:
        first, last = region
        keep[first:last + 1] |= probabilities[first:last + 1] >= model.keep_inside
    if not keep.any() and len(keep):
        # Never empty a page on the model's say alone: keep its most body-like line. Unlike the region, this weighs
        # length by its logarithm: one line is kept, and a 5,000-character footer the model gives 0.02 must not beat
        # a 300-character paragraph it gives 0.2 (by characters it would, 100 to 60).
        keep[int(np.argmax(probabilities * libm.log1p(line_chars)))] = True
    return keep, region


def list_item(text: str) -> tuple[str, int | None]:
    """A line's shape as a list item, and its number if it is a numbered one ("3) …", "12. …"). A numbered item's
    shape is its numbering ('#)', '#.'); any other line's is whether it opens with a digit, then its punctuation marks
    in order ('' if under two)."""
    numbered = NUMBERED_ITEM.match(text)
    if numbered:
        return "#" + numbered.group(2), int(numbered.group(1))
    marks = NOT_A_MARK.sub("", text)
    if len(marks) < LIST_SHAPE_MIN_MARKS:
        return "", None
    return ("0" if text[:1].isdigit() else "a") + marks, None


def continue_lists(texts: Sequence[str], keep: np.ndarray, claimed: frozenset[int]) -> np.ndarray:
    """`keep`, with every kept list carried on to its end: the cut lines after a kept line that repeat the shape of
    the kept lines before them, one item (or one record of up to `LIST_RECORD_MAX_LINES` lines) after another; a
    numbered item only where its number follows theirs."""
    # A line's shape is worked out only when the walk below asks for it: on most pages that is a few lines near the
    # edges of what the model kept, not every line.
    items: dict[int, tuple[str, int | None]] = {}

    def item(line: int) -> tuple[str, int | None]:
        if line not in items:
            items[line] = list_item(texts[line])
        return items[line]

    out: list[bool] = keep.tolist()  # a list: the walk reads it line by line, and numpy's scalars are slow to read
    # The lines rules took are not the model's to keep or cut: an ad label or a share button between two items is
    # left out of the list, and neither starts nor ends it.
    order = [index for index in range(len(texts)) if index not in claimed]

    def continues(line: int, before: int, first: int) -> bool:
        if not (out[before] and out[first] and item(line)[0] == item(before)[0] == item(first)[0]):
            return False
        number, previous, earlier = item(line)[1], item(before)[1], item(first)[1]
        # "1." after "5." starts another list (a "Most read" top five after the article's own list).
        if number is None:
            return True
        return previous is not None and earlier is not None and number == previous + 1 == earlier + 2

    for at in range(1, len(order)):
        line = order[at]
        # A list runs on line after line: the first cut line that breaks its shape ends it.
        if out[line] or not out[order[at - 1]] or not item(line)[0]:
            continue
        if any(
            at - 2 * period >= 0 and continues(line, order[at - period], order[at - 2 * period])
            for period in range(1, LIST_RECORD_MAX_LINES + 1)
        ):
            out[line] = True
    return np.array(out, dtype=bool)


class LineClassifierCleaner(Cleaner):
    """The general classifier for page dumps: removes the lines the line model reads as not body."""

    category = "boilerplate"

    def __init__(self, config: Config | None = None, model: LineModel | None = None) -> None:
        self.config = config or Config()
        self.model = model or shipped_model()
        # Its one "rule" is the model: no pattern file to load.
        self.rules = RuleSet(self.category, "lines a trained line model reads as not article body", ())

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """One removal per line the model does not keep, ruled `line_model.<version>.<where>`."""
        if not page.lines:
            return []
        counts = line_counts(page)  # shared by the furniture check and the features
        if furniture_share(page, counts) < self.config.line_model_min_furniture_share:
            return []
        claimed = claimed_line_indexes(page, prior)
        features = line_features(page, stopwords_for(page_language(page)), frozenset(claimed), counts)
        line_chars = np.array([len(line.text) for line in page.lines], dtype=float)
        marks = marks_paragraphs([line.blank_before for line in page.lines])
        # Removals name the reader of the dump: the pair's own version when both read it (it covers both).
        model = self.model.for_dump(marks)
        probabilities = self.model.read(features, line_chars, marks)
        keep, region = keep_mask(model, probabilities, line_chars)
        dek = [r.end for r in prior if r.category == "standfirst"]
        if dek and region is not None:
            # The model learned that the first sentence under a headline is usually the dek, which
            # the annotators leave out. When the standfirst rule has already taken the dek, the prose
            # between it and the body region opens the body: keep it.
            for line in page.lines[: region[0]]:
                if line.start > dek[0] and line.index not in claimed and is_prose(line.text):
                    keep[line.index] = True
        # A list the model began to keep is kept to its end: the model reads each item alone, and the further an item
        # stands from the prose above it, the less it looks like body (a table of qualified teams, a list of tour
        # dates after a short announcement, numbered offers; 9 paired draws: F1 0.9296 -> 0.9302 by punctuation,
        # better on all 9, and +0.0009 by numbering, one page). Only a cut line that repeats the shape of two kept lines
        # before it is kept, so a list the model cut whole stays cut.
        keep = continue_lists([line.text for line in page.lines], keep, frozenset(claimed))
        first, last = region if region is not None else (len(page.lines), -1)
        out = []
        for line, kept in zip(page.lines, keep.tolist(), strict=True):
            if kept or line.index in claimed:
                continue
            where = "before_body" if line.index < first else "after_body" if line.index > last else "in_body"
            out.append(line_removal(line, self.category, f"boilerplate.line_model.{model.version}.{where}"))
        return out
