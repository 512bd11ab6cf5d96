"""One generic test over every rule file: each rule's must-match and must-not-match examples."""

from __future__ import annotations

import pytest

from cleaners import PIPELINE, CleanResult, Config, Pipeline
from cleaners.base import Cleaner
from cleaners.rules import FRAGMENT_REFERENCE, expand_fragments, fragment_table, load_rules, rule_categories
from cleaners.segment import segment

# Each category's cleaner, and for a category whose file marks rules `after_model`, its second cleaner for those.
CLEANER_BY_STAGE: dict[tuple[str, bool], type[Cleaner]] = {
    (cls.category, cls.takes_after_model_rules): cls for cls in PIPELINE
}
ORDER = [cls.category for cls in PIPELINE if not cls.takes_after_model_rules]
# Categories decided by a model or by the run's other captures, not by pattern rules.
LEARNED_CATEGORIES = {"site_repeated", "boilerplate"}
PATTERN_ORDER = [c for c in ORDER if c not in LEARNED_CATEGORIES]


def fired_rules(category: str, kind: str, example: str, after_model: bool = False) -> set[str]:
    """Rule ids that fire on an example: pattern rules by their cleaner alone; structural rules by
    the pipeline up to their category (they read what earlier cleaners found, e.g. the headline).
    An example that is an HTML page goes the HTML path (extraction first), as a capture would."""
    if kind == "structural":
        prefix = tuple(ORDER[: ORDER.index(category) + 1])
        if example.startswith("<html"):
            result = Pipeline(Config(categories=prefix)).clean_html(example.encode())
            assert isinstance(result, CleanResult), result
            return {r.rule for r in result.removed}
        removals = Pipeline(Config(categories=prefix)).find_removals(example)
    else:
        removals = CLEANER_BY_STAGE[category, after_model]().find(segment(example))
    return {r.rule for r in removals}


CASES = [
    pytest.param(category, rule.id, rule.kind, example, expected, rule.after_model,
                 id=f"{rule.id}-{'match' if expected else 'no'}{i}")
    for category in rule_categories()
    for rule in load_rules(category).rules
    for expected, examples in ((True, rule.match), (False, rule.no_match))
    for i, example in enumerate(examples)
]


@pytest.mark.parametrize(("category", "rule_id", "kind", "example", "expected", "after_model"), CASES)
def test_rule_example(category: str, rule_id: str, kind: str, example: str, expected: bool, after_model: bool) -> None:
    fired = rule_id in fired_rules(category, kind, example, after_model)
    assert fired == expected, f"{rule_id} {'did not fire' if expected else 'fired'} on: {example!r}"


def test_every_rule_has_both_kinds_of_examples() -> None:
    for category in rule_categories():
        for rule in load_rules(category).rules:
            assert rule.match, f"{rule.id} has no must-match example"
            assert rule.no_match, f"{rule.id} has no must-not-match example"


def test_rule_files_and_pipeline_name_the_same_categories() -> None:
    from cleaners.pipeline import EXTRACTED_TEXT_ONLY, PAGE_DUMP_ONLY

    assert set(rule_categories()) == set(PATTERN_ORDER)
    # A category has one cleaner on each path (a page dump; an extractor's text): the headline's are the title-line
    # heuristics of a dump and the stated title of an extractor's text, side by side in the pipeline.
    # A category with rules marked `after_model` has a second cleaner for them, after the line model.
    for excluded in (EXTRACTED_TEXT_ONLY, PAGE_DUMP_ONLY):
        on_path = [(cls.category, cls.takes_after_model_rules) for cls in PIPELINE if cls not in excluded]
        assert len(on_path) == len(set(on_path)), on_path
    runs = [c for i, c in enumerate(ORDER) if i == 0 or ORDER[i - 1] != c]
    assert len(runs) == len(set(runs)), ORDER


def test_patterns_are_compiled_with_re2_for_linear_time() -> None:
    for category in rule_categories():
        for rule in load_rules(category).rules:
            for compiled in (rule.pattern, *rule.cues, *rule.require):
                if compiled is not None:
                    assert type(compiled).__module__.startswith("re2"), f"{rule.id} not compiled by re2"


