"""The `boilerstrip` command: ingest captures into a dataset, clean one capture, or score the cleaner.

Data goes to stdout, logs and errors to stderr. Exit codes: 0 success, 1 the run or capture
failed (a capture rejected by `clean`, an ingest whose accounting did not balance), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from cleaners import CleanResult, Config, Pipeline, Rejection, __version__, rules_version
from flows.sources import ARCHIVE_KINDS, Capture, discover, iter_captures, read_list_file

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _quiet_prefect_defaults() -> None:
    # Offline machines: telemetry calls only fail; turn them off unless the user chose otherwise.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The embedded server's first start creates its database; on a busy 2-core machine that can
    # take longer than Prefect's 20 s default, which would fail the very first run.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def clean_file(path: str | Path, config: Config | None = None) -> CleanResult | Rejection:
    """Python API of `boilerstrip clean`: read one loose capture file (text or HTML) and clean it."""
    cfg = config or Config()
    discovery = discover([str(path)])
    if not discovery.files or discovery.files[0].kind in ARCHIVE_KINDS:
        return Rejection("unsupported_format", f"not a loose text or HTML capture: {Path(path).name}")
    capture = next(iter(iter_captures(discovery.files[0], cfg.max_capture_bytes)))
    assert isinstance(capture, Capture)
    if capture.rejection is not None:
        return capture.rejection
    assert capture.data is not None
    pipeline = Pipeline(cfg)
    if capture.content_kind == "html":
        return pipeline.clean_html(capture.data, None, capture.url)
    return pipeline.clean_capture(capture.data)


def _print_explain(result: CleanResult) -> None:
    out = sys.stdout
    out.write(f"title:       {result.title or '-'}\n")
    out.write(f"site_name:   {result.site_name or '-'}\n")
    out.write(f"description: {result.description or '-'}\n")
    out.write(f"language:    {result.language or '-'}\n")
    out.write(f"flags:       {', '.join(result.flags) or '-'}\n")
    out.write(
        f"removed:     {len(result.removed)} spans, "
        f"{sum(len(r.text) for r in result.removed)} of {result.n_chars_raw} characters\n\n"
    )
    for r in result.removed:
        text = " ".join(r.text.split())
        out.write(f"[{r.start}:{r.end}] {r.category} ({r.rule})\n    {text}\n")


def _cmd_clean(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"boilerstrip clean: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    result = clean_file(path)
    if isinstance(result, Rejection):
        print(f"boilerstrip clean: rejected ({result.reason}): {result.detail}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        json.dump(asdict(result), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.explain:
        _print_explain(result)
    else:
        sys.stdout.write(result.text.strip() + "\n")
    return EXIT_OK


def _print_summary(summary_dict: dict[str, object], out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from flows.summary import RunSummary

    s = RunSummary.from_dict(summary_dict)
    console = Console(file=sys.stdout, highlight=False)
    table = Table(title=f"boilerstrip ingest → {out}", show_header=True)
    for col in ("captures seen", "documents", "rejected", "duplicates", "skipped", "already ingested", "flagged"):
        table.add_column(col, justify="right")
    table.add_row(
        *(
            str(v)
            for v in (
                s.captures_seen,
                s.documents,
                s.rejected_total,
                s.duplicates,
                s.skipped_total,
                s.already_ingested,
                s.flagged_overdeletion,
            )
        )
    )
    console.print(table)
    for heading, counter in (
        ("rejects by reason", s.rejected),
        ("records skipped by reason", s.skipped),
        ("removals by category", s.removals_by_category),
        ("removals by rule", s.removals_by_rule),
    ):
        if counter:
            sub = Table(title=heading, show_header=False)
            sub.add_column(heading.split()[-1])
            sub.add_column("count", justify="right")
            for key, count in counter.most_common():
                sub.add_row(key, str(count))
            console.print(sub)
    console.print(
        f"accounting: {s.accounted_for}/{s.captures_seen} captures have a recorded fate "
        f"({'balanced' if s.balanced() else 'NOT BALANCED'})"
    )


def _cmd_ingest(args: argparse.Namespace) -> int:
    sources = list(args.source)
    if args.from_list:
        sources += read_list_file(args.from_list)
    if not sources:
        print("boilerstrip ingest: no source given (name one, or --from-list FILE)", file=sys.stderr)
        return EXIT_USAGE
    try:
        discover(sources)  # fail fast, before starting Prefect, on a source that does not exist
    except (FileNotFoundError, ValueError) as err:
        print(f"boilerstrip ingest: {err}", file=sys.stderr)
        return EXIT_USAGE
    _quiet_prefect_defaults()
    from flows.ingest import ingest_flow

    try:
        summary = ingest_flow(sources, str(args.out), args.batch_size, None)
    except Exception as err:
        print(f"boilerstrip ingest: failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(summary, str(args.out))
    return EXIT_OK if summary.get("balanced") else EXIT_FAILED


def _cmd_eval(args: argparse.Namespace) -> int:
    from flows.evaluate import evaluate_folder, write_per_page

    if not Path(args.folder).is_dir():
        print(f"boilerstrip eval: not a folder: {args.folder}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = evaluate_folder(args.folder, args.input)
    except (ValueError, FileNotFoundError) as err:
        print(f"boilerstrip eval: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.per_page:
        write_per_page(report, args.per_page)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    out = sys.stdout
    out.write(f"{'':18}{'precision':>10}{'recall':>10}{'F1':>10}{'accuracy':>10}{'emptied':>9}  pages\n")
    for name, fig in (("boilerstrip", report.ours), ("keep everything", report.keep_everything)):
        out.write(f"{name:18}{fig.precision:10.4f}{fig.recall:10.4f}{fig.f1:10.4f}{fig.accuracy:10.4f}"
                  f"{fig.empty_predictions:9d}  {fig.pages}\n")
    flagged = sum(p.flagged for p in report.pages)
    rejected = sum(p.rejected is not None for p in report.pages)
    out.write(f"\nflagged by the over-deletion guard: {flagged}; rejected: {rejected}\n")
    out.write("removals by category: " + ", ".join(
        f"{k} {v}" for k, v in report.removals_by_category.most_common()) + "\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `boilerstrip` command."""
    parser = argparse.ArgumentParser(
        prog="boilerstrip",
        description="Turn raw web captures into clean article text; record every removal and why.",
    )
    parser.add_argument("--version", action="version", version=f"boilerstrip {__version__} ({rules_version()})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser(
        "ingest",
        help="clean every capture under SOURCE into a Parquet dataset",
        description="Run the ingest flow: clean every new capture under the SOURCEs into the dataset at --out. "
        "A SOURCE is a capture file, a folder (searched recursively), a glob, or an fsspec URL "
        "(s3://bucket/prefix/, file://...). Captures are .txt and .html files (optionally .gz) and WARC/WET "
        "archives (.warc, .warc.gz, .wet, .wet.gz). Source files already in the dataset are skipped; the run "
        "summary goes to stdout.",
    )
    ingest.add_argument("source", nargs="*", help="capture files, folders, globs or fsspec URLs")
    ingest.add_argument("--from-list", metavar="FILE", help="also read sources from FILE, one per line")
    ingest.add_argument("--out", default="output", help="dataset folder or fsspec URL (default: %(default)s)")
    ingest.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        help="captures per unit of work and per part file (default: %(default)s)",
    )
    ingest.add_argument("--json", action="store_true", help="print the run summary as JSON")
    ingest.set_defaults(func=_cmd_ingest)

    clean = sub.add_parser(
        "clean",
        help="clean one capture and print the kept text",
        description="Clean one capture file and print the kept text to stdout.",
    )
    clean.add_argument("file", help="a text or HTML capture (.txt, .html, optionally .gz)")
    mode = clean.add_mutually_exclusive_group()
    mode.add_argument(
        "--explain", action="store_true", help="list title, site name and every removal (category, rule, text) instead"
    )
    mode.add_argument("--json", action="store_true", help="print the whole result as JSON")
    clean.set_defaults(func=_cmd_clean)

    evaluate = sub.add_parser("eval", help="score the cleaner on a folder of labelled pages",
                              description="Clean every labelled page of FOLDER (laid out like shared/eval/dev: "
                              "<id>.page.txt, <id>.html and <id>.gold.txt) and print precision, recall and F1 with the "
                              "article-extraction benchmark's metric, beside the keep-everything baseline.")
    evaluate.add_argument("folder", help="folder of <id>.page.txt + <id>.gold.txt pages")
    evaluate.add_argument("--input", choices=["text", "html"], default="text",
                          help="which capture of each page to clean: the page dump (text, default) or the raw HTML")
    evaluate.add_argument("--per-page", metavar="FILE", help="also write a per-page TSV, worst F1 first")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(func=_cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `boilerstrip` console script."""
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        print("boilerstrip: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
