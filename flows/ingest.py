"""The ingest flow: discover source files → plan units → clean each unit in one task → commit → summarise.

Tasks take and return paths and small summaries, never document bodies; one task cleans a whole
unit (a batch of loose captures, or one archive) with a plain loop, since a Prefect task run costs
far more than cleaning a document.
"""

from __future__ import annotations

import hashlib
import time
from collections import ChainMap
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from cleaners import CleanResult, Config, Rejection, Removal, cleaner_version, rules_version
from cleaners.pipeline import OVERDELETION_FLAG
from cleaners.site_repeated import SiteLearner, page_key, site_of
from flows import progress
from flows.dataset import CaptureFate, Dataset, UnitRecord, UnitWriter
from flows.isolation import BATCH_BYTES, BATCH_CAPTURES, CleanRequest, borrowed_cleaner
from flows.sources import (
    ARCHIVE_KINDS,
    Capture,
    Damaged,
    ReadLimits,
    SourceFile,
    capture_id,
    discover,
    iter_captures,
)
from flows.summary import RunSummary

DEFAULT_BATCH_SIZE = 1000


def unit_name(files: list[SourceFile]) -> str:
    """Deterministic name of a unit of work, from the source files (and their versions) it holds."""
    digest = hashlib.sha256()
    for uri, fingerprint in sorted((f.uri, f.fingerprint) for f in files):
        digest.update(f"{uri}\0{fingerprint}\n".encode())
    return digest.hexdigest()[:20]


def plan_units(sources: list[str], out: str, batch_size: int) -> dict[str, Any]:
    """Source files not yet committed, grouped into units: loose captures by batch_size, one unit per archive."""
    dataset = Dataset(out).open()
    discovery = discover(sources)
    committed = dataset.committed_source_files()
    already = 0
    loose: list[SourceFile] = []
    units: list[list[SourceFile]] = []
    for file in discovery.files:
        key = (file.uri, file.fingerprint)
        if key in committed:
            already += committed[key]
        elif file.kind in ARCHIVE_KINDS:
            units.append([file])
        else:
            loose.append(file)
    units += [loose[i : i + batch_size] for i in range(0, len(loose), batch_size)]
    return {
        "units": [{"name": unit_name(files), "files": [asdict(f) for f in files]} for files in units],
        "already_ingested": already,
        "ignored_files": dict(discovery.ignored),
        "outside_links": discovery.outside_links,
        "source_files": len(discovery.files),
    }


def _provenance(capture: Capture) -> dict[str, Any]:
    return {"source": capture.source, "source_format": capture.source_format, "url": capture.url,
            "warc_record_id": capture.warc_record_id, "warc_offset": capture.warc_offset}


def _document_row(capture: Capture, result: CleanResult, run: dict[str, Any]) -> dict[str, Any]:
    return {
        **_provenance(capture),
        "id": capture_id(capture.sha256),
        "text": result.text,
        "title": result.title,
        "description": result.description,
        "site_name": result.site_name,
        "url": capture.url or result.url,  # what the archive says first, then what the page says
        "language": result.language,
        "extractor": result.extractor,
        "capture_sha256": capture.sha256,
        "captured_at": capture.captured_at,  # only what the capture says (WARC-Date, sidecar); never invented
        "ingested_at": run["ingested_at"],
        "warc_payload_digest": capture.warc_payload_digest,
        # Field by field: dataclasses.asdict deep-copies, and cost more than the rest of the row.
        "removed": [{"start": r.start, "end": r.end, "category": r.category, "rule": r.rule, "text": r.text}
                    for r in result.removed],
        "flags": list(result.flags),
        "n_chars_raw": result.n_chars_raw,
        "n_chars_text": len(result.text),
        "boilerstrip_version": cleaner_version(),
        "rules_version": run["rules_version"],
        "config_hash": run["config_hash"],
        "cleaner_config": run["config_json"],
        "flow_run_id": run["flow_run_id"],
    }


