"""A robust hedonic residual of log price per m2, used to spot mislabelled prices.

Comparing a price with its location group's median leaves in everything that legitimately
moves the price (condition, age, size, floor, asking vs sale). A ridge regression of log price
per m2 on the group and those attributes, refitted after leaving out gross outliers, removes
most of it; the robust z-score of the residual (scaled per city) is a sharper outlier score.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 400
>>> frame = pd.DataFrame({"city": ["A"] * n, "area_m2": rng.uniform(40, 120, n),
...     "condition": rng.choice(["new", "old"], n)})
>>> frame["price"] = frame["area_m2"] * 3000 * np.where(frame["condition"] == "new", 1.3, 1.0)
>>> frame["price"] *= np.exp(rng.normal(0, 0.05, n))
>>> frame.loc[0, "price"] *= 2
>>> z = hedonic_z(frame, np.zeros(n, dtype=bool))
>>> bool(z[0] > 5), float(np.nanmedian(np.abs(z))) < 1
(True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from estimo.quality._frame import MAD_TO_SD, log_positive

CATEGORICAL = ("city", "neighbourhood", "property_type", "condition", "price_kind")
MIN_ROWS = 50
MIN_SCALE = 0.02
TRIM_Z = 3.5
RIDGE_ALPHA = 1.0
MIN_LEVEL_ROWS = 5


def _design(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    cats = {}
    for name in CATEGORICAL:
        if name in frame:
            cats[name] = frame[name].astype(object).where(frame[name].notna(), "?").astype(str)
    if "city" in frame and "neighbourhood" in frame and "property_type" in frame:
        cats["group"] = cats["neighbourhood"] + "|" + cats["property_type"]
    year = (
        pd.to_numeric(frame.get("year_built"), errors="coerce") if "year_built" in frame else None
    )
    if year is not None:
        decade = (np.floor(year.clip(1800, 2030) / 10) * 10).astype("Int64").astype(str)
        cats["decade"] = decade.where(year.notna(), "?")
    for name in ("rooms", "floor", "bathrooms"):
        if name in frame:
            values = pd.to_numeric(frame[name], errors="coerce").clip(-1, 8).round()
            cats[name] = values.astype("Int64").astype(str).where(values.notna(), "?")
    if "date" in frame:
        dates = pd.to_datetime(frame["date"], errors="coerce")
        cats["month"] = dates.dt.to_period("Q").astype(str).where(dates.notna(), "?")
    log_area = log_positive(frame["area_m2"]) if "area_m2" in frame else np.zeros(len(frame))
    numeric = np.column_stack(
        [
            np.nan_to_num(
                log_area - np.nanmedian(log_area) if np.isfinite(log_area).any() else log_area
            )
        ]
    )
    return pd.DataFrame(cats, index=frame.index), numeric


def _one_hot(cats: pd.DataFrame, fit_rows: np.ndarray) -> sparse.csr_matrix:
    """One-hot columns of every category seen at least ``MIN_LEVEL_ROWS`` times in fit rows."""
    n = len(cats)
    blocks = []
    for name in cats.columns:
        codes, levels = pd.factorize(cats[name].to_numpy())  # a missing value: code -1
        fitted = codes[fit_rows]
        counts = np.bincount(fitted[fitted >= 0], minlength=len(levels))
        frequent = counts >= MIN_LEVEL_ROWS
        keep = (codes >= 0) & frequent[np.maximum(codes, 0)]  # missing: no column
        remap = np.cumsum(frequent) - 1
        cols = remap[codes[keep]]
        width = int(frequent.sum())
        if width == 0:
            continue
        blocks.append(
            sparse.csr_matrix((np.ones(keep.sum()), (np.flatnonzero(keep), cols)), shape=(n, width))
        )
    return sparse.hstack(blocks).tocsr() if blocks else sparse.csr_matrix((n, 0))


def hedonic_z(frame: pd.DataFrame, exclude: np.ndarray) -> np.ndarray:
    """Robust z-score of the hedonic residual of log price per m2 (NaN where not scored).

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame (prepared).
    exclude : array of bool
        Rows left out of the fit (known bad values); they are still scored.
    """
    n = len(frame)
    target = log_positive(frame["price"]) - log_positive(frame["area_m2"])
    scored = np.isfinite(target)
    fit_rows = scored & ~exclude
    z = np.full(n, np.nan)
    if fit_rows.sum() < MIN_ROWS:
        return z
    cats, numeric = _design(frame)
    design = sparse.hstack(
        [sparse.csr_matrix(np.ones((n, 1))), _one_hot(cats, fit_rows), sparse.csr_matrix(numeric)]
    ).tocsr()
    keep = fit_rows.copy()
    city = frame["city"].astype(str).to_numpy()
    y = np.nan_to_num(target)
    for _ in range(2):
        x = design[keep]
        gram = (x.T @ x).toarray()
        penalty = RIDGE_ALPHA * np.eye(gram.shape[0])
        penalty[0, 0] = 0.0
        coef = np.linalg.solve(gram + penalty, x.T @ y[keep])
        residual = np.where(scored, y - design @ coef, np.nan)
        z = _scaled(residual, city, keep)
        keep = fit_rows & (np.abs(np.nan_to_num(z)) <= TRIM_Z)
    return z


def _scaled(residual: np.ndarray, city: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    data = pd.DataFrame({"r": residual, "city": city})
    fit = data[fit_rows & np.isfinite(residual)]
    centre = fit.groupby("city")["r"].median()
    spread = (fit["r"] - centre.reindex(fit["city"]).to_numpy()).abs().groupby(fit["city"]).median()
    scale = np.maximum(MAD_TO_SD * spread, MIN_SCALE)
    global_centre = float(fit["r"].median()) if len(fit) else 0.0
    global_scale = (
        max(MAD_TO_SD * float((fit["r"] - global_centre).abs().median()), MIN_SCALE)
        if len(fit)
        else 1.0
    )
    c = centre.reindex(city).fillna(global_centre).to_numpy()
    s = scale.reindex(city).fillna(global_scale).to_numpy()
    return (residual - c) / s
