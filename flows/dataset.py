"""The output dataset: explicit Parquet schemas, atomic unit commits, and the manifest of what is done.

Layout of DIR (a local folder or any fsspec URL):
  documents/part-<unit>-<k>.parquet   one row per document (readers glob DIR/documents/**/*.parquet)
  rejects/part-<unit>.parquet         one row per rejected or duplicate capture, and per damaged archive
  _site_lines/part-<unit>.parquet     the site lines a unit learned (site, kind, key, count): see
                                      cleaners/site_repeated.py; later runs start from their sum
  _manifest/<unit>.json               the commit record of a unit: its source files, files written,
                                      every capture's fate, and the archive records it skipped
  _locks/commit.lock                  serialises commits (and recovery) between processes and machines
  _locks/<writer>.lock                held by each live unit writer, so recovery leaves its files alone
  _faults/<unit>.jsonl                captures that overran their time budget or died with their Dask
                                      worker while the unit was cleaned (flows/watchdog.py); gone
                                      once the unit is committed

A unit is committed in three steps: its part files are written under hidden temporary names that
carry the writer's token, then its manifest entry is written (temporary name, then rename: the
commit point), then the part files are renamed into place. Opening the dataset finishes any committed
unit whose renames were cut short and deletes temporary files no manifest entry owns and no live
writer holds, so a crash at any point leaves the whole unit or nothing, and a re-run never
duplicates a row. (On object stores a rename is a copy: each object still appears whole, and the
same deterministic names make a redone unit overwrite, never duplicate.)

Units may be written in parallel (threads, processes, Dask workers, two runs at once). The commit
step runs under `commit_lock()`: an OS file lock (flock, released by the kernel when its holder dies,
so a kill -9 never leaves the dataset locked). Under it a unit's writer re-checks its content hashes
against everything committed meanwhile (`content_index`), so two units holding the same bytes never
both commit a document. Object stores have no file lock: there commits are serialised by a Dask
cluster-wide lock when running on Dask, and only one run at a time may write an object-store dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from filelock import FileLock, Timeout
from fsspec.implementations.local import LocalFileSystem

from cleaners.site_repeated import PackedSiteLineCounts

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

DOCUMENTS_DIR = "documents"
REJECTS_DIR = "rejects"
MANIFEST_DIR = "_manifest"
LOCKS_DIR = "_locks"
SITE_LINES_DIR = "_site_lines"
FAULTS_DIR = "_faults"
SITE_LINES_SCHEMA = pa.schema([
    pa.field("site", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),  # "line": a line key and its page count; "page": a counted page
    pa.field("key", pa.int64(), nullable=False),
    pa.field("count", pa.int64(), nullable=False),
])
COMMIT_LOCK = "commit.lock"
PARQUET_COMPRESSION = "zstd"
# Manifest entries whose sources a content index keeps at hand, for the duplicates that point at them.
SOURCE_ENTRIES_CACHED = 16
COMMIT_LOCK_TIMEOUT_S = 3600  # a commit takes milliseconds to seconds; waiting an hour means something is wrong


class ContentIndex(Mapping[str, str]):
    """Content hash → source of the first capture recorded with those bytes, over every committed unit.

    Manifest entries never change once committed, so the index is built once per process and
    dataset, then extended with the entries committed since: a unit costs a listing, not a re-read.
    Hashes are held as sorted binary digests with the number of the entry that recorded them: 44
    bytes a capture, where a dict of hex strings and sources took about 300 (30 MB per 100,000
    captures in every Dask worker). A source is read back from its manifest entry when asked for,
    which happens only for a duplicate.
    """

    def __init__(self, read_entry: Callable[[str], dict[str, Any]]) -> None:
        self._read = read_entry
        # Units of one process may run in threads (a Dask worker with several): extensions and the
        # sources cache are serialised, and lookups read the arrays as one consistent snapshot.
        self._lock = threading.Lock()
        self.entries_read: set[str] = set()
        self._entry_paths: list[str] = []  # entry number → manifest entry path
        # The distinct digests as 4 words each, ordered by first word; those first words, contiguous
        # for searchsorted; and the entry number of each digest.
        self._arrays = (np.empty(0, dtype=np.uint64), np.empty((0, 4), dtype=np.uint64),
                        np.empty(0, dtype=np.uint32))
        self._sources: dict[int, dict[str, str]] = {}  # entry number → its first sources (recently asked)

    def add_entries(self, entries: Iterable[tuple[str, Iterable[Sequence[Any]]]]) -> None:
        """Index committed manifest entries (path, captures): their captures not recorded as duplicates."""
        with self._lock:
            self._add_entries(entries)

    def _add_entries(self, entries: Iterable[tuple[str, Iterable[Sequence[Any]]]]) -> None:
        digests: list[bytes] = []
        numbers: list[int] = []
        for path, captures in entries:
            if path in self.entries_read:  # another thread indexed it meanwhile
                continue
            self.entries_read.add(path)
            shas = [sha for _, sha, fate, _ in captures if fate != "duplicate" and sha]
            if shas:
                digests += (bytes.fromhex(sha) for sha in shas)
                numbers += [len(self._entry_paths)] * len(shas)
                self._entry_paths.append(path)
        if not digests:
            return
        new = np.frombuffer(b"".join(digests), dtype=">u8").reshape(-1, 4).astype(np.uint64)
        new_entries = np.asarray(numbers, dtype=np.uint32)
        # Sorted (stably: of equal digests the one read first leads), then only digests seen neither
        # earlier in this batch nor in the index are kept: the first source stays the one recorded.
        order = np.lexsort(new.T[::-1])
        new, new_entries = new[order], new_entries[order]
        keep = np.ones(len(new), dtype=bool)
        keep[1:] = (new[1:] != new[:-1]).any(axis=1)
        keep &= np.fromiter((self._find_digest(d) is None for d in new), dtype=bool, count=len(new))
        new, new_entries = new[keep], new_entries[keep]
        # Merged in one pass (no re-sort of the index): each new digest goes after those sharing its first word.
        keys, digests_so_far, entries_so_far = self._arrays
        at = np.searchsorted(keys, new[:, 0], side="right")
        merged = np.insert(digests_so_far, at, new, axis=0)
        self._arrays = (np.ascontiguousarray(merged[:, 0]), merged, np.insert(entries_so_far, at, new_entries))

    def _find(self, sha: object) -> int | None:
        """The entry number that recorded this hex SHA-256, or None."""
        if not isinstance(sha, str) or len(sha) != 64:
            return None
        try:
            digest = np.frombuffer(bytes.fromhex(sha), dtype=">u8").astype(np.uint64)
        except ValueError:
            return None
        return self._find_digest(digest)

    def _find_digest(self, digest: np.ndarray) -> int | None:
        """The entry number that recorded this digest, or None."""
        keys, digests, entries = self._arrays  # one snapshot: an extension replaces the tuple whole
        at = int(np.searchsorted(keys, digest[0]))
        while at < len(keys) and keys[at] == digest[0]:  # digests sharing their first word
            if (digests[at] == digest).all():
                return int(entries[at])
            at += 1
        return None

    def __contains__(self, sha: object) -> bool:
        return self._find(sha) is not None

    def __getitem__(self, sha: str) -> str:
        number = self._find(sha)
        if number is None:
            raise KeyError(sha)
        with self._lock:
            sources = self._sources.get(number)
            if sources is None:
                if len(self._sources) >= SOURCE_ENTRIES_CACHED:
                    self._sources.pop(next(iter(self._sources)))
                sources = {}
                for source, captured_sha, fate, _ in self._read(self._entry_paths[number])["captures"]:
                    if fate != "duplicate" and captured_sha:
                        sources.setdefault(captured_sha, source)
                self._sources[number] = sources
        return sources[sha]

    def __iter__(self) -> Iterator[str]:
        for digest in self._arrays[1]:
            yield digest.astype(">u8").tobytes().hex()

    def __len__(self) -> int:
        return len(self._arrays[0])


# One content index per dataset URL, for the life of the process (a Dask worker cleans many units).
_CONTENT_INDEXES: dict[str, ContentIndex] = {}


@dataclass
class SiteTable:
    """The site line counts of every committed unit, read once per process (parts never change)."""

    counts: PackedSiteLineCounts = field(default_factory=PackedSiteLineCounts)
    parts_read: set[str] = field(default_factory=set)


_SITE_TABLES: dict[str, SiteTable] = {}


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


def skip_pyarrow_pandas_probe() -> None:
    """Let pyarrow's first list conversion in this process go without importing pandas.

    pyarrow asks, on its first conversion of a Python list, whether the list is a pandas object, and
    to answer it imports pandas when installed: about 45 MB in every process that writes rows (the
    run's, each Dask worker's), for conversions that never involve pandas. The probe is answered with
    pandas hidden. pyarrow imports pandas as usual where it needs it (`to_pandas`, `from_pandas`).
    Nothing changes in a process that has already imported pandas.
    """
    if "pandas" in sys.modules:
        return
    hide = _HidePandas()
    sys.meta_path.insert(0, hide)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hide)


class _HidePandas:
    """An import hook under which `import pandas` fails as if pandas were not installed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("pandas hidden from pyarrow's probe", name=name)


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
        for folder in (DOCUMENTS_DIR, REJECTS_DIR, MANIFEST_DIR, *([LOCKS_DIR] if self.local else [])):
            self.fs.makedirs(self.path(folder), exist_ok=True)
        with self.commit_lock():
            self.recover()
        return self

    @contextlib.contextmanager
    def commit_lock(self) -> Iterator[None]:
        """Hold the dataset's commit lock: one commit (or recovery) at a time, across processes and runs."""
        if self.local:
            self.fs.makedirs(self.path(LOCKS_DIR), exist_ok=True)
            with FileLock(self.path(LOCKS_DIR, COMMIT_LOCK), timeout=COMMIT_LOCK_TIMEOUT_S):
                yield
            return
        lock = _dask_lock(f"boilerstrip-commit:{self.fs.unstrip_protocol(self.root)}")
        if lock is None:  # one process writing an object store: nothing to serialise against
            yield
            return
        with lock:
            yield

    def _entry_paths(self) -> list[str]:
        return sorted(self.fs.glob(self.path(MANIFEST_DIR, "*.json")))

    def _read_entry(self, path: str) -> dict[str, Any]:
        with self.fs.open(path, "rb") as fh:
            entry: dict[str, Any] = json.loads(fh.read().decode("utf-8"))
        return entry

    def _entries(self) -> Iterable[dict[str, Any]]:
        for path in self._entry_paths():
            yield self._read_entry(path)

    def content_index(self) -> ContentIndex:
        """Content hash → first source, for every capture a committed unit recorded (not as a duplicate).

        Extended in place with the units committed since the last call; treat it as read-only.
        """
        url = self.fs.unstrip_protocol(self.root)
        index = _CONTENT_INDEXES.get(url)
        if index is None:  # not setdefault: a new index's arrays are not built on every call
            index = _CONTENT_INDEXES.setdefault(url, ContentIndex(self._read_entry))
        index.add_entries((path, self._read_entry(path)["captures"])
                          for path in self._entry_paths() if path not in index.entries_read)
        return index

    def site_line_counts(self) -> PackedSiteLineCounts:
        """What committed units learned about their sites' repeated lines (extended in place; read-only)."""
        table = _SITE_TABLES.setdefault(self.fs.unstrip_protocol(self.root), SiteTable())
        # A part under its final name is committed: the manifest entry is renamed into place first.
        for part in sorted(self.fs.glob(self.path(SITE_LINES_DIR, "part-*.parquet"))):
            if part in table.parts_read:
                continue
            with self.fs.open(part, "rb") as fh:
                rows = pq.read_table(fh, schema=SITE_LINES_SCHEMA).to_pylist()
            table.counts.merge_rows((r["site"], r["kind"], r["key"], r["count"]) for r in rows)
            table.parts_read.add(part)
        return table.counts

    def recover(self) -> list[str]:
        """Roll committed units forward and delete temporary files of dead writers; return what was done.

        Call it under `commit_lock()` when other writers may be running (`open()` does).
        """
        actions: list[str] = []
        owned: set[str] = set()
        for entry in self._entries():
            writer = entry.get("writer")
            for rel in entry["files"]:
                final = self.path(rel)
                tmp = _tmp_path(final, writer)
                owned.add(tmp)
                if not self.fs.exists(final) and self.fs.exists(tmp):
                    self.fs.mv(tmp, final)
                    actions.append(f"finished commit of {rel}")
        alive: dict[str, bool] = {}
        for folder in (DOCUMENTS_DIR, REJECTS_DIR, SITE_LINES_DIR, MANIFEST_DIR):
            for tmp in self.fs.glob(self.path(folder, ".*.tmp")):
                token = _writer_token(tmp)
                if token not in alive:
                    alive[token] = self._writer_alive(token)
                if tmp not in owned and not alive[token]:
                    self.fs.rm(tmp)
                    actions.append(f"deleted uncommitted {tmp[len(self.root) + 1:]}")
        for unit in self._committed_fault_logs():  # a worker that outlived its run may log after the commit
            self.clear_faults(unit)
            actions.append(f"deleted the fault log of committed unit {unit}")
        if self.local:  # writers killed before they wrote a file leave only their lock
            for lock in self.fs.glob(self.path(LOCKS_DIR, "*.lock")):
                token = lock.rpartition("/")[2].removesuffix(".lock")
                if token not in alive and lock != self.path(LOCKS_DIR, COMMIT_LOCK):
                    self._writer_alive(token)
        return actions

    def fault_log(self, unit: str) -> str:
        """Local path of a unit's fault log, which the watchdog of a Dask worker writes (flows/watchdog.py).

        Inside the dataset when it is local; for an object store, in a folder of this machine's
        temporary directory named after the dataset (a retry on another machine will not see it)."""
        return str(self._faults_folder() / f"{unit}.jsonl")

    def _faults_folder(self) -> Path:
        if self.local:
            return Path(self.path(FAULTS_DIR))
        url = self.fs.unstrip_protocol(self.root)
        return Path(tempfile.gettempdir()) / "boilerstrip-faults" / hashlib.sha256(url.encode()).hexdigest()[:16]

    def has_faults(self, unit: str) -> bool:
        """Whether an earlier attempt at this unit logged a fault (its worker was killed or died)."""
        return os.path.exists(self.fault_log(unit))

    def clear_faults(self, unit: str) -> None:
        """Delete a unit's fault log: once the unit is committed, its rejects record those faults."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.fault_log(unit))

    def _committed_fault_logs(self) -> list[str]:
        folder = self._faults_folder()
        units = [p.name.removesuffix(".jsonl") for p in folder.glob("*.jsonl")] if folder.is_dir() else []
        return [unit for unit in units if self.has_unit(unit)]

    def _writer_lock(self, token: str) -> FileLock:
        return FileLock(self.path(LOCKS_DIR, f"{token}.lock"), timeout=0)

    def _writer_alive(self, token: str | None) -> bool:
        """Whether the writer that owns this token still runs (holds its lock); a dead one's lock is removed."""
        if token is None or not self.local or not self.fs.exists(self.path(LOCKS_DIR, f"{token}.lock")):
            return False
        lock = self._writer_lock(token)
        try:
            lock.acquire()
        except Timeout:
            return True
        lock.release()
        self.fs.rm(self.path(LOCKS_DIR, f"{token}.lock"))  # its writer died (the kernel released the flock)
        return False

    def fates(self) -> list[CaptureFate]:
        """Every capture recorded by a committed unit."""
        return [CaptureFate(*row) for entry in self._entries() for row in entry["captures"]]

    def committed_source_files(self) -> dict[tuple[str, str], int]:
        """(uri, fingerprint) of every source file a committed unit read whole → records it held."""
        return {(uri, fp): n for entry in self._entries() for uri, fp, n in entry["source_files"]}

    def has_unit(self, unit: str) -> bool:
        """Whether a unit of this name is committed."""
        return bool(self.fs.exists(self.path(MANIFEST_DIR, f"{unit}.json")))

    def unit_records(self, unit: str) -> int:
        """Records (captures and skipped archive records) of the source files a committed unit read."""
        entry = self._read_entry(self.path(MANIFEST_DIR, f"{unit}.json"))
        return sum(records for _, _, records in entry["source_files"])

    def unit_writer(self, unit: str, rows_per_part: int) -> UnitWriter:
        """A writer for one unit's rows; nothing becomes visible until its `commit`."""
        return UnitWriter(self, unit, rows_per_part)

    def _write_durably(self, path: str, write: Any) -> None:
        with self.fs.open(path, "wb") as fh:
            write(fh)
            if self.local:
                fh.flush()
                os.fsync(fh.fileno())


