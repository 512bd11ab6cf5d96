"""The line classifier's parts: exact character counts, the shipped model file, the body region."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaners.line_classifier import (
    TREE_ROWS_PER_BLOCK,
    LineModel,
    LogisticStage,
    TreeStage,
    body_region,
    continue_lists,
    keep_mask,
    list_item,
    shipped_model,
)
from cleaners.line_context import CONTEXT_FEATURE_NAMES, best_run, context_features
from cleaners.line_features import char_counts, feature_names, line_features
from cleaners.segment import segment

from .conftest import EVAL_DEV, SEEDS, small_tree_stage


def _reference_counts(text: str) -> tuple[int, int, int, int, int]:
    return (sum(map(str.isalpha, text)), sum(map(str.isalnum, text)), sum(map(str.isspace, text)),
            sum(map(str.isdigit, text)), sum(map(str.isupper, text)))


@settings(max_examples=500, deadline=None)
@given(st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_fast_character_counts_equal_str_methods(text: str) -> None:
    assert char_counts(text) == _reference_counts(text)


def test_every_ascii_character_is_counted_as_str_methods_say() -> None:
    for code in range(128):
        assert char_counts(chr(code) * 2) == _reference_counts(chr(code) * 2), code


def test_shipped_model_matches_the_features_and_round_trips() -> None:
    model = shipped_model()
    assert model.feature_names == feature_names()
    assert model.version.startswith("gb2-") and len(model.training_pages) > 100
    again = LineModel.from_dict(model.to_dict())
    page = segment("Home\nNews\n\nA first sentence of the article, long enough to read as prose here.\n")
    features = line_features(page, frozenset({"a", "of", "the"}))
    chars = np.array([len(line.text) for line in page.lines], dtype=float)
    assert np.allclose(again.probabilities(features, chars), model.probabilities(features, chars))
    with pytest.raises(ValueError, match="other features"):
        LineModel.from_dict(model.to_dict() | {"feature_names": ["something_else"]})
    with pytest.raises(ValueError, match="other features"):
        LineModel.from_dict(model.to_dict() | {"context_feature_names": ["something_else"]})


def _walk_one_row(stage: TreeStage, row: np.ndarray) -> float:
    """A row's summed tree score the plain way: one tree at a time, node by node, until a leaf."""
    total = stage.baseline
    for root in stage.roots.tolist():
        node = root
        while stage.children[node] != node:
            value = row[stage.feature[node]]
            left = value <= stage.threshold[node] or (np.isnan(value) and stage.missing_left[node])
            node = stage.children[node] + (0 if left else 1)
        total += stage.value[node]
    return float(total)


def test_the_shipped_model_reads_each_line_in_its_page_context() -> None:
    """The second stage is there and decides: a line's probability depends on the page around it."""
    model = shipped_model()
    assert isinstance(model.lines, TreeStage) and isinstance(model.context, TreeStage)
    prose = "The council said on Tuesday that the new rules would apply to every school in the district."
    lines = [prose] * 6
    page = segment("\n\n".join(["Home", "News", "Sport", *lines, "Contact", "Privacy"]) + "\n")
    features = line_features(page, frozenset({"the", "on", "that", "would", "to", "in", "said", "every"}))
    chars = np.array([len(line.text) for line in page.lines], dtype=float)
    first = model.lines.probabilities(features)
    final = model.probabilities(features, chars)
    # The level-by-level walk of all rows and trees at once computes what walking each tree does.
    reference = np.array([_walk_one_row(model.lines, row) for row in features])
    assert np.allclose(model.lines.raw_scores(features), reference, rtol=0, atol=1e-12)
    assert not np.allclose(first, final)
    # Menus are less body-like than the prose between them, in both stages.
    assert final[3:9].min() > final[:3].max() and final[3:9].min() > final[9:].max()
    assert first[3:9].min() > first[:3].max() and first[3:9].min() > first[9:].max()


def test_a_tree_stage_walks_only_the_trees_still_deeper_than_each_level_and_refuses_another_order() -> None:
    inf = np.inf
    stage = small_tree_stage()
    # Level 0 moves trees 0 and 1, level 1 tree 0 only.
    assert stage.depth == 2 and stage.deeper_trees.tolist() == [2, 1]
    rows = np.array([[0.0, 0.0], [0.0, 5.0], [1.0, -1.0], [np.nan, np.nan], [0.5, 1.0]])
    assert stage.leaves(rows).tolist() == [[3, 6, 8], [4, 7, 8], [2, 6, 8], [4, 7, 8], [3, 7, 8]]
    assert stage.node_depth[[3, 4, 2, 6, 7, 8]].tolist() == [2, 2, 1, 1, 1, 0]
    assert stage.raw_scores(rows).tolist() == [111.5, 122.5, 113.5, 122.5, 121.5]
    assert stage.raw_scores(rows).tolist() == [_walk_one_row(stage, row) for row in rows]
    with pytest.raises(ValueError, match="deepest first"):  # a leaf stored before a deeper tree
        TreeStage(np.zeros(4, dtype=np.intp), np.array([inf, 0.0, inf, inf]), np.array([True, False, True, True]),
                  np.array([0, 2, 2, 3]), np.array([1.0, 0.0, 2.0, 3.0]), np.array([0, 1]), 0.0)


