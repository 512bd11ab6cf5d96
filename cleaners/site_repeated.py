"""Removes lines that repeat across several captures of the same site (cc_net's idea, kept per site).

Menus, appeals and footers are printed on every page of a site; article sentences are not. The
counts come from the run (`SiteLineCounts`, filled as captures stream by and persisted with the
dataset by the flows), so this cleaner only reads them: a line goes when it was seen in at least
`Config.site_repeated_min_captures` *other* pages of the site (by URL: versions of one page count
once). A line seen in one capture only is never removed, whatever the threshold says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from cleaners.base import Cleaner, claimed_line_indexes, line_removal, normalise
from cleaners.model import CleanResult, Config, Page, Removal
from cleaners.rules import RuleSet
from cleaners.rules.matcher import PageHits

RULE_ID = "site_repeated.seen_in_other_captures"
EVIDENCE_PREFIX = "site_repeated:"  # how the evidence flag starts (see `evidence`)
# Longer lines are article prose or data, never a site's furniture; not counting them bounds the table.
MAX_COUNTED_LINE_CHARS = 1_000


def line_key(text: str) -> int:
    """A stable 63-bit key of a line's case- and space-folded text (same on every machine and run)."""
    digest = hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def page_key(identity: str) -> int:
    """The key a page is counted under: its URL (or other identity) folded like a line."""
    return line_key(identity)


def page_line_keys(page: Page) -> frozenset[int]:
    """The distinct keys of a page's countable lines (each capture counts a line once)."""
    return frozenset(
        line_key(line.text)
        for line in page.lines
        if len(line.text) <= MAX_COUNTED_LINE_CHARS and any(ch.isalnum() for ch in line.text)
    )


@dataclass
class SiteLineCounts:
    """For each site, in how many distinct pages each line key was seen, and which pages were counted.

    A page is counted once (by its `page_key`, e.g. a hash of its URL): a new version of an article
    must not make its own paragraphs look like site furniture.
    """

    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    pages: dict[str, set[int]] = field(default_factory=dict)

    def add(self, site: str, page_key: int, keys: Iterable[int]) -> bool:
        """Count one page of `site` carrying these line keys; False (nothing counted) if it was counted before."""
        seen = self.pages.setdefault(site, set())
        if page_key in seen:
            return False
        seen.add(page_key)
        table = self.counts.setdefault(site, {})
        for key in keys:
            table[key] = table.get(key, 0) + 1
        return True

    def merge_rows(self, rows: Iterable[tuple[str, str, int, int]]) -> None:
        """Add persisted rows ((site, "line"|"page", key, count), as `rows()` gives) to this table."""
        for site, kind, key, n in rows:
            if kind == "page":
                self.pages.setdefault(site, set()).add(key)
            else:
                table = self.counts.setdefault(site, {})
                table[key] = table.get(key, 0) + n

    def for_site(self, site: str | None) -> Mapping[int, int]:
        """The line counts of one site (empty when the site is unknown)."""
        return self.counts.get(site, {}) if site else {}

    def rows(self) -> Iterable[tuple[str, str, int, int]]:
        """(site, "line", key, pages) for every counted line and (site, "page", key, 1) for every counted
        page, sorted: what the flows persist."""
        for site in sorted(set(self.counts) | set(self.pages)):
            for page_key in sorted(self.pages.get(site, ())):
                yield site, "page", page_key, 1
            for key, n in sorted(self.counts.get(site, {}).items()):
                yield site, "line", key, n

    def has_page(self, site: str, page_key: int) -> bool:
        """Whether this page of the site was counted."""
        return page_key in self.pages.get(site, ())

    def counts_of(self, site: str, keys: Sequence[int]) -> list[int]:
        """The counts of these line keys of the site, in order (0 for a key never seen)."""
        table = self.counts.get(site, {})
        return [table.get(key, 0) for key in keys]

    def lines_at_least(self, site: str, minimum: int) -> dict[int, int]:
        """The site's lines counted at least `minimum` times, with their counts."""
        return {key: n for key, n in self.counts.get(site, {}).items() if n >= minimum}


class SiteLineTable(Protocol):
    """What a `SiteLearner` reads of the counts committed runs learned."""

    def has_page(self, site: str, page_key: int) -> bool:
        """Whether this page of the site was counted."""

    def counts_of(self, site: str, keys: Sequence[int]) -> list[int]:
        """The counts of these line keys of the site, in order (0 for a key never seen)."""

    def lines_at_least(self, site: str, minimum: int) -> dict[int, int]:
        """The site's lines counted at least `minimum` times, with their counts."""


