"""Reasons in money: the main factors of one valuation, grouped by concept, in plain words.

For every valued property :func:`build_reasons` turns its row of the contribution frame
(:mod:`estimo.explain.contributions`) into a short list such as::

    Size (95 m²): +€41,380
    Age and condition (built in 1962, needs renovation): -€27,150
    Location (Milano-03, 600 m from the centre): +€18,020
    Other factors: +€1,210

measured against a reference property (:mod:`estimo.explain.reference`). Steps:

1. re-base every feature on the reference group's mean; market-timing features and
   ``_time`` go into the reference price (the typical home *at the valuation date*);
2. add the re-based contributions up by concept (:data:`estimo.explain.labels.CONCEPTS`);
3. keep the ``n_reasons`` concepts with the largest effect (at least ``min_effect`` in
   log terms, about 0.5 %), fold the rest into "Other factors", and keep what blending with
   comparables changed (``_comparables``) as its own reason;
4. convert to money with :func:`estimo.explain.money.allocate_money`, so that reference
   price + reasons == valuation, to the currency unit;
5. describe each concept by the property's own values of its most influential features
   ("95 m²", "built in 1962"), never by a column name.

Examples
--------
>>> import pandas as pd
>>> from estimo.explain.labels import Labeler
>>> contrib = pd.DataFrame({"area_m2": [0.12], "has_terrace": [0.03], "_base": [12.3],
...                         "_time": [0.0], "_comparables": [0.0]})
>>> subject = pd.DataFrame({"area_m2": [95.0], "has_terrace": ["yes"]})
>>> result = build_reasons(contrib, subject, Labeler("en"), currency="EUR")[0]
>>> [r.label for r in result.reasons]
['Size (95 m²)', 'Features (terrace)']
>>> result.baseline + sum(r.amount for r in result.reasons) == result.price
True
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estimo.explain.contributions import CONTRACT_COLUMNS
from estimo.explain.labels import CONCEPTS, TIMING_CONCEPT, Labeler
from estimo.explain.money import allocate_money, round_to_unit
from estimo.explain.reference import ReferenceMatch, reference_log_parts
from estimo.flags import truth
from estimo.frames import column_arrays

__all__ = [
    "SHOWN_CONCEPTS",
    "ConceptEffects",
    "Reason",
    "ReasonSet",
    "build_reasons",
    "concept_effects",
    "describe_value",
    "records",
]

SHOWN_CONCEPTS = tuple(c for c in CONCEPTS if c not in (TIMING_CONCEPT, "comparables"))
_NOT_DESCRIBED = frozenset({"city", "country"})  # named by the reference sentence


@dataclass(frozen=True)
class Reason:
    """One reason: a concept of the property and what it does to the price.

    Attributes
    ----------
    key : str
        Concept key, ``"comparables"`` or ``"other"`` (the folded rest).
    label : str
        Plain label with the property's own values, e.g. ``"Size (95 m²)"``.
    amount : int
        Effect in money (currency units), signed.
    log_effect : float
        Effect on the log price (about the relative change).
    features : tuple of str
        Model features behind it (for developers; never shown to owners).
    """

    key: str
    label: str
    amount: int
    log_effect: float
    features: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "key": self.key,
            "label": self.label,
            "amount": int(self.amount),
            "log_effect": round(float(self.log_effect), 6),
            "features": list(self.features),
        }


@dataclass(frozen=True)
class ReasonSet:
    """The reasons of one valuation and the numbers they add up to.

    ``baseline + sum(reason.amount) == price`` exactly.
    """

    price: int
    baseline: int
    currency: str
    reasons: tuple[Reason, ...]
    reference: ReferenceMatch | None = None
    subject: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        ref = self.reference
        return {
            "price": int(self.price),
            "baseline": int(self.baseline),
            "currency": self.currency,
            "reference": None
            if ref is None
            else {"level": ref.level, "group": ref.key, "n": ref.n},
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True)
class ConceptEffects:
    """Log effects of a batch, re-based on the reference and added up by concept.

    Attributes
    ----------
    columns : list of str
        Contribution columns.
    concept_of : list of str
        Concept of each column.
    relative : numpy.ndarray
        Contributions minus the reference means (rows x columns).
    by_concept : numpy.ndarray
        ``relative`` summed per shown concept (rows x :data:`SHOWN_CONCEPTS`).
    baseline_log : numpy.ndarray
        Log price of each row's reference property at its valuation date.
    comparables : numpy.ndarray
        What blending with comparables changed (``_comparables``; 0 without that column).
    """

    columns: list[str]
    concept_of: list[str]
    relative: np.ndarray
    by_concept: np.ndarray
    baseline_log: np.ndarray
    comparables: np.ndarray


@dataclass(frozen=True)
class _Layout:
    """What :func:`concept_effects` needs to know about a set of contribution columns; the
    same for every batch of one model, so it is worked out once (:func:`_layout`)."""

    columns: list[str]
    concept_of: list[str]
    timing: frozenset[str]
    timing_cols: np.ndarray
    feature_cols: np.ndarray
    membership: np.ndarray


_LAYOUTS: weakref.WeakKeyDictionary[Labeler, dict[tuple[str, ...], _Layout]] = (
    weakref.WeakKeyDictionary()
)


def _layout(columns: tuple[str, ...], labeler: Labeler) -> _Layout:
    known = _LAYOUTS.setdefault(labeler, {})
    layout = known.get(columns)
    if layout is not None:
        return layout
    concept_of = [labeler.concept(c) for c in columns]
    timing = frozenset(c for c, k in zip(columns, concept_of, strict=True) if k == TIMING_CONCEPT)
    membership = np.zeros((len(columns), len(SHOWN_CONCEPTS)))
    for j, (name, concept) in enumerate(zip(columns, concept_of, strict=True)):
        if name not in CONTRACT_COLUMNS and concept in SHOWN_CONCEPTS:
            membership[j, SHOWN_CONCEPTS.index(concept)] = 1.0
    layout = _Layout(
        columns=list(columns),
        concept_of=concept_of,
        timing=timing,
        timing_cols=np.array([j for j, c in enumerate(columns) if c in timing], dtype=int),
        feature_cols=np.array(
            [j for j, c in enumerate(columns) if c not in CONTRACT_COLUMNS], dtype=int
        ),
        membership=membership,
    )
    if len(known) < 64:  # one per model and language in practice
        known[columns] = layout
    return layout


def concept_effects(
    contributions: pd.DataFrame,
    labeler: Labeler,
    references: Sequence[ReferenceMatch] | None = None,
) -> ConceptEffects:
    """Re-base a contribution frame on its reference groups and add it up by concept.

    Market-timing features and ``_time`` go into the baseline (the reference property is
    priced at the valuation date); ``_comparables`` is left out of ``by_concept``.
    """
    layout = _layout(tuple(contributions.columns.tolist()), labeler)
    columns = layout.columns
    values = contributions.to_numpy(float)
    ref_parts = (
        reference_log_parts(columns, list(references), layout.timing)
        if references is not None
        else np.zeros_like(values)
    )
    relative = values - ref_parts
    baseline_log = (
        values[:, columns.index("_base")]
        + ref_parts[:, layout.feature_cols].sum(axis=1)
        + values[:, layout.timing_cols].sum(axis=1)
    )
    comparables = (
        values[:, columns.index("_comparables")]
        if "_comparables" in columns
        else np.zeros(len(values))
    )
    return ConceptEffects(
        list(columns),  # copies: the layout is shared by every batch of the model
        list(layout.concept_of),
        relative,
        relative @ layout.membership,
        baseline_log,
        comparables,
    )


def build_reasons(
    contributions: pd.DataFrame,
    frame: pd.DataFrame | list[dict[str, Any]],
    labeler: Labeler,
    *,
    references: Sequence[ReferenceMatch] | None = None,
    prices: Sequence[float] | None = None,
    model_prices: Sequence[float] | None = None,
    currency: str = "EUR",
    n_reasons: int = 5,
    min_effect: float = 0.005,
    unit: int = 1,
    currencies: Sequence[str] | None = None,
) -> list[ReasonSet]:
    """Reasons of every row of a contribution frame.

    Parameters
    ----------
    contributions : pandas.DataFrame
        The contract's contribution frame (rows sum to the log valuation).
    frame : pandas.DataFrame or list of dict
        The same properties' values (canonical columns, and any derived feature values),
        row-aligned with ``contributions``; used for the words only.
    labeler : Labeler
        Labels and language.
    references : sequence of ReferenceMatch, optional
        Reference group of each row; without it the model's overall average is the
        reference.
    prices : sequence of float, optional
        Prices to explain (e.g. the valuations shown); default the exponential of each
        row's sum of contributions.
    model_prices : sequence of float, optional
        The model's prices before blending with comparables. The reasons add up to the
        model price and the comparables reason is the rest (``price - model_price``), so
        that "our model says X" and the reasons agree to the unit. Default: the exponential
        of the contributions without ``_comparables``.
    currency : str
        Currency code of the amounts.
    currencies : sequence of str, optional
        One currency per row (overrides ``currency``).
    n_reasons : int
        Concepts shown at most; the rest is folded into "Other factors".
    min_effect : float
        Concepts with a smaller log effect are folded into "Other factors".
    unit : int
        Rounding unit of the amounts.

    Returns
    -------
    list of ReasonSet
        One per row, in row order.
    """
    effects = concept_effects(contributions, labeler, references)
    columns = effects.columns
    members: dict[str, list[int]] = {}  # column positions of each concept
    for j, concept in enumerate(effects.concept_of):
        members.setdefault(concept, []).append(j)
    by_concept, relative, baseline_log = effects.by_concept, effects.relative, effects.baseline_log
    comps = effects.comparables
    if isinstance(frame, list):
        rows = frame
    else:
        rows = records(frame) if len(frame) else [{}] * len(contributions)
    out = []
    for i in range(len(contributions)):
        price = None if prices is None else float(prices[i])
        model_price = None if model_prices is None else float(model_prices[i])
        out.append(
            _one_row(
                by_concept[i],
                float(comps[i]),
                float(baseline_log[i]),
                relative[i],
                columns,
                members,
                rows[i],
                labeler,
                price,
                model_price,
                currency if currencies is None else str(currencies[i]),
                n_reasons,
                min_effect,
                unit,
                None if references is None else references[i],
            )
        )
    return out


def records(frame: pd.DataFrame, skip: Collection[str] = ()) -> list[dict[str, Any]]:
    """Rows as dicts, without the columns named in ``skip``; much faster than
    ``DataFrame.to_dict`` on a few rows."""
    names = [str(c) for c in frame.columns.tolist()]  # tolist: no walk over arrow strings
    kept = [(n, a) for n, a in zip(names, column_arrays(frame), strict=True) if n not in skip]
    columns = [name for name, _ in kept]
    values = [array.tolist() for _, array in kept]  # no object matrix: types kept
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _one_row(
    concept_effects: np.ndarray,
    comps_effect: float,
    baseline_log: float,
    relative: np.ndarray,
    columns: list[str],
    members: dict[str, list[int]],
    subject: dict[str, Any],
    labeler: Labeler,
    price: float | None,
    model_price: float | None,
    currency: str,
    n_reasons: int,
    min_effect: float,
    unit: int,
    reference: ReferenceMatch | None,
) -> ReasonSet:
    order = np.argsort(-np.abs(concept_effects), kind="stable")
    # a concept made only of facts the owner did not give is never a reason in money: its
    # (imputed) effect goes to "Other factors"
    unknown = unknown_concepts(members, columns, subject)
    # "other" (features of no named concept, e.g. a user's unlabelled column) is never a
    # reason of its own: it joins the left-over "Other factors", said once
    order = [k for k in order if SHOWN_CONCEPTS[k] not in unknown and SHOWN_CONCEPTS[k] != "other"]
    shown = [k for k in order[:n_reasons] if abs(concept_effects[k]) >= min_effect]
    rest = float(concept_effects.sum() - concept_effects[shown].sum())
    keys = [SHOWN_CONCEPTS[k] for k in shown]
    effects = [float(concept_effects[k]) for k in shown]
    if abs(rest) > 0:
        keys.append("other")
        effects.append(rest)
    if abs(comps_effect) > 0 or (model_price is not None and price is not None):
        # two steps: the reasons explain the model price, the comparables the rest
        if model_price is None:
            model_price = math.exp(baseline_log + float(concept_effects.sum()))
        baseline, amounts = allocate_money(np.array(effects), baseline_log, model_price, unit)
        final = round_to_unit(
            price if price is not None else math.exp(math.log(model_price) + comps_effect), unit
        )
        comps_amount = final - baseline - int(amounts.sum())
        if comps_amount != 0 or abs(comps_effect) > 0:
            keys.append("comparables")
            effects.append(comps_effect)
            amounts = np.append(amounts, comps_amount)
    else:
        baseline, amounts = allocate_money(np.array(effects), baseline_log, price, unit)
    reasons = []
    for key, effect, amount in zip(keys, effects, amounts, strict=True):
        features = tuple(columns[j] for j in members.get(key, ()) if columns[j] in subject)
        reasons.append(
            Reason(
                key=key,
                label=_reason_label(key, relative, columns, members, subject, labeler),
                amount=int(amount),
                log_effect=effect,
                features=features,
            )
        )
    total = baseline + int(amounts.sum())
    return ReasonSet(total, baseline, currency, tuple(reasons), reference, subject)


def unknown_concepts(
    members: dict[str, list[int]], columns: list[str], subject: dict[str, Any]
) -> set[str]:
    """Concepts whose every fact is one the owner did not give (blank, or imputed by the
    cleaning policy: its ``<field>_missing`` indicator is set).

    Examples
    --------
    >>> columns = ["year_built", "year_built_missing", "condition", "area_m2"]
    >>> members = {"age_condition": [0, 1, 2], "size": [3]}
    >>> subject = {"year_built": 1970.0, "year_built_missing": 1, "condition": None,
    ...            "area_m2": 80.0}
    >>> sorted(unknown_concepts(members, columns, subject))
    ['age_condition']
    """
    out = set()
    for key, positions in members.items():
        facts = [columns[j] for j in positions if not columns[j].endswith("_missing")]
        facts = [f for f in facts if f in subject or f"{f}_missing" in subject]
        if facts and all(_not_given(f, subject) for f in facts):
            out.add(key)
    return out


def _not_given(name: str, subject: dict[str, Any]) -> bool:
    flag = subject.get(f"{name}_missing")
    if flag is not None and not _is_missing(flag):
        return bool(flag)
    return _is_missing(subject.get(name))


def _reason_label(
    key: str,
    relative: np.ndarray,
    columns: list[str],
    members: dict[str, list[int]],
    subject: dict[str, Any],
    labeler: Labeler,
) -> str:
    locale = labeler.locale
    if key == "other":
        return locale.text("other_factors")
    if key == "comparables":
        return labeler.concept_label("comparables")
    phrases: list[str] = []
    for j in sorted(members.get(key, ()), key=lambda j: -abs(relative[j])):
        name = columns[j]
        if name in _NOT_DESCRIBED or (name not in subject and labeler.is_derived(name)):
            continue
        if _not_given(name, subject):  # a reason in money names only facts that were given
            continue
        phrase = describe_value(name, subject.get(name), labeler)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) == 2:
            break
    concept = labeler.concept_label(key)
    if not phrases:
        return concept
    return locale.text("reason_with_values", concept=concept, values=", ".join(phrases))


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def describe_value(feature: str, value: Any, labeler: Labeler) -> str | None:
    """The property's value of one feature in words ("95 m²", "built in 1962", "terrace").

    Returns None for features that are not described by value (map coordinates, prices of
    nearby homes) and for user features without a value template.

    Examples
    --------
    >>> from estimo.explain.labels import Labeler
    >>> en = Labeler("en")
    >>> describe_value("year_built", 1962.0, en), describe_value("floor", 0.0, en)
    ('built in 1962', 'ground floor')
    >>> describe_value("condition", "to_renovate", Labeler("it"))
    'da ristrutturare'
    >>> describe_value("year_built", float("nan"), en)
    'year built not given'
    >>> describe_value("floors_in_building", "0x10", en)   # no number: the model read none
    'floors in the building not given'
    """
    info = labeler.info(feature)
    entry = labeler.locale.feature_entry(feature)
    if _is_missing(value) and entry.get("missing"):
        return str(entry["missing"])
    if info.kind == "none" or not (entry.get("value") or entry.get("yes")):
        return None
    locale = labeler.locale
    if _is_missing(value):
        label = labeler.label(feature)
        return locale.text("missing_value", label=label[:1].lower() + label[1:])
    if info.kind == "flag":
        return _flag_phrase(value, entry)
    if info.kind == "category":
        text = locale.value_word(feature, str(value))
        return str(entry["value"]).format(v=text)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):  # text that is no number ("0x10", "NaN"): read as missing
        label = labeler.label(feature)
        return locale.text("missing_value", label=label[:1].lower() + label[1:])
    if feature == "floor" and number == 0 and "zero" in entry:
        return str(entry["zero"])
    if info.kind == "year":
        shown = str(int(number))
    elif info.kind == "km":
        shown = locale.distance(number)
    elif info.kind == "number" and not number.is_integer():
        shown = locale.number(number, 1)
    else:
        shown = locale.number(number)
    template = entry["value"]
    if isinstance(template, dict):
        template = template["one"] if number == 1 else template["other"]
    return str(template).format(v=shown, ordinal=locale.ordinal(number))


def _flag_phrase(value: Any, entry: dict[str, Any]) -> str | None:
    said = truth(value)
    return None if said is None else str(entry["yes" if said else "no"])
