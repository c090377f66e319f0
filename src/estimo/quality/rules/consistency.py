"""Consistency: robust dispersion of log price per m2 in location x segment groups.

Each row is compared with the most specific group (from ``consistency.group_levels``) that
has at least ``min_group_size`` rows: its robust z-score is the distance of its log price per
m2 (log price when the area is unknown) from the group median in MAD-based standard
deviations. Rows beyond ``z_threshold`` are price outliers; groups whose spread is far above
the typical group's are reported as abnormally dispersed. Within one id (re-listings, or an
asking and a sale price of one property), prices that disagree by more than
``relisting_max_ratio`` flag the row that fits its group worse.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from estimo.config import ConsistencyRules
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({"city": ["A"] * 100, "area_m2": 80.0,
...                       "price": 80 * 3000 * np.exp(rng.normal(0, 0.1, 100))})
>>> frame.loc[0, "price"] *= 10
>>> stats = learn_group_stats(frame, ConsistencyRules(group_levels=[["city"]]))
>>> z = robust_z(frame, stats)
>>> bool(z[0] > 4), bool((np.abs(z[1:]) < 4).all())
(True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.config import ConsistencyRules
from estimo.quality._frame import group_robust_stats, log_positive
from estimo.quality.findings import AuditContext
from estimo.quality.rules.hedonic import hedonic_z

MIN_LOG_SCALE = 0.03
SCALE_ERROR_DECADES = 0.3
MAX_GROUPS_IN_TABLE = 300


def log_target(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Log price per m2 where the area is known, and a mask of those rows."""
    log_price = log_positive(frame["price"])
    log_area = log_positive(frame["area_m2"]) if "area_m2" in frame else np.full(len(frame), np.nan)
    has_area = np.isfinite(log_area)
    return np.where(has_area, log_price - log_area, log_price), has_area


def _keys(frame: pd.DataFrame, level: list[str], has_area: np.ndarray) -> pd.DataFrame:
    keys = pd.DataFrame({c: frame[c].astype(object).to_numpy() for c in level})
    keys["_area_known"] = has_area
    return keys


def learn_group_stats(
    frame: pd.DataFrame, rules: ConsistencyRules, exclude: np.ndarray | None = None
) -> list[tuple[list[str], pd.DataFrame]]:
    """Per level, the groups with enough rows: ``n``, ``median`` and ``scale`` of the target.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training rows (``price``, ``area_m2`` and the group columns).
    rules : ConsistencyRules
    exclude : array of bool, optional
        Rows left out of the statistics (e.g. already known to be wrong).
    """
    target, has_area = log_target(frame)
    keep = np.isfinite(target) if exclude is None else np.isfinite(target) & ~exclude
    learned = []
    for level in rules.group_levels:
        level = [c for c in level if c in frame]
        if not level:
            continue
        keys = _keys(frame, level, has_area)[keep].reset_index(drop=True)
        stats = group_robust_stats(pd.Series(target[keep]), keys)
        stats = stats[stats["n"] >= rules.min_group_size].copy()
        stats["scale"] = np.maximum(stats["scale"].astype(float), MIN_LOG_SCALE)
        learned.append((level, stats))
    return learned


def robust_z(frame: pd.DataFrame, learned: list[tuple[list[str], pd.DataFrame]]) -> np.ndarray:
    """Robust z-score of every row in its most specific known group (NaN when none)."""
    z, _ = robust_z_and_level(frame, learned)
    return z


def robust_z_and_level(
    frame: pd.DataFrame, learned: list[tuple[list[str], pd.DataFrame]]
) -> tuple[np.ndarray, np.ndarray]:
    """Robust z-scores and the index of the level each row was compared in (-1: none)."""
    deviation, scale, level_used = group_deviation(frame, learned)
    return deviation / scale, level_used


