"""Candidate search of :class:`~estimo.model.comps.ComparablesFinder`: who is comparable.

Candidates are the ``n_candidates`` nearest reference rows of the subject's city (a haversine
:class:`~sklearn.neighbors.BallTree` per city); candidates farther than ``max_distance_km``,
dated after the valuation date (``exclude_future``) or with the subject's own ``id``
(``exclude_same_id``, so that leave-one-out validation is honest) are dropped, and of several
rows of one property (re-listings) only the best one is kept
(:func:`~estimo.model.comps_stats.best_of_each_id`). The rest are ranked by the weighted
squared distance ``d2`` of :mod:`estimo.model.comps` (location, age and the features encoded
by :mod:`estimo.model.comps_encoding`) and the ``n_comps`` lowest kept.

A subject without valid coordinates is matched within its city on features only: a Euclidean
BallTree on the weighted, standardized numeric features
(:func:`~estimo.model.comps_encoding.feature_vectors`) gives the candidates, and the distance
term of ``d2`` is ``missing_penalty``. Reference rows without coordinates are only candidates
of such subjects.

:class:`CandidateSearch` is mixed into the finder, as scikit-learn's ``KNeighborsMixin`` into
its neighbour estimators: it reads the finder's settings and the reference encoded by its
``fit`` and writes the padded :class:`Matches`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import BallTree

from estimo.bundle_folder import BundleFolder
from estimo.errors import DataError
from estimo.features.tree_arrays import restore_tree, tree_table
from estimo.model.comps_encoding import feature_vectors
from estimo.model.comps_stats import best_of_each_id

__all__ = ["EARTH_RADIUS_KM", "CandidateSearch", "Matches", "Subjects"]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius: haversine distances in radians to km."""
TREES_FOLDER = "comps_trees"
"""Where a bundle keeps the per-city search trees (one table per tree, named by the city's
position: ``<i>_geo.parquet`` and ``<i>_features.parquet``)."""
STORED_TREES_MIN_ROWS = 8_000
"""A city's trees are stored from this many reference rows on: building costs about 1.3 ms
per 1,000 rows, reading the two stored tables about 7 ms plus 0.3 ms per 1,000 rows
(Poland's cities, 2026-12-06), so a smaller city's trees are built when first searched."""


@dataclass(frozen=True)
class Matches:
    """Padded match arrays, shape (n_subjects, n_comps); ``rows`` is -1 where empty."""

    rows: np.ndarray
    distance_km: np.ndarray
    age_months: np.ndarray
    d2: np.ndarray
    nearest_km: np.ndarray
    has_location: np.ndarray


@dataclass(frozen=True)
class Subjects:
    """The subjects as encoded for the search (see :mod:`estimo.model.comps_encoding`)."""

    z: np.ndarray
    codes: np.ndarray
    coords: np.ndarray
    ids: np.ndarray
    months: np.ndarray


