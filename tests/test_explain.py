"""`boilerstrip explain`: the HTML report and the terminal report show exactly what was kept and cut, and why."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from cleaners import CleanResult, Decoded, Removal
from cleaners.decode import decode_capture
from cleaners.explain import (
    CATEGORY_COLOURS,
    Explanation,
    category_colour,
    check_removals,
    counts_by_category,
    escape_markdown,
    link_free,
    pieces,
    render_html,
    tint,
)
from cleaners.model import ALL_CATEGORIES
from cleaners.pipeline import OVERDELETION_FLAG
from flows.cli import clean_file
from flows.dataset import Dataset, UnitRecord
from flows.explanation import explain, explain_capture

from .conftest import SEEDS
from .test_cli import boilerstrip

SEED = SEEDS / "000_63e65c16875cff2e.txt"
SEED_ID = "d1634e3af0ca67012f55fb642aa8e804"  # boilerstrip-capture-v1 id of SEED's bytes


class ReportReader(HTMLParser):
    """Reads back what a report shows: the capture's text, its struck spans, the legend and the CSS."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.capture: list[str] = []
        self.cuts: list[dict[str, str]] = []  # attributes of each <del> in the capture, plus its text
        self.legend_rows: list[dict[str, str | None]] = []
        self.css = ""
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("meta", "input", "br"):  # void elements
            return
        self.stack.append((tag, a))
        if tag == "del" and self._in_capture():
            self.cuts.append({k: v or "" for k, v in a.items()} | {"text": ""})
        if tag == "tr" and "data-category" in a:
            self.legend_rows.append(a)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] == "style":
            self.css += data
        if self._in_capture():
            self.capture.append(data)
            if self.stack[-1][0] == "del":
                self.cuts[-1]["text"] += data

    def _in_capture(self) -> bool:
        return any(tag == "div" and a.get("id") == "capture" for tag, a in self.stack)


def read_report(page: str) -> ReportReader:
    reader = ReportReader()
    reader.feed(page)
    reader.close()
    return reader


def seed_explanation() -> Explanation:
    result = explain_capture(SEED)
    assert isinstance(result, Explanation), result
    return result


def decoded_seed() -> str:
    decoded = decode_capture(SEED.read_bytes(), 10**8)
    assert isinstance(decoded, Decoded), decoded
    return decoded.text


# --- colours ----------------------------------------------------------------------------------


def test_every_known_category_has_its_own_fixed_colour() -> None:
    assert set(CATEGORY_COLOURS) == set(ALL_CATEGORIES)
    assert len(set(CATEGORY_COLOURS.values())) == len(CATEGORY_COLOURS)
    for category in ALL_CATEGORIES:
        assert category_colour(category) == CATEGORY_COLOURS[category]


def test_unknown_categories_get_a_stable_colour_of_their_own() -> None:
    first = category_colour("some_future_category")
    assert re.fullmatch(r"#[0-9a-f]{6}", first)
    # Same in a fresh interpreter (Python's own hash() is salted per process; ours must not be).
    again = subprocess.run([sys.executable, "-c", "from cleaners.explain import category_colour as c;"
                            "print(c('some_future_category'))"], capture_output=True, text=True, check=True)
    assert again.stdout.strip() == first
    others = {category_colour(f"custom_{i}") for i in range(20)}
    assert len(others) >= 15  # spread over the hues, not one colour for all


def test_tint_mixes_towards_white() -> None:
    assert tint("#000000", 0.25) == "#bfbfbf"
    assert tint("#ff0000", 1.0) == "#ff0000"
    assert tint("#336699", 0.0) == "#ffffff"


# --- pure data: pieces, counts, checks ----------------------------------------------------------


def test_pieces_cover_the_text_in_order_and_mark_each_cut() -> None:
    e = seed_explanation()
    parts = pieces(e.text, e.removed)
    assert "".join(text for text, _ in parts) == e.text
    assert [r for _, r in parts if r is not None] == list(e.removed)
    assert all(text == r.text for text, r in parts if r is not None)


def test_counts_by_category_follow_the_pipeline_order() -> None:
    e = seed_explanation()
    counts = counts_by_category(e.removed)
    assert [c.category for c in counts] == [c for c in ALL_CATEGORIES if any(r.category == c for r in e.removed)]
    by = {c.category: c for c in counts}
    assert by["photo_caption"].spans == 2 and by["photo_caption"].rules == (("photo_caption.credit_suffix", 2),)
    assert by["correction_notice"].spans == 3
    assert sum(c.chars for c in counts) == e.chars_removed == sum(r.end - r.start for r in e.removed)


