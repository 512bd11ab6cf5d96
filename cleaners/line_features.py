"""What a page dump's lines look like, as numbers: the inputs of the line classifier.

Only general signals a text offers (length, sentence shape, stop-word density in the page's language,
capitalisation, link-like shapes, repeats, position and the neighbouring lines), never words of a site.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from cleaners import libm
from cleaners.model import Line, Page
from cleaners.text_shape import CLOSING, SENTENCE_END, is_prose_end, marks_paragraphs

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
# The features only a dump that marks paragraphs with blank lines has (NaN in any other).
PARAGRAPH_MARK_FEATURES = ("blank_before", "blank_after")
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


def furniture_share(page: Page, counts: LineCounts | None = None) -> float:
    """Share of the page's lines shaped like menu items or labels: a few words, not ending like a sentence."""
    if not page.lines:
        return 0.0
    counts = counts or line_counts(page)
    furniture = np.count_nonzero((counts.words <= FURNITURE_MAX_WORDS) & ~counts.ends_sentence)
    return int(furniture) / len(page.lines)


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


# What str's methods (and re's \w, which is isalnum() or "_") say of one character, as bits.
ALPHA, ALNUM, SPACE, DIGIT, UPPER, WORD_CHAR, NO_SPACE = (1 << bit for bit in range(7))
# Characters one of SEPARATOR_SHAPE's alternatives needs (its third needs a lower-case letter glued to a capital).
SEPARATOR_CHARS = np.array([ord(ch) for ch in "|»›·•/>-"], dtype=np.uint32)
# What one of URL_SHAPE's alternatives needs to find in a line: a line with none of these cannot match it.
URL_HINT = re.compile(r"http|www\.|[@#]|\.(?:com|org|net)")


@cache
def character_class(code: int) -> int:
    """The class bits of one code point (a fixed property of the code point, so kept once computed)."""
    ch = chr(code)
    return ((ALPHA if ch.isalpha() else 0) | (ALNUM if ch.isalnum() else 0) | (SPACE if ch.isspace() else 0)
            | (DIGIT if ch.isdigit() else 0) | (UPPER if ch.isupper() else 0)
            | (WORD_CHAR if ch.isalnum() or ch == "_" else 0) | (NO_SPACE if NO_SPACE_SCRIPT.match(ch) else 0))


_ASCII_CLASSES = np.array([character_class(code) for code in range(128)], dtype=np.uint8)


def _classes(codes: np.ndarray) -> np.ndarray:
    """Class bits of every code point: a table for ASCII, the (few) distinct others one by one."""
    classes: np.ndarray = _ASCII_CLASSES[np.minimum(codes, 127)]
    other = codes > 127
    if other.any():
        distinct, where = np.unique(codes[other], return_inverse=True)
        classes[other] = np.array([character_class(int(code)) for code in distinct], dtype=np.uint8)[where]
    return classes


def char_counts(text: str) -> tuple[int, int, int, int, int]:
    """(letters, alphanumerics, spaces, digits, upper-case) characters of a line, exactly as str's methods say."""
    counts = line_counts(Page(text, (Line(0, 0, len(text), text, True),))) if text else None
    if counts is None:
        return 0, 0, 0, 0, 0
    return (int(counts.letters[0]), int(counts.alnum[0]), int(counts.spaces[0]), int(counts.digits[0]),
            int(counts.upper[0]))


@dataclass(frozen=True)
class LineCounts:
    """Counts of every line of one page, computed for all lines at once over the page's code points."""

    texts: list[str]
    starts: np.ndarray  # offset of each line in the lines joined by one character ("\n")
    chars: np.ndarray
    words: np.ndarray  # whitespace-separated words, plus half the characters of scripts written without spaces
    letters: np.ndarray
    alnum: np.ndarray
    spaces: np.ndarray
    digits: np.ndarray
    upper: np.ndarray
    commas: np.ndarray
    tokens: np.ndarray  # re `\w+` tokens
    alpha_tokens: np.ndarray  # ... starting with a letter
    title_tokens: np.ndarray  # ... whose first letter is a capital
    separator_candidate: np.ndarray  # has what SEPARATOR_SHAPE needs to match (it may still not)
    last: list[str]  # last character, closing quotes and brackets aside
    ends_sentence: np.ndarray


