"""Comparable properties: find them, adjust them to the subject, and value the subject.

:class:`ComparablesFinder` learns a reference table of priced properties (the training rows)
and, for each subject property, returns the ``n_comps`` most comparable ones **in the same
city**. :meth:`ComparablesFinder.value` adjusts each comparable to the subject and combines
them into a *comparables value* with quality signals, the inputs of
:class:`estimo.model.blend.BlendWeights`.

**Distance.** Candidates are the ``n_candidates`` nearest reference rows of the subject's city;
candidates farther than ``max_distance_km``, dated after the valuation date
(``exclude_future``) or with the subject's own ``id`` (``exclude_same_id``, so that
leave-one-out validation is honest; re-listings of the same property are excluded too) are
dropped (:mod:`estimo.model.comps_search`). The rest are ranked by a weighted squared
distance::

    d2 = (km / distance_scale_km) ** 2 + (age_months / age_scale_months) ** 2
         + sum_f w_f * ((x_f,subject - x_f,comp) / s_f) ** 2      numeric features
         + sum_c w_c * [category differs]                         categorical features

Numeric features (``log(area_m2)``, ``rooms``, ``year_built``, ``floor``, ...) are scaled by
their robust standard deviation ``s_f`` on the reference rows
(:mod:`estimo.model.comps_encoding`). A value missing on either side costs
``missing_penalty`` (numeric, in squared standard units) or half a mismatch (categorical).
``similarity = exp(-d2 / 2)`` (floored at 1e-6): 1 for the same place, date and features,
0.61 for a property 1 km away and otherwise identical. A subject without valid coordinates is
matched within its city on features only: its distance term is ``missing_penalty`` and
``distance_m`` is NaN.

**Adjustment** of each comparable to the subject (log scale)::

    adjusted = log(price) + time + hedonic
    time     = index.log_factor(city, comp date, valuation date)
    hedonic  = model.predict_log(subject at the valuation date)
               - model.predict_log(comp at the valuation date)

Without an index the model supplies the time adjustment (the comp predicted at the valuation
date minus at its own date). The *main adjustments* split ``hedonic`` per feature group and
turn it into money (:mod:`estimo.model.adjustments`): exact TreeSHAP differences where the
model allows, otherwise single-feature swaps; the amounts add up exactly to the hedonic
adjustment in money.

**Comparables value**: a similarity-weighted mean of adjusted log prices after dropping those
more than ``trim`` robust standard deviations (1.4826 x weighted MAD, at least 0.02) from the
weighted median (:mod:`estimo.model.comps_stats`). Quality signals per subject: ``n_comps``,
``median_distance_m``, ``nearest_m`` (nearest reference property of the city, to flag subjects
outside the area seen in training), ``dispersion`` (weighted MAD of adjusted log prices),
``mean_similarity``, ``mean_age_months``.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(1_500, seed=2, faults=False).frame
>>> train, subjects = frame.iloc[:1_400], frame.iloc[1_400:1_405]
>>> model = ValuationModel(n_estimators=50, learning_rate=0.1).fit(train)
>>> finder = ComparablesFinder(n_comps=5).fit(train)
>>> result = finder.value(subjects, model)
>>> result.summary["n_comps"].tolist()
[5, 5, 5, 5, 5]
>>> comps = result.for_subject(0)
>>> comps[0].similarity >= comps[-1].similarity
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.bundle_folder import BundleFolder
from estimo.errors import DataError, NotFittedError
from estimo.frames import (
    column_array,
    complete_ns_dates,
    frame_of,
    object_array,
    records,
    stored_array,
    with_replaced,
)
from estimo.model.adjustments import (
    LOCATION_COLUMNS,
    LogPriceModel,
    hedonic_contributions,
    money_adjustments,
    predict_distinct,
    predict_log,
)
from estimo.model.comps_encoding import (
    category_codes,
    check_reference,
    coordinates,
    id_codes,
    levels,
    months,
    numeric_matrix,
    property_ids,
    resolve_valuation_dates,
    robust_scale,
    split_features,
)
from estimo.model.comps_search import CandidateSearch, Matches
from estimo.model.comps_stats import row_nanmedian, row_stat, similarity, trimmed_mean
from estimo.model.valuation_result import Comparable
from estimo.params import json_params

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FEATURE_WEIGHTS",
    "ComparablesFinder",
    "ComparablesResult",
    "LogPriceModel",
    "PriceIndexLike",
]

DEFAULT_FEATURE_WEIGHTS: Mapping[str, float] = {
    "area_m2": 4.0,
    "rooms": 0.5,
    "bathrooms": 0.5,
    "year_built": 1.0,
    "floor": 0.5,
    "property_type": 4.0,
    "condition": 1.0,
}
"""Default weights of the feature terms of the distance (see the module docstring)."""

DISPLAY_COLUMNS = ("area_m2", "rooms", "year_built", "floor", "property_type", "condition")


ReferenceLog = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``reference_log(rows, cities, dates)`` of :meth:`ComparablesFinder.value`."""
ReferenceContributionsLike = Callable[[pd.DataFrame, np.ndarray, np.ndarray], pd.DataFrame]
"""``reference_contributions(subjects_at, sub, rows)`` of :meth:`ComparablesFinder.value`."""


