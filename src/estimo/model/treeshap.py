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
The kernels are compiled by numba (the ``fast`` extra) on first use and cached on disk.
:func:`tree_contributions` falls back to LightGBM's ``pred_contrib`` without numba and for
models :class:`TreeShap` does not cover (several outputs, linear or averaged trees).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from estimo.model.booster_input import FrameConverter

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

_MAX_PATH_FEATURES = 63  # the met-conditions mask is an int64
_K_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float constant)

# 4-point Gauss-Legendre rule on [0, 1]: exact for the integrand's degree d - 1 <= 7
_nodes, _weights = np.polynomial.legendre.leggauss(4)
_T0, _T1, _T2, _T3 = (float(t) for t in (_nodes + 1) / 2)
_U0, _U1, _U2, _U3 = (float(1 - t) for t in (_nodes + 1) / 2)
_W0, _W1, _W2, _W3 = (float(w) for w in _weights / 2)


class UnsupportedModelError(ValueError):
    """The model is not one :class:`TreeShap` explains (LightGBM's ``pred_contrib`` does)."""


# --------------------------------------------------------------------------------------
# numba kernels: plain functions here, compiled by ``_kernels()`` on first use
# --------------------------------------------------------------------------------------


def _build_paths(node_off, leaf_off, left, right, feature, internal_count, leaf_count):
    """Per leaf: its distinct path features (slots, in order of first appearance from the
    root) and their cover products ``z``; per internal node: the slot of its feature."""
    n_trees = node_off.shape[0] - 1
    n_nodes = node_off[n_trees]
    n_leaves = leaf_off[n_trees]
    node_parent = np.full(n_nodes, -1, np.int64)
    leaf_parent = np.full(n_leaves, -1, np.int64)
    for t in range(n_trees):
        n0 = node_off[t]
        l0 = leaf_off[t]
        for k in range(node_off[t + 1] - n0):
            for c in (left[n0 + k], right[n0 + k]):
                if c >= 0:
                    node_parent[n0 + c] = k
                else:
                    leaf_parent[l0 + ~c] = k
    total_depth = 0
    max_depth = 1
    for t in range(n_trees):
        n0 = node_off[t]
        for leaf in range(leaf_off[t], leaf_off[t + 1]):
            depth = 0
            k = leaf_parent[leaf]
            while k >= 0:
                depth += 1
                k = node_parent[n0 + k]
            total_depth += depth
            max_depth = max(max_depth, depth)
    slot_feature = np.zeros(total_depth, np.int32)
    slot_z = np.ones(total_depth, np.float64)
    node_slot = np.zeros(n_nodes, np.int8)
    leaf_d = np.zeros(n_leaves, np.int32)
    path = np.empty(max_depth, np.int64)
    went = np.empty(max_depth, np.int64)
    base = 0
    for t in range(n_trees):
        n0 = node_off[t]
        l0 = leaf_off[t]
        for leaf in range(l0, leaf_off[t + 1]):
            m = 0
            child = ~(leaf - l0)
            k = leaf_parent[leaf]
            while k >= 0:
                path[m] = k
                went[m] = child
                m += 1
                child = k
                k = node_parent[n0 + k]
            d = 0
            for step in range(m - 1, -1, -1):
                k = path[step]
                f = feature[n0 + k]
                s = 0
                while s < d and slot_feature[base + s] != f:
                    s += 1
                if s == d:
                    slot_feature[base + d] = f
                    d += 1
                node_slot[n0 + k] = min(s, 127)
                c = went[step]
                taken = internal_count[n0 + c] if c >= 0 else leaf_count[l0 + ~c]
                slot_z[base + s] *= taken / internal_count[n0 + k]
            leaf_d[leaf] = d
            base += d
    return node_slot, leaf_d, slot_feature[:base].copy(), slot_z[:base].copy()