def _reject_row(provenance: dict[str, Any], sha: str, reason: str, detail: str, run: dict[str, Any],
                duplicate_of: str | None = None) -> dict[str, Any]:
    return {**provenance, "capture_sha256": sha, "reason": reason, "detail": detail, "duplicate_of": duplicate_of,
            "ingested_at": run["ingested_at"], "boilerstrip_version": cleaner_version(),
            "flow_run_id": run["flow_run_id"]}


@dataclass
class PendingUnit:
    """A cleaned unit whose rows sit in its writer's temporary files, not yet committed."""

    name: str
    writer: UnitWriter
    record: UnitRecord
    summary: RunSummary
    # Content hashes this unit recorded first (document or rejected), as far as it could tell when it read them.
    claims: dict[str, str] = field(default_factory=dict)
    # The sites' repeated lines: what committed runs learned, plus what this unit learns as it reads.
    sites: SiteLearner | None = None


def clean_unit(unit: dict[str, Any], out: str, run: dict[str, Any]) -> RunSummary:
    """Clean one unit's captures and commit them atomically; plain Python, callable without Prefect."""
    dataset = Dataset(out)
    if dataset.has_unit(unit["name"]):  # a retried task whose commit already landed, or another run's
        dataset.clear_faults(unit["name"])
        seen = dataset.unit_records(unit["name"])
        return RunSummary(captures_seen=seen, already_ingested=seen)
    return commit_unit(dataset, prepare_unit(dataset, unit, run), run)


def prepare_unit(dataset: Dataset, unit: dict[str, Any], run: dict[str, Any]) -> PendingUnit:
    """Read and clean a unit's captures into its writer's temporary files; commit nothing."""
    config = Config.from_dict(run["config"])
    if dataset.has_faults(unit["name"]):  # an earlier attempt's worker died: sweep what its writer left
        with dataset.commit_lock():
            dataset.recover()
    # Content already recorded (earlier runs, earlier units, this unit so far): a capture with the
    # same bytes is a duplicate of the first one seen. Lookups fall through to the shared index.
    first_source: ChainMap[str, str] = ChainMap({}, dataset.content_index())
    pending = PendingUnit(unit["name"], dataset.unit_writer(unit["name"], run["rows_per_part"]), UnitRecord(),
                          RunSummary())
    writer = pending.writer
    if "site_repeated" in config.categories:
        pending.sites = SiteLearner(dataset.site_line_counts(), config.site_repeated_min_captures)
    # A capture that hangs or crashes its worker is rejected, never the unit. On a Dask worker that
    # means killing the worker: the fault log tells the unit's next attempt which capture to reject.
    with borrowed_cleaner(config, dataset.fault_log(unit["name"])) as cleaner:
        try:
            batches = _read_batches(unit, config, first_source, pending)
            for batch, outcomes in cleaner.clean_batches(((b, b.requests) for b in batches), pending.sites):
                _record_batch(batch, outcomes, pending, run)
            if pending.sites is not None:
                writer.site_lines = list(pending.sites.learned.rows())
        except BaseException:
            writer.abort()
            raise
    return pending


def _read_batches(unit: dict[str, Any], config: Config, first_source: ChainMap[str, str],
                  pending: PendingUnit) -> Iterator[_Batch]:
    """The unit's captures in reading order, in batches of about one worker round trip."""
    summary, record = pending.summary, pending.record
    batch = _Batch()
    for file_dict in unit["files"]:
        file = SourceFile(**file_dict)
        records_in_file = 0
        for item in iter_captures(file, ReadLimits.of(config)):
            if isinstance(item, Damaged):
                batch.entries.append((item, file.kind))
                continue
            records_in_file += 1
            summary.captures_seen += 1
            if not isinstance(item, Capture):  # Skipped: a record that is not a capture
                summary.skipped[item.reason] += 1
                record.skipped[item.reason] = record.skipped.get(item.reason, 0) + 1
                continue
            batch.admit(item, first_source, pending.sites is not None)
            if batch.full():
                yield batch
                batch = _Batch()
        record.source_files.append((file.uri, file.fingerprint, records_in_file))
    if batch.entries:
        yield batch


