"""The article-extraction benchmark's metric: word 4-gram (shingle) precision, recall and F1.

Reproduces `shared/eval/score.py` (the Zyte article-extraction-benchmark metric) so figures compare
with its published table: per page, multiset overlaps of predicted vs gold shingles normalised by
TP+FP+FN; corpus precision and recall are means over pages with a non-empty prediction / gold;
corpus F1 is the harmonic mean of those two means.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

NGRAM = 4
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Word tokens as the benchmark sees them (`\\w+` runs, case kept)."""
    return _WORD.findall(text or "")


def shingles(text: str, n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """Multiset of word n-grams; a text shorter than n words gives one shorter n-gram."""
    toks = tokens(text)
    if not toks:
        return Counter()
    if len(toks) < n:
        return Counter([tuple(toks)])
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


@dataclass(frozen=True)
class PageScore:
    """Normalised true/false positives and false negatives of one page, and its P/R/F1."""

    tp: float
    fp: float
    fn: float
    empty_prediction: bool
    exact: bool

    def _share(self, errors: float) -> float:
        # The benchmark's edge cases: a perfect page scores 1; nothing found and nothing right scores 0.
        if self.fp == 0 and self.fn == 0:
            return 1.0
        if self.tp == 0 and errors == 0:
            return 0.0
        return self.tp / (self.tp + errors)

    @property
    def precision(self) -> float:
        """Per-page precision under the benchmark's edge-case rules."""
        return self._share(self.fp)

    @property
    def recall(self) -> float:
        """Per-page recall under the benchmark's edge-case rules."""
        return self._share(self.fn)

    @property
    def f1(self) -> float:
        """Per-page F1."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def score_page(gold: str, predicted: str) -> PageScore:
    """Score one page's prediction against its gold body."""
    g, p = shingles(gold), shingles(predicted)
    tp = sum((g & p).values())
    fp = sum((p - g).values())
    fn = sum((g - p).values())
    total = tp + fp + fn
    norm = (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)
    return PageScore(*norm, empty_prediction=not tokens(predicted), exact=tokens(gold) == tokens(predicted))


@dataclass(frozen=True)
class CorpusScore:
    """Corpus figures exactly as the benchmark computes them."""

    precision: float
    recall: float
    f1: float
    accuracy: float
    pages: int
    empty_predictions: int


def aggregate(pages: Iterable[PageScore]) -> CorpusScore:
    """Corpus precision/recall (means over eligible pages), their F1, accuracy and empty count."""
    pages = list(pages)
    if not pages:
        raise ValueError("no pages to score")
    ps = [s.precision for s in pages if s.tp + s.fp > 0]
    rs = [s.recall for s in pages if s.tp + s.fn > 0]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return CorpusScore(
        precision=p,
        recall=r,
        f1=f1,
        accuracy=sum(s.exact for s in pages) / len(pages),
        pages=len(pages),
        empty_predictions=sum(s.empty_prediction for s in pages),
    )
