"""What the line model's trees cost at the least: their walk in numpy (as shipped) and compiled, on the same inputs.

    python3 -m uv run python -m bench.model_floor [--pages N] [--repeats 5] [--json]

The quality issue asks for text cleaning 20x faster than `trafilatura.extract`. The trees of the line model are the
largest stage of the text path, so this asks how far compiling them would go. Every dev page dump is cleaned once by
the real pipeline with `TreeStage.raw_scores` wrapped to keep each feature matrix it is given (the stages and rows the
shipped path walks: two or four stages a page). Then, on exactly those matrices:
- **node steps**: how many inner nodes the rows pass through, over every tree (a count, the same on any machine);
- **numpy walk**: the shipped `TreeStage.raw_scores`, best of `--repeats` (CPU time);
- **compiled walk**: the same trees walked row by row in C (the C below, built with the machine's `cc -O2`), best of
  `--repeats` (CPU time inside the program); its scores must equal numpy's to 1e-9, or the figure is not printed;
- **trafilatura**: `trafilatura.extract` of each page's HTML, once, in the same run: the 20x budget is its time / 20.
The C is a measuring device, not a path of the product: boilerstrip ships no compiled code.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bench.pathological import best_seconds
from bench.speed import load_pages
from cleaners.line_classifier import TreeStage

# The speed the quality issue asks of text cleaning, as a multiple of trafilatura's.
TARGET_RATIO = 20
# Scores of the compiled walk must match numpy's to this (they sum the same leaves in the same order).
SCORE_TOLERANCE = 1e-9

WALK_C = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* model.bin: stages, each: nodes, trees, baseline, then feature int32[], threshold f64[], missing_left i8[],
   children int32[], value f64[], roots int32[].  jobs.bin: jobs, then each: stage, rows, cols, f64[rows*cols]. */
typedef struct { int nodes, trees; double baseline; int *feature; double *threshold; signed char *missing_left;
                 int *children; double *value; int *roots; } Stage;
typedef struct { int stage, rows, cols; double *x; } Job;
static void *take(FILE *f, size_t size, size_t n) {
    void *p = malloc(size * (n ? n : 1));
    if (!p || fread(p, size, n, f) != n) { fprintf(stderr, "short read\n"); exit(2); }
    return p;
}
int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: walk model.bin jobs.bin scores.bin repeats\n"); return 2; }
    FILE *f = fopen(argv[1], "rb"); if (!f) return 2;
    int n_stages; if (fread(&n_stages, 4, 1, f) != 1) return 2;
    Stage *stages = calloc(n_stages, sizeof(Stage));
    for (int i = 0; i < n_stages; i++) {
        Stage *s = &stages[i];
        if (fread(&s->nodes, 4, 1, f) != 1 || fread(&s->trees, 4, 1, f) != 1 || fread(&s->baseline, 8, 1, f) != 1)
            return 2;
        s->feature = take(f, 4, s->nodes); s->threshold = take(f, 8, s->nodes);
        s->missing_left = take(f, 1, s->nodes); s->children = take(f, 4, s->nodes);
        s->value = take(f, 8, s->nodes); s->roots = take(f, 4, s->trees);
    }
    fclose(f);
    f = fopen(argv[2], "rb"); if (!f) return 2;
    int n_jobs; if (fread(&n_jobs, 4, 1, f) != 1) return 2;
    Job *jobs = calloc(n_jobs, sizeof(Job)); long total_rows = 0;
    for (int j = 0; j < n_jobs; j++) {
        if (fread(&jobs[j].stage, 4, 1, f) != 1 || fread(&jobs[j].rows, 4, 1, f) != 1
            || fread(&jobs[j].cols, 4, 1, f) != 1) return 2;
        jobs[j].x = take(f, 8, (size_t)jobs[j].rows * jobs[j].cols); total_rows += jobs[j].rows;
    }
    fclose(f);
    double *scores = malloc(8 * (total_rows ? total_rows : 1)), best = 1e30;
    int repeats = atoi(argv[4]);
    for (int rep = 0; rep < repeats; rep++) {
        struct timespec a, b; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        long out = 0;
        for (int j = 0; j < n_jobs; j++) {
            const Stage *s = &stages[jobs[j].stage];
            for (int r = 0; r < jobs[j].rows; r++) {
                const double *x = jobs[j].x + (size_t)r * jobs[j].cols;
                double sum = 0;
                for (int t = 0; t < s->trees; t++) {
                    int node = s->roots[t];
                    while (s->children[node] != node) {  /* a leaf is its own child */
                        double v = x[s->feature[node]];
                        int second = isnan(v) ? !s->missing_left[node] : v > s->threshold[node];
                        node = s->children[node] + second;
                    }
                    sum += s->value[node];
                }
                scores[out++] = s->baseline + sum;
            }
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        double seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
        if (seconds < best) best = seconds;
    }
    f = fopen(argv[3], "wb"); if (!f) return 2;
    fwrite(scores, 8, total_rows, f); fclose(f);
    printf("%.9f\n", best);
    return 0;
}
"""


