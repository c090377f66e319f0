"""Numbers in listing texts: digits with either decimal convention, and number words.

``250.000`` is two hundred and fifty thousand in Italian, Spanish and Polish texts and
``1,250`` is one thousand two hundred and fifty in English ones; ``85,5`` and ``85.5`` are
eighty-five and a half everywhere. A separator followed by exactly three digits is a
thousands separator unless the language writes decimals with it (English ``.``).

Examples
--------
>>> parse_number("250.000", "it"), parse_number("85,5", "it"), parse_number("1,250", "en")
(250000.0, 85.5, 1250.0)
>>> parse_number("tre", "it"), parse_number("dos", "es"), parse_number("dwie", "pl")
(3.0, 2.0, 2.0)
>>> parse_number("1.250,50", "es"), parse_number("two", "en"), parse_number("many", "en")
(1250.5, 2.0, None)
"""

from __future__ import annotations

import re

from estimo.text.lexicon import get_lexicon

DIGITS = r"\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
"""Regex for a number written in digits (with thousands separators or decimals)."""

_THOUSANDS = re.compile(r"^\d{1,3}(?:([.,\s])\d{3})+(?:([.,])(\d{1,2}))?$")
_PLAIN = re.compile(r"^(\d+)(?:[.,](\d{1,3}))?$")


def number_pattern(lang: str) -> str:
    """Regex alternation of digits and the number words of ``lang`` (longest words first)."""
    words = sorted(get_lexicon(lang).number_words, key=len, reverse=True)
    return rf"(?:{DIGITS}|\b(?:{'|'.join(map(re.escape, words))})\b)"


def parse_number(token: str, lang: str = "en") -> float | None:
    """The value of a number written in digits or as a word, or None.

    Parameters
    ----------
    token : str
        ``"85"``, ``"250.000"``, ``"1.250,5"``, ``"tre"``...
    lang : str
        Language of the text (decides ``1.250`` and ``1,250`` and the number words).

    Returns
    -------
    float or None
        The number; None when the token is not a number.
    """
    token = token.strip().lower()
    if not token:
        return None
    if token[0].isdigit():
        return _parse_digits(token, lang)
    word = get_lexicon(lang).number_words.get(token)
    return float(word) if word is not None else None


def _parse_digits(token: str, lang: str) -> float | None:
    grouped = _THOUSANDS.match(token)
    if grouped:
        sep, dec_sep, decimals = grouped.groups()
        if lang == "en" and sep == "." and dec_sep is None and token.count(".") == 1:
            return float(token)
        if dec_sep is not None and dec_sep == sep:
            return None
        whole = re.sub(r"[.,\s]", "", token[: grouped.start(2) if decimals else None])
        return float(whole) + (float(f"0.{decimals}") if decimals else 0.0)
    plain = _PLAIN.match(token)
    if not plain:
        return None
    whole, frac = plain.groups()
    if frac is None:
        return float(whole)
    if len(frac) == 3:
        return None
    return float(f"{whole}.{frac}")
