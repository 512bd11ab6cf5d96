"""The cleaners generalise: on real full-page text dumps they raise F1 and never empty a page.

The shipped line model was trained on these pages, so its quality here is measured by cross-validation
(models trained on the other sites' pages), and the rule cleaners are checked on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from cleaners import CleanResult, Pipeline
from cleaners.base import normalise
from cleaners.byline import BylineCleaner
from cleaners.decode import decode_capture
from cleaners.model import ALL_CATEGORIES, Config, Removal
from cleaners.pipeline import OVERDELETION_FLAG
from cleaners.rules import load_rules, rule_categories

from .conftest import EVAL_DEV, load_score_module


def gold_of(dump: Path) -> str:
    """The gold body beside a page dump `<id>.page.txt`."""
    return dump.with_name(dump.name.replace(".page.txt", ".gold.txt")).read_text(encoding="utf-8")


def gold_line_keys(gold: str) -> set[str]:
    """The gold body's lines as `normalise` keys (blank lines left out)."""
    return {normalise(line) for line in gold.splitlines() if line.strip()}


class DevResult(NamedTuple):
    """One labelled dev page, cleaned once for every test of this module."""

    name: str  # the dump's file name
    gold: str
    page: str  # the page dump, decoded
    result: CleanResult  # the shipped pipeline's
    by_rules: str  # kept text with the rule cleaners alone (no line model)
    gold_result: CleanResult  # the gold body itself, cleaned as a capture


@pytest.fixture(scope="module")
def dev_results() -> list[DevResult]:
    """Every labelled dev page: its gold body, its dump, and what the pipeline makes of each."""
    pages = sorted(EVAL_DEV.glob("*.page.txt"))
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    pipeline = Pipeline()
    rules_only = Pipeline(Config(categories=tuple(c for c in ALL_CATEGORIES if c != "boilerplate")))
    out = []
    for page in pages:
        decoded = decode_capture(page.read_bytes(), 10**9)
        assert not hasattr(decoded, "reason"), page
        gold = gold_of(page)
        out.append(DevResult(
            name=page.name,
            gold=gold,
            page=decoded.text,
            result=pipeline.clean_text(decoded.text, decoded.flags),
            by_rules=rules_only.clean_text(decoded.text, decoded.flags).text,
            gold_result=pipeline.clean_text(gold),
        ))
    return out


def test_no_dev_page_is_emptied(dev_results: list[DevResult]) -> None:
    score = load_score_module()
    emptied = [dev.name for dev in dev_results if not score.tokens(dev.result.text)]
    assert emptied == []


def test_rule_cleaners_raise_f1_without_losing_body(dev_results: list[DevResult]) -> None:
    score = load_score_module()
    keep_all = score.evaluate([(dev.gold, dev.page) for dev in dev_results])
    ours = score.evaluate([(dev.gold, dev.by_rules) for dev in dev_results])
    assert ours["f1"] > keep_all["f1"] + 0.02, (ours, keep_all)
    # The category cleaners remove boilerplate, not article text: recall stays where it was.
    assert ours["recall"] >= keep_all["recall"] - 0.01, (ours, keep_all)


