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
[('completeness.missing_critical_kept', 'area_m2', 1)]

One area missing in two rows is 50 %, over the 5 % share below which a critical column's
missing rows are dropped: the rows are kept (``critical_to_drop`` returns no column).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from estimo.config import QualityConfig
from estimo.quality.findings import AuditContext

MAX_CITIES_IN_TABLE = 25
_SKIP = ("id", "description")


def critical_to_drop(frame: pd.DataFrame, config: QualityConfig, present: list[str]) -> list[str]:
    """Critical columns whose missing rows are dropped from training.

    A critical column missing on at most ``clean.max_critical_missing_share`` of the rows
    (5 % by default) drops those rows; missing more often, the column is a property of the
    data rather than a fault of a few rows (public sale records rarely carry the building
    area): its rows are kept, imputed and marked by a missing indicator, so the model sees
    the missingness. A column missing everywhere is ignored.

    Examples
    --------
    >>> from estimo.config import QualityConfig
    >>> frame = pd.DataFrame({"price": [1.0] * 40, "rooms": [2.0] * 39 + [None],
    ...                       "area_m2": [50.0] * 30 + [None] * 10})
    >>> critical_to_drop(frame, QualityConfig(), present=list(frame.columns))
    ['price', 'rooms']
    """
    if not config.clean.drop_missing_critical or len(frame) == 0:
        return []
    limit = config.clean.max_critical_missing_share
    out = []
    for name in config.critical_columns:
        if name not in present or name not in frame:
            continue
        share = float(frame[name].isna().mean())
        if share < 1.0 and share <= limit:
            out.append(name)
    return out


def left_missing(missing_share: Mapping[str, float], config: QualityConfig) -> dict[str, float]:
    """Columns to impute that are left missing instead, with their missing share.

    A column that is not critical and is missing on more than
    ``clean.max_impute_missing_share`` of the training rows (half, by default) is not
    imputed: missing is its usual state, which the model learns from as it is, and the
    most common of the few known values would be a guess told to the owner as a fact. A
    column with an imputation override (``clean.overrides``) is imputed as configured.

    Examples
    --------
    >>> from estimo.config import QualityConfig
    >>> left_missing({"condition": 0.75, "year_built": 0.16, "rooms": 0.9}, QualityConfig())
    {'condition': 0.75}
    """
    limit = config.clean.max_impute_missing_share
    kept = set(config.critical_columns) | {rule.column for rule in config.clean.overrides}
    return {
        name: round(float(missing_share.get(name, 0.0)), 4)
        for name in config.clean.impute_columns
        if name not in kept and limit < float(missing_share.get(name, 0.0)) < 1.0
    }


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
    dropped = critical_to_drop(frame, ctx.config, present)
    not_imputed = left_missing(missing.mean() if ctx.n else {}, ctx.config)
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
        if name in critical and name not in dropped:
            limit = ctx.config.clean.max_critical_missing_share
            ctx.flag(
                "completeness.missing_critical_kept",
                missing[name].to_numpy(),
                column=name,
                severity="warning",
                message=f"CRITICAL COLUMN {name!r} IS MISSING IN {rate:.1%} OF THE ROWS "
                f"({count}), over the {limit:.0%} share below which such rows are dropped; "
                "the rows are kept",
                action="kept in training: imputed, with a missing-indicator column the model "
                "sees; features that need it fall back",
            )
        elif name in critical:
            ctx.flag(
                "completeness.missing_critical",
                missing[name].to_numpy(),
                column=name,
                severity="error",
                message=f"critical column {name!r} is missing in {count} rows ({rate:.1%})",
                action="row dropped from training; imputed at prediction time",
            )
        else:
            limit = ctx.config.clean.max_impute_missing_share
            ctx.flag(
                "completeness.missing",
                missing[name].to_numpy(),
                column=name,
                severity="info",
                message=f"column {name!r} is missing in {count} rows ({rate:.1%})",
                action=f"left missing (over the {limit:.0%} share up to which a column is "
                "imputed): the model learns from its missing state"
                if name in not_imputed
                else "imputed by location when configured, with a missing-indicator column",
            )
    usable_critical = [c for c in dropped if not missing[c].all()] if ctx.n else []
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
