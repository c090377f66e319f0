"""scikit-learn search trees saved as plain arrays, so that loading does not rebuild them.

A :class:`sklearn.neighbors.KDTree` or :class:`~sklearn.neighbors.BallTree` is its data plus
three arrays (the permutation of the rows, each node's row range and radius, each node's
bounds: lower and upper corners for a KD-tree, the centroid for a ball tree) and a few
counts: what its own ``__getstate__`` gives. :func:`tree_table` turns them into one table
(Parquet in a bundle, no pickles) and :func:`restore_tree` sets them back on a new tree of
the same data, which then answers every query exactly as the tree that was saved. A table
written by another scikit-learn version (whose state may differ) is not used:
:func:`restore_tree` returns None and the caller builds the tree.

Examples
--------
>>> import numpy as np
>>> from sklearn.neighbors import KDTree
>>> data = np.random.default_rng(0).normal(size=(500, 3))
>>> tree = KDTree(data)
>>> again = restore_tree(KDTree, data, *tree_table(tree))
>>> query = data[:5] + 0.01
>>> all(np.array_equal(a, b) for a, b in zip(tree.query(query, 4), again.query(query, 4)))
True
>>> from sklearn.neighbors import BallTree
>>> places = np.radians(np.random.default_rng(1).uniform([45, 9], [46, 10], size=(300, 2)))
>>> ball = BallTree(places, metric="haversine")
>>> same = restore_tree(BallTree, places, *tree_table(ball), metric="haversine")
>>> all(np.array_equal(a, b) for a, b in zip(ball.query(places[:5], 3), same.query(places[:5], 3)))
True
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["restore_tree", "tree_table"]

_COUNTS = ("leaf_size", "n_levels", "n_nodes", "n_trims", "n_leaves", "n_splits", "n_calls")
_BOUNDS = ("lower", "upper")


def _version() -> str:
    import sklearn

    return str(sklearn.__version__)


def tree_table(tree: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The arrays of a built tree (not its data) as one table, and its counts as facts.

    Returns
    -------
    (pandas.DataFrame, dict)
        ``idx`` (one row per data row), then per node ``idx_start``, ``idx_end``,
        ``is_leaf``, ``radius`` and ``lower_<j>``/``upper_<j>`` bounds (a ball tree's
        centroid as ``lower_<j>``; padded with NaN to the data's length); facts: the counts,
        the node count, the bound rows (2 for a KD-tree, 1 for a ball tree) and
        scikit-learn's version.
    """
    state = tree.__getstate__()
    idx, nodes, bounds = state[1], state[2], state[3]
    n = len(idx)
    n_nodes = len(nodes)

    def padded(values: np.ndarray, dtype: Any, fill: Any) -> np.ndarray:
        out = np.full(n, fill, dtype=dtype)
        out[:n_nodes] = values
        return out

    table = {"idx": np.asarray(idx, dtype=np.int64)}
    for name in nodes.dtype.names:
        kind = nodes.dtype[name]
        table[name] = padded(nodes[name], kind, 0)
    for j in range(bounds.shape[2]):
        for k, name in enumerate(_BOUNDS[: bounds.shape[0]]):
            table[f"{name}_{j}"] = padded(bounds[k, :, j], np.float64, np.nan)
    facts = dict(zip(_COUNTS, (int(x) for x in state[4:11]), strict=True))
    facts.update(
        nodes=n_nodes,
        dims=int(bounds.shape[2]),
        bound_rows=int(bounds.shape[0]),
        sklearn=_version(),
    )
    return pd.DataFrame(table), facts


def restore_tree(
    tree_class: Any,
    data: np.ndarray,
    table: pd.DataFrame,
    facts: dict[str, Any],
    **options: Any,
) -> Any | None:
    """A tree of ``tree_class`` over ``data`` with the saved arrays, or None when they were
    written by another scikit-learn version or do not fit ``data`` (then build it).

    ``options`` are the tree's own (e.g. ``metric="haversine"``), as when it was built.
    """
    if facts.get("sklearn") != _version() or len(table) != len(data) or not len(data):
        return None
    # a tree of this version: its state's layout and metric
    template = tree_class(data[:2], **options)
    state = list(template.__getstate__())
    n_nodes, dims = int(facts["nodes"]), int(facts["dims"])
    rows = int(facts.get("bound_rows", 2))  # tables written before ball trees: KD-trees
    if len(state) != 13 or state[2].dtype.names is None or state[3].shape[0] != rows:
        return None
    nodes = np.zeros(n_nodes, dtype=state[2].dtype)
    for name in nodes.dtype.names:
        if name not in table:
            return None
        nodes[name] = table[name].to_numpy()[:n_nodes]
    bounds = np.empty((rows, n_nodes, dims))
    for j in range(dims):
        for k, name in enumerate(_BOUNDS[:rows]):
            bounds[k, :, j] = table[f"{name}_{j}"].to_numpy()[:n_nodes]
    state[0] = np.ascontiguousarray(data, dtype=np.float64)
    state[1] = np.ascontiguousarray(table["idx"].to_numpy(np.intp))
    state[2], state[3] = nodes, bounds
    state[4:11] = [int(facts[name]) for name in _COUNTS]
    tree = tree_class.__new__(tree_class)
    tree.__setstate__(tuple(state))
    return tree