def test_shared_fragments_are_expanded_in_every_pattern_and_an_unknown_one_is_an_error() -> None:
    # The byline rules share their month, weekday and stamp-label lists through the file's [fragments].
    stamp, date_alone = (load_rules("byline").get(f"byline.{name}") for name in ("timestamp", "date_alone"))
    for rule in (stamp, date_alone):
        assert rule.pattern.fullmatch("Mis à jour le 18 juin 2019" if rule is stamp else "18 juin 2019")
    for category in rule_categories():
        for rule in load_rules(category).rules:
            for source in (rule.pattern_source, *rule.cue_sources, *rule.require_sources):
                assert source is None or not FRAGMENT_REFERENCE.search(source), f"{rule.id}: {source}"
    fragments = fragment_table("test", {"day": "(?:mon|tue)", "stamp": "on {{day}}"})
    assert expand_fragments("posted {{stamp}}", fragments, "rule x") == "posted on (?:mon|tue)"
    with pytest.raises(ValueError, match="no fragment 'month'"):
        expand_fragments("{{month}} \\d{4}", fragments, "rule x")
    with pytest.raises(ValueError, match="no fragment 'later'"):  # a fragment may only name those above it
        fragment_table("test", {"first": "{{later}}", "later": "x"})


# Words that boilerplate rules are about, but that alone are ordinary text: no rule may fire on a
# line holding just one of them (patterns are anchored on phrases, never on a bare common word).
COMMON_WORDS = [
    "support", "donate", "donation", "patron", "subscribe", "newsletter", "share", "comment", "comments",
    "cookie", "cookies", "accept", "related", "read", "more", "photo", "image", "video", "credit", "home",
    "menu", "search", "email", "print", "facebook", "twitter", "login", "contact", "privacy", "copyright",
    "advertisement", "correction", "ad", "blocker", "click", "news", "press", "times",
    # The same words in the languages of the rules after the model.
    "comentários", "comentarios", "commentaires", "kommentare", "commenti", "reacties", "комментарии", "komentarze",
    "compartilhar", "compartir", "partager", "teilen", "condividi", "delen", "поделиться", "udostępnij", "paylaş",
    "boletim", "boletín", "nieuwsbrief", "рассылка", "assine", "inscreva-se", "abonnieren", "iscriviti", "подписаться",
    "apoie", "apoya", "soutenez", "spenden", "sostieni", "поддержите", "doação", "donación", "don", "spende",
    "aceitar", "aceptar", "accepter", "akzeptieren", "accetta", "принять", "alle", "tout", "todos",
    "publicidade", "publicidad", "publicité", "werbung", "pubblicità", "реклама", "erro", "erreur", "fehler", "ошибка",
    "direitos", "derechos", "droits", "rechte", "diritti", "права", "leia", "lesen", "читайте", "популярное",
    "댓글", "공유", "광고", "コメント", "シェア", "评论", "分享",
    "коментарі", "поділитися", "підписатися", "підтримайте", "прийняти", "помилка", "увійти",
]


@pytest.mark.parametrize("category", PATTERN_ORDER)
def test_no_rule_fires_on_a_bare_common_word(category: str) -> None:
    for word in COMMON_WORDS:
        for form in (word, word.capitalize(), word.upper()):
            stages = {(r.kind, r.after_model) for r in load_rules(category).rules}
            for kind, after_model in stages:
                fired = fired_rules(category, kind, form, after_model)
                assert not fired, f"{sorted(fired)} fired on the bare word {form!r}"


def test_lines_longer_than_the_limit_are_not_shown_to_rules() -> None:
    appeal = load_rules("donation_appeal").get("donation_appeal.support_paragraph").match[0]
    cleaner = CLEANER_BY_STAGE["donation_appeal", False](Config(max_rule_line_chars=len(appeal) - 1))
    assert cleaner.find(segment(appeal)) == []
    assert CLEANER_BY_STAGE["donation_appeal", False]().find(segment(appeal)) != []