class PackedSiteLineCounts:
    """Persisted site line counts, held per site as sorted arrays of keys and counts, read-only but for merges.

    What committed runs learned grows with the archive: most lines of a large site are counted once
    (each article's own short lines), and as dicts and sets they took about 90 bytes a line and 60 a
    page in every process that cleans (about 30 MB a Dask worker at 100,000 captures of one site).
    Sorted arrays take 12 and 8.
    """

    def __init__(self) -> None:
        self._lines: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]] = {}
        self._pages: dict[str, npt.NDArray[np.int64]] = {}

    def merge_rows(self, rows: Iterable[tuple[str, str, int, int]]) -> None:
        """Add persisted rows ((site, "line"|"page", key, count), as `SiteLineCounts.rows()` gives)."""
        lines: dict[str, tuple[list[int], list[int]]] = {}
        pages: dict[str, list[int]] = {}
        for site, kind, key, n in rows:
            if kind == "page":
                pages.setdefault(site, []).append(key)
            else:
                keys, counts = lines.setdefault(site, ([], []))
                keys.append(key)
                counts.append(n)
        for site, page_keys in pages.items():
            self._pages[site] = np.union1d(self._pages.get(site, np.empty(0, np.int64)),
                                           np.asarray(page_keys, dtype=np.int64))
        for site, (keys, counts) in lines.items():
            self._merge_lines(site, np.asarray(keys, dtype=np.int64), np.asarray(counts, dtype=np.int64))

    def _merge_lines(self, site: str, keys: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        keys, starts = np.unique(keys[order], return_index=True)
        added = np.add.reduceat(counts[order], starts).astype(np.uint32)  # a key twice in the rows: summed
        held = self._lines.get(site)
        if held is None:
            self._lines[site] = (keys, added)
            return
        # The table is large and the part small: add to the keys it holds, insert the others in place
        # of order. New arrays, swapped in whole, so a reader never sees a half-merged table.
        table_keys, table_counts = held
        at = np.searchsorted(table_keys, keys)
        found = at < len(table_keys)
        found[found] = table_keys[at[found]] == keys[found]
        table_counts = table_counts.copy()
        table_counts[at[found]] += added[found]
        new = ~found
        self._lines[site] = (np.insert(table_keys, at[new], keys[new]), np.insert(table_counts, at[new], added[new]))

    def has_page(self, site: str, page_key: int) -> bool:
        """Whether this page of the site was counted."""
        pages = self._pages.get(site)
        if pages is None:
            return False
        at = int(np.searchsorted(pages, page_key))
        return at < len(pages) and int(pages[at]) == page_key

    def counts_of(self, site: str, keys: Sequence[int]) -> list[int]:
        """The counts of these line keys of the site, in order (0 for a key never seen)."""
        held = self._lines.get(site)
        if held is None or not len(held[0]) or not keys:
            return [0] * len(keys)
        table_keys, table_counts = held
        wanted = np.fromiter(keys, dtype=np.int64, count=len(keys))
        at = np.minimum(np.searchsorted(table_keys, wanted), len(table_keys) - 1)
        counts: list[int] = np.where(table_keys[at] == wanted, table_counts[at], 0).tolist()
        return counts

    def lines_at_least(self, site: str, minimum: int) -> dict[int, int]:
        """The site's lines counted at least `minimum` times, with their counts."""
        held = self._lines.get(site)
        if held is None:
            return {}
        keep = held[1] >= minimum
        return dict(zip(held[0][keep].tolist(), held[1][keep].tolist(), strict=True))

    def rows(self) -> Iterable[tuple[str, str, int, int]]:
        """The same rows as `SiteLineCounts.rows()` would give for these counts, sorted."""
        for site in sorted(set(self._lines) | set(self._pages)):
            for page_key in self._pages.get(site, np.empty(0, np.int64)).tolist():
                yield site, "page", page_key, 1
            keys, counts = self._lines.get(site, (np.empty(0, np.int64), np.empty(0, np.uint32)))
            for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
                yield site, "line", key, n


class SiteRepeatedCleaner(Cleaner):
    """Removes the lines the site's other captures also carry, with the count as evidence."""

    category = "site_repeated"

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        if self.config.site_repeated_min_captures < 1:
            raise ValueError("site_repeated_min_captures must be at least 1 (another capture)")
        self.rules = RuleSet(self.category, "lines repeated across other captures of the same site", ())

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None,
             site_counts: Mapping[int, int] | None = None) -> list[Removal]:
        """One removal per unclaimed line seen in enough other captures of the site."""
        if not site_counts:
            return []
        claimed = claimed_line_indexes(page, prior)
        minimum = self.config.site_repeated_min_captures
        out = []
        for line in page.lines:
            if line.index in claimed or len(line.text) > MAX_COUNTED_LINE_CHARS:
                continue
            if site_counts.get(line_key(line.text), 0) >= minimum:
                out.append(line_removal(line, self.category, RULE_ID))
        return out


