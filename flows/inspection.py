"""`boilerstrip inspect`: describe a dataset before loading it: rows, sites, languages, dates, size, removals, schema.

Reads only committed files (never recovers or writes anything), column by column and batch by
batch, and never the `text` column, so describing a large dataset costs little memory.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cleaners.explain import category_order
from cleaners.model import flag_kind
from flows.dataset import DOCUMENT_SCHEMA, DOCUMENTS_DIR, MANIFEST_DIR, REJECT_SCHEMA, REJECTS_DIR, committed_parts
from flows.summary import NO_SITE

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VERSION_COLUMNS = ("boilerstrip_version", "rules_version", "config_hash")
NO_LANGUAGE = "(unknown)"
DOCUMENT_COLUMNS = (
    "site_name",
    "language",
    "captured_at",
    "ingested_at",
    "removed",
    "flags",
    "n_chars_raw",
    "n_chars_text",
    "boilerstrip_version",
    "rules_version",
    "config_hash",
)


class NotADataset(ValueError):
    """The folder is not a boilerstrip dataset (no documents/, rejects/ or _manifest/ in it)."""


@dataclass
class TimeRange:
    """Earliest and latest value of a timestamp column, and how many rows have none."""

    min: datetime | None = None
    max: datetime | None = None
    missing: int = 0

    def add(self, column: pa.ChunkedArray | pa.Array) -> None:
        """Widen the range with a batch's values."""
        self.missing += column.null_count
        # As integer microseconds: turning a zoned Arrow timestamp into Python imports pandas (seconds).
        micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        bounds = pc.min_max(micros).as_py()
        for value in (bounds["min"], bounds["max"]):
            if value is not None:
                moment = EPOCH + timedelta(microseconds=value)
                self.min = moment if self.min is None else min(self.min, moment)
                self.max = moment if self.max is None else max(self.max, moment)


@dataclass
class PartFiles:
    """The Parquet part files of one table of the dataset."""

    rows: int = 0
    files: int = 0
    bytes: int = 0
    schema: list[dict[str, Any]] = field(default_factory=list)  # of the first file
    schema_consistent: bool = True  # every file has the first file's schema
    schema_expected: bool = True  # that schema is the one this boilerstrip version writes


@dataclass
class Removals:
    """Spans and characters removed."""

    spans: int = 0
    chars: int = 0


