"""The project's eval command: its metric agrees with the reference scorer, its figures are per page."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from cleaners import Config, cleaner_version, rules_version
from cleaners.line_classifier import shipped_model
from cleaners.metrics import aggregate, score_page
from flows.evaluate import evaluate_folder

from .conftest import EVAL_DEV, load_score_module
from .test_cli import boilerstrip


def random_pairs(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocab = ["the", "minister", "said", "on", "Tuesday", "peace", "talks", "élan", "Ukraine", "42", "war"]
    pairs = []
    for _ in range(n):
        gold = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40)))
        words = gold.split()
        pred = " ".join(words[rng.randint(0, len(words)) :] + [rng.choice(vocab) for _ in range(rng.randint(0, 8))])
        pairs.append((gold, pred))
    return pairs


def test_metric_agrees_with_the_reference_scorer_on_edge_cases_and_random_texts() -> None:
    reference = load_score_module()
    pairs = [("", ""), ("a b", ""), ("", "a b"), ("one two three", "one two three"), ("a b c d e", "a b")]
    pairs += random_pairs(300)
    for gold, pred in pairs:
        ours = score_page(gold, pred)
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx(reference.score(gold, pred))
    ours_corpus = aggregate(score_page(g, p) for g, p in pairs)
    theirs = reference.evaluate(pairs)
    assert ours_corpus.precision == pytest.approx(theirs["precision"])
    assert ours_corpus.recall == pytest.approx(theirs["recall"])
    assert ours_corpus.f1 == pytest.approx(theirs["f1"])
    assert ours_corpus.empty_predictions == theirs["empty_predictions"]


@pytest.fixture(scope="module")
def dev_report():
    if not list(EVAL_DEV.glob("*.page.txt")):
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    return evaluate_folder(EVAL_DEV)


def test_eval_on_dev_matches_reference_scorer_to_three_decimals(dev_report, tmp_path: Path) -> None:
    reference = load_score_module()
    from cleaners import Pipeline

    pipeline = Pipeline()
    pairs = []
    for page in sorted(EVAL_DEV.glob("*.page.txt")):
        gold = page.with_name(page.name.replace(".page.txt", ".gold.txt")).read_text(encoding="utf-8")
        pairs.append((gold, pipeline.clean_capture(page.read_bytes()).text))
    theirs = reference.evaluate(pairs)
    assert round(dev_report.ours.f1, 3) == round(theirs["f1"], 3)
    assert round(dev_report.ours.precision, 3) == round(theirs["precision"], 3)
    assert round(dev_report.ours.recall, 3) == round(theirs["recall"], 3)
    assert dev_report.ours.pages == 126 and dev_report.ours.empty_predictions == 0


def test_page_scores_do_not_depend_on_which_pages_are_scored(dev_report, tmp_path: Path) -> None:
    subset = sorted(p.page_id for p in dev_report.pages)[::9]
    for page_id in subset:
        for suffix in (".page.txt", ".gold.txt"):
            shutil.copy(EVAL_DEV / f"{page_id}{suffix}", tmp_path / f"{page_id}{suffix}")
    small = {p.page_id: p.score for p in evaluate_folder(tmp_path).pages}
    full = {p.page_id: p.score for p in dev_report.pages}
    assert small == {page_id: full[page_id] for page_id in subset}


def test_eval_command_prints_figures_and_writes_the_per_page_table(tmp_path: Path) -> None:
    pages = sorted(EVAL_DEV.glob("*.page.txt"))[:4]
    if not pages:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    for page in pages:
        page_id = page.name.replace(".page.txt", "")
        for suffix in (".page.txt", ".gold.txt", ".html"):
            shutil.copy(EVAL_DEV / f"{page_id}{suffix}", tmp_path / f"{page_id}{suffix}")
    per_page = tmp_path / "pages.tsv"
    result = boilerstrip("eval", str(tmp_path), "--json", "--per-page", str(per_page))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["ours"]["pages"] == 4 and 0 < figures["ours"]["f1"] <= 1
    # These pages trained the shipped line model: the command says so (stderr) and counts them.
    assert figures["pages_in_line_model_training"] == 4
    # The figures name what produced them, as a dataset row would.
    model = shipped_model()
    assert model.unmarked is not None
    assert figures["cleaned_by"] == {"boilerstrip_version": cleaner_version(), "rules_version": rules_version(),
                                     "line_model": model.version, "line_model_unmarked_reader": model.unmarked.version,
                                     "config_hash": Config().config_hash()}
    assert "in-sample" in result.stderr
    rows = per_page.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 5 and rows[0].startswith("id\tprecision\trecall\tf1")
    f1s = [float(r.split("\t")[3]) for r in rows[1:]]
    assert f1s == sorted(f1s)
    assert boilerstrip("eval", str(tmp_path / "missing")).returncode == 2
    html = boilerstrip("eval", str(tmp_path), "--input", "html", "--json")
    assert html.returncode == 0, html.stderr
    html_figures = json.loads(html.stdout)
    assert html_figures["ours"]["pages"] == 4
    assert html_figures["pages_in_line_model_training"] == 0 and "in-sample" not in html.stderr
    # A page the model never saw (one more line) is not counted.
    with (tmp_path / pages[0].name).open("ab") as fh:
        fh.write(b"\nOne more line.\n")
    unseen = json.loads(boilerstrip("eval", str(tmp_path), "--json").stdout)
    assert unseen["pages_in_line_model_training"] == 3
    # trafilatura keeps far less boilerplate than the page dump does
    assert html_figures["ours"]["precision"] > html_figures["keep_everything"]["precision"]
