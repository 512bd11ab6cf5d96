"""The `boilerstrip` console script as a user runs it: stdout for data, stderr for logs, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cleaners import cleaner_version

from .conftest import FIXTURES, SEEDS

SEED = SEEDS / "000_63e65c16875cff2e.txt"


def boilerstrip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "boilerstrip"  # the installed console script
    assert exe.exists(), f"console script not installed at {exe}"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def test_version_and_help() -> None:
    version = boilerstrip("--version")
    assert version.returncode == 0 and cleaner_version() in version.stdout
    helped = boilerstrip("--help")
    assert helped.returncode == 0 and "ingest" in helped.stdout and "clean" in helped.stdout
    for command in ("ingest", "clean"):
        sub = boilerstrip(command, "--help")
        assert sub.returncode == 0 and "usage: boilerstrip " + command in sub.stdout


def test_usage_errors_exit_2() -> None:
    assert boilerstrip().returncode == 2
    assert boilerstrip("frobnicate").returncode == 2
    missing = boilerstrip("clean", "/nonexistent/capture.txt")
    assert missing.returncode == 2 and "no such file" in missing.stderr and missing.stdout == ""
    assert boilerstrip("ingest", "/nonexistent/folder").returncode == 2


def test_clean_prints_the_kept_text() -> None:
    result = boilerstrip("clean", str(SEED))
    assert result.returncode == 0
    gold = (FIXTURES / "seeds" / f"{SEED.stem}.gold.txt").read_text(encoding="utf-8")
    assert result.stdout.strip() == gold.strip()


def test_clean_explain_lists_every_removal() -> None:
    result = boilerstrip("clean", str(SEED), "--explain")
    assert result.returncode == 0
    out = result.stdout
    assert "title:       US Defense Secretary Pete Hegseth" in out
    assert "site_name:   Euromaidan Press" in out
    for category, rule in (("donation_appeal", "donation_appeal.support_paragraph"),
                           ("adblock_notice", "adblock_notice.disable_request_paragraph"),
                           ("photo_caption", "photo_caption.credit_suffix")):
        assert f"{category} ({rule})" in out
    assert "Become a Patron!" in out


def test_clean_json_round_trips() -> None:
    result = boilerstrip("clean", str(SEED), "--json")
    data = json.loads(result.stdout)
    assert data["site_name"] == "Euromaidan Press"
    assert {r["category"] for r in data["removed"]} >= {"headline", "donation_appeal"}


def test_clean_rejected_capture_exits_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = boilerstrip("clean", str(empty))
    assert result.returncode == 1
    assert "rejected (empty)" in result.stderr and result.stdout == ""


def test_ingest_command_writes_the_dataset(prefect_engine: str, tmp_path: Path) -> None:
    src = tmp_path / "seeds"
    shutil.copytree(SEEDS, src)
    out = tmp_path / "out"
    result = boilerstrip("ingest", str(src), "--out", str(out), "--json", env={"PREFECT_API_URL": prefect_engine})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout holds the data only; logs went to stderr
    assert summary["documents"] == 2 and summary["balanced"] is True
    assert "Finished in state Completed" in result.stderr
    [(n,)] = duckdb.sql(f"SELECT count(*) FROM '{out}/documents/**/*.parquet'").fetchall()
    assert n == 2
    table = boilerstrip("ingest", str(src), "--out", str(out), env={"PREFECT_API_URL": prefect_engine})
    assert table.returncode == 0 and "already" in table.stdout and "balanced" in table.stdout


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_ingest_rejects_bad_batch_size(bad: str) -> None:
    result = boilerstrip("ingest", str(SEEDS), "--batch-size", bad)
    assert result.returncode == 2 and "--batch-size" in result.stderr


def test_python_api_names_are_the_functions_even_after_their_modules_are_imported() -> None:
    import types

    import flows.evaluate
    import flows.explanation
    import flows.ingest
    import flows.inspection  # importing a submodule must not shadow an API function
    from flows import api

    for name in api.__all__:
        function = getattr(api, name)
        assert callable(function) and not isinstance(function, types.ModuleType), name
    assert api.ingest is flows.ingest.ingest and api.inspect is flows.inspection.inspect_dataset
    assert api.explain is flows.explanation.explain and api.evaluate is flows.evaluate.evaluate_folder
