"""Removes the publisher's name standing alone on a line ("Washington Examiner"); it goes to `site_name`."""

from __future__ import annotations

from collections.abc import Sequence

from cleaners.base import Cleaner, claimed_line_indexes, line_removal, normalise
from cleaners.model import Line, Page, Removal
from cleaners.rules.matcher import PageHits


class SiteNameCleaner(Cleaner):
    """Finds a short title-cased line ending in a publisher word near the top or bottom of the page."""

    category = "site_name"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """The publisher line (rule `site_name.publisher_line`) and its exact repeats."""
        rule = self.rules.get("site_name.publisher_line")
        params = rule.params
        publisher_words = {w.casefold() for w in params["publisher_words"]}
        edge = int(params["edge_lines"])
        claimed = claimed_line_indexes(page, prior)
        n = len(page.lines)
        found: Line | None = None
        for line in page.lines:
            if line.index in claimed or (edge <= line.index < n - edge):
                continue
            if is_publisher_line(line.text, publisher_words, int(params["min_words"]), int(params["max_words"])):
                found = line
                break
        if found is None:
            return []
        name = normalise(found.text)
        out = [line_removal(found, self.category, rule.id)]
        repeat_id = self.rules.get("site_name.repeat").id
        for line in page.lines:
            if line.index != found.index and line.index not in claimed and normalise(line.text) == name:
                out.append(line_removal(line, self.category, repeat_id))
        return out


def is_publisher_line(text: str, publisher_words: set[str], min_words: int, max_words: int) -> bool:
    """A short name in title case whose last word is a publisher word (Press, Times, Examiner…)."""
    words = text.split()
    if not min_words <= len(words) <= max_words or len(text) > 60:
        return False
    if not text[-1].isalnum():
        return False
    if not all(w[0].isupper() or w[0].isdigit() or w.casefold() in ("the", "of", "and", "&") for w in words):
        return False
    return words[-1].casefold().strip("'’") in publisher_words
