"""The plain LightGBM blended into the engine's model (estimo.model.plain_member)."""

from __future__ import annotations

from functools import cache

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.model.avm import AVM
from estimo.model.bundle import load_model, save_model
from estimo.model.plain_member import WEIGHT_GRID, PlainMember, choose_weight
from estimo.model.valuation import ValuationModel
from estimo.synth import generate_market


@cache
def _market():
    frame = generate_market(2_400, seed=41, faults=False).frame
    return frame.iloc[:2_200].reset_index(drop=True), frame.iloc[2_200:2_230]


def _new_engine(plain_member: bool = True) -> AVM:
    # the member is active on this market when the index holds only location and area
    # (with the homes' characteristics too, the engine alone values it best: weight 0)
    return AVM(
        n_estimators=60,
        learning_rate=0.1,
        min_city_rows=500,
        comps_k=5,
        n_jobs=1,
        plain_member=plain_member,
        index_controls="location",
    )


@cache
def _engine(plain_member: bool = True) -> AVM:
    train, _ = _market()
    return _new_engine(plain_member).fit(train)


def _mae(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - truth)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-1, 1, allow_nan=False),
            st.floats(-1, 1, allow_nan=False),
            st.floats(-1, 1, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_chosen_weight_is_the_best_of_the_grid(rows):
    engine, plain, truth = (np.array(column) for column in zip(*rows, strict=True))
    w = choose_weight(engine, plain, truth)
    assert w in WEIGHT_GRID
    chosen = _mae((1 - w) * engine + w * plain, truth)
    for other in WEIGHT_GRID:
        assert chosen <= _mae((1 - other) * engine + other * plain, truth) + 1e-9


def test_weight_is_zero_when_the_plain_model_adds_nothing_or_nothing_can_be_scored():
    truth = np.linspace(11, 13, 50)
    assert choose_weight(truth, truth + 0.1, truth) == 0.0
    assert choose_weight(truth, np.full(50, np.nan), truth) == 0.0


def test_early_stopping_keeps_the_trees_up_to_the_best_validation_score():
    frame = generate_market(1_500, seed=3, faults=False).frame
    fit, held = frame.iloc[:1_200], frame.iloc[1_200:]
    model = ValuationModel(n_estimators=400, learning_rate=0.3).fit(
        fit, eval_frame=held, callbacks=[lgb.early_stopping(10, verbose=False)]
    )
    assert 0 < model.booster_.current_iteration() < 400
    full = ValuationModel(n_estimators=400, learning_rate=0.3).fit(fit)
    assert full.booster_.current_iteration() == 400


def test_the_engine_records_the_member_chosen_on_its_validation_slice():
    engine = _engine()
    facts = engine.validation_["plain_member"]
    assert facts["weight"] == engine.plain_.weight_
    assert 0.0 <= facts["weight"] <= 1.0
    assert facts["engine"]["n"] == facts["plain"]["n"] == engine.validation_["n"]
    assert engine.plain_.active
    assert engine.plain_.n_fit_ == engine.n_train_


def test_the_blend_and_ranges_are_calibrated_on_the_blended_model():
    """The validation slice's model value, which the comparables' blend and the ranges are
    fitted on, is the engine's blended with the member (also when the first stage tried is
    kept; a review once left the member out there)."""
    train, _ = _market()
    engine = _new_engine()
    report = engine.validate(train)
    assert engine.plain_.active
    rows = engine.validation_rows_
    engine_log = engine.validation_stage_.predict_log(rows)
    blended = engine.plain_.blend(engine_log, rows)
    errors = np.abs(np.expm1(blended - np.log(rows["price"].to_numpy(float))))
    assert report["model"]["mdape"] == pytest.approx(float(np.median(errors)))
    assert report["model"]["mdape"] != report["plain_member"]["engine"]["mdape"]


def test_the_model_value_is_the_weighted_log_average_of_engine_and_plain():
    engine = _engine()
    _, test = _market()
    w = engine.plain_.weight_
    engine_log = engine.stage_.predict_log(test)
    plain_log = engine.plain_.predict_log(test, test["date"])
    expected = (1 - w) * engine_log + w * plain_log
    assert np.allclose(engine.predict_log(test), expected)
    assert np.allclose(engine.predict_components(test)["model"], np.exp(expected))


def test_contributions_add_up_with_the_member_and_its_date_is_time():
    engine = _engine()
    _, test = _market()
    later = test["date"].max() + np.timedelta64(400, "D")
    for when in (None, later):
        contributions = engine.log_contributions(test, valuation_date=when)
        total = contributions.sum(axis=1).to_numpy()
        assert np.allclose(total, np.log(engine.predict(test, valuation_date=when)), atol=1e-6)
    assert "date_years" not in contributions.columns


def test_without_the_member_the_engine_values_as_before():
    engine = _engine(plain_member=False)
    _, test = _market()
    assert engine.plain_ is None
    assert "plain_member" not in engine.validation_
    assert np.allclose(engine.predict_log(test), engine.stage_.predict_log(test))


def test_a_member_of_weight_zero_keeps_no_model():
    train, test = _market()
    member = PlainMember(n_estimators=30).fit_validation(
        train.iloc[:1_800], None, train.iloc[1_800:], np.log(train["price"].iloc[1_800:])
    )
    assert member.weight_ == 0.0  # the "engine" here is the truth itself
    refitted = member.refit(train, None)
    assert refitted.model_ is None and not refitted.active
    engine_log = np.zeros(len(test))
    assert np.array_equal(refitted.blend(engine_log, test), engine_log)


def test_the_member_survives_a_bundle_round_trip(tmp_path):
    engine = _engine()
    _, test = _market()
    folder = save_model(engine, str(tmp_path / "model"))
    assert (tmp_path / "model" / "plain" / "model.txt").exists()
    loaded = load_model(folder)
    assert loaded.plain_.weight_ == engine.plain_.weight_
    assert np.allclose(loaded.predict(test), engine.predict(test))
    assert np.allclose(loaded.log_contributions(test), engine.log_contributions(test))


def test_an_engine_saved_without_a_member_loads_without_one(tmp_path):
    engine = _engine(plain_member=False)
    _, test = _market()
    loaded = load_model(save_model(engine, str(tmp_path / "m")))
    assert loaded.plain_ is None
    assert np.allclose(loaded.predict(test), engine.predict(test))


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_choose_weight_never_leaves_the_grid(bad):
    truth = np.zeros(3)
    assert choose_weight(truth + bad, truth - bad, truth) in WEIGHT_GRID


def test_the_member_reads_the_map_axes_and_keeps_them_through_a_bundle(tmp_path):
    """With ``map_axes`` the plain model splits on rotated coordinates too (the engine's
    ``loc_axis_*``); its contributions land on the engine's columns of the same names."""
    train, test = _market()
    engine = AVM(
        n_estimators=60, learning_rate=0.1, min_city_rows=500, comps_k=5, n_jobs=1, map_axes=2
    ).fit(train)
    assert engine.plain_.active
    names = engine.plain_.model_.booster_.feature_name()
    assert {"loc_axis_1", "loc_axis_2"} <= set(names)
    assert engine.plain_.axis_lat_ == pytest.approx(float(np.median(train["lat"])))
    contributions = engine.log_contributions(test)
    assert {"loc_axis_1", "loc_axis_2"} <= set(contributions.columns)
    np.testing.assert_allclose(
        contributions.sum(axis=1).to_numpy(), np.log(engine.predict(test)), atol=1e-9
    )
    loaded = load_model(save_model(engine, str(tmp_path / "axes")))
    assert loaded.plain_.axis_lat_ == engine.plain_.axis_lat_
    assert np.array_equal(loaded.predict(test), engine.predict(test))
    # a member saved before the map axes (no parameter): none read
    assert PlainMember().map_axes == 0
