"""The per-run Prefect report: top rules, the sites that lose the most, and link-free samples of removed text."""

from __future__ import annotations

import re
import shutil

import pytest

from cleaners import Removal
from flows.ingest import ingest_flow
from flows.summary import SAMPLES_PER_CATEGORY, RunSummary

from .conftest import SEEDS

LINKS_CAPTURE = (
    "Council approves new budget for city parks\n\n"
    "The city council approved on Tuesday a new budget for the parks, after a long debate that lasted well "
    "into the evening hours.\n\n"
    "READ MORE: https://example.com/2024/parks-budget-history\n\n"
    "Members said the funds would go to playgrounds and trees, and that work would start in the spring of "
    "next year.\n\n"
    "Click here for more at www.example.com/news\n"
)


def removal(category: str, text: str, start: int = 0) -> Removal:
    return Removal(start, start + len(text), category, f"{category}.rule", text)


def test_samples_are_distinct_link_free_and_capped_across_merges() -> None:
    first, second = RunSummary(), RunSummary()
    first.add_document("Site A", [removal("promo", "Subscribe at https://a.example/x"), removal("promo", "Subscribe")])
    second.add_document("Site A", [removal("promo", "Subscribe"), removal("promo", "Get  the\napp"),
                                   removal("promo", "Fourth one")])
    second.add_document(None, [removal("footer", "© 2024 Site B")])
    merged = RunSummary().merge(first).merge(second)
    assert merged.removal_samples["promo"] == ["Subscribe at ⟨link⟩", "Subscribe", "Get the app"]
    assert len(merged.removal_samples["promo"]) == SAMPLES_PER_CATEGORY
    assert merged.documents_by_site == {"Site A": 2, "(no site name)": 1}
    assert merged.removals_by_site["Site A"] == 5
    assert merged.removed_chars_by_site["(no site name)"] == len("© 2024 Site B")
    assert merged.removed_chars_by_rule["promo.rule"] == sum(
        len(t) for t in ("Subscribe at https://a.example/x", "Subscribe", "Subscribe", "Get  the\napp", "Fourth one"))
    assert RunSummary.from_dict(merged.to_dict()).to_dict() == merged.to_dict()


@pytest.fixture(scope="module")
def run_markdown(prefect_engine: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Ingest the seeds plus a capture with links in its boilerplate; return the run's published artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    src = tmp_path_factory.mktemp("report_src")
    for capture in SEEDS.glob("*.txt"):
        shutil.copy(capture, src / capture.name)
    (src / "links.txt").write_text(LINKS_CAPTURE, encoding="utf-8")
    out = tmp_path_factory.mktemp("report_out")
    ingest_flow(str(src), str(out))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["boilerstrip-ingest-summary"])))
    ours = [a.data for a in artifacts if a.description and str(src) in a.description and isinstance(a.data, str)]
    assert len(ours) == 1, [a.description for a in artifacts]
    return ours[0]


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The body rows of the table under a `## heading`, as cells."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_report_lists_the_top_rules(run_markdown: str) -> None:
    assert "## Top rules (10 of 13 that fired)" in run_markdown
    rows = table_rows(run_markdown, "Top rules")
    assert len(rows) == 10
    spans = [int(r[1]) for r in rows]
    assert spans == sorted(spans, reverse=True)
    assert rows[0] == ["`headline.title_line`", "3", str(len("Council approves new budget for city parks") + 2 + 139)]


def test_report_lists_the_sites_that_lose_the_most(run_markdown: str) -> None:
    rows = table_rows(run_markdown, "Sites with the most removed")
    assert rows[0] == ["Euromaidan Press", "1", "13", "1711"]  # as `boilerstrip explain` counts the seed
    assert ["Washington Examiner", "1", "3", "129"] in rows
    assert [r[0] for r in rows] == ["Euromaidan Press", r"\(no site name\)", "Washington Examiner"]


def test_report_samples_removed_text_without_links(run_markdown: str) -> None:
    samples = table_rows(run_markdown, "Removed text, a sample per category")
    by_category: dict[str, list[str]] = {}
    for category, text in samples:
        by_category.setdefault(category.strip("`"), []).append(text)
    assert by_category["related_links"][:1] == ["Related:"]
    assert "READ MORE: ⟨link⟩" in by_category["related_links"]
    assert "Click here for more at ⟨link⟩" in by_category["promo"]
    assert by_category["donation_appeal"][0].startswith("You could close this page.")
    assert by_category["donation_appeal"][0].endswith("…")  # shortened
    assert len(by_category["headline"]) == 3  # the title's exact repeat is not sampled twice
    for needle in ("http", "www.", "example.com", "]("):
        assert needle not in run_markdown, needle
