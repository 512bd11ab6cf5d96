"""The shape every category cleaner shares, and the generic matching of pattern rules."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from cleaners.model import Config, Line, Page, Removal
from cleaners.render import excise, resolve_overlaps
from cleaners.rules import Rule, RuleSet, load_rules
from cleaners.rules.matcher import PageHits, matcher_for
from cleaners.segment import segment

TERMINAL_PUNCTUATION = ".!?…\"'”’»)]:;"


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def ends_like_sentence(text: str) -> bool:
    """True when a line ends the way running prose does (full stop, question, quote)."""
    return text.rstrip()[-1:] in ".!?…\"'”’»"


def normalise(text: str) -> str:
    """Case- and space-insensitive form of a line, for comparing repeats."""
    return " ".join(text.casefold().split())


def claimed_line_indexes(page: Page, prior: Sequence[Removal]) -> set[int]:
    """Indexes of the lines whose content an earlier cleaner already removed."""
    spans = sorted((r.start, r.end) for r in prior)
    claimed: set[int] = set()
    lines = page.lines
    i = j = 0
    # Walk lines and spans together: for each line, the first span (in start order) not ending before it
    # decides whether it is covered. Lines before that span's start cannot be, so jump over them.
    while i < len(lines) and j < len(spans):
        line = lines[i]
        while j < len(spans) and spans[j][1] <= line.start:
            j += 1
        if j == len(spans):
            break
        start, end = spans[j]
        if line.start < start <= end:
            i = bisect_left(lines, start, lo=i + 1, key=_line_start)
            continue
        if start <= line.start and end >= line.end:
            claimed.add(line.index)
        i += 1
    return claimed


def _line_start(line: Line) -> int:
    return line.start


def line_removal(line: Line, category: str, rule_id: str) -> Removal:
    """A removal covering one whole line's content."""
    return Removal(line.start, line.end, category, rule_id, line.text)


def inline_removals(page: Page, line: Line, rule: Rule, category: str) -> Iterator[Removal]:
    """The pieces of one line an `inline` rule cuts: of each match, its first group that took part (or all of it)."""
    raw = page.text[line.start:line.end]
    # A hard-wrapped line is the page's lines joined with single spaces (`segment`): the rule reads that text, as the
    # other rules do, so a button the wrap split ("…business.Click To" / "Tweet") is still found, and each piece is
    # mapped back to the page by counting non-space characters, which the joining leaves as they are.
    at = None if raw == line.text else [i for i, ch in enumerate(raw) if not ch.isspace()]
    if at is not None and "".join(raw.split()) != "".join(line.text.split()):
        return  # never expected (joining only adds or drops spaces); a piece that cannot be placed is not cut
    for match in rule.pattern.finditer(line.text):
        start, end = next((match.span(g) for g in range(1, rule.pattern.groups + 1) if match.start(g) >= 0),
                          match.span())
        if end <= start:
            continue
        if at is not None:
            first = _non_space_before(line.text, start)
            last = _non_space_before(line.text, end)
            if last <= first:
                continue
            start, end = at[first], at[last - 1] + 1
        yield Removal(line.start + start, line.start + end, category, rule.id, raw[start:end])


def _non_space_before(text: str, offset: int) -> int:
    return offset - sum(ch.isspace() for ch in text[:offset])


class Cleaner:
    """A category cleaner: finds spans to remove; never edits the text itself.

    Subclasses set `category` and may override `find` for rules that need the page's structure;
    the default applies the category's pattern rules (`line`, `cues`, `run`) line by line.
    """

    category: ClassVar[str]
    # A category whose file marks some rules `after_model` has a second cleaner after the line model that applies
    # those (True here), while its first applies the rest.
    takes_after_model_rules: ClassVar[bool] = False
    # The ids of its `inline` rules (set from the rule file; none for a cleaner without pattern rules).
    inline_rule_ids: frozenset[str] = frozenset()

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.rules: RuleSet = load_rules(self.category).for_stage(self.takes_after_model_rules)
        # The pipeline settles these removals after every other cleaner's: a piece of a line must not stop a later
        # cleaner from taking the whole line (overlaps go to the first removal).
        self.inline_rule_ids = frozenset(r.id for r in self.rules.rules if r.kind == "inline")

    def find(self, page: Page, prior: Sequence[Removal] = (), hits: PageHits | None = None) -> list[Removal]:
        """Spans this category removes from the page (`prior`: what earlier cleaners took;
        `hits`: the page's pattern matches, when the pipeline has computed them for all categories)."""
        hits = self.page_hits(page, hits)
        candidates = self.candidate_lines(hits)
        if not any(candidates.values()):
            return []  # no pattern of the category matched: skip working out which lines earlier cleaners took
        return list(self.pattern_removals(page, claimed_line_indexes(page, prior), hits, candidates))

    def __call__(self, text: str) -> tuple[str, list[Removal]]:
        """Clean `text` with this category alone: (kept text, removals)."""
        removals = resolve_overlaps(self.find(segment(text)))
        return excise(text, removals)

    def page_hits(self, page: Page, hits: PageHits | None) -> PageHits:
        """The given hits, or this category's own when the cleaner runs alone."""
        if hits is not None:
            return hits
        return matcher_for((self.category,), self.config.max_rule_line_chars).match(page)

    def candidate_lines(self, hits: PageHits) -> dict[str, Sequence[int]]:
        """For each rule of the category (by id), the lines where its own patterns matched, in page order."""
        return {rule.id: hits.lines_for(rule) for rule in self.rules.rules}

    def pattern_removals(self, page: Page, claimed: set[int], hits: PageHits | None = None,
                         candidates: dict[str, Sequence[int]] | None = None) -> Iterable[Removal]:
        """Apply every `line`, `cues` and `run` rule of the category to unclaimed lines, then its `inline` rules to the
        lines none of those took (`candidates`: the rules' `candidate_lines`, when the caller has them)."""
        hits = self.page_hits(page, hits)
        if candidates is None:
            candidates = self.candidate_lines(hits)
        taken: set[int] = set()
        for rule in self.rules.rules:
            # Only the lines where the rule's own patterns matched can fire it; for a `run`, a line left out
            # breaks the run just as a line that does not fire would.
            lines = [page.lines[i] for i in candidates[rule.id] if i not in claimed]
            if rule.kind == "run":
                for line in run_matches(rule, lines, hits):
                    if line.index not in taken:
                        taken.add(line.index)
                        yield line_removal(line, self.category, rule.id)
            elif rule.kind in ("line", "cues"):
                for line in lines:
                    if line.index not in taken and hits.fires(rule, line.index):
                        taken.add(line.index)
                        yield line_removal(line, self.category, rule.id)
        for rule in self.rules.rules:
            if rule.kind == "inline":
                for i in candidates[rule.id]:
                    if i not in claimed and i not in taken and hits.fires(rule, i):
                        yield from inline_removals(page, page.lines[i], rule, self.category)


def run_matches(rule: Rule, lines: Sequence[Line], hits: PageHits) -> list[Line]:
    """Lines matching a `run` rule that stand in a run of at least `min_run` of them, each at most `max_gap` page
    lines after the one before (1: consecutive lines)."""
    out: list[Line] = []
    run: list[Line] = []
    for line in lines:
        # Runs are over page lines: a line that does not fire (or was never a candidate) is a gap, and a gap wider
        # than the rule allows ends the run.
        if not hits.fires(rule, line.index):
            continue
        if run and line.index - run[-1].index > rule.max_gap:
            if len(run) >= rule.min_run:
                out.extend(run)
            run = []
        run.append(line)
    if len(run) >= rule.min_run:
        out.extend(run)
    return out
