"""Feature drift of the served properties against the training data.

:func:`feature_drift` compares the records served in a window with the training rows
column by column with :func:`estimo.quality.rules.drift.column_drift` (PSI on the training
deciles or most frequent levels, and missing rates); :func:`psi_by_month` gives the PSI of
each feature month by month, for the dashboard.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> train = pd.DataFrame({"area_m2": rng.normal(80, 20, 2000), "city": ["Roma"] * 2000})
>>> served = pd.DataFrame({"area_m2": rng.normal(110, 20, 500), "city": ["Roma"] * 500})
>>> table = feature_drift(train, served)
>>> bool(table.set_index("column").loc["area_m2", "psi"] > 0.25)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from estimo.quality.rules.drift import column_drift

__all__ = ["feature_drift", "psi_by_month", "records_frame"]

_NOT_FEATURES = ("id", "price", "price_kind", "date", "description")


def records_frame(records: Sequence[dict], reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Served records (dicts) as a frame, numeric where the training column is numeric."""
    frame = pd.DataFrame.from_records(list(records))
    if reference is not None:
        for column in frame.columns:
            if column in reference and pd.api.types.is_numeric_dtype(reference[column]):
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def feature_drift(reference: pd.DataFrame, served: pd.DataFrame) -> pd.DataFrame:
    """PSI and missing rates of every feature shared by the training and served rows.

    Returns
    -------
    pandas.DataFrame
        ``column``, ``missing_reference``, ``missing_current``, ``missing_change``, ``psi``,
        sorted by PSI (largest first).
    """
    features = [c for c in served.columns if c in reference and c not in _NOT_FEATURES]
    table = column_drift(reference[features], served[features])
    return table.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)


def psi_by_month(reference: pd.DataFrame, served: pd.DataFrame, months: pd.Series) -> pd.DataFrame:
    """PSI of each feature per month: ``month``, ``column``, ``psi``, ``missing_change``."""
    parts = []
    for month, rows in served.groupby(months.to_numpy(), sort=True):
        table = feature_drift(reference, rows)
        table.insert(0, "month", month)
        parts.append(table[["month", "column", "psi", "missing_change"]])
    if not parts:
        return pd.DataFrame(columns=["month", "column", "psi", "missing_change"])
    return pd.concat(parts, ignore_index=True)
