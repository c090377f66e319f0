"""Amenity flags (lift, terrace, balcony, garage, parking, garden, cellar, air conditioning).

Every mention of an amenity is read with its polarity (``estimo.text.negation``): an affirmed
mention makes the flag True, negated mentions only make it False, hedged ones ("possibilità
di box", "preinstalación de aire acondicionado") say nothing. Mentions that are not the
home's own ("giardini pubblici", "parking nearby") are skipped.

Examples
--------
>>> from estimo.text.lexicon import get_lexicon
>>> rules = AmenityRules(get_lexicon("it"))
>>> sorted((f.field, f.value) for f in rules.find("senza ascensore, con cantina e box auto"))
[('has_cellar', True), ('has_elevator', False), ('has_garage', True), ('has_parking', True)]
>>> rules.find("con possibilità di acquistare un box")
[]
"""

from __future__ import annotations

import dataclasses
import re

from estimo.text.anchors import Hits, Scanner
from estimo.text.facts import Fact
from estimo.text.lexicon import AMENITIES, Lexicon
from estimo.text.negation import cues_for, polarity

_FLAGS = re.IGNORECASE
_CONFIDENCE = {"amenity.affirmed": 0.95, "amenity.negated": 0.9, "amenity.implied": 0.9}


class AmenityRules:
    """Compiled amenity patterns of one language.

    Parameters
    ----------
    lexicon : Lexicon
        The language's words.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._cues = cues_for(lexicon)
        self._names = [name for name in AMENITIES if name in lexicon.amenities]
        self._not_own = re.compile(lexicon.not_own, _FLAGS)
        self._scanner: Scanner | None = None

    def groups(self) -> dict[str, str]:
        """Keyword classes this rule set reads (for :class:`~estimo.text.anchors.Scanner`)."""
        return {f"a_{name}": self.lexicon.amenities[name] for name in self._names}

    def find(self, text: str) -> list[Fact]:
        """One ``has_<amenity>`` fact per amenity the text affirms or negates."""
        if self._scanner is None:
            self._scanner = Scanner(self.groups())
        return self.read(text, self._scanner.scan(text))

    def read(self, text: str, hits: Hits) -> list[Fact]:
        """Amenity facts from the keyword ``hits`` of ``text``; a garage implies parking."""
        facts = {}
        for name in self._names:
            fact = self._flag(text, name, hits.get(f"a_{name}", ()))
            if fact is not None:
                facts[name] = fact
        garage, parking = facts.get("garage"), facts.get("parking")
        if garage is not None and garage.value is True and (parking is None or not parking.value):
            facts["parking"] = dataclasses.replace(
                garage, field="has_parking", rule="amenity.implied"
            )
        return list(facts.values())

    def _flag(self, text: str, name: str, spans) -> Fact | None:
        negated = None
        for start, end in spans:
            if self._not_own.match(text, end):
                continue
            kind = polarity(text, start, end, self._cues)
            if kind == "affirmed":
                rule = "amenity.affirmed"
                return Fact(
                    f"has_{name}", True, _CONFIDENCE[rule], start, end, text[start:end], rule
                )
            if kind == "negated" and negated is None:
                negated = (start, end)
        if negated is None:
            return None
        rule = "amenity.negated"
        start, end = _negated_span(text, *negated)
        return Fact(f"has_{name}", False, _CONFIDENCE[rule], start, end, text[start:end], rule)


def _negated_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The mention with the words before it in its clause (so the span shows the cue)."""
    first = max(0, start - 25)
    space = text.find(" ", first, start)
    if first > 0 and space != -1:
        first = space + 1
    return first, end
