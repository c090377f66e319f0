"""The synthetic market and its generator: parameters, random streams, assembly, row order.

:func:`generate_market` checks its parameters, splits its seed into one random stream per
stage (index, properties, appearances, prices, texts, faults) and assembles the
:class:`SyntheticMarket` from the stages in :mod:`estimo.synth.prices`,
:mod:`~estimo.synth.properties`, :mod:`~estimo.synth.listings` and
:mod:`~estimo.synth.faults`. Each stage draws from its own stream only, so the clean market
does not depend on the faults.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimo.schema import CANONICAL_COLUMNS
from estimo.synth.cities import CITIES, city_table
from estimo.synth.faults import (
    FAULT_KINDS,
    FaultRates,
    add_fault_truth,
    append_duplicates,
    inject_faults,
)
from estimo.synth.listings import describe_listings, draw_appearances, price_rows
from estimo.synth.prices import draw_log_index
from estimo.synth.properties import draw_properties

logger = logging.getLogger(__name__)

__all__ = ["EXTRA_COLUMNS", "SyntheticMarket", "generate_market"]

EXTRA_COLUMNS: tuple[str, ...] = ("has_elevator", "floors_in_building", "has_terrace")
"""Pass-through feature columns added after the canonical ones."""


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market: observed rows, their truth, the cities and the true index.

    Attributes
    ----------
    frame : pandas.DataFrame
        Canonical columns then :data:`EXTRA_COLUMNS`; the observed, messy data.
    truth : pandas.DataFrame
        Same index as ``frame``: ``property_key``, ``month``, ``appearance``, ``relisting``,
        ``true_value``, ``true_sale_price``, ``true_asking_price``, ``true_markup``,
        ``price_cut``, ``has_garage``, ``quality``, ``fault_<kind>`` flags, ``faulty``,
        ``duplicate_of`` (index of the original row or -1), ``label_noise_factor`` and
        ``clean_<column>`` values before faults.
    cities : pandas.DataFrame
        One row per city with country, currency, base price per m2, annual drift, centre
        and radius.
    index : pandas.DataFrame
        True monthly price index: ``city``, ``month`` (first of month), ``index`` (1.0 at
        the first month).
    start, end : pandas.Timestamp
        First day of the first month and last day of the last month.
    seed : int
        The seed the market was drawn with.
    """

    frame: pd.DataFrame
    truth: pd.DataFrame
    cities: pd.DataFrame
    index: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int


