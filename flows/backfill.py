"""The backfill flow: the ingest of a large archive, its units cleaned in parallel on Dask.

Units (batches of loose captures, one per WARC/WET file) are planned exactly as for `ingest`, then
submitted all at once to a DaskTaskRunner: a local cluster of N worker processes by default, or an
existing cluster by address for runs over several machines. Each unit commits atomically under the
dataset's commit lock, so a backfill killed at any point resumes, when run again, from the units not
yet committed, and two backfills on one output neither duplicate nor corrupt anything.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.config
from distributed import LocalCluster
from prefect import flow, get_run_logger
from prefect.futures import as_completed
from prefect_dask import DaskTaskRunner

from cleaners import Config
from flows.ingest import (
    DEFAULT_BATCH_SIZE,
    _config_dict,
    add_unit,
    clean_unit_task,
    finish_run,
    plan_units_task,
    run_info,
    start_summary,
)
from flows.summary import RunSummary

DEFAULT_WORKERS = 2
# Dask's housekeeping timers: every server (the scheduler and one nanny per worker, all in the
# run's own process, and each worker) measures its event loop's tick every 20 ms, a nanny and a
# worker read the worker's memory every 100 ms, and the system monitor reads the host's counters
# every 500 ms. Together they kept the run's own process at 4 % of a core and took the GIL from the
# cleaning thread of each worker; at these intervals the run's process is under 1 % and each of two
# workers gets about 2.5 % more of its core (CPU rates over a steady minute of bench/scale.py's c2
# mode). The memory limits are still enforced, a second apart instead of a tenth.
HOUSEKEEPING_TIMERS = {
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
# Set in this process while a local cluster is built (local_cluster).
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    **HOUSEKEEPING_TIMERS,
    # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap
    # threshold at 128 KiB: every larger buffer (a page's bytes, numpy arrays of its lines) is
    # mapped and unmapped anew. Cleaning ran about 15 % slower so (a bare loop, alternating runs:
    # 61 vs 72 docs/s); glibc's own adaptive thresholds are kept instead. Dask's thread limits stay.
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    # A capture that overruns its time budget costs its unit one worker (flows/watchdog.py), and Dask
    # gives up on a task after 3 lost workers. Every loss logs a fault that the next attempt acts on,
    # so retries make progress: a unit may hold up to this many hostile captures before it fails
    # (and a re-run, which reads the same fault log, finishes it).
    "distributed.scheduler.allowed-failures": 10,
}
# Dask workers sample the stack of the running task every 10 ms for the dashboard's profile. On
# cleaning, which is many short Python calls, that cost about a fifth of a worker's throughput
# (measured with bench/scale.py), so the workers of a local cluster do without it.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False, **HOUSEKEEPING_TIMERS}
# pyarrow's default allocator (mimalloc) keeps what a part's encoding freed, 20–30 MB a worker at its
# peak (bench/scale.py); the system allocator hands it back, and the part is written no slower.
LOCAL_WORKER_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system"}


def dask_task_runner(workers: int = DEFAULT_WORKERS, address: str | None = None) -> DaskTaskRunner:
    """A Dask task runner: the cluster at `address` (tcp://host:8786), else a local one of `workers` processes."""
    if address:
        return DaskTaskRunner(address=address)
    # One single-threaded process per worker: cleaning is CPU-bound Python, threads would share one GIL.
    return DaskTaskRunner(cluster_class=local_cluster,
                          cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None, "config": LOCAL_WORKER_CONFIG,
                                          "env": LOCAL_WORKER_ENV})


def local_cluster(**cluster_kwargs: Any) -> LocalCluster:
    """A LocalCluster built under LOCAL_CLUSTER_CONFIG (its scheduler and nannies run in this process)."""
    # The timers and the workers' environment are read when the scheduler and nannies are built;
    # the workers get their own timers from their `config` (LOCAL_WORKER_CONFIG). The caller's
    # Dask config is left as it was.
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        return LocalCluster(**cluster_kwargs)


@flow(name="boilerstrip-backfill", task_runner=dask_task_runner())
def backfill_flow(source: str | list[str], out: str = "output", batch_size: int = DEFAULT_BATCH_SIZE,
                  config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest every capture under the source(s) not yet in `out`, units in parallel; return the run summary."""
    started = time.perf_counter()
    sources = [source] if isinstance(source, str) else list(source)
    logger = get_run_logger()
    run = run_info(config, batch_size)
    plan = plan_units_task(sources, out, batch_size)
    summary = start_summary(plan)
    futures = [clean_unit_task.submit(unit, out, run) for unit in plan["units"]]
    names = {future.task_run_id: unit["name"] for future, unit in zip(futures, plan["units"], strict=True)}
    failed = 0
    for future in as_completed(futures):
        try:
            add_unit(summary, future.result())
        except Exception as err:  # one failed unit must not lose the others' work: the re-run retries it
            failed += 1
            logger.error("unit %s failed: %s", names[future.task_run_id], err)
    return finish_run(summary, "backfill", sources, out, started, failed_units=failed)


@contextlib.contextmanager
def api_for_workers() -> Iterator[str]:
    """Make the Prefect API this process uses reachable by Dask workers it starts; yield its URL.

    Worker processes read PREFECT_API_URL from their environment. Without one, each would start a
    temporary server of its own, so a temporary server is started here, once, and handed to them.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = PREFECT_API_URL.value()
    if not url:
        # Imported only here: the server's modules (FastAPI, SQLAlchemy…) add 77 MB to this process,
        # for nothing when a server is already given (a deployment, bench/scale.py).
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()  # Prefect's own temporary server (stopped when the process exits)
        server.start(timeout=int(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")))
        url = server.api_url
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        if before is None:
            del os.environ["PREFECT_API_URL"]
        else:
            os.environ["PREFECT_API_URL"] = before


def backfill(source: str | Path | list[str | Path], out: str | Path = "output", batch_size: int = DEFAULT_BATCH_SIZE,
             workers: int = DEFAULT_WORKERS, dask_address: str | None = None,
             config: Config | None = None) -> RunSummary:
    """Python API of `boilerstrip backfill`: run the backfill flow on Dask and return its summary."""
    sources = [str(s) for s in source] if isinstance(source, list) else [str(source)]
    config_dict = None if config is None else _config_dict(config)
    runner = backfill_flow.with_options(task_runner=dask_task_runner(workers, dask_address))
    with api_for_workers():
        return RunSummary.from_dict(runner(sources, str(out), batch_size, config_dict))
