"""Property-based tests: what every cleaning must guarantee, whatever text comes in."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaners import PIPELINE, Pipeline, rebuild
from cleaners.decode import decode_capture
from cleaners.html import EXTRACTORS
from cleaners.model import Config, Decoded, Rejection, Removal
from cleaners.render import resolve_overlaps

# Lines that trigger rules, mixed with ordinary prose and odd characters, so the cleaners do work.
BOILERPLATE = [
    "Related Posts", "Become a Patron!", "Share this article", "Facebook", "Twitter", "Email",
    "US Defense Secretary Pete Hegseth, photo via Wikimedia.", "To suggest a correction, write to us here",
    "You can also highlight the text and press Ctrl + Enter", "Euromaidan Press", "Washington Examiner",
    "CLICK HERE TO READ MORE FROM THE WASHINGTON EXAMINER", "© 2024 Example Media. All rights reserved.",
    "We use cookies to improve your experience on our website. By continuing you agree.",
    "Home", "News", "World", "Politics", "Skip to main content", "12 Comments", "Read more: a title here",
    "We kindly ask for your support by disabling your ad blocker. We rely on advertising revenue. Thank you!",
]
PROSE = [
    "The minister said on Tuesday that the talks would resume next week in Brussels.",
    "Hegseth rejects concessions to Putin",
    "It was the longest session in a decade, members said after the vote on the budget plan.",
    "Was it worth it?", "", " ", "\t  indented line", "‮bidi override‬ and zero\u200bwidth", "日本語のテキスト。",
]
line = st.one_of(st.sampled_from(BOILERPLATE), st.sampled_from(PROSE), st.text(max_size=80))
texts = st.lists(line, max_size=40).flatmap(
    lambda lines: st.sampled_from(["\n", "\n\n", "\r\n"]).map(lambda sep: sep.join(lines)))

PIPE = Pipeline()
# Load lazily built models (language identification) once here, not inside the first generated
# example, where their use of the global random state would be blamed on the strategy.
PIPE.clean_text(" ".join(PROSE[:3]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_removals_are_exact_disjoint_and_rebuild_the_text(text: str) -> None:
    result = PIPE.clean_text(text)
    previous_end = 0
    for removal in result.removed:
        assert 0 <= removal.start < removal.end <= len(text)
        assert removal.start >= previous_end  # sorted, never overlapping
        assert text[removal.start : removal.end] == removal.text
        previous_end = removal.end
    assert rebuild(result.text, result.removed) == text
    assert result.n_chars_raw == len(text)


@settings(max_examples=150, deadline=None)
@given(texts)
def test_cleaning_is_deterministic(text: str) -> None:
    assert PIPE.clean_text(text) == PIPE.clean_text(text)
    assert Pipeline().clean_text(text) == PIPE.clean_text(text)


@settings(max_examples=150, deadline=None)
@given(texts)
def test_every_category_cleaner_alone_returns_exact_spans(text: str) -> None:
    for cleaner_class in PIPELINE:
        kept, removals = cleaner_class()(text)
        assert rebuild(kept, removals) == text, cleaner_class.category
        assert all(r.category == cleaner_class.category for r in removals)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_are_rejected_with_a_reason(data: bytes) -> None:
    outcome = decode_capture(data, 10**6)
    if isinstance(outcome, Rejection):
        assert outcome.reason in {"empty", "binary", "undecodable", "too_large"} and outcome.detail
    else:
        assert isinstance(outcome, Decoded) and outcome.text.strip() and "\r" not in outcome.text
    # …and the whole path never raises either.
    PIPE.clean_capture(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<h1>Title</h1>", "<script>x()</script>",
                                 "text ", "<br>", "<a href='https://x.example'>link</a>", "&amp;", "\x00"]),
                max_size=60))
def test_any_html_cleans_or_is_rejected_without_raising(parts: list[str]) -> None:
    outcome = PIPE.clean_html("".join(parts).encode("utf-8"))
    if isinstance(outcome, Rejection):
        assert outcome.reason in {"empty", "binary", "undecodable", "no_text"} and outcome.detail
        return
    extracted = rebuild(outcome.text, outcome.removed)  # the extractor's text the spans refer to
    assert outcome.extractor in EXTRACTORS
    for removal in outcome.removed:
        assert extracted[removal.start : removal.end] == removal.text


# Hostile lines: long runs of repeated tokens next to rule patterns, controls and bidi overrides,
# lines around the rule line limit (a small limit here, so both sides of it are exercised often).
HOSTILE = st.one_of(
    st.builds(lambda token, n: token * n, st.sampled_from(["Share this article ", "Read more: ", "© ", "Home "]),
              st.integers(1, 400)),
    st.text(alphabet=st.sampled_from(["\u202e", "\u202c", "\u2067", "\u2069", "\x07", "\x1b", "a", " ", "é"]),
            max_size=60),
    st.sampled_from(BOILERPLATE),
)
hostile_texts = st.lists(HOSTILE, max_size=30).map("\n".join)
SHORT_LINES = Pipeline(Config(max_rule_line_chars=60))


@settings(max_examples=150, deadline=None)
@given(hostile_texts, st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_hostile_bytes_clean_to_spans_that_rebuild_the_decoded_capture(text: str, encoding: str) -> None:
    data = text.encode(encoding, errors="replace")
    for pipeline in (PIPE, SHORT_LINES):
        decoded = decode_capture(data, 10**7)
        outcome = pipeline.clean_capture(data)
        if isinstance(decoded, Rejection):
            assert isinstance(outcome, Rejection) and outcome.reason == decoded.reason
            continue
        assert not isinstance(outcome, Rejection)
        assert rebuild(outcome.text, outcome.removed) == decoded.text  # exactly the decoded capture
        ends = [0, *(x for r in outcome.removed for x in (r.start, r.end)), len(decoded.text)]
        assert ends == sorted(ends)  # inside the text, in order, never overlapping
        assert pipeline.clean_capture(data) == outcome  # deterministic


def _resolve_naively(removals: list[Removal]) -> list[Removal]:
    kept: list[Removal] = []
    for r in removals:
        if r.end > r.start and not any(r.start < k.end and k.start < r.end for k in kept):
            kept.append(r)
    return sorted(kept, key=lambda r: r.start)


spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(spans)
def test_overlaps_resolve_as_first_come_first_kept(pairs: list[tuple[int, int]]) -> None:
    removals = [Removal(start, start + length, "c", f"r{i}", "") for i, (start, length) in enumerate(pairs)]
    resolved = resolve_overlaps(removals)
    assert resolved == _resolve_naively(removals)
    # The pipeline skips resolving again when a cleaner finds nothing: resolved removals must stay as they are.
    assert resolve_overlaps(resolved) == resolved


def _claimed_line_by_line(page: object, prior: list[Removal]) -> set[int]:
    """claimed_line_indexes as first written: every line against the first span (in start order) not before it."""
    spans = sorted((r.start, r.end) for r in prior)
    claimed: set[int] = set()
    j = 0
    for ln in page.lines:  # type: ignore[attr-defined]
        while j < len(spans) and spans[j][1] <= ln.start:
            j += 1
        if j < len(spans) and spans[j][0] <= ln.start and spans[j][1] >= ln.end:
            claimed.add(ln.index)
    return claimed


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(st.tuples(st.integers(-2, 400), st.integers(-2, 400)), max_size=8), st.booleans())
def test_claimed_lines_jump_over_lines_but_claim_as_the_line_by_line_walk(
    text: str, pairs: list[tuple[int, int]], whole_lines: bool
) -> None:
    from cleaners.base import claimed_line_indexes
    from cleaners.segment import segment

    page = segment(text)
    if whole_lines:  # removals as cleaners make them: whole lines, overlapping ones too
        pairs = [(page.lines[a % len(page.lines)].start, page.lines[b % len(page.lines)].end)
                 for a, b in pairs] if page.lines else []
    prior = [Removal(a, b, "footer", "footer.x", "") for a, b in pairs]
    assert claimed_line_indexes(page, prior) == _claimed_line_by_line(page, prior)


def _pattern_removals_over_all_matched_lines(cleaner: object, page: object, claimed: set[int],
                                             hits: object) -> list[Removal]:
    """Cleaner.pattern_removals as first written: every rule tried on every line some pattern matched."""
    from cleaners.base import line_removal, run_matches

    candidates = [ln for ln in page.lines if ln.index not in claimed and ln.index in hits.matched]  # type: ignore[attr-defined]
    out: list[Removal] = []
    taken: set[int] = set()
    for rule in cleaner.rules.rules:  # type: ignore[attr-defined]
        if rule.kind == "run":
            fired = run_matches(rule, candidates, hits)  # type: ignore[arg-type]
        elif rule.kind in ("line", "cues"):
            fired = [ln for ln in candidates if hits.fires(rule, ln.index)]  # type: ignore[attr-defined]
        else:
            continue
        for ln in fired:
            if ln.index not in taken:
                taken.add(ln.index)
                out.append(line_removal(ln, cleaner.category, rule.id))  # type: ignore[attr-defined]
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.sets(st.integers(0, 40), max_size=6))
def test_rules_tried_only_where_their_patterns_matched_take_the_same_lines(text: str, claimed: set[int]) -> None:
    from cleaners.segment import segment

    page = segment(text)
    hits = PIPE.matcher.match(page)
    for cleaner in PIPE.cleaners:
        if cleaner.rules.rules:
            expected = _pattern_removals_over_all_matched_lines(cleaner, page, claimed, hits)
            assert list(cleaner.pattern_removals(page, claimed, hits)) == expected
