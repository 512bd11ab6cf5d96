"""Scale benchmark: the bare cleaning loop vs the ingest flow vs the backfill on Dask (1 and 2 workers).

    python3 -m uv run python -m bench.scale [--captures 10000] [--memory-captures 100000] [--per-archive 1000]

A corpus of N unique captures (bench/corpus.py: the dev page dumps multiplied, as WET archives of
--per-archive records, one unit of work each) is processed, each mode in a fresh process:
  a  bare    read + clean every capture in a plain loop, learning each site's repeated lines as the
             flows do: no Prefect, no worker process, no Parquet
  b  ingest  the ingest flow, default task runner (one task per unit, one after the other)
  c1 dask-1  the backfill flow on a local Dask cluster of 1 worker
  c2 dask-2  the same with 2 workers
docs/s is documents over the wall time of the run itself (imports excluded; flow runs, cluster
start and commits included). Peak RSS is sampled every 0.1 s over the child's whole process tree
(the Dask workers included), summed; pages shared between processes count once per process in that
sum, so the tree's PSS (each shared page split between its sharers) is sampled too, every 0.5 s.
The child's own peak (ru_maxrss) is shown beside them, and a digest of the cleaned texts:
(a) and (b) must agree (the flow did the same cleaning); the Dask units learn sites apart, so (c) may not. One
Prefect server is started for the whole benchmark and shared by the flows, as a deployment would.
With --memory-captures, the backfill with 2 workers also runs on that many captures, for the
memory ratio. Ratios are measured within one run, so a noisy shared machine moves all sides alike.
With --repeat R, the modes run in R rounds (a b c1 c2, a b c1 c2, ...) and each ratio takes each
mode's fastest round: a burst of load from another tenant slows one round, not the machine's
capacity, and the modes that use both cores (b, c2) are the ones it slows most. Every round is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = {"a": "bare loop", "b": "ingest flow", "c1": "backfill dask 1w", "c2": "backfill dask 2w"}


def run_mode(mode: str, corpus: str, out: str, per_archive: int) -> dict[str, Any]:
    """In this (child) process: run one mode over the corpus; return documents, seconds and own peak RSS."""
    if mode == "a":
        from cleaners import CleanResult, Config, Pipeline
        from cleaners.pipeline import SiteContext
        from cleaners.site_repeated import SiteLearner, SiteLineCounts, page_key, site_of
        from flows.sources import Capture, ReadLimits, discover, iter_captures

        config = Config()
        pipeline = Pipeline(config)
        # The flows learn each site's repeated lines as captures stream by, and remove them: the
        # bare loop does the same cleaning, so that both sides produce the same texts.
        sites = SiteLearner(SiteLineCounts(), config.site_repeated_min_captures)
        digests = []
        start = time.perf_counter()
        for file in discover([corpus]).files:
            for item in iter_captures(file, ReadLimits.of(config)):
                if isinstance(item, Capture) and item.data is not None:
                    site = site_of(item.url)
                    context = SiteContext(site, sites.known_lines(site)) if site else None
                    result = pipeline.clean_bytes(item.data, item.content_kind, item.charset, item.url, context)
                    if isinstance(result, CleanResult):
                        digests.append(text_digest(result.text))
                        if site and item.url:
                            sites.learn(site, page_key(item.url), result.line_keys)
        seconds = time.perf_counter() - start
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        documents = len(digests)
    else:
        import pyarrow.parquet as pq

        from flows.backfill import backfill
        from flows.ingest import ingest_flow

        start = time.perf_counter()
        if mode == "b":
            documents = ingest_flow(corpus, out, per_archive)["documents"]
        else:
            documents = backfill(corpus, out, per_archive, workers=int(mode[1:])).documents
        seconds = time.perf_counter() - start
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        digests = [text_digest(text) for part in sorted((Path(out) / "documents").rglob("*.parquet"))
                   for batch in pq.ParquetFile(part).iter_batches(batch_size=500, columns=["text"])
                   for text in batch.column(0).to_pylist()]
    return {"documents": documents, "seconds": seconds,
            "own_peak_rss_mb": own_peak,
            "texts_digest": hashlib.sha256(b"".join(sorted(digests))).hexdigest()[:16]}


def text_digest(text: str) -> bytes:
    """One cleaned text's digest; the sorted digests of a run say whether two runs gave the same texts."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def measure(mode: str, corpus: Path, per_archive: int, env: dict[str, str]) -> dict[str, Any]:
    """Run a mode in a fresh process, sampling its process tree's RSS; return its figures."""
    import psutil

    with tempfile.TemporaryDirectory(dir=corpus.parent) as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.scale", "--child", mode, str(corpus), out,
                                 str(per_archive)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        root = psutil.Process(proc.pid)
        peak = peak_pss = 0
        samples = 0
        tree = [root]
        while proc.poll() is None:
            # The sampler must not take CPU from the modes that use both cores (c2): the tree is listed
            # (a scan of /proc) once a second, RSS read every 0.2 s, PSS (every page map) every 2 s.
            # Sampling every 0.1 s with PSS every 0.5 s took about 15 % of a core.
            try:
                if samples % 5 == 0:
                    tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
                if samples % 10 == 0:
                    peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            samples += 1
            time.sleep(0.2)
        stdout = proc.stdout.read() if proc.stdout else ""
        if proc.returncode != 0:
            raise RuntimeError(f"mode {mode} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result.update(mode=mode, peak_rss_tree_mb=peak / 2**20, peak_pss_tree_mb=peak_pss / 2**20,
                  docs_per_s=result["documents"] / result["seconds"])
    return result


