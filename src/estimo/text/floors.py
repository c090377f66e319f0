"""Which floor the home is on, and how many floors the building has.

Named floors ("piano terra", "planta baja", "ground floor", "parter" = 0; "piano rialzato",
"entresuelo", "mezzanine" = 0.5; "seminterrato", "sótano", "basement flat" = below 0), ordinal
words and digits before or after the storey noun ("al secondo piano", "3ª planta",
"3rd floor", "na 3 piętrze", "III piętro") and "3/5 piętro" (floor 3 of 5). A floor named
right after a part ("cantina al piano terra", "garaje en planta sótano") is the part's, not
the home's. "ultimo piano" / "top floor" gives the floor only when the building's floors are
known too. "su due piani" (a home on two levels) is not a floor.

Examples
--------
>>> from estimo.text.lexicon import get_lexicon
>>> rules = FloorRules(get_lexicon("it"))
>>> [(f.field, f.value) for f in rules.find("al terzo piano di una palazzina di 5 piani")]
[('floor', 3.0), ('floors_in_building', 5.0)]
>>> [(f.field, f.value) for f in FloorRules(get_lexicon("pl")).find("mieszkanie na parterze")]
[('floor', 0.0)]
>>> [(f.field, f.value) for f in FloorRules(get_lexicon("es")).find("piso en 3ª planta")]
[('floor', 3.0)]
"""

from __future__ import annotations

import re

from estimo.text.anchors import Hits, Scanner
from estimo.text.facts import Fact
from estimo.text.lexicon import Lexicon
from estimo.text.numbers import parse_number

_ROMAN = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
    "vii": 7,
    "viii": 8,
    "ix": 9,
    "x": 10,
}
_FLAGS = re.IGNORECASE
_CONFIDENCE = {
    "floor.named": 0.9,
    "floor.ordinal": 0.95,
    "floor.digits": 0.95,
    "floor.top": 0.85,
    "floor.conflict": 0.6,
    "floors_in_building.number": 0.9,
}
_SUFFIX = r"(?:°|º|ª|\s?o\b|\s?a\b|st|nd|rd|th|\.)?"
_NOT_A_FLOOR = (
    r"\s*(?:cottura|di\s+lavoro|superiore|inferiore|terra\s+e\s+primo|"
    r"terra\s+e\s+\d|e\s+\w+\s+piano)"
)
"""Words after "piano" that make it a cooktop or a level of the home, not its floor."""


