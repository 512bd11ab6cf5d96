"""What the line model's trees cost at the least: their walk in numpy (as shipped) and compiled, on the same inputs.

    python3 -m uv run python -m bench.model_floor [--pages N] [--repeats 5] [--json]

The quality issue asks for text cleaning 20x faster than `trafilatura.extract`. The trees of the line model are the
largest stage of the text path, so this asks how far compiling them would go. Every dev page dump is cleaned once by
the real pipeline with `TreeStage.raw_scores` wrapped to keep each feature matrix it is given (the stages and rows the
shipped path walks: two or four stages a page). Then, on exactly those matrices:
- **node steps**: how many inner nodes the rows pass through, over every tree (a count, the same on any machine);
- **numpy walk**: the shipped `TreeStage.raw_scores`, best of `--repeats` (CPU time);
- **compiled walks**, in the C below, built with the machine's `cc -O2`, best of `--repeats` (CPU time inside the
  program), each of whose scores must equal numpy's to 1e-9, or nothing is printed:
  - *plain*: each row down each tree, node by node;
  - *QuickScorer* (Lucchese et al., SIGIR 2015), the layout built for small trees: every tree's leaves numbered left
    to right, each inner node a bitmask of the leaves its left subtree holds, and the nodes of each feature sorted by
    threshold; a row clears the masks of the nodes whose test it fails (a short scan per feature), and each tree's exit
    leaf is its lowest bit left, with no branch to mispredict on the way down;
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* model.bin: stages, each: nodes, trees, baseline, then feature int32[], threshold f64[], missing_left i8[],
   children int32[], value f64[], roots int32[].
   quick.bin: the same stages, each: trees, leaves (a tree's most), features, inner nodes, then the leaves' values
   f64[trees*leaves], each feature's first node int32[features+1], then per node (sorted by feature, then threshold):
   threshold f64[], tree int32[], mask u64[] (the bits of its left subtree's leaves), missing_left i8[].
   jobs.bin: jobs, then each: stage, rows, cols, f64[rows*cols]. */
typedef struct { int nodes, trees; double baseline; int *feature; double *threshold; signed char *missing_left;
                 int *children; double *value; int *roots; } Stage;
typedef struct { int trees, leaves, features, inner; double *leaf_value; int *first; double *threshold; int *tree;
                 uint64_t *mask; signed char *missing_left; } Quick;
typedef struct { int stage, rows, cols; double *x; } Job;
static void *take(FILE *f, size_t size, size_t n) {
    void *p = malloc(size * (n ? n : 1));
    if (!p || fread(p, size, n, f) != n) { fprintf(stderr, "short read\n"); exit(2); }
    return p;
}
static int count(FILE *f) {
    int n;
    if (fread(&n, 4, 1, f) != 1) { fprintf(stderr, "short read\n"); exit(2); }
    return n;
}
static double seconds_since(struct timespec a) {
    struct timespec b; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
}
int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: walk model.bin quick.bin jobs.bin plain.out quick.out repeats\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb"); if (!f) return 2;
    int n_stages = count(f);
    Stage *stages = calloc(n_stages, sizeof(Stage));
    for (int i = 0; i < n_stages; i++) {
        Stage *s = &stages[i];
        s->nodes = count(f); s->trees = count(f);
        if (fread(&s->baseline, 8, 1, f) != 1) return 2;
        s->feature = take(f, 4, s->nodes); s->threshold = take(f, 8, s->nodes);
        s->missing_left = take(f, 1, s->nodes); s->children = take(f, 4, s->nodes);
        s->value = take(f, 8, s->nodes); s->roots = take(f, 4, s->trees);
    }
    fclose(f);
    f = fopen(argv[2], "rb"); if (!f) return 2;
    Quick *quick = calloc(n_stages, sizeof(Quick));
    for (int i = 0; i < n_stages; i++) {
        Quick *q = &quick[i];
        q->trees = count(f); q->leaves = count(f); q->features = count(f); q->inner = count(f);
        q->leaf_value = take(f, 8, (size_t)q->trees * q->leaves); q->first = take(f, 4, q->features + 1);
        q->threshold = take(f, 8, q->inner); q->tree = take(f, 4, q->inner); q->mask = take(f, 8, q->inner);
        q->missing_left = take(f, 1, q->inner);
    }
    fclose(f);
    f = fopen(argv[3], "rb"); if (!f) return 2;
    int n_jobs = count(f);
    Job *jobs = calloc(n_jobs, sizeof(Job)); long total_rows = 0;
    for (int j = 0; j < n_jobs; j++) {
        jobs[j].stage = count(f); jobs[j].rows = count(f); jobs[j].cols = count(f);
        jobs[j].x = take(f, 8, (size_t)jobs[j].rows * jobs[j].cols); total_rows += jobs[j].rows;
    }
    fclose(f);
    int repeats = atoi(argv[6]), most_trees = 1;
    for (int i = 0; i < n_stages; i++) if (quick[i].trees > most_trees) most_trees = quick[i].trees;
    size_t score_bytes = 8 * (total_rows ? total_rows : 1);
    double *plain = malloc(score_bytes), *quick_scores = malloc(score_bytes);
    uint64_t *alive = malloc(8 * most_trees);
    double best_plain = 1e30, best_quick = 1e30;
    for (int rep = 0; rep < repeats; rep++) {
        struct timespec start; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
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
                plain[out++] = s->baseline + sum;
            }
        }
        double seconds = seconds_since(start);
        if (seconds < best_plain) best_plain = seconds;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
        out = 0;
        for (int j = 0; j < n_jobs; j++) {
            const Quick *q = &quick[jobs[j].stage];
            for (int r = 0; r < jobs[j].rows; r++) {
                const double *x = jobs[j].x + (size_t)r * jobs[j].cols;
                for (int t = 0; t < q->trees; t++) alive[t] = ~(uint64_t)0;
                for (int k = 0; k < q->features; k++) {
                    double v = x[k];
                    int i = q->first[k], end = q->first[k + 1];
                    if (isnan(v)) {  /* NaN goes right (its test fails) wherever missing values go right */
                        for (; i < end; i++) if (!q->missing_left[i]) alive[q->tree[i]] &= ~q->mask[i];
                    } else {  /* the test x <= threshold fails at every node whose threshold is under x */
                        for (; i < end && q->threshold[i] < v; i++) alive[q->tree[i]] &= ~q->mask[i];
                    }
                }
                double sum = 0;
                for (int t = 0; t < q->trees; t++)  /* the exit leaf: the lowest leaf still alive */
                    sum += q->leaf_value[(size_t)t * q->leaves + __builtin_ctzll(alive[t])];
                quick_scores[out++] = stages[jobs[j].stage].baseline + sum;
            }
        }
        seconds = seconds_since(start);
        if (seconds < best_quick) best_quick = seconds;
    }
    f = fopen(argv[4], "wb"); if (!f) return 2;
    fwrite(plain, 8, total_rows, f); fclose(f);
    f = fopen(argv[5], "wb"); if (!f) return 2;
    fwrite(quick_scores, 8, total_rows, f); fclose(f);
    printf("%.9f %.9f\n", best_plain, best_quick);
    return 0;
}
"""
# QuickScorer's masks are 64-bit words: a tree may have at most this many leaves (the shipped ones have 15).
QUICK_MAX_LEAVES = 64


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
    """How many inner nodes the rows pass through on their way to a leaf, summed over every tree: the depth of each
    leaf the shipped walk reaches."""
    return int(stage.node_depth.take(stage.leaves(features)).sum())


