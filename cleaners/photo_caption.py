"""Removes photo and video captions and credits ("X, photo via Wikimedia.", "(AP Photo/…)")."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from cleaners.base import Cleaner, claimed_line_indexes, line_removal, word_count
from cleaners.model import Page, Removal
from cleaners.rules.matcher import PageHits


class PhotoCaptionCleaner(Cleaner):
    """Credit patterns from `rules/photo_caption.toml`, plus short lines repeated back to back."""

    category = "photo_caption"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """Lines carrying a photo credit, and pairs of identical adjacent short lines (alt + caption)."""
        claimed = claimed_line_indexes(page, prior)
        out = list(self.pattern_removals(page, claimed, hits))
        taken = claimed | {page_line_index(page, r) for r in out}
        rule = self.rules.get("photo_caption.adjacent_repeat")
        min_words, max_words = int(rule.params["min_words"]), int(rule.params["max_words"])
        lines = page.lines
        for prev, line in pairwise(lines):
            if (
                line.text == prev.text
                and min_words <= word_count(line.text) <= max_words
                and prev.index not in claimed
                and line.index not in claimed
            ):
                for member in (prev, line):
                    if member.index not in taken:
                        taken.add(member.index)
                        out.append(line_removal(member, self.category, rule.id))
        return out


def page_line_index(page: Page, removal: Removal) -> int:
    """Index of the line a whole-line removal starts on."""
    for line in page.lines:
        if line.start == removal.start:
            return line.index
    return -1


class PhotoCaptionAfterModelCleaner(Cleaner):
    """The caption rules marked `after_model` in `rules/photo_caption.toml`: captions the line model kept as prose."""

    category = "photo_caption"
    takes_after_model_rules = True
