"""One pass over a text: every keyword the rules care about, found by one combined regex.

Scanning a listing once with an alternation of all keywords (units, counted nouns, the
storey noun, amenities, condition phrases, year cues) and then checking a few characters
around each hit is several times faster than running each rule's pattern over the whole
text; it is what keeps the extractor above a few thousand descriptions per second.

Examples
--------
>>> scanner = Scanner({"unit": r"mq|m2", "lift": r"ascensore"})
>>> hits = scanner.scan("85 mq con ascensore")
>>> hits["unit"], hits["lift"]
([(3, 5)], [(10, 19)])
"""

from __future__ import annotations

import re
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
        # lower-case text is matched without IGNORECASE (several times faster); texts whose
        # length changes when lower-cased (a few rare letters) use the slower pattern
        self._lower = re.compile(source)
        self._folding = re.compile(source, re.IGNORECASE)

    def scan(self, text: str) -> Hits:
        """Every hit of every group in ``text`` (glued hits are reported under their group)."""
        hits: Hits = defaultdict(list)
        lower = text.lower()
        pattern, target = (self._lower, lower) if len(lower) == len(text) else (self._folding, text)
        for m in pattern.finditer(target):
            name = m.lastgroup
            if name.endswith(GLUED):
                name = name[: -len(GLUED)]
            hits[name].append(m.span())
        return hits
