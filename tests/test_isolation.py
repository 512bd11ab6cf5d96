"""The per-capture time budget: a capture that hangs or kills its cleaning process is rejected, the run goes on."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cleaners import CleanResult, Config, Rejection
from cleaners.pipeline import SiteContext
from cleaners.site_repeated import SiteLearner, SiteLineCounts, page_key
from flows.dataset import Dataset
from flows.ingest import ingest_flow, plan_units
from flows.isolation import (
    CleanRequest,
    IsolatedCleaner,
    SiteLines,
    StaleSiteTable,
    borrowed_cleaner,
    clean_in_worker,
    read_faults,
)
from flows.sources import sha256_hex

from .conftest import ROOT, SEEDS

ARTICLE = (SEEDS / "002_90f80dc9d46dd7ba.txt").read_bytes()
DEEP_HTML = b"<html><body>" + b"<div>" * 100_000 + b"deep text" + b"</div>" * 100_000 + b"</body></html>"


def misbehaving_cleaner(config_json: str, data: bytes, content_kind: str, charset: str | None,
                        url: str | None, site: SiteContext | SiteLines | None = None) -> CleanResult | Rejection:
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


def reporting_cleaner(config_json: str, data: bytes, content_kind: str, charset: str | None,
                      url: str | None, site: SiteContext | SiteLines | None = None) -> CleanResult | Rejection:
    """The real cleaning (hanging on request), with a last flag saying what site lines crossed the pipe."""
    sent = f"sent seq={site.seq} lines={len(site.lines)}" if isinstance(site, SiteLines) else "sent nothing"
    result = misbehaving_cleaner(config_json, data, content_kind, charset, url, site)
    assert isinstance(result, CleanResult)
    return dataclasses.replace(result, flags=(*result.flags, sent))


def test_a_site_table_crosses_the_pipe_once_then_only_its_changes_even_after_a_worker_is_replaced() -> None:
    menu = "".join(f"Section {n}\n" for n in range(40)) + "\n"
    pages = [f"{menu}Report {i}: the council met on day {i} and voted on the budget after a debate.\n"
             for i in range(6)]
    config = Config(capture_timeout_seconds=3)
    learners = {"isolated": SiteLearner(SiteLineCounts(), 2), "in_process": SiteLearner(SiteLineCounts(), 2)}
    in_process = IsolatedCleaner(Config(capture_timeout_seconds=0))
    sent = []
    with IsolatedCleaner(config, target=reporting_cleaner) as isolated:
        for i, page in enumerate(pages):
            if i == 4:  # the worker is killed and replaced: it no longer holds the site's table
                assert isinstance(isolated.clean(b"hang"), Rejection)
            url = f"https://news.example/{i}"
            a = isolated.clean(page.encode(), "text", None, url, "news.example", learners["isolated"])
            b = in_process.clean(page.encode(), "text", None, url, "news.example", learners["in_process"])
            assert isinstance(a, CleanResult) and isinstance(b, CleanResult)
            sent.append(a.flags[-1])
            assert a.flags[:-1] == b.flags and a.text == b.text and a.removed == b.removed
            for name, result in (("isolated", a), ("in_process", b)):
                learners[name].learn("news.example", page_key(url), result.line_keys)
    # Page 2 is the first to find the menu on 2 other pages; then only the changed counts travel,
    # until the replaced worker gets the whole table again.
    assert sent == ["sent seq=0 lines=0", "sent seq=1 lines=0", "sent seq=2 lines=40", "sent seq=3 lines=40",
                    "sent seq=0 lines=40", "sent seq=1 lines=40"]
    assert [f for f in a.flags if f.startswith("site_repeated:")] == [
        "site_repeated: 40 lines of news.example also seen in 5–5 other captures of the site"]


def test_a_worker_refuses_changes_to_a_site_table_it_does_not_hold() -> None:
    """The guard behind the change-only shipments: a gap in the sequence is the sender's to repair."""
    config_json = Config().to_json()
    with pytest.raises(StaleSiteTable):
        clean_in_worker(config_json, ARTICLE, "text", None, None, SiteLines("gap.example", "s1", 1, {}))
    whole = clean_in_worker(config_json, ARTICLE, "text", None, None, SiteLines("gap.example", "s1", 0, {}))
    assert isinstance(whole, CleanResult)
    with pytest.raises(StaleSiteTable):  # same site, but another worker generation's sequence
        clean_in_worker(config_json, ARTICLE, "text", None, None, SiteLines("gap.example", "s2", 1, {}))
    assert isinstance(clean_in_worker(config_json, ARTICLE, "text", None, None,
                                      SiteLines("gap.example", "s1", 1, {})), CleanResult)


