"""What a page dump's lines look like, as numbers: the inputs of the line classifier.

Only general signals a text offers (length, sentence shape, stop-word density in the page's language,
capitalisation, link-like shapes, repeats, position and the neighbouring lines), never words of a site.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from cleaners.model import Page

SENTENCE_END = ".!?…。！？؟।"
CLOSING = "\"'”’»)]"
# Scripts written without spaces between words: count their characters as half-words.
NO_SPACE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
WORD = re.compile(r"\w+")
SEPARATOR_SHAPE = re.compile(r"[|»›·•]|\s[/>-]\s|\w[A-Z][a-z]+[A-Z]")
URL_SHAPE = re.compile(r"https?://|www\.|\w@\w|\.(?:com|org|net)\b|(?:^|\s)[#@]\w")
NUMBER_START = re.compile(r"^(?:\d+[.)]?|[-–—*•▪►●◦])\s")
DATE_TIME_SHAPE = re.compile(r"\d{1,4}[:/.\-]\d{1,2}|\b(?:19|20)\d\d\b")
INNER_SENTENCE = re.compile(r"[.!?。！？]['\"”’)]?\s+\S")
# A line at least this long and ending like a sentence is "running prose": the body is where they gather.
PROSE_MIN_WORDS = 12
# Menu items and labels: this many words or fewer.
FURNITURE_MAX_WORDS = 4

BASE_FEATURES = (
    "log_chars",
    "log_words",
    "ends_sentence",
    "ends_colon",
    "ends_alnum",
    "inner_sentences",
    "stopword_share",
    "title_case_share",
    "digit_share",
    "punctuation_share",
    "comma_share",
    "upper_share",
    "separator_shape",
    "url_shape",
    "list_item_shape",
    "date_time_shape",
    "repeated_in_page",
    "blank_before",
    "blank_after",
    "removed_by_rules",
    "prose",
)
CONTEXT_FEATURES = ("log_words", "ends_sentence", "stopword_share", "prose", "removed_by_rules", "title_case_share")
CONTEXT_WINDOWS = (1, 3, 8)
PAGE_FEATURES = (
    "position",
    "chars_before_share",
    "inside_prose_span",
    "prose_distance",
    "has_stoplist",
    "page_log_lines",
    "log_words_vs_page_max",
    "log_words_rank",
    "stopword_share_vs_prose",
    "share_of_page_prose",
)


def furniture_share(page: Page) -> float:
    """Share of the page's lines shaped like menu items or labels: a few words, not ending like a sentence."""
    if not page.lines:
        return 0.0
    furniture = sum(
        1 for line in page.lines if _word_count(line.text) <= FURNITURE_MAX_WORDS and not is_prose_end(line.text)
    )
    return furniture / len(page.lines)


def is_prose_end(text: str) -> bool:
    """The line ends the way a sentence does (closing quotes and brackets aside)."""
    last = text.rstrip(CLOSING)[-1:] or text[-1:]
    return last in SENTENCE_END


def is_prose(text: str) -> bool:
    """A line of running prose: long enough and ending like a sentence."""
    return _word_count(text) >= PROSE_MIN_WORDS and is_prose_end(text)


def feature_names() -> tuple[str, ...]:
    """Names of the columns `line_features` returns, in order."""
    context = tuple(
        f"{name}@{side}{w}" for w in CONTEXT_WINDOWS for side in ("prev", "next") for name in CONTEXT_FEATURES
    )
    return BASE_FEATURES + context + PAGE_FEATURES


def _word_count(text: str) -> float:
    spaced = len(text.split())
    dense = len(NO_SPACE_SCRIPT.findall(text))
    return spaced + dense / 2 if dense else float(spaced)


_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_LOWER = bytes(range(ord("a"), ord("z") + 1))
_ASCII_DIGITS = b"0123456789"
_ASCII_SPACES = bytes(c for c in range(128) if chr(c).isspace())


def char_counts(text: str) -> tuple[int, int, int, int, int]:
    """(letters, alphanumerics, spaces, digits, upper-case) characters of a line, exactly as str's methods say.

    Runs for every line of every page: ASCII lines (most) are counted with bytes.translate in C; others
    character by character.
    """
    if text.isascii():
        raw = text.encode("ascii")
        n = len(raw)
        upper = n - len(raw.translate(None, _ASCII_UPPER))
        letters = upper + n - len(raw.translate(None, _ASCII_LOWER))
        digits = n - len(raw.translate(None, _ASCII_DIGITS))
        return letters, letters + digits, n - len(raw.translate(None, _ASCII_SPACES)), digits, upper
    return (sum(map(str.isalpha, text)), sum(map(str.isalnum, text)), sum(map(str.isspace, text)),
            sum(map(str.isdigit, text)), sum(map(str.isupper, text)))