def group_deviation(
    frame: pd.DataFrame, learned: list[tuple[list[str], pd.DataFrame]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: log price per m2 minus its most specific group's median, that group's
    scale, and the index of its level (NaN, NaN, -1 where no group is known)."""
    target, has_area = log_target(frame)
    deviation = np.full(len(frame), np.nan)
    scale_used = np.full(len(frame), np.nan)
    level_used = np.full(len(frame), -1)
    for i, (level, stats) in enumerate(learned):
        todo = np.isnan(deviation) & np.isfinite(target)
        if not todo.any() or stats.empty:
            continue
        keys = _keys(frame, level, has_area)
        index = pd.MultiIndex.from_frame(keys[todo])
        median = stats["median"].reindex(index).to_numpy(float)
        scale = stats["scale"].reindex(index).to_numpy(float)
        found = np.isfinite(median)
        rows = np.flatnonzero(todo)[found]
        deviation[rows] = target[rows] - median[found]
        scale_used[rows] = scale[found]
        level_used[rows] = i
    return deviation, scale_used, level_used


def scale_errors(outlier: np.ndarray, deviation: np.ndarray) -> np.ndarray:
    """Outliers whose price is about 10 times (or a tenth of) its group's: a zero too many
    or too few (a factor between 10**0.7 and 10**1.3, about 5 to 20).

    Examples
    --------
    >>> scale_errors(np.array([True, True, True, False]),
    ...              np.log([10.0, 0.12, 2.0, 10.0])).tolist()
    [True, True, False, False]
    """
    decades = np.abs(np.nan_to_num(deviation)) / np.log(10.0)
    return outlier & (np.abs(decades - 1.0) <= SCALE_ERROR_DECADES)


def id_conflicts(frame: pd.DataFrame, z: np.ndarray, max_ratio: float) -> np.ndarray:
    """Rows whose price disagrees with the other prices of the same id (see module doc)."""
    log_price = log_positive(frame["price"])
    data = pd.DataFrame({"id": frame["id"].astype(str), "lp": log_price, "az": np.abs(z)})
    data = data[np.isfinite(data["lp"])]
    counts = data.groupby("id")["lp"].transform("size")
    data = data[counts >= 2]
    result = np.zeros(len(frame), dtype=bool)
    if data.empty:
        return result
    threshold = np.log(max_ratio)
    grouped = data.groupby("id")["lp"]
    spread = grouped.transform("max") - grouped.transform("min")
    size = grouped.transform("size")
    deviation = (data["lp"] - grouped.transform("median")).abs()
    many = (size >= 3) & (spread > threshold) & (deviation > threshold / 2)
    pairs = data[(size == 2) & (spread > threshold)]
    worst = pairs.fillna({"az": 0.0}).groupby("id")["az"].idxmax() if len(pairs) else []
    result[data.index[many.to_numpy()]] = True
    result[np.asarray(worst, dtype=int)] = True
    return result


def check(ctx: AuditContext, exclude: np.ndarray) -> None:
    """Add consistency findings (flags ``consistency.price_outlier``, its subset
    ``consistency.price_scale`` (prices about x10 or x0.1) and ``consistency.id_conflict``)
    and the group dispersion table."""
    rules = ctx.config.consistency
    frame = ctx.frame
    learned = learn_group_stats(frame, rules, exclude=exclude)
    deviation, scale, level_used = group_deviation(frame, learned)
    z = deviation / scale
    residual_z = hedonic_z(frame, exclude)
    z = np.where(np.isfinite(residual_z), residual_z, z)
    ctx.tables["robust_z"] = pd.DataFrame({"z": z, "level": level_used})
    outlier = np.isfinite(z) & (np.abs(z) > rules.z_threshold) & ~exclude
    values = pd.Series(np.round(z, 2))
    ctx.flag(
        "consistency.price_outlier",
        outlier,
        column="price",
        severity="warning",
        message=f"price per m2 more than {rules.z_threshold:g} robust SDs from what its "
        "location x segment group and attributes predict",
        values=values,
        action=f"{ctx.config.clean.outliers} (clean.outliers)",
    )
    factor = pd.Series(np.round(np.exp(deviation), 2))
    ctx.flag(
        "consistency.price_scale",
        scale_errors(outlier, deviation),
        column="price",
        severity="error",
        message="price about x10 or x0.1 of its location x segment group's (a zero too many "
        "or too few); values: price / group price",
        values=factor,
        action="keep (clean.outliers: keep)"
        if ctx.config.clean.outliers == "keep"
        else "drop (clean.outliers, also when outliers are down-weighted)",
    )
    conflict = id_conflicts(frame, z, rules.relisting_max_ratio) & ~exclude & ~outlier
    ctx.flag(
        "consistency.id_conflict",
        conflict,
        column="price",
        severity="warning",
        message=f"price differs by more than x{rules.relisting_max_ratio:g} from another price "
        "of the same id (and fits its group worse)",
        values=frame["price"],
        action=f"{ctx.config.clean.outliers} (clean.outliers)",
    )
    _dispersion(ctx, learned, rules)


def _dispersion(
    ctx: AuditContext, learned: list[tuple[list[str], pd.DataFrame]], rules: ConsistencyRules
) -> None:
    if not learned:
        return
    level, stats = learned[0]
    stats = stats[stats.index.get_level_values("_area_known")] if len(stats) else stats
    if stats.empty:
        return
    table = stats.reset_index().drop(columns="_area_known")
    table["group"] = table[level].astype(str).agg(" / ".join, axis=1)
    table["price_m2"] = np.exp(table["median"])
    typical = float(table["scale"].median())
    table["dispersed"] = table["scale"] > rules.dispersion_factor * typical
    table = table.sort_values("scale", ascending=False)
    ctx.tables["group_dispersion"] = table[["group", "n", "price_m2", "scale", "dispersed"]].head(
        MAX_GROUPS_IN_TABLE
    )
    ctx.tables["group_dispersion"].attrs["level"] = level
    ctx.tables["group_dispersion"].attrs["typical_scale"] = typical
    dispersed = table[table["dispersed"]]
    if len(dispersed):
        names = ", ".join(repr(g) for g in dispersed["group"].head(5))
        ctx.note(
            "consistency.dispersed_group",
            column="price",
            severity="warning",
            count=int(dispersed["n"].sum()),
            message=f"{len(dispersed)} {' x '.join(level)} groups have a price per m2 spread "
            f"over {rules.dispersion_factor:g}x the typical {typical:.2f} (log SD), e.g. {names}",
        )