@dataclass
class _Batch:
    """Captures read but not yet recorded, in reading order; those to clean go to the worker together."""

    # (capture, the source it duplicates or None), or (a damaged archive's end, the archive's format)
    entries: list[tuple[Capture | Damaged, str | None]] = field(default_factory=list)
    requests: list[CleanRequest] = field(default_factory=list)
    request_bytes: int = 0

    def admit(self, capture: Capture, first_source: ChainMap[str, str], with_site: bool) -> None:
        """Queue a capture: a duplicate of content seen before (by hash), pre-rejected, or to clean."""
        if capture.rejection is None and capture.sha256 in first_source:
            self.entries.append((capture, first_source[capture.sha256]))
            return
        if capture.sha256 and capture.sha256 not in first_source:
            first_source[capture.sha256] = capture.source
        self.entries.append((capture, None))
        if capture.rejection is None:
            assert capture.data is not None
            site = site_of(capture.url) if with_site else None
            self.requests.append(CleanRequest(capture.data, capture.content_kind, capture.charset, capture.url, site,
                                              capture.sha256))
            self.request_bytes += len(capture.data)

    def full(self) -> bool:
        """Enough to clean for one worker round trip."""
        return len(self.requests) >= BATCH_CAPTURES or self.request_bytes >= BATCH_BYTES


def _record_batch(batch: _Batch, outcomes: Iterator[CleanResult | Rejection], pending: PendingUnit,
                  run: dict[str, Any]) -> None:
    """Record every entry's fate in reading order, taking the cleaned ones' outcomes in turn."""
    for item, note in batch.entries:
        if isinstance(item, Damaged):
            pending.writer.add_reject(_reject_row(
                {"source": item.source, "source_format": note, "url": None, "warc_record_id": None,
                 "warc_offset": item.warc_offset}, "", "damaged_archive", item.detail, run))
            pending.summary.damaged_archives += 1
        else:
            outcome = None if note is not None or item.rejection else next(outcomes)
            _record_capture(item, note, outcome, pending, run)


def commit_unit(dataset: Dataset, pending: PendingUnit, run: dict[str, Any]) -> RunSummary:
    """Commit a prepared unit under the dataset's commit lock; return its summary.

    Units prepared in parallel (Dask workers, two runs at once) cannot see each other's captures
    until they commit, so the commit re-checks the unit's content hashes against everything
    committed meanwhile: a capture found there is recorded as a duplicate (its row moves from
    documents to rejects), never written twice. A unit some other run committed first is dropped,
    and its captures count as already ingested.
    """
    try:
        with dataset.commit_lock():
            if dataset.has_unit(pending.name):
                pending.writer.abort()
                seen = pending.summary.captures_seen
                return RunSummary(captures_seen=seen, already_ingested=seen)
            committed = dataset.content_index()
            late = {sha: fate for sha, fate in pending.claims.items() if sha in committed}
            if late:
                _record_late_duplicates(pending, late, committed, run)
            pending.writer.commit(pending.record)
    except BaseException:
        pending.writer.abort()
        raise
    dataset.clear_faults(pending.name)  # its rejects now record them
    pending.summary.units_committed = 1
    return pending.summary


