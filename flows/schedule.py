"""Scheduled ingest: a Prefect deployment of the ingest flow over a landing folder, on a cron schedule.

`boilerstrip serve` registers the deployment on the Prefect server at PREFECT_API_URL and runs its
scheduled runs (and any triggered by hand: `prefect deployment run boilerstrip-ingest/NAME`) until
stopped. Each run skips the source files the dataset's manifest already records, so it costs only
the captures that arrived since the last run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.ingest import DEFAULT_BATCH_SIZE, ingest_flow


def _absolute(location: str) -> str:
    # Runs start later, from another process: a relative local path must not depend on its directory.
    return location if "://" in location else str(Path(location).absolute())


def ingest_deployment(sources: list[str], out: str, name: str, cron: str,
                      batch_size: int = DEFAULT_BATCH_SIZE) -> RunnerDeployment:
    """The deployment `boilerstrip-ingest/<name>`: ingest the sources into `out` at every `cron` slot (UTC)."""
    parameters: dict[str, Any] = {"source": [_absolute(s) for s in sources], "out": _absolute(out),
                                  "batch_size": batch_size}
    return ingest_flow.to_deployment(
        name=name, cron=cron, parameters=parameters,
        description=f"Ingest new captures from {', '.join(parameters['source'])} into {parameters['out']}",
        # The flow is imported by module path, so runs work from any working directory.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve_ingest(sources: list[str], out: str, name: str, cron: str, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
    """Register the scheduled ingest deployment and run its flow runs until interrupted."""
    from prefect import serve

    serve(ingest_deployment(sources, out, name, cron, batch_size))
