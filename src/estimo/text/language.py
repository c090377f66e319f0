"""A light language guess (it, es, en, pl) from frequent words and letters, no model.

Listing texts are long and formulaic, so counting each language's most frequent short words
over the first few hundred words is enough; Polish and Spanish letters (``ą ę ł ż``, ``ñ``)
break ties. A tie that nothing breaks is no language (``default``), not the first one listed.

Examples
--------
>>> detect_language("Appartamento al secondo piano con ascensore e cantina")
'it'
>>> detect_language("Piso de tres dormitorios con ascensor y trastero")
'es'
>>> detect_language("Mieszkanie na drugim piętrze, dwa pokoje i balkon")
'pl'
>>> detect_language("A bright two-bedroom flat with a lift and a garden")
'en'
>>> detect_language("") is None
True
"""

from __future__ import annotations

import re
from functools import cache

from estimo.text.lexicon import LANGUAGES, get_lexicon

_WORD = re.compile(r"[^\W\d_]+")
_LETTERS = {"pl": set("ąęłńśźżć"), "es": set("ñ¿¡"), "it": set("òù")}
_MAX_CHARS = 600


@cache
def _stopwords() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        for word in get_lexicon(lang).stopwords:
            table[word] = (*table.get(word, ()), lang)
    return table


def detect_language(text: str | None, default: str | None = None) -> str | None:
    """The language of ``text`` among :data:`~estimo.text.lexicon.LANGUAGES`.

    Parameters
    ----------
    text : str or None
        A description or title.
    default : str, optional
        Returned when the text has no word of any language (empty, numbers only).

    Returns
    -------
    str or None
        ``"it"``, ``"es"``, ``"en"``, ``"pl"``, or ``default`` when no language scores more
        than every other.
    """
    if not text:
        return default
    sample = text[:_MAX_CHARS].lower()
    words = _WORD.findall(sample)
    if not words:
        return default
    scores = dict.fromkeys(LANGUAGES, 0.0)
    table = _stopwords()
    for word in words:
        for lang in table.get(word, ()):
            scores[lang] += 1
    letters = set(sample)
    for lang, marks in _LETTERS.items():
        scores[lang] += 2.0 * len(letters & marks)
    best = max(LANGUAGES, key=lambda code: scores[code])
    tied = sum(score == scores[best] for score in scores.values()) > 1
    return best if scores[best] > 0 and not tied else default