def test_line_model_cross_validated_on_unseen_sites() -> None:
    """Models trained on half the sites clean the other half's pages far better than the rules alone."""
    from bench.train_line_classifier import cross_validate, load_pages

    pages = load_pages(EVAL_DEV)
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    figures = cross_validate(pages, 2)
    # Measured with 2 folds, line stage alone: P 0.883, R 0.883, F1 0.883 (rules alone: 0.711); no page
    # emptied. With the context stage (logistic lr2-c6e8628e) the 5-fold figure was F1 0.899, R 0.911; with
    # gradient-boosted trees in both stages (gb2-c6bfa98c) 0.911, R 0.931; trained on line labels that no longer
    # count a short line found by chance inside the gold as body (gb2-c84bebf7) 0.911, R 0.935; with the line
    # stage splitting among a random half of the features (gb2-0ff7a2ea) 0.922, R 0.946; with news-tip requests
    # taken by a rule first (gb2-6bfe2645) 0.924, R 0.948; with wider related, share and comment rules
    # (gb2-9d75f209) 0.923, R 0.941; as a pair of readers by whether the dump marks paragraphs (gb2-260f8cfd)
    # 0.912, R 0.932, and without the pages' blank lines 0.923, R 0.941 (gb2-9d75f209 there: 0.897, R 0.908); read
    # by both readers 0.930, R 0.956; retrained with the caption-label rules (gb2-bbf161de) 0.918, R 0.948, and
    # without blank lines 0.921, R 0.941.
    assert figures["f1"] >= 0.85, figures
    assert figures["recall"] >= 0.85, figures
    assert figures["emptied"] == 0, figures
    # The same pages without their blank lines (as a WET record has them), read by the pair's second reader.
    flat = figures["layouts"]["no_blank_lines"]
    assert flat["pages"] == figures["pages"] and flat["emptied"] == 0, figures
    assert flat["f1"] >= 0.85 and flat["recall"] >= 0.85, figures


def test_no_dev_page_trips_the_overdeletion_guard(dev_results: list[DevResult]) -> None:
    flagged = [dev.name for dev in dev_results if any(f.startswith(OVERDELETION_FLAG) for f in dev.result.flags)]
    assert flagged == []


def test_cleaning_a_clean_article_body_removes_almost_nothing() -> None:
    """The gold bodies are article text only: the cleaners must leave (nearly) all of it."""
    golds = sorted(EVAL_DEV.glob("*.gold.txt"))
    if not golds:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    pipeline = Pipeline()
    total = removed = 0
    for gold in golds:
        text = gold.read_text(encoding="utf-8")
        result = pipeline.clean_text(text)
        total += len(text)
        removed += sum(len(r.text.strip()) for r in result.removed)
        assert result.text.strip(), gold.name
    # What the line model takes from clean text is a property of its recipe, and one retrain is a redraw of it. The
    # recipe trained on all dev pages with its trees seeded 0-3 (scratch study), with the body region weighing lines by
    # their characters (2026-12-07, stop 27): 1.62 % (seed 0: the shipped pair gb2-aa13eb5b), 0.97 %, 0.96 %, 1.16 %;
    # with the logarithmic weight before it: 1.85 %, 1.01 %, 0.96 %, 1.16 %; with the rules before the second batch
    # (2026-12-06): 1.59 % (gb2-31113e1c), 1.88 %, 2.30 %, 0.96 %; before the first: 1.06 % (gb2-bbf161de), 2.08 %,
    # 1.82 %, 1.92 %. The bound here was 1.2 % while it was only ever measured on seed 0, which that once fell under.
    # Most of the loss is on the few list-heavy bodies with enough short lines for the line model to run at all
    # (line_model_min_furniture_share): a Russian interview series whose gold keeps its photo credits, repeated
    # questions and poll counts, a meal plan. Without that gate the shipped model takes 3.47 % (3.70 % with the
    # logarithmic region weight, 3.12 % with gb2-31113e1c). The rules alone take 0.17 % (an opening line taken for a
    # headline).
    assert removed / total < 0.025, (removed, total)


def test_line_model_leaves_a_text_without_page_furniture_alone() -> None:
    """An article body with no menu-shaped lines is not a page dump: the classifier cuts nothing."""
    golds = sorted(EVAL_DEV.glob("*.gold.txt"))
    if not golds:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    from cleaners.line_features import furniture_share
    from cleaners.segment import segment

    pipeline = Pipeline()
    checked = 0
    for gold in golds:
        text = gold.read_text(encoding="utf-8")
        if furniture_share(segment(text)) < Config().line_model_min_furniture_share:
            checked += 1
            assert not [r for r in pipeline.clean_text(text).removed if r.category == "boilerplate"], gold.name
    assert checked > 100  # measured: most gold bodies


