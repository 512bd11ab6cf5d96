"""HTML captures: decode, extract the main text and metadata with trafilatura checked by readability, or fall back.

trafilatura (precision mode) extracts the body and the metadata; readability-lxml gives a second opinion that trims
and completes it (cleaners.agreement). When trafilatura finds too little, readability's text is used, and when
that is too little as well, the page's visible text (for our text cleaners). Pure: HTML in, text and metadata out;
nothing is fetched (neither library follows a URL here).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cleaners.agreement import combine, second_opinion
from cleaners.decode import decode_capture, repair_encoding
from cleaners.model import Decoded, Rejection
from cleaners.visible_text import visible_text

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

# trafilatura, readability and BeautifulSoup are imported where they are used: a run over text captures
# (page dumps, WET archives) never needs them, and importing them costs every cleaning process about
# 50 MB (measured with ru_maxrss; a backfill holds one such process per Dask worker).

EXTRACTOR_TRAFILATURA = "trafilatura"
EXTRACTOR_AGREEMENT = "trafilatura+readability"  # trafilatura's text trimmed or completed by readability's
EXTRACTOR_READABILITY = "readability"
EXTRACTOR_PAGE_TEXT = "page_text"
EXTRACTORS = (EXTRACTOR_TRAFILATURA, EXTRACTOR_AGREEMENT, EXTRACTOR_READABILITY, EXTRACTOR_PAGE_TEXT)
# An extractor below this many characters usually missed the article (a teaser, a list page, or
# markup it does not understand): the next one in line is tried.
MIN_EXTRACTED_CHARS = 200


@dataclass(frozen=True)
class Extracted:
    """Main text of an HTML page and the metadata the page states about itself."""

    text: str
    extractor: str
    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    author: str | None = None
    url: str | None = None
    flags: tuple[str, ...] = ()


def decode_html(data: bytes, declared_charset: str | None, max_bytes: int) -> Decoded | Rejection:
    """Decode HTML bytes: the charset the HTTP header or a <meta> tag declares, else detection."""
    charset = declared_charset or _meta_charset(data[:4096])
    if charset:
        try:
            text = data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            if not text.strip():
                return Rejection("empty", "the page holds only whitespace")
            return Decoded(text, charset, (f"charset_declared:{charset.lower()}",))
    return decode_capture(data, max_bytes, repair_mojibake=False)


def _soup(markup: str | bytes, parser: str) -> BeautifulSoup:
    from bs4 import BeautifulSoup

    return BeautifulSoup(markup, parser)


def _meta_charset(head: bytes) -> str | None:
    soup = _soup(head, "html.parser")
    meta = soup.find("meta", charset=True)
    if meta is not None:
        return str(meta.get("charset")).strip() or None
    for tag in soup.find_all("meta", attrs={"http-equiv": True}):
        if str(tag.get("http-equiv")).lower() == "content-type":
            content = str(tag.get("content", ""))
            for part in content.split(";"):
                key, _, value = part.strip().partition("=")
                if key.lower() == "charset" and value:
                    return value.strip()
    return None


def readability_fragment(html: str) -> str:
    """readability-lxml's article of the page as an HTML fragment ("" when it finds none)."""
    from readability import Document

    try:
        return str(Document(html).summary(html_partial=True))
    except Exception:  # readability raises its own Unparseable, lxml's and parser errors on broken pages
        return ""


@contextmanager
def quiet_trafilatura() -> Iterator[None]:
    """Silence the FutureWarning lxml raises on the element truth-testing inside trafilatura, for this block only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def trafilatura_extraction(html: str, url: str | None = None) -> Extracted:
    """trafilatura's text of the page (precision mode, comments off) and the metadata it reads from it."""
    import trafilatura

    with quiet_trafilatura():
        # Precision mode: on the dev pages its misses are fewer than the boilerplate the default mode lets in
        # (F1 0.957 -> 0.968), and readability's second opinion (extract_html) restores what it drops.
        doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True,
                                          favor_precision=True)
    meta: dict[str, object] = {}
    if isinstance(doc, dict):
        meta = doc
    elif doc is not None:
        meta = doc.as_dict()

    def field(name: str) -> str | None:
        value = meta.get(name)
        return str(value).strip() or None if value else None

    return Extracted(str(meta.get("text") or ""), EXTRACTOR_TRAFILATURA, field("title"), field("description"),
                     field("sitename"), field("author"), field("url") or url)


def extract_html(html: str, url: str | None = None) -> Extracted:
    """The article text of a page: trafilatura checked by readability, else readability, else its visible text."""
    first = trafilatura_extraction(html, url)
    text = first.text
    fragment = readability_fragment(html)
    opinion = second_opinion(fragment)
    extractor = EXTRACTOR_TRAFILATURA
    flags: list[str] = []
    if len(text.strip()) >= MIN_EXTRACTED_CHARS:
        agreed = combine(text, opinion)
        if agreed.changed:
            text, extractor = agreed.text, EXTRACTOR_AGREEMENT
            flags.append(f"extractor_agreement: readability confirmed {agreed.agreement:.0%}; "
                         f"{agreed.lines_trimmed} edge lines trimmed, {agreed.blocks_added} paragraphs added")
    else:
        reason = "empty" if not text.strip() else f"{len(text.strip())} chars"
        text = visible_text(fragment) if opinion.words else ""  # all its text, not only its paragraphs
        extractor = EXTRACTOR_READABILITY
        flags.append(f"extractor_fallback: trafilatura gave {reason}")
        if len(text.strip()) < MIN_EXTRACTED_CHARS:
            flags[-1] += f", readability {len(text.strip())} chars"
            text, extractor = visible_text(html), EXTRACTOR_PAGE_TEXT
    text, repaired = repair_encoding(text)
    if repaired:
        flags.append("mojibake_repaired")
    return replace(first, text=text, extractor=extractor, flags=tuple(flags))


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value ('text/html; charset=UTF-8' → 'UTF-8')."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip().strip("\"'"):
            return value.strip().strip("\"'")
    return None


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header value, lower-cased ('' when absent)."""
    return (content_type or "").split(";")[0].strip().lower()
