"""The first valuation model: LightGBM on log price with native categoricals.

:class:`ValuationModel` follows the scikit-learn estimator contract on canonical frames:
``fit(frame)`` learns from the ``price`` column, ``predict(frame)`` returns prices. The
feature set is every canonical feature field plus the pass-through columns
(:func:`estimo.schema.feature_columns`) and the date as a number of years, so the model can
learn the market's level over the training window.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(2_000, seed=1, faults=False)
>>> model = ValuationModel(n_estimators=50).fit(market.frame)
>>> bool((model.predict(market.frame.head(3)) > 0).all())
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.errors import DataError, NotFittedError
from estimo.frames import column_arrays, whole_days
from estimo.model.booster_input import booster_predict
from estimo.model.valuation_result import ExplanationPass
from estimo.schema import feature_columns

log = logging.getLogger(__name__)

DATE_FEATURE = "date_years"
_EPOCH = pd.Timestamp("2000-01-01")


@dataclass(frozen=True)
class FeatureSpec:
    """Learned description of the model's inputs: names and categorical levels."""

    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]

    @property
    def names(self) -> list[str]:
        """All feature names in model order."""
        return list(self.numeric) + list(self.categorical)

    def matrix_columns(self, with_date: bool = True) -> list[str]:
        """Columns of :func:`build_feature_matrix` in order: the date (``with_date``), the
        other numbers, then the categories."""
        numbers = [name for name in self.numeric if name != DATE_FEATURE]
        return [DATE_FEATURE] * with_date + numbers + list(self.categorical)


def learn_feature_spec(frame: pd.DataFrame) -> FeatureSpec:
    """Split a canonical frame's feature columns into numeric and categorical ones.

    Categorical levels are learned here (training rows only) and frozen, so new data is
    encoded the same way; levels unseen in training become missing.
    """
    numeric: list[str] = [DATE_FEATURE]
    categorical: dict[str, tuple[str, ...]] = {}
    for column in feature_columns(frame):
        values = frame[column]
        if values.isna().all():
            continue
        if (
            pd.api.types.is_numeric_dtype(values)
            or pd.api.types.is_bool_dtype(values)
            or _all_numeric_codes(values)
        ):
            numeric.append(column)
        else:
            levels = pd.Series(values.dropna().astype(str).unique()).sort_values()
            categorical[column] = tuple(levels)
    return FeatureSpec(numeric=tuple(numeric), categorical=categorical)


def _all_numeric_codes(values: pd.Series) -> bool:
    """Whether a text column holds only numbers (zip codes, condition grades 1-5).

    Such codes keep their numeric order as a feature: in practice neighbouring codes are
    neighbouring places or grades, which trees use better than unordered levels.
    """
    parsed = pd.to_numeric(values.dropna().astype(str), errors="coerce")
    return bool(len(parsed)) and bool(parsed.notna().all())


def build_feature_matrix(
    frame: pd.DataFrame, spec: FeatureSpec, *, with_date: bool = True
) -> pd.DataFrame:
    """Encode a canonical frame into the model's feature matrix (what LightGBM trains on).

    Columns missing from ``frame`` are filled with missing values, so a property described
    by only a few fields can still be valued. ``with_date=False`` leaves out the date
    feature (models that learn on time-adjusted prices). The numbers are those of
    :func:`build_feature_values`; the categories become pandas categoricals of the spec's
    levels.
    """
    values = build_feature_values(frame, spec, with_date=with_date)
    names = spec.matrix_columns(with_date)
    first_category = len(names) - len(spec.categorical)
    columns: dict[str, Any] = {name: values[:, j] for j, name in enumerate(names[:first_category])}
    for j, levels in enumerate(spec.categorical.values(), start=first_category):
        dtype, _ = _categorical_dtype(tuple(levels))
        codes = np.where(np.isnan(values[:, j]), -1, values[:, j]).astype(np.int64)
        columns[names[j]] = pd.Categorical.from_codes(codes, dtype=dtype)
    return pd.DataFrame(columns, index=frame.index)


def build_feature_values(
    frame: pd.DataFrame, spec: FeatureSpec, *, with_date: bool = True
) -> np.ndarray:
    """:func:`build_feature_matrix` as one float64 matrix, built without a data frame:
    numbers as floats, each category as its code among the spec's levels, NaN where
    missing or unseen.

    These are the numbers LightGBM reads from :func:`build_feature_matrix`'s frame when the
    model was trained on that frame (its training categories are the spec's levels; see
    :func:`trained_on_spec`), so predicting on them gives the same result without the cost
    of building and converting a frame: most of a single property's prediction.
    """
    arrays = dict(zip(frame.columns.tolist(), column_arrays(frame), strict=True))
    return feature_values_of(arrays, len(frame), spec, with_date=with_date)


