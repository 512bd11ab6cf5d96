"""The ingest flow: discover captures → plan units → clean each unit in one task → commit → summarise.

Tasks take and return paths and small summaries, never document bodies; one task cleans a whole
unit (batch) with a plain loop, since a Prefect task run costs far more than cleaning a document.
"""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from cleaners import CleanResult, Config, Pipeline, Rejection, __version__, rules_version
from cleaners.pipeline import OVERDELETION_FLAG
from flows.dataset import CaptureFate, Dataset
from flows.sources import CaptureRef, capture_format, capture_id, discover, hash_capture, read_capture
from flows.summary import RunSummary

DEFAULT_BATCH_SIZE = 1000


def unit_name(items: list[dict[str, Any]]) -> str:
    """Deterministic name of a unit of work, from the captures it holds."""
    digest = hashlib.sha256()
    for item in sorted((i["source"], i["sha256"]) for i in items):
        digest.update(f"{item[0]}\0{item[1]}\n".encode())
    return digest.hexdigest()[:20]


@task(name="plan-captures", cache_policy=NO_CACHE)
def plan_captures(source: str, out: str, batch_size: int, max_capture_bytes: int) -> dict[str, Any]:
    """List and hash the source's captures; skip those already committed; mark duplicates; batch."""
    logger = get_run_logger()
    dataset = Dataset(out).open()
    discovery = discover(source)
    committed = {(f.source, f.capture_sha256) for f in dataset.fates()}
    first_source_by_sha = {f.capture_sha256: f.source for f in dataset.fates() if f.fate != "duplicate"}
    items: list[dict[str, Any]] = []
    already = 0
    for path in discovery.captures:
        fmt = capture_format(path) or "text"
        sha, size = hash_capture(path, fmt, max_capture_bytes)
        source_str = str(path)
        if (source_str, sha) in committed:
            already += 1
            continue
        duplicate_of = first_source_by_sha.get(sha)
        if duplicate_of is None:
            first_source_by_sha[sha] = source_str
        items.append(
            {"source": source_str, "source_format": fmt, "sha256": sha, "size": size, "duplicate_of": duplicate_of}
        )
    for link in discovery.outside_links:
        logger.warning("not following symlink out of the source: %s", link)
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    logger.info(
        "%d captures found, %d already ingested, %d to process in %d units",
        len(discovery.captures),
        already,
        len(items),
        len(batches),
    )
    return {
        "batches": batches,
        "already_ingested": already,
        "captures_seen": len(discovery.captures),
        "ignored_files": discovery.ignored,
    }


def _document_row(ref: CaptureRef, result: CleanResult, run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": capture_id(ref.sha256),
        "text": result.text,
        "title": result.title,
        "description": result.description,
        "site_name": result.site_name,
        "url": None,  # loose text captures carry no URL; archives will (WARC-Target-URI)
        "language": result.language,
        "source": ref.source,
        "source_format": ref.source_format,
        "capture_sha256": ref.sha256,
        "captured_at": None,  # a loose file does not say when it was captured; never invent it
        "ingested_at": run["ingested_at"],
        "removed": [asdict(r) for r in result.removed],
        "flags": list(result.flags),
        "n_chars_raw": result.n_chars_raw,
        "n_chars_text": len(result.text),
        "boilerstrip_version": __version__,
        "rules_version": run["rules_version"],
        "config_hash": run["config_hash"],
        "cleaner_config": run["config_json"],
        "flow_run_id": run["flow_run_id"],
    }


def _reject_row(
    ref: CaptureRef, reason: str, detail: str, run: dict[str, Any], duplicate_of: str | None = None
) -> dict[str, Any]:
    return {
        "source": ref.source,
        "source_format": ref.source_format,
        "capture_sha256": ref.sha256,
        "reason": reason,
        "detail": detail,
        "duplicate_of": duplicate_of,
        "ingested_at": run["ingested_at"],
        "boilerstrip_version": __version__,
        "flow_run_id": run["flow_run_id"],
    }


