"""The engine's per-call shortcuts: the same numbers and frames as the general path."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.bundle_folder import BundleFolder
from estimo.frames import complete_ns_dates, text_array
from estimo.model.avm import AVM
from estimo.model.comps_encoding import resolve_valuation_dates
from estimo.model.comps_stats import row_nanmedian
from estimo.synth import generate_market


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    # its plain member is active when the index holds only location and area (with the
    # characteristics too, the engine alone values this small market best: weight 0)
    return generate_market(2_400, seed=41, faults=False).frame


@pytest.fixture(scope="module")
def engine(market) -> AVM:
    params = {"n_estimators": 60, "learning_rate": 0.1, "min_city_rows": 500, "comps_k": 5}
    params["index_controls"] = "location"  # see the market's fixture
    return AVM(**params, n_jobs=1).fit(market.iloc[:2_200].reset_index(drop=True))


def _bits(values: np.ndarray) -> list[int]:
    """Each float's bits (NaN as one value), so that -0.0 and 0.0 differ."""
    return np.where(np.isnan(values), np.nan, values).view(np.int64).tolist()


VALUE = st.one_of(
    st.just(np.nan),
    st.just(0.0),
    st.just(-0.0),
    st.just(np.inf),
    st.just(-np.inf),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 1)),
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda k: st.lists(st.lists(VALUE, min_size=k, max_size=k), min_size=1, max_size=6)
    )
)
def test_row_medians_are_numpys_nan_medians_to_the_bit(rows) -> None:
    values = np.array(rows, dtype=float)
    values[np.isnan(values).all(axis=1), 0] = 1.5  # every row has a value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(values, axis=1)
        large = np.nanmedian(np.tile(values, (120, 1)), axis=1)[: len(values)]  # numpy's other path
    assert _bits(row_nanmedian(values)) == _bits(expected) == _bits(large)


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("given_as", ["column", "array"])
def test_engine_dates_take_no_parsing_and_give_the_parsed_series(missing, given_as) -> None:
    stamps = pd.to_datetime(["2024-01-05", "2023-12-31", "2024-02-29"]).as_unit("ns")
    if missing:
        stamps = stamps.insert(1, pd.NaT)
    subjects = pd.DataFrame({"date": stamps, "city": "Roma"})
    default = pd.Timestamp("2024-03-31")
    as_objects = np.array([None if pd.isna(s) else s.isoformat() for s in stamps], dtype=object)
    if given_as == "column":
        fast = resolve_valuation_dates(subjects, None, default)
        slow = resolve_valuation_dates(subjects.assign(date=as_objects), None, default)
    else:
        fast = resolve_valuation_dates(subjects, pd.Series(stamps), default)
        slow = resolve_valuation_dates(subjects, as_objects, default)
    pd.testing.assert_series_equal(fast, slow)
    assert (complete_ns_dates(stamps.array) is None) == missing


def test_the_stages_dates_of_parsed_rows_are_those_of_parsing(engine) -> None:
    subjects = engine.finder_.reference_.head(4).reset_index(drop=True)
    stage = engine.stage_
    fast = stage.valuation_dates(subjects)
    expected = pd.to_datetime(subjects["date"]).fillna(stage.reference_date_)
    pd.testing.assert_series_equal(fast, expected)
    fast[0] = pd.NaT  # a copy: the rows keep their dates
    assert subjects["date"].notna().all()


@pytest.mark.parametrize("n", [1, 300])  # the frame built directly, and by the constructor
def test_adaptive_ranges_frame_is_the_constructors(engine, market, n) -> None:
    rows = market.tail(n).reset_index(drop=True)
    trust = engine._parts(rows)["trust"]
    columns = {
        name: trust[name].to_numpy(dtype=object)
        if name in ("confidence", "group")
        else pd.Series(trust[name].tolist(), dtype=object)
        if name == "flags"
        else trust[name].to_numpy()
        for name in trust.columns
    }
    expected = pd.DataFrame(columns, index=pd.RangeIndex(n))
    pd.testing.assert_frame_equal(trust, expected)
    assert trust["group"].dtype == text_array(np.array(["city"], dtype=object)).dtype


