"""The field's extractors as they come, for `boilerstrip eval --baselines`: never part of the cleaning pipeline.

They are run on the same captures as boilerstrip and scored with the same metric, so the README's comparison is
measured by one command instead of quoted. Each is called with its documented defaults (trafilatura with comments
left out, readability-lxml's article, jusText with the stoplist of the page's language), not tuned here. A page
dump has no markup, so on text input each non-blank line is given to them as a `<p>` paragraph: the only way
these HTML extractors can read a dump.
"""

from __future__ import annotations

import html as html_escape
from collections.abc import Callable
from dataclasses import dataclass

from cleaners.decode import decode_capture
from cleaners.html import decode_html, quiet_trafilatura, readability_fragment
from cleaners.language import detect_language
from cleaners.model import Rejection
from cleaners.stopwords import stopwords_for
from cleaners.visible_text import visible_text

# Which reference extractors `boilerstrip eval --baselines` scores for each input.
TEXT_BASELINES = ("trafilatura", "justext")
HTML_BASELINES = ("trafilatura", "readability", "justext")


@dataclass(frozen=True)
class BaselineInput:
    """One capture as the reference extractors read it: HTML markup and the language of its text."""

    markup: str
    language: str | None


def lines_as_paragraphs(text: str) -> str:
    """A page dump as an HTML document with each non-blank line a `<p>` paragraph (its text escaped)."""
    paragraphs = "\n".join(f"<p>{html_escape.escape(line.strip())}</p>" for line in text.splitlines() if line.strip())
    return f"<html><body>\n{paragraphs}\n</body></html>"


def baseline_input(data: bytes, input_kind: str, max_bytes: int) -> BaselineInput | None:
    """What every reference extractor reads of one capture (`input_kind` `text` or `html`), decoded as boilerstrip
    decodes it (with its `max_bytes`), or None for a capture boilerstrip rejects: made once per page."""
    if input_kind == "html":
        decoded = decode_html(data, None, max_bytes)
        if isinstance(decoded, Rejection):
            return None
        return BaselineInput(decoded.text, detect_language(visible_text(decoded.text)))
    if input_kind == "text":
        dump = decode_capture(data, max_bytes)
        if isinstance(dump, Rejection):
            return None
        return BaselineInput(lines_as_paragraphs(dump.text), detect_language(dump.text))
    raise ValueError(f"unknown input kind {input_kind!r}")


def trafilatura_text(markup: str) -> str:
    """trafilatura's main text with its defaults and comments left out ("" when it finds none)."""
    import trafilatura

    with quiet_trafilatura():
        return trafilatura.extract(markup, include_comments=False) or ""


def readability_text(markup: str) -> str:
    """The visible text of readability-lxml's article ("" when it finds none)."""
    fragment = readability_fragment(markup)
    return visible_text(fragment) if fragment else ""


def justext_text(markup: str, language: str | None) -> str:
    """jusText's good paragraphs, one per line, with the stoplist of `language`.

    With no stoplist for the language, jusText's documented language-independent setting (an empty stoplist and
    both stop-word thresholds at 0) is used, so its length and link-density tests still decide.
    """
    import justext

    stoplist = stopwords_for(language)
    thresholds = {} if stoplist else {"stopwords_low": 0.0, "stopwords_high": 0.0}
    try:
        paragraphs = justext.justext(markup.encode("utf-8"), stoplist, encoding="utf-8", **thresholds)
    except Exception:  # jusText raises lxml's parser errors on markup it cannot read: it found nothing
        return ""
    return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)


BASELINES: dict[str, Callable[[BaselineInput], str]] = {
    "trafilatura": lambda page: trafilatura_text(page.markup),
    "readability": lambda page: readability_text(page.markup),
    "justext": lambda page: justext_text(page.markup, page.language),
}


def baseline_text(name: str, page: BaselineInput | None) -> str:
    """The text the reference extractor `name` keeps of one capture ("" for a capture boilerstrip rejects)."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}")
    return BASELINES[name](page) if page is not None else ""
