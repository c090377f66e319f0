"""Precision and recall of extracted facts against a portal's own feature box.

Two adapters turn the feature boxes of the listing portals used for development into a truth
table with the extractor's field names: :func:`truth_from_immobiliare` (Italian; some tags are
shown only when present, so their ``False`` is "unknown") and :func:`truth_from_idealista`
(Spanish; a complete table). :func:`score` compares predictions with the truth field by field.

Definitions (per field):

- ``n_pred``: rows with a prediction and a known truth; ``precision``: share of them right.
  For positive-only tags, a predicted ``True`` against a missing tag counts as wrong, so the
  precision is a lower bound (``positive_only`` says so).
- ``n_true``: rows whose truth is known (for flags: ``True``); ``recall``: share of them
  predicted right. The text often does not state a field at all, so recall is bounded by
  how often the description mentions it.
- Numbers are right when equal (area: within ``area_tolerance``, 5 % by default, since
  texts give commercial and portals net areas; a top-coded truth such as "5+" rooms or "3+"
  bathrooms is right when the prediction is at least that).

Examples
--------
>>> import pandas as pd
>>> pred = pd.DataFrame({"area_m2": [85.0, 100.0, None], "has_elevator": [True, True, None]})
>>> truth = pd.DataFrame({"area_m2": [86.0, 120.0, 70.0], "has_elevator": [True, False, True]})
>>> table = score(pred, truth)
>>> row = table.set_index("field").loc["area_m2"]
>>> int(row["n_pred"]), float(row["precision"]), round(float(row["recall"]), 3)
(2, 0.5, 0.333)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

IT_CONDITIONS = {
    "Nuovo / In costruzione": "new",
    "Ottimo / Ristrutturato": "renovated",
    "Buono / Abitabile": "good",
    "Da ristrutturare": "to_renovate",
}
ES_CONDITIONS = {"newdevelopment": "new", "good": "good", "renew": "to_renovate"}
ES_FLOORS = {"bj": 0.0, "en": 0.5, "ss": -1.0, "st": -1.0}


def truth_from_immobiliare(frame: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """Truth table of immobiliare.it's feature box (``gt_*`` columns).

    Returns
    -------
    truth : pandas.DataFrame
        Extractor field names; flags as nullable booleans.
    positive_only : set of str
        Flags whose ``False`` means "no tag" rather than "no".
    """
    t = pd.DataFrame(index=frame.index)
    t["area_m2"] = frame["gt_area_m2"]
    t["rooms"] = frame["gt_rooms"]
    t["rooms_at_least"] = frame["gt_rooms_plus"].astype(bool)
    t["bedrooms"] = frame["gt_bedrooms"]
    t["bathrooms"] = frame["gt_bathrooms"]
    t["bathrooms_at_least"] = frame["gt_bathrooms"] >= 3
    t["floor"] = frame["gt_floor"]
    t["floors_in_building"] = frame["gt_total_floors"]
    t["year_built"] = frame["gt_year_built"]
    t["condition"] = frame["gt_condition"].map(IT_CONDITIONS)
    t["has_elevator"] = frame["gt_elevator"].astype("boolean").fillna(False)
    for name in ("terrace", "balcony", "cellar"):
        t[f"has_{name}"] = frame[f"gt_{name}"].astype("boolean")
    t["has_garden"] = (frame["gt_garden_private"] | frame["gt_garden_shared"]).astype("boolean")
    t["has_garage"] = frame["gt_garage"].astype("boolean").fillna(False)
    t["has_parking"] = frame["gt_parking_raw"].notna().astype("boolean")
    ac = frame["gt_air_conditioning_raw"]
    t["has_air_conditioning"] = (
        ac.notna() & ~ac.fillna("").str.contains("Predisposizione")
    ).astype("boolean")
    positive_only = {
        "has_elevator",
        "has_terrace",
        "has_balcony",
        "has_cellar",
        "has_garden",
        "has_garage",
        "has_parking",
        "has_air_conditioning",
        "has_garage_or_parking",
    }
    t["has_garage_or_parking"] = t["has_parking"]
    return t, positive_only


def truth_from_idealista(frame: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """Truth table of idealista's attributes (complete: no positive-only flags)."""
    t = pd.DataFrame(index=frame.index)
    t["area_m2"] = frame["gt_area_m2"].astype(float)
    t["bedrooms"] = frame["gt_bedrooms"].astype(float)
    t["bathrooms"] = frame["gt_bathrooms"].astype(float).where(frame["gt_bathrooms"] > 0)
    raw = frame["gt_floor_raw"].astype("string")
    t["floor"] = raw.map(lambda v: ES_FLOORS.get(v, _to_float(v)) if isinstance(v, str) else None)
    t["floor"] = t["floor"].astype(float)
    t["condition"] = frame["gt_condition"].map(ES_CONDITIONS)
    pairs = {
        "has_elevator": "gt_elevator",
        "has_terrace": "gt_terrace",
        "has_cellar": "gt_storage_room",
        "has_air_conditioning": "gt_air_conditioning",
        "has_garage_or_parking": "gt_parking",
    }
    for name, column in pairs.items():
        t[name] = frame[column].astype("boolean")
    return t, set()


