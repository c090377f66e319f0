from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from estimo.errors import DataError, NotFittedError
from estimo.evaluate.metrics import mdape
from estimo.model.bundle import load_model, save_model
from estimo.model.valuation import ValuationModel, build_feature_matrix, learn_feature_spec

FAST = {"n_estimators": 80, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def fitted(clean_market) -> ValuationModel:
    return ValuationModel(**FAST).fit(clean_market.frame)


def test_learns_the_market(clean_market, fitted) -> None:
    frame = clean_market.frame
    error = mdape(frame["price"], fitted.predict(frame))
    assert error < 0.12


def test_same_seed_same_predictions(clean_market, fitted) -> None:
    again = ValuationModel(**FAST).fit(clean_market.frame)
    np.testing.assert_array_equal(
        again.predict(clean_market.frame), fitted.predict(clean_market.frame)
    )


def test_predict_before_fit_is_a_clear_error(clean_market) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ValuationModel().predict(clean_market.frame)


def test_a_property_with_few_fields_is_still_valued(fitted) -> None:
    subject = pd.DataFrame(
        {"city": ["Milano"], "date": [pd.Timestamp("2023-06-01")], "area_m2": [80.0]}
    )
    assert fitted.predict(subject)[0] > 0


def test_unseen_category_levels_become_missing(clean_market, fitted) -> None:
    row = clean_market.frame.head(1).assign(property_type="castle")
    matrix = build_feature_matrix(row, fitted.feature_spec_)
    assert matrix["property_type"].isna().all()
    assert fitted.predict(row)[0] > 0


def test_feature_spec_excludes_target_and_identifiers(clean_market) -> None:
    spec = learn_feature_spec(clean_market.frame)
    for column in ("price", "id", "price_kind", "description"):
        assert column not in spec.names
    assert "city" in spec.categorical and "area_m2" in spec.numeric


def test_numeric_codes_stay_numeric() -> None:
    frame = pd.DataFrame(
        {
            "city": ["a", "b"],
            "zip": ["98001", "98002"],
            "date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
        }
    )
    assert "zip" in learn_feature_spec(frame).numeric


@pytest.mark.parametrize(("prices", "fragment"), [([], "no rows"), ([100.0, -1.0], "non-positive")])
def test_bad_training_frames(prices: list, fragment: str) -> None:
    frame = pd.DataFrame(
        {
            "price": prices,
            "city": ["a"] * len(prices),
            "date": pd.to_datetime(["2024-01-01"] * len(prices)),
        }
    )
    with pytest.raises(DataError, match=fragment):
        ValuationModel().fit(frame)


def test_bundle_round_trip_without_pickles(tmp_path, clean_market, fitted) -> None:
    save_model(fitted, str(tmp_path / "m"), extra={"currency": "EUR"})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "checksums.json",
        "model.json",
        "model.txt",
    ]
    loaded = load_model(str(tmp_path / "m"))
    head = clean_market.frame.head(50)
    np.testing.assert_allclose(loaded.predict(head), fitted.predict(head), rtol=1e-9)
    assert loaded.bundle_extra_["currency"] == "EUR"
    assert loaded.cities_ == fitted.cities_


def test_load_from_a_folder_without_a_model(tmp_path) -> None:
    from estimo.errors import EstimoError

    with pytest.raises(EstimoError, match="holds no valuation pipeline"):
        load_model(str(tmp_path))


def test_float_rows_predict_exactly_as_lightgbm_reads_the_frame(clean_market, fitted) -> None:
    rows = clean_market.frame.head(40).copy()
    rows.loc[rows.index[:3], "condition"] = "castle"  # unseen: missing
    rows.loc[rows.index[3:6], "area_m2"] = np.nan
    rows.loc[rows.index[6:8], "date"] = pd.NaT
    few = rows[["city", "area_m2"]].head(2)  # a web form with two fields
    for frame in (rows, few, rows.iloc[[5]]):
        values = fitted.model_matrix(frame)
        assert isinstance(values, np.ndarray)
        expected = fitted.booster_.predict(build_feature_matrix(frame, fitted.feature_spec_))
        np.testing.assert_array_equal(fitted.predict_log(frame), expected)
