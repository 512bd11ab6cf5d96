"""Turn capture bytes into text: UTF-8 first, else a detected encoding; repair mojibake; one line ending."""

from __future__ import annotations

import codecs
import re

import ftfy
from charset_normalizer import from_bytes
from ftfy.badness import BADNESS_RE

from cleaners.language import text_log_likelihood
from cleaners.model import Decoded, Rejection

# A text file has almost no C0 control characters besides tab, newline, carriage return, form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # C0 controls other than those four
MAX_CONTROL_SHARE = 0.05
NUL = b"\x00"
# Single-byte Latin-script code pages that detectors confuse with windows-1252 on short texts.
LATIN_SCRIPT_CODE_PAGES = {
    "cp1250", "cp1254", "cp1257", "latin_1", "iso8859_1", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_9",
    "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "mac_latin2", "mac_roman", "mac_iceland",
    "mac_turkish", "cp850", "cp852", "cp437",
}


# ftfy's mojibake detector matches at most this many characters, each match holding a non-ASCII character
# (checked by tests/test_decode.py against the regex itself).
BADNESS_MAX_WIDTH = 7
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def looks_like_mojibake(text: str) -> bool:
    """Exactly ftfy's `is_bad(text)`, but searching only around the non-ASCII characters.

    ftfy searches the whole text with one large regex, several milliseconds for a page; every match of it holds
    a non-ASCII character and spans at most BADNESS_MAX_WIDTH characters, so searching the neighbourhood of each
    run of non-ASCII characters gives the same answer in a fraction of the time on mostly-ASCII text.
    """
    if text.isascii():
        return False
    reach = BADNESS_MAX_WIDTH - 1
    start = end = -1
    for run in _NON_ASCII_RUN.finditer(text):
        if start >= 0 and run.start() - reach > end + reach:
            # search(text, pos, endpos) keeps "^" anchored to the real start of the text
            if BADNESS_RE.search(text, max(0, start - reach), end + reach):
                return True
            start = -1
        if start < 0:
            start = run.start()
        end = run.end()
    return bool(BADNESS_RE.search(text, max(0, start - reach), end + reach))


def repair_encoding(text: str) -> tuple[str, bool]:
    """Text with mojibake (UTF-8 read as a legacy code page) repaired by ftfy; and whether it changed."""
    if not looks_like_mojibake(text):
        return text, False  # ftfy's own first check: it returns such text unchanged
    fixed = ftfy.fix_encoding(text)
    return fixed, fixed != text


def _prefer_windows_1252(data: bytes, guessed: str, guessed_encoding: str) -> tuple[str, str]:
    """Between the detector's single-byte guess and windows-1252, keep the likelier text.

    On short Western-European text the detector often picks a Central/Baltic code page (cp1250,
    cp1257), turning "à" into "ŕ". Both decodings have the same length, so the language model's
    log-likelihood of each says which reads as real language. (Browsers make the same default:
    WHATWG treats latin-1 as windows-1252.)
    """
    if guessed_encoding.replace("-", "_").lower() not in LATIN_SCRIPT_CODE_PAGES:
        return guessed, guessed_encoding  # Cyrillic, Greek, multi-byte…: a different script, keep it
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        return guessed, guessed_encoding
    if text_log_likelihood(western) >= text_log_likelihood(guessed):
        return western, "cp1252"
    return guessed, guessed_encoding


def decode_capture(data: bytes, max_bytes: int, repair_mojibake: bool = True) -> Decoded | Rejection:
    """Decode one text capture, or say why it cannot be one (empty, binary, undecodable, too_large).

    `repair_mojibake=False` skips ftfy, for HTML: repairing the extracted text is as good and far cheaper.
    """
    if not data:
        return Rejection("empty", "the capture has no bytes")
    if len(data) > max_bytes:
        return Rejection("too_large", f"{len(data)} bytes > max_capture_bytes={max_bytes}")
    flags: list[str] = []
    text: str | None = None
    encoding = ""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text, encoding = data.decode(name), name
                flags.append(f"bom:{name}")
            except UnicodeDecodeError:
                return Rejection("undecodable", f"starts with a {name} byte-order mark but does not decode as {name}")
            break
    if text is None:
        if NUL in data:
            return Rejection("binary", f"NUL byte at offset {data.index(NUL)}")
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as err:
            best = from_bytes(data).best()
            if best is None:
                detail = f"not UTF-8 ({err.reason} at byte {err.start}) and no encoding detected"
                return Rejection("undecodable", detail)
            text, encoding = _prefer_windows_1252(data, str(best), best.encoding)
            flags.append(f"encoding_detected:{encoding}")
    controls = len(_CONTROL.findall(text))
    if controls > MAX_CONTROL_SHARE * len(text):
        return Rejection("binary", f"{controls} control characters in {len(text)} characters")
    if repair_mojibake:
        text, repaired = repair_encoding(text)
        if repaired:
            flags.append("mojibake_repaired")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        flags.append("line_endings_normalized")
    if not text.strip():
        return Rejection("empty", "the capture holds only whitespace")
    return Decoded(text, encoding, tuple(flags))
