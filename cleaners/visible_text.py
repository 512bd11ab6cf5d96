"""An HTML page's visible text, one block per line: the page dump a crawler keeps, and the line model's input.

When neither extractor finds an article, the page's visible text is all there is, and it goes through the text
path like any page dump (the line model included). The line model learned from dumps made one way (see
`../shared/eval/README.md`): block elements start a line, paragraph-like blocks are set off by a blank line,
inline elements run on inside a line. A dump that splits lines another way (every text node on its own line,
as BeautifulSoup's `get_text("\\n")` does) cuts a paragraph at each link and reads worse. This module makes the
dump that way:
- elements that never show (`<head>`, `<script>`, `<style>`…) and elements hidden by the `hidden` attribute or an
  inline `display:none` / `visibility:hidden` style are left out;
- whitespace runs inside text collapse to one space (kept in `<pre>`);
- a block element starts and ends a line, a paragraph-like one a blank line; `<br>` ends a line, and a second
  break with no text since (`<br><br>`, a `<br>` closing a block) leaves a blank line;
- lines are stripped, and runs of blank lines collapse to one.

Pure: markup in, text out. The walk keeps its own stack, so no nesting depth can exhaust Python's recursion.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bs4.element import PageElement, Tag

# Elements that never carry visible text.
INVISIBLE_ELEMENTS = frozenset({"head", "title", "script", "style", "noscript", "template", "iframe", "svg", "canvas",
                                "object", "embed"})
# Elements that start and end a line.
BLOCK_ELEMENTS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup",
    "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "option", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
# Block elements that are also set off by a blank line.
PARAGRAPH_ELEMENTS = frozenset({"article", "aside", "blockquote", "details", "dl", "figure", "footer", "form", "h1",
                                "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre",
                                "section", "table", "ul"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")

# Pending breaks between two pieces of text, weakest first.
_NO_BREAK, _LINE, _BLANK_LINE, _LINE_AFTER_BR = 0, 1, 2, 3


class _Lines:
    """The dump's lines as they are made: text pieces of the current line and the break owed before the next."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.pending = _NO_BREAK

    def brk(self, level: int) -> None:
        if self.pending == _LINE_AFTER_BR or (self.pending != _NO_BREAK and level == _LINE_AFTER_BR):
            self.pending = _BLANK_LINE  # a <br>, then another break with no text between: an empty line
        else:
            self.pending = max(self.pending, level)

    def text(self, piece: str, collapse: bool = True) -> None:
        if self.pending != _NO_BREAK:
            line = "".join(self.current).strip()
            self.current.clear()
            if line:
                self.lines.append(line)
                if self.pending == _BLANK_LINE:
                    self.lines.append("")
            self.pending = _NO_BREAK
        self._append(piece, collapse)

    def space(self) -> None:
        """Whitespace between elements counts only inside a line (it never opens one)."""
        if self.current and self.pending == _NO_BREAK:
            self._append(" ", True)

    def _append(self, piece: str, collapse: bool) -> None:
        # A browser collapses a space that ends one inline element with one that starts the next.
        if collapse and piece.startswith(" ") and self.current and self.current[-1].endswith(" "):
            piece = piece[1:]
        if piece:
            self.current.append(piece)


def is_hidden(tag: Tag) -> bool:
    """The element never shows: an invisible kind, the `hidden` attribute, or an inline style that hides it."""
    if tag.name in INVISIBLE_ELEMENTS or tag.has_attr("hidden"):
        return True
    style = tag.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None


def visible_text(html: str | bytes) -> str:
    """The visible text of a page, one block element per line, paragraphs set off by blank lines."""
    from bs4 import BeautifulSoup
    from bs4.element import CData, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    not_text = (CData, Comment, Declaration, Doctype, ProcessingInstruction)

    soup = BeautifulSoup(html, "lxml")
    out = _Lines()
    # per open element: its children still to walk, whether it is inside <pre>, the break owed when it closes
    stack: list[tuple[Iterator[PageElement], bool, int]] = [(iter(soup.children), False, _NO_BREAK)]
    while stack:
        children, in_pre, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if closing != _NO_BREAK:
                out.brk(closing)
            continue
        if isinstance(child, NavigableString):
            if isinstance(child, not_text):
                continue  # markup, not text on the page
            if in_pre:
                for i, part in enumerate(str(child).split("\n")):
                    if i:
                        out.brk(_LINE)
                    if part:
                        out.text(part, collapse=False)
            else:
                piece = _WHITESPACE.sub(" ", str(child))
                if piece.strip():
                    out.text(piece)
                else:
                    out.space()
            continue
        if not isinstance(child, Tag) or is_hidden(child):
            continue
        if child.name == "br":
            out.brk(_LINE_AFTER_BR)
            continue
        name = child.name
        level = _BLANK_LINE if name in PARAGRAPH_ELEMENTS else _LINE if name in BLOCK_ELEMENTS else _NO_BREAK
        if level != _NO_BREAK:
            out.brk(level)
        stack.append((iter(child.children), in_pre or name == "pre", level))
    out.brk(_LINE)
    out.text("")
    return _tidy(out.lines)


def _tidy(lines: list[str]) -> str:
    """Stripped lines, runs of blank lines as one, none at the ends."""
    tidy: list[str] = []
    blank = False
    for raw in lines:
        line = raw.strip()
        if not line:
            blank = True
            continue
        if blank and tidy:
            tidy.append("")
        tidy.append(line)
        blank = False
    return "\n".join(tidy)