def feature_values_of(
    arrays: Mapping[str, Any], n: int, spec: FeatureSpec, *, with_date: bool = True
) -> np.ndarray:
    """:func:`build_feature_values` of ``n`` rows given as their columns' arrays (by name,
    as :func:`~estimo.frames.column_arrays` gives them): for a caller that has the columns
    and would otherwise build a frame of them only to have them read here."""
    names = [name for name in spec.numeric if name != DATE_FEATURE]
    first = 1 if with_date else 0
    out = np.empty((n, first + len(names) + len(spec.categorical)), dtype=np.float64)
    # the order of FeatureSpec.matrix_columns: date, other numbers, categories
    if with_date:
        dates = arrays["date"] if "date" in arrays else np.full(n, np.nan)
        out[:, 0] = whole_days(dates, _EPOCH) / 365.25
    for j, name in enumerate(names, start=first):
        array = arrays.get(name)
        if array is None:
            out[:, j] = np.nan
        elif isinstance(array, np.ndarray) and array.dtype.kind in "biuf":
            out[:, j] = array
        else:
            out[:, j] = _numeric(pd.Series(array, copy=False))
    for j, (name, levels) in enumerate(spec.categorical.items(), start=first + len(names)):
        array = arrays.get(name)
        if array is None:
            out[:, j] = np.nan
            continue
        _, code_of = _categorical_dtype(tuple(levels))
        values = array.tolist()
        if all(type(v) is str for v in values):  # none missing: no pd.isna to ask
            out[:, j] = [code_of.get(v, np.nan) for v in values]
            continue
        present = (~pd.isna(array)).tolist()
        out[:, j] = [
            code_of.get(str(v), np.nan) if ok else np.nan
            for v, ok in zip(values, present, strict=True)
        ]
    return out


def trained_on_spec(
    owner: Any, spec: FeatureSpec, boosters: Sequence[lgb.Booster], *, with_date: bool
) -> bool:
    """Whether every booster was trained on :func:`build_feature_matrix` frames of ``spec``
    (the same columns in the same order, the spec's levels as its categories), so that it
    may predict on :func:`build_feature_values`.

    Checked once: the answer is kept on ``owner`` (the model) for these very objects.
    """
    boosters = tuple(boosters)
    cached = getattr(owner, "_spec_check", None)
    if (
        cached is not None
        and cached[0] is spec
        and len(cached[1]) == len(boosters)
        and all(a is b for a, b in zip(cached[1], boosters, strict=True))
    ):
        return bool(cached[2])
    names = spec.matrix_columns(with_date)
    levels = [list(v) for v in spec.categorical.values()]
    ok = all(b.feature_name() == names and (b.pandas_categorical or []) == levels for b in boosters)
    owner._spec_check = (spec, boosters, ok)
    return ok


