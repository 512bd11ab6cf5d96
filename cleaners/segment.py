"""Split decoded capture text into non-blank lines that keep their offsets."""

from __future__ import annotations

from cleaners.model import Line, Page


def segment(text: str) -> Page:
    """Return the page's non-blank lines, stripped, with offsets into `text`."""
    lines: list[Line] = []
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
            blank_before = False
        else:
            blank_before = True
        if nl == -1:
            break
        pos = nl + 1
    return Page(text, tuple(lines))