@pytest.mark.parametrize("bad", [
    [Removal(0, 5, "x", "x.r", "Hello"), Removal(3, 8, "x", "x.r", "lo wo")],  # overlap
    [Removal(6, 11, "x", "x.r", "world"), Removal(0, 5, "x", "x.r", "Hello")],  # unsorted
    [Removal(6, 40, "x", "x.r", "world")],  # out of bounds
    [Removal(0, 5, "x", "x.r", "Howdy")],  # claims other text
])
def test_removals_that_do_not_fit_the_text_are_refused(bad: list[Removal]) -> None:
    with pytest.raises(ValueError):
        check_removals("Hello world", bad)
    with pytest.raises(ValueError):
        Explanation("Hello world", tuple(bad))


# --- the HTML page ------------------------------------------------------------------------------


def test_html_report_shows_exactly_the_capture_with_every_cut_struck() -> None:
    e = seed_explanation()
    report = read_report(render_html(e))
    assert "".join(report.capture) == e.text == decoded_seed()
    assert [(c["data-category"], c["data-rule"], c["text"]) for c in report.cuts] == [
        (r.category, r.rule, r.text) for r in e.removed]
    for cut, removal in zip(report.cuts, e.removed, strict=True):
        assert removal.rule in cut["title"] and f"[{removal.start}:{removal.end}]" in cut["title"]


def test_html_report_colours_each_category_and_explains_rules_on_hover() -> None:
    page = render_html(seed_explanation())
    report = read_report(page)
    colour_of_class = {m[1]: m[2] for m in re.finditer(r"\.(k\d+) \{ color: (#[0-9a-f]{6});", report.css)}
    for cut in report.cuts:
        assert colour_of_class[cut["class"]] == category_colour(cut["data-category"])
    appeal = next(c for c in report.cuts if c["data-category"] == "donation_appeal")
    assert "Become a Patron!" in appeal["text"]
    # The tooltip carries the rule's own description from its rule file.
    assert "donation_appeal.support_paragraph" in appeal["title"] and len(appeal["title"].splitlines()) == 2
    assert "text-decoration: line-through" in report.css
    # Legend: one row per category present, with its spans.
    assert [row["data-category"] for row in report.legend_rows] == [
        "site_name", "headline", "standfirst", "photo_caption", "donation_appeal", "adblock_notice",
        "correction_notice", "related_links"]
    assert "US Defense Secretary Pete Hegseth rejects suggestions of early concessions to Putin" in page
    assert "Euromaidan Press" in page and "Hegseth noted that" in page
    assert "1711 of 5339 characters (32.0%) removed" in page


