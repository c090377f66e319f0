"""The vocabulary of one language, as regular-expression fragments, and its lookup.

A :class:`Lexicon` holds everything language-specific the extractor needs: number words,
floor ordinals, the nouns that name rooms, bathrooms, the whole property or a part of it,
amenities, negation cues and hedges, condition phrases and year-built cues. The extraction
logic (``estimo.text.measures``, ``floors``, ``amenities``, ``condition``) is written once and
reads these fragments, so adding a language is adding one file under ``lexicons/``.

Examples
--------
>>> get_lexicon("it").number_words["tre"]
3
>>> get_lexicon("xx")
Traceback (most recent call last):
...
ValueError: language 'xx' is not supported; expected one of 'en', 'es', 'it', 'pl'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

LANGUAGES: tuple[str, ...] = ("en", "es", "it", "pl")
"""Languages with a lexicon."""

AMENITIES: tuple[str, ...] = (
    "elevator",
    "terrace",
    "balcony",
    "garage",
    "parking",
    "garden",
    "cellar",
    "air_conditioning",
)
"""Amenities reported as ``has_<amenity>`` flags."""

CONDITIONS: tuple[str, ...] = ("new", "renovated", "good", "to_renovate")
"""Canonical condition values (the same as the synthetic market's)."""


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Regular-expression fragments of one language (see the module docstring).

    Attributes
    ----------
    code : str
        ISO 639-1 code.
    number_words : dict of str to int
        Cardinal words (``"tre": 3``), lower case.
    ordinal_words : dict of str to int
        Ordinal words used for floors (``"secondo": 2``), lower case.
    area_units : str
        Units of area in square metres (``mq|m2|metri quadri``).
    sqft_units : str
        Units in square feet (converted to m²).
    whole_nouns : str
        Words that name the whole home or its total area (a measure after them is the area).
    part_nouns : str
        Words that name a part (terrace, garden, room, plot): a measure after them is not.
    counts : dict of str to str
        Field (``rooms``, ``bedrooms``, ``bathrooms``) to the noun counted after a number.
    count_terms : dict of str to dict of str to int
        Field to whole words that carry a count (``"trilocale": 3``, ``"doppi servizi": 2``).
    floor_noun : str
        The word for a storey (``piano``, ``planta``, ``floor``, ``piętro``).
    floor_special : dict of str to float
        Regex to a floor number for named floors (ground 0, raised/mezzanine 0.5, basement -1).
    top_floor : str
        Words for the top floor (the floor equals the building's floors when both are known).
    building_floors : str
        Pattern with one number group: the number of floors of the building.
    amenities : dict of str to str
        Amenity to the regex naming it.
    negation_before : str
        Cues that negate an amenity named right after them (``senza``, ``sin``, ``no``).
    negation_after : str
        Cues right after an amenity that negate it (``: no``, ``assente``).
    hedges : str
        Cues that make an amenity optional or possible rather than present
        (``possibilità di``, ``predisposizione``).
    conditions : dict of str to str
        Canonical condition to the regex naming it.
    year_cues : str
        Words before a year of construction (``costruito nel``).
    decade_cues : str
        Words before a decade (``anni``), giving a year built at lower confidence.
    singular : dict of str to str
        Field to its singular noun ("bagno"): one mention and no plural means one.
    more_than_one : dict of str to str
        Field to words that mean there is more than one ("bagni", "secondo bagno").
    not_own : str
        Words right after an amenity that make it not the home's own ("giardini pubblici").
    part_before_floor : str
        Words right before a floor that make it the floor of a part ("cantina al piano terra").
    stopwords : frozenset of str
        Frequent short words used by the language detector.
    """

    code: str
    number_words: dict[str, int]
    ordinal_words: dict[str, int]
    area_units: str
    sqft_units: str
    whole_nouns: str
    part_nouns: str
    counts: dict[str, str]
    count_terms: dict[str, dict[str, int]]
    floor_noun: str
    floor_special: dict[str, float]
    top_floor: str
    building_floors: str
    amenities: dict[str, str]
    negation_before: str
    negation_after: str
    hedges: str
    conditions: dict[str, str]
    year_cues: str
    decade_cues: str
    singular: dict[str, str] = field(default_factory=dict)
    more_than_one: dict[str, str] = field(default_factory=dict)
    not_own: str = r"(?!)"
    part_before_floor: str = r"(?!)"
    stopwords: frozenset[str] = field(default_factory=frozenset)


@cache
def get_lexicon(lang: str) -> Lexicon:
    """The lexicon of ``lang`` (one of :data:`LANGUAGES`).

    Raises
    ------
    ValueError
        If the language has no lexicon.
    """
    if lang not in LANGUAGES:
        expected = ", ".join(repr(code) for code in LANGUAGES)
        raise ValueError(f"language {lang!r} is not supported; expected one of {expected}")
    module = importlib.import_module(f"estimo.text.lexicons.{lang}")
    return module.LEXICON