@functools.cache
def _dev_feature_rows() -> tuple[np.ndarray, np.ndarray]:
    """Line features and labels of 40 real dev pages (the training script's own loading)."""
    from bench.train_line_classifier import load_pages

    pages = load_pages(EVAL_DEV)[:40]
    if not pages:
        pytest.skip("no labelled pages")
    return np.vstack([p.features for p in pages]), np.concatenate([p.labels for p in pages])


def test_trees_exported_from_scikit_learn_predict_what_scikit_learn_predicts() -> None:
    """The shipped tree format gives scikit-learn's probabilities, NaNs and page-sized blocks included."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from bench.train_line_classifier import trees_from_sklearn

    x, y = _dev_feature_rows()
    rng = np.random.default_rng(0)
    holes = x.copy()
    holes[rng.random(x.shape) < 0.05] = np.nan  # missing values, so splits learn where a NaN goes
    train, test = slice(0, len(y) // 2), slice(len(y) // 2, None)
    for data in (x, holes):
        model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, random_state=0)
        model.fit(data[train], y[train])
        stage = trees_from_sklearn(model)
        expected = model.predict_proba(data[test])[:, 1]
        assert np.allclose(stage.probabilities(data[test]), expected, rtol=0, atol=1e-12)
        again = TreeStage.from_dict(stage.to_dict())
        assert np.array_equal(again.probabilities(data[test]), stage.probabilities(data[test]), equal_nan=True)
    assert not stage.missing_left.all()  # both ways for a NaN were exercised
    # When being missing says something, scikit-learn splits "a value left, a NaN right" at an infinite
    # threshold: the JSON form must keep it (only a leaf's threshold is written as 0).
    telling = holes.copy()
    telling[:, 0] = np.where(rng.random(len(y)) < 0.3, np.nan, x[:, 0])
    model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, random_state=0)
    model.fit(telling[train], np.isnan(telling[:, 0])[train])  # the label is whether the value is missing
    split_on_missing = trees_from_sklearn(model)
    inner = split_on_missing.children != np.arange(split_on_missing.children.shape[0])
    assert np.isinf(split_on_missing.threshold[inner]).any()
    again = TreeStage.from_dict(split_on_missing.to_dict())
    assert np.allclose(again.probabilities(telling[test]), model.predict_proba(telling[test])[:, 1], rtol=0, atol=1e-12)
    # More rows than one block of the walk: the blocks join up to the rows' own scores.
    tall = np.tile(holes[test], (TREE_ROWS_PER_BLOCK // len(holes[test]) + 2, 1))
    assert tall.shape[0] > TREE_ROWS_PER_BLOCK
    assert np.array_equal(stage.raw_scores(tall), np.tile(stage.raw_scores(holes[test]), tall.shape[0] // len(
        holes[test])))
    assert stage.raw_scores(np.zeros((0, x.shape[1]))).shape == (0,)


def test_a_logistic_stage_looks_up_each_bin_weight_as_training_s_one_hot_matrix_multiplies_it() -> None:
    from bench.train_line_classifier import fit_stage

    x, y = _dev_feature_rows()
    stage = fit_stage(x, y)
    # Rows of dumps without paragraph marks (load_pages' second layout) hold NaN: they count at the training mean.
    assert np.isnan(x).any() and not np.isnan(stage.mean).any()
    assert not np.isnan(stage.probabilities(x)).any()
    assert stage.probabilities(x).tolist() == stage.probabilities(np.where(np.isnan(x), stage.mean, x)).tolist()
    reference = 1.0 / (1.0 + np.exp(-(stage.transform(x) @ stage.coef + stage.intercept)))
    assert np.allclose(stage.probabilities(x), reference, rtol=0, atol=1e-12)
    assert LogisticStage.from_dict(stage.to_dict()).probabilities(x).tolist() == stage.probabilities(x).tolist()


def test_training_labels_a_line_body_only_when_the_gold_holds_it_as_a_line_or_a_long_piece_of_one() -> None:
    from bench.train_line_classifier import body_labels

    gold = ("Home news today: the council met on Tuesday.\n\n"
            "It voted to close   the old bridge to all traffic from next month, officials said.\n"
            "1 Kyle Busch 5040\n2\n")
    lines = [
        "Home",  # a menu word that occurs inside a gold sentence
        "HOME NEWS TODAY: THE COUNCIL MET ON TUESDAY.",  # a whole gold line (case and spaces folded)
        "It voted to close the old bridge",  # a paragraph split over dump lines: pieces of 7 and 8 words
        "to all traffic from next month, officials said.",
        "old bridge to",  # a 3-word piece: too short to tell from chance
        "ome news today: the council",  # not at word boundaries
        "1", "Kyle Busch", "5040",  # a table row, one cell a line: together a whole gold line
        "2",  # a whole gold line, however short
        "Subscribe",
        "Busch",  # in a gold line, alone
    ]
    assert body_labels(lines, gold).tolist() == [0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0]


def test_context_features_place_each_line_against_the_likely_body() -> None:
    # menu, a strong body run, a gap, a weaker run of prose, a footer
    p = np.array([0.05, 0.1, 0.9, 0.95, 0.9, 0.85, 0.0, 0.0, 0.0, 0.0, 0.7, 0.8, 0.05])
    chars = np.full(p.shape, 100.0)
    x = context_features(p, chars, 0.3)
    col = {name: x[:, i] for i, name in enumerate(CONTEXT_FEATURE_NAMES)}
    assert x.shape == (13, len(CONTEXT_FEATURE_NAMES))
    assert col["in_region"].tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert col["in_second_region"].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]
    assert col["second_region_strength"][10] == pytest.approx(0.9 / 2.4) and col["second_region_strength"][0] == 0
    assert col["lines_before_region"][0] == pytest.approx(np.log1p(2)) and col["lines_before_region"][3] == 0
    assert col["lines_after_region"][12] == pytest.approx(np.log1p(7))
    assert col["body_mass_before"][0] == 0 and col["body_mass_after"][12] == pytest.approx(0, abs=1e-12)
    assert np.all(np.diff(col["body_mass_before"]) >= 0)
    assert col["p@prev1"][3] == pytest.approx(0.9) and col["p@next1"][3] == pytest.approx(0.9)
    assert col["p@prev1"][0] == 0 and col["max_p@next3"][1] == pytest.approx(0.95)
    assert col["p_rank"][3] == 0  # the most body-like line
    assert col["p_rank"][2] == col["p_rank"][4] == pytest.approx(1 / 13)  # equal lines share a rank
    assert np.all(col["page_max_p"] == 0.95)
    assert context_features(np.zeros(0), np.zeros(0), 0.3).shape == (0, len(CONTEXT_FEATURE_NAMES))
    assert best_run(np.array([-1.0, 2.0, -0.5, 2.0, -3.0, 1.0])) == (3.5, 1, 3)


def test_body_region_is_the_best_contiguous_run_and_a_page_is_never_emptied() -> None:
    assert body_region(np.array([-1.0, 2.0, -0.5, 2.0, -3.0, 1.0])) == (1, 3)
    assert body_region(np.array([-1.0, -2.0])) is None
    model = shipped_model()
    keep, region = keep_mask(model, np.array([0.01, 0.04, 0.05]), np.array([10.0, 300.0, 20.0]))
    assert region is None and keep.tolist() == [False, True, False]  # the most body-like line survives
    # The fallback weighs length by its logarithm, not by characters as the region does: a long footer the model
    # barely believes in (0.02 × 5,000 characters) does not outrank a paragraph it believes in ten times more.
    keep, region = keep_mask(model, np.array([0.02, 0.2]), np.array([5000.0, 300.0]))
    assert region is None and keep.tolist() == [False, True]


def test_body_region_weighs_each_line_by_its_characters() -> None:
    """Ten short lines the model finds likely cannot outweigh two long paragraphs it is less sure of: the region is
    the run that brings the most expected body text, as the metric counts text."""
    from dataclasses import replace

    # The weighing, not the operating point, is under test: the figures below are at a region threshold of 0.3.
    model = replace(shipped_model(), region_threshold=0.3)
    menu, gap, paragraphs = [0.6] * 10, [0.0] * 5, [0.5, 0.5]
    probabilities = np.array(menu + gap + paragraphs)
    chars = np.array([20.0] * 10 + [60.0] * 5 + [400.0, 400.0])
    keep, region = keep_mask(model, probabilities, chars)
    # Weighted by log(1 + characters) the menu run would win: 10 x 0.3 x 3.0 = 9.1 against 2 x 0.2 x 6.0 = 2.4,
    # the gap between them costing 5 x 0.3 x 4.1 = 6.2. By characters: 60 against 160, the gap 90.
    assert region == (15, 16)
    assert keep[15:].all() and not keep[:15].any()


def test_the_decoding_threshold_moves_without_changing_what_the_context_stage_reads() -> None:
    """The context stage reads region features at the threshold it was trained with; the decoding's own threshold
    can move (0.3 until stop 30, 0.25 until stop 33, 0.2 now) and every probability stays the same, only the region
    changes. The shipped file holds the thresholds the training bench writes, so the two cannot drift apart."""
    from dataclasses import replace

    from bench.train_line_classifier import CONTEXT_REGION_THRESHOLD, REGION_THRESHOLD

    model = shipped_model()
    assert (model.context_region_threshold, model.region_threshold) == (CONTEXT_REGION_THRESHOLD, REGION_THRESHOLD)
    assert model.unmarked is not None and model.unmarked.region_threshold == REGION_THRESHOLD
    assert (CONTEXT_REGION_THRESHOLD, REGION_THRESHOLD) == (0.3, 0.2)
    dumps = sorted(EVAL_DEV.glob("*.page.txt"))
    if not dumps:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    page = segment(dumps[0].read_text(encoding="utf-8"))
    features = line_features(page, frozenset())
    chars = np.array([len(line.text) for line in page.lines], dtype=float)
    for moved in (replace(model, region_threshold=0.3), replace(model, region_threshold=0.1)):
        assert np.array_equal(moved.probabilities(features, chars), model.probabilities(features, chars))
    shifted = replace(model, context_region_threshold=0.1)
    assert not np.array_equal(shifted.probabilities(features, chars), model.probabilities(features, chars))


QUALIFIED = [
    "England (Group A): 10th appearance",
    "Czech Republic (Group A): Seventh appearance",
    "Ukraine (Group B): Third appearance",
    "Spain (Group F): 11th appearance",
    "Sweden (Group F): Seventh appearance",
]
PROSE = "The group stage of qualifying finished on Tuesday, and twenty teams have booked their places."


def _continued(lines: list[str], kept: list[bool], claimed: frozenset[int] = frozenset()) -> list[bool]:
    return continue_lists(lines, np.array(kept), claimed).tolist()


def test_a_list_the_model_began_to_keep_is_kept_to_its_end() -> None:
    """The model reads each item alone and loses faith in it the further it stands from the prose: the items after
    the kept ones are kept while they repeat the kept items' shape, and the line that breaks the shape stays cut."""
    lines = [PROSE, "Qualified teams", *QUALIFIED, "Roger Gonzalez is a writer based in Virginia.", "Most Popular"]
    kept = [True, True, True, True, False, False, False, False, False]
    assert _continued(lines, kept) == [True, True, True, True, True, True, True, False, False]


