"""The result of valuing one property: :class:`Valuation` and its :class:`Comparable` rows.

A :class:`Valuation` is what the API, the CLI and the web page show to a home owner: the
price, a range, a confidence, how the model price and the comparables were blended, the
comparable properties behind it and plain warnings. Both classes are frozen dataclasses whose
:meth:`~Valuation.to_dict` is JSON-ready (no NaN, dates as ISO strings).

Helpers build the parts the engine does not compute itself:

* :func:`confidence_from_fsd` turns a forecast standard deviation (FSD, the AVM industry's
  confidence measure) into a label and a score;
* :func:`build_warnings` turns the comparables' quality signals (see
  :meth:`estimo.model.comps.ComparablesFinder.value`) into sentences.

Examples
--------
>>> import pandas as pd
>>> v = Valuation(price=300_000.0, low=270_000.0, high=330_000.0, fsd=0.08,
...               valuation_date=pd.Timestamp("2024-05-01"), model_price=305_000.0)
>>> v.confidence, round(v.confidence_score, 2)
('high', 0.92)
>>> v.to_dict()["valuation_date"]
'2024-05-01'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, NamedTuple

import pandas as pd

from estimo.jsonutil import to_jsonable

__all__ = [
    "CONFIDENCE_LEVELS",
    "Comparable",
    "ExplanationPass",
    "Valuation",
    "WarningThresholds",
    "build_warnings",
    "confidence_from_fsd",
]

CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
"""Confidence labels, best first."""

#: FSD upper bounds of the ``high`` and ``medium`` labels (FSD 0.10 ~ "90 % confidence").
FSD_HIGH = 0.10
FSD_MEDIUM = 0.20

#: Share of a market's valuations whose comparables are called "not very similar" (the
#: quantile of :meth:`WarningThresholds.calibrated`).
DISSIMILAR_QUANTILE = 0.10


def confidence_from_fsd(fsd: float) -> tuple[str, float]:
    """Confidence label and score of a forecast standard deviation.

    The score is ``1 - fsd`` clipped to [0, 1], the convention of AVM vendors (an FSD of
    0.08 is reported as a confidence score of 92). Labels: ``high`` for FSD <= 0.10,
    ``medium`` up to 0.20, ``low`` above (or when the FSD is unknown).

    Parameters
    ----------
    fsd : float
        Forecast standard deviation of the log price (about the relative error).

    Returns
    -------
    (str, float)

    Examples
    --------
    >>> confidence_from_fsd(0.15)
    ('medium', 0.85)
    >>> confidence_from_fsd(float("nan"))
    ('low', 0.0)
    """
    if fsd is None or not math.isfinite(fsd) or fsd < 0:
        return "low", 0.0
    score = round(min(max(1.0 - fsd, 0.0), 1.0), 6)
    if fsd <= FSD_HIGH:
        return "high", score
    if fsd <= FSD_MEDIUM:
        return "medium", score
    return "low", score


def _date_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()


@dataclass(frozen=True)
class Comparable:
    """One comparable property, adjusted to the subject.

    Attributes
    ----------
    id : str or None
        The comparable's property id.
    price : float
        Its observed price (in the data's currency).
    date : Timestamp
        Date of that price.
    adjusted_price : float
        Price after the time and hedonic adjustments: what it says the subject is worth.
    time_factor : float
        Multiplicative time adjustment (price index from ``date`` to the valuation date).
    distance_m : float or None
        Distance to the subject in metres (None when either has no coordinates).
    similarity : float
        In (0, 1]; 1 is the same place, date and features.
    age_months : float
        Months between ``date`` and the valuation date.
    adjustments : dict of str to float
        Main adjustments in money, largest first: ``"time"`` then one entry per feature
        group (``"area_m2"``, ``"location"``, ...) and ``"other"`` for the rest; they sum to
        ``adjusted_price - price``.
    attributes : dict
        A few descriptive fields of the comparable for display (area, rooms, type, ...).
    used : bool
        Whether it counts in the comparables value (False when its adjusted price is too far
        from the others' and the trimming left it out).
    """

    id: str | None
    price: float
    date: pd.Timestamp
    adjusted_price: float
    time_factor: float = 1.0
    distance_m: float | None = None
    similarity: float = 1.0
    age_months: float = 0.0
    adjustments: Mapping[str, float] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    used: bool = True

    def __post_init__(self) -> None:
        for name in ("price", "adjusted_price", "time_factor"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"Comparable.{name} is {value!r}; expected a number > 0")
        if not 0.0 < self.similarity <= 1.0:
            raise ValueError(
                f"Comparable.similarity is {self.similarity!r}; expected a number in (0, 1]"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings, NaN as None)."""
        return to_jsonable(
            {
                "id": self.id,
                "price": self.price,
                "date": _date_text(self.date),
                "adjusted_price": self.adjusted_price,
                "time_factor": self.time_factor,
                "distance_m": self.distance_m,
                "similarity": self.similarity,
                "age_months": self.age_months,
                "adjustments": dict(self.adjustments),
                "attributes": dict(self.attributes),
                "used": self.used,
            }
        )


@dataclass(frozen=True)
class Valuation:
    """The valuation of one property.

    ``log(price) = (1 - blend_weight) * log(model_price) + blend_weight * log(comps_price)``
    when comparables were used (see :mod:`estimo.model.blend`); otherwise ``price`` is the
    model price and ``blend_weight`` is 0.

    Attributes
    ----------
    price, low, high : float
        Point valuation and its range (``low <= price <= high``).
    fsd : float
        Forecast standard deviation (relative), the basis of the confidence.
    valuation_date : Timestamp
        Date the valuation refers to.
    model_price : float
        The model's price alone.
    comps_price : float or None
        The comparables value alone (None when there were no comparables).
    blend_weight : float
        Weight of the comparables value in [0, 1].
    blend_reason : str or None
        Why the weight is what it is, read from the learned blend (one of
        :data:`estimo.model.blend.BLEND_REASONS`); None when not known.
    currency : str
        Currency code of every amount.
    sub_model : str
        Which model served the property, e.g. ``"city:Milano"`` or ``"global"``.
    confidence : str or None
        ``"high"``, ``"medium"`` or ``"low"``; derived from ``fsd`` when not given.
    confidence_score : float or None
        In [0, 1]; derived from ``fsd`` when not given.
    comparables : sequence of Comparable
        The comparables behind ``comps_price``, most similar first.
    warnings : sequence of str
        Plain sentences about what limits the valuation.
    subject_id : str or None
        The subject's id when it has one.
    ranges : mapping of str to (float, float)
        The other price ranges by nominal coverage in percent (``{"90": (low, high)}``);
        ``low``/``high`` is the first, default one.
    reasons : sequence of mapping
        The reasons in plain words with their amounts (when explained; see
        :meth:`estimo.explain.explainer.Explanation.to_dict`).
    model : mapping
        Facts about the model that valued (training window, fingerprint, version).
    """

    price: float
    low: float
    high: float
    fsd: float
    valuation_date: pd.Timestamp
    model_price: float
    comps_price: float | None = None
    blend_weight: float = 0.0
    blend_reason: str | None = None
    currency: str = "EUR"
    sub_model: str = "global"
    confidence: str | None = None
    confidence_score: float | None = None
    comparables: Sequence[Comparable] = ()
    warnings: Sequence[str] = ()
    subject_id: str | None = None
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    reasons: Sequence[Mapping[str, Any]] = ()
    model: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("price", "low", "high", "model_price"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"Valuation.{name} is {value!r}; expected a number > 0")
        if not self.low <= self.price <= self.high:
            raise ValueError(
                f"Valuation range is low={self.low!r}, price={self.price!r}, "
                f"high={self.high!r}; expected low <= price <= high"
            )
        if not 0.0 <= self.blend_weight <= 1.0:
            raise ValueError(
                f"Valuation.blend_weight is {self.blend_weight!r}; expected a number in [0, 1]"
            )
        if self.comps_price is not None and not self.comps_price > 0:
            raise ValueError(
                f"Valuation.comps_price is {self.comps_price!r}; expected None or a number > 0"
            )
        label, score = confidence_from_fsd(self.fsd)
        if self.confidence is None:
            object.__setattr__(self, "confidence", label)
        elif self.confidence not in CONFIDENCE_LEVELS:
            raise ValueError(
                f"Valuation.confidence is {self.confidence!r}; expected one of "
                f"{list(CONFIDENCE_LEVELS)}"
            )
        if self.confidence_score is None:
            object.__setattr__(self, "confidence_score", score)
        object.__setattr__(self, "valuation_date", pd.Timestamp(self.valuation_date))
        object.__setattr__(self, "comparables", tuple(self.comparables))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "reasons", tuple(self.reasons))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (comparables as dicts, dates as ISO strings)."""
        return to_jsonable(
            {
                "subject_id": self.subject_id,
                "price": self.price,
                "low": self.low,
                "high": self.high,
                **{
                    f"{end}_{pct}": bound
                    for pct, (low, high) in self.ranges.items()
                    for end, bound in (("low", low), ("high", high))
                },
                "currency": self.currency,
                "confidence": self.confidence,
                "confidence_score": self.confidence_score,
                "fsd": self.fsd,
                "valuation_date": _date_text(self.valuation_date),
                "sub_model": self.sub_model,
                "model_price": self.model_price,
                "comps_price": self.comps_price,
                "blend_weight": self.blend_weight,
                "blend_reason": self.blend_reason,
                "comparables": [c.to_dict() for c in self.comparables],
                "warnings": list(self.warnings),
                "reasons": [dict(r) for r in self.reasons],
                "model": dict(self.model),
            }
        )


@dataclass(frozen=True)
class WarningThresholds:
    """When :func:`build_warnings` speaks up.

    Parameters
    ----------
    near_km : float
        Radius of "nearby" comparables.
    min_near : int
        Fewer comparables than this within ``near_km`` gives a warning.
    outside_km : float
        A subject farther than this from every training property of its city is
        "outside the area seen in training".
    max_dispersion : float
        Weighted MAD of the comparables' adjusted log prices above which they "disagree".
    min_similarity : float
        Mean similarity below which the comparables are "not very similar". Similarity is
        a unitless function of a weighted distance whose scale depends on the market (its
        density, its features): an engine sets this from its own validation valuations
        (:meth:`calibrated`).
    """

    near_km: float = 2.0
    min_near: int = 3
    outside_km: float = 3.0
    max_dispersion: float = 0.15
    min_similarity: float = 0.2

    @classmethod
    def calibrated(
        cls, mean_similarity: Iterable[float], quantile: float = DISSIMILAR_QUANTILE
    ) -> WarningThresholds:
        """Thresholds whose similarity warning fires for a market's least similar valuations.

        ``min_similarity`` becomes the ``quantile`` of ``mean_similarity`` (the mean
        similarity of each validation valuation's comparables), capped at the default 0.2:
        in a market whose comparables are rarely close (sparse, many features) the warning
        then marks the worst tenth instead of nearly every valuation, and in a market whose
        comparables are close it still fires below 0.2. Without finite values the defaults
        stay.

        Examples
        --------
        >>> WarningThresholds.calibrated([0.01, 0.05, 0.1, 0.2, 0.3] * 20).min_similarity
        0.01
        >>> WarningThresholds.calibrated([0.5, 0.6, 0.9]).min_similarity
        0.2
        >>> WarningThresholds.calibrated([]).min_similarity
        0.2
        """
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile is {quantile!r}; expected a number in (0, 1)")
        values = [float(v) for v in mean_similarity]
        finite = sorted(v for v in values if math.isfinite(v))
        default = cls()
        if not finite:
            return default
        at = _quantile(finite, quantile)
        return replace(default, min_similarity=min(default.min_similarity, at))

    def to_dict(self) -> dict[str, float]:
        """The thresholds as JSON-ready numbers (:meth:`from_dict` reads them back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> WarningThresholds:
        """Thresholds from :meth:`to_dict`; the defaults for None (an engine saved before
        the thresholds were calibrated) and for missing keys.

        Raises
        ------
        ValueError
            If a key is not a threshold's name.
        """
        if not data:
            return cls()
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(
                f"warning thresholds have unknown keys {unknown}; expected some of {sorted(names)}"
            )
        return cls(**{k: int(v) if k == "min_near" else float(v) for k, v in data.items()})


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly (numpy's default)."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def build_warnings(
    quality: Mapping[str, Any],
    comparables: Sequence[Comparable] = (),
    imputed: Iterable[str] = (),
    thresholds: WarningThresholds | None = None,
) -> list[str]:
    """Plain-language warnings about one valuation.

    Parameters
    ----------
    quality : mapping
        One row of :attr:`estimo.model.comps.ComparablesResult.summary` (keys ``n_comps``,
        ``nearest_m``, ``dispersion``, ``mean_similarity``; missing keys are skipped) plus
        optionally ``has_location`` (False when the subject has no coordinates).
    comparables : sequence of Comparable
        The comparables (their distances count the nearby ones).
    imputed : iterable of str
        Features of the subject that were missing and imputed.
    thresholds : WarningThresholds, optional

    Returns
    -------
    list of str

    Examples
    --------
    >>> build_warnings({"n_comps": 0}, imputed=["year_built"])
    ['no comparable properties found nearby', "feature 'year_built' was imputed"]
    """
    limits = thresholds or WarningThresholds()
    out: list[str] = []
    n_comps = int(_number(quality.get("n_comps"), 0.0))
    if quality.get("has_location") is False:
        out.append("the property has no coordinates: comparables were matched on features only")
    nearest = _number(quality.get("nearest_m"))
    if math.isfinite(nearest) and nearest > limits.outside_km * 1000:
        out.append(
            "property outside the area seen in training "
            f"(nearest known property {nearest / 1000:.1f} km away)"
        )
    if n_comps == 0:
        out.append("no comparable properties found nearby")
    else:
        distances = [c.distance_m for c in comparables if c.distance_m is not None]
        n_near = sum(d <= limits.near_km * 1000 for d in distances)
        if distances and n_near < limits.min_near:
            out.append(_count_text(n_near, limits.near_km))
        dispersion = _number(quality.get("dispersion"))
        if math.isfinite(dispersion) and dispersion > limits.max_dispersion:
            out.append(
                "comparables disagree: their adjusted prices spread by about "
                f"±{100 * math.expm1(dispersion):.0f} %"
            )
        similarity = _number(quality.get("mean_similarity"))
        if math.isfinite(similarity) and similarity < limits.min_similarity:
            out.append(f"comparables are not very similar (mean similarity {similarity:.2f})")
    out.extend(f"feature {name!r} was imputed" for name in imputed)
    return out


def _count_text(n_near: int, near_km: float) -> str:
    radius = f"{near_km:g} km"
    if n_near == 0:
        return f"no comparables within {radius}"
    noun = "comparable" if n_near == 1 else "comparables"
    return f"only {n_near} {noun} within {radius}"


def _number(value: Any, default: float = math.nan) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if not math.isnan(out) else default


class ExplanationPass(NamedTuple):
    """What a model's ``value_with_contributions(frame)`` returns: everything an
    explanation needs, from one pass over the rows.

    Attributes
    ----------
    valuations : list of Valuation or None
        The valuations (None for a model that gives prices only, without ranges).
    contributions : pandas.DataFrame
        The contribution frame of ``docs/CONTRACTS.md``, indexed like the rows.
    features : pandas.DataFrame or None
        The feature rows the model saw (positional index), whose derived values (the
        distance to the centre, ...) the words quote; None when they are the rows' own.
    """

    valuations: list[Valuation] | None
    contributions: pd.DataFrame
    features: pd.DataFrame | None
