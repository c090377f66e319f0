"""Where the model was trained: cities, their area, and the ranges of the numeric fields.

:class:`TrainingEnvelope` learns, from the training rows, the cities, each city's
coordinate box (the 0.5-99.5 % quantiles of lat/lon, widened by 10 % of their span) and the
0.5-99.5 % quantile range of each numeric field, widened the same way. :meth:`outside` flags
served properties in an unknown city, outside their city's box or with a value outside a
range: the model extrapolates there.

(The property contract of :mod:`estimo.property_input` learns plausible ranges to *reject*
input; this envelope is wider in purpose and narrower in range: it says where valuations are
supported by training data.)

Examples
--------
>>> import pandas as pd
>>> train = pd.DataFrame({"city": ["Roma"] * 200, "lat": [41.9] * 200, "lon": [12.5] * 200,
...                       "area_m2": range(40, 240)})
>>> env = TrainingEnvelope().fit(train)
>>> served = pd.DataFrame({"city": ["Roma", "Roma", "Bari"], "lat": [41.9, 45.0, 41.1],
...                        "lon": [12.5, 12.5, 16.9], "area_m2": [80.0, 80.0, 2000.0]})
>>> env.outside(served)["outside"].tolist()
[False, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import NotFittedError

__all__ = ["RANGE_FIELDS", "TrainingEnvelope"]

#: Numeric fields whose training range is checked.
RANGE_FIELDS: tuple[str, ...] = ("area_m2", "rooms", "bathrooms", "floor", "year_built")
_Q = (0.005, 0.995)
_WIDEN = 0.10
_MIN_BOX_DEG = 0.02  # about 2 km


class TrainingEnvelope:
    """Cities, areas and value ranges of the training rows (see the module docstring).

    Parameters
    ----------
    fields : sequence of str
        Numeric fields whose range is learned.
    """

    def __init__(self, fields: Sequence[str] = RANGE_FIELDS) -> None:
        self.fields = fields

    def fit(self, frame: pd.DataFrame) -> TrainingEnvelope:
        """Learn the envelope from training rows (``city``, ``lat``, ``lon``, fields)."""
        self.cities_ = sorted(str(c) for c in frame["city"].dropna().unique())
        self.boxes_: dict[str, tuple[float, float, float, float]] = {}
        if "lat" in frame and "lon" in frame:
            for city, rows in frame.groupby("city"):
                lat = pd.to_numeric(rows["lat"], errors="coerce").dropna()
                lon = pd.to_numeric(rows["lon"], errors="coerce").dropna()
                if len(lat) and len(lon):
                    self.boxes_[str(city)] = (
                        *_widened(lat, _MIN_BOX_DEG),
                        *_widened(lon, _MIN_BOX_DEG),
                    )
        self.ranges_: dict[str, tuple[float, float]] = {}
        for field in self.fields:
            if field in frame:
                values = pd.to_numeric(frame[field], errors="coerce").dropna()
                if len(values):
                    self.ranges_[field] = _widened(values, 0.0)
        return self

    def outside(self, served: pd.DataFrame) -> pd.DataFrame:
        """Flags per served row: ``unknown_city``, ``outside_area``, ``outside_range``
        (any field out of its range), ``outside`` (any of them)."""
        if not hasattr(self, "cities_"):
            raise NotFittedError("this TrainingEnvelope is not fitted; call fit(training rows)")
        n = len(served)
        city = served["city"].astype(object) if "city" in served else pd.Series([None] * n)
        unknown = ~city.isin(self.cities_).to_numpy()
        area = np.zeros(n, dtype=bool)
        if self.boxes_ and "lat" in served and "lon" in served:
            lat = pd.to_numeric(served["lat"], errors="coerce").to_numpy(float)
            lon = pd.to_numeric(served["lon"], errors="coerce").to_numpy(float)
            box = np.array([self.boxes_.get(str(c), (np.nan,) * 4) for c in city], dtype=float)
            box = box.reshape(n, 4)
            known = np.isfinite(box[:, 0]) & np.isfinite(lat) & np.isfinite(lon)
            inside = (
                (lat >= box[:, 0]) & (lat <= box[:, 1]) & (lon >= box[:, 2]) & (lon <= box[:, 3])
            )
            area = known & ~inside
        out_range = np.zeros(n, dtype=bool)
        for field, (low, high) in self.ranges_.items():
            if field in served:
                values = pd.to_numeric(served[field], errors="coerce").to_numpy(float)
                out_range |= np.isfinite(values) & ((values < low) | (values > high))
        return pd.DataFrame(
            {
                "unknown_city": unknown,
                "outside_area": area & ~unknown,
                "outside_range": out_range,
                "outside": unknown | area | out_range,
            },
            index=served.index,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "cities": self.cities_,
            "boxes": {k: list(v) for k, v in self.boxes_.items()},
            "ranges": {k: list(v) for k, v in self.ranges_.items()},
        }


def _widened(values: pd.Series, minimum: float) -> tuple[float, float]:
    low, high = np.quantile(values.to_numpy(float), _Q)
    pad = max((high - low) * _WIDEN, minimum / 2)
    return float(low - pad), float(high + pad)