def idealista_conditions(pred: pd.DataFrame) -> pd.DataFrame:
    """``pred`` with idealista's condition classes ("renovated" is part of its "good")."""
    out = pred.copy()
    if "condition" in out:
        out["condition"] = out["condition"].replace({"renovated": "good"})
    return out


def _to_float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def with_garage_or_parking(pred: pd.DataFrame) -> pd.DataFrame:
    """``pred`` with ``has_garage_or_parking``: True if either flag is, False if both are."""
    out = pred.copy()
    garage = pred.get("has_garage", pd.Series(pd.NA, index=pred.index, dtype="boolean"))
    parking = pred.get("has_parking", pd.Series(pd.NA, index=pred.index, dtype="boolean"))
    garage, parking = garage.astype("boolean"), parking.astype("boolean")
    either = (garage.fillna(False) | parking.fillna(False)).astype("boolean")
    either[garage.isna() & parking.isna()] = pd.NA
    either[(garage == False) & parking.isna()] = False  # noqa: E712
    either[(parking == False) & garage.isna()] = False  # noqa: E712
    out["has_garage_or_parking"] = either
    return out


def _right(field: str, pred: pd.Series, truth: pd.DataFrame, area_tolerance: float) -> pd.Series:
    known = truth[field]
    if field == "area_m2":
        return (pred.astype(float) - known).abs() <= area_tolerance * known
    if field in ("rooms", "bathrooms") and f"{field}_at_least" in truth:
        at_least = truth[f"{field}_at_least"].fillna(False).astype(bool)
        return (pred.astype(float) == known) | (at_least & (pred.astype(float) >= known))
    if pd.api.types.is_bool_dtype(known) or str(known.dtype) == "boolean":
        return pred.astype("boolean") == known.astype("boolean")
    if pd.api.types.is_numeric_dtype(known):
        return pred.astype(float) == known
    return pred.astype("string") == known.astype("string")


def score(
    pred: pd.DataFrame,
    truth: pd.DataFrame,
    positive_only: set[str] | None = None,
    *,
    fields: list[str] | None = None,
    area_tolerance: float = 0.05,
) -> pd.DataFrame:
    """Precision and recall per field (see the module docstring for the definitions).

    Parameters
    ----------
    pred, truth : pandas.DataFrame
        Aligned row by row; columns named as the extractor's fields.
    positive_only : set of str, optional
        Flags whose ``False`` truth means "unknown".
    fields : list of str, optional
        Fields to score (default: every column the two share).
    area_tolerance : float
        Relative tolerance for ``area_m2``.

    Returns
    -------
    pandas.DataFrame
        ``field``, ``n_pred``, ``precision``, ``n_true``, ``recall``, ``positive_only``.
    """
    positive_only = positive_only or set()
    pred = pred.reset_index(drop=True)
    truth = truth.reset_index(drop=True)
    names = fields or [c for c in truth.columns if c in pred.columns]
    rows = []
    for name in names:
        p, known = pred[name], truth[name]
        is_flag = str(known.dtype) == "boolean"
        right = _right(name, p, truth, area_tolerance).fillna(False).astype(bool)
        has_pred = p.notna().to_numpy() & known.notna().to_numpy()
        if is_flag:
            has_pred &= p.astype("boolean").fillna(False).to_numpy(bool)
            relevant = known.fillna(False).to_numpy(bool)
        else:
            relevant = known.notna().to_numpy()
        n_pred, n_true = int(has_pred.sum()), int(relevant.sum())
        rows.append(
            {
                "field": name,
                "n_pred": n_pred,
                "precision": float(right[has_pred].mean()) if n_pred else np.nan,
                "n_true": n_true,
                "recall": float(right[relevant].mean()) if n_true else np.nan,
                "positive_only": name in positive_only,
            }
        )
    return pd.DataFrame(rows)
