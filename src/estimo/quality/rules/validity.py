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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estimo.frames import column_array, column_floats, column_values
from estimo.quality._frame import (
    PreparedFrame,
    float_column,
    group_robust_stats,
    log_positive,
)
from estimo.quality.findings import AuditContext

#: what the cleaning does with a value these checks flag
NULLED = "set to missing (then imputed; in training, a row whose critical column it is dropped)"

FLOOR_COUNT_CANDIDATES = ("floors_in_building", "floorCount", "floor_count", "floors")
MIN_STATS_ROWS = 20
MIN_LOG_SCALE = 0.05


def check(ctx: AuditContext, prepared: PreparedFrame, area: AreaStats | None = None) -> None:
    """Add validity findings; flags are named ``validity.<rule>:<column>``.

    ``area``: the typical (log) area per room and area learned from training rows
    (:func:`area_stats`), used for the area-per-room rule instead of the statistics of
    ``ctx.frame`` itself: a property being valued is judged against the training market,
    never against the other properties that happen to be valued with it."""
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
    price = float_column(frame, "price")
    bad_price = ~np.isfinite(price) | (price <= 0)
    bad_price &= ~pd.isna(column_values(frame, "price"))
    ctx.flag(
        "validity.range",
        bad_price,
        column="price",
        severity="error",
        message="prices must be > 0",
        values=column_values(frame, "price"),
        action="row dropped from training",
    )
    for name, rule in ctx.config.ranges.items():
        if name not in frame or name == "price":
            continue
        values = column_floats(frame, name)
        low = np.isfinite(values) & (rule.min is not None) & (values < (rule.min or 0.0))
        high = np.isfinite(values) & (rule.max is not None) & (values > (rule.max or 0.0))
        expected = _expected(rule.min, rule.max)
        ctx.flag(
            "validity.range",
            low | high,
            column=name,
            severity="error",
            message=f"{name!r} outside its plausible range; expected {expected}",
            values=column_values(frame, name),
            action=NULLED,
        )
    _future_years(ctx)
    _floor_above_building(ctx)
    _area_per_room(ctx, area)


def _expected(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} <= value <= {high:g}"
    return f"value >= {low:g}" if low is not None else f"value <= {high:g}"


def _years(frame: pd.DataFrame) -> np.ndarray:
    """``frame["date"].dt.year`` as floats (NaN where missing), by numpy for naive
    nanosecond dates (a prepared frame's: the calendar year, floored, of any date)."""
    dates = column_array(frame, "date")
    if dates.dtype != np.dtype("datetime64[ns]"):
        return frame["date"].dt.year.to_numpy(float)
    dates = np.asarray(dates)
    years = dates.astype("datetime64[Y]").astype(np.int64).astype(float) + 1970.0
    years[np.isnat(dates)] = np.nan
    return years


