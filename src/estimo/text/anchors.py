"""One pass over a text: every keyword the rules care about, found by one combined regex.

Scanning a listing once for all keywords (units, counted nouns, the storey noun, amenities,
condition phrases, year cues) and then checking a few characters around each hit is several
times faster than running each rule's pattern over the whole text. The scan itself only
tries, at the start of each run of letters, the keyword classes that can begin with that
letter (found from the parsed regular expressions by :func:`first_letters`).

Examples
--------
>>> scanner = Scanner({"unit": r"mq|m2", "lift": r"ascensore"})
>>> hits = scanner.scan("85 mq con ascensore")
>>> hits["unit"], hits["lift"]
([(3, 5)], [(10, 19)])
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
from collections import defaultdict

GLUED = "__glued"
"""Suffix of the groups that may also follow a digit directly ("85mq", "83m2")."""

Hits = dict[str, list[tuple[int, int]]]
"""Group name to the ``(start, end)`` of each hit, in text order."""


class Scanner:
    """A combined keyword regex with one named group per keyword class.

    Parameters
    ----------
    groups : dict of str to str
        Group name (a Python identifier) to a lower-case regex fragment without capturing
        groups. Earlier groups win where two match at the same place.
    glued : tuple of str
        Groups that may also start right after a digit (units: "85mq").
    """

    def __init__(self, groups: dict[str, str], glued: tuple[str, ...] = ()) -> None:
        self.groups = dict(groups)
        self.glued = tuple(name for name in glued if name in self.groups)
        body = "|".join(f"(?P<{name}>{fragment})" for name, fragment in self.groups.items())
        after_digit = "|".join(f"(?P<{name}{GLUED}>{self.groups[name]})" for name in self.glued)
        source = rf"\b(?:{body})(?![^\W\d_])"
        if after_digit:
            source += rf"|(?<=\d)(?:{after_digit})(?![^\W\d_])"
        # lower-case text is matched without IGNORECASE, and only at the start of each run of
        # letters, with the groups that can start with its first letter (several times faster
        # than one search over every position); texts whose length changes when lower-cased
        # (a few rare letters) use the slower folding pattern
        self._folding = re.compile(source, re.IGNORECASE)
        self._by_letter = self._letter_patterns()
        self._glued = re.compile(f"(?:{after_digit})(?![^\\W\\d_])") if after_digit else None

    def _letter_patterns(self) -> dict[str, re.Pattern[str]]:
        starts = {name: first_letters(fragment) for name, fragment in self.groups.items()}
        letters = set().union(*(s for s in starts.values() if s is not None))
        out = {}
        for letter in letters:
            names = [n for n, s in starts.items() if s is None or letter in s]
            body = "|".join(f"(?P<{n}>{self.groups[n]})" for n in names)
            out[letter] = re.compile(rf"(?:{body})(?![^\W\d_])")
        self._any_start = [n for n, s in starts.items() if s is None]
        return out

    def scan(self, text: str) -> Hits:
        """Every hit of every group in ``text`` (glued hits are reported under their group)."""
        hits: Hits = defaultdict(list)
        lower = text.lower()
        if len(lower) != len(text) or self._any_start:
            for m in self._folding.finditer(text):
                hits[_base(m.lastgroup)].append(m.span())
            return hits
        taken = 0
        for word in _LETTER_RUN.finditer(lower):
            start = word.start()
            if start < taken:
                continue
            if start and lower[start - 1].isdigit():
                pattern = self._glued
            else:
                pattern = self._by_letter.get(lower[start])
            if pattern is None:
                continue
            m = pattern.match(lower, start)
            if m is not None:
                hits[_base(m.lastgroup)].append(m.span())
                taken = m.end()
        return hits


_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _base(name: str) -> str:
    return name[: -len(GLUED)] if name.endswith(GLUED) else name


def first_letters(fragment: str) -> set[str] | None:
    """The letters a match of ``fragment`` can start with (None: anything, e.g. ``\\w``).

    >>> sorted(first_letters(r"(?:box|garage)\\s+auto|posti?"))
    ['b', 'g', 'p']
    """
    first, _ = _first(sre_parse.parse(fragment))
    return None if first is None else {c.lower() for c in first}


def _first(items) -> tuple[set[str] | None, bool]:
    """First characters of a parsed sequence and whether it can match the empty string."""
    out: set[str] = set()
    for op, av in items:
        chars, nullable = _first_item(op, av)
        if chars is None:
            return None, False
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _first_item(op, av) -> tuple[set[str] | None, bool]:
    if op is sre.LITERAL:
        return {chr(av)}, False
    if op is sre.IN:
        chars = set()
        for kind, value in av:
            if kind is sre.LITERAL:
                chars.add(chr(value))
            elif kind is sre.RANGE:
                chars |= {chr(c) for c in range(value[0], value[1] + 1)}
            else:
                return None, False
        return chars, False
    if op is sre.BRANCH:
        out: set[str] = set()
        nullable = False
        for branch in av[1]:
            chars, empty = _first(branch)
            if chars is None:
                return None, False
            out |= chars
            nullable |= empty
        return out, nullable
    if op is sre.SUBPATTERN:
        return _first(av[-1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        chars, empty = _first(av[2])
        return chars, empty or av[0] == 0
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return set(), True
    return None, False