def _number_leaves(stage: TreeStage, node: int, tree: int, leaves: list[int],
                   inner: list[tuple[int, float, int, int, bool]]) -> tuple[int, int]:
    """Append the leaves under `node` to `leaves` left to right, and each inner node under it to `inner` with the mask
    of its left subtree's leaves; return the range of the numbers its leaves got."""
    child = int(stage.children[node])
    if child == node:
        leaves.append(node)
        return len(leaves) - 1, len(leaves)
    first, middle = _number_leaves(stage, child, tree, leaves, inner)
    _, last = _number_leaves(stage, child + 1, tree, leaves, inner)
    left_mask = ((1 << (middle - first)) - 1) << first
    inner.append((int(stage.feature[node]), float(stage.threshold[node]), tree, left_mask,
                  bool(stage.missing_left[node])))
    return first, last


def quickscorer_layout(stage: TreeStage) -> dict[str, np.ndarray]:
    """The stage's trees as QuickScorer reads them: leaves numbered left to right in each tree, and every inner node
    as (tree, mask of the leaves of its left subtree, threshold, missing_left), sorted by feature, then threshold."""
    n_trees = stage.roots.shape[0]
    leaf_lists: list[list[int]] = []
    inner: list[tuple[int, float, int, int, bool]] = []  # feature, threshold, tree, mask, missing_left
    for tree, root in enumerate(stage.roots.tolist()):
        leaves: list[int] = []
        _number_leaves(stage, root, tree, leaves, inner)
        if len(leaves) > QUICK_MAX_LEAVES:
            raise ValueError(f"a tree of {len(leaves)} leaves: QuickScorer's masks hold {QUICK_MAX_LEAVES}")
        leaf_lists.append(leaves)
    most_leaves = max((len(leaves) for leaves in leaf_lists), default=1)
    leaf_value = np.zeros((n_trees, most_leaves))
    for tree, leaves in enumerate(leaf_lists):
        leaf_value[tree, :len(leaves)] = stage.value[leaves]
    inner.sort(key=lambda node: (node[0], node[1]))
    n_features = int(stage.tested_features.max()) + 1 if stage.tested_features.shape[0] else 0
    features = np.array([node[0] for node in inner], dtype=np.intp)
    return {
        "leaf_value": leaf_value,
        "first": np.searchsorted(features, np.arange(n_features + 1)).astype(np.int32),
        "threshold": np.array([node[1] for node in inner], dtype=np.float64),
        "tree": np.array([node[2] for node in inner], dtype=np.int32),
        "mask": np.array([node[3] for node in inner], dtype=np.uint64),
        "missing_left": np.array([node[4] for node in inner], dtype=np.int8),
    }


