"""Split decoded capture text into non-blank lines that keep their offsets.

A dump hard-wrapped at a fixed width (`lynx -dump`, `w3m -dump`, `html2text`, an e-mail body) carries each paragraph
as several lines, each breaking where the next word would not have fit. Every line then looked like a fragment (no
sentence end, a few words), and the line model kept only 0.79 F1 of such dumps against 0.91 of the same pages
unwrapped. So a wrapped dump's lines are joined back into the paragraphs they were cut from: a `Line` then spans
several lines of the text (its `text` joins their contents with a space; `start`/`end` still cover the original).

A dump that puts every text node on its own line (BeautifulSoup's `get_text("\\n")`, the most common way to dump a
page) breaks a paragraph at each link, bold word or footnote mark: "The report" / "said" / ", however," / "that...".
Such a dump is told by the lines that open with the punctuation that continues a sentence (a comma, a full stop,
a closing bracket) right after a line that ends mid-sentence, which a dump of blocks almost never has. Its lines
are then joined back where the next line continues the sentence: it opens with such punctuation or a lower-case
letter, and the line before does not end like a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

from cleaners.model import Line, Page
from cleaners.text_shape import is_prose_end, marks_paragraphs

# Columns a hard-wrapping tool may use: lynx, w3m and html2text wrap at 72-80, some tools at up to ~132.
WRAP_WIDTH_RANGE = (60, 200)
# A dump is hard-wrapped when at least this share of its lines that hold a space (and at least MIN_WRAPPED_LINES)
# end within WRAP_MARGIN columns of the widest of them: a wrapper fills lines to its width, while free text ends
# its lines wherever its paragraphs end.
WRAPPED_SHARE = 0.25
MIN_WRAPPED_LINES = 5
WRAP_MARGIN = 20
# ...and when most of those full lines break mid-sentence: a wrapper breaks wherever the width falls, so few of its
# lines end like a sentence, while a run of similar sentences or list items, one per line, all do.
MAX_SENTENCE_END_SHARE = 0.5
# A line that opens with punctuation continuing a sentence (followed by a space, the line's end or more closing
# punctuation: ". Cleveland", ", however", ")."; not "...", ".NET" or "%"), after a line that ends mid-sentence.
# Chinese and Japanese write their commas, full stops and closing brackets with no space after them
# ("記者会見" / "、新たな対策を発表した。"), and none of them ever opens a sentence: they continue one wherever
# they stand.
CONTINUING_PUNCTUATION = re.compile(r"[,.;:!?)\]](?=$|\s|[,.;:!?)\]\"”’])(?!\.\.)|[、，。．；：！？）」』】〉》]")
# A dump breaks lines at inline elements when at least this many lines open that way. None of the 126 eval dumps
# of blocks has a single one; the same pages dumped node by node have 0-49 (median 2; 95 of 126 have one or more):
# one at each link or bold word that ends a clause. One is enough: a dump of blocks wrongly taken for one loses
# little (all 126 eval dumps joined where a sentence runs on, 56 of them changed: CV F1 0.9278 against 0.9301),
# while a dump of nodes missed keeps its paragraphs in pieces (those dumps: 0.8997 with 1, 0.8961 with 2).
MIN_LINK_BREAKS = 1
# A link's address is written in lower case but continues no sentence: it stands on its own line.
ADDRESS_START = re.compile(r"(?:https?://|www\.)", re.IGNORECASE)


def segment(text: str) -> Page:
    """Return the page's non-blank lines, stripped, with offsets into `text` (the lines of a hard-wrapped dump, or
    of one broken at inline elements, joined into the paragraphs they were cut from)."""
    lines: list[Line] = []
    columns: list[int] = []  # where each line's content ends, indentation included (what a wrapper counts)
    pos = 0
    blank_before = True  # the start of the text counts as a paragraph break
    length = len(text)
    while pos <= length:
        nl = text.find("\n", pos)
        line_end = length if nl == -1 else nl
        raw = text[pos:line_end]
        stripped = raw.strip()
        if stripped:
            start = pos + (len(raw) - len(raw.lstrip()))
            end = start + len(stripped)
            lines.append(Line(len(lines), start, end, stripped, blank_before))
            columns.append(end - pos)
            blank_before = False
        else:
            blank_before = True
        if nl == -1:
            break
        pos = nl + 1
    width = wrap_width(lines, columns)
    if width is not None:
        lines = _unwrapped(lines, columns, width)
    elif breaks_at_inline_elements(lines):
        lines = _rejoined(lines)
    return Page(text, tuple(lines))


def wrap_width(lines: list[Line], columns: list[int]) -> int | None:
    """The width the text was hard-wrapped at (the widest line holding a space), or None when it was not."""
    spaced = [column for line, column in zip(lines, columns, strict=True) if " " in line.text]
    if len(spaced) < MIN_WRAPPED_LINES:
        return None
    width = max(spaced)
    if not WRAP_WIDTH_RANGE[0] <= width <= WRAP_WIDTH_RANGE[1]:
        return None
    full = [line.text for line, column in zip(lines, columns, strict=True)
            if " " in line.text and column > width - WRAP_MARGIN]
    if len(full) < max(MIN_WRAPPED_LINES, WRAPPED_SHARE * len(spaced)):
        return None
    ending = sum(1 for text in full if is_prose_end(text))
    return width if ending <= MAX_SENTENCE_END_SHARE * len(full) else None


def _unwrapped(lines: list[Line], columns: list[int], width: int) -> list[Line]:
    """The lines joined where the wrapper broke them: no blank line between, and the next line's first word would
    not have fit on this one."""
    out: list[Line] = []
    run = [lines[0]]
    for column, line in zip(columns, lines[1:], strict=False):  # the column where the line before `line` ends
        first_word = line.text.split(None, 1)[0]
        if not line.blank_before and column + 1 + len(first_word) > width:
            run.append(line)
            continue
        out.append(_joined(run, len(out)))
        run = [line]
    out.append(_joined(run, len(out)))
    return out


def breaks_at_inline_elements(lines: list[Line]) -> bool:
    """Whether the dump puts every text node on its own line (see MIN_LINK_BREAKS)."""
    breaks = 0
    for before, line in pairwise(lines):
        if not is_prose_end(before.text) and CONTINUING_PUNCTUATION.match(line.text):
            breaks += 1
            if breaks >= MIN_LINK_BREAKS:
                return True
    return False


def _continues(before: str, line: str) -> bool:
    """`line` carries on the sentence `before` left open: it opens with continuing punctuation, or in lower case
    and not with a link's address (ADDRESS_START)."""
    return not is_prose_end(before) and (
        CONTINUING_PUNCTUATION.match(line) is not None or (line[0].islower() and ADDRESS_START.match(line) is None))


