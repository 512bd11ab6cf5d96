"""Removes "Related", "Read more" and "Most popular" headers and the link lists under them."""

from __future__ import annotations

from collections.abc import Sequence

from cleaners.base import Cleaner, claimed_line_indexes, line_removal
from cleaners.headline import is_headline_shaped
from cleaners.model import Page, Removal
from cleaners.rules.matcher import PageHits


class RelatedLinksCleaner(Cleaner):
    """Header and link-line patterns from `rules/related_links.toml`, then the titles listed under a header."""

    category = "related_links"

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """Pattern matches, plus the run of headline-shaped lines right under a block header (each structural rule
        names the header rules it follows)."""
        out = super().find(page, prior, hits)  # the pattern rules (and nothing at all on a page none of them matched)
        if not out:
            return []  # every title taken here sits under a header a pattern took
        claimed = claimed_line_indexes(page, prior)
        taken = {r.start for r in out}
        for rule in self.rules.rules:
            if rule.kind != "structural":
                continue
            params = rule.params
            header_ids = set(params["header_rules"])
            header_starts = {r.start for r in out if r.rule in header_ids}
            for line in page.lines:
                if line.start not in header_starts:
                    continue
                for item in page.lines[line.index + 1 : line.index + 1 + params["max_items"]]:
                    if item.index in claimed or item.start in taken:
                        break
                    if not is_headline_shaped(item.text, params):
                        break
                    taken.add(item.start)
                    out.append(line_removal(item, self.category, rule.id))
        return out


class RelatedLinksAfterModelCleaner(RelatedLinksCleaner):
    """The related-links rules marked `after_model` in `rules/related_links.toml`: block headers and "read also" lines
    in other languages, and the titles under those headers."""

    takes_after_model_rules = True
