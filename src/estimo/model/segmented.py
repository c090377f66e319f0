"""Segmented LightGBM: one model per city plus a global model, chosen per city by validation.

:class:`SegmentedModel` learns a log-price target (optionally on top of a per-row *offset*,
LightGBM's ``init_score``, e.g. the location's price per m² times the area) with

* a **global** model on every row, the city being a feature, and
* a **city** model for every city with at least ``min_city_rows`` training rows,

trained in parallel (joblib threads, one LightGBM thread each; or Ray tasks under
:func:`estimo.model.training_backend.training_backend`) with a rich progress bar.
Given a validation slice (``eval_set``, rows dated after the training rows), every
sub-model stops early on it, and each city is then served by whichever of its own model,
the global model, or their average had the lowest validation MdAPE; cities without
their own model, or with fewer than ``min_validation_rows`` validation rows, are served by
the global model. :attr:`SegmentedModel.routing_` records the choice and the numbers.
:meth:`SegmentedModel.refit` trains the same sub-models, with the same choices and the
validated number of rounds, on more data (typically the whole training window).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"city": rng.choice(["A", "B"], 600), "area_m2": rng.uniform(30, 120, 600)})
>>> y = np.log(X["area_m2"].to_numpy() * 3000)
>>> model = SegmentedModel(min_city_rows=200, n_estimators=30).fit(X, y)
>>> sorted(model.routing_)
['A', 'B']
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator

from estimo.bundle_folder import BundleFolder
from estimo.errors import NotFittedError
from estimo.frames import column_array, str_values
from estimo.model.booster_input import booster_predict
from estimo.model.lazy_boosters import LazyBoosters
from estimo.model.training_backend import current_backend, run_on_ray
from estimo.model.treeshap import tree_contributions
from estimo.model.valuation import (
    DATE_FEATURE,
    FeatureSpec,
    build_feature_matrix,
    build_feature_values,
    first_trees,
    learn_feature_spec,
    lightgbm_params,
    trained_on_spec,
)
from estimo.params import json_params
from estimo.progress import step_progress

log = logging.getLogger(__name__)

GLOBAL = "(global)"
CHOICES = ("city", "global", "blend")


@dataclass
class _Task:
    name: str
    rows: np.ndarray
    val_rows: np.ndarray | None
    rounds: int


def _median_ape(log_pred: np.ndarray, log_true: np.ndarray) -> float:
    return float(np.median(np.abs(np.exp(log_pred - log_true) - 1))) if len(log_true) else np.nan


def learn_spec(X: pd.DataFrame) -> FeatureSpec:
    """Feature spec of a feature frame (as :func:`learn_feature_spec`, without the date)."""
    spec = learn_feature_spec(X)
    return FeatureSpec(
        numeric=tuple(n for n in spec.numeric if n != DATE_FEATURE),
        categorical=spec.categorical,
    )


def encode(X: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Feature matrix of ``X`` in the spec's order (no date column)."""
    return build_feature_matrix(X, spec, with_date=False)


