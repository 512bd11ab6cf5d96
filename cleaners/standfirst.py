"""Removes the standfirst (the dek under the headline); it goes to `description`."""

from __future__ import annotations

from collections.abc import Sequence

from cleaners.base import Cleaner, claimed_line_indexes, line_removal, normalise, word_count
from cleaners.metrics import shingles
from cleaners.model import Line, Page, Removal
from cleaners.rules.matcher import PageHits


class StandfirstCleaner(Cleaner):
    """Finds the summary sentence set between the headline and the body."""

    category = "standfirst"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """The dek between the title and its repeat, or right under the title when the body echoes it."""
        titles = [r for r in prior if r.category == "headline"]
        if not titles:
            return []
        claimed = claimed_line_indexes(page, prior)
        by_start = {line.start: line for line in page.lines}
        title_lines = sorted((by_start[r.start] for r in titles if r.start in by_start), key=lambda ln: ln.index)
        if not title_lines:
            return []
        first = title_lines[0]

        between = self.rules.get("standfirst.between_title_repeats")
        if len(title_lines) > 1:
            second = title_lines[1]
            if second.index - first.index - 1 <= between.params["max_gap_lines"]:
                for line in page.lines[first.index + 1 : second.index]:
                    if line.index not in claimed:
                        n = word_count(line.text)
                        if between.params["min_words"] <= n <= between.params["max_words"]:
                            return [line_removal(line, self.category, between.id)]
                        break

        echoed = self.rules.get("standfirst.echoed_in_body")
        nxt = next((ln for ln in page.lines[first.index + 1 :] if ln.index not in claimed), None)
        if (
            nxt is not None
            and nxt.index - first.index <= echoed.params["max_gap_lines"]
            and _echoed(page, nxt, echoed.params)
        ):
            return [line_removal(nxt, self.category, echoed.id)]
        return []


def _echoed(page: Page, line: Line, params: dict[str, float]) -> bool:
    """Most of the line's word 4-grams recur later in the page: a summary of the body, not its start."""
    n = word_count(line.text)
    if not params["min_words"] <= n <= params["max_words"]:
        return False
    own = set(shingles(normalise(line.text)))
    if not own:
        return False
    later = set().union(*(set(shingles(normalise(ln.text))) for ln in page.lines[line.index + 1 :]))
    return len(own & later) / len(own) >= params["min_shared"]
