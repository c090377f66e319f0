from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError, NotFittedError
from estimo.evaluate.backtest import run_backtest
from estimo.explain.labels import Labeler
from estimo.explain.text import note_sentences
from estimo.model.avm import AVM, SWITCH_CONFIDENCE
from estimo.model.bundle import load_model, save_model
from estimo.model.segmented import GLOBAL
from estimo.model.valuation_result import Valuation, WarningThresholds
from estimo.split import out_of_time_split

FAST = {"n_estimators": 25, "learning_rate": 0.2, "min_city_rows": 300, "comps_k": 5}
CUTOFF = "2023-09-01"


@pytest.fixture(scope="module")
def split(clean_market):
    return out_of_time_split(clean_market.frame, CUTOFF)


@pytest.fixture(scope="module")
def avm(split) -> AVM:
    return AVM(**FAST, currency="EUR").fit(split.train)


def test_values_new_properties_with_a_range(avm, split) -> None:
    table = avm.predict_table(split.test)
    actual = split.test["price"].to_numpy()
    ape = np.abs(table["predicted"].to_numpy() / actual - 1)
    assert np.median(ape) < 0.15
    assert (table["low"] <= table["predicted"]).all()
    assert (table["predicted"] <= table["high"]).all()
    assert (table["high_90"] - table["low_90"] >= table["high"] - table["low"] - 1e-9).all()
    covered = ((actual >= table["low"]) & (actual <= table["high"])).mean()
    assert 0.65 < covered < 0.95
    assert set(table["sub_model"].str.split(":").str[0]) <= {"city", "global", "blend"}


def test_value_returns_valuations_with_comparables(avm, split) -> None:
    valuations = avm.value(split.test.head(3))
    assert len(valuations) == 3 and all(isinstance(v, Valuation) for v in valuations)
    v = valuations[0]
    assert v.currency == "EUR" and v.comparables and 0 <= v.blend_weight <= 1
    assert v.fsd > 0 and v.confidence in {"high", "medium", "low"}
    assert v.to_dict()["subject_id"] == split.test["id"].iloc[0]


def test_a_sparse_subject_in_an_unknown_city_gets_warnings(avm) -> None:
    subject = pd.DataFrame({"city": ["Atlantis"], "date": [pd.Timestamp("2023-10-01")]})
    v = avm.value(subject)[0]
    assert v.price > 0 and v.sub_model == "global"
    text = " ".join(v.warnings)
    assert "was not seen in training" in text and "'area_m2' was imputed" in text


def test_a_subject_without_a_city_is_valued_by_the_global_model(avm, split) -> None:
    subject = split.test.head(1).assign(city=None)
    v = avm.value(subject)[0]
    assert v.price > 0 and v.sub_model == "global"
    assert v.warnings[0].startswith("no city was given: valued by the global model")
    assert "nan" not in v.warnings[0]
    assert note_sentences(v.warnings, Labeler("en"))[0].startswith("The city was not given")


def test_a_home_without_coordinates_is_told_so_once(avm, split) -> None:
    """Unknown coordinates: the comparables' sentence says where the home is unknown; the
    imputed latitude and longitude add no second sentence about the same fact."""
    v = avm.value(split.test.head(1).assign(lat=np.nan, lon=np.nan))[0]
    assert "feature 'lat' was imputed" in v.warnings  # the raw warnings keep both facts
    for lang in ("en", "it", "es"):
        labeler = Labeler(lang)
        notes = note_sentences(v.warnings, labeler)
        told = [n for n in notes if n == labeler.locale.text("warn_no_coordinates")]
        assert len(told) == 1, notes
        assert not any(labeler.label("lat") in n for n in notes), notes
    # a missing year is still told: only the coordinates' own sentence is folded in
    year = note_sentences([*v.warnings, "feature 'year_built' was imputed"], Labeler("en"))
    assert any(Labeler("en").label("year_built") in n for n in year)


def test_predictions_move_with_the_valuation_date(avm, split) -> None:
    rows = split.test.loc[split.test["city"] == "Milano"].head(5)
    early = avm.predict_log(rows, valuation_date="2022-01-15")
    late = avm.predict_log(rows, valuation_date="2023-08-15")
    shift = avm.stage_.index.log_factor(["Milano"], ["2022-01-15"], pd.Timestamp("2023-08-15"))
    np.testing.assert_allclose(late - early, shift[0])
    assert shift[0] > 0.05  # Milano drifts up by 8 % a year


