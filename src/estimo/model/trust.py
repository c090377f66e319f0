"""What the engine says about properties it cannot value from experience.

:func:`flag_warnings` turns the out-of-distribution flags of
:meth:`estimo.model.difficulty.DifficultyModel.flags` into the plain warnings of a
:class:`~estimo.model.valuation_result.Valuation` (the explanation layer re-words them per
language); :class:`OutOfDistributionError` is what an engine set to ``ood="refuse"`` raises.

Examples
--------
>>> import pandas as pd
>>> months_between(pd.Timestamp("2023-12-31"), pd.Series(pd.to_datetime(["2024-03-01"]))).tolist()
[3.0]
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.index import month_number

__all__ = ["OutOfDistributionError", "flag_warnings", "months_between"]

_FIELD_WORDS = {
    "area_m2": "living area",
    "floor": "floor",
    "year_built": "year built",
    "rooms": "rooms",
}


def months_between(end: Any, dates: Any) -> np.ndarray:
    """Whole calendar months from the month of ``end`` to each date's month (negative
    before it)."""
    if isinstance(end, datetime.date):  # a Timestamp, datetime or date: no parsing
        start = end.year * 12 + end.month - 1
    else:
        start = month_number([end])[0]
    return month_number(dates) - start


def flag_warnings(
    row: pd.Series, flags: Sequence[str], months_past: float, trained_until: Any, difficulty: Any
) -> list[str]:
    """Plain warnings of one property's out-of-distribution flags (the far-away and unseen
    city cases already have their warnings; this adds the others and the consequence)."""
    out = []
    ranges = getattr(difficulty, "ranges_", {})
    for flag in flags:
        if flag.startswith("outside_range:"):
            name = flag.split(":", 1)[1]
            lo, hi = ranges[name][2], ranges[name][3]
            out.append(
                f"{name} {_number(row.get(name))} is outside the range seen in training "
                f"({_number(lo)} to {_number(hi)})"
            )
        elif flag == "past_data":
            out.append(
                f"the valuation date is {int(months_past)} months after the data ends "
                f"({pd.Timestamp(trained_until):%Y-%m}): prices were carried forward by the "
                "price index's trend"
            )
        elif flag == "far":
            out.append(
                f"property farther than {difficulty.far_km:g} km from every home seen in training"
            )
    if flags:
        out.append("out of distribution: the range was widened and the confidence lowered")
    return out


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return repr(value)
    return f"{number:g}"


class OutOfDistributionError(DataError):
    """Properties the engine refuses to value (``ood="refuse"``), each with its reasons."""

    def __init__(
        self, frame: pd.DataFrame, flags: Sequence[Sequence[str]], months_past: Any, difficulty: Any
    ) -> None:
        problems = []
        for i, row_flags in enumerate(flags):
            if not row_flags:
                continue
            row = frame.iloc[i]
            who = f"row {i}" + (f" (id {str(row['id'])[:40]!r})" if "id" in frame else "")
            reasons = []
            for flag in row_flags:
                if flag.startswith("outside_range:"):
                    name = flag.split(":", 1)[1]
                    lo, hi = difficulty.ranges_[name][2], difficulty.ranges_[name][3]
                    reasons.append(
                        f"{name} {_number(row.get(name))} outside {_number(lo)}-{_number(hi)}"
                    )
                elif flag == "past_data":
                    reasons.append(
                        f"valuation date {int(np.asarray(months_past)[i])} months after the data"
                    )
                elif flag == "far":
                    reasons.append(f"farther than {difficulty.far_km:g} km from every known home")
                elif flag == "new_city":
                    reasons.append(f"city {str(row.get('city'))[:40]!r} not seen in training")
            problems.append(f"{who}: {'; '.join(reasons)}")
        super().__init__(
            problems
            + ["expected properties like the training data (the engine is set to ood='refuse')"],
            header="cannot value out-of-distribution properties",
        )
        self.flags = [list(f) for f in flags]
