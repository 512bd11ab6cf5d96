"""Find captures under a source and read their bytes (loose text files, plain or gzipped)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cleaners import Rejection

# Suffix → source_format. Only what the pipeline can clean today; anything else is counted as ignored.
CAPTURE_FORMATS: dict[str, str] = {".txt.gz": "text+gzip", ".txt": "text", ".text": "text"}
READ_CHUNK = 1 << 20
ID_SCHEME = "boilerstrip-capture-v1"


def capture_id(capture_sha256: str) -> str:
    """Deterministic document id: the same capture bytes give the same id on any machine, any run."""
    return hashlib.sha256(f"{ID_SCHEME}:{capture_sha256}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CaptureRef:
    """Where one capture lives and what it is; small enough to pass between tasks."""

    source: str  # absolute path of the capture file
    source_format: str
    sha256: str  # of the capture's bytes (decompressed when gzipped), as stored in `capture_sha256`
    size: int  # of those bytes


@dataclass(frozen=True)
class Discovery:
    """What a source holds: captures in a stable order, plus files that are not captures."""

    captures: list[Path]
    ignored: dict[str, int]  # by suffix
    outside_links: list[Path]  # symlinks pointing outside the source: never followed


def capture_format(path: Path) -> str | None:
    """The source_format of a file name, or None if it is not a capture we read."""
    name = path.name.lower()
    for suffix, fmt in CAPTURE_FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return None


def discover(source: str | Path) -> Discovery:
    """List captures under a file or folder (recursive, sorted, symlinks out of the folder skipped)."""
    root = Path(source)
    if not root.exists():
        raise FileNotFoundError(f"source does not exist: {source}")
    ignored: dict[str, int] = {}
    if root.is_file():
        if capture_format(root) is None:
            raise ValueError(f"not a capture file (expected {', '.join(CAPTURE_FORMATS)}): {source}")
        return Discovery([root.absolute()], ignored, [])
    root = root.absolute()
    real_root = root.resolve()
    captures: list[Path] = []
    outside: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                outside.append(path)
                continue
            if capture_format(path) is None:
                suffix = path.suffix.lower() or "(none)"
                ignored[suffix] = ignored.get(suffix, 0) + 1
            else:
                captures.append(path)
    return Discovery(sorted(captures), ignored, sorted(outside))


def hash_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file's bytes, read in chunks."""
    with path.open("rb") as fh:
        return _hash_stream(fh, limit=None)


def hash_capture(path: Path, source_format: str, max_bytes: int) -> tuple[str, int]:
    """SHA-256 and size of the capture itself: a gzipped capture is hashed decompressed, so the
    same page stored plain and gzipped is recognised as one capture. A gzip that cannot be read
    (or expands past max_bytes) is hashed as stored; reading it later records the reason."""
    if source_format == "text+gzip":
        try:
            with gzip.open(path, "rb") as gz:
                digest, size = _hash_stream(gz, limit=max_bytes)
            if size <= max_bytes:
                return digest, size
        except (OSError, EOFError, zlib.error):
            pass
    return hash_file(path)


def _hash_stream(stream: IO[bytes], limit: int | None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(READ_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if limit is not None and size > limit:
            break
    return digest.hexdigest(), size


def read_capture(ref: CaptureRef, max_bytes: int) -> bytes | Rejection:
    """The capture's bytes (decompressed if gzipped), or why they cannot be read."""
    path = Path(ref.source)
    if ref.size > max_bytes:
        return Rejection("too_large", f"{ref.size} bytes > max_capture_bytes={max_bytes}")
    try:
        raw = path.read_bytes()
    except OSError as err:
        return Rejection("unreadable", f"{type(err).__name__}: {err}")
    if ref.source_format != "text+gzip":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
            data = gz.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as err:
        return Rejection("bad_gzip", f"{type(err).__name__}: {err}")
    if len(data) > max_bytes:
        return Rejection("too_large", f"decompresses past max_capture_bytes={max_bytes}")
    return data