def test_batches_give_what_one_by_one_gives_even_as_their_site_table_gains_lines() -> None:
    """Captures go to the worker in batches, each sent before the previous one's outcomes are learned;
    the outcome must still be what cleaning them one by one, learning between them, gives."""
    menu = "".join(f"Section {n}\n" for n in range(12)) + "\n"
    pages = [f"{menu}Report {i}: the council met on day {i} and voted on the budget after a debate.\n".encode()
             for i in range(12)]
    urls = [f"https://news.example/{i}" for i in range(12)]
    one_by_one, batched = SiteLearner(SiteLineCounts(), 2), SiteLearner(SiteLineCounts(), 2)
    in_process = IsolatedCleaner(Config(capture_timeout_seconds=0))
    expected = []
    for page, url in zip(pages, urls, strict=True):
        result = in_process.clean(page, "text", None, url, "news.example", one_by_one)
        assert isinstance(result, CleanResult)
        one_by_one.learn("news.example", page_key(url), result.line_keys)
        expected.append(result)
    batches = [(first, [CleanRequest(p, "text", None, u, "news.example")
                        for p, u in zip(pages[first:first + 4], urls[first:first + 4], strict=True)])
               for first in (0, 4, 8)]
    got = []
    with IsolatedCleaner(Config(capture_timeout_seconds=30)) as cleaner:
        for first, outcomes in cleaner.clean_batches(batches, batched):
            for i, result in enumerate(outcomes, start=first):
                assert isinstance(result, CleanResult)
                batched.learn("news.example", page_key(urls[i]), result.line_keys)
                got.append(result)
        # The menu joins the table once pages 0 and 1 are learned. Pages 2-3 were sent before that,
        # and so was the whole second batch (sent while the first was cleaned): cleaned again. The
        # third batch was sent once the first was learned: its outcomes stand, with their counts restated.
        assert cleaner.recleaned == 6 and cleaner.batch_retries == 0
    assert got == expected
    evidence = [next((f for f in r.flags if f.startswith("site_repeated:")), None) for r in got]
    assert evidence[:2] == [None, None]
    assert evidence[2] == "site_repeated: 12 lines of news.example also seen in 2–2 other captures of the site"
    assert evidence[9] == "site_repeated: 12 lines of news.example also seen in 9–9 other captures of the site"
    assert evidence[11] == "site_repeated: 12 lines of news.example also seen in 11–11 other captures of the site"


def test_a_capture_that_hangs_or_kills_a_batch_is_rejected_alone() -> None:
    other = (SEEDS / "000_63e65c16875cff2e.txt").read_bytes()
    batches = [("a", [CleanRequest(ARTICLE), CleanRequest(b"hang")]),
               ("b", [CleanRequest(other), CleanRequest(b"die")]),  # sent while "a" is being cleaned
               ("c", [CleanRequest(ARTICLE + b"\n\nA last line.")])]
    with IsolatedCleaner(Config(capture_timeout_seconds=2), target=misbehaving_cleaner) as cleaner:
        outcomes = [(tag, o) for tag, batch in cleaner.clean_batches(batches) for o in batch]
        assert [(tag, o.reason if isinstance(o, Rejection) else "document") for tag, o in outcomes] == [
            ("a", "document"), ("a", "timeout"), ("b", "document"), ("b", "worker_crashed"), ("c", "document")]
        assert cleaner.batch_retries == 2 and cleaner.timeouts == 1 and cleaner.crashes == 1
    in_process = IsolatedCleaner(Config(capture_timeout_seconds=0))
    assert outcomes[2][1] == in_process.clean(other)


def test_a_clean_result_survives_the_pipe_with_every_field() -> None:
    """Results cross the pipe by their own reduce (faster than the slots' state): no field may be lost."""
    import pickle

    result = clean_in_worker(Config().to_json(), ARTICLE, "text", None, "https://news.example/a",
                             SiteContext("news.example", {}))
    assert isinstance(result, CleanResult) and result.removed and result.line_keys
    full = dataclasses.replace(result, title="A title", description="A dek", site_name="The Site", language="en",
                               flags=("a flag",), extractor="trafilatura", url="https://news.example/a",
                               site_repeated_keys=(1, 2))
    for f in dataclasses.fields(CleanResult):  # a field added later must be set here, and so be checked below
        assert getattr(full, f.name) not in (None, (), frozenset(), f.default), f.name
    assert len(full.__reduce__()[1]) == len(dataclasses.fields(CleanResult))
    assert pickle.loads(pickle.dumps(full)) == full
    assert pickle.loads(pickle.dumps(result.removed)) == result.removed


