"""Two extractors' agreement on an HTML page's body: trafilatura's text, checked and completed by readability's.

trafilatura (in precision mode) is the more precise extractor, readability-lxml the one that more often keeps a
whole article spread over several containers. When readability confirms most of trafilatura's words, both found
the same article, and then:
- trafilatura's leading and trailing lines that readability does not have are dropped (an extractor's edges are
  where a dek, a caption, a related list or a newsletter box slips in, and the other extractor is the second
  opinion);
- readability's prose paragraphs that trafilatura dropped are added back, in reading order, when they amount to a
  real part of the article, unless they come before the start of the agreed article (the headline zone: deks and
  captions, not body).
When the two disagree (different parts of the page), trafilatura's text is kept as it is.

Pure: text and an HTML fragment in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: only HTML captures need lxml (see cleaners/html.py)
    import lxml.html

# Readability must confirm this share of trafilatura's words before it may trim or complete it (0.9 until the edge
# trimming stopped at long paragraphs; see MAX_TRIMMED_WORDS and README "Quality of HTML extraction").
MIN_AGREEMENT = 0.7
# A line of trafilatura's is confirmed when at least half of its words are in readability's text.
MIN_LINE_SUPPORT = 0.5
# Matching word runs shorter than this are chance ("of the", "in a") and prove nothing.
MIN_RUN = 3
# Trimming stops at an edge line longer than this many words, confirmed or not: what slips in at the edges (a dek, a
# caption, a byline, related titles, a newsletter box) is short, while a long paragraph readability lacks is as
# likely the article's own first paragraph, where the two extractors disagree on where the article starts.
MAX_TRIMMED_WORDS = 100
# A paragraph readability kept is added back only when it reads like running prose: long enough, ending like a
# sentence, and not mostly link text (a teaser list is links; a body paragraph with a few links is not).
MIN_ADDED_WORDS = 20
MAX_ADDED_LINK_SHARE = 0.3
# …and only when together they are at least this share of trafilatura's words: an article split over several
# containers loses many paragraphs, while a lone extra paragraph is more often an author bio or a promo box
# that precision mode dropped on purpose.
MIN_ADDED_SHARE = 0.25
SENTENCE_END = tuple('.!?"”’)»…:')
# Paragraph-like elements: the units readability's text is added back in.
BLOCK_TAGS = frozenset({"p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "td", "th",
                        "figcaption"})
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Block:
    """One paragraph-like element of the second extractor's output: its text and how much of it is link text."""

    text: str
    link_share: float


@dataclass
class SecondOpinion:
    """The second extractor's words in reading order, each tagged with the block it belongs to (-1: none)."""

    words: list[str] = field(default_factory=list)
    block_of_word: list[int] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Agreement:
    """The combined text and what the agreement changed in the first extractor's text."""

    text: str
    agreement: float  # share of the first extractor's words the second confirms
    lines_trimmed: int
    blocks_added: int

    @property
    def changed(self) -> bool:
        """Whether the second opinion changed the first extractor's text."""
        return bool(self.lines_trimmed or self.blocks_added)


def words(text: str) -> list[str]:
    """The word tokens alignment works on (`\\w+` runs, case kept)."""
    return _WORD.findall(text)


def second_opinion(fragment: str) -> SecondOpinion:
    """Words and paragraph blocks of an extractor's HTML fragment (readability's summary)."""
    import lxml.html

    opinion = SecondOpinion()
    if not fragment.strip():
        return opinion
    try:
        root = lxml.html.fromstring(fragment)  # a lone element, or a wrapper around several
    except (ValueError, lxml.etree.ParserError):
        return opinion
    _walk(root, opinion)
    return opinion


def _is_leaf_block(element: lxml.html.HtmlElement) -> bool:
    return element.tag in BLOCK_TAGS and not any(
        isinstance(d.tag, str) and d.tag in BLOCK_TAGS for d in element.iterdescendants())