def test_html_report_is_self_contained() -> None:
    page = render_html(seed_explanation())
    report = read_report(page)
    lowered = page.lower()
    for needle in ("http://", "https://", "//fonts", "@import", "url(", "<script", "<link", "<img", "<iframe"):
        assert needle not in lowered, needle
    assert not [attrs for _, attrs in report.tags if "src" in attrs or "href" in attrs]
    csp = [a for tag, a in report.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")


def test_html_report_escapes_whatever_the_capture_and_dataset_hold() -> None:
    text = "<script>alert('x')</script> & \"quotes\"\n<b>Subscribe</b> now <img src=x onerror=alert(1)>\n"
    start = text.index("<b>")
    end = text.index("\n", start)
    hostile = Removal(start, end, 'cat"><script>', "r'1\"<x>", text[start:end])
    e = Explanation(text, (hostile,), title="<i>t</i>", site_name="A & B", flags=("<flag>",), source="<src>")
    page = render_html(e)
    report = read_report(page)
    assert "".join(report.capture) == text
    assert [(c["data-category"], c["data-rule"], c["text"]) for c in report.cuts] == [
        ('cat"><script>', "r'1\"<x>", hostile.text)]
    assert "<script>" not in page and "<img" not in page and "<b>" not in page and "<i>t</i>" not in page
    assert [tag for tag, _ in report.tags if tag in ("script", "img", "b", "i")] == []


def test_html_report_says_when_the_guard_kept_a_capture_whole() -> None:
    text = "Share this article\n\nFacebook\nTwitter\n"
    flagged = Explanation(text, (), flags=(f"{OVERDELETION_FLAG}: cleaning would remove 100.0% of the text",))
    page = render_html(flagged)
    assert 'id="guard"' in page and "Nothing was removed." in page
    assert "".join(read_report(page).capture) == text
    assert 'id="guard"' not in render_html(Explanation(text, ()))


# --- the terminal report --------------------------------------------------------------------------


def test_plain_text_report_marks_every_cut_and_keeps_the_capture_exact() -> None:
    result = boilerstrip("explain", str(SEED))
    assert result.returncode == 0, result.stderr
    header, _, body = result.stdout.partition("--- the capture, removed spans marked [-like this-]{rule} ---\n")
    assert body, result.stdout
    assert "\x1b[" not in result.stdout  # piped: no colour codes
    assert f"id:             {SEED_ID}" in header
    assert "site name:      Euromaidan Press" in header
    assert re.search(r"^donation_appeal\s+1\s+749\s+donation_appeal.support_paragraph ×1$", header, re.M)
    assert "Become a Patron!-]{donation_appeal.support_paragraph}" in body
    assert "[-US Defense Secretary Pete Hegseth, photo via Wikimedia.-]{photo_caption.credit_suffix}" in body
    assert "Thank you!-]{adblock_notice.disable_request_paragraph}" in body
    # Taking the marks away gives back the decoded capture, character for character (the report
    # ends with a line break, which this capture lacks).
    unmarked = re.sub(r"\[-(.*?)-\]\{[^{}]*\}", r"\1", body, flags=re.S)
    assert not decoded_seed().endswith("\n")
    assert unmarked == decoded_seed() + "\n"


def run_in_terminal(*args: str) -> str:
    """Run the console script with stdout on a pseudo-terminal, as a user at a terminal would."""
    exe = Path(sys.executable).parent / "boilerstrip"
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")}
    proc = subprocess.Popen([str(exe), *args], stdout=follower, stderr=subprocess.PIPE,
                            env={**env, "TERM": "xterm-256color", "COLUMNS": "120"})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the pty closes when the child exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=600) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8")


def test_text_report_on_a_terminal_uses_colours_and_strike_through() -> None:
    out = run_in_terminal("explain", str(SEED))
    assert "\x1b[9;" in out  # strike-through
    assert "[-" not in out and "-]{" not in out  # no plain marks on a terminal
    assert "struck through in their category's colour" in out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "Become a Patron! ⟨donation_appeal.support_paragraph⟩" in plain


# --- the command line ---------------------------------------------------------------------------


