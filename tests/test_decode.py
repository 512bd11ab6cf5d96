
"""Unit tests for cleaners.decode.decode_capture: bytes -> Decoded text, or a Rejection with a reason."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaners.decode import BADNESS_MAX_WIDTH, decode_capture, looks_like_mojibake
from cleaners.model import Decoded, Rejection

BIG = 10_000_000


def _decoded(data: bytes, max_bytes: int = BIG) -> Decoded:
    result = decode_capture(data, max_bytes)
    assert isinstance(result, Decoded), f"expected Decoded, got {result!r}"
    return result


def _rejected(data: bytes, max_bytes: int = BIG) -> Rejection:
    result = decode_capture(data, max_bytes)
    assert isinstance(result, Rejection), f"expected Rejection, got {result!r}"
    assert isinstance(result.detail, str), "Rejection.detail must be a string"
    assert result.detail.strip(), "Rejection.detail must not be empty"
    return result


# --------------------------------------------------------------------------- UTF-8 / BOMs


def test_plain_utf8_is_returned_exactly_without_flags() -> None:
    text = "Hello, world.\nA second line with café, naïve and “quotes” — and an emoji 🙂.\n"
    result = _decoded(text.encode("utf-8"))
    assert result.text == text
    assert result.encoding == "utf-8"
    assert result.flags == ()


def test_plain_ascii_is_returned_exactly_without_flags() -> None:
    text = "Just ASCII.\n\tIndented with a tab and a form feed\f.\n"
    result = _decoded(text.encode("ascii"))
    assert result.text == text
    assert result.flags == ()


def test_utf8_bom_is_stripped_and_flagged() -> None:
    text = "Headline with café\n\nBody text."
    result = _decoded(codecs.BOM_UTF8 + text.encode("utf-8"))
    assert result.text == text
    assert "\ufeff" not in result.text
    assert any(flag.startswith("bom:") for flag in result.flags)
    assert result.flags[0].startswith("bom:")


def test_utf16_le_with_bom_decodes() -> None:
    text = "Hello, wörld — “quoted”.\nLine two."
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    assert b"\x00" in data  # the NUL check must not fire for BOM-marked UTF-16
    result = _decoded(data)
    assert result.text == text
    assert "\ufeff" not in result.text
    assert any(flag.startswith("bom:") for flag in result.flags)


def test_utf16_be_with_bom_decodes() -> None:
    text = "Big-endian text, ça va."
    result = _decoded(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    assert result.text == text
    assert any(flag.startswith("bom:") for flag in result.flags)


def test_utf16_with_bom_and_crlf_gets_both_flags() -> None:
    text = "Hi\r\nthere"
    result = _decoded(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert result.text == "Hi\nthere"
    assert any(flag.startswith("bom:") for flag in result.flags)
    assert "line_endings_normalized" in result.flags


def test_truncated_utf16_after_bom_is_undecodable() -> None:
    # odd number of bytes after a UTF-16 LE BOM
    result = _rejected(codecs.BOM_UTF16_LE + b"H\x00i")
    assert result.reason == "undecodable"


# --------------------------------------------------------------------------- legacy encodings


CP1252_TEXT = (
    "The council’s “emergency” meeting ran late on Tuesday — residents said they weren’t told.\n" * 3
    + "The café on the corner stayed open.\n"
)


def test_cp1252_curly_quotes_and_accents_decode_correctly() -> None:
    data = CP1252_TEXT.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # precondition: this really is not UTF-8
    result = _decoded(data)
    assert result.text == CP1252_TEXT
    assert "encoding_detected:cp1252" in result.flags
    assert "mojibake_repaired" not in result.flags


GERMAN_TEXT = (
    "Die Bundesregierung hat am Mittwoch beschlossen, die Förderung für Wärmepumpen zu erhöhen. "
    "Über die Höhe der Zuschüsse wird noch verhandelt; die Länder äußerten Kritik.\n"
) * 2

SPANISH_TEXT = (
    "El señor García dijo que la situación económica de España mejorará el próximo año. "
    "¿Quién sabe? Según él, la inflación bajará.\n"
) * 2


@pytest.mark.parametrize("text", [GERMAN_TEXT, SPANISH_TEXT], ids=["german", "spanish"])
def test_latin1_text_decodes_correctly(text: str) -> None:
    data = text.encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = _decoded(data)
    assert result.text == text
    assert "encoding_detected:cp1252" in result.flags


FRENCH_TEXT = (
    "Le président a déclaré mercredi que la réforme des retraites serait présentée à l'Assemblée "
    "nationale avant l'été. Les députés de l'opposition ont critiqué une décision précipitée.\n"
) * 2


def test_latin1_french_text_decodes_correctly() -> None:
    result = _decoded(FRENCH_TEXT.encode("latin-1"))
    assert result.text == FRENCH_TEXT


def test_short_cp1252_english_with_accents_decodes_correctly() -> None:
    text = "The café owner said “it’s fine” — naïve résumé of the day’s events, déjà vu.\n"
    result = _decoded(text.encode("cp1252"))
    assert result.text == text


# --------------------------------------------------------------------------- mojibake


def test_double_encoded_mojibake_is_repaired() -> None:
    raw = "Itâ€™s a nice day, isnâ€™t it?\nYes."
    # precondition: this is what UTF-8 read as cp1252 and re-saved as UTF-8 looks like
    assert "It’s".encode().decode("cp1252") == "Itâ€™s"
    result = _decoded(raw.encode("utf-8"))
    assert result.text == "It’s a nice day, isn’t it?\nYes."
    assert "mojibake_repaired" in result.flags
    assert result.encoding == "utf-8"


def test_latin1_mojibake_of_accents_is_repaired() -> None:
    raw = "café crème".encode().decode("latin-1")  # 'cafÃ© crÃ¨me'
    result = _decoded(raw.encode("utf-8"))
    assert result.text == "café crème"
    assert "mojibake_repaired" in result.flags


def test_legitimate_accents_are_not_flagged_as_mojibake() -> None:
    text = "café résumé et naïve, Ä Ö Ü ß, “quotes”."
    result = _decoded(text.encode("utf-8"))
    assert result.text == text
    assert "mojibake_repaired" not in result.flags


# --------------------------------------------------------------------------- line endings


def test_crlf_is_normalised() -> None:
    result = _decoded(b"line one\r\nline two\r\n")
    assert result.text == "line one\nline two\n"
    assert "\r" not in result.text
    assert "line_endings_normalized" in result.flags


def test_lone_cr_is_normalised() -> None:
    result = _decoded(b"a\rb\rc")
    assert result.text == "a\nb\nc"
    assert "line_endings_normalized" in result.flags


def test_mixed_line_endings_become_one_newline_each() -> None:
    result = _decoded(b"a\r\nb\rc\n\r\nd")
    # \r\n -> one \n (not two), lone \r -> \n, \n unchanged
    assert result.text == "a\nb\nc\n\nd"
    assert "line_endings_normalized" in result.flags


def test_lf_only_text_has_no_line_ending_flag() -> None:
    result = _decoded(b"a\nb\n")
    assert "line_endings_normalized" not in result.flags


# --------------------------------------------------------------------------- rejections


def test_empty_bytes_are_rejected_as_empty() -> None:
    assert _rejected(b"").reason == "empty"


@pytest.mark.parametrize("data", [b" ", b"  \n\t \r\n", b"\n\n\n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b" \n"])
def test_whitespace_only_is_rejected_as_empty(data: bytes) -> None:
    assert _rejected(data).reason == "empty"


def test_png_header_is_rejected_as_binary() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"
    result = _rejected(png)
    assert result.reason == "binary"


def test_single_nul_in_text_is_rejected_as_binary() -> None:
    result = _rejected(b"plain text\x00more text")
    assert result.reason == "binary"
    assert "10" in result.detail  # the offset of the NUL byte is reported


def test_text_full_of_control_characters_is_rejected_as_binary() -> None:
    data = ("word\x01\x02\x03 " * 20).encode("ascii")
    assert _rejected(data).reason == "binary"


def test_control_share_threshold_boundary() -> None:
    # 5 control characters in 105 characters is under 5%; 6 in 106 is over it.
    ok = decode_capture(("a" * 100 + "\x01\x02\x03\x04\x05").encode(), BIG)
    assert isinstance(ok, Decoded)
    bad = decode_capture(("a" * 100 + "\x01\x02\x03\x04\x05\x06").encode(), BIG)
    assert isinstance(bad, Rejection) and bad.reason == "binary"


def test_tab_newline_formfeed_are_not_counted_as_control() -> None:
    text = "\t\f\n" * 50 + "x"
    result = _decoded(text.encode())
    assert result.text == text


def test_larger_than_max_bytes_is_rejected_as_too_large() -> None:
    result = _rejected(b"x" * 101, max_bytes=100)
    assert result.reason == "too_large"
    assert "101" in result.detail


def test_exactly_max_bytes_is_accepted() -> None:
    result = _decoded(b"x" * 100, max_bytes=100)
    assert result.text == "x" * 100


def test_too_large_is_checked_before_content() -> None:
    # even binary or whitespace content is reported as too_large first
    assert _rejected(b"\x00" * 50, max_bytes=10).reason == "too_large"
    assert _rejected(b" " * 50, max_bytes=10).reason == "too_large"


MULTI_SCRIPT = [
    ("Le président a déclaré que la réforme serait présentée à l'Assemblée avant l'été.\n", "latin-1"),
    ("The café owner said “it’s fine” — naïve résumé of the day’s events, déjà vu.\n", "cp1252"),
    ("Der Bürgermeister äußerte sich am Mittwoch über die Straßenbahn in München.\n", "latin-1"),
    ("Привет, как дела? Это тест кодировки для русского текста.\n", "cp1251"),
    ("Zażółć gęślą jaźń, powiedział minister w środę w Warszawie.\n", "cp1250"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy, řekl ministr ve středu.\n", "cp1250"),
    ("Türkiye Cumhurbaşkanı çarşamba günü açıklama yaptı, şehirde işçiler toplandı.\n", "cp1254"),
    ("Καλημέρα, ο υπουργός είπε την Τετάρτη ότι η μεταρρύθμιση θα παρουσιαστεί.\n", "cp1253"),
]


@pytest.mark.parametrize(("text", "encoding"), MULTI_SCRIPT, ids=[f"{e}-{t[:12]}" for t, e in MULTI_SCRIPT])
def test_legacy_code_pages_of_many_scripts_decode_exactly(text: str, encoding: str) -> None:
    # The windows-1252 preference must fix Western text without stealing Central European,
    # Cyrillic, Greek or Turkish text from the code page it was written in.
    result = decode_capture(text.encode(encoding), 10**7)
    assert isinstance(result, Decoded), result
    assert result.text == text


# --------------------------------------------------------------------------- fast mojibake check


def test_badness_regex_width_is_what_the_fast_check_assumes() -> None:
    """The windowed search is exact only while ftfy's regex matches at most BADNESS_MAX_WIDTH characters."""
    import re._parser as sre_parse  # the stdlib's own regex parser: its width is the regex's, not a guess

    from ftfy.badness import BADNESS_RE

    assert sre_parse.parse(BADNESS_RE.pattern, BADNESS_RE.flags).getwidth()[1] <= BADNESS_MAX_WIDTH


