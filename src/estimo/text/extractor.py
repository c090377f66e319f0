"""From a listing's description (and title) to canonical fields and amenity flags.

:func:`extract` reads one text; :func:`extract_frame` reads a column of a table and returns
one column per field (null where the text says nothing) plus ``<field>_span`` with the words
each value came from. Every fact has a confidence: the rule's measured precision on labelled
listings (``estimo.text.calibration``); facts below ``min_confidence`` are dropped.

Examples
--------
>>> ex = extract("Bilocale di 55 mq al secondo piano con ascensore, da ristrutturare")
>>> ex.lang, ex.values()["rooms"], ex.values()["floor"], ex.values()["has_elevator"]
('it', 2.0, 2.0, True)
>>> ex.facts["condition"].span
'da ristrutturare'

An Italian area agrees with the portal's own figure too rarely to reach its 0.95 precision
target unless the context is telling; a lower floor keeps it:

>>> "area_m2" in ex.facts, extract("Bilocale di 55 mq", min_confidence=0.5).values()["area_m2"]
(False, 55.0)
>>> extract("Piso de 3 dormitorios, sin ascensor").values()
{'bedrooms': 3.0, 'has_elevator': False}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pandas as pd

from estimo.text.amenities import AmenityRules
from estimo.text.anchors import Scanner
from estimo.text.calibration import calibrated
from estimo.text.condition import ConditionRules
from estimo.text.facts import CATEGORY_FIELDS, NUMERIC_FIELDS, Extraction, Fact
from estimo.text.floors import FloorRules
from estimo.text.language import detect_language
from estimo.text.lexicon import AMENITIES, get_lexicon
from estimo.text.markup import Plain, plain_text
from estimo.text.measures import MeasureRules
from estimo.text.rescore import load_rescorer

AMENITY_FIELDS: tuple[str, ...] = tuple(f"has_{name}" for name in AMENITIES)
"""The amenity flags, named as model features."""

FIELDS: tuple[str, ...] = NUMERIC_FIELDS + CATEGORY_FIELDS + AMENITY_FIELDS
"""Every field the extractor can fill, in output order."""

DEFAULT_MIN_CONFIDENCE = 0.75
"""Facts whose measured precision is below this are not reported."""


@dataclass(frozen=True)
class _Rules:
    scanner: Scanner
    parts: tuple[MeasureRules, FloorRules, ConditionRules, AmenityRules]


@cache
def _rules(lang: str) -> _Rules:
    lexicon = get_lexicon(lang)
    parts = (
        MeasureRules(lexicon),
        FloorRules(lexicon),
        ConditionRules(lexicon),
        AmenityRules(lexicon),
    )
    groups: dict[str, str] = {}
    for part in parts:
        groups.update(part.groups())
    return _Rules(Scanner(groups, glued=("m_area", "m_sqft")), parts)


def extract(
    description: str | None,
    title: str | None = None,
    *,
    lang: str | None = None,
    min_confidence: float | None = None,
    rescore: bool = True,
) -> Extraction:
    """Read canonical fields and amenity flags from one listing's text.

    Parameters
    ----------
    description : str or None
        The listing's description.
    title : str, optional
        The listing's title, read before the description.
    lang : str, optional
        ``"it"``, ``"es"``, ``"en"`` or ``"pl"``; detected from the text when omitted.
    min_confidence : float, optional
        Facts with a lower confidence are left out. By default each field's learned
        threshold (the confidence at which its precision reached the field's target in
        cross-validation, :mod:`estimo.text.rescore`), and
        :data:`DEFAULT_MIN_CONFIDENCE` for fields without a learned model.
    rescore : bool
        Rate facts with the learned per-field model where there is one (otherwise by the
        rule's measured precision only; what the model's training reads).

    Returns
    -------
    Extraction
        The language and the facts found; spans index ``title + "\\n" + description``
        (just the description when there is no title). HTML markup is read as the text it
        renders (tags removed, entities such as ``&nbsp;`` decoded,
        :mod:`estimo.text.markup`); spans still index the text as given.

    Raises
    ------
    ValueError
        If ``lang`` is given and not supported.
    """
    original = _join(title, description)
    plain = plain_text(original)
    text = plain.text
    if lang is None:
        lang = detect_language(text)
        if lang is None:
            return Extraction(None)
    rules = _rules(lang)  # raises ValueError for an unsupported language
    hits = rules.scanner.scan(text)
    facts: list[Fact] = []
    for part in rules.parts:
        facts += part.read(text, hits)
    rescorer = load_rescorer() if rescore else None
    fields = tuple(fact.field for fact in facts)
    kept = {}
    for fact in facts:
        fact = calibrated(fact, lang)
        floor = DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence
        if rescorer is not None and rescorer.has(lang, fact.field):
            p = rescorer.confidence(fact, text, lang, fields)
            if fact.rule.endswith(".range"):  # a range states no single value
                p = min(p, fact.confidence)
            fact = dataclasses.replace(fact, confidence=round(p, 4))
            if min_confidence is None:
                floor = rescorer.threshold(lang, fact.field)
        if fact.confidence >= floor:
            kept[fact.field] = _in_original(fact, plain, original)
    return Extraction(lang, kept)


def _in_original(fact: Fact, plain: Plain, original: str) -> Fact:
    """``fact`` with its span in the original text (markup and all) when markup was removed."""
    if not plain.mapped:
        return fact
    start, end = plain.original_span(fact.start, fact.end)
    return dataclasses.replace(fact, start=start, end=end, span=original[start:end])


def _join(title: str | None, description: str | None) -> str:
    parts = [p for p in (title, description) if isinstance(p, str) and p.strip()]
    return "\n".join(parts)


def extract_frame(
    texts: Iterable[str | None],
    titles: Iterable[str | None] | None = None,
    *,
    lang: str | None = None,
    min_confidence: float | None = None,
) -> pd.DataFrame:
    """Extract from many texts: one row per text, one column per field plus spans.

    Parameters
    ----------
    texts : iterable of str or None
        Descriptions.
    titles : iterable of str or None, optional
        Titles, aligned with ``texts``.
    lang : str, optional
        One language for all texts (detected per text when omitted).
    min_confidence : float, optional
        See :func:`extract`.

    Raises
    ------
    TypeError
        If ``texts`` or ``titles`` is one string instead of an iterable of strings.

    Returns
    -------
    pandas.DataFrame
        Columns: every name of :data:`FIELDS` (float for numbers, string for ``condition``,
        nullable boolean for ``has_*``), then ``<field>_span`` (string), then ``text_lang``
        and ``<field>_confidence``, in that order; null where nothing was found.

    Examples
    --------
    >>> out = extract_frame(["Trilocale di 80 mq con box auto", None])
    >>> float(out.loc[0, "rooms"]), out.loc[0, "rooms_span"], bool(out.loc[0, "has_garage"])
    (3.0, 'Trilocale', True)
    >>> out.loc[1, ["area_m2", "has_garage"]].isna().all()
    np.True_
    """
    _refuse_a_string("texts", texts)
    _refuse_a_string("titles", titles)
    texts = list(texts)
    title_list = list(titles) if titles is not None else [None] * len(texts)
    if len(title_list) != len(texts):
        raise ValueError(
            f"titles has {len(title_list)} values and texts {len(texts)}; they must align"
        )
    rows = [
        extract(
            t if isinstance(t, str) else None,
            ti if isinstance(ti, str) else None,
            lang=lang,
            min_confidence=min_confidence,
        )
        for t, ti in zip(texts, title_list, strict=True)
    ]
    return extraction_table(rows)


def _refuse_a_string(name: str, values: object) -> None:
    """Raise when ``values`` is a string (it would be read one character per row)."""
    if isinstance(values, str):
        raise TypeError(
            f"{name} must be an iterable of strings (one per listing), not a str; "
            f"for one description use extract() or pass [{name}]"
        )


def extraction_table(rows: list[Extraction], *, rules: bool = False) -> pd.DataFrame:
    """The table of :func:`extract_frame` from already computed extractions.

    With ``rules=True`` a ``<field>_rule`` column per field names the rule behind each value
    (what ``scripts/calibrate_text.py`` measures).
    """
    data: dict[str, list] = {name: [] for name in FIELDS}
    spans: dict[str, list] = {name: [] for name in FIELDS}
    confidence: dict[str, list] = {name: [] for name in FIELDS}
    langs = []
    for ex in rows:
        langs.append(ex.lang)
        for name in FIELDS:
            fact = ex.facts.get(name)
            data[name].append(None if fact is None else fact.value)
            spans[name].append(None if fact is None else fact.span)
            confidence[name].append(None if fact is None else fact.confidence)
    out: dict[str, pd.Series] = {}
    for name in FIELDS:
        if name in NUMERIC_FIELDS:
            out[name] = pd.Series(data[name], dtype="float64")
        elif name in CATEGORY_FIELDS:
            out[name] = pd.Series(data[name], dtype="string")
        else:
            out[name] = pd.Series(data[name], dtype="boolean")
    for name in FIELDS:
        out[f"{name}_span"] = pd.Series(spans[name], dtype="string")
    out["text_lang"] = pd.Series(langs, dtype="string")
    for name in FIELDS:
        out[f"{name}_confidence"] = pd.Series(confidence[name], dtype="float64")
    if rules:
        for name in FIELDS:
            out[f"{name}_rule"] = pd.Series(
                [None if ex.facts.get(name) is None else ex.facts[name].rule for ex in rows],
                dtype="string",
            )
    return pd.DataFrame(out)
