"""Where the served model's homes are: the comparables' coordinates and each city's points.

Both come from the bundle's comparables reference (the training rows kept to find
comparables) and stay on the server: :func:`with_coordinates` gives the full answer's
comparables their coordinates so that the public tier can derive a coarse bearing from
them (:func:`estimo.serve.guard.tiers.coarse_bearing`), and :func:`city_points` gives the
"where" step's pin map a small sample of each city's known locations, rounded to three
decimals (about 100 m), never a training row's exact place.

Examples
--------
>>> import pandas as pd
>>> reference = pd.DataFrame({"id": ["a", "b"], "city": ["Roma", "Roma"],
...                           "lat": [41.90012, 41.9], "lon": [12.5, 12.49987]})
>>> places = Places.from_reference(reference, per_city=10)
>>> places.cities["Roma"]
((41.9, 12.5),)
>>> with_coordinates({"comparables": [{"id": "b"}]}, places)["comparables"][0]["lat"]
41.9
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from estimo.serve.page.form import reference_of

__all__ = ["Places", "places_of", "with_coordinates"]

POINTS_PER_CITY = 200
"""At most this many locations per city on the pin map (sampled evenly)."""


@dataclass(frozen=True)
class Places:
    """The reference's coordinates by comparable id, and a sample per city.

    Attributes
    ----------
    by_id : dict
        ``id -> (lat, lon)`` of every reference row with coordinates.
    cities : dict
        ``city -> ((lat, lon), ...)``: distinct locations rounded to 3 decimals, at most
        :data:`POINTS_PER_CITY` of them, sampled evenly in a fixed order.
    """

    by_id: dict[str, tuple[float, float]] = field(default_factory=dict)
    cities: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)

    @classmethod
    def from_reference(cls, reference: Any, per_city: int = POINTS_PER_CITY) -> Places:
        """From a reference frame with ``lat``, ``lon`` and optionally ``id``, ``city``."""
        if reference is None or not {"lat", "lon"} <= set(reference.columns):
            return cls()
        rows = reference.dropna(subset=["lat", "lon"])
        by_id: dict[str, tuple[float, float]] = {}
        if "id" in rows:
            for key, lat, lon in zip(rows["id"], rows["lat"], rows["lon"], strict=True):
                if key is not None:
                    by_id[str(key)] = (float(lat), float(lon))
        cities: dict[str, tuple[tuple[float, float], ...]] = {}
        if "city" in rows:
            for city, group in rows.groupby(rows["city"].astype(str)):
                points = sorted(
                    {
                        (round(float(a), 3), round(float(b), 3))
                        for a, b in zip(group["lat"], group["lon"], strict=True)
                    }
                )
                stride = max(1, -(-len(points) // per_city))
                cities[str(city)] = tuple(points[::stride])
        return cls(by_id, cities)


_CACHE: weakref.WeakKeyDictionary[Any, Places] = weakref.WeakKeyDictionary()


def places_of(valuer: Any) -> Places:
    """The :class:`Places` of a served bundle (computed once per bundle; empty without a
    comparables reference)."""
    try:
        cached = _CACHE.get(valuer)
    except TypeError:  # cannot be weakly referenced: computed every time
        return Places.from_reference(reference_of(valuer))
    if cached is None:
        cached = Places.from_reference(reference_of(valuer))
        _CACHE[valuer] = cached
    return cached


def with_coordinates(answer: Mapping[str, Any], places: Places) -> dict[str, Any]:
    """A copy of the full answer whose comparables carry their ``lat``/``lon`` (by id)."""
    out = dict(answer)
    comps = []
    for comp in answer.get("comparables") or []:
        where = places.by_id.get(str(comp.get("id"))) if isinstance(comp, dict) else None
        comps.append({**comp, "lat": where[0], "lon": where[1]} if where else comp)
    if "comparables" in answer:
        out["comparables"] = comps
    return out
