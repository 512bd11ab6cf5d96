"""The output dataset: explicit Parquet schemas, atomic unit commits, and the manifest of what is done.

Layout of DIR:
  documents/part-<unit>.parquet   one row per document (readers glob DIR/documents/**/*.parquet)
  rejects/part-<unit>.parquet     one row per rejected or duplicate capture
  _manifest/<unit>.json           the commit record of a unit: its files and every capture's fate

A unit is committed in three steps: its part files are written under hidden temporary names, then
its manifest entry is written (temporary name, then rename: this is the commit point), then the
part files are renamed into place. Opening the dataset finishes any committed unit whose renames
were cut short and deletes temporary files no manifest entry owns, so a crash at any point leaves
either the whole unit or nothing visible, and a re-run never duplicates a row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

REMOVAL_TYPE = pa.struct(
    [
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
    ]
)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("description", pa.string()),
        pa.field("site_name", pa.string()),
        pa.field("url", pa.string()),
        pa.field("language", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("capture_sha256", pa.string(), nullable=False),
        pa.field("captured_at", UTC_TIMESTAMP),
        pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
        pa.field("removed", pa.list_(pa.field("item", REMOVAL_TYPE, nullable=False)), nullable=False),
        pa.field("flags", pa.list_(pa.field("item", pa.string(), nullable=False)), nullable=False),
        pa.field("n_chars_raw", pa.int64(), nullable=False),
        pa.field("n_chars_text", pa.int64(), nullable=False),
        pa.field("boilerstrip_version", pa.string(), nullable=False),
        pa.field("rules_version", pa.string(), nullable=False),
        pa.field("config_hash", pa.string(), nullable=False),
        pa.field("cleaner_config", pa.string(), nullable=False),
        pa.field("flow_run_id", pa.string()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("capture_sha256", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),  # id of the document with the same bytes (reason=duplicate)
        pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
        pa.field("boilerstrip_version", pa.string(), nullable=False),
        pa.field("flow_run_id", pa.string()),
    ]
)

DOCUMENTS_DIR = "documents"
REJECTS_DIR = "rejects"
MANIFEST_DIR = "_manifest"
PARQUET_COMPRESSION = "zstd"


@dataclass(frozen=True)
class CaptureFate:
    """What became of one capture in a committed unit (a manifest line)."""

    source: str
    capture_sha256: str
    fate: str  # "document" | "rejected" | "duplicate"
    id: str | None  # document id, or for a duplicate the id of the document it repeats


@dataclass(frozen=True)
class CommitResult:
    """Files a unit commit made visible."""

    unit: str
    files: tuple[str, ...]


class Dataset:
    """A boilerstrip output folder: read what is committed, commit new units atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.documents = self.root / DOCUMENTS_DIR
        self.rejects = self.root / REJECTS_DIR
        self.manifest = self.root / MANIFEST_DIR

    def open(self) -> Dataset:
        """Create the folders if needed and finish or discard what a crashed run left."""
        for folder in (self.documents, self.rejects, self.manifest):
            folder.mkdir(parents=True, exist_ok=True)
        self.recover()
        return self

    def _entries(self) -> Iterable[dict[str, Any]]:
        for path in sorted(self.manifest.glob("*.json")):
            yield json.loads(path.read_text(encoding="utf-8"))

    def recover(self) -> list[str]:
        """Roll committed units forward and delete orphan temporary files; return what was done."""
        actions: list[str] = []
        owned: set[Path] = set()
        for entry in self._entries():
            for rel in entry["files"]:
                final = self.root / rel
                tmp = _tmp_path(final)
                owned.add(tmp)
                if not final.exists() and tmp.exists():
                    os.replace(tmp, final)
                    actions.append(f"finished commit of {rel}")
        for folder in (self.documents, self.rejects, self.manifest):
            for tmp in folder.glob(".*.tmp"):
                if tmp not in owned:
                    tmp.unlink()
                    actions.append(f"deleted uncommitted {tmp.relative_to(self.root)}")
        return actions

    def fates(self) -> list[CaptureFate]:
        """Every capture recorded by a committed unit."""
        return [CaptureFate(*row) for entry in self._entries() for row in entry["captures"]]

    def has_unit(self, unit: str) -> bool:
        """Whether a unit of this name is committed."""
        return (self.manifest / f"{unit}.json").exists()

    def commit_unit(
        self,
        unit: str,
        documents: Sequence[dict[str, Any]],
        rejects: Sequence[dict[str, Any]],
        fates: Sequence[CaptureFate],
    ) -> CommitResult:
        """Write a unit's rows and manifest entry so that all of it or none of it becomes visible."""
        planned: list[tuple[Path, pa.Table]] = []
        if documents:
            planned.append(
                (self.documents / f"part-{unit}.parquet", pa.Table.from_pylist(list(documents), schema=DOCUMENT_SCHEMA))
            )
        if rejects:
            planned.append(
                (self.rejects / f"part-{unit}.parquet", pa.Table.from_pylist(list(rejects), schema=REJECT_SCHEMA))
            )
        try:
            for final, table in planned:
                tmp = _tmp_path(final)
                pq.write_table(table, tmp, compression=PARQUET_COMPRESSION)
                _fsync(tmp)
        except BaseException:
            for final, _ in planned:  # nothing of a failed unit may linger, even hidden
                _tmp_path(final).unlink(missing_ok=True)
            raise
        files = tuple(str(final.relative_to(self.root)) for final, _ in planned)
        entry = {
            "unit": unit,
            "files": list(files),
            "captures": [[f.source, f.capture_sha256, f.fate, f.id] for f in fates],
        }
        manifest_path = self.manifest / f"{unit}.json"
        tmp_manifest = _tmp_path(manifest_path)
        tmp_manifest.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        _fsync(tmp_manifest)
        os.replace(tmp_manifest, manifest_path)  # the commit point
        for final, _ in planned:
            os.replace(_tmp_path(final), final)
        return CommitResult(unit, files)


def committed_parts(folder: Path) -> list[Path]:
    """The committed Parquet part files under a table folder (temporary, hidden files left out), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))


def _tmp_path(final: Path) -> Path:
    # A leading dot hides it from pyarrow's dataset discovery, and the .tmp suffix from *.parquet globs.
    return final.with_name(f".{final.name}.tmp")


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
