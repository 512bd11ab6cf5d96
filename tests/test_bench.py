"""The bench scripts that vouch for speed figures: output equivalence, the speed breakdown and the trees' floor.

None is timed here (speed is measured by the bench scripts themselves, never in a test): these check that the
equivalence check compares what the pipeline really computes, that the breakdown leaves the pipeline as it found it,
and that the trees' floor counts and walks exactly what the shipped path walks.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import equivalence, model_floor, speed
from cleaners.line_classifier import TreeStage

from .conftest import EVAL_DEV, small_tree_stage


def _dev_dumps() -> list[Path]:
    dumps = sorted(EVAL_DEV.glob("*.page.txt"))
    if not dumps:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    return dumps


def test_equivalence_feature_matrices_are_the_ones_the_line_classifier_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored features must be what the classifier computes inside the real pipeline: at stop 30 they drifted
    (computed with every rule, `after_model` ones included), and the check compared the wrong matrices."""
    import cleaners.line_classifier as line_classifier
    from cleaners import Pipeline

    dumps = _dev_dumps()
    seen: list[np.ndarray] = []
    real = line_classifier.line_features

    def recording(*args: Any, **kwargs: Any) -> np.ndarray:
        matrix = real(*args, **kwargs)
        seen.append(matrix)
        return matrix

    monkeypatch.setattr(line_classifier, "line_features", recording)
    pipeline = Pipeline()
    in_pipeline: dict[str, np.ndarray] = {}
    for path in dumps:
        seen.clear()
        pipeline.clean_bytes(path.read_bytes())
        if seen:  # the classifier ran on this dump (it skips a dump with too little furniture)
            in_pipeline[path.name] = seen[-1]
    monkeypatch.undo()

    stored = equivalence.feature_matrices()
    assert len(in_pipeline) >= len(dumps) * 0.9
    for name, matrix in in_pipeline.items():
        assert stored[name].shape == matrix.shape, name
        assert np.array_equal(stored[name], matrix, equal_nan=True), name


def _write(folder: Path, results: dict[str, Any], features: dict[str, np.ndarray]) -> None:
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    np.savez_compressed(folder / "features.npz", **features)  # type: ignore[arg-type]


def test_equivalence_compare_reports_each_kind_of_difference_and_nothing_else(tmp_path: Path) -> None:
    """A changed text, a missing input and features beyond the tolerance are reported; bits below it are not."""
    results = {"a.page.txt": {"text": "body", "removed": [[0, 4, "promo", "promo.x"]]}, "b.page.txt": {"text": "x"}}
    features = {"a.page.txt": np.array([[1.0, 2.0], [3.0, 4.0]])}
    _write(tmp_path / "before", results, features)

    assert equivalence.compare(tmp_path / "before", results, features) == []
    tiny = {"a.page.txt": features["a.page.txt"] + equivalence.FEATURE_TOLERANCE / 10}
    assert equivalence.compare(tmp_path / "before", results, tiny) == []

    changed = {**results, "a.page.txt": {**results["a.page.txt"], "text": "body!"}}
    problems = equivalence.compare(tmp_path / "before", changed, features)
    assert problems == ["a.page.txt: result differs in ['text']"]

    missing = {"a.page.txt": results["a.page.txt"]}
    assert any("inputs differ" in p for p in equivalence.compare(tmp_path / "before", missing, features))

    moved = features["a.page.txt"].copy()
    moved[1, 1] += 1e-9
    problems = equivalence.compare(tmp_path / "before", results, {"a.page.txt": moved})
    assert len(problems) == 1 and "(column 1)" in problems[0]

    reshaped = {"a.page.txt": np.zeros((3, 2))}
    assert "feature shape" in equivalence.compare(tmp_path / "before", results, reshaped)[0]


def test_speed_breakdown_names_every_stage_and_leaves_the_pipeline_as_it_was() -> None:
    """Every cleaner of the text path and every module-level stage gets a line; the timers are taken off again, and
    the shared rule matcher (cached for the whole process) keeps no timer."""
    from cleaners import Pipeline
    from cleaners import pipeline as pipeline_module

    _dev_dumps()
    before = {name: getattr(pipeline_module, name) for name in ("decode_capture", "segment", "excise",
                                                                 "detect_language")}
    pages = speed.load_pages(3)
    stages = speed.stage_breakdown(pages, 1)

    for name, fn in before.items():
        assert getattr(pipeline_module, name) is fn, name
    pipeline = Pipeline()
    assert "match" not in vars(pipeline.matcher)
    for stage in ("decode (incl. mojibake check)", "segment", "rule matching (RE2 sets)", "render (excise)",
                  "language id", "the rest (overlaps, guard, result)"):
        assert stage in stages, stage
    for cleaner in pipeline.page_dump_cleaners:
        after = " (after the model)" if cleaner.takes_after_model_rules else ""
        assert f"cleaner {cleaner.category}{after}" in stages
    # Each wrapped stage was really called: a stage whose timer never ran would show 0.
    for stage, ms in stages.items():
        if stage != "the rest (overlaps, guard, result)":
            assert ms > 0, stage