def clean_unit(items: list[dict[str, Any]], out: str, run: dict[str, Any]) -> RunSummary:
    """Clean one unit of captures and commit it atomically; plain Python, callable without Prefect."""
    unit = unit_name(items)
    dataset = Dataset(out)
    summary = RunSummary(captures_seen=len(items))
    if dataset.has_unit(unit):  # a retried task whose commit already landed
        summary.already_ingested = len(items)
        return summary
    config = Config.from_dict(run["config"])
    pipeline = Pipeline(config)
    documents: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    fates: list[CaptureFate] = []
    for item in items:
        ref = CaptureRef(item["source"], item["source_format"], item["sha256"], item["size"])
        if item["duplicate_of"] is not None:
            rejects.append(_reject_row(ref, "duplicate", "same bytes as an earlier capture", run, item["duplicate_of"]))
            fates.append(CaptureFate(ref.source, ref.sha256, "duplicate", capture_id(ref.sha256)))
            summary.duplicates += 1
            continue
        outcome: CleanResult | Rejection
        data = read_capture(ref, config.max_capture_bytes)
        if isinstance(data, Rejection):
            outcome = data
        else:
            try:
                outcome = pipeline.clean_capture(data)
            except Exception as err:  # one bad capture must never stop the run
                last = traceback.format_exception_only(err)[-1].strip()
                outcome = Rejection("cleaner_error", last)
        if isinstance(outcome, Rejection):
            rejects.append(_reject_row(ref, outcome.reason, outcome.detail, run))
            fates.append(CaptureFate(ref.source, ref.sha256, "rejected", None))
            summary.rejected[outcome.reason] += 1
            continue
        documents.append(_document_row(ref, outcome, run))
        fates.append(CaptureFate(ref.source, ref.sha256, "document", capture_id(ref.sha256)))
        summary.documents += 1
        summary.chars_raw += outcome.n_chars_raw
        summary.chars_kept += len(outcome.text)
        if any(flag.startswith(OVERDELETION_FLAG) for flag in outcome.flags):
            summary.flagged_overdeletion += 1
        summary.add_document(outcome.site_name, outcome.removed)
    dataset.commit_unit(unit, documents, rejects, fates)
    summary.units_committed = 1
    return summary


@task(name="clean-unit", cache_policy=NO_CACHE)
def clean_unit_task(items: list[dict[str, Any]], out: str, run: dict[str, Any]) -> dict[str, Any]:
    """Prefect task around `clean_unit`: returns the unit's summary as a small dict."""
    summary = clean_unit(items, out, run)
    get_run_logger().info(
        "unit of %d captures: %d documents, %d rejected, %d duplicates",
        summary.captures_seen,
        summary.documents,
        summary.rejected_total,
        summary.duplicates,
    )
    return summary.to_dict()


@flow(name="boilerstrip-ingest")
def ingest_flow(
    source: str, out: str = "output", batch_size: int = DEFAULT_BATCH_SIZE, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ingest every new capture under `source` into the dataset at `out`; return the run summary."""
    logger = get_run_logger()
    cfg = Config.from_dict(config)
    run = {
        "ingested_at": datetime.now(UTC),  # when this run ingested; never used as a capture time
        "flow_run_id": str(flow_run.id) if flow_run.id else None,
        "rules_version": rules_version(),
        "config_hash": cfg.config_hash(),
        "config_json": cfg.to_json(),
        "config": config or {},
    }
    plan = plan_captures(source, out, batch_size, cfg.max_capture_bytes)
    # Captures skipped at planning are seen and accounted for here; each unit adds its own.
    summary = RunSummary(captures_seen=plan["already_ingested"], already_ingested=plan["already_ingested"])
    summary.ignored_files.update(plan["ignored_files"])
    for batch in plan["batches"]:
        summary.merge(RunSummary.from_dict(clean_unit_task(batch, out, run)))
    if summary.captures_seen != plan["captures_seen"]:
        raise RuntimeError(f"units saw {summary.captures_seen} captures, discovery found {plan['captures_seen']}")
    create_markdown_artifact(
        key="boilerstrip-ingest-summary",
        markdown=summary.to_markdown(f"boilerstrip ingest of {source}"),
        description=f"boilerstrip ingest {source} → {out}",
    )
    if not summary.balanced():
        raise RuntimeError(f"accounting failed: {summary.accounted_for} fates for {summary.captures_seen} captures")
    logger.info(
        "done: %d documents, %d rejected, %d duplicates, %d already ingested",
        summary.documents,
        summary.rejected_total,
        summary.duplicates,
        summary.already_ingested,
    )
    return summary.to_dict()


def ingest(
    source: str | Path, out: str | Path = "output", batch_size: int = DEFAULT_BATCH_SIZE, config: Config | None = None
) -> RunSummary:
    """Python API of `boilerstrip ingest`: run the flow and return its summary."""
    config_dict = None if config is None else _config_dict(config)
    result = ingest_flow(str(source), str(out), batch_size, config_dict)
    return RunSummary.from_dict(result)


def _config_dict(config: Config) -> dict[str, Any]:
    data = asdict(config)
    data["categories"] = list(config.categories)
    return data