def captured_inputs(dumps: list[bytes]) -> list[tuple[TreeStage, np.ndarray]]:
    """Every (tree stage, feature matrix) the real text path walks while cleaning these page dumps, in order."""
    from cleaners import Pipeline

    pipeline = Pipeline()
    captured: list[tuple[TreeStage, np.ndarray]] = []
    walk = TreeStage.raw_scores

    def keeping(stage: TreeStage, features: np.ndarray) -> np.ndarray:
        captured.append((stage, np.array(features, dtype=float)))
        return walk(stage, features)

    setattr(TreeStage, "raw_scores", keeping)  # noqa: B010 (mypy refuses assigning to a method)
    try:
        for dump in dumps:
            pipeline.clean_bytes(dump)
    finally:
        setattr(TreeStage, "raw_scores", walk)  # noqa: B010
    return captured


def node_steps(stage: TreeStage, features: np.ndarray) -> int:
    """How many inner nodes the rows pass through on their way to a leaf, summed over every tree."""
    rows = np.arange(features.shape[0])[:, None]
    node = np.tile(stage.roots, (features.shape[0], 1))
    steps = 0
    for _ in range(stage.depth):
        inner = stage.children[node] != node
        steps += int(inner.sum())
        values = features[rows, stage.feature[node]]
        go_second = np.where(np.isnan(values), ~stage.missing_left[node], values > stage.threshold[node])
        node = np.where(inner, stage.children[node] + go_second, node)
    return steps


def compiled_walk(inputs: list[tuple[TreeStage, np.ndarray]], repeats: int, workdir: Path,
                  compiler: str) -> tuple[float, np.ndarray]:
    """(best CPU seconds, scores) of the C walk over the same inputs."""
    stages: dict[int, int] = {}
    for stage, _ in inputs:
        stages.setdefault(id(stage), len(stages))
    unique = {id(stage): stage for stage, _ in inputs}
    with open(workdir / "model.bin", "wb") as out:
        out.write(np.int32(len(stages)).tobytes())
        for key in stages:
            stage = unique[key]
            out.write(np.array([stage.children.shape[0], stage.roots.shape[0]], dtype=np.int32).tobytes())
            out.write(np.float64(stage.baseline).tobytes())
            for array, dtype in ((stage.feature, np.int32), (stage.threshold, np.float64),
                                 (stage.missing_left, np.int8), (stage.children, np.int32),
                                 (stage.value, np.float64), (stage.roots, np.int32)):
                out.write(np.ascontiguousarray(array, dtype=dtype).tobytes())
    with open(workdir / "jobs.bin", "wb") as out:
        out.write(np.int32(len(inputs)).tobytes())
        for stage, features in inputs:
            out.write(np.array([stages[id(stage)], *features.shape], dtype=np.int32).tobytes())
            out.write(np.ascontiguousarray(features, dtype=np.float64).tobytes())
    (workdir / "walk.c").write_text(WALK_C)
    subprocess.run([compiler, "-O2", "-o", str(workdir / "walk"), str(workdir / "walk.c"), "-lm"], check=True)
    done = subprocess.run([str(workdir / "walk"), str(workdir / "model.bin"), str(workdir / "jobs.bin"),
                           str(workdir / "scores.bin"), str(repeats)], check=True, capture_output=True, text=True)
    return float(done.stdout), np.fromfile(workdir / "scores.bin", dtype=np.float64)


