"""Stop-word lists per language (jusText's stoplists), keyed by the ISO 639-1 codes py3langid returns."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

# py3langid's ISO codes → jusText's stoplist names (jusText ships ~100 lists built from Wikipedia).
JUSTEXT_NAMES: dict[str, str] = {
    "af": "Afrikaans", "sq": "Albanian", "ar": "Arabic", "an": "Aragonese", "hy": "Armenian", "az": "Azerbaijani",
    "eu": "Basque", "be": "Belarusian", "bn": "Bengali", "bs": "Bosnian", "br": "Breton", "bg": "Bulgarian",
    "ca": "Catalan", "hr": "Croatian", "cs": "Czech", "da": "Danish", "nl": "Dutch", "en": "English",
    "eo": "Esperanto", "et": "Estonian", "fi": "Finnish", "fr": "French", "gl": "Galician", "ka": "Georgian",
    "de": "German", "el": "Greek", "gu": "Gujarati", "ht": "Haitian", "he": "Hebrew", "hi": "Hindi",
    "hu": "Hungarian", "is": "Icelandic", "ig": "Igbo", "id": "Indonesian", "ga": "Irish", "it": "Italian",
    "jv": "Javanese", "kn": "Kannada", "kk": "Kazakh", "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz",
    "la": "Latin", "lv": "Latvian", "lt": "Lithuanian", "lb": "Luxembourgish", "mk": "Macedonian", "ms": "Malay",
    "ml": "Malayalam", "mt": "Maltese", "mr": "Marathi", "ne": "Nepali", "no": "Norwegian_Bokmal",
    "nn": "Norwegian_Nynorsk", "oc": "Occitan", "fa": "Persian", "pl": "Polish", "pt": "Portuguese",
    "qu": "Quechua", "ro": "Romanian", "ru": "Russian", "sr": "Serbian", "sk": "Slovak", "sl": "Slovenian",
    "es": "Spanish", "sw": "Swahili", "sv": "Swedish", "tl": "Tagalog", "ta": "Tamil", "te": "Telugu",
    "tr": "Turkish", "tk": "Turkmen", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese",
    "vo": "Volapuk", "wa": "Walloon", "cy": "Welsh", "fy": "West_Frisian", "pa": "Western_Panjabi",
    "yo": "Yoruba",
}


@cache
def stopwords_for(language: str | None) -> frozenset[str]:
    """The language's stop words (casefolded), or an empty set when jusText has no list for it."""
    name = JUSTEXT_NAMES.get(language or "")
    if name is None:
        return frozenset()
    return frozenset(word.casefold() for word in _justext_stoplist(name).splitlines() if word)


def _justext_stoplist(name: str) -> str:
    # Read from jusText's package folder without importing jusText, whose import brings lxml and its
    # HTML parser into every process that cleans text (see cleaners/html.py on lazy HTML imports).
    spec = importlib.util.find_spec("justext")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("jusText is not installed: its stoplists give the stop-word feature")
    return (Path(spec.origin).parent / "stoplists" / f"{name}.txt").read_text(encoding="utf-8")
