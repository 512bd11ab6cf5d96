"""`boilerstrip explain`: gather one capture's explanation, from a capture file or a dataset row, and show it.

A capture file is cleaned afresh; a dataset row is explained from what it stores (kept text plus the
`removed` spans rebuild the decoded capture exactly), so no capture file is needed for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cleaners import Config, Pipeline, Rejection, Removal, cleaner_version, rebuild, rules_version
from cleaners.explain import Explanation, category_colour, counts_by_category, pieces
from flows.dataset import DOCUMENTS_DIR, MANIFEST_DIR, committed_parts
from flows.sources import ReadLimits, capture_id, read_capture_file


class DocumentNotFound(LookupError):
    """No document (or more than one, for an id prefix) in the dataset matches the id asked for."""


def is_dataset(path: str | Path) -> bool:
    """Whether a folder looks like a boilerstrip dataset (it has documents/ or _manifest/)."""
    root = Path(path)
    return root.is_dir() and ((root / DOCUMENTS_DIR).is_dir() or (root / MANIFEST_DIR).is_dir())


def explain_capture(path: str | Path, config: Config | None = None) -> Explanation | Rejection:
    """Clean one capture file and explain the result (or say why the capture was rejected)."""
    path = Path(path)
    cfg = config or Config()
    capture = read_capture_file(path, ReadLimits.of(cfg))
    if isinstance(capture, Rejection):
        return capture
    assert capture.data is not None
    sha = capture.sha256
    result = Pipeline(cfg).clean_bytes(capture.data, capture.content_kind, capture.charset, capture.url)
    if isinstance(result, Rejection):
        return result
    return Explanation(
        text=rebuild(result.text, result.removed),
        removed=result.removed,
        title=result.title,
        description=result.description,
        site_name=result.site_name,
        language=result.language,
        flags=result.flags,
        source=str(path),
        details=(
            ("id", capture_id(sha)),
            ("capture sha256", sha),
            ("cleaned by", f"boilerstrip {cleaner_version()}, {rules_version()} (now)"),
        ),
    )


def find_document(dataset: str | Path, doc_id: str) -> dict[str, Any]:
    """The dataset's document row whose id is `doc_id`, or the one row whose id starts with it."""
    documents = Path(dataset) / DOCUMENTS_DIR
    if not documents.is_dir():
        raise DocumentNotFound(f"no documents folder in {dataset}")
    rows: list[dict[str, Any]] = []
    # File by file, reading the id column first (pyarrow.dataset would also import pandas: seconds).
    for path in committed_parts(documents):
        parquet = pq.ParquetFile(path)
        hits = pc.indices_nonzero(pc.starts_with(parquet.read(columns=["id"]).column("id"), pattern=doc_id))
        if len(hits):
            rows += _plain_rows(parquet.read().take(hits))
    exact = [row for row in rows if row["id"] == doc_id]
    if exact:
        return exact[0]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise DocumentNotFound(f"no document with id {doc_id!r} in {dataset}")
    raise DocumentNotFound(f"id prefix {doc_id!r} matches {len(rows)} documents in {dataset}; give more of it")


def _plain_rows(table: pa.Table) -> list[dict[str, Any]]:
    # Timestamps as ISO text: turning a zoned Arrow timestamp into Python imports pandas (seconds).
    for i, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type):
            as_text = pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%S%z")
            table = table.set_column(i, column.name, as_text)
    return table.to_pylist()  # type: ignore[no-any-return]


def explain_row(row: dict[str, Any]) -> Explanation:
    """Explain a stored document row: its `text` and `removed` spans rebuild the decoded capture."""
    removed = tuple(
        Removal(int(r["start"]), int(r["end"]), r["category"], r["rule"], r["text"])
        for r in sorted(row["removed"], key=lambda r: r["start"])
    )
    details = [("id", row["id"]), ("url", row.get("url")), ("captured at", row.get("captured_at"))]
    details += [
        ("ingested at", row.get("ingested_at")),
        ("capture sha256", row.get("capture_sha256")),
        ("cleaned by", f"boilerstrip {row.get('boilerstrip_version')}, {row.get('rules_version')}"),
        ("cleaner now", _cleaner_now(row)),
        ("flow run", row.get("flow_run_id")),
    ]
    return Explanation(
        text=rebuild(row["text"], removed),
        removed=removed,
        title=row.get("title"),
        description=row.get("description"),
        site_name=row.get("site_name"),
        language=row.get("language"),
        flags=tuple(row.get("flags") or ()),
        source=str(row.get("source", "")),
        details=tuple((name, "" if value is None else str(value)) for name, value in details),
    )


