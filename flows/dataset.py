"""The output dataset: explicit Parquet schemas, atomic unit commits, and the manifest of what is done.

Layout of DIR (a local folder or any fsspec URL):
  documents/part-<unit>-<k>.parquet   one row per document (readers glob DIR/documents/**/*.parquet)
  rejects/part-<unit>.parquet         one row per rejected or duplicate capture, and per damaged archive
  _manifest/<unit>.json               the commit record of a unit: its source files, files written,
                                      every capture's fate, and the archive records it skipped

A unit is committed in three steps: its part files are written under hidden temporary names, then
its manifest entry is written (temporary name, then rename: the commit point), then the part files
are renamed into place. Opening the dataset finishes any committed unit whose renames were cut short
and deletes temporary files no manifest entry owns, so a crash at any point leaves the whole unit or
nothing, and a re-run never duplicates a row. (On object stores a rename is a copy: each object still
appears whole, and the same deterministic names make a redone unit overwrite, never duplicate.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

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
WARC_FIELDS = [
    pa.field("warc_record_id", pa.string()),
    pa.field("warc_offset", pa.int64()),  # byte offset of the record in `source` (re-read it from there)
    pa.field("warc_payload_digest", pa.string()),
]

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
        pa.field("extractor", pa.string(), nullable=False),
        pa.field("capture_sha256", pa.string(), nullable=False),
        pa.field("captured_at", UTC_TIMESTAMP),
        pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
        *WARC_FIELDS,
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
        pa.field("capture_sha256", pa.string(), nullable=False),  # empty when the bytes could not be read
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),  # reason=duplicate: source of the first capture with these bytes
        pa.field("url", pa.string()),
        pa.field("warc_record_id", pa.string()),
        pa.field("warc_offset", pa.int64()),
        pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
        pa.field("boilerstrip_version", pa.string(), nullable=False),
        pa.field("flow_run_id", pa.string()),
    ]
)

# Parsed manifest entries by (URL, path): immutable once committed, so safe to keep for the process.
_MANIFEST_CACHE: dict[tuple[str, str], dict[str, Any]] = {}

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


@dataclass
class UnitRecord:
    """Everything a unit commits besides its rows: the manifest entry."""

    # (uri, fingerprint, records) of every source file the unit read whole; records = captures + skipped
    source_files: list[tuple[str, str, int]] = field(default_factory=list)
    fates: list[CaptureFate] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # archive records that are not captures, by reason


class Dataset:
    """A boilerstrip output folder (local or fsspec URL): read what is committed, commit units atomically."""

    def __init__(self, root: str) -> None:
        self.fs, path = fsspec.core.url_to_fs(str(root))
        self.root = path.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)

    def path(self, *parts: str) -> str:
        """Path (for self.fs) of something inside the dataset."""
        return "/".join([self.root, *parts])

    def open(self) -> Dataset:
        """Create the folders if needed and finish or discard what a crashed run left."""
        for folder in (DOCUMENTS_DIR, REJECTS_DIR, MANIFEST_DIR):
            self.fs.makedirs(self.path(folder), exist_ok=True)
        self.recover()
        return self

    def _entries(self) -> Iterable[dict[str, Any]]:
        # A committed entry is written once (temporary name, then rename) and never changed, so each
        # is parsed once per process: every unit of a long backfill lists the folder, reads only new ones.
        for path in sorted(self.fs.glob(self.path(MANIFEST_DIR, "*.json"))):
            key = (self.fs.unstrip_protocol(path), path)
            entry = _MANIFEST_CACHE.get(key)
            if entry is None:
                with self.fs.open(path, "rb") as fh:
                    entry = json.loads(fh.read().decode("utf-8"))
                _MANIFEST_CACHE[key] = entry
            yield entry

    def recover(self) -> list[str]:
        """Roll committed units forward and delete orphan temporary files; return what was done."""
        actions: list[str] = []
        owned: set[str] = set()
        for entry in self._entries():
            for rel in entry["files"]:
                final = self.path(rel)
                tmp = _tmp_path(final)
                owned.add(tmp)
                if not self.fs.exists(final) and self.fs.exists(tmp):
                    self.fs.mv(tmp, final)
                    actions.append(f"finished commit of {rel}")
        for folder in (DOCUMENTS_DIR, REJECTS_DIR, MANIFEST_DIR):
            for tmp in self.fs.glob(self.path(folder, ".*.tmp")):
                if tmp not in owned:
                    self.fs.rm(tmp)
                    actions.append(f"deleted uncommitted {tmp[len(self.root) + 1:]}")
        return actions

    def fates(self) -> list[CaptureFate]:
        """Every capture recorded by a committed unit."""
        return [CaptureFate(*row) for entry in self._entries() for row in entry["captures"]]

    def committed_source_files(self) -> dict[tuple[str, str], int]:
        """(uri, fingerprint) of every source file a committed unit read whole → records it held."""
        return {(uri, fp): n for entry in self._entries() for uri, fp, n in entry["source_files"]}

    def has_unit(self, unit: str) -> bool:
        """Whether a unit of this name is committed."""
        return bool(self.fs.exists(self.path(MANIFEST_DIR, f"{unit}.json")))

    def unit_writer(self, unit: str, rows_per_part: int) -> UnitWriter:
        """A writer for one unit's rows; nothing becomes visible until its `commit`."""
        return UnitWriter(self, unit, rows_per_part)

    def _write_durably(self, path: str, write: Any) -> None:
        with self.fs.open(path, "wb") as fh:
            write(fh)
            if self.local:
                fh.flush()
                os.fsync(fh.fileno())


