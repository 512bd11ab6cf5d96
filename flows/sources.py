"""Find captures in sources (folders, files, globs, list files; local or any fsspec URL) and read them.

A *source file* is a loose capture (.txt, .html, optionally gzipped) or an archive (.warc, .wet,
gzipped or not). Discovery lists and fingerprints source files without reading them; reading a
source file yields its captures (one for a loose file, one per usable record of an archive) and
the records it skips, each with the provenance the capture itself carries.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from cleaners import Config, Rejection
from cleaners.html import charset_from_content_type, media_type

# Suffix → kind. Longest suffixes first so ".txt.gz" wins over ".gz".
SOURCE_KINDS: dict[str, str] = {
    ".warc.gz": "warc", ".warc": "warc", ".wet.gz": "wet", ".wet": "wet",
    ".txt.gz": "text+gzip", ".txt": "text", ".text": "text",
    ".html.gz": "html+gzip", ".htm.gz": "html+gzip", ".html": "html", ".htm": "html",
}
ARCHIVE_KINDS = {"warc", "wet"}
SIDECAR_SUFFIX = ".json"
OUTSIDE_LINK = "(symlink out of the source)"  # how a link that is not followed shows among ignored files
READ_CHUNK = 1 << 20
# Small inputs compress oddly well (a page of repeated markup, whitespace): the ratio limit only
# applies once this much has been inflated, which also bounds what a bomb costs before it is caught.
RATIO_CHECK_AFTER_BYTES = 4 << 20
ID_SCHEME = "boilerstrip-capture-v1"
HTML_MEDIA_TYPES = {"text/html", "application/xhtml+xml"}
TEXT_MEDIA_TYPES = {"text/plain"}


@dataclass(frozen=True)
class ReadLimits:
    """How much of a capture is read: its size, and how far compressed input may inflate."""

    max_capture_bytes: int = Config.max_capture_bytes
    max_decompressed_bytes: int = Config.max_decompressed_bytes
    max_decompression_ratio: float = Config.max_decompression_ratio

    @classmethod
    def of(cls, config: Config) -> ReadLimits:
        """The read limits a cleaning config sets."""
        return cls(config.max_capture_bytes, config.max_decompressed_bytes, config.max_decompression_ratio)


@dataclass(frozen=True)
class SourceFile:
    """A file holding one capture or an archive of them; small enough to pass between tasks."""

    uri: str  # absolute local path, or an fsspec URL (s3://bucket/key)
    kind: str  # a value of SOURCE_KINDS
    size: int
    fingerprint: str  # changes whenever the file does (size + mtime, or the store's ETag)
    has_sidecar: bool = False  # a `<capture>.json` with url/captured_at stands beside it


@dataclass
class Discovery:
    """What the sources hold: source files in a stable order, and what was passed over."""

    files: list[SourceFile]
    ignored: Counter[str] = field(default_factory=Counter)  # files that are not captures, by suffix
    outside_links: list[str] = field(default_factory=list)  # symlinks out of a local folder: not followed


@dataclass(frozen=True)
class Capture:
    """One capture read from a source file: its bytes (or why they could not be read) and provenance."""

    source: str
    source_format: str  # text, text+gzip, html, html+gzip, warc/response, warc/resource, wet/conversion
    sha256: str
    data: bytes | None
    rejection: Rejection | None = None
    content_kind: str = "text"  # "text" or "html": which cleaning path
    charset: str | None = None  # as declared by the HTTP Content-Type
    url: str | None = None
    captured_at: datetime | None = None
    warc_record_id: str | None = None
    warc_offset: int | None = None
    warc_payload_digest: str | None = None


@dataclass(frozen=True)
class Skipped:
    """An archive record that is not a capture (request, metadata, revisit, 404, image…)."""

    source: str
    reason: str
    warc_offset: int | None = None


@dataclass(frozen=True)
class Damaged:
    """Where an archive stops being readable; the records before it were read."""

    source: str
    detail: str
    warc_offset: int | None


def capture_id(capture_sha256: str) -> str:
    """Deterministic document id: the same capture bytes give the same id on any machine, any run."""
    return hashlib.sha256(f"{ID_SCHEME}:{capture_sha256}".encode()).hexdigest()[:32]


def source_kind(name: str) -> str | None:
    """The kind of a file by its name, or None if it is not a capture or archive we read."""
    lower = name.lower()
    for suffix, kind in SOURCE_KINDS.items():
        if lower.endswith(suffix):
            return kind
    return None


def _fingerprint(info: dict[str, Any]) -> str:
    # An object store's ETag changes with the content; a local mtime (ns) with any write.
    stamp = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified") or ""
    if isinstance(stamp, datetime):
        stamp = stamp.isoformat()
    return f"{info.get('size', 0)}:{stamp}"


def _uri(fs: Any, path: str) -> str:
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def discover(sources: list[str]) -> Discovery:
    """List the source files under each source (a file, folder, glob or fsspec URL), sorted, no duplicates."""
    found: dict[str, SourceFile] = {}
    sidecars: set[str] = set()  # seen while listing, so reading never probes for a missing one
    discovery = Discovery([])
    for source in sources:
        fs, root = fsspec.core.url_to_fs(source)
        if isinstance(fs, LocalFileSystem) and not any(ch in source for ch in "*?["):  # a file or folder
            _discover_local(Path(root), found, discovery, sidecars)
            continue
        if any(ch in root for ch in "*?["):
            infos = fs.glob(root, detail=True)
            # The pattern matches the captures; their sidecars are one more listing away.
            sidecars.update(_uri(fs, p) for p in fs.glob(root + SIDECAR_SUFFIX))
        elif fs.isdir(root):
            infos = fs.find(root, detail=True)
        elif fs.exists(root):
            infos = {root: fs.info(root)}
        else:
            raise FileNotFoundError(f"source does not exist: {source}")
        for path, info in sorted(infos.items()):
            if info.get("type") == "directory":
                continue
            _add(fs, path, info, found, discovery, sidecars)
    discovery.files = sorted((_with_sidecar(f, sidecars) for f in found.values()), key=lambda f: f.uri)
    return discovery


def _with_sidecar(file: SourceFile, sidecars: set[str]) -> SourceFile:
    if file.kind in ARCHIVE_KINDS or file.uri + SIDECAR_SUFFIX not in sidecars:
        return file
    return SourceFile(file.uri, file.kind, file.size, file.fingerprint, has_sidecar=True)


def _add(fs: Any, path: str, info: dict[str, Any], found: dict[str, SourceFile], discovery: Discovery,
         sidecars: set[str]) -> None:
    name = path.rsplit("/", 1)[-1]
    if name.startswith("."):
        return
    kind = source_kind(name)
    if kind is None:
        if name.endswith(SIDECAR_SUFFIX) and source_kind(name[: -len(SIDECAR_SUFFIX)]):
            sidecars.add(_uri(fs, path))
        else:
            discovery.ignored[Path(name).suffix.lower() or "(none)"] += 1
        return
    uri = _uri(fs, path)
    found[uri] = SourceFile(uri, kind, int(info.get("size") or 0), _fingerprint(info))


def _discover_local(root: Path, found: dict[str, SourceFile], discovery: Discovery, sidecars: set[str]) -> None:
    fs = LocalFileSystem()
    root = root.absolute()
    if not root.exists():
        raise FileNotFoundError(f"source does not exist: {root}")
    if root.is_file():
        _add(fs, str(root), fs.info(str(root)), found, discovery, sidecars)
        sidecar = Path(str(root) + SIDECAR_SUFFIX)
        if sidecar.is_file():
            sidecars.add(str(sidecar))
        return
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                # Never read what a link points at outside the source: it may be anything on this machine.
                discovery.outside_links.append(str(path))
                discovery.ignored[OUTSIDE_LINK] += 1
                continue
            stat = path.stat()
            _add(fs, str(path), {"size": stat.st_size, "mtime": stat.st_mtime_ns}, found, discovery, sidecars)


def read_capture_file(path: str | Path, limits: int | ReadLimits) -> Capture | Rejection:
    """Read one loose capture file (text or HTML, optionally gzipped), with its sidecar if any."""
    files = discover([str(path)]).files
    if not files or files[0].kind in ARCHIVE_KINDS:
        return Rejection("unsupported_format", f"not a loose text or HTML capture: {Path(path).name}")
    capture = _read_loose(files[0], _limits(limits))
    return capture.rejection or capture


def read_list_file(path: str) -> list[str]:
    """Sources named one per line in a list file (blank lines and # comments skipped)."""
    with fsspec.open(path, "rt", encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]


def sha256_hex(data: bytes) -> str:
    """SHA-256 of bytes, hex."""
    return hashlib.sha256(data).hexdigest()


def iter_captures(file: SourceFile, limits: int | ReadLimits) -> Iterator[Capture | Skipped | Damaged]:
    """Every capture of a source file, streamed: one for a loose file, one per usable archive record.

    `limits` is a ReadLimits, or just the max capture size (default decompression limits).
    """
    if file.kind in ARCHIVE_KINDS:
        yield from _iter_archive(file, _limits(limits))
    else:
        yield _read_loose(file, _limits(limits))


def _limits(limits: int | ReadLimits) -> ReadLimits:
    return limits if isinstance(limits, ReadLimits) else ReadLimits(max_capture_bytes=limits)


def read_inflating(stream: Any, consumed: Any, limits: ReadLimits) -> tuple[bytes, Rejection | None]:
    """Read a decompressing stream to its end, or stop with a rejection once it inflates past a limit.

    `consumed()` says how many compressed bytes the stream has taken so far. Past max_decompressed_bytes,
    or past max_decompression_ratio times what was consumed, it is a decompression_bomb; past
    max_capture_bytes, too_large. Memory stays bounded by the smaller limit.
    """
    cap = min(limits.max_capture_bytes, limits.max_decompressed_bytes) + 1
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = stream.read(min(READ_CHUNK, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        taken = max(int(consumed()), 1)
        if size > RATIO_CHECK_AFTER_BYTES and size > limits.max_decompression_ratio * taken:
            return b"", Rejection("decompression_bomb", f"{taken} compressed bytes inflated to over {size} bytes "
                                  f"(ratio > max_decompression_ratio={limits.max_decompression_ratio:g})")
    if size > limits.max_decompressed_bytes:
        return b"", Rejection("decompression_bomb",
                              f"inflates past max_decompressed_bytes={limits.max_decompressed_bytes}")
    data = b"".join(chunks)
    if size > limits.max_capture_bytes:
        return data, Rejection("too_large", f"more than max_capture_bytes={limits.max_capture_bytes} once inflated")
    return data, None


def _read_loose(file: SourceFile, limits: ReadLimits) -> Capture:
    content_kind = "html" if file.kind.startswith("html") else "text"
    url, captured_at = _sidecar(file.uri) if file.has_sidecar else (None, None)
    base = {"source": file.uri, "source_format": file.kind, "content_kind": content_kind, "url": url,
            "captured_at": captured_at}
    max_bytes = limits.max_capture_bytes
    if file.size > max_bytes:  # never read, compressed or not (compressed, it would inflate larger still)
        return Capture(sha256="", data=None, rejection=Rejection(
            "too_large", f"{file.size} bytes > max_capture_bytes={max_bytes}"), **base)
    try:
        with fsspec.open(file.uri, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as err:
        return Capture(sha256="", data=None, rejection=Rejection("unreadable", f"{type(err).__name__}: {err}"),
                       **base)
    if len(raw) > max_bytes:  # grew since it was listed
        return Capture(sha256=sha256_hex(raw[:max_bytes]), data=None,
                       rejection=Rejection("too_large", f"more than max_capture_bytes={max_bytes}"), **base)
    if not file.kind.endswith("+gzip"):
        return Capture(sha256=sha256_hex(raw), data=raw, **base)
    compressed = io.BytesIO(raw)
    try:
        with gzip.GzipFile(fileobj=compressed) as gz:
            data, rejection = read_inflating(gz, compressed.tell, limits)
    except (OSError, EOFError, zlib.error) as err:
        return Capture(sha256=sha256_hex(raw), data=None,
                       rejection=Rejection("bad_gzip", f"{type(err).__name__}: {_printable(str(err))}"), **base)
    if rejection is not None:  # the compressed bytes identify it: the inflated ones were never all read
        return Capture(sha256=sha256_hex(raw), data=None, rejection=rejection, **base)
    return Capture(sha256=sha256_hex(data), data=data, **base)


def _sidecar(uri: str) -> tuple[str | None, datetime | None]:
    """url and captured_at from an optional `<capture>.json` beside a loose capture."""
    try:
        with fsspec.open(uri + SIDECAR_SUFFIX, "rt", encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None, None
    if not isinstance(meta, dict):
        return None, None
    url = meta.get("url") if isinstance(meta.get("url"), str) else None
    return url, parse_timestamp(meta.get("captured_at"))


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 / WARC-Date timestamp as an aware UTC datetime, or None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _iter_archive(file: SourceFile, limits: ReadLimits) -> Iterator[Capture | Skipped | Damaged]:
    fmt_prefix = file.kind
    last_good: int | None = None  # offset of the last record read whole
    end_of_last = 0  # where the last whole record ends
    try:
        with fsspec.open(file.uri, "rb") as fh:
            records = ArchiveIterator(fh, arc2warc=True)
            for record in records:
                # warcio gives a record's offset only once its payload is read: ask after reading.
                item = _record_capture(file, record, records.get_record_offset, limits, fmt_prefix)
                missing = getattr(record.raw_stream, "limit", 0)
                if missing:  # the file ended before the record's Content-Length: a cut or lying record
                    yield Damaged(file.uri, f"in the record at offset {item.warc_offset}: its block is "
                                  f"{missing} bytes shorter than its Content-Length", item.warc_offset)
                    return
                last_good = item.warc_offset
                end_of_last = records.get_record_offset() + records.get_record_length()
                yield item
    except (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError) as err:
        where = f"after the record at offset {last_good}" if last_good is not None else "before the first record"
        yield Damaged(file.uri, f"{where}: {type(err).__name__}: {_printable(str(err))}", end_of_last)
        return
    if file.size and end_of_last < file.size:
        # warcio stops quietly at a gzip member cut short: bytes left over mean a truncated archive.
        yield Damaged(file.uri, f"{file.size - end_of_last} bytes after the record at offset {last_good} "
                      "do not form a record (truncated archive?)", end_of_last)


def _printable(text: str, limit: int = 200) -> str:
    """An error message fit for a detail column: printable characters only, bounded length."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[:limit] + "…"


def _record_capture(file: SourceFile, record: Any, get_offset: Any, limits: ReadLimits, prefix: str
                    ) -> Capture | Skipped:
    rec_type = record.rec_type
    headers = record.rec_headers
    if rec_type not in ("response", "resource", "conversion"):
        return Skipped(file.uri, f"record:{rec_type}", get_offset())
    content_type: str | None
    if rec_type == "response":
        if record.http_headers is None:
            return Skipped(file.uri, "response:not_http", get_offset())
        status = record.http_headers.get_statuscode()
        if status != "200":
            return Skipped(file.uri, f"http_status:{status}", get_offset())
        content_type = record.http_headers.get_header("Content-Type")
    else:
        content_type = headers.get_header("Content-Type")
    media = media_type(content_type)
    if media in HTML_MEDIA_TYPES:
        content_kind = "html"
    elif media in TEXT_MEDIA_TYPES or (rec_type == "conversion" and not media):
        content_kind = "text"
    else:
        return Skipped(file.uri, f"media_type:{media or 'none'}", get_offset())
    stream = record.content_stream()  # de-chunked and content-decoded (gzip, deflate, br)
    raw = record.raw_stream  # the record's block as stored: tell() is how much of it was consumed
    data, rejection = read_inflating(stream, getattr(raw, "tell", lambda: 0), limits)
    if rejection is not None:
        # Skip the rest of the record compressed: nothing inflates, so a bomb costs no more than its size.
        while raw.read(READ_CHUNK):
            pass
    offset = get_offset()
    return Capture(
        source=file.uri,
        source_format=f"{prefix}/{rec_type}",
        sha256="" if rejection is not None and not data else sha256_hex(data[: limits.max_capture_bytes]),
        data=None if rejection else data,
        rejection=rejection,
        content_kind=content_kind,
        charset=charset_from_content_type(content_type),
        url=headers.get_header("WARC-Target-URI"),
        captured_at=parse_timestamp(headers.get_header("WARC-Date")),
        warc_record_id=headers.get_header("WARC-Record-ID"),
        warc_offset=offset,
        warc_payload_digest=headers.get_header("WARC-Payload-Digest") or headers.get_header("WARC-Block-Digest"),
    )
