"""Validity: types, ranges, years in the future, floors above the building, area per room.

Examples
--------
>>> import pandas as pd
>>> from estimo.config import QualityConfig
>>> from estimo.quality._frame import prepare_frame
>>> from estimo.quality.findings import AuditContext
>>> frame = pd.DataFrame({"id": ["a", "b"], "price": [1.0, 2.0], "city": ["X", "X"],
...                       "date": pd.to_datetime(["2024-01-01"] * 2),
...                       "year_built": [1990.0, 0.0]})
>>> prepared = prepare_frame(frame)
>>> ctx = AuditContext(prepared.frame, QualityConfig())
>>> check(ctx, prepared)
>>> [(f.rule, f.column, f.example_values) for f in ctx.findings]
[('validity.range', 'year_built', [0.0])]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.frames import float_values
from estimo.quality._frame import PreparedFrame, group_robust_stats, log_positive
from estimo.quality.findings import AuditContext

FLOOR_COUNT_CANDIDATES = ("floors_in_building", "floorCount", "floor_count", "floors")
MIN_STATS_ROWS = 20
MIN_LOG_SCALE = 0.05


def check(ctx: AuditContext, prepared: PreparedFrame) -> None:
    """Add validity findings; flags are named ``validity.<rule>:<column>``."""
    frame = ctx.frame
    for name, count in prepared.non_numeric.items():
        examples = prepared.non_numeric_examples.get(name, [])
        ctx.note(
            "validity.non_numeric",
            column=name,
            severity="error",
            count=count,
            message=f"column {name!r} has {count} values that are not numbers, e.g. "
            f"{', '.join(repr(e) for e in examples)}; expected numbers",
        ).action = "set to missing"
    price = frame["price"].to_numpy(float)
    bad_price = ~np.isfinite(price) | (price <= 0)
    bad_price &= frame["price"].notna().to_numpy()
    ctx.flag(
        "validity.range",
        bad_price,
        column="price",
        severity="error",
        message="prices must be > 0",
        values=frame["price"],
        action="row dropped from training",
    )
    for name, rule in ctx.config.ranges.items():
        if name not in frame or name == "price":
            continue
        values = float_values(frame[name])
        low = np.isfinite(values) & (rule.min is not None) & (values < (rule.min or 0.0))
        high = np.isfinite(values) & (rule.max is not None) & (values > (rule.max or 0.0))
        expected = _expected(rule.min, rule.max)
        ctx.flag(
            "validity.range",
            low | high,
            column=name,
            severity="error",
            message=f"{name!r} outside its plausible range; expected {expected}",
            values=frame[name],
            action="set to missing (then imputed)",
        )
    _future_years(ctx)
    _floor_above_building(ctx)
    _area_per_room(ctx)


def _expected(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} <= value <= {high:g}"
    return f"value >= {low:g}" if low is not None else f"value <= {high:g}"


def _future_years(ctx: AuditContext) -> None:
    frame = ctx.frame
    year = frame["year_built"].to_numpy(float)
    limit = frame["date"].dt.year.to_numpy(float) + ctx.config.max_years_ahead
    future = np.isfinite(year) & np.isfinite(limit) & (year > limit)
    ctx.flag(
        "validity.future",
        future,
        column="year_built",
        severity="error",
        message=f"year built more than {ctx.config.max_years_ahead} years after the row's date",
        values=frame["year_built"],
        action="set to missing (then imputed)",
    )


def floors_column(frame: pd.DataFrame, configured: str | None) -> str | None:
    """The column with the building's number of floors: configured, or found by name."""
    if configured is not None:
        return configured if configured in frame else None
    return next((c for c in FLOOR_COUNT_CANDIDATES if c in frame), None)


def _floor_above_building(ctx: AuditContext) -> None:
    name = floors_column(ctx.frame, ctx.config.floors_column)
    if name is None:
        return
    floors = float_values(ctx.frame[name])
    floor = ctx.frame["floor"].to_numpy(float)
    above = np.isfinite(floors) & np.isfinite(floor) & (floors > 0) & (floor > floors)
    ctx.flag(
        "validity.floor_above_building",
        above,
        column="floor",
        severity="error",
        message=f"floor higher than the building's number of floors ({name!r})",
        values=ctx.frame["floor"],
        action="set to missing (then imputed)",
    )


def _area_per_room(ctx: AuditContext) -> None:
    """Areas far from the city's typical area per room (e.g. 10x typos), robust z-score."""
    frame = ctx.frame
    threshold = ctx.config.consistency.area_per_room_z
    log_area = log_positive(frame["area_m2"])
    rooms = frame["rooms"].to_numpy(float)
    per_room = np.where(rooms >= 1, log_area - np.log(np.maximum(rooms, 1)), np.nan)
    z_room = _robust_z(pd.Series(per_room), [frame["city"]])
    z_area = _robust_z(pd.Series(log_area), [frame["city"], frame["property_type"].fillna("?")])
    # both the area per room and the area itself must be unusual (in the same direction):
    # a 75 m2 one-room flat is odd per room but its area is ordinary
    both = (
        np.isfinite(z_room)
        & np.isfinite(z_area)
        & (np.abs(z_room) > threshold)
        & (np.abs(z_area) > threshold / 2)
        & (np.sign(z_room) == np.sign(z_area))
    )
    area_only = ~np.isfinite(z_room) & np.isfinite(z_area) & (np.abs(z_area) > threshold)
    flagged = both | area_only
    ctx.flag(
        "validity.area_per_room",
        flagged,
        column="area_m2",
        severity="error",
        message=f"area per room (or area) more than {threshold:g} robust SDs from the "
        "city's typical value, e.g. a unit typo (sqft, x10)",
        values=frame["area_m2"],
        action="set to missing (then imputed)",
    )


def _robust_z(values: pd.Series, keys: list[pd.Series]) -> np.ndarray:
    """Robust z-score within groups that have at least ``MIN_STATS_ROWS`` values, else NaN."""
    if len(values) < MIN_STATS_ROWS:  # no group can be large enough (one property valued)
        return np.full(len(values), np.nan)
    stats = group_robust_stats(values, keys)
    stats = stats[(stats["n"] >= MIN_STATS_ROWS) & (stats["scale"] > 0)]
    if stats.empty:
        return np.full(len(values), np.nan)
    index = pd.MultiIndex.from_arrays([k.to_numpy() for k in keys]) if len(keys) > 1 else keys[0]
    median = stats["median"].reindex(index).to_numpy(float)
    scale = np.maximum(stats["scale"].reindex(index).to_numpy(float), MIN_LOG_SCALE)
    return (values.to_numpy(float) - median) / scale
