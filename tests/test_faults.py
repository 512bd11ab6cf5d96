"""Faults during a run: the output disk fills up or turns read-only, the process is killed mid-batch.

Each must fail the run loudly, leave no partial part file behind, and let a re-run finish with
every capture recorded exactly once. The disk faults go through a real fsspec filesystem that fails
on cue (a local one whose writes stop working), the kill through the real console script.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from flows.dataset import Dataset
from flows.ingest import ingest_flow

from .conftest import SEEDS

ARTICLE = (SEEDS / "002_90f80dc9d46dd7ba.txt").read_text(encoding="utf-8")


class FailingFile:
    """A file being written that fails, part-way through, as a full or read-only disk would."""

    def __init__(self, inner: Any, error: OSError, after_bytes: int) -> None:
        self.inner, self.error, self.budget = inner, error, after_bytes

    def write(self, data: Any) -> int:
        room = max(0, self.budget)
        if len(data) > room:
            self.inner.write(bytes(data)[:room])  # what fitted stays on disk: a partial file
            self.inner.flush()
            self.budget = 0
            raise self.error
        self.budget -= len(data)
        return int(self.inner.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> FailingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()


class FailingFileSystem(LocalFileSystem):
    """The local disk, until the n-th file opened for writing: from then on writes fail.

    mode "full": ENOSPC part-way through that file and on every later write (deleting still works).
    mode "readonly": EROFS for that file's writes and every later write, rename or delete.
    """

    protocol = "failing"
    fail_at_write_open = 0  # 1-based; 0 = never fail
    mode = "full"
    write_opens = 0

    @classmethod
    def arm(cls, fail_at: int, mode: str) -> None:
        cls.fail_at_write_open, cls.mode, cls.write_opens = fail_at, mode, 0

    @classmethod
    def failing(cls) -> bool:
        return bool(cls.fail_at_write_open) and cls.write_opens >= cls.fail_at_write_open

    def _error(self) -> OSError:
        code = errno.ENOSPC if self.mode == "full" else errno.EROFS
        return OSError(code, os.strerror(code))

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        inner = super()._open(path, mode, *args, **kwargs)
        if "w" not in mode and "a" not in mode:
            return inner
        type(self).write_opens += 1
        if self.failing():
            return FailingFile(inner, self._error(), after_bytes=100)
        return inner

    def mv(self, path1: str, path2: str, **kwargs: Any) -> None:
        if self.failing() and self.mode == "readonly":
            raise self._error()
        super().mv(path1, path2, **kwargs)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        if self.failing() and self.mode == "readonly":
            raise self._error()
        super().rm(path, recursive=recursive, maxdepth=maxdepth)


fsspec.register_implementation("failing", FailingFileSystem, clobber=True)


def make_captures(src: Path, n: int) -> list[str]:
    """n distinct text captures (the seed article, numbered)."""
    src.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"capture_{i:04d}.txt"
        (src / name).write_text(f"{ARTICLE}\nThis is capture number {i}.\n", encoding="utf-8")
        names.append(name)
    return names


def fates_by_source(out: Path) -> Counter[str]:
    """How many rows (documents and rejects) each source file has."""
    con = duckdb.connect()
    counts: Counter[str] = Counter()
    for table in ("documents", "rejects"):
        if any((out / table).glob("*.parquet")):
            for (source,) in con.sql(f"SELECT source FROM read_parquet('{out}/{table}/*.parquet')").fetchall():
                counts[Path(source).name] += 1
    return counts


def visible_parts_are_all_committed(out: Path) -> bool:
    """Every Parquet file a reader would see belongs to a committed manifest entry."""
    committed = {rel for entry in Dataset(str(out))._entries() for rel in entry["files"]}
    visible = {p.relative_to(out).as_posix() for p in out.rglob("*.parquet") if not p.name.startswith(".")}
    return visible <= committed


@pytest.mark.parametrize("mode", ["full", "readonly"])
def test_output_disk_failing_mid_run_fails_loudly_leaves_no_part_and_a_rerun_completes(
        prefect_engine: str, tmp_path: Path, mode: str) -> None:
    names = make_captures(tmp_path / "src", 6)
    out = tmp_path / "out"
    # Units of 2 captures; each commit opens a document part and a manifest entry for writing:
    # the 3rd write-open is the second unit's document part.
    FailingFileSystem.arm(fail_at=3, mode=mode)
    try:
        with pytest.raises(OSError) as failure:
            ingest_flow(str(tmp_path / "src"), f"failing://{out}", batch_size=2)
    finally:
        FailingFileSystem.arm(0, "full")
    assert failure.value.errno == (errno.ENOSPC if mode == "full" else errno.EROFS)
    assert len(list((out / "_manifest").glob("*.json"))) == 1  # the first unit, committed before the fault
    assert visible_parts_are_all_committed(out)
    leftovers = list(out.rglob(".*.tmp"))
    if mode == "full":
        assert leftovers == []  # the failed unit deleted its temporary files
    else:
        assert leftovers  # a read-only disk refuses even that: the next open cleans up

    summary = ingest_flow(str(tmp_path / "src"), str(out), batch_size=2)
    assert summary["balanced"] is True
    assert summary["already_ingested"] == 2 and summary["documents"] == 4
    assert list(out.rglob(".*.tmp")) == []
    assert fates_by_source(out) == Counter({name: 1 for name in names})


def test_a_run_killed_mid_batch_is_redone_by_the_next_run_nothing_lost_or_doubled(
        prefect_engine: str, tmp_path: Path) -> None:
    names = make_captures(tmp_path / "src", 120)
    out = tmp_path / "out"
    exe = Path(sys.executable).parent / "boilerstrip"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.Popen([str(exe), "ingest", str(tmp_path / "src"), "--out", str(out), "--batch-size", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "_manifest").glob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its cleaning workers, mid-batch
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    committed = len(list((out / "_manifest").glob("*.json")))
    assert 2 <= committed < 12
    assert visible_parts_are_all_committed(out)

    summary = ingest_flow(str(tmp_path / "src"), str(out), batch_size=10)
    assert summary["balanced"] is True and summary["captures_seen"] == 120
    assert summary["already_ingested"] == 10 * committed
    assert summary["documents"] == 120 - 10 * committed
    assert list(out.rglob(".*.tmp")) == []
    assert fates_by_source(out) == Counter({name: 1 for name in names})
