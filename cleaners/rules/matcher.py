"""Match every pattern rule of many categories against a line in two RE2 passes.

Calling each pattern on each line costs a Python→RE2 round trip per (rule, line); an RE2 set
answers "which of these patterns match?" for all of them at once, still in linear time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import re2

from cleaners.model import Page
from cleaners.rules import Rule, load_rules

SET_MEMORY_BYTES = 64 << 20


class RuleMatcher:
    """The `line`/`run` patterns (full match) and `cues`/`inline` patterns (search) of some categories."""

    def __init__(self, categories: tuple[str, ...], max_line_chars: int) -> None:
        self.categories = categories
        self.max_line_chars = max_line_chars
        # A set's DFA is built lazily in a memory budget: at RE2's default (8 MB) the full-match set's DFA
        # keeps overflowing and being rebuilt on long lines (3-4x slower). The budget changes no match.
        options = re2.Options()
        options.max_mem = SET_MEMORY_BYTES
        self._full: Any = re2.Set.FullMatchSet(options)
        self._search: Any = re2.Set.SearchSet(options)
        self._full_slot: dict[str, int] = {}
        self._cue_slots: dict[str, tuple[int, ...]] = {}
        self._require_slots: dict[str, tuple[int, ...]] = {}
        self._inline_slot: dict[str, int] = {}
        search_slots: dict[str, int] = {}  # one slot per distinct source, shared between rules

        def search_slot(source: str) -> int:
            if source not in search_slots:
                search_slots[source] = self._search.Add(source)
            return search_slots[source]

        for category in categories:
            for rule in load_rules(category).rules:
                if rule.kind in ("line", "run") and rule.pattern_source is not None:
                    self._full_slot[rule.id] = self._full.Add(rule.pattern_source)
                elif rule.kind == "cues":
                    self._cue_slots[rule.id] = tuple(search_slot(c) for c in rule.cue_sources)
                    self._require_slots[rule.id] = tuple(search_slot(c) for c in rule.require_sources)
                elif rule.kind == "inline" and rule.pattern_source is not None:
                    self._inline_slot[rule.id] = search_slot(rule.pattern_source)
        self._has_full = bool(self._full_slot)
        self._has_search = bool(search_slots)
        if self._has_full:
            self._full.Compile()
        if self._has_search:
            self._search.Compile()

    def match(self, page: Page) -> PageHits:
        """Which patterns match each line of the page (lines over the length limit match none)."""
        empty: frozenset[int] = frozenset()
        full: list[frozenset[int]] = []
        search: list[frozenset[int]] = []
        words: list[int] = []
        matched: list[int] = []
        full_lines: dict[int, list[int]] = {}
        search_lines: dict[int, list[int]] = {}
        for line in page.lines:
            words.append(len(line.text.split()))
            if len(line.text) > self.max_line_chars:
                full.append(empty)
                search.append(empty)
                continue
            encoded = line.text.encode("utf-8")  # once for both sets (they take bytes as they are)
            full_slots = self._full.Match(encoded) if self._has_full else None
            search_slots = self._search.Match(encoded) if self._has_search else None
            full_hits = frozenset(full_slots) if full_slots else empty
            search_hits = frozenset(search_slots) if search_slots else empty
            full.append(full_hits)
            search.append(search_hits)
            if full_hits or search_hits:
                matched.append(line.index)
                for slot in full_hits:
                    full_lines.setdefault(slot, []).append(line.index)
                for slot in search_hits:
                    search_lines.setdefault(slot, []).append(line.index)
        return PageHits(self, tuple(full), tuple(search), tuple(words), tuple(matched),
                        {slot: tuple(lines) for slot, lines in full_lines.items()},
                        {slot: tuple(lines) for slot, lines in search_lines.items()})

    def lines_for(self, rule: Rule, hits: PageHits) -> Sequence[int]:
        """The lines the rule could take, in page order: those where its own patterns matched (it may still not)."""
        if rule.kind in ("line", "run"):
            return hits.full_lines.get(self._full_slot[rule.id], ())
        if rule.kind == "inline":
            return hits.search_lines.get(self._inline_slot[rule.id], ())
        if rule.kind == "cues":
            require = self._require_slots[rule.id]
            if require:  # all must be found: the lines of the first are enough to look at
                return hits.search_lines.get(require[0], ())
            if rule.min_cues >= 1:
                cue_lines = (hits.search_lines.get(slot, ()) for slot in self._cue_slots[rule.id])
                return sorted(set().union(*cue_lines))
            return hits.matched
        return ()

    def fires(self, rule: Rule, hits: PageHits, line_index: int) -> bool:
        """Does this `line`, `run` or `cues` rule take the line (an `inline` rule: a piece of it), given the hits?"""
        if rule.max_words is not None and hits.words[line_index] > rule.max_words:
            return False
        if rule.min_words is not None and hits.words[line_index] < rule.min_words:
            return False
        if rule.kind in ("line", "run"):
            return self._full_slot[rule.id] in hits.full[line_index]
        if rule.kind == "inline":
            return self._inline_slot[rule.id] in hits.search[line_index]
        if rule.kind == "cues":
            found = hits.search[line_index]
            if not all(slot in found for slot in self._require_slots[rule.id]):
                return False
            return sum(slot in found for slot in self._cue_slots[rule.id]) >= rule.min_cues
        return False


@dataclass(frozen=True)
class PageHits:
    """Per line of one page: matching full-match slots, search slots, and the word count."""

    matcher: RuleMatcher
    full: tuple[frozenset[int], ...]
    search: tuple[frozenset[int], ...]
    words: tuple[int, ...]
    matched: tuple[int, ...]  # the lines some pattern matched, in page order
    full_lines: Mapping[int, tuple[int, ...]]  # full-match slot -> the lines it matched, in page order
    search_lines: Mapping[int, tuple[int, ...]]  # search slot -> the lines it matched, in page order

    def lines_for(self, rule: Rule) -> Sequence[int]:
        """The lines the rule could take (its own patterns matched there), in page order."""
        return self.matcher.lines_for(rule, self)

    def fires(self, rule: Rule, line_index: int) -> bool:
        """Does the rule take this line?"""
        return self.matcher.fires(rule, self, line_index)


@cache
def matcher_for(categories: tuple[str, ...], max_line_chars: int) -> RuleMatcher:
    """A compiled matcher for these categories (built once per process and argument pair)."""
    return RuleMatcher(categories, max_line_chars)
