"""Accuracy per segment (city, neighbourhood, property type, ...) with minimum group sizes.

Every group appears in the report: groups smaller than ``min_group_size`` keep their row with
``n`` and ``too_small=True`` and NaN metrics, so a reader sees where the model cannot be judged
rather than not seeing the group at all. Missing group labels become ``"(missing)"`` and the
overall row is labelled ``"(all)"``.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame(
...     {"city": ["a", "a", "b"], "price": [100.0, 200.0, 300.0],
...      "predicted": [110.0, 190.0, 300.0]}
... )
>>> report = metrics_by_segment(frame, "city", min_group_size=2)
>>> report[["city", "n", "too_small"]].to_dict("list")
{'city': ['a', 'b', '(all)'], 'n': [2, 1, 3], 'too_small': [False, True, False]}
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from estimo.evaluate.metrics import (
    IAAO_STANDARDS,
    INTERVAL_METRIC_NAMES,
    METRIC_NAMES,
    check_prices,
    compute_metrics,
    iaao_passes,
)

__all__ = ["ALL_LABEL", "MISSING_LABEL", "format_metrics_table", "metrics_by_segment"]

#: Label of the overall row in every segment column.
ALL_LABEL = "(all)"
#: Label of the group of rows whose segment value is missing.
MISSING_LABEL = "(missing)"

_PASS_COLUMNS = tuple(f"{name}_passed" for name in IAAO_STANDARDS)


def metrics_by_segment(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    *,
    actual: str = "price",
    predicted: str = "predicted",
    low: str | None = None,
    high: str | None = None,
    min_group_size: int = 30,
    include_overall: bool = True,
) -> pd.DataFrame:
    """Compute :func:`~estimo.evaluate.metrics.compute_metrics` for each segment.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per property, with the segment, actual-price and predicted-price columns.
    by : str or list of str
        Segment column(s).
    actual, predicted : str
        Columns of true prices and valuations (both > 0, no missing values).
    low, high : str, optional
        Columns of the valuation range bounds; give both to get ``coverage`` and
        ``mean_relative_width``.
    min_group_size : int, default 30
        Groups with fewer rows keep their row, with ``too_small=True`` and NaN metrics. The
        overall row follows the same rule.
    include_overall : bool, default True
        Append a row over all properties, labelled ``"(all)"`` in every segment column.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted by label, ``"(missing)"`` last, then ``"(all)"``): the segment
        columns, ``n``, ``too_small``, every metric of ``compute_metrics`` (fractions) and the
        IAAO pass flags ``median_ratio_passed``, ``cod_passed``, ``prd_passed``, ``prb_passed``
        (nullable booleans, ``<NA>`` for too-small groups). ``attrs["segment_by"]`` holds the
        segment column names.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"type": ["flat", "flat", None], "price": [100.0, 200.0, 300.0],
    ...                       "predicted": [100.0, 220.0, 300.0]})
    >>> report = metrics_by_segment(frame, "type", min_group_size=1, include_overall=False)
    >>> report[["type", "n", "pe10"]].to_dict("list")
    {'type': ['flat', '(missing)'], 'n': [2, 1], 'pe10': [1.0, 1.0]}
    """
    by_cols = _check_by(frame, by)
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int | np.integer):
        raise ValueError(f"min_group_size must be an integer >= 1; got {min_group_size!r}")
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be an integer >= 1; got {min_group_size!r}")
    if (low is None) != (high is None):
        raise ValueError("give both low and high columns for interval metrics, or neither")
    value_cols = [actual, predicted] + ([low, high] if low is not None else [])
    _check_columns(frame, value_cols)
    if len(frame):
        check_prices(frame[actual], f"column {actual!r}")
        check_prices(frame[predicted], f"column {predicted!r}")

    keys = pd.DataFrame({col: _labels(frame[col]) for col in by_cols}, index=frame.index)
    rows: list[dict[str, Any]] = []
    for key, positions in _ordered_groups(keys):
        labels = dict(zip(by_cols, key, strict=True))
        group = frame.iloc[positions]
        rows.append(_group_row(group, labels, actual, predicted, low, high, min_group_size))
    if include_overall:
        labels = dict.fromkeys(by_cols, ALL_LABEL)
        rows.append(_group_row(frame, labels, actual, predicted, low, high, min_group_size))

    metric_cols = list(METRIC_NAMES[1:]) + (list(INTERVAL_METRIC_NAMES) if low else [])
    columns = [*by_cols, "n", "too_small", *metric_cols, *_PASS_COLUMNS]
    report = pd.DataFrame(rows, columns=columns)
    report["n"] = report["n"].astype("int64")
    report["too_small"] = report["too_small"].astype(bool)
    report[metric_cols] = report[metric_cols].astype("float64")
    for col in _PASS_COLUMNS:
        report[col] = report[col].astype("boolean")
    report.attrs["segment_by"] = list(by_cols)
    return report


def _check_by(frame: pd.DataFrame, by: str | Sequence[str]) -> list[str]:
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise ValueError("by must name at least one segment column; got an empty list")
    _check_columns(frame, by_cols)
    return by_cols


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise ValueError(
            f"column {missing[0]!r} not found in the frame; available columns: "
            f"{list(frame.columns)!r}"
        )


def _labels(column: pd.Series) -> pd.Series:
    values = column.astype(object)
    return values.where(column.notna(), MISSING_LABEL)


def _ordered_groups(keys: pd.DataFrame) -> list[tuple[tuple[Hashable, ...], np.ndarray]]:
    """Groups as (key tuple, row positions), sorted by label with "(missing)" last."""
    grouped = keys.groupby(list(keys.columns), sort=False, dropna=False).indices
    groups = [(k if isinstance(k, tuple) else (k,), np.asarray(v)) for k, v in grouped.items()]

    def sort_key(item: tuple[tuple[Hashable, ...], np.ndarray]) -> tuple[Any, ...]:
        return tuple((label == MISSING_LABEL, label) for label in item[0])

    try:
        return sorted(groups, key=sort_key)
    except TypeError:  # labels of mixed types in one column: order by their text
        return sorted(groups, key=lambda item: tuple((v == MISSING_LABEL, str(v)) for v in item[0]))


def _group_row(
    group: pd.DataFrame,
    labels: dict[str, Any],
    actual: str,
    predicted: str,
    low: str | None,
    high: str | None,
    min_group_size: int,
) -> dict[str, Any]:
    n = len(group)
    row: dict[str, Any] = {**labels, "n": n, "too_small": n < min_group_size}
    if row["too_small"]:
        return row
    metrics = compute_metrics(
        group[actual].to_numpy(dtype=float),
        group[predicted].to_numpy(dtype=float),
        low=None if low is None else group[low].to_numpy(dtype=float),
        high=None if high is None else group[high].to_numpy(dtype=float),
    )
    row.update(metrics)
    row.update(iaao_passes(metrics))
    return row


# --------------------------------------------------------------------------- rich table


def format_metrics_table(df: pd.DataFrame, *, title: str | None = None) -> Table:
    """Render a :func:`metrics_by_segment` report as a rich table.

    Shows the segment labels, ``n``, MdAPE, PE10, PE20 and COD in percent with one decimal,
    and the IAAO pass/fail (✓/✗) of COD and of all four ratio-study statistics together.
    Too-small groups read ``too small (n=12)``.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`metrics_by_segment`.
    title : str, optional
        Table title.

    Returns
    -------
    rich.table.Table

    Examples
    --------
    >>> import io
    >>> import pandas as pd
    >>> from rich.console import Console
    >>> frame = pd.DataFrame({"city": ["a"] * 3, "price": [100.0, 200.0, 300.0],
    ...                       "predicted": [100.0, 230.0, 300.0]})
    >>> table = format_metrics_table(metrics_by_segment(frame, "city", min_group_size=5))
    >>> console = Console(file=io.StringIO(), width=120)
    >>> console.print(table)
    >>> "too small (n=3)" in console.file.getvalue()
    True
    """
    missing = [col for col in ("n", "too_small", "mdape", "pe10", "pe20", "cod") if col not in df]
    if missing:
        raise ValueError(
            f"df is missing column {missing[0]!r}; expected the output of metrics_by_segment"
        )
    by_cols = list(df.attrs.get("segment_by") or df.columns[: list(df.columns).index("n")])
    table = Table(title=title)
    for col in by_cols:
        table.add_column(str(col))
    for header in ("n", "MdAPE", "PE10", "PE20", "COD", "IAAO"):
        table.add_column(header, justify="right")
    groups = _group_iaao_failures(df, by_cols)
    for _, row in df.iterrows():
        labels = [escape(str(row[col])) for col in by_cols]  # data as written, not markup
        n = int(row["n"])
        if bool(row["too_small"]):
            table.add_row(*labels, str(n), f"too small (n={n})", "", "", "", "")
            continue
        cod_cell = f"{_percent(row['cod'])} {_mark(row.get('cod_passed'))}"
        table.add_row(
            *labels,
            str(n),
            _percent(row["mdape"]),
            _percent(row["pe10"]),
            _percent(row["pe20"]),
            cod_cell,
            _all_iaao_cell(row, groups) if _is_all_row(row, by_cols) else _iaao_cell(row),
        )
    return table


def _is_all_row(row: pd.Series, by_cols: list[str]) -> bool:
    return all(str(row[col]) == ALL_LABEL for col in by_cols)


def _group_iaao_failures(df: pd.DataFrame, by_cols: list[str]) -> dict[str, Any]:
    """How many judged groups (not too small, not the "(all)" row) fail the IAAO standards,
    and which standards fail most often."""
    failed: list[list[str]] = []
    for _, row in df.iterrows():
        if bool(row["too_small"]) or _is_all_row(row, by_cols):
            continue
        flags = {name: row.get(f"{name}_passed") for name in IAAO_STANDARDS}
        failed.append([name for name, flag in flags.items() if _mark(flag) != "✓"])
    counts = pd.Series([name for names in failed for name in names]).value_counts()
    return {
        "n": len(failed),
        "n_failed": sum(bool(names) for names in failed),
        "standards": list(counts.index),
    }


def _all_iaao_cell(row: pd.Series, groups: dict[str, Any]) -> str:
    """The pooled row's mark is ✓ only when every judged group passes too.

    Examples
    --------
    >>> row = pd.Series({f"{name}_passed": True for name in IAAO_STANDARDS})
    >>> _all_iaao_cell(row, {"n": 15, "n_failed": 13, "standards": ["prb"]})
    '✗ 13 of 15 groups fail (prb)'
    >>> _all_iaao_cell(row, {"n": 15, "n_failed": 0, "standards": []})
    '✓'
    """
    pooled = _iaao_cell(row)
    if not groups["n_failed"]:
        return pooled
    which = ", ".join(groups["standards"])
    text = f"{groups['n_failed']} of {groups['n']} groups fail ({which})"
    return f"✗ {text}" if pooled == "✓" else f"{pooled}; {text}"


def _percent(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{100.0 * float(value):.1f}%"


def _mark(passed: Any) -> str:
    if passed is None or passed is pd.NA or (isinstance(passed, float) and math.isnan(passed)):
        return "?"
    return "✓" if bool(passed) else "✗"


def _iaao_cell(row: pd.Series) -> str:
    flags = {name: row.get(f"{name}_passed") for name in IAAO_STANDARDS}
    failed = [name for name, flag in flags.items() if _mark(flag) != "✓"]
    return "✓" if not failed else "✗ " + ", ".join(failed)