def test_a_list_the_model_cut_whole_or_began_with_one_item_stays_cut() -> None:
    lines = [PROSE, *QUALIFIED]
    assert _continued(lines, [True, False, False, False, False, False]) == [True] + [False] * 5
    assert _continued(lines, [True, True, False, False, False, False]) == [True, True] + [False] * 4


def test_sentences_ending_alike_never_make_a_list() -> None:
    """A shape needs two punctuation marks: paragraphs that end with a full stop share nothing else."""
    lines = ["He left early.", "She stayed on.", "They met again later.", "Nobody saw them go."]
    assert list_item(lines[0]) == ("", None)
    assert _continued(lines, [True, True, False, False]) == [True, True, False, False]
    assert list_item("2019 (a year): over") == ("0():", None) and list_item("June 9 – Tampa, FL")[0] == "a–,"


def test_a_numbered_list_runs_on_while_its_numbers_do() -> None:
    """A numbered item's shape is its numbering, whatever its own punctuation; it carries the list on only as the next
    number: a "1." after the article's "3." opens another list (a site's "most read" five), which stays cut."""
    items = ["1. Preheat the oven.", "2. Mix the flour, sugar and eggs", "3. Bake it for 40 minutes (no longer)"]
    others = ["1. Ten things to do this weekend", "2. The mayor's plan, explained", "3. Weather: rain again"]
    assert _continued([PROSE, *items], [True, True, True, False]) == [True] * 4
    kept = [True, True, True, True, False, False, False]
    assert _continued([PROSE, *items, *others], kept) == [True] * 4 + [False] * 3
    assert _continued([PROSE, "1. Preheat the oven.", "3. Bake it."], [True, True, False]) == [True, True, False]