def _record_late_duplicates(pending: PendingUnit, late: dict[str, str], committed: dict[str, str],
                            run: dict[str, Any]) -> None:
    """Turn the unit's captures whose bytes another unit committed first into recorded duplicates."""
    writer, summary = pending.writer, pending.summary
    undone = RunSummary()
    for row in writer.drop_documents({sha for sha, fate in late.items() if fate == "document"}):
        undone.documents += 1
        undone.chars_raw += row["n_chars_raw"]
        undone.chars_kept += row["n_chars_text"]
        undone.extractors[row["extractor"]] += 1
        undone.flagged_overdeletion += any(flag.startswith(OVERDELETION_FLAG) for flag in row["flags"])
        undone.add_document(row["site_name"], [Removal(**r) for r in row["removed"]])
        writer.add_reject(_reject_row(_provenance_of_row(row), row["capture_sha256"], "duplicate",
                                      "same bytes as a capture another unit committed first", run,
                                      committed[row["capture_sha256"]]))
    rejects = []
    for row in writer.rejects:
        sha = row["capture_sha256"]
        if sha not in late:
            rejects.append(row)
        elif row["reason"] == "duplicate":  # a repeat within this unit: point it at the first capture overall
            rejects.append({**row, "duplicate_of": committed[sha]})
        else:
            undone.rejected[row["reason"]] += 1
            rejects.append({**row, "reason": "duplicate", "duplicate_of": committed[sha],
                            "detail": "same bytes as a capture another unit committed first"})
    writer.rejects = rejects
    summary.subtract(undone)
    summary.duplicates += undone.documents + undone.rejected_total
    pending.record.fates = [
        CaptureFate(f.source, f.capture_sha256, "duplicate", capture_id(f.capture_sha256))
        if f.capture_sha256 in late and f.fate != "duplicate" else f
        for f in pending.record.fates
    ]


def _provenance_of_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("source", "source_format", "url", "warc_record_id", "warc_offset")}


def _record_capture(capture: Capture, duplicate_of: str | None, outcome: CleanResult | Rejection | None,
                    pending: PendingUnit, run: dict[str, Any]) -> None:
    """Record one capture's fate: a duplicate, a reject (read or cleaning), or a document (then learn its lines)."""
    writer, record, summary = pending.writer, pending.record, pending.summary
    provenance = _provenance(capture)
    if duplicate_of is not None:
        writer.add_reject(_reject_row(provenance, capture.sha256, "duplicate", "same bytes as an earlier capture",
                                      run, duplicate_of))
        record.fates.append(CaptureFate(capture.source, capture.sha256, "duplicate", capture_id(capture.sha256)))
        summary.duplicates += 1
        return
    outcome = capture.rejection or outcome
    assert outcome is not None
    if isinstance(outcome, Rejection):
        writer.add_reject(_reject_row(provenance, capture.sha256, outcome.reason, outcome.detail, run))
        record.fates.append(CaptureFate(capture.source, capture.sha256, "rejected", None))
        summary.rejected[outcome.reason] += 1
        if capture.rejection is None:
            pending.claims.setdefault(capture.sha256, "rejected")
        return
    writer.add_document(_document_row(capture, outcome, run))
    record.fates.append(CaptureFate(capture.source, capture.sha256, "document", capture_id(capture.sha256)))
    pending.claims[capture.sha256] = "document"
    site = site_of(capture.url) if pending.sites is not None else None
    if pending.sites is not None and site and capture.url:
        pending.sites.learn(site, page_key(capture.url), outcome.line_keys)
    summary.documents += 1
    summary.chars_raw += outcome.n_chars_raw
    summary.chars_kept += len(outcome.text)
    summary.extractors[outcome.extractor] += 1
    if any(flag.startswith(OVERDELETION_FLAG) for flag in outcome.flags):
        summary.flagged_overdeletion += 1
    summary.add_document(outcome.site_name, outcome.removed)


@task(name="plan-units", cache_policy=NO_CACHE)
def plan_units_task(sources: list[str], out: str, batch_size: int) -> dict[str, Any]:
    """Prefect task around `plan_units`."""
    plan = plan_units(sources, out, batch_size)
    logger = get_run_logger()
    for link in plan["outside_links"]:
        logger.warning("not following symlink out of the source: %s", link)
    logger.info("%d source files, %d units to process, %d captures already ingested",
                plan["source_files"], len(plan["units"]), plan["already_ingested"])
    return plan


@task(name="clean-unit", cache_policy=NO_CACHE)
def clean_unit_task(unit: dict[str, Any], out: str, run: dict[str, Any]) -> dict[str, Any]:
    """Prefect task around `clean_unit`: returns the unit's summary as a small dict."""
    summary = clean_unit(unit, out, run)
    get_run_logger().info("unit %s: %d captures: %d documents, %d rejected, %d duplicates, %d skipped",
                          unit["name"], summary.captures_seen, summary.documents, summary.rejected_total,
                          summary.duplicates, summary.skipped_total)
    return summary.to_dict()


