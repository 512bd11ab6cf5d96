"""Segmentation: non-blank lines with their offsets; hard-wrapped dumps read as the paragraphs they were cut from."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.train_line_classifier import hard_wrapped
from cleaners.segment import segment

from .conftest import EVAL_DEV, SEEDS


def _physical_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _dev_dumps(n: int) -> list[Path]:
    dumps = sorted(EVAL_DEV.glob("*.page.txt"))[:n]
    if not dumps:
        pytest.skip(f"no page dumps in {EVAL_DEV}")
    return dumps


def test_a_free_text_dump_keeps_one_line_per_line_of_text() -> None:
    """No dev page dump and no seed is taken for hard-wrapped: their lines are never joined."""
    for capture in sorted(SEEDS.glob("*.txt")) + _dev_dumps(10**6):
        text = capture.read_text(encoding="utf-8")
        assert [line.text for line in segment(text).lines] == _physical_lines(text), capture.name


def test_a_hard_wrapped_dump_is_read_as_the_paragraphs_it_was_cut_from() -> None:
    """Real dumps wrapped at 72 and 78 columns come back as their own lines, with offsets into the wrapped text."""
    restored = total = 0
    for dump in _dev_dumps(20):
        original = [line.text for line in segment(dump.read_text(encoding="utf-8")).lines]
        for width in (72, 78):
            wrapped = hard_wrapped(dump.read_text(encoding="utf-8"), width)
            page = segment(wrapped)
            for line in page.lines:
                assert " ".join(wrapped[line.start:line.end].split()) == line.text
            joined = {line.text for line in page.lines}
            restored += sum(text in joined for text in original)
            total += len(original)
    # Measured 0.95: a line that ends within a word of the width before a short line is joined to it (the
    # wrapper left no sign of the difference).
    assert restored / total >= 0.9, (restored, total)


def test_lines_of_other_widths_or_too_few_full_ones_are_not_joined() -> None:
    prose = ("The council met on Tuesday and voted to close the old bridge to all traffic from next month, "
             "officials said, after engineers found cracks in two of its piers. ") * 6
    at_72 = hard_wrapped(prose, 72)
    assert len(segment(at_72).lines) == 1  # one paragraph
    at_40 = hard_wrapped(prose, 40)  # narrower than any page wrapper: a column of short lines, left alone
    assert len(segment(at_40).lines) == len(_physical_lines(at_40))
    menu = "\n".join(["Home", "News", "Sport", "Business", "Contact us", "About this site"] * 3)
    assert len(segment(menu).lines) == 18
    # Sentences of about one length, one per line, fill their lines as a wrapper would, but each ends a sentence.
    sentences = "\n".join(f"Sentence {i} of running prose, long enough to count as a line of an article body."
                           for i in range(8))
    assert len(segment(sentences).lines) == 8
    # A paragraph break (a blank line) is never crossed, and a line the next word would have fitted on ends there.
    page = segment(at_72 + "\n\n" + at_72 + "\nShort line.\nAnother short line.")
    assert [line.text for line in page.lines][-2:] == ["Short line.", "Another short line."]
    assert len(page.lines) == 4


def test_a_wrapped_page_dump_is_cleaned_as_the_same_dump_unwrapped() -> None:
    """Through the whole pipeline, line model included, a wrapped real dump keeps what the dump keeps unwrapped."""
    from cleaners import Pipeline
    from cleaners.metrics import score_page
    from cleaners.model import CleanResult

    pipeline = Pipeline()
    agreement = []
    for dump in _dev_dumps(12):
        text = dump.read_text(encoding="utf-8")
        plain, wrapped = pipeline.clean_capture(text.encode()), pipeline.clean_capture(hard_wrapped(text, 76).encode())
        assert isinstance(plain, CleanResult) and isinstance(wrapped, CleanResult)
        agreement.append(score_page(plain.text, wrapped.text).f1)
    # Measured 0.897 (without joining the lines: 0.694).
    assert sum(agreement) / len(agreement) >= 0.85, agreement


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["the", "council", "voted", "to", "close", "bridge.", "A", "Home", "\t",
                                           "wordwordwordword", "é"]), min_size=0, max_size=40)
                .map(" ".join), min_size=1, max_size=30),
       st.sampled_from([None, 60, 72, 80]))
def test_lines_keep_their_offsets_and_order_wrapped_or_not(paragraphs: list[str], width: int | None) -> None:
    text = "\n".join(paragraphs)
    if width is not None:
        text = hard_wrapped(text, width)
    page = segment(text)
    previous_end = 0
    for index, line in enumerate(page.lines):
        assert line.index == index and previous_end <= line.start < line.end <= len(text)
        span = text[line.start:line.end]
        # A line is its span; a joined one its lines' contents, one space between them.
        assert line.text == span if "\n" not in span else line.text == " ".join(
            part.strip() for part in span.split("\n"))
        previous_end = line.end
    # Joining only ever merges neighbouring lines: the words and their order are those of the text.
    assert " ".join(line.text for line in page.lines).split() == text.split()