@settings(max_examples=500, deadline=None)
@given(st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_a_shape_holds_exactly_the_characters_that_are_neither_alphanumeric_space_nor_underscore(text: str) -> None:
    """The shape's marks come from one substitution (re's \\w and \\s); they must be what `str` itself says."""
    marks = "".join(ch for ch in text if not ch.isalnum() and not ch.isspace() and ch != "_")
    shape, number = list_item(text)
    if number is None:
        assert shape == ("" if len(marks) < 2 else ("0" if text[:1].isdigit() else "a") + marks)


def test_records_of_several_lines_and_a_rule_line_inside_a_list_carry_it_on() -> None:
    """A numbered title over its link repeats every two lines; an ad label a rule took between items does not end
    the list (it stays the rule's)."""
    records = []
    for n in range(1, 6):
        records += [f"{n}) Box set number {n}, remastered (Blu-ray)", f"http://amzn.to/{n}abcDEF"]
    assert list_item(records[0]) == ("#)", 1) and list_item("12) Taboo") == ("#)", 12)
    kept = [True] * 4 + [False] * 6
    assert _continued(records, kept) == [True] * 10
    lines = [*QUALIFIED[:3], "ADVERTISEMENT", *QUALIFIED[3:]]
    kept = [True, True, True, False, False, False]
    assert _continued(lines, kept, frozenset({3})) == [True, True, True, False, True, True]


def _reference_base_row(text: str, stopwords: frozenset[str], repeats: int, blank_before: float,
                        blank_after: float, removed: bool) -> list[float]:
    """The base features of one line, computed the plain way (one line at a time, str methods, re)."""
    import math

    from cleaners import line_features as lf
    from cleaners import text_shape

    n_chars = len(text)
    words = lf._word_count(text)
    tokens = lf.WORD.findall(text)
    alpha_tokens = [t for t in tokens if t[0].isalpha()]
    letters, alnum, spaces, digits, upper = _reference_counts(text)
    last = text.rstrip(text_shape.CLOSING)[-1:] or text[-1]
    stop_share = sum(t.casefold() in stopwords for t in tokens) / len(tokens) if tokens and stopwords else 0.0
    title_share = sum(t[0].isupper() for t in alpha_tokens) / len(alpha_tokens) if alpha_tokens else 0.0
    return [
        math.log1p(n_chars), math.log1p(words), float(last in text_shape.SENTENCE_END), float(last == ":"),
        float(last.isalnum()), math.log1p(len(lf.INNER_SENTENCE.findall(text))), stop_share, title_share,
        digits / n_chars, (n_chars - alnum - spaces) / n_chars, text.count(",") / (words or 1),
        upper / (letters or 1), float(bool(lf.SEPARATOR_SHAPE.search(text))), float(bool(lf.URL_SHAPE.search(text))),
        float(bool(lf.NUMBER_START.match(text))), float(bool(lf.DATE_TIME_SHAPE.search(text))), float(repeats > 1),
        float(blank_before), float(blank_after), float(removed),
        float(words >= lf.PROSE_MIN_WORDS and last in text_shape.SENTENCE_END),
    ]


_LINE_PIECES = st.sampled_from([
    "the", "The", "of", "a", "News", "HomeSportsNews", "aBc", "ÉTÉ", "İstanbul", "straße",
    "東京の天気", "한국어", "ไทย", "x_y",
    "2024", "12:30", "3/4", "١٢", "²", "Ⅻ", "½", "www.example.com", "a@b", "#tag", "http://x.org", ".net", "|", "»",
    " / ", " > ", " - ", "•", "1.", "—", ",", ".", "!", "?", ":", ";", "\"", "”", ")", "…", "。", "\u00a0", "\t",
    "\x1c", "\x00", "\ud800", "🙂", "Ǆ", "ǅ", "end. Next", "(so.) Yes",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_LINE_PIECES | st.text(min_size=1, max_size=6), min_size=1, max_size=12)
                .map(lambda parts: " ".join(parts)), min_size=1, max_size=12),
       st.booleans())
