"""The ingest flow end to end on the real Prefect engine, read back with pyarrow and DuckDB."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pyarrow.dataset as pads
import pytest

from cleaners import cleaner_version, rules_version
from flows.dataset import DOCUMENT_SCHEMA, REJECT_SCHEMA
from flows.ingest import capture_id, ingest_flow

from .conftest import SEEDS

SEED_000 = SEEDS / "000_63e65c16875cff2e.txt"
SEED_002 = SEEDS / "002_90f80dc9d46dd7ba.txt"
CP1252_ARTICLE = (
    "Café owners in Zürich said on Tuesday that the new rules would cost them dearly.\n\n"
    "“We were not consulted,” said Ana Müller, who has run a café near the station for 20 years.\n\n"
    "The city council said the rules would be reviewed in the spring.\n"
).encode("cp1252")
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def make_source(root: Path) -> Path:
    """A folder of captures with one of each fate: documents, duplicates, rejects, a non-capture."""
    src = root / "src"
    (src / "a").mkdir(parents=True)
    (src / "dup").mkdir()
    shutil.copy(SEED_000, src / "a" / "seed000.txt")
    shutil.copy(SEED_000, src / "dup" / "copy_of_000.txt")
    shutil.copy(SEED_002, src / "seed002.txt")
    (src / "seed002.txt.gz").write_bytes(gzip.compress(SEED_002.read_bytes()))
    (src / "empty.txt").write_bytes(b"")
    (src / "image.txt").write_bytes(PNG_BYTES)
    (src / "latin.txt").write_bytes(CP1252_ARTICLE)
    (src / "broken.txt.gz").write_bytes(b"this is not gzip at all")
    (src / "notes.md").write_text("not a capture")
    return src


def read_documents(out: Path) -> list[dict]:
    return pads.dataset(out / "documents", format="parquet").to_table().sort_by("id").to_pylist()


def read_rejects(out: Path) -> list[dict]:
    return pads.dataset(out / "rejects", format="parquet").to_table().sort_by("source").to_pylist()


@pytest.fixture(scope="module")
def first_run(prefect_engine: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("flow")
    src = make_source(root)
    out = root / "out"
    summary = ingest_flow(str(src), str(out), batch_size=3)
    return src, out, summary


def test_summary_accounts_for_every_capture(first_run: tuple[Path, Path, dict]) -> None:
    _, _, summary = first_run
    assert summary["captures_seen"] == 8
    assert summary["documents"] == 3
    assert summary["rejected"] == {"empty": 1, "binary": 1, "bad_gzip": 1}
    assert summary["duplicates"] == 2
    assert summary["already_ingested"] == 0
    assert summary["balanced"] is True
    assert summary["units_committed"] == 3  # 8 captures in units of 3
    assert summary["ignored_files"] == {".md": 1}
    assert summary["removals_by_category"]["donation_appeal"] == 1
    assert summary["removals_by_rule"]["promo.click_here_read_more"] == 1


def test_documents_read_back_with_pyarrow(first_run: tuple[Path, Path, dict]) -> None:
    _, out, _ = first_run
    table = pads.dataset(out / "documents", format="parquet").to_table()
    assert table.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    rows = read_documents(out)
    assert {Path(r["source"]).name for r in rows} == {"seed000.txt", "seed002.txt", "latin.txt"}
    for row in rows:
        assert row["id"] == capture_id(row["capture_sha256"])
        assert row["captured_at"] is None  # loose files say nothing of when they were captured
        assert row["ingested_at"] is not None and row["ingested_at"].tzinfo is not None
        assert row["flow_run_id"]
        assert row["rules_version"] == rules_version()
        assert row["boilerstrip_version"] == cleaner_version()
        assert row["n_chars_text"] == len(row["text"])
        assert row["source_format"] == "text"
    by_name = {Path(r["source"]).name: r for r in rows}
    seed = by_name["seed000.txt"]
    assert seed["title"].startswith("US Defense Secretary Pete Hegseth")
    assert seed["site_name"] == "Euromaidan Press"
    assert {"donation_appeal", "adblock_notice", "photo_caption", "correction_notice"} <= {
        r["category"] for r in seed["removed"]}
    assert "Become a Patron" not in seed["text"]
    latin = by_name["latin.txt"]
    assert "Zürich" in latin["text"] and "“We were not consulted,”" in latin["text"]
    assert any(flag.startswith("encoding_detected:") for flag in latin["flags"])


def test_rejects_and_duplicates_are_recorded(first_run: tuple[Path, Path, dict]) -> None:
    _, out, _ = first_run
    table = pads.dataset(out / "rejects", format="parquet").to_table()
    assert table.schema.equals(REJECT_SCHEMA, check_metadata=False)
    fates = {Path(r["source"]).name: (r["reason"], r["duplicate_of"]) for r in read_rejects(out)}
    assert fates["empty.txt"] == ("empty", None)
    assert fates["image.txt"] == ("binary", None)
    assert fates["broken.txt.gz"][0] == "bad_gzip"
    assert fates["copy_of_000.txt"][0] == "duplicate"
    assert Path(fates["copy_of_000.txt"][1]).name == "seed000.txt"
    assert fates["seed002.txt.gz"][0] == "duplicate"  # same page, gzipped: same capture
    assert all(r["detail"] for r in read_rejects(out))


def test_duckdb_reads_the_dataset(first_run: tuple[Path, Path, dict]) -> None:
    _, out, _ = first_run
    docs = f"{out}/documents/**/*.parquet"
    [(n, distinct)] = duckdb.sql(f"SELECT count(*), count(DISTINCT id) FROM '{docs}'").fetchall()
    assert (n, distinct) == (3, 3)
    cats = dict(duckdb.sql(
        f"SELECT r.category, count(*) FROM (SELECT unnest(removed) AS r FROM '{docs}') GROUP BY 1").fetchall())
    assert cats["headline"] >= 2 and cats["site_name"] >= 2
    reasons = dict(duckdb.sql(f"SELECT reason, count(*) FROM '{out}/rejects/*.parquet' GROUP BY 1").fetchall())
    assert reasons == {"empty": 1, "binary": 1, "bad_gzip": 1, "duplicate": 2}


def test_no_temporary_files_are_left(first_run: tuple[Path, Path, dict]) -> None:
    _, out, _ = first_run
    assert [p for p in out.rglob("*") if p.name.endswith(".tmp")] == []


def test_rerun_leaves_exactly_the_same_rows_and_files(first_run: tuple[Path, Path, dict]) -> None:
    src, out, _ = first_run
    before_docs, before_rejects = read_documents(out), read_rejects(out)
    before_files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    summary = ingest_flow(str(src), str(out), batch_size=3)
    assert summary["already_ingested"] == 8 and summary["documents"] == 0 and summary["balanced"]
    assert read_documents(out) == before_docs
    assert read_rejects(out) == before_rejects
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before_files


def test_incremental_run_processes_only_new_captures(prefect_engine: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SEED_000, src / "one.txt")
    out = tmp_path / "out"
    ingest_flow(str(src), str(out))
    # A new capture, and a new version of a known one (same path, changed bytes): both are new.
    shutil.copy(SEED_002, src / "two.txt")
    (src / "one.txt").write_bytes(SEED_000.read_bytes() + b"\nA late paragraph added by the site.\n")
    summary = ingest_flow(str(src), str(out))
    assert (summary["captures_seen"], summary["documents"], summary["already_ingested"]) == (2, 2, 0)
    rows = read_documents(out)
    assert len(rows) == 3 and len({r["id"] for r in rows}) == 3
    summary = ingest_flow(str(src), str(out))
    assert (summary["documents"], summary["already_ingested"]) == (0, 2)


def test_run_publishes_a_summary_artifact(first_run: tuple[Path, Path, dict]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["boilerstrip-ingest-summary"])))
    assert artifacts, "no summary artifact"
    markdowns = [a.data for a in artifacts if isinstance(a.data, str)]
    assert any("Removals by category" in md and "donation_appeal" in md and "| 8 | 3 | 3 | 2 |" in md
               for md in markdowns), markdowns
