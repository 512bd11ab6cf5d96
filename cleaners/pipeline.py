"""The one ordered cleaning pipeline: decode, run every category cleaner, guard, render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from cleaners.adblock_notice import AdblockNoticeAfterModelCleaner, AdblockNoticeCleaner
from cleaners.base import Cleaner
from cleaners.byline import BylineCleaner
from cleaners.comments_prompt import CommentsPromptAfterModelCleaner, CommentsPromptCleaner
from cleaners.cookie_notice import CookieNoticeAfterModelCleaner, CookieNoticeCleaner
from cleaners.correction_notice import CorrectionNoticeAfterModelCleaner, CorrectionNoticeCleaner
from cleaners.dated_entries import DatedEntriesCleaner
from cleaners.decode import decode_capture
from cleaners.donation_appeal import DonationAppealAfterModelCleaner, DonationAppealCleaner
from cleaners.footer import FooterAfterModelCleaner, FooterCleaner
from cleaners.headline import HeadlineCleaner, StatedTitleCleaner
from cleaners.html import EXTRACTOR_PAGE_TEXT, Extracted, decode_html, extract_html
from cleaners.language import detect_language
from cleaners.line_classifier import LineClassifierCleaner, LineModel
from cleaners.model import CleanResult, Config, Page, Rejection, Removal
from cleaners.navigation import NavigationAfterModelCleaner, NavigationCleaner
from cleaners.photo_caption import PhotoCaptionAfterModelCleaner, PhotoCaptionCleaner
from cleaners.promo import PromoAfterModelCleaner, PromoCleaner
from cleaners.related_links import RelatedLinksAfterModelCleaner, RelatedLinksCleaner
from cleaners.render import excise, resolve_overlaps
from cleaners.rules.matcher import matcher_for
from cleaners.segment import segment
from cleaners.share_prompt import SharePromptAfterModelCleaner, SharePromptCleaner
from cleaners.site_name import SiteNameCleaner
from cleaners.site_repeated import SiteRepeatedCleaner, evidence, page_line_keys, site_removal_keys
from cleaners.standfirst import StandfirstCleaner
from cleaners.teaser import TeaserCleaner

# Order matters twice: a cleaner sees what earlier ones removed (the headline needs the site name
# out of the way, the standfirst needs the headline and captions), and where two removals
# overlap the earlier cleaner's wins.
PIPELINE: tuple[type[Cleaner], ...] = (
    SiteNameCleaner,
    StatedTitleCleaner,  # an extractor's text only; first there, where the headline cleaner stands in a page dump
    HeadlineCleaner,
    PhotoCaptionCleaner,
    StandfirstCleaner,
    DonationAppealCleaner,
    AdblockNoticeCleaner,
    CorrectionNoticeCleaner,
    PromoCleaner,
    RelatedLinksCleaner,
    SharePromptCleaner,
    CommentsPromptCleaner,
    CookieNoticeCleaner,
    NavigationCleaner,
    FooterCleaner,
    SiteRepeatedCleaner,
    LineClassifierCleaner,
    # After the line model: what the rules before it claim is one of its features, so a category placed before it
    # changes what it reads and calls for a retrained model, and one retrained model differs from the next by more
    # than a small category gains (see README). Here a credit line the model kept is still cut, and one it cut is named.
    BylineCleaner,
    # Runs of teaser summaries cut short with an ellipsis: the model reads each as a finished sentence of prose.
    TeaserCleaner,
    # Between the date lines of a comment thread or a list of cards (the byline rules find those lines): a comment or
    # a card's summary is prose, and the model reads it as such.
    DatedEntriesCleaner,
    # The rules of earlier categories marked `after_model`, in the order of their first cleaners: a caption or a
    # newsletter call that the model kept as prose, and the furniture of pages in other languages than the English the
    # model's inputs know (appeals, ad-block and correction notices, sign-ups, related blocks, share and comment
    # prompts, cookie banners, skip links and widget headers, copyright lines). Measured against the same model,
    # without a retrain (see README, "Rules after the line model" and "Furniture in other languages").
    PhotoCaptionAfterModelCleaner,
    DonationAppealAfterModelCleaner,
    AdblockNoticeAfterModelCleaner,
    CorrectionNoticeAfterModelCleaner,
    PromoAfterModelCleaner,
    RelatedLinksAfterModelCleaner,
    SharePromptAfterModelCleaner,
    CommentsPromptAfterModelCleaner,
    CookieNoticeAfterModelCleaner,
    NavigationAfterModelCleaner,
    FooterAfterModelCleaner,
)
# Cleaners after the line model also name the lines it cut: its removal only says "not body", their rule says what the
# line is (a byline, a date), so where both take a line the named removal stands. The kept text is the same either way.
NAMES_MODEL_CUTS: frozenset[type[Cleaner]] = frozenset(PIPELINE[PIPELINE.index(LineClassifierCleaner) + 1 :])
# The cleaners whose removals the line model reads as a feature (those before it): training must see the same.
LINE_MODEL_INPUTS: tuple[type[Cleaner], ...] = PIPELINE[: PIPELINE.index(LineClassifierCleaner)]

OVERDELETION_FLAG = "overdeletion_guard"
# For HTML the extractor already separates headline, dek and site name from the body (and reports
# them as metadata), so these text heuristics would only mistake a sub-heading for a headline.
# The line classifier reads a whole page dump's layout; an extractor's output has none left to read.
# The one exception is the page's visible text, the last fallback when both extractors find too little:
# that is a page dump, menus and all, and gets the whole text path.
PAGE_DUMP_ONLY: frozenset[type[Cleaner]] = frozenset(
    {SiteNameCleaner, HeadlineCleaner, StandfirstCleaner, LineClassifierCleaner}
)
# What an extractor's text has and a page dump lacks: the title the page states.
EXTRACTED_TEXT_ONLY: frozenset[type[Cleaner]] = frozenset({StatedTitleCleaner})


@dataclass(frozen=True)
class SiteContext:
    """The site a capture belongs to and how many of the site's other captures carry each line key."""

    name: str
    counts: Mapping[int, int]