def _base_row(text: str, stopwords: frozenset[str], repeats: int, blank_before: bool, blank_after: bool,
              removed: bool) -> list[float]:
    n_chars = len(text)
    words = _word_count(text)
    tokens = WORD.findall(text)
    alpha_tokens = [t for t in tokens if t[0].isalpha()]
    letters, alnum, spaces, digits, upper = char_counts(text)
    last = text.rstrip(CLOSING)[-1:] or text[-1]
    stop_share = sum(t.casefold() in stopwords for t in tokens) / len(tokens) if tokens and stopwords else 0.0
    title_share = sum(t[0].isupper() for t in alpha_tokens) / len(alpha_tokens) if alpha_tokens else 0.0
    return [
        math.log1p(n_chars),
        math.log1p(words),
        float(last in SENTENCE_END),
        float(last == ":"),
        float(last.isalnum()),
        math.log1p(len(INNER_SENTENCE.findall(text))),
        stop_share,
        title_share,
        digits / n_chars,
        (n_chars - alnum - spaces) / n_chars,
        text.count(",") / (words or 1),
        upper / (letters or 1),
        float(bool(SEPARATOR_SHAPE.search(text))),
        float(bool(URL_SHAPE.search(text))),
        float(bool(NUMBER_START.match(text))),
        float(bool(DATE_TIME_SHAPE.search(text))),
        float(repeats > 1),
        float(blank_before),
        float(blank_after),
        float(removed),
        float(words >= PROSE_MIN_WORDS and last in SENTENCE_END),
    ]


def _window_mean(values: np.ndarray, window: int, side: str) -> np.ndarray:
    """Mean of each row's `window` neighbours before (or after) it, zero-padded at the page edges."""
    n = values.shape[0]
    padded = np.zeros((n + 2 * window, values.shape[1]))
    padded[window:window + n] = values
    cumulative = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(padded, axis=0)])
    idx = np.arange(n) + window
    if side == "prev":
        total = cumulative[idx] - cumulative[idx - window]
    else:
        total = cumulative[idx + 1 + window] - cumulative[idx + 1]
    result: np.ndarray = total / window
    return result


def line_features(page: Page, stopwords: frozenset[str], removed_lines: frozenset[int] = frozenset()) -> np.ndarray:
    """One row of features per non-blank line of the page (columns as `feature_names()`)."""
    lines = page.lines
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(feature_names())))
    counts = Counter(" ".join(line.text.casefold().split()) for line in lines)
    base = np.array([
        _base_row(
            line.text,
            stopwords,
            counts[" ".join(line.text.casefold().split())],
            line.blank_before,
            lines[i + 1].blank_before if i + 1 < n else True,
            i in removed_lines,
        )
        for i, line in enumerate(lines)
    ])
    context_cols = [BASE_FEATURES.index(name) for name in CONTEXT_FEATURES]
    context_values = base[:, context_cols]
    context = [_window_mean(context_values, w, side) for w in CONTEXT_WINDOWS for side in ("prev", "next")]

    chars = np.array([len(line.text) for line in lines], dtype=float)
    before = (np.cumsum(chars) - chars) / chars.sum()
    prose_col = base[:, BASE_FEATURES.index("prose")]
    prose_at = np.flatnonzero(prose_col)
    positions = np.arange(n)
    if prose_at.size:
        inside = ((positions >= prose_at[0]) & (positions <= prose_at[-1])).astype(float)
        nearest = np.min(np.abs(positions[:, None] - prose_at[None, :]), axis=1)
        distance = np.log1p(nearest)
    else:
        inside = np.zeros(n)
        distance = np.full(n, math.log1p(n))
    log_words = base[:, BASE_FEATURES.index("log_words")]
    stop_col = base[:, BASE_FEATURES.index("stopword_share")]
    prose_stop = float(stop_col[prose_at].mean()) if prose_at.size else 0.0
    page_cols = np.column_stack([
        positions / max(n - 1, 1),
        before,
        inside,
        distance,
        np.full(n, float(bool(stopwords))),
        np.full(n, math.log1p(n)),
        log_words - log_words.max(),
        np.argsort(np.argsort(-log_words, kind="stable"), kind="stable") / n,
        base[:, BASE_FEATURES.index("stopword_share")] - prose_stop,
        chars * prose_col / max(float((chars * prose_col).sum()), 1.0),
    ])
    return np.hstack([base, *context, page_cols])