MOJIBAKE_PIECES = ["Ã©", "â€™", "â€œ", "Ã ", "Â ", "Ã¡", "Ð¿Ñ€Ð¸", "Ã\xa0", "œ.", "Ã°", "вЂ", "ΓΆΒ", "\x85", "×²"]
CLEAN_PIECES = ["The café", " — ", "“quoted”", "naïve", "Привет", "Καλημέρα", "日本語", "ü", "ß", "\n", " ", "a", ".",
                "Â", "Ã", "€", "™", "×", "²"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(MOJIBAKE_PIECES + CLEAN_PIECES), max_size=40), st.integers(0, 30))
def test_fast_mojibake_check_agrees_with_ftfy(pieces: list[str], ascii_gap: int) -> None:
    text = ("x" * ascii_gap).join(pieces)
    from ftfy.badness import is_bad

    assert looks_like_mojibake(text) == is_bad(text)


def test_fast_mojibake_check_agrees_with_ftfy_on_real_pages() -> None:
    from ftfy.badness import is_bad

    from .conftest import EVAL_DEV

    texts = [p.read_text(encoding="utf-8") for p in sorted(EVAL_DEV.glob("*.page.txt"))]
    if not texts:
        pytest.skip(f"no labelled pages in {EVAL_DEV}")
    # Each page as it is, and made into mojibake (UTF-8 read as windows-1252) where that is possible.
    broken = [t.encode("utf-8").decode("cp1252", errors="ignore") for t in texts]
    for text in texts + broken:
        assert looks_like_mojibake(text) == is_bad(text)
    assert sum(map(looks_like_mojibake, broken)) > len(broken) // 2  # the check does see mojibake
