"""The cities of the synthetic market: where they are, their price level, drift and habits.

Six cities in two countries; each has a centre and radius, a share of the properties, a
number of neighbourhoods, a base price per m2, an annual drift of its price index, a premium
on owners' asking prices and a tallest building height.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CITIES", "City", "city_table", "distance_km"]


@dataclass(frozen=True)
class City:
    """One city of the synthetic market.

    Attributes
    ----------
    city, country, currency : str
        Names and currency code.
    base_price_m2 : float
        Price per m2 of an 80 m2 reference property at the first month.
    annual_drift : float
        Yearly growth of the true price index (0.08 is +8 % a year).
    centre_lat, centre_lon : float
        The city centre, in degrees.
    radius_km : float
        Radius of the built-up area.
    share : float
        Relative share of the properties (the shares are normalised).
    n_neighbourhoods : int
        Number of neighbourhood clusters; the first is the historic centre.
    markup_premium : float
        Extra log markup of asking over sale prices in this city.
    max_floors : int
        Most floors of a building of flats.
    """

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


CITIES: tuple[City, ...] = (
    City("Milano", "Italy", "EUR", 5000.0, 0.08, 45.4642, 9.1900, 9.0, 0.28, 12, 0.0, 12),
    City("Roma", "Italy", "EUR", 3700.0, 0.03, 41.9028, 12.4964, 12.0, 0.26, 14, 0.02, 9),
    City("Torino", "Italy", "EUR", 2200.0, 0.0, 45.0703, 7.6869, 7.0, 0.16, 9, 0.0, 9),
    City("Bologna", "Italy", "EUR", 3600.0, 0.05, 44.4949, 11.3426, 5.0, 0.04, 5, 0.01, 7),
    City("Madrid", "Spain", "EUR", 4300.0, 0.06, 40.4168, -3.7038, 11.0, 0.16, 12, 0.0, 12),
    City("Valencia", "Spain", "EUR", 2100.0, -0.03, 39.4699, -0.3763, 7.0, 0.10, 8, 0.03, 10),
)
"""The cities, in the order of the city codes used by the generator (0 is Milano)."""


def city_table() -> pd.DataFrame:
    """One row per city: the fields of :class:`City` a user of the market sees.

    Returns
    -------
    pandas.DataFrame
        ``city``, ``country``, ``currency``, ``base_price_m2``, ``annual_drift``,
        ``centre_lat``, ``centre_lon``, ``radius_km`` and ``share``.

    Examples
    --------
    >>> city_table()["city"].tolist()[:2]
    ['Milano', 'Roma']
    """
    return pd.DataFrame([vars(c) for c in CITIES]).drop(
        columns=["n_neighbourhoods", "markup_premium", "max_floors"]
    )


def distance_km(lat: np.ndarray, lon: np.ndarray, city: np.ndarray) -> np.ndarray:
    """Distance in km of each point to the centre of its city (equirectangular).

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Coordinates in degrees.
    city : numpy.ndarray
        City code of each point (index into :data:`CITIES`).

    Returns
    -------
    numpy.ndarray
    """
    c_lat = np.array([c.centre_lat for c in CITIES])[city]
    c_lon = np.array([c.centre_lon for c in CITIES])[city]
    dy = (lat - c_lat) * 111.0
    dx = (lon - c_lon) * 111.0 * np.cos(np.radians(c_lat))
    return np.hypot(dx, dy)