def test_log_contributions_add_up_to_the_valuation(avm, split) -> None:
    rows = split.test.head(20)
    contrib = avm.log_contributions(rows)
    assert {"_base", "_time", "_comparables", "loc_knn_weighted"} <= set(contrib.columns)
    np.testing.assert_allclose(contrib.sum(axis=1), np.log(avm.predict(rows)), atol=1e-8)


def test_one_pass_explanation_matches_the_separate_calls(avm, split) -> None:
    rows = split.test.head(15).set_axis(range(100, 115))
    valuations, contrib, features = avm.value_with_contributions(rows)
    assert list(contrib.index) == list(rows.index)
    pd.testing.assert_frame_equal(features, avm.stage_.features(rows.reset_index(drop=True)))
    pd.testing.assert_frame_equal(contrib, avm.log_contributions(rows))
    assert [v.price for v in valuations] == [v.price for v in avm.value(rows)]
    np.testing.assert_allclose(contrib.sum(axis=1), np.log([v.price for v in valuations]))


def test_routing_says_why(avm) -> None:
    assert set(avm.routing_) == set(avm.cities_)
    for info in avm.routing_.values():
        assert info["served_by"] in {"city", "global", "blend"} and info["reason"]
    assert {"model", "comps", "blend"} <= set(avm.validation_)


def test_validate_scores_the_validation_slice_only(avm, split) -> None:
    report = AVM(**FAST, currency="EUR").validate(split.train)
    assert report == avm.validation_  # what fit records, without the serving models
    assert pd.Timestamp(report["from"]) <= split.train["date"].max()
    assert 0 < report["blend"]["mdape"] < 0.3 and report["n"] >= 30
    unfitted = AVM(**FAST)
    unfitted.validate(split.train)
    with pytest.raises(NotFittedError):
        unfitted.predict(split.test.head(2))
    with pytest.raises(ValueError, match="already fitted"):  # would change what it serves
        avm.validate(split.train)


@pytest.fixture(scope="module")
def auto_avm(split) -> AVM:
    return AVM(**FAST, use_offset="auto").fit(split.train)


def test_auto_offset_keeps_the_offset_unless_the_slice_clearly_prefers_none(auto_avm) -> None:
    avm = auto_avm
    report = avm.validation_["use_offset"]
    assert set(report["tried"]) == {"true", "false"}
    assert 0.0 <= report["switch_confidence"] <= 1.0
    switched = report["switch_confidence"] >= SWITCH_CONFIDENCE
    assert report["chosen"] is (not switched)
    if switched:
        assert report["tried"]["false"]["mdape"] < report["tried"]["true"]["mdape"]
    kept = "true" if report["chosen"] else "false"
    assert avm.stage_.use_offset is report["chosen"]  # the serving stage is the one chosen
    assert report["tried"][kept]["plain_weight"] == avm.plain_.weight_
    # the report's MdAPE of the kept stage is the model's on the slice (before comparables)
    assert report["tried"][kept]["mdape"] == pytest.approx(avm.validation_["model"]["mdape"])


@pytest.mark.parametrize("offset", [True, False])
def test_a_fixed_offset_is_the_only_one_tried_and_survives_a_bundle(
    split, offset, tmp_path
) -> None:
    fixed = AVM(**FAST, use_offset=offset).fit(split.train)
    assert list(fixed.validation_["use_offset"]["tried"]) == [str(offset).lower()]
    assert fixed.stage_.use_offset is offset
    save_model(fixed, str(tmp_path / "avm"))
    again = load_model(str(tmp_path / "avm"))
    assert again.stage_.use_offset is offset
    rows = split.test.head(20)
    np.testing.assert_allclose(again.predict(rows), fixed.predict(rows))


def test_offsets_differ_and_a_bad_offset_setting_is_named(split) -> None:
    rows = split.test.head(50)
    on = AVM(**FAST, use_offset=True, comps=False).fit(split.train)
    off = AVM(**FAST, use_offset=False, comps=False).fit(split.train)
    assert not np.allclose(on.predict(rows), off.predict(rows))
    with pytest.raises(ValueError, match="use_offset is 'yes'; expected true, false or 'auto'"):
        AVM(**FAST, use_offset="yes").fit(split.train)


