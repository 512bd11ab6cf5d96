"""Unit tests for cleaners.render (overlaps, excise, rebuild) and the pipeline's over-deletion guard."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from cleaners.model import Config, Removal
from cleaners.pipeline import OVERDELETION_FLAG, Pipeline
from cleaners.render import excise, rebuild, resolve_overlaps

SEED_ARTICLE = Path(__file__).resolve().parent.parent / "seeds" / "000_63e65c16875cff2e.txt"


def rm(text: str, sub: str, category: str = "cat", rule: str = "rule", occurrence: int = 0) -> Removal:
    """A removal of the `occurrence`-th occurrence of `sub` in `text`."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(sub, start + 1)
    return Removal(start, start + len(sub), category, rule, sub)


def check_invariants(original: str, removals: list[Removal], kept: str, widened: list[Removal]) -> None:
    """What must hold for every excise: exact rebuild, honest texts, disjoint sorted in-bounds spans."""
    assert rebuild(kept, widened) == original
    assert len(widened) == len(removals)
    for w in widened:
        assert 0 <= w.start < w.end <= len(original)
        assert w.text == original[w.start : w.end]
    for a, b in itertools.pairwise(widened):
        assert a.end <= b.start, f"widened spans overlap or are unsorted: {a} / {b}"
    # each widened span still covers its removal, and only whitespace was added around it
    for r, w in zip(removals, widened, strict=True):
        assert (w.category, w.rule) == (r.category, r.rule)
        assert w.start <= r.start and r.end <= w.end
        assert original[w.start : r.start].strip() == ""
    # the kept text is the complement of the widened spans
    assert len(kept) + sum(w.end - w.start for w in widened) == len(original)


# --------------------------------------------------------------------------- resolve_overlaps


def test_resolve_overlaps_first_wins_and_sorts_by_start() -> None:
    first = Removal(10, 20, "footer", "footer.a", "x" * 10)
    overlapping_later = Removal(15, 25, "promo", "promo.b", "y" * 10)
    earlier_disjoint = Removal(0, 5, "headline", "headline.c", "z" * 5)
    out = resolve_overlaps([first, overlapping_later, earlier_disjoint])
    assert out == [earlier_disjoint, first]


def test_resolve_overlaps_drops_later_removal_contained_in_earlier() -> None:
    outer = Removal(0, 30, "a", "a", "")
    inner = Removal(5, 10, "b", "b", "")
    assert resolve_overlaps([outer, inner]) == [outer]
    # and the other way round: the earlier (inner) wins
    assert resolve_overlaps([inner, outer]) == [inner]


def test_resolve_overlaps_keeps_touching_spans() -> None:
    left = Removal(0, 10, "a", "a", "")
    right = Removal(10, 20, "b", "b", "")
    assert resolve_overlaps([right, left]) == [left, right]


def test_resolve_overlaps_drops_empty_and_inverted_spans() -> None:
    empty = Removal(5, 5, "a", "a", "")
    inverted = Removal(9, 3, "b", "b", "")
    good = Removal(3, 9, "c", "c", "")
    assert resolve_overlaps([empty, inverted, good]) == [good]


# --------------------------------------------------------------------------- excise


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("A\n\nR\n\nB", "A\n\nB"),
        ("A\nR\n\nB", "A\n\nB"),
        ("A\n\nR\nB", "A\n\nB"),
        ("A\nR\nB", "A\nB"),
    ],
)
def test_excise_middle_line_keeps_one_separator(original: str, expected: str) -> None:
    removals = [rm(original, "R")]
    kept, widened = excise(original, removals)
    assert kept == expected
    check_invariants(original, removals, kept, widened)


