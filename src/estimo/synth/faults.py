"""Injected data faults of the synthetic market: their rates, their injection and their truth.

:class:`FaultRates` holds the per-row probability of each fault kind (:data:`FAULT_KINDS`).
The generator first records the clean values in ``truth`` (:func:`add_fault_truth`), then
overwrites observed values in place (:func:`inject_faults`) and appends exact copies of some
rows (:func:`append_duplicates`), flagging every faulty row in ``truth``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from estimo.synth.cities import CITIES

__all__ = [
    "CLEAN_COLUMNS",
    "FAULT_KINDS",
    "FaultRates",
    "add_fault_truth",
    "append_duplicates",
    "inject_faults",
]

CLEAN_COLUMNS: tuple[str, ...] = (
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
"""Columns whose values before any fault ``truth`` keeps as ``clean_<column>``."""

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
_LABEL_NOISE_FACTORS = np.array([0.5, 2.0, 10.0, 0.1])
_LABEL_NOISE_PROBS = np.array([0.3, 0.3, 0.25, 0.15])


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


def add_fault_truth(frame: pd.DataFrame, truth: pd.DataFrame) -> None:
    """Add the fault columns of ``truth``, in place, as for a market without faults.

    ``clean_<column>`` copies of :data:`CLEAN_COLUMNS`, ``fault_<kind>`` all False,
    ``label_noise_factor`` 1.0 and ``duplicate_of`` -1.
    """
    for col in CLEAN_COLUMNS:
        truth[f"clean_{col}"] = frame[col].copy()
    for kind in FAULT_KINDS:
        truth[f"fault_{kind}"] = False
    truth["label_noise_factor"] = 1.0
    truth["duplicate_of"] = -1


def inject_faults(
    rng: np.random.Generator, frame: pd.DataFrame, truth: pd.DataFrame, rates: FaultRates
) -> None:
    """Overwrite observed values in place and set the ``fault_<kind>`` flags.

    Every kind but ``duplicate`` (see :func:`append_duplicates`); ``truth`` also gets the
    ``label_noise_factor`` of each row.
    """
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
    centres = pd.DataFrame([vars(c) for c in CITIES]).set_index("city")
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


def append_duplicates(
    rng: np.random.Generator, frame: pd.DataFrame, truth: pd.DataFrame, rate: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Append exact copies of a random ``rate`` share of rows; the copies are flagged.

    Returns
    -------
    frame, truth : pandas.DataFrame
        New tables, the copies last; ``duplicate_of`` of a copy is its original's position.
    """
    originals = np.flatnonzero(rng.uniform(size=len(frame)) < rate)
    copies = frame.iloc[originals]
    copy_truth = truth.iloc[originals].copy()
    copy_truth["fault_duplicate"] = True
    copy_truth["duplicate_of"] = originals
    frame = pd.concat([frame, copies], ignore_index=True)
    truth = pd.concat([truth, copy_truth], ignore_index=True)
    return frame, truth