def test_vectorised_line_features_equal_the_line_by_line_definition(lines: list[str], with_stopwords: bool) -> None:
    import math

    from cleaners.line_features import BASE_FEATURES, furniture_share
    from cleaners.text_shape import PARAGRAPH_MARKS_SHARE, is_prose_end

    page = segment("\n\n".join(lines[:3]) + "\n" + "\n".join(lines[3:]))
    if not page.lines:
        return
    stopwords = frozenset({"the", "of", "a", "straße", "i̇stanbul"}) if with_stopwords else frozenset()
    removed = frozenset({0, 2, 99})
    keys = [" ".join(line.text.casefold().split()) for line in page.lines]
    n = len(page.lines)
    # Blank lines mark paragraphs only when some lines after the first follow one and others do not.
    after_first = [line.blank_before for line in page.lines[1:]]
    low, high = PARAGRAPH_MARKS_SHARE
    marks = bool(after_first) and low <= sum(after_first) / len(after_first) <= high
    expected = np.array([
        _reference_base_row(line.text, stopwords, keys.count(keys[i]),
                            line.blank_before if marks else math.nan,
                            (page.lines[i + 1].blank_before if i + 1 < n else True) if marks else math.nan,
                            i in removed)
        for i, line in enumerate(page.lines)
    ])
    features = line_features(page, stopwords, removed)
    assert np.array_equal(features[:, : len(BASE_FEATURES)], expected, equal_nan=True)
    furniture = sum(1 for ln in page.lines if _reference_word_count(ln.text) <= 4 and not is_prose_end(ln.text))
    assert furniture_share(page) == furniture / n


def _reference_word_count(text: str) -> float:
    from cleaners.line_features import NO_SPACE_SCRIPT

    dense = len(NO_SPACE_SCRIPT.findall(text))
    return len(text.split()) + dense / 2 if dense else float(len(text.split()))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=40))
def test_distance_to_the_nearest_prose_line_is_the_plain_minimum_over_every_prose_line(prose: list[bool]) -> None:
    # Found by bisection rather than a line-by-prose-line matrix (which took 2 GB on a 750 kB forum thread).
    names = feature_names()
    lines = [f"Sentence {i} of running prose, long enough to count as a line of an article body." if is_prose
             else f"Menu {i}" for i, is_prose in enumerate(prose)]
    features = line_features(segment("\n".join(lines)), frozenset())
    assert features[:, names.index("prose")].astype(bool).tolist() == prose
    at = [i for i, is_prose in enumerate(prose) if is_prose]
    n = len(prose)
    nearest = [min(abs(i - j) for j in at) if at else n for i in range(n)]
    inside = [1.0 if at and at[0] <= i <= at[-1] else 0.0 for i in range(n)]
    np.testing.assert_allclose(features[:, names.index("prose_distance")], np.log1p(nearest), rtol=1e-15)
    assert features[:, names.index("inside_prose_span")].tolist() == inside


