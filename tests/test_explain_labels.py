"""Every feature a model can use has a concept and a human label, in every language."""

from __future__ import annotations

import pytest

from _explain_helpers import fitted_model
from estimo.errors import ConfigError
from estimo.explain.labels import (
    CONCEPTS,
    FEATURES,
    Labeler,
    check_labels,
    missing_labels,
)
from estimo.explain.locale import LANGUAGES, get_locale
from estimo.features.location import FEATURE_NAMES as LOCATION_FEATURES
from estimo.model.valuation import DATE_FEATURE
from estimo.schema import FEATURE_FIELDS
from estimo.synth import EXTRA_COLUMNS

POLAND = [
    "floorCount",
    "centreDistance",
    "poiCount",
    "schoolDistance",
    "clinicDistance",
    "postOfficeDistance",
    "kindergartenDistance",
    "restaurantDistance",
    "collegeDistance",
    "pharmacyDistance",
    "ownership",
    "buildingMaterial",
    "hasParkingSpace",
    "hasBalcony",
    "hasElevator",
    "hasSecurity",
    "hasStorageRoom",
]
KING_COUNTY = [
    "sqft_lot",
    "floors",
    "waterfront",
    "view",
    "grade",
    "sqft_above",
    "sqft_basement",
    "yr_renovated",
    "sqft_living15",
    "sqft_lot15",
]
AMES = [
    "MS_SubClass",
    "MS_Zoning",
    "Lot_Frontage",
    "Lot_Area",
    "Street",
    "Alley",
    "Lot_Shape",
    "Land_Contour",
    "Utilities",
    "Lot_Config",
    "Land_Slope",
    "Condition_1",
    "Condition_2",
    "House_Style",
    "Year_Remod_Add",
    "Roof_Style",
    "Roof_Matl",
    "Exterior_1st",
    "Exterior_2nd",
    "Mas_Vnr_Type",
    "Mas_Vnr_Area",
    "Exter_Cond",
    "Foundation",
    "Bsmt_Cond",
    "Bsmt_Exposure",
    "BsmtFin_Type_1",
    "BsmtFin_SF_1",
    "BsmtFin_Type_2",
    "BsmtFin_SF_2",
    "Bsmt_Unf_SF",
    "Total_Bsmt_SF",
    "Heating",
    "Heating_QC",
    "Central_Air",
    "Electrical",
    "First_Flr_SF",
    "Second_Flr_SF",
    "Bsmt_Full_Bath",
    "Bsmt_Half_Bath",
    "Half_Bath",
    "Kitchen_AbvGr",
    "TotRms_AbvGrd",
    "Functional",
    "Fireplaces",
    "Garage_Type",
    "Garage_Finish",
    "Garage_Cars",
    "Garage_Area",
    "Garage_Cond",
    "Paved_Drive",
    "Wood_Deck_SF",
    "Open_Porch_SF",
    "Enclosed_Porch",
    "Three_season_porch",
    "Screen_Porch",
    "Pool_Area",
    "Pool_QC",
    "Fence",
    "Misc_Feature",
    "Misc_Val",
    "Sale_Type",
    "Sale_Condition",
]

FEATURE_SETS = {
    "canonical": list(FEATURE_FIELDS),
    "engine": [*LOCATION_FEATURES, DATE_FEATURE],
    "synthetic": list(EXTRA_COLUMNS),
    "poland": POLAND,
    "king_county": KING_COUNTY,
    "grinnell": ["LotSize"],
    "ames": AMES,
}


@pytest.mark.parametrize("name", sorted(FEATURE_SETS))
def test_every_known_feature_has_a_label_in_every_language(name):
    assert missing_labels(FEATURE_SETS[name], languages=LANGUAGES) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_registry_and_locale_files_agree(language):
    locale = get_locale(language)
    assert set(locale.data["features"]) == set(FEATURES)
    assert set(locale.data["concepts"]) >= set(CONCEPTS)
    assert set(locale.data["text"]) == set(get_locale("en").data["text"])
    assert all(info.concept in CONCEPTS for info in FEATURES.values())


def test_a_trained_model_has_labels_for_all_its_features():
    model, _, _ = fitted_model()
    check_labels(model.booster_.feature_name())


@pytest.mark.parametrize(
    ("features", "labels", "expected"),
    [
        (["area_m2", "garden_m2"], None, ["garden_m2"]),
        (["area_m2", "garden_m2"], {"garden_m2": "Garden"}, []),
        (["_base", "_time", "_comparables"], None, []),
        (["loc_knn", "date_years", "x", "x"], None, ["x"]),
    ],
)
def test_missing_labels(features, labels, expected):
    assert missing_labels(features, labels=labels) == expected


def test_check_labels_fails_loudly_naming_the_column():
    with pytest.raises(ConfigError, match="mystery_column"):
        check_labels(["area_m2", "mystery_column"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concepts": {"garden": "garden"}}, "explain.concepts"),
        ({"labels": {"garden": ""}}, "explain.labels"),
        ({"language": "fr"}, "language"),
    ],
)
def test_bad_user_labels_name_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Labeler(**kwargs)


@pytest.mark.parametrize(
    ("feature", "concept"),
    [
        ("area_m2", "size"),
        ("loc_centre_km", "location"),
        ("loc_future_feature", "location"),
        ("date_years", "market_timing"),
        ("has_terrace", "amenities"),
        ("floors_in_building", "floor"),
        ("year_built", "age_condition"),
        ("never_seen", "other"),
    ],
)
def test_concepts(feature, concept):
    assert Labeler().concept(feature) == concept


@pytest.mark.parametrize(
    ("language", "feature", "label", "concept"),
    [
        ("en", "year_built_missing", "Year built: given or not", "age_condition"),
        ("it", "area_m2_missing", "Superficie: indicato o no", "size"),
        ("en", "lat_missing", "Position on the map: given or not", "location"),
    ],
)
def test_missing_indicators_of_the_cleaning_policy_are_labelled(language, feature, label, concept):
    labeler = Labeler(language)
    assert (labeler.label(feature), labeler.concept(feature)) == (label, concept)
    assert missing_labels([feature]) == []


def test_an_indicator_of_an_unlabelled_column_stays_unlabelled():
    assert missing_labels(["garden_m2_missing"]) == ["garden_m2_missing"]
    assert missing_labels(["garden_m2_missing"], labels={"garden_m2": "Garden"}) == []


@pytest.mark.parametrize(
    ("language", "label"),
    [("en", "Position on the map"), ("it", "Posizione sulla mappa"), ("es", None)],
)
def test_map_axes_are_worded_as_the_position_on_the_map(language, label):
    labeler = Labeler(language)
    for feature in ("loc_axis_1", "loc_axis_12"):
        assert labeler.label(feature) == (label or labeler.label("lat"))
        assert labeler.concept(feature) == "location" and labeler.is_derived(feature)
    assert missing_labels(["loc_axis_3"]) == []
    assert not labeler.has_label("loc_axis_x")  # only numbered axes
