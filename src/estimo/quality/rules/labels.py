"""Labels: the asking-to-sale spread where both prices of a property are known.

Pairs come from a column holding the asking price of sale rows
(``quality.calibration.asking_price_column``, e.g. Grinnell's ``ListPrice``) or from one id
that has both an asking row and a later sale row (each sale is paired with the latest
asking price dated on or before it, else the nearest one).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": ["a", "a"], "price": [110.0, 100.0],
...     "price_kind": ["asking", "sale"], "date": pd.to_datetime(["2024-01-01", "2024-03-01"])})
>>> asking_sale_pairs(frame)[["sale", "asking", "ratio"]].to_dict("records")
[{'sale': 100.0, 'asking': 110.0, 'ratio': 0.9090909090909091}]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.quality.findings import AuditContext

PAIR_COLUMNS = ["row", "asking_row", "id", "date", "sale", "asking", "ratio"]


def asking_sale_pairs(frame: pd.DataFrame, asking_column: str | None = None) -> pd.DataFrame:
    """One row per sale with a known asking price: ``sale``, ``asking``, ``ratio`` (sale/asking).

    ``row`` is the position of the sale row, ``asking_row`` that of the asking row (-1 when
    the asking price comes from ``asking_column``).
    """
    kind = frame["price_kind"].astype(str).to_numpy() if "price_kind" in frame else None
    price = pd.to_numeric(frame["price"], errors="coerce").to_numpy(float)
    is_sale = kind == "sale" if kind is not None else np.zeros(len(frame), dtype=bool)
    parts = []
    if asking_column is not None and asking_column in frame:
        asking = pd.to_numeric(frame[asking_column], errors="coerce").to_numpy(float)
        ok = is_sale & (asking > 0) & (price > 0)
        rows = np.flatnonzero(ok)
        parts.append(
            pd.DataFrame(
                {
                    "row": rows,
                    "asking_row": -1,
                    "id": frame["id"].astype(str).to_numpy()[rows],
                    "date": frame["date"].to_numpy()[rows],
                    "sale": price[rows],
                    "asking": asking[rows],
                }
            )
        )
    elif kind is not None and is_sale.any() and (kind == "asking").any():
        parts.append(_pairs_by_id(frame, price, kind))
    if not parts or parts[0].empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    pairs = parts[0]
    pairs["ratio"] = pairs["sale"] / pairs["asking"]
    return pairs[PAIR_COLUMNS].reset_index(drop=True)


def _pairs_by_id(frame: pd.DataFrame, price: np.ndarray, kind: np.ndarray) -> pd.DataFrame:
    base = pd.DataFrame(
        {"row": np.arange(len(frame)), "id": frame["id"].astype(str), "date": frame["date"]}
    )
    base["price"] = price
    base = base[np.isfinite(price) & (price > 0) & base["date"].notna().to_numpy()]
    sales = base[kind[base["row"]] == "sale"].sort_values("date")
    asks = base[kind[base["row"]] == "asking"].sort_values("date")
    asks = asks[asks["id"].isin(set(sales["id"]))]
    if sales.empty or asks.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    asks = asks.rename(columns={"row": "asking_row", "price": "asking", "date": "asking_date"})
    merged = pd.merge_asof(
        sales, asks, left_on="date", right_on="asking_date", by="id", direction="backward"
    )
    missing = merged["asking"].isna()
    if missing.any():
        nearest = pd.merge_asof(
            sales[missing.to_numpy()],
            asks,
            left_on="date",
            right_on="asking_date",
            by="id",
            direction="nearest",
        )
        merged = pd.concat([merged[~missing], nearest], ignore_index=True)
    merged = merged.dropna(subset=["asking"])
    return pd.DataFrame(
        {
            "row": merged["row"].astype(int),
            "asking_row": merged["asking_row"].astype(int),
            "id": merged["id"],
            "date": merged["date"],
            "sale": merged["price"],
            "asking": merged["asking"],
        }
    )


def spread_table(
    frame: pd.DataFrame, pairs: pd.DataFrame, by: str | None, time_unit: str = "quarter"
) -> pd.DataFrame:
    """Median sale/asking ratio, its robust spread and the pair count per segment or period."""
    if pairs.empty:
        return pd.DataFrame(columns=["segment", "n", "median_ratio", "iqr"])
    if by is None:
        freq = {"year": "Y", "quarter": "Q", "month": "M"}.get(time_unit, "Q")
        key = pd.to_datetime(pairs["date"]).dt.to_period(freq).astype(str)
    else:
        key = frame[by].astype(object).to_numpy()[pairs["row"].to_numpy(int)]
        key = pd.Series(key).fillna("(missing)").astype(str)
    grouped = pairs["ratio"].groupby(key.to_numpy())
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "median_ratio": grouped.median(),
            "iqr": grouped.quantile(0.75) - grouped.quantile(0.25),
        }
    )
    table.index.name = "segment"
    return table.reset_index()


def check(ctx: AuditContext) -> None:
    """Add label findings (flag ``labels.implausible_spread``) and the spread tables."""
    asking_column = ctx.config.calibration.asking_price_column
    pairs = asking_sale_pairs(ctx.frame, asking_column)
    ctx.tables["label_pairs"] = pairs
    if pairs.empty:
        return
    low, high = ctx.config.labels.min_sale_to_asking, ctx.config.labels.max_sale_to_asking
    ratio = pairs["ratio"].to_numpy(float)
    bad = (ratio < low) | (ratio > high)
    mask = np.zeros(ctx.n, dtype=bool)
    mask[pairs["row"].to_numpy(int)[bad]] = True
    values = pd.Series(np.nan, index=range(ctx.n))
    values.iloc[pairs["row"].to_numpy(int)] = np.round(ratio, 3)
    ctx.flag(
        "labels.implausible_spread",
        mask,
        column="price",
        severity="warning",
        message=f"sale/asking ratio outside {low:g}..{high:g}",
        values=values,
        action="reported; the calibration uses robust (median) ratios",
    )
    ctx.note(
        "labels.spread",
        column="price",
        severity="info",
        count=len(pairs),
        message=f"{len(pairs)} sales with a known asking price; median sale/asking ratio "
        f"{np.median(ratio):.3f} (IQR {np.quantile(ratio, 0.25):.3f}.."
        f"{np.quantile(ratio, 0.75):.3f})",
    )
    ctx.tables["label_spread_time"] = spread_table(
        ctx.frame, pairs, None, ctx.config.calibration.time_unit
    )
    for column in ctx.config.calibration.segment_columns:
        if column in ctx.frame and ctx.frame[column].notna().any():
            ctx.tables[f"label_spread_{column}"] = spread_table(ctx.frame, pairs, column)