def site_removal_keys(removals: Sequence[Removal]) -> tuple[int, ...]:
    """The line keys of the removals made by this cleaner, in page order."""
    return tuple(line_key(r.text) for r in removals if r.category == "site_repeated")


def evidence(removed_keys: Sequence[int], site: str, site_counts: Mapping[int, int]) -> str | None:
    """A flag that says what the site's table showed: lines removed and the captures they were seen in."""
    seen = [site_counts.get(key, 0) for key in removed_keys]
    if not seen:
        return None
    return (f"{EVIDENCE_PREFIX} {len(seen)} lines of {site} also seen in {min(seen)}–{max(seen)} other captures "
            f"of the site")


def restate_evidence(result: CleanResult, site: str, site_counts: Mapping[int, int]) -> CleanResult:
    """The result with its site evidence flag stated against `site_counts` (a newer table of the site).

    Which lines a table removes depends only on which keys reach the threshold, but the flag quotes
    their counts; a capture cleaned against an older table that removed the same lines gets the
    flag it would have had, without being cleaned again."""
    if not result.site_repeated_keys:
        return result
    flag = evidence(result.site_repeated_keys, site, site_counts)
    flags = tuple(flag if f.startswith(EVIDENCE_PREFIX) and flag else f for f in result.flags)
    return result if flags == result.flags else replace(result, flags=flags)


def site_of(url: str | None) -> str | None:
    """The site a capture belongs to: its URL's host, lower-cased (None when the capture has no URL)."""
    if not url:
        return None
    host = urlsplit(url).hostname
    return host or None


class SiteLearner:
    """Learns a run's site furniture as captures stream by, on top of what committed runs learned.

    `base` (the dataset's persisted table) is only read; what this run adds is kept apart in `learned`
    so the flows can persist it with the unit that saw it.
    """

    def __init__(self, base: SiteLineTable, minimum: int) -> None:
        self.base = base
        self.minimum = minimum
        self.learned = SiteLineCounts()
        self._furniture: dict[str, dict[int, int]] = {}
        # Per site whose table was taken whole: the lines whose count changed since the last take.
        # Only those sites are tracked, so a learner nobody ships tables from keeps no second copy.
        self._changes: dict[str, dict[int, int]] = {}
        # Per watched site: for each watcher, the keys that reached the threshold since it began (see `watch_joins`).
        self._joins: dict[str, list[set[int]]] = {}

    def _site_furniture(self, site: str) -> dict[int, int]:
        furniture = self._furniture.get(site)
        if furniture is None:
            furniture = self.base.lines_at_least(site, self.minimum)
            self._furniture[site] = furniture
        return furniture

    def known_lines(self, site: str) -> Mapping[int, int]:
        """The site's lines carried by at least `minimum` pages so far, with their counts.

        A read-only live view, not a copy: copying a large site's table for each of its captures
        would make a run quadratic in the site's size."""
        return MappingProxyType(self._site_furniture(site))

    def take_table(self, site: str) -> dict[int, int]:
        """A copy of the site's known lines; from now on `take_changes` gives what changes after it."""
        self._changes[site] = {}
        return dict(self._site_furniture(site))

    def take_changes(self, site: str) -> dict[int, int]:
        """The site's known lines whose count changed since the last take (table or changes), with their counts."""
        changes = self._changes.get(site)
        if changes is None:
            raise KeyError(f"no table of {site!r} was taken: take_table first")
        self._changes[site] = {}
        return changes

    def watch_joins(self, site: str) -> set[int]:
        """From now on, collect the site's keys that newly reach the threshold into the (live) set returned.

        Which lines a capture loses depends on which keys are known; a capture cleaned against the
        table of a moment ago needs cleaning again only if one of its keys joined since."""
        joins: set[int] = set()
        self._joins.setdefault(site, []).append(joins)
        return joins

    def unwatch_joins(self, site: str, joins: set[int]) -> None:
        """Stop collecting the site's new keys into `joins` (a set `watch_joins` returned)."""
        watchers = self._joins.get(site, [])
        self._joins[site] = [w for w in watchers if w is not joins]
        if not self._joins[site]:
            del self._joins[site]

    def learn(self, site: str, page: int, keys: Iterable[int]) -> None:
        """Count one page of the site (unless that page was counted before, here or in a committed run)."""
        keys = tuple(keys)
        if self.base.has_page(site, page) or not self.learned.add(site, page, keys):
            return
        furniture = self._site_furniture(site)
        learned_counts = self.learned.for_site(site)
        changes = self._changes.get(site)
        watchers = self._joins.get(site, ())
        for key, base_count in zip(keys, self.base.counts_of(site, keys), strict=True):
            total = base_count + learned_counts.get(key, 0)
            if total >= self.minimum:
                if watchers and key not in furniture:
                    for joins in watchers:
                        joins.add(key)
                furniture[key] = total
                if changes is not None:
                    changes[key] = total
