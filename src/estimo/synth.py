"""Synthetic housing market with known truth: the embedded default dataset.

:func:`generate_market` draws a deterministic (per seed) market of listings and sales in six
cities of two countries, with a spatial price surface (neighbourhood clusters plus a smooth
decay with distance to the centre), hedonic effects, a monthly price index per city, asking
prices above sale prices, re-listings, and injected data faults. Every row of the observed,
messy ``frame`` has a row in ``truth`` with the values before any fault, the true market
value, the true sale and asking prices and one ``fault_<kind>`` flag per fault kind.

Generative model (log scale, per property, at the first month)::

    log v = log(base €/m2 · 80) + 0.9 · log(area / 80) + neighbourhood premium
            - decay · distance / radius + type + year_built(non-linear) + condition
            + floor/elevator + terrace + garage (only in the description) + bathrooms
            + quality,   quality ~ N(0, 0.07) (unobserved)

    true_value        = v · index[city, month]
    true_sale_price   = true_value · exp(e),  e ~ N(0, 0.05) per property
    true_asking_price = true_sale_price · markup · price cuts (re-listings only)

Markups are about 3-12 %: higher for houses and penthouses and in Roma and Valencia.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(2_000, seed=3)
>>> len(market.frame) == len(market.truth)
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from estimo.schema import CANONICAL_COLUMNS, CATEGORY_FIELDS, NUMERIC_FIELDS

logger = logging.getLogger(__name__)

__all__ = ["FAULT_KINDS", "FaultRates", "SyntheticMarket", "generate_market"]

EXTRA_COLUMNS: tuple[str, ...] = ("has_elevator", "floors_in_building", "has_terrace")
"""Pass-through feature columns added after the canonical ones."""

CONDITIONS: tuple[str, ...] = ("new", "renovated", "good", "to_renovate")
PROPERTY_TYPES: tuple[str, ...] = ("flat", "penthouse", "house")

_CONDITION_EFFECT = np.array([0.10, 0.06, 0.0, -0.18])
_TYPE_EFFECT = np.array([0.0, 0.12, -0.04])
_TYPE_MEDIAN_AREA = np.array([75.0, 115.0, 140.0])
_TYPE_MARKUP = np.array([0.0, 0.015, 0.03])
# Year built -> log-price effect: historic premium, 1960-80s discount, new-build premium.
_YEAR_KNOTS = np.array([1850, 1935, 1955, 1965, 1985, 2000, 2012, 2024], dtype=float)
_YEAR_EFFECT = np.array([0.10, 0.06, -0.02, -0.09, -0.07, 0.0, 0.04, 0.14])
_QUALITY_SD = 0.07
_SALE_NOISE_SD = 0.05
_MISSING_RANDOM_COLUMNS: tuple[str, ...] = (
    "rooms",
    "bathrooms",
    "floor",
    "condition",
    "neighbourhood",
    "area_m2",
    "has_elevator",
    "floors_in_building",
    "has_terrace",
)
_CLEAN_COLUMNS: tuple[str, ...] = (
    "price",
    "lat",
    "lon",
    "area_m2",
    "year_built",
    "rooms",
    "bathrooms",
    "floor",
    "condition",
    "neighbourhood",
    "has_elevator",
    "floors_in_building",
    "has_terrace",
)
_LABEL_NOISE_FACTORS = np.array([0.5, 2.0, 10.0, 0.1])
_LABEL_NOISE_PROBS = np.array([0.3, 0.3, 0.25, 0.15])


@dataclass(frozen=True)
class _City:
    city: str
    country: str
    currency: str
    base_price_m2: float
    annual_drift: float
    centre_lat: float
    centre_lon: float
    radius_km: float
    share: float
    n_neighbourhoods: int
    markup_premium: float
    max_floors: int


_CITIES: tuple[_City, ...] = (
    _City("Milano", "Italy", "EUR", 5000.0, 0.08, 45.4642, 9.1900, 9.0, 0.28, 12, 0.0, 12),
    _City("Roma", "Italy", "EUR", 3700.0, 0.03, 41.9028, 12.4964, 12.0, 0.26, 14, 0.02, 9),
    _City("Torino", "Italy", "EUR", 2200.0, 0.0, 45.0703, 7.6869, 7.0, 0.16, 9, 0.0, 9),
    _City("Bologna", "Italy", "EUR", 3600.0, 0.05, 44.4949, 11.3426, 5.0, 0.04, 5, 0.01, 7),
    _City("Madrid", "Spain", "EUR", 4300.0, 0.06, 40.4168, -3.7038, 11.0, 0.16, 12, 0.0, 12),
    _City("Valencia", "Spain", "EUR", 2100.0, -0.03, 39.4699, -0.3763, 7.0, 0.10, 8, 0.03, 10),
)


@dataclass(frozen=True)
class FaultRates:
    """Per-row probabilities of each injected fault.

    Coordinate faults (``swapped_coords``, ``centroid_coords``, ``zero_coords``) are mutually
    exclusive; ``year_zero`` never hits a row whose year is missing, ``area_x10`` never a row
    whose area is missing. ``duplicate`` is the share of rows copied (the copies are appended).

    Parameters
    ----------
    missing_random : float
        NaN in one or two random feature columns (rooms, bathrooms, floor, condition, ...).
    missing_dependent : float
        Average rate of a missing ``year_built`` (and sometimes ``condition``), three times
        more frequent for pre-1950 buildings and more frequent for ones to renovate.
    swapped_coords : float
        ``lat`` and ``lon`` swapped.
    centroid_coords : float
        Coordinates set to the exact city centre (geocoder fallback).
    zero_coords : float
        Coordinates set to (0, 0).
    area_x10 : float
        ``area_m2`` multiplied by 10.
    year_zero : float
        ``year_built`` set to 0.
    duplicate : float
        Exact copy of the row (same ``id``) appended; the copy is flagged.
    label_noise : float
        ``price`` multiplied by 0.5, 2, 10 or 0.1.
    """

    missing_random: float = 0.05
    missing_dependent: float = 0.06
    swapped_coords: float = 0.01
    centroid_coords: float = 0.03
    zero_coords: float = 0.005
    area_x10: float = 0.01
    year_zero: float = 0.015
    duplicate: float = 0.02
    label_noise: float = 0.015

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {f.name!r} is {value!r}; rates must be in [0, 1]")
        coords = self.swapped_coords + self.centroid_coords + self.zero_coords
        if coords > 1.0:
            raise ValueError(f"coordinate fault rates sum to {coords!r}; they must sum to <= 1")


FAULT_KINDS: tuple[str, ...] = tuple(f.name for f in fields(FaultRates))
"""Names of the fault kinds; ``truth`` has a boolean column ``fault_<kind>`` for each."""


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

    cities = pd.DataFrame([vars(c) for c in _CITIES]).drop(
        columns=["n_neighbourhoods", "markup_premium", "max_floors"]
    )
    log_index = _draw_log_index(rng_index, month_starts)
    props = _draw_properties(rng_props, n_properties)
    rows = _draw_appearances(rng_rows, n_properties, months, relist_share)
    frame, truth = _price_rows(rng_prices, props, rows, log_index, month_starts, sale_share)
    frame["description"] = _describe(rng_text, frame, truth["has_garage"].to_numpy())
    for col in _CLEAN_COLUMNS:
        truth[f"clean_{col}"] = frame[col].copy()
    for kind in FAULT_KINDS:
        truth[f"fault_{kind}"] = False
    truth["label_noise_factor"] = 1.0
    truth["duplicate_of"] = -1
    if faults:
        _inject_faults(rng_faults, frame, truth, rates)
        frame, truth = _append_duplicates(rng_faults, frame, truth, rates.duplicate)
    frame, truth = _sort_rows(frame, truth)
    truth["faulty"] = truth[[f"fault_{k}" for k in FAULT_KINDS]].any(axis=1)

    index = pd.DataFrame(
        {
            "city": np.repeat(cities["city"].to_numpy(dtype=object), months),
            "month": np.tile(month_starts.to_numpy(), len(_CITIES)),
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


def _draw_log_index(rng: np.random.Generator, month_starts: pd.DatetimeIndex) -> np.ndarray:
    """Log price index, shape (n_cities, months), 0 at the first month."""
    t = np.arange(len(month_starts)) / 12.0
    drift = np.log1p(np.array([c.annual_drift for c in _CITIES]))[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(len(_CITIES), 1))
    calendar = (month_starts.month.to_numpy() - 1) / 12.0 * 2 * np.pi
    seasonal = 0.008 * np.sin(calendar[None, :] + phase)
    wiggle = rng.normal(0.0, 0.003, size=(len(_CITIES), len(month_starts)))
    log_index = drift * t[None, :] + seasonal + wiggle
    return log_index - log_index[:, :1]


def _draw_properties(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Attributes and base-month log value of every property."""
    shares = np.array([c.share for c in _CITIES])
    city = rng.choice(len(_CITIES), size=n, p=shares / shares.sum())
    lat = np.empty(n)
    lon = np.empty(n)
    nb_name = np.empty(n, dtype=object)
    nb_premium = np.empty(n)
    for ci, spec in enumerate(_CITIES):
        members = np.flatnonzero(city == ci)
        k = spec.n_neighbourhoods
        angle = rng.uniform(0, 2 * np.pi, k)
        radius = spec.radius_km * 0.85 * np.sqrt(rng.uniform(0, 1, k))
        radius[0] = 0.0  # the historic centre
        centre_xy = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        premium = rng.normal(0.0, 0.12, k)
        premium[0] = abs(premium[0]) + 0.05
        which = rng.choice(k, size=len(members), p=rng.dirichlet(np.full(k, 3.0)))
        xy = centre_xy[which] + rng.normal(0.0, spec.radius_km * 0.12, (len(members), 2))
        lat[members] = spec.centre_lat + xy[:, 1] / 111.0
        lon[members] = spec.centre_lon + xy[:, 0] / (111.0 * np.cos(np.radians(spec.centre_lat)))
        names = np.array([f"{spec.city}-{j + 1:02d}" for j in range(k)], dtype=object)
        nb_name[members] = names[which]
        nb_premium[members] = premium[which]
    radius_km = np.array([c.radius_km for c in _CITIES])[city]
    dist = _distance_km(lat, lon, city) / radius_km

    u = rng.uniform(size=n)
    p_house = np.clip(0.03 + 0.22 * dist, 0.0, 0.35)
    ptype = np.where(u < p_house, 2, np.where(u < p_house + 0.06, 1, 0))
    area = np.exp(np.log(_TYPE_MEDIAN_AREA[ptype]) + rng.normal(0.0, 0.38, n))
    area = np.clip(np.round(area), 25.0, 250.0)
    rooms = np.clip(np.round(area / 24.0 + rng.normal(0.0, 0.7, n)), 1, 8)
    bathrooms = np.clip(np.round(area / 70.0 + rng.normal(0.0, 0.45, n)), 1, 4)
    year = _draw_year_built(rng, dist)
    condition = _draw_condition(rng, year)

    max_floors = np.array([c.max_floors for c in _CITIES])[city]
    floors = np.where(ptype == 2, rng.integers(1, 4, n), rng.integers(2, max_floors + 1))
    floor = np.where(ptype == 2, 0, np.floor(rng.uniform(size=n) * floors))
    floor = np.where(ptype == 1, floors - 1, floor)
    p_lift = np.where(
        floors >= 5, np.where(year >= 1960, 0.9, 0.55), np.where(year >= 1960, 0.35, 0.2)
    )
    elevator = (rng.uniform(size=n) < p_lift) & (ptype != 2)
    terrace = rng.uniform(size=n) < np.array([0.22, 0.9, 0.5])[ptype]
    garage = rng.uniform(size=n) < np.where(ptype == 2, 0.5, 0.15)

    floor_effect = np.where(
        floor == 0,
        np.where(ptype == 2, 0.0, -0.06),
        np.where(elevator, 0.012 * np.minimum(floor, 10), -0.025 * np.maximum(floor - 1, 0)),
    )
    decay = np.where(city == 0, 0.45, 0.35) * np.minimum(dist, 1.6)
    base = np.log(np.array([c.base_price_m2 for c in _CITIES])[city] * 80.0)
    quality = rng.normal(0.0, _QUALITY_SD, n)
    log_value = (
        base
        + 0.9 * np.log(area / 80.0)
        + nb_premium
        - decay
        + _TYPE_EFFECT[ptype]
        + np.interp(year, _YEAR_KNOTS, _YEAR_EFFECT)
        + _CONDITION_EFFECT[condition]
        + floor_effect
        + 0.05 * terrace
        + 0.04 * garage
        + 0.03 * (bathrooms - area / 70.0)
        + 0.01 * (rooms - area / 24.0)
        + quality
    )
    return {
        "city": city,
        "lat": lat,
        "lon": lon,
        "neighbourhood": nb_name,
        "ptype": ptype,
        "area": area,
        "rooms": rooms,
        "bathrooms": bathrooms,
        "floor": floor.astype(float),
        "floors": floors.astype(float),
        "year": year,
        "condition": condition,
        "elevator": elevator,
        "terrace": terrace,
        "garage": garage,
        "quality": quality,
        "log_value": log_value,
        "sale_noise": rng.normal(0.0, _SALE_NOISE_SD, n),
        "markup": _draw_markup(rng, city, ptype),
    }


