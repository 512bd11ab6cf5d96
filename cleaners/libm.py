"""Logarithms and the logistic function element by element through the C library: the same bits on every CPU.

numpy picks its own vectorised `log`, `log1p` and `exp` by what the processor offers: on a CPU with AVX-512 they
differ from the C library's in the last bit. The line model's trees split on thresholds of such values, so a last
bit can move a line to another leaf: the same capture gave another text on another machine (3 of the 126 dev
pages), and retraining there gave another model. Python's `math` calls the C library on every CPU. The line model
reads a few hundred values per page, so the loop costs little.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def _each(function: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    result = np.fromiter(map(function, array.ravel().tolist()), dtype=float, count=array.size)
    return result.reshape(array.shape)


def log1p(values: np.ndarray) -> np.ndarray:
    """log(1 + x) of each value, as the C library computes it."""
    return _each(math.log1p, values)


def log(values: np.ndarray) -> np.ndarray:
    """Natural logarithm of each (positive) value, as the C library computes it."""
    return _each(math.log, values)


def _logistic(z: float) -> float:
    try:
        return 1.0 / (1.0 + math.exp(-z))
    except OverflowError:  # z below about -709: numpy's 1 / (1 + inf) gave 0.0 there
        return 0.0


def logistic(values: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) of each value, exp as the C library computes it."""
    return _each(_logistic, values)
