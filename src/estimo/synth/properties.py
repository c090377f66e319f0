"""The housing stock of the synthetic market: where each property is and what it is like.

Every property is drawn once: its city, a location in one of the city's neighbourhood
clusters, its type, area, rooms, bathrooms, year built, condition, floor, building height,
elevator, terrace and garage; then its value terms from :mod:`estimo.synth.prices`.
Re-listings of a property repeat these attributes.
"""

from __future__ import annotations

import numpy as np

from estimo.synth.cities import CITIES, distance_km
from estimo.synth.prices import draw_value_terms

__all__ = ["CONDITIONS", "PROPERTY_TYPES", "draw_properties"]

CONDITIONS: tuple[str, ...] = ("new", "renovated", "good", "to_renovate")
"""Values of ``condition``; the generator codes them by position."""
PROPERTY_TYPES: tuple[str, ...] = ("flat", "penthouse", "house")
"""Values of ``property_type``; the generator codes them by position."""

_TYPE_MEDIAN_AREA = np.array([75.0, 115.0, 140.0])


def draw_properties(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Attributes and base-month log value of every property.

    Parameters
    ----------
    rng : numpy.random.Generator
        The properties' stream (every draw of this function, in a fixed order).
    n : int
        Number of properties.

    Returns
    -------
    dict of numpy.ndarray
        One array of length ``n`` per attribute: ``city`` (code into
        :data:`~estimo.synth.cities.CITIES`), ``lat``, ``lon``, ``neighbourhood``, ``ptype``
        (code into :data:`PROPERTY_TYPES`), ``area``, ``rooms``, ``bathrooms``, ``floor``,
        ``floors``, ``year``, ``condition`` (code into :data:`CONDITIONS`), ``elevator``,
        ``terrace``, ``garage``, then ``quality``, ``log_value``, ``sale_noise`` and
        ``markup`` (see :func:`~estimo.synth.prices.draw_value_terms`).
    """
    shares = np.array([c.share for c in CITIES])
    city = rng.choice(len(CITIES), size=n, p=shares / shares.sum())
    lat, lon, nb_name, nb_premium = _draw_locations(rng, city)
    radius_km = np.array([c.radius_km for c in CITIES])[city]
    dist = distance_km(lat, lon, city) / radius_km

    u = rng.uniform(size=n)
    p_house = np.clip(0.03 + 0.22 * dist, 0.0, 0.35)
    ptype = np.where(u < p_house, 2, np.where(u < p_house + 0.06, 1, 0))
    area = np.exp(np.log(_TYPE_MEDIAN_AREA[ptype]) + rng.normal(0.0, 0.38, n))
    area = np.clip(np.round(area), 25.0, 250.0)
    rooms = np.clip(np.round(area / 24.0 + rng.normal(0.0, 0.7, n)), 1, 8)
    bathrooms = np.clip(np.round(area / 70.0 + rng.normal(0.0, 0.45, n)), 1, 4)
    year = _draw_year_built(rng, dist)
    condition = _draw_condition(rng, year)

    max_floors = np.array([c.max_floors for c in CITIES])[city]
    floors = np.where(ptype == 2, rng.integers(1, 4, n), rng.integers(2, max_floors + 1))
    floor = np.where(ptype == 2, 0, np.floor(rng.uniform(size=n) * floors))
    floor = np.where(ptype == 1, floors - 1, floor)
    p_lift = np.where(
        floors >= 5, np.where(year >= 1960, 0.9, 0.55), np.where(year >= 1960, 0.35, 0.2)
    )
    elevator = (rng.uniform(size=n) < p_lift) & (ptype != 2)
    terrace = rng.uniform(size=n) < np.array([0.22, 0.9, 0.5])[ptype]
    garage = rng.uniform(size=n) < np.where(ptype == 2, 0.5, 0.15)

    props = {
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
    }
    props.update(draw_value_terms(rng, props, dist, nb_premium))
    return props


def _draw_locations(
    rng: np.random.Generator, city: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude, neighbourhood name and premium of properties in their cities.

    Each city has ``n_neighbourhoods`` clusters (the first at the historic centre, with a
    positive premium); a property belongs to one and lies scattered around its centre.
    """
    n = len(city)
    lat = np.empty(n)
    lon = np.empty(n)
    nb_name = np.empty(n, dtype=object)
    nb_premium = np.empty(n)
    for ci, spec in enumerate(CITIES):
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
    return lat, lon, nb_name, nb_premium


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
