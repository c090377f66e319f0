"""Adjusting comparables to a subject: the model's prices and the main adjustments.

:class:`~estimo.model.comps.ComparablesFinder` adjusts each comparable to the subject with
the model (the *hedonic* adjustment: the subject's model log price minus the comparable's,
both at the valuation date) and for time with the index. This module holds the model side:

* :func:`predict_log` / :func:`predict_distinct`: log prices of the subjects and of each
  distinct (comparable, valuation date) pair, in one model call (a call's fixed cost of
  features, encoding and trees dominates a single valuation);
* :func:`hedonic_contributions`: the hedonic adjustment split per feature group, by exact
  TreeSHAP differences (:mod:`estimo.model.treeshap`) when the model has ``booster_`` and
  ``feature_spec_`` (they add up exactly to the hedonic adjustment), the model's own
  ``explain_difference(subject_row, comp_rows)`` when it has one, otherwise single-feature
  swaps (:func:`swap_contributions`: set the comparable's feature to the subject's value and
  measure the change; interactions go to ``"other"``). ``lat``/``lon``/``neighbourhood``
  (:data:`LOCATION_COLUMNS`) and any columns that follow from where the property is (e.g.
  distances to the centre and to schools, passed as ``location``) form one group,
  ``"location"``: moving a flat changes them all together, and one swap instead of one per
  distance makes a valuation faster;
* :func:`money_adjustments`: log contributions in money with the logarithmic mean of the
  prices before and after the hedonic adjustment, so that the amounts add up exactly to the
  hedonic adjustment in money; the ``n_main`` largest are kept and the rest is ``"other"``.

Examples
--------
>>> feature_group("lat"), feature_group("area_m2"), feature_group("date")
('location', 'area_m2', 'other')
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from estimo.frames import column_floats
from estimo.model.treeshap import tree_contributions
from estimo.model.valuation import build_feature_matrix
from estimo.schema import feature_columns

__all__ = [
    "LOCATION_COLUMNS",
    "LogPriceModel",
    "feature_group",
    "hedonic_contributions",
    "money_adjustments",
    "predict_distinct",
    "predict_log",
    "swap_contributions",
]

LOCATION_COLUMNS = ("lat", "lon", "neighbourhood")
"""Columns adjusted together, as one ``"location"`` group."""


@runtime_checkable
class LogPriceModel(Protocol):
    """A model giving log prices of canonical rows at the date in their ``date`` column."""

    def predict_log(self, frame: pd.DataFrame) -> np.ndarray:
        """Log price of every row."""
        ...


def predict_log(model: LogPriceModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's log price of every row of ``frame`` (an empty array for no rows)."""
    if len(frame) == 0:
        return np.empty(0)
    return np.asarray(model.predict_log(frame), dtype=float)


