"""How a line ends and whether a dump's blank lines mean anything: shapes both segmentation and the line features read.

Kept apart from `line_features` so that `segment`, which runs before any feature exists, depends only on these few
definitions, not on the feature module.
"""

from __future__ import annotations

from collections.abc import Sequence

SENTENCE_END = ".!?…。！？؟।"
CLOSING = "\"'”’»)]"
# Blank lines are the dump tool's choice: the eval's dumps set paragraphs off with them, a Common Crawl WET record
# or a `get_text("\n")` dump has none, a `"\n\n".join(...)` dump one before every line. They mark paragraphs only
# when this share of the lines after the first (neither almost none nor almost all) follows one; otherwise the
# blank-line features are unknown (NaN) and the line model's reader for such dumps takes the page
# (LineModel.unmarked), trained on the same pages without their blank lines.
PARAGRAPH_MARKS_SHARE = (0.05, 0.95)


def is_prose_end(text: str) -> bool:
    """The line ends the way a sentence does (closing quotes and brackets aside)."""
    last = text.rstrip(CLOSING)[-1:] or text[-1:]
    return last in SENTENCE_END


def marks_paragraphs(blank_before: Sequence[bool]) -> bool:
    """Whether a dump's blank lines tell paragraphs apart (see PARAGRAPH_MARKS_SHARE)."""
    after_first = blank_before[1:]
    if not after_first:
        return False
    share = sum(after_first) / len(after_first)
    return PARAGRAPH_MARKS_SHARE[0] <= share <= PARAGRAPH_MARKS_SHARE[1]
