"""Tests of estimo.model.treeshap: equal to LightGBM's pred_contrib (hypothesis over data and
LightGBM settings), additive, both evaluation paths and threads, input conversion, the
fallbacks, the per-booster cache, and that importing estimo does not import numba."""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import threading
import weakref

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimo.model import treeshap, treeshap_kernels
from estimo.model.treeshap import TreeShap, UnsupportedModelError, tree_contributions

TOLERANCE = 1e-9


def _train(X, y, params=None, rounds=20, **dataset):
    base = {"verbose": -1, "num_threads": 1, "deterministic": True, "min_data_per_group": 2}
    return lgb.train({**base, **(params or {})}, lgb.Dataset(X, y, **dataset), rounds)


def _assert_exact(explainer: TreeShap, booster: lgb.Booster, X) -> None:
    """Equal to pred_contrib on the batch (tables) and row by row (quadrature)."""
    expected = booster.predict(X, pred_contrib=True)
    got = explainer.contributions(X)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    rows = X.iloc[:3] if isinstance(X, pd.DataFrame) else X[:3]
    np.testing.assert_allclose(explainer.contributions(rows), expected[:3], rtol=0, atol=TOLERANCE)
    raw = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(got.sum(axis=1), raw, rtol=0, atol=TOLERANCE)


def _messy(rng: np.random.Generator, n: int, p: int, categorical: list[int], levels: int):
    """Rows with NaN, exact and near zeros, negatives and (for categories) unseen, negative
    and fractional codes."""
    X = rng.normal(size=(n, p)) * rng.choice([1.0, 100.0], size=p)
    X[rng.random((n, p)) < 0.1] = 0.0
    X[rng.random((n, p)) < 0.03] = 1e-40
    X[rng.random((n, p)) < 0.1] = np.nan
    for j in categorical:
        X[:, j] = rng.integers(0, levels, n).astype(float)
        X[rng.random(n) < 0.1, j] = np.nan
    return X


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_features=st.integers(1, 6),
    n_categorical=st.integers(0, 2),
    num_leaves=st.integers(2, 40),
    max_depth=st.sampled_from([-1, 1, 2, 3, 5, 8]),
    min_data_in_leaf=st.integers(1, 30),
    missing=st.sampled_from(["default", "zero_as_missing", "no_missing"]),
    rounds=st.integers(1, 25),
    early_stopping=st.booleans(),
)
def test_equals_pred_contrib(
    seed, n_features, n_categorical, num_leaves, max_depth, min_data_in_leaf, missing, rounds,
    early_stopping,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    categorical = list(range(min(n_categorical, n_features)))
    X = _messy(rng, 300, n_features, categorical, levels=12)
    filled = np.nan_to_num(X)
    y = filled[:, 0] * 2 + np.sin(filled).sum(axis=1) + rng.normal(size=len(X)) * 0.1
    params = {
        "num_leaves": num_leaves,
        "max_depth": max_depth,
        "min_data_in_leaf": min_data_in_leaf,
        "min_sum_hessian_in_leaf": 0.0,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": int(rng.integers(1, 16)),
        "learning_rate": 0.3,
        "zero_as_missing": missing == "zero_as_missing",
        "use_missing": missing != "no_missing",
    }
    dataset = {"categorical_feature": categorical or "auto"}
    if early_stopping:
        train, valid = slice(0, 200), slice(200, 300)
        booster = lgb.train(
            {"verbose": -1, "num_threads": 1, "min_data_per_group": 2, **params},
            lgb.Dataset(X[train], y[train], **dataset),
            rounds + 10,
            valid_sets=[lgb.Dataset(X[valid], y[valid], **dataset)],
            callbacks=[lgb.early_stopping(3, verbose=False)],
        )
    else:
        booster = _train(X, y, params, rounds, **dataset)
    unseen = _messy(rng, 40, n_features, categorical, levels=20)  # codes 12-19: unseen
    if categorical:
        unseen[:5, categorical[0]] = [-1.0, -0.5, 2.7, 1e12, np.inf]
    explainer = TreeShap.from_booster(booster)
    _assert_exact(explainer, booster, unseen)
    _assert_exact(TreeShap.from_booster(booster, tables=False), booster, unseen)


def test_early_stopping_uses_the_best_iteration():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    y = X[:, 0] + rng.normal(size=400)
    booster = lgb.train(
        {"verbose": -1, "num_threads": 1, "learning_rate": 0.5},
        lgb.Dataset(X[:200], y[:200]),
        200,
        valid_sets=[lgb.Dataset(X[200:], y[200:])],
        callbacks=[lgb.early_stopping(2, verbose=False)],
        keep_training_booster=True,  # keeps the trees after the best iteration
    )
    assert 0 < booster.best_iteration < booster.current_iteration()
    explainer = TreeShap.from_booster(booster)
    assert explainer.n_trees == booster.best_iteration
    _assert_exact(explainer, booster, X[:50])
    booster.best_iteration = 0  # predict then uses every tree, and so does the cache
    np.testing.assert_allclose(
        tree_contributions(booster, X[:20]), booster.predict(X[:20], pred_contrib=True), atol=1e-9
    )


def test_threads_and_both_paths(monkeypatch):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 5))
    booster = _train(X, X[:, 0] * X[:, 1] + X[:, 2], {"num_leaves": 31}, rounds=40)
    monkeypatch.setattr(treeshap, "_WORK_PER_THREAD", 1)
    started = []

    class CountedThread(threading.Thread):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(treeshap.threading, "Thread", CountedThread)
    explainer = TreeShap.from_booster(booster)
    explainer.threads = 3
    assert explainer.has_tables
    _assert_exact(explainer, booster, X[:40])  # batch: 2 helper threads, then 1 row at a time
    assert len(started) == 2
    np.testing.assert_allclose(
        explainer.contributions(X[:1]), booster.predict(X[:1], pred_contrib=True), atol=1e-9
    )
    assert len(started) == 2  # a single row stays on the caller's thread


