"""Drift between a reference dataset (the last training set) and a new one.

For every shared column: the change in missing rate and the population stability index
(PSI: numeric columns on the reference's deciles, categorical ones on its 20 most frequent
levels plus "other"). For every city: its share of rows and the change of its median price
per m2. New and vanished columns and cities are listed.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> round(psi(rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)), 3) < 0.02
True
>>> psi(rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)) > 0.2
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.quality.findings import AuditContext

_EPS = 1e-4
_TOP_LEVELS = 20
_SKIP = ("id", "description", "date")


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of numeric values (NaN when either side is empty)."""
    ref = reference[np.isfinite(reference)]
    cur = current[np.isfinite(current)]
    if len(ref) == 0 or len(cur) == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    return _psi_shares(ref_share / len(ref), cur_share / len(cur))


def psi_categorical(reference: pd.Series, current: pd.Series) -> float:
    """PSI of categorical values on the reference's most frequent levels plus "other"."""
    ref = reference.dropna().astype(str)
    cur = current.dropna().astype(str)
    if ref.empty or cur.empty:
        return float("nan")
    levels = list(ref.value_counts().index[:_TOP_LEVELS])
    ref_share = ref.where(ref.isin(levels), "<other>").value_counts(normalize=True)
    cur_share = cur.where(cur.isin(levels), "<other>").value_counts(normalize=True)
    index = ref_share.index.union(cur_share.index)
    return _psi_shares(
        ref_share.reindex(index, fill_value=0).to_numpy(),
        cur_share.reindex(index, fill_value=0).to_numpy(),
    )


def _psi_shares(ref: np.ndarray, cur: np.ndarray) -> float:
    ref = np.maximum(ref, _EPS)
    cur = np.maximum(cur, _EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def column_drift(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Per shared column: missing rates, their change and the PSI."""
    rows = []
    for name in current.columns:
        if name not in reference or name in _SKIP or name.startswith("_"):
            continue
        ref, cur = reference[name], current[name]
        numeric = pd.api.types.is_numeric_dtype(ref) and pd.api.types.is_numeric_dtype(cur)
        value = (
            psi(ref.to_numpy(float), cur.to_numpy(float)) if numeric else psi_categorical(ref, cur)
        )
        rows.append(
            {
                "column": name,
                "missing_reference": float(ref.isna().mean()) if len(ref) else np.nan,
                "missing_current": float(cur.isna().mean()) if len(cur) else np.nan,
                "psi": value,
            }
        )
    table = pd.DataFrame(rows, columns=["column", "missing_reference", "missing_current", "psi"])
    table["missing_change"] = table["missing_current"] - table["missing_reference"]
    return table


def city_drift(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Per city: row shares and median price per m2 in both datasets, and the change."""

    def summary(frame: pd.DataFrame) -> pd.DataFrame:
        ppm2 = frame["price"] / frame["area_m2"].where(frame["area_m2"] > 0)
        grouped = ppm2.groupby(frame["city"])
        return pd.DataFrame(
            {"share": frame["city"].value_counts(normalize=True), "price_m2": grouped.median()}
        )

    ref = summary(reference).add_suffix("_reference")
    cur = summary(current).add_suffix("_current")
    table = ref.join(cur, how="outer")
    table["price_m2_change"] = table["price_m2_current"] / table["price_m2_reference"] - 1
    table.index.name = "city"
    return table.reset_index()


def check(ctx: AuditContext, reference: pd.DataFrame) -> None:
    """Add drift findings against ``reference`` (a prepared frame) and the drift tables."""
    rules = ctx.config.drift
    columns = column_drift(reference, ctx.frame)
    cities = city_drift(reference, ctx.frame)
    ctx.tables["drift_columns"] = columns
    ctx.tables["drift_cities"] = cities
    for name in sorted(set(ctx.frame.columns) ^ set(reference.columns)):
        where = "new" if name in ctx.frame else "gone"
        ctx.note(
            "drift.schema", column=name, severity="warning", message=f"column {name!r} is {where}"
        )
    for row in columns.itertuples():
        if abs(row.missing_change) > rules.missing_rate_change:
            ctx.note(
                "drift.missing_rate",
                column=row.column,
                severity="warning",
                message=f"missing rate of {row.column!r} went from {row.missing_reference:.1%} "
                f"to {row.missing_current:.1%}",
            )
        if np.isfinite(row.psi) and row.psi > rules.psi_threshold:
            ctx.note(
                "drift.distribution",
                column=row.column,
                severity="warning",
                message=f"distribution of {row.column!r} changed (PSI {row.psi:.2f} > "
                f"{rules.psi_threshold:g})",
            )
    for row in cities.itertuples():
        if pd.isna(row.share_reference) or pd.isna(row.share_current):
            where = "new" if pd.isna(row.share_reference) else "no longer in the data"
            ctx.note(
                "drift.city",
                column="city",
                severity="warning",
                message=f"city {row.city!r} is {where}",
            )
        elif (
            np.isfinite(row.price_m2_change) and abs(row.price_m2_change) > rules.price_level_change
        ):
            ctx.note(
                "drift.price_level",
                column="price",
                severity="warning",
                message=f"median price per m2 in {row.city!r} changed by "
                f"{row.price_m2_change:+.1%} ({row.price_m2_reference:,.0f} -> "
                f"{row.price_m2_current:,.0f})",
            )
