"""Removes lists of dated entries: reader comments, other stories' cards and archive listings, each under its date.

The rule is data in `cleaners/rules/dated_entries.toml`. It runs after the byline cleaner, whose stamp rules find the
date and time lines it stands on, and after the line model (see `cleaners.pipeline.PIPELINE`), so it is measured
against the same model and names the model's cuts inside such a list.
"""

from __future__ import annotations

from collections.abc import Sequence

from cleaners.base import Cleaner, claimed_line_indexes, line_removal
from cleaners.line_features import is_prose
from cleaners.model import Page, Removal
from cleaners.rules.matcher import PageHits


class DatedEntriesCleaner(Cleaner):
    """The lines between the date lines of a run of dated entries (a comment thread, a list of teaser cards)."""

    category = "dated_entries"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """Every unclaimed line between the first and the last date line of each run of enough close date lines."""
        rule = self.rules.get("dated_entries.between_dates")
        anchor_rules = set(rule.params["anchor_rules"])
        anchor_starts = {r.start for r in prior if r.rule in anchor_rules}
        if len(anchor_starts) < rule.params["min_anchors"]:
            return []
        anchors = [line.index for line in page.lines if line.start in anchor_starts]
        claimed = claimed_line_indexes(page, prior)
        prose_chars = [len(line.text) if is_prose(line.text) else 0 for line in page.lines]
        page_prose = sum(prose_chars)
        out: list[Removal] = []
        for first, last in anchor_runs(anchors, rule.params["max_gap"], rule.params["min_anchors"]):
            entries = [line for line in page.lines[first + 1 : last] if line.index not in claimed]
            entries_prose = sum(prose_chars[line.index] for line in entries)
            # A list beside the article never holds most of the page's prose. When a run of dated entries does, it is
            # the page's own content (a live blog's updates, a diary, a changelog), and it stays.
            if entries_prose > rule.params["max_prose_share"] * page_prose:
                continue
            out.extend(line_removal(line, self.category, rule.id) for line in entries)
        return out


def anchor_runs(anchors: Sequence[int], max_gap: int, min_anchors: int) -> list[tuple[int, int]]:
    """(first, last) line index of each run of at least `min_anchors` anchor lines, each at most `max_gap` lines
    after the one before."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(anchors) + 1):
        if i == len(anchors) or anchors[i] - anchors[i - 1] > max_gap:
            if i - start >= min_anchors:
                runs.append((anchors[start], anchors[i - 1]))
            start = i
    return runs