def _fill_tables(leaf_d, table_off, slot_z, leaf_value, tables):
    """``tables[table_off[l] + Q] = H(Q)`` of every leaf ``l`` (see the module docstring)."""
    max_d = 1
    for i in range(leaf_d.shape[0]):
        max_d = max(max_d, leaf_d[i])
    popcount = np.zeros(1 << max_d, np.int64)
    for q in range(1, 1 << max_d):
        popcount[q] = popcount[q >> 1] + (q & 1)
    weight = np.zeros(max_d + 1, np.float64)
    s0 = 0
    for leaf in range(leaf_d.shape[0]):
        d = leaf_d[leaf]
        z = slot_z[s0 : s0 + d]
        s0 += d
        if d == 0:
            continue
        n = 1 << d
        full = n - 1
        base = table_off[leaf]
        v = leaf_value[leaf]
        # w(s, d) = s! (d-1-s)! / d! = 1 / (d * binom(d-1, s))
        binom = 1.0
        for s in range(d):
            weight[s] = 1.0 / (d * binom)
            binom = binom * (d - 1 - s) / (s + 1)
        # product of z over the slots outside Q, from the full mask down
        tables[base + full] = 1.0
        for q in range(full - 1, -1, -1):
            b = 0
            while (q >> b) & 1:
                b += 1
            tables[base + q] = tables[base + (q | (1 << b))] * z[b]
        for q in range(full):
            tables[base + q] *= v * weight[popcount[q]]
        tables[base + full] = 0.0  # H(P) is never looked up (it would need w(d, d))
        for b in range(d):  # subset sums
            bit = 1 << b
            for q in range(n):
                if q & bit:
                    tables[base + q] += tables[base + (q ^ bit)]


