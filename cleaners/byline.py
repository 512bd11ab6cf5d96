"""Removes byline lines: reporting credits, reporter contact lines, the article's metadata lines and author boxes.

Every rule is data in `cleaners/rules/byline.toml`; this module names the category and reads an author box's
structure (a header, the writer's name, a biography that names the writer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from cleaners.base import Cleaner, claimed_line_indexes, line_removal, word_count
from cleaners.line_features import is_prose
from cleaners.model import Line, Page, Removal
from cleaners.rules import Rule
from cleaners.rules.matcher import PageHits

# A writer's handle alone on its line, as author boxes print it under the name.
HANDLE = re.compile(r"@\w{2,30}")


class BylineCleaner(Cleaner):
    """Reporting credits ('Additional reporting by …', '… contributed to this report'), contact lines, metadata
    lines ('Posted by …', 'Updated: 18 Nov 2019 9:38 pm', '5 min read', 'Tags: …') and author boxes."""

    category = "byline"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """Pattern matches, plus each author box: its header, the writer's name and handle, and the biography."""
        out = super().find(page, prior, hits)
        rule = self.rules.get("byline.author_box")
        # Only a line that opens with a header's first words can open a box: a cheap test before the pattern.
        starts_box = tuple(rule.params["header_starts"])
        candidates = [line for line in page.lines
                      if line.text.lstrip()[:24].casefold().startswith(starts_box)
                      and word_count(line.text) <= rule.params["max_header_words"]]
        if not candidates:
            return out
        starts = {r.start for r in out}
        taken = claimed_line_indexes(page, prior) | {line.index for line in page.lines if line.start in starts}
        prose_before: np.ndarray | None = None
        for line in candidates:
            if line.index in taken:
                continue
            box = author_box(page.lines, line, rule, taken)
            if not box:
                continue
            if prose_before is None:  # counted once per page, and only for a page with a box
                prose_before = np.cumsum([len(each.text) if is_prose(each.text) else 0 for each in page.lines])
            # An author box closes the article: a header with most of the page's prose still below it is the article's
            # own sub-heading ("About Apple Music" over a paragraph about it), not a box about the writer.
            if prose_before[line.index] < rule.params["min_prose_before"] * prose_before[-1]:
                continue
            taken.update(box_line.index for box_line in box)
            out.extend(line_removal(box_line, self.category, rule.id) for box_line in box)
        return out


def author_box(lines: Sequence[Line], header: Line, rule: Rule, taken: set[int]) -> list[Line]:
    """The header and the lines of the author box it opens, or [] when no line under it is a biography naming the
    writer (the name in the header, else the name-shaped line right under it)."""
    found = rule.pattern.fullmatch(header.text.strip())
    if not found:
        return []
    params = rule.params
    box = [header]
    following = [line for line in lines[header.index + 1 : header.index + 1 + params["max_lines"]]
                 if line.index not in taken]
    name = found.group("name")
    if name is None:  # "About the author": the name stands on the next line
        if not following or not is_name_shaped(following[0].text, params["max_name_words"]):
            return []
        name = following[0].text
        box.append(following.pop(0))
    name_words = [word for word in re.split(r"\s+", name.strip()) if len(word) > 1 and word[0].isupper()]
    biography = False
    for line in following:
        text = line.text.strip()
        if HANDLE.fullmatch(text):
            box.append(line)
        elif word_count(text) >= params["min_bio_words"] and any(word in text for word in name_words):
            box.append(line)
            biography = True
        else:
            break
    return box if biography else []


def is_name_shaped(text: str, max_words: int) -> bool:
    """A person's name alone on its line: two to `max_words` words, each capitalised, nothing else."""
    words = text.split()
    return 2 <= len(words) <= max_words and all(word[0].isupper() and word.replace(".", "").replace("-", "")
                                                 .replace("'", "").replace("’", "").isalpha() for word in words)
