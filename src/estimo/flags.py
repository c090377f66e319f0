"""Yes/no words: how a flag (lift, terrace, garage) is written in data, forms and requests.

One vocabulary for every place that reads a flag written as a word: the input contract
(a JSON ``true`` for a feature whose training data said ``"sì"``), the facts read from
descriptions and the reasons in words.

Examples
--------
>>> [truth(v) for v in ("Yes", " sì ", "0", "false", True, "maybe", None)]
[True, True, False, False, True, None, None]
"""

from __future__ import annotations

from typing import Any

__all__ = ["NO_WORDS", "YES_WORDS", "truth"]

YES_WORDS = frozenset({"yes", "y", "true", "t", "1", "1.0", "si", "sì", "sí", "tak", "ja", "oui"})
"""A flag that is set, as written in English, Italian, Spanish, Polish, German and French
data, or as a boolean or number read as text."""

NO_WORDS = frozenset({"no", "n", "false", "f", "0", "0.0", "nie", "nein", "non"})
"""A flag that is not set (as :data:`YES_WORDS`)."""


def truth(value: Any) -> bool | None:
    """Whether ``value`` says yes (True) or no (False); None when it says neither."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    return None
