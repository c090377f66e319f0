"""The comparables' adjustments split by feature, from exact tree contributions kept per
reference row.

The engine adjusts each comparable to the subject by its hedonic model's difference between
the two (:mod:`estimo.model.adjustments`). :class:`ReferenceContributions` splits that
difference with TreeSHAP (:mod:`estimo.model.treeshap`): each property's log price at the
reference date is its model offset plus its trees' contributions, so the subject's
per-group contributions minus the comparable's add up to the hedonic adjustment (exactly,
up to rounding; :func:`~estimo.model.adjustments.money_adjustments` puts any rounding in
``"other"``). A comparable is a training row, so its contributions are computed once and
kept: for every reference row when the engine is saved (``comps_contributions.parquet``,
read back by a loaded engine), else the first time a row is a comparable. A valuation then
computes only its subject's, and with the engine's features of the subject
(:meth:`ReferenceContributions.with_subject_features`) not even those twice.

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

from estimo.errors import EstimoError
from estimo.model.adjustments import feature_group
from estimo.model.engine import EngineStage, log_area
from estimo.model.linear import row_matmul
from estimo.progress import step_progress

__all__ = ["ReferenceContributions", "SubjectContributions"]

LOCATION_GROUP = "location"
TABLE_CHUNK = 2_000
"""Reference rows explained per TreeSHAP call by :meth:`ReferenceContributions.table`."""


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
        # each reference row's grouped contributions, filled on first use (or all at once
        # by table() / from a saved table by use_table())
        self._values = np.full((len(reference), len(self.groups)), np.nan)
        self._known = np.zeros(len(reference), dtype=bool)
        self._lock = threading.Lock()

    def grouped(
        self,
        frame: pd.DataFrame,
        features: pd.DataFrame | None = None,
        values: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per-group log contributions (rows x :attr:`groups`) of the hedonic model's log
        price of ``frame`` at the reference date, offset credited (see the module doc).

        ``features``: the rows' hedonic features (``stage.features(frame, twins=False)``)
        and ``values``: their tree contributions (``stage.model.contribution_values``),
        when the caller has them.
        """
        stage = self.stage
        X = stage.features(frame, twins=False) if features is None else features
        if values is None:
            _, values = stage.model.contribution_values(X)
        out = row_matmul(values[:, :-1], self._to_group)  # the bias: the same for subject and comp
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
        rows = np.asarray(rows, dtype=np.int64)
        missing = np.unique(rows[~self._known[rows]])
        if len(missing):
            values = self.grouped(self.reference.iloc[missing].reset_index(drop=True))
            with self._lock:
                self._values[missing] = values
                self._known[missing] = True
        return self._values[rows].reshape(len(rows), -1)

    def table(self, progress: bool = False) -> pd.DataFrame:
        """Every reference row's grouped contributions (one column per group), computing
        the rows not yet known in chunks; what a saved engine stores so that a valuation
        computes only its subject's.

        Parameters
        ----------
        progress : bool
            Show a progress bar over the chunks.
        """
        todo = np.flatnonzero(~self._known)
        chunks = [todo[i : i + TABLE_CHUNK] for i in range(0, len(todo), TABLE_CHUNK)]
        description = "explaining the comparables' reference rows"
        done = 0
        with step_progress(description, len(chunks), enabled=progress) as advance:
            for chunk in chunks:
                self.of_rows(chunk)
                done += len(chunk)
                advance(f"{done:,} of {len(todo):,} rows")
        return pd.DataFrame(self._values, columns=self.groups)

    def use_table(self, table: pd.DataFrame, source: str = "the table") -> None:
        """Take every reference row's contributions from a :meth:`table` saved earlier.

        Raises
        ------
        EstimoError
            If ``table`` does not have one row per reference row and one column per
            group, in order, or holds missing values.
        """
        if list(table.columns) != self.groups or len(table) != len(self.reference):
            raise EstimoError(
                f"{source} has {len(table)} rows and columns {list(table.columns)}; expected "
                f"{len(self.reference)} rows (one per comparables reference row) and columns "
                f"{self.groups}"
            )
        values = table.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise EstimoError(f"{source} holds missing or infinite contributions")
        with self._lock:
            self._values = values.copy()
            self._known[:] = True

    def memory_bytes(self) -> int:
        """Bytes of the kept contributions."""
        return int(self._values.nbytes + self._known.nbytes)

    def with_subject_features(
        self, features: pd.DataFrame, values: np.ndarray | None = None
    ) -> SubjectContributions:
        """:meth:`__call__` for subjects whose hedonic features (and tree contributions)
        are already known."""
        return SubjectContributions(self, features, values)

    def __call__(
        self,
        subjects_at: pd.DataFrame,
        sub: np.ndarray,
        rows: np.ndarray,
        features: pd.DataFrame | None = None,
        values: np.ndarray | None = None,
    ) -> Any:
        """Subject-minus-comparable contributions per group, one row per comparable
        (``features``, ``values``: as :meth:`grouped`'s)."""
        mine = self.grouped(subjects_at, features, values)
        difference = mine[sub] - self.of_rows(rows)
        return pd.DataFrame(difference, columns=self.groups)


class SubjectContributions:
    """:class:`ReferenceContributions` for subjects whose hedonic features (``features``,
    positional like the subjects) and optionally tree contributions (``values``) are
    known; see :meth:`ReferenceContributions.with_subject_features`."""

    def __init__(
        self,
        split: ReferenceContributions,
        features: pd.DataFrame,
        values: np.ndarray | None = None,
    ) -> None:
        self.split = split
        self.features = features
        self.values = values

    def __call__(self, subjects_at: pd.DataFrame, sub: np.ndarray, rows: np.ndarray) -> Any:
        """:meth:`ReferenceContributions.__call__` with the known features."""
        return self.split(subjects_at, sub, rows, features=self.features, values=self.values)


def _group(name: str, location: Collection[str]) -> str:
    """Group of a model feature: the location's (``loc_*``, ``city`` and ``location``),
    else :func:`~estimo.model.adjustments.feature_group`'s."""
    if name.startswith("loc_") or name == "city" or name in location:
        return LOCATION_GROUP
    return feature_group(name, ())
