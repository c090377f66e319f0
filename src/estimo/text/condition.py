"""Condition (new, renovated, good, to renovate) and year of construction.

A condition is the first phrase of the four classes the text uses ("da ristrutturare",
"reformado", "in good condition", "po remoncie"); when the text names two different classes
the fact is kept at a lower confidence. The year built follows a construction cue
("costruito nel 1972", "construido en 2002", "built in 1930", "rok budowy: 1985"); a decade
("anni '60", "años 70", "built in the 1960s") gives the decade's first year, as the portals'
own boxes do.

Examples
--------
>>> from estimo.text.lexicon import get_lexicon
>>> rules = ConditionRules(get_lexicon("it"))
>>> [(f.field, f.value) for f in rules.find("palazzo costruito nel 1972, da ristrutturare")]
[('condition', 'to_renovate'), ('year_built', 1972.0)]
>>> [(f.field, f.value) for f in ConditionRules(get_lexicon("es")).find("edificio de los años 70")]
[('year_built', 1970.0)]
"""

from __future__ import annotations

import datetime as dt
import re

from estimo.text.anchors import Hits, Scanner
from estimo.text.facts import Fact
from estimo.text.lexicon import CONDITIONS, Lexicon

_FLAGS = re.IGNORECASE
_CONFIDENCE = {
    "condition.phrase": 0.9,
    "condition.conflict": 0.6,
    "year_built.cue": 0.95,
    "year_built.decade": 0.8,
}
_DECADE_WORDS = {
    "venti": 20,
    "trenta": 30,
    "quaranta": 40,
    "cinquanta": 50,
    "sessanta": 60,
    "settanta": 70,
    "ottanta": 80,
    "novanta": 90,
    "veinte": 20,
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "setenta": 70,
    "ochenta": 80,
    "noventa": 90,
}


class ConditionRules:
    """Compiled condition and year-built patterns of one language.

    Parameters
    ----------
    lexicon : Lexicon
        The language's words.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._names = [name for name in CONDITIONS if name in lexicon.conditions]
        # "1970's" and "1970s" name a decade, not a year
        self._year_after = re.compile(
            r"\s*(?:il\s+|el\s+|the\s+)?(?P<y>1[6-9]\d\d|20\d\d)\b(?!['’]?s\b)"
        )
        words = "|".join(_DECADE_WORDS)
        self._decade_after = re.compile(
            rf"\s*(?:(?P<c>19)?(?P<d>[2-9]0)(?:['’]?s)?\b|(?P<w>{words})\b)", _FLAGS
        )
        # after a year cue only a plural decade ("built in the 1960s", "the 70's")
        self._plural_decade_after = re.compile(r"\s*(?:the\s+)?(?:19)?(?P<d>[2-9]0)['’]?s\b")
        self._scanner: Scanner | None = None

    def groups(self) -> dict[str, str]:
        """Keyword classes this rule set reads (for :class:`~estimo.text.anchors.Scanner`)."""
        out = {f"c_{name}": self.lexicon.conditions[name] for name in self._names}
        out["y_cue"] = self.lexicon.year_cues
        out["y_decade"] = self.lexicon.decade_cues
        return out

    def find(self, text: str) -> list[Fact]:
        """Condition and year-built facts in ``text``."""
        if self._scanner is None:
            self._scanner = Scanner(self.groups())
        return self.read(text, self._scanner.scan(text))

    def read(self, text: str, hits: Hits) -> list[Fact]:
        """Condition and year-built facts from the keyword ``hits`` of ``text``."""
        facts = []
        for fact in (self.condition(text, hits), self.year_built(text, hits)):
            if fact is not None:
                facts.append(fact)
        return facts

    def condition(self, text: str, hits: Hits) -> Fact | None:
        """The condition the text states first, or None."""
        found = []
        for name in self._names:
            spans = hits.get(f"c_{name}")
            if spans:
                found.append((spans[0][0], spans[0][1], name))
        if not found:
            return None
        found.sort()
        start, end, name = found[0]
        rule = "condition.phrase" if len(found) == 1 else "condition.conflict"
        return Fact("condition", name, _CONFIDENCE[rule], start, end, text[start:end], rule)

    def year_built(self, text: str, hits: Hits) -> Fact | None:
        """The year of construction, or None.

        A year after a cue wins; then a decade after a cue or a decade cue ("built in the
        1960s", "anni '70"), as the decade's first year at the lower decade confidence.
        """
        this_year = dt.date.today().year
        for start, end in hits.get("y_cue", ()):
            m = self._year_after.match(text, end)
            if m is not None and float(m.group("y")) <= this_year + 5:
                return _year_fact(text, float(m.group("y")), start, m.end(), "year_built.cue")
        cues = sorted(
            [(s, e, self._plural_decade_after) for s, e in hits.get("y_cue", ())]
            + [(s, e, self._decade_after) for s, e in hits.get("y_decade", ())]
        )
        for start, end, pattern in cues:
            m = pattern.match(text, end)
            if m is None:
                continue
            words = m.groupdict().get("w")
            decade = int(m.group("d")) if m.group("d") else _DECADE_WORDS[words.lower()]
            return _year_fact(text, float(1900 + decade), start, m.end(), "year_built.decade")
        return None


def _year_fact(text: str, year: float, start: int, end: int, rule: str) -> Fact:
    """A ``year_built`` fact for ``text[start:end]``."""
    return Fact("year_built", year, _CONFIDENCE[rule], start, end, text[start:end], rule)
