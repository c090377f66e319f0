"""Cleaning policy, label calibration and prepare_training_data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.config import ImputeOverride, ProjectConfig, QualityConfig
from estimo.errors import DataError, NotFittedError
from estimo.quality.calibrate import LabelCalibrator
from estimo.quality.clean import CHANGE_COLUMNS, CleaningPolicy
from estimo.quality.prepare import OBSERVED_PRICE_COLUMN, prepare_training_data
from estimo.schema import feature_columns
from estimo.synth import SyntheticMarket


@pytest.fixture(scope="module")
def cleaned(market: SyntheticMarket):
    policy = CleaningPolicy()
    return policy, policy.fit_transform(market.frame)


def test_counts_add_up(cleaned, market):
    _, result = cleaned
    assert len(result.frame) + len(result.dropped) == len(market.frame)
    assert result.dropped["row"].is_unique
    assert set(result.dropped["row"]).isdisjoint(result.rows)
    assert list(result.changes.columns) == CHANGE_COLUMNS
    assert set(result.changes["row"]) <= set(result.rows)


def test_every_changed_value_is_logged(cleaned, market):
    _, result = cleaned
    original = market.frame.iloc[result.rows].reset_index(drop=True)
    for column in ("lat", "lon", "area_m2", "rooms", "year_built", "condition"):
        before, after = original[column], result.frame[column]
        differs = ~((before == after) | (before.isna() & after.isna()))
        logged = set(result.changes.loc[result.changes["column"] == column, "row"])
        assert set(result.rows[differs.to_numpy()]) == logged, column


def test_cleaning_repairs_faults(cleaned, market):
    _, result = cleaned
    truth = market.truth.iloc[result.rows].reset_index(drop=True)
    swapped = truth["fault_swapped_coords"].to_numpy()
    assert np.allclose(result.frame.loc[swapped, "lat"], truth.loc[swapped, "clean_lat"])
    assert result.frame["year_built"].min() > 1000
    dropped_rows = result.dropped["row"].to_numpy()
    assert (
        market.truth.loc[dropped_rows, "fault_duplicate"].sum()
        >= 0.9 * market.truth["fault_duplicate"].sum()
    )
    assert {"area_m2_missing", "year_built_missing"} <= set(result.frame.columns)


@pytest.mark.parametrize(
    ("change", "expected_warning"),
    [
        ({"city": "Atlantis"}, "city 'Atlantis' was not in the training data"),
        ({"rooms": np.nan}, "rooms was missing"),
        ({"year_built": 0.0}, "year_built 0 is implausible"),
        ({"lat": 0.0, "lon": 0.0}, "coordinates were implausible (zero)"),
        ({"area_m2": "big"}, "area_m2 was missing"),
    ],
)
def test_predict_mode_never_drops(cleaned, market, change, expected_warning):
    policy, _ = cleaned
    row = market.frame.iloc[[5]].copy()
    for column, value in change.items():
        if isinstance(value, str):
            row[column] = row[column].astype(object)
        row[column] = value
    result = policy.transform(row, mode="predict")
    assert len(result.frame) == 1 and result.dropped.empty
    assert any(expected_warning in w for w in result.warnings[0]), result.warnings[0]
    assert result.frame[["rooms", "year_built", "area_m2"]].notna().all(axis=None)


def test_predict_mode_keeps_duplicates_and_outliers(cleaned, market):
    policy, _ = cleaned
    rows = pd.concat([market.frame.head(3)] * 2).assign(price=lambda f: f["price"] * 50)
    assert len(policy.transform(rows, mode="predict").frame) == 6


def test_override_beats_location_imputation(market):
    config = QualityConfig()
    config.clean.overrides = [ImputeOverride(column="year_built", value=1965, city="Torino")]
    policy = CleaningPolicy(config).fit(market.frame)
    row = market.frame[market.frame["city"] == "Torino"].head(1).assign(year_built=np.nan)
    result = policy.transform(row, mode="predict")
    assert result.frame["year_built"].iloc[0] == 1965
    assert result.changes["rule"].tolist() == ["impute.override"]


@pytest.mark.parametrize(
    ("outliers", "expect_drop", "expect_weight"),
    [("drop", True, False), ("downweight", False, True), ("keep", False, False)],
)
def test_outlier_policy(market, outliers, expect_drop, expect_weight):
    config = QualityConfig()
    config.clean.outliers = outliers
    result = CleaningPolicy(config).fit_transform(market.frame.head(1500))
    dropped = set(result.dropped["rule"])
    assert ("consistency.price_outlier" in dropped) is expect_drop
    assert bool((result.weight < 1).any()) is expect_weight


def test_downweighting_still_drops_price_typos(market):
    """A price about x10 of its group is a typo: dropped even when outliers are kept at a
    lower weight; the other outliers stay, at ``outlier_weight``."""
    config = QualityConfig()
    config.clean.outliers = "downweight"
    frame = market.frame.head(1500).reset_index(drop=True)
    typo = frame["price"].median() < frame["price"]  # a row of ordinary size, made x10
    row = int(np.flatnonzero(typo & frame["area_m2"].between(60, 90))[0])
    frame.loc[row, "price"] *= 10
    result = CleaningPolicy(config).fit_transform(frame)
    scale = result.dropped[result.dropped["rule"] == "consistency.price_scale"]
    assert frame.loc[row, "id"] in set(scale["id"])
    assert "consistency.price_outlier" not in set(result.dropped["rule"])
    assert np.isclose(result.weight[result.weight < 1], config.clean.outlier_weight).all()
    assert (result.weight < 1).any()


def test_unfitted_and_empty():
    with pytest.raises(NotFittedError, match="not fitted"):
        CleaningPolicy().transform(pd.DataFrame({"price": [1.0]}))
    with pytest.raises(DataError, match="no rows"):
        CleaningPolicy().fit(pd.DataFrame(columns=["price", "city"]))
    with pytest.raises(ValueError, match="mode is 'test'"):
        CleaningPolicy().fit(pd.DataFrame({"price": [1.0], "city": ["X"]})).transform(
            pd.DataFrame({"price": [1.0]}), mode="test"
        )


def test_one_row_and_single_city():
    frame = pd.DataFrame(
        {
            "id": ["a"],
            "price": [1e5],
            "city": ["X"],
            "area_m2": [50.0],
            "rooms": [2.0],
            "date": pd.to_datetime(["2024-01-01"]),
        }
    )
    result = CleaningPolicy().fit_transform(frame)
    assert len(result.frame) == 1


def test_calibrator_shrinks_small_segments():
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "price_kind": "sale",
            "date": pd.Timestamp("2024-01-01"),
            "city": np.where(np.arange(n) < 390, "Big", "Small"),
            "asking": 100.0,
        }
    )
    ratio = np.where(frame["city"] == "Big", 0.95, 0.80) * np.exp(rng.normal(0, 0.01, n))
    frame["price"] = 100.0 * ratio
    cal = LabelCalibrator(segment_columns=["city"], asking_price_column="asking", shrinkage=20).fit(
        frame
    )
    big, small = cal.ratio(pd.DataFrame({"city": ["Big", "Small"], "date": frame["date"][:2]}))
    assert big == pytest.approx(0.95, abs=0.01)
    assert 0.85 < small < 0.95  # 10 pairs: pulled half-way-ish towards the global ratio
    unknown = cal.ratio(pd.DataFrame({"city": ["Nowhere"], "date": frame["date"][:1]}))[0]
    assert unknown == pytest.approx(cal.global_ratio_, abs=0.002)


def test_calibrator_without_pairs_changes_nothing(clean_market):
    frame = clean_market.frame.assign(price_kind="asking")
    cal = LabelCalibrator().fit(frame)
    assert cal.n_pairs_ == 0
    assert np.allclose(cal.calibrated_prices(frame), frame["price"])


@pytest.fixture(scope="module")
def prepared(market: SyntheticMarket):
    return prepare_training_data(market.frame, ProjectConfig(data={"path": "x.csv"}))


def test_calibration_on_synthetic_pairs_moves_asking_towards_sale(market, prepared):
    data = prepared
    truth_ratio = (market.truth["true_sale_price"] / market.truth["true_asking_price"]).median()
    assert data.calibrator.global_ratio_ == pytest.approx(truth_ratio, abs=0.02)


def test_prepare_training_data(market, prepared):
    data = prepared
    assert len(data.frame) == len(data.weight)
    assert len(data.frame) + len(data.dropped) == len(market.frame)
    assert OBSERVED_PRICE_COLUMN not in feature_columns(data.frame)
    asking = (data.frame["price_kind"] == "asking").to_numpy()
    assert (data.frame.loc[asking, "price"] < data.price_observed[asking]).all()
    assert data.weight[~asking].mean() > data.weight[asking].mean()


def test_prepare_drops_asking_price_column():
    n = 60
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "price": 95.0,
            "ListPrice": 100.0,
            "price_kind": "sale",
            "city": "G",
            "area_m2": 50.0,
            "rooms": 2.0,
            "date": pd.Timestamp("2024-01-01"),
        }
    )
    config = QualityConfig()
    config.calibration.asking_price_column = "ListPrice"
    data = prepare_training_data(frame, config)
    assert "ListPrice" not in data.frame
    assert data.calibrator.global_ratio_ == pytest.approx(0.95)
    config.calibration.asking_price_column = "Nope"
    with pytest.raises(DataError, match="'Nope'"):
        prepare_training_data(frame, config)


def test_prepare_disabled_only_audits(market):
    config = QualityConfig(enabled=False)
    data = prepare_training_data(market.frame, config)
    assert len(data.frame) == len(market.frame) and data.changes.empty


def test_write_training_data(market, tmp_path):
    data = prepare_training_data(market.frame.head(800))
    paths = data.write(tmp_path)
    assert {p.name for p in paths.values()} >= {
        "quality.json",
        "changes.parquet",
        "dropped.parquet",
    }


def _with_missing_area(market: SyntheticMarket, share: float) -> pd.DataFrame:
    frame = market.frame.copy()
    rng = np.random.default_rng(0)
    frame.loc[rng.random(len(frame)) < share, "area_m2"] = np.nan
    return frame


@pytest.mark.parametrize(
    ("share", "dropped", "kept_finding"),
    [(0.02, True, False), (0.5, False, True)],
)
def test_critical_column_dropped_only_where_rare(market, share, dropped, kept_finding):
    frame = _with_missing_area(market, share)
    policy = CleaningPolicy()
    result = policy.fit_transform(frame)
    rules = set(result.dropped["rule"])
    assert ("completeness.missing_critical:area_m2" in rules) is dropped
    assert ("area_m2" in policy.critical_to_drop_) is dropped
    findings = {(f.rule, f.column) for f in policy.report_.findings}
    assert (("completeness.missing_critical_kept", "area_m2") in findings) is kept_finding
    if kept_finding:
        assert result.frame["area_m2"].notna().all()  # imputed ...
        assert result.frame["area_m2_missing"].sum() > 0.4 * len(result.frame)  # ... and marked
        message = next(
            f.message for f in policy.report_.findings if f.rule.endswith("critical_kept")
        )
        assert "%" in message and "kept" in message


def test_a_critical_value_the_checks_refused_is_named_as_implausible(market):
    """Rows with an area of 870 m² for 2 rooms were dropped as 'area_m2 is missing'."""
    frame = _with_missing_area(market, 0.02)
    odd = frame.index[frame["area_m2"].notna()][:5]
    frame.loc[odd, "area_m2"] = 5_000.0  # flagged by the validity checks, then nulled
    result = CleaningPolicy().fit_transform(frame)
    dropped = result.dropped.set_index("row")
    rows = [frame.index.get_loc(i) for i in odd]
    assert set(rows) <= set(dropped.index)
    assert dropped.loc[rows, "reason"].str.contains("implausible value").all()
    missing = [frame.index.get_loc(i) for i in frame.index[frame["area_m2"].isna()]]
    said = dropped.loc[missing]
    said = said[said["rule"] == "completeness.missing_critical:area_m2"]["reason"]
    assert len(said) and said.str.endswith("is missing").all()


def test_critical_share_setting_keeps_every_row(market):
    frame = _with_missing_area(market, 0.02)
    config = QualityConfig.model_validate({"clean": {"max_critical_missing_share": 0.0}})
    result = CleaningPolicy(config).fit_transform(frame)
    assert not result.dropped["rule"].str.startswith("completeness.missing_critical").any()


def test_mostly_missing_column_is_left_missing_not_guessed(market, tmp_path):
    """Condition missing on 70 % of the rows: the most common known value would be a guess
    told to the owner as a fact; the column stays missing (the model learns what missing
    means), in training and in prediction, and a saved policy keeps the rule."""
    from estimo.bundle_folder import BundleFolder

    frame = market.frame.copy()
    rng = np.random.default_rng(3)
    frame.loc[rng.random(len(frame)) < 0.7, "condition"] = None
    frame.loc[rng.random(len(frame)) < 0.3, "year_built"] = np.nan
    policy = CleaningPolicy()
    trained = policy.fit_transform(frame)
    assert set(policy.left_missing_) == {"condition"}
    assert 0.6 < policy.left_missing_["condition"] < 0.8
    assert "condition" not in policy.impute_values_ and "year_built" in policy.impute_values_
    imputed = trained.changes[trained.changes["rule"].str.startswith("impute.")]
    assert "condition" not in set(imputed["column"]) and "year_built" in set(imputed["column"])
    assert trained.frame["condition"].isna().mean() > 0.3  # what descriptions did not give
    assert trained.frame["year_built"].notna().all()  # under half missing: still imputed
    assert trained.frame["condition_missing"].mean() > 0.3  # the indicator is kept
    action = next(
        f.action
        for f in policy.report_.findings
        if f.rule == "completeness.missing" and f.column == "condition"
    )
    assert action.startswith("left missing")

    folder = BundleFolder(str(tmp_path / "policy"))
    loaded = CleaningPolicy.from_bundle(folder, policy.to_bundle(folder))
    row = frame.iloc[[0]].assign(condition=None, year_built=np.nan, description=None)
    for fitted in (policy, loaded):
        result = fitted.transform(row, mode="predict")
        assert pd.isna(result.frame["condition"].iloc[0])
        assert not any(w.startswith("condition was missing") for w in result.warnings[0])
        assert any(w.startswith("year_built was missing; used") for w in result.warnings[0])


def test_impute_share_setting_restores_imputing_every_column(market):
    frame = market.frame.assign(condition=lambda f: f["condition"].where(f.index % 4 == 0))
    config = QualityConfig.model_validate({"clean": {"max_impute_missing_share": 1.0}})
    policy = CleaningPolicy(config)
    result = policy.fit_transform(frame)
    assert policy.left_missing_ == {} and "condition" in policy.impute_values_
    assert result.frame["condition"].notna().all()
    # an override is the user's own rule: it applies to a mostly-missing column too
    config = QualityConfig()
    config.clean.overrides = [ImputeOverride(column="condition", value="good")]
    policy = CleaningPolicy(config)
    result = policy.fit_transform(frame)
    assert policy.left_missing_ == {} and (result.frame["condition"].notna()).all()


def test_prepared_frame_types_and_keeps_the_input_as_given():
    """Every canonical column present and typed, extra text kept as Python objects, the
    input frame untouched; a column given twice is refused by name."""
    from estimo.quality._frame import prepare_frame

    frame = pd.DataFrame(
        {"city": ["Roma", None], "area_m2": ["80", "big"], "note": ["a", "b"], "floor": [1, 2]},
        index=[7, 3],
    )
    frame["tag"] = pd.Series(["x", None], index=frame.index, dtype=object)
    before = frame.copy()
    prepared = prepare_frame(frame)
    out = prepared.frame
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.index) == [0, 1]
    assert out["area_m2"].tolist()[0] == 80.0 and np.isnan(out["area_m2"].iloc[1])
    assert prepared.non_numeric == {"area_m2": 1}
    assert prepared.non_numeric_examples == {"area_m2": ["big"]}
    assert out["floor"].dtype == np.float64
    assert out["note"].dtype == frame["note"].dtype and out["tag"].dtype == object
    assert out["city"].tolist() == ["Roma", None]
    assert out["id"].tolist() == ["row-0", "row-1"]
    assert str(out["date"].dtype) == "datetime64[ns]" and out["date"].isna().all()
    assert "price" in prepared.added_columns and out["price"].isna().all()
    twice = pd.DataFrame([[1.0, 2.0]], columns=["price", "price"])
    with pytest.raises(ValueError, match=r"columns \['price'\] appear more than once"):
        prepare_frame(twice)


def test_fit_arguments_give_the_outlier_share_only_to_a_fit_that_takes_it(market) -> None:
    from estimo.model.avm import AVM
    from estimo.model.valuation import ValuationModel
    from estimo.quality.prepare import prepare_training_data

    prepared = prepare_training_data(market.frame)
    engine = prepared.fit_arguments(AVM().fit)
    assert set(engine) == {"sample_weight", "price_outlier_share"}
    assert engine["price_outlier_share"] == prepared.price_outlier_share > 0
    assert engine["sample_weight"] is prepared.weight
    assert set(prepared.fit_arguments(AVM().validate)) == set(engine)
    assert set(prepared.fit_arguments(ValuationModel().fit)) == {"sample_weight"}


def _swap(frame: pd.DataFrame, share: float, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    frame = frame.reset_index(drop=True).copy()
    rows = np.random.default_rng(seed).random(len(frame)) < share
    frame.loc[rows, ["lat", "lon"]] = frame.loc[rows, ["lon", "lat"]].to_numpy()
    return frame, rows


@pytest.mark.parametrize("share", [0.7, 0.5, 0.3])
def test_coordinates_swapped_on_many_rows_are_not_repaired_the_wrong_way(clean_market, share):
    """With 70 % swapped, the correct 30 % were flagged as swapped and swapped (issue 17):
    a city where too many points sit the other way round is flagged and left alone."""
    frame, swapped = _swap(clean_market.frame, share)
    policy = CleaningPolicy(QualityConfig())
    result = policy.fit_transform(frame)
    flags = policy.report_
    assert not flags.flagged("location.swapped").any()
    ambiguous = flags.flagged("location.swap_ambiguous")
    assert ambiguous.sum() >= 0.8 * min(swapped.sum(), (~swapped).sum())
    finding = next(f for f in flags.findings if f.rule == "location.swap_ambiguous")
    assert finding.severity == "error" and "none were swapped back" in finding.message
    assert "location.max_swapped_share" in finding.message and "Milano" in finding.message
    assert not (result.changes["rule"] == "location.swapped").any()


def test_a_few_swapped_coordinates_are_still_swapped_back(clean_market):
    frame, swapped = _swap(clean_market.frame, 0.05)
    policy = CleaningPolicy(QualityConfig())
    policy.fit_transform(frame)
    flagged = policy.report_.flagged("location.swapped")
    assert flagged[swapped].mean() > 0.9 and not flagged[~swapped].any()
    assert not policy.report_.flagged("location.swap_ambiguous").any()