_MODEL_BITS_SCRIPT = """
import hashlib, sys
from pathlib import Path
from cleaners.decode import decode_capture
from cleaners.line_classifier import keep_mask, page_language, shipped_model
from cleaners.line_features import line_features
from cleaners.segment import segment
from cleaners.stopwords import stopwords_for
import numpy as np
model, digest = shipped_model(), hashlib.sha256()
for path in sorted(Path(sys.argv[1]).glob("*.page.txt")):
    page = segment(decode_capture(path.read_bytes(), 50_000_000).text)
    features = line_features(page, stopwords_for(page_language(page)))
    chars = np.array([len(line.text) for line in page.lines], dtype=float)
    probabilities = model.probabilities(features, chars)
    keep, region = keep_mask(model, probabilities, chars)
    for part in (features, model.context_inputs(features, model.lines.probabilities(features), chars),
                 probabilities, keep, np.array(region or (-1, -1))):
        digest.update(np.ascontiguousarray(part).tobytes())
print(digest.hexdigest())
"""


def test_the_line_model_computes_the_same_bits_whatever_vector_instructions_numpy_picks() -> None:
    """numpy's own log and exp differ in the last bit on an AVX-512 CPU, enough to move a line to another leaf:
    the features, probabilities and decisions must not depend on it (the same capture, the same text anywhere)."""
    import os
    import subprocess
    import sys

    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__  # what numpy may pick here

    pages = sorted(EVAL_DEV.glob("*.page.txt"))
    if not pages:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    available = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]

    def digest(disabled: list[str]) -> str:
        env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
        if disabled:
            env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
        done = subprocess.run([sys.executable, "-c", _MODEL_BITS_SCRIPT, str(EVAL_DEV)], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    # Every vector extension numpy found on this CPU, then none beyond its baseline. (On a CPU without AVX-512
    # this compares less, but still everything numpy would pick differently.)
    assert digest([]) == digest(available)


def test_retraining_on_the_dev_pages_writes_the_shipped_model_byte_for_byte(tmp_path: Path) -> None:
    """The shipped model is what the training script makes of the dev pages, on any machine."""
    from bench.train_line_classifier import DEFAULT_OUT, main

    if not sorted(EVAL_DEV.glob("*.page.txt")):
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    out = tmp_path / "line_classifier.json"
    assert main([str(EVAL_DEV), "--folds", "1", "--out", str(out)]) == 0
    assert out.read_bytes() == DEFAULT_OUT.read_bytes()


def test_the_c_library_functions_keep_numpy_s_shapes_and_limits() -> None:
    import math

    from cleaners import libm

    values = np.array([[0.0, 1.0], [2.5, 1e-300]])
    assert libm.log1p(values).shape == (2, 2) and libm.log1p(values)[0].tolist() == [0.0, math.log(2.0)]
    assert libm.log(np.array([1.0, np.e])).tolist() == [0.0, 1.0]
    # Far past exp's range the probability saturates (math.exp would raise where numpy returned inf).
    assert libm.logistic(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
    assert np.isnan(libm.logistic(np.array([np.nan]))[0])


def test_training_cross_validates_under_several_fold_assignments_and_reports_their_mean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import shutil
    from urllib.parse import urlsplit

    from bench.train_line_classifier import (
        NESTED_REGION_THRESHOLDS,
        REGION_THRESHOLD,
        load_pages,
        main,
        repeat_salts,
        site_folds,
    )

    assert repeat_salts("", 3) == ["", "a", "b"] and repeat_salts("a", 3) == ["a", "b", "c"]
    assert repeat_salts("x", 1) == ["x"]
    # Twelve real dev pages of twelve sites (read off their meta files): small enough to train in seconds.
    by_site: dict[str, str] = {}
    for meta in sorted(EVAL_DEV.glob("*.meta.json")):
        by_site.setdefault(urlsplit(json.loads(meta.read_text())["url"]).netloc, meta.name[: -len(".meta.json")])
    if len(by_site) < 12:
        pytest.skip(f"too few labelled sites in {EVAL_DEV}")
    for page_id in sorted(by_site.values())[:12]:
        for suffix in (".page.txt", ".gold.txt", ".meta.json", ".html"):
            shutil.copy(EVAL_DEV / f"{page_id}{suffix}", tmp_path / f"{page_id}{suffix}")
    pages = load_pages(tmp_path)
    assert site_folds(pages, 3, "") != site_folds(pages, 3, "a")  # another salt, another split
    assert main([str(tmp_path), "--folds", "3", "--repeats", "2", "--seeds", "2", "--no-write", "--no-context",
                 "--nested-thresholds"]) == 0
    report = json.loads(capsys.readouterr().out)
    runs = report["repeats"]
    # The shipped threshold's row is the headline figure, cleaned again; the nested figure picks one threshold of the
    # grid per fold.
    assert all(run["region_thresholds"][str(REGION_THRESHOLD)]["f1"] == run["f1"] for run in runs)
    assert all(len(run["nested"]["chosen"]) == 3 and set(run["nested"]["chosen"]) <= set(NESTED_REGION_THRESHOLDS)
               for run in runs)
    assert report["mean_nested"]["f1"] == pytest.approx(sum(run["nested"]["f1"] for run in runs) / 4)
    assert [(run["fold_salt"], run["seed"]) for run in runs] == [("", 0), ("a", 0), ("", 1), ("a", 1)]
    assert runs[0]["f1"] == report["cross_validated"]["f1"]
    assert report["mean"]["f1"] == pytest.approx(sum(run["f1"] for run in runs) / 4)
    assert report["f1_range"] == [min(r["f1"] for r in runs), max(r["f1"] for r in runs)]
    assert all(run["pages"] == 12 and run["layouts"]["no_blank_lines"]["pages"] == 12 for run in runs)
    # Each held-out page is also scored as its HTML dumped node by node (made only when cross-validating).
    assert all(run["layouts"]["text_nodes"]["pages"] == 12 for run in runs)
    # Each run is its own split (these twelve pages score differently under the two; deterministic), and each
    # seed its own draw of the trees.
    assert (runs[0]["precision"], runs[0]["recall"]) != (runs[1]["precision"], runs[1]["recall"])
    assert (runs[0]["precision"], runs[0]["recall"]) != (runs[2]["precision"], runs[2]["recall"])


def test_the_nested_operating_point_picks_each_fold_s_threshold_on_the_other_folds_only() -> None:
    """The operating point is the threshold whose smaller margin to the two targets (F1 0.93, recall 0.95) is largest,
    chosen for each fold on the other folds' pages only. Folds 1 and 2 hold the same page: at 0.2 it keeps furniture
    (F1 below 0.93), at 0.4 it only just reaches the recall target, at 0.3 both margins are wide. Fold 0's own page
    would pull the choice to 0.4; it is scored at 0.3, what the other folds choose."""
    from bench.train_line_classifier import nested_operating_point, operating_point, with_region_threshold
    from cleaners.metrics import PageScore, aggregate

    def page(precision: float, recall: float) -> PageScore:
        # tp 1: fp and fn follow from precision = tp / (tp + fp) and recall = tp / (tp + fn).
        return PageScore(tp=1.0, fp=1 / precision - 1, fn=1 / recall - 1, empty_prediction=False, exact=False)

    pages = {  # threshold -> (precision, recall) of the one page in each of folds 0, 1, 2
        0.2: ((0.80, 0.90), (0.80, 0.99), (0.80, 0.99)),
        0.3: ((0.80, 0.90), (0.95, 0.97), (0.95, 0.97)),
        0.4: ((0.99, 0.99), (0.99, 0.951), (0.99, 0.951)),
    }
    scores = {t: [(fold, page(*pr)) for fold, pr in enumerate(prs)] for t, prs in pages.items()}
    # The recall rule of stops 30-32 (the highest threshold reaching 0.95) would pick 0.4 on folds 1 and 2 alone.
    alone = {t: aggregate(s for f, s in scores[t] if f != 0) for t in pages}
    assert all(alone[t].recall >= 0.95 for t in pages) and alone[0.2].f1 < 0.93
    assert operating_point(alone) == 0.3
    held_out, chosen = nested_operating_point(scores)
    # Fold 0: the others' smaller margins are -0.045 (F1) at 0.2, 0.02 (recall) at 0.3, 0.001 (recall) at 0.4 -> 0.3.
    # Folds 1 and 2: with fold 0's page among the others, both figures miss at 0.2 and 0.3 and both hold at 0.4 -> 0.4.
    assert chosen == [0.3, 0.4, 0.4]
    assert [round(s.recall, 3) for s in held_out] == [0.90, 0.951, 0.951]
    # Equal margins: the lower threshold.
    tie = {t: aggregate([page(0.99, 0.97)]) for t in (0.25, 0.35)}
    assert operating_point(tie) == 0.25
    model = shipped_model()
    moved = with_region_threshold(model, 0.4)
    assert moved.region_threshold == 0.4 and moved.unmarked is not None and moved.unmarked.region_threshold == 0.4
    assert moved.context_region_threshold == model.context_region_threshold and moved.lines is model.lines


def test_blank_line_features_are_unknown_when_the_dump_does_not_mark_paragraphs() -> None:
    """A real dump as given marks paragraphs; without its blank lines (a WET record) or with one before every line
    its blank-line features are NaN (unknown), and every other feature is the same in all three layouts."""
    from bench.train_line_classifier import blank_line_before_every_line, without_blank_lines
    from cleaners.line_features import BASE_FEATURES
    from cleaners.text_shape import marks_paragraphs

    dumps = sorted(EVAL_DEV.glob("*.page.txt"))
    if not dumps:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    text = dumps[0].read_text(encoding="utf-8")
    layouts = {"as dumped": text, "no blank lines": without_blank_lines(text),
               "a blank line before every line": blank_line_before_every_line(text)}
    blank = [BASE_FEATURES.index("blank_before"), BASE_FEATURES.index("blank_after")]
    features = {}
    for name, layout in layouts.items():
        page = segment(layout)
        features[name] = line_features(page, frozenset({"the", "of", "and"}))
        assert marks_paragraphs([line.blank_before for line in page.lines]) == (name == "as dumped"), name
    assert set(np.unique(features["as dumped"][:, blank]).tolist()) == {0.0, 1.0}
    for name in ("no blank lines", "a blank line before every line"):
        assert np.isnan(features[name][:, blank]).all(), name
        others = np.ones(features[name].shape[1], dtype=bool)
        others[blank] = False
        assert np.array_equal(features[name][:, others], features["as dumped"][:, others]), name
    # A stray blank line or two in a long dump without paragraph marks does not make it one that has them.
    assert not marks_paragraphs([True] + [False] * 40 + [True] + [False] * 40)
    assert not marks_paragraphs([True]) and marks_paragraphs([True, False, True])


def test_a_dump_without_paragraph_marks_is_read_by_the_model_trained_on_such_dumps() -> None:
    """The shipped model is a pair. A dump whose blank lines mark paragraphs is read by the first reader; the same
    dump without blank lines (a WET record, `get_text("\\n")`) or with one before every line by `unmarked`, and
    those two layouts lose exactly the same lines to the same rules."""
    from bench.train_line_classifier import blank_line_before_every_line, without_blank_lines
    from cleaners import Pipeline
    from cleaners.model import CleanResult
    from cleaners.text_shape import marks_paragraphs

    model = shipped_model()
    assert model.unmarked is not None and model.unmarked.unmarked is None
    assert model.unmarked.version != model.version
    captures = sorted(SEEDS.glob("*.txt")) + sorted(EVAL_DEV.glob("*.page.txt"))[:12]
    pipeline = Pipeline()
    readers: dict[str, set[str]] = {"marked": set(), "unmarked": set()}
    for capture in captures:
        text = capture.read_text(encoding="utf-8")
        read = []
        for layout in (text, without_blank_lines(text), blank_line_before_every_line(text)):
            result = pipeline.clean_capture(layout.encode("utf-8"))
            assert isinstance(result, CleanResult)
            read.append(([(r.category, r.rule, r.text.strip()) for r in result.removed],
                         [line.strip() for line in result.text.split("\n") if line.strip()]))
            versions = {r.rule.split(".")[2] for r in result.removed if r.category == "boilerplate"}
            marks = marks_paragraphs([line.blank_before for line in segment(layout).lines])
            readers["marked" if marks else "unmarked"] |= versions
        assert read[2] == read[1], capture.name
    assert readers == {"marked": {model.version}, "unmarked": {model.unmarked.version}}


def test_a_dump_that_marks_paragraphs_is_read_by_both_readers() -> None:
    """A dump whose blank lines mark paragraphs is read by the pair's two readers, their probabilities averaged: the
    first with its blank lines, the second exactly as it reads the same dump without them. The cleaner removes the
    lines that mean does not keep (and no others), which on real dumps is not what the first reader alone keeps."""
    from bench.train_line_classifier import without_blank_lines
    from cleaners.line_classifier import LineClassifierCleaner, page_language
    from cleaners.line_features import without_paragraph_marks
    from cleaners.stopwords import stopwords_for
    from cleaners.text_shape import marks_paragraphs

    model = shipped_model()
    assert model.unmarked is not None
    dumps = sorted(EVAL_DEV.glob("*.page.txt"))[:12]
    if not dumps:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    cleaner = LineClassifierCleaner(model=model)
    differs_from_first_reader = 0
    for dump in dumps:
        text = dump.read_text(encoding="utf-8")
        page, unmarked_page = segment(text), segment(without_blank_lines(text))
        assert marks_paragraphs([line.blank_before for line in page.lines]), dump.name
        language = stopwords_for(page_language(page))
        features = line_features(page, language)
        # The second reader's view of the dump is its view of the same dump without blank lines.
        assert np.array_equal(without_paragraph_marks(features), line_features(unmarked_page, language),
                              equal_nan=True), dump.name
        chars = np.array([len(line.text) for line in page.lines], dtype=float)
        mean = model.read(features, chars, True)
        assert np.array_equal(mean, (model.probabilities(features, chars) + model.unmarked.probabilities(
            without_paragraph_marks(features), chars)) / 2), dump.name
        assert np.array_equal(model.read(features, chars, False), model.unmarked.probabilities(features, chars))
        removed = {r.start for r in cleaner.find(page)}
        kept_by_mean, _ = keep_mask(model, mean, chars)
        kept_by_first, _ = keep_mask(model, model.probabilities(features, chars), chars)
        assert removed == {line.start for line, kept in zip(page.lines, kept_by_mean, strict=True) if not kept}
        differs_from_first_reader += not np.array_equal(kept_by_mean, kept_by_first)
    assert differs_from_first_reader >= 3, differs_from_first_reader