def test_an_html_page_s_visible_text_fallback_is_cleaned_as_the_page_dump_it_is() -> None:
    """When both extractors find too little, the page's visible text is all there is: a page dump, menus and all.
    It gets the whole text path (headline, line model), and the page's own metadata still comes first."""
    from cleaners.html import EXTRACTOR_PAGE_TEXT, EXTRACTOR_READABILITY, Extracted
    from cleaners.pipeline import PAGE_DUMP_ONLY

    dumps = sorted(EVAL_DEV.glob("*.page.txt"))
    if not dumps:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    pipeline = Pipeline()
    checked = 0
    for dump in dumps[:10]:
        text = dump.read_text(encoding="utf-8")
        as_dump = pipeline.clean_text(text)
        if not any(r.category == "boilerplate" for r in as_dump.removed):
            continue  # too little page furniture for the line model: nothing to compare
        fallback = pipeline.clean_text(text, extracted=Extracted(text, EXTRACTOR_PAGE_TEXT, title="Stated title"))
        assert (fallback.text, fallback.removed) == (as_dump.text, as_dump.removed), dump.name
        assert fallback.title == "Stated title" and fallback.extractor == EXTRACTOR_PAGE_TEXT
        untitled = pipeline.clean_text(text, extracted=Extracted(text, EXTRACTOR_PAGE_TEXT))
        assert untitled.title == as_dump.title  # no stated title: the dump's own headline, as for a text capture
        # An extractor's output is not a page dump: no header cleaner and no line model cut it.
        extracted = pipeline.clean_text(text, extracted=Extracted(text, EXTRACTOR_READABILITY))
        assert not any(r.category in {cls.category for cls in PAGE_DUMP_ONLY} for r in extracted.removed), dump.name
        checked += 1
    assert checked >= 5


def test_a_link_hub_page_falls_back_to_its_visible_text_and_the_line_model_reads_it() -> None:
    """A real HTML path end to end: an index page of links that neither extractor takes for an article."""
    from cleaners.html import EXTRACTOR_PAGE_TEXT
    from cleaners.model import CleanResult

    menu = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(40))
    # Under 200 characters, so neither extractor takes it for an article (a lone five-word sentence is left to the
    # over-deletion guard by some models: the whole page then stays, flagged).
    story = ("The council met on Tuesday and voted to close the old library. "
             "Residents will be asked for their views in March.")
    html = (f"<html><head><title>Latest stories</title></head><body><ul>{menu}</ul>"
            f"<div><p>{story}</p></div>"
            f"<ul>{menu}</ul><div>Copyright 2024 Example Media. All rights reserved.</div></body></html>")
    result = Pipeline().clean_html(html.encode(), "utf-8", "https://example.com/latest")
    assert isinstance(result, CleanResult) and result.extractor == EXTRACTOR_PAGE_TEXT
    assert any(r.rule.startswith("boilerplate.line_model.") for r in result.removed)
    assert result.text == story  # the 80 menu lines and the footer gone, the paragraph kept


def test_html_headline_repeats_and_credit_lines_are_cut_and_are_never_body() -> None:
    """Real captures: trafilatura's text often opens with the headline it also reports as the title, and ends with a
    reporting credit or a reporter's contact line; those lines go (`headline.stated_title`, `byline`), and none of
    them is a line of the gold body."""
    pages = sorted(EVAL_DEV.glob("*.html"))
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    pipeline = Pipeline()
    pages_cut = {"headline.stated_title": 0, "byline": 0}
    body_cut = []
    for page in pages:
        result = pipeline.clean_html(page.read_bytes())
        assert not hasattr(result, "reason"), page
        gold = page.with_name(page.name.replace(".html", ".gold.txt")).read_text(encoding="utf-8")
        gold_lines = {normalise(line) for line in gold.splitlines()}
        for kind in pages_cut:
            cuts = [r for r in result.removed if kind in (r.rule, r.category)]
            body_cut += [r.text for r in cuts if normalise(r.text) in gold_lines]
            pages_cut[kind] += bool(cuts)
        assert all(normalise(r.text) == normalise(result.title or "")
                   for r in result.removed if r.rule == "headline.stated_title"), page
    # Measured: 11 of the 126 dev pages (9 sites) open their extracted text with the stated title; 9 (9 sites) carry
    # a credit, a contact line or a metadata line (posted by, a publication stamp, a reading time, tags): 6 without
    # the metadata rules.
    assert pages_cut["headline.stated_title"] >= 8, pages_cut
    assert pages_cut["byline"] >= 8, pages_cut
    assert body_cut == []