def test_huber_delta_reaches_the_sub_models(split) -> None:
    narrow = AVM(**FAST, huber_delta=0.05, comps=False).fit(split.train)
    assert narrow.get_params()["huber_delta"] == 0.05
    assert narrow.stage_.model.huber_delta == 0.05
    wide = AVM(**FAST, huber_delta=1.0, comps=False).fit(split.train)
    rows = split.test.head(50)
    assert not np.allclose(narrow.predict(rows), wide.predict(rows))


def test_bagging_and_l2_penalty_reach_the_sub_models(split) -> None:
    every_row = AVM(**FAST, subsample=1.0, reg_lambda=20.0, comps=False).fit(split.train)
    assert every_row.stage_.model.subsample == 1.0
    assert every_row.stage_.model.reg_lambda == 20.0
    params = every_row.stage_.model.boosters_[GLOBAL].params
    assert params["bagging_freq"] == 0 and params["lambda_l2"] == 20.0
    default = AVM(**FAST, comps=False).fit(split.train)
    assert default.get_params()["subsample"] == 0.8
    rows = split.test.head(50)
    assert not np.allclose(every_row.predict(rows), default.predict(rows))


def test_bundle_round_trip_without_pickles(avm, split, tmp_path) -> None:
    save_model(avm, str(tmp_path / "avm"), extra={"note": "test"})
    files = {p.suffix for p in (tmp_path / "avm").rglob("*") if p.is_file()}
    assert files <= {".txt", ".json", ".parquet"}
    again = load_model(str(tmp_path / "avm"))
    assert isinstance(again, AVM) and again.bundle_extra_ == {"note": "test"}
    rows = split.test.head(40)
    pd.testing.assert_frame_equal(again.predict_table(rows), avm.predict_table(rows))
    assert again.warning_thresholds_ == avm.warning_thresholds_
    assert [v.warnings for v in again.value(rows)] == [v.warnings for v in avm.value(rows)]


def test_dissimilar_comparables_warning_is_calibrated_on_the_market(avm, split) -> None:
    """The "not very similar" warning marks the market's least similar valuations (about
    a tenth on validation), not nearly all of them as a fixed threshold would."""
    limit = avm.warning_thresholds_.min_similarity
    assert 0 < limit <= WarningThresholds().min_similarity
    valuations = avm.value(split.test)
    warned = np.mean([any("not very similar" in w for w in v.warnings) for v in valuations])
    assert warned < 0.3
    similarity = [np.mean([c.similarity for c in v.comparables]) for v in valuations]
    below = [s < limit for s in similarity]
    flagged = [any("not very similar" in w for w in v.warnings) for v in valuations]
    assert below == flagged


def test_test_rows_cannot_influence_training(clean_market) -> None:
    """Leakage: perturbing the prices of the test rows changes no training statistic."""
    frame = clean_market.frame
    split = out_of_time_split(frame, CUTOFF)
    perturbed = frame.copy()
    after = perturbed["date"] >= pd.Timestamp(CUTOFF)
    rng = np.random.default_rng(0)
    perturbed.loc[after, "price"] *= rng.uniform(0.3, 3.0, int(after.sum()))
    a = run_backtest(frame, CUTOFF, model_params=FAST)
    b = run_backtest(perturbed, CUTOFF, model_params=FAST)
    ea, eb = a.model.engine_, b.model.engine_  # the engines inside the backtests' pipelines
    pd.testing.assert_frame_equal(ea.stage_.index.table(), eb.stage_.index.table())
    np.testing.assert_array_equal(ea.stage_.location.values_, eb.stage_.location.values_)
    pd.testing.assert_frame_equal(ea.intervals_.table_, eb.intervals_.table_)
    assert ea.blend_.to_dict() == eb.blend_.to_dict()
    assert ea.routing_ == eb.routing_
    train = split.train.head(200)
    np.testing.assert_array_equal(ea.predict_log(train), eb.predict_log(train))
    # location features of the test rows (spatial lag, twins) come from training rows only
    test = split.test.head(200)
    features_a, features_b = ea.stage_.features(test), eb.stage_.features(test)
    assert {"loc_twin", "loc_twin_n"} <= set(features_a.columns)
    pd.testing.assert_frame_equal(features_a, features_b)
    # the test predictions are identical too: only the scores see the perturbed prices
    np.testing.assert_array_equal(a.predictions["predicted"], b.predictions["predicted"])


