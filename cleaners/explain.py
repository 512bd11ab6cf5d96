"""Explain one capture's cleaning: what was kept, what was cut and why, as pure data and a self-contained HTML page.

Everything here works from the decoded capture text and its removals (from a fresh cleaning or
rebuilt from a dataset row); nothing reads files or the network.
"""

from __future__ import annotations

import colorsys
import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cleaners.model import ALL_CATEGORIES, Removal
from cleaners.pipeline import OVERDELETION_FLAG
from cleaners.rules import load_rules, rule_categories

# One fixed colour per known category, so a category looks the same in every report and terminal.
# Dark enough to read as text on white; the background of a cut is the same hue, much lighter.
CATEGORY_COLOURS: dict[str, str] = {
    "site_name": "#6a1b9a",
    "headline": "#1565c0",
    "standfirst": "#00796b",
    "photo_caption": "#2e7d32",
    "byline": "#4527a0",
    "donation_appeal": "#c62828",
    "adblock_notice": "#ef6c00",
    "correction_notice": "#9e7700",
    "promo": "#ad1457",
    "related_links": "#5d4037",
    "teaser": "#6d4c41",
    "dated_entries": "#8d6e63",
    "share_prompt": "#3949ab",
    "comments_prompt": "#558b2f",
    "cookie_notice": "#00838f",
    "navigation": "#546e7a",
    "footer": "#757575",
    "site_repeated": "#4e342e",
    "boilerplate": "#37474f",
}
BACKGROUND_TINT = 0.16  # share of the category colour in a cut's background (the rest is white)


