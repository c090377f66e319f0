"""The frame of records the input contract parsed (estimo.records.parsed_frame) holds what
records_frame (which parses every column again) holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.records import parsed_frame, records_frame

_record = st.fixed_dictionaries(
    {"city": st.sampled_from(["Milano", "Roma", "Torino"])},
    optional={
        "area_m2": st.floats(10, 500),
        "rooms": st.floats(1, 9),
        "lat": st.floats(44, 46),
        "date": st.dates(pd.Timestamp("2015-01-01").date(), pd.Timestamp("2100-01-01").date()).map(
            pd.Timestamp
        ),
        "property_type": st.sampled_from(["flat", "house"]),
        "neighbourhood": st.text("abc", min_size=1, max_size=4),
        "garden": st.booleans(),
        "fee": st.floats(0, 900),
        "view": st.sampled_from(["sea", "park"]),
    },
)


def _same_values(left: pd.Series, right: pd.Series) -> None:
    if left.dtype.kind == "f" or right.dtype.kind == "f":
        np.testing.assert_array_equal(left.to_numpy(float), right.to_numpy(float))
    elif left.dtype.kind == "M":
        assert right.dtype == "datetime64[ns]"
        assert left.tolist() == right.tolist()
    else:
        assert [None if pd.isna(v) else v for v in left.astype(object)] == [
            None if pd.isna(v) else v for v in right.astype(object)
        ]


@settings(max_examples=60, deadline=None)
@given(st.lists(_record, min_size=1, max_size=6))
def test_parsed_frame_holds_what_records_frame_holds(records):
    fast = parsed_frame(records)
    slow = records_frame(records)
    assert fast.columns.tolist() == slow.columns.tolist()
    assert isinstance(fast.index, pd.RangeIndex) and len(fast) == len(records)
    for name in slow.columns:
        _same_values(slow[name], fast[name])
    text = [c for c in ("city", "property_type", "neighbourhood") if c in fast]
    assert all(fast[c].dtype == object for c in text)  # Python objects, not pandas' str


def test_parsed_frame_types_extra_features_by_their_values():
    frame = parsed_frame(
        [{"city": "Roma", "fee": 120.0, "garden": True}, {"city": "Roma", "garden": False}]
    )
    assert frame["fee"].dtype == float and np.isnan(frame["fee"].iloc[1])
    assert frame["garden"].dtype == bool
    mixed = parsed_frame([{"city": "Roma", "garden": True}, {"city": "Roma"}])
    assert mixed["garden"].tolist() == [True, None]
