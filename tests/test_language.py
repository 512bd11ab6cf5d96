"""The vectorised walk of py3langid's automaton: exact by proof on the installed model, and equal in use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaners.language import SYNC_BYTES, _identifier, _raw_identifier, feature_visits

EVAL_DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev"


def _reference() -> tuple[object, object]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return (LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True),
            LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False))


REFERENCE, RAW_REFERENCE = _reference()


def test_the_automaton_forgets_its_start_within_sync_bytes() -> None:
    """From every state, any SYNC_BYTES bytes lead where they lead from the start state (all pairs followed)."""
    identifier = _identifier()
    next_state, row_base = identifier.next_state, identifier.row_base
    byte = np.arange(256, dtype=np.intp)
    n = row_base.size
    pairs = np.arange(n, dtype=np.intp)  # (any state a, start walk c) as a * n + c; c is the start state 0
    for _ in range(SYNC_BYTES):
        found = []
        for chunk in np.array_split(pairs, max(1, pairs.size // 20_000)):
            a = next_state[(row_base[chunk // n][:, None] + byte).ravel()].astype(np.intp)
            c = next_state[(row_base[chunk % n][:, None] + byte).ravel()].astype(np.intp)
            apart = a != c
            found.append(np.unique(a[apart] * n + c[apart]))
        pairs = np.unique(np.concatenate(found))
    assert pairs.size == 0


def _same_scores(text: str | bytes) -> None:
    assert _identifier()._decide(text).tobytes() == REFERENCE._decide(text).tobytes()  # type: ignore[attr-defined]
    assert _raw_identifier()._decide(text).tobytes() == RAW_REFERENCE._decide(text).tobytes()  # type: ignore[attr-defined]


def test_scores_equal_py3langid_on_dev_pages_bit_for_bit() -> None:
    pages = sorted(EVAL_DEV.glob("*.page.txt"))[:40]
    assert pages
    for path in pages:
        text = path.read_text(encoding="utf-8", errors="replace")
        for start in range(0, min(len(text), 6_000), 1_500):
            _same_scores(text[start:start + 2_000])
    for short in ("", "a", "ab", "abcde", "日本", b"\xff\xfe", "HELLO WORLD"):
        _same_scores(short)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.binary(max_size=40))
def test_scores_equal_py3langid_on_any_text(text: str | bytes) -> None:
    _same_scores(text)


def test_visits_come_in_first_visit_order() -> None:
    identifier = _identifier()
    from py3langid.langid import visit_counts

    text = "The quick brown fox jumps over the lazy dog; der schnelle braune Fuchs, Größe.".encode()
    reference = REFERENCE  # py3langid's own lists (ours lets them go)
    expected = visit_counts(reference.tk_nextmove, reference._rowbase, reference.tk_output, text)  # type: ignore[attr-defined]
    got = feature_visits(identifier.next_state, identifier.row_base, identifier.state_feature, text)
    assert list(got.items()) == list(expected.items())