class FloorRules:
    """Compiled floor patterns of one language.

    Parameters
    ----------
    lexicon : Lexicon
        The language's words.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        lx = lexicon
        ordinals = "|".join(sorted(map(re.escape, lx.ordinal_words), key=len, reverse=True))
        roman = "|".join(sorted(_ROMAN, key=len, reverse=True)).upper()
        self._before = re.compile(
            rf"(?:(?<![\d.,])(?P<d>\d{{1,2}}){_SUFFIX}|(?P<r>\b(?:{roman}))|"
            rf"(?P<o>\b(?:{ordinals})))(?:\s*/\s*(?P<total>\d{{1,2}}))?\s+$",
            re.IGNORECASE,
        )
        self._roman_upper = re.compile(rf"\b(?:{roman})\s+$")
        self._after = re.compile(
            rf"\s+(?:n\.?\s*)?(?:(?P<d>\d{{1,2}}){_SUFFIX}(?:\s*/\s*(?P<total>\d{{1,2}}))?"
            rf"|(?P<o>\b(?:{ordinals})\b))(?![\d,.]*\s*(?:m|€|mq|%))",
            re.IGNORECASE,
        )
        self._not_a_floor = re.compile(_NOT_A_FLOOR, re.IGNORECASE)
        self._special_values = list(lx.floor_special.values())
        self._building = re.compile(rf"\b(?:{lx.building_floors})", re.IGNORECASE)
        self._building_gate = re.compile(
            r"piani\b|plantas|alturas|pisos|stor|floor|piętr", re.IGNORECASE
        )
        self._part_before = re.compile(rf"\b(?:{lx.part_before_floor})", re.IGNORECASE)
        self._scanner: Scanner | None = None

    def groups(self) -> dict[str, str]:
        """Keyword classes this rule set reads (for :class:`~estimo.text.anchors.Scanner`)."""
        lx = self.lexicon
        out = {f"f_named_{i}": pattern for i, pattern in enumerate(lx.floor_special)}
        out["f_top"] = lx.top_floor
        out["f_noun"] = lx.floor_noun
        return out

    def find(self, text: str) -> list[Fact]:
        """Floor and building-floor facts in ``text``."""
        if self._scanner is None:
            self._scanner = Scanner(self.groups())
        return self.read(text, self._scanner.scan(text))

    def read(self, text: str, hits: Hits) -> list[Fact]:
        """Floor and building-floor facts from the keyword ``hits`` of ``text``."""
        facts = []
        found = self.candidates(text, hits)
        building = self.building_floors(text, found)
        floor = self.floor(text, hits, found, building.value if building is not None else None)
        if floor is not None:
            facts.append(floor)
        if building is not None:
            facts.append(building)
        return facts

    def _word_value(self, m: re.Match[str]) -> float | None:
        groups = m.groupdict()
        if groups.get("d"):
            return float(groups["d"])
        if groups.get("r"):
            return float(_ROMAN[groups["r"].lower()])
        word = (groups.get("o") or "").lower()
        return float(self.lexicon.ordinal_words[word]) if word else None

    def candidates(self, text: str, hits: Hits) -> list[tuple[float, int, int, str, float | None]]:
        """Every floor mention: (value, start, end, rule, building floors), parts' left out."""
        found = []
        for start, end in hits.get("f_noun", ()):
            m = self._before.search(text, max(0, start - 12), start)
            if (
                m is not None
                and m.group("r")
                and not self._roman_upper.search(text, m.start(), start)
            ):
                m = None
            if m is not None and self._not_a_floor.match(text, end):
                m = None
            if m is None:
                m = self._after.match(text, end)
            if m is None:
                continue
            value = self._word_value(m)
            if value is None or value > 60:
                continue
            first = min(m.start(), start)
            if self._part_before.search(text, max(0, first - 40), first):
                continue
            rule = "floor.ordinal" if m.group("o") else "floor.digits"
            total = float(m.group("total")) if m.group("total") else None
            found.append((value, first, max(m.end(), end), rule, total))
        for i, value in enumerate(self._special_values):
            for start, end in hits.get(f"f_named_{i}", ()):
                if self._part_before.search(text, max(0, start - 40), start):
                    continue
                found.append((value, start, end, "floor.named", None))
        found.sort(key=lambda f: f[1])
        return found

    def floor(
        self,
        text: str,
        hits: Hits,
        found: list[tuple[float, int, int, str, float | None]],
        building: float | None = None,
    ) -> Fact | None:
        """The home's floor, or None."""
        if not found:
            top = hits.get("f_top")
            if not top or building is None:
                return None
            rule = "floor.top"
            start, end = top[0]
            return Fact("floor", building, _CONFIDENCE[rule], start, end, text[start:end], rule)
        value, start, end, rule, _ = found[0]
        if len({f[0] for f in found}) > 1:
            rule = "floor.conflict"
        return Fact("floor", value, _CONFIDENCE[rule], start, end, text[start:end], rule)

    def building_floors(
        self, text: str, found: list[tuple[float, int, int, str, float | None]]
    ) -> Fact | None:
        """Floors of the building ("palazzina di 5 piani", "3/5 piętro"), or None."""
        for _, start, end, _, total in found:
            if total is not None:
                return self._building_fact(total, start, end, text)
        m = None
        for gate in self._building_gate.finditer(text):  # the plural storey noun ends the phrase
            m = self._building.search(text, max(0, gate.start() - 90), gate.end() + 12)
            if m is not None:
                break
        if m is None:
            return None
        token = next(g for g in m.groups() if g)
        value = parse_number(token, self.lexicon.code)
        if value is None or not 1 <= value <= 60:
            return None
        return self._building_fact(value, m.start(), m.end(), text)

    @staticmethod
    def _building_fact(value: float, start: int, end: int, text: str) -> Fact:
        rule = "floors_in_building.number"
        return Fact(
            "floors_in_building", value, _CONFIDENCE[rule], start, end, text[start:end], rule
        )
