"""Site-level learned boilerplate: lines shared by a site's pages go, article lines stay."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaners.base import normalise
from cleaners.decode import decode_capture
from cleaners.model import Config, Rejection
from cleaners.pipeline import Pipeline, SiteContext
from cleaners.segment import segment
from cleaners.site_repeated import (
    RULE_ID,
    PackedSiteLineCounts,
    SiteLearner,
    SiteLineCounts,
    SiteRepeatedCleaner,
    line_key,
    page_key,
    page_line_keys,
)

from .conftest import EVAL_DEV

ONE_OTHER = Config(site_repeated_min_captures=1)


def _site_pairs() -> list[tuple[str, list[str]]]:
    """Real dev pages grouped by site (the host of their URL), for sites with several pages."""
    by_site: dict[str, list[str]] = defaultdict(list)
    for meta in sorted(EVAL_DEV.glob("*.meta.json")):
        data = json.loads(meta.read_text())
        by_site[urlsplit(data["url"]).netloc].append(data["id"])
    return sorted((site, ids) for site, ids in by_site.items() if len(ids) > 1)


def _text(page_id: str) -> str:
    decoded = decode_capture((EVAL_DEV / f"{page_id}.page.txt").read_bytes(), 10**9)
    assert not isinstance(decoded, Rejection)
    return decoded.text


def test_lines_shared_with_the_sites_other_pages_are_removed_and_article_lines_kept() -> None:
    pairs = _site_pairs()
    if not pairs:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    pipeline = Pipeline(ONE_OTHER)
    removed_lines = gold_lines_removed = 0
    for site, (first, second, *_) in pairs:
        table = SiteLineCounts()
        table.add(site, page_key(first), page_line_keys(segment(_text(first))))
        result = pipeline.clean_text(_text(second), site=SiteContext(site, table.for_site(site)))
        learned = [r for r in result.removed if r.category == "site_repeated"]
        assert all(r.rule == RULE_ID for r in learned)
        removed_lines += len(learned)
        gold = normalise((EVAL_DEV / f"{second}.gold.txt").read_text(encoding="utf-8"))
        # Long article lines never repeat on another page of the site (short ones may be quoted).
        gold_lines_removed += sum(1 for r in learned if len(r.text) > 80 and normalise(r.text) in gold)
        if learned:
            assert any(f.startswith("site_repeated:") and site in f for f in result.flags)
    # Measured on the 27 dev sites with two pages: 3,165 menu/footer lines not already taken by the
    # rules first, and no long gold line.
    assert removed_lines > 2_000
    assert gold_lines_removed == 0


def test_the_streaming_learner_removes_shared_lines_only_and_never_a_line_of_one_page() -> None:
    """The flows' path: each capture is cleaned with what the site's earlier pages taught, then learned."""
    menu = "Home\nWorld\nSport\n\n"
    learner = SiteLearner(SiteLineCounts(), Config().site_repeated_min_captures)
    cleaner = SiteRepeatedCleaner(Config())

    def clean_then_learn(url: str, body: str) -> list[str]:
        page = segment(menu + body)
        removed = [r.text for r in cleaner.find(page, site_counts=learner.known_lines("s"))]
        learner.learn("s", page_key(url), page_line_keys(page))
        return removed

    assert clean_then_learn("https://s/a", "Body of a, said once.") == []  # nothing known yet
    assert clean_then_learn("https://s/b", "Body of b.") == []  # the menu is on one other page only
    assert clean_then_learn("https://s/c", "Body of c.") == ["Home", "World", "Sport"]
    # A new version of page a: its own body was seen on one page only (versions count once), so it stays.
    assert clean_then_learn("https://s/a", "Body of a, said once.") == ["Home", "World", "Sport"]
    assert learner.learned.for_site("s")[line_key("Body of a, said once.")] == 1
    with pytest.raises(ValueError):
        SiteRepeatedCleaner(Config(site_repeated_min_captures=0))


def test_versions_of_one_page_count_once_and_the_threshold_is_honoured() -> None:
    menu = "Home\nWorld\nSport\n\n"
    table = SiteLineCounts()
    for version in range(3):  # the same URL captured three times (a page that changed)
        assert table.add("s", page_key("https://s/a"), page_line_keys(segment(menu + f"body v{version}."))) == (
            version == 0
        )
    table.add("s", page_key("https://s/b"), page_line_keys(segment(menu + "Other body.")))
    page = segment(menu + "New body.")
    counts = table.for_site("s")
    assert [r.text for r in SiteRepeatedCleaner(Config(site_repeated_min_captures=2)).find(page, site_counts=counts)
            ] == ["Home", "World", "Sport"]
    assert SiteRepeatedCleaner(Config(site_repeated_min_captures=3)).find(page, site_counts=counts) == []


def test_table_rows_round_trip() -> None:
    table = SiteLineCounts()
    table.add("a", page_key("u1"), [1, 2])
    table.add("a", page_key("u2"), [2])
    table.add("b", page_key("u3"), [5])
    again = SiteLineCounts()
    again.merge_rows(table.rows())
    assert again == table
    assert list(again.rows()) == list(table.rows())
    assert not again.add("a", page_key("u1"), [1])  # the counted pages came back too


def test_packed_counts_read_as_the_counts_they_were_merged_from_and_learners_on_either_agree() -> None:
    # Workers hold what committed runs learned as sorted arrays (PackedSiteLineCounts), merged one
    # persisted part at a time; they must read exactly as the dict table merged from the same parts.
    pages = [(site, page_id) for site, ids in _site_pairs() for page_id in ids]
    assert len(pages) > 20
    whole = SiteLineCounts()
    packed = PackedSiteLineCounts()
    # The last part counts pages of the first again, as two units racing on the same pages would.
    for part in (pages[0::3], pages[1::3], pages[2::3], pages[:5]):
        one_unit = SiteLineCounts()
        for site, page_id in part:
            one_unit.add(site, page_key(page_id), page_line_keys(segment(_text(page_id))))
        whole.merge_rows(one_unit.rows())
        packed.merge_rows(one_unit.rows())
    assert list(packed.rows()) == list(whole.rows())
    probe = [line_key(t) for t in ("Home", "Privacy Policy", "an article sentence nobody wrote")]
    for site in {site for site, _ in pages}:
        assert packed.lines_at_least(site, 2) == whole.lines_at_least(site, 2)
        some = list(whole.counts[site])[:50] + probe
        assert packed.counts_of(site, some) == whole.counts_of(site, some)
        assert all(packed.has_page(site, key) for key in whole.pages[site])
    assert not packed.has_page(pages[0][0], page_key("https://never.seen/page"))
    assert packed.counts_of("unknown.site", probe) == [0, 0, 0] and packed.lines_at_least("unknown.site", 1) == {}
    # A learner reads either table the same: same furniture learned from the same next pages.
    learners = [SiteLearner(whole, 2), SiteLearner(packed, 2)]
    committed_site, committed_page = pages[0]
    for learner in learners:  # a page a committed run counted is never counted again
        learner.learn(committed_site, page_key(committed_page), page_line_keys(segment(_text(committed_page))))
        assert not learner.learned.has_page(committed_site, page_key(committed_page))
    for site, page_id in pages[:12]:
        keys = page_line_keys(segment(_text(page_id) + "\nA line only this run saw."))
        for learner in learners:
            learner.learn(site, page_key(page_id + "#new"), keys)
    for site in {site for site, _ in pages[:12]}:
        assert dict(learners[0].known_lines(site)) == dict(learners[1].known_lines(site))
    assert list(learners[0].learned.rows()) == list(learners[1].learned.rows())


persisted_rows = st.lists(st.tuples(st.sampled_from(["a.example", "b.example"]), st.sampled_from(["line", "page"]),
                                    st.one_of(st.integers(0, 30), st.integers(0, 2**63 - 1)), st.integers(1, 4)),
                          max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(persisted_rows, min_size=1, max_size=5), st.lists(st.integers(0, 30), max_size=20))
def test_packed_counts_merge_any_parts_as_the_dict_table_does(parts: list[list[tuple[str, str, int, int]]],
                                                              probe: list[int]) -> None:
    whole, packed = SiteLineCounts(), PackedSiteLineCounts()
    for part in parts:  # keys repeated within a part, across parts, pages counted twice: all summed or united
        rows = [(site, kind, key, 1 if kind == "page" else n) for site, kind, key, n in part]
        whole.merge_rows(rows)
        packed.merge_rows(rows)
    assert list(packed.rows()) == list(whole.rows())
    for site in ("a.example", "b.example", "never.seen"):
        assert packed.counts_of(site, probe) == whole.counts_of(site, probe)
        assert packed.lines_at_least(site, 3) == whole.lines_at_least(site, 3)
        assert [packed.has_page(site, key) for key in probe] == [whole.has_page(site, key) for key in probe]


def _capture_with_url(folder: Path, page_id: str, url: str) -> Path:
    """A real dev page dump as a loose capture, with a sidecar giving its URL (as an archive would)."""
    folder.mkdir(parents=True, exist_ok=True)
    capture = folder / f"{page_id[:12]}.txt"
    capture.write_bytes((EVAL_DEV / f"{page_id}.page.txt").read_bytes())
    (folder / f"{capture.name}.json").write_text(json.dumps({"url": url}), encoding="utf-8")
    return capture


def test_site_table_persists_with_the_dataset_and_a_later_run_learns_from_it(
        prefect_engine: str, tmp_path: Path) -> None:
    """Run 1 ingests one page of a site; run 2, a lone new page of the same site, loses the shared lines."""
    import pyarrow.parquet as pq

    from flows.api import ingest

    pairs = _site_pairs()
    if not pairs:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    site, (first, second, *_) = next((s, ids) for s, ids in pairs if s == "www.latimes.com")
    out = tmp_path / "out"
    _capture_with_url(tmp_path / "run1", first, f"https://{site}/a")
    one = ingest(tmp_path / "run1", out, config=ONE_OTHER)
    assert one.documents == 1 and not one.removals_by_category.get("site_repeated")
    parts = sorted((out / "_site_lines").glob("part-*.parquet"))
    assert len(parts) == 1
    table = pq.read_table(parts[0]).to_pylist()
    assert {r["site"] for r in table} == {site} and sum(r["kind"] == "page" for r in table) == 1

    _capture_with_url(tmp_path / "run2", second, f"https://{site}/b")
    two = ingest(tmp_path / "run2", out, config=ONE_OTHER)
    assert two.documents == 1
    assert two.removals_by_category["site_repeated"] > 50  # the site's menus and footer, learned from run 1
    rows = pq.read_table(out / "documents").to_pylist()
    second_row = next(r for r in rows if r["url"] == f"https://{site}/b")
    learned = [r for r in second_row["removed"] if r["category"] == "site_repeated"]
    assert learned and all(r["rule"] == RULE_ID for r in learned)
    assert any(f.startswith("site_repeated:") for f in second_row["flags"])
    gold = normalise((EVAL_DEV / f"{second}.gold.txt").read_text(encoding="utf-8"))
    assert not [r for r in learned if len(r["text"]) > 80 and normalise(r["text"]) in gold]
    assert len(sorted((out / "_site_lines").glob("part-*.parquet"))) == 2
