"""Linear scores with the same bits for a row alone and in a batch of any size."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.model.linear import row_dot, row_matmul


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(2, 60),
    columns=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    fortran=st.booleans(),
)
def test_a_rows_score_is_the_same_alone_and_in_a_batch(rows, columns, seed, fortran) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(rows, columns)) * rng.lognormal(0, 3, size=columns)
    if fortran:
        matrix = np.asfortranarray(matrix)
    scale = np.abs(matrix).max() * columns
    vector = rng.normal(size=columns)
    together = row_dot(matrix, vector)
    alone = np.array([row_dot(matrix[i : i + 1], vector)[0] for i in range(rows)])
    assert together.tobytes() == alone.tobytes()
    np.testing.assert_allclose(together, matrix @ vector, rtol=1e-9, atol=1e-12 * scale)
    weights = rng.normal(size=(columns, 3))
    product = row_matmul(matrix, weights)
    assert product.tobytes() == np.vstack([row_matmul(r[None], weights) for r in matrix]).tobytes()
    np.testing.assert_allclose(product, matrix @ weights, rtol=1e-9, atol=1e-12 * scale)
