"""The explanation of a valuation, and the :class:`Explainer` that builds it.

An :class:`Explanation` holds everything a home owner is shown next to a valuation, in one
language: the reference point, the reasons in money (adding up exactly to the price), the
comparables in words, the blend, the confidence and plain notes. It renders as JSON for the
API (:meth:`Explanation.to_dict`), plain text (:meth:`Explanation.to_text`) and an HTML
fragment (:meth:`Explanation.to_html`).

The explainer depends only on the contract of ``docs/CONTRACTS.md``: a contribution frame
(:mod:`estimo.explain.contributions`) and, when the engine gives them, its
:class:`~estimo.model.valuation_result.Valuation` objects (duck-typed: anything with the same
attributes works). :func:`explain_properties` gets both from a model.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> market = generate_market(1_500, seed=1, faults=False)
>>> model = ValuationModel(n_estimators=30).fit(market.frame)
>>> explainer = Explainer().fit_reference(model, market.frame)
>>> explanation = explain_properties(model, market.frame.head(1), explainer)[0]
>>> explanation.reasons.baseline + sum(r.amount for r in explanation.reasons.reasons) == (
...     explanation.price)
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estimo.explain.contributions import checked_contributions, log_contributions
from estimo.explain.labels import Labeler
from estimo.explain.reasons import ReasonSet, build_reasons, records
from estimo.explain.reference import ReferenceTable, reference_sample
from estimo.explain.text import (
    blend_sentence,
    comparable_sentence,
    confidence_sentences,
    month_of,
    note_sentences,
    reason_lines,
    reference_phrase,
    reference_sentence,
)

log = logging.getLogger(__name__)

__all__ = ["Explainer", "Explanation", "explain_properties"]


@dataclass(frozen=True)
class Explanation:
    """One valuation explained in one language (see the module docstring)."""

    language: str
    currency: str
    valuation_date: pd.Timestamp
    price: int
    reasons: ReasonSet
    reference: str
    reference_sentence: str
    reason_lines: tuple[str, ...]
    total_line: str
    low: int | None = None
    high: int | None = None
    confidence: str | None = None
    comparables_intro: str | None = None
    comparables: tuple[str, ...] = ()
    blend: str | None = None
    confidence_text: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    headings: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready structure for the API: the numbers and the sentences."""
        return {
            "language": self.language,
            "currency": self.currency,
            "valuation_date": self.valuation_date.date().isoformat(),
            "price": int(self.price),
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "baseline": int(self.reasons.baseline),
            "reference": self.reference,
            "reasons": [
                {**r.to_dict(), "text": line}
                for r, line in zip(self.reasons.reasons, self.reason_lines, strict=True)
            ],
            "text": {
                "reference": self.reference_sentence,
                "reasons": list(self.reason_lines),
                "total": self.total_line,
                "comparables_intro": self.comparables_intro,
                "comparables": list(self.comparables),
                "blend": self.blend,
                "confidence": list(self.confidence_text),
                "notes": list(self.notes),
            },
        }

    def sections(self) -> list[tuple[str, list[str]]]:
        """(heading, paragraphs) in reading order; empty sections are left out."""
        h = self.headings
        reasons = [self.reference_sentence, *self.reason_lines, self.total_line]
        out = [(h["reasons"], reasons)]
        if self.comparables_intro is not None:
            out.append((h["comparables"], [self.comparables_intro, *self.comparables]))
        if self.blend:
            out.append((h["blend"], [self.blend]))
        out.append((h["confidence"], list(self.confidence_text)))
        if self.notes:
            out.append((h["notes"], list(self.notes)))
        return out

    def to_text(self) -> str:
        """Plain text, one paragraph per line."""
        lines = []
        for heading, paragraphs in self.sections():
            lines.append(heading)
            lines.extend(f"  {p}" for p in paragraphs)
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML fragment ready to embed (see :mod:`estimo.explain.html`)."""
        from estimo.explain.html import explanation_html

        return explanation_html(self)


class Explainer:
    """Builds :class:`Explanation` objects from contributions and valuations.

    Parameters
    ----------
    language : str
        ``"en"`` (default), ``"it"`` or ``"es"``.
    labels : mapping, optional
        User labels ``{column: "label"}`` (project file ``explain.labels``).
    concepts : mapping, optional
        User concepts ``{column: concept}`` (project file ``explain.concepts``).
    reference : ReferenceTable, optional
        Reference groups ("a typical 2-room flat in Milano"); without it the model's
        overall average is the reference.
    n_reasons : int
        Concepts shown at most; the rest is folded into "Other factors".
    unit : int
        Rounding unit of every amount (1 = the currency unit).
    max_comparables : int
        Comparables described in words at most.
    price_terms : {"price", "rent"}
        Words of the title and the total: a price, or a monthly rent.
    """

    def __init__(
        self,
        language: str = "en",
        labels: Mapping[str, str] | None = None,
        concepts: Mapping[str, str] | None = None,
        reference: ReferenceTable | None = None,
        n_reasons: int = 5,
        unit: int = 1,
        max_comparables: int = 5,
        price_terms: str = "price",
    ) -> None:
        self.language = language
        self.price_terms = price_terms
        self.labels = labels
        self.concepts = concepts
        self.reference = reference
        self.n_reasons = n_reasons
        self.unit = unit
        self.max_comparables = max_comparables
        self.labeler = Labeler(language, labels=labels, concepts=concepts)

    @classmethod
    def from_config(
        cls, config: Any, reference: ReferenceTable | None = None, **overrides: Any
    ) -> Explainer:
        """An explainer from the project file's ``explain`` section (an ``ExplainConfig``)."""
        params = {
            "language": config.language,
            "labels": dict(config.labels),
            "concepts": dict(config.concepts),
            "n_reasons": config.n_reasons,
            "unit": config.rounding,
            "price_terms": config.price_terms,
        }
        params.update(overrides)
        return cls(reference=reference, **params)

    def fit_reference(self, model: Any, frame: pd.DataFrame, min_rows: int = 30) -> Explainer:
        """Learn the reference groups from training rows of ``model`` (returns ``self``);
        a random sample of :data:`~estimo.explain.reference.REFERENCE_SAMPLE` rows of a
        large frame."""
        frame = reference_sample(frame)
        contributions = log_contributions(model, frame)
        self.reference = ReferenceTable(min_rows=min_rows).fit(frame, contributions)
        return self

    def explain(
        self,
        frame: pd.DataFrame,
        contributions: pd.DataFrame,
        valuations: Sequence[Any] | None = None,
        currency: str = "EUR",
        feature_values: pd.DataFrame | None = None,
    ) -> list[Explanation]:
        """Explain every row.

        Parameters
        ----------
        frame : pandas.DataFrame
            The valued properties (canonical columns), row-aligned with ``contributions``.
        contributions : pandas.DataFrame
            The contract's contribution frame of these rows.
        valuations : sequence, optional
            The engine's valuations of these rows (price, range, blend, comparables); without
            them the price is the exponential of the contributions and there is no range.
        currency : str
            Currency when there are no valuations (else each valuation's).
        feature_values : pandas.DataFrame, optional
            Derived feature values of these rows (e.g. the distance to the centre), used for
            the words; row-aligned with ``frame``.

        Returns
        -------
        list of Explanation
        """
        rows = records(frame)
        if feature_values is not None:  # the property's own values win over derived ones
            own = set(rows[0]) if rows else set()
            for row, derived in zip(rows, records(feature_values, skip=own), strict=True):
                row.update(derived)
        references = None if self.reference is None else self.reference.match(rows)
        prices = model_prices = None
        if valuations is not None:
            prices = [float(v.price) for v in valuations]
            model_prices = [float(v.model_price) for v in valuations]
        currencies = (
            [getattr(v, "currency", None) or currency for v in valuations] if valuations else None
        )
        sets = build_reasons(
            contributions,
            rows,
            self.labeler,
            references=references,
            prices=prices,
            model_prices=model_prices,
            currency=currency,
            n_reasons=self.n_reasons,
            unit=self.unit,
            currencies=currencies,
        )
        dates = _dates(frame, valuations)
        return [
            self._one(sets[i], dates[i], None if valuations is None else valuations[i])
            for i in range(len(sets))
        ]

    def _term(self, key: str) -> str:
        """The template key in the terms of the prices: ``title_rent`` for monthly rents."""
        return f"{key}_rent" if self.price_terms == "rent" else key

    def _one(self, reasons: ReasonSet, date: pd.Timestamp, valuation: Any | None) -> Explanation:
        locale = self.labeler.locale
        t = locale.text
        headings = {
            "title": t(self._term("title")),
            "reasons": t("section_reasons"),
            "comparables": t("section_comparables"),
            "blend": t("section_blend"),
            "confidence": t("section_confidence"),
            "notes": t("section_notes"),
        }
        common = {
            "language": self.language,
            "currency": reasons.currency,
            "valuation_date": date,
            "price": reasons.price,
            "reasons": reasons,
            "reference": reference_phrase(reasons.reference, locale),
            "reference_sentence": reference_sentence(reasons, date, locale),
            "reason_lines": tuple(reason_lines(reasons, locale)),
            "total_line": t(
                self._term("reasons_total"), price=locale.money(reasons.price, reasons.currency)
            ),
            "headings": headings,
        }
        if valuation is None:
            return Explanation(confidence_text=(t("confidence_unknown"),), **common)
        comps = list(getattr(valuation, "comparables", ()) or ())
        intro = locale.plural("comparables_intro", len(comps)) if comps else t("comparables_none")
        if len(comps) > self.max_comparables:
            intro += " " + t("comparables_shown", n=self.max_comparables)
        return Explanation(
            low=round(float(valuation.low)),
            high=round(float(valuation.high)),
            confidence=getattr(valuation, "confidence", None),
            comparables_intro=intro,
            comparables=tuple(
                comparable_sentence(c, self.labeler, reasons.currency)
                for c in comps[: self.max_comparables]
            ),
            blend=blend_sentence(valuation, locale, reasons.currency),
            confidence_text=tuple(confidence_sentences(valuation, locale, reasons.currency)),
            notes=tuple(note_sentences(getattr(valuation, "warnings", ()) or (), self.labeler)),
            **common,
        )