def test_rules_version_covers_every_rule_file_and_the_shipped_line_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows name the rules that cut them: a retrained line model (same code, rules and config) is another version."""
    from cleaners import rules
    from cleaners.line_classifier import shipped_model

    files = rules._versioned_files()
    assert set(files) == {f"{c}.toml" for c in rule_categories()} | {rules.LINE_MODEL_FILE}
    assert shipped_model().version in files[rules.LINE_MODEL_FILE].decode()  # the file the cleaner reads
    shipped = rules.rules_version()
    for name in (rules.LINE_MODEL_FILE, "footer.toml"):
        monkeypatch.setattr(rules, "_versioned_files", lambda name=name: {**files, name: files[name] + b" "})
        rules.rules_version.cache_clear()
        try:
            assert rules.rules_version() != shipped, name
        finally:
            rules.rules_version.cache_clear()


def test_cleaner_version_names_the_cleaning_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows name the code that cleaned them: the package version alone stays put while the code changes."""
    from importlib import resources

    from cleaners import __version__, version

    files = version._code_files(resources.files("cleaners"))
    assert {"pipeline.py", "line_features.py", "rules/matcher.py", "version.py"} <= set(files)
    assert not any(name.endswith(".toml") or "__pycache__" in name for name in files)  # rules: rules_version
    shipped = version.cleaner_version()
    assert shipped.startswith(__version__ + "+code.")
    for name in ("line_features.py", "rules/matcher.py"):
        changed = version.code_without_comments(files[name] + b"\nMIN_WORDS_CHANGED = 3\n")
        monkeypatch.setattr(version, "_code_files", lambda _, name=name, changed=changed: {**files, name: changed})
        version.cleaner_version.cache_clear()
        try:
            assert version.cleaner_version() != shipped, name
        finally:
            version.cleaner_version.cache_clear()


def test_cleaner_version_ignores_comments_and_blank_lines() -> None:
    """An edit that only touches comments, trailing spaces or blank lines is the same code: rows keep their version.
    A `#` inside a string is code, and so is every other change."""
    from pathlib import Path

    from cleaners import version

    source = (Path(version.__file__).parent / "line_features.py").read_bytes()
    bare = version.code_without_comments(source)
    assert b"# Scripts written without spaces" in source and b"# Scripts written without spaces" not in bare
    noted = source.replace(b"\nimport numpy as np\n", b"\n# a new note\n\nimport numpy as np  # arrays\n   \n", 1)
    assert noted != source and version.code_without_comments(noted) == bare
    assert version.code_without_comments(source.replace(b"PROSE_MIN_WORDS = 12", b"PROSE_MIN_WORDS = 13")) != bare
    in_string = b's = "# kept"\n'
    assert version.code_without_comments(in_string) == in_string.rstrip(b"\n")
    assert version.code_without_comments(b"def broken(:\n") == b"def broken(:\n"  # not Python: hashed as is


def test_rules_marked_after_model_run_after_it_and_only_there() -> None:
    """Every category with rules marked `after_model` has a cleaner for them after the line model; its first cleaner
    leaves them out, and training reads only the cleaners before the model (what the model reads at run time)."""
    from cleaners.line_classifier import LineClassifierCleaner
    from cleaners.pipeline import LINE_MODEL_INPUTS

    model_at = PIPELINE.index(LineClassifierCleaner)
    marked = {category for category in rule_categories() if any(r.after_model for r in load_rules(category).rules)}
    assert marked >= {"photo_caption", "promo"}
    for category in marked:
        first, second = CLEANER_BY_STAGE[category, False], CLEANER_BY_STAGE[category, True]
        assert PIPELINE.index(first) < model_at < PIPELINE.index(second)
        assert not any(r.after_model for r in first().rules.rules)
        assert second().rules.rules and all(r.after_model for r in second().rules.rules)
        assert second not in LINE_MODEL_INPUTS and first in LINE_MODEL_INPUTS
    assert all(not cls.takes_after_model_rules or PIPELINE.index(cls) > model_at for cls in PIPELINE)


