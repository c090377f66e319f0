"""Linear scores computed row by row, with the same bits however many rows are scored."""

from __future__ import annotations

import numpy as np


def row_dot(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Each row of ``matrix`` times ``vector``, summed: ``matrix @ vector`` without BLAS.

    BLAS's matrix-vector product sums in an order that depends on the number of rows, so a
    property scored alone and in a batch differed in the last bit (a range's width, a blend
    weight); the element-wise product summed along each row does not.

    Examples
    --------
    >>> row_dot(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, 1.0])).tolist()
    [2.5, 5.5]
    """
    rows = np.ascontiguousarray(matrix, dtype=float)  # a row's sum is then pairwise, always
    return (rows * np.asarray(vector, dtype=float)).sum(axis=1)


def row_matmul(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``matrix @ weights`` one column of ``weights`` at a time with :func:`row_dot`: each
    row's result has the same bits however many rows are multiplied.

    Examples
    --------
    >>> row_matmul(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])).tolist()
    [[3.0, 2.0]]
    """
    weights = np.asarray(weights, dtype=float)
    rows = np.ascontiguousarray(matrix, dtype=float)
    out = np.empty((rows.shape[0], weights.shape[1]))
    for j in range(weights.shape[1]):
        out[:, j] = row_dot(rows, weights[:, j])
    return out
