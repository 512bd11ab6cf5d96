"""Word n-gram sets, for finding text that repeats other text."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def shingle_set(text: str, n: int = 4) -> set[tuple[str, ...]]:
    """The set of word n-grams of a text (a shorter text gives its whole token tuple)."""
    tokens = _WORD.findall(text)
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
