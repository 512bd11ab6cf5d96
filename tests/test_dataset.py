"""Unit tests for flows.dataset: explicit schemas, atomic unit commits, crash recovery, the manifest."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from flows.dataset import DOCUMENT_SCHEMA, REJECT_SCHEMA, CaptureFate, Dataset, UnitRecord

INGESTED_AT = datetime(2024, 11, 23, 12, 30, 5, 123456, tzinfo=UTC)


def document_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A row shaped like flows.ingest._document_row, matching DOCUMENT_SCHEMA field for field."""
    row: dict[str, Any] = {
        "id": f"{n:032x}",
        "text": f"Body text of document {n}.\n\nSecond paragraph.",
        "title": f"Headline {n}",
        "description": None,
        "site_name": "Example News",
        "url": None,
        "language": "en",
        "source": f"src/capture-{n}.txt",
        "source_format": "text",
        "extractor": "text",
        "capture_sha256": f"{n:064x}",
        "captured_at": None,
        "ingested_at": INGESTED_AT,
        "warc_record_id": None,
        "warc_offset": None,
        "warc_payload_digest": None,
        "removed": [
            {
                "start": 0,
                "end": 14,
                "category": "site_name",
                "rule": "site_name.line",
                "text": "Example News\n\n",
            },
            {
                "start": 30,
                "end": 48,
                "category": "footer",
                "rule": "footer.copyright",
                "text": "© 2024 Example\n",
            },
        ],
        "flags": ["bom:utf-8-sig"],
        "n_chars_raw": 120,
        "n_chars_text": 44,
        "boilerstrip_version": "0.1.0",
        "rules_version": "rules-abc",
        "config_hash": "0123456789abcdef",
        "cleaner_config": '{"overdeletion_threshold":0.95}',
        "flow_run_id": "run-1",
    }
    row.update(overrides)
    assert set(row) == set(DOCUMENT_SCHEMA.names)
    return row


def reject_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A row shaped like flows.ingest._reject_row, matching REJECT_SCHEMA field for field."""
    row: dict[str, Any] = {
        "source": f"src/reject-{n}.bin",
        "source_format": "text",
        "capture_sha256": f"{n + 1000:064x}",
        "reason": "binary",
        "detail": "NUL byte at offset 8",
        "duplicate_of": None,
        "url": None,
        "warc_record_id": None,
        "warc_offset": None,
        "ingested_at": INGESTED_AT,
        "boilerstrip_version": "0.1.0",
        "flow_run_id": None,
    }
    row.update(overrides)
    assert set(row) == set(REJECT_SCHEMA.names)
    return row


def fates_for(docs: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> list[CaptureFate]:
    return [CaptureFate(d["source"], d["capture_sha256"], "document", d["id"]) for d in docs] + [
        CaptureFate(r["source"], r["capture_sha256"], "rejected", None) for r in rejects
    ]


def commit(ds: Dataset, unit: str, docs: list[dict[str, Any]], rejects: list[dict[str, Any]],
           fates: list[CaptureFate], rows_per_part: int = 1000) -> list[str]:
    """Commit one unit through the dataset's unit writer, as flows.ingest does."""
    writer = ds.unit_writer(unit, rows_per_part)
    for row in docs:
        writer.add_document(row)
    for row in rejects:
        writer.add_reject(row)
    return writer.commit(UnitRecord(fates=fates))


def tmp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.endswith(".tmp"))


def visible_parquet(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).glob("*.parquet"))


def read_rows(root: Path, folder: str) -> list[dict[str, Any]]:
    """Rows as a reader sees them: pyarrow dataset discovery over the folder (hidden files ignored)."""
    if not (root / folder).exists():
        return []
    return pads.dataset(root / folder, format="parquet").to_table().to_pylist()


# --------------------------------------------------------------------------- commit_unit