def test_long_paths_use_more_quadrature_points_and_no_tables(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1500, 16))
    params = {"num_leaves": 300, "min_data_in_leaf": 1, "min_sum_hessian_in_leaf": 0.0}
    booster = _train(X, rng.normal(size=1500) + X[:, 0] * X[:, 1], params, rounds=2)
    explainer = TreeShap.from_booster(booster)
    assert explainer.max_path_features > 8  # beyond the unrolled 4-point rule
    _assert_exact(explainer, booster, rng.normal(size=(30, 16)))
    monkeypatch.setattr(treeshap, "MAX_TABLE_PATH_FEATURES", 4)
    assert not TreeShap.from_booster(booster).has_tables
    monkeypatch.setattr(treeshap, "MAX_TABLE_PATH_FEATURES", 12)
    monkeypatch.setattr(treeshap, "MAX_TABLE_BYTES", 1024)
    small = TreeShap.from_booster(booster)
    assert not small.has_tables and small.table_nbytes == 0
    _assert_exact(small, booster, rng.normal(size=(30, 16)))


def test_binary_objective_and_one_leaf_trees():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 3))
    binary = _train(X, (X[:, 0] > 0).astype(float), {"objective": "binary"}, rounds=10)
    _assert_exact(TreeShap.from_booster(binary), binary, X[:30])
    constant = _train(X, np.ones(300), rounds=3)  # every tree is a single leaf
    explainer = TreeShap.from_booster(constant)
    assert explainer.n_trees == 0
    _assert_exact(explainer, constant, X[:20])


def _frame(rng: np.random.Generator, n: int, order: list[str]) -> pd.DataFrame:
    kinds = rng.choice(["flat", "house", "loft", "villa"], size=n).astype(object)
    kinds[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "area": rng.normal(80, 20, n),
            "rooms": rng.integers(1, 6, n),
            "kind": pd.Categorical(kinds).set_categories(order),  # others become missing
            "floor": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 10, n)),
            "district": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"]),
        }
    )


@pytest.mark.parametrize("pandas_fast_path", [True, False])
def test_frames_are_converted_like_lightgbm(monkeypatch, pandas_fast_path):
    if not pandas_fast_path:  # the public way to the column arrays
        monkeypatch.delattr(pd.DataFrame, "_iter_column_arrays", raising=False)
    rng = np.random.default_rng(7)
    train = _frame(rng, 600, ["flat", "house", "loft", "villa"])
    y = train["area"] / 40 + train["kind"].cat.codes * 0.3 + train["district"].cat.codes * 0.2
    booster = _train(train, y, {"num_leaves": 15, "cat_smooth": 1.0}, rounds=30)
    explainer = TreeShap.from_booster(booster)
    same = _frame(rng, 50, ["flat", "house", "loft", "villa"])
    reordered = _frame(rng, 50, ["villa", "loft", "house", "flat"])
    unseen = _frame(rng, 50, ["castle", "house", "flat"])  # no loft or villa: missing
    for frame in (same, reordered, unseen, same.iloc[[3]], reordered.iloc[[0]]):
        _assert_exact(explainer, booster, frame)
        got = tree_contributions(booster, frame)
        np.testing.assert_allclose(got, booster.predict(frame, pred_contrib=True), atol=1e-9)


