"""cleaners.agreement: trafilatura's text trimmed and completed where readability agrees; left alone where not."""

from __future__ import annotations

import pytest

from cleaners.agreement import MAX_TRIMMED_WORDS, MIN_AGREEMENT, combine, second_opinion, words
from cleaners.html import (
    EXTRACTOR_AGREEMENT,
    EXTRACTOR_PAGE_TEXT,
    EXTRACTOR_READABILITY,
    EXTRACTOR_TRAFILATURA,
    extract_html,
)
from cleaners.metrics import score_page

from .conftest import EVAL_DEV

BODY = [
    "The council voted on Tuesday to close the old library after forty years of service to the town.",
    "Residents packed the hall for three hours, and many of them asked the members to delay the decision.",
    "The building will be sold next spring, and the money will pay for a new reading room at the school.",
]
# Long enough to count as running prose (20+ words, ends like a sentence, few links).
DROPPED = ("Librarians said the move had been planned for years, but that the town had never told readers "
           "when the doors would finally close or where the local history archive would go.")


def fragment(*paragraphs: str) -> str:
    return "<div>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>"


def test_full_agreement_changes_nothing() -> None:
    text = "\n".join(BODY)
    agreed = combine(text, second_opinion(fragment(*BODY)))
    assert agreed.text == text and not agreed.changed and agreed.agreement == 1.0


def test_edge_lines_the_second_extractor_lacks_are_trimmed() -> None:
    long_body = BODY * 3  # the edges are a small share of the words, as on a real article
    text = "\n".join(["Photo: the old library in 1985", *long_body, "Sign up for our newsletter"])
    agreed = combine(text, second_opinion(fragment(*long_body)))
    assert agreed.text == "\n".join(long_body)
    assert agreed.lines_trimmed == 2 and agreed.blocks_added == 0


def test_a_long_edge_paragraph_the_second_extractor_lacks_stays() -> None:
    """Trimming takes what slips in at the edges (a caption, a newsletter box), never a paragraph longer than
    MAX_TRIMMED_WORDS: that is as likely the article's own opening, where the two extractors disagree on where the
    article starts (a dev page lost its only body paragraph this way once the agreement bar was lowered)."""
    long_body = BODY * 12
    opening = " ".join([DROPPED] * 4)
    assert len(words(opening)) > MAX_TRIMMED_WORDS
    text = "\n".join(["Photo: the old library in 1985", opening, *long_body, "Sign up for our newsletter"])
    agreed = combine(text, second_opinion(fragment(*long_body)))
    assert agreed.agreement >= MIN_AGREEMENT
    assert agreed.text == "\n".join([opening, *long_body])
    assert agreed.lines_trimmed == 2


def test_a_middle_line_the_second_extractor_lacks_stays() -> None:
    """Only the edges are trimmed: inside the agreed article the first extractor keeps its word."""
    long_body = BODY * 4  # enough agreed words that one extra middle line keeps agreement above the bar
    text = "\n".join([*long_body[:6], "Read more: council news", *long_body[6:]])
    agreed = combine(text, second_opinion(fragment(*long_body)))
    assert agreed.agreement >= MIN_AGREEMENT
    assert agreed.text == text and not agreed.changed


def test_dropped_prose_is_added_back_in_reading_order() -> None:
    text = "\n".join([BODY[0], BODY[2]])
    agreed = combine(text, second_opinion(fragment(BODY[0], DROPPED, BODY[2])))
    assert agreed.text.split("\n") == [BODY[0], DROPPED, BODY[2]]
    assert agreed.blocks_added == 1


def test_prose_after_the_last_agreed_line_is_added_at_the_end() -> None:
    text = "\n".join(BODY)
    agreed = combine(text, second_opinion(fragment(*BODY, DROPPED)))
    assert agreed.text.split("\n") == [*BODY, DROPPED]


def test_a_lone_paragraph_next_to_a_long_article_is_not_added() -> None:
    """One extra paragraph beside a long article is more often a bio or promo box than lost body text."""
    long_body = BODY * 6
    text = "\n".join(long_body)
    agreed = combine(text, second_opinion(fragment(*long_body, DROPPED)))
    assert agreed.text == text and agreed.blocks_added == 0


@pytest.mark.parametrize("block", [
    "Read our coverage of the council elections and more local news.",  # short: a teaser, not prose
    f'<a href="/a">{DROPPED[:120]}</a>{DROPPED[120:]}',  # mostly link text: a teaser list item
    DROPPED.rstrip(".") + " and more",  # does not end like a sentence
])
def test_blocks_that_are_not_prose_are_not_added(block: str) -> None:
    text = "\n".join([BODY[0], BODY[2]])
    agreed = combine(text, second_opinion(fragment(BODY[0], block, BODY[2])))
    assert agreed.text == text and agreed.blocks_added == 0


def test_prose_before_the_agreed_article_is_not_added() -> None:
    """Before the article both extractors found sit the dek and captions: not body, even when prose-like."""
    agreed = combine("\n".join(BODY), second_opinion(fragment(DROPPED, *BODY)))
    assert agreed.text == "\n".join(BODY) and agreed.blocks_added == 0


def test_disagreeing_extractors_leave_the_first_text_alone() -> None:
    other = ["A different story about the football club and its new stadium plans for the coming seasons.",
             DROPPED]
    text = "\n".join([*BODY, "Sign up for our newsletter"])
    agreed = combine(text, second_opinion(fragment(*other)))
    assert agreed.agreement < MIN_AGREEMENT
    assert agreed.text == text and not agreed.changed


@pytest.mark.parametrize("broken", ["", "   ", "<div></div>", "<!-- only a comment -->", "<p>\x00</p>",
                                    "<html><head></head></html>"])
def test_empty_or_broken_second_opinion_leaves_the_text_alone(broken: str) -> None:
    text = "\n".join(BODY)
    assert combine(text, second_opinion(broken)).text == text


def test_extractor_column_says_which_path_produced_the_text() -> None:
    page = "<html><body><article>{}</article><footer>Sign up for our newsletter</footer></body></html>"
    agreed = extract_html(page.format("".join(f"<p>{p}</p>" for p in BODY * 2)))
    assert agreed.extractor in {EXTRACTOR_TRAFILATURA, EXTRACTOR_AGREEMENT}
    assert "forty years" in agreed.text
    tiny = extract_html("<html><body><p>Just a line.</p></body></html>")
    assert tiny.extractor in {EXTRACTOR_READABILITY, EXTRACTOR_PAGE_TEXT}
    assert tiny.flags and tiny.flags[0].startswith("extractor_fallback")
    assert "Just a line." in tiny.text


def test_on_dev_pages_agreement_beats_trafilatura_alone() -> None:
    """Measured on the labelled dev pages: every page the agreement changed, scored against trafilatura's text."""
    pages = sorted(EVAL_DEV.glob("*.html"))[:40]
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    import trafilatura

    changed = better = worse = 0
    gain = 0.0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        gold = page.with_name(page.name.replace(".html", ".gold.txt")).read_text(encoding="utf-8")
        ours = extract_html(html)
        if ours.extractor != EXTRACTOR_AGREEMENT:
            continue
        alone = trafilatura.extract(html, include_comments=False, favor_precision=True) or ""
        changed += 1
        delta = score_page(gold, ours.text).f1 - score_page(gold, alone).f1
        better += delta > 0
        worse += delta < 0
        gain += delta
    assert changed >= 5, changed
    assert better > worse and gain > 0, (better, worse, gain)
