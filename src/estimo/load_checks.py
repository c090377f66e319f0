"""Checks made while loading a table that catch a wrong reading before it reaches a model.

- :func:`day_month_order`: the order of the day and the month in ``03/04/2023``-like dates,
  decided by a number above 12 (none: ambiguous, the user must give ``data.date_format``);
- :func:`date_window`: the plausible dates (``data.min_date`` .. ``data.max_date``);
- :func:`price_derived_problems`: extra feature columns computed from the price (a price per
  m², per room, its logarithm, a copy or a multiple, its ratio to or difference from another
  price such as a sale-to-list percentage), which would hand the answer to the model;
- :func:`area_unit_issue`: areas whose median does not fit the declared unit (square feet
  read as m², or the reverse).

Examples
--------
>>> day_month_order(pd.Series(["03/04/2023", "25/12/2023"])).order
'day'
>>> day_month_order(pd.Series(["03/04/2023", "01/02/2023"])).order
'ambiguous'
>>> day_month_order(pd.Series(["2023-04-03"])).order is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from estimo.config import DataConfig
from estimo.schema import CANONICAL_COLUMNS

Order = Literal["day", "month", "ambiguous", "conflicting"]

_DMY = re.compile(r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T].*)?\s*$")
"""A date written ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (also with '.' or '-', a 2-digit year
and a time after it)."""

MEDIAN_SQFT_LIKE_M2 = 400.0
"""A median living area above this many m² looks like square feet (homes: ~40-250 m²)."""
MEDIAN_M2_LIKE_SQFT = 150.0
"""A median below this many square feet (14 m²) looks like square metres."""
SQFT_WORDS = ("sqft", "sqf", "feet", "foot", "ft2", "sqfeet")

PRICE_WORDS = ("price", "prezzo", "precio", "preco", "prix", "cena", "preis", "valor", "value")
PER_UNIT_WORDS = (
    "m2", "sqm", "sqft", "perm", "persq", "meter", "metre", "metr", "mq", "room", "pokoj",
    "unit", "area", "size",
)  # fmt: skip
LOG_WORDS = ("log", "ln")
RATIO_TOLERANCE = 0.02
"""A column is a multiple of price / divisor when the ratio stays this close to its median."""
MATCH_SHARE = 0.9
"""... on at least this share of the rows where both are known."""
MIN_CORRELATION = 0.995
"""A Pearson correlation with the price (or its logarithm) at least this high is a copy."""
MIN_ROWS = 5
PRICE_SCALE = (0.2, 5.0)
"""Another numeric column is "another price" (a list or an original price) when its median
lies within these multiples of the price's median; a ratio to it or a difference from it
computed with the price gives the answer away too (a sale-to-list percentage)."""
DIFFERENCE_TOLERANCE = 0.001
"""A column is the price minus another price when it stays this close (a share of the
price's median) to that difference."""


@dataclass
class DateOrder:
    """The day/month order of ``dd/mm/yyyy``-like dates and the evidence for it.

    Attributes
    ----------
    order : str or None
        ``"day"`` (day first), ``"month"`` (month first), ``"ambiguous"`` (no number above
        12: either reading is possible), ``"conflicting"`` (both orders are seen) or
        ``None`` (no such dates).
    separator : str
        The separator of the first such date.
    year : str
        ``"%Y"`` or ``"%y"``.
    examples : list of str
        Values that decided the order, or two values that could be read either way.
    """

    order: Order | None
    separator: str = "/"
    year: str = "%Y"
    examples: list[str] = field(default_factory=list)

    @property
    def format(self) -> str | None:
        """The strftime format of the decided order (``None`` when not decided)."""
        s = self.separator
        if self.order == "day":
            return f"%d{s}%m{s}{self.year}"
        if self.order == "month":
            return f"%m{s}%d{s}{self.year}"
        return None


def day_month_order(values: pd.Series) -> DateOrder:
    """The day/month order of the ``dd/mm/yyyy``-like values among ``values``.

    A first number above 12 means day first, a second number above 12 month first; with no
    number above 12 on any row, the order is ambiguous. ISO dates (``2023-04-03``) and other
    shapes are ignored.

    Parameters
    ----------
    values : pandas.Series
        Dates as text.

    Returns
    -------
    DateOrder
    """
    text = values.dropna().astype(str)
    parts = text.str.extract(_DMY)
    parts = parts.dropna(subset=[0, 2, 3])
    if parts.empty:
        return DateOrder(None)
    first, second = parts[0].astype(int), parts[2].astype(int)
    separator = str(parts[1].iloc[0])
    year = "%Y" if parts[3].str.len().max() == 4 else "%y"
    day_first, month_first = first > 12, second > 12
    if day_first.any() and month_first.any():
        examples = [text[day_first.idxmax()], text[month_first.idxmax()]]
        return DateOrder("conflicting", separator, year, examples)
    if day_first.any():
        return DateOrder("day", separator, year, [text[day_first.idxmax()]])
    if month_first.any():
        return DateOrder("month", separator, year, [text[month_first.idxmax()]])
    distinct = text[parts.index].unique()
    return DateOrder("ambiguous", separator, year, [str(v) for v in distinct[:2]])


def date_order_problem(label: str, found: DateOrder) -> str | None:
    """The message refusing a date column whose day/month order is not decided, or ``None``.

    Examples
    --------
    >>> date_order_problem("date ('Sold')", DateOrder("ambiguous", "/", "%Y",
    ...                    ["03/04/2023", "01/02/2023"]))[:60]
    "date ('Sold'): the day/month order is ambiguous: '03/04/2023"
    """
    if found.order == "ambiguous":
        s, y = found.separator, found.year
        return (
            f"{label}: the day/month order is ambiguous: {found.examples[0]!r}"
            + (f" and {found.examples[1]!r}" if len(found.examples) > 1 else "")
            + f" read either way (no number above 12 on any row); set data.date_format, e.g. "
            f"'%d{s}%m{s}{y}' (day first) or '%m{s}%d{s}{y}' (month first)"
        )
    if found.order == "conflicting":
        return (
            f"{label}: dates are written both day first ({found.examples[0]!r}) and month "
            f"first ({found.examples[1]!r}); set data.date_format to the order of most rows, "
            "the others will be dropped as unparsable"
        )
    return None


def date_window(data: DataConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The plausible dates of the rows: ``data.min_date`` .. ``data.max_date`` (default one
    year after today).

    Examples
    --------
    >>> date_window(DataConfig(path="-", max_date="2030-01-01"))[0]
    Timestamp('1900-01-01 00:00:00')
    """
    low = pd.Timestamp(data.min_date)
    high = (
        pd.Timestamp(data.max_date)
        if data.max_date is not None
        else pd.Timestamp.today().normalize() + pd.DateOffset(years=1)
    )
    return low, high


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _named_like_price_derived(name: str) -> str | None:
    key = _normalise(name)
    has_price = any(w in key for w in PRICE_WORDS) or key.startswith(("ppm", "ppsq"))
    if not has_price:
        return None
    if key.startswith(("ppm", "ppsq")) or any(
        key.endswith(w) or f"per{w}" in key or f"{w}price" in key for w in PER_UNIT_WORDS
    ):
        return "its name says a price per unit"
    if any(key.startswith(w) or key.endswith(w) for w in LOG_WORDS):
        return "its name says a logarithm of the price"
    return None


def _constant_ratio(values: np.ndarray, reference: np.ndarray) -> bool:
    ok = np.isfinite(values) & np.isfinite(reference) & (reference > 0) & (values != 0)
    if ok.sum() < MIN_ROWS:
        return False
    ratio = values[ok] / reference[ok]
    centre = float(np.median(ratio))
    if centre == 0:
        return False
    close = np.abs(ratio / centre - 1) <= RATIO_TOLERANCE
    return bool(close.mean() >= MATCH_SHARE)


def _close(values: np.ndarray, reference: np.ndarray, tolerance: float) -> bool:
    ok = np.isfinite(values) & np.isfinite(reference)
    if ok.sum() < MIN_ROWS:
        return False
    return bool((np.abs(values[ok] - reference[ok]) <= tolerance).mean() >= MATCH_SHARE)


def _correlation(values: np.ndarray, reference: np.ndarray) -> float:
    ok = np.isfinite(values) & np.isfinite(reference)
    if ok.sum() < MIN_ROWS or np.std(values[ok]) == 0 or np.std(reference[ok]) == 0:
        return 0.0
    return float(np.corrcoef(values[ok], reference[ok])[0, 1])


def derived_from_price(
    values: pd.Series, frame: pd.DataFrame, others: Mapping[str, np.ndarray] | None = None
) -> str | None:
    """Why a numeric column looks computed from ``frame["price"]``, or ``None``.

    Tested: a constant multiple of the price, of the price per ``area_m2`` (in m² or square
    feet) or per ``rooms``; the natural or base-10 logarithm of the price; a constant
    multiple of the price's ratio to one of the ``others`` prices (either way round) or
    their difference (see :func:`other_prices`); a correlation of at least
    :data:`MIN_CORRELATION` with the price or its logarithm.
    """
    x = pd.to_numeric(values, errors="coerce").to_numpy(float)
    price = frame["price"].to_numpy(float)
    if not np.isfinite(price).any() or not np.isfinite(x).any():
        return None  # nothing to compare (the rows are dropped for their prices)
    with np.errstate(divide="ignore", invalid="ignore"):
        if _constant_ratio(x, price):
            return "it is a constant multiple of the price (a copy of it)"
        for divisor in ("area_m2", "rooms"):
            if divisor in frame and _constant_ratio(x, price / frame[divisor].to_numpy(float)):
                return f"it equals the price / {divisor} (up to a constant factor)"
        log_price = np.where(price > 0, np.log(price), np.nan)
        if _close(x, log_price, 0.01) or _close(x, log_price / np.log(10), 0.005):
            return "it equals the logarithm of the price"
        tolerance = DIFFERENCE_TOLERANCE * float(np.nanmedian(np.abs(price)))
        for name, other in (others or {}).items():
            if _constant_ratio(other, price):
                continue  # a copy of the price: its ratio and difference are constants
            if _constant_ratio(x, price / other) or _constant_ratio(x, other / price):
                return f"it is the ratio of the price to {name!r}, another price (up to a factor)"
            gap = price - other
            if _close(gap, np.full_like(gap, np.nanmedian(gap)), tolerance):
                continue  # a near-constant difference: any small column would match it
            if _close(x, gap, tolerance) or _close(x, -gap, tolerance):
                return f"it is the difference between the price and {name!r}, another price"
        for reference, said in ((price, "the price"), (log_price, "the log price")):
            r = _correlation(x, reference)
            if abs(r) >= MIN_CORRELATION:
                return f"its correlation with {said} is {r:.4f}"
    return None


def other_prices(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The numeric non-canonical columns of ``frame`` on the price's scale (their median
    within :data:`PRICE_SCALE` of the price's): list prices, original prices, ...

    Examples
    --------
    >>> frame = pd.DataFrame({"price": [90.0, 95.0, 100.0, 80.0, 99.0],
    ...                       "list": [100.0, 100.0, 105.0, 90.0, 99.0],
    ...                       "lot": [0.2, 0.5, 0.3, 0.4, 0.1]})
    >>> list(other_prices(frame))
    ['list']
    """
    price = frame["price"].to_numpy(float)
    centre = float(np.nanmedian(price)) if np.isfinite(price).any() else np.nan
    out = {}
    if not centre > 0:
        return out
    low, high = PRICE_SCALE
    for column in frame.columns:
        if column in CANONICAL_COLUMNS or not _plain_numeric(frame[column]):
            continue
        values = frame[column].to_numpy(float)
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive) >= MIN_ROWS and low <= float(np.median(positive)) / centre <= high:
            out[str(column)] = values
    return out


def _plain_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def price_derived_columns(
    frame: pd.DataFrame, extras: Iterable[str], allowed: Iterable[str] = ()
) -> dict[str, str]:
    """Every extra feature column computed from the price (by its name or its values),
    except the ``allowed`` ones, with why (see :func:`derived_from_price`); the ratios and
    differences are tested against every other price in ``frame`` (:func:`other_prices`),
    the allowed ones included.

    Examples
    --------
    >>> frame = pd.DataFrame({"price": [90.0, 95.0, 100.0, 80.0, 99.0],
    ...                       "list_price": [100.0, 100.0, 105.0, 90.0, 99.0],
    ...                       "sale_to_list": [90.0, 95.0, 95.24, 88.89, 100.0]})
    >>> price_derived_columns(frame, ["sale_to_list"], ["list_price"])
    {'sale_to_list': "it is the ratio of the price to 'list_price', another price (up to a factor)"}
    """
    allowed = set(allowed)
    prices = other_prices(frame)
    out = {}
    for column in extras:
        if column in allowed:
            continue
        why = _named_like_price_derived(column)
        if why is None and pd.api.types.is_numeric_dtype(frame[column]):
            others = {k: v for k, v in prices.items() if k != column}
            why = derived_from_price(frame[column], frame, others)
        if why is not None:
            out[column] = why
    return out


def price_derived_problems(
    frame: pd.DataFrame, extras: Iterable[str], allowed: Iterable[str]
) -> list[str]:
    """Problems naming every extra feature column computed from the price (by its name or
    its values), except the ``allowed`` ones (see :func:`price_derived_columns`).

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical rows with their extra columns (``price`` parsed, ``area_m2`` in m²).
    extras : iterable of str
        The extra feature columns.
    allowed : iterable of str
        Columns the user allowed (``data.allow_price_derived``) or that are not features
        (the asking price used by the label calibration).

    Examples
    --------
    >>> frame = pd.DataFrame({"price": [1e5, 2e5, 3e5, 4e5, 5e5], "area_m2": [50, 80, 60, 90, 70],
    ...                       "ppm": [2000, 2500, 5000, 4444.4, 7142.9]})
    >>> price_derived_problems(frame, ["ppm"], [])[0][:62]
    "extra feature 'ppm' looks derived from the price: its name say"
    """
    return [
        f"extra feature {column!r} looks derived from the price: {why}; a model would "
        "read the answer from it. Leave it out of data.extra_features, or, if it is "
        f"known before the price, allow it with data.allow_price_derived: [{column!r}]"
        for column, why in price_derived_columns(frame, extras, allowed).items()
    ]


def area_unit_issue(column: str, raw_area: pd.Series, data: DataConfig) -> str | None:
    """What is wrong when the areas' median does not fit ``data.area_unit``, or ``None``.

    Parameters
    ----------
    column : str
        The input column of the areas (its name may say square feet).
    raw_area : pandas.Series
        The areas as given (before any unit conversion).
    data : DataConfig
        The data settings (``area_unit``).

    Examples
    --------
    >>> area_unit_issue("Size", pd.Series([900.0, 1500.0, 2100.0]), DataConfig(path="-"))[:44]
    'areas implausible for m²: median 1,500 (it l'
    """
    values = pd.to_numeric(raw_area, errors="coerce")
    values = values[values > 0]
    if len(values) < 1:
        return None
    median = float(values.median())
    named_sqft = any(w in _normalise(column) for w in SQFT_WORDS)
    if data.area_unit == "m2" and (median > MEDIAN_SQFT_LIKE_M2 or named_sqft):
        why = "the column name says square feet" if named_sqft else "it looks like square feet"
        return (
            f"areas implausible for m²: median {median:,.0f} ({why}); if they are square feet "
            "set data.area_unit: sqft (they are then converted to m²)"
        )
    if data.area_unit == "sqft" and median < MEDIAN_M2_LIKE_SQFT and not named_sqft:
        return (
            f"areas implausible for square feet (data.area_unit: sqft): median {median:,.0f} "
            "looks like m²; if they are square metres set data.area_unit: m2"
        )
    return None
