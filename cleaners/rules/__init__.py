"""Rule data: one TOML file per category, each rule with an id and its must/must-not examples."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import re2

from cleaners.version import files_digest

# `inline`: a piece of a line (the first group of the pattern that took part, or its whole match), searched for in the
# lines no other rule takes: button text glued to a sentence the article keeps ("…like offline business.Click To
# Tweet"). Every other kind takes whole lines.
RULE_KINDS = ("line", "cues", "run", "structural", "inline")


@dataclass(frozen=True)
class Rule:
    """One rule of a category, as written in its TOML file (patterns compiled with re2)."""

    id: str
    kind: str
    description: str
    pattern: Any = None  # compiled re2 pattern: `line`, `run` and `inline` rules
    cues: tuple[Any, ...] = ()  # compiled re2 patterns: `cues` rules
    require: tuple[Any, ...] = ()  # every one must be found too: `cues` rules
    min_cues: int = 2
    max_words: int | None = None
    # Counted by the matcher, not in the pattern: a counted repetition of words multiplies the states of the
    # RE2 set's DFA (a `{11,}` of words cost every run 18 MB).
    min_words: int | None = None
    min_run: int = 2
    # `run` rules: matching lines at most this many lines apart belong to one run (1: consecutive lines only).
    max_gap: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    # The same patterns as source text (case flag included), for matching many rules in one RE2 set.
    pattern_source: str | None = None
    cue_sources: tuple[str, ...] = ()
    require_sources: tuple[str, ...] = ()
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()
    # Applied after the line model, by its category's second cleaner (`Cleaner.takes_after_model_rules`): the model
    # never reads what such a rule claims, so the rule cuts what the model kept and can change without a retrain.
    after_model: bool = False


@dataclass(frozen=True)
class RuleSet:
    """All rules of one category, in file order."""

    category: str
    description: str
    rules: tuple[Rule, ...]

    def for_stage(self, after_model: bool) -> RuleSet:
        """The rules applied before the line model (`after_model` False) or after it (True)."""
        return replace(self, rules=tuple(rule for rule in self.rules if rule.after_model == after_model))

    def get(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError if the file has none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _source(pattern: str, case_sensitive: bool) -> str:
    return pattern if case_sensitive else "(?i)" + pattern


def _compile(pattern: str, case_sensitive: bool) -> Any:
    # re2 guarantees matching in time linear in the input: no catastrophic backtracking, ever.
    return re2.compile(_source(pattern, case_sensitive))


# A named piece of pattern in a rule file's `[fragments]` table, written {{name}} where a pattern uses it.
FRAGMENT_REFERENCE = re.compile(r"\{\{(\w+)\}\}")
PATTERN_KEYS = ("pattern", "cues", "require")


def expand_fragments(pattern: str, fragments: dict[str, str], where: str) -> str:
    """The pattern with each {{name}} replaced by that fragment (ValueError naming `where` if there is none)."""

    def fragment(reference: re.Match[str]) -> str:
        name = reference.group(1)
        if name not in fragments:
            raise ValueError(f"{where}: no fragment {name!r} in the file's [fragments]")
        return fragments[name]

    return FRAGMENT_REFERENCE.sub(fragment, pattern)


def fragment_table(category: str, raw: dict[str, str]) -> dict[str, str]:
    """A rule file's `[fragments]`, each expanded in file order with those above it (it may name no other)."""
    expanded: dict[str, str] = {}
    for name, pattern in raw.items():
        expanded[name] = expand_fragments(pattern, expanded, f"{category}.toml fragment {name!r}")
    return expanded


def _with_fragments(raw: dict[str, Any], fragments: dict[str, str]) -> dict[str, Any]:
    where = f"rule {raw.get('id')!r}"
    result = dict(raw)
    for key in PATTERN_KEYS:
        value = raw.get(key)
        if isinstance(value, str):
            result[key] = expand_fragments(value, fragments, where)
        elif isinstance(value, list):
            result[key] = [expand_fragments(v, fragments, where) for v in value]
    return result


def _rule(category: str, raw: dict[str, Any]) -> Rule:
    rule_id = raw["id"]
    if not rule_id.startswith(category + "."):
        raise ValueError(f"rule id {rule_id!r} must start with {category + '.'!r}")
    kind = raw.get("kind", "line")
    if kind not in RULE_KINDS:
        raise ValueError(f"rule {rule_id}: unknown kind {kind!r}")
    case_sensitive = bool(raw.get("case_sensitive", False))
    pattern = raw.get("pattern")
    return Rule(
        id=rule_id,
        kind=kind,
        description=raw.get("description", ""),
        pattern=_compile(pattern, case_sensitive) if pattern is not None else None,
        cues=tuple(_compile(c, case_sensitive) for c in raw.get("cues", ())),
        require=tuple(_compile(c, case_sensitive) for c in raw.get("require", ())),
        min_cues=int(raw.get("min_cues", 2)),
        max_words=raw.get("max_words"),
        min_words=raw.get("min_words"),
        min_run=int(raw.get("min_run", 2)),
        max_gap=int(raw.get("max_gap", 1)),
        params=dict(raw.get("params", {})),
        pattern_source=_source(pattern, case_sensitive) if pattern is not None else None,
        cue_sources=tuple(_source(c, case_sensitive) for c in raw.get("cues", ())),
        require_sources=tuple(_source(c, case_sensitive) for c in raw.get("require", ())),
        match=tuple(raw.get("match", ())),
        no_match=tuple(raw.get("no_match", ())),
        after_model=bool(raw.get("after_model", False)),
    )


def _rule_files() -> dict[str, bytes]:
    folder = resources.files(__package__)
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.name.endswith(".toml")}


@cache
def load_rules(category: str) -> RuleSet:
    """Load and compile the rules of one category from `cleaners/rules/<category>.toml`."""
    data = tomllib.loads(_rule_files()[f"{category}.toml"].decode("utf-8"))
    if data.get("category") != category:
        raise ValueError(f"{category}.toml declares category {data.get('category')!r}")
    fragments = fragment_table(category, data.get("fragments", {}))
    rules = tuple(_rule(category, _with_fragments(raw, fragments)) for raw in data.get("rule", ()))
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{category}.toml has duplicate rule ids")
    return RuleSet(category, data.get("description", ""), rules)


@cache
def rule_categories() -> tuple[str, ...]:
    """Every category that has a rule file."""
    return tuple(sorted(name[: -len(".toml")] for name in _rule_files()))


# The shipped line model (cleaners.line_classifier.shipped_model reads it): learned rules, versioned as rules.
LINE_MODEL_FILE = "models/line_classifier.json"


def _versioned_files() -> dict[str, bytes]:
    """Every data file whose bytes decide what the cleaners remove: the rule files and the shipped line model."""
    files = _rule_files()
    files[LINE_MODEL_FILE] = resources.files("cleaners").joinpath(LINE_MODEL_FILE).read_bytes()
    return files


@cache
def rules_version() -> str:
    """A hash of every rule file's bytes and of the shipped line model's: changes whenever any rule, example or the
    model changes (a retrained model cuts other lines with the same code, rules and config)."""
    return "rules-" + files_digest(_versioned_files())[:12]
