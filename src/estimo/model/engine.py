"""One fitted stage of the valuation engine: index -> location features -> segmented model.

:class:`EngineStage` is what :class:`estimo.model.avm.AVM` fits twice: once on the rows
before its validation slice (to choose sub-models, blend weights and calibrate intervals
honestly) and once on the whole training window (the model that serves).

Steps of :meth:`EngineStage.fit`:

1. fit the per-city :class:`~estimo.index.PriceIndex` on the stage's rows;
2. bring every training price to the *reference date* (the first day of the last month of
   the data) with the index: ``y = log(price) + log_factor(city, date, reference)``;
3. keep one row per property (``dedupe="latest"``: its latest appearance, ``"first"``: its
   first appearance, as the backtest scores new properties, or ``"weight"``: every
   appearance weighted by 1 / appearances, or ``"none"``);
4. learn :class:`~estimo.features.location.LocationFeatures` from the time-adjusted log
   price per m² (leave-one-out on the training rows), including the *twin* features: the
   price per m² of the same flat listed under another id, or of an identical flat nearby;
5. train the :class:`~estimo.model.segmented.SegmentedModel` on ``y``, on top of an offset
   ``log(area) + distance-weighted spatial lag`` (a price from the neighbours' price per m²)
   when ``use_offset``: the trees learn corrections to what the neighbours say.

Predictions are log prices at the reference date, moved to any valuation date with the index.
:meth:`EngineStage.hedonic_view` predicts as if no row had a twin; the comparables use it
for their adjustments (a twin's price is not a characteristic of the flat).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estimo.bundle_folder import BundleFolder
from estimo.features.location import LocationFeatures
from estimo.frames import (
    column_array,
    column_arrays,
    column_floats,
    complete_ns_dates,
    frame_of,
    str_values,
)
from estimo.index import PriceIndex
from estimo.model.segmented import SegmentedModel
from estimo.schema import feature_columns

log = logging.getLogger(__name__)

DEDUPE_MODES = ("latest", "weight", "none")


def dedupe_rows(frame: pd.DataFrame, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions to train on and their weights, one property at a time.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01"])})
    >>> rows, weights = dedupe_rows(frame, "latest")
    >>> rows.tolist(), weights.tolist()
    ([1, 2], [1.0, 1.0])
    >>> dedupe_rows(frame, "first")[0].tolist()
    [0, 2]
    """
    n = len(frame)
    if mode == "none" or "id" not in frame:
        return np.arange(n), np.ones(n)
    ids = frame["id"].astype(str).reset_index(drop=True)
    if mode == "weight":
        counts = ids.map(ids.value_counts()).to_numpy(float)
        return np.arange(n), 1.0 / counts
    order = pd.DataFrame({"id": ids, "date": frame["date"].to_numpy(), "pos": np.arange(n)})
    keep = "first" if mode == "first" else "last"
    order = order.sort_values(["date", "pos"], kind="stable").drop_duplicates("id", keep=keep)
    rows = np.sort(order["pos"].to_numpy())
    return rows, np.ones(len(rows))


def log_area(frame: pd.DataFrame) -> np.ndarray:
    """``log(area_m2)`` of each row, ``nan`` where the area is missing or not positive."""
    if "area_m2" not in frame:
        return np.full(len(frame), np.nan)
    area = column_floats(frame, "area_m2")  # text that is no number: NaN
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area > 0, np.log(np.where(area > 0, area, 1.0)), np.nan)


@dataclass(frozen=True)
class PredictionSteps:
    """What :meth:`EngineStage.predict_steps` computed on the way to the log prices."""

    log_price: np.ndarray
    features: pd.DataFrame
    matrix: np.ndarray | pd.DataFrame  # the model's SegmentedModel.model_matrix
    offset: np.ndarray
    time_shift: np.ndarray
    log_area: np.ndarray
    cities: np.ndarray  # the model's SegmentedModel.city_names
    at_reference: np.ndarray | None = None  # the log price at the reference date