@runtime_checkable
class PriceIndexLike(Protocol):
    """A price index: log factor bringing a price in ``city`` from one date to another."""

    def log_factor(self, city: Any, from_date: Any, to_date: Any) -> np.ndarray:
        """Vectorised over arrays; ``to_date`` may be one Timestamp."""
        ...


@dataclass(frozen=True)
class ComparablesResult:
    """Output of :meth:`ComparablesFinder.value`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per subject (same index as the subjects): ``comps_log_price``,
        ``comps_price`` (NaN without comparables), ``n_comps``, ``median_distance_m``,
        ``nearest_m``, ``dispersion``, ``mean_similarity``, ``mean_age_months``,
        ``has_location``.
    comparables : pandas.DataFrame
        One row per (subject, comparable), most similar first: ``subject`` (position of the
        subject), ``rank``, ``row`` (position in the finder's ``reference_``), ``id``,
        ``price``, ``date``, ``valuation_date``, ``distance_m``, ``age_months``,
        ``similarity``, ``time_log``, ``hedonic_log``, ``adjusted_log``,
        ``adjusted_price``, ``used`` (kept by the trimming), the display columns and, when
        explained, ``adjustments`` (dict of money per feature group).
    """

    summary: pd.DataFrame
    comparables: pd.DataFrame

    def for_subject(self, position: int) -> list[Comparable]:
        """The comparables of the subject at ``position`` as :class:`Comparable` objects."""
        return self.by_subject().get(position, [])

    def by_subject(self) -> dict[int, list[Comparable]]:
        """Every subject's comparables as :class:`Comparable` objects, by the subject's
        position (built once: the table's columns are read once for all subjects, not
        filtered again per subject)."""
        cached = self.__dict__.get("_by_subject")
        if cached is not None:
            return cached
        out: dict[int, list[Comparable]] = {}
        for rec in records(self.comparables):  # Python values, the columns read once
            out.setdefault(int(rec["subject"]), []).append(_comparable(rec))
        object.__setattr__(self, "_by_subject", out)  # a frozen result: cached as built
        return out


def _dated(subjects: pd.DataFrame, dates: pd.Series) -> pd.DataFrame:
    """``subjects.reset_index(drop=True).assign(date=dates.to_numpy())``: built in one step
    from the columns when the dates are ``datetime64[ns]`` (see
    :func:`~estimo.frames.with_replaced`)."""
    positional = subjects.reset_index(drop=True)
    if dates.dtype == np.dtype("datetime64[ns]"):
        return with_replaced(positional, {"date": dates.array})
    return positional.assign(date=dates.to_numpy())


def _resolved_dates(dates: Any, n: int) -> bool:
    """Whether ``dates`` are already what :func:`resolve_valuation_dates` would make of
    them for ``n`` subjects: ``datetime64[ns]`` dates, none missing, on positions 0..n-1."""
    return (
        isinstance(dates, pd.Series)
        and complete_ns_dates(dates) is not None
        and len(dates) == n
        and dates.index.equals(pd.RangeIndex(n))
    )


