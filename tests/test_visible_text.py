"""An HTML page's visible text is dumped the way the line model's training dumps were made."""

from __future__ import annotations

import pytest

from cleaners.html import EXTRACTOR_PAGE_TEXT, extract_html
from cleaners.visible_text import visible_text

from .conftest import EVAL_DEV


def test_the_dump_of_every_dev_page_is_its_eval_page_dump_byte_for_byte() -> None:
    """Real captures: `<id>.html` gives exactly `<id>.page.txt` (the line model learned from these dumps)."""
    pages = sorted(EVAL_DEV.glob("*.html"))
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    differing = []
    for html in pages:
        expected = html.with_name(html.name[: -len(".html")] + ".page.txt").read_text(encoding="utf-8")
        if visible_text(html.read_text(encoding="utf-8")) + "\n" != expected:
            differing.append(html.name)
    assert not differing and len(pages) >= 100, differing


def test_the_html_fallback_uses_this_dump() -> None:
    """A page where both extractors find too little (a menu and one short line) is cleaned as this dump."""
    markup = ("<html><body><nav><ul>" + "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(30))
              + "</ul></nav><p>One <a href='/x'>link</a> inside.</p></body></html>")
    extracted = extract_html(markup)
    assert extracted.extractor == EXTRACTOR_PAGE_TEXT
    assert extracted.text == visible_text(markup)
    assert extracted.text.endswith("Section 29\n\nOne link inside.")


@pytest.mark.parametrize(("markup", "expected"), [
    # inline elements run on inside a line; whitespace runs collapse, also across element boundaries
    ("<p>Read  the <a href='/a'>full\n story </a> <b>here</b>.</p>", "Read the full story here."),
    # a block starts and ends a line; nested and adjacent blocks make no blank line
    ("<div>Home</div><div><div>News</div></div><li>Sport</li>", "Home\nNews\nSport"),
    # a paragraph-like block is set off by a blank line
    ("<div>Menu</div><p>First paragraph.</p><p>Second.</p><div>Footer</div>",
     "Menu\n\nFirst paragraph.\n\nSecond.\n\nFooter"),
    ("<h2>Title</h2><ul><li>a</li><li>b</li></ul>", "Title\n\na\nb"),
    # <br> ends a line; two in a row, or one closing a block, leave a blank line
    ("<p>Line one<br>line two</p>", "Line one\nline two"),
    ("<div>Stanza one<br>\n<br>\nStanza two</div>", "Stanza one\n\nStanza two"),
    ("<li>Headline <br><small>May 2</small> <br><div></div></li><li>Next</li>", "Headline\nMay 2\n\nNext"),
    # what never shows is left out: invisible elements, the hidden attribute, hiding inline styles
    ("<html><head><title>T</title><style>p{}</style></head><body><script>x=1</script><p>Shown</p>"
     "<div hidden>Gone</div><span style='display: none'>Gone</span><p style='VISIBILITY:hidden'>Gone</p>"
     "<noscript>Gone</noscript><!-- a comment --><template>Gone</template></body></html>", "Shown"),
    # <pre> keeps its spaces and line breaks (lines are still stripped)
    ("<pre>def f():\n    return  1\n</pre>", "def f():\nreturn  1"),
    ("", ""),
])
def test_how_markup_becomes_lines(markup: str, expected: str) -> None:
    assert visible_text(markup) == expected


def test_nesting_deeper_than_python_recursion_is_walked() -> None:
    depth = 100_000
    markup = "<div>" * depth + "<span>" * depth + "deep text" + "</span>" * depth + "</div>" * depth
    assert visible_text(markup) == "deep text"