class EngineStage:
    """Index, location features and segmented model fitted on one window (see module doc).

    Parameters
    ----------
    index : PriceIndex
        Unfitted index (its parameters are used).
    location : LocationFeatures
        Unfitted location features.
    model : SegmentedModel
        Unfitted segmented model.
    dedupe : {"latest", "first", "weight", "none"}
        How re-listings of the same property are used.
    use_offset : bool
        Learn on top of the spatial-lag price.
    twin_offset : bool
        Where the flat was listed before under another id (``loc_twin``), start from the
        twin's price per m² × area instead of the spatial lag.
    """

    def __init__(
        self,
        index: PriceIndex,
        location: LocationFeatures,
        model: SegmentedModel,
        dedupe: str = "latest",
        use_offset: bool = True,
        twin_offset: bool = False,
    ) -> None:
        self.index = index
        self.location = location
        self.model = model
        self.dedupe = dedupe
        self.use_offset = use_offset
        self.twin_offset = twin_offset

    def fit(
        self,
        frame: pd.DataFrame,
        sample_weight: np.ndarray | None = None,
        *,
        validation: pd.DataFrame | None = None,
        template: SegmentedModel | None = None,
    ) -> EngineStage:
        """Fit on ``frame``; ``validation`` drives early stopping and routing, ``template``
        (a model fitted at validation) is refitted instead of choosing again."""
        self.index.fit(frame)
        self.reference_date_ = self.index.last_date_
        rows, weights = dedupe_rows(frame, self.dedupe)
        train = frame.iloc[rows].reset_index(drop=True)
        if sample_weight is not None:
            weights = weights * np.asarray(sample_weight, dtype=float)[rows]
        y = self.adjusted_log_price(train)
        self._fit_levels(train, y)
        X = self._training_features(train, y)
        offset = self.offset(train, X)
        self.feature_names_ = list(X.columns)
        if template is not None:
            self.model = template.refit(X, y, offset=offset, sample_weight=weights)
        else:
            eval_set = None
            if validation is not None and len(validation):
                Xv = self.features(validation)
                yv = np.log(validation["price"].to_numpy(float)) + self.index.log_factor(
                    validation["city"], validation["date"], self.reference_date_
                )
                eval_set = (Xv, yv, self.offset(validation, Xv))
            self.model.fit(X, y, offset=offset, sample_weight=weights, eval_set=eval_set)
        self.n_train_ = len(train)
        areas = log_area(train)
        self.median_log_area_ = float(np.nanmedian(areas)) if np.isfinite(areas).any() else 0.0
        return self

    def adjusted_log_price(self, frame: pd.DataFrame) -> np.ndarray:
        """Log price of each row brought to the reference date by the index."""
        return np.log(frame["price"].to_numpy(float)) + self.index.log_factor(
            frame["city"], frame["date"], self.reference_date_
        )

    def _fit_levels(self, train: pd.DataFrame, y: np.ndarray) -> None:
        levels = pd.Series(y).groupby(train["city"].astype(str).to_numpy()).median()
        self.city_level_ = {str(k): float(v) for k, v in levels.items()}
        self.global_level_ = float(np.median(y))

    def _training_features(self, train: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
        values = y - log_area(train)
        # a price per m2 from an imputed area (the cleaning policy's missing indicator) is
        # no evidence of the neighbourhood's price level: such rows are only described
        usable = np.isfinite(values) & (_column_or(train, "area_m2_missing", 0.0) != 1.0)
        loc = pd.DataFrame(index=train.index)
        if usable.any():
            inside = self.location.fit_transform(train.loc[usable], values[usable])
            outside = self.location.transform(train.loc[~usable])
            loc = pd.concat([inside, outside]).loc[train.index]
        else:
            self.location.fit(train.iloc[:0], np.empty(0))
            loc = self.location.transform(train)
        return self._assemble(train, loc)

    def features(self, frame: pd.DataFrame, twins: bool = True) -> pd.DataFrame:
        """Model features of new rows (canonical features + location features;
        ``twins=False``: as rows without twins)."""
        return self._assemble(frame, self.location.transform_arrays(frame, twins=twins))

    def _assemble(
        self, frame: pd.DataFrame, loc: pd.DataFrame | dict[str, np.ndarray]
    ) -> pd.DataFrame:
        """The feature columns of ``frame``, then the location features (a frame, or its
        columns by name), as one new frame (built once from the column arrays: for one
        property, selecting, copying and concatenating frames cost more than the features
        themselves)."""
        arrays = dict(zip(frame.columns.tolist(), column_arrays(frame), strict=True))
        data = {name: arrays[name] for name in feature_columns(frame)}
        if "city" not in data:
            data["city"] = pd.Series(pd.NA, index=frame.index, dtype=object)
        if isinstance(loc, pd.DataFrame):
            loc = dict(zip(loc.columns.tolist(), column_arrays(loc), strict=True))
        data.update(loc)
        return frame_of(data, frame.index, object_as_is=True)  # text stays Python objects

    def offset(
        self, frame: pd.DataFrame, X: pd.DataFrame, area: np.ndarray | None = None
    ) -> np.ndarray:
        """Starting log price of each row: neighbours' price per m² × area, else city level
        (``area``: the rows' :func:`log_area`, when already computed)."""
        levels = self.city_level_
        names = str_values(column_array(frame, "city"))
        city = np.array([levels.get(name, np.nan) for name in names], float)
        fallback = np.where(np.isfinite(city), city, self.global_level_)
        if not self.use_offset:
            return fallback
        area = log_area(frame) if area is None else area
        guess = column_floats(X, "loc_knn_weighted") + area
        if self.twin_offset and "loc_twin" in X:
            twin = column_floats(X, "loc_twin") + area
            guess = np.where(np.isfinite(twin), twin, guess)
        return np.where(np.isfinite(guess), guess, fallback)

    def predict_log(
        self, frame: pd.DataFrame, valuation_date: Any = None, features: pd.DataFrame | None = None
    ) -> np.ndarray:
        """Model log price of each row at its valuation date (default: the row's date).

        ``features`` are the rows' :meth:`features` when the caller already has them.
        """
        if len(frame) == 0:
            return np.empty(0)
        return self.predict_steps(frame, valuation_date, features).log_price

    def predict_steps(
        self, frame: pd.DataFrame, valuation_date: Any = None, features: pd.DataFrame | None = None
    ) -> PredictionSteps:
        """:meth:`predict_log` with the steps an explanation of the same rows reuses."""
        X = self.features(frame) if features is None else features
        area = log_area(frame)
        offset = self.offset(frame, X, area=area)
        matrix = self.model.model_matrix(X)
        cities = self.model.city_names(X)
        shift = self.time_shift(frame, valuation_date)
        at_reference = self.model.predict_log(X, offset=offset, matrix=matrix, cities=cities)
        return PredictionSteps(
            at_reference + shift, X, matrix, offset, shift, area, cities, at_reference
        )

    def hedonic_view(self) -> HedonicView:
        """This stage predicting from the properties' characteristics and place only.

        The comparables adjust each comparable to the subject by the model's difference
        between the two; a twin's earlier price (``loc_twin*``) is not a characteristic of
        the flat, and it differs between subject and comparable even when they are the same
        flat, so the adjustment model sees every row as one without a twin.
        """
        return HedonicView(self)

    def valuation_dates(self, frame: pd.DataFrame, valuation_date: Any = None) -> pd.Series:
        """The valuation date of each row: given, else the row's date, else the reference.

        A Series of dates indexed like ``frame`` (what this method returns) is taken as it
        is, so that callers can pass the dates they computed once down their steps.
        """
        if (
            isinstance(valuation_date, pd.Series)
            and pd.api.types.is_datetime64_dtype(valuation_date.dtype)
            and valuation_date.index.equals(frame.index)
        ):
            return valuation_date
        if valuation_date is not None:
            if np.ndim(valuation_date) == 0:
                return pd.Series(pd.Timestamp(valuation_date), index=frame.index)
            return pd.Series(pd.to_datetime(np.asarray(valuation_date)), index=frame.index)
        if "date" in frame:
            known = _known_ns_dates(frame)
            if known is not None:
                return known
            dates = pd.to_datetime(frame["date"])
            return dates.fillna(self.reference_date_)
        return pd.Series(self.reference_date_, index=frame.index)

    def time_shift(self, frame: pd.DataFrame, valuation_date: Any = None) -> np.ndarray:
        """Log index change from the reference date to each row's valuation date."""
        dates = self.valuation_dates(frame, valuation_date)
        cities = column_array(frame, "city") if "city" in frame else np.full(len(frame), "", object)
        return self.index.log_factor(cities, self.reference_date_, dates)

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save the index, location features and segmented model into ``folder``; returns
        the facts (with theirs) :meth:`from_bundle` reads."""
        return {
            "dedupe": self.dedupe,
            "use_offset": self.use_offset,
            "twin_offset": self.twin_offset,
            "reference_date": self.reference_date_.isoformat(),
            "city_level": self.city_level_,
            "global_level": self.global_level_,
            "feature_names": self.feature_names_,
            "n_train": self.n_train_,
            "median_log_area": self.median_log_area_,
            "index": self.index.to_bundle(folder),
            "location": self.location.to_bundle(folder),
            "segmented": self.model.to_bundle(folder),
        }

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> EngineStage:
        """A fitted stage from :meth:`to_bundle`'s folder and facts."""
        stage = cls(
            PriceIndex.from_bundle(folder, meta["index"]),
            LocationFeatures.from_bundle(folder, meta["location"]),
            SegmentedModel.from_bundle(folder, meta["segmented"]),
            meta["dedupe"],
            meta["use_offset"],
            twin_offset=bool(meta.get("twin_offset", False)),
        )
        stage.reference_date_ = pd.Timestamp(meta["reference_date"])
        stage.city_level_ = {k: float(v) for k, v in meta["city_level"].items()}
        stage.global_level_ = float(meta["global_level"])
        stage.feature_names_ = list(meta["feature_names"])
        stage.n_train_ = int(meta["n_train"])
        stage.median_log_area_ = float(meta["median_log_area"])
        return stage

    def describe(self) -> dict[str, Any]:
        """Facts about the fitted stage, for logs and manifests."""
        return {
            "reference_date": f"{self.reference_date_:%Y-%m-%d}",
            "n_train": self.n_train_,
            "routing": self.model.routing_,
            "rounds": self.model.rounds_,
        }


class HedonicView:
    """An :class:`EngineStage` that predicts as if no row had a twin (see
    :meth:`EngineStage.hedonic_view`); used for the comparables' adjustments.

    Parameters
    ----------
    stage : EngineStage
        A fitted stage.
    """

    def __init__(self, stage: EngineStage) -> None:
        self.stage = stage

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The stage's features with the twin columns set to "no twin" (no twin search)."""
        return self.stage.features(frame, twins=False)

    def predict_log(self, frame: pd.DataFrame, valuation_date: Any = None) -> np.ndarray:
        """Log price of each row at its valuation date, without the twin features."""
        if len(frame) == 0:
            return np.empty(0)
        return self.at_reference(frame) + self.stage.time_shift(frame, valuation_date)

    def at_reference(self, frame: pd.DataFrame, features: pd.DataFrame | None = None) -> np.ndarray:
        """Log price of each row at the stage's reference date, without the twin features
        (a row's own date plays no part: :meth:`predict_log` adds the index's change to
        the valuation date). The same numbers for a row whatever rows come with it, so the
        engine computes them once for its comparables' reference rows.

        ``features``: the rows' :meth:`features`, when the caller has them (e.g.
        :func:`~estimo.features.location.without_twins` of the stage's own features).
        """
        if len(frame) == 0:
            return np.empty(0)
        stage = self.stage
        X = self.features(frame) if features is None else features
        return stage.model.predict_log(X, offset=stage.offset(frame, X))


def _known_ns_dates(frame: pd.DataFrame) -> pd.Series | None:
    """``pd.to_datetime(frame["date"])`` when the column holds ``datetime64[ns]`` dates and
    none is missing (nothing to parse or fill), else None."""
    values = complete_ns_dates(column_array(frame, "date"))
    if values is None:
        return None
    return pd.Series(values.copy(), index=frame.index, name="date")


def _column_or(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    """``frame[name]`` as floats, or ``default`` everywhere when the column is absent."""
    if name not in frame:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[name], errors="coerce").fillna(default).to_numpy(float)
