"""Run summaries: what a run read, wrote, rejected and removed, merged across batches."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from cleaners import Removal
from cleaners.explain import category_order, escape_markdown, link_free

NO_SITE = "(no site name)"
SAMPLES_PER_CATEGORY = 3
TOP_RULES = 10
TOP_SITES = 10
COUNTERS = (
    "rejected",
    "skipped",
    "extractors",
    "removals_by_category",
    "removals_by_rule",
    "removed_chars_by_category",
    "removed_chars_by_rule",
    "documents_by_site",
    "removals_by_site",
    "removed_chars_by_site",
    "ignored_files",
)


@dataclass
class RunSummary:
    """Counts for one run (or one batch, before merging). Every capture seen is accounted for."""

    captures_seen: int = 0
    documents: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by reason (duplicates not included)
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # archive records that are not captures, by reason
    already_ingested: int = 0
    damaged_archives: int = 0  # archives that became unreadable part-way (recorded in rejects)
    extractors: Counter[str] = field(default_factory=Counter)  # documents by what produced their text
    flagged_overdeletion: int = 0
    removals_by_category: Counter[str] = field(default_factory=Counter)
    removals_by_rule: Counter[str] = field(default_factory=Counter)
    removed_chars_by_category: Counter[str] = field(default_factory=Counter)
    removed_chars_by_rule: Counter[str] = field(default_factory=Counter)
    # Per site name: documents, removals and removed characters (what exists of "site-level boilerplate"
    # until lines repeated across a site's pages get a category of their own).
    documents_by_site: Counter[str] = field(default_factory=Counter)
    removals_by_site: Counter[str] = field(default_factory=Counter)
    removed_chars_by_site: Counter[str] = field(default_factory=Counter)
    # A few removed texts per category, link-free, the first distinct ones met.
    removal_samples: dict[str, list[str]] = field(default_factory=dict)
    ignored_files: Counter[str] = field(default_factory=Counter)  # not captures: by suffix
    units_committed: int = 0
    chars_raw: int = 0
    chars_kept: int = 0

    def merge(self, other: RunSummary) -> RunSummary:
        """Add another summary's counts into this one (returns self): counts add, Counters update, samples join."""
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, name))
            elif name == "removal_samples":
                for category, samples in other.removal_samples.items():
                    for sample in samples:
                        self._add_sample(category, sample)
            else:
                setattr(self, name, mine + getattr(other, name))
        return self

    def subtract(self, other: RunSummary) -> RunSummary:
        """Take another summary's counts out of this one (returns self); samples stay (they are only a sample)."""
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.subtract(getattr(other, name))
                for key in [k for k, v in mine.items() if v == 0]:
                    del mine[key]
            elif name != "removal_samples":
                setattr(self, name, mine - getattr(other, name))
        return self

    def add_document(self, site_name: str | None, removed: tuple[Removal, ...] | list[Removal]) -> None:
        """Count one document's removals: by category, rule and site, and keep samples of their text."""
        site = site_name or NO_SITE
        self.documents_by_site[site] += 1
        for removal in removed:
            chars = removal.end - removal.start
            self.removals_by_category[removal.category] += 1
            self.removals_by_rule[removal.rule] += 1
            self.removed_chars_by_category[removal.category] += chars
            self.removed_chars_by_rule[removal.rule] += chars
            self.removals_by_site[site] += 1
            self.removed_chars_by_site[site] += chars
            self._add_sample(removal.category, removal.text)

    def _add_sample(self, category: str, text: str) -> None:
        samples = self.removal_samples.setdefault(category, [])
        if len(samples) >= SAMPLES_PER_CATEGORY:  # full: skip the link scrubbing, run for every removal otherwise
            return
        sample = link_free(text)
        if sample and sample not in samples:
            samples.append(sample)

    @property
    def rejected_total(self) -> int:
        """Captures rejected for any reason."""
        return sum(self.rejected.values())

    @property
    def skipped_total(self) -> int:
        """Archive records skipped as not captures, for any reason."""
        return sum(self.skipped.values())

    @property
    def accounted_for(self) -> int:
        """Documents + rejects + duplicates + skipped records + captures already ingested."""
        return self.documents + self.rejected_total + self.duplicates + self.skipped_total + self.already_ingested

    def balanced(self) -> bool:
        """The accounting invariant: every capture seen has exactly one recorded fate."""
        return self.accounted_for == self.captures_seen

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (counters become dicts sorted by count)."""
        out = asdict(self)
        for name in COUNTERS:
            out[name] = dict(getattr(self, name).most_common())
        out["rejected_total"] = self.rejected_total
        out["skipped_total"] = self.skipped_total
        out["balanced"] = self.balanced()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        """Inverse of `to_dict` (derived keys ignored)."""
        summary = cls()
        for key, value in data.items():
            if key in COUNTERS:
                setattr(summary, key, Counter(value))
            elif key == "removal_samples":
                summary.removal_samples = {k: list(v) for k, v in value.items()}
            elif key in cls.__dataclass_fields__:
                setattr(summary, key, value)
        return summary

    def to_markdown(self, title: str = "boilerstrip run", elapsed_s: float | None = None) -> str:
        """The summary as a Markdown report (the Prefect artifact); with the run's duration, its throughput."""
        lines = [
            f"# {title}",
            "",
            "| captures seen | documents | rejected | duplicates | skipped | already ingested | flagged |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.captures_seen} | {self.documents} | {self.rejected_total} | {self.duplicates} "
            f"| {self.skipped_total} | {self.already_ingested} | {self.flagged_overdeletion} |",
            "",
            f"Accounting: {self.accounted_for} of {self.captures_seen} captures have a recorded fate"
            f" ({'balanced' if self.balanced() else 'NOT BALANCED'}).",
        ]
        if elapsed_s:
            read = self.captures_seen - self.already_ingested
            lines.append(f"Throughput: {read} captures read in {elapsed_s:.1f} s ({read / elapsed_s:.1f} captures/s, "
                         f"{self.documents / elapsed_s:.1f} documents/s; {self.units_committed} units committed).")
        if self.damaged_archives:
            lines.append(f"Damaged archives: {self.damaged_archives} (read up to the damage; see rejects).")
        if self.chars_raw:
            lines.append(
                f"Characters kept: {self.chars_kept} of {self.chars_raw} ({self.chars_kept / self.chars_raw:.1%})."
            )
        for heading, counter, col in (
            ("Rejects by reason", self.rejected, "reason"),
            ("Archive records skipped (not captures)", self.skipped, "reason"),
            ("Documents by extractor", self.extractors, "extractor"),
            ("Files ignored (not captures)", self.ignored_files, "suffix"),
        ):
            if counter:
                lines += ["", f"## {heading}", "", f"| {col} | count |", "|---|---:|"]
                lines += [f"| `{key}` | {count} |" for key, count in counter.most_common()]
        if self.removals_by_category:
            lines += ["", "## Removals by category", "", "| category | spans | characters |", "|---|---:|---:|"]
            lines += [
                f"| `{c}` | {self.removals_by_category[c]} | {self.removed_chars_by_category[c]} |"
                for c in category_order(self.removals_by_category)
            ]
        if self.removals_by_rule:
            top = self.removals_by_rule.most_common(TOP_RULES)
            lines += ["", f"## Top rules ({len(top)} of {len(self.removals_by_rule)} that fired)", "",
                      "| rule | spans | characters |", "|---|---:|---:|"]
            lines += [f"| `{rule}` | {n} | {self.removed_chars_by_rule[rule]} |" for rule, n in top]
        if self.removed_chars_by_site:
            lines += ["", "## Sites with the most removed", "",
                      "Every removal counted per site name (lines repeated across a site's pages are not yet "
                      "a category of their own).", "",
                      "| site | documents | spans | characters removed |", "|---|---:|---:|---:|"]
            for site, chars in self.removed_chars_by_site.most_common(TOP_SITES):
                spans, documents = self.removals_by_site[site], self.documents_by_site[site]
                lines.append(f"| {escape_markdown(site)} | {documents} | {spans} | {chars} |")
        if self.removal_samples:
            lines += ["", "## Removed text, a sample per category", "",
                      "Links and e-mail addresses are replaced by ⟨link⟩.", "",
                      "| category | removed text |", "|---|---|"]
            for category in category_order(self.removal_samples):
                lines += [f"| `{category}` | {escape_markdown(t)} |" for t in self.removal_samples[category]]
        return "\n".join(lines) + "\n"