def _dates(frame: pd.DataFrame, valuations: Sequence[Any] | None) -> list[pd.Timestamp]:
    if valuations is not None:
        return [month_of(getattr(v, "valuation_date", None)) for v in valuations]
    if "date" in frame:
        return [month_of(d) for d in frame["date"]]
    return [month_of(None)] * len(frame)


def explain_properties(
    model: Any,
    frame: pd.DataFrame,
    explainer: Explainer,
    currency: str | None = None,
) -> list[Explanation]:
    """Value and explain properties with a model's ``value_with_contributions(frame)``.

    The engine (:class:`~estimo.model.avm.AVM`) gives valuations too, and the explanation
    covers the blend, the comparables and the range; the plain benchmark
    :class:`~estimo.model.valuation.ValuationModel` gives prices only (reasons, no range).
    A :class:`~estimo.pipeline.ValuationPipeline` explains raw rows itself
    (:meth:`~estimo.pipeline.ValuationPipeline.value_explained`).

    Parameters
    ----------
    model : object
        The engine's AVM, or a ValuationModel.
    frame : pandas.DataFrame
        Canonical rows to value.
    explainer : Explainer
    currency : str, optional
        Currency of the amounts (default: the model's, else EUR).
    """
    valuations, contributions, feature_values = model.value_with_contributions(frame)
    return explainer.explain(
        frame,
        checked_contributions(contributions),
        valuations,
        currency=currency or model.currency or "EUR",
        feature_values=feature_values,
    )


def additivity_gap(explanation: Explanation) -> int:
    """``price - (baseline + sum of amounts)``: always 0 (used by tests and benchmarks)."""
    amounts = np.array([r.amount for r in explanation.reasons.reasons], dtype=np.int64)
    return int(explanation.price - explanation.reasons.baseline - amounts.sum())