def _explain_rows(
    X,
    out,
    node_off,
    leaf_off,
    slot_tree,
    feature,
    threshold,
    decision,
    child,
    node_slot,
    cat_start,
    cat_len,
    cat_words,
    leaf_d,
    leaf_value,
    slot_feature,
    slot_z,
    slot_ratio,
    table_off,
    tables,
    quad_t,
    quad_w,
    max_internal,
    max_leaves,
    use_tables,
):
    """Add every tree's contributions for the rows of ``X`` to ``out``, tree by tree (so a
    tree's arrays stay in cache over the rows)."""
    n_rows = X.shape[0]
    masks = np.empty(max_internal + max_leaves, np.int64)  # internal nodes, then leaves
    pre = np.empty(64 * quad_t.shape[1], np.float64)  # prefix products (slot, point)
    run = np.empty(quad_t.shape[1], np.float64)
    for t in range(node_off.shape[0] - 1):
        n0 = node_off[t]
        n_internal = node_off[t + 1] - n0
        l0 = leaf_off[t]
        n_leaf = leaf_off[t + 1] - l0
        for r in range(n_rows):
            # 1. every split once: the mask of met conditions, carried down the tree
            masks[0] = -1
            for k in range(n_internal):
                g = n0 + k
                x = X[r, feature[g]]
                kind = decision[g]
                if kind & 13:  # categorical, or a missing type
                    if kind & 1:  # NaN, negative or unlisted categories go right
                        go_left = 0
                        if x > -2147483649.0 and x < 2147483648.0:
                            category = int(x)
                            if category >= 0:
                                word = category >> 5
                                if word < cat_len[g]:
                                    go_left = (
                                        cat_words[cat_start[g] + word] >> (category & 31)
                                    ) & 1
                    else:
                        missing = (kind >> 2) & 3
                        if missing == 2 and x != x:
                            go_left = (kind >> 1) & 1
                        else:
                            if x != x:
                                x = 0.0
                            if missing == 1 and x >= -_K_ZERO and x <= _K_ZERO:
                                go_left = (kind >> 1) & 1
                            else:
                                go_left = np.int64(x <= threshold[g])
                else:
                    if x != x:
                        x = 0.0
                    go_left = np.int64(x <= threshold[g])
                mask = masks[k]
                cleared = ~(np.int64(1) << node_slot[g])
                masks[child[2 * g]] = mask & (cleared | -go_left)
                masks[child[2 * g + 1]] = mask & (cleared | (go_left - 1))
            # 2. every leaf: its contribution to each of its path features
            s0 = slot_tree[t]
            for j in range(n_leaf):
                leaf = l0 + j
                d = leaf_d[leaf]
                q = masks[max_internal + j]
                if use_tables:
                    q &= (1 << d) - 1
                    base = table_off[leaf]
                    h = tables[base + q]
                    for s in range(d):
                        met = np.float64((q >> s) & 1)
                        add = slot_ratio[s0 + s] * tables[base + (q ^ (1 << s))]
                        out[r, slot_feature[s0 + s]] += add * met - h * (1.0 - met)
                elif d <= 8:  # 4 points, unrolled
                    r0 = 1.0
                    r1 = 1.0
                    r2 = 1.0
                    r3 = 1.0
                    for s in range(d):
                        z = slot_z[s0 + s]
                        met = np.float64((q >> s) & 1)
                        pre[4 * s] = r0
                        pre[4 * s + 1] = r1
                        pre[4 * s + 2] = r2
                        pre[4 * s + 3] = r3
                        r0 *= _T0 * met + _U0 * z
                        r1 *= _T1 * met + _U1 * z
                        r2 *= _T2 * met + _U2 * z
                        r3 *= _T3 * met + _U3 * z
                    v = leaf_value[leaf]
                    r0 = _W0 * v
                    r1 = _W1 * v
                    r2 = _W2 * v
                    r3 = _W3 * v
                    for s in range(d - 1, -1, -1):
                        z = slot_z[s0 + s]
                        met = np.float64((q >> s) & 1)
                        integral = (
                            pre[4 * s] * r0
                            + pre[4 * s + 1] * r1
                            + pre[4 * s + 2] * r2
                            + pre[4 * s + 3] * r3
                        )
                        out[r, slot_feature[s0 + s]] += (met - z) * integral
                        r0 *= _T0 * met + _U0 * z
                        r1 *= _T1 * met + _U1 * z
                        r2 *= _T2 * met + _U2 * z
                        r3 *= _T3 * met + _U3 * z
                else:  # longer paths: (d + 1) // 2 points
                    n_points = (d + 1) // 2
                    for p in range(n_points):
                        run[p] = 1.0
                    for s in range(d):
                        z = slot_z[s0 + s]
                        met = np.float64((q >> s) & 1)
                        for p in range(n_points):
                            pre[s * n_points + p] = run[p]
                            tp = quad_t[n_points, p]
                            run[p] *= tp * met + (1.0 - tp) * z
                    v = leaf_value[leaf]
                    for p in range(n_points):
                        run[p] = quad_w[n_points, p] * v
                    for s in range(d - 1, -1, -1):
                        z = slot_z[s0 + s]
                        met = np.float64((q >> s) & 1)
                        integral = 0.0
                        for p in range(n_points):
                            integral += pre[s * n_points + p] * run[p]
                            tp = quad_t[n_points, p]
                            run[p] *= tp * met + (1.0 - tp) * z
                        out[r, slot_feature[s0 + s]] += (met - z) * integral
                s0 += d


_KERNELS: SimpleNamespace | None = None
_KERNELS_TRIED = False
_KERNELS_LOCK = threading.Lock()


def _kernels() -> SimpleNamespace | None:
    """The compiled kernels, or None when numba is not installed (logged once)."""
    global _KERNELS, _KERNELS_TRIED
    with _KERNELS_LOCK:
        if not _KERNELS_TRIED:
            _KERNELS_TRIED = True
            try:
                import numba
            except Exception as error:  # ImportError, or a numba broken by its numpy
                log.debug("numba unavailable (%s): TreeSHAP falls back to LightGBM", error)
            else:
                _KERNELS = SimpleNamespace(
                    paths=_jit(numba, _build_paths),
                    tables=_jit(numba, _fill_tables),
                    rows=_jit(numba, _explain_rows, fastmath={"contract"}),
                )
    return _KERNELS