def test_inline_rules_cut_only_their_piece_and_the_sentence_stays() -> None:
    """An `inline` rule cuts the button glued to a sentence, records exactly that piece, and the sentence is kept."""
    text = ("Online business is still business\n\n"  # the headline: the line the headline cleaner takes
            "The same rules apply to online business just like offline business.Click To Tweet\n\n"
            "Read our privacy policy (opens in a new tab) before you sign up.\n")
    result = Pipeline().clean_text(text)
    pieces = {r.rule: r for r in result.removed if r.rule in {"share_prompt.glued_tweet_button",
                                                               "navigation.new_window_note"}}
    assert set(pieces) == {"share_prompt.glued_tweet_button", "navigation.new_window_note"}
    for removal in pieces.values():
        assert text[removal.start:removal.end] == removal.text  # the span is the page's own text
    # (the recorded spans are widened over the whitespace the cut leaves, as every removal's are)
    assert pieces["share_prompt.glued_tweet_button"].text.strip() == "Click To Tweet"
    assert pieces["share_prompt.glued_tweet_button"].category == "share_prompt"
    assert pieces["navigation.new_window_note"].text.strip() == "(opens in a new tab)"
    assert result.title == "Online business is still business"
    assert result.text == ("The same rules apply to online business just like offline business.\n\n"
                           "Read our privacy policy before you sign up.\n")


def test_a_line_a_later_cleaner_takes_whole_goes_whole_whatever_piece_an_earlier_rule_cut() -> None:
    """Pieces of lines are settled after every whole-line removal: a cleaner later in the list that takes the line
    whole wins it (overlaps otherwise go to the first removal, which would keep the rest of the line)."""
    from cleaners.photo_caption import PhotoCaptionCleaner
    from cleaners.share_prompt import SharePromptAfterModelCleaner

    line = "A picture is worth a thousand words.Click To Tweet"
    text = f"{line}\n{line}\nThe article goes on here with a sentence of its own.\n"
    pipeline = Pipeline(stages=(SharePromptAfterModelCleaner, PhotoCaptionCleaner))
    removals = pipeline.find_removals(text)
    assert [(r.rule, r.text) for r in removals] == [("photo_caption.adjacent_repeat", line)] * 2
    alone = Pipeline(stages=(SharePromptAfterModelCleaner,)).find_removals(text)
    assert [r.text for r in alone] == ["Click To Tweet"] * 2


def test_an_inline_piece_of_a_hard_wrapped_line_is_cut_at_its_place_in_the_page() -> None:
    """A hard-wrapped dump (`lynx -dump`, an e-mail body) is read as joined lines; a button the wrap split over two of
    the page's lines is still found, and its removal covers exactly the button's characters in the page."""
    import textwrap

    from cleaners.share_prompt import SharePromptAfterModelCleaner

    sentence = ("The council met again on Tuesday evening to argue over the budget for the coming year, and the "
                "members who had opposed the plan in the spring said they would do so again at the next vote")
    paragraphs = [f"{sentence}, as they had promised the voters of the district {n} times before." for n in range(4)]
    paragraphs[2] = paragraphs[2][:-len(" times before.")] + " times before.Click To Tweet"
    for width in range(60, 80):  # a width at which the wrap splits the button itself
        wrapped = textwrap.fill(paragraphs[2], width)
        if "Click To\nTweet" in wrapped or "Click\nTo Tweet" in wrapped:
            break
    else:
        raise AssertionError("no width splits the button")
    dump = "\n\n".join(textwrap.fill(p, width) for p in paragraphs) + "\n"
    page = segment(dump)
    assert any(dump[line.start:line.end] != line.text for line in page.lines)  # read as a hard-wrapped dump
    removals = Pipeline(stages=(SharePromptAfterModelCleaner,)).find_removals(dump)
    assert len(removals) == 1
    piece = removals[0]
    assert piece.rule == "share_prompt.glued_tweet_button"
    assert dump[piece.start:piece.end] == piece.text and " ".join(piece.text.split()) == "Click To Tweet"
    assert dump[:piece.start].endswith("times before.")
