"""The architecture stays as drawn: pure cleaners, thin I/O flows, linted and typed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

BIN = Path(sys.executable).parent


# Pure modules of packages that otherwise do I/O: splitting a URL string fetches nothing.
PURE_SUBMODULES = {"urllib.parse"}


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Top-level module names each Python file of a folder imports (pure submodules left out)."""
    out: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names if alias.name not in PURE_SUBMODULES}
            elif (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                  and node.module not in PURE_SUBMODULES):
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


def test_cleaners_import_no_prefect_no_flows_no_io_libraries() -> None:
    forbidden = {"prefect", "flows", "pyarrow", "fsspec", "requests", "urllib", "socket", "subprocess", "os"}
    for path, names in imported_modules(ROOT / "cleaners").items():
        assert not names & forbidden, f"{path} imports {sorted(names & forbidden)}"


def test_flows_hold_no_regexes_or_parsing() -> None:
    forbidden = {"re", "re2", "regex", "bs4", "lxml", "trafilatura", "ftfy", "charset_normalizer"}
    for path, names in imported_modules(ROOT / "flows").items():
        assert not names & forbidden, f"{path} imports {sorted(names & forbidden)}: parsing belongs in cleaners/"


@pytest.mark.parametrize("command", [
    ["ruff", "check", "cleaners", "flows", "tests"],
    ["mypy"],  # configured in pyproject.toml: --strict on cleaners/
])
def test_lint_and_types(command: list[str]) -> None:
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