class Pipeline:
    """The configured, ordered cleaners; build once, then clean many captures."""

    def __init__(self, config: Config | None = None, line_model: LineModel | None = None,
                 stages: Sequence[type[Cleaner]] = PIPELINE) -> None:
        """`line_model` replaces the shipped line model (cross-validation trains one per fold); `stages` runs part of
        the pipeline, in its order (training runs `LINE_MODEL_INPUTS`, what the model reads)."""
        self.config = config or Config()
        unknown = set(self.config.categories) - {c.category for c in PIPELINE}
        if unknown:
            raise ValueError(f"unknown categories in config: {sorted(unknown)}")
        self.cleaners: list[Cleaner] = [
            LineClassifierCleaner(self.config, line_model) if cls is LineClassifierCleaner else cls(self.config)
            for cls in stages
            if cls.category in self.config.categories
        ]
        self.matcher = matcher_for(
            tuple(dict.fromkeys(c.category for c in self.cleaners if c.rules.rules)), self.config.max_rule_line_chars
        )
        self.page_dump_cleaners = [c for c in self.cleaners if type(c) not in EXTRACTED_TEXT_ONLY]
        self.body_cleaners = [c for c in self.cleaners if type(c) not in PAGE_DUMP_ONLY]

    def find_removals(self, text: str, with_header: bool = True, site_counts: Mapping[int, int] | None = None
                      ) -> list[Removal]:
        """Every cleaner's removals in pipeline order, overlaps resolved (before the guard)."""
        return self._find(segment(text), with_header, site_counts)

    def _find(self, page: Page, with_header: bool, site_counts: Mapping[int, int] | None) -> list[Removal]:
        hits = self.matcher.match(page)  # every pattern rule of every category, two RE2 passes per line
        removals: list[Removal] = []
        pieces: list[Removal] = []  # the `inline` rules' pieces of lines, settled after every whole line
        for cleaner in self.page_dump_cleaners if with_header else self.body_cleaners:
            if type(cleaner) in NAMES_MODEL_CUTS:
                named = [r for r in removals if r.category != LineClassifierCleaner.category]
                found = self._without_pieces(cleaner, cleaner.find(page, tuple(named), hits), pieces)
                if found:  # listed before the model's removals, a named one wins the line they share
                    model_cuts = [r for r in removals if r.category == LineClassifierCleaner.category]
                    removals = resolve_overlaps([*named, *found, *model_cuts])
                continue
            if isinstance(cleaner, SiteRepeatedCleaner):
                found = cleaner.find(page, tuple(removals), hits, site_counts)
            else:
                found = self._without_pieces(cleaner, cleaner.find(page, tuple(removals), hits), pieces)
            if found:  # the removals so far are already resolved: nothing new, nothing to redo
                removals = resolve_overlaps([*removals, *found])
        if pieces:  # a line some cleaner took whole goes whole: its pieces give way
            removals = resolve_overlaps([*removals, *pieces])
        return removals

    @staticmethod
    def _without_pieces(cleaner: Cleaner, found: list[Removal], pieces: list[Removal]) -> list[Removal]:
        """`found` without the cleaner's `inline` removals, which go to `pieces` (settled last)."""
        if not cleaner.inline_rule_ids:
            return found
        pieces.extend(r for r in found if r.rule in cleaner.inline_rule_ids)
        return [r for r in found if r.rule not in cleaner.inline_rule_ids]

    def clean_text(self, text: str, flags: tuple[str, ...] = (), extracted: Extracted | None = None,
                   site: SiteContext | None = None) -> CleanResult:
        """Clean decoded capture text (or an HTML page's extracted text): kept text, metadata, removals, flags.

        `site`: the capture's site and the line counts of its other captures (see cleaners.site_repeated).
        """
        page = segment(text)
        if extracted is not None:
            page = replace(page, stated_title=extracted.title)
        page_dump = extracted is None or extracted.extractor == EXTRACTOR_PAGE_TEXT
        removals = self._find(page, page_dump, site.counts if site else None)
        out_flags = list(flags)
        site_keys: tuple[int, ...] = ()
        if site is not None:
            site_keys = site_removal_keys(removals)
            seen = evidence(site_keys, site.name, site.counts)
            if seen:
                out_flags.append(seen)
        title = _first_text(removals, "headline")
        description = _first_text(removals, "standfirst")
        site_name = _first_text(removals, "site_name")

        total = _visible_chars(text)
        removed = sum(_visible_chars(r.text) for r in removals)
        kept, widened = excise(text, removals)
        share = removed / total if total else 0.0
        if removals and (share > self.config.overdeletion_threshold or not any(c.isalnum() for c in kept)):
            out_flags.append(
                f"{OVERDELETION_FLAG}: cleaning would remove {share:.1%} of the text "
                f"(threshold {self.config.overdeletion_threshold:.0%}); kept whole, "
                f"{len(removals)} removals not applied"
            )
            kept, widened = text, []
            # The headline, dek and site name came from removals that were just rejected as a whole.
            title = description = site_name = None
        if extracted is not None:  # what the page states about itself first; a page dump's own header next
            title = extracted.title or title
            description = extracted.description or description
            site_name = extracted.site_name or site_name
        return CleanResult(
            text=kept,
            title=title,
            description=description,
            site_name=site_name,
            language=detect_language(kept[: self.config.language_sample_chars]),
            removed=tuple(widened),
            flags=tuple(out_flags),
            n_chars_raw=len(text),
            extractor=extracted.extractor if extracted is not None else "text",
            url=extracted.url if extracted is not None else None,
            line_keys=page_line_keys(page) if site is not None else frozenset(),
            site_repeated_keys=site_keys,
        )

    def clean_html(self, data: bytes, declared_charset: str | None = None, url: str | None = None,
                   site: SiteContext | None = None) -> CleanResult | Rejection:
        """Decode an HTML capture, extract its article text, and clean that text with the body cleaners."""
        decoded = decode_html(data, declared_charset, self.config.max_capture_bytes)
        if isinstance(decoded, Rejection):
            return decoded
        extracted = extract_html(decoded.text, url)
        if not extracted.text.strip():
            return Rejection("no_text", f"no visible text in the page ({extracted.extractor})")
        return self.clean_text(extracted.text, decoded.flags + extracted.flags, extracted, site)

    def clean_bytes(self, data: bytes, content_kind: str = "text", charset: str | None = None,
                    url: str | None = None, site: SiteContext | None = None) -> CleanResult | Rejection:
        """Clean capture bytes by their kind: "html" (extract, then clean) or "text" (decode, then clean)."""
        if content_kind == "html":
            return self.clean_html(data, charset, url, site)
        return self.clean_capture(data, site)

    def clean_capture(self, data: bytes, site: SiteContext | None = None) -> CleanResult | Rejection:
        """Decode capture bytes and clean them, or return why the capture was rejected."""
        decoded = decode_capture(data, self.config.max_capture_bytes)
        if isinstance(decoded, Rejection):
            return decoded
        return self.clean_text(decoded.text, decoded.flags, site=site)


def _first_text(removals: list[Removal], category: str) -> str | None:
    for removal in removals:
        if removal.category == category:
            return " ".join(removal.text.split())
    return None


def _visible_chars(text: str) -> int:
    return len("".join(text.split()))


def clean_text(text: str, config: Config | None = None) -> CleanResult:
    """Clean one decoded text with a fresh pipeline (convenience; build a Pipeline for many)."""
    return Pipeline(config).clean_text(text)