# Rows waiting for their part are packed into Arrow batches this many at a time: as Python dicts a
# thousand documents with their removals took ~65 MB more than as Arrow.
ROWS_PER_BATCH = 100


class UnitWriter:
    """Collects a unit's rows, writing each full part to a hidden temporary file, then commits them all.

    Memory stays bounded by one part (`rows_per_part` documents, packed as Arrow batches) however
    large the unit (a WARC file).
    Temporary names carry a token unique to this writer, and while it lives the writer holds the
    token's lock, so two writers of the same unit never share a file and recovery never deletes
    the files of a writer still at work.
    """

    def __init__(self, dataset: Dataset, unit: str, rows_per_part: int) -> None:
        skip_pyarrow_pandas_probe()
        self.dataset = dataset
        self.unit = unit
        self.rows_per_part = max(1, rows_per_part)
        self.documents: list[dict[str, Any]] = []  # rows not packed yet (fewer than ROWS_PER_BATCH)
        self._batches: list[pa.RecordBatch] = []  # the part's packed rows
        self._packed_rows = 0
        self.rejects: list[dict[str, Any]] = []
        self.written: list[str] = []  # final paths whose temporary file is written
        self.site_lines: list[tuple[str, str, int, int]] = []  # what the unit learned about its sites' lines
        self.parts_flushed = 0
        self.token = uuid.uuid4().hex[:16]
        self._alive: FileLock | None = None
        if dataset.local:
            dataset.fs.makedirs(dataset.path(LOCKS_DIR), exist_ok=True)
            self._alive = dataset._writer_lock(self.token)
            self._alive.acquire()

    def _tmp(self, final: str) -> str:
        return _tmp_path(final, self.token)

    def _release(self) -> None:
        if self._alive is not None and self._alive.is_locked:
            self._alive.release()
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._alive.lock_file)

    def add_document(self, row: dict[str, Any]) -> None:
        """Queue a document row; flush a part when it is full."""
        self.documents.append(row)
        if len(self.documents) >= ROWS_PER_BATCH:
            self._pack()
        if self._packed_rows + len(self.documents) >= self.rows_per_part:
            self._flush_documents()

    def _pack(self) -> None:
        if self.documents:
            self._batches.append(pa.RecordBatch.from_pylist(self.documents, schema=DOCUMENT_SCHEMA))
            self._packed_rows += len(self.documents)
            self.documents = []

    def add_reject(self, row: dict[str, Any]) -> None:
        """Queue a reject row (written at commit: rejects are small)."""
        self.rejects.append(row)

    def _flush_documents(self) -> None:
        self._pack()
        if self._batches:
            final = self.dataset.path(DOCUMENTS_DIR, f"part-{self.unit}-{self.parts_flushed}.parquet")
            self.parts_flushed += 1
            self._write_table(final, pa.Table.from_batches(self._batches, schema=DOCUMENT_SCHEMA))
            self._batches = []
            self._packed_rows = 0

    def _write_table(self, final: str, table: pa.Table) -> None:
        self.written.append(final)
        self.dataset._write_durably(self._tmp(final), lambda fh: pq.write_table(
            table, fh, compression=PARQUET_COMPRESSION))
        # pyarrow's allocator keeps what a part's encoding freed for later use: 30–40 MB after each
        # part in a process that goes on cleaning (bench/scale.py). Handed back, it serves Python too.
        pa.default_memory_pool().release_unused()

    def drop_documents(self, capture_sha256s: set[str]) -> list[dict[str, Any]]:
        """Take the documents with these content hashes out of the unit (found to be duplicates late); return them."""
        self._pack()
        wanted = pa.array(sorted(capture_sha256s), type=pa.string())
        dropped: list[dict[str, Any]] = []
        batches = []
        for batch in self._batches:
            hit = pc.is_in(batch["capture_sha256"], value_set=wanted)
            dropped += batch.filter(hit).to_pylist()
            batches.append(batch.filter(pc.invert(hit)))
        self._batches = batches
        self._packed_rows = sum(b.num_rows for b in batches)
        for final in [f for f in self.written if f.startswith(self.dataset.path(DOCUMENTS_DIR, ""))]:
            tmp = self._tmp(final)
            with self.dataset.fs.open(tmp, "rb") as fh:
                table = pq.read_table(fh, schema=DOCUMENT_SCHEMA)
            hit = pc.is_in(table["capture_sha256"], value_set=wanted)
            if not pc.any(hit).as_py():
                continue
            dropped += table.filter(hit).to_pylist()
            kept = table.filter(pc.invert(hit))
            if kept.num_rows:
                self.dataset._write_durably(tmp, lambda fh, kept=kept: pq.write_table(
                    kept, fh, compression=PARQUET_COMPRESSION))
            else:
                self.dataset.fs.rm(tmp)
                self.written.remove(final)
        return dropped

    def abort(self) -> None:
        """Delete every temporary file written so far (nothing of a failed unit may linger)."""
        try:
            for final in self.written:
                tmp = self._tmp(final)
                try:
                    if self.dataset.fs.exists(tmp):
                        self.dataset.fs.rm(tmp)
                except OSError:
                    pass  # a read-only disk: `recover` deletes it on the next open; the original error matters
        finally:
            self._release()

    def commit(self, record: UnitRecord) -> list[str]:
        """Write the last parts and the manifest entry (the commit point), then reveal the parts.

        With other writers about, call it under the dataset's `commit_lock()`.
        """
        ds = self.dataset
        try:
            self._flush_documents()
            if self.rejects:
                self._write_table(ds.path(REJECTS_DIR, f"part-{self.unit}.parquet"),
                                  pa.Table.from_pylist(self.rejects, schema=REJECT_SCHEMA))
            if self.site_lines:
                ds.fs.makedirs(ds.path(SITE_LINES_DIR), exist_ok=True)
                self._write_table(ds.path(SITE_LINES_DIR, f"part-{self.unit}.parquet"), pa.Table.from_pylist(
                    [{"site": s, "kind": k, "key": key, "count": n} for s, k, key, n in self.site_lines],
                    schema=SITE_LINES_SCHEMA))
            files = [final[len(ds.root) + 1 :] for final in self.written]
            entry = {"unit": self.unit, "files": files, "source_files": [list(sf) for sf in record.source_files],
                     "captures": [[f.source, f.capture_sha256, f.fate, f.id] for f in record.fates],
                     "skipped": record.skipped, "writer": self.token}
            manifest = ds.path(MANIFEST_DIR, f"{self.unit}.json")
            payload = json.dumps(entry, ensure_ascii=False).encode("utf-8")
            ds._write_durably(self._tmp(manifest), lambda fh: fh.write(payload))
        except BaseException:
            self.abort()
            raise
        try:
            ds.fs.mv(self._tmp(manifest), manifest)  # the commit point
            for final in self.written:
                ds.fs.mv(self._tmp(final), final)
        finally:
            self._release()
        return files


def committed_parts(folder: Path) -> list[Path]:
    """The committed Parquet part files under a local table folder (temporary, hidden files left out), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))


def _tmp_path(final: str, writer: str | None = None) -> str:
    # A leading dot hides it from pyarrow's dataset discovery, and the .tmp suffix from *.parquet globs;
    # the writer's token keeps two writers of one unit (two runs at once) from sharing a file.
    head, _, name = final.rpartition("/")
    return f"{head}/.{name}.{writer}.tmp" if writer else f"{head}/.{name}.tmp"


def _writer_token(tmp: str) -> str | None:
    """The writer token in a temporary file's name, or None for a name without one."""
    parts = tmp.rpartition("/")[2].split(".")
    token = parts[-2] if len(parts) >= 4 else ""
    return token if len(token) == 16 and all(c in "0123456789abcdef" for c in token) else None


def _dask_lock(name: str) -> Any:
    """A cluster-wide lock when running inside a Dask worker, else None."""
    try:
        from distributed import Lock, get_worker
    except ImportError:
        return None
    try:
        get_worker()
    except ValueError:  # not on a Dask worker
        return None
    return Lock(name)