def _same_pass(engine: AVM, rows: pd.DataFrame) -> None:
    """The explained pass gives the valuations and contributions of the separate calls."""
    explained = engine.value_with_contributions(rows)
    plain = engine.value(rows)
    assert [v.to_dict() for v in explained.valuations] == [v.to_dict() for v in plain]
    pd.testing.assert_frame_equal(explained.contributions, engine.log_contributions(rows))


def test_the_plain_members_matrix_built_once_gives_the_same_pass(engine, market) -> None:
    assert engine.plain_ is not None and engine.plain_.active
    rows = market.tail(40)
    _same_pass(engine, rows)
    for i in (0, 17, 39):  # one property: the same as its own separate calls
        _same_pass(engine, rows.iloc[[i]])


def test_a_loaded_engine_gives_the_fitted_engines_pass(engine, market, tmp_path) -> None:
    folder = BundleFolder(str(tmp_path / "engine"))
    engine.to_bundle(folder)
    loaded = AVM.from_bundle(folder)
    assert loaded.plain_.active
    rows = market.tail(12)
    a, b = engine.value_with_contributions(rows), loaded.value_with_contributions(rows)
    assert [v.to_dict() for v in a.valuations] == [v.to_dict() for v in b.valuations]
    pd.testing.assert_frame_equal(a.contributions, b.contributions)
    _same_pass(loaded, rows)


def test_the_plain_members_matrix_from_columns_is_the_frames(engine, market) -> None:
    """The plain member reads its matrix from the columns, the dates and the map axes: the
    numbers of the frame it read before, for parsed dates, other dates and none."""
    plain = engine.plain_
    rows = market.tail(30).reset_index(drop=True).drop(columns=["rooms"])
    parsed = engine.stage_.valuation_dates(rows, "2024-01-15")
    for dates in (parsed, parsed.to_numpy(), None, np.array(["2024-01-15"] * 30, dtype=object)):
        expected = plain.model_.model_matrix(plain._prepared(rows, dates))
        np.testing.assert_array_equal(plain.model_matrix(rows, dates), expected)
    assert plain._prepared_arrays(rows, parsed.to_numpy()[:3]) is None  # not one per row