def line_counts(page: Page) -> LineCounts:
    """Per-line counts of the page (lines are never empty: segment strips and drops blank ones)."""
    texts = [line.text for line in page.lines]
    chars = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
    ends = np.cumsum(chars)
    starts = ends - chars
    # One code point per element, lone surrogates included, so offsets are str offsets.
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = _classes(codes)
    line_start = np.zeros(codes.size, dtype=bool)
    line_start[starts] = True

    def per_line(mask: np.ndarray) -> np.ndarray:
        total = np.concatenate(([0], np.cumsum(mask, dtype=np.intp)))
        result: np.ndarray = total[ends] - total[starts]
        return result

    def has(bit: int) -> np.ndarray:
        found: np.ndarray = (classes & bit) != 0
        return found

    space, word_char, alpha = has(SPACE), has(WORD_CHAR), has(ALPHA)
    previous_space = np.concatenate(([True], space[:-1])) | line_start
    previous_word = np.concatenate(([False], word_char[:-1])) & ~line_start
    token_start = word_char & ~previous_word  # where each re `\w+` match begins
    lower_ascii = (codes >= 97) & (codes <= 122)
    upper_ascii = (codes >= 65) & (codes <= 90)
    glued = np.concatenate(([False], lower_ascii[:-1] & upper_ascii[1:])) & ~line_start
    last = [text.rstrip(CLOSING)[-1:] or text[-1] for text in texts]
    return LineCounts(
        texts=texts,
        starts=starts + np.arange(len(texts)),
        chars=chars,
        words=per_line(~space & previous_space) + per_line(has(NO_SPACE)) / 2,
        letters=per_line(alpha),
        alnum=per_line(has(ALNUM)),
        spaces=per_line(space),
        digits=per_line(has(DIGIT)),
        upper=per_line(has(UPPER)),
        commas=per_line(codes == ord(",")),
        tokens=per_line(token_start),
        alpha_tokens=per_line(token_start & alpha),
        title_tokens=per_line(token_start & alpha & has(UPPER)),
        separator_candidate=per_line(np.isin(codes, SEPARATOR_CHARS) | glued) > 0,
        last=last,
        ends_sentence=np.array([ch in SENTENCE_END for ch in last], dtype=bool),
    )


def _stopword_share(text: str, stopwords: frozenset[str]) -> float:
    tokens = WORD.findall(text)
    return sum(map(stopwords.__contains__, map(str.casefold, tokens))) / len(tokens) if tokens else 0.0


def _stopword_shares(counts: LineCounts, joined: str, stopwords: frozenset[str]) -> np.ndarray:
    """Share of each line's word tokens that are stop words: the page's tokens in one pass, summed per line."""
    tokens = WORD.findall(joined)  # the joining newline is no word character: no token spans two lines
    per_line = counts.tokens
    if len(tokens) != int(per_line.sum()):  # never expected (re's \w is isalnum() or "_"); stay exact anyway
        return np.array([_stopword_share(t, stopwords) for t in counts.texts])
    hits = np.fromiter(map(stopwords.__contains__, map(str.casefold, tokens)), dtype=bool, count=len(tokens))
    cumulative = np.concatenate(([0], np.cumsum(hits, dtype=np.intp)))
    ends = np.cumsum(per_line)
    found = cumulative[ends] - cumulative[ends - per_line]
    shares: np.ndarray = np.divide(found, per_line, out=np.zeros(len(counts.texts)), where=per_line > 0)
    return shares


def _inner_sentences(counts: LineCounts) -> np.ndarray:
    """len(INNER_SENTENCE.findall(line)) of every line, in one pass over the page.

    The lines are joined by NUL: not whitespace, so no match can run from one line into the next, and a match
    cannot end on it either (that would need whitespace at the end of a line, which segment strips).
    """
    starts = counts.starts  # the same offsets: NUL is one character, like the newline they were taken for
    found = [m.start() for m in INNER_SENTENCE.finditer("\x00".join(counts.texts))]
    return np.bincount(np.searchsorted(starts, found, side="right") - 1, minlength=len(counts.texts))


def _url_shaped(counts: LineCounts, joined: str) -> np.ndarray:
    """URL_SHAPE.search of each line, run only on the lines where URL_HINT finds what it needs."""
    shaped = np.zeros(len(counts.texts), dtype=bool)
    hinted = np.searchsorted(counts.starts, [m.start() for m in URL_HINT.finditer(joined)], side="right") - 1
    for i in np.unique(hinted).tolist():
        shaped[i] = URL_SHAPE.search(counts.texts[i]) is not None
    return shaped


