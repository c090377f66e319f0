"""Location: coordinates outside the city's robust region, swapped, (0, 0), stacked, or
closer to another city.

The regions are learned from the data (:func:`learn_regions`): per city, the median of
latitude and longitude and a MAD-based spread in km. :func:`locate` applies learned regions
to any frame, so the cleaning policy can learn them on training rows only.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from estimo.config import LocationRules
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({"id": [str(i) for i in range(200)], "city": "Milano",
...     "lat": 45.46 + rng.normal(0, 0.02, 200), "lon": 9.19 + rng.normal(0, 0.03, 200)})
>>> frame.loc[0, ["lat", "lon"]] = [9.19, 45.46]
>>> regions = learn_regions(frame, LocationRules())
>>> int(locate(frame, regions, LocationRules())["swapped"].sum())
1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estimo.config import LocationRules
from estimo.frames import column_values
from estimo.quality._frame import KM_PER_DEGREE, MAD_TO_SD, distance_km, float_column
from estimo.quality.findings import AuditContext

_FEW_CITIES = 256  # up to this many rows, a dict look-up per row beats pandas' indexer
KINDS = ("zero", "swapped", "swap_ambiguous", "other_city", "outside_region", "stacked")
_MESSAGES = {
    "zero": ("error", "coordinates are (0, 0), a geocoding failure", "set to missing"),
    "swapped": (
        "error",
        "latitude and longitude are swapped (the swapped point lies in the city)",
        "swapped back",
    ),
    "swap_ambiguous": (
        "error",
        "latitude and longitude are the other way round from the rest of their city on too "
        "many rows (over location.max_swapped_share): the data cannot tell which way is "
        "right, the majority may be the swapped one; none were swapped back. Fix the "
        "coordinates at the source (or the lat/lon mapping)",
        "not repaired",
    ),
    "other_city": (
        "error",
        "coordinates lie outside their city's region and closer to another city's centre",
        "set to missing",
    ),
    "outside_region": (
        "error",
        "coordinates lie outside their city's robust region (median +/- k MAD)",
        "set to missing",
    ),
    "stacked": (
        "warning",
        "many different properties share this exact point (a geocoder's fallback centroid)",
        "set to missing",
    ),
}


def valid_coordinates(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Finite, on the globe and not (0, 0)."""
    return (
        np.isfinite(lat)
        & np.isfinite(lon)
        & (np.abs(lat) <= 90)
        & (np.abs(lon) <= 180)
        & ~((lat == 0) & (lon == 0))
    )


def learn_regions(frame: pd.DataFrame, rules: LocationRules) -> pd.DataFrame:
    """Robust region of every city: centre, spread (km), half-width and stacked points.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame with ``city``, ``lat``, ``lon`` (and ``id``).
    rules : LocationRules

    Returns
    -------
    pandas.DataFrame
        Indexed by city: ``n``, ``lat``, ``lon``, ``sd_lat_km``, ``sd_lon_km``,
        ``half_lat_km``, ``half_lon_km``. Cities without valid coordinates are absent.
        ``attrs["stacked"]`` lists the stacked points as (city, lat, lon) tuples.
    """
    lat = frame["lat"].to_numpy(float)
    lon = frame["lon"].to_numpy(float)
    ok = valid_coordinates(lat, lon) & frame["city"].notna().to_numpy()
    data = pd.DataFrame({"city": frame["city"].to_numpy()[ok], "lat": lat[ok], "lon": lon[ok]})
    data["id"] = frame["id"].astype(str).to_numpy()[ok] if "id" in frame else np.arange(len(data))
    if data.empty:
        empty = pd.DataFrame(
            columns=[
                "n",
                "lat",
                "lon",
                "sd_lat_km",
                "sd_lon_km",
                "half_lat_km",
                "half_lon_km",
                "swap_ambiguous",
            ],
            index=pd.Index([], dtype=object, name="city"),
        )
        empty.attrs["stacked"] = []
        return empty
    grouped = data.groupby("city", sort=True)
    centre = grouped[["lat", "lon"]].median()
    dev = (data[["lat", "lon"]] - centre.reindex(data["city"]).to_numpy()).abs()
    mad = dev.groupby(data["city"]).median() * MAD_TO_SD
    regions = pd.DataFrame({"n": grouped.size(), "lat": centre["lat"], "lon": centre["lon"]})
    regions["sd_lat_km"] = mad["lat"] * KM_PER_DEGREE
    regions["sd_lon_km"] = mad["lon"] * KM_PER_DEGREE * np.cos(np.radians(regions["lat"]))
    floor = rules.min_region_km
    regions["half_lat_km"] = np.maximum(rules.region_mads * regions["sd_lat_km"], floor)
    regions["half_lon_km"] = np.maximum(rules.region_mads * regions["sd_lon_km"], floor)
    regions["swap_ambiguous"] = _swapped_share(data, regions) > rules.max_swapped_share
    regions.attrs["stacked"] = _stacked_points(data, rules)
    return regions


