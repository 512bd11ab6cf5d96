"""The dataset opens as is with the readers NLP teams use: pyarrow, pandas, polars, DuckDB, HF datasets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from flows.dataset import DOCUMENT_SCHEMA


def test_pyarrow_reads_with_the_declared_schema(seed_dataset: tuple[Path, dict]) -> None:
    out, _ = seed_dataset
    table = pq.read_table(out / "documents")
    assert table.schema.equals(DOCUMENT_SCHEMA, check_metadata=False)
    assert table.num_rows == 2


def test_pandas_reads(seed_dataset: tuple[Path, dict]) -> None:
    out, _ = seed_dataset
    frame = pd.read_parquet(out / "documents")
    assert len(frame) == 2 and set(frame["site_name"]) == {"Euromaidan Press", "Washington Examiner"}
    assert frame["captured_at"].isna().all()
    assert str(frame["ingested_at"].dtype).startswith("datetime64[us, UTC]")


def test_polars_reads(seed_dataset: tuple[Path, dict]) -> None:
    out, _ = seed_dataset
    frame = pl.read_parquet(str(out / "documents" / "*.parquet"))
    assert frame.height == 2
    removed = frame.select(pl.col("removed").explode().struct.field("category")).to_series().to_list()
    assert "donation_appeal" in removed and "promo" in removed


def test_duckdb_reads(seed_dataset: tuple[Path, dict]) -> None:
    out, _ = seed_dataset
    rows = duckdb.sql(f"SELECT title, len(removed) FROM '{out}/documents/**/*.parquet' ORDER BY title").fetchall()
    assert rows[0][0] == "Hegseth rebukes concerns of Trump-Putin negotiations" and rows[0][1] == 3


def test_hugging_face_datasets_loads(seed_dataset: tuple[Path, dict], tmp_path: Path) -> None:
    from datasets import load_dataset

    ds = load_dataset("parquet", data_files=str(out_glob(seed_dataset[0])), split="train",
                      cache_dir=str(tmp_path / "hf-cache"))
    assert ds.num_rows == 2
    assert set(ds["site_name"]) == {"Euromaidan Press", "Washington Examiner"}
    first = ds[0]
    assert isinstance(first["removed"], list)
    assert {"start", "end", "category", "rule", "text"} <= set(first["removed"][0])


def out_glob(out: Path) -> Path:
    return out / "documents" / "*.parquet"