def _without_indicators(adjustments: dict[str, float]) -> dict[str, float]:
    """A comparable's adjustments with the terms of its data gaps (``year_built_missing``:
    "year built: given or not") folded into ``other``: the owner reads how the home
    differs, not what the data lacked. The total is unchanged.

    Examples
    --------
    >>> _without_indicators({"area_m2": 10.0, "year_built_missing": -4.0, "other": 1.0})
    {'area_m2': 10.0, 'other': -3.0}
    """
    out: dict[str, float] = {}
    folded = 0.0
    for name, amount in adjustments.items():
        if name.endswith("_missing"):
            folded += float(amount)
        else:
            out[name] = amount
    if folded:
        out["other"] = float(out.get("other", 0.0)) + folded
    return out


def _comparable(rec: dict[str, Any]) -> Comparable:
    """One row of :attr:`ComparablesResult.comparables` (as Python values) as a
    :class:`Comparable`."""
    attributes = {c: rec[c] for c in DISPLAY_COLUMNS if c in rec and pd.notna(rec[c])}
    distance = rec["distance_m"]
    return Comparable(
        id=None if pd.isna(rec["id"]) else str(rec["id"]),
        price=float(rec["price"]),
        date=pd.Timestamp(rec["date"]),
        adjusted_price=float(rec["adjusted_price"]),
        time_factor=float(np.exp(rec["time_log"])),
        distance_m=None if pd.isna(distance) else float(distance),
        similarity=float(rec["similarity"]),
        age_months=float(rec["age_months"]),
        adjustments=_without_indicators(rec.get("adjustments") or {}),
        attributes=attributes,
        used=bool(rec.get("used", True)),
    )