def test_validation_prices_never_enter_training_features(split) -> None:
    """In the validation pass, held-out prices drive early stopping and routing only."""
    avm = AVM(**FAST)
    val_split = avm._validation_split(split.train)
    fit_part = split.train.iloc[val_split.fit_rows]
    bumped = val_split.test.assign(price=val_split.test["price"] * 1.7)
    a = avm._new_stage(True).fit(fit_part, validation=val_split.test)
    b = avm._new_stage(True).fit(fit_part, validation=bumped)
    pd.testing.assert_frame_equal(a.index.table(), b.index.table())
    np.testing.assert_array_equal(a.location.values_, b.location.values_)
    assert a.city_level_ == b.city_level_


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "no rows"),
        ({"comps_location_features": ["centre_km"]}, "'centre_km', which is not a column"),
    ],
    ids=["empty", "unknown-location-feature"],
)
def test_errors_are_clear(clean_market, params, message) -> None:
    frame = clean_market.frame if params else clean_market.frame.iloc[:0]
    with pytest.raises(DataError, match=message):
        AVM(**FAST, **params).fit(frame)
    with pytest.raises(NotFittedError, match="not fitted"):
        AVM().predict(frame)


def test_comparables_adjust_without_the_twin_price(avm, split) -> None:
    """The comparables' adjustment model sees every row as one without a twin."""
    rows = split.test.head(30)
    view = avm.stage_.hedonic_view()
    X = view.features(rows)
    assert X["loc_twin"].isna().all() and (X["loc_twin_n"] == 0).all()
    assert X["loc_knn_weighted"].equals(avm.stage_.features(rows)["loc_knn_weighted"])
    assert np.isfinite(view.predict_log(rows)).all()


def test_the_offset_is_left_only_when_the_slice_is_clearly_better_without_it() -> None:
    from types import SimpleNamespace

    from estimo.model.avm import _chosen_stage

    actual = np.zeros(200)
    on, off = SimpleNamespace(use_offset=True), SimpleNamespace(use_offset=False)
    plain = np.full(200, 0.3)  # a poor plain member: weight 0 against a good engine
    best, report = _chosen_stage([on, off], [actual + 0.2, actual + 0.05], plain, actual)
    assert best == 1 and report["chosen"] is False and report["switch_confidence"] == 1.0
    assert report["tried"]["false"]["mean_abs_log_error"] == pytest.approx(0.05)
    assert report["tried"]["false"]["mdape"] == pytest.approx(np.exp(0.05) - 1)
    assert report["tried"]["false"]["plain_weight"] == 0.0
    # blending with the plain member counts: +0.2 blended with -0.2 errs 0, beating +0.05
    best, report = _chosen_stage([on, off], [actual + 0.2, actual + 0.05], actual - 0.2, actual)
    assert best == 0 and report["tried"]["true"]["plain_weight"] == 0.5
    best, report = _chosen_stage([on, off], [actual + 0.1, actual + 0.1], None, actual)
    assert best == 0 and report["switch_confidence"] == 0.0  # equal: the default
    # a smaller median from another draw of the same noise is no reason to switch
    rng = np.random.default_rng(0)
    quiet, loud = rng.normal(0, 0.1, 200), rng.normal(0, 0.1, 200)  # MdAPE 6.5 and 7.1 %
    best, report = _chosen_stage([on, off], [loud, quiet], None, actual)
    assert report["tried"]["false"]["mdape"] < report["tried"]["true"]["mdape"]
    assert best == 0 and report["switch_confidence"] < SWITCH_CONFIDENCE
    # the median decides, not the mean: a few wild misses do not outvote the other rows
    wild = np.where(np.arange(200) < 10, 2.0, 0.02)
    best, _ = _chosen_stage([on, off], [actual + 0.08, wild], None, actual)
    assert best == 1