def _numeric(values: pd.Series) -> np.ndarray:
    """A column as floats; text that is not a number becomes NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype):  # numbers and booleans, maybe nullable
        return values.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(float)


@lru_cache(maxsize=512)
def _categorical_dtype(levels: tuple[str, ...]) -> tuple[pd.CategoricalDtype, dict[str, int]]:
    """The categorical dtype of a feature's levels and each level's code, built once
    (building them costs more than encoding a few rows)."""
    return pd.CategoricalDtype(categories=list(levels)), {v: i for i, v in enumerate(levels)}


def first_trees(booster: lgb.Booster, n_rounds: int) -> lgb.Booster:
    """A booster keeping only the first ``n_rounds`` trees of ``booster`` (what early
    stopping found best)."""
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=n_rounds))


def lightgbm_params(
    *,
    learning_rate: float,
    num_leaves: int,
    min_data_in_leaf: int,
    subsample: float,
    colsample_bytree: float,
    reg_lambda: float,
    seed: int,
    num_threads: int,
    objective: str = "regression",
    max_depth: int = -1,
) -> dict[str, Any]:
    """LightGBM settings shared by every Estimo model: seeded and deterministic, with
    categorical smoothing strong enough for high-cardinality levels (zip codes, districts).

    Examples
    --------
    >>> params = lightgbm_params(learning_rate=0.05, num_leaves=31, min_data_in_leaf=20,
    ...     subsample=1.0, colsample_bytree=1.0, reg_lambda=0.0, seed=0, num_threads=1)
    >>> params["bagging_freq"], params["deterministic"]
    (0, True)
    """
    return {
        "objective": objective,
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "max_depth": max_depth,
        "min_data_in_leaf": min_data_in_leaf,
        "bagging_fraction": subsample,
        "bagging_freq": 1 if subsample < 1 else 0,
        "feature_fraction": colsample_bytree,
        "lambda_l2": reg_lambda,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": num_threads,
        "verbosity": -1,
        "cat_smooth": 50.0,
        "cat_l2": 10.0,
        "min_data_per_group": 50,
        "max_cat_to_onehot": 8,
    }


_CONTRACT = ("_base", "_time", "_comparables")


class ValuationModel(BaseEstimator):
    """LightGBM valuation model on log price.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample,
    colsample_bytree, reg_lambda : LightGBM settings.
    seed : int
        Seed of every random choice; the same seed and data give the same model.
    n_jobs : int
        Threads used by LightGBM.

    Attributes
    ----------
    currency : str
        Currency of the prices ("" unless a loaded bundle recorded one).
    """

    currency = ""

    def __init__(
        self,
        *,
        n_estimators: int = 2000,
        learning_rate: float = 0.03,
        num_leaves: int = 63,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.seed = seed
        self.n_jobs = n_jobs

    def _booster_params(self) -> dict[str, Any]:
        return lightgbm_params(
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_data_in_leaf=self.min_child_samples,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            seed=self.seed,
            num_threads=self.n_jobs,
        )

    def fit(
        self,
        frame: pd.DataFrame,
        sample_weight: np.ndarray | None = None,
        callbacks: list[Callable] | None = None,
        eval_frame: pd.DataFrame | None = None,
    ) -> ValuationModel:
        """Learn from a canonical frame's ``price`` column (log scale).

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical training frame.
        sample_weight : array, optional
            Weight per row (e.g. sale prices weigh more than asking prices).
        callbacks : list, optional
            LightGBM callbacks, e.g. a progress bar or early stopping.
        eval_frame : pandas.DataFrame, optional
            Canonical rows scored after each tree (what an early-stopping callback reads);
            with early stopping, the model keeps the trees up to the best score.

        Raises
        ------
        DataError
            If the frame has no rows or a non-positive price.
        """
        _check_training_frame(frame)
        self.feature_spec_ = learn_feature_spec(frame)
        matrix = build_feature_matrix(frame, self.feature_spec_)
        target = np.log(frame["price"].to_numpy(float))
        dataset = lgb.Dataset(
            matrix,
            label=target,
            weight=sample_weight,
            categorical_feature=list(self.feature_spec_.categorical),
            free_raw_data=True,
        )
        valid_sets = None
        if eval_frame is not None:
            valid_sets = [
                lgb.Dataset(
                    build_feature_matrix(eval_frame, self.feature_spec_),
                    label=np.log(eval_frame["price"].to_numpy(float)),
                    reference=dataset,
                )
            ]
        params = self._booster_params()
        if valid_sets is not None:
            params["metric"] = "l1"
        self.booster_ = lgb.train(
            params,
            dataset,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        best = self.booster_.best_iteration
        if valid_sets is not None and 0 < best < self.booster_.current_iteration():
            self.booster_ = first_trees(self.booster_, best)
        self.cities_ = tuple(sorted(frame["city"].dropna().astype(str).unique()))
        self.trained_until_ = pd.Timestamp(frame["date"].max())
        log.info(
            "trained LightGBM on %d rows, %d features, %d trees",
            len(frame),
            len(self.feature_spec_.names),
            self.booster_.current_iteration(),
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this ValuationModel is not fitted yet; call fit(frame) first")

    def model_matrix(self, frame: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """What the booster reads for ``frame``: :func:`build_feature_values` (one float
        matrix, no frame to build), or :func:`build_feature_matrix` for a booster that was
        not trained on this model's spec."""
        self._check_fitted()
        if trained_on_spec(self, self.feature_spec_, [self.booster_], with_date=True):
            return build_feature_values(frame, self.feature_spec_, with_date=True)
        return build_feature_matrix(frame, self.feature_spec_)

    def predict_log(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted log prices."""
        self._check_fitted()
        if len(frame) == 0:
            return np.empty(0)
        return booster_predict(self.booster_, self.model_matrix(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted prices for a canonical frame (any subset of the feature columns)."""
        return np.exp(self.predict_log(frame))

    def log_contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The contribution frame of ``docs/CONTRACTS.md``: exact TreeSHAP values
        (:func:`estimo.model.treeshap.tree_contributions`, LightGBM's ``pred_contrib``
        numbers) per model feature, then ``_base``, ``_time`` (0) and ``_comparables`` (0);
        indexed like ``frame``; each row sums to :meth:`predict_log`."""
        from estimo.model.treeshap import tree_contributions

        self._check_fitted()
        names = list(self.booster_.feature_name())
        if len(frame) == 0:
            return pd.DataFrame(columns=[*names, *_CONTRACT], dtype=float)
        raw = np.asarray(tree_contributions(self.booster_, self.model_matrix(frame)), float)
        out = pd.DataFrame(raw[:, :-1], columns=names, index=frame.index)
        out["_base"] = raw[:, -1]
        out["_time"] = 0.0
        out["_comparables"] = 0.0
        return out

    def value_with_contributions(self, frame: pd.DataFrame) -> ExplanationPass:
        """The explanation protocol of the engine, for this plain model: no valuations
        (prices only, no range or comparables), its contributions, its features are the
        rows' own."""
        return ExplanationPass(None, self.log_contributions(frame), None)

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, largest first."""
        self._check_fitted()
        gain = self.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.booster_.feature_name()).sort_values(ascending=False)


def _check_training_frame(frame: pd.DataFrame) -> None:
    problems = []
    if len(frame) == 0:
        problems.append("the training table has no rows")
    elif "price" not in frame:
        problems.append("the training table has no 'price' column")
    else:
        prices = pd.to_numeric(frame["price"], errors="coerce")
        bad = prices.isna() | (prices <= 0)
        if bad.any():
            example = frame.loc[bad, "price"].iloc[0]
            problems.append(
                f"column 'price' has {int(bad.sum())} missing or non-positive values, "
                f"e.g. {example!r}; prices must be > 0"
            )
    if problems:
        raise DataError(problems, header="cannot train")
