"""Whether a mention is affirmed, negated or only possible, from the words around it.

"senza ascensore", "sin garaje", "no lift", "bez windy" negate; "possibilità di box",
"posibilidad de garaje", "option to buy a parking space", "możliwość dokupienia garażu" and
"predisposizione aria condizionata" hedge (the amenity may be had, but is not part of the
home as listed). The scope is the clause: cues are looked for among the few words before the
mention (not across ``. ; ! ? ( )`` or a line break) and, for hedges and trailing negations,
right after it.

Examples
--------
>>> from estimo.text.lexicon import get_lexicon
>>> text = "appartamento senza ascensore"
>>> polarity(text, 19, 28, cues_for(get_lexicon("it")))
'negated'
>>> text = "con possibilità di acquistare un box"
>>> polarity(text, 33, 36, cues_for(get_lexicon("it")))
'hedged'
>>> text = "no lift, but a garden"
>>> polarity(text, 15, 21, cues_for(get_lexicon("en")))
'affirmed'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from estimo.text.lexicon import Lexicon

Polarity = Literal["affirmed", "negated", "hedged"]
_WINDOW = 60
_NOT_BREAK = r"(?!(?:con|with|ma|però|pero|but|ale|z|ze|oraz|y|mientras|whilst|while)\b)"
_APOSTROPHE = "['’`]"
_ELIDED = rf"(?:\s[^\W\d]{{1,4}}{_APOSTROPHE})"
"""An elided article or preposition glued to the mention ("l'ascensore", "un'", "dell'")."""
_FILLER = rf"[^\W\d]+(?:{_APOSTROPHE}[^\W\d]+)?"
"""A word between a cue and the mention ("a", "il", "c'è")."""
_BOUNDARY = re.compile(r"[.;!?()\n]|\s[-–]\s")


@dataclass(frozen=True)
class Cues:
    """Compiled negation and hedge patterns of one language."""

    negation_before: re.Pattern[str]
    negation_after: re.Pattern[str]
    hedge_before: re.Pattern[str]
    hedge_after: re.Pattern[str]
    negation_dangling: re.Pattern[str]


@cache
def cues_for(lexicon: Lexicon) -> Cues:
    """Compile the negation and hedge cues of ``lexicon`` (cached)."""
    flags = re.IGNORECASE
    negation_before, negation_after, hedges = (
        _any_apostrophe(cue)
        for cue in (lexicon.negation_before, lexicon.negation_after, lexicon.hedges)
    )
    return Cues(
        negation_before=re.compile(
            rf"(?:^|\W)(?:{negation_before})(?:\s+{_NOT_BREAK}{_FILLER}){{0,2}}\s*{_ELIDED}?$",
            flags,
        ),
        negation_after=re.compile(rf"^(?:{negation_after})", flags),
        hedge_before=re.compile(rf"(?:^|\W)(?:{hedges})(?:\W+[^\W\d]+){{0,4}}\W*$", flags),
        hedge_after=re.compile(rf"^[^,]{{0,30}}?\b(?:{hedges})\b", flags),
        negation_dangling=re.compile(rf"[^\W\d][ \t]+(?:{negation_before})[ \t]*\n[ \t]*$", flags),
    )


def _any_apostrophe(cue: str) -> str:
    """``cue`` matching the typographic apostrophe (’, as word processors write) too."""
    return cue.replace("'", _APOSTROPHE)


def clause_before(text: str, start: int) -> str:
    """The text of the clause before ``start`` (at most a few words)."""
    window = text[max(0, start - _WINDOW) : start]
    last = 0
    for cut in _BOUNDARY.finditer(window):
        last = cut.end()
    return window[last:]


def clause_after(text: str, end: int) -> str:
    """The text of the clause after ``end`` (at most a few words)."""
    window = text[end : end + _WINDOW]
    cut = _BOUNDARY.search(window)
    return window[: cut.start()] if cut is not None else window


def _dangling_negation(text: str, start: int, before: str, cues: Cues) -> bool:
    """Whether the line before the mention ends with a negation cue ("senza" + line break +
    "ascensore": a line wrapped, or a ``<br>`` inside a sentence)."""
    if before.strip():
        return False
    head = text[max(0, start - len(before) - _WINDOW) : start - len(before)]
    return head.endswith("\n") and cues.negation_dangling.search(head) is not None


def polarity(text: str, start: int, end: int, cues: Cues) -> Polarity:
    """Whether the mention ``text[start:end]`` is affirmed, negated or hedged.

    Parameters
    ----------
    text : str
        The whole text.
    start, end : int
        Offsets of the mention.
    cues : Cues
        The language's cues (:func:`cues_for`).
    """
    before = clause_before(text, start)
    if cues.negation_before.search(before) or _dangling_negation(text, start, before, cues):
        return "negated"
    after = clause_after(text, end)
    if cues.negation_after.match(after):
        return "negated"
    if cues.hedge_before.search(before) or cues.hedge_after.match(after):
        return "hedged"
    return "affirmed"