def generate_market(
    n_properties: int = 12_000,
    *,
    seed: int = 0,
    start: str = "2022-01-01",
    months: int = 24,
    faults: bool = True,
    sale_share: float = 0.2,
    relist_share: float = 0.25,
    fault_rates: FaultRates | None = None,
) -> SyntheticMarket:
    """Generate a synthetic housing market with known truth.

    The clean part of the market does not depend on ``faults`` or ``fault_rates``: the same
    seed gives the same properties, dates and prices with or without faults.

    Parameters
    ----------
    n_properties : int, default 12_000
        Number of distinct properties; re-listings and duplicates add rows.
    seed : int, default 0
        Seed of every random draw; the same seed gives identical frames.
    start : str, default "2022-01-01"
        Any date of the first month (floored to its first day).
    months : int, default 24
        Number of months covered.
    faults : bool, default True
        Inject the faults of ``fault_rates``; ``False`` gives clean data.
    sale_share : float, default 0.2
        Share of rows (before duplicates) whose ``price`` is the sale price.
    relist_share : float, default 0.25
        Share of properties listed again in later months.
    fault_rates : FaultRates, optional
        Per-row fault probabilities; defaults to ``FaultRates()``.

    Returns
    -------
    SyntheticMarket

    Examples
    --------
    >>> market = generate_market(1_000, seed=1)
    >>> sorted(market.frame["price_kind"].unique())
    ['asking', 'sale']
    >>> market.frame["id"].iloc[0][:1], market.frame["date"].dtype
    ('P', dtype('<M8[ns]'))
    >>> clean = generate_market(1_000, seed=1, faults=False)
    >>> bool(clean.truth["faulty"].any())
    False
    """
    month_starts = _check_params(n_properties, start, months, sale_share, relist_share)
    rates = fault_rates if fault_rates is not None else FaultRates()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    rng_index, rng_props, rng_rows, rng_prices, rng_text, rng_faults = streams

    cities = city_table()
    log_index = draw_log_index(rng_index, month_starts)
    props = draw_properties(rng_props, n_properties)
    rows = draw_appearances(rng_rows, n_properties, months, relist_share)
    frame, truth = price_rows(rng_prices, props, rows, log_index, month_starts, sale_share)
    frame["description"] = describe_listings(rng_text, frame, truth["has_garage"].to_numpy())
    add_fault_truth(frame, truth)
    if faults:
        inject_faults(rng_faults, frame, truth, rates)
        frame, truth = append_duplicates(rng_faults, frame, truth, rates.duplicate)
    frame, truth = _sort_rows(frame, truth)
    truth["faulty"] = truth[[f"fault_{k}" for k in FAULT_KINDS]].any(axis=1)

    index = pd.DataFrame(
        {
            "city": np.repeat(cities["city"].to_numpy(dtype=object), months),
            "month": np.tile(month_starts.to_numpy(), len(CITIES)),
            "index": np.exp(log_index).ravel(),
        }
    )
    end = month_starts[-1] + pd.offsets.MonthEnd(0)
    logger.info(
        "generated %d rows (%d properties, %d faulty) over %d months, seed=%d",
        len(frame),
        n_properties,
        int(truth["faulty"].sum()),
        months,
        seed,
    )
    return SyntheticMarket(
        frame,
        truth,
        _as_object_strings(cities),
        _as_object_strings(index),
        month_starts[0],
        end,
        seed,
    )


def _check_params(
    n_properties: int, start: str, months: int, sale_share: float, relist_share: float
) -> pd.DatetimeIndex:
    """Reject bad parameters; return the first day of every month."""
    if isinstance(n_properties, bool) or not isinstance(n_properties, int | np.integer):
        raise TypeError(f"n_properties must be an int, got {n_properties!r}")
    if n_properties < 1:
        raise ValueError(f"n_properties is {n_properties!r}; it must be >= 1")
    if isinstance(months, bool) or not isinstance(months, int | np.integer) or months < 1:
        raise ValueError(f"months is {months!r}; it must be an int >= 1")
    for name, value in (("sale_share", sale_share), ("relist_share", relist_share)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} is {value!r}; it must be in [0, 1]")
    try:
        first = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start is {start!r}; expected a date such as '2022-01-01'") from exc
    first = first.normalize().replace(day=1)
    return pd.date_range(first, periods=months, freq="MS").astype("datetime64[ns]")


def _sort_rows(frame: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order rows by date (copies after their original) and renumber ``duplicate_of``."""
    order = np.lexsort((np.arange(len(frame)), frame["date"].to_numpy()))
    new_position = np.empty(len(frame), dtype=int)
    new_position[order] = np.arange(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    truth = truth.iloc[order].reset_index(drop=True)
    dup = truth["duplicate_of"].to_numpy()
    truth["duplicate_of"] = np.where(dup >= 0, new_position[np.maximum(dup, 0)], -1)
    frame = frame[list(CANONICAL_COLUMNS) + list(EXTRA_COLUMNS)]
    return _as_object_strings(frame), _as_object_strings(truth)


def _as_object_strings(table: pd.DataFrame) -> pd.DataFrame:
    """Hold text columns as ``object`` (python ``str`` values), as :mod:`estimo.schema` does."""
    for col in table.columns:
        if pd.api.types.is_string_dtype(table[col].dtype):
            table[col] = table[col].astype(object)
    return table
