"""boilerstrip flows: Prefect orchestration and I/O around the pure `cleaners` package.

Python API, mirroring the CLI:
    flows.ingest(source, out)   ↔  boilerstrip ingest SOURCE --out OUT
    flows.clean_file(path)      ↔  boilerstrip clean FILE
    flows.explain(path[, id])   ↔  boilerstrip explain CAPTURE | DATASET --id ID   (render: cleaners.explain)
    flows.inspect(dataset)      ↔  boilerstrip inspect DATASET
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.cli import clean_file
    from flows.explanation import explain
    from flows.ingest import ingest
    from flows.inspection import inspect_dataset as inspect

__all__ = ["clean_file", "explain", "ingest", "inspect"]


def __getattr__(name: str) -> Any:
    # Lazy, so `boilerstrip clean` and `--help` do not pay for importing Prefect.
    if name == "ingest":
        from flows.ingest import ingest

        return ingest
    if name == "clean_file":
        from flows.cli import clean_file

        return clean_file
    if name == "explain":
        from flows.explanation import explain

        return explain
    if name == "inspect":
        from flows.inspection import inspect_dataset

        return inspect_dataset
    raise AttributeError(name)