def _cleaner_now(row: dict[str, Any]) -> str:
    """Whether today's cleaner is the one that made the row: the same code and rules give the same row again."""
    now = (cleaner_version(), rules_version())
    if (row.get("boilerstrip_version"), row.get("rules_version")) == now:
        return "the same code and rules"
    return f"boilerstrip {now[0]}, {now[1]}: other code or rules, so cleaning the capture again may give another row"


def explain(target: str | Path, doc_id: str | None = None, config: Config | None = None) -> Explanation | Rejection:
    """Python API of `boilerstrip explain`: a capture file, or with `doc_id` a row of the dataset at `target`."""
    if doc_id is not None:
        return explain_row(find_document(target, doc_id))
    return explain_capture(target, config)


# --- the terminal report -------------------------------------------------------------------------


def _tag(removal: Removal) -> str:
    # Rule ids already start with their category ("promo.click_here"); name the category only when not.
    if removal.rule.startswith(removal.category + "."):
        return removal.rule
    return f"{removal.category}: {removal.rule}"


def print_text_report(explanation: Explanation, file: TextIO | None = None) -> None:
    """Write the report for a terminal: colours and strike-through on a TTY, `[-cut-]{rule}` marks otherwise."""
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    out = file or sys.stdout
    console = Console(file=out, highlight=False, markup=False, emoji=False, soft_wrap=True)
    styled = console.is_terminal and console.color_system is not None and not console.no_color
    # Plain output is written as is: rich would expand tabs, and the capture must stay character-exact.
    report = Text()

    def emit(text: str, style: Style | None = None) -> None:
        if styled:
            report.append(text, style=style)
        else:
            out.write(text)

    e = explanation
    total = len(e.text)
    share = e.chars_removed / total if total else 0.0
    header = [
        ("source", e.source),
        ("title", e.title),
        ("site name", e.site_name),
        ("description", e.description),
        ("language", e.language),
        ("flags", ", ".join(e.flags)),
        *e.details,
        ("removed", f"{len(e.removed)} spans, {e.chars_removed} of {total} characters ({share:.1%})"),
    ]
    for name, value in header:
        emit(f"{name + ':':<16}{value or '-'}\n")
    if e.guard_fired:
        emit("the over-deletion guard fired: the capture was kept whole\n", Style(color="red", bold=True))

    counts = counts_by_category(e.removed)
    if counts:
        emit(f"\n{'category':<20}{'spans':>6}{'chars':>8}  rules\n")
        for c in counts:
            emit(f"{c.category:<20}", Style(color=category_colour(c.category), bold=True))
            emit(f"{c.spans:>6}{c.chars:>8}  " + ", ".join(f"{rule} ×{n}" for rule, n in c.rules) + "\n")
    how = "struck through in their category's colour" if styled else "marked [-like this-]{rule}"
    emit(f"\n--- the capture, removed spans {how} ---\n")

    for piece, removal in pieces(e.text, e.removed):
        if removal is None:
            emit(piece)
            continue
        # Marks and styles wrap the words of a cut, not the line breaks it took along.
        core = piece.strip()
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(lead) + len(core) :]
        emit(lead)
        colour = category_colour(removal.category)
        if styled:
            emit(core, Style(color=colour, strike=True))
            emit(f" ⟨{_tag(removal)}⟩", Style(color=colour, dim=True, italic=True))
        else:
            emit(f"[-{core}-]{{{_tag(removal)}}}")
        emit(trail)
    if not e.text.endswith("\n"):
        emit("\n")
    if styled:
        console.print(report, end="")
    else:
        out.flush()