@pytest.mark.parametrize(
    ("original", "cuts", "expected"),
    [
        ("Remove me\n\nFirst paragraph.\n\nSecond.", ["Remove me"], "First paragraph.\n\nSecond."),
        ("First paragraph.\n\nSecond.\n\nRemove me\n\n", ["Remove me"], "First paragraph.\n\nSecond."),
        ("\n  Top nav\n\nBody line one.\nBody line two.\n\n© footer\n", ["Top nav", "© footer"],
         "Body line one.\nBody line two."),
        ("foo (AP Photo/X) bar", ["(AP Photo/X)"], "foo bar"),
        ("A\n\nX\n\nB\n\nY\n\nC", ["X", "Y"], "A\n\nB\n\nC"),
    ],
    ids=["first-line", "last-line", "first-and-last", "sub-line", "two-clusters"],
)
def test_excise_leaves_no_stray_blank_lines(original: str, cuts: list[str], expected: str) -> None:
    removals = [rm(original, cut) for cut in cuts]
    kept, widened = excise(original, removals)
    assert kept == expected
    check_invariants(original, removals, kept, widened)


def test_excise_everything_leaves_empty_text() -> None:
    original = "\nOnly line\n"
    removals = [rm(original, "Only line")]
    kept, widened = excise(original, removals)
    assert kept == ""
    assert widened[0].text == original
    check_invariants(original, removals, kept, widened)


def test_excise_adjacent_removals_keep_their_own_category_and_rule() -> None:
    original = "Body A.\n\nShare on Facebook\nRead more: something\n\nBody B."
    removals = [
        rm(original, "Share on Facebook", "share_prompt", "share_prompt.x"),
        rm(original, "Read more: something", "related_links", "related_links.y"),
    ]
    kept, widened = excise(original, removals)
    assert kept == "Body A.\n\nBody B."
    assert [(w.category, w.rule) for w in widened] == [
        ("share_prompt", "share_prompt.x"),
        ("related_links", "related_links.y"),
    ]
    # disjoint and contiguous: the cluster is one cut, shared out between its members
    assert widened[0].end == widened[1].start
    assert "Share on Facebook" in widened[0].text and "Read more" not in widened[0].text
    assert "Read more: something" in widened[1].text and "Facebook" not in widened[1].text
    check_invariants(original, removals, kept, widened)


def test_excise_without_removals_is_identity() -> None:
    assert excise("anything\n\n at all ", []) == ("anything\n\n at all ", [])
    assert rebuild("anything", []) == "anything"


def test_rebuild_accepts_unsorted_removals() -> None:
    original = "A\n\nX\n\nB\n\nY\n\nC"
    kept, widened = excise(original, [rm(original, "X"), rm(original, "Y")])
    assert rebuild(kept, list(reversed(widened))) == original


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("A\n\n  R\n\nB", "A\n\nB"),
        ("A\n\tR\nB", "A\nB"),
        ("A\n\n\tR\n\n    B", "A\n\n    B"),
        ("  R\n\n  A", "  A"),
        ("A\n\n  B\n  R", "A\n\n  B"),
    ],
)
def test_excise_indented_line_does_not_change_next_line_indentation(original: str, expected: str) -> None:
    """The cut line's own indentation goes with it; the next kept line keeps its own."""
    removals = [rm(original, "R")]
    kept, widened = excise(original, removals)
    assert kept == expected
    check_invariants(original, removals, kept, widened)


# --------------------------------------------------------------------------- randomized property


