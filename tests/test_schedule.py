"""Scheduled ingest: `boilerstrip serve` registers a cron deployment whose runs ingest only new captures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as pads

from bench.corpus import captures, write_loose

BIN = Path(sys.executable).parent
NAME = "landing-test"
CRON = "0 3 * * *"


def test_serve_registers_a_cron_deployment_whose_runs_ingest_only_new_captures(prefect_engine: str,
                                                                                tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    landing = tmp_path / "landing"
    write_loose(landing, 2)
    out = tmp_path / "out"
    env = {**os.environ, "PREFECT_API_URL": prefect_engine, "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([str(BIN / "boilerstrip"), "serve", str(landing), "--out", str(out), "--cron", CRON,
                              "--name", NAME], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 180
            while True:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                try:
                    deployment = client.read_deployment_by_name(f"boilerstrip-ingest/{NAME}")
                    break
                except ObjectNotFound:
                    assert time.monotonic() < deadline, "the deployment was never registered"
                    time.sleep(0.5)
            assert [s.schedule.cron for s in deployment.schedules] == [CRON]
            assert all(s.active for s in deployment.schedules)
            assert deployment.parameters["out"] == str(out)

            first = run_deployment(f"boilerstrip-ingest/{NAME}", timeout=600)
            assert first.state is not None and first.state.is_completed(), first.state
            rows = pads.dataset(out / "documents", format="parquet").to_table().to_pylist()
            assert len(rows) == 2 and {r["flow_run_id"] for r in rows} == {str(first.id)}

            (landing / "arrived-later.txt").write_bytes(list(captures(3))[2])
            second = run_deployment(f"boilerstrip-ingest/{NAME}", timeout=600)
            assert second.state is not None and second.state.is_completed(), second.state
            rows = pads.dataset(out / "documents", format="parquet").to_table().to_pylist()
            by_run = sorted((r["flow_run_id"], Path(r["source"]).name) for r in rows)
            assert by_run == sorted([(str(first.id), "capture-0000000.txt"), (str(first.id), "capture-0000001.txt"),
                                     (str(second.id), "arrived-later.txt")])
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[second.id])))
            # captures seen 3 = 1 document + 2 already ingested (not read again)
            assert any(isinstance(a.data, str) and "| 3 | 1 | 0 | 0 | 0 | 2 |" in a.data for a in artifacts)
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        log.close()
