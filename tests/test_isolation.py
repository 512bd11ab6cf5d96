"""The per-capture time budget: a capture that hangs or kills its cleaning process is rejected, the run goes on."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import duckdb
import pytest

from cleaners import CleanResult, Config, Rejection
from cleaners.pipeline import SiteContext
from flows.ingest import ingest_flow
from flows.isolation import IsolatedCleaner, clean_in_worker

from .conftest import SEEDS

ARTICLE = (SEEDS / "002_90f80dc9d46dd7ba.txt").read_bytes()
DEEP_HTML = b"<html><body>" + b"<div>" * 100_000 + b"deep text" + b"</div>" * 100_000 + b"</body></html>"


def misbehaving_cleaner(config_json: str, data: bytes, content_kind: str, charset: str | None,
                        url: str | None, site: SiteContext | None = None) -> CleanResult | Rejection:
    """The real cleaning, except for captures that ask to hang or to kill the process cleaning them."""
    if data == b"hang":
        time.sleep(3600)
    if data == b"die":
        os.kill(os.getpid(), signal.SIGKILL)
    return clean_in_worker(config_json, data, content_kind, charset, url, site)


def test_a_hung_capture_times_out_and_a_fresh_worker_cleans_the_next() -> None:
    with IsolatedCleaner(Config(capture_timeout_seconds=2), target=misbehaving_cleaner) as cleaner:
        assert isinstance(cleaner.clean(ARTICLE), CleanResult)
        started = time.monotonic()
        outcome = cleaner.clean(b"hang")
        assert time.monotonic() - started < 60  # abandoned, not waited out
        assert isinstance(outcome, Rejection) and outcome.reason == "timeout"
        assert "capture_timeout_seconds=2" in outcome.detail
        after = cleaner.clean(ARTICLE)
        assert isinstance(after, CleanResult) and after.text
        assert cleaner.timeouts == 1 and cleaner.isolated


def test_a_capture_that_kills_its_worker_is_rejected_and_the_next_is_cleaned() -> None:
    with IsolatedCleaner(Config(capture_timeout_seconds=30), target=misbehaving_cleaner) as cleaner:
        outcome = cleaner.clean(b"die")
        assert isinstance(outcome, Rejection) and outcome.reason == "worker_crashed"
        assert "-9" in outcome.detail or "9" in outcome.detail
        assert isinstance(cleaner.clean(ARTICLE), CleanResult)
        assert cleaner.crashes == 1


def test_isolated_cleaning_gives_what_the_pipeline_gives() -> None:
    with IsolatedCleaner(Config()) as cleaner:
        isolated = cleaner.clean(ARTICLE)
    assert isolated == clean_in_worker(Config().to_json(), ARTICLE, "text", None, None)
    in_process = IsolatedCleaner(Config(capture_timeout_seconds=0))
    assert not in_process.isolated
    assert in_process.clean(ARTICLE) == isolated


def test_a_slow_real_extraction_becomes_a_timeout_reject_and_the_run_goes_on(
        prefect_engine: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a_deep.html").write_bytes(DEEP_HTML)  # seconds of trafilatura and lxml work
    (src / "b_article.txt").write_bytes(ARTICLE)
    summary = ingest_flow(str(src), str(tmp_path / "out"), config={"capture_timeout_seconds": 0.2})
    assert summary["balanced"] is True
    assert summary["rejected"] == {"timeout": 1} and summary["documents"] == 1
    con = duckdb.connect()
    rows = con.sql(f"SELECT source, reason, detail FROM read_parquet('{tmp_path}/out/rejects/*.parquet')").fetchall()
    assert [(Path(source).name, reason) for source, reason, _ in rows] == [("a_deep.html", "timeout")]


@pytest.mark.parametrize("timeout", [0, 30])
def test_a_bad_config_fails_in_the_run_not_in_the_worker(timeout: float) -> None:
    with pytest.raises(ValueError, match="unknown categories"):
        IsolatedCleaner(Config(categories=("no_such_category",), capture_timeout_seconds=timeout))
