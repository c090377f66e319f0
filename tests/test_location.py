from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.bundle_folder import BundleFolder
from estimo.errors import DataError, NotFittedError
from estimo.features.location import (
    AXIS_PREFIX,
    FEATURE_NAMES,
    TWIN_FEATURE_NAMES,
    LocationFeatures,
    has_twins,
    map_axes,
    to_xyz,
    without_twins,
)


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
    own = [c for c in base.columns if c != "loc_centre_km"]
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
    axes = tuple(f"{AXIS_PREFIX}{j}" for j in range(1, 7))
    assert list(feats.columns) == list(FEATURE_NAMES + axes + TWIN_FEATURE_NAMES)
    assert feats[["loc_knn", "loc_centre_km", *axes, *TWIN_FEATURE_NAMES]].isna().all().all()
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


def _flats() -> tuple[pd.DataFrame, np.ndarray]:
    """A grid of flats plus re-listings of flat p0 (same spot, area, rooms, floor)."""
    frame, values = _grid(200)
    frame = frame.assign(
        area_m2=50.0 + np.arange(len(frame)) % 40,
        rooms=2.0 + np.arange(len(frame)) % 3,
        floor=np.arange(len(frame)) % 6 * 1.0,
        date=pd.Timestamp("2024-01-01"),
    )
    p0 = frame.iloc[0]
    extra = pd.DataFrame(
        {
            "id": ["p0", "relisted", "other_floor", "later"],
            "city": "X",
            "lat": p0["lat"] + np.array([0.0, 2e-5, 0.0, 0.0]),  # 2e-5 deg ≈ 2 m
            "lon": p0["lon"],
            "neighbourhood": p0["neighbourhood"],
            "area_m2": p0["area_m2"] * np.array([1.0, 1.005, 1.0, 1.0]),
            "rooms": p0["rooms"],
            "floor": p0["floor"] + np.array([0.0, 0.0, 1.0, 0.0]),
            "date": pd.to_datetime(["2023-10-01", "2023-11-01", "2023-11-01", "2024-03-01"]),
        }
    )
    extra_values = values[0] + np.array([0.5, 0.1, 0.9, 0.7])
    return pd.concat([frame, extra], ignore_index=True), np.append(values, extra_values)


def test_a_flat_listed_before_under_another_id_is_its_twin() -> None:
    frame, values = _flats()
    loc = LocationFeatures(k=10, twin_past_only=True)
    feats = loc.fit_transform(frame, values)
    row = feats.iloc[0]  # p0 at 2024-01: twin "relisted" (2023-11) only
    # not the row itself, not p0's own earlier listing, not the flat one floor up,
    # not the listing of March 2024 (after the row)
    assert row["loc_twin_n"] == 1
    assert row["loc_twin"] == pytest.approx(values[0] + 0.1)
    assert row["loc_twin_days"] == pytest.approx(61.0)
    assert row["loc_twin_diff"] == pytest.approx(row["loc_twin"] - row["loc_knn_weighted"])
    # "later" sees p0's two listings and "relisted"; the most recent is p0 of 2024-01
    later = feats.iloc[-1]
    assert later["loc_twin_n"] == 3
    assert later["loc_twin"] == pytest.approx(values[0])
    assert later["loc_twin_mean"] == pytest.approx(values[0] + (0.5 + 0.1) / 3)
    # flats of the grid have no twin
    assert feats["loc_twin"].iloc[1:200].isna().all()
    assert (feats["loc_twin_n"].iloc[1:200] == 0).all()


def test_training_twins_may_be_later_listings_by_default() -> None:
    frame, values = _flats()
    row = LocationFeatures(k=10).fit_transform(frame, values).iloc[0]
    # p0 at 2024-01: "relisted" (2023-11) and "later" (2024-03), the most recent first;
    # still never itself, its own other listing or the flat one floor up
    assert row["loc_twin_n"] == 2
    assert row["loc_twin"] == pytest.approx(values[0] + 0.7)
    assert row["loc_twin_mean"] == pytest.approx(values[0] + 0.4)
    assert row["loc_twin_days"] == pytest.approx(-60.0)


def test_new_rows_find_twins_among_training_rows_only() -> None:
    frame, values = _flats()
    loc = LocationFeatures(k=10).fit(frame.iloc[:-1], values[:-1])
    subject = frame.iloc[[0]].assign(id="new", date=pd.Timestamp("2024-05-01"))
    feats = loc.transform(subject)
    # the new id sees p0 (2023-10 and 2024-01) and "relisted", never the other floor
    assert feats["loc_twin_n"].iloc[0] == 3
    assert feats["loc_twin"].iloc[0] == pytest.approx(values[0])
    # a twin in the batch being valued (not a training row) is never used
    both = pd.concat([subject, subject.assign(id="new2", date=pd.Timestamp("2024-06-01"))])
    pd.testing.assert_series_equal(
        loc.transform(both)["loc_twin"].reset_index(drop=True),
        pd.Series([values[0], values[0]], name="loc_twin"),
    )


