"""Language of the kept text, with py3langid (its byte automaton walked for all positions at once, in numpy)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import numpy as np

MIN_WORDS = 5
MIN_PROBABILITY = 0.5
# py3langid counts byte n-gram features by walking an automaton one byte at a time, in Python. Its automaton
# forgets where it started within this many bytes (tests/test_language.py proves it for the installed model):
# the state after byte i is the walk from the start state over bytes i-5..i alone. So every position's state
# comes from six vectorised steps, and the counts are exactly the byte-by-byte walk's.
SYNC_BYTES = 6


def feature_visits(next_state: np.ndarray, row_base: np.ndarray, state_feature: np.ndarray,
                   text: bytes) -> dict[int, int]:
    """{feature: count} in order of first visit, as py3langid's `visit_counts` gives them (empty: none)."""
    data = np.frombuffer(text, dtype=np.uint8)
    n = data.size
    state = np.zeros(n, dtype=np.intp)
    for back in range(min(SYNC_BYTES, n) - 1, -1, -1):
        # Position i takes byte i-back (positions before `back` have no such byte and keep their state).
        state[back:] = next_state[row_base[state[back:]] + data[: n - back]]
    features = state_feature[state]
    features = features[features >= 0]
    if not features.size:
        return {}
    keys, first, counts = np.unique(features, return_index=True, return_counts=True)
    order = np.argsort(first)
    return dict(zip(keys[order].tolist(), counts[order].tolist(), strict=True))


def _vectorised_identifier(norm_probs: bool) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    class VectorisedIdentifier(LanguageIdentifier):  # type: ignore[misc]
        """py3langid's identifier; only its walk over the text's bytes is replaced, by `feature_visits`."""

        _rowbase: list[int]
        tk_output: list[int]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.next_state = np.frombuffer(self.tk_nextmove, dtype=np.uint32)  # a view, no copy
            self.row_base = np.asarray(self._rowbase, dtype=np.intp)
            self.state_feature = np.asarray(self.tk_output, dtype=np.intp)
            # py3langid's own walk is never taken (only for b"", which reads neither): its Python lists of
            # the same data (two of 104,583 ints, about 8 MB in every process that cleans) are let go.
            self._rowbase, self.tk_output = [], []

        def _raw_score(self, text: bytes) -> Any:
            visits = feature_visits(self.next_state, self.row_base, self.state_feature, text)
            if visits:
                return self._sparse_score(visits, self.nb_ptc)
            return super()._raw_score(b"")  # no features: py3langid's own answer for that

    return VectorisedIdentifier.from_model_file(MODEL_FILE, norm_probs=norm_probs)


@cache
def _identifier() -> Any:
    return _vectorised_identifier(norm_probs=True)


@cache
def _raw_identifier() -> Any:
    # The same model read without normalising: a shallow copy shares its arrays (a second load cost
    # 83 MB in every process that cleans).
    raw = copy.copy(_identifier())
    raw._norm_probs = False
    return raw


def text_log_likelihood(text: str) -> float:
    """Unnormalised log-likelihood of the text under its likeliest language (higher reads more like language)."""
    _, score = _raw_identifier().classify(text)
    return float(score)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when the text is too short or unclear."""
    if len(text.split()) < MIN_WORDS:
        return None
    lang, prob = _identifier().classify(text)
    return str(lang) if prob >= MIN_PROBABILITY else None
