"""Sizes and counts: living area (m², mq, metri quadri, sq ft) and rooms, bedrooms, bathrooms.

An area mention is a number (or a range) followed by a unit, or a unit followed by a number
("mq 85"). Whether it is the home's area or a part's (a 30 m² terrace, a 500 m² garden, a
40 m² living room) is read from the nearest noun before it and the words right after it;
the first mention about the whole home wins, then the first bare one, then a net area
("65 m² útiles", "80 mq calpestabili": portals report the gross area, so a net area alone is
kept at the lower confidence measured for it). Counts are a number
(digits or words) before a counted noun ("tre camere", "2 baños", "two bedrooms",
"two-bedroom", "3-bed"; a range such as "2-3 camere" gives its low end at the lower
confidence of a range, as for areas), whole
words that carry a count ("trilocale", "doppi servizi", "dwupokojowe"), or a lone singular
mention ("cucina e bagno" with no other bathroom named) at lower confidence.

Examples
--------
>>> from estimo.text.lexicon import get_lexicon
>>> rules = MeasureRules(get_lexicon("it"))
>>> [(f.field, f.value, f.span) for f in rules.find("Trilocale di 85 mq con terrazzo di 30 mq")]
[('area_m2', 85.0, '85 mq'), ('rooms', 3.0, 'Trilocale')]
>>> [(f.field, f.value) for f in rules.find("due camere da letto e doppi servizi")]
[('bedrooms', 2.0), ('bathrooms', 2.0)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from estimo.text.anchors import Hits, Scanner
from estimo.text.facts import Fact
from estimo.text.lexicon import Lexicon
from estimo.text.numbers import DIGITS, number_pattern, parse_number

SQFT_TO_M2 = 0.09290304
AREA_RANGE = (12.0, 3000.0)
COUNT_RANGE = {"rooms": (1, 15), "bedrooms": (0, 12), "bathrooms": (1, 8)}

_CONFIDENCE = {
    "area.whole": 0.95,
    "area.bare": 0.8,
    "area.range": 0.6,
    "area.net": 0.6,
    "count.number": 0.95,
    "count.term": 0.95,
    "count.single": 0.8,
    "count.range": 0.6,
    "count.conflict": 0.6,
}
_FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class _AreaMention:
    value: float
    start: int
    end: int
    kind: str


class MeasureRules:
    """Compiled area and count patterns of one language.

    Parameters
    ----------
    lexicon : Lexicon
        The language's words.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        lx = lexicon
        num = DIGITS
        self._number_before_unit = re.compile(
            rf"(?<![\d.,/€$£])(?P<a>{num})(?:\s*(?:-|–|÷|/|a|al|y|to|do)\s*(?P<b>{num}))?"
            r"\s*(?:circa\s+|ca\.?\s+|aprox\.?\s+|approx\.?\s+)?$",
            _FLAGS,
        )
        self._number_after_unit = re.compile(rf"\.?\s*(?P<c>{num})(?![\d.,]*\s*(?:€|eur))", _FLAGS)
        self._whole = re.compile(rf"\b(?:{lx.whole_nouns})\b", _FLAGS)
        self._part = re.compile(rf"\b(?:{lx.part_nouns})\b", _FLAGS)
        self._part_after = re.compile(
            rf"\s*\)|\s*(?:circa\s+|ca\.?\s+)?(?:(?:di|de|of|del|della|z|na)\s+)?"
            rf"(?:{lx.part_nouns}|ciascun[oa]|cada\s+un[oa]|each|każd)\b",
            _FLAGS,
        )
        self._whole_after = re.compile(
            r"\s*(?:circa\s+)?(?:commerciali|calpestabili|complessivi|totali|construidos|"
            r"útiles|utiles|totales|de\s+superficie|total|of\s+living|powierzchni|użytkow)",
            _FLAGS,
        )
        self._net_after = re.compile(
            r"\s*(?:circa\s+)?(?:[uú]til(?:es)?|calpestabil[ei]|nett[io]|net|usable|użytkow)\b",
            _FLAGS,
        )
        self._net = re.compile(
            r"\b(?:[uú]til(?:es)?|calpestabil[ei]|nett[io]|net|usable|użytkow\w*|interni)\b",
            _FLAGS,
        )
        number = number_pattern(lx.code)
        filler = r"(?:\s+(?!(?:e|y|and|i|o|or|con|with|di|de)\b)[^\W\d]{3,})?"
        # "3 bedrooms", "tre camere", and hyphenated "two-bedroom", "3-bed"
        self._count_before = re.compile(rf"(?<![\w.,])(?P<n>{number})(?:-|{filler}\s*)$", _FLAGS)
        self._range_before = re.compile(
            rf"(?<![\w.,])(?P<lo>{number})\s*(?:-|–|÷|/|to|or|a|o|al|do|lub|albo)\s*$", _FLAGS
        )
        self._digit_after = re.compile(r"\s*\d")
        self._terms = {
            name: {k.lower(): v for k, v in terms.items()}
            for name, terms in lx.count_terms.items()
            if terms
        }
        self._singular = {
            name: re.compile(rf"\b(?:{word})\b", _FLAGS) for name, word in lx.singular.items()
        }
        self._more = {
            name: re.compile(rf"\b(?:{word})\b", _FLAGS) for name, word in lx.more_than_one.items()
        }
        self._scanner: Scanner | None = None

    def groups(self) -> dict[str, str]:
        """Keyword classes this rule set reads (for :class:`~estimo.text.anchors.Scanner`)."""
        lx = self.lexicon
        out = {"m_sqft": lx.sqft_units, "m_area": lx.area_units}
        for name, terms in self._terms.items():
            words = sorted(terms, key=len, reverse=True)
            out[f"m_term_{name}"] = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
        for name, noun in lx.counts.items():
            out[f"m_count_{name}"] = noun
        return out

    def find(self, text: str) -> list[Fact]:
        """Area and count facts in ``text`` (one per field at most)."""
        if self._scanner is None:
            self._scanner = Scanner(self.groups(), glued=("m_area", "m_sqft"))
        return self.read(text, self._scanner.scan(text))

    def read(self, text: str, hits: Hits) -> list[Fact]:
        """Area and count facts from the keyword ``hits`` of ``text``."""
        facts = []
        area = self.area(text, hits)
        if area is not None:
            facts.append(area)
        for name in ("rooms", "bedrooms", "bathrooms"):
            fact = self.count(text, name, hits)
            if fact is not None:
                facts.append(fact)
        return facts

    def area_mentions(self, text: str, hits: Hits) -> list[_AreaMention]:
        """Every area mention with its kind (``whole``, ``part``, ``net``, ``bare``, ``range``)."""
        mentions = []
        previous = 0
        lang = self.lexicon.code
        spans = [(s, e, False) for s, e in hits.get("m_area", ())]
        spans += [(s, e, True) for s, e in hits.get("m_sqft", ())]
        for unit_start, unit_end, sqft in sorted(spans):
            before = self._number_before_unit.search(text, max(0, unit_start - 30), unit_start)
            if before is not None:
                value = parse_number(before.group("a"), lang)
                high = parse_number(before.group("b"), lang) if before.group("b") else None
                start, end = before.start(), unit_end
            else:
                after = self._number_after_unit.match(text, unit_end)
                if after is None:
                    continue
                value, high = parse_number(after.group("c"), lang), None
                start, end = unit_start, after.end()
            if value is None:
                continue
            if sqft:
                value *= SQFT_TO_M2
                high = high * SQFT_TO_M2 if high is not None else None
            kind = self._area_kind(text, start, end, previous)
            previous = end
            if high is not None and kind != "part":
                if not value < high:
                    continue
                kind = "range"
            mentions.append(_AreaMention(round(value, 1), start, end, kind))
        return mentions

    def _area_kind(self, text: str, start: int, end: int, previous: int = 0) -> str:
        """The kind of the mention ``text[start:end]``; the words right after the unit decide
        first, and the net window before it stops at the ``previous`` mention's end (the net
        word of "90 m2 útiles, 110 m2 construidos" is not about the 110)."""
        if self._part_after.match(text, end):
            return "part"
        if self._net_after.match(text, end):
            return "net"
        if self._whole_after.match(text, end):
            return "whole"
        if self._net.search(text, max(0, previous, start - 25), min(len(text), end + 20)):
            return "net"
        before = text[max(0, start - 45) : start]
        whole = [m.end() for m in self._whole.finditer(before)]
        part = [m.end() for m in self._part.finditer(before)]
        if not whole and not part:
            return "bare"
        return "whole" if max(whole, default=-1) > max(part, default=-1) else "part"

    def area(self, text: str, hits: Hits) -> Fact | None:
        """The home's living area in m², or None."""
        mentions = [
            m
            for m in self.area_mentions(text, hits)
            if m.kind != "part" and AREA_RANGE[0] <= m.value <= AREA_RANGE[1]
        ]
        for kind in ("whole", "bare", "net", "range"):
            chosen = [m for m in mentions if m.kind == kind]
            if chosen:
                first = chosen[0]
                rule = f"area.{kind}"
                if len({m.value for m in chosen}) > 1:
                    rule = f"area.{kind}_conflict"
                return Fact(
                    "area_m2",
                    first.value,
                    _CONFIDENCE.get(rule, 0.6),
                    first.start,
                    first.end,
                    text[first.start : first.end],
                    rule,
                )
        return None

    def count(self, text: str, name: str, hits: Hits) -> Fact | None:
        """The count of ``name`` (rooms, bedrooms, bathrooms) in ``text``, or None."""
        low, high = COUNT_RANGE[name]
        found: list[tuple[float, int, int, str]] = []
        for noun_start, noun_end in hits.get(f"m_count_{name}", ()):
            if self._digit_after.match(text, noun_end):
                continue
            m = self._count_before.search(text, max(0, noun_start - 40), noun_start)
            if m is None:
                continue
            value = parse_number(m.group("n"), self.lexicon.code)
            if value is not None and low <= value <= high and value == int(value):
                found.append(self._ranged(text, value, m.start(), noun_end))
        table = self._terms.get(name, {})
        for start, end in hits.get(f"m_term_{name}", ()):
            key = " ".join(text[start:end].lower().split())
            if key in table:
                found.append((float(table[key]), start, end, "count.term"))
        if found:
            found.sort(key=lambda f: f[1])
            value, start, end, rule = found[0]
            if len({f[0] for f in found}) > 1:
                rule = "count.conflict"
            return Fact(name, value, _CONFIDENCE[rule], start, end, text[start:end], rule)
        return self._single(text, name)

    def _ranged(self, text: str, value: float, start: int, end: int) -> tuple[float, int, int, str]:
        """A count, or the low end of a range ("2-3 camere", "2 to 3 bedrooms": ``count.range``,
        a lower confidence, as for an area range)."""
        r = self._range_before.search(text, max(0, start - 20), start)
        if r is not None:
            lo = parse_number(r.group("lo"), self.lexicon.code)
            if lo is not None and lo < value:
                return lo, r.start(), end, "count.range"
        return value, start, end, "count.number"

    def _single(self, text: str, name: str) -> Fact | None:
        singular, more = self._singular.get(name), self._more.get(name)
        if singular is None or more is None:
            return None
        first = singular.search(text)
        if first is None or more.search(text):
            return None
        rule = "count.single"
        return Fact(name, 1.0, _CONFIDENCE[rule], first.start(), first.end(), first.group(0), rule)
