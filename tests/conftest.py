"""Shared fixtures: paths, one real Prefect engine per session, one ingested seed dataset."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The labelled pages live in the shared folder beside the repository (CI clones it there too).
EVAL_DEV = Path(os.environ.get("BOILERSTRIP_EVAL_DIR", ROOT.parent / "shared" / "eval" / "dev"))
SCORE_PY = EVAL_DEV.parent / "score.py"


@pytest.fixture(scope="session")
def prefect_engine() -> Iterator[str]:
    """A real Prefect engine (temporary server + database) for the whole test session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120), temporary_settings(
        updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    ):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def seed_dataset(prefect_engine: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The seeds ingested once by the real flow: (dataset folder, run summary)."""
    from flows.ingest import ingest_flow

    src = tmp_path_factory.mktemp("seed_src")
    for capture in sorted(SEEDS.glob("*.txt")):
        shutil.copy(capture, src / capture.name)
    out = tmp_path_factory.mktemp("seed_out")
    summary = ingest_flow(str(src), str(out))
    return out, summary


def load_score_module():
    """The reference metric `shared/eval/score.py`, or skip when the shared folder is absent."""
    if not SCORE_PY.exists():
        pytest.skip(f"reference scorer not found at {SCORE_PY}")
    import importlib.util

    spec = importlib.util.spec_from_file_location("reference_score", SCORE_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_tree_stage():
    """Three hand-made trees, stored deepest first: tree 0 (depth 2) is x0 <= 0.5 ? (x1 <= 1 ? 1 : 2) : 3, a NaN in x0
    going left and in x1 right; tree 1 (depth 1) is x1 <= 0 ? 10 : 20; tree 2 is a leaf, 100. Baseline 0.5."""
    import numpy as np

    from cleaners.line_classifier import TreeStage

    inf = np.inf
    return TreeStage(
        feature=np.array([0, 1, 0, 0, 0, 1, 0, 0, 0]),
        threshold=np.array([0.5, 1.0, inf, inf, inf, 0.0, inf, inf, inf]),
        missing_left=np.array([True, False, True, True, True, False, True, True, True]),
        children=np.array([1, 3, 2, 3, 4, 6, 6, 7, 8]),
        value=np.array([0, 0, 3, 1, 2, 0, 10, 20, 100], dtype=float),
        roots=np.array([0, 5, 8]),
        baseline=0.5,
    )
