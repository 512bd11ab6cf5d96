"""Resolve overlapping removals and cut them out of the text so that kept + removed rebuild it."""

from __future__ import annotations

from collections.abc import Iterable

from cleaners.model import Removal


def resolve_overlaps(removals: Iterable[Removal]) -> list[Removal]:
    """Keep removals in the order given; drop any that overlaps one already kept (first wins)."""
    proposed = list(removals)
    # One byte per character says whether a kept span covers it, so checking a span costs its own
    # length at memchr speed (comparing each span with every kept one made a page of thousands of
    # removed lines quadratic).
    taken = bytearray(max((r.end for r in proposed), default=0))
    kept: list[Removal] = []
    for removal in proposed:
        if removal.end <= removal.start or taken.find(1, removal.start, removal.end) != -1:
            continue
        kept.append(removal)
        taken[removal.start : removal.end] = b"\x01" * (removal.end - removal.start)
    return sorted(kept, key=lambda r: r.start)


def _whitespace_run(text: str, start: int, end: int) -> bool:
    return text[start:end].strip() == ""


def excise(text: str, removals: list[Removal]) -> tuple[str, list[Removal]]:
    """Cut sorted, disjoint removals out of `text`, widening them over the whitespace they leave.

    Removing a line should not leave an empty line behind, so each run of removals separated only
    by whitespace (a cluster) also takes the whitespace on one side of it: the side with fewer
    line breaks, so that a paragraph break around the cut survives, plus the cut line's own
    indentation; the next kept line keeps its own. The widened spans are
    returned with their text, so inserting every removal's text back at its offset rebuilds
    `text` exactly.
    """
    if not removals:
        return text, []
    clusters: list[list[Removal]] = [[removals[0]]]
    for removal in removals[1:]:
        if _whitespace_run(text, clusters[-1][-1].end, removal.start):
            clusters[-1].append(removal)
        else:
            clusters.append([removal])

    widened: list[Removal] = []
    length = len(text)
    for cluster in clusters:
        s, e = cluster[0].start, cluster[-1].end
        a = s
        while a > 0 and text[a - 1].isspace():
            a -= 1
        b = e
        while b < length and text[b].isspace():
            b += 1
        nl_before, nl_after = text.count("\n", a, s), text.count("\n", e, b)
        own_line_start = text.rfind("\n", a, s) + 1 if nl_before else s  # where the cut line's indent begins
        next_line_start = text.rfind("\n", e, b) + 1 if nl_after else b  # where the next line's indent begins
        own_line_end = text.find("\n", e, b) if nl_after else b
        if a == 0:
            lo, hi = 0, next_line_start
        elif b == length:
            lo, hi = a, length
        elif b == e:  # glued to what follows ("(AP Photo)."): take the space before, never a line break
            lo, hi = (own_line_start if nl_before else a), e
        elif nl_after > nl_before:  # keep the (larger) separator after the cut
            lo, hi = a, own_line_end
        else:  # keep the separator before the cut, and the next line's own indentation
            lo, hi = own_line_start, next_line_start
        for i, member in enumerate(cluster):
            m_start = lo if i == 0 else member.start
            m_end = hi if i == len(cluster) - 1 else cluster[i + 1].start
            widened.append(Removal(m_start, m_end, member.category, member.rule, text[m_start:m_end]))

    pieces: list[str] = []
    pos = 0
    for removal in widened:
        pieces.append(text[pos : removal.start])
        pos = removal.end
    pieces.append(text[pos:])
    return "".join(pieces), widened


def rebuild(kept: str, removals: Iterable[Removal]) -> str:
    """Put removed spans back into kept text: the inverse of `excise`, for audits."""
    out: list[str] = []
    kept_pos = 0
    orig_pos = 0
    for removal in sorted(removals, key=lambda r: r.start):
        take = removal.start - orig_pos
        out.append(kept[kept_pos : kept_pos + take])
        kept_pos += take
        out.append(removal.text)
        orig_pos = removal.end
    out.append(kept[kept_pos:])
    return "".join(out)