def _walk(element: lxml.html.HtmlElement, opinion: SecondOpinion) -> None:
    if _is_leaf_block(element):
        text = " ".join(element.text_content().split())
        block_words = words(text)
        if block_words:
            links = sum(len(" ".join(a.text_content().split())) for a in element.iter("a"))
            opinion.blocks.append(Block(text, links / len(text)))
            opinion.words.extend(block_words)
            opinion.block_of_word.extend([len(opinion.blocks) - 1] * len(block_words))
        return
    loose = words(element.text or "")
    opinion.words.extend(loose)
    opinion.block_of_word.extend([-1] * len(loose))
    for child in element:
        if isinstance(child.tag, str):  # comments and processing instructions carry no visible text
            _walk(child, opinion)
        tail = words(child.tail or "")
        opinion.words.extend(tail)
        opinion.block_of_word.extend([-1] * len(tail))


def combine(text: str, opinion: SecondOpinion) -> Agreement:
    """The first extractor's text trimmed to where the second agrees, with the prose paragraphs it dropped."""
    lines = text.split("\n")
    line_words = [words(line) for line in lines]
    first = [w for ws in line_words for w in ws]
    if not first or not opinion.words:
        return Agreement(text, 0.0, 0, 0)
    confirmed = [False] * len(first)  # word of the first text → found in the second
    match_of = [-1] * len(opinion.words)  # word of the second text → its match in the first
    matcher = SequenceMatcher(None, first, opinion.words, autojunk=False)
    for run in matcher.get_matching_blocks():
        if run.size >= MIN_RUN:
            for k in range(run.size):
                confirmed[run.a + k] = True
                match_of[run.b + k] = run.a + k
    agreement = sum(confirmed) / len(first)
    if agreement < MIN_AGREEMENT:
        return Agreement(text, agreement, 0, 0)

    line_of_word = [i for i, ws in enumerate(line_words) for _ in ws]
    supported, pos = [], 0
    for ws in line_words:
        long_paragraph = len(ws) > MAX_TRIMMED_WORDS
        supported.append(not ws or long_paragraph or sum(confirmed[pos : pos + len(ws)]) / len(ws) >= MIN_LINE_SUPPORT)
        pos += len(ws)
    end = len(lines)
    while end > 0 and not supported[end - 1]:
        end -= 1
    start = 0
    while start < end and not supported[start]:
        start += 1

    additions = _dropped_prose(opinion, match_of, line_of_word)
    added_words = sum(len(words(t)) for texts in additions.values() for t in texts)
    if added_words < MIN_ADDED_SHARE * len(first):
        additions = {}
    out: list[str] = list(additions.get(-1, ()))
    for i in range(len(lines)):
        if start <= i < end:
            out.append(lines[i])
        out.extend(additions.get(i, ()))
    kept_lines = sum(1 for line in lines[:start] + lines[end:] if line.strip())
    return Agreement("\n".join(out), agreement, kept_lines, sum(len(v) for v in additions.values()))


def _dropped_prose(opinion: SecondOpinion, match_of: list[int], line_of_word: list[int]) -> dict[int, list[str]]:
    """Prose blocks of the second text that the first lacks, keyed by the first text's line they follow."""
    first_match = next((j for j, m in enumerate(match_of) if m >= 0), None)
    if first_match is None:
        return {}
    additions: dict[int, list[str]] = {}
    last_matched = -1  # the furthest word of the first text matched so far, in the second text's order
    j = 0
    while j < len(opinion.words):
        block = opinion.block_of_word[j]
        k = j
        while k < len(opinion.words) and opinion.block_of_word[k] == block:
            k += 1  # [j, k): one block's words (or a run of loose words)
        matched = [m for m in match_of[j:k] if m >= 0]
        if block >= 0 and j > first_match and len(matched) < 0.2 * (k - j) and _is_prose(opinion.blocks[block]):
            additions.setdefault(line_of_word[last_matched] if last_matched >= 0 else -1, []).append(
                opinion.blocks[block].text)
        if matched:
            last_matched = max(last_matched, *matched)
        j = k
    return additions


def _is_prose(block: Block) -> bool:
    return (len(words(block.text)) >= MIN_ADDED_WORDS and block.link_share <= MAX_ADDED_LINK_SHARE
            and block.text.endswith(SENTENCE_END))
