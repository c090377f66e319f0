"""The numba kernels of exact TreeSHAP (the method is in :mod:`estimo.model.treeshap`).

Plain Python functions, compiled by :func:`compiled_kernels` on first use (numba, the
``fast`` extra; without it :func:`compiled_kernels` returns None) and cached on disk:

* ``paths``: per leaf, its distinct path features ("slots", in order of first appearance
  from the root) and their cover products ``z``; per internal node, its feature's slot;
* ``tables``: per leaf, the table of ``H`` over the subsets of its path (for batches);
* ``rows``: the contributions of rows, tree by tree (quadrature, or the tables).
"""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["K_ZERO", "MAX_PATH_FEATURES", "compiled_kernels", "quadrature"]

MAX_PATH_FEATURES = 63
"""Most distinct features on a leaf's path: the met-conditions mask is an int64."""

K_ZERO = float(np.float32(1e-35))
"""LightGBM's kZeroThreshold: inputs within it of zero are read as zero."""

# 4-point Gauss-Legendre rule on [0, 1]: exact for the integrand's degree d - 1 <= 7
_nodes, _weights = np.polynomial.legendre.leggauss(4)
_T0, _T1, _T2, _T3 = (float(t) for t in (_nodes + 1) / 2)
_U0, _U1, _U2, _U3 = (float(1 - t) for t in (_nodes + 1) / 2)
_W0, _W1, _W2, _W3 = (float(w) for w in _weights / 2)


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
                            if missing == 1 and x >= -K_ZERO and x <= K_ZERO:
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


def compiled_kernels() -> SimpleNamespace | None:
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


def quadrature(max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre points and weights on [0, 1]: row ``n`` holds the ``n``-point rule."""
    points = np.zeros((max_points + 1, max_points))
    weights = np.zeros((max_points + 1, max_points))
    for n in range(1, max_points + 1):
        x, w = np.polynomial.legendre.leggauss(n)
        points[n, :n] = (x + 1) / 2
        weights[n, :n] = w / 2
    return points, weights
