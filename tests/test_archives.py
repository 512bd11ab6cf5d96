"""WARC/WET archives, object storage and damaged inputs: every record's fate, provenance from the archive."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from cleaners import Config, rules_version
from flows.ingest import clean_unit, ingest_flow, plan_units
from flows.summary import RunSummary

from .archives import WARC_DATE, dev_html_pages, write_html_warc, write_mixed_warc, write_wet
from .conftest import EVAL_DEV, FIXTURES, SEEDS
from .test_cli import boilerstrip

CAPTURED_AT = datetime.fromisoformat(WARC_DATE.replace("Z", "+00:00")).astimezone(UTC)


def run_info() -> dict[str, Any]:
    config = Config()
    return {"ingested_at": datetime(2026, 1, 1, tzinfo=UTC), "flow_run_id": None, "rules_version": rules_version(),
            "config_hash": config.config_hash(), "config_json": config.to_json(), "config": {}, "rows_per_part": 2}


def ingest_plainly(sources: list[str], out: str, batch_size: int = 10) -> RunSummary:
    """The flow's steps without Prefect: plan, then clean and commit every unit."""
    plan = plan_units(sources, out, batch_size)
    summary = RunSummary(captures_seen=plan["already_ingested"], already_ingested=plan["already_ingested"])
    for unit in plan["units"]:
        summary.merge(clean_unit(unit, out, run_info()))
    return summary


def documents(out: Path) -> list[dict[str, Any]]:
    if not any((out / "documents").glob("*.parquet")):
        return []
    return pads.dataset(out / "documents", format="parquet").to_table().to_pylist()


def rejects(out: Path) -> list[dict[str, Any]]:
    if not any((out / "rejects").glob("*.parquet")):
        return []
    return pads.dataset(out / "rejects", format="parquet").to_table().to_pylist()


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_every_record_of_a_mixed_warc_meets_its_fate(tmp_path: Path, gzipped: bool) -> None:
    warc = tmp_path / "src" / ("crawl.warc.gz" if gzipped else "crawl.warc")
    warc.parent.mkdir()
    spec = write_mixed_warc(warc, gzip_records=gzipped)
    out = tmp_path / "out"
    summary = ingest_plainly([str(warc.parent)], str(out))

    docs = documents(out)
    assert sorted(d["url"] for d in docs) == sorted(spec.documents)
    assert dict(summary.skipped) == spec.skipped
    assert summary.duplicates == len(spec.duplicates) and summary.rejected_total == 0
    assert summary.captures_seen == len(spec.documents) + 1 + sum(spec.skipped.values())  # records read
    assert summary.balanced()
    [resource] = [d for d in docs if d["source_format"] == "warc/resource"]
    assert resource["extractor"] == "text" and resource["site_name"] == "Washington Examiner"
    for doc in (d for d in docs if d["source_format"] == "warc/response"):
        assert doc["source"] == str(warc)
        assert doc["captured_at"] == CAPTURED_AT  # WARC-Date, not the ingest time
        assert doc["warc_record_id"].startswith("<urn:uuid:")
        assert isinstance(doc["warc_offset"], int)
        assert doc["warc_payload_digest"].startswith("sha1:")
        assert doc["extractor"] == "trafilatura" and len(doc["text"]) > 200
        assert doc["title"]
    assert len({d["warc_record_id"] for d in docs}) == len(docs)
    [dup] = [r for r in rejects(out) if r["reason"] == "duplicate"]
    assert dup["url"] == spec.duplicates[0] and dup["duplicate_of"] == str(warc)