def measure(pages: list[tuple[bytes, bytes, str]], repeats: int) -> dict[str, Any]:
    """The figures the module docstring lists, per page."""
    import trafilatura

    n = len(pages)
    inputs = captured_inputs([dump for dump, _, _ in pages])
    numpy_scores = [stage.raw_scores(features) for stage, features in inputs]
    numpy_seconds = best_seconds(lambda: [stage.raw_scores(x) for stage, x in inputs], repeats, time.process_time)
    report: dict[str, Any] = {
        "pages": n,
        "tree_stages_walked": len(inputs),
        "rows_walked_per_page": sum(x.shape[0] for _, x in inputs) / n,
        "node_steps_per_page": sum(node_steps(stage, x) for stage, x in inputs) / n,
        "numpy_walk_ms_per_page": 1000 * numpy_seconds / n,
    }
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        report["compiled_walk"] = "no C compiler on this machine"
    else:
        with tempfile.TemporaryDirectory() as workdir:
            seconds, scores = compiled_walk(inputs, repeats, Path(workdir), compiler)
        expected = np.concatenate(numpy_scores) if numpy_scores else np.zeros(0)
        if scores.shape != expected.shape:
            raise SystemExit(f"the compiled walk gave {scores.size} scores for {expected.size} rows")
        difference = float(np.max(np.abs(scores - expected))) if expected.size else 0.0
        if difference > SCORE_TOLERANCE:
            raise SystemExit(f"the compiled walk's scores differ from numpy's (max difference {difference})")
        report["compiled_walk_ms_per_page"] = 1000 * seconds / n
        report["compiled_ns_per_node_step"] = 1e9 * seconds / max(1, report["node_steps_per_page"] * n)
        report["numpy_vs_compiled"] = numpy_seconds / seconds
    start = time.process_time()
    for _, _, html in pages:
        trafilatura.extract(html, include_comments=False)
    trafilatura_ms = 1000 * (time.process_time() - start) / n
    report["trafilatura_ms_per_page"] = trafilatura_ms
    report["budget_ms_per_page_at_target"] = trafilatura_ms / TARGET_RATIO
    return report


def main() -> None:
    """Measure and print the trees' cost, numpy and compiled, against the 20x budget (JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=None, help="only the first N dev pages")
    parser.add_argument("--repeats", type=int, default=5, help="walks of all inputs; the best is kept (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    report = measure(load_pages(args.pages), args.repeats)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['pages']} dev page dumps: {report['tree_stages_walked']} tree stages walked, "
          f"{report['rows_walked_per_page']:.0f} rows and {report['node_steps_per_page']:,.0f} node steps a page")
    print(f"  trees walked in numpy (shipped)  {report['numpy_walk_ms_per_page']:6.2f} ms/page")
    if "compiled_walk_ms_per_page" in report:
        print(f"  trees walked in C (cc -O2)       {report['compiled_walk_ms_per_page']:6.2f} ms/page "
              f"({report['compiled_ns_per_node_step']:.1f} ns a node step; numpy is "
              f"{report['numpy_vs_compiled']:.1f}x slower; same scores)")
    else:
        print(f"  trees walked in C: {report['compiled_walk']}")
    print(f"  trafilatura.extract of the HTML  {report['trafilatura_ms_per_page']:6.2f} ms/page: "
          f"{TARGET_RATIO}x its speed leaves {report['budget_ms_per_page_at_target']:.2f} ms/page for all of "
          "text cleaning")


if __name__ == "__main__":
    main()
