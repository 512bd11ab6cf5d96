"""Removes what is not article body from a page dump, line by line, with a small trained model.

The model (`cleaners/models/line_classifier.json`, trained by `bench/train_line_classifier.py`) is a
logistic regression over `cleaners.line_features`: standardised values plus quantile-bin indicators.
Its line probabilities are then read with the one prior every article page shares: the body is mostly
one contiguous region. The region is the run of lines with the largest length-weighted excess of
probability over `region_threshold`; inside it a line is kept from `keep_inside`, outside only from
`keep_outside`. Every removal names the model version and where the line stood relative to the body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from cleaners.base import Cleaner, claimed_line_indexes, line_removal
from cleaners.language import detect_language
from cleaners.line_features import (
    PROSE_MIN_WORDS,
    feature_names,
    furniture_share,
    is_prose,
    line_counts,
    line_features,
)
from cleaners.model import Config, Page, Removal
from cleaners.rules import RuleSet
from cleaners.rules.matcher import PageHits
from cleaners.stopwords import stopwords_for

MODEL_RESOURCE = "line_classifier.json"
LANGUAGE_SAMPLE_CHARS = 2_000


@dataclass(frozen=True)
class LineModel:
    """A trained line model: feature transform, logistic weights and the region-decoding thresholds."""

    version: str
    feature_names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    bin_edges: tuple[np.ndarray, ...]  # inner quantile edges per feature (one-hot of the bin index)
    coef: np.ndarray
    intercept: float
    region_threshold: float
    keep_inside: float
    keep_outside: float
    training_pages: frozenset[str] = frozenset()  # `page_digest` of every page dump it was trained on

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Standardised features followed by the one-hot bin indicators, as in training."""
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
        """Probability that each line (row) is article body."""
        z = self.transform(features) @ self.coef + self.intercept
        result: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return result

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the shipped model file)."""
        return {
            "version": self.version,
            "feature_names": list(self.feature_names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "bin_edges": [e.tolist() for e in self.bin_edges],
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "region_threshold": self.region_threshold,
            "keep_inside": self.keep_inside,
            "keep_outside": self.keep_outside,
            "training_pages": sorted(self.training_pages),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineModel:
        """Rebuild a model from `to_dict`'s form; refuses a model built for other features."""
        names = tuple(data["feature_names"])
        if names != feature_names():
            raise ValueError("line model was trained on other features: retrain it (bench/train_line_classifier.py)")
        return cls(
            version=str(data["version"]),
            feature_names=names,
            mean=np.array(data["mean"], dtype=float),
            scale=np.array(data["scale"], dtype=float),
            bin_edges=tuple(np.array(e, dtype=float) for e in data["bin_edges"]),
            coef=np.array(data["coef"], dtype=float),
            intercept=float(data["intercept"]),
            region_threshold=float(data["region_threshold"]),
            keep_inside=float(data["keep_inside"]),
            keep_outside=float(data["keep_outside"]),
            training_pages=frozenset(data.get("training_pages", ())),
        )


def page_digest(data: bytes) -> str:
    """Short digest of a page dump's bytes: how the model file names the pages it was trained on."""
    return hashlib.sha256(data).hexdigest()[:16]


@cache
def shipped_model() -> LineModel:
    """The model shipped in the package."""
    text = resources.files("cleaners").joinpath("models", MODEL_RESOURCE).read_text(encoding="utf-8")
    return LineModel.from_dict(json.loads(text))


def page_language(page: Page) -> str | None:
    """The page's language, read from its prose lines (menus are too short to tell)."""
    prose = " ".join(line.text for line in page.lines if len(line.text.split()) >= PROSE_MIN_WORDS)
    sample = prose[:LANGUAGE_SAMPLE_CHARS] or page.text[:LANGUAGE_SAMPLE_CHARS]
    return detect_language(sample)


def body_region(scores: np.ndarray) -> tuple[int, int] | None:
    """[first, last] line of the run with the largest positive sum of scores (Kadane), or None."""
    best = current = 0.0
    start = 0
    region: tuple[int, int] | None = None
    for i, value in enumerate(scores.tolist()):
        if current <= 0.0:
            current, start = 0.0, i
        current += value
        if current > best:
            best, region = current, (start, i)
    return region


def keep_mask(
    model: LineModel, probabilities: np.ndarray, line_chars: np.ndarray
) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Which lines to keep, and the body region they were read against."""
    region = body_region((probabilities - model.region_threshold) * np.log1p(line_chars))
    keep = probabilities >= model.keep_outside
    if region is not None:
        first, last = region
        keep[first:last + 1] |= probabilities[first:last + 1] >= model.keep_inside
    if not keep.any() and len(keep):
        # Never empty a page on the model's say alone: keep its most body-like line.
        keep[int(np.argmax(probabilities * np.log1p(line_chars)))] = True
    return keep, region


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
        probabilities = self.model.probabilities(features)
        line_chars = np.array([len(line.text) for line in page.lines], dtype=float)
        keep, region = keep_mask(self.model, probabilities, line_chars)
        dek = [r.end for r in prior if r.category == "standfirst"]
        if dek and region is not None:
            # The model learned that the first sentence under a headline is usually the dek, which
            # the annotators leave out. When the standfirst rule has already taken the dek, the prose
            # between it and the body region opens the body: keep it.
            for line in page.lines[: region[0]]:
                if line.start > dek[0] and line.index not in claimed and is_prose(line.text):
                    keep[line.index] = True
        first, last = region if region is not None else (len(page.lines), -1)
        out = []
        for line, kept in zip(page.lines, keep.tolist(), strict=True):
            if kept or line.index in claimed:
                continue
            where = "before_body" if line.index < first else "after_body" if line.index > last else "in_body"
            out.append(line_removal(line, self.category, f"boilerplate.line_model.{self.model.version}.{where}"))
        return out
