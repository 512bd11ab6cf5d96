"""docs/for-nlp-teams.md runs as written: every command and snippet, each Python output exactly as shown.

The page's first command builds `output/` from the sample captures in a scratch folder (through
the real Prefect engine); every later block runs there, as a reader following the page would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.dataset import DOCUMENT_SCHEMA, REJECT_SCHEMA

from .conftest import ROOT, SEEDS

DOC = ROOT / "docs" / "for-nlp-teams.md"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def blocks() -> list[tuple[str, str]]:
    """The page's fenced blocks, in order: (language, body)."""
    return [(m[1], m[2]) for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def python_snippets() -> list[tuple[str, str]]:
    """Each Python block with the `text` block right after it: what it must print."""
    found = []
    page = blocks()
    for i, (lang, body) in enumerate(page):
        if lang == "python":
            assert i + 1 < len(page) and page[i + 1][0] == "text", f"no output shown after:\n{body}"
            found.append((body, page[i + 1][1]))
    return found


def snippet_id(snippet: tuple[str, str]) -> str:
    body = snippet[0]
    for name in ("pyspark", "polars", "duckdb", "datasets", "pandas", "rebuild", "capture_id"):
        if name in body:
            return name
    return body.splitlines()[0]


def needs_java() -> bool:
    """Whether the Spark snippet may run: a `java` binary exists (CI installs one and insists)."""
    if shutil.which("java"):
        return True
    if os.environ.get("BOILERSTRIP_REQUIRE_JAVA") == "1":
        pytest.fail("BOILERSTRIP_REQUIRE_JAVA=1 but no java binary on PATH")
    return False


def run_env(tmp: Path, prefect_engine: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # `boilerstrip` as installed
        "PREFECT_API_URL": prefect_engine,
        "HF_HOME": str(tmp / "hf-home"),  # keep Hugging Face's cache out of the user's home
        # A short-lived JVM: skip the optimising compiler (Spark starts in ~12 s instead of ~20 s here).
        "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }


@pytest.fixture(scope="module")
def workdir(prefect_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder holding seeds/ and the output/ the page's first command builds."""
    work = tmp_path_factory.mktemp("docs")
    shutil.copytree(SEEDS, work / "seeds")
    lang, first = blocks()[0]
    assert lang == "bash" and first.strip() == "boilerstrip ingest seeds/ --out output/"
    built = subprocess.run(["bash", "-euo", "pipefail", "-c", first], cwd=work, capture_output=True, text=True,
                           env=run_env(work, prefect_engine), timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    assert list((work / "output" / "documents").glob("*.parquet")), "the ingest wrote no documents"
    return work


@pytest.mark.parametrize("snippet", python_snippets(), ids=snippet_id)
def test_python_snippet_prints_what_the_page_shows(snippet: tuple[str, str], workdir: Path,
                                                   prefect_engine: str) -> None:
    code, shown = snippet
    if "pyspark" in code and not needs_java():
        pytest.skip("no java binary: the Spark snippet needs a Java runtime")
    result = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True,
                            env=run_env(workdir, prefect_engine), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # Exactly as shown, but for trailing blank lines (Spark's show() ends with one).
    assert result.stdout.rstrip("\n") == shown.rstrip("\n"), result.stdout


def test_every_loader_named_in_the_brief_has_a_snippet() -> None:
    names = {snippet_id(s) for s in python_snippets()}
    assert {"pandas", "polars", "duckdb", "pyspark", "datasets", "rebuild", "capture_id"} <= names


def test_shell_commands_run(workdir: Path, prefect_engine: str) -> None:
    """Every later bash block, in order (the screenshot one only where Chromium is installed)."""
    for lang, body in blocks()[1:]:
        if lang != "bash":
            continue
        if body.startswith("chromium") and shutil.which("chromium") is None:
            continue
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=workdir, capture_output=True,
                                text=True, env=run_env(workdir, prefect_engine), timeout=600)
        assert result.returncode == 0, (body, result.stderr[-3000:])
    assert "Become a Patron!" in (workdir / "row.html").read_text(encoding="utf-8")
    assert (workdir / "output-description.json").stat().st_size > 0
    if shutil.which("chromium"):
        assert (workdir / "row.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def documented_columns(heading: str) -> list[str]:
    """The column names in the first table after a line starting with `heading`."""
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index(heading):]
    table = after[after.index("\n|"):].split("\n\n", 1)[0]
    return [m[1] for m in re.finditer(r"^\| `(\w+)` \|", table, re.M)]


def test_every_column_is_documented() -> None:
    assert documented_columns("## The columns of `documents`") == DOCUMENT_SCHEMA.names
    assert documented_columns("The `rejects` table") == REJECT_SCHEMA.names