def test_location_days_of_parsed_dates_are_pandas_seconds() -> None:
    from estimo.features.location import _days

    rng = np.random.default_rng(3)
    seconds = rng.integers(-2_000_000_000, 9_000_000_000, 400)
    stamps = seconds.astype("datetime64[s]").astype("datetime64[ns]")
    stamps[::7] = np.datetime64("NaT")
    frame = pd.DataFrame({"date": stamps})
    dates = pd.to_datetime(frame["date"], errors="coerce")
    days = (dates - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(float) / 86_400.0
    expected = np.where(dates.isna().to_numpy(), np.nan, days)
    assert _bits(_days(frame)) == _bits(expected)
    frame.loc[1, "date"] = pd.Timestamp("2024-01-01 00:00:00.5")  # below a second: parsed
    assert np.isclose(_days(frame)[1], 19723.0 + 0.5 / 86_400)


@pytest.mark.parametrize(
    "values",
    [
        np.array(["x", None, np.nan], dtype=object),
        np.array([None, None], dtype=object),
        np.array(["x", 1], dtype=object),
        np.array([], dtype=object),
        np.array(["2024-05-01", "NaT"], dtype="M8[ns]"),
        np.array(["2024-05-01"], dtype="M8[s]"),
        np.array([1.5, np.nan]),
    ],
)
def test_stored_arrays_are_what_the_constructor_stores(values) -> None:
    from estimo.frames import frame_of, stored_array

    built = frame_of({"c": stored_array(values), "n": np.zeros(len(values))}, len(values))
    expected = pd.DataFrame({"c": values, "n": np.zeros(len(values))})
    pd.testing.assert_frame_equal(built, expected)
    assert built["c"].dtype == expected["c"].dtype


def test_comparables_table_is_the_constructors(engine, market) -> None:
    rows = market.tail(5).reset_index(drop=True)
    table = engine._parts(rows, explain=True)["comps"].comparables
    adjustments = table.pop("adjustments")  # a column of dicts, as setting a list makes it
    assert adjustments.dtype == np.dtype(object) and all(isinstance(a, dict) for a in adjustments)
    columns = {  # the arrays the table was built from: text as Python objects, as found
        name: table[name].to_numpy(dtype=object)
        if isinstance(table[name].dtype, pd.StringDtype)
        else table[name].to_numpy()
        for name in table.columns
    }
    pd.testing.assert_frame_equal(table, pd.DataFrame(columns))


def test_score_grid_is_kept_per_table_and_not_pickled(engine) -> None:
    import pickle

    scores = engine.adaptive_.scores_
    grid = scores._grid()
    assert scores._grid() is grid and "_grid_cache" in scores.__dict__
    again = pickle.loads(pickle.dumps(scores))
    assert "_grid_cache" not in again.__dict__
    np.testing.assert_array_equal(again._grid(), grid)
    assert "_grid_cache" not in scores.get_params()


def test_features_without_twins_are_their_own_hedonic_features(engine, market) -> None:
    """The engine reads a property without twins' features as its hedonic ones (no copy
    with blank twin columns): they are the same."""
    from estimo.features.location import has_twins, without_twins

    features = engine.stage_.features(market.tail(60).reset_index(drop=True))
    plain = features.loc[~has_twins(features)]
    assert len(plain) and "loc_twin_n" in plain
    pd.testing.assert_frame_equal(without_twins(plain), plain)


def test_a_property_without_twins_is_valued_at_the_reference_once(engine, market) -> None:
    """Without twins, the hedonic view's price at the reference date is the stage's own."""
    from estimo.features.location import has_twins

    rows = market.tail(60).reset_index(drop=True)
    steps = engine.stage_.predict_steps(rows)
    alone = ~has_twins(steps.features)
    assert alone.any()
    view = engine.stage_.hedonic_view().at_reference(rows, steps.features)
    assert _bits(view[alone]) == _bits(steps.at_reference[alone])
    assert _bits(steps.at_reference + steps.time_shift) == _bits(steps.log_price)


def test_category_codes_of_arrays_are_those_of_series() -> None:
    from estimo.model.comps_encoding import category_codes

    values = ["flat", None, "villa", np.nan, "house"]
    for series in (pd.Series(values, dtype=object), pd.Series(values, dtype="str")):
        expected = category_codes(series, ("flat", "house"))
        assert category_codes(series.array, ("flat", "house")).tolist() == expected.tolist()
        assert category_codes(series.to_numpy(), ("flat", "house")).tolist() == [0, -1, -2, -1, 1]


def test_text_of_strings_skips_the_missing_look_with_the_same_text() -> None:
    from estimo.frames import str_values
    from estimo.model.valuation import FeatureSpec, build_feature_values

    assert str_values(np.array(["Roma", "Milano"], dtype=object)).tolist() == ["Roma", "Milano"]
    assert str_values(np.array(["Roma", None, np.nan, pd.NA], dtype=object)).tolist() == [
        "Roma",
        "nan",
        "nan",
        "nan",
    ]
    spec = FeatureSpec(numeric=(), categorical={"condition": ("good", "new")})
    for values in (["new", "good"], ["new", None], ["bad", np.nan]):
        frame = pd.DataFrame({"condition": np.array(values, dtype=object)})
        as_series = frame.astype({"condition": "category"})  # not all str: pd.isna asked
        expected = build_feature_values(as_series, spec, with_date=False)
        got = build_feature_values(frame, spec, with_date=False)
        assert _bits(got.ravel()) == _bits(expected.ravel())
