"""Archive benchmarks: streaming memory, WARC reading overhead, warcio vs fastwarc.

    python3 -m uv run python -m bench.archives [--records 1000 10000] [--pages 150]

1. Memory: a generated WET archive of N text records (the dev page dumps, made unique) is ingested
   by the real unit code (read → clean → bounded part writer → commit) in a fresh process per N;
   peak RSS is reported per N, and the ratio between the largest and smallest N.
2. Overhead: the same HTML pages are cleaned from loose .html files and from one .warc.gz, in the
   same process, alternating, best of 3; the ratio is WARC time / loose time.
3. Readers: iterate every record of the largest archive and read its payload with warcio and with
   fastwarc; records/s for both.
Ratios are measured within one run, so a noisy shared machine moves both sides alike.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL_DEV = ROOT.parent / "shared" / "eval" / "dev"


def _run_info(rows_per_part: int) -> dict[str, Any]:
    from cleaners import Config, rules_version

    config = Config()
    return {"ingested_at": datetime.now(UTC), "flow_run_id": None, "rules_version": rules_version(),
            "config_hash": config.config_hash(), "config_json": config.to_json(), "config": {},
            "rows_per_part": rows_per_part}


def ingest_once(sources: list[str], out: str, rows_per_part: int = 1000) -> dict[str, Any]:
    """Plan and clean every unit without Prefect; return counts and seconds."""
    from flows.ingest import clean_unit, plan_units
    from flows.summary import RunSummary

    start = time.perf_counter()
    plan = plan_units(sources, out, 1000)
    summary = RunSummary()
    for unit in plan["units"]:
        summary.merge(clean_unit(unit, out, _run_info(rows_per_part)))
    return {"seconds": time.perf_counter() - start, "documents": summary.documents,
            "captures": summary.captures_seen, "balanced": summary.balanced()}


def write_wet(path: Path, n: int) -> None:
    """N unique text records made from the dev page dumps (a counter line keeps every record distinct)."""
    from warcio.warcwriter import WARCWriter

    dumps = [p.read_bytes() for p in sorted(EVAL_DEV.glob("*.page.txt"))]
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i in range(n):
            body = dumps[i % len(dumps)] + f"\n\nRecord {i} of the benchmark archive.\n".encode()
            writer.write_record(writer.create_warc_record(f"https://bench.example/{i}", "conversion",
                                                          payload=io.BytesIO(body), warc_content_type="text/plain"))


def memory_child(n: int) -> None:
    """Child process: build an N-record archive, ingest it, print peak RSS as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        wet = Path(tmp) / f"bench-{n}.wet.gz"
        write_wet(wet, n)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = ingest_once([str(wet)], str(Path(tmp) / "out"))
        result.update(records=n, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      rss_before_ingest_mb=base_rss / 1024, archive_mb=wet.stat().st_size / 2**20)
        print(json.dumps(result))


def bench_memory(sizes: list[int]) -> list[dict[str, Any]]:
    """Peak RSS of ingesting archives of each size, each in a fresh process."""
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-m", "bench.archives", "--memory-child", str(n)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def bench_overhead(n_pages: int) -> dict[str, Any]:
    """Clean the same HTML pages from loose files and from a WARC, alternating, best of 3."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = [p.read_bytes() for p in sorted(EVAL_DEV.glob("*.html"))][:n_pages]
    with tempfile.TemporaryDirectory() as tmp:
        loose = Path(tmp) / "loose"
        loose.mkdir()
        for i, page in enumerate(pages):
            (loose / f"{i:05d}.html").write_bytes(page)
        warc = Path(tmp) / "pages.warc.gz"
        with warc.open("wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for i, page in enumerate(pages):
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(f"https://bench.example/{i}", "response",
                                                              payload=io.BytesIO(page), http_headers=http))
        times: dict[str, list[float]] = {"loose": [], "warc": []}
        for round_ in range(3):
            for name, source in (("loose", loose), ("warc", warc)):
                result = ingest_once([str(source)], str(Path(tmp) / f"out-{name}-{round_}"))
                assert result["documents"] == len(pages), result
                times[name].append(result["seconds"])
    best = {k: min(v) for k, v in times.items()}
    return {"pages": len(pages), "loose_s": best["loose"], "warc_s": best["warc"],
            "loose_pages_per_s": len(pages) / best["loose"], "warc_pages_per_s": len(pages) / best["warc"],
            "warc_over_loose": best["warc"] / best["loose"]}


def bench_readers(n: int) -> dict[str, Any]:
    """Records/s reading every record and payload of an N-record archive: warcio vs fastwarc."""
    from fastwarc.warc import ArchiveIterator as FastIterator
    from warcio.archiveiterator import ArchiveIterator

    with tempfile.TemporaryDirectory() as tmp:
        wet = Path(tmp) / "r.wet.gz"
        write_wet(wet, n)
        results: dict[str, float] = {}
        for _ in range(2):
            start = time.perf_counter()
            with wet.open("rb") as fh:
                count = sum(1 for r in ArchiveIterator(fh) if r.content_stream().read() is not None)
            results["warcio"] = min(results.get("warcio", 1e9), time.perf_counter() - start)
            start = time.perf_counter()
            with wet.open("rb") as fh:
                fast = sum(1 for r in FastIterator(fh, parse_http=False) if r.reader.read() is not None)
            results["fastwarc"] = min(results.get("fastwarc", 1e9), time.perf_counter() - start)
        assert count == fast == n, (count, fast)
        return {"records": n, "warcio_records_per_s": n / results["warcio"],
                "fastwarc_records_per_s": n / results["fastwarc"],
                "fastwarc_over_warcio_speed": results["warcio"] / results["fastwarc"]}


def main() -> None:
    """Run the three archive benchmarks and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--pages", type=int, default=126, help="HTML pages for the overhead benchmark")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    memory = bench_memory(sorted(args.records))
    overhead = bench_overhead(args.pages)
    readers = bench_readers(max(args.records))
    report = {"memory": memory, "peak_rss_ratio": memory[-1]["peak_rss_mb"] / memory[0]["peak_rss_mb"],
              "overhead": overhead, "readers": readers}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("1. streaming memory (WET, text records, fresh process each)")
    print(f"{'records':>8} {'archive MB':>10} {'docs':>6} {'seconds':>8} {'docs/s':>7} {'peak RSS MB':>11}")
    for row in memory:
        print(f"{row['records']:>8} {row['archive_mb']:>10.1f} {row['documents']:>6} {row['seconds']:>8.1f} "
              f"{row['documents'] / row['seconds']:>7.0f} {row['peak_rss_mb']:>11.0f}")
    print(f"peak RSS ratio {memory[-1]['records']} vs {memory[0]['records']} records: {report['peak_rss_ratio']:.3f}")
    print(f"\n2. reading overhead ({overhead['pages']} HTML pages, best of 3, same process)")
    print(f"loose .html: {overhead['loose_pages_per_s']:.1f} pages/s; .warc.gz: {overhead['warc_pages_per_s']:.1f} "
          f"pages/s; WARC/loose time ratio {overhead['warc_over_loose']:.3f}")
    print(f"\n3. readers ({readers['records']} records): warcio {readers['warcio_records_per_s']:.0f} rec/s, "
          f"fastwarc {readers['fastwarc_records_per_s']:.0f} rec/s ({readers['fastwarc_over_warcio_speed']:.1f}x)")


if __name__ == "__main__":
    main()
