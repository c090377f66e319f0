"""What the extractor returns: facts with their value, confidence, rule and text span.

Examples
--------
>>> fact = Fact("area_m2", 85.0, 0.97, 10, 16, "85 mq", "area.whole")
>>> fact.to_dict()["span"]
'85 mq'
>>> Extraction("it", {"area_m2": fact}).values()
{'area_m2': 85.0}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

NUMERIC_FIELDS: tuple[str, ...] = (
    "area_m2",
    "rooms",
    "bedrooms",
    "bathrooms",
    "floor",
    "floors_in_building",
    "year_built",
)
"""Canonical numeric fields the extractor can fill."""

CATEGORY_FIELDS: tuple[str, ...] = ("condition",)
"""Canonical categorical fields the extractor can fill."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact read from a text.

    Attributes
    ----------
    field : str
        Canonical field (``area_m2``) or amenity flag (``has_elevator``).
    value : float, str or bool
        The value (``85.0``, ``"renovated"``, ``True``/``False`` for amenities).
    confidence : float
        Estimated probability that the value is right (measured per rule on labelled data,
        see ``estimo.text.calibration``).
    start, end : int
        Character offsets of the span in the text the extractor read.
    span : str
        The words the fact came from.
    rule : str
        Which rule produced it (``area.whole``, ``amenity.negated``...).
    """

    field: str
    value: float | str | bool
    confidence: float
    start: int
    end: int
    span: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """The fact as a JSON-ready dict."""
        return asdict(self)


@dataclass
class Extraction:
    """All facts read from one listing.

    Attributes
    ----------
    lang : str or None
        Language the text was read as.
    facts : dict of str to Fact
        Field to its fact (fields the text says nothing about are absent).
    """

    lang: str | None
    facts: dict[str, Fact] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """Field to value, for the fields found."""
        return {name: fact.value for name, fact in self.facts.items()}

    def get(self, name: str) -> Fact | None:
        """The fact of ``name``, or None."""
        return self.facts.get(name)