def _future_years(ctx: AuditContext) -> None:
    frame = ctx.frame
    year = float_column(frame, "year_built")
    limit = _years(frame) + ctx.config.max_years_ahead
    future = np.isfinite(year) & np.isfinite(limit) & (year > limit)
    ctx.flag(
        "validity.future",
        future,
        column="year_built",
        severity="error",
        message=f"year built more than {ctx.config.max_years_ahead} years after the row's date",
        values=column_values(frame, "year_built"),
        action=NULLED,
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
    floors = column_floats(ctx.frame, name)
    floor = float_column(ctx.frame, "floor")
    above = np.isfinite(floors) & np.isfinite(floor) & (floors > 0) & (floor > floors)
    ctx.flag(
        "validity.floor_above_building",
        above,
        column="floor",
        severity="error",
        message=f"floor higher than the building's number of floors ({name!r})",
        values=column_values(ctx.frame, "floor"),
        action=NULLED,
    )


@dataclass(frozen=True)
class AreaStats:
    """Typical log area per room per city and typical log area per city and property type
    (median and robust scale of each group with at least ``MIN_STATS_ROWS`` values).

    Keys are ``city`` and ``city|property_type`` (a missing type is ``"?"``); values are
    ``(median, scale)``.
    """

    per_room: dict[str, tuple[float, float]]
    area: dict[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (:meth:`from_dict` reads it back)."""
        return {
            "per_room": {k: list(v) for k, v in self.per_room.items()},
            "area": {k: list(v) for k, v in self.area.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AreaStats:
        """The statistics written by :meth:`to_dict`."""
        return cls(
            per_room={str(k): (float(v[0]), float(v[1])) for k, v in data["per_room"].items()},
            area={str(k): (float(v[0]), float(v[1])) for k, v in data["area"].items()},
        )


def _area_terms(
    frame: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, list[str | None], list[str | None]]:
    """Log area, log area per room (NaN without a room count) and the two group keys
    (None for a row without a city: it has no group)."""
    log_area = log_positive(float_column(frame, "area_m2"))
    rooms = float_column(frame, "rooms")
    per_room = np.where(rooms >= 1, log_area - np.log(np.maximum(rooms, 1)), np.nan)
    cities = [None if pd.isna(c) else str(c) for c in column_values(frame, "city").tolist()]
    types = ["?" if pd.isna(t) else str(t) for t in column_values(frame, "property_type").tolist()]
    city_types = [None if c is None else f"{c}|{t}" for c, t in zip(cities, types, strict=True)]
    return log_area, per_room, cities, city_types


def area_stats(frame: pd.DataFrame) -> AreaStats:
    """The area-per-room rule's statistics of ``frame`` (a prepared canonical frame)."""
    log_area, per_room, cities, city_types = _area_terms(frame)
    return AreaStats(
        per_room=_group_stats(per_room, cities), area=_group_stats(log_area, city_types)
    )


def _group_stats(values: np.ndarray, keys: list[str | None]) -> dict[str, tuple[float, float]]:
    stats = group_robust_stats(pd.Series(values), [pd.Series(keys, dtype=object)])
    stats = stats[(stats["n"] >= MIN_STATS_ROWS) & (stats["scale"] > 0)]
    return {
        str(k): (float(m), float(s))
        for k, m, s in zip(stats.index, stats["median"], stats["scale"], strict=True)
    }


def _robust_z(
    values: np.ndarray, keys: list[str | None], stats: dict[str, tuple[float, float]]
) -> np.ndarray:
    """Robust z-score of each value within its group (NaN for a group without statistics)."""
    typical = [stats.get(k, (np.nan, np.nan)) if k is not None else (np.nan, np.nan) for k in keys]
    median = np.array([t[0] for t in typical], dtype=float)
    scale = np.maximum(np.array([t[1] for t in typical], dtype=float), MIN_LOG_SCALE)
    return (values - median) / scale


def _unusual_areas(
    log_area: np.ndarray,
    per_room: np.ndarray,
    cities: list[str | None],
    city_types: list[str | None],
    stats: AreaStats,
    threshold: float,
) -> np.ndarray:
    """Which areas the area-per-room rule flags: both the area per room and the area itself
    unusual in the same direction (a 75 m2 one-room flat is odd per room but its area is
    ordinary), or, without a room count, the area alone."""
    z_room = _robust_z(per_room, cities, stats.per_room)
    z_area = _robust_z(log_area, city_types, stats.area)
    both = (
        np.isfinite(z_room)
        & np.isfinite(z_area)
        & (np.abs(z_room) > threshold)
        & (np.abs(z_area) > threshold / 2)
        & (np.sign(z_room) == np.sign(z_area))
    )
    area_only = ~np.isfinite(z_room) & np.isfinite(z_area) & (np.abs(z_area) > threshold)
    return both | area_only


def unusual_area_problem(record: dict[str, Any], stats: AreaStats, threshold: float) -> str | None:
    """What the area-per-room rule would say of one property (a mapping of canonical
    fields): None when it keeps the area, else what was expected, with the usual areas of
    its city (and type). The input contract refuses such an area: the cleaning would
    otherwise drop it and value the home at a typical area, silently.

    Examples
    --------
    >>> stats = AreaStats(per_room={"X": (np.log(25.0), 0.2)},
    ...                   area={"X|flat": (np.log(75.0), 0.3)})
    >>> unusual_area_problem({"city": "X", "property_type": "flat", "area_m2": 80.0,
    ...                       "rooms": 3.0}, stats, 5.0) is None
    True
    >>> text = unusual_area_problem({"city": "X", "property_type": "flat", "area_m2": 800.0,
    ...                              "rooms": 3.0}, stats, 5.0)
    >>> text[:len("expected an area like the homes of X: 800 m² for 3 rooms is 267 m² a room")]
    'expected an area like the homes of X: 800 m² for 3 rooms is 267 m² a room'
    >>> text[len("expected an area like the homes of X: 800 m² for 3 rooms is 267 m² a room"):]
    ', where 9 to 68 m² a room is usual (a unit typo, or ft² for m²?); check the area and the rooms'
    """
    # the terms of _area_terms for one property, without a frame (a valuation's hot path)
    given, type_given = record.get("city"), record.get("property_type")
    rooms_given = record.get("rooms")
    log_area = log_positive(
        np.array([np.nan if record.get("area_m2") is None else record["area_m2"]])
    )
    rooms_n = np.nan if rooms_given is None else float(rooms_given)
    per_room = np.where(
        rooms_n >= 1, log_area - np.log(max(rooms_n, 1.0) if rooms_n == rooms_n else 1.0), np.nan
    )
    cities = [None if given is None else str(given)]
    kind = "?" if type_given is None else str(type_given)
    city_types = [None if given is None else f"{given}|{kind}"]
    if not _unusual_areas(log_area, per_room, cities, city_types, stats, threshold)[0]:
        return None
    city, area, rooms = cities[0], float(record["area_m2"]), record.get("rooms")
    if np.isfinite(per_room[0]):
        median, scale = stats.per_room[str(city)]
        scale = max(scale, MIN_LOG_SCALE)
        low, high = np.exp(median - threshold * scale), np.exp(median + threshold * scale)
        return (
            f"expected an area like the homes of {city}: {area:g} m² for {rooms:g} rooms is "
            f"{area / rooms:.0f} m² a room, where {low:.0f} to {high:.0f} m² a room is usual "
            f"{_typo_hint(per_room[0] > median)}; check the area and the rooms"
        )
    median, scale = stats.area[str(city_types[0])]
    scale = max(scale, MIN_LOG_SCALE)
    low, high = np.exp(median - threshold * scale), np.exp(median + threshold * scale)
    kind = record.get("property_type") or "home"
    return (
        f"expected an area like the homes of {city}: {low:.0f} to {high:.0f} m² is usual for a "
        f"{kind} there {_typo_hint(log_area[0] > median)}; check the area"
    )


def _typo_hint(too_large: bool) -> str:
    return "(a unit typo, or ft² for m²?)" if too_large else "(a unit typo?)"


def _area_per_room(ctx: AuditContext, stats: AreaStats | None) -> None:
    """Areas far from the city's typical area per room (e.g. 10x typos), robust z-score
    against ``stats`` (the frame's own statistics when not given)."""
    frame = ctx.frame
    threshold = ctx.config.consistency.area_per_room_z
    log_area, per_room, cities, city_types = _area_terms(frame)
    if stats is None:
        stats = AreaStats(
            per_room=_group_stats(per_room, cities), area=_group_stats(log_area, city_types)
        )
    flagged = _unusual_areas(log_area, per_room, cities, city_types, stats, threshold)
    ctx.flag(
        "validity.area_per_room",
        flagged,
        column="area_m2",
        severity="error",
        message=f"area per room (or area) more than {threshold:g} robust SDs from the "
        "city's typical value, e.g. a unit typo (sqft, x10)",
        values=column_values(frame, "area_m2"),
        action=NULLED,
    )