def test_page_dump_bylines_stamps_and_paid_blocks_are_cut_and_are_never_body() -> None:
    """Real page dumps, rules alone: the article's byline ('By <name>'), its publication stamps ('Updated 1:39 am EST,
    Wednesday, November 20, 2019', '2 days ago'), the headers of
    sponsored blocks, labelled photo credits, gallery counters, reader-comment headers, legal-link rows and share
    prompts are cut on many pages of many sites, and no line any of these rules cuts is a line of the gold body."""
    pages = sorted(EVAL_DEV.glob("*.page.txt"))
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    rules_only = Pipeline(Config(categories=tuple(c for c in ALL_CATEGORIES if c != "boilerplate")))
    watched = ("byline.by_line", "byline.timestamp", "byline.relative_time", "related_links.sponsored_header",
               "photo_caption.labelled_credit", "comments_prompt.comment_header", "photo_caption.gallery_counter",
               "footer.legal_link", "share_prompt.share_this")
    pages_cut = dict.fromkeys(watched, 0)
    body_cut = []
    for page in pages:
        result = rules_only.clean_capture(page.read_bytes())
        assert not hasattr(result, "reason"), page
        gold = gold_of(page)
        gold_lines = gold_line_keys(gold)
        cuts = [r for r in result.removed if r.rule in pages_cut]
        body_cut += [(page.name[:8], r.rule, r.text) for r in cuts if normalise(r.text) in gold_lines]
        for rule in {r.rule for r in cuts}:
            pages_cut[rule] += 1
    # Measured (126 dev dumps): by_line 35 pages, timestamp 36 (14 before its token grammar, 34 before its Korean
    # labels), relative_time 6, sponsored_header 14, labelled_credit 4, comment_header 2, gallery_counter 8,
    # legal_link 92, share_this 19; none of their lines is body.
    assert pages_cut["byline.by_line"] >= 30, pages_cut
    assert pages_cut["byline.timestamp"] >= 30, pages_cut
    assert pages_cut["related_links.sponsored_header"] >= 10, pages_cut
    assert pages_cut["photo_caption.gallery_counter"] >= 6, pages_cut
    assert all(pages_cut[rule] >= 2 for rule in watched), pages_cut
    assert body_cut == []


def test_lines_the_line_model_cuts_are_named_by_the_rules_after_it() -> None:
    """A byline or a date the line model cut goes as `byline`, with its rule, not as anonymous `boilerplate`: on the
    dev dumps no line the model's removals name is one a byline rule takes."""
    pages = sorted(EVAL_DEV.glob("*.page.txt"))
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    pipeline = Pipeline()
    byline_alone = BylineCleaner()
    named = unnamed = 0
    for page in pages:
        result = pipeline.clean_capture(page.read_bytes())
        assert not hasattr(result, "reason"), page
        named += sum(r.category == "byline" for r in result.removed)
        unnamed += sum(bool(byline_alone(r.text.strip())[1]) for r in result.removed if r.category == "boilerplate")
    # Measured: 282 byline removals on the 126 dumps, 18 when the rules named only the lines the model kept.
    assert named >= 200, named
    assert unnamed == 0, unnamed


DumpCuts = list[tuple[str, CleanResult, list[Removal]]]