def _jit(numba: Any, function: Any, **options: Any) -> Any:
    """``numba.njit(cache=True)``; without the on-disk cache when no folder is writable."""
    try:
        return numba.njit(cache=True, nogil=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, **options)(function)


def _quadrature(max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre points and weights on [0, 1]: row ``n`` holds the ``n``-point rule."""
    points = np.zeros((max_points + 1, max_points))
    weights = np.zeros((max_points + 1, max_points))
    for n in range(1, max_points + 1):
        x, w = np.polynomial.legendre.leggauss(n)
        points[n, :n] = (x + 1) / 2
        weights[n, :n] = w / 2
    return points, weights


# --------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Forest:
    """The trees of a model as flat arrays (internal nodes and leaves numbered per tree)."""

    n_features: int
    bias: float
    node_off: np.ndarray
    leaf_off: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    decision: np.ndarray
    left: np.ndarray
    right: np.ndarray
    internal_count: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    cat_words: np.ndarray
    leaf_value: np.ndarray
    leaf_count: np.ndarray


def _numbers(parts: list[str], dtype: Any) -> np.ndarray:
    """One array from space-separated numbers spread over several strings."""
    text = " ".join(parts)
    return np.array(text.split(), dtype=dtype) if text.strip() else np.zeros(0, dtype)


_TREE_KEYS = (
    "split_feature", "threshold", "decision_type", "left_child", "right_child",
    "internal_count", "leaf_value", "leaf_count",
)  # fmt: skip


def _parse_model(text: str) -> _Forest:
    """The trees of LightGBM's text model (``Booster.model_to_string``)."""
    head, _, body = text.partition("\nTree=")
    header = dict(line.partition("=")[::2] for line in head.splitlines())
    if (
        int(header.get("num_tree_per_iteration", "1")) != 1
        or int(header.get("num_class", "1")) != 1
    ):
        raise UnsupportedModelError("more than one output per row")
    if "average_output" in header:
        raise UnsupportedModelError("averaged trees (random forest mode)")
    n_features = int(header["max_feature_idx"]) + 1
    body = body.partition("\nend of trees")[0]
    columns: dict[str, list[str]] = {key: [] for key in _TREE_KEYS}
    n_leaves: list[int] = []
    single: list[float] = []  # values of one-leaf trees: only the bias
    categories: list[tuple[int, str, str]] = []  # (tree, cat_boundaries, cat_threshold)
    for block in body.split("\nTree=") if body.strip() else []:
        fields = dict(line.partition("=")[::2] for line in block.splitlines()[1:])
        if fields.get("is_linear", "0").strip() not in ("", "0"):
            raise UnsupportedModelError("linear trees")
        leaves = int(fields["num_leaves"])
        if leaves <= 1:
            single.append(float(fields["leaf_value"].split()[0]))
            continue
        for key in _TREE_KEYS:
            columns[key].append(fields[key])
        if int(fields.get("num_cat", "0")) > 0:
            categories.append((len(n_leaves), fields["cat_boundaries"], fields["cat_threshold"]))
        n_leaves.append(leaves)

    leaves_per_tree = np.asarray(n_leaves, np.int64)
    leaf_off = np.concatenate([[0], np.cumsum(leaves_per_tree)]).astype(np.int64)
    node_off = np.concatenate([[0], np.cumsum(leaves_per_tree - 1)]).astype(np.int64)
    feature = _numbers(columns["split_feature"], np.int32)
    threshold = _numbers(columns["threshold"], np.float64)
    decision = _numbers(columns["decision_type"], np.int32).astype(np.int8)
    left = _numbers(columns["left_child"], np.int32)
    right = _numbers(columns["right_child"], np.int32)
    internal_count = _numbers(columns["internal_count"], np.float64)
    leaf_value = _numbers(columns["leaf_value"], np.float64)
    leaf_count = _numbers(columns["leaf_count"], np.float64)
    n_nodes = int(node_off[-1])
    if not (
        len(feature) == len(threshold) == len(decision) == len(left) == len(right) == n_nodes
        and len(internal_count) == n_nodes
        and len(leaf_value) == len(leaf_count) == int(leaf_off[-1])
    ):
        raise UnsupportedModelError("unexpected tree arrays in the model text")
    if n_nodes and (feature.min() < 0 or feature.max() >= n_features):
        raise UnsupportedModelError("a split on an unknown feature")
    # LightGBM numbers splits in the order it makes them, so a child split comes after its
    # parent: the row kernel relies on it to carry the masks down in one forward pass
    tree_of_node = np.repeat(np.arange(len(n_leaves)), leaves_per_tree - 1)
    local = np.arange(n_nodes) - node_off[tree_of_node]
    for child in (left, right):
        inner = child >= 0
        if np.any(child[inner] <= local[inner]):
            raise UnsupportedModelError("a child split numbered before its parent")
    if np.any(internal_count <= 0) or np.any(leaf_count <= 0):
        raise UnsupportedModelError("a node without training rows (zero cover)")

    # categorical splits: the threshold indexes the tree's bitsets (cat_boundaries)
    cat_start = np.zeros(n_nodes, np.int64)
    cat_len = np.zeros(n_nodes, np.int64)
    words: list[np.ndarray] = []
    word_off = 0
    categorical = (decision & 1) == 1
    for t, boundaries_text, bits_text in categories:
        boundaries = np.array(boundaries_text.split(), np.int64)
        bits = np.array(bits_text.split(), np.int64)
        nodes = np.arange(node_off[t], node_off[t + 1])
        nodes = nodes[categorical[nodes]]
        index = threshold[nodes].astype(np.int64)
        cat_start[nodes] = word_off + boundaries[index]
        cat_len[nodes] = boundaries[index + 1] - boundaries[index]
        words.append(bits)
        word_off += len(bits)
    cat_words = np.concatenate(words) if words else np.zeros(1, np.int64)

    # expected value of each tree: its leaves weighted by their share of the training rows
    tree_of_leaf = np.repeat(np.arange(len(n_leaves)), leaves_per_tree)
    roots = internal_count[node_off[:-1]]
    share = leaf_count / roots[tree_of_leaf] if n_nodes else leaf_count
    bias = float(np.sum(leaf_value * share) + np.sum(single))
    return _Forest(
        n_features=n_features,
        bias=bias,
        node_off=node_off,
        leaf_off=leaf_off,
        feature=feature,
        threshold=threshold,
        decision=decision,
        left=left,
        right=right,
        internal_count=internal_count,
        cat_start=cat_start,
        cat_len=cat_len,
        cat_words=cat_words,
        leaf_value=leaf_value,
        leaf_count=leaf_count,
    )


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
        forest: _Forest,
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
        if self.max_path_features > _MAX_PATH_FEATURES:
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
        self._quad_t, self._quad_w = _quadrature(max(4, (self.max_path_features + 1) // 2))
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
        kernels = _kernels()
        if kernels is None:
            raise ImportError("TreeShap needs numba (pip install 'estimo[fast]')")
        fingerprint = _fingerprint(booster)
        text = booster.model_to_string(num_iteration=fingerprint[0] if fingerprint[0] > 0 else -1)
        explainer = cls(
            _parse_model(text), kernels, booster.pandas_categorical, tables=tables, lazy=lazy
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
        if batch and self._tables_pending:
            with self._tables_lock:
                if self._tables_pending:
                    self._build_tables()
                    self._tables_pending = False
        use_tables = self.has_tables and batch
        leaves = self._leaf_off
        n_threads = min(self.threads, leaves[-1] * n_rows // _WORK_PER_THREAD) if batch else 1
        n_threads = max(1, n_threads)
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
        matrix[np.abs(matrix) <= _K_ZERO] = 0.0  # LightGBM reads these as zero
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
        if _kernels() is None:
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
        return booster.predict(X, pred_contrib=True)
    return explainer._explain(matrix)
