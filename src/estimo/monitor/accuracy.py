"""Live accuracy: served valuations against appraisals and sales, month by month.

For each outcome kind separately (appraisals and sales are different truths), each month a
valuation was served, and each group of a dimension (``city``, ``property_type``,
``model_version``, and ``(all)``), :func:`accuracy_over_time` reports the metrics of
:mod:`estimo.evaluate.metrics` (MdAPE, PE10, COD, median ratio) with percentile bootstrap
intervals (:func:`estimo.evaluate.metric_ci.bootstrap_ci`) for MdAPE, PE10 and the median
ratio, and the share of outcomes inside the served range (coverage). Groups smaller than
``min_group_size`` keep their row with ``too_small=True`` and no metrics (the minimum-group
rule of :func:`estimo.evaluate.segments.metrics_by_segment`).

Groups larger than :data:`BOOTSTRAP_MAX_ROWS` are bootstrapped on a seeded sample of that
many rows: the interval is then a little wider than it needs to be, never narrower.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from estimo.evaluate.metric_ci import bootstrap_ci
from estimo.evaluate.segments import ALL_LABEL, metrics_by_segment

__all__ = ["BOOTSTRAP_MAX_ROWS", "CI_METRICS", "DIMENSIONS", "accuracy_over_time"]

#: Dimensions accuracy is broken down by.
DIMENSIONS: tuple[str, ...] = ("city", "property_type", "model_version")
#: Metrics given with a bootstrap interval (``<name>_low`` / ``<name>_high``).
CI_METRICS: tuple[str, ...] = ("mdape", "pe10", "median_ratio")
BOOTSTRAP_MAX_ROWS = 5_000
_KEEP = ("n", "too_small", "mdape", "pe10", "pe20", "cod", "median_ratio", "prd")


def accuracy_over_time(
    pairs: pd.DataFrame,
    *,
    dimensions: Sequence[str] = DIMENSIONS,
    min_group_size: int = 30,
    n_boot: int = 400,
    confidence: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy per outcome kind, month and group (see the module docstring).

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`estimo.monitor.matching.match_outcomes` output.
    dimensions : sequence of str
        Columns to break accuracy down by; ``(all)`` rows are always included.
    min_group_size : int
        Smallest group that is judged.
    n_boot : int
        Bootstrap resamples per interval.
    confidence : float
        Level of the intervals.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``dimension`` (``all`` for the overall rows), ``group``, ``month``, ``n``,
        ``too_small``, ``mdape``, ``pe10``, ``pe20``, ``cod``, ``median_ratio``, ``prd``,
        ``coverage`` and ``<metric>_low`` / ``<metric>_high`` for :data:`CI_METRICS`.

    Examples
    --------
    >>> import pandas as pd
    >>> pairs = pd.DataFrame({"kind": ["sale"] * 4, "month": ["2024-01"] * 4,
    ...     "city": ["Roma"] * 4, "actual": [100.0, 100.0, 100.0, 100.0],
    ...     "predicted": [95.0, 104.0, 120.0, 100.0], "low": [90.0] * 4, "high": [110.0] * 4})
    >>> t = accuracy_over_time(pairs, dimensions=["city"], min_group_size=2, n_boot=50)
    >>> row = t[(t["dimension"] == "city") & (t["group"] == "Roma")].iloc[0]
    >>> int(row["n"]), float(row["pe10"]), float(row["coverage"])
    (4, 0.75, 1.0)
    """
    tables = []
    for kind, rows in pairs.groupby("kind", sort=True):
        for dimension in ("all", *dimensions):
            if dimension != "all" and dimension not in rows:
                continue
            by = "month" if dimension == "all" else [dimension, "month"]
            table = metrics_by_segment(
                rows,
                by,
                actual="actual",
                predicted="predicted",
                min_group_size=min_group_size,
                include_overall=False,
            )
            if dimension == "all":
                table.insert(0, "group", ALL_LABEL)
            else:
                table = table.rename(columns={dimension: "group"})
            table.insert(0, "dimension", dimension)
            table.insert(0, "kind", kind)
            keys = rows["month"] if dimension == "all" else [rows[dimension], rows["month"]]
            groups = dict(list(rows.groupby(keys, sort=False, dropna=False)))
            extra = [
                _intervals(groups.get(_key(r, dimension)), r["too_small"], n_boot, confidence, seed)
                for _, r in table.iterrows()
            ]
            tables.append(pd.concat([table.reset_index(drop=True), pd.DataFrame(extra)], axis=1))
    columns = ["kind", "dimension", "group", "month", *_KEEP, "coverage"] + [
        f"{m}_{side}" for m in CI_METRICS for side in ("low", "high")
    ]
    if not tables:
        return pd.DataFrame(columns=columns)
    out = pd.concat(tables, ignore_index=True)
    out["group"] = out["group"].astype(str)
    return out[columns]


def _key(row: pd.Series, dimension: str) -> object:
    return row["month"] if dimension == "all" else (row["group"], row["month"])


def _intervals(
    rows: pd.DataFrame | None, too_small: bool, n_boot: int, confidence: float, seed: int
) -> dict[str, float]:
    out = {f"{m}_{side}": np.nan for m in CI_METRICS for side in ("low", "high")}
    out["coverage"] = np.nan
    if rows is None or too_small:
        return out
    bounded = rows["low"].notna() & rows["high"].notna()
    if bounded.any():
        inside = (rows["actual"] >= rows["low"]) & (rows["actual"] <= rows["high"])
        out["coverage"] = float(inside[bounded].mean())
    if len(rows) > BOOTSTRAP_MAX_ROWS:
        rows = rows.sample(BOOTSTRAP_MAX_ROWS, random_state=seed)
    actual, predicted = rows["actual"].to_numpy(float), rows["predicted"].to_numpy(float)
    for metric in CI_METRICS:
        _, low, high = bootstrap_ci(
            actual, predicted, metric, n_boot=n_boot, level=confidence, seed=seed
        )
        out[f"{metric}_low"], out[f"{metric}_high"] = low, high
    return out