def dev_cuts(dev_results: list[DevResult], wanted: Callable[[Removal], bool]
             ) -> tuple[DumpCuts, list[tuple[str, str]], list[str]]:
    """Each dump's removals that `wanted` picks; those that are a line of the page's gold body; and those made on the
    gold bodies themselves, cleaned as captures."""
    per_dump: DumpCuts = []
    body_cut: list[tuple[str, str]] = []
    gold_cut: list[str] = []
    for dev in dev_results:
        cuts = [r for r in dev.result.removed if wanted(r)]
        gold_lines = gold_line_keys(dev.gold)
        per_dump.append((dev.name, dev.result, cuts))
        body_cut += [(dev.name[:8], r.text) for r in cuts if normalise(r.text) in gold_lines]
        gold_cut += [r.text for r in dev.gold_result.removed if wanted(r)]
    return per_dump, body_cut, gold_cut


def dumps_cut(dev_results: list[DevResult], wanted: Callable[[Removal], bool]
              ) -> tuple[list[tuple[str, list[Removal]]], list[tuple[str, str]], list[str]]:
    """`dev_cuts` for the dumps where `wanted` removed something, after checking that none of those lines is still in
    the dump's kept text."""
    per_dump, body_cut, gold_cut = dev_cuts(dev_results, wanted)
    for name, result, cuts in per_dump:
        kept_lines = {line.strip() for line in result.text.splitlines()}
        assert not any(r.text.strip() in kept_lines for r in cuts), name
    return [(name, cuts) for name, _, cuts in per_dump if cuts], body_cut, gold_cut


def test_related_blocks_headed_in_other_languages_are_cut_on_pages_of_several_languages(
    dev_results: list[DevResult],
) -> None:
    """Real page dumps through the whole pipeline: a related block headed in Korean, Russian, Portuguese or Italian
    goes, header and titles, as the English ones do, and so does a "read also: <title>" line. Measured on the 126
dumps: 28 lines on 7 dumps of 4 languages;
    the one header and title the gold keeps is an Italian "Leggi anche" link inside an article, which the English
    rules would cut as well (they take 461 lines of the dev dumps, none gold)."""
    rules = {"related_links.header_other_languages", "related_links.block_items_other_languages",
             "related_links.inline_link_other_languages"}
    cut, body_cut, gold_cut = dumps_cut(dev_results, lambda r: r.rule in rules)
    assert len(cut) >= 6 and sum(len(cuts) for _, cuts in cut) >= 20, [(n[:8], len(c)) for n, c in cut]
    assert {r.rule for _, cuts in cut for r in cuts} == rules
    assert len(body_cut) <= 2 and len({name for name, _ in body_cut}) <= 1, body_cut
    assert len(gold_cut) <= 2, gold_cut


def test_furniture_in_other_languages_is_named_on_pages_of_several_languages(dev_results: list[DevResult]) -> None:
    """Real page dumps through the whole pipeline: the rules after the model for furniture in other languages than
    English (comment forms, sign-ups, cookie banners, skip links, copyright lines…) take such lines on Italian, Russian,
    Portuguese, Indonesian and Korean dumps. Measured on the 126 dumps: 25 lines on 9 dumps, in 5 categories. The only
    gold lines they take are a Korean site's copyright formula, which its two articles' gold keeps (the English
    copyright rule takes gold lines too); no other rule of the batch takes a line of any gold body."""
    cut, body_cut, gold_cut = dumps_cut(
        dev_results, lambda r: r.rule.endswith("_other_languages") and not r.rule.startswith("related_links."))
    assert len(cut) >= 7 and sum(len(cuts) for _, cuts in cut) >= 20, [(n[:8], len(c)) for n, c in cut]
    assert len({r.category for _, cuts in cut for r in cuts}) >= 5
    assert {r.rule for _, cuts in cut for r in cuts} >= {
        "comments_prompt.invite_other_languages", "promo.newsletter_line_other_languages",
        "cookie_notice.banner_paragraph_other_languages", "footer.copyright_other_languages",
        "navigation.skip_link_other_languages", "navigation.widget_header_other_languages"}
    assert len(body_cut) <= 2 and len(gold_cut) <= 2, (body_cut, gold_cut)
    _, body_cut, gold_cut = dev_cuts(
        dev_results, lambda r: r.rule.endswith("_other_languages") and r.category not in ("related_links", "footer"))
    assert body_cut == [] and gold_cut == []