def _swapped_share(data: pd.DataFrame, regions: pd.DataFrame) -> pd.Series:
    """Per city, the share of its points outside its region that fall inside it once
    latitude and longitude are swapped: a few are typos to swap back; many mean the
    orientation of the majority itself is in doubt."""
    at = pd.Index(regions.index).get_indexer(data["city"])
    lat, lon = data["lat"].to_numpy(float), data["lon"].to_numpy(float)
    table = RegionIndex.of(regions)
    swapped = ~_inside(lat, lon, table, at) & _inside(lon, lat, table, at)
    return pd.Series(swapped, index=data.index).groupby(data["city"]).mean()


def _stacked_points(data: pd.DataFrame, rules: LocationRules) -> list[tuple[str, float, float]]:
    ids_per_city = data.groupby("city")["id"].nunique()
    per_point = data.groupby(["city", "lat", "lon"], sort=False)["id"].nunique()
    if per_point.empty:
        return []
    city_ids = ids_per_city.reindex(per_point.index.get_level_values("city")).to_numpy()
    stacked = (per_point.to_numpy() >= rules.stacked_min_ids) & (
        per_point.to_numpy() >= rules.stacked_min_share * city_ids
    )
    return [(str(c), float(a), float(o)) for c, a, o in per_point.index[stacked]]


@dataclass(frozen=True, eq=False)
class RegionIndex:
    """What :func:`locate` reads of a region table (:func:`learn_regions`), read once: its
    columns as arrays, each city's row and the stacked points.

    A table's columns read as Series cost more than locating one property (and each such
    read deep-copies the table's ``attrs``); a fitted cleaning policy keeps this for its
    table. Build it with :meth:`of`; it reflects the table as it was then.

    Examples
    --------
    >>> regions = pd.DataFrame({"lat": [45.46], "lon": [9.19], "half_lat_km": [20.0],
    ...                         "half_lon_km": [20.0]}, index=pd.Index(["Milano"]))
    >>> RegionIndex.of(regions).positions(np.array(["Milano", "Roma", None])).tolist()
    [0, -1, -1]
    """

    regions: pd.DataFrame
    names: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    half_lat_km: np.ndarray
    half_lon_km: np.ndarray
    ambiguous: np.ndarray | None
    stacked: frozenset[Any]
    row_of: dict[str, int] | None

    @classmethod
    def of(cls, regions: pd.DataFrame | RegionIndex) -> RegionIndex:
        """The index of a region table (an index as it is)."""
        if isinstance(regions, RegionIndex):
            return regions
        ambiguous = None  # regions saved before the column: never ambiguous
        if "swap_ambiguous" in regions:
            ambiguous = regions["swap_ambiguous"].fillna(False).to_numpy(bool)
        return cls(
            regions=regions,
            names=regions.index.to_numpy(),
            lat=column_values(regions, "lat"),
            lon=column_values(regions, "lon"),
            half_lat_km=column_values(regions, "half_lat_km"),
            half_lon_km=column_values(regions, "half_lon_km"),
            ambiguous=ambiguous,
            stacked=frozenset(regions.attrs.get("stacked", [])),
            row_of=_rows_by_name(regions.index),
        )

    def positions(self, cities: np.ndarray) -> np.ndarray:
        """Each city's row in the table (-1 for a city without a region), as
        ``regions.index.get_indexer(cities)``: by a dict look-up for a few cities that are
        text (or None) in a table of text names, by pandas otherwise."""
        if (
            self.row_of is not None
            and len(cities) <= _FEW_CITIES
            and all(c is None or type(c) is str for c in cities)
        ):
            row_of = self.row_of
            return np.array([row_of.get(c, -1) for c in cities], dtype=np.intp)
        return pd.Index(self.regions.index).get_indexer(cities)


def _rows_by_name(names: pd.Index) -> dict[str, int] | None:
    """City name -> row, when every name is a distinct ``str`` (None otherwise: pandas
    looks the cities up)."""
    values = names.tolist()
    if not names.is_unique or not all(type(v) is str for v in values):
        return None
    return {name: row for row, name in enumerate(values)}


