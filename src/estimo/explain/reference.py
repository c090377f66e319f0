"""The reference point: "compared with a typical 2-room flat in Milano, at today's prices".

Tree contributions are measured against the model's average over *all* its training rows,
which means nothing to a home owner. :class:`ReferenceTable` re-bases them on a group the
owner recognises: it stores, per group of training properties, the mean contribution of
every feature, at the most specific level with at least ``min_rows`` properties:

1. city × property type × rooms ("a typical 2-room flat in Milano"),
2. city × property type ("a typical flat in Milano"),
3. city × rooms ("a typical 2-room home in Milano"),
4. city ("a typical home in Milano"),
5. everything ("a typical home among those we learned from").

For a property ``x`` with contributions ``c_j(x)`` and its group's means ``r_j`` the
explanation is ``baseline = _base(x) + sum_j r_j`` plus one item ``c_j(x) - r_j`` per
feature: exactly the same total, so additivity is kept. Market-timing features and the
price-index move (``_time``) are not compared with the group: their own value goes into the
baseline, which is therefore the group's typical price *at the valuation date*.

The table is JSON (no pickles): :meth:`ReferenceTable.save` / :meth:`ReferenceTable.load`.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"city": ["A"] * 4, "rooms": [2.0] * 4, "property_type": ["flat"] * 4})
>>> contrib = pd.DataFrame({"area_m2": [0.1, -0.1, 0.3, -0.3], "_base": [12.0] * 4,
...                         "_time": [0.0] * 4, "_comparables": [0.0] * 4})
>>> table = ReferenceTable(min_rows=2).fit(frame, contrib)
>>> match = table.match(frame.iloc[[0]])[0]
>>> match.level, match.key, match.means["area_m2"]
('city_type_rooms', {'city': 'A', 'property_type': 'flat', 'rooms': 2}, 0.0)
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import EstimoError
from estimo.explain.contributions import feature_names

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
REFERENCE_FILE = "explain_reference.json"
"""File name of a reference table stored next to a model."""

LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("city_type_rooms", ("city", "property_type", "rooms")),
    ("city_type", ("city", "property_type")),
    ("city_rooms", ("city", "rooms")),
    ("city", ("city",)),
    ("global", ()),
)


REFERENCE_SAMPLE = 5_000
"""Training rows the reference groups are learned from (a seeded random sample): exact
contributions of every row of a large market would take long and change nothing visible."""


def reference_sample(frame: pd.DataFrame, n: int = REFERENCE_SAMPLE) -> pd.DataFrame:
    """A seeded random sample of at most ``n`` rows of ``frame`` (all rows when fewer)."""
    return frame if len(frame) <= n else frame.sample(n, random_state=0)


@dataclass(frozen=True)
class ReferenceMatch:
    """The group a property is compared with."""

    level: str
    key: dict[str, Any]
    n: int
    means: dict[str, float]


def _group_value(column: str, value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or value != value:
        return None
    if column == "rooms":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(number) else int(round(number))
    return str(value)


def _group_values(frame: pd.DataFrame | list[dict[str, Any]], column: str) -> list[Any]:
    if isinstance(frame, list):
        return [_group_value(column, row.get(column)) for row in frame]
    if column not in frame:
        return [None] * len(frame)
    return [_group_value(column, v) for v in frame[column].tolist()]


class ReferenceTable:
    """Mean contributions of groups of training properties (see the module docstring).

    Parameters
    ----------
    min_rows : int
        Properties a group needs to be used.
    """

    def __init__(self, min_rows: int = 30) -> None:
        self.min_rows = min_rows

    def fit(self, frame: pd.DataFrame, contributions: pd.DataFrame) -> ReferenceTable:
        """Learn group means from training rows and their contribution frame.

        Raises
        ------
        EstimoError
            If the two frames do not have the same rows.
        """
        if len(frame) != len(contributions):
            raise EstimoError(
                f"reference frame has {len(frame)} rows but its contributions have "
                f"{len(contributions)}; expected one contribution row per property"
            )
        self.features_ = feature_names(contributions)
        values = contributions[self.features_].to_numpy(float)
        keys = {col: _group_values(frame, col) for col in ("city", "property_type", "rooms")}
        self.groups_: dict[str, dict[tuple, tuple[int, list[float]]]] = {}
        for level, columns in LEVELS:
            table = pd.DataFrame(values, columns=self.features_)
            group_cols = [f"__{c}" for c in columns]
            for col, name in zip(columns, group_cols, strict=True):
                table[name] = keys[col]
            if not columns:
                self.groups_[level] = {(): (len(table), values.mean(axis=0).tolist())}
                continue
            table = table.dropna(subset=group_cols)
            grouped = table.groupby(group_cols, sort=True)
            means = grouped[self.features_].mean()
            counts = grouped.size()
            level_groups = {}
            for key, n in counts.items():
                if n >= self.min_rows:
                    key_tuple = key if isinstance(key, tuple) else (key,)
                    level_groups[key_tuple] = (int(n), means.loc[key].to_numpy(float).tolist())
            self.groups_[level] = level_groups
        log.info(
            "reference table: %s",
            ", ".join(f"{level} {len(g)} groups" for level, g in self.groups_.items()),
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "groups_"):
            raise EstimoError("this ReferenceTable is not fitted; call fit(frame, contributions)")

    def match(self, frame: pd.DataFrame | list[dict[str, Any]]) -> list[ReferenceMatch]:
        """The reference group of each row (a frame, or rows as dicts), most specific first."""
        self._check_fitted()
        keys = {col: _group_values(frame, col) for col in ("city", "property_type", "rooms")}
        out = []
        for i in range(len(frame)):
            for level, columns in LEVELS:
                key = tuple(keys[c][i] for c in columns)
                found = self.groups_.get(level, {}).get(key)
                if found is not None:
                    n, means = found
                    out.append(
                        ReferenceMatch(
                            level,
                            dict(zip(columns, key, strict=True)),
                            n,
                            dict(zip(self.features_, means, strict=True)),
                        )
                    )
                    break
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the table."""
        self._check_fitted()
        return {
            "format_version": FORMAT_VERSION,
            "min_rows": self.min_rows,
            "features": list(self.features_),
            "levels": {
                level: [
                    {"key": list(key), "n": n, "means": [round(m, 8) for m in means]}
                    for key, (n, means) in groups.items()
                ]
                for level, groups in self.groups_.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceTable:
        """Rebuild a table written by :meth:`to_dict`.

        Raises
        ------
        EstimoError
            If the format version is unknown.
        """
        if data.get("format_version") != FORMAT_VERSION:
            raise EstimoError(
                f"reference table has format_version {data.get('format_version')!r}; "
                f"expected {FORMAT_VERSION}"
            )
        table = cls(min_rows=int(data["min_rows"]))
        table.features_ = list(data["features"])
        table.groups_ = {
            level: {tuple(g["key"]): (int(g["n"]), list(g["means"])) for g in groups}
            for level, groups in data["levels"].items()
        }
        return table

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON; a folder gets :data:`REFERENCE_FILE` inside it."""
        path = Path(path)
        if path.is_dir():
            path = path / REFERENCE_FILE
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReferenceTable:
        """Read a table written by :meth:`save` (a file, or a folder holding one).

        Raises
        ------
        EstimoError
            If there is no table there or it is not valid JSON.
        """
        path = Path(path)
        if path.is_dir():
            path = path / REFERENCE_FILE
        if not path.is_file():
            raise EstimoError(f"no reference table at {str(path)!r} (written by estimo explain)")
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EstimoError(f"reference table {str(path)!r} is not valid: {exc}") from exc


def reference_log_parts(
    columns: Sequence[str], matches: list[ReferenceMatch], timing: Set[str]
) -> np.ndarray:
    """Reference means aligned with the contribution ``columns`` (timing and contract
    columns 0).

    Features the reference does not know (e.g. added to the model later) get 0: they are
    compared with the model's overall average instead.
    """
    position = {name: j for j, name in enumerate(columns)}
    out = np.zeros((len(matches), len(columns)))
    for i, match in enumerate(matches):
        for name, mean in match.means.items():
            j = position.get(name)
            if j is not None and name not in timing:
                out[i, j] = mean
    return out