class CandidateSearch:
    """Per-city candidate search and ranking, mixed into the comparables finder.

    Reads the finder's settings (``n_comps``, ``n_candidates``, ``max_distance_km``,
    ``distance_scale_km``, ``age_scale_months``, ``missing_penalty``, ``exclude_same_id``,
    ``exclude_future``), its fitted feature weights (``weights_``, ``category_weights_``),
    the encoded reference rows (``_z``, ``_codes``, ``_coords``, ``_has_coords``, ``_ids``,
    ``_id_codes``, ``_months``) and its ``_encode`` of subjects; ``_build_trees`` sets
    ``cities_`` and the trees.
    """

    n_comps: int
    n_candidates: int
    max_distance_km: float
    distance_scale_km: float
    age_scale_months: float
    missing_penalty: float
    exclude_same_id: bool
    exclude_future: bool
    weights_: np.ndarray
    category_weights_: np.ndarray
    _z: np.ndarray
    _codes: np.ndarray
    _coords: np.ndarray
    _has_coords: np.ndarray
    _ids: np.ndarray
    _id_codes: np.ndarray
    _months: np.ndarray
    _city_rows: dict[str, np.ndarray]
    _trees: dict[str, tuple[tuple[BallTree, np.ndarray] | None, tuple[BallTree, np.ndarray]]]
    _trees_lock: threading.Lock
    _encode: Callable[
        [pd.DataFrame], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ]

    def _build_trees(
        self,
        cities: np.ndarray,
        saved: tuple[BundleFolder, dict[str, Any]] | None = None,
    ) -> None:
        """Index the reference rows of each city for its search trees: one haversine tree
        (located rows) and one feature tree (all rows) per city, each built the first time
        the city is searched (a loaded engine builds only the trees of the cities it
        values; the same trees, so the same comparables, as built all at once), or read
        from ``saved`` (a bundle folder and :meth:`_trees_to_bundle`'s facts)."""
        self.cities_ = tuple(sorted(set(cities)))
        self._trees = {}
        self._trees_lock = threading.Lock()
        self._saved_trees = saved
        self._city_rows = {}
        if len(cities) == 0:
            return
        order = np.argsort(cities, kind="stable")
        bounds = np.flatnonzero(np.r_[True, cities[order][1:] != cities[order][:-1], True])
        self._city_rows = {
            str(cities[order[a]]): order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        }

    def _city_trees(
        self, city: str
    ) -> tuple[tuple[BallTree, np.ndarray] | None, tuple[BallTree, np.ndarray]] | None:
        """The haversine tree (None when no row is located) and the feature tree of
        ``city``, with the reference rows they index; None for a city not in the
        reference. Built on first use."""
        trees = self._trees.get(city)
        if trees is not None or city not in self._city_rows:
            return trees
        with self._trees_lock:
            trees = self._trees.get(city)
            if trees is None:
                rows = self._city_rows[city]
                located = rows[self._has_coords[rows]]
                geo = None
                if len(located):
                    tree = self._stored_tree(city, "geo", self._coords[located], "haversine")
                    geo = (tree, located)
                vectors = feature_vectors(self._z[rows], self.weights_)
                trees = (geo, (self._stored_tree(city, "features", vectors), rows))
                self._trees[city] = trees
        return trees

    def _stored_tree(
        self, city: str, kind: str, data: np.ndarray, metric: str = "minkowski"
    ) -> BallTree:
        """``city``'s ``kind`` tree over ``data``: read from the bundle it was saved in when
        there is one (and scikit-learn's version is the same), else built."""
        saved = getattr(self, "_saved_trees", None)
        facts = None if saved is None else (saved[1] or {}).get(city, {}).get(kind)
        if facts is not None:
            table = saved[0].read_parquet(facts["file"])
            tree = restore_tree(BallTree, data, table, facts, metric=metric)
            if tree is not None:
                return tree
        return BallTree(data, metric=metric)

    def _trees_to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Write the search trees of every city with at least
        :data:`STORED_TREES_MIN_ROWS` reference rows (built now if they are not yet) as
        tables into ``folder`` (:data:`TREES_FOLDER`); returns the facts
        :meth:`_build_trees` reads."""
        out: dict[str, Any] = {}
        for i, city in enumerate(self.cities_):
            if len(self._city_rows.get(city, ())) < STORED_TREES_MIN_ROWS:
                continue
            trees = self._city_trees(city)
            if trees is None:
                continue
            geo, (features, _) = trees
            entry = {}
            for kind, tree in (("geo", None if geo is None else geo[0]), ("features", features)):
                if tree is None:
                    continue
                table, facts = tree_table(tree)
                name = f"{TREES_FOLDER}/{i}_{kind}.parquet"
                folder.write_parquet(name, table)
                entry[kind] = {"file": name, **facts}
            out[city] = entry
        return out

    def load_cities(self, cities: Iterable[str] | None = None) -> None:
        """Build the search trees of ``cities`` now (default: every city)."""
        for city in self.cities_ if cities is None else cities:
            self._city_trees(str(city))

    def _find(self, subjects: pd.DataFrame, valuation_months: np.ndarray) -> Matches:
        """The best ``n_comps`` comparables of each subject, valued at ``valuation_months``."""
        if "city" not in subjects:
            raise DataError(["the subjects have no 'city' column; comparables need it"])
        n, k = len(subjects), self.n_comps
        out = Matches(
            rows=np.full((n, k), -1, dtype=np.int64),
            distance_km=np.full((n, k), np.nan),
            age_months=np.full((n, k), np.nan),
            d2=np.full((n, k), np.inf),
            nearest_km=np.full(n, np.nan),
            has_location=np.zeros(n, dtype=bool),
        )
        z, codes, coords, located, ids = self._encode(subjects)
        subject = Subjects(z, codes, coords, ids, valuation_months)
        out.has_location[:] = located
        cities = subjects["city"].to_numpy(dtype=object)
        for city in pd.unique(cities[pd.notna(cities)]):
            in_city = np.flatnonzero(cities == city)
            trees = self._city_trees(str(city))
            if trees is None:
                continue
            geo_tree, feature_tree = trees
            geo = in_city[located[in_city]] if geo_tree is not None else in_city[:0]
            if len(geo):
                tree, tree_rows = geo_tree
                dist, ind = tree.query(coords[geo], k=min(self.n_candidates, len(tree_rows)))
                self._rank(out, subject, geo, tree_rows[ind], dist * EARTH_RADIUS_KM)
            # np.setdiff1d(in_city, geo) (in_city is sorted), without its sorting
            rest = in_city[~located[in_city]] if geo_tree is not None else in_city
            if len(rest):
                tree, tree_rows = feature_tree
                query = feature_vectors(z[rest], self.weights_)
                _, ind = tree.query(query, k=min(self.n_candidates, len(tree_rows)))
                self._rank(out, subject, rest, tree_rows[ind], np.full(ind.shape, np.nan))
        return out

    def _rank(
        self,
        out: Matches,
        subject: Subjects,
        positions: np.ndarray,
        candidates: np.ndarray,
        distance_km: np.ndarray,
    ) -> None:
        """Score candidates (m, C) of the subjects at ``positions`` and keep the best k."""
        valid = np.ones(candidates.shape, dtype=bool)
        if self.exclude_same_id:
            sid = subject.ids[positions][:, None]
            known = np.array([v is not None for v in sid[:, 0]])[:, None]
            valid &= ~known | (self._ids[candidates] != sid)
        nearest = np.where(valid, distance_km, np.inf).min(axis=1, initial=np.inf)
        out.nearest_km[positions] = np.where(np.isfinite(nearest), nearest, np.nan)
        age = subject.months[positions][:, None] - self._months[candidates]
        if self.exclude_future:
            valid &= ~(age < 0)
        valid &= ~(distance_km > self.max_distance_km)
        geo = np.where(
            np.isnan(distance_km), self.missing_penalty, (distance_km / self.distance_scale_km) ** 2
        )
        d2 = geo + (np.abs(age) / self.age_scale_months) ** 2
        d2 = d2 + self._feature_cost(subject, positions, candidates)
        d2 = np.where(valid & np.isfinite(d2), d2, np.inf)
        d2 = np.where(best_of_each_id(self._id_codes[candidates], d2), d2, np.inf)
        k = min(self.n_comps, d2.shape[1])
        best = np.argpartition(d2, k - 1, axis=1)[:, :k] if d2.shape[1] > k else None
        if best is None:
            best = np.broadcast_to(np.arange(d2.shape[1]), d2.shape)
        order = np.take_along_axis(best, np.argsort(np.take_along_axis(d2, best, 1), 1), 1)
        chosen_d2 = np.take_along_axis(d2, order, 1)
        keep = np.isfinite(chosen_d2)
        out.rows[positions, :k] = np.where(keep, np.take_along_axis(candidates, order, 1), -1)
        out.d2[positions, :k] = chosen_d2
        out.distance_km[positions, :k] = np.where(
            keep, np.take_along_axis(distance_km, order, 1), np.nan
        )
        out.age_months[positions, :k] = np.where(keep, np.take_along_axis(age, order, 1), np.nan)

    def _feature_cost(
        self, subject: Subjects, positions: np.ndarray, candidates: np.ndarray
    ) -> np.ndarray:
        """Feature terms of the distance between subjects and their candidates (m, C)."""
        cost = np.zeros(candidates.shape)
        for j, weight in enumerate(self.weights_):
            diff = subject.z[positions, j][:, None] - self._z[candidates, j]
            cost += weight * np.where(np.isnan(diff), self.missing_penalty, diff**2)
        for j, weight in enumerate(self.category_weights_):
            mine = subject.codes[positions, j][:, None]
            theirs = self._codes[candidates, j]
            missing = (mine == -1) | (theirs == -1)
            cost += weight * np.where(missing, 0.5, (mine != theirs).astype(float))
        return cost