def test_explain_html_writes_the_report_file(tmp_path: Path) -> None:
    target = tmp_path / "x.html"
    result = boilerstrip("explain", str(SEED), "--html", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and f"wrote {target}" in result.stderr
    assert target.read_text(encoding="utf-8") == render_html(seed_explanation())  # as the Python API gives
    cuts = {c["data-category"]: c["text"] for c in read_report(target.read_text(encoding="utf-8")).cuts}
    assert "Become a Patron!" in cuts["donation_appeal"]
    assert "photo via Wikimedia." in cuts["photo_caption"]
    assert "disabling your ad blocker" in cuts["adblock_notice"]


def test_explain_format_html_prints_the_page() -> None:
    result = boilerstrip("explain", str(SEED), "--format", "html")
    assert result.returncode == 0 and result.stdout.startswith("<!DOCTYPE html>")
    assert "".join(read_report(result.stdout).capture) == decoded_seed()


def test_explain_usage_and_failures(tmp_path: Path) -> None:
    assert boilerstrip("explain").returncode == 2
    missing = boilerstrip("explain", "/nonexistent/capture.txt")
    assert missing.returncode == 2 and "no such file" in missing.stderr and missing.stdout == ""
    assert boilerstrip("explain", str(SEED), "--id", "abc").returncode == 2
    assert boilerstrip("explain", str(tmp_path)).returncode == 2  # a folder that is no dataset
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    rejected = boilerstrip("explain", str(empty))
    assert rejected.returncode == 1 and "rejected (empty)" in rejected.stderr
    unwritable = boilerstrip("explain", str(SEED), "--html", str(tmp_path / "no" / "such" / "dir.html"))
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr


# --- from a dataset row ----------------------------------------------------------------------------


def test_explain_a_dataset_row_from_its_stored_removals(seed_dataset: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = seed_dataset
    from_row = explain(out, SEED_ID)
    assert isinstance(from_row, Explanation)
    from_file = seed_explanation()
    assert from_row.text == from_file.text and from_row.removed == from_file.removed
    assert (from_row.title, from_row.site_name, from_row.description) == (
        from_file.title, from_file.site_name, from_file.description)
    assert dict(from_row.details)["id"] == SEED_ID
    assert dict(from_row.details)["cleaner now"] == "the same code and rules"  # the dataset was made by this code

    # The command, with an id prefix, on a copy of the row whose capture file no longer exists.
    [row] = pads.dataset(out / "documents", format="parquet").to_table().filter(
        pads.field("id") == SEED_ID).to_pylist()
    row["source"] = str(tmp_path / "gone" / "capture.txt")
    row["boilerstrip_version"] = "0.1.0+code.000000000000"  # as if an earlier cleaner had made it
    commit_rows(Dataset(str(tmp_path / "copy")).open(), [row])
    assert "other code or rules" in dict(explain(tmp_path / "copy", SEED_ID).details)["cleaner now"]
    result = boilerstrip("explain", str(tmp_path / "copy"), "--id", SEED_ID[:8], "--format", "html")
    assert result.returncode == 0, result.stderr
    report = read_report(result.stdout)
    assert "".join(report.capture) == decoded_seed()
    assert [(c["data-category"], c["text"]) for c in report.cuts] == [(r.category, r.text) for r in from_file.removed]
    text = boilerstrip("explain", str(out), "--id", SEED_ID)
    assert text.returncode == 0 and "Become a Patron!-]{donation_appeal.support_paragraph}" in text.stdout


def test_explain_dataset_errors(seed_dataset: tuple[Path, dict]) -> None:
    out, _ = seed_dataset
    no_id = boilerstrip("explain", str(out))
    assert no_id.returncode == 2 and "--id" in no_id.stderr
    unknown = boilerstrip("explain", str(out), "--id", "ffffffffffff")
    assert unknown.returncode == 1 and "no document with id" in unknown.stderr
    ambiguous = boilerstrip("explain", str(out), "--id", "")
    assert ambiguous.returncode == 2


def test_a_row_whose_removals_do_not_fit_its_text_is_refused(seed_dataset: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = seed_dataset
    [row] = pads.dataset(out / "documents", format="parquet").to_table().filter(
        pads.field("id") == SEED_ID).to_pylist()
    row["removed"][3]["text"] = "something that was never in the capture"
    broken = tmp_path / "broken"
    commit_rows(Dataset(str(broken)).open(), [row])
    result = boilerstrip("explain", str(broken), "--id", SEED_ID)
    assert result.returncode == 1 and "cannot explain this row" in result.stderr


def test_python_api_mirrors_the_command() -> None:
    import flows.explanation
    import flows.inspection  # loaded first: the API names must still be the functions, not the modules
    from flows.api import explain as api_explain
    from flows.api import inspect as api_inspect

    assert api_explain is flows.explanation.explain and api_inspect is flows.inspection.inspect_dataset
    assert render_html(api_explain(SEED)) == render_html(seed_explanation())


def test_clean_file_and_explain_agree() -> None:
    cleaned = clean_file(SEED)
    assert isinstance(cleaned, CleanResult)
    e = seed_explanation()
    assert e.removed == cleaned.removed and e.title == cleaned.title


# --- removed text fit to publish (used by the run report) -------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("Read more at https://example.com/a?b=c now", "Read more at ⟨link⟩ now"),
    ("Visit www.example.org/news.", "Visit ⟨link⟩"),
    ("Mail tips@example.co.uk today", "Mail ⟨link⟩ today"),
    ("See example.com/story/1 and ftp://host/x", "See ⟨link⟩ and ⟨link⟩"),
    ("Support us\n\n  on   Patreon.", "Support us on Patreon."),
    ("Mr. Smith went to Washington, D.C. on Friday.", "Mr. Smith went to Washington, D.C. on Friday."),
])
def test_link_free(raw: str, expected: str) -> None:
    assert link_free(raw) == expected


def test_link_free_shortens_and_escape_markdown_neutralises() -> None:
    assert link_free("word " * 100, limit=20) == "word word word word…"
    escaped = escape_markdown("[x](y) <b>*a*</b> | `c` #h !i &amp;")
    assert escaped == r"\[x\]\(y\) \<b\>\*a\*\</b\> \| \`c\` \#h \!i \&amp;"


def commit_rows(dataset: Dataset, rows: list[dict]) -> None:
    """Commit document rows as one unit, through the dataset's unit writer."""
    writer = dataset.unit_writer("u1", 1000)
    for row in rows:
        writer.add_document(row)
    writer.commit(UnitRecord())