def compiled_walk(inputs: list[tuple[TreeStage, np.ndarray]], repeats: int, workdir: Path,
                  compiler: str) -> dict[str, tuple[float, np.ndarray]]:
    """(best CPU seconds, scores) of each C walk over the same inputs: 'plain' and 'quickscorer'."""
    unique = list({id(stage): stage for stage, _ in inputs}.values())  # each stage once, in order of first use
    index = {id(stage): i for i, stage in enumerate(unique)}
    with open(workdir / "model.bin", "wb") as out:
        out.write(np.int32(len(unique)).tobytes())
        for stage in unique:
            out.write(np.array([stage.children.shape[0], stage.roots.shape[0]], dtype=np.int32).tobytes())
            out.write(np.float64(stage.baseline).tobytes())
            for array, dtype in ((stage.feature, np.int32), (stage.threshold, np.float64),
                                 (stage.missing_left, np.int8), (stage.children, np.int32),
                                 (stage.value, np.float64), (stage.roots, np.int32)):
                out.write(np.ascontiguousarray(array, dtype=dtype).tobytes())
    with open(workdir / "quick.bin", "wb") as out:
        for stage in unique:
            layout = quickscorer_layout(stage)
            leaf_value = layout["leaf_value"]
            out.write(np.array([leaf_value.shape[0], leaf_value.shape[1], layout["first"].shape[0] - 1,
                                layout["threshold"].shape[0]], dtype=np.int32).tobytes())
            for name in ("leaf_value", "first", "threshold", "tree", "mask", "missing_left"):
                out.write(np.ascontiguousarray(layout[name]).tobytes())
    with open(workdir / "jobs.bin", "wb") as out:
        out.write(np.int32(len(inputs)).tobytes())
        for stage, features in inputs:
            out.write(np.array([index[id(stage)], *features.shape], dtype=np.int32).tobytes())
            out.write(np.ascontiguousarray(features, dtype=np.float64).tobytes())
    (workdir / "walk.c").write_text(WALK_C)
    subprocess.run([compiler, "-O2", "-o", str(workdir / "walk"), str(workdir / "walk.c"), "-lm"], check=True)
    done = subprocess.run([str(workdir / "walk"), *(str(workdir / name) for name in
                                                    ("model.bin", "quick.bin", "jobs.bin", "plain.out", "quick.out")),
                           str(repeats)], check=True, capture_output=True, text=True)
    plain_seconds, quick_seconds = (float(field) for field in done.stdout.split())
    return {"plain": (plain_seconds, np.fromfile(workdir / "plain.out", dtype=np.float64)),
            "quickscorer": (quick_seconds, np.fromfile(workdir / "quick.out", dtype=np.float64))}


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
            walks = compiled_walk(inputs, repeats, Path(workdir), compiler)
        expected = np.concatenate(numpy_scores) if numpy_scores else np.zeros(0)
        for name, (seconds, scores) in walks.items():
            if scores.shape != expected.shape:
                raise SystemExit(f"the {name} C walk gave {scores.size} scores for {expected.size} rows")
            difference = float(np.max(np.abs(scores - expected))) if expected.size else 0.0
            if difference > SCORE_TOLERANCE:
                raise SystemExit(f"the {name} C walk's scores differ from numpy's (max difference {difference})")
            report[f"compiled_{name}_ms_per_page"] = 1000 * seconds / n
            report[f"numpy_vs_compiled_{name}"] = numpy_seconds / seconds if seconds else float("inf")
        report["compiled_plain_ns_per_node_step"] = 1e9 * walks["plain"][0] / max(1, report["node_steps_per_page"] * n)
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
    if "compiled_plain_ms_per_page" in report:
        print(f"  trees walked in C, node by node  {report['compiled_plain_ms_per_page']:6.2f} ms/page "
              f"({report['compiled_plain_ns_per_node_step']:.1f} ns a node step; numpy "
              f"{report['numpy_vs_compiled_plain']:.1f}x slower; same scores)")
        print(f"  trees walked in C, QuickScorer   {report['compiled_quickscorer_ms_per_page']:6.2f} ms/page "
              f"(numpy {report['numpy_vs_compiled_quickscorer']:.1f}x slower; same scores)")
    else:
        print(f"  trees walked in C: {report['compiled_walk']}")
    print(f"  trafilatura.extract of the HTML  {report['trafilatura_ms_per_page']:6.2f} ms/page: "
          f"{TARGET_RATIO}x its speed leaves {report['budget_ms_per_page_at_target']:.2f} ms/page for all of "
          "text cleaning")


if __name__ == "__main__":
    main()
