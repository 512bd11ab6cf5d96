"""The Python API of boilerstrip: one function per command of the `boilerstrip` CLI.

    from flows.api import backfill, clean_file, evaluate, explain, ingest, inspect

These live here rather than on the `flows` package because a package attribute named like one of
its submodules (`flows.ingest`) is replaced by that submodule as soon as it is imported.
"""

from __future__ import annotations

from flows.backfill import backfill  # ↔ boilerstrip backfill SOURCE... --out OUT --workers N
from flows.cli import clean_file  # ↔ boilerstrip clean FILE
from flows.evaluate import evaluate_folder as evaluate  # ↔ boilerstrip eval FOLDER
from flows.explanation import explain  # ↔ boilerstrip explain CAPTURE | DATASET --id ID
from flows.ingest import ingest  # ↔ boilerstrip ingest SOURCE... --out OUT
from flows.inspection import inspect_dataset as inspect  # ↔ boilerstrip inspect DATASET

__all__ = ["backfill", "clean_file", "evaluate", "explain", "ingest", "inspect"]