def _rejoined(lines: list[Line]) -> list[Line]:
    """The lines joined where a sentence runs on from one to the next (never across a blank line that marks a
    paragraph; a dump with a blank line between all its lines says nothing by them)."""
    paragraph_marks = marks_paragraphs([line.blank_before for line in lines])
    out: list[Line] = []
    run = [lines[0]]
    for line in lines[1:]:
        if (not line.blank_before or not paragraph_marks) and _continues(run[-1].text, line.text):
            run.append(line)
            continue
        out.append(_joined(run, len(out), _inline_join))
        run = [line]
    out.append(_joined(run, len(out), _inline_join))
    return out


def _inline_join(texts: list[str]) -> str:
    # A node that opens with punctuation was written against the text before it ("Pouncey" + ". Cleveland"). The
    # pieces are joined once (a run may be a whole hostile capture: repeated += could copy it once per line).
    pieces = [texts[0]]
    for text in texts[1:]:
        pieces.append(text if CONTINUING_PUNCTUATION.match(text) else " " + text)
    return "".join(pieces)


def _joined(run: list[Line], index: int, join: Callable[[list[str]], str] = " ".join) -> Line:
    if len(run) == 1:
        return Line(index, run[0].start, run[0].end, run[0].text, run[0].blank_before)
    return Line(index, run[0].start, run[-1].end, join([line.text for line in run]), run[0].blank_before)
