"""Fast access to the columns of small pandas frames, for the per-property hot path.

Valuing or explaining one property at a time touches every column of a one-row frame; a
``Series`` per column (``frame[c]``, ``frame.iloc[:, j]``) costs more there than the work
itself. :func:`column_arrays` walks the columns the way pandas does internally.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"area_m2": [95.0], "city": pd.Categorical(["Milano"])})
>>> [type(a).__name__ for a in column_arrays(frame)]
['ndarray', 'Categorical']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["column_arrays"]


def column_arrays(frame: pd.DataFrame) -> list[Any]:
    """The columns of ``frame`` as their arrays: numpy arrays where pandas stores numpy,
    else pandas' own arrays (``Categorical``, ``DatetimeArray``, nullable and text arrays),
    so that ``.tolist()`` gives each value its Python type (``Timestamp``, ``NA``, ...)."""
    iterate = getattr(frame, "_iter_column_arrays", None)  # pandas' own walk, not public
    if iterate is not None:
        return list(iterate())
    out = []
    for _, column in frame.items():
        array = column.array
        out.append(array.to_numpy() if isinstance(array, pd.arrays.NumpyExtensionArray) else array)
    return out