def run_info(config: dict[str, Any] | None, batch_size: int) -> dict[str, Any]:
    """What every row of a run records about the run: when, which flow run, rules and config."""
    cfg = Config.from_dict(config)
    return {
        "ingested_at": datetime.now(UTC),  # when this run ingested; never used as a capture time
        "flow_run_id": str(flow_run.id) if flow_run.id else None,
        "rules_version": rules_version(),
        "config_hash": cfg.config_hash(),
        "config_json": cfg.to_json(),
        "config": config or {},
        "rows_per_part": batch_size,
    }


def start_summary(plan: dict[str, Any]) -> RunSummary:
    """The run summary before any unit: captures of files committed earlier are seen without being read."""
    summary = RunSummary(captures_seen=plan["already_ingested"], already_ingested=plan["already_ingested"])
    summary.ignored_files.update(plan["ignored_files"])
    progress.report("planned", units=len(plan["units"]), already_ingested=plan["already_ingested"])
    return summary


def add_unit(summary: RunSummary, unit_summary: dict[str, Any]) -> None:
    """Merge a finished unit's summary into the run's, and tell whoever follows progress."""
    done = RunSummary.from_dict(unit_summary)
    summary.merge(done)
    progress.report("unit_done", captures=done.captures_seen, documents=done.documents)


def finish_run(summary: RunSummary, kind: str, sources: list[str], out: str, started: float,
               failed_units: int = 0) -> dict[str, Any]:
    """Publish the run's artifact, check the accounting, log the totals; return the summary as a dict."""
    elapsed = time.perf_counter() - started
    create_markdown_artifact(key=f"boilerstrip-{kind}-summary", markdown=summary.to_markdown(
        f"boilerstrip {kind} of {', '.join(sources)}", elapsed_s=elapsed),
        description=f"boilerstrip {kind} {', '.join(sources)} → {out}")
    if failed_units:
        raise RuntimeError(f"{failed_units} units failed (their captures are not committed; re-run to retry them)")
    if not summary.balanced():
        raise RuntimeError(f"accounting failed: {summary.accounted_for} fates for {summary.captures_seen} captures")
    get_run_logger().info(
        "done in %.1f s; accounting: %d captures seen = %d documents + %d rejected + %d duplicates + %d skipped "
        "+ %d already ingested (balanced)", elapsed, summary.captures_seen, summary.documents,
        summary.rejected_total, summary.duplicates, summary.skipped_total, summary.already_ingested)
    return summary.to_dict()


@flow(name="boilerstrip-ingest")
def ingest_flow(source: str | list[str], out: str = "output", batch_size: int = DEFAULT_BATCH_SIZE,
                config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest every new capture under the source(s) into the dataset at `out`; return the run summary."""
    started = time.perf_counter()
    sources = [source] if isinstance(source, str) else list(source)
    run = run_info(config, batch_size)
    plan = plan_units_task(sources, out, batch_size)
    summary = start_summary(plan)
    for unit in plan["units"]:  # one after the other: `boilerstrip backfill` runs units in parallel
        add_unit(summary, clean_unit_task(unit, out, run))
    return finish_run(summary, "ingest", sources, out, started)


def ingest(source: str | Path | list[str | Path], out: str | Path = "output", batch_size: int = DEFAULT_BATCH_SIZE,
           config: Config | None = None) -> RunSummary:
    """Python API of `boilerstrip ingest`: run the flow and return its summary."""
    sources = [str(s) for s in source] if isinstance(source, list) else [str(source)]
    config_dict = None if config is None else _config_dict(config)
    return RunSummary.from_dict(ingest_flow(sources, str(out), batch_size, config_dict))


def _config_dict(config: Config) -> dict[str, Any]:
    data = asdict(config)
    data["categories"] = list(config.categories)
    return data