class ComparablesFinder(CandidateSearch, BaseEstimator):
    """Find, adjust and combine comparable properties (see the module docstring).

    Parameters
    ----------
    n_comps : int
        Comparables kept per subject.
    n_candidates : int
        Nearest reference rows examined per subject before ranking.
    max_distance_km : float
        Candidates farther than this are never comparables.
    distance_scale_km : float
        Distance that costs as much as one robust standard deviation of a feature (w=1).
    age_scale_months : float
        Age that costs as much as ``distance_scale_km``.
    feature_weights : mapping of str to float, optional
        Weight per feature (replaces :data:`DEFAULT_FEATURE_WEIGHTS`, the default; a weight
        of 0 drops a feature). Features absent from
        the reference rows are ignored. Numeric columns are numeric terms, others
        categorical.
    missing_penalty : float
        Cost of a numeric feature (or the location) missing on either side.
    trim : float
        Comparables farther than ``trim`` robust standard deviations from the weighted
        median adjusted price are left out of the comparables value.
    exclude_same_id : bool
        Never return reference rows with the subject's ``id``.
    exclude_future : bool
        Never return reference rows dated after the valuation date.
    location_features : sequence of str
        Columns that follow from where the property is (distances to the centre, to schools,
        ...): adjusted together with ``lat``/``lon``/``neighbourhood`` as one
        ``"location"`` adjustment instead of one adjustment each.

    Examples
    --------
    >>> from estimo.synth import generate_market
    >>> frame = generate_market(800, seed=5, faults=False).frame
    >>> finder = ComparablesFinder(n_comps=3).fit(frame)
    >>> matches = finder.kneighbors(frame.head(2), valuation_date="2024-01-01")
    >>> len(matches), frame["id"].iloc[0] in set(matches.loc[matches["subject"] == 0, "id"])
    (6, False)
    """

    def __init__(
        self,
        *,
        n_comps: int = 8,
        n_candidates: int = 64,
        max_distance_km: float = 5.0,
        distance_scale_km: float = 1.0,
        age_scale_months: float = 12.0,
        feature_weights: Mapping[str, float] | None = None,
        missing_penalty: float = 1.0,
        trim: float = 2.5,
        exclude_same_id: bool = True,
        exclude_future: bool = True,
        location_features: Sequence[str] = (),
    ) -> None:
        self.n_comps = n_comps
        self.n_candidates = n_candidates
        self.max_distance_km = max_distance_km
        self.distance_scale_km = distance_scale_km
        self.age_scale_months = age_scale_months
        self.feature_weights = feature_weights
        self.missing_penalty = missing_penalty
        self.trim = trim
        self.exclude_same_id = exclude_same_id
        self.exclude_future = exclude_future
        self.location_features = location_features

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save the reference table (``comps.parquet``), its encoding as candidates
        (``comps_encoded.parquet``: standardized features, category codes, coordinates,
        ids, months) and every city's search trees (``comps_trees/``) into ``folder``;
        returns the facts :meth:`from_bundle` reads."""
        self._check_fitted()
        folder.write_parquet("comps.parquet", self.reference_)
        encoded = {f"z{j}": self._z[:, j] for j in range(self._z.shape[1])}
        encoded.update({f"code{j}": self._codes[:, j] for j in range(self._codes.shape[1])})
        encoded.update(
            lat=self._coords[:, 0],
            lon=self._coords[:, 1],
            has_coords=self._has_coords,
            id=self._ids,
            id_code=self._id_codes,
            month=self._months,
        )
        folder.write_parquet("comps_encoded.parquet", pd.DataFrame(encoded))
        return {
            "params": json_params(self),
            "numeric_features": list(self.numeric_features_),
            "categorical_features": {k: list(v) for k, v in self.categorical_features_.items()},
            "weights": self.weights_.tolist(),
            "category_weights": self.category_weights_.tolist(),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
            "last_date": self.last_date_.isoformat(),
            "trees": self._trees_to_bundle(folder),
        }

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> ComparablesFinder:
        """A fitted finder from :meth:`to_bundle`'s folder and facts: the candidates'
        encoding is read as stored, and each city's search trees when the city is first
        searched (built instead for a bundle saved without them or by another
        scikit-learn)."""
        finder = cls(**meta["params"])
        finder.reference_ = folder.read_parquet("comps.parquet")
        if "numeric_features" not in meta:  # saved before the encoding was stored
            return finder.fit(finder.reference_)
        encoded = folder.read_parquet("comps_encoded.parquet")
        finder.numeric_features_ = tuple(meta["numeric_features"])
        finder.categorical_features_ = {
            k: tuple(v) for k, v in meta["categorical_features"].items()
        }
        finder.weights_ = np.asarray(meta["weights"], dtype=float)
        finder.category_weights_ = np.asarray(meta["category_weights"], dtype=float)
        finder.center_ = np.asarray(meta["center"], dtype=float)
        finder.scale_ = np.asarray(meta["scale"], dtype=float)
        finder.last_date_ = pd.Timestamp(meta["last_date"])
        n_z, n_codes = len(finder.numeric_features_), len(finder.categorical_features_)
        finder._z = (
            encoded[[f"z{j}" for j in range(n_z)]].to_numpy(float).reshape(len(encoded), n_z)
        )
        codes = encoded[[f"code{j}" for j in range(n_codes)]].to_numpy(np.int64)
        finder._codes = codes.reshape(len(encoded), n_codes)
        finder._coords = encoded[["lat", "lon"]].to_numpy(float)
        finder._has_coords = encoded["has_coords"].to_numpy(bool)
        finder._ids = encoded["id"].astype(object).where(encoded["id"].notna(), None).to_numpy()
        finder._id_codes = encoded["id_code"].to_numpy(np.int64)
        finder._months = encoded["month"].to_numpy(float)
        cities = finder.reference_["city"].astype(str).to_numpy()
        finder._build_trees(cities, saved=(folder, meta.get("trees")))
        return finder

    # ------------------------------------------------------------------------------ fit

    def fit(self, frame: pd.DataFrame) -> ComparablesFinder:
        """Learn the reference table: priced rows with a date and a city.

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical training rows (``price``, ``date``, ``city`` required; ``id``,
            ``lat``, ``lon`` and the features of ``feature_weights`` used when present).
            Rows missing price, date or city are left out (logged).

        Returns
        -------
        ComparablesFinder
            ``self``.

        Raises
        ------
        DataError
            If a required column is missing, a price is not positive, or no row is usable.
        """
        self._check_params()
        reference = check_reference(frame)
        self.reference_ = reference
        weights = dict(DEFAULT_FEATURE_WEIGHTS if self.feature_weights is None else {})
        weights.update(self.feature_weights or {})
        numeric, categorical = split_features(reference, weights)
        self.numeric_features_ = tuple(numeric)
        self.categorical_features_ = {c: levels(reference[c]) for c in categorical}
        self.weights_ = np.array([weights[f] for f in numeric], dtype=float)
        self.category_weights_ = np.array([weights[c] for c in categorical], dtype=float)
        raw = numeric_matrix(reference, self.numeric_features_)
        self.center_ = np.nanmedian(raw, axis=0) if raw.shape[1] else np.empty(0)
        self.scale_ = robust_scale(raw)
        encoded = self._encode(reference)
        self._z, self._codes, self._coords, self._has_coords = encoded[:4]
        self._ids = encoded[4]
        self._id_codes = id_codes(self._ids)
        self._months = months(reference["date"])
        self.last_date_ = pd.Timestamp(reference["date"].max())
        self._build_trees(reference["city"].astype(str).to_numpy())
        log.info(
            "comparables reference: %d rows in %d cities, features %s",
            len(reference),
            len(self.cities_),
            list(self.numeric_features_) + list(self.categorical_features_),
        )
        return self

    def _check_params(self) -> None:
        problems = []
        for name in ("n_comps", "n_candidates"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                problems.append(f"parameter {name!r} is {value!r}; expected an int >= 1")
        for name in ("max_distance_km", "distance_scale_km", "age_scale_months", "trim"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0:
                problems.append(f"parameter {name!r} is {value!r}; expected a number > 0")
        names = self.location_features
        if (
            isinstance(names, str)
            or not isinstance(names, Sequence)
            or not all(isinstance(name, str) for name in names)
        ):
            problems.append(
                f"parameter 'location_features' is {self.location_features!r}; expected a "
                "list of column names"
            )
        for name, value in (self.feature_weights or {}).items():
            if not isinstance(value, int | float) or value < 0:
                problems.append(f"feature weight {name!r} is {value!r}; expected a number >= 0")
        if problems:
            raise DataError(problems, header="invalid ComparablesFinder settings")

    def _encode(
        self, frame: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Standardized numeric features, category codes, coordinates (radians), ids."""
        z = (numeric_matrix(frame, self.numeric_features_) - self.center_) / self.scale_
        codes = np.full((len(frame), len(self.categorical_features_)), -1, dtype=np.int64)
        for j, (name, known) in enumerate(self.categorical_features_.items()):
            if name in frame:
                codes[:, j] = category_codes(column_array(frame, name), known)
        coords, ok = coordinates(frame)
        return z, codes, coords, ok, property_ids(frame)

    def _reference_columns(self) -> dict[str, np.ndarray]:
        """The reference rows' ``city``, ``date``, ``price`` and :data:`DISPLAY_COLUMNS` as
        arrays, read once per reference table (a valuation takes its comparables' values
        from them instead of a frame of its comparables)."""
        cached = self.__dict__.get("_reference_arrays")
        if cached is not None and cached[0] is self.reference_:
            return cached[1]
        reference = self.reference_
        names = [c for c in ("city", "date", "price", *DISPLAY_COLUMNS) if c in reference]
        arrays = {name: reference[name].to_numpy() for name in names}
        if "price" in arrays:
            arrays["price"] = reference["price"].to_numpy(dtype=float)
        for name in DISPLAY_COLUMNS:  # a value the cleaning imputed is no fact to show
            flag = f"{name}_missing"
            if name in arrays and flag in reference:
                imputed = reference[flag].to_numpy(dtype=float) == 1
                if imputed.any():
                    shown = arrays[name].astype(object)
                    shown[imputed] = None
                    arrays[name] = shown
        self._reference_arrays = (reference, arrays)
        return arrays

    def _check_fitted(self) -> None:
        if not hasattr(self, "reference_"):
            raise NotFittedError(
                "this ComparablesFinder is not fitted yet; call fit(training_frame) first"
            )

    # --------------------------------------------------------------------------- search

    def valuation_dates(self, subjects: pd.DataFrame, valuation_date: Any = None) -> pd.Series:
        """Valuation date of each subject (positional index).

        ``None`` uses each subject's ``date`` and, where missing, the last reference date;
        a single date applies to every subject; an array gives one date per subject.
        """
        self._check_fitted()
        return resolve_valuation_dates(subjects, valuation_date, self.last_date_)

    def kneighbors(self, subjects: pd.DataFrame, valuation_date: Any = None) -> pd.DataFrame:
        """The comparables of each subject, before any adjustment.

        Parameters
        ----------
        subjects : pandas.DataFrame
            Canonical rows to value (``city`` required).
        valuation_date : date, array of dates or None
            See :meth:`valuation_dates`.

        Returns
        -------
        pandas.DataFrame
            One row per (subject, comparable), most similar first: ``subject`` (position),
            ``rank``, ``row`` (position in ``reference_``), ``id``, ``distance_m``,
            ``age_months``, ``similarity``.
        """
        self._check_fitted()
        matches = self._find(subjects, months(self.valuation_dates(subjects, valuation_date)))
        sub, rank = np.nonzero(matches.rows >= 0)
        rows = matches.rows[sub, rank]
        return pd.DataFrame(
            {
                "subject": sub,
                "rank": rank,
                "row": rows,
                "id": self._ids[rows],
                "distance_m": matches.distance_km[sub, rank] * 1000.0,
                "age_months": matches.age_months[sub, rank],
                "similarity": similarity(matches.d2[sub, rank]),
            }
        )

    # ---------------------------------------------------------------------------- value

    def value(
        self,
        subjects: pd.DataFrame,
        model: LogPriceModel,
        index: PriceIndexLike | None = None,
        valuation_date: Any = None,
        subject_log: np.ndarray | None = None,
        explain: bool = False,
        n_main: int = 4,
        reference_log: ReferenceLog | None = None,
        reference_contributions: ReferenceContributionsLike | None = None,
    ) -> ComparablesResult:
        """Find, adjust and combine the comparables of each subject.

        Parameters
        ----------
        subjects : pandas.DataFrame
            Canonical rows to value.
        model : LogPriceModel
            Gives the hedonic adjustment; called on the subjects and the comparables with
            their ``date`` set to the valuation date.
        index : PriceIndexLike, optional
            Gives the time adjustment; without it the model does (see the module docstring).
        valuation_date : date, array of dates or None
            See :meth:`valuation_dates`.
        subject_log : array, optional
            The model's log price of each subject at its valuation date, when already known
            (saves one prediction).
        explain : bool
            Also split each hedonic adjustment into main adjustments in money (slower:
            use it for the few valuations shown to people, not for backtests).
        n_main : int
            Feature groups listed per comparable; the rest are summed as ``"other"``.
        reference_log : callable, optional
            ``reference_log(rows, cities, dates)``: the model's log price of the reference
            rows at ``rows`` (in ``cities``) valued at ``dates`` (their subjects' valuation
            dates), when the caller has them precomputed (the engine keeps each reference
            row's log price at its reference date); it must give exactly what ``model``
            gives for those rows with their ``date`` set to ``dates``.
        reference_contributions : callable, optional
            ``reference_contributions(subjects_at, sub, rows)``: with ``explain``, the
            hedonic adjustment of each comparable split per feature group (log; a frame of
            one row per comparable), when the caller splits it itself (the engine: exact
            tree contributions kept per reference row) instead of
            :func:`~estimo.model.adjustments.hedonic_contributions`.

        Returns
        -------
        ComparablesResult
        """
        self._check_fitted()
        dates = valuation_date  # resolved already (the engine's): read, not copied
        if not _resolved_dates(valuation_date, len(subjects)):
            dates = self.valuation_dates(subjects, valuation_date)
        matches = self._find(subjects, months(dates))
        sub, rank = np.nonzero(matches.rows >= 0)
        rows = matches.rows[sub, rank]
        reference = self._reference_columns()  # the comparables' values, no frame of them
        comp_dates = dates.to_numpy()[sub]
        comp_cities = reference["city"][rows]
        comp_sold = reference["date"][rows]
        if subject_log is not None and len(np.ravel(subject_log)) != len(subjects):
            raise DataError(
                [
                    f"subject_log has {len(np.ravel(subject_log))} values for "
                    f"{len(subjects)} subjects; expected one per subject"
                ]
            )
        subjects_at = None
        if subject_log is None or explain:
            subjects_at = _dated(subjects, dates)
        comps = at_date = None  # the comparables as rows (dated at their valuation dates)
        if index is None or reference_log is None or (explain and reference_contributions is None):
            comps = self.reference_.iloc[rows].reset_index(drop=True)  # only when needed
            at_date = comps.assign(date=comp_dates)
        if reference_log is not None:
            comp_model_log = np.asarray(reference_log(rows, comp_cities, comp_dates), dtype=float)
            if subject_log is None:
                subject_log = predict_log(model, subjects_at)
        elif subject_log is None:
            subject_log, comp_model_log = predict_distinct(
                model, at_date, rows, comp_dates, head=subjects_at
            )
        else:
            comp_model_log = predict_distinct(model, at_date, rows, comp_dates)[1]
        if index is not None:
            time_log = np.asarray(index.log_factor(comp_cities, comp_sold, comp_dates), dtype=float)
        else:
            time_log = comp_model_log - predict_log(model, comps)
        hedonic = np.asarray(subject_log, dtype=float)[sub] - comp_model_log
        price = reference["price"][rows]
        adjusted = np.log(price) + time_log + hedonic
        similarities = similarity(matches.d2[sub, rank])
        summary, used = self._summarise(matches, sub, rank, adjusted, similarities)
        columns = {
            "subject": sub,
            "rank": rank,
            "row": rows,
            "id": self._ids[rows],
            "price": price,
            "date": comp_sold,
            "valuation_date": comp_dates,
            "distance_m": matches.distance_km[sub, rank] * 1000.0,
            "age_months": matches.age_months[sub, rank],
            "similarity": similarities,
            "time_log": time_log,
            "hedonic_log": hedonic,
            "adjusted_log": adjusted,
            "adjusted_price": np.exp(adjusted),
        }
        for column in DISPLAY_COLUMNS:
            if column in reference:
                columns[column] = reference[column][rows]
        columns["used"] = used
        if explain and len(sub):
            if reference_contributions is not None:
                contributions = reference_contributions(subjects_at, sub, rows)
            else:
                contributions = hedonic_contributions(
                    model,
                    subjects_at,
                    at_date,
                    sub,
                    comp_log=comp_model_log,
                    location=(*LOCATION_COLUMNS, *self.location_features),
                )
            adjustments = money_adjustments(columns, contributions, n_main)
            # a column of Python dicts, as setting the list on the table would make it
            columns["adjustments"] = pd.Series(
                object_array(adjustments), index=pd.RangeIndex(len(sub)), dtype=object
            )
        # dates and text as the constructor stores them: the frame built directly
        table = frame_of({name: stored_array(v) for name, v in columns.items()}, len(sub))
        summary.index = subjects.index
        return ComparablesResult(summary=summary, comparables=table)

    def _summarise(
        self,
        matches: Matches,
        sub: np.ndarray,
        rank: np.ndarray,
        adjusted_log: np.ndarray,
        similarities: np.ndarray,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        n, k = matches.rows.shape
        values = np.full((n, k), np.nan)
        weights = np.zeros((n, k))
        values[sub, rank] = adjusted_log
        weights[sub, rank] = similarities
        comps_log, spread, keep = trimmed_mean(values, weights, self.trim)
        n_comps = (matches.rows >= 0).sum(axis=1)
        has_any = n_comps > 0
        summary = frame_of(  # pd.DataFrame of these arrays, without its per-column checks
            {
                "comps_log_price": comps_log,
                "comps_price": np.exp(comps_log),
                "n_comps": n_comps,
                "median_distance_m": row_stat(row_nanmedian, matches.distance_km * 1000, has_any),
                "nearest_m": matches.nearest_km * 1000.0,
                "dispersion": spread,
                "mean_similarity": row_stat(
                    np.nanmean, np.where(weights > 0, weights, np.nan), has_any
                ),
                "mean_age_months": row_stat(np.nanmean, matches.age_months, has_any),
                "has_location": matches.has_location,
            },
            n,
        )
        return summary, keep[sub, rank]