def test_commit_unit_writes_readable_parts_with_declared_schemas(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    docs = [document_row(1), document_row(2, title=None, captured_at=datetime(2020, 5, 1, tzinfo=UTC))]
    rejects = [
        reject_row(1),
        reject_row(2, reason="duplicate", detail="same bytes", duplicate_of=f"{1:032x}"),
    ]
    result = commit(ds, "u0001", docs, rejects, fates_for(docs, rejects))

    doc_path = tmp_path / "documents" / "part-u0001-0.parquet"
    rej_path = tmp_path / "rejects" / "part-u0001.parquet"
    assert set(result) == {"documents/part-u0001-0.parquet", "rejects/part-u0001.parquet"}
    assert doc_path.is_file() and rej_path.is_file()

    # the on-disk schemas are exactly the declared ones (nullability, tz-aware timestamps, nested lists)
    assert pq.read_schema(doc_path).equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert pq.read_schema(rej_path).equals(REJECT_SCHEMA, check_metadata=False)
    assert pq.read_schema(doc_path).field("ingested_at").type == pa.timestamp("us", tz="UTC")

    # zstd compression
    for path in (doc_path, rej_path):
        meta = pq.ParquetFile(path).metadata
        assert meta.num_row_groups >= 1
        for i in range(meta.num_columns):
            assert meta.row_group(0).column(i).compression == "ZSTD"

    # the rows round-trip exactly
    assert pq.read_table(doc_path).to_pylist() == docs
    assert pq.read_table(rej_path).to_pylist() == rejects


def test_fates_and_has_unit_reflect_commits(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    assert ds.fates() == []
    assert not ds.has_unit("u1")

    docs, rejects = [document_row(1)], [reject_row(1)]
    fates1 = fates_for(docs, rejects)
    commit(ds, "u1", docs, rejects, fates1)
    fates2 = [CaptureFate("src/dup.txt", f"{1:064x}", "duplicate", f"{1:032x}")]
    commit(ds, "u2", [], [reject_row(2, reason="duplicate", duplicate_of=f"{1:032x}")], fates2)

    assert ds.has_unit("u1") and ds.has_unit("u2")
    assert not ds.has_unit("u3")
    assert ds.fates() == fates1 + fates2
    # a fresh Dataset object on the same folder sees the same thing (state is on disk)
    again = Dataset(str(tmp_path)).open()
    assert again.fates() == fates1 + fates2
    assert again.has_unit("u1")


def test_manifest_entry_records_files_and_captures(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    docs, rejects = [document_row(7)], [reject_row(7)]
    commit(ds, "unit-a", docs, rejects, fates_for(docs, rejects))
    entry = json.loads((tmp_path / "_manifest" / "unit-a.json").read_text(encoding="utf-8"))
    assert entry["unit"] == "unit-a"
    assert sorted(entry["files"]) == ["documents/part-unit-a-0.parquet", "rejects/part-unit-a.parquet"]
    assert entry["captures"] == [
        [docs[0]["source"], docs[0]["capture_sha256"], "document", docs[0]["id"]],
        [rejects[0]["source"], rejects[0]["capture_sha256"], "rejected", None],
    ]


def test_commit_with_only_rejects_writes_no_documents_part(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    rejects = [reject_row(1)]
    result = commit(ds, "u-rej", [], rejects, fates_for([], rejects))
    assert result == ["rejects/part-u-rej.parquet"]
    assert visible_parquet(tmp_path, "documents") == []
    assert read_rows(tmp_path, "rejects") == rejects
    assert ds.has_unit("u-rej")


def test_no_tmp_files_remain_after_commit(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    docs, rejects = [document_row(1), document_row(2)], [reject_row(1)]
    commit(ds, "u1", docs, rejects, fates_for(docs, rejects))
    assert tmp_files(tmp_path) == []
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*"))
    assert read_rows(tmp_path, "documents") == docs


def test_commits_from_several_units_are_all_visible(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    all_docs = []
    for u in range(3):
        docs = [document_row(10 * u + i) for i in range(2)]
        commit(ds, f"u{u}", docs, [], fates_for(docs, []))
        all_docs += docs
    rows = read_rows(tmp_path, "documents")
    assert sorted(r["id"] for r in rows) == sorted(d["id"] for d in all_docs)
    assert len(ds.fates()) == 6


# --------------------------------------------------------------------------- crash recovery


def _write_temp_parts(
    root: Path, unit: str, docs: list[dict[str, Any]], rejects: list[dict[str, Any]]
) -> None:
    """What commit_unit does before its commit point: part files under hidden temporary names."""
    if docs:
        pq.write_table(
            pa.Table.from_pylist(docs, schema=DOCUMENT_SCHEMA),
            root / "documents" / f".part-{unit}-0.parquet.tmp",
            compression="zstd",
        )
    if rejects:
        pq.write_table(
            pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA),
            root / "rejects" / f".part-{unit}.parquet.tmp",
            compression="zstd",
        )


def _write_manifest(root: Path, unit: str, files: list[str], fates: list[CaptureFate]) -> None:
    entry = {
        "unit": unit,
        "files": files,
        "source_files": [],
        "captures": [[f.source, f.capture_sha256, f.fate, f.id] for f in fates],
        "skipped": {},
    }
    (root / "_manifest" / f"{unit}.json").write_text(json.dumps(entry), encoding="utf-8")


def test_crash_after_commit_point_rolls_forward_on_open(tmp_path: Path) -> None:
    Dataset(str(tmp_path)).open()  # creates the folders
    docs, rejects = [document_row(1), document_row(2)], [reject_row(1)]
    fates = fates_for(docs, rejects)
    _write_temp_parts(tmp_path, "u1", docs, rejects)
    _write_manifest(tmp_path, "u1", ["documents/part-u1-0.parquet", "rejects/part-u1.parquet"], fates)
    # before recovery the temp parts are invisible to readers
    assert read_rows(tmp_path, "documents") == []

    ds = Dataset(str(tmp_path)).open()

    assert (tmp_path / "documents" / "part-u1-0.parquet").is_file()
    assert (tmp_path / "rejects" / "part-u1.parquet").is_file()
    assert tmp_files(tmp_path) == []
    assert read_rows(tmp_path, "documents") == docs  # each row exactly once
    assert read_rows(tmp_path, "rejects") == rejects
    assert ds.has_unit("u1")
    assert ds.fates() == fates
    # opening again changes nothing
    assert Dataset(str(tmp_path)).open().recover() == []
    assert read_rows(tmp_path, "documents") == docs


def test_crash_halfway_through_renames_rolls_forward(tmp_path: Path) -> None:
    """Documents part already renamed, rejects part still temporary: open() finishes the rest."""
    ds = Dataset(str(tmp_path)).open()
    docs, rejects = [document_row(1)], [reject_row(1)]
    _write_temp_parts(tmp_path, "u1", docs, rejects)
    _write_manifest(
        tmp_path, "u1", ["documents/part-u1-0.parquet", "rejects/part-u1.parquet"], fates_for(docs, rejects)
    )
    (tmp_path / "documents" / ".part-u1-0.parquet.tmp").rename(tmp_path / "documents" / "part-u1-0.parquet")

    actions = ds.recover()

    assert actions == ["finished commit of rejects/part-u1.parquet"]
    assert tmp_files(tmp_path) == []
    assert read_rows(tmp_path, "documents") == docs
    assert read_rows(tmp_path, "rejects") == rejects


def test_crash_before_commit_point_discards_temp_parts_on_open(tmp_path: Path) -> None:
    Dataset(str(tmp_path)).open()
    docs, rejects = [document_row(1)], [reject_row(1)]
    _write_temp_parts(tmp_path, "u1", docs, rejects)
    # the manifest entry was being written but never renamed into place
    (tmp_path / "_manifest" / ".u1.json.tmp").write_text('{"unit": "u1", "files": [', encoding="utf-8")
    assert len(tmp_files(tmp_path)) == 3

    ds = Dataset(str(tmp_path)).open()

    assert tmp_files(tmp_path) == []
    assert visible_parquet(tmp_path, "documents") == []
    assert visible_parquet(tmp_path, "rejects") == []
    assert read_rows(tmp_path, "documents") == []
    assert read_rows(tmp_path, "rejects") == []
    assert not ds.has_unit("u1")
    assert ds.fates() == []


def test_recovery_leaves_other_committed_units_alone(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    committed = [document_row(1)]
    commit(ds, "good", committed, [], fates_for(committed, []))
    _write_temp_parts(tmp_path, "orphan", [document_row(2)], [])

    Dataset(str(tmp_path)).open()

    assert read_rows(tmp_path, "documents") == committed
    assert tmp_files(tmp_path) == []
    assert ds.fates() == fates_for(committed, [])


# --------------------------------------------------------------------------- failed commits


def test_document_row_missing_required_id_fails_and_leaves_nothing(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    bad = document_row(1)
    del bad["id"]  # `id` is non-nullable
    with pytest.raises(pa.ArrowInvalid):
        commit(ds, "u-bad", [bad], [reject_row(1)], fates_for([], [reject_row(1)]))
    assert visible_parquet(tmp_path, "documents") == []
    assert visible_parquet(tmp_path, "rejects") == []
    assert not (tmp_path / "_manifest" / "u-bad.json").exists()
    assert not ds.has_unit("u-bad")
    assert ds.fates() == []
    Dataset(str(tmp_path)).open()
    assert tmp_files(tmp_path) == []


def test_bad_reject_row_after_good_documents_leaves_nothing_visible(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    docs = [document_row(1)]
    bad_reject = reject_row(1, reason=None)  # `reason` is non-nullable
    with pytest.raises(pa.ArrowInvalid):
        commit(ds, "u-bad", docs, [bad_reject], fates_for(docs, [bad_reject]))
    # the documents part may have been written under its temporary name, but nothing is visible
    assert visible_parquet(tmp_path, "documents") == []
    assert visible_parquet(tmp_path, "rejects") == []
    assert read_rows(tmp_path, "documents") == []
    assert not ds.has_unit("u-bad")
    # and the next open() cleans up whatever the failed commit left
    Dataset(str(tmp_path)).open()
    assert tmp_files(tmp_path) == []
    assert read_rows(tmp_path, "documents") == []


def test_wrong_type_in_document_row_raises(tmp_path: Path) -> None:
    ds = Dataset(str(tmp_path)).open()
    bad = document_row(1, n_chars_raw="many")
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        commit(ds, "u-bad", [bad], [], fates_for([bad], []))
    assert visible_parquet(tmp_path, "documents") == []
    assert not ds.has_unit("u-bad")


def test_the_content_index_answers_as_a_dict_of_first_sources_would() -> None:
    """Membership, first source, length and iteration match a plain dict built from the same manifest entries,
    including digests that share their first 8 bytes and hashes recorded again in later entries."""
    import hashlib
    import random

    from flows.dataset import ContentIndex

    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]
    shas += [shas[0][:16] + hashlib.sha256(b"tail %d" % i).hexdigest()[16:] for i in range(6)]  # same first word
    entries: dict[str, dict[str, Any]] = {}
    index = ContentIndex(lambda path: entries[path])
    expected: dict[str, str] = {}
    rng = random.Random(7)
    for number in range(9):
        captures = [[f"archive-{number}#{k}", rng.choice(shas), rng.choice(["document", "rejected", "duplicate"]),
                     "id"] for k in range(300)]
        entries[f"entry-{number}"] = {"captures": captures}
        for source, sha, fate, _ in captures:
            if fate != "duplicate":
                expected.setdefault(sha, source)
        if number % 3 == 2:  # as units commit in between: the index is extended, not rebuilt
            index.add_entries((path, entries[path]["captures"]) for path in sorted(entries)
                              if path not in index.entries_read)
            for sha in shas:
                assert (sha in index) == (sha in expected)
                if sha in expected:
                    assert index[sha] == expected[sha]
    assert len(index) == len(expected) and sorted(index) == sorted(expected)
    assert "not a hash" not in index and "ff" * 32 not in index