def _distance_km(lat: np.ndarray, lon: np.ndarray, city: np.ndarray) -> np.ndarray:
    c_lat = np.array([c.centre_lat for c in _CITIES])[city]
    c_lon = np.array([c.centre_lon for c in _CITIES])[city]
    dy = (lat - c_lat) * 111.0
    dx = (lon - c_lon) * 111.0 * np.cos(np.radians(c_lat))
    return np.hypot(dx, dy)


def _draw_year_built(rng: np.random.Generator, dist: np.ndarray) -> np.ndarray:
    """Year built: historic near the centre, post-war boom, modern, new builds outside."""
    n = len(dist)
    p_hist = 0.08 + 0.45 * np.exp(-dist / 0.3)
    p_new = 0.06 + 0.06 * np.minimum(dist, 1.5)
    p_post = (1.0 - p_hist - p_new) * 0.6
    u = rng.uniform(size=n)
    years = np.select(
        [u < p_hist, u < p_hist + p_post, u < 1.0 - p_new],
        [rng.integers(1850, 1941, n), rng.integers(1946, 1986, n), rng.integers(1986, 2016, n)],
        default=rng.integers(2016, 2024, n),
    )
    return years.astype(float)


def _draw_condition(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    """Index into :data:`CONDITIONS`; new builds are mostly new, old ones often to renovate."""
    u = rng.uniform(size=len(year))
    p_todo = np.where(year < 1980, 0.38, 0.15)
    old = np.select([u < 0.25, u < 1.0 - p_todo], [1, 2], default=3)
    return np.where(year >= 2016, np.where(u < 0.85, 0, 2), old)


def _draw_markup(rng: np.random.Generator, city: np.ndarray, ptype: np.ndarray) -> np.ndarray:
    """Asking/sale ratio of the owner: about 1.03-1.12, varying by segment."""
    premium = np.array([c.markup_premium for c in _CITIES])[city]
    log_markup = 0.055 + _TYPE_MARKUP[ptype] + premium + rng.normal(0.0, 0.012, len(city))
    return np.exp(np.clip(log_markup, 0.025, 0.12))


def _draw_appearances(
    rng: np.random.Generator, n: int, months: int, relist_share: float
) -> dict[str, np.ndarray]:
    """One row per listing: property, month and appearance number (0 = first)."""
    relisted = (rng.uniform(size=n) < relist_share) & (months > 1)
    first = np.where(relisted, rng.integers(0, max(months - 1, 1), n), rng.integers(0, months, n))
    extra = np.where(relisted, rng.choice([1, 2, 3], size=n, p=[0.7, 0.25, 0.05]), 0)
    prop, month, appearance = [np.arange(n)], [first], [np.zeros(n, dtype=int)]
    current = first.copy()
    for k in range(1, 4):
        gaps = rng.integers(1, 6, n)
        current = current + gaps
        keep = (extra >= k) & (current < months)
        prop.append(np.flatnonzero(keep))
        month.append(current[keep])
        appearance.append(np.full(keep.sum(), k))
    return {
        "prop": np.concatenate(prop),
        "month": np.concatenate(month),
        "appearance": np.concatenate(appearance),
    }


def _price_rows(
    rng: np.random.Generator,
    props: dict[str, np.ndarray],
    rows: dict[str, np.ndarray],
    log_index: np.ndarray,
    month_starts: pd.DatetimeIndex,
    sale_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed clean frame and truth for every appearance row."""
    p, m, app = rows["prop"], rows["month"], rows["appearance"]
    n_rows = len(p)
    city = props["city"][p]
    true_value = np.exp(props["log_value"][p] + log_index[city, m])
    sale = true_value * np.exp(props["sale_noise"][p])
    cut_step = np.where(
        (app > 0) & (rng.uniform(size=n_rows) < 0.5), rng.uniform(0.93, 0.98, n_rows), 1.0
    )
    order = np.lexsort((app, p))
    cum_cut = np.empty(n_rows)
    cum_cut[order] = _cumprod_by_group(cut_step[order], p[order])
    markup = props["markup"][p] * cum_cut
    asking = sale * markup

    is_last = np.zeros(n_rows, dtype=bool)
    last_app = np.zeros(len(props["city"]), dtype=int)
    np.maximum.at(last_app, p, app)
    is_last[app == last_app[p]] = True
    n_sale = round(sale_share * n_rows)
    keys = np.log(np.where(is_last, 1.0, 0.15)) + rng.gumbel(size=n_rows)
    is_sale = np.zeros(n_rows, dtype=bool)
    is_sale[np.argsort(-keys, kind="stable")[:n_sale]] = True
    price = np.where(is_sale, np.round(sale, -2), np.round(asking, -3))

    days_in_month = month_starts.days_in_month.to_numpy()[m]
    day = np.floor(rng.uniform(size=n_rows) * days_in_month).astype("timedelta64[D]")
    date = month_starts.to_numpy()[m] + day

    def obj(values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=object)

    yes_no = np.array(["no", "yes"], dtype=object)
    frame = pd.DataFrame(
        {
            "id": obj([f"P{i:06d}" for i in p]),
            "price": price.astype(float),
            "price_kind": obj(np.where(is_sale, "sale", "asking")),
            "date": date.astype("datetime64[ns]"),
            "city": obj(np.array([c.city for c in _CITIES])[city]),
            "neighbourhood": obj(props["neighbourhood"][p]),
            "country": obj(np.array([c.country for c in _CITIES])[city]),
            "lat": np.round(props["lat"][p], 6),
            "lon": np.round(props["lon"][p], 6),
            "area_m2": props["area"][p],
            "rooms": props["rooms"][p],
            "bathrooms": props["bathrooms"][p],
            "floor": props["floor"][p],
            "year_built": props["year"][p],
            "property_type": obj(np.array(PROPERTY_TYPES)[props["ptype"][p]]),
            "condition": obj(np.array(CONDITIONS)[props["condition"][p]]),
            "description": np.full(n_rows, np.nan, dtype=object),
            "has_elevator": yes_no[props["elevator"][p].astype(int)],
            "floors_in_building": props["floors"][p],
            "has_terrace": yes_no[props["terrace"][p].astype(int)],
        }
    )
    for col in CATEGORY_FIELDS:
        frame[col] = frame[col].astype(object)
    for col in NUMERIC_FIELDS:
        frame[col] = frame[col].astype("float64")
    truth = pd.DataFrame(
        {
            "property_key": frame["id"],
            "month": month_starts.to_numpy()[m],
            "appearance": app,
            "relisting": app > 0,
            "true_value": true_value,
            "true_sale_price": sale,
            "true_asking_price": asking,
            "true_markup": markup,
            "price_cut": cum_cut < 1.0,
            "has_garage": props["garage"][p],
            "quality": props["quality"][p],
        }
    )
    return frame, truth


def _cumprod_by_group(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative product within consecutive runs of equal ``groups`` (sorted input)."""
    logs = np.cumsum(np.log(values))
    starts = np.r_[True, groups[1:] != groups[:-1]]
    offset = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    before = np.where(offset > 0, logs[offset - 1], 0.0)
    return np.exp(logs - before)


def _describe(rng: np.random.Generator, frame: pd.DataFrame, garage: np.ndarray) -> np.ndarray:
    """A short listing text for about half of the properties (same text on re-listings)."""
    adjectives = np.array(["Bright", "Spacious", "Charming", "Quiet", "Cosy", "Elegant"])
    phrases = {
        "new": "brand new",
        "renovated": "renovated",
        "good": "in good condition",
        "to_renovate": "to renovate",
    }
    key = frame["id"].str.slice(1).astype(int).to_numpy()
    n_keys = int(key.max()) + 1
    described = rng.uniform(size=n_keys) < 0.5
    adjective = adjectives[rng.integers(0, len(adjectives), n_keys)]
    texts = np.full(len(frame), np.nan, dtype=object)
    rows = zip(
        np.flatnonzero(described[key]),
        frame["rooms"].to_numpy()[described[key]],
        frame["property_type"].to_numpy()[described[key]],
        frame["neighbourhood"].to_numpy()[described[key]],
        frame["has_terrace"].to_numpy()[described[key]],
        frame["has_elevator"].to_numpy()[described[key]],
        garage[described[key]],
        frame["condition"].to_numpy()[described[key]],
        strict=True,
    )
    for i, rooms, ptype, nb, terrace, lift, has_garage, condition in rows:
        options = (
            ("terrace", terrace == "yes"),
            ("garage", has_garage),
            ("elevator", lift == "yes"),
        )
        extras = [word for word, on in options if on]
        text = f"{adjective[key[i]]} {int(rooms)}-room {ptype} in {nb}"
        if extras:
            text += " with " + (", ".join(extras[:-1]) + " and " if len(extras) > 1 else "")
            text += extras[-1]
        texts[i] = f"{text}, {phrases[condition]}."
    return texts


def _inject_faults(
    rng: np.random.Generator, frame: pd.DataFrame, truth: pd.DataFrame, rates: FaultRates
) -> None:
    """Overwrite observed values in place and set the ``fault_<kind>`` flags."""
    n = len(frame)
    flags: dict[str, np.ndarray] = {}

    flags["missing_random"] = rng.uniform(size=n) < rates.missing_random
    k = len(_MISSING_RANDOM_COLUMNS)
    first = rng.integers(0, k, n)
    second = np.where(rng.uniform(size=n) < 0.3, rng.integers(0, k, n), -1)
    for j, col in enumerate(_MISSING_RANDOM_COLUMNS):
        hit = flags["missing_random"] & ((first == j) | (second == j))
        frame.loc[hit, col] = np.nan

    year = frame["year_built"].to_numpy()
    weight = np.select([year < 1950, year < 1986], [3.0, 1.5], default=0.4)
    weight = weight * np.where(frame["condition"].to_numpy() == "to_renovate", 1.6, 1.0)
    p_dep = np.clip(rates.missing_dependent * weight / weight.mean(), 0.0, 0.9)
    flags["missing_dependent"] = rng.uniform(size=n) < p_dep
    frame.loc[flags["missing_dependent"], "year_built"] = np.nan
    also_condition = flags["missing_dependent"] & (rng.uniform(size=n) < 0.3)
    frame.loc[also_condition, "condition"] = np.nan

    u = rng.uniform(size=n)
    edges = np.cumsum([rates.swapped_coords, rates.centroid_coords, rates.zero_coords])
    flags["swapped_coords"] = u < edges[0]
    flags["centroid_coords"] = (u >= edges[0]) & (u < edges[1])
    flags["zero_coords"] = (u >= edges[1]) & (u < edges[2])
    lat, lon = frame["lat"].to_numpy().copy(), frame["lon"].to_numpy().copy()
    swapped = flags["swapped_coords"]
    lat[swapped], lon[swapped] = frame["lon"].to_numpy()[swapped], frame["lat"].to_numpy()[swapped]
    centres = pd.DataFrame([vars(c) for c in _CITIES]).set_index("city")
    centroid = flags["centroid_coords"]
    lat[centroid] = centres.loc[frame["city"][centroid], "centre_lat"].to_numpy()
    lon[centroid] = centres.loc[frame["city"][centroid], "centre_lon"].to_numpy()
    lat[flags["zero_coords"]] = 0.0
    lon[flags["zero_coords"]] = 0.0
    frame["lat"], frame["lon"] = lat, lon

    flags["area_x10"] = (rng.uniform(size=n) < rates.area_x10) & frame["area_m2"].notna().to_numpy()
    frame.loc[flags["area_x10"], "area_m2"] *= 10.0
    flags["year_zero"] = (rng.uniform(size=n) < rates.year_zero) & frame["year_built"].notna()
    frame.loc[flags["year_zero"], "year_built"] = 0.0

    flags["label_noise"] = rng.uniform(size=n) < rates.label_noise
    factor = rng.choice(_LABEL_NOISE_FACTORS, size=n, p=_LABEL_NOISE_PROBS)
    factor = np.where(flags["label_noise"], factor, 1.0)
    frame["price"] = frame["price"].to_numpy() * factor
    truth["label_noise_factor"] = factor

    for kind, mask in flags.items():
        truth[f"fault_{kind}"] = np.asarray(mask, dtype=bool)


def _append_duplicates(
    rng: np.random.Generator, frame: pd.DataFrame, truth: pd.DataFrame, rate: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Append exact copies of a random ``rate`` share of rows; the copies are flagged."""
    originals = np.flatnonzero(rng.uniform(size=len(frame)) < rate)
    copies = frame.iloc[originals]
    copy_truth = truth.iloc[originals].copy()
    copy_truth["fault_duplicate"] = True
    copy_truth["duplicate_of"] = originals
    frame = pd.concat([frame, copies], ignore_index=True)
    truth = pd.concat([truth, copy_truth], ignore_index=True)
    return frame, truth


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
