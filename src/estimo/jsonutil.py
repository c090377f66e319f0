"""JSON helpers: numpy and pandas values to plain JSON (NaN becomes null)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Recursively convert numpy/pandas scalars and containers to JSON-ready values.

    numpy and pandas are not imported here: a value can only be one of theirs once they
    are loaded (the service reads the registry's JSON before it loads either).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> to_jsonable({"a": np.float64("nan"), "b": [np.int64(3)], "c": pd.Timestamp("2024-01-01")})
    {'a': None, 'b': [3], 'c': '2024-01-01T00:00:00'}
    """
    kind = type(value)  # the plain Python values of an answer first (most of its values)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(v) for v in value]
    return _converted(value)


def _converted(value: Any) -> Any:
    """:func:`to_jsonable` of a value that is not a plain ``str``, ``int``, ``bool``,
    ``float``, ``dict``, ``list``, ``tuple`` or None."""
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or (
        (np is not None and isinstance(value, np.ndarray))
        or (pd is not None and isinstance(value, pd.Series))
    ):
        return [to_jsonable(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if pd is not None and isinstance(value, pd.DataFrame):
        return [to_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
        return bool(value)
    if np is not None and isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float) or (np is not None and isinstance(value, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if pd is not None and isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or (pd is not None and (value is pd.NA or value is pd.NaT)):
        return None
    if isinstance(value, str | int):
        return value
    return str(value)


def write_json(path: str | Path, value: Any) -> Path:
    """Write ``value`` as indented JSON (strict: no NaN) and return the path."""
    path = Path(path)
    path.write_text(json.dumps(to_jsonable(value), indent=2, allow_nan=False), encoding="utf-8")
    return path


def write_report(out_dir: str | Path, name: str, data: Any, html: str) -> dict[str, Path]:
    """Write ``<name>.json`` and the self-contained ``<name>.html`` into ``out_dir``.

    Returns the paths as ``{"json": ..., "html": ...}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{name}.json", "html": out / f"{name}.html"}
    write_json(paths["json"], data)
    paths["html"].write_text(html, encoding="utf-8")
    return paths