class SegmentedModel(BaseEstimator):
    """Per-city LightGBM models with a global fallback (see the module docstring).

    Parameters
    ----------
    min_city_rows : int
        Training rows a city needs for its own model.
    min_validation_rows : int
        Validation rows a city needs for its choice to be measured.
    n_estimators : int
        Maximum boosting rounds (early stopping on the validation slice picks fewer).
    learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda :
        LightGBM settings.
    max_depth : int
        Depth limit of every tree (-1: none). Shallower trees make exact explanations
        (TreeSHAP, whose cost grows with the square of the depth) cheaper.
    early_stopping_rounds : int
        Patience of early stopping on the validation slice.
    objective : str
        LightGBM objective on log price: ``"huber"`` (robust to mispriced listings),
        ``"regression"`` (L2) or ``"regression_l1"``.
    huber_delta : float
        Log error beyond which the Huber loss turns linear.
    seed : int
        Seed of every random choice.
    n_jobs : int
        Sub-models trained at the same time.
    progress : bool
        Show a rich progress bar on stderr.
    """

    def __init__(
        self,
        *,
        min_city_rows: int = 2000,
        min_validation_rows: int = 50,
        n_estimators: int = 2000,
        learning_rate: float = 0.05,
        num_leaves: int = 63,
        max_depth: int = -1,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.7,
        reg_lambda: float = 1.0,
        early_stopping_rounds: int = 100,
        objective: str = "huber",
        huber_delta: float = 0.15,
        seed: int = 0,
        n_jobs: int = 2,
        progress: bool = False,
    ) -> None:
        self.min_city_rows = min_city_rows
        self.min_validation_rows = min_validation_rows
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.objective = objective
        self.huber_delta = huber_delta
        self.seed = seed
        self.n_jobs = n_jobs
        self.progress = progress

    def _booster_params(self, n_rows: int) -> dict[str, Any]:
        params = lightgbm_params(
            objective=self.objective,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_data_in_leaf=min(self.min_child_samples, max(5, n_rows // 50)),
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            seed=self.seed,
            num_threads=1,
        )
        return {**params, "alpha": self.huber_delta, "metric": "l1"}

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        offset: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        eval_set: tuple[pd.DataFrame, np.ndarray, np.ndarray | None] | None = None,
    ) -> SegmentedModel:
        """Train the global and city models; with ``eval_set``, choose per city.

        Parameters
        ----------
        X : pandas.DataFrame
            Features, with a ``city`` column.
        y : array
            Target (log price).
        offset : array, optional
            Per-row starting value the models learn on top of (``init_score``).
        sample_weight : array, optional
            Weight per row.
        eval_set : (X_val, y_val, offset_val), optional
            Validation rows dated after ``X``'s: early stopping and the per-city choice.
        """
        self.spec_ = learn_spec(X)
        self.base_score_ = _base_score(y, offset)
        cities = X["city"].astype(str).to_numpy()
        val_cities = None if eval_set is None else eval_set[0]["city"].astype(str).to_numpy()
        tasks = self._plan(cities, val_cities, rounds=None)
        val_data = None if eval_set is None else self._prepare(*eval_set)
        self.boosters_ = self._train_all(X, y, offset, sample_weight, tasks, val_data)
        self.rounds_ = {name: b.current_iteration() for name, b in self.boosters_.items()}
        self.cities_ = tuple(sorted(set(cities)))
        self.routing_ = self._route(val_data, val_cities)
        if val_data is not None:
            self.validation_log_pred_ = self.predict_log(eval_set[0], offset=eval_set[2])
        self.n_train_ = len(X)
        return self

    def refit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        offset: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> SegmentedModel:
        """A new model trained on ``X`` with this model's routing and validated rounds.

        The number of rounds of each sub-model grows with the square root of the data
        ratio (more rows support a few more trees).
        """
        self._check_fitted()
        new = SegmentedModel(**self.get_params())
        new.spec_ = learn_spec(X)
        new.base_score_ = _base_score(y, offset)
        cities = X["city"].astype(str).to_numpy()
        ratio = np.sqrt(max(len(X) / max(self.n_train_, 1), 1.0))
        rounds = {k: max(10, int(round(v * ratio))) for k, v in self.rounds_.items()}
        tasks = new._plan(cities, None, rounds=rounds, only=set(self.boosters_))
        new.boosters_ = new._train_all(X, y, offset, sample_weight, tasks, None)
        new.rounds_ = {name: b.current_iteration() for name, b in new.boosters_.items()}
        new.cities_ = tuple(sorted(set(cities) | set(self.cities_)))
        new.routing_ = {
            city: (
                dict(info)
                if info["served_by"] != "city" or city in new.boosters_
                else {**info, "served_by": "global", "reason": "no city model after refit"}
            )
            for city, info in self.routing_.items()
        }
        for city in new.cities_:
            new.routing_.setdefault(
                city, {"served_by": "global", "reason": "city not seen at validation"}
            )
        new.n_train_ = len(X)
        return new

    def _plan(
        self,
        cities: np.ndarray,
        val_cities: np.ndarray | None,
        rounds: dict[str, int] | None,
        only: set[str] | None = None,
    ) -> list[_Task]:
        names, counts = np.unique(cities, return_counts=True)
        tasks = [
            _Task(
                GLOBAL,
                np.arange(len(cities)),
                None if val_cities is None else np.arange(len(val_cities)),
                self.n_estimators if rounds is None else rounds[GLOBAL],
            )
        ]
        for name, count in zip(names, counts, strict=True):
            if count < self.min_city_rows or (only is not None and name not in only):
                continue
            val_rows = None
            if val_cities is not None:
                val_rows = np.flatnonzero(val_cities == name)
                if len(val_rows) < self.min_validation_rows:
                    val_rows = None
            n_rounds = self.n_estimators if rounds is None else rounds.get(name, self.n_estimators)
            tasks.append(_Task(str(name), np.flatnonzero(cities == name), val_rows, n_rounds))
        return sorted(tasks, key=lambda t: -len(t.rows))

    def _prepare(
        self, X: pd.DataFrame, y: np.ndarray, offset: np.ndarray | None
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        base = np.zeros(len(X)) if offset is None else np.asarray(offset, dtype=float)
        return encode(X, self.spec_), np.asarray(y, dtype=float), base + self.base_score_

    def _train_all(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        offset: np.ndarray | None,
        weight: np.ndarray | None,
        tasks: list[_Task],
        val_data: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None,
    ) -> dict[str, lgb.Booster]:
        matrix, target, base = self._prepare(X, y, offset)
        w = None if weight is None else np.asarray(weight, dtype=float)
        started = time.perf_counter()
        boosters: dict[str, lgb.Booster] = {}
        with step_progress(
            "training city models", len(tasks), enabled=self.progress, done="trained"
        ) as advance:
            if current_backend() == "ray":  # the same boosters, trained as Ray tasks
                results = run_on_ray(self._train_one, tasks, (matrix, target, base, w, val_data))
            else:
                jobs = (
                    delayed(self._train_one)(task, matrix, target, base, w, val_data)
                    for task in tasks
                )
                runner = Parallel(
                    n_jobs=self.n_jobs, prefer="threads", return_as="generator_unordered"
                )
                results = runner(jobs)
            for name, booster in results:
                boosters[name] = booster
                advance(name)
        self.train_seconds_ = time.perf_counter() - started
        log.info(
            "trained %d sub-models on %d rows in %.1f s",
            len(boosters),
            len(X),
            self.train_seconds_,
        )
        return boosters

    def _train_one(
        self,
        task: _Task,
        matrix: pd.DataFrame,
        target: np.ndarray,
        base: np.ndarray,
        weight: np.ndarray | None,
        val_data: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None,
    ) -> tuple[str, lgb.Booster]:
        rows = task.rows
        dataset = lgb.Dataset(
            matrix.iloc[rows],
            label=target[rows],
            init_score=base[rows],
            weight=None if weight is None else weight[rows],
            categorical_feature=list(self.spec_.categorical),
            free_raw_data=True,
        )
        callbacks = []
        valid_sets = []
        if val_data is not None and task.val_rows is not None and len(task.val_rows):
            vm, vy, vb = val_data
            vr = task.val_rows
            valid_sets = [
                lgb.Dataset(vm.iloc[vr], label=vy[vr], init_score=vb[vr], reference=dataset)
            ]
            callbacks = [lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
        booster = lgb.train(
            self._booster_params(len(rows)),
            dataset,
            num_boost_round=task.rounds,
            valid_sets=valid_sets or None,
            callbacks=callbacks or None,
        )
        if valid_sets and booster.best_iteration > 0:
            booster = first_trees(booster, booster.best_iteration)
        return task.name, booster

    def _route(
        self,
        val_data: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None,
        val_cities: np.ndarray | None,
    ) -> dict[str, dict[str, Any]]:
        routing: dict[str, dict[str, Any]] = {}
        for city in self.cities_:
            if city not in self.boosters_:
                routing[city] = {
                    "served_by": "global",
                    "reason": f"fewer than {self.min_city_rows} training rows",
                }
                continue
            if val_data is None:
                routing[city] = {"served_by": "city", "reason": "no validation slice given"}
                continue
            rows = np.flatnonzero(val_cities == city)
            if len(rows) < self.min_validation_rows:
                routing[city] = {
                    "served_by": "global",
                    "reason": f"{len(rows)} validation rows (< {self.min_validation_rows})",
                }
                continue
            vm, vy, vb = val_data
            own = booster_predict(self.boosters_[city], vm.iloc[rows]) + vb[rows]
            glob = booster_predict(self.boosters_[GLOBAL], vm.iloc[rows]) + vb[rows]
            scores = {
                "city": _median_ape(own, vy[rows]),
                "global": _median_ape(glob, vy[rows]),
                "blend": _median_ape((own + glob) / 2, vy[rows]),
            }
            best = min(CHOICES, key=lambda c: scores[c])
            routing[city] = {
                "served_by": best,
                "reason": "lowest validation MdAPE",
                "validation_n": len(rows),
                **{f"validation_mdape_{k}": v for k, v in scores.items()},
            }
        return routing

    # ------------------------------------------------------------------ saving
    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save one LightGBM text model per sub-model (``models/<name>.txt``) into
        ``folder``; returns the facts (spec, routing, rounds) :meth:`from_bundle` reads."""
        self._check_fitted()
        files = {name: _model_file(name) for name in self.boosters_}
        for name, booster in self.boosters_.items():
            folder.write_text(files[name], booster.model_to_string())
        return {
            "params": json_params(self),
            "numeric": list(self.spec_.numeric),
            "categorical": {k: list(v) for k, v in self.spec_.categorical.items()},
            "routing": self.routing_,
            "rounds": self.rounds_,
            "cities": list(self.cities_),
            "n_train": self.n_train_,
            "base_score": self.base_score_,
            "files": files,
        }

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> SegmentedModel:
        """A fitted model from :meth:`to_bundle`'s folder and facts."""
        model = cls(**meta["params"])
        model.spec_ = FeatureSpec(
            numeric=tuple(meta["numeric"]),
            categorical={k: tuple(v) for k, v in meta["categorical"].items()},
        )
        # each sub-model's text is read on first use (a city's part loads on its own)
        model.boosters_ = LazyBoosters(meta["files"], folder.read_lightgbm)
        model.rounds_ = {k: int(v) for k, v in meta["rounds"].items()}
        model.cities_ = tuple(meta["cities"])
        model.routing_ = meta["routing"]
        model.n_train_ = int(meta["n_train"])
        model.base_score_ = float(meta["base_score"])
        return model

    def memory_bytes(self) -> int:
        """Size of the sub-models' trees (their text form, close to LightGBM's own)."""
        self._check_fitted()
        return sum(len(b.model_to_string()) for b in self.boosters_.values())

    # ------------------------------------------------------------------ predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            raise NotFittedError("this SegmentedModel is not fitted yet; call fit(X, y) first")

    def served_by(self, cities: Any) -> np.ndarray:
        """Name of the sub-model route serving each city: 'city', 'global' or 'blend'."""
        self._check_fitted()
        routing = self.routing_
        names = str_values(cities)
        route = np.empty(len(names), dtype=object)
        route[:] = [routing.get(name, {}).get("served_by", "global") for name in names]
        return route

    def encode(self, X: pd.DataFrame) -> pd.DataFrame:
        """The sub-models' feature frame of ``X`` (what they were trained on)."""
        self._check_fitted()
        return encode(X, self.spec_)

    @staticmethod
    def city_names(X: pd.DataFrame) -> np.ndarray:
        """The city of each row as text (what the routing reads)."""
        return str_values(column_array(X, "city"))

    def model_matrix(self, X: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """What the sub-models read for ``X``, to pass as ``matrix`` when one frame is both
        valued and explained: the float matrix of :func:`build_feature_values` (the numbers
        LightGBM reads from :meth:`encode`, without building a frame: encoding is most of a
        single row's cost), or :meth:`encode` itself for sub-models that were not trained
        on this model's spec."""
        self._check_fitted()
        boosters = self.boosters_
        if isinstance(boosters, LazyBoosters):  # the sub-models read so far (same spec)
            boosters[GLOBAL]
            checked = boosters.loaded()
        else:
            checked = list(boosters.values())
        if trained_on_spec(self, self.spec_, checked, with_date=False):
            return build_feature_values(X, self.spec_, with_date=False)
        return encode(X, self.spec_)

    def predict_log(
        self,
        X: pd.DataFrame,
        offset: np.ndarray | None = None,
        *,
        matrix: np.ndarray | pd.DataFrame | None = None,
        cities: np.ndarray | None = None,
    ) -> np.ndarray:
        """Predicted target of each row, routed per city (``matrix``: :meth:`model_matrix`
        or :meth:`encode` of ``X``; ``cities``: :meth:`city_names` of ``X``; when already
        built)."""
        self._check_fitted()
        if len(X) == 0:
            return np.empty(0)
        matrix = self.model_matrix(X) if matrix is None else matrix
        base = np.zeros(len(X)) if offset is None else np.asarray(offset, dtype=float)
        base = base + self.base_score_
        cities = self.city_names(X) if cities is None else cities
        route = self.served_by(cities)
        # city -> its rows, for the cities whose own sub-model serves them (or half of them)
        own_rows: dict[str, np.ndarray] = {}
        for city in np.unique(cities):
            rows = np.flatnonzero((cities == city) & (route != "global"))
            if len(rows) and city in self.boosters_:
                own_rows[city] = rows
        # the global sub-model for the rows it serves, alone or in a blend (a row's
        # prediction does not depend on the other rows predicted with it)
        needs_global = np.ones(len(X), dtype=bool)
        for rows in own_rows.values():
            if route[rows[0]] == "city":
                needs_global[rows] = False
        out = np.full(len(X), np.nan)
        if needs_global.all():
            out = booster_predict(self.boosters_[GLOBAL], matrix) + base
        elif needs_global.any():
            rows = np.flatnonzero(needs_global)
            out[rows] = booster_predict(self.boosters_[GLOBAL], _take(matrix, rows)) + base[rows]
        for city, rows in own_rows.items():
            own = booster_predict(self.boosters_[city], _take(matrix, rows)) + base[rows]
            out[rows] = own if route[rows[0]] == "city" else (own + out[rows]) / 2
        return out

    def contributions(
        self, X: pd.DataFrame, *, matrix: np.ndarray | pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Per-feature log contributions (SHAP values) plus ``_bias``, routed per city.

        With an offset, a row's prediction is the sum of its contributions plus its offset.
        Each sub-model explains only the rows it serves (TreeSHAP is the costly part).
        ``matrix``: :meth:`model_matrix` or :meth:`encode` of ``X``, when already built.
        """
        names, values = self.contribution_values(X, matrix=matrix)
        return pd.DataFrame(values, columns=list(names), index=X.index)

    def contribution_values(
        self,
        X: pd.DataFrame,
        *,
        matrix: np.ndarray | pd.DataFrame | None = None,
        cities: np.ndarray | None = None,
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """:meth:`contributions` as column names and a plain array (no frame to build)."""
        self._check_fitted()
        matrix = self.model_matrix(X) if matrix is None else matrix
        names = (*self.spec_.matrix_columns(with_date=False), "_bias")
        cities = self.city_names(X) if cities is None else cities
        route = self.served_by(cities)
        own_model = np.array([c in self.boosters_ for c in cities], dtype=bool)
        uses_global = (route != "city") | ~own_model
        uses_city = (route != "global") & own_model
        values = np.zeros((len(X), len(names)))

        def rows_of(rows: np.ndarray) -> np.ndarray | pd.DataFrame:
            return matrix if len(rows) == len(matrix) else _take(matrix, rows)

        if uses_global.any():
            rows = np.flatnonzero(uses_global)
            values[rows] = tree_contributions(self.boosters_[GLOBAL], rows_of(rows))
        for city in np.unique(cities[uses_city]):
            rows = np.flatnonzero(uses_city & (cities == city))
            own = tree_contributions(self.boosters_[city], rows_of(rows))
            blended = uses_global[rows]
            values[rows] = np.where(blended[:, None], (own + values[rows]) / 2, own)
        values[:, -1] += self.base_score_
        return names, values


def _model_file(name: str) -> str:
    """File of a sub-model in a bundle (its name with anything unusual as ``_``)."""
    return "models/" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name) + ".txt"


def _take(matrix: np.ndarray | pd.DataFrame, rows: np.ndarray) -> np.ndarray | pd.DataFrame:
    return matrix[rows] if isinstance(matrix, np.ndarray) else matrix.iloc[rows]


def _base_score(y: np.ndarray, offset: np.ndarray | None) -> float:
    """Median of the target over the offset: where every sub-model starts."""
    rest = np.asarray(y, dtype=float) - (0.0 if offset is None else np.asarray(offset, float))
    return float(np.median(rest)) if len(rest) else 0.0
