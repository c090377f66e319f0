"""The listing and sale process of the synthetic market: one row per appearance of a property.

A property appears in a random month; about a quarter are listed again in later months, often
at a cut price. Each appearance is priced from the true value and the city index; a share of
the rows, mostly last appearances, record the sale price instead of the asking price. Rows
get a day in their month and about half of the properties a short listing text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.schema import CATEGORY_FIELDS, NUMERIC_FIELDS
from estimo.synth.cities import CITIES
from estimo.synth.properties import CONDITIONS, PROPERTY_TYPES

__all__ = ["describe_listings", "draw_appearances", "price_rows"]


def draw_appearances(
    rng: np.random.Generator, n: int, months: int, relist_share: float
) -> dict[str, np.ndarray]:
    """One row per listing: property, month and appearance number (0 = first).

    Parameters
    ----------
    rng : numpy.random.Generator
        The rows' stream.
    n : int
        Number of properties.
    months : int
        Number of months of the market.
    relist_share : float
        Share of properties listed again (1 to 3 times, 1 to 5 months apart).

    Returns
    -------
    dict of numpy.ndarray
        ``prop`` (property number), ``month`` (month number) and ``appearance``.
    """
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


def price_rows(
    rng: np.random.Generator,
    props: dict[str, np.ndarray],
    rows: dict[str, np.ndarray],
    log_index: np.ndarray,
    month_starts: pd.DatetimeIndex,
    sale_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Observed clean frame and truth for every appearance row.

    Parameters
    ----------
    rng : numpy.random.Generator
        The prices' stream: price cuts, which rows are sales, days of the month.
    props : dict of numpy.ndarray
        The properties, from :func:`~estimo.synth.properties.draw_properties`.
    rows : dict of numpy.ndarray
        The appearances, from :func:`draw_appearances`.
    log_index : numpy.ndarray
        Log price index, shape (n_cities, months).
    month_starts : pandas.DatetimeIndex
        First day of each month.
    sale_share : float
        Share of rows whose ``price`` is the sale price.

    Returns
    -------
    frame, truth : pandas.DataFrame
        The observed rows (canonical and extra columns, ``description`` still empty) and
        their truth (``property_key`` to ``quality``), in appearance order.
    """
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
            "city": obj(np.array([c.city for c in CITIES])[city]),
            "neighbourhood": obj(props["neighbourhood"][p]),
            "country": obj(np.array([c.country for c in CITIES])[city]),
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


def describe_listings(
    rng: np.random.Generator, frame: pd.DataFrame, garage: np.ndarray
) -> np.ndarray:
    """A short listing text for about half of the properties (same text on re-listings).

    The text names the rooms, type, neighbourhood, terrace, elevator, condition and the
    garage, which is in no other column.

    Parameters
    ----------
    rng : numpy.random.Generator
        The texts' stream.
    frame : pandas.DataFrame
        The observed rows of :func:`price_rows`.
    garage : numpy.ndarray
        Whether each row's property has a garage.

    Returns
    -------
    numpy.ndarray
        One text per row, NaN for undescribed properties (object dtype).
    """
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