def _base_columns(counts: LineCounts, stopwords: frozenset[str], repeats: list[int], blank_lines: list[bool],
                  removed: np.ndarray) -> np.ndarray:
    """The BASE_FEATURES columns of every line."""
    texts, words, chars = counts.texts, counts.words, counts.chars
    # The regexes run only on lines that hold what they need to match (most lines do not).
    separator = [bool(SEPARATOR_SHAPE.search(t)) if c else False
                 for t, c in zip(texts, counts.separator_candidate.tolist(), strict=True)]
    joined = "\n".join(texts)
    url = _url_shaped(counts, joined)
    date_time = [d > 0 and bool(DATE_TIME_SHAPE.search(t)) for t, d in zip(texts, counts.digits.tolist(), strict=True)]
    stop_share = _stopword_shares(counts, joined, stopwords) if stopwords else np.zeros(len(texts))
    blank_before: Sequence[float] = blank_lines
    blank_after: Sequence[float] = [*blank_lines[1:], True]
    if not marks_paragraphs(blank_lines):
        blank_before = blank_after = [math.nan] * len(texts)
    columns = [
        libm.log1p(chars),
        libm.log1p(words),
        counts.ends_sentence,
        [ch == ":" for ch in counts.last],
        [ch.isalnum() for ch in counts.last],
        libm.log1p(_inner_sentences(counts).astype(float)),
        stop_share,
        np.divide(counts.title_tokens, counts.alpha_tokens, out=np.zeros(len(texts)), where=counts.alpha_tokens > 0),
        counts.digits / chars,
        (chars - counts.alnum - counts.spaces) / chars,
        counts.commas / np.where(words == 0, 1.0, words),
        counts.upper / np.maximum(counts.letters, 1),
        separator,
        url,
        [NUMBER_START.match(t) is not None for t in texts],
        date_time,
        [n > 1 for n in repeats],
        blank_before,
        blank_after,
        removed,
        (words >= PROSE_MIN_WORDS) & counts.ends_sentence,
    ]
    return np.column_stack([np.asarray(column, dtype=float) for column in columns])


def _window_means(values: np.ndarray) -> list[np.ndarray]:
    """Mean of each row's `w` neighbours before, then after it (zero-padded at the page edges), for every w of
    CONTEXT_WINDOWS in turn, all from one cumulative sum (padding with zeros would add exact zeros to it)."""
    n = values.shape[0]
    cumulative = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    idx = np.arange(n)
    means = []
    for window in CONTEXT_WINDOWS:
        before = cumulative[idx] - cumulative[np.maximum(idx - window, 0)]
        after = cumulative[np.minimum(idx + 1 + window, n)] - cumulative[idx + 1]
        means += [before / window, after / window]
    return means


def without_paragraph_marks(features: np.ndarray) -> np.ndarray:
    """The same rows as a dump without blank lines has them: the paragraph-mark columns unknown (NaN)."""
    unmarked = features.copy()
    unmarked[:, [BASE_FEATURES.index(name) for name in PARAGRAPH_MARK_FEATURES]] = math.nan
    return unmarked


def line_features(page: Page, stopwords: frozenset[str], removed_lines: frozenset[int] = frozenset(),
                  counts: LineCounts | None = None) -> np.ndarray:
    """One row of features per non-blank line of the page (columns as `feature_names()`)."""
    lines = page.lines
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(feature_names())))
    counts = counts or line_counts(page)
    keys = [" ".join(text.casefold().split()) for text in counts.texts]
    seen = Counter(keys)
    removed = np.zeros(n, dtype=bool)
    removed[[i for i in removed_lines if 0 <= i < n]] = True
    base = _base_columns(counts, stopwords, [seen[k] for k in keys], [line.blank_before for line in lines], removed)
    context_cols = [BASE_FEATURES.index(name) for name in CONTEXT_FEATURES]
    context_values = base[:, context_cols]
    context = _window_means(context_values)

    chars = counts.chars.astype(float)
    before = (np.cumsum(chars) - chars) / chars.sum()
    prose_col = base[:, BASE_FEATURES.index("prose")]
    prose_at = np.flatnonzero(prose_col)
    positions = np.arange(n)
    if prose_at.size:
        inside = ((positions >= prose_at[0]) & (positions <= prose_at[-1])).astype(float)
        # The prose lines on either side of each line, found by bisection: a line-by-prose-line matrix of
        # distances would be quadratic (gigabytes on a long forum thread of a megabyte).
        next_prose = np.minimum(np.searchsorted(prose_at, positions), prose_at.size - 1)
        previous_prose = np.maximum(next_prose - 1, 0)
        nearest = np.minimum(np.abs(prose_at[next_prose] - positions), np.abs(positions - prose_at[previous_prose]))
        distance = libm.log1p(nearest)
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
