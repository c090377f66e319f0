"""The price model of the synthetic market: hedonic values, the city index, sale and markup.

These are the terms of the generative model of :mod:`estimo.synth`: a property's log value
at the first month (a hedonic sum over its attributes plus an unobserved quality), the true
monthly price index of each city, the noise of the sale price around the true value and the
owner's markup of the asking price over the sale price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from estimo.synth.cities import CITIES

__all__ = ["QUALITY_SD", "SALE_NOISE_SD", "draw_log_index", "draw_value_terms"]

# Effects indexed by the codes of estimo.synth.properties.CONDITIONS and PROPERTY_TYPES.
_CONDITION_EFFECT = np.array([0.10, 0.06, 0.0, -0.18])
_TYPE_EFFECT = np.array([0.0, 0.12, -0.04])
_TYPE_MARKUP = np.array([0.0, 0.015, 0.03])
# Year built -> log-price effect: historic premium, 1960-80s discount, new-build premium.
_YEAR_KNOTS = np.array([1850, 1935, 1955, 1965, 1985, 2000, 2012, 2024], dtype=float)
_YEAR_EFFECT = np.array([0.10, 0.06, -0.02, -0.09, -0.07, 0.0, 0.04, 0.14])
QUALITY_SD = 0.07
"""Standard deviation of the unobserved quality term of the log value."""
SALE_NOISE_SD = 0.05
"""Standard deviation of the log sale price around the true value (per property)."""


def draw_log_index(rng: np.random.Generator, month_starts: pd.DatetimeIndex) -> np.ndarray:
    """Log price index, shape (n_cities, months), 0 at the first month.

    Each city drifts at its ``annual_drift`` with a small seasonal cycle (random phase) and
    monthly noise.
    """
    t = np.arange(len(month_starts)) / 12.0
    drift = np.log1p(np.array([c.annual_drift for c in CITIES]))[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(len(CITIES), 1))
    calendar = (month_starts.month.to_numpy() - 1) / 12.0 * 2 * np.pi
    seasonal = 0.008 * np.sin(calendar[None, :] + phase)
    wiggle = rng.normal(0.0, 0.003, size=(len(CITIES), len(month_starts)))
    log_index = drift * t[None, :] + seasonal + wiggle
    return log_index - log_index[:, :1]


def draw_value_terms(
    rng: np.random.Generator,
    props: dict[str, np.ndarray],
    distance: np.ndarray,
    neighbourhood_premium: np.ndarray,
) -> dict[str, np.ndarray]:
    """Quality, base-month log value, sale noise and markup of every property.

    Parameters
    ----------
    rng : numpy.random.Generator
        The properties' stream; drawn in this order: quality, sale noise, markup.
    props : dict of numpy.ndarray
        The attributes drawn by :func:`estimo.synth.properties.draw_properties`.
    distance : numpy.ndarray
        Distance to the city centre over the city's radius.
    neighbourhood_premium : numpy.ndarray
        Log premium of each property's neighbourhood.

    Returns
    -------
    dict of numpy.ndarray
        ``quality``, ``log_value``, ``sale_noise`` and ``markup``.
    """
    city, ptype, floor = props["city"], props["ptype"], props["floor"]
    area, rooms, bathrooms = props["area"], props["rooms"], props["bathrooms"]
    n = len(city)
    floor_effect = np.where(
        floor == 0,
        np.where(ptype == 2, 0.0, -0.06),
        np.where(
            props["elevator"], 0.012 * np.minimum(floor, 10), -0.025 * np.maximum(floor - 1, 0)
        ),
    )
    decay = np.where(city == 0, 0.45, 0.35) * np.minimum(distance, 1.6)
    base = np.log(np.array([c.base_price_m2 for c in CITIES])[city] * 80.0)
    quality = rng.normal(0.0, QUALITY_SD, n)
    log_value = (
        base
        + 0.9 * np.log(area / 80.0)
        + neighbourhood_premium
        - decay
        + _TYPE_EFFECT[ptype]
        + np.interp(props["year"], _YEAR_KNOTS, _YEAR_EFFECT)
        + _CONDITION_EFFECT[props["condition"]]
        + floor_effect
        + 0.05 * props["terrace"]
        + 0.04 * props["garage"]
        + 0.03 * (bathrooms - area / 70.0)
        + 0.01 * (rooms - area / 24.0)
        + quality
    )
    return {
        "quality": quality,
        "log_value": log_value,
        "sale_noise": rng.normal(0.0, SALE_NOISE_SD, n),
        "markup": _draw_markup(rng, city, ptype),
    }


def _draw_markup(rng: np.random.Generator, city: np.ndarray, ptype: np.ndarray) -> np.ndarray:
    """Asking/sale ratio of the owner: about 1.03-1.12, varying by segment."""
    premium = np.array([c.markup_premium for c in CITIES])[city]
    log_markup = 0.055 + _TYPE_MARKUP[ptype] + premium + rng.normal(0.0, 0.012, len(city))
    return np.exp(np.clip(log_markup, 0.025, 0.12))
