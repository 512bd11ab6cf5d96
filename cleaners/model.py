"""Data the cleaners exchange: removals, the segmented page, the result, and the run config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Removal:
    """One removed span of the decoded capture text: [start, end) with why it went."""

    start: int
    end: int
    category: str
    rule: str
    text: str

    def __reduce__(self) -> tuple[type[Removal], tuple[int, int, str, str, str]]:
        # Five constructor arguments, not the slots' state dict: pickling a page's removals to and
        # from the worker process is several times faster this way.
        return Removal, (self.start, self.end, self.category, self.rule, self.text)


@dataclass(frozen=True, slots=True)
class Line:
    """A non-blank line of the capture: its stripped content and where it sits."""

    index: int  # position among the page's non-blank lines
    start: int  # offset of the first non-space character
    end: int  # offset just past the last non-space character
    text: str
    blank_before: bool  # a blank line (or the start of the text) precedes it


@dataclass(frozen=True, slots=True)
class Page:
    """The decoded capture text and its non-blank lines, with offsets into the text."""

    text: str
    lines: tuple[Line, ...]
    stated_title: str | None = None  # the title an HTML page states about itself (None for a text capture)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a capture could not become a document (empty, binary, undecodable, …)."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Decoded:
    """Capture bytes turned into text, with what was done to get there."""

    text: str
    encoding: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CleanResult:
    """What cleaning one capture gives: kept text, metadata found, and every removal."""

    text: str
    title: str | None
    description: str | None
    site_name: str | None
    language: str | None
    removed: tuple[Removal, ...]
    flags: tuple[str, ...]
    n_chars_raw: int
    extractor: str = "text"  # what produced the text the removals refer to: text, trafilatura, page_text
    url: str | None = None  # as the page states it (HTML canonical/og:url), when it does
    line_keys: frozenset[int] = frozenset()  # the page's line keys, for the site table (when a site was given)
    # The keys of the lines removed as site_repeated (before the over-deletion guard): what the
    # site evidence flag counts, so it can be restated against a newer table without cleaning again.
    site_repeated_keys: tuple[int, ...] = ()

    def __reduce__(self) -> tuple[type[CleanResult], tuple[object, ...]]:
        # Constructor arguments in field order (see Removal.__reduce__): the result crosses a pipe.
        return CleanResult, tuple(getattr(self, name) for name in self.__slots__)


def flag_kind(flag: str) -> str:
    """What kind of flag this is: the part before its first ':' (`encoding_detected:cp1252` → `encoding_detected`)."""
    return flag.partition(":")[0].strip()


ALL_CATEGORIES: tuple[str, ...] = (
    "site_name",
    "headline",
    "standfirst",
    "photo_caption",
    "byline",
    "donation_appeal",
    "adblock_notice",
    "correction_notice",
    "promo",
    "related_links",
    "teaser",
    "dated_entries",
    "share_prompt",
    "comments_prompt",
    "cookie_notice",
    "navigation",
    "footer",
    "site_repeated",
    "boilerplate",
)


@dataclass(frozen=True)
class Config:
    """Everything that changes what cleaning does; passed in explicitly, hashed into every row."""

    # Categories to run, in pipeline order is fixed by cleaners.pipeline; this only switches them on/off.
    categories: tuple[str, ...] = ALL_CATEGORIES
    # Over-deletion guard: if cleaning would remove more than this share of the capture's
    # non-space characters (or leave no word at all), keep the capture whole and flag it.
    overdeletion_threshold: float = 0.95
    # Lines longer than this are never shown to rule patterns (re2 is linear, but a 10 MB line
    # is never a caption or an appeal, and skipping it bounds the cost per line).
    max_rule_line_chars: int = 5_000
    # Headline/standfirst/site name are looked for among the first lines of the capture.
    header_scan_lines: int = 40
    # Captures larger than this (bytes, after decompression) are rejected as too_large.
    max_capture_bytes: int = 50_000_000
    # Compressed input (a loose .gz capture, a gzip/deflate/br Content-Encoding of an archive record)
    # is inflated only this far: past either limit the capture is rejected as decompression_bomb.
    max_decompressed_bytes: int = 200_000_000  # absolute, bytes after inflating
    max_decompression_ratio: float = 100.0  # inflated size / compressed size (text compresses ~3-10x)
    # Wall-clock budget for cleaning one capture (HTML extraction can hang): past it the capture is
    # abandoned (its worker process killed and replaced) and rejected as timeout. 0 turns the budget off.
    capture_timeout_seconds: float = 60.0
    # A line is site boilerplate once at least this many other pages (distinct URLs) of the site carry it.
    site_repeated_min_captures: int = 2
    # The line classifier reads page dumps: a text with fewer menu-shaped lines than this share (short,
    # not ending like a sentence) has no page furniture to cut, so the classifier leaves it alone.
    line_model_min_furniture_share: float = 0.3
    # Language identification looks at most at this many characters of kept text. Its cost is linear in
    # the sample (a pure-Python walk over the bytes); 1,000 gives the same label as 2,000 on every dev
    # page and gold body (bench/speed.py), in half the time.
    language_sample_chars: int = 1_000

    def to_json(self) -> str:
        """Canonical JSON of the config (sorted keys), as stored in every row."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> Config:
        """Rebuild a Config from `to_json`'s fields (lists become tuples; unknown keys are an error)."""
        if not data:
            return cls()
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fields)  # type: ignore[arg-type]

    def config_hash(self) -> str:
        """Short stable hash of the config, so rows cleaned alike can be grouped."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
