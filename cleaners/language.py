"""Language of the kept text, with py3langid."""

from __future__ import annotations

from functools import cache
from typing import Any

MIN_WORDS = 5
MIN_PROBABILITY = 0.5


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@cache
def _raw_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)


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
