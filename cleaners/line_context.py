"""The line classifier's second stage: features read from the first stage's probabilities of the whole page.

A line's own shape says little when a comment thread or a teaser list is written in prose: what tells
the article from them is where the line stands among the page's likely-body lines. These features
describe that: the first-pass probability of the line and of its neighbours, how the page's body mass
is spread before and after it, and where it stands relative to the strongest and second-strongest
contiguous runs of likely-body lines. A second model reads them (stacking; trained on
out-of-fold first-pass probabilities by `bench/train_line_classifier.py`).
"""

from __future__ import annotations

import numpy as np

from cleaners import libm

# Neighbourhoods (in lines, each side) over which the first-pass probabilities are averaged.
PROBABILITY_WINDOWS = (1, 3, 8, 20)
LOGIT_CLIP = 6.0
# Probabilities are compared for the rank at this precision: repeated lines tie, float noise does not count.
RANK_DECIMALS = 9

CONTEXT_FEATURE_NAMES = (
    "logit",
    *(f"p@{side}{w}" for w in PROBABILITY_WINDOWS for side in ("prev", "next")),
    "max_p@prev3",
    "max_p@next3",
    "in_region",
    "lines_before_region",
    "lines_after_region",
    "body_mass_before",
    "body_mass_after",
    "region_mass_share",
    "in_second_region",
    "second_region_strength",
    "p_rank",
    "page_mean_p",
    "page_max_p",
)


def best_run(scores: np.ndarray) -> tuple[float, int, int] | None:
    """(sum, first, last) of the contiguous run with the largest positive sum of scores (Kadane), or None."""
    best = current = 0.0
    start = 0
    run: tuple[float, int, int] | None = None
    for i, value in enumerate(scores.tolist()):
        if current <= 0.0:
            current, start = 0.0, i
        current += value
        if current > best:
            best, run = current, (current, start, i)
    return run


def _side_means(values: np.ndarray, weights: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of `values` over the `window` lines before and after each line (0.0 past the page edges)."""
    n = values.shape[0]
    weighted = np.concatenate([[0.0], np.cumsum(values * weights)])
    total = np.concatenate([[0.0], np.cumsum(weights)])
    idx = np.arange(n)
    lo = np.maximum(idx - window, 0)
    hi = np.minimum(idx + 1 + window, n)
    prev_w = total[idx] - total[lo]
    next_w = total[hi] - total[idx + 1]
    prev = np.divide(weighted[idx] - weighted[lo], prev_w, out=np.zeros(n), where=prev_w > 0)
    nxt = np.divide(weighted[hi] - weighted[idx + 1], next_w, out=np.zeros(n), where=next_w > 0)
    return prev, nxt


def _side_max(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest value among the `window` lines before and after each line (0.0 past the page edges)."""
    n = values.shape[0]
    padded = np.concatenate([np.zeros(window), values, np.zeros(window)])
    prev = np.max([padded[window - k:window - k + n] for k in range(1, window + 1)], axis=0)
    nxt = np.max([padded[window + k:window + k + n] for k in range(1, window + 1)], axis=0)
    return prev, nxt


def _rank_share(values: np.ndarray) -> np.ndarray:
    """Share of the lines with a clearly higher value (equal lines share a rank, whatever rounding did)."""
    rounded = np.round(values, RANK_DECIMALS)
    descending = np.sort(-rounded)
    result: np.ndarray = np.searchsorted(descending, -rounded, side="left") / values.shape[0]
    return result


def context_features(probabilities: np.ndarray, line_chars: np.ndarray, region_threshold: float) -> np.ndarray:
    """One row per line (columns as `CONTEXT_FEATURE_NAMES`) from the first stage's line probabilities."""
    n = probabilities.shape[0]
    if n == 0:
        return np.zeros((0, len(CONTEXT_FEATURE_NAMES)))
    p = probabilities
    weights = libm.log1p(line_chars)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    columns = [np.clip(libm.log(clipped / (1 - clipped)), -LOGIT_CLIP, LOGIT_CLIP)]
    for w in PROBABILITY_WINDOWS:
        columns.extend(_side_means(p, weights, w))
    columns.extend(_side_max(p, 3))

    excess = (p - region_threshold) * weights
    positions = np.arange(n)
    best = best_run(excess)
    in_region = np.zeros(n)
    before_region = np.zeros(n)
    after_region = np.zeros(n)
    in_second = np.zeros(n)
    second_strength = 0.0
    positive = float(np.clip(excess, 0.0, None).sum())
    region_share = 0.0
    if best is not None:
        score, first, last = best
        in_region[first:last + 1] = 1.0
        before_region = libm.log1p(np.clip(first - positions, 0, None))
        after_region = libm.log1p(np.clip(positions - last, 0, None))
        region_share = score / positive if positive > 0 else 0.0
        # The strongest run outside the first: a second block of prose (comments, a teaser list, or
        # the article when the first run is a long comment thread).
        runs = [(r[0], r[1] + offset, r[2] + offset) for r, offset in
                ((best_run(excess[:first]), 0), (best_run(excess[last + 1:]), last + 1)) if r is not None]
        if runs:
            second_score, s_first, s_last = max(runs)
            second_strength = second_score / score
            in_second[s_first:s_last + 1] = 1.0
    mass = np.clip(excess, 0.0, None)
    cumulative = np.cumsum(mass)
    total = max(positive, 1e-9)
    columns.extend([
        in_region,
        before_region,
        after_region,
        (cumulative - mass) / total,
        (total - cumulative) / total,
        np.full(n, region_share),
        in_second,
        in_second * second_strength,
        _rank_share(p),
        np.full(n, float(p.mean())),
        np.full(n, float(p.max())),
    ])
    return np.column_stack(columns)
