"""Completeness: missing rate per column, overall and per city; critical columns called out.

Examples
--------
>>> import pandas as pd
>>> from estimo.config import QualityConfig
>>> from estimo.quality._frame import prepare_frame
>>> from estimo.quality.findings import AuditContext
>>> frame = pd.DataFrame({"id": ["a", "b"], "price": [1.0, 2.0], "city": ["X", "X"],
...                       "area_m2": [50.0, None], "rooms": [2.0, 3.0]})
>>> ctx = AuditContext(prepare_frame(frame).frame, QualityConfig())
>>> check(ctx, present=list(frame.columns))
>>> [(f.rule, f.column, f.count) for f in ctx.findings]
[('completeness.missing_critical', 'area_m2', 1)]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.quality.findings import AuditContext

MAX_CITIES_IN_TABLE = 25
_SKIP = ("id", "description")


def check(ctx: AuditContext, present: list[str]) -> None:
    """Add missingness findings, the ``missing_critical`` row flag and the missingness table.

    Parameters
    ----------
    ctx : AuditContext
    present : list of str
        Columns that were in the input (absent canonical columns are not reported as
        missing values, only once as absent when they are critical).
    """
    frame = ctx.frame
    columns = [c for c in frame.columns if c in present and c not in _SKIP]
    missing = frame[columns].isna()
    critical = [c for c in ctx.config.critical_columns if c in present]
    for name in ctx.config.critical_columns:
        if name not in present:
            ctx.note(
                "completeness.absent_critical",
                column=name,
                severity="warning",
                message=f"critical column {name!r} is not in the data; "
                "rows cannot be checked or dropped for it",
            )
    for name in columns:
        rate = float(missing[name].mean()) if ctx.n else 0.0
        count = int(missing[name].sum())
        if count == 0:
            continue
        if count == ctx.n:
            ctx.flag(
                "completeness.all_missing",
                missing[name].to_numpy(),
                column=name,
                severity="info",
                message=f"column {name!r} has no value at all ({count} rows); not in the data?",
                action="ignored (not imputed, not a reason to drop)",
            )
            continue
        if name in critical:
            ctx.flag(
                "completeness.missing_critical",
                missing[name].to_numpy(),
                column=name,
                severity="error",
                message=f"critical column {name!r} is missing in {count} rows ({rate:.1%})",
                action="row dropped from training; imputed at prediction time",
            )
        else:
            ctx.flag(
                "completeness.missing",
                missing[name].to_numpy(),
                column=name,
                severity="info",
                message=f"column {name!r} is missing in {count} rows ({rate:.1%})",
                action="imputed by location when configured, with a missing-indicator column",
            )
    usable_critical = [c for c in critical if not missing[c].all()] if ctx.n else []
    ctx.flags["completeness.missing_critical"] = (
        missing[usable_critical].any(axis=1).to_numpy()
        if usable_critical
        else np.zeros(ctx.n, dtype=bool)
    )
    table = _missingness_table(frame, missing, columns)
    ctx.tables["missingness"] = table
    _city_outliers(ctx, table, critical)


def _missingness_table(
    frame: pd.DataFrame, missing: pd.DataFrame, columns: list[str]
) -> pd.DataFrame:
    """Missing rate per column (rows): overall and for the largest cities (columns)."""
    table = pd.DataFrame({"overall": missing.mean() if len(frame) else 0.0}, index=columns)
    if len(frame) and frame["city"].notna().any():
        top = frame["city"].value_counts().index[:MAX_CITIES_IN_TABLE]
        by_city = missing.groupby(frame["city"]).mean().T
        table = table.join(by_city[[c for c in top if c in by_city.columns]])
    table.index.name = "column"
    return table


def _city_outliers(ctx: AuditContext, table: pd.DataFrame, critical: list[str]) -> None:
    """Cities where a critical column is missing far more often than overall."""
    for name in critical:
        if name not in table.index or name == "city":
            continue
        overall = float(table.loc[name, "overall"])
        for city in table.columns[1:]:
            rate = float(table.loc[name, city])
            if rate >= 0.1 and rate >= 2 * overall and rate > 0:
                ctx.note(
                    "completeness.city_missing",
                    column=name,
                    severity="warning",
                    message=f"{name!r} is missing in {rate:.0%} of the rows of city {city!r} "
                    f"(overall {overall:.0%})",
                )
