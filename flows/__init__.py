"""boilerstrip flows: Prefect orchestration and I/O around the pure `cleaners` package.

Python API, mirroring the CLI:
    flows.ingest(source, out)   ↔  boilerstrip ingest SOURCE --out OUT
    flows.clean_file(path)      ↔  boilerstrip clean FILE
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.cli import clean_file
    from flows.ingest import ingest

__all__ = ["clean_file", "ingest"]


def __getattr__(name: str) -> Any:
    # Lazy, so `boilerstrip clean` and `--help` do not pay for importing Prefect.
    if name == "ingest":
        from flows.ingest import ingest

        return ingest
    if name == "clean_file":
        from flows.cli import clean_file

        return clean_file
    raise AttributeError(name)
