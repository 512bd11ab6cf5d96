"""Golden-file tests on the real seed captures: exact output, hand-made gold bodies, no boilerplate left."""

from __future__ import annotations

import json

import pytest

from cleaners import CleanResult, rebuild
from cleaners.decode import decode_capture
from flows.cli import clean_file

from .conftest import FIXTURES, SEEDS, load_score_module
from .regen_golden import expectation

SEED_NAMES = sorted(p.stem for p in SEEDS.glob("*.txt"))

# Each phrase is boilerplate in a seed; it must be gone from the text and removed under this category.
BOILERPLATE = {
    "Become a Patron": "donation_appeal",
    "photo via Wikimedia": "photo_caption",
    "disabling your ad blocker": "adblock_notice",
    "Ctrl + Enter": "correction_notice",
    "To suggest a correction": "correction_notice",
    "CLICK HERE TO READ MORE": "promo",
    "Related Posts": "related_links",
}


def clean_seed(name: str) -> CleanResult:
    result = clean_file(SEEDS / f"{name}.txt")
    assert isinstance(result, CleanResult), result
    return result


def test_there_are_two_seeds() -> None:
    assert SEED_NAMES == ["000_63e65c16875cff2e", "002_90f80dc9d46dd7ba"]


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_matches_golden_output(name: str) -> None:
    expected = json.loads((FIXTURES / "seeds" / f"{name}.expected.json").read_text(encoding="utf-8"))
    assert expectation(clean_seed(name)) == expected


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_text_scores_against_hand_made_gold(name: str) -> None:
    score = load_score_module()
    gold = (FIXTURES / "seeds" / f"{name}.gold.txt").read_text(encoding="utf-8")
    precision, recall, f1 = score.score(gold, clean_seed(name).text)
    assert f1 >= 0.99, (precision, recall, f1)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_boilerplate_is_removed_under_its_category(name: str) -> None:
    raw = (SEEDS / f"{name}.txt").read_text(encoding="utf-8")
    result = clean_seed(name)
    present = [phrase for phrase in BOILERPLATE if phrase.casefold() in raw.casefold()]
    assert present, "each seed carries some of the boilerplate phrases"
    for phrase in present:
        assert phrase.casefold() not in result.text.casefold(), phrase
        categories = {r.category for r in result.removed if phrase.casefold() in r.text.casefold()}
        assert BOILERPLATE[phrase] in categories, (phrase, categories)


def test_seed_metadata() -> None:
    first, second = clean_seed(SEED_NAMES[0]), clean_seed(SEED_NAMES[1])
    assert first.title == "US Defense Secretary Pete Hegseth rejects suggestions of early concessions to Putin"
    assert first.site_name == "Euromaidan Press"
    assert first.description is not None and first.description.startswith("Hegseth noted that")
    assert second.title == "Hegseth rebukes concerns of Trump-Putin negotiations"
    assert second.site_name == "Washington Examiner"
    for result in (first, second):
        assert result.title not in result.text
        assert result.language == "en"


@pytest.mark.parametrize("name", SEED_NAMES)
def test_kept_text_and_removals_rebuild_the_capture(name: str) -> None:
    decoded = decode_capture((SEEDS / f"{name}.txt").read_bytes(), 10**8)
    result = clean_seed(name)
    assert rebuild(result.text, result.removed) == decoded.text
    for removal in result.removed:
        assert decoded.text[removal.start : removal.end] == removal.text
