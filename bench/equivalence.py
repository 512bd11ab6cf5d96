"""Check that a speed-up changed nothing: every output of the pipeline, byte for byte, and the line features.

    python3 -m uv run python -m bench.equivalence --write /tmp/before   # with the code before the change
    python3 -m uv run python -m bench.equivalence --check /tmp/before   # after it: exit 1 on any difference

For every dev page (shared/eval/dev: `<id>.page.txt` through the text path, `<id>.html` through the HTML path)
and every seed, the full CleanResult (text, removals with categories and rules, flags, language, title, …) goes
to `results.json`; for every page dump the line classifier's feature matrix, computed from the same inputs the
classifier sees, goes to `features.npz`. `--check` wants the results byte-identical and the features equal to
within 1e-12 (sums reassociated by a vectorised formulation may differ in the last bits).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"
SEEDS = ROOT / "seeds"
FEATURE_TOLERANCE = 1e-12


def _result_json(result: object) -> Any:
    data = asdict(result)  # type: ignore[call-overload]
    if "line_keys" in data:
        data["line_keys"] = sorted(data["line_keys"])
    return data


def pipeline_outputs() -> dict[str, Any]:
    """Every input's CleanResult (or Rejection) as JSON-ready data, keyed by input file name."""
    from cleaners import Pipeline
    from cleaners.site_repeated import SiteLineCounts, line_key

    pipeline = Pipeline()
    out: dict[str, Any] = {}
    inputs = sorted(EVAL_DEV.glob("*.page.txt")) + sorted(EVAL_DEV.glob("*.html")) + sorted(SEEDS.glob("*.txt"))
    for path in inputs:
        kind = "html" if path.suffix == ".html" else "text"
        out[path.name] = _result_json(pipeline.clean_bytes(path.read_bytes(), kind))
    # The site path too: every page dump cleaned against a table where each line key of the first half of
    # the pages counts once per page (so site_repeated fires and line keys are returned).
    from cleaners.pipeline import SiteContext
    from cleaners.segment import segment

    dumps = sorted(EVAL_DEV.glob("*.page.txt"))
    table = SiteLineCounts()
    for i, path in enumerate(dumps[: len(dumps) // 2]):
        page = segment(path.read_text(encoding="utf-8", errors="replace"))
        table.add("dev", i, {line_key(line.text) for line in page.lines})
    site = SiteContext("dev", table.for_site("dev"))
    for path in dumps:
        out["site:" + path.name] = _result_json(pipeline.clean_bytes(path.read_bytes(), site=site))
    return out


def feature_matrices() -> dict[str, np.ndarray]:
    """The line classifier's feature matrix of every page dump, from the inputs the classifier is given."""
    from cleaners import Pipeline
    from cleaners.base import claimed_line_indexes
    from cleaners.decode import decode_capture
    from cleaners.line_classifier import page_language
    from cleaners.line_features import line_features
    from cleaners.model import Decoded
    from cleaners.pipeline import LINE_MODEL_INPUTS
    from cleaners.segment import segment
    from cleaners.stopwords import stopwords_for

    # Exactly the cleaners before the model, as training runs them: a rule marked `after_model` is not an input.
    rules_only = Pipeline(stages=LINE_MODEL_INPUTS)
    out: dict[str, np.ndarray] = {}
    for path in sorted(EVAL_DEV.glob("*.page.txt")) + sorted(SEEDS.glob("*.txt")):
        decoded = decode_capture(path.read_bytes(), 10**9)
        assert isinstance(decoded, Decoded)
        page = segment(decoded.text)
        prior = rules_only.find_removals(decoded.text)
        claimed = frozenset(claimed_line_indexes(page, prior))
        out[path.name] = line_features(page, stopwords_for(page_language(page)), claimed)
    return out


def compare(before: Path, results: dict[str, Any], features: dict[str, np.ndarray]) -> list[str]:
    """Every difference from the stored outputs, as readable lines (empty when equivalent)."""
    problems = []
    stored = json.loads((before / "results.json").read_text(encoding="utf-8"))
    if set(stored) != set(results):
        problems.append(f"inputs differ: {sorted(set(stored) ^ set(results))[:5]}")
    for name in sorted(set(stored) & set(results)):
        if json.dumps(stored[name], sort_keys=True) != json.dumps(results[name], sort_keys=True):
            current = json.loads(json.dumps(results[name]))  # tuples as the stored lists, to name the fields
            fields = sorted(k for k in {*stored[name], *current} if stored[name].get(k) != current.get(k))
            problems.append(f"{name}: result differs in {fields}")
    with np.load(before / "features.npz") as old:
        for name, matrix in features.items():
            if name not in old:
                problems.append(f"{name}: no stored features")
            elif old[name].shape != matrix.shape:
                problems.append(f"{name}: feature shape {old[name].shape} -> {matrix.shape}")
            else:
                worst = float(np.max(np.abs(old[name] - matrix), initial=0.0))
                if worst > FEATURE_TOLERANCE:
                    column = int(np.unravel_index(np.argmax(np.abs(old[name] - matrix)), matrix.shape)[1])
                    problems.append(f"{name}: features differ by {worst:.3g} (column {column})")
    return problems


def main() -> None:
    """Write the current outputs to a folder, or check them against a folder written before."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="folder to store the current outputs in")
    mode.add_argument("--check", type=Path, help="folder of outputs stored before, to compare with")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    results = pipeline_outputs()
    features = feature_matrices()
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        (args.write / "results.json").write_text(json.dumps(results, sort_keys=True, ensure_ascii=False),
                                                 encoding="utf-8")
        np.savez_compressed(args.write / "features.npz", **features)  # type: ignore[arg-type]
        print(f"stored {len(results)} results and {len(features)} feature matrices in {args.write}")
        return
    problems = compare(args.check, results, features)
    for problem in problems:
        print(problem)
    print(f"{len(results)} results, {len(features)} feature matrices: "
          f"{'identical' if not problems else f'{len(problems)} differences'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