def test_a_document_can_be_traced_back_to_its_record(tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    write_mixed_warc(warc)
    out = tmp_path / "out"
    ingest_plainly([str(warc)], str(out))
    docs = documents(out)
    assert docs
    for doc in docs:
        with open(doc["source"], "rb") as fh:
            fh.seek(doc["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Record-ID") == doc["warc_record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == doc["url"]
            payload = record.content_stream().read()
        assert hashlib.sha256(payload).hexdigest() == doc["capture_sha256"]


def test_chunked_gzipped_payload_is_decoded_before_cleaning(tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    write_mixed_warc(warc)
    out = tmp_path / "out"
    ingest_plainly([str(warc)], str(out))
    [doc] = [d for d in documents(out) if d["url"] == "https://example.org/b"]
    page = dev_html_pages(2)[1]
    assert doc["capture_sha256"] == hashlib.sha256(page).hexdigest()  # the decoded page, not the wire bytes


def test_wet_conversion_records_take_the_text_path(tmp_path: Path) -> None:
    wet = tmp_path / "seeds.warc.wet.gz"
    uris = write_wet(wet)
    out = tmp_path / "out"
    summary = ingest_plainly([str(wet)], str(out))
    assert summary.documents == 2 and summary.skipped == Counter({"record:warcinfo": 1}) and summary.balanced()
    by_url = {d["url"]: d for d in documents(out)}
    assert sorted(by_url) == sorted(uris)
    for seed in sorted(SEEDS.glob("*.txt")):
        doc = by_url[f"https://seed.example/{seed.stem}"]
        expected = json.loads((FIXTURES / "seeds" / f"{seed.stem}.expected.json").read_text(encoding="utf-8"))
        assert doc["text"] == expected["text"] and doc["title"] == expected["title"]
        assert doc["source_format"] == "wet/conversion" and doc["extractor"] == "text"
        assert doc["captured_at"] == CAPTURED_AT


def test_html_and_sidecar_loose_captures(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "page.html").write_bytes(dev_html_pages(1)[0])
    shutil.copy(SEEDS / "000_63e65c16875cff2e.txt", src / "seed.txt")
    (src / "seed.txt.json").write_text(json.dumps({"url": "https://euromaidanpress.com/x",
                                                   "captured_at": "2025-02-15T08:00:00Z"}))
    out = tmp_path / "out"
    summary = ingest_plainly([str(src)], str(out))
    assert summary.documents == 2 and not summary.ignored_files  # the sidecar is not counted as ignored
    by_format = {d["source_format"]: d for d in documents(out)}
    assert by_format["html"]["extractor"] == "trafilatura" and by_format["html"]["captured_at"] is None
    assert by_format["text"]["url"] == "https://euromaidanpress.com/x"
    assert by_format["text"]["captured_at"] == datetime(2025, 2, 15, 8, tzinfo=UTC)


def _members(path: Path) -> list[int]:
    """Start offsets of the records of a gzipped WARC (one gzip member each)."""
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh)
        offsets = []
        for record in iterator:
            record.content_stream().read()  # warcio knows the offset once the payload is read
            offsets.append(iterator.get_record_offset())
        return offsets


@pytest.mark.parametrize("damage", ["truncated", "corrupt_member", "lying_length"])
def test_damaged_archive_keeps_what_came_before_and_the_run_goes_on(tmp_path: Path, damage: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    bodies = dev_html_pages(4)
    if damage == "lying_length":
        bad = src / "a-bad.warc"
        write_html_warc(bad, bodies[:3], gzip_records=False)
        raw = bad.read_bytes()
        # The third record claims a longer block than it has: it swallows what follows and breaks.
        third = raw.index(b"WARC/1.0", raw.index(b"WARC/1.0", raw.index(b"WARC/1.0") + 1) + 1)
        head = raw.index(b"Content-Length: ", third)
        end = raw.index(b"\r\n", head)
        length = int(raw[head + 16 : end])
        bad.write_bytes(raw[:head] + f"Content-Length: {length + 100000}".encode() + raw[end:])
    else:
        bad = src / "a-bad.warc.gz"
        write_html_warc(bad, bodies[:3])
        offsets = _members(bad)
        raw = bytearray(bad.read_bytes())
        if damage == "truncated":
            raw = raw[: offsets[2] + 50]  # cut inside the third record
        else:
            for i in range(offsets[2] + 30, offsets[2] + 90):  # garble the third member's deflate stream
                raw[i] ^= 0xFF
        bad.write_bytes(bytes(raw))
    good = src / "b-good.warc.gz"
    write_html_warc(good, bodies[3:], start=10)

    out = tmp_path / "out"
    summary = ingest_plainly([str(src)], str(out))
    urls = sorted(d["url"] for d in documents(out))
    assert "https://bench.example/0" in urls and "https://bench.example/1" in urls  # before the damage
    assert "https://bench.example/10" in urls  # the next file was read
    [damaged] = [r for r in rejects(out) if r["reason"] == "damaged_archive"]
    assert damaged["source"] == str(bad) and damaged["detail"]
    assert damaged["warc_offset"] is not None
    assert summary.damaged_archives == 1 and summary.balanced()


def test_flow_ingests_archives_and_loose_files_once(prefect_engine: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    write_mixed_warc(src / "crawl.warc.gz")
    write_wet(src / "seeds.wet.gz")
    (src / "extra.txt").write_bytes(b"A short loose capture, enough words to be a document of its own kind.\n")
    out = tmp_path / "out"
    first = ingest_flow(str(src), str(out))
    # 3 HTML pages + 1 text resource + 2 WET seeds + 1 loose file; the resource repeats a WET seed.
    assert first["balanced"] and first["documents"] == 3 + 1 + 2 + 1 - 1 and first["duplicates"] == 2
    assert first["skipped_total"] == 7 + 1  # the WARC's 7 non-captures and the WET's warcinfo
    rows = documents(out)
    second = ingest_flow(str(src), str(out))
    assert second["documents"] == 0 and second["already_ingested"] == first["captures_seen"]
    assert second["balanced"] and documents(out) == rows


# --------------------------------------------------------------------------- object storage (S3 on loopback)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API (moto's server) on 127.0.0.1, reached through fsspec/s3fs like any bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = fsspec.config.conf.get("s3")
    fsspec.config.conf["s3"] = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield endpoint
    finally:
        if saved is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = saved
        server.stop()


def test_ingest_from_and_to_a_bucket(s3_endpoint: str, prefect_engine: str, tmp_path: Path) -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("archive")
    for seed in sorted(SEEDS.glob("*.txt")):
        fs.pipe(f"archive/captures/loose/{seed.name}", seed.read_bytes())
    local_warc = tmp_path / "crawl.warc.gz"
    write_mixed_warc(local_warc)
    fs.put(str(local_warc), "archive/captures/crawl.warc.gz")

    summary = ingest_flow("s3://archive/captures/", "s3://archive/dataset")
    # The WARC's text resource repeats a seed: a duplicate, so 2 seeds + 3 HTML pages are documents.
    assert summary["documents"] == 2 + 3 and summary["duplicates"] == 2 and summary["balanced"]
    table = pq.read_table("archive/dataset/documents", filesystem=fs)
    assert table.num_rows == 5 and len(set(table.column("id").to_pylist())) == 5
    assert {s.split("/")[-1] for s in table.column("source").to_pylist()} >= {"crawl.warc.gz"}
    assert all(s.startswith("s3://archive/captures/") for s in table.column("source").to_pylist())
    assert not [p for p in fs.find("archive/dataset") if p.endswith(".tmp")]
    again = ingest_flow("s3://archive/captures/", "s3://archive/dataset")
    assert again["documents"] == 0 and again["balanced"]
    assert pq.read_table("archive/dataset/documents", filesystem=fs).num_rows == 5


def test_cli_ingests_a_bucket_prefix(s3_endpoint: str, prefect_engine: str, tmp_path: Path) -> None:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("clibucket")
    fs.pipe("clibucket/prefix/one.txt", (SEEDS / "002_90f80dc9d46dd7ba.txt").read_bytes())
    out = tmp_path / "out"
    env = {"PREFECT_API_URL": prefect_engine, "FSSPEC_S3_ENDPOINT_URL": s3_endpoint, "FSSPEC_S3_KEY": "testing",
           "FSSPEC_S3_SECRET": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    result = boilerstrip("ingest", "s3://clibucket/prefix/", "--out", str(out), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == 1
    [doc] = documents(out)
    assert doc["source"] == "s3://clibucket/prefix/one.txt" and doc["site_name"] == "Washington Examiner"


def test_list_file_and_glob_sources(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    shutil.copy(SEEDS / "000_63e65c16875cff2e.txt", src / "a" / "one.txt")
    shutil.copy(SEEDS / "002_90f80dc9d46dd7ba.txt", src / "b" / "two.txt")
    (src / "b" / "three.txt").write_bytes(b"Third capture, here only to be left out by the glob below.\n")
    (src / "b" / "two.txt.json").write_text(json.dumps({"url": "https://example.com/two"}))
    listing = tmp_path / "sources.list"
    listing.write_text(f"# captures to ingest\n{src / 'a'}\n\n{src}/b/t*o.txt\n")
    out = tmp_path / "out"
    from flows.sources import read_list_file

    summary = ingest_plainly(read_list_file(str(listing)), str(out))
    assert sorted(Path(d["source"]).name for d in documents(out)) == ["one.txt", "two.txt"]
    assert {Path(d["source"]).name: d["url"] for d in documents(out)}["two.txt"] == "https://example.com/two"
    assert not summary.ignored_files  # a sidecar matched by a glob is not a stray file either
    assert summary.documents == 2


def test_cli_reads_sources_from_a_list_file(prefect_engine: str, tmp_path: Path) -> None:
    wet = tmp_path / "seeds.wet.gz"
    write_wet(wet)
    listing = tmp_path / "sources.txt"
    listing.write_text(f"# nightly\n{wet}\n")
    out = tmp_path / "out"
    result = boilerstrip("ingest", "--from-list", str(listing), "--out", str(out), "--json",
                         env={"PREFECT_API_URL": prefect_engine})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == 2 and len(documents(out)) == 2
    assert boilerstrip("ingest", "--out", str(out)).returncode == 2  # no source at all


def test_read_list_file_ignores_comments_and_blank_lines(tmp_path: Path) -> None:
    from flows.sources import read_list_file

    listing = tmp_path / "l.txt"
    listing.write_text("# c\n\n  /x/y  \ns3://b/p/\n")
    assert read_list_file(str(listing)) == ["/x/y", "s3://b/p/"]




def test_cli_ingests_a_warc_file(prefect_engine: str, tmp_path: Path) -> None:
    warc = tmp_path / "some.warc.gz"
    spec = write_mixed_warc(warc)
    out = tmp_path / "out"
    result = boilerstrip("ingest", str(warc), "--out", str(out), env={"PREFECT_API_URL": prefect_engine})
    assert result.returncode == 0, result.stderr
    assert "records skipped by reason" in result.stdout and "http_status:404" in result.stdout
    assert "balanced" in result.stdout
    assert sorted(d["url"] for d in documents(out)) == sorted(spec.documents)


def test_a_wet_record_without_blank_lines_is_read_by_the_model_trained_on_such_dumps(tmp_path: Path) -> None:
    """A WET record carries a page's text without blank lines; ingested from a real WET file it is cleaned by the line
    model's reader of such dumps (its version in every removal's rule), about as the page dump itself is."""
    from bench.train_line_classifier import without_blank_lines  # Common Crawl's WET layout
    from cleaners.line_classifier import shipped_model
    from cleaners.metrics import score_page

    dumps = sorted(EVAL_DEV.glob("*.page.txt"))[:3]
    if not dumps:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    records = []
    for dump in dumps:
        text = dump.read_text(encoding="utf-8")
        records.append((f"https://dev.example/{dump.name[:12]}/dumped", text.encode()))
        records.append((f"https://dev.example/{dump.name[:12]}/wet", without_blank_lines(text).encode()))
    wet = tmp_path / "dev.warc.wet.gz"
    write_wet(wet, records)
    out = tmp_path / "out"
    assert ingest_plainly([str(wet)], str(out)).documents == len(records)
    by_url = {d["url"]: d for d in documents(out)}
    model = shipped_model()
    assert model.unmarked is not None
    for dump in dumps:
        key = f"https://dev.example/{dump.name[:12]}"
        dumped, flat = by_url[f"{key}/dumped"], by_url[f"{key}/wet"]
        model_rules = {r["rule"].split(".")[2] for r in flat["removed"] if r["category"] == "boilerplate"}
        assert model_rules == {model.unmarked.version}, dump.name
        assert {r["rule"].split(".")[2] for r in dumped["removed"] if r["category"] == "boilerplate"} == {model.version}
        assert score_page(dumped["text"], flat["text"]).f1 >= 0.8, dump.name