def inside(
    lat: np.ndarray, lon: np.ndarray, regions: pd.DataFrame, cities: np.ndarray
) -> np.ndarray:
    """Whether each point lies within its city's region (False for unknown cities)."""
    table = RegionIndex.of(regions)
    return _inside(lat, lon, table, table.positions(cities))


def _inside(lat: np.ndarray, lon: np.ndarray, table: RegionIndex, known: np.ndarray) -> np.ndarray:
    """:func:`inside` with each point's region position given (-1: none)."""
    ok = known >= 0
    result = np.zeros(len(lat), dtype=bool)
    if not ok.any():
        return result
    at = known[ok]
    centre_lat = table.lat[at]
    dlat = np.abs(lat[ok] - centre_lat) * KM_PER_DEGREE
    dlon = np.abs(lon[ok] - table.lon[at]) * KM_PER_DEGREE
    dlon = dlon * np.cos(np.radians(centre_lat))
    result[ok] = (dlat <= table.half_lat_km[at]) & (dlon <= table.half_lon_km[at])
    return result


def locate(
    frame: pd.DataFrame, regions: pd.DataFrame | RegionIndex, rules: LocationRules
) -> dict[str, np.ndarray]:
    """Row masks of every location problem, mutually exclusive, in :data:`KINDS` order.

    Rows whose city has no learned region are only checked for (0, 0). ``regions``: the
    table of :func:`learn_regions`, or its :class:`RegionIndex` (kept by whoever locates
    often with the same table).
    """
    table = RegionIndex.of(regions)
    n = len(frame)
    lat = float_column(frame, "lat")
    lon = float_column(frame, "lon")
    cities = column_values(frame, "city")
    if cities.dtype != object:
        cities = frame["city"].astype(object).to_numpy()
    masks = {kind: np.zeros(n, dtype=bool) for kind in KINDS}
    masks["zero"] = (lat == 0) & (lon == 0)
    region_at = table.positions(cities)
    present = np.isfinite(lat) & np.isfinite(lon) & ~masks["zero"] & (region_at >= 0)
    if not present.any():
        return masks
    in_own = _inside(lat, lon, table, region_at)
    swapped_in = present & ~in_own & _inside(lon, lat, table, region_at)
    ambiguous = np.zeros(n, dtype=bool)
    if table.ambiguous is not None:
        ambiguous[region_at >= 0] = table.ambiguous[region_at[region_at >= 0]]
    masks["swapped"] = swapped_in & ~ambiguous
    masks["swap_ambiguous"] = swapped_in & ambiguous
    out = present & ~in_own & ~swapped_in
    if len(table.names) > 1 and out.any():
        nearest = _nearest_city(lat[out], lon[out], table)
        other = np.zeros(n, dtype=bool)
        other[np.flatnonzero(out)] = nearest != cities[out]
        masks["other_city"] = other
    masks["outside_region"] = out & ~masks["other_city"]
    if table.stacked:  # a set look-up per row: no index built per call
        rows = np.flatnonzero(present & in_own)
        masks["stacked"][rows] = [
            (str(c), a, o) in table.stacked
            for c, a, o in zip(cities[rows], lat[rows].tolist(), lon[rows].tolist(), strict=True)
        ]
    return masks


def _nearest_city(lat: np.ndarray, lon: np.ndarray, table: RegionIndex) -> np.ndarray:
    dist = np.stack(
        [distance_km(lat, lon, a, o) for a, o in zip(table.lat, table.lon, strict=True)]
    )
    return table.names[np.argmin(dist, axis=0)]


def check(ctx: AuditContext) -> pd.DataFrame:
    """Add location findings (flags ``location.<kind>``) and the region table; returns it."""
    rules = ctx.config.location
    regions = learn_regions(ctx.frame, rules)
    masks = locate(ctx.frame, regions, rules)
    coords = ctx.frame["lat"].round(6).astype(str) + ", " + ctx.frame["lon"].round(6).astype(str)
    for kind in KINDS:
        severity, message, action = _MESSAGES[kind]
        if kind == "swap_ambiguous" and masks[kind].any():
            cities = ctx.frame["city"][masks[kind]].value_counts()
            said = ", ".join(f"{c!s} ({n:,} rows)" for c, n in cities.head(5).items())
            message = f"{message}; cities: {said}"
        ctx.flag(
            f"location.{kind}",
            masks[kind],
            column=None,
            severity=severity,  # type: ignore[arg-type]
            message=message,
            values=coords,
            action=action,
        )
    table = regions.reset_index().rename(columns={"index": "city"})
    ctx.tables["regions"] = table
    ctx.tables["stacked_points"] = pd.DataFrame(
        regions.attrs.get("stacked", []), columns=["city", "lat", "lon"]
    )
    return regions
