"""Backfills: units in parallel on Dask, safe concurrent commits, resumable after a real kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pytest

from bench.corpus import write_loose
from flows.dataset import Dataset
from flows.ingest import capture_id, clean_unit, commit_unit, plan_units, prepare_unit, run_info
from flows.sources import sha256_hex

BIN = Path(sys.executable).parent


def documents(out: Path) -> list[dict]:
    if not (out / "documents").exists():
        return []
    return pads.dataset(out / "documents", format="parquet").to_table().to_pylist()


def rejects(out: Path) -> list[dict]:
    if not (out / "rejects").exists():
        return []
    return pads.dataset(out / "rejects", format="parquet").to_table().to_pylist()


def stray_files(out: Path) -> list[Path]:
    """Temporary or hidden files, and writer locks: nothing of the kind may outlive a run."""
    return sorted(p for p in out.rglob("*") if p.is_file() and (
        p.name.startswith(".") or p.name.endswith(".tmp")
        or (p.parent.name == "_locks" and p.name != "commit.lock")))


def assert_each_capture_once(src: Path, out: Path) -> None:
    """Every capture of src has exactly one fate in the dataset: one document row, or one reject row."""
    expected = {sha256_hex(p.read_bytes()) for p in src.rglob("*.txt")}
    ids = [row["id"] for row in documents(out)]
    assert len(ids) == len(set(ids)), "a document was written twice"
    assert set(ids) == {capture_id(sha) for sha in expected}
    fates = [f for f in Dataset(str(out)).fates()]
    assert sorted(f.source for f in fates) == sorted(str(p) for p in src.rglob("*.txt"))


# --------------------------------------------------------------------------- commits racing


def test_units_prepared_in_parallel_never_commit_the_same_bytes_twice(tmp_path: Path) -> None:
    """Two units holding the same captures, cleaned before either commits (as on two Dask workers)."""
    src = tmp_path / "src"
    write_loose(src / "a", 3)
    (src / "a" / "empty.txt").write_bytes(b"")
    shutil.copytree(src / "a", src / "b")  # the same bytes under other names: another unit
    (src / "b" / "extra.txt").write_bytes((src / "a" / "00000" / "capture-0000001.txt").read_bytes() + b"\nNew.\n")
    out = tmp_path / "out"
    [unit_a] = plan_units([str(src / "a")], str(out), batch_size=10)["units"]
    [unit_b] = plan_units([str(src / "b")], str(out), batch_size=10)["units"]
    dataset = Dataset(str(out))
    run = run_info(None, 1000)

    pending_a = prepare_unit(dataset, unit_a, run)
    pending_b = prepare_unit(dataset, unit_b, run)  # cannot see unit a: it is not committed yet
    assert pending_b.summary.documents == 4 and pending_b.summary.duplicates == 0
    summary_a = commit_unit(dataset, pending_a, run)
    summary_b = commit_unit(dataset, pending_b, run)

    assert (summary_a.documents, summary_a.rejected_total, summary_a.duplicates) == (3, 1, 0)
    # b's copies of a's captures (3 documents and the empty file) were found at commit: duplicates now
    assert (summary_b.documents, summary_b.rejected_total, summary_b.duplicates) == (1, 0, 4)
    assert summary_b.balanced() and summary_b.removals_by_category == pending_b.summary.removals_by_category
    rows = documents(out)
    assert len(rows) == 4 and len({r["id"] for r in rows}) == 4
    assert sorted(str(Path(r["source"]).relative_to(src)).split("/")[0] for r in rows) == ["a", "a", "a", "b"]
    dups = [r for r in rejects(out) if r["reason"] == "duplicate"]
    assert len(dups) == 4
    for row in dups:
        assert "/b/" in row["source"] and row["duplicate_of"] == row["source"].replace("/b/", "/a/")
    assert sorted(f.fate for f in dataset.fates()) == ["document"] * 4 + ["duplicate"] * 4 + ["rejected"]
    assert stray_files(out) == []


def one_unit(tmp_path: Path, captures: int) -> tuple[Path, dict, Dataset]:
    """A folder of unique captures planned as one unit: (dataset folder, unit, dataset)."""
    write_loose(tmp_path / "src", captures)
    out = tmp_path / "out"
    [unit] = plan_units([str(tmp_path / "src")], str(out), batch_size=10)["units"]
    return out, unit, Dataset(str(out))


def test_a_unit_another_run_committed_first_is_dropped_whole(tmp_path: Path) -> None:
    """Two runs cleaning the same unit at once: one commit wins, the other adds nothing."""
    out, unit, dataset = one_unit(tmp_path, 5)
    run = run_info(None, 2)  # two documents per part: several temporary parts per writer
    first, second = prepare_unit(dataset, unit, run), prepare_unit(dataset, unit, run)
    assert first.writer.token != second.writer.token  # each writer has its own temporary files

    assert commit_unit(dataset, first, run).documents == 5
    late = commit_unit(dataset, second, run)

    assert (late.documents, late.already_ingested, late.captures_seen, late.units_committed) == (0, 5, 5, 0)
    retried = clean_unit(unit, str(out), run)  # a run that planned the unit before the commit landed
    assert (retried.documents, retried.already_ingested, retried.captures_seen) == (0, 5, 5)
    assert len(documents(out)) == 5
    assert stray_files(out) == []


def test_recovery_leaves_a_live_writer_alone(tmp_path: Path) -> None:
    """A second run opening the dataset must not delete the temporary parts of a unit still being written."""
    out, unit, dataset = one_unit(tmp_path, 3)
    run = run_info(None, 1)
    pending = prepare_unit(dataset, unit, run)
    temporaries = sorted(p for p in out.rglob(".*.tmp"))
    assert len(temporaries) == 3

    assert Dataset(str(out)).open().recover() == []  # what a second run does first
    assert sorted(p for p in out.rglob(".*.tmp")) == temporaries

    commit_unit(dataset, pending, run)
    assert len(documents(out)) == 3 and stray_files(out) == []


# --------------------------------------------------------------------------- the flow on Dask


def test_backfill_on_dask_writes_each_capture_once(prefect_engine: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.backfill import backfill

    src = tmp_path / "src"
    write_loose(src / "new", 30)
    shutil.copytree(src / "new", src / "copy")  # every capture twice, in other units
    out = tmp_path / "out"

    summary = backfill(str(src), str(out), batch_size=10, workers=2)

    assert (summary.captures_seen, summary.documents, summary.duplicates) == (60, 30, 30)
    assert summary.balanced() and summary.units_committed == 6
    ids = [r["id"] for r in documents(out)]
    assert len(ids) == len(set(ids)) == 30
    [(n, distinct)] = duckdb.sql(f"SELECT count(*), count(DISTINCT id) FROM '{out}/documents/**/*.parquet'").fetchall()
    assert (n, distinct) == (30, 30)
    assert stray_files(out) == []
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["boilerstrip-backfill-summary"])))
    assert any(isinstance(a.data, str) and "| 60 | 30 | 0 | 30 |" in a.data and "Throughput:" in a.data
               for a in artifacts)

    again = backfill(str(src), str(out), batch_size=10, workers=1)
    assert (again.documents, again.already_ingested, again.units_committed) == (0, 60, 0)


def test_a_capture_over_its_budget_on_dask_is_rejected_and_its_killed_worker_replaced(
        prefect_engine: str, tmp_path: Path) -> None:
    from cleaners import Config
    from flows.backfill import backfill

    src = tmp_path / "src"
    write_loose(src, 3)
    # Seconds of trafilatura and lxml work, cleaned in the Dask worker's own thread.
    (src / "deep.html").write_bytes(b"<html><body>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000
                                    + b"</body></html>")
    out = tmp_path / "out"

    summary = backfill(str(src), str(out), batch_size=10, workers=1, config=Config(capture_timeout_seconds=1))

    assert summary.balanced() and summary.units_committed == 1
    assert (summary.documents, dict(summary.rejected)) == (3, {"timeout": 1})
    [reject] = rejects(out)
    assert (Path(reject["source"]).name, reject["reason"]) == ("deep.html", "timeout")
    assert "killed by its watchdog" in reject["detail"]
    assert stray_files(out) == [] and list((out / "_faults").iterdir()) == []


def _worker_settings() -> dict[str, object]:
    """What a Dask worker process runs with: its timers (ms) and the environment variables that matter."""
    from distributed import get_worker

    worker = get_worker()
    return {"timers": {name: worker.periodic_callbacks[name].callback_time for name in ("tick", "memory_monitor")},
            "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "arrow_pool": os.environ.get("ARROW_DEFAULT_MEMORY_POOL")}


def test_the_local_cluster_keeps_quiet_timers_and_glibc_defaults_and_leaves_the_callers_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import dask.config
    from distributed import Client

    from flows.backfill import dask_task_runner

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # what a worker has comes from the cluster only
    tick_before = dask.config.get("distributed.admin.tick.interval")
    runner = dask_task_runner(workers=1)
    cluster = runner.cluster_class(**runner.cluster_kwargs)
    try:
        # The scheduler and the nanny live in this process: their timers come from local_cluster's config.
        assert cluster.scheduler.periodic_callbacks["tick"].callback_time == 1000
        [nanny] = cluster.workers.values()
        assert nanny.periodic_callbacks["memory_monitor"].callback_time == 1000
        with Client(cluster) as client:
            settings = client.submit(_worker_settings, pure=False).result()
    finally:
        cluster.close()
    assert settings == {"timers": {"tick": 1000, "memory_monitor": 1000}, "malloc_trim": None, "arrow_pool": "system"}
    assert dask.config.get("distributed.admin.tick.interval") == tick_before  # the caller's config is untouched


# --------------------------------------------------------------------------- kill -9 and concurrent runs


def _backfill_process(src: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.Popen(
        [str(BIN / "boilerstrip"), "backfill", str(src), "--out", str(out), "--batch-size", "20", "--workers", "2",
         "--no-progress", "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # its own process group: the kill reaches the Dask workers too
    )


def _summary_of(proc: subprocess.Popen[str], timeout: float) -> dict:
    stdout, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, stderr[-3000:]
    return json.loads(stdout)


def test_backfill_killed_mid_run_resumes_with_every_capture_once(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_loose(src, 600)
    out = tmp_path / "out"
    proc = _backfill_process(src, out)
    try:
        deadline = time.monotonic() + 300
        while not list((out / "_manifest").glob("*.json")):  # wait for a first committed unit
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no unit committed in time"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    committed_before = len(list((out / "_manifest").glob("*.json")))
    assert committed_before < 30, "the run finished before it could be killed: use a bigger corpus"
    assert len(documents(out)) == 20 * committed_before  # readers see whole units only

    summary = _summary_of(_backfill_process(src, out), timeout=900)

    assert summary["balanced"] and summary["captures_seen"] == 600
    assert summary["already_ingested"] >= 20 * committed_before
    assert summary["documents"] + summary["already_ingested"] == 600
    assert_each_capture_once(src, out)
    assert stray_files(out) == []


def test_two_backfills_at_once_neither_corrupt_nor_duplicate(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_loose(src / "one", 200)
    shutil.copytree(src / "one", src / "two")  # the second run's own files hold the same bytes
    out = tmp_path / "out"
    first = _backfill_process(src / "one", out, "--workers", "1")
    both = _backfill_process(src, out, "--workers", "1")
    summaries = [_summary_of(first, timeout=900), _summary_of(both, timeout=900)]

    assert all(s["balanced"] for s in summaries)
    assert [s["captures_seen"] for s in summaries] == [200, 400]
    ids = [r["id"] for r in documents(out)]
    assert len(ids) == len(set(ids)) == 200
    fates = Dataset(str(out)).fates()
    assert len(fates) == 400 and len({f.source for f in fates}) == 400  # every capture recorded once
    assert sum(f.fate == "duplicate" for f in fates) == 200
    assert stray_files(out) == []


# --------------------------------------------------------------------------- CLI


def test_progress_bar_follows_the_units_of_a_real_run(prefect_engine: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from flows.cli import _progress_bar
    from flows.ingest import ingest_flow

    write_loose(tmp_path / "src", 5)
    with _progress_bar(True):
        ingest_flow(str(tmp_path / "src"), str(tmp_path / "out"), batch_size=2)
    bar = capsys.readouterr().err
    assert "3/3 units" in bar and "5 documents" in bar, bar


@pytest.mark.parametrize("args, message", [
    (["backfill", "--workers", "0", "."], "--workers"),
    (["backfill"], "no source"),
    (["backfill", "/no/such/folder"], "does not exist"),
    (["serve", "."], "PREFECT_API_URL"),
])
def test_backfill_and_serve_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # no profile that names a server
    result = subprocess.run([str(BIN / "boilerstrip"), *args], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stdout == ""


def test_a_filter_on_ingested_at_skips_the_files_of_earlier_runs(tmp_path: Path) -> None:
    """Each part file holds one run's rows, so readers prune other runs' files by their statistics."""
    import pyarrow.compute as pc

    write_loose(tmp_path / "src", 6)
    out = tmp_path / "out"
    dataset = Dataset(str(out))
    runs = []
    for files in (sorted((tmp_path / "src").rglob("*.txt"))[:3], sorted((tmp_path / "src").rglob("*.txt"))[3:]):
        [unit] = plan_units([str(f) for f in files], str(out), batch_size=10)["units"]
        runs.append(run_info(None, 1000))
        commit_unit(dataset, prepare_unit(dataset, unit, runs[-1]), runs[-1])
    later = pc.field("ingested_at") >= pc.scalar(runs[1]["ingested_at"])
    table = pads.dataset(out / "documents", format="parquet")
    kept = [group for fragment in table.get_fragments() for group in fragment.split_by_row_group(later)]
    assert len(list(table.get_fragments())) == 2 and len(kept) == 1  # the first run's file is skipped unread
    assert table.to_table(filter=later).num_rows == 3