def predict_distinct(
    model: LogPriceModel,
    frame: pd.DataFrame,
    rows: np.ndarray,
    dates: np.ndarray,
    head: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log prices of ``head`` and ``frame``, each distinct (reference row, valuation date) of
    ``frame`` predicted once: neighbours share comps.

    ``rows`` are the reference rows of ``frame``'s rows and ``dates`` their valuation dates.

    ``head`` (the subjects) is predicted in the same call when it has every feature column
    of ``frame``: a prediction has a fixed cost (features, encoding, the trees) that
    dominates a single valuation.
    """
    if len(frame) == 0:
        return (np.empty(0) if head is None else predict_log(model, head)), np.empty(0)
    keys = pd.MultiIndex.from_arrays([rows, pd.to_datetime(dates)])
    codes, uniques = pd.factorize(keys)
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    distinct = frame.iloc[first]
    if head is None or len(head) == 0 or not set(feature_columns(frame)) <= set(head.columns):
        head_log = np.empty(0) if head is None else predict_log(model, head)
        return head_log, predict_log(model, distinct)[codes]
    shared = [c for c in head.columns if c in distinct.columns]
    both = predict_log(model, pd.concat([head, distinct[shared]], ignore_index=True))
    return both[: len(head)], both[len(head) :][codes]


def feature_group(name: str, location: Collection[str] = LOCATION_COLUMNS) -> str:
    """Adjustment group of a feature: ``"location"`` for the ``location`` columns,
    ``"other"`` for dates, else the feature itself."""
    if name in location:
        return "location"
    if name in ("date", "date_years"):
        return "other"
    return name


def hedonic_contributions(
    model: Any,
    subjects_at: pd.DataFrame,
    comps_at: pd.DataFrame,
    sub: np.ndarray,
    comp_log: np.ndarray | None = None,
    location: Collection[str] = LOCATION_COLUMNS,
) -> pd.DataFrame:
    """Log contributions (comp rows x feature groups) of the subject-minus-comp difference:
    the model's own split where it has one (``explain_difference``, or exact tree
    contributions), else :func:`swap_contributions` (arguments as there)."""
    if hasattr(model, "explain_difference"):
        parts = []
        for s in np.unique(sub):
            rows = np.flatnonzero(sub == s)
            part = pd.DataFrame(
                model.explain_difference(subjects_at.iloc[[s]], comps_at.iloc[rows])
            )
            parts.append(part.set_axis(rows, axis=0))
        raw = pd.concat(parts).sort_index().fillna(0.0)
    elif hasattr(model, "booster_") and hasattr(model, "feature_spec_"):
        spec = model.feature_spec_
        rows_of = getattr(model, "model_matrix", lambda frame: build_feature_matrix(frame, spec))
        mine = tree_contributions(model.booster_, rows_of(subjects_at))[:, :-1]
        theirs = tree_contributions(model.booster_, rows_of(comps_at))[:, :-1]
        raw = pd.DataFrame(mine[sub] - theirs, columns=spec.matrix_columns())
    else:
        raw = swap_contributions(
            model, subjects_at, comps_at, sub, comp_log=comp_log, location=location
        )
    return raw.T.groupby(lambda c: feature_group(str(c), location)).sum().T


def swap_contributions(
    model: Any,
    subjects_at: pd.DataFrame,
    comps_at: pd.DataFrame,
    sub: np.ndarray,
    *,
    comp_log: np.ndarray | None = None,
    location: Collection[str] = LOCATION_COLUMNS,
) -> pd.DataFrame:
    """Change of the comp's log price when one feature group takes the subject's value
    (``comp_log``: the model's log price of ``comps_at``, when already known; ``location``:
    the columns swapped together as ``"location"``)."""
    names = [c for c in feature_columns(comps_at) if c in subjects_at and c != "city"]
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(feature_group(name, location), []).append(name)
    n = len(comps_at)
    if not groups:
        return pd.DataFrame(0.0, index=range(n), columns=["other"])
    base = predict_log(model, comps_at) if comp_log is None else np.asarray(comp_log, float)
    mine = subjects_at.iloc[sub].reset_index(drop=True)
    theirs = comps_at.reset_index(drop=True)
    same = {c: _same_values(mine[c].to_numpy(), theirs[c].to_numpy()) for c in names}
    # one block of rows per group: the comparables differing from their subject in it
    blocks = []
    for g, columns in enumerate(groups.values()):
        rows = np.flatnonzero(~np.logical_and.reduce([same[c] for c in columns]))
        if len(rows):
            blocks.append((g, columns, rows))
    out = np.zeros((n, len(groups)))
    if blocks:
        # all blocks in one frame, each with its group's columns set to the subject's
        # values, and one model call for them all (a call's fixed cost dominates)
        swapped = theirs.iloc[np.concatenate([rows for _, _, rows in blocks])]
        swapped = swapped.reset_index(drop=True)
        spans, start = [], 0
        for _, columns, rows in blocks:
            span = slice(start, start + len(rows))
            for c in columns:
                swapped[c] = _with_values(swapped[c].to_numpy(), span, mine[c].to_numpy()[rows])
            spans.append(span)
            start += len(rows)
        changed = predict_log(model, swapped)
        for (g, _, rows), span in zip(blocks, spans, strict=True):
            out[rows, g] = changed[span] - base[rows]
    return pd.DataFrame(out, columns=list(groups))


def _same_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether ``a`` and ``b`` hold the same value, row by row (both missing counts as
    the same)."""
    missing_a, missing_b = pd.isna(a), pd.isna(b)
    same = missing_a & missing_b
    both = ~missing_a & ~missing_b
    if both.any():
        same[both] = np.asarray(a[both] == b[both], dtype=bool)
    return same


def _with_values(column: np.ndarray, span: slice, values: np.ndarray) -> np.ndarray:
    """A copy of ``column`` with ``values`` in ``span``: numbers keep a numeric type wide
    enough for both, anything else becomes objects."""
    if column.dtype.kind in "biuf" and values.dtype.kind in "biuf":
        out = column.astype(np.result_type(column.dtype, values.dtype))
    else:
        out = column.astype(object)
    out[span] = values
    return out


def _floats(table: pd.DataFrame | Mapping[str, Any], name: str) -> np.ndarray:
    """Column ``name`` of a frame, or of columns by name, as floats."""
    if isinstance(table, pd.DataFrame):
        return column_floats(table, name)
    return np.asarray(table[name], dtype=float)


def money_adjustments(
    table: pd.DataFrame | Mapping[str, Any], contributions: pd.DataFrame, n_main: int
) -> list[dict[str, float]]:
    """Main adjustments in money per comparable (time, top feature groups, other); the
    comparables' table, or its columns by name."""
    price = _floats(table, "price")
    timed = price * np.exp(_floats(table, "time_log"))
    adjusted = _floats(table, "adjusted_price")
    hedonic = _floats(table, "hedonic_log")
    small = np.abs(hedonic) < 1e-12
    log_mean = np.where(small, timed, (adjusted - timed) / np.where(small, 1.0, hedonic))
    values = contributions.to_numpy(float)
    names = list(contributions.columns)
    out = []
    for i in range(len(price)):
        money = log_mean[i] * values[i]
        order = [j for j in np.argsort(-np.abs(money)) if names[j] != "other"][:n_main]
        entry = {"time": float(timed[i] - price[i])}
        entry.update({names[j]: float(money[j]) for j in order})
        entry["other"] = float(adjusted[i] - timed[i] - sum(money[j] for j in order))
        out.append(entry)
    return out