def test_numpy_inputs_are_converted_like_lightgbm():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 3)) * 1e7
    booster = _train(X, X[:, 0], {"num_leaves": 31}, rounds=10)
    head = X[:20]
    for rows in (head.astype(np.int64), head.astype(np.float32), head > 0, np.asfortranarray(head)):
        got = tree_contributions(booster, rows)
        np.testing.assert_allclose(got, booster.predict(rows, pred_contrib=True), atol=1e-9)


def test_inputs_it_does_not_convert_go_to_lightgbm():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 2))
    booster = _train(X, X[:, 0], rounds=5)
    explainer = TreeShap.from_booster(booster)
    with pytest.raises(ValueError, match="numeric table"):
        explainer.contributions(X[:, :1])
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]})
    with pytest.raises(ValueError):  # LightGBM's own error about object columns
        tree_contributions(booster, frame)
    with pytest.raises(lgb.basic.LightGBMError):  # LightGBM's own error about the width
        tree_contributions(booster, X[:3, :1])
    nullable = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [0.5, 1.0, 2.0]})
    np.testing.assert_array_equal(
        tree_contributions(booster, nullable), booster.predict(nullable, pred_contrib=True)
    )


def test_falls_back_without_numba(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" raises ImportError
    monkeypatch.setattr(treeshap_kernels, "_KERNELS", None)
    monkeypatch.setattr(treeshap_kernels, "_KERNELS_TRIED", False)
    rng = np.random.default_rng(10)
    X = rng.normal(size=(200, 2))
    booster = _train(X, X[:, 0], rounds=5)
    with caplog.at_level(logging.DEBUG, logger="estimo.model.treeshap_kernels"):
        got = tree_contributions(booster, X[:5])
        tree_contributions(booster, X[:5])
    np.testing.assert_array_equal(got, booster.predict(X[:5], pred_contrib=True))
    assert sum("numba unavailable" in record.message for record in caplog.records) == 1
    with pytest.raises(ImportError, match="numba"):
        TreeShap.from_booster(booster)


def test_falls_back_for_unsupported_models(caplog):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 3))
    multiclass = _train(X, rng.integers(0, 3, 300), {"objective": "multiclass", "num_class": 3})
    linear = _train(X, X[:, 0] * 2, {"linear_tree": True}, rounds=5)
    for booster in (multiclass, linear):
        with pytest.raises(UnsupportedModelError):
            TreeShap.from_booster(booster)
    with caplog.at_level(logging.DEBUG, logger="estimo.model.treeshap"):
        got = tree_contributions(multiclass, X[:4])
        tree_contributions(multiclass, X[:4])
        with pytest.raises(lgb.basic.LightGBMError, match="linear trees"):
            tree_contributions(linear, X[:4])  # LightGBM's own answer
    np.testing.assert_array_equal(got, multiclass.predict(X[:4], pred_contrib=True))
    assert sum("falls back to LightGBM" in record.message for record in caplog.records) == 2


def test_cache_per_booster_released_with_it():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(200, 2))
    booster = _train(X, X[:, 0], rounds=5)
    tree_contributions(booster, X[:2])
    explainer = treeshap._explainer(booster)
    assert explainer is not None and treeshap._explainer(booster) is explainer
    assert not any(isinstance(value, TreeShap) for value in vars(booster).values())
    other = _train(X, X[:, 1], rounds=5)
    assert treeshap._explainer(other) is not explainer
    released = weakref.ref(explainer)
    del booster, explainer
    gc.collect()
    assert released() is None


def test_cached_explainer_builds_its_tables_on_the_first_batch_only():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(300, 3))
    booster = _train(X, X[:, 0] * X[:, 1], rounds=10)
    tree_contributions(booster, X[:1])
    explainer = treeshap._explainer(booster)
    assert explainer is not None
    assert not explainer.has_tables and explainer.table_nbytes == 0  # single rows: none
    batch = X[: treeshap.BATCH_ROWS]
    np.testing.assert_allclose(
        tree_contributions(booster, batch), booster.predict(batch, pred_contrib=True), atol=1e-9
    )
    assert explainer.has_tables and explainer.table_nbytes > 0
    eager = TreeShap.from_booster(booster)
    assert eager.has_tables and eager.table_nbytes == explainer.table_nbytes


def test_importing_estimo_does_not_import_numba():
    code = (
        "import sys, estimo, estimo.model.treeshap, estimo.model.segmented, "
        "estimo.model.comps, estimo.explain.contributions\n"
        "assert 'numba' not in sys.modules, 'numba imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