def main() -> None:
    """Generate the corpora, run every mode, print the table and the target ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=10000)
    parser.add_argument("--memory-captures", type=int, default=0, help="also run c2 on this many captures")
    parser.add_argument("--per-archive", type=int, default=1000, help="captures per WET file = per unit")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the modes; ratios take each mode's fastest")
    parser.add_argument("--workdir", default=None, help="where to write the corpora (default: a temporary folder)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.child:
        mode, corpus, out, per_archive = args.child
        print(json.dumps(run_mode(mode, corpus, out, int(per_archive))))
        return

    os.environ.setdefault("DO_NOT_TRACK", "1")  # offline: telemetry calls only fail
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.server.api.server import SubprocessASGIServer

    from bench.corpus import write_wet

    server = SubprocessASGIServer()
    server.start(timeout=120)
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        corpus = Path(work) / f"corpus-{args.captures}"
        write_wet(corpus, args.captures, args.per_archive)
        for round_number in range(1, args.repeat + 1):
            for mode in args.modes:
                rows.append({**measure(mode, corpus, args.per_archive, env), "captures": args.captures,
                             "round": round_number})
                print(_row(rows[-1]), file=sys.stderr, flush=True)
        if args.memory_captures:
            big = Path(work) / f"corpus-{args.memory_captures}"
            write_wet(big, args.memory_captures, args.per_archive)
            rows.append({**measure("c2", big, args.per_archive, env), "captures": args.memory_captures, "round": 1})
            print(_row(rows[-1]), file=sys.stderr, flush=True)
    server.stop()
    by: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:  # each mode's fastest round
        key = (row["mode"], row["captures"])
        if key not in by or row["seconds"] < by[key]["seconds"]:
            by[key] = row
    n = args.captures
    ratios: dict[str, float] = {}
    if ("a", n) in by and ("b", n) in by:
        ratios["flow_overhead_b_over_a_time"] = by[("b", n)]["seconds"] / by[("a", n)]["seconds"]
        # The flow must do the bare loop's work, no less: the same texts, site removals included.
        ratios["b_same_texts_as_a"] = float(len({r["texts_digest"] for r in rows if r["mode"] in ("a", "b")}) == 1)
    if ("c1", n) in by and ("c2", n) in by:
        ratios["scale_out_c2_over_c1_speed"] = by[("c2", n)]["docs_per_s"] / by[("c1", n)]["docs_per_s"]
    if args.memory_captures and ("c2", n) in by:
        big_row = by[("c2", args.memory_captures)]
        # Against the smallest of the rounds' peaks at N, so that repeating the rounds never lowers the ratio.
        small_rss = min(r["peak_rss_tree_mb"] for r in rows if (r["mode"], r["captures"]) == ("c2", n))
        ratios["memory_c2_big_over_small_rss"] = big_row["peak_rss_tree_mb"] / small_rss
    if args.json:
        print(json.dumps({"rows": rows, "ratios": ratios}, indent=2))
        return
    print(f"{'mode':<20}{'round':>6}{'captures':>9}{'docs':>8}{'seconds':>9}{'docs/s':>8}{'RSS tree MB':>12}"
          f"{'PSS tree MB':>12}{'own RSS MB':>11}  texts")
    for row in rows:
        print(_row(row))
    for name, value in ratios.items():
        print(f"{name}: {value:.3f}")


def _row(row: dict[str, Any]) -> str:
    return (f"{row['mode'] + ' ' + MODES[row['mode']]:<20}{row['round']:>6}{row['captures']:>9}{row['documents']:>8}"
            f"{row['seconds']:>9.1f}{row['docs_per_s']:>8.1f}{row['peak_rss_tree_mb']:>12.0f}"
            f"{row['peak_pss_tree_mb']:>12.0f}{row['own_peak_rss_mb']:>11.0f}  {row['texts_digest']}")


if __name__ == "__main__":
    main()
