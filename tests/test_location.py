from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError, NotFittedError
from estimo.features.location import FEATURE_NAMES, LocationFeatures, to_xyz


def _grid(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = 45.0 + rng.uniform(0, 0.1, n)
    lon = 9.0 + rng.uniform(0, 0.1, n)
    frame = pd.DataFrame(
        {"id": [f"p{i}" for i in range(n)], "city": "X", "lat": lat, "lon": lon,
         "neighbourhood": rng.choice(["a", "b", "c"], n)}
    )  # fmt: skip
    # dearer towards (45.0, 9.0)
    values = 9.0 - 3.0 * np.hypot(lat - 45.0, lon - 9.0) + rng.normal(0, 0.05, n)
    return frame, values


def test_training_features_are_leave_one_out() -> None:
    frame, values = _grid()
    base = LocationFeatures(k=10).fit_transform(frame, values)
    bumped = values.copy()
    bumped[0] += 5.0
    again = LocationFeatures(k=10).fit_transform(frame, bumped)
    # the row's own features never see its own price (the city centre, a city-wide
    # statistic of the dearest rows, may move) ...
    own = [c for c in FEATURE_NAMES if c != "loc_centre_km"]
    pd.testing.assert_series_equal(base.iloc[0][own], again.iloc[0][own])
    # ... while its neighbours' features do
    assert (again["loc_knn"] != base["loc_knn"]).sum() >= 5


def test_other_rows_of_the_same_property_are_excluded() -> None:
    frame, values = _grid()
    twin = frame.iloc[[0]].assign(lat=frame["lat"].iloc[0] + 1e-6)
    with_twin = pd.concat([frame, twin], ignore_index=True)
    twin_values = np.append(values, values[0] + 3.0)
    feats = LocationFeatures(k=10).fit_transform(with_twin, twin_values)
    alone = LocationFeatures(k=10).fit_transform(frame, values)
    assert feats["loc_near"].iloc[0] == pytest.approx(alone["loc_near"].iloc[0])


def test_new_rows_see_training_rows_only() -> None:
    frame, values = _grid()
    loc = LocationFeatures(k=10).fit(frame.iloc[:300], values[:300])
    first = loc.transform(frame.iloc[300:])
    loc2 = LocationFeatures(k=10).fit(frame.iloc[:300], values[:300])
    # transforming a different batch does not change what the training rows say
    loc2.transform(frame.iloc[300:350])
    pd.testing.assert_frame_equal(loc2.transform(frame.iloc[300:]), first)
    assert first["loc_knn"].notna().all()


def test_centre_is_where_prices_are_highest() -> None:
    frame, values = _grid(1_000)
    loc = LocationFeatures().fit(frame, values)
    corner = to_xyz([45.0], [9.0])[0]
    far = to_xyz([45.1], [9.1])[0]
    centre = loc.centres_["X"]
    assert np.linalg.norm(centre - corner) < np.linalg.norm(centre - far) / 2


@pytest.mark.parametrize(("lat", "lon"), [(np.nan, 9.0), (0.0, 0.0), (95.0, 9.0)])
def test_rows_without_usable_coordinates_get_missing_spatial_features(lat, lon) -> None:
    frame, values = _grid()
    loc = LocationFeatures().fit(frame, values)
    row = frame.iloc[[0]].assign(lat=lat, lon=lon)
    feats = loc.transform(row)
    assert list(feats.columns) == list(FEATURE_NAMES)
    assert feats[["loc_knn", "loc_centre_km"]].isna().all().all()
    assert feats["loc_neighbourhood"].notna().all()


def test_neighbourhood_encoding_is_leave_one_out() -> None:
    frame, values = _grid()
    base = LocationFeatures().fit_transform(frame, values)
    bumped = values.copy()
    bumped[3] += 2.0
    again = LocationFeatures().fit_transform(frame, bumped)
    assert again["loc_neighbourhood"].iloc[3] == pytest.approx(base["loc_neighbourhood"].iloc[3])


def test_errors_are_clear() -> None:
    frame, values = _grid(20)
    with pytest.raises(DataError, match="finite numbers"):
        LocationFeatures().fit(frame, values[:5])
    with pytest.raises(NotFittedError, match="not fitted"):
        LocationFeatures().transform(frame)