# The rules after the model for English furniture that the rules before it leave (stop 33).
FURNITURE_AFTER_MODEL = frozenset({
    "related_links.section_header", "related_links.inline_link_on_site", "share_prompt.print_or_email_line",
    "comments_prompt.section_note", "promo.email_alerts_line", "navigation.pager_line",
    "photo_caption.name_and_agency_credit", "photo_caption.personal_archive_credit", "byline.author_bio",
})


def test_furniture_the_rules_before_the_model_leave_is_named_after_it(dev_results: list[DevResult]) -> None:
    """Real page dumps through the whole pipeline: section headers of related blocks ('More in World', 'Popular on
    IndieWire'), links labelled with the site's address, print tools, comment-login lines, e-mail sign-ups, pagers,
    photographer-and-agency credits, personal-archive credits and author notes go, named, after the line model.
    Measured on the 126 dumps: 79 lines on 28 dumps, in 7 categories. The only gold lines they take are six
    personal-archive credits that one Russian article's gold keeps (it drops the other 17 of the same page)."""
    cut, body_cut, gold_cut = dumps_cut(dev_results, lambda r: r.rule in FURNITURE_AFTER_MODEL)
    assert len(cut) >= 20 and sum(len(cuts) for _, cuts in cut) >= 60, [(n[:8], len(c)) for n, c in cut]
    assert len({r.category for _, cuts in cut for r in cuts}) >= 7
    assert {r.rule for _, cuts in cut for r in cuts} == FURNITURE_AFTER_MODEL
    assert len(body_cut) <= 6 and len(gold_cut) <= 6, (body_cut, gold_cut)
    _, body_cut, gold_cut = dev_cuts(
        dev_results, lambda r: r.rule in FURNITURE_AFTER_MODEL and r.rule != "photo_caption.personal_archive_credit")
    assert body_cut == [] and gold_cut == []


def test_a_tweet_button_glued_to_a_kept_sentence_goes_and_the_sentence_stays(dev_results: list[DevResult]) -> None:
    """Real page dumps through the whole pipeline: the `inline` rules cut only the button a blog prints after the
    sentence it quotes ('…business.Click To Tweet'); the sentence, a line of the gold body, is kept whole. Measured on
    the 126 dumps: 4 pieces on 2 dumps; no piece of any gold body cleaned as a capture."""
    inline = {rule.id for category in rule_categories() for rule in load_rules(category).rules if rule.kind == "inline"}
    per_dump, _, gold_cut = dev_cuts(dev_results, lambda r: r.rule in inline)
    pieces = [(dev.name, dev, r) for dev, (_, _, cuts) in zip(dev_results, per_dump, strict=True) for r in cuts]
    assert len(pieces) >= 4 and len({name for name, _, _ in pieces}) >= 2, [(n[:8], r.text) for n, _, r in pieces]
    gold_lines = set()
    for name, dev, removal in pieces:
        assert removal.text.strip() == "Click To Tweet", (name[:8], removal.text)
        line_start = dev.page.rfind("\n", 0, removal.start) + 1
        sentence = dev.page[line_start:removal.start].strip()
        assert sentence and sentence in dev.result.text and "Click To Tweet" not in dev.result.text
        gold_lines.add(normalise(sentence) in gold_line_keys(dev.gold))
    assert gold_lines == {True}  # every sentence the button was glued to is a line of the gold body, and is kept
    assert gold_cut == []


