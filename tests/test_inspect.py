"""`boilerstrip inspect` describes a dataset correctly: every figure checked against DuckDB's reading of the files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.dataset import DOCUMENT_SCHEMA, REJECT_SCHEMA
from flows.ingest import ingest_flow
from flows.inspection import NotADataset, inspect_dataset

from .conftest import SEEDS
from .test_cli import boilerstrip
from .test_flow import CP1252_ARTICLE, PNG_BYTES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def two_runs(prefect_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset written by two ingest runs: documents, rejects, a duplicate, a flagged row, no site name."""
    root = tmp_path_factory.mktemp("inspect")
    src = root / "src"
    src.mkdir()
    shutil.copy(SEEDS / "000_63e65c16875cff2e.txt", src / "a.txt")
    shutil.copy(SEEDS / "000_63e65c16875cff2e.txt", src / "a_again.txt")
    (src / "empty.txt").write_bytes(b"")
    out = root / "out"
    ingest_flow(str(src), str(out))
    shutil.copy(SEEDS / "002_90f80dc9d46dd7ba.txt", src / "b.txt")
    (src / "latin.txt").write_bytes(CP1252_ARTICLE)
    (src / "image.txt").write_bytes(PNG_BYTES)
    ingest_flow(str(src), str(out))
    return out


def docs_sql(out: Path) -> str:
    return f"'{out}/documents/**/*.parquet'"


def test_counts_match_what_duckdb_reads(two_runs: Path) -> None:
    out = two_runs
    d = inspect_dataset(out)
    docs = docs_sql(out)
    [(rows, raw, kept)] = duckdb.sql(f"SELECT count(*), sum(n_chars_raw), sum(n_chars_text) FROM {docs}").fetchall()
    assert (d.documents.rows, d.chars_raw, d.chars_text) == (rows, raw, kept) == (3, raw, kept)
    assert d.documents.files == 2 and d.units == 2 and d.captures_recorded == 6
    reasons = dict(duckdb.sql(f"SELECT reason, count(*) FROM '{out}/rejects/*.parquet' GROUP BY 1").fetchall())
    assert d.rejects_by_reason == reasons == {"empty": 1, "duplicate": 1, "binary": 1}
    assert d.rejects.rows == 3
    sizes = sum(p.stat().st_size for p in (out / "documents").glob("*.parquet"))
    assert d.documents.bytes == sizes


def test_sites_and_languages(two_runs: Path) -> None:
    d = inspect_dataset(two_runs)
    sites = dict(duckdb.sql(
        f"SELECT site_name, count(*) FROM {docs_sql(two_runs)} WHERE site_name IS NOT NULL GROUP BY 1").fetchall())
    assert d.top_sites == sites == {"Euromaidan Press": 1, "Washington Examiner": 1}
    assert d.sites == 2 and d.documents_without_site == 1  # the windows-1252 article names no publisher
    languages = dict(duckdb.sql(
        f"SELECT coalesce(language, '(unknown)'), count(*) FROM {docs_sql(two_runs)} GROUP BY 1").fetchall())
    assert d.languages == languages
    assert inspect_dataset(two_runs, top=1).top_sites.keys() <= sites.keys()
    assert len(inspect_dataset(two_runs, top=1).top_sites) == 1


def test_date_ranges(two_runs: Path) -> None:
    d = inspect_dataset(two_runs)
    [(first, last, runs)] = duckdb.sql(
        f"SELECT epoch_us(min(ingested_at)), epoch_us(max(ingested_at)), count(DISTINCT ingested_at) "
        f"FROM {docs_sql(two_runs)}").fetchall()
    assert runs == 2  # two runs, two ingest times
    assert d.ingested_at.min == EPOCH + timedelta(microseconds=first)
    assert d.ingested_at.max == EPOCH + timedelta(microseconds=last)
    assert d.ingested_at.missing == 0
    # Loose text files never say when they were captured.
    assert (d.captured_at.min, d.captured_at.max, d.captured_at.missing) == (None, None, 3)