@dataclass
class DatasetDescription:
    """What a dataset holds; `to_dict()` is what `inspect --json` prints."""

    path: str
    documents: PartFiles
    rejects: PartFiles
    units: int = 0  # committed units in the manifest
    captures_recorded: int = 0  # captures the manifest records, whatever became of them
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    sites: int = 0  # distinct site names
    documents_without_site: int = 0
    top_sites: dict[str, int] = field(default_factory=dict)  # documents per site, most first
    languages: dict[str, int] = field(default_factory=dict)
    captured_at: TimeRange = field(default_factory=TimeRange)
    ingested_at: TimeRange = field(default_factory=TimeRange)
    chars_raw: int = 0
    chars_text: int = 0
    removals: Removals = field(default_factory=Removals)
    removals_by_category: dict[str, Removals] = field(default_factory=dict)
    removals_by_rule: dict[str, Removals] = field(default_factory=dict)
    flags_by_kind: dict[str, int] = field(default_factory=dict)
    versions: dict[str, dict[str, int]] = field(default_factory=dict)  # column → value → documents

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (timestamps as ISO 8601 strings)."""
        return json.loads(json.dumps(asdict(self), default=_json_default))  # type: ignore[no-any-return]


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _part_files(folder: Path, expected: pa.Schema) -> tuple[PartFiles, list[Path]]:
    # Hidden names are uncommitted temporary files: readers skip them, so do we.
    files = committed_parts(folder)
    parts = PartFiles(files=len(files))
    first: pa.Schema | None = None
    for path in files:
        parquet = pq.ParquetFile(path)
        parts.rows += parquet.metadata.num_rows
        parts.bytes += path.stat().st_size
        schema = parquet.schema_arrow
        if first is None:
            first = schema
        elif not schema.equals(first, check_metadata=False):
            parts.schema_consistent = False
    if first is not None:
        parts.schema = [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in first]
        parts.schema_expected = first.equals(expected, check_metadata=False)
    return parts, files


def _batches(files: list[Path], columns: tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    # File by file with pyarrow.parquet: pyarrow.dataset would import pandas, seconds for nothing here.
    for path in files:
        yield from pq.ParquetFile(path).iter_batches(columns=list(columns))


def _count_values(counter: Counter[str], column: pa.Array | pa.ChunkedArray, none: str) -> None:
    for item in pc.value_counts(column).to_pylist():
        counter[none if item["values"] is None else item["values"]] += item["counts"]


def inspect_dataset(path: str | Path, top: int = 10) -> DatasetDescription:
    """Python API of `boilerstrip inspect`: describe the dataset at `path` (top `top` sites listed)."""
    root = Path(path)
    if not root.is_dir() or not any((root / d).is_dir() for d in (DOCUMENTS_DIR, REJECTS_DIR, MANIFEST_DIR)):
        raise NotADataset(f"not a boilerstrip dataset (no {DOCUMENTS_DIR}/ or {MANIFEST_DIR}/): {path}")
    documents, document_files = _part_files(root / DOCUMENTS_DIR, DOCUMENT_SCHEMA)
    rejects, reject_files = _part_files(root / REJECTS_DIR, REJECT_SCHEMA)
    out = DatasetDescription(path=str(root), documents=documents, rejects=rejects)

    for manifest in sorted((root / MANIFEST_DIR).glob("*.json")):
        out.units += 1
        out.captures_recorded += len(json.loads(manifest.read_text(encoding="utf-8"))["captures"])

    sites: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    versions: dict[str, Counter[str]] = {name: Counter() for name in VERSION_COLUMNS}
    by_category: dict[str, Removals] = {}
    by_rule: dict[str, Removals] = {}
    if document_files:
        for batch in _batches(document_files, DOCUMENT_COLUMNS):
            _count_values(sites, batch.column("site_name"), NO_SITE)
            _count_values(languages, batch.column("language"), NO_LANGUAGE)
            for name, counter in versions.items():
                _count_values(counter, batch.column(name), "(none)")
            out.captured_at.add(batch.column("captured_at"))
            out.ingested_at.add(batch.column("ingested_at"))
            out.chars_raw += pc.sum(batch.column("n_chars_raw")).as_py() or 0
            out.chars_text += pc.sum(batch.column("n_chars_text")).as_py() or 0
            for flag in pc.list_flatten(batch.column("flags")).to_pylist():
                flags[flag_kind(flag)] += 1
            spans = pc.list_flatten(batch.column("removed"))
            lengths = pc.subtract(spans.field("end"), spans.field("start")).to_pylist()
            categories, rules = spans.field("category").to_pylist(), spans.field("rule").to_pylist()
            for category, rule, chars in zip(categories, rules, lengths, strict=True):
                for key, table in ((category, by_category), (rule, by_rule)):
                    entry = table.setdefault(key, Removals())
                    entry.spans += 1
                    entry.chars += chars
    if reject_files:
        reasons: Counter[str] = Counter()
        for batch in _batches(reject_files, ("reason",)):
            _count_values(reasons, batch.column("reason"), "(none)")
        out.rejects_by_reason = dict(reasons.most_common())

    out.documents_without_site = sites.pop(NO_SITE, 0)
    out.sites = len(sites)
    out.top_sites = dict(sites.most_common(top))
    out.languages = dict(languages.most_common())
    out.flags_by_kind = dict(flags.most_common())
    out.versions = {name: dict(counter.most_common()) for name, counter in versions.items()}
    out.removals_by_category = {c: by_category[c] for c in category_order(by_category)}
    out.removals_by_rule = dict(sorted(by_rule.items(), key=lambda kv: (-kv[1].spans, kv[0])))
    out.removals = Removals(
        sum(r.spans for r in by_category.values()), sum(r.chars for r in by_category.values())
    )
    return out


def print_description(d: DatasetDescription) -> None:
    """Write the description for people: a few rich tables on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, highlight=False, markup=False, emoji=False)  # values are data, not markup

    def counts(title: str, column: str, values: dict[str, Any], value_columns: tuple[str, ...] = ("count",)) -> None:
        if not values:
            return
        table = Table(title=title, title_justify="left")
        table.add_column(column)
        for name in value_columns:
            table.add_column(name, justify="right")
        for key, value in values.items():
            cells = [str(getattr(value, c)) for c in value_columns] if not isinstance(value, int) else [str(value)]
            table.add_row(key, *cells)
        console.print(table)

    kept = f" ({d.chars_text / d.chars_raw:.1%} kept)" if d.chars_raw else ""
    overview = Table(title=f"boilerstrip dataset {d.path}", title_justify="left", show_header=False)
    overview.add_column("what")
    overview.add_column("value")
    for name, value in (
        ("documents", f"{d.documents.rows} rows in {d.documents.files} files, {_size(d.documents.bytes)}"),
        ("rejects", f"{d.rejects.rows} rows in {d.rejects.files} files, {_size(d.rejects.bytes)}"),
        ("manifest", f"{d.units} committed units recording {d.captures_recorded} captures"),
        ("sites", f"{d.sites} distinct; {d.documents_without_site} documents without a site name"),
        ("languages", ", ".join(f"{k} {v}" for k, v in d.languages.items()) or "-"),
        ("captured at", _time_range(d.captured_at)),
        ("ingested at", _time_range(d.ingested_at)),
        ("characters", f"{d.chars_text} kept of {d.chars_raw} captured{kept}"),
        ("removed", f"{d.removals.spans} spans, {d.removals.chars} characters"),
        ("flags", ", ".join(f"{k} {v}" for k, v in d.flags_by_kind.items()) or "-"),
        *((name, ", ".join(f"{k} ({v})" for k, v in values.items()) or "-") for name, values in d.versions.items()),
    ):
        overview.add_row(name, value)
    console.print(overview)
    counts(f"top {len(d.top_sites)} sites (documents)", "site", d.top_sites)
    counts("removals by category", "category", dict(d.removals_by_category), ("spans", "chars"))
    counts("removals by rule", "rule", dict(d.removals_by_rule), ("spans", "chars"))
    counts("rejects by reason", "reason", d.rejects_by_reason)
    for name, parts in (("documents", d.documents), ("rejects", d.rejects)):
        if not parts.schema:
            continue
        notes = []
        if not parts.schema_expected:
            notes.append("differs from the schema this version writes")
        if not parts.schema_consistent:
            notes.append("not the same in every file")
        schema = Table(title=f"{name} schema" + (f" ({'; '.join(notes)})" if notes else ""), title_justify="left")
        for column in ("column", "type", "nullable"):
            schema.add_column(column)
        for f in parts.schema:
            schema.add_row(f["name"], f["type"], "yes" if f["nullable"] else "no")
        console.print(schema)


def _time_range(r: TimeRange) -> str:
    if r.min is None:
        return f"- (none recorded; {r.missing} rows without)" if r.missing else "-"
    missing = f"; {r.missing} rows without" if r.missing else ""
    return f"{r.min.isoformat()} … {r.max.isoformat() if r.max else '-'}{missing}"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            break
        size /= 1024
    return f"{size:.1f} {unit}"