def test_teaser_summaries_cut_short_are_cut_on_several_sites_and_are_never_body(
    dev_results: list[DevResult],
) -> None:
    """Real page dumps through the whole pipeline: runs of summaries a site cut short with an ellipsis (teaser cards)
    go as `teaser`, whether the line model kept them or not, on pages of several sites; none is a line of the gold
    body, and no gold body cleaned as a capture loses a line to them."""
    per_dump, body_cut, gold_cut = dev_cuts(dev_results, lambda r: r.category == "teaser")
    for name, result, cuts in per_dump:
        assert all(r.rule == "teaser.cut_off_summary" for r in cuts)
        assert not any(r.text.strip() in result.text for r in cuts), name
    pages_cut = sum(bool(cuts) for _, _, cuts in per_dump)
    lines_cut = sum(len(cuts) for _, _, cuts in per_dump)
    # Measured: 71 lines on 11 of the 126 dumps (teaser cards, deals lists, a forum's post excerpts, a quotes page).
    assert pages_cut >= 8 and lines_cut >= 50, (pages_cut, lines_cut)
    assert body_cut == [] and gold_cut == []


def test_lists_of_dated_entries_are_cut_between_their_dates_on_several_sites_and_are_never_body(
    dev_results: list[DevResult],
) -> None:
    """Real page dumps through the whole pipeline: the lines between the date lines of a comment thread or a list of
    dated cards go as `dated_entries` on pages of several sites, including comments the line model kept as body; none
    is a line of the gold body, and no gold body cleaned as a capture loses a line to them."""
    per_dump, body_cut, gold_cut = dev_cuts(dev_results, lambda r: r.category == "dated_entries")
    assert all(r.rule == "dated_entries.between_dates" for _, _, cuts in per_dump for r in cuts)
    pages_cut = sum(bool(cuts) for _, _, cuts in per_dump)
    lines_cut = sum(len(cuts) for _, _, cuts in per_dump)
    without = Pipeline(Config(categories=tuple(c for c in ALL_CATEGORIES if c != "dated_entries")))
    pages_changed = sum(without.clean_text(dev.page).text != dev.result.text for dev in dev_results)
    # Measured: 200 lines on 13 of the 126 dumps (comment threads, teaser cards with dates, a "Popular" list); with the
    # shipped model, which was trained on these pages, the kept text changes on 2 (a forum thread, a blog's comments).
    assert pages_cut >= 10 and lines_cut >= 150, (pages_cut, lines_cut)
    assert pages_changed >= 2, pages_changed
    assert body_cut == [] and gold_cut == []


def test_author_boxes_are_cut_on_several_sites_and_are_never_body(dev_results: list[DevResult]) -> None:
    """Real page dumps through the whole pipeline: an author box (a header introducing the writer, the name and handle,
    a biography naming the writer) goes as `byline.author_box` on pages of several sites, in several languages; none
    of its lines is a line of the gold body, and no gold body cleaned as a capture loses a line to it."""
    per_dump, body_cut, gold_cut = dev_cuts(dev_results, lambda r: r.rule == "byline.author_box")
    boxes = sum(bool(cuts) for _, _, cuts in per_dump)
    biographies = sum(len(r.text.split()) >= 8 for _, _, cuts in per_dump for r in cuts)
    # Measured: 16 lines in 6 boxes on 6 of the 126 dumps (English, German, Portuguese), each with its biography.
    assert boxes >= 5 and biographies >= 5, (boxes, biographies)
    assert body_cut == [] and gold_cut == []


def test_rules_after_the_model_cut_captions_and_newsletter_calls_on_several_sites_and_are_never_body(
    dev_results: list[DevResult],
) -> None:
    """Real page dumps through the whole pipeline: the rules marked `after_model` take captions closed by a credit
    and newsletter sign-up lines, whether the line model kept them or not, on pages of several sites; none is a line
    of the gold body, and no gold body cleaned as a capture loses a line to them."""
    after_model = {"photo_caption.credit_after_caption", "promo.newsletter_line"}
    per_dump, body_cut, gold_cut = dev_cuts(dev_results, lambda r: r.rule in after_model)
    pages = {rule: sum(any(r.rule == rule for r in cuts) for _, _, cuts in per_dump) for rule in after_model}
    # Measured: 12 captions on 5 of the 126 dumps, 68 newsletter lines on 43.
    assert pages["photo_caption.credit_after_caption"] >= 4 and pages["promo.newsletter_line"] >= 30, pages
    assert body_cut == [] and gold_cut == []
