"""Run summaries: what a run read, wrote, rejected and removed, merged across batches."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

COUNTERS = ("rejected", "skipped", "extractors", "removals_by_category", "removals_by_rule", "ignored_files")


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
    ignored_files: Counter[str] = field(default_factory=Counter)  # not captures: by suffix
    units_committed: int = 0
    chars_raw: int = 0
    chars_kept: int = 0

    def merge(self, other: RunSummary) -> RunSummary:
        """Add another summary's counts into this one (returns self): every field is a count or a Counter."""
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, name))
            else:
                setattr(self, name, mine + getattr(other, name))
        return self

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
            elif key in cls.__dataclass_fields__:
                setattr(summary, key, value)
        return summary

    def to_markdown(self, title: str = "boilerstrip run") -> str:
        """The summary as a Markdown report (the Prefect artifact)."""
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
            ("Removals by category", self.removals_by_category, "category"),
            ("Removals by rule", self.removals_by_rule, "rule"),
            ("Files ignored (not captures)", self.ignored_files, "suffix"),
        ):
            if counter:
                lines += ["", f"## {heading}", "", f"| {col} | count |", "|---|---:|"]
                lines += [f"| `{key}` | {count} |" for key, count in counter.most_common()]
        return "\n".join(lines) + "\n"
