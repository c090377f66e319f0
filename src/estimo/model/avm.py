"""The automated valuation model: index -> location -> city models -> comparables -> range.

:class:`AVM` is Estimo's valuation engine. ``fit(frame)`` works in two passes so that every
choice is made on data the models have not seen:

1. **Validation pass.** The last ``validation_months`` months of the training window are
   held out (new property ids only, first appearance, as in the backtest). An
   :class:`~estimo.model.engine.EngineStage` (price index, location features, per-city and
   global LightGBM) is fitted on the earlier rows; on the held-out slice it picks each
   city's sub-model and the number of trees, the comparables blend weights
   (:class:`~estimo.model.blend.BlendWeights`) are learned, and the conformal intervals
   (:class:`~estimo.model.intervals.ConformalIntervals`) are calibrated on the residuals
   of the final (blended) valuation.
2. **Final pass.** Index, location features and the chosen sub-models are refitted on the
   whole window; the comparables finder uses every training row. Blend weights and
   interval quantiles from the validation pass are kept as they are (honest: they were
   measured out of sample, on a horizon like the one the model is used on).

Examples
--------
>>> from estimo.synth import generate_market
>>> frame = generate_market(2_500, seed=3, faults=False).frame
>>> avm = AVM(n_estimators=40, min_city_rows=300, comps_k=5).fit(frame)
>>> valuations = avm.value(frame.tail(2))
>>> v = valuations[0]
>>> bool(v.low <= v.price <= v.high)
True
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo import __version__
from estimo.bundle_folder import CHECKSUM_FILE, MANIFEST_KEY, BundleFolder
from estimo.errors import DataError, EstimoError, NotFittedError
from estimo.features.location import LocationFeatures, has_twins, without_twins
from estimo.frames import column_array, column_floats, records, str_values
from estimo.index import PriceIndex, data_period_months
from estimo.model.adjustments import LOCATION_COLUMNS
from estimo.model.blend import BlendWeights
from estimo.model.comps import ComparablesFinder, ComparablesResult
from estimo.model.comps_contributions import ReferenceContributions
from estimo.model.difficulty import DifficultyModel, model_features
from estimo.model.engine import EngineStage
from estimo.model.intervals import AdaptiveIntervals, ConformalIntervals, checked_share
from estimo.model.lazy_boosters import LazyBoosters
from estimo.model.plain_member import PlainMember, choose_weight
from estimo.model.segmented import GLOBAL, SegmentedModel
from estimo.model.trust import OutOfDistributionError, flag_warnings, months_between
from estimo.model.valuation import _check_training_frame
from estimo.model.valuation_result import (
    ExplanationPass,
    Valuation,
    WarningThresholds,
    build_warnings,
)
from estimo.params import json_params
from estimo.split import out_of_time_split, property_folds

log = logging.getLogger(__name__)

MIN_VALIDATION_ROWS = 30
"""New properties the validation slice needs at least."""
MIN_FIT_SHARE = 0.5
"""Share of the training rows an out-of-time validation slice must leave before it."""
SWITCH_CONFIDENCE = 0.95
"""Share of bootstrap resamples of the validation slice in which a setting other than the
default must value better before the engine switches to it (``use_offset: auto``)."""
KEY_FIELDS = ("area_m2", "rooms", "year_built", "floor", "lat", "lon")


class AVM(BaseEstimator):
    """Estimo's valuation engine (see the module docstring).

    Follows scikit-learn's estimator contract: keyword-only parameters that ``__init__``
    only stores, ``get_params``/``set_params``, ``sklearn.base.clone``; learned attributes
    end in ``_``. :func:`estimo.params.json_params` gives the parameters as JSON.

    Parameters
    ----------
    min_city_rows : int
        Training rows a city needs for its own model.
    validation_months : int
        Months at the end of the training window held out for choices and calibration
        (at least one period of the data: quarterly snapshots hold out the last quarter).
    holdout : {"random", "spatial"}
        How properties are held out when the data has no time to split on (a single date,
        or dates that cannot give an out-of-time slice): random properties, or whole ~2 km
        cells (valuing where there are no nearby sales).
    holdout_folds : int
        The held-out fold is one of this many (5: a fifth of the properties).
    dedupe : {"latest", "first", "weight", "none"}
        How re-listings of one property are used for training.
    n_estimators, learning_rate, num_leaves, min_child_samples, colsample_bytree, objective :
        LightGBM settings of every sub-model (trees are capped by early stopping).
    subsample : float
        Share of the training rows each tree is grown on (bagging; 1: every row).
    reg_lambda : float
        L2 penalty on the leaf values.
    huber_delta : float
        Where the Huber loss turns from squared to absolute, in log price (0.15: errors
        beyond about 16 % count linearly). 0.07 and 0.3 scored worse on the Poland
        validation slice (``benchmarks/validation_sweep.py``).
    max_depth : int
        Depth limit of every tree (-1: none). 8 scored as well as or better than no limit on
        the validation slices of Poland and King County, and bounds the cost of exact
        explanations (TreeSHAP's work grows with the square of the depth).
    knn_k : int
        Neighbours of the spatial lag.
    twin_m, twin_log_area : float
        How near (metres) and how alike in area (log difference) a training row must be to
        count as the same or an identical flat (see :mod:`estimo.features.location`).
    map_axes : int
        Rotated coordinates given to the trees (``loc_axis_*``, see
        :mod:`estimo.features.location`; 0: latitude and longitude only).
    use_offset : bool or "auto"
        Learn on top of the neighbours' price per m² times the area (True), or learn the
        log price from the city's level with the neighbours' price as a feature (False).
        ``"auto"`` fits both in the validation pass and keeps the offset unless the model
        without it values the validation slice better (MdAPE after the plain member's
        blend) in at least 95 % of bootstrap resamples of the slice
        (:data:`SWITCH_CONFIDENCE`); ``validation_["use_offset"]`` records both scores and
        the confidence. Not the default: on the shared markets it never switched (Ames'
        slice preferred no offset in 74 % of resamples) and it costs one more model fit
        (``benchmarks/offset_choice.py``).
    index_controls, index_smoothing, index_trend_months, index_damping, index_trend_check :
        Price index settings (see :class:`estimo.index.PriceIndex`: ``trend_check`` keeps
        the carried trend only in cities where it forecast the index's own past better than
        a flat level).
    plain_member : bool
        Blend the engine's model with a plain LightGBM (every feature and the date, L2
        loss) with the weight in [0, 1] that values the validation slice best (0 where it
        adds nothing; see :mod:`estimo.model.plain_member`).
    comps : bool
        Blend the model with comparables.
    comps_k : int
        Comparables per valuation.
    comps_location_features : sequence of str
        Columns that follow from where the property is (distances to the centre, to
        schools, ...): a comparable's adjustment for them is one "location" adjustment, with
        its coordinates, instead of one each (more coherent, and a faster valuation).
    interval_levels : sequence of float
        Nominal coverages of the price ranges; the first is the default range.
    interval_segment : str or None
        Column defining Mondrian segments within a city (e.g. ``"property_type"``).
    ood : {"widen", "refuse"}
        What to do with a property out of distribution (far from every known home, in a
        city never seen, outside the training range of size, floor or year built, or valued
        past the data): widen its range and lower its confidence, with a warning, or refuse
        it (:class:`~estimo.model.trust.OutOfDistributionError`). See
        :class:`~estimo.model.intervals.AdaptiveIntervals`.
    seed : int
        Seed of every random choice.
    n_jobs : int
        Sub-models trained in parallel.
    currency : str
        Currency of the prices (shown in valuations).
    progress : bool
        Show progress bars on stderr.
    """

    def __init__(
        self,
        *,
        min_city_rows: int = 2000,
        validation_months: int = 2,
        holdout: str = "random",
        holdout_folds: int = 5,
        dedupe: str = "latest",
        n_estimators: int = 2000,
        learning_rate: float = 0.05,
        num_leaves: int = 63,
        max_depth: int = 8,
        min_child_samples: int = 20,
        colsample_bytree: float = 0.7,
        subsample: float = 0.8,
        reg_lambda: float = 1.0,
        objective: str = "huber",
        huber_delta: float = 0.15,
        knn_k: int = 20,
        twin_m: float = 100.0,
        twin_log_area: float = 0.01,
        map_axes: int = 6,
        use_offset: bool | str = True,
        index_controls: str = "characteristics",
        index_smoothing: float | str = 50.0,
        index_trend_months: int = 3,
        index_damping: float = 0.8,
        index_trend_check: bool = True,
        plain_member: bool = True,
        comps: bool = True,
        comps_k: int = 8,
        comps_location_features: Sequence[str] = (),
        interval_levels: tuple[float, ...] | list[float] = (0.8, 0.9),
        interval_segment: str | None = "property_type",
        ood: str = "widen",
        seed: int = 0,
        n_jobs: int = 2,
        currency: str = "",
        progress: bool = False,
    ) -> None:
        self.min_city_rows = min_city_rows
        self.validation_months = validation_months
        self.holdout = holdout
        self.holdout_folds = holdout_folds
        self.dedupe = dedupe
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.subsample = subsample
        self.reg_lambda = reg_lambda
        self.objective = objective
        self.huber_delta = huber_delta
        self.knn_k = knn_k
        self.twin_m = twin_m
        self.map_axes = map_axes
        self.twin_log_area = twin_log_area
        self.use_offset = use_offset
        self.index_controls = index_controls
        self.index_smoothing = index_smoothing
        self.index_trend_months = index_trend_months
        self.index_damping = index_damping
        self.index_trend_check = index_trend_check
        self.plain_member = plain_member
        self.comps = comps
        self.comps_k = comps_k
        self.comps_location_features = comps_location_features
        self.interval_levels = interval_levels
        self.interval_segment = interval_segment
        self.ood = ood
        self.seed = seed
        self.n_jobs = n_jobs
        self.currency = currency
        self.progress = progress

    # ------------------------------------------------------------------ building blocks
    def _offset_candidates(self) -> tuple[bool, ...]:
        """The values of ``use_offset`` the validation pass tries (both for ``"auto"``)."""
        if self.use_offset == "auto":
            return (True, False)
        if isinstance(self.use_offset, bool | np.bool_):
            return (bool(self.use_offset),)
        raise ValueError(f"use_offset is {self.use_offset!r}; expected true, false or 'auto'")

    def _new_stage(self, use_offset: bool) -> EngineStage:
        return EngineStage(
            PriceIndex(
                controls=self.index_controls,
                smoothing=self.index_smoothing,
                trend_months=self.index_trend_months,
                damping=self.index_damping,
                trend_check=self.index_trend_check,
            ),
            LocationFeatures(
                k=self.knn_k,
                twin_m=self.twin_m,
                twin_log_area=self.twin_log_area,
                axes=self.map_axes,
            ),
            SegmentedModel(
                min_city_rows=self.min_city_rows,
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                max_depth=self.max_depth,
                min_child_samples=self.min_child_samples,
                colsample_bytree=self.colsample_bytree,
                subsample=self.subsample,
                reg_lambda=self.reg_lambda,
                objective=self.objective,
                huber_delta=self.huber_delta,
                seed=self.seed,
                n_jobs=self.n_jobs,
                progress=self.progress,
            ),
            dedupe=self.dedupe,
            use_offset=use_offset,
        )

    def _new_finder(self) -> ComparablesFinder:
        return ComparablesFinder(
            n_comps=self.comps_k, location_features=tuple(self.comps_location_features)
        )

    def _new_plain(self) -> PlainMember:
        return PlainMember(
            n_estimators=self.n_estimators,
            seed=self.seed,
            n_jobs=max(1, self.n_jobs),
            map_axes=self.map_axes,
        )

    def _segments(self, frame: pd.DataFrame) -> Any:
        if self.interval_segment and self.interval_segment in frame:
            return frame[self.interval_segment].to_numpy(dtype=object)
        return None

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        frame: pd.DataFrame,
        y: Any = None,
        *,
        sample_weight: np.ndarray | None = None,
        price_outlier_share: float = 0.0,
    ) -> AVM:
        """Fit the engine on a canonical frame (see the module docstring).

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical training rows (``price``, ``date``, ``city`` required; ``price`` may
            come as ``y`` instead).
        y : array-like, optional
            The prices, as scikit-learn's tools pass them (``fit(X, y)``): they replace
            ``frame["price"]``. (The second argument used to be the sample weights, so
            ``cross_val_score(AVM(), X, y)`` trained with the prices as weights.)
        sample_weight : array, optional
            Weight per row (e.g. sale prices weigh more than asking prices).
        price_outlier_share : float
            Share of the market's prices that the cleaning dropped before this fit as
            robust outliers, typos excepted (:class:`estimo.pipeline.ValuationPipeline`
            passes it). The validation slice never holds such prices but new ones will
            come, and a range almost never holds them: the ranges are calibrated to hold
            their nominal share of *all* prices (see
            :class:`~estimo.model.intervals.ConformalIntervals`'s ``uncovered_share``), and
            the predicted share within 10 % is lowered by it.

        Raises
        ------
        DataError
            If the frame cannot be trained on, or it is too short to hold out
            ``validation_months`` months with at least 30 new properties.
        """
        started = time.perf_counter()
        if y is not None:
            frame = with_prices(frame, y)
        frame, weight = self._checked_input(frame, sample_weight)
        self.price_outlier_share_ = checked_share(
            price_outlier_share, "price_outlier_share", "cannot fit the valuation engine"
        )
        stage_a, _ = self._validation_pass(frame, weight)
        log.info("validation pass done in %.1f s", time.perf_counter() - started)
        self.stage_ = self._new_stage(stage_a.use_offset).fit(frame, weight, template=stage_a.model)
        if self.plain_ is not None:
            self.plain_ = self.plain_.refit(frame, weight)
        self.finder_ = self._new_finder().fit(frame) if self.comps else None
        self.comps_log_ = self._comps_reference_log()
        self.cities_ = tuple(sorted(frame["city"].astype(str).unique()))
        self.trained_until_ = pd.Timestamp(frame["date"].max())
        self.reference_date_ = self.stage_.reference_date_
        self.routing_ = self.stage_.model.routing_
        self.n_train_ = len(frame)
        self.bundle_extra_: dict[str, Any] = {}  # facts a saved bundle keeps (from_bundle)
        self.fit_seconds_ = time.perf_counter() - started
        log.info("AVM fitted on %d rows in %.1f s", len(frame), self.fit_seconds_)
        return self

    def validate(
        self,
        frame: pd.DataFrame,
        sample_weight: np.ndarray | None = None,
        *,
        price_outlier_share: float = 0.0,
    ) -> dict[str, Any]:
        """Only the validation pass of :meth:`fit`: how well these settings value the new
        properties of the last ``validation_months`` months, when trained on the months
        before them.

        The way to choose settings without a test set: the score reads no row after the
        training window, and it is what :meth:`fit` records in ``validation_``. It costs
        about half a fit; the engine is not fitted afterwards (no serving models).

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical training rows, as for :meth:`fit`.
        sample_weight : array, optional
            Weight per row.
        price_outlier_share : float
            As :meth:`fit`.

        Returns
        -------
        dict
            ``validation_``: MdAPE and PE10 of the model alone (``"model"``), the
            comparables value alone (``"comps"``) and the valuation (``"blend"``), per city
            (``"by_city"``), the slice's size and first date, and the number of trees of
            the sub-models (``"trees"``: what an exact explanation walks through).
            ``validation_stage_`` and ``validation_rows_`` keep the stage trained for the
            pass and the slice's rows, to look further (``validation_stage_.predict_log(
            validation_rows_)`` is the model alone).

        Raises
        ------
        DataError
            As :meth:`fit`.
        ValueError
            If the engine is already fitted (the pass would replace the blend weights and
            ranges it serves with).
        """
        if hasattr(self, "stage_"):
            raise ValueError(
                "validate() scores settings before a fit, and this engine is already fitted: "
                "its validation_ holds its own validation report; to score other rows, use "
                "sklearn.base.clone(engine).validate(frame)"
            )
        frame, weight = self._checked_input(frame, sample_weight)
        self.price_outlier_share_ = checked_share(
            price_outlier_share, "price_outlier_share", "cannot fit the valuation engine"
        )
        self.validation_stage_, self.validation_rows_ = self._validation_pass(frame, weight)
        return self.validation_

    def _checked_input(
        self, frame: pd.DataFrame, sample_weight: np.ndarray | None
    ) -> tuple[pd.DataFrame, np.ndarray | None]:
        """The training frame (index reset) and weights, after checking they can be used."""
        _check_training_frame(frame)
        unknown = [c for c in self.comps_location_features if c not in frame]
        if unknown:
            raise DataError(
                [
                    f"comps_location_features lists {c!r}, which is not a column of the "
                    "training frame; expected one of its feature columns"
                    for c in unknown
                ],
                header="cannot fit the valuation engine",
            )
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return frame.reset_index(drop=True), weight

    def _validation_pass(
        self, frame: pd.DataFrame, weight: np.ndarray | None
    ) -> tuple[EngineStage, pd.DataFrame]:
        """Fit a stage on the rows before the validation slice (one per value of
        ``use_offset`` tried); keep the better, choose the sub-models, learn the blend and
        calibrate the ranges on the slice (sets ``validation_``). Returns the stage and the
        slice's rows."""
        split = self._validation_split(frame)
        fit_rows = split.fit_rows
        fit_part = frame.iloc[fit_rows].reset_index(drop=True)
        fit_weight = None if weight is None else weight[fit_rows]
        stages = [
            self._new_stage(offset).fit(fit_part, fit_weight, validation=split.test)
            for offset in self._offset_candidates()
        ]
        stage = self._calibrate(stages, fit_part, split.test, fit_weight)
        self.validation_["trees"] = int(sum(stage.model.rounds_.values()))
        self.validation_["kind"] = split.kind
        return stage, split.test

    def _validation_split(self, frame: pd.DataFrame) -> ValidationSlice:
        """The rows the choices are made on, and the rows the validation stage is fitted on.

        Dated data: the new properties of the last ``validation_months`` months, or of the
        last period of the data when its dates are further apart (quarterly or yearly
        snapshots: :func:`estimo.index.data_period_months`), widened a period at a time
        while it holds fewer than 30 new properties, as long as at least half the rows stay
        before it. Data with a single date (no time: a cross-section), or whose time cannot
        give such a slice: one of ``holdout_folds`` folds of the properties, drawn at random
        or by ~2 km cells (``holdout="spatial"``).
        """
        period = data_period_months(frame["date"])
        if period == 0:
            return self._holdout_slice(frame, "the data has a single date")
        starts = np.unique(frame["date"].dt.to_period("M").dt.to_timestamp().to_numpy())
        last = pd.Timestamp(starts[-1])
        periods = -(-int(self.validation_months) // period)  # whole periods, at least one
        latest = (last - pd.DateOffset(months=(periods - 1) * period)).to_datetime64()
        problem = "no month before it to train on"
        for cutoff in (pd.Timestamp(c) for c in starts[::-1] if c <= latest):
            before = (frame["date"] < cutoff).to_numpy()
            if before.mean() < MIN_FIT_SHARE:
                problem = f"fewer than {MIN_FIT_SHARE:.0%} of the rows are dated before it"
                break
            try:
                split = out_of_time_split(frame, cutoff)
            except DataError as exc:
                problem = str(exc).splitlines()[-1].strip(" -")
                continue
            if len(split.test) >= MIN_VALIDATION_ROWS:
                log.info("validation slice: %s", split.describe())
                return ValidationSlice(np.flatnonzero(before), split.test, "out of time")
            problem = f"only {len(split.test)} new properties in it"
        return self._holdout_slice(
            frame,
            f"no out-of-time slice from {pd.Timestamp(latest):%Y-%m} back works ({problem})",
        )

    def _holdout_slice(self, frame: pd.DataFrame, why: str) -> ValidationSlice:
        """One fold of the properties (random or spatial) held out for the choices."""
        folds = property_folds(
            frame, self.holdout_folds, spatial=self.holdout == "spatial", seed=self.seed
        )
        held = folds == 0
        test = frame.loc[held].drop_duplicates("id", keep="first").reset_index(drop=True)
        if len(test) < MIN_VALIDATION_ROWS or held.all():
            raise DataError(
                [
                    f"the validation fold (1 of {self.holdout_folds}, {self.holdout}) holds "
                    f"{len(test)} properties; the engine needs at least {MIN_VALIDATION_ROWS} "
                    f"to choose its settings, i.e. about {MIN_VALIDATION_ROWS * self.holdout_folds}"
                    f" properties in all (the training rows have {frame['id'].nunique()})"
                ],
                header="cannot train",
            )
        log.info("validation slice: %s fold of %d properties (%s)", self.holdout, len(test), why)
        return ValidationSlice(np.flatnonzero(~held), test, f"{self.holdout} hold-out fold")

    def _calibrate(
        self,
        stages: Sequence[EngineStage],
        fit_part: pd.DataFrame,
        validation: pd.DataFrame,
        fit_weight: np.ndarray | None = None,
    ) -> EngineStage:
        """Choose among ``stages`` (see :meth:`_chosen_stage`), fit the plain member, the
        comparables blend and the ranges on the validation slice; returns the stage kept."""
        actual = np.log(validation["price"].to_numpy(float))
        engine_logs = [stage.predict_log(validation) for stage in stages]
        self.plain_ = None
        if self.plain_member:
            self.plain_ = self._new_plain().fit_validation(
                fit_part, fit_weight, validation, engine_logs[0]
            )
        plain_log = None if self.plain_ is None else self.plain_.validation_log_
        best, offset_report = _chosen_stage(stages, engine_logs, plain_log, actual, self.seed)
        stage, engine_log = stages[best], engine_logs[best]
        model_log = engine_log
        if self.plain_ is not None:
            if best != 0:  # its weight was chosen against stage 0
                tried = offset_report["tried"][str(stage.use_offset).lower()]
                self.plain_.weight_ = tried["plain_weight"]
            model_log = self.plain_.blend(engine_log, validation)
        final_log = model_log
        comps_log = np.full(len(validation), np.nan)
        self.blend_ = None
        self.warning_thresholds_ = WarningThresholds()
        summary = None
        if self.comps:
            finder = self._new_finder().fit(fit_part)
            # adjustments from characteristics only (see EngineStage.hedonic_view)
            result = finder.value(validation, stage.hedonic_view(), index=stage.index)
            comps_log = result.summary["comps_log_price"].to_numpy(float)
            self.blend_ = BlendWeights().fit(result.summary, model_log, comps_log, actual)
            final_log, _ = self.blend_.blend(model_log, comps_log, result.summary)
            summary = result.summary
            self.warning_thresholds_ = WarningThresholds.calibrated(
                column_floats(summary, "mean_similarity")
            )
        cities = validation["city"].astype(str).to_numpy()
        uncovered = self.price_outlier_share_
        self.intervals_ = ConformalIntervals(
            levels=tuple(self.interval_levels), uncovered_share=uncovered
        ).fit(actual - final_log, cities, self._segments(validation))
        difficulty = DifficultyModel().fit_ranges(fit_part)
        features = model_features(
            validation, summary, difficulty.ranges_, self.comps_k, model_log=model_log
        )
        self.adaptive_ = AdaptiveIntervals(
            levels=tuple(self.interval_levels), seed=self.seed, uncovered_share=uncovered
        )
        self.adaptive_.fit(
            actual - final_log, features, cities, self._segments(validation), difficulty
        )
        self.validation_ = _validation_report(actual, model_log, comps_log, final_log, cities)
        if self.plain_ is not None:
            self.validation_["plain_member"] = {
                "weight": self.plain_.weight_,
                "trees": self.plain_.rounds_,
                "engine": _scores(actual, engine_log),
                "plain": _scores(actual, self.plain_.validation_log_),
            }
        self.validation_["use_offset"] = offset_report
        self.validation_["price_outlier_share"] = uncovered
        self.validation_["n"] = len(validation)
        self.validation_["from"] = f"{validation['date'].min():%Y-%m-%d}"
        self.validation_["n_fit"] = len(fit_part)
        return stage

    def _comps_reference_log(self) -> np.ndarray | None:
        """The hedonic model's log price of every comparables reference row at the
        reference date (computed once: a valuation adds the index's change to its date
        instead of predicting its comparables again)."""
        if self.finder_ is None:
            return None
        return self.stage_.hedonic_view().at_reference(self.finder_.reference_)

    def _comps_log(self, rows: np.ndarray, cities: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """``reference_log`` of :meth:`ComparablesFinder.value`: the comparables' stored
        log prices at the reference date moved to their valuation dates by the index
        (exactly :meth:`HedonicView.predict_log` of the rows dated ``dates``)."""
        if getattr(self, "comps_log_", None) is None:
            self.comps_log_ = self._comps_reference_log()
        stage = self.stage_
        return self.comps_log_[rows] + stage.index.log_factor(cities, stage.reference_date_, dates)

    def _comps_contributions(self) -> ReferenceContributions:
        """The comparables' adjustments split by exact tree contributions, each reference
        row's computed once (built on first use; see
        :mod:`estimo.model.comps_contributions`)."""
        split = getattr(self, "_reference_contributions", None)
        if split is None or split.stage is not self.stage_:
            location = (*LOCATION_COLUMNS, *self.comps_location_features)
            split = ReferenceContributions(self.stage_, self.finder_.reference_, location)
            saved = getattr(self, "_saved_contributions", None)
            if saved is not None:  # a loaded engine's, stored when it was saved
                folder, name = saved
                split.use_table(folder.read_parquet(name), source=f"{folder.url!r}/{name}")
            self._reference_contributions = split
        return split

    def _comps_contributions_to_bundle(self, folder: BundleFolder) -> str | None:
        """Write every comparables reference row's grouped contributions (computed now for
        the rows no valuation has asked for yet); returns the file name (None without
        comparables)."""
        if self.finder_ is None:
            return None
        table = self._comps_contributions().table(progress=self.progress)
        folder.write_parquet(COMPS_CONTRIBUTIONS_FILE, table)
        return COMPS_CONTRIBUTIONS_FILE

    # ------------------------------------------------------------------ predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "stage_"):
            raise NotFittedError("this AVM is not fitted yet; call fit(frame) first")

    def predict_log(self, frame: pd.DataFrame, valuation_date: Any = None) -> np.ndarray:
        """Model log price (no comparables) of each row at its valuation date.

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical rows (any subset of the features).
        valuation_date : date or array of dates, optional
            Default: each row's ``date``, else the end of the training data.
        """
        self._check_fitted()
        return self._model_log(
            frame, self.stage_.predict_log(frame, valuation_date), valuation_date
        )

    def _model_log(
        self,
        frame: pd.DataFrame,
        engine_log: np.ndarray,
        valuation_date: Any,
        plain_matrix: Any = None,
    ) -> np.ndarray:
        """The model's log price: the engine's blended with the plain member's
        (``plain_matrix``: what the plain member reads for these rows, when known)."""
        plain: PlainMember | None = getattr(self, "plain_", None)
        if plain is None or not plain.active or not len(frame):
            return engine_log
        dates = self.stage_.valuation_dates(frame, valuation_date)
        return plain.blend(engine_log, frame, dates, matrix=plain_matrix)

    def _plain_matrix(self, frame: pd.DataFrame, dates: pd.Series) -> Any:
        """What the active plain member reads for ``frame`` at ``dates``, for a pass that
        both values and explains (built once for both); None without an active member."""
        plain: PlainMember | None = getattr(self, "plain_", None)
        if plain is None or not plain.active or not len(frame):
            return None
        return plain.model_matrix(frame, dates)

    def _parts(
        self,
        frame: pd.DataFrame,
        valuation_date: Any = None,
        explain: bool = False,
        features: pd.DataFrame | None = None,
    ) -> dict[str, Any]:
        self._check_fitted()
        if not _positional(frame.index):  # positions 0..n-1 already: read as it is
            frame = frame.reset_index(drop=True)
        # the valuation dates once, handed down as they are (EngineStage.valuation_dates)
        dates = self.stage_.valuation_dates(frame, valuation_date)
        steps = None
        if len(frame):
            steps = self.stage_.predict_steps(frame, dates, features)
            model_log = steps.log_price
        else:
            model_log = np.empty(0)
        # explained too (features given): the plain member's matrix once for both
        plain_matrix = self._plain_matrix(frame, dates) if features is not None else None
        model_log = self._model_log(frame, model_log, dates, plain_matrix)
        parts: dict[str, Any] = {
            "frame": frame,
            "dates": dates,
            "steps": steps if features is not None else None,  # explained too: keep them
            "plain_matrix": plain_matrix,
            "model_log": model_log,
            "final_log": model_log,
            "comps_log": np.full(len(frame), np.nan),
            "weight": np.zeros(len(frame)),
            "comps": None,
        }
        if self.finder_ is not None and self.blend_ is not None and len(frame):
            # the subjects' hedonic features are their own without the twin columns:
            # derived, not searched for again (see EngineStage.hedonic_view)
            view = self.stage_.hedonic_view()
            twins = bool(has_twins(steps.features).any())
            # without twins, the features are their own without the twin columns already
            hedonic_X = without_twins(steps.features) if twins else steps.features
            if twins or steps.at_reference is None:
                at_reference = view.at_reference(frame, hedonic_X)
            else:  # the view's prediction is the stage's own: the same features and offset
                at_reference = steps.at_reference
            subject_log = at_reference + steps.time_shift
            split = None
            if explain:
                known = None
                if not twins:
                    # the same features as the hedonic view's: one TreeSHAP pass for both
                    known = self.stage_.model.contribution_values(
                        steps.features, matrix=steps.matrix, cities=steps.cities
                    )
                    parts["tree_values"] = known
                split = self._comps_contributions().with_subject_features(
                    hedonic_X, None if known is None else known[1]
                )
            result: ComparablesResult = self.finder_.value(
                frame,
                view,
                index=self.stage_.index,
                valuation_date=dates,
                subject_log=subject_log,
                explain=explain,
                reference_log=self._comps_log,
                reference_contributions=split,
            )
            comps_log = result.summary["comps_log_price"].to_numpy(float)
            final_log, weight = self.blend_.blend(model_log, comps_log, result.summary)
            parts.update(final_log=final_log, comps_log=comps_log, weight=weight, comps=result)
            if explain:
                parts["blend_reason"] = self.blend_.reasons(result.summary, comps_log)
        parts["trust"] = self._trust(frame, parts["comps"], dates, model_log)
        return parts

    def _trust(
        self,
        frame: pd.DataFrame,
        result: ComparablesResult | None,
        valuation_date: Any,
        model_log: np.ndarray,
    ) -> pd.DataFrame | None:
        """Adaptive ranges, confidence and out-of-distribution flags of each row (None for
        an engine saved before adaptive ranges: its fixed ranges serve)."""
        adaptive: AdaptiveIntervals | None = getattr(self, "adaptive_", None)
        if adaptive is None or not len(frame):
            return None
        summary = None if result is None else result.summary
        if summary is not None and not _positional(summary.index):
            summary = summary.reset_index(drop=True)
        difficulty = adaptive.difficulty_
        features = model_features(
            frame, summary, difficulty.ranges_, self.comps_k, model_log=model_log
        )
        dates = self.stage_.valuation_dates(frame, valuation_date)
        months_past = months_between(self.trained_until_, dates)
        flags = difficulty.flags(frame, summary, self.cities_, months_past)
        if self.ood == "refuse" and any(flags):
            raise OutOfDistributionError(frame, flags, months_past, difficulty)
        return adaptive.predict(  # with the flags and months past, for the warnings
            features,
            str_values(column_array(frame, "city")),
            self._segments(frame),
            flags,
            months_past,
        )

    def predict(self, frame: pd.DataFrame, valuation_date: Any = None) -> np.ndarray:
        """Valuations (model blended with comparables) of each row at its valuation date."""
        return np.exp(self._parts(frame, valuation_date)["final_log"])

    def predict_components(self, frame: pd.DataFrame, valuation_date: Any = None) -> pd.DataFrame:
        """Model value, comparables value, blend weight and final value of each row."""
        parts = self._parts(frame, valuation_date)
        return pd.DataFrame(
            {
                "model": np.exp(parts["model_log"]),
                "comps": np.exp(parts["comps_log"]),
                "blend_weight": parts["weight"],
                "predicted": np.exp(parts["final_log"]),
            },
            index=frame.index,
        )

    def predict_interval(
        self, frame: pd.DataFrame, level: float | None = None, valuation_date: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of the price range at nominal coverage ``level``."""
        parts = self._parts(frame, valuation_date)
        return self._interval(parts["frame"], parts["final_log"], level, parts["trust"])

    def _interval(
        self,
        frame: pd.DataFrame,
        final_log: np.ndarray,
        level: float | None,
        trust: pd.DataFrame | None = None,
        fixed: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The range at ``level``: the adaptive one (``trust``), else the fixed per-city one
        (also with ``fixed=True``, the baseline the benchmark compares with)."""
        level = float(self.interval_levels[0] if level is None else level)
        if trust is not None and not fixed:
            pct = round(level * 100)
            lo = column_floats(trust, f"low_{pct}")
            hi = column_floats(trust, f"high_{pct}")
        else:
            cities = str_values(column_array(frame, "city"))
            lo, hi = self.intervals_.bounds(cities, self._segments(frame), level=level)
        return np.exp(final_log + np.minimum(lo, 0)), np.exp(final_log + np.maximum(hi, 0))

    def predict_table(self, frame: pd.DataFrame, valuation_date: Any = None) -> pd.DataFrame:
        """Everything a backtest stores per row: components, ranges at every level, FSD,
        sub-model; then the confidence word, the predicted share within 10 %
        (``pe10_predicted``), the difficulty scale and out-of-distribution flags (``ood``) of
        the adaptive ranges, and the fixed per-city ranges (``fixed_low_80``, ...,
        ``fixed_fsd``: the engine's ranges before issue 18, kept as a baseline)."""
        parts = self._parts(frame, valuation_date)
        frame = parts["frame"]
        out = pd.DataFrame(
            {
                "predicted": np.exp(parts["final_log"]),
                "model": np.exp(parts["model_log"]),
                "comps": np.exp(parts["comps_log"]),
                "blend_weight": parts["weight"],
            }
        )
        trust = parts["trust"]
        cities = str_values(column_array(frame, "city"))
        fixed = {}
        for i, level in enumerate(self.interval_levels):
            lo, hi = self._interval(frame, parts["final_log"], level, trust)
            suffix = "" if i == 0 else f"_{round(level * 100)}"
            out[f"low{suffix}"], out[f"high{suffix}"] = lo, hi
            lo, hi = self._interval(frame, parts["final_log"], level, fixed=True)
            fixed[f"fixed_low_{round(level * 100)}"], fixed[f"fixed_high_{round(level * 100)}"] = (
                lo,
                hi,
            )
        fixed["fixed_fsd"] = self.intervals_.fsd(cities, self._segments(frame))
        out["fsd"] = fixed["fixed_fsd"] if trust is None else trust["fsd"].to_numpy(float)
        out["sub_model"] = self.sub_model_names(frame)
        if trust is not None:  # the adaptive ranges' facts, then the fixed ranges (baseline)
            out["confidence"] = trust["confidence"].to_numpy()
            out["pe10_predicted"] = trust["pe10"].to_numpy(float)
            out["difficulty"] = trust["sigma"].to_numpy(float)
            out["ood"] = [";".join(f) for f in trust["flags"]]
        for name, values in fixed.items():
            out[name] = values
        return out

    @property
    def values_new_cities(self) -> bool:
        """Whether a city not seen in training is valued: always, by the global sub-model
        and the global price index (with a warning)."""
        return True

    def sub_model_names(self, frame: pd.DataFrame) -> list[str]:
        """Which sub-model served each row: ``city:<name>``, ``global`` or ``blend:<name>``."""
        self._check_fitted()
        cities = str_values(column_array(frame, "city"))
        route = self.stage_.model.served_by(cities)
        return [r if r == "global" else f"{r}:{c}" for r, c in zip(route, cities, strict=True)]

    def value(
        self, frame: pd.DataFrame, valuation_date: Any = None, explain: bool = True
    ) -> list[Valuation]:
        """Full valuations: price, range, confidence, comparables, blend and warnings."""
        parts = self._parts(frame, valuation_date, explain=explain)
        return self._valuations(parts, parts["dates"])

    def value_with_contributions(
        self, frame: pd.DataFrame, valuation_date: Any = None
    ) -> ExplanationPass:
        """:meth:`value` and :meth:`log_contributions` from one pass, for explanations: the
        features are built once and the comparables searched and adjusted once.

        Returns
        -------
        ExplanationPass
            The valuations, the contribution frame (indexed like ``frame``) and the feature
            rows the models saw (positional index), whose derived values (the distance to
            the centre, ...) the words quote.

        (Computing the tree contributions in a worker thread while the comparables are
        searched was tried: on 2 cores it saved nothing in batches and cost more for single
        properties, LightGBM's and the search's threads competing for the cores.)
        """
        self._check_fitted()
        subjects = frame.reset_index(drop=True)
        X = self.stage_.features(subjects)
        parts = self._parts(subjects, valuation_date, explain=True, features=X)
        contributions = self._contributions(parts, parts["dates"], frame.index, features=X)
        return ExplanationPass(self._valuations(parts, parts["dates"]), contributions, X)

    def _valuations(self, parts: dict[str, Any], valuation_date: Any) -> list[Valuation]:
        subjects = parts["frame"]
        final = parts["final_log"]
        trust: pd.DataFrame | None = parts.get("trust")
        low, high = self._interval(subjects, final, None, trust)
        cities = str_values(column_array(subjects, "city"))
        missing_city = np.asarray(pd.isna(column_array(subjects, "city")))
        if trust is not None:
            fsd = column_floats(trust, "fsd")
        else:
            fsd = self.intervals_.fsd(cities, self._segments(subjects))
        dates = self.stage_.valuation_dates(subjects, valuation_date)
        names = self.sub_model_names(subjects)
        result: ComparablesResult | None = parts["comps"]
        other_ranges = {
            f"{round(level * 100)}": self._interval(subjects, final, level, trust)
            for level in self.interval_levels[1:]
        }
        # every column read once for all subjects (a pandas read per row costs more than
        # the row's own arithmetic)
        summaries = records(result.summary) if result is not None else None
        imputed = self._missing(subjects)
        if trust is not None:
            flags = column_array(trust, "flags").tolist()
            months_past = column_floats(trust, "months_past")
            confidence = [str(c) for c in column_array(trust, "confidence").tolist()]
        date_values = dates.tolist()
        ids = column_array(subjects, "id").tolist() if "id" in subjects else None
        out = []
        for i in range(len(subjects)):
            comparables = result.for_subject(i) if result is not None else []
            warnings = build_warnings(
                summaries[i] if summaries is not None else {},
                comparables,
                imputed=imputed[i],
                thresholds=self.warning_thresholds_,
            )
            if cities[i] not in self.cities_:
                why = (
                    "no city was given"
                    if missing_city[i]
                    else f"city {cities[i]!r} was not seen in training"
                )
                warnings.insert(0, f"{why}: valued by the global model and the global price index")
            if trust is not None:
                warnings.extend(
                    flag_warnings(
                        subjects.iloc[i] if flags[i] else {},  # the row only to quote a value
                        flags[i],
                        float(months_past[i]),
                        self.trained_until_,
                        self.adaptive_.difficulty_,
                    )
                )
            comps_price = float(np.exp(parts["comps_log"][i]))
            out.append(
                Valuation(
                    price=float(np.exp(final[i])),
                    low=float(low[i]),
                    high=float(high[i]),
                    fsd=float(fsd[i]),
                    confidence=None if trust is None else confidence[i],
                    valuation_date=date_values[i],
                    model_price=float(np.exp(parts["model_log"][i])),
                    comps_price=comps_price if np.isfinite(comps_price) else None,
                    blend_weight=float(parts["weight"][i]),
                    blend_reason=parts["blend_reason"][i] if "blend_reason" in parts else None,
                    currency=self.currency,
                    sub_model=names[i],
                    comparables=comparables,
                    warnings=warnings,
                    subject_id=str(ids[i]) if ids is not None else None,
                    ranges={
                        k: (float(lo[i]), float(hi[i])) for k, (lo, hi) in other_ranges.items()
                    },
                )
            )
        return out

    def _missing(self, frame: pd.DataFrame) -> list[list[str]]:
        """Per row, the key fields the model uses that the row lacks (imputed by it)."""
        known = set(self.stage_.model.spec_.names)
        fields = [f for f in KEY_FIELDS if f in known]
        absent = {
            f: np.asarray(pd.isna(column_array(frame, f)))
            if f in frame
            else np.ones(len(frame), dtype=bool)
            for f in fields
        }
        return [[f for f in fields if absent[f][i]] for i in range(len(frame))]

    def log_contributions(self, frame: pd.DataFrame, valuation_date: Any = None) -> pd.DataFrame:
        """Per-feature log contributions plus ``_base``, ``_time`` and ``_comparables``.

        Each row sums to the log of the final valuation. The model's neighbours-based
        starting price (the offset) is credited to ``loc_knn_weighted`` (location) and
        ``area_m2`` (size); ``_base`` is the training median log price.
        """
        self._check_fitted()
        subjects = frame.reset_index(drop=True)
        features = self.stage_.features(subjects)
        parts = self._parts(subjects, valuation_date, features=features)
        return self._contributions(parts, parts["dates"], frame.index, features=features)

    def _contributions(
        self,
        parts: dict[str, Any],
        valuation_date: Any,
        index: pd.Index,
        features: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        subjects = parts["frame"]
        stage = self.stage_
        steps = parts.get("steps")
        if steps is None:
            X = stage.features(subjects) if features is None else features
            steps = stage.predict_steps(subjects, valuation_date, X)
        if "tree_values" in parts and steps is parts["steps"]:
            names, values = parts["tree_values"]
            values = values.copy()  # the credits below are added in place
        else:
            names, values = stage.model.contribution_values(
                steps.features, matrix=steps.matrix, cities=steps.cities
            )
        column = {name: j for j, name in enumerate(names)}
        base = stage.global_level_
        area = steps.log_area
        area_part = np.where(
            np.isfinite(area) & stage.use_offset, area - stage.median_log_area_, 0.0
        )
        if "area_m2" in column:
            values[:, column["area_m2"]] += area_part
        location = column["loc_knn_weighted" if "loc_knn_weighted" in column else "city"]
        values[:, location] += steps.offset - base - area_part
        values[:, -1] += base
        time_part = steps.time_shift
        plain: PlainMember | None = getattr(self, "plain_", None)
        if plain is not None and plain.active and len(subjects):
            # the plain member's matrix of _parts when these are its rows and dates
            same = steps is parts["steps"] and valuation_date is parts["dates"]
            values, time_part = self._with_plain(
                plain,
                subjects,
                valuation_date,
                names,
                values,
                time_part,
                parts.get("plain_matrix") if same else None,
            )
        extra = np.column_stack([time_part, parts["final_log"] - parts["model_log"]])
        return pd.DataFrame(
            np.hstack([values, extra]), columns=_contract_columns(names), index=index
        )

    def _with_plain(
        self,
        plain: PlainMember,
        subjects: pd.DataFrame,
        valuation_date: Any,
        names: tuple[str, ...],
        values: np.ndarray,
        time_part: np.ndarray,
        plain_matrix: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The engine's contributions (``values``, last column the base; ``time_part``)
        weighed with the plain member's: ``(1 - w)`` times the engine's plus ``w`` times
        the plain model's, feature by feature (a feature the engine does not read counts
        with the base; the plain model's date with the time adjustment). ``plain_matrix``:
        what the plain member reads for these rows and dates, when known."""
        dates = self.stage_.valuation_dates(subjects, valuation_date)
        plain_names, plain_values, plain_time, plain_base = plain.contributions(
            subjects, dates, matrix=plain_matrix
        )
        w = plain.weight_
        out = (1 - w) * values
        column = {name: j for j, name in enumerate(names)}
        for j, name in enumerate(plain_names):
            out[:, column.get(name, len(names) - 1)] += w * plain_values[:, j]
        out[:, -1] += w * plain_base
        return out, (1 - w) * np.asarray(time_part, dtype=float) + w * plain_time

    # ------------------------------------------------------------------ saving
    def to_bundle(self, folder: BundleFolder, extra: dict[str, Any] | None = None) -> None:
        """Save the fitted engine into ``folder`` (layout in :mod:`estimo.model.bundle`):
        each part writes its own files; ``model.json`` holds the facts and ``extra``."""
        self._check_fitted()
        meta = {
            "format_version": BUNDLE_FORMAT,
            "estimo_version": __version__,
            "kind": BUNDLE_KIND,
            MANIFEST_KEY: CHECKSUM_FILE,
            "params": json_params(self),
            "cities": list(self.cities_),
            "trained_until": self.trained_until_.isoformat(),
            "n_train": self.n_train_,
            "fit_seconds": self.fit_seconds_,
            "validation": self.validation_,
            "blend": None if self.blend_ is None else self.blend_.to_dict(),
            "warning_thresholds": self.warning_thresholds_.to_dict(),
            "intervals": self.intervals_.to_bundle(folder),
            "adaptive_intervals": (
                self.adaptive_.to_bundle(folder) if hasattr(self, "adaptive_") else None
            ),
            "comps": None if self.finder_ is None else self.finder_.to_bundle(folder),
            "comps_model_log": self._comps_log_to_bundle(folder),
            "comps_contributions": self._comps_contributions_to_bundle(folder),
            "stage": self.stage_.to_bundle(folder),
            "plain": None
            if getattr(self, "plain_", None) is None
            else self.plain_.to_bundle(folder),
            "extra": extra or {},
        }
        folder.write_json(BUNDLE_META, meta)

    @classmethod
    def from_bundle(cls, folder: BundleFolder) -> AVM:
        """A fitted engine from a folder written by :meth:`to_bundle`.

        Raises
        ------
        EstimoError
            If the folder holds no engine of this format.
        """
        if not folder.exists(BUNDLE_META):
            raise EstimoError(f"{folder.url!r} holds no engine: {BUNDLE_META} is missing")
        meta = folder.read_json(BUNDLE_META)
        if meta.get("kind") != BUNDLE_KIND or meta.get("format_version") != BUNDLE_FORMAT:
            raise EstimoError(
                f"{folder.url!r}/{BUNDLE_META} has kind {meta.get('kind')!r}, format_version "
                f"{meta.get('format_version')!r}; expected {BUNDLE_KIND!r} version {BUNDLE_FORMAT}"
            )
        meta = _nested_layout(meta)
        model = cls(**meta["params"])
        model.stage_ = EngineStage.from_bundle(folder, meta["stage"])
        model.cities_ = tuple(meta["cities"])
        model.trained_until_ = pd.Timestamp(meta["trained_until"])
        model.reference_date_ = model.stage_.reference_date_
        model.routing_ = model.stage_.model.routing_
        model.n_train_ = int(meta["n_train"])
        model.fit_seconds_ = float(meta["fit_seconds"])
        model.validation_ = meta["validation"]
        model.blend_ = None if meta["blend"] is None else BlendWeights.from_dict(meta["blend"])
        model.warning_thresholds_ = WarningThresholds.from_dict(meta.get("warning_thresholds"))
        model.intervals_ = ConformalIntervals.from_bundle(folder, meta["intervals"])
        if meta.get("adaptive_intervals"):
            model.adaptive_ = AdaptiveIntervals.from_bundle(folder, meta["adaptive_intervals"])
        model.finder_ = (
            None if meta["comps"] is None else ComparablesFinder.from_bundle(folder, meta["comps"])
        )
        model.comps_log_ = None  # computed on first use for a bundle saved without it
        if meta.get("comps_model_log") and model.finder_ is not None:
            model.comps_log_ = folder.read_parquet(meta["comps_model_log"])["log"].to_numpy(float)
        model.plain_ = PlainMember.from_bundle(folder, meta["plain"]) if meta.get("plain") else None
        if meta.get("comps_contributions") and model.finder_ is not None:
            # read on first use (an explained valuation, or load_cities)
            model._saved_contributions = (folder, meta["comps_contributions"])
        model.bundle_extra_ = meta.get("extra", {})
        return model

    def _comps_log_to_bundle(self, folder: BundleFolder) -> str | None:
        """Write the comparables' log prices at the reference date (``comps_log_``);
        returns the file name (None without comparables)."""
        if self.finder_ is None:
            return None
        if getattr(self, "comps_log_", None) is None:
            self.comps_log_ = self._comps_reference_log()
        folder.write_parquet(COMPS_LOG_FILE, pd.DataFrame({"log": self.comps_log_}))
        return COMPS_LOG_FILE

    def load_cities(self, cities: Sequence[str] | None = None) -> dict[str, float]:
        """Read now what valuing in ``cities`` needs (default: every city) of an engine
        loaded from a bundle, which otherwise reads each part on first use: the global
        sub-model, the cities' own sub-models and their comparables' search trees; for every
        city (``cities`` None), also the comparables' tree contributions that explained
        valuations subtract (one table for all cities).

        Returns
        -------
        dict
            Seconds each read part took (``"(global)"``, ``"<city>"`` for a sub-model,
            ``"comps:<city>"`` for the search trees, ``"comps contributions"``); parts
            already read are not listed.
        """
        self._check_fitted()
        names = list(self.cities_) if cities is None else [str(c) for c in cities]
        seconds: dict[str, float] = {}
        boosters = self.stage_.model.boosters_
        if isinstance(boosters, LazyBoosters):
            before = set(boosters.loaded_names())
            boosters.load([GLOBAL, *names])
            seconds.update({k: v for k, v in boosters.load_seconds.items() if k not in before})
        if self.finder_ is not None:
            for city in names:
                if city in self.finder_._trees:
                    continue
                started = time.perf_counter()
                self.finder_.load_cities([city])
                seconds[f"comps:{city}"] = time.perf_counter() - started
            if cities is None and getattr(self, "_reference_contributions", None) is None:
                started = time.perf_counter()
                self._comps_contributions()
                seconds["comps contributions"] = time.perf_counter() - started
        return seconds

    def memory_bytes(self) -> int:
        """Bytes held by the fitted engine: tree models (text size), location and
        comparables tables, index and calibration tables."""
        self._check_fitted()
        stage = self.stage_
        loc = stage.location
        arrays = [loc.xyz_, loc.values_, loc.ids_, loc.twin_keys_]
        total = stage.model.memory_bytes() + sum(int(np.asarray(a).nbytes) for a in arrays)
        plain: PlainMember | None = getattr(self, "plain_", None)
        if plain is not None and plain.model_ is not None:
            total += len(plain.model_.booster_.model_to_string())
        tables = [stage.index.table(), self.intervals_.table_]
        if loc.neighbourhood_table_ is not None:
            tables.append(loc.neighbourhood_table_)
        if self.finder_ is not None:
            tables.append(self.finder_.reference_)
            split = getattr(self, "_reference_contributions", None)
            if split is not None:
                total += split.memory_bytes()
        return total + sum(int(t.memory_usage(deep=True).sum()) for t in tables)


BUNDLE_META = "model.json"
COMPS_LOG_FILE = "comps_model_log.parquet"
COMPS_CONTRIBUTIONS_FILE = "comps_contributions.parquet"
BUNDLE_KIND = "avm"
BUNDLE_FORMAT = 1


def _nested_layout(meta: dict[str, Any]) -> dict[str, Any]:
    """The facts of an engine saved before each part saved itself (one flat model.json)
    in today's nested layout; today's facts unchanged."""
    if "index_params" not in meta:
        return meta
    stage = dict(meta["stage"])
    stage["index"] = {"params": meta["index_params"]}
    stage["location"] = meta["location"]
    stage["segmented"] = meta["segmented"]
    return {
        **meta,
        "stage": stage,
        "comps": None if meta["comps"] is None else {"params": meta["comps"]},
    }


def _positional(index: pd.Index) -> bool:
    """Whether ``index`` is the positions 0, 1, ... (what ``reset_index(drop=True)`` gives;
    the frame is then read as it is, not copied)."""
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


@functools.lru_cache(maxsize=64)
def _contract_columns(names: tuple[str, ...]) -> pd.Index:
    """Columns of the contribution frame: the model's features, then ``_base``, ``_time``
    and ``_comparables`` (one Index per model: building it costs more than a row's sums)."""
    return pd.Index([*names[:-1], "_base", "_time", "_comparables"])


def _scores(actual: np.ndarray, pred: np.ndarray, rows: Any = slice(None)) -> dict[str, float]:
    """Rows valued, MdAPE and PE10 of log predictions against log prices."""
    pred, truth = np.asarray(pred, dtype=float)[rows], actual[rows]
    ok = np.isfinite(pred)
    ape = np.abs(np.exp(pred[ok] - truth[ok]) - 1)
    if not len(ape):
        return {"n": 0}
    return {
        "n": int(ok.sum()),
        "mdape": float(np.median(ape)),
        "pe10": float(np.mean(ape <= 0.1)),
    }


def _chosen_stage(
    stages: Sequence[EngineStage],
    engine_logs: Sequence[np.ndarray],
    plain_log: np.ndarray | None,
    actual: np.ndarray,
    seed: int = 0,
) -> tuple[int, dict[str, Any]]:
    """Which of the validation stages (fitted with different ``use_offset``) to keep.

    Each stage's model is blended with the plain member at its best weight and scored on
    the validation slice. The first stage (the default, the offset) is kept unless another
    has a smaller MdAPE (the median, as the city models are routed: a few wild listings do
    not decide) in at least :data:`SWITCH_CONFIDENCE` of paired bootstrap resamples of the
    slice's rows: two models that value the slice about as well leave the default, and a
    choice is not made on the noise of a few hundred rows. Returns the position kept and a
    report: the value kept, the confidence of the switch and, per value tried, the plain
    member's weight and the blend's mean absolute log error, MdAPE and PE10."""
    tried: dict[str, Any] = {}
    errors = []
    for stage, engine_log in zip(stages, engine_logs, strict=True):
        weight, blended = 0.0, engine_log
        if plain_log is not None:
            weight = choose_weight(engine_log, plain_log, actual)
            blended = (1 - weight) * engine_log + weight * plain_log
        ok = np.isfinite(blended) & np.isfinite(actual)
        errors.append(np.where(ok, np.abs(np.exp(blended - actual) - 1), np.nan))
        tried[str(stage.use_offset).lower()] = {
            "mean_abs_log_error": float(np.mean(np.abs(blended[ok] - actual[ok])))
            if ok.any()
            else None,
            "plain_weight": weight,
            **_scores(actual, blended),
        }
    best, confidence = 0, None
    for k in range(1, len(stages)):
        share = _bootstrap_better_share(errors[k], errors[0], seed=seed)
        confidence = share if confidence is None else max(confidence, share)
        if share >= SWITCH_CONFIDENCE:
            best = k
    if len(stages) > 1:
        log.info(
            "use_offset: %s (validation MdAPE %s; the other is better in %.0f %% of resamples)",
            stages[best].use_offset,
            ", ".join(f"{k} {100 * v.get('mdape', np.nan):.2f} %" for k, v in tried.items()),
            100 * (confidence or 0.0),
        )
    report = {"chosen": bool(stages[best].use_offset), "tried": tried}
    if confidence is not None:
        report["switch_confidence"] = confidence
    return best, report


def _bootstrap_better_share(
    errors: np.ndarray, default_errors: np.ndarray, seed: int = 0, resamples: int = 400
) -> float:
    """Share of paired bootstrap resamples of the rows in which ``errors`` (absolute
    percentage errors, NaN where a row was not valued) have a smaller median than
    ``default_errors``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> worse = np.abs(rng.normal(0, 0.10, 400))
    >>> _bootstrap_better_share(worse * 0.7, worse) > 0.95  # clearly better
    True
    >>> _bootstrap_better_share(worse * 1.0, worse)  # the same: never better
    0.0
    """
    ok = np.isfinite(errors) & np.isfinite(default_errors)
    a, b = errors[ok], default_errors[ok]
    if not len(a):
        return 0.0
    rng = np.random.default_rng(seed)
    better = 0
    for start in range(0, resamples, 50):  # chunks bound the memory on large slices
        rows = rng.integers(0, len(a), size=(min(50, resamples - start), len(a)))
        better += int(np.sum(np.median(a[rows], axis=1) < np.median(b[rows], axis=1)))
    return better / resamples


def _validation_report(
    actual: np.ndarray,
    model_log: np.ndarray,
    comps_log: np.ndarray,
    final_log: np.ndarray,
    cities: np.ndarray,
) -> dict[str, Any]:
    return {
        "model": _scores(actual, model_log),
        "comps": _scores(actual, comps_log),
        "blend": _scores(actual, final_log),
        "by_city": {c: _scores(actual, final_log, cities == c) for c in np.unique(cities)},
    }


class ValidationSlice(NamedTuple):
    """Where the engine makes its choices: the positions of the rows the validation stage is
    fitted on, the held-out properties (one row each), and how they were held out."""

    fit_rows: np.ndarray
    test: pd.DataFrame
    kind: str


def with_prices(frame: pd.DataFrame, y: Any) -> pd.DataFrame:
    """``frame`` with ``y`` (scikit-learn's target) as its prices.

    Raises
    ------
    DataError
        If ``y`` does not hold one price per row.
    """
    prices = np.asarray(y, dtype=float).reshape(-1)
    if len(prices) != len(frame):
        raise DataError(
            [f"y holds {len(prices)} prices for {len(frame)} rows; expected one per row"],
            header="cannot fit the valuation engine",
        )
    return frame.assign(price=prices)