def test_new_rows_can_be_seen_as_rows_without_twins() -> None:
    frame, values = _flats()
    loc = LocationFeatures(k=10).fit(frame.iloc[:-1], values[:-1])
    subjects = pd.concat(
        [frame.iloc[[0]].assign(id="new"), frame.iloc[[0]].assign(id="far", lat=np.nan)]
    )
    full, bare = loc.transform(subjects), loc.transform(subjects, twins=False)
    assert full["loc_twin_n"].iloc[0] == 3  # the twins exist ...
    assert bare["loc_twin_n"].tolist()[0] == 0.0 and np.isnan(bare["loc_twin_n"].iloc[1])
    for name in set(TWIN_FEATURE_NAMES) - {"loc_twin_n"}:  # ... but are not looked for
        assert bare[name].isna().all()
    others = [c for c in full.columns if c not in TWIN_FEATURE_NAMES]
    pd.testing.assert_frame_equal(bare[others], full[others])
    # derived from the features with twins: the same, without searching again
    assert has_twins(full).tolist() == [True, False]
    pd.testing.assert_frame_equal(without_twins(full), bare)
    pd.testing.assert_frame_equal(without_twins(bare), bare)


def test_twin_features_can_be_turned_off() -> None:
    frame, values = _flats()
    feats = LocationFeatures(twins=False, axes=0).fit_transform(frame, values)
    assert list(feats.columns) == list(FEATURE_NAMES)


def test_map_axes_are_the_position_along_rotated_directions() -> None:
    frame, values = _grid()
    feats = LocationFeatures(k=10, axes=4).fit(frame, values).transform(frame)
    names = [f"{AXIS_PREFIX}{j}" for j in range(1, 5)]
    assert [c for c in feats.columns if c.startswith(AXIS_PREFIX)] == names
    lat, lon = frame["lat"].to_numpy(), frame["lon"].to_numpy()
    east = lon * np.cos(np.radians(np.median(lat)))  # the plane at the median latitude
    for j, name in enumerate(names, start=1):
        angle = np.pi * j / 5  # 36°, 72°, 108°, 144° from east
        expected = east * np.cos(angle) + lat * np.sin(angle)
        np.testing.assert_allclose(feats[name].to_numpy(), expected, rtol=0, atol=1e-12)
    # a diagonal boundary (north-west of the line lat - 45 = east - 9 cos(lat0)) is one
    # threshold on the axis at 135° from east (the third of three: 45°, 90°, 135°)
    three = LocationFeatures(k=10, axes=3).fit(frame, values).transform(frame)
    side = (lat - 45.0) > (east - 9.0 * np.cos(np.radians(np.median(lat))))
    axis = three[f"{AXIS_PREFIX}3"].to_numpy()
    assert axis[side].min() > axis[~side].max() - 1e-12


def test_map_axes_are_missing_without_usable_coordinates_and_off_with_zero_axes() -> None:
    frame, values = _grid()
    loc = LocationFeatures(k=10).fit(frame, values)
    new = frame.iloc[:3].assign(lat=[np.nan, 0.0, 95.0], lon=[9.0, 0.0, 9.0])
    axes = loc.transform(new).filter(like=AXIS_PREFIX)
    assert axes.shape == (3, 6) and axes.isna().all().all()
    off = LocationFeatures(k=10, axes=0).fit(frame, values).transform(frame)
    assert not any(c.startswith(AXIS_PREFIX) for c in off.columns)
    with pytest.raises(ValueError, match="axes is -1; expected a whole number >= 0"):
        LocationFeatures(axes=-1).fit(frame, values)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-60, 60), st.floats(-179, 179)), min_size=2, max_size=12),
    st.floats(-60, 60),
    st.integers(1, 8),
)
def test_a_map_axis_never_stretches_a_distance(points, axis_lat, axes) -> None:
    """Each axis is a projection of the plane (east, north): two homes are never farther
    apart along an axis than on the plane."""
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    out = map_axes(lat, lon, axis_lat, axes)
    assert len(out) == axes
    east = lon * np.cos(np.radians(axis_lat))
    plane = np.hypot(east[:, None] - east[None, :], lat[:, None] - lat[None, :])
    for values in out.values():
        along = np.abs(values[:, None] - values[None, :])
        assert (along <= plane + 1e-9).all()


def test_map_axes_survive_a_bundle_round_trip_and_old_bundles_have_none(tmp_path) -> None:
    frame, values = _grid()
    loc = LocationFeatures(k=10).fit(frame.iloc[:300], values[:300])
    folder = BundleFolder(str(tmp_path / "b"))
    meta = loc.to_bundle(folder)
    loaded = LocationFeatures.from_bundle(folder, meta)
    pd.testing.assert_frame_equal(
        loaded.transform(frame.iloc[300:]), loc.transform(frame.iloc[300:])
    )
    # a bundle saved before the map axes: no "axes" parameter, no "axis_lat"
    old = {**meta, "params": {k: v for k, v in meta["params"].items() if k != "axes"}}
    del old["axis_lat"]
    before = LocationFeatures.from_bundle(folder, old).transform(frame.iloc[300:])
    assert not any(c.startswith(AXIS_PREFIX) for c in before.columns)
