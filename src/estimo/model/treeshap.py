"""Exact TreeSHAP for LightGBM models in O(leaves x depth) per row and tree.

LightGBM's ``predict(X, pred_contrib=True)`` runs the path-dependent TreeSHAP recursion
(Lundberg et al.), O(leaves x depth^2) per row and tree: 10-30 ms per row on a 1,200-tree,
63-leaf, depth-8 model. :class:`TreeShap` returns the same numbers (to ~1e-14) 4-8x faster
(``benchmarks/treeshap.py``).

For a leaf with value ``v``, let ``P`` be the ``d`` distinct features on its path, ``z_j``
the product over the path's splits on ``j`` of (training rows of the child taken / rows of
the node) and ``o_j(x)`` 1 if ``x`` meets every condition on ``j`` along the path, else 0.
The leaf's path-dependent value of a coalition ``S`` is ``v prod_{S} o_j prod_{P\\S} z_j``,
and since the Shapley weight ``s!(d-1-s)!/d!`` is the Beta integral of ``t^s (1-t)^(d-1-s)``::

    phi_i = v (o_i - z_i) integral_0^1 prod_{j in P, j != i} (t o_j + (1 - t) z_j) dt
          = -H(O)                          if o_i = 0,  O = {j : o_j = 1}
          = (1 - z_i) / z_i * H(O \\ {i})    if o_i = 1,
    H(Q)  = v sum_{S subset of Q} s!(d-1-s)!/d! prod_{P\\S} z_j     (row-independent)

Only ``O`` depends on the row. A row evaluates each split of a tree once and carries the
bitmask of met conditions down the tree (a node's bit, its feature's first position on the
path, is the same for every leaf below it), so every leaf gets its ``O`` in O(1); then

* in batches, ``d + 1`` look-ups in a per-leaf table of ``H`` (``2^d`` numbers, built once
  per model by a subset-sum transform; one tree's tables stay in cache over the rows);
* for a few rows, the integral by 4-point Gauss-Legendre quadrature (exact: the integrand
  is a polynomial of degree ``d - 1 <= 7``; more points for deeper paths) with prefix and
  suffix products: a few more operations, but no look-ups scattered over tables of tens of
  MiB, which cost more than the arithmetic when the tables are not in cache.

A batch's trees may be split between :data:`THREADS` threads (the kernels release the GIL).

Splits follow LightGBM's decision rules (missing types, default directions, categorical
bitsets, inputs within 1e-35 of zero read as zero) and data frames are converted the way
``Booster.predict`` converts them (categories re-coded with the training category lists).
The kernels (:mod:`estimo.model.treeshap_kernels`) are compiled by numba (the ``fast``
extra) on first use and cached on disk; :mod:`estimo.model.lightgbm_trees` reads the trees
from the model's text.
:func:`tree_contributions` falls back to LightGBM's ``pred_contrib`` without numba and for
models :class:`TreeShap` does not cover (several outputs, linear or averaged trees).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from estimo.model.booster_input import SMALL_BATCH, FrameConverter
from estimo.model.lightgbm_trees import Forest, UnsupportedModelError, parse_model
from estimo.model.treeshap_kernels import K_ZERO, MAX_PATH_FEATURES, compiled_kernels, quadrature

log = logging.getLogger(__name__)

__all__ = [
    "BATCH_ROWS",
    "MAX_TABLE_BYTES",
    "MAX_TABLE_PATH_FEATURES",
    "THREADS",
    "TreeShap",
    "UnsupportedModelError",
    "tree_contributions",
]

MAX_TABLE_PATH_FEATURES = 12
"""Most distinct features on a path for the tables (a leaf's table has ``2^d`` numbers);
models with longer paths are explained by quadrature only."""

MAX_TABLE_BYTES = 256 * 2**20
"""Most memory the tables of one model may take (beyond it: quadrature only)."""

BATCH_ROWS = 16
"""Rows from which a call uses the tables (fewer rows: quadrature)."""

THREADS = min(2, os.cpu_count() or 1)
"""Threads a batch of :data:`BATCH_ROWS` rows or more may use (the default of
:attr:`TreeShap.threads`); fewer rows take one thread, which costs less CPU time."""

_WORK_PER_THREAD = 200_000  # leaves x rows (~5 ms) worth starting a thread for


def _fingerprint(booster: Any) -> tuple[int, int]:
    """What selects the trees ``predict`` uses: the best iteration and the trees trained."""
    return int(booster.best_iteration or 0), int(booster.current_iteration())


class TreeShap:
    """Exact path-dependent TreeSHAP of a single-output LightGBM model.

    Build it with :meth:`from_booster` (the constructor takes the parsed model);
    :meth:`contributions` returns what ``booster.predict(X, pred_contrib=True)`` returns, to
    rounding (~1e-14).

    Attributes
    ----------
    n_features : int
        Features of the model (the output has one more column, the bias).
    n_trees : int
        Trees with splits among those ``predict`` uses (one-leaf trees only add to the bias).
    n_leaves : int
        Leaves of those trees.
    max_path_features : int
        Most distinct features on one root-to-leaf path.
    bias : float
        Sum of the trees' expected values: the output's last column.
    has_tables : bool
        Whether the per-leaf tables were built (batches of :data:`BATCH_ROWS` rows or more
        use them).
    threads : int
        Threads a batch may use when it has enough work (default :data:`THREADS`).

    Examples
    --------
    >>> import lightgbm as lgb
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 4))
    >>> booster = lgb.train({"verbose": -1, "num_leaves": 8}, lgb.Dataset(X, X[:, 0] * X[:, 1]),
    ...                     num_boost_round=20)
    >>> explainer = TreeShap.from_booster(booster)
    >>> bool(np.allclose(explainer.contributions(X[:5]), booster.predict(X[:5], pred_contrib=True)))
    True
    """

    def __init__(
        self,
        forest: Forest,
        kernels: SimpleNamespace,
        pandas_categorical: Any = None,
        tables: bool = True,
        lazy: bool = False,
    ) -> None:
        node_slot, leaf_d, slot_feature, slot_z = kernels.paths(
            forest.node_off,
            forest.leaf_off,
            forest.left,
            forest.right,
            forest.feature,
            forest.internal_count,
            forest.leaf_count,
        )
        self.max_path_features = int(leaf_d.max()) if len(leaf_d) else 0
        if self.max_path_features > MAX_PATH_FEATURES:
            raise UnsupportedModelError(f"a path with {self.max_path_features} features")
        self._kernels = kernels
        self.n_features = forest.n_features
        self.n_trees = len(forest.node_off) - 1
        self.n_leaves = int(forest.leaf_off[-1])
        self.bias = forest.bias
        # what the kernel reads besides the arrays below (the rest was only for building)
        self._node_off, self._leaf_off = forest.node_off, forest.leaf_off
        self._feature, self._threshold = forest.feature, forest.threshold
        self._decision = forest.decision
        self._cat_start, self._cat_len = forest.cat_start, forest.cat_len
        self._cat_words = forest.cat_words
        self._converter = FrameConverter(pandas_categorical)
        self._fingerprint: tuple[int, int] = (0, 0)
        widths = np.diff(forest.leaf_off)
        self._max_leaves = int(widths.max()) if len(widths) else 1
        self._max_internal = max(self._max_leaves - 1, 1)
        # leaves of a tree in order of path length (the kernel's loops then end alike)
        tree_of_leaf = np.repeat(np.arange(self.n_trees), widths)
        order = np.lexsort((leaf_d, tree_of_leaf))
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        slot_start = np.concatenate([[0], np.cumsum(leaf_d)])
        moved = leaf_d[order].astype(np.int64)
        slots = np.repeat(slot_start[order] - np.cumsum(moved) + moved, moved)
        slots += np.arange(len(slots))
        # children as positions in the kernel's mask array: internal nodes, then leaves
        child = np.empty(2 * len(forest.left), np.int32)
        tree_of_node = np.repeat(np.arange(self.n_trees), widths - 1)
        first_leaf = forest.leaf_off[tree_of_node]
        for side, column in enumerate((forest.left, forest.right)):
            leaf = position[first_leaf + ~np.minimum(column, -1)] - first_leaf
            child[side::2] = np.where(column >= 0, column, self._max_internal + leaf)
        self._child = child
        self._node_slot = node_slot
        self._leaf_d = leaf_d[order]
        self._leaf_value = forest.leaf_value[order]
        self._slot_tree = np.concatenate([[0], np.cumsum(self._leaf_d)])[forest.leaf_off]
        self._slot_feature = slot_feature[slots]
        self._slot_z = slot_z[slots]
        self._quad_t, self._quad_w = quadrature(max(4, (self.max_path_features + 1) // 2))
        self._slot_ratio = np.zeros(1)
        self._table_off = np.zeros(1, np.int64)
        self._tables = np.zeros(1)
        self.has_tables = False
        self.threads = THREADS
        self._tables_pending = tables and lazy
        self._tables_lock = threading.Lock()
        if tables and not lazy:
            self._build_tables()

    def _build_tables(self) -> None:
        """Build the per-leaf tables of ``H`` (skipped for too long paths or too much
        memory: quadrature then serves every call)."""
        if self.max_path_features > MAX_TABLE_PATH_FEATURES:
            return
        leaf_d, slot_z = self._leaf_d, self._slot_z
        sizes = np.left_shift(1, leaf_d.astype(np.int64))
        table_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if table_off[-1] * 8 > MAX_TABLE_BYTES:
            return
        tables = np.zeros(max(int(table_off[-1]), 1))
        self._kernels.tables(leaf_d, table_off, slot_z, self._leaf_value, tables)
        self._slot_ratio = (1.0 - slot_z) / slot_z
        self._table_off = table_off
        self._tables = tables
        self.has_tables = True

    @classmethod
    def from_booster(cls, booster: Any, *, tables: bool = True, lazy: bool = False) -> TreeShap:
        """Prepare the trees of a LightGBM booster (those ``predict`` uses).

        Parameters
        ----------
        booster : lightgbm.Booster
            A trained single-output model.
        tables : bool
            Build the per-leaf tables that make batches faster (``2^d`` numbers per leaf,
            :attr:`table_nbytes`); without them every call uses quadrature.
        lazy : bool
            Build the tables on the first batch instead of now, so that a model only ever
            asked about single properties (a serving pod) never holds them.

        Returns
        -------
        TreeShap

        Raises
        ------
        ImportError
            If numba is not installed.
        UnsupportedModelError
            If the model has several outputs, linear or averaged trees, or a node without
            training rows.
        """
        compiled = compiled_kernels()
        if compiled is None:
            raise ImportError("TreeShap needs numba (pip install 'estimo[fast]')")
        fingerprint = _fingerprint(booster)
        text = booster.model_to_string(num_iteration=fingerprint[0] if fingerprint[0] > 0 else -1)
        explainer = cls(
            parse_model(text), compiled, booster.pandas_categorical, tables=tables, lazy=lazy
        )
        explainer._fingerprint = fingerprint
        return explainer

    @property
    def table_nbytes(self) -> int:
        """Memory of the per-leaf tables, in bytes (0 without tables)."""
        return int(self._tables.nbytes + self._slot_ratio.nbytes) if self.has_tables else 0

    @property
    def nbytes(self) -> int:
        """Memory of everything prepared (tables and flat tree arrays), in bytes."""
        arrays = [value for value in vars(self).values() if isinstance(value, np.ndarray)]
        return int(sum(array.nbytes for array in arrays))

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Per-feature contributions and bias, like ``booster.predict(X, pred_contrib=True)``.

        Parameters
        ----------
        X : pandas.DataFrame or numpy.ndarray
            Rows in the model's feature order; categorical columns with pandas ``category``
            dtype (re-coded with the categories the model was trained on).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_rows, n_features + 1)``: one column per feature, then the bias. Each
            row sums to the raw prediction.

        Raises
        ------
        ValueError
            If ``X`` is not a non-empty 2-d table of the model's width with numeric or
            categorical columns.
        """
        matrix = self._matrix(X)
        if matrix is None:
            raise ValueError("TreeShap needs a non-empty 2-d numeric table of the model's width")
        return self._explain(matrix)

    def _explain(self, matrix: np.ndarray) -> np.ndarray:
        """Contributions of a C-ordered float64 matrix already converted by :meth:`_matrix`.

        A batch with enough work has its trees split between :attr:`threads` threads (the
        kernel releases the GIL), each adding into its own output.
        """
        n_rows = matrix.shape[0]
        batch = n_rows >= BATCH_ROWS
        if not batch:  # a few rows: quadrature on this thread, nothing to split
            out = np.zeros((n_rows, self.n_features + 1))
            self._run(matrix, out, 0, self.n_trees, False)
            out[:, -1] += self.bias
            return out
        if self._tables_pending:
            with self._tables_lock:
                if self._tables_pending:
                    self._build_tables()
                    self._tables_pending = False
        use_tables = self.has_tables
        leaves = self._leaf_off
        n_threads = max(1, min(self.threads, leaves[-1] * n_rows // _WORK_PER_THREAD))
        bounds = np.searchsorted(leaves, np.linspace(0, leaves[-1], n_threads + 1)[1:-1])
        bounds = [0, *sorted(set(bounds.tolist()) - {0, self.n_trees}), self.n_trees]
        outs = np.zeros((len(bounds) - 1, n_rows, self.n_features + 1))
        errors: list[BaseException] = []

        def part(index: int) -> None:
            try:
                self._run(matrix, outs[index], bounds[index], bounds[index + 1], use_tables)
            except BaseException as error:  # re-raised by the caller's thread
                errors.append(error)

        helpers = [threading.Thread(target=part, args=(i,)) for i in range(1, len(outs))]
        for helper in helpers:
            helper.start()
        part(0)
        for helper in helpers:
            helper.join()
        if errors:
            raise errors[0]
        out = outs[0] if len(outs) == 1 else outs.sum(axis=0)
        out[:, -1] += self.bias
        return out

    def _run(
        self, matrix: np.ndarray, out: np.ndarray, first: int, last: int, use_tables: bool
    ) -> None:
        """Add the contributions of trees ``first`` to ``last - 1`` to ``out``."""
        self._kernels.rows(
            matrix,
            out,
            self._node_off[first : last + 1],
            self._leaf_off[first : last + 1],
            self._slot_tree[first:last],
            self._feature,
            self._threshold,
            self._decision,
            self._child,
            self._node_slot,
            self._cat_start,
            self._cat_len,
            self._cat_words,
            self._leaf_d,
            self._leaf_value,
            self._slot_feature,
            self._slot_z,
            self._slot_ratio,
            self._table_off,
            self._tables,
            self._quad_t,
            self._quad_w,
            self._max_internal,
            self._max_leaves,
            use_tables,
        )

    def _matrix(self, X: Any) -> np.ndarray | None:
        """``X`` as the float64 matrix LightGBM predicts on, or None if this cannot say."""
        if isinstance(X, pd.DataFrame):
            matrix = self._converter.matrix(X)  # as Booster.predict converts it
        elif isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "biuf":
            # LightGBM passes float32 and float64 on and converts the rest to float32
            source = X if X.dtype in (np.float32, np.float64) else X.astype(np.float32)
            matrix = np.array(source, dtype=np.float64, order="C")
        else:
            return None
        if matrix is None or matrix.shape[0] == 0 or matrix.shape[1] != self.n_features:
            return None
        matrix[np.abs(matrix) <= K_ZERO] = 0.0  # LightGBM reads these as zero
        return matrix


# --------------------------------------------------------------------------------------
# the cached entry point
# --------------------------------------------------------------------------------------

_CACHE: weakref.WeakKeyDictionary[Any, tuple[tuple[int, int], TreeShap | None]] = (
    weakref.WeakKeyDictionary()
)
_CACHE_LOCK = threading.Lock()


def _explainer(booster: Any) -> TreeShap | None:
    """The cached :class:`TreeShap` of a booster, or None where LightGBM must explain."""
    fingerprint = _fingerprint(booster)
    with _CACHE_LOCK:
        cached = _CACHE.get(booster)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        if compiled_kernels() is None:
            return None
        try:
            explainer: TreeShap | None = TreeShap.from_booster(booster, lazy=True)
        except UnsupportedModelError as error:
            log.debug("TreeSHAP falls back to LightGBM for this model: %s", error)
            explainer = None
        _CACHE[booster] = (fingerprint, explainer)
        return explainer


def tree_contributions(booster: Any, X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Exact TreeSHAP contributions of a LightGBM booster, fast where possible.

    Same result as ``booster.predict(X, pred_contrib=True)`` (to ~1e-14), from a
    :class:`TreeShap` built on first use and cached per booster (released with it). Falls
    back to LightGBM when numba is not installed, for models :class:`TreeShap` does not
    cover and for inputs it does not convert (LightGBM then raises its own errors).

    Parameters
    ----------
    booster : lightgbm.Booster
        The model; the trees ``predict`` uses (up to its best iteration, if set).
    X : pandas.DataFrame or numpy.ndarray
        Rows to explain, as given to ``booster.predict``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_rows, n_features + 1)``: contributions, then the bias.

    Examples
    --------
    >>> import lightgbm as lgb
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> booster = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0]), num_boost_round=10)
    >>> contrib = tree_contributions(booster, X[:2])
    >>> contrib.shape, bool(np.allclose(contrib.sum(axis=1), booster.predict(X[:2])))
    ((2, 4), True)
    """
    explainer = _explainer(booster)
    matrix = None if explainer is None else explainer._matrix(X)
    if explainer is None or matrix is None:
        threads = {"num_threads": 1} if len(X) <= SMALL_BATCH else {}  # see booster_predict
        return booster.predict(X, pred_contrib=True, **threads)
    return explainer._explain(matrix)