def test_node_steps_count_the_inner_nodes_each_row_passes_through() -> None:
    """[0, 0] passes two inner nodes of tree 0 and one of tree 1; [1, -1] one and one; [NaN, NaN] two and one (the
    NaN follows each node's missing side); the lone leaf of tree 2 is no step."""
    stage = small_tree_stage()
    assert model_floor.node_steps(stage, np.array([[0.0, 0.0]])) == 3
    assert model_floor.node_steps(stage, np.array([[1.0, -1.0]])) == 2
    assert model_floor.node_steps(stage, np.array([[np.nan, np.nan]])) == 3
    assert model_floor.node_steps(stage, np.array([[0.0, 0.0], [1.0, -1.0], [np.nan, np.nan]])) == 8


def test_quickscorer_layout_numbers_leaves_left_to_right_and_masks_each_left_subtree() -> None:
    """Tree 0's leaves are 1, 2 (under x1 <= 1) then 3: its root masks the first two, its x1 node the first; tree 1's
    root masks its left leaf. Nodes are sorted by feature, then threshold, with the first node of each feature."""
    layout = model_floor.quickscorer_layout(small_tree_stage())
    assert layout["leaf_value"].tolist() == [[1.0, 2.0, 3.0], [10.0, 20.0, 0.0], [100.0, 0.0, 0.0]]
    assert layout["first"].tolist() == [0, 1, 3]
    assert layout["threshold"].tolist() == [0.5, 0.0, 1.0]
    assert layout["tree"].tolist() == [0, 1, 0]
    assert layout["mask"].tolist() == [0b11, 0b1, 0b1]
    assert layout["missing_left"].tolist() == [1, 0, 0]


def test_both_compiled_walks_score_every_row_as_the_shipped_walk_does(tmp_path: Path) -> None:
    """Rows on a threshold, NaN on either missing side, and rows for two stages in one run: each C walk must give the
    shipped numpy walk's scores, or its time measures another model."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        if os.environ.get("BOILERSTRIP_REQUIRE_CC") == "1":
            pytest.fail("BOILERSTRIP_REQUIRE_CC=1 but no C compiler on PATH")
        pytest.skip("no C compiler (bench.model_floor then reports the node steps only)")
    stage = small_tree_stage()
    rows = np.array([[0.0, 0.0], [0.0, 5.0], [1.0, -1.0], [np.nan, np.nan], [0.5, 1.0], [0.5, np.nan]])
    other = TreeStage(feature=np.array([1, 0, 0]), threshold=np.array([2.0, np.inf, np.inf]),
                      missing_left=np.array([False, True, True]), children=np.array([1, 1, 2]),
                      value=np.array([0.0, -1.0, 1.0]), roots=np.array([0]), baseline=0.0)
    walks = model_floor.compiled_walk([(stage, rows), (other, rows[:3])], 2, tmp_path, compiler)
    expected = stage.raw_scores(rows).tolist() + other.raw_scores(rows[:3]).tolist()
    assert set(walks) == {"plain", "quickscorer"}
    for name, (seconds, scores) in walks.items():
        assert seconds >= 0, name
        assert scores.tolist() == expected, name


def test_the_trees_floor_walks_what_the_pipeline_walks_and_puts_the_walk_back() -> None:
    """The captured inputs are the stages the shipped model walks on real dumps (two per reader), the class's walk is
    the shipped one again afterwards, and the report names its figures."""
    from cleaners.line_classifier import shipped_model

    _dev_dumps()
    walk = TreeStage.raw_scores
    pages = speed.load_pages(2)
    inputs = model_floor.captured_inputs([dump for dump, _, _ in pages])
    assert TreeStage.raw_scores is walk
    model = shipped_model()
    shipped = {id(model.lines), id(model.context)}
    if model.unmarked is not None and model.unmarked.context is not None:
        shipped |= {id(model.unmarked.lines), id(model.unmarked.context)}
    assert inputs and len(inputs) % 2 == 0 and {id(stage) for stage, _ in inputs} <= shipped
    report = model_floor.measure(pages, 1)
    assert TreeStage.raw_scores is walk
    assert report["tree_stages_walked"] == len(inputs)
    assert report["node_steps_per_page"] > report["rows_walked_per_page"] > 0
    assert report["budget_ms_per_page_at_target"] == report["trafilatura_ms_per_page"] / model_floor.TARGET_RATIO
