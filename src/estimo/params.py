"""Estimator parameters as plain JSON, for manifests and bundles.

scikit-learn's ``get_params`` returns the values as given (tuples, numpy numbers, nested
estimators); :func:`json_params` turns them into what JSON holds and reads back the same.

Examples
--------
>>> from estimo.model.avm import AVM
>>> params = json_params(AVM(interval_levels=(0.8, 0.9)))
>>> params["interval_levels"], AVM(**params).interval_levels
([0.8, 0.9], [0.8, 0.9])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def json_params(estimator: BaseEstimator) -> dict[str, Any]:
    """The estimator's own constructor parameters (``get_params(deep=False)``) as JSON.

    Raises
    ------
    TypeError
        If a parameter is not plain data (e.g. a nested estimator), naming it.
    """
    out = {}
    for name, value in estimator.get_params(deep=False).items():
        plain = _plain(value)
        if plain is not None and not isinstance(plain, str | int | float | bool | list | dict):
            raise TypeError(
                f"parameter {name!r} of {type(estimator).__name__} is {value!r}; expected "
                "plain data (numbers, text, lists, mappings) to store it as JSON"
            )
        out[name] = plain
    return out
