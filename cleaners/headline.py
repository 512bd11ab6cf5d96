"""Removes the headline line and its repeats in the body (the headline goes to `title`), and in an extractor's
text the lines repeating the title the page states."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from cleaners.base import Cleaner, claimed_line_indexes, ends_like_sentence, line_removal, normalise, word_count
from cleaners.model import Line, Page, Removal
from cleaners.rules.matcher import PageHits

# A breadcrumb trail ("News » World » Title") or menu links glued together by the page dump
# ("HomeSPORT NEWS"): navigation, never the headline itself.
BREADCRUMB = re.compile(r"[»›]|\s[>/|]\s|[a-z][A-Z][A-Z]")


class HeadlineCleaner(Cleaner):
    """Picks the title among the header lines, then removes every line that repeats it."""

    category = "headline"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """The title line (`headline.title_line`) and its repeats (`headline.repeat`)."""
        claimed = claimed_line_indexes(page, prior)
        keys = [normalise(line.text) for line in page.lines]  # once, for the repeat counts and the repeats
        title = find_title_line(
            page, claimed, self.config.header_scan_lines, self.rules.get("headline.title_line").params, keys
        )
        if title is None:
            return []
        key = keys[title.index]
        out = [line_removal(title, self.category, "headline.title_line")]
        for line in page.lines:
            if line.index != title.index and line.index not in claimed and keys[line.index] == key:
                out.append(line_removal(line, self.category, "headline.repeat"))
        return out


class StatedTitleCleaner(Cleaner):
    """An extractor's text: removes the lines that repeat the title the page states (`page.stated_title`).

    For HTML the extractor sets the headline apart as metadata, but its text often opens with the headline again
    (an `<h1>` or a `<p>` inside the article container). The header heuristics of `HeadlineCleaner` stay off there
    (they would take a sub-heading for the headline); the stated title is known instead.
    """

    category = "headline"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """Lines identical (ignoring case and spacing) to the stated title (`headline.stated_title`). A title of
        fewer than `min_words` words ("Review", "News") is too often a section heading of its own."""
        key = normalise(page.stated_title or "")
        if len(key.split()) < self.rules.get("headline.stated_title").params["min_words"]:
            return []
        return [
            line_removal(line, self.category, "headline.stated_title")
            for line in page.lines
            if normalise(line.text) == key
        ]


def is_headline_shaped(text: str, params: dict[str, int]) -> bool:
    """A line that reads like a headline: a few words, capitalised, not ending like a sentence.

    Two params widen it where set: `uncased_first_letter` lets it open with a letter of a script without capitals
    (Korean, Japanese, Chinese), and `cut_short_end` lets it end with an ellipsis ("..", "…"), as a listed title
    cut to fit its box does."""
    n = word_count(text)
    if not params["min_words"] <= n <= params["max_words"] or len(text) > params["max_chars"]:
        return False
    first = text[0]
    uncased = params.get("uncased_first_letter") and first.isalpha() and not first.islower()
    if not (first.isupper() or first.isdigit() or first in "\"'“‘«" or uncased):
        return False
    cut_short = params.get("cut_short_end") and text.endswith(("..", "…"))
    if (text[-1] in ".,:;|" and not cut_short) or text.casefold().startswith("by "):
        return False
    if BREADCRUMB.search(text):
        return False
    return sum(ch.isalpha() for ch in text) >= len(text) // 2


def find_title_line(page: Page, claimed: set[int], scan_lines: int, params: dict[str, int],
                    keys: Sequence[str] | None = None) -> Line | None:
    """The headline: a header line repeated later in the page, else the first headline-shaped line
    of at least `prefer_words` words (menu items and bylines are shorter), else the longest one.

    `keys`: every line's `normalise`d text, when the caller has them."""
    header: list[Line] = []
    for line in page.lines[:scan_lines]:
        if word_count(line.text) >= params["body_min_words"] and ends_like_sentence(line.text):
            break  # the body has started
        header.append(line)
    candidates = [ln for ln in header if ln.index not in claimed and is_headline_shaped(ln.text, params)]
    if not candidates:
        return None
    if keys is None:
        keys = [normalise(line.text) for line in page.lines]
    counts = Counter(keys)
    repeated = [ln for ln in candidates if counts[keys[ln.index]] > 1]
    if repeated:
        return repeated[0]
    # A first line with nothing above it and no repeat that ends like a question or an exclamation
    # is as likely the body's own opening ("What Does Stadia Offer?") as a headline: keep it.
    candidates = [ln for ln in candidates if ln.index > 0 or ln.text[-1].isalnum()]
    substantial = [ln for ln in candidates if word_count(ln.text) >= params["prefer_words"]]
    if substantial:
        return substantial[0]
    return max(candidates, key=lambda ln: (word_count(ln.text), -ln.index)) if candidates else None
