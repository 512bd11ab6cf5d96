"""The line classifier's parts: exact character counts, the shipped model file, the body region."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaners.line_classifier import LineModel, body_region, keep_mask, shipped_model
from cleaners.line_features import char_counts, feature_names, line_features
from cleaners.segment import segment


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
    assert model.version.startswith("lr-") and len(model.training_pages) > 100
    again = LineModel.from_dict(model.to_dict())
    page = segment("Home\nNews\n\nA first sentence of the article, long enough to read as prose here.\n")
    features = line_features(page, frozenset({"a", "of", "the"}))
    assert np.allclose(again.probabilities(features), model.probabilities(features))
    with pytest.raises(ValueError, match="other features"):
        LineModel.from_dict(model.to_dict() | {"feature_names": ["something_else"]})


def test_body_region_is_the_best_contiguous_run_and_a_page_is_never_emptied() -> None:
    assert body_region(np.array([-1.0, 2.0, -0.5, 2.0, -3.0, 1.0])) == (1, 3)
    assert body_region(np.array([-1.0, -2.0])) is None
    model = shipped_model()
    keep, region = keep_mask(model, np.array([0.01, 0.04, 0.05]), np.array([10.0, 300.0, 20.0]))
    assert region is None and keep.tolist() == [False, True, False]  # the most body-like line survives