class UnitWriter:
    """Collects a unit's rows, writing each full part to a hidden temporary file, then commits them all.

    Memory stays bounded by one part (`rows_per_part` documents) however large the unit (a WARC file).
    """

    def __init__(self, dataset: Dataset, unit: str, rows_per_part: int) -> None:
        self.dataset = dataset
        self.unit = unit
        self.rows_per_part = max(1, rows_per_part)
        self.documents: list[dict[str, Any]] = []
        self.rejects: list[dict[str, Any]] = []
        self.written: list[str] = []  # final paths whose temporary file is written

    def add_document(self, row: dict[str, Any]) -> None:
        """Queue a document row; flush a part when it is full."""
        self.documents.append(row)
        if len(self.documents) >= self.rows_per_part:
            self._flush_documents()

    def add_reject(self, row: dict[str, Any]) -> None:
        """Queue a reject row (written at commit: rejects are small)."""
        self.rejects.append(row)

    def _flush_documents(self) -> None:
        if self.documents:
            final = self.dataset.path(DOCUMENTS_DIR, f"part-{self.unit}-{len(self.written)}.parquet")
            self._write_table(final, pa.Table.from_pylist(self.documents, schema=DOCUMENT_SCHEMA))
            self.documents = []

    def _write_table(self, final: str, table: pa.Table) -> None:
        self.written.append(final)
        self.dataset._write_durably(_tmp_path(final), lambda fh: pq.write_table(
            table, fh, compression=PARQUET_COMPRESSION))

    def abort(self) -> None:
        """Delete every temporary file written so far (nothing of a failed unit may linger)."""
        for final in self.written:
            tmp = _tmp_path(final)
            try:
                if self.dataset.fs.exists(tmp):
                    self.dataset.fs.rm(tmp)
            except OSError:
                pass  # a read-only disk: `recover` deletes it on the next open; the original error matters

    def commit(self, record: UnitRecord) -> list[str]:
        """Write the last parts and the manifest entry (the commit point), then reveal the parts."""
        ds = self.dataset
        try:
            self._flush_documents()
            if self.rejects:
                self._write_table(ds.path(REJECTS_DIR, f"part-{self.unit}.parquet"),
                                  pa.Table.from_pylist(self.rejects, schema=REJECT_SCHEMA))
            files = [final[len(ds.root) + 1 :] for final in self.written]
            entry = {"unit": self.unit, "files": files, "source_files": [list(sf) for sf in record.source_files],
                     "captures": [[f.source, f.capture_sha256, f.fate, f.id] for f in record.fates],
                     "skipped": record.skipped}
            manifest = ds.path(MANIFEST_DIR, f"{self.unit}.json")
            payload = json.dumps(entry, ensure_ascii=False).encode("utf-8")
            ds._write_durably(_tmp_path(manifest), lambda fh: fh.write(payload))
        except BaseException:
            self.abort()
            raise
        ds.fs.mv(_tmp_path(manifest), manifest)  # the commit point
        for final in self.written:
            ds.fs.mv(_tmp_path(final), final)
        return files


def committed_parts(folder: Path) -> list[Path]:
    """The committed Parquet part files under a local table folder (temporary, hidden files left out), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))


def _tmp_path(final: str) -> str:
    # A leading dot hides it from pyarrow's dataset discovery, and the .tmp suffix from *.parquet globs.
    head, _, name = final.rpartition("/")
    return f"{head}/.{name}.tmp"