def test_removals_by_category_and_rule(two_runs: Path) -> None:
    d = inspect_dataset(two_runs)
    unnested = f"(SELECT unnest(removed) AS r FROM {docs_sql(two_runs)})"
    for key, got in (("category", d.removals_by_category), ("rule", d.removals_by_rule)):
        expected = {k: (n, chars) for k, n, chars in duckdb.sql(
            f'SELECT r.{key}, count(*), sum(r."end" - r.start) FROM {unnested} GROUP BY 1').fetchall()}
        assert {k: (v.spans, v.chars) for k, v in got.items()} == expected
    assert list(d.removals_by_category)[:2] == ["site_name", "headline"]  # pipeline order
    assert d.removals.spans == sum(v.spans for v in d.removals_by_rule.values())
    assert d.removals_by_category["donation_appeal"].spans == 1


def test_flags_versions_and_schema(two_runs: Path) -> None:
    d = inspect_dataset(two_runs)
    assert d.flags_by_kind == {"encoding_detected": 1}
    [(version, rules, configs)] = duckdb.sql(
        f"SELECT any_value(boilerstrip_version), any_value(rules_version), count(DISTINCT config_hash) "
        f"FROM {docs_sql(two_runs)}").fetchall()
    assert d.versions["boilerstrip_version"] == {version: 3}
    assert d.versions["rules_version"] == {rules: 3}
    assert len(d.versions["config_hash"]) == configs == 1
    assert [f["name"] for f in d.documents.schema] == DOCUMENT_SCHEMA.names
    assert [f["name"] for f in d.rejects.schema] == REJECT_SCHEMA.names
    assert {f["name"]: f["nullable"] for f in d.documents.schema}["title"] is True
    assert {f["name"]: f["type"] for f in d.documents.schema}["ingested_at"] == "timestamp[us, tz=UTC]"
    assert d.documents.schema_expected and d.documents.schema_consistent


def test_a_part_file_with_another_schema_is_reported(two_runs: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(two_runs, copy)
    first = sorted((copy / "documents").glob("*.parquet"))[0]
    table = pq.read_table(first)
    wider = table.append_column("extra", pa.array(["x"] * table.num_rows))
    pq.write_table(wider, copy / "documents" / "part-z.parquet")
    d = inspect_dataset(copy)
    assert d.documents.rows == 3 + table.num_rows
    assert not d.documents.schema_consistent
    assert d.documents.schema_expected  # the first file's schema is still the expected one
    assert "not the same in every file" in boilerstrip("inspect", str(copy)).stdout


def test_cli_json_is_the_python_api(two_runs: Path) -> None:
    result = boilerstrip("inspect", str(two_runs), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == inspect_dataset(two_runs).to_dict()


def test_cli_table_for_people(two_runs: Path) -> None:
    result = boilerstrip("inspect", str(two_runs), "--top", "1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("3 rows in 2 files") == 2  # documents and rejects
    assert "2 distinct; 1 documents without a site name" in out
    assert "donation_appeal.support_paragraph" in out and "rejects by reason" in out
    assert "timestamp[us, tz=UTC]" in out  # values shown as data, never read as markup
    assert "top 1 sites" in out


def test_empty_and_wrong_folders(tmp_path: Path) -> None:
    assert boilerstrip("inspect", str(tmp_path / "missing")).returncode == 2
    not_a_dataset = boilerstrip("inspect", str(tmp_path))
    assert not_a_dataset.returncode == 2 and "not a boilerstrip dataset" in not_a_dataset.stderr
    with pytest.raises(NotADataset):
        inspect_dataset(tmp_path)
    (tmp_path / "documents").mkdir()
    empty = inspect_dataset(tmp_path)
    assert (empty.documents.rows, empty.rejects.rows, empty.sites, empty.removals.spans) == (0, 0, 0, 0)
    assert boilerstrip("inspect", str(tmp_path)).returncode == 0
    assert boilerstrip("inspect", str(tmp_path), "--top", "0").returncode == 2
