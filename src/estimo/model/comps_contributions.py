"""The comparables' adjustments split by feature, from exact tree contributions kept per
reference row.

The engine adjusts each comparable to the subject by its hedonic model's difference between
the two (:mod:`estimo.model.adjustments`). :class:`ReferenceContributions` splits that
difference with TreeSHAP (:mod:`estimo.model.treeshap`): each property's log price at the
reference date is its model offset plus its trees' contributions, so the subject's
per-group contributions minus the comparable's add up to the hedonic adjustment (exactly,
up to rounding; :func:`~estimo.model.adjustments.money_adjustments` puts any rounding in
``"other"``). A comparable is a training row, so its contributions are computed once, the
first time it is a comparable, and kept: a valuation computes only its subject's.

The offset (neighbours' price per m² × area) is credited as in the engine's reasons: the
area's part to ``area_m2``, the rest to ``location``, with the location features (``loc_*``)
the city and the location columns (``lat``, ``lon``, ``neighbourhood`` and the engine's
``comps_location_features``): moving a flat changes them all together.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from estimo.model.adjustments import feature_group
from estimo.model.engine import EngineStage, log_area

__all__ = ["ReferenceContributions"]

LOCATION_GROUP = "location"


class ReferenceContributions:
    """``reference_contributions`` of :meth:`ComparablesFinder.value` for a fitted stage.

    Parameters
    ----------
    stage : EngineStage
        The fitted stage whose hedonic view adjusts the comparables.
    reference : pandas.DataFrame
        The comparables finder's reference rows (``reference_``).
    location : collection of str
        Columns adjusted together as ``"location"`` (besides the ``loc_*`` features).
    """

    def __init__(
        self, stage: EngineStage, reference: pd.DataFrame, location: Collection[str]
    ) -> None:
        self.stage = stage
        self.reference = reference
        names = stage.model.spec_.matrix_columns(with_date=False)
        groups = [_group(name, location) for name in names]
        self.groups = list(dict.fromkeys(groups))
        self._to_group = np.zeros((len(names), len(self.groups)))
        for j, group in enumerate(groups):
            self._to_group[j, self.groups.index(group)] = 1.0
        self._area = "area_m2" in self.groups or None
        self._location = (
            self.groups.index(LOCATION_GROUP) if LOCATION_GROUP in self.groups else None
        )
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def grouped(self, frame: pd.DataFrame) -> np.ndarray:
        """Per-group log contributions (rows x :attr:`groups`) of the hedonic model's log
        price of ``frame`` at the reference date, offset credited (see the module doc)."""
        stage = self.stage
        X = stage.features(frame, twins=False)
        matrix = stage.model.model_matrix(X)
        cities = stage.model.city_names(X)
        _, values = stage.model.contribution_values(X, matrix=matrix, cities=cities)
        out = values[:, :-1] @ self._to_group  # the bias: the same for subject and comp
        area = log_area(frame)
        offset = stage.offset(frame, X, area=area)
        area_part = np.zeros(len(frame))
        if self._area is not None:
            area_part = np.where(np.isfinite(area) & stage.use_offset, area, 0.0)
            out[:, self.groups.index("area_m2")] += area_part
        if self._location is not None:
            out[:, self._location] += offset - area_part
        return out

    def of_rows(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`grouped` of the reference rows at ``rows``, each computed once."""
        missing = sorted({int(r) for r in rows} - self._cache.keys())
        if missing:
            values = self.grouped(self.reference.iloc[missing].reset_index(drop=True))
            with self._lock:
                self._cache.update(zip(missing, values, strict=True))
        return np.array([self._cache[int(r)] for r in rows]).reshape(len(rows), -1)

    def __call__(self, subjects_at: pd.DataFrame, sub: np.ndarray, rows: np.ndarray) -> Any:
        """Subject-minus-comparable contributions per group, one row per comparable."""
        mine = self.grouped(subjects_at)
        difference = mine[sub] - self.of_rows(rows)
        return pd.DataFrame(difference, columns=self.groups)


def _group(name: str, location: Collection[str]) -> str:
    """Group of a model feature: the location's (``loc_*``, ``city`` and ``location``),
    else :func:`~estimo.model.adjustments.feature_group`'s."""
    if name.startswith("loc_") or name == "city" or name in location:
        return LOCATION_GROUP
    return feature_group(name, ())
