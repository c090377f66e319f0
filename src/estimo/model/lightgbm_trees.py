"""A LightGBM model's trees as flat arrays, read from its text (``Booster.model_to_string``).

:func:`parse_model` numbers the internal nodes and the leaves of every tree in one array
each (:class:`Forest`), with each categorical split's bitset, and the model's expected
value (its bias). It checks what exact TreeSHAP relies on: one output per row, no linear
or averaged trees, every node with training rows, children numbered after their parents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Forest", "UnsupportedModelError", "parse_model"]


class UnsupportedModelError(ValueError):
    """The model is not one :class:`~estimo.model.treeshap.TreeShap` explains (LightGBM's
    ``pred_contrib`` does)."""


@dataclass(frozen=True)
class Forest:
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


def parse_model(text: str) -> Forest:
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
    return Forest(
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