def category_colour(category: str) -> str:
    """The category's colour as #rrggbb: fixed for known categories, derived from the name otherwise."""
    if category in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[category]
    # A stable hash (not Python's salted hash()), so an unknown category keeps its colour across runs.
    hue = int.from_bytes(hashlib.sha256(category.encode("utf-8")).digest()[:4], "big") / 2**32
    r, g, b = colorsys.hls_to_rgb(hue, 0.36, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def tint(colour: str, share: float = BACKGROUND_TINT) -> str:
    """`colour` (#rrggbb) mixed with white, keeping `share` of the colour."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 - (255 - c) * share) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


@dataclass(frozen=True)
class Explanation:
    """One capture's decoded text, its removals and the metadata cleaning found: all a report needs."""

    text: str  # the decoded capture text, every removal still in place
    removed: tuple[Removal, ...]
    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    language: str | None = None
    flags: tuple[str, ...] = ()
    source: str = ""  # where the capture came from, as the user should read it
    details: tuple[tuple[str, str], ...] = field(default=())  # further provenance lines (id, versions, …)

    def __post_init__(self) -> None:
        check_removals(self.text, self.removed)

    @property
    def chars_removed(self) -> int:
        """Characters of the capture that the removals cover."""
        return sum(r.end - r.start for r in self.removed)

    @property
    def guard_fired(self) -> bool:
        """Whether the over-deletion guard kept the capture whole."""
        return any(flag.startswith(OVERDELETION_FLAG) for flag in self.flags)


def check_removals(text: str, removed: Sequence[Removal]) -> None:
    """Raise ValueError unless the removals are sorted, disjoint, in bounds and carry the text they cover."""
    previous_end = 0
    for r in removed:
        if not 0 <= r.start <= r.end <= len(text):
            raise ValueError(f"removal [{r.start}:{r.end}] lies outside the text ({len(text)} characters)")
        if r.start < previous_end:
            raise ValueError(f"removal [{r.start}:{r.end}] overlaps or precedes the one before it")
        if text[r.start : r.end] != r.text:
            raise ValueError(f"removal [{r.start}:{r.end}] ({r.rule}) does not hold the text it claims to")
        previous_end = r.end


def pieces(text: str, removed: Sequence[Removal]) -> list[tuple[str, Removal | None]]:
    """The text cut into consecutive pieces: kept ones (None) and removed ones (their Removal)."""
    out: list[tuple[str, Removal | None]] = []
    pos = 0
    for r in removed:
        if r.start > pos:
            out.append((text[pos : r.start], None))
        if r.end > r.start:
            out.append((r.text, r))
        pos = r.end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


@dataclass(frozen=True)
class CategoryCount:
    """How much one category removed from a capture, and by which rules."""

    category: str
    spans: int
    chars: int
    rules: tuple[tuple[str, int], ...]  # (rule id, spans), most used first


def category_order(categories: Iterable[str]) -> list[str]:
    """Categories in pipeline order; unknown ones after them, alphabetically."""
    known = {c: i for i, c in enumerate(ALL_CATEGORIES)}
    return sorted(set(categories), key=lambda c: (known.get(c, len(known)), c))


def counts_by_category(removed: Sequence[Removal]) -> list[CategoryCount]:
    """Spans, characters and rules per category, in pipeline order."""
    spans: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    rules: dict[str, Counter[str]] = {}
    for r in removed:
        spans[r.category] += 1
        chars[r.category] += r.end - r.start
        rules.setdefault(r.category, Counter())[r.rule] += 1
    return [
        CategoryCount(c, spans[c], chars[c], tuple(sorted(rules[c].items(), key=lambda kv: (-kv[1], kv[0]))))
        for c in category_order(spans)
    ]


def rule_description(rule_id: str) -> str | None:
    """The description of a rule from its category's rule file, or None if no such rule exists now."""
    category = rule_id.partition(".")[0]
    if category not in rule_categories():
        return None
    try:
        return " ".join(load_rules(category).get(rule_id).description.split()) or None
    except KeyError:  # a row cleaned by an older rule set may name a rule that is gone
        return None


def removal_label(removal: Removal) -> str:
    """One-line account of a removal: category, rule, offsets, and what the rule looks for."""
    label = f"{removal.category} · {removal.rule} · [{removal.start}:{removal.end}]"
    description = rule_description(removal.rule)
    return f"{label}\n{description}" if description else label


# --- the HTML page -----------------------------------------------------------------------------

_CSP = "default-src 'none'; style-src 'unsafe-inline'"  # nothing may load: no network, no script
_PAGE_CSS = """
:root { color-scheme: light; }
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 0 auto; max-width: 62rem; padding: 1.5rem; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.source { color: #555; font-size: .9rem; word-break: break-all; margin: 0 0 1rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.meta dt { font-weight: 600; color: #444; }
dl.meta dd { margin: 0; word-break: break-word; }
dd.none { color: #999; }
.guard { border: 2px solid #c62828; background: #fdecea; padding: .5rem .75rem; margin: 1rem 0; }
table.legend { border-collapse: collapse; font-size: .92rem; }
table.legend th, table.legend td { padding: .25rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: left;
       vertical-align: top; }
table.legend td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.legend tfoot td { font-weight: 600; border-bottom: none; }
.swatch { display: inline-block; padding: 0 .45rem; border-radius: 3px; text-decoration: line-through;
          text-decoration-thickness: 2px; }
.rules { color: #555; font-size: .85rem; }
.toggle { margin: .5rem 0; font-size: .92rem; }
#capture { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #ddd; border-radius: 4px;
           padding: 1rem 1.25rem; background: #fcfcfc; }
#capture del { text-decoration: line-through; text-decoration-thickness: 2px; border-radius: 2px; }
#capture del:hover { outline: 2px solid currentColor; }
#hide-removed:checked ~ #capture del { display: none; }
"""


def _category_css(categories: Sequence[str]) -> str:
    # Class names are indexes, never category names: a name from a dataset cannot break the CSS.
    rules = []
    for i, category in enumerate(categories):
        colour = category_colour(category)
        rules.append(
            f".k{i} {{ color: {colour}; background: {tint(colour)}; text-decoration-color: {colour}; }}"
        )
    return "\n".join(rules)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _meta_row(name: str, value: str | None, missing: str = "none found") -> str:
    if value is None or value == "":
        return f"<dt>{_esc(name)}</dt><dd class=\"none\">{_esc(missing)}</dd>"
    return f"<dt>{_esc(name)}</dt><dd>{_esc(value)}</dd>"


def render_html(explanation: Explanation) -> str:
    """A self-contained HTML page: the capture with every removed span struck through in its category's colour."""
    e = explanation
    counts = counts_by_category(e.removed)
    categories = [c.category for c in counts]
    klass = {c: f"k{i}" for i, c in enumerate(categories)}
    total = len(e.text)
    share = e.chars_removed / total if total else 0.0
    heading = e.title or "(no title found)"

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>boilerstrip explain: {_esc(heading)}</title>",
        f"<style>{_PAGE_CSS}{_category_css(categories)}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(heading)}</h1>",
        f'<p class="source">{_esc(e.source)}</p>' if e.source else "",
        '<section id="metadata"><h2>Found by cleaning</h2><dl class="meta">',
        _meta_row("title", e.title),
        _meta_row("site name", e.site_name),
        _meta_row("description", e.description),
        _meta_row("language", e.language),
        _meta_row("flags", ", ".join(e.flags)),
        *(_meta_row(name, value, "not recorded") for name, value in e.details),
        "</dl></section>",
    ]
    if e.guard_fired:
        parts.append(
            '<p class="guard" id="guard">The over-deletion guard fired: cleaning would have removed too much, '
            "so this capture was kept whole and nothing below is struck through.</p>"
        )
    parts.append('<section id="legend"><h2>Removed, by category</h2>')
    if counts:
        parts += [
            '<table class="legend"><thead><tr><th>category</th><th>spans</th><th>characters</th>'
            "<th>rules</th></tr></thead><tbody>"
        ]
        for c in counts:
            rules = ", ".join(f"{_esc(rule)} ×{n}" for rule, n in c.rules)
            parts.append(
                f'<tr data-category="{_esc(c.category)}"><td><span class="swatch {klass[c.category]}">'
                f'{_esc(c.category)}</span></td><td class="n">{c.spans}</td><td class="n">{c.chars}</td>'
                f'<td class="rules">{rules}</td></tr>'
            )
        parts.append(
            f'</tbody><tfoot><tr><td>all</td><td class="n">{len(e.removed)}</td>'
            f'<td class="n">{e.chars_removed}</td><td class="rules">{e.chars_removed} of {total} characters '
            f"({share:.1%}) removed</td></tr></tfoot></table>"
        )
    else:
        parts.append("<p>Nothing was removed.</p>")
    parts += [
        "</section>",
        '<section id="document"><h2>The capture: kept text, and every cut struck through</h2>',
        '<input type="checkbox" id="hide-removed"> <label class="toggle" for="hide-removed">'
        "show the kept text only</label>",
    ]
    # The capture is joined with nothing in between: inside pre-wrap every character shows.
    capture = []
    for piece, removal in pieces(e.text, e.removed):
        if removal is None:
            capture.append(_esc(piece))
        else:
            capture.append(
                f'<del class="{klass[removal.category]}" data-category="{_esc(removal.category)}" '
                f'data-rule="{_esc(removal.rule)}" title="{_esc(removal_label(removal))}">{_esc(piece)}</del>'
            )
    lang = f' lang="{_esc(e.language)}"' if e.language else ""  # the capture's language, for fonts and hyphens
    parts += [f'<div id="capture"{lang}>{"".join(capture)}</div>', "</section>", "</body>", "</html>"]
    return "\n".join(p for p in parts if p) + "\n"


# --- samples of removed text, safe to publish ----------------------------------------------------

# Anything a Markdown renderer could turn into a link: URLs, www. hosts, bare host/path, e-mail addresses.
_LINKISH = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://\S+|www\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/\S*)"
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|!~&])")


def link_free(text: str, limit: int = 160) -> str:
    """Removed text fit to publish in a report: one line, every URL or e-mail address replaced, shortened."""
    flat = _LINKISH.sub("⟨link⟩", " ".join(text.split()))
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def escape_markdown(text: str) -> str:
    """Text that a Markdown renderer shows as is: no emphasis, code, links, HTML or table breaks."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