def _random_text(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """Random lines (with blank lines, indentation, trailing spaces); return text and content spans."""
    words = ["alpha", "beta", "gamma", "delta", "©", "Share", "x", "Ünïcödé", "42", "—"]
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    if rng.random() < 0.3:
        lead = rng.choice(["\n", "\n\n", "  \n", " "])
        pieces.append(lead)
        pos += len(lead)
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.25:
            blank = rng.choice(["\n", "\n\n", " \n", "\t\n", "\n\n\n"])
            pieces.append(blank)
            pos += len(blank)
            continue
        indent = rng.choice(["", "", "", " ", "  ", "\t", "    "])
        content = " ".join(rng.choice(words) for _ in range(rng.randint(1, 5)))
        trail = rng.choice(["", "", " ", "\t"])
        start = pos + len(indent)
        spans.append((start, start + len(content)))
        line = indent + content + trail + "\n"
        pieces.append(line)
        pos += len(line)
    text = "".join(pieces)
    if rng.random() < 0.3:
        text = text.rstrip("\n")  # no final newline
    return text, spans


def _line_of(text: str, offset: int) -> str:
    """The whole line (indentation included, newline excluded) that holds `offset`."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end != -1 else len(text)]


def _max_newline_run(text: str) -> int:
    return max((run.count("\n") for run in re.findall(r"\s+", text)), default=0)


def test_excise_randomized_properties() -> None:
    rng = random.Random(20241123)
    categories = ["footer", "navigation", "promo", "share_prompt"]
    removed_any = 0
    for _ in range(300):
        text, spans = _random_text(rng)
        chosen = [s for s in spans if rng.random() < 0.4]
        removals = [Removal(a, b, rng.choice(categories), "rule." + str(a), text[a:b]) for a, b in chosen]
        removals = resolve_overlaps(removals)
        kept, widened = excise(text, removals)
        check_invariants(text, removals, kept, widened)
        # what is kept is exactly the non-removed lines' content, in order
        kept_spans = [s for s in spans if s not in chosen]
        assert kept.split() == " ".join(text[a:b] for a, b in kept_spans).split()
        if removals:
            removed_any += 1
        # removing the first / last content line leaves no leading blank line / trailing whitespace
        if spans and spans[0] in chosen:
            assert "\n" not in kept[: len(kept) - len(kept.lstrip())]
        if spans and spans[-1] in chosen:
            assert kept == kept.rstrip()
        # every kept line is an original line, with its indentation untouched (trailing
        # whitespace of a line before a cut may go with the cut)
        kept_lines = [line.rstrip() for line in kept.split("\n") if line.strip()]
        original_lines = [_line_of(text, a).rstrip() for a, b in kept_spans]
        assert kept_lines == original_lines
        # no longer blank-line runs are created than the original already had
        assert _max_newline_run(kept) <= _max_newline_run(text)
    assert removed_any > 100  # the generator really exercises removals


# --------------------------------------------------------------------------- over-deletion guard


BOILERPLATE_ONLY = (
    "Share this article\nFacebook\nTwitter\nPrivacy Policy\nTerms of Use\n© 2024 Example Media. All rights reserved."
)


def test_guard_keeps_boilerplate_only_text_whole_and_flags_it() -> None:
    pipeline = Pipeline(Config())
    # precondition: the cleaners do find removals here, so it is the guard that undoes them
    assert pipeline.find_removals(BOILERPLATE_ONLY)
    result = pipeline.clean_text(BOILERPLATE_ONLY)
    assert result.text == BOILERPLATE_ONLY
    assert result.removed == ()
    guard_flags = [f for f in result.flags if f.startswith(OVERDELETION_FLAG)]
    assert len(guard_flags) == 1
    assert "threshold 95%" in guard_flags[0]
    assert result.n_chars_raw == len(BOILERPLATE_ONLY)
    # Metadata found by the rejected removals is not trusted either.
    assert (result.title, result.description, result.site_name) == (None, None, None)


def test_guard_keeps_incoming_flags() -> None:
    result = Pipeline(Config()).clean_text(BOILERPLATE_ONLY, flags=("bom:utf-8-sig",))
    assert result.flags[0] == "bom:utf-8-sig"
    assert any(f.startswith(OVERDELETION_FLAG) for f in result.flags[1:])


def test_guard_does_not_trip_on_a_normal_article() -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    result = Pipeline(Config()).clean_text(text)
    assert not any(f.startswith(OVERDELETION_FLAG) for f in result.flags)
    assert result.removed, "the seed article has some boilerplate that should be removed"
    assert len(result.text) < len(text)
    assert rebuild(result.text, result.removed) == text
    for r in result.removed:
        assert r.text == text[r.start : r.end]


def test_guard_threshold_is_honoured() -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    # this article loses a minority of its characters (about a third); a threshold below that trips
    strict = Pipeline(Config(overdeletion_threshold=0.1)).clean_text(text)
    flags = [f for f in strict.flags if f.startswith(OVERDELETION_FLAG)]
    assert len(flags) == 1
    assert "threshold 10%" in flags[0]
    assert strict.text == text
    assert strict.removed == ()


def test_guard_not_flagged_when_nothing_is_removed() -> None:
    text = "A short plain paragraph of text that has nothing to remove in it at all.\n"
    result = Pipeline(Config()).clean_text(text)
    assert result.text == text
    assert result.removed == ()
    assert not any(f.startswith(OVERDELETION_FLAG) for f in result.flags)