def test_the_next_unit_of_the_same_config_borrows_the_warm_cleaner_with_a_fresh_site_learner() -> None:
    menu = "".join(f"Section {n}\n" for n in range(8)) + "\n"
    requests = [CleanRequest(f"{menu}Report {i}: the council met on day {i} and voted.\n".encode(), "text", None,
                             f"https://news.example/{i}", "news.example") for i in range(4)]

    def unit(cleaner: IsolatedCleaner) -> list[CleanResult | Rejection]:
        sites = SiteLearner(SiteLineCounts(), 2)  # each unit learns afresh from the committed table
        results = []
        for _, outcomes in cleaner.clean_batches([(None, requests)], sites):
            for request, result in zip(requests, outcomes, strict=True):
                assert isinstance(result, CleanResult) and request.url
                sites.learn("news.example", page_key(request.url), result.line_keys)
                results.append(result)
        return results

    config = Config(capture_timeout_seconds=30)
    with borrowed_cleaner(config) as first:
        first_results = unit(first)
    with borrowed_cleaner(config) as second:
        assert second is first and second.isolated  # its worker is already started and warm
        assert unit(second) == first_results  # the old unit's tables were not taken for the new one's
    with borrowed_cleaner(Config(capture_timeout_seconds=29)) as other:
        assert other is not first
    with borrowed_cleaner(config) as third:  # only one idle cleaner is kept: the first was closed
        assert third is not first
    assert [r.flags[-1] for r in first_results[2:]] == [
        "site_repeated: 8 lines of news.example also seen in 2–2 other captures of the site",
        "site_repeated: 8 lines of news.example also seen in 3–3 other captures of the site"]


def _run_watched(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh Python process that has started its watchdog as `dog` (flows.watchdog)."""
    prelude = ("import os, re, signal, sys, time\n"
               "from flows.isolation import process_watchdog\n"
               "dog = process_watchdog()\n")
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def _wait_for(path: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_the_watchdog_kills_a_process_stuck_holding_the_gil_past_its_budget_and_logs_a_timeout(
        tmp_path: Path) -> None:
    # A catastrophic regex holds the GIL for ever: no thread of the stuck process could interrupt it.
    log = tmp_path / "_faults" / "unit.jsonl"
    done = _run_watched(f"with dog.watching({str(log)!r}, 'fast', 30): pass\n"
                        f"with dog.watching({str(log)!r}, 'stuck', 0.5): re.match(r'(a+)+$', 'a' * 64 + 'b')\n"
                        "print('finished')")
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "finished" not in done.stdout
    assert read_faults(str(log)) == {"stuck": ["timeout"]}
    [line] = log.read_text().splitlines()
    assert json.loads(line)["budget_seconds"] == 0.5


def test_the_watchdog_logs_the_capture_its_process_died_cleaning_and_then_exits(tmp_path: Path) -> None:
    log = tmp_path / "_faults" / "unit.jsonl"
    died = _run_watched(f"print(dog.process.pid, flush=True)\n"
                        f"with dog.watching({str(log)!r}, 'cleaned', 30): pass\n"
                        f"with dog.watching({str(log)!r}, 'inflight', 30): os.kill(os.getpid(), signal.SIGKILL)")
    assert died.returncode == -signal.SIGKILL
    _wait_for(log)
    assert read_faults(str(log)) == {"inflight": ["died"]}
    _wait_until_gone(int(died.stdout.split()[0]))

    # A process that ends between captures leaves no fault (checked once its watchdog has exited).
    quiet = _run_watched(f"print(dog.process.pid, flush=True)\n"
                         f"with dog.watching({str(tmp_path / 'other.jsonl')!r}, 'cleaned', 30): pass")
    assert quiet.returncode == 0, quiet.stderr
    _wait_until_gone(int(quiet.stdout.split()[0]))
    assert not (tmp_path / "other.jsonl").exists()


def _wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid):
        assert time.monotonic() < deadline, "the watchdog outlived its process"
        time.sleep(0.05)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return "gone"


def test_a_unit_rejects_what_its_earlier_attempts_logged_a_timeout_for_or_died_on_twice(
        prefect_engine: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    names = ("died_once", "died_twice", "timed_out", "clean")
    pages = {name: ARTICLE + f"\n\nVersion {name}.".encode() for name in names}
    for name, data in pages.items():
        (src / f"{name}.txt").write_bytes(data)
    out = tmp_path / "out"
    [unit] = plan_units([str(src)], str(out), 100)["units"]
    log = Path(Dataset(str(out)).fault_log(unit["name"]))
    log.parent.mkdir(parents=True)
    faults = [("died_once", "died"), ("died_twice", "died"), ("timed_out", "timeout"), ("died_twice", "died")]
    log.write_text("".join(json.dumps({"capture_sha256": sha256_hex(pages[name]), "fault": fault,
                                       "budget_seconds": 60}) + "\n" for name, fault in faults) + '{"cut sh')

    summary = ingest_flow(str(src), str(out))

    assert summary["balanced"] is True
    assert summary["documents"] == 2 and summary["rejected"] == {"worker_crashed": 1, "timeout": 1}
    rows = duckdb.sql(f"SELECT source, reason, detail FROM read_parquet('{out}/rejects/*.parquet')").fetchall()
    assert sorted((Path(source).stem, reason) for source, reason, _ in rows) == [
        ("died_twice", "worker_crashed"), ("timed_out", "timeout")]
    assert any("died 2 times" in detail for _, _, detail in rows)
    assert not log.exists(), "a committed unit's faults live on in its rejects only"
