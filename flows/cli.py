"""The `boilerstrip` command: ingest captures, clean or explain one capture, inspect a dataset, score the cleaner.

Data goes to stdout, logs and errors to stderr. Exit codes: 0 success, 1 the run or capture
failed (a capture rejected by `clean`, an ingest whose accounting did not balance), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cleaners import CleanResult, Config, Pipeline, Rejection, cleaner_version, rules_version
from flows.sources import ReadLimits, discover, read_capture_file, read_list_file

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
    capture = read_capture_file(path, ReadLimits.of(cfg))
    if isinstance(capture, Rejection):
        return capture
    assert capture.data is not None
    return Pipeline(cfg).clean_bytes(capture.data, capture.content_kind, capture.charset, capture.url)


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
        # line_keys are the site table's working data (hashes), not part of what a user reads.
        fields = {k: v for k, v in asdict(result).items() if k != "line_keys"}
        json.dump(fields, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif args.explain:
        _print_explain(result)
    else:
        sys.stdout.write(result.text.strip() + "\n")
    return EXIT_OK


def _print_summary(summary_dict: dict[str, object], out: str, command: str = "ingest") -> None:
    from rich.console import Console
    from rich.table import Table

    from flows.summary import RunSummary

    s = RunSummary.from_dict(summary_dict)
    console = Console(file=sys.stdout, highlight=False, markup=False)
    table = Table(title=f"boilerstrip {command} → {out}", show_header=True)
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


def _sources(args: argparse.Namespace) -> list[str] | None:
    """The command's sources (arguments and --from-list), checked to exist; None after printing why not."""
    sources = list(args.source)
    if getattr(args, "from_list", None):
        sources += read_list_file(args.from_list)
    if not sources:
        print(f"boilerstrip {args.command}: no source given (name one, or --from-list FILE)", file=sys.stderr)
        return None
    try:
        discover(sources)  # fail fast, before starting Prefect, on a source that does not exist
    except (FileNotFoundError, ValueError) as err:
        print(f"boilerstrip {args.command}: {err}", file=sys.stderr)
        return None
    return sources


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[None]:
    """A progress bar on stderr (units committed, documents written) while a run goes, if enabled."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows import progress

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("units"),
                   TextColumn("{task.fields[documents]} documents"), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=False)
    task = bar.add_task("planning", total=None, documents=0)

    def follow(event: str, data: dict[str, Any]) -> None:
        if event == "planned":
            bar.update(task, description="cleaning", total=data["units"])
        elif event == "unit_done":
            done = bar.tasks[0].fields["documents"] + data["documents"]
            bar.update(task, advance=1, documents=done)

    with bar, progress.listening(follow):
        yield


def _cmd_ingest(args: argparse.Namespace) -> int:
    sources = _sources(args)
    if sources is None:
        return EXIT_USAGE
    _quiet_prefect_defaults()
    try:
        with _progress_bar(args.progress if args.progress is not None else sys.stderr.isatty()):
            if args.command == "backfill":
                from flows.backfill import backfill

                summary = backfill(sources, str(args.out), args.batch_size, args.workers, args.dask_address).to_dict()
            else:
                from flows.ingest import ingest_flow

                summary = ingest_flow(sources, str(args.out), args.batch_size, None)
    except Exception as err:
        print(f"boilerstrip {args.command}: failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(summary, str(args.out), args.command)
    return EXIT_OK if summary.get("balanced") else EXIT_FAILED


def _cmd_serve(args: argparse.Namespace) -> int:
    sources = _sources(args)
    if sources is None:
        return EXIT_USAGE
    _quiet_prefect_defaults()
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        print("boilerstrip serve: schedules need a Prefect server: start one (prefect server start) and set "
              "PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)", file=sys.stderr)
        return EXIT_USAGE
    from flows.schedule import serve_ingest

    print(f"boilerstrip serve: deployment boilerstrip-ingest/{args.name}, cron '{args.cron}', "
          f"{', '.join(sources)} → {args.out}; Ctrl-C stops", file=sys.stderr)
    serve_ingest(sources, str(args.out), args.name, args.cron, args.batch_size)
    return EXIT_OK


def _cmd_eval(args: argparse.Namespace) -> int:
    from flows.evaluate import evaluate_folder, write_per_page

    if not Path(args.folder).is_dir():
        print(f"boilerstrip eval: not a folder: {args.folder}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = evaluate_folder(args.folder, args.input, baselines=args.baselines)
    except (ValueError, FileNotFoundError) as err:
        print(f"boilerstrip eval: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.per_page:
        write_per_page(report, args.per_page)
    if report.pages_in_training:
        print(f"boilerstrip eval: note: {report.pages_in_training} of these {len(report.pages)} pages trained the "
              "shipped line model, so these text figures are in-sample; the cross-validated ones come from "
              "`python -m bench.train_line_classifier FOLDER --no-write`", file=sys.stderr)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    out = sys.stdout
    out.write(f"{'':18}{'precision':>10}{'recall':>10}{'F1':>10}{'accuracy':>10}{'emptied':>9}  pages\n")
    rows = [("boilerstrip", report.ours), ("keep everything", report.keep_everything),
            *report.baselines.items()]
    for name, fig in rows:
        out.write(f"{name:18}{fig.precision:10.4f}{fig.recall:10.4f}{fig.f1:10.4f}{fig.accuracy:10.4f}"
                  f"{fig.empty_predictions:9d}  {fig.pages}\n")
    flagged = sum(p.flagged for p in report.pages)
    rejected = sum(p.rejected is not None for p in report.pages)
    out.write(f"\nflagged by the over-deletion guard: {flagged}; rejected: {rejected}\n")
    out.write("removals by category: " + ", ".join(
        f"{k} {v}" for k, v in report.removals_by_category.most_common()) + "\n")
    out.write("cleaned by: " + ", ".join(f"{k} {v}" for k, v in report.cleaned_by.items()) + "\n")
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    from cleaners.explain import render_html
    from flows.explanation import DocumentNotFound, explain, is_dataset, print_text_report

    target = Path(args.target)
    if not target.exists():
        print(f"boilerstrip explain: no such file or folder: {target}", file=sys.stderr)
        return EXIT_USAGE
    if target.is_dir() and not is_dataset(target):
        print(f"boilerstrip explain: not a capture file nor a dataset folder: {target}", file=sys.stderr)
        return EXIT_USAGE
    if target.is_dir() and args.id is None:
        print(f"boilerstrip explain: {target} is a dataset: say which document with --id ID", file=sys.stderr)
        return EXIT_USAGE
    if args.id is not None and not args.id.strip():
        print("boilerstrip explain: --id needs an id (or a prefix of one)", file=sys.stderr)
        return EXIT_USAGE
    if target.is_file() and args.id is not None:
        print("boilerstrip explain: --id picks a row of a dataset folder, not of a capture file", file=sys.stderr)
        return EXIT_USAGE
    try:
        explanation = explain(target, args.id)
    except DocumentNotFound as err:
        print(f"boilerstrip explain: {err}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as err:  # a stored row whose removals do not fit its text
        print(f"boilerstrip explain: cannot explain this row: {err}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(explanation, Rejection):
        print(f"boilerstrip explain: rejected ({explanation.reason}): {explanation.detail}", file=sys.stderr)
        return EXIT_FAILED
    if args.html is not None:
        page = render_html(explanation)
        if args.html == "-":
            sys.stdout.write(page)
        else:
            try:
                Path(args.html).write_text(page, encoding="utf-8")
            except OSError as err:
                print(f"boilerstrip explain: cannot write {args.html}: {err}", file=sys.stderr)
                return EXIT_FAILED
            print(f"boilerstrip explain: wrote {args.html}", file=sys.stderr)
    if args.format == "html":
        sys.stdout.write(render_html(explanation))
    elif args.format == "text" or args.html is None:
        print_text_report(explanation)
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from flows.inspection import NotADataset, inspect_dataset, print_description

    if not Path(args.dataset).is_dir():
        print(f"boilerstrip inspect: no such folder: {args.dataset}", file=sys.stderr)
        return EXIT_USAGE
    try:
        description = inspect_dataset(args.dataset, top=args.top)
    except NotADataset as err:
        print(f"boilerstrip inspect: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        json.dump(description.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_description(description)
    return EXIT_OK


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `ingest` and `backfill` share: sources, output, unit size, output format, progress."""
    parser.add_argument("source", nargs="*", help="capture files, folders, globs or fsspec URLs")
    parser.add_argument("--from-list", metavar="FILE", help="also read sources from FILE, one per line")
    parser.add_argument("--out", default="output", help="dataset folder or fsspec URL (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="captures per unit of work and per part file (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the run summary as JSON")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", action="store_true", default=None,
                       help="show a progress bar on stderr (the default when stderr is a terminal)")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `boilerstrip` command."""
    parser = argparse.ArgumentParser(
        prog="boilerstrip",
        description="Turn raw web captures into clean article text; record every removal and why.",
    )
    parser.add_argument("--version", action="version", version=f"boilerstrip {cleaner_version()} ({rules_version()})")
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
    _add_run_arguments(ingest)
    ingest.set_defaults(func=_cmd_ingest)

    backfill = sub.add_parser(
        "backfill",
        help="ingest a large archive: units in parallel on Dask, resumable after a crash",
        description="Run the backfill flow: like ingest, but the units of work (--batch-size loose captures, or "
        "one WARC/WET file) are cleaned in parallel on Dask: a local cluster of --workers processes, or the "
        "existing cluster at --dask-address (tcp://scheduler:8786) for runs over several machines. Each unit "
        "commits atomically; run the same command again after a crash and it resumes from the units not yet "
        "committed. The run summary goes to stdout.",
    )
    _add_run_arguments(backfill)
    backfill.add_argument("--workers", type=int, default=2,
                          help="worker processes of the local Dask cluster (default: %(default)s)")
    backfill.add_argument("--dask-address", metavar="ADDRESS",
                          help="use the existing Dask cluster whose scheduler is at ADDRESS instead")
    backfill.set_defaults(func=_cmd_ingest)

    serve = sub.add_parser(
        "serve",
        help="run the ingest of a landing folder on a cron schedule (a Prefect deployment)",
        description="Register a deployment of the ingest flow over SOURCE with a cron schedule on the Prefect "
        "server at PREFECT_API_URL, then run its scheduled (and manually triggered) runs until stopped. Each "
        "run ingests only the captures that arrived since the last one.",
    )
    serve.add_argument("source", nargs="*", help="the landing folder(s), globs or fsspec URLs")
    serve.add_argument("--out", default="output", help="dataset folder or fsspec URL (default: %(default)s)")
    serve.add_argument("--cron", default="*/15 * * * *",
                       help="when to run, a cron expression in UTC (default: '%(default)s')")
    serve.add_argument("--name", default="landing", help="deployment name (default: %(default)s)")
    serve.add_argument("--batch-size", type=int, default=1000, help="captures per unit of work (default: %(default)s)")
    serve.set_defaults(func=_cmd_serve)

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
                              "article-extraction benchmark's metric, beside the keep-everything baseline (and, with "
                              "--baselines, beside the field's extractors on the same pages).")
    evaluate.add_argument("folder", help="folder of <id>.page.txt + <id>.gold.txt pages")
    evaluate.add_argument("--input", choices=["text", "html"], default="text",
                          help="which capture of each page to clean: the page dump (text, default) or the raw HTML")
    evaluate.add_argument("--per-page", metavar="FILE", help="also write a per-page TSV, worst F1 first")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.add_argument("--baselines", action="store_true",
                          help="also score the field's extractors on the same pages with the same metric: "
                          "trafilatura and jusText (text: the dump's lines as <p>), and readability-lxml (html)")
    evaluate.set_defaults(func=_cmd_eval)

    explain = sub.add_parser(
        "explain",
        help="show what cleaning kept and cut in one capture, and why",
        description="Show one capture with every removed span marked by category and rule: "
        "as text for a terminal (colours on a TTY, [-cut-]{rule} marks otherwise) or as a "
        "self-contained HTML page. CAPTURE is cleaned afresh; a DATASET folder needs --id, and the "
        "row is explained from its stored removals (no capture file needed).",
    )
    explain.add_argument("target", metavar="CAPTURE|DATASET", help="a text or HTML capture file, or a dataset folder")
    explain.add_argument("--id", help="with a dataset: the document id (or a unique prefix of it)")
    explain.add_argument(
        "--html", metavar="FILE", help="write the HTML report to FILE ('-' for stdout); stdout then stays quiet"
    )
    explain.add_argument(
        "--format",
        choices=("text", "html"),
        help="what to print on stdout (default: text, or nothing when --html writes a file)",
    )
    explain.set_defaults(func=_cmd_explain)

    inspect = sub.add_parser(
        "inspect",
        help="describe a dataset: rows, sites, languages, dates, size, removals, rejects, schema",
        description="Describe a boilerstrip dataset without loading it: rows, sites, languages, "
        "date range, size, removals by category and rule, rejects by reason, and the schema.",
    )
    inspect.add_argument("dataset", help="a dataset folder (the --out of ingest)")
    inspect.add_argument("--json", action="store_true", help="print the description as JSON")
    inspect.add_argument("--top", type=int, default=10, help="how many sites to list (default: %(default)s)")
    inspect.set_defaults(func=_cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `boilerstrip` console script."""
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        print("boilerstrip: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "workers", 1) < 1:
        print("boilerstrip: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "top", 1) < 1:
        print("boilerstrip: --top must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (`… | head`): stop quietly, and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
