"""Run summaries: what a run read, wrote, rejected and removed, merged across batches."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

NO_SITE = "(no site name)"


@dataclass
class RunSummary:
    """Counts for one run (or one batch, before merging). Every capture seen is accounted for."""

    captures_seen: int = 0
    documents: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by reason (duplicates not included)
    duplicates: int = 0
    already_ingested: int = 0
    flagged_overdeletion: int = 0
    removals_by_category: Counter[str] = field(default_factory=Counter)
    removals_by_rule: Counter[str] = field(default_factory=Counter)
    ignored_files: Counter[str] = field(default_factory=Counter)  # not captures: by suffix
    units_committed: int = 0
    chars_raw: int = 0
    chars_kept: int = 0

    def merge(self, other: RunSummary) -> RunSummary:
        """Add another summary's counts into this one (returns self)."""
        for name in (
            "captures_seen",
            "documents",
            "duplicates",
            "already_ingested",
            "flagged_overdeletion",
            "units_committed",
            "chars_raw",
            "chars_kept",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("rejected", "removals_by_category", "removals_by_rule", "ignored_files"):
            getattr(self, name).update(getattr(other, name))
        return self

    @property
    def rejected_total(self) -> int:
        """Captures rejected for any reason."""
        return sum(self.rejected.values())

    @property
    def accounted_for(self) -> int:
        """Documents + rejects + duplicates + captures skipped as already ingested."""
        return self.documents + self.rejected_total + self.duplicates + self.already_ingested

    def balanced(self) -> bool:
        """The accounting invariant: every capture seen has exactly one recorded fate."""
        return self.accounted_for == self.captures_seen

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (counters become dicts sorted by count)."""
        out = asdict(self)
        for name in ("rejected", "removals_by_category", "removals_by_rule", "ignored_files"):
            out[name] = dict(getattr(self, name).most_common())
        out["rejected_total"] = self.rejected_total
        out["balanced"] = self.balanced()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        """Inverse of `to_dict` (derived keys ignored)."""
        summary = cls()
        for key, value in data.items():
            if key in ("rejected", "removals_by_category", "removals_by_rule", "ignored_files"):
                setattr(summary, key, Counter(value))
            elif key in cls.__dataclass_fields__:
                setattr(summary, key, value)
        return summary

    def to_markdown(self, title: str = "boilerstrip run") -> str:
        """The summary as a Markdown report (the Prefect artifact)."""
        lines = [
            f"# {title}",
            "",
            "| captures seen | documents | rejected | duplicates | already ingested | flagged (over-deletion) |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {self.captures_seen} | {self.documents} | {self.rejected_total} | {self.duplicates} "
            f"| {self.already_ingested} | {self.flagged_overdeletion} |",
            "",
            f"Accounting: {self.accounted_for} of {self.captures_seen} captures have a recorded fate"
            f" ({'balanced' if self.balanced() else 'NOT BALANCED'}).",
        ]
        if self.chars_raw:
            lines.append(
                f"Characters kept: {self.chars_kept} of {self.chars_raw} ({self.chars_kept / self.chars_raw:.1%})."
            )
        for heading, counter, col in (
            ("Rejects by reason", self.rejected, "reason"),
            ("Removals by category", self.removals_by_category, "category"),
            ("Removals by rule", self.removals_by_rule, "rule"),
            ("Files ignored (not captures)", self.ignored_files, "suffix"),
        ):
            if counter:
                lines += ["", f"## {heading}", "", f"| {col} | count |", "|---|---:|"]
                lines += [f"| `{key}` | {count} |" for key, count in counter.most_common()]
        return "\n".join(lines) + "\n"
