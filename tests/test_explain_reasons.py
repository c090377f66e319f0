"""Reasons, texts and HTML on a real (small) model: additivity, sanity and no jargon."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _explain_helpers import fitted_explainer, fitted_model
from estimo.explain.contributions import log_contributions
from estimo.explain.explainer import Explainer, additivity_gap, explain_properties
from estimo.explain.labels import Labeler
from estimo.explain.locale import LANGUAGES, get_locale
from estimo.explain.reasons import describe_value, records
from estimo.explain.text import blend_sentence, comparable_sentence
from estimo.model.valuation_result import Comparable, Valuation


def _explain(frame: pd.DataFrame, language: str = "en", **kwargs):
    model, _, _ = fitted_model()
    return explain_properties(model, frame, fitted_explainer(language), **kwargs)


def test_contributions_follow_the_contract():
    model, _, test = fitted_model()
    contributions = log_contributions(model, test)
    assert list(contributions.columns[-3:]) == ["_base", "_time", "_comparables"]
    assert list(contributions.columns[:-3]) == model.booster_.feature_name()
    assert np.allclose(contributions.sum(axis=1), model.predict_log(test))
    assert contributions.index.equals(test.index)
    assert log_contributions(model, test).equals(contributions)


@pytest.mark.parametrize("language", LANGUAGES)
def test_reasons_add_up_exactly_to_the_valuation(language):
    model, _, test = fitted_model()
    explanations = _explain(test, language)
    assert len(explanations) == len(test)
    for explanation, predicted in zip(explanations, model.predict(test), strict=True):
        assert additivity_gap(explanation) == 0
        assert explanation.price == round(predicted)


def test_a_larger_area_gives_a_larger_size_contribution():
    _, _, test = fitted_model()
    rows = test.head(20)
    small, large = rows.assign(area_m2=55.0), rows.assign(area_m2=140.0)
    size = {}
    for name, frame in (("small", small), ("large", large)):
        size[name] = [
            sum(r.amount for r in e.reasons.reasons if r.key == "size") for e in _explain(frame)
        ]
    assert all(lg > sm for sm, lg in zip(size["small"], size["large"], strict=True))


def test_row_order_and_unrelated_rows_do_not_change_an_explanation():
    _, _, test = fitted_model()
    subject = test.iloc[[3]]
    alone = _explain(subject)[0].to_dict()
    shuffled = test.sample(frac=1.0, random_state=1)
    position = list(shuffled.index).index(subject.index[0])
    in_batch = _explain(shuffled)[position].to_dict()
    assert alone == in_batch


def _all_texts(explanation) -> list[str]:
    return [p for _, paragraphs in explanation.sections() for p in paragraphs]


def _raw_name_pattern(names: list[str]) -> re.Pattern[str]:
    # single plain words (floor, rooms, city) are ordinary words; anything with "_", digits
    # or inner capitals is a column name that must never reach an owner
    technical = [n for n in names if not re.fullmatch(r"[a-z]+", n)]
    return re.compile("|".join(re.escape(n) for n in technical))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_raw_column_names_in_any_text(language):
    model, _, test = fitted_model()
    pattern = _raw_name_pattern(model.booster_.feature_name() + list(test.columns))
    for explanation in _explain(test.head(40), language):
        for text in _all_texts(explanation):
            assert not pattern.search(text), text
        for reason in explanation.to_dict()["reasons"]:
            assert not pattern.search(reason["label"])


def _valuation(price: float = 300_000.0) -> Valuation:
    comps = [
        Comparable(
            id="C1",
            price=280_000.0,
            date=pd.Timestamp("2023-09-10"),
            adjusted_price=301_000.0,
            time_factor=1.03,
            distance_m=350.0,
            similarity=0.62,
            age_months=4.0,
            adjustments={
                "time": 8_400.0,
                "area_m2": 11_000.0,
                "location": -1_000.0,
                "other": 2_600.0,
            },
            attributes={
                "area_m2": 80.0,
                "rooms": 3.0,
                "year_built": 1970.0,
                "property_type": "flat",
                "price_kind": "sale",
            },
        ),
        Comparable(
            id="C2",
            price=305_000.0,
            date=pd.Timestamp("2023-12-02"),
            adjusted_price=299_000.0,
            distance_m=20.0,
            similarity=0.3,
            adjustments={"year_built": -6_000.0},
            attributes={"property_type": "flat"},
        ),
    ]
    return Valuation(
        price=price,
        low=price * 0.9,
        high=price * 1.12,
        fsd=0.07,
        valuation_date=pd.Timestamp("2024-01-15"),
        model_price=price * 0.98,
        comps_price=price * 1.03,
        blend_weight=0.4,
        comparables=comps,
        warnings=["feature 'year_built' was imputed", "only 2 comparables within 2 km"],
    )


def _with_valuations(language: str = "en"):
    model, _, test = fitted_model()
    rows = test.head(3)
    contributions = log_contributions(model, rows)
    valuations = [_valuation(p) for p in np.round(model.predict(rows) * 1.02, 2)]
    contributions["_comparables"] = np.log([v.price / v.model_price for v in valuations])
    contributions["_base"] += np.log(model.predict(rows) * 0.98 * 1.02 / model.predict(rows))
    return fitted_explainer(language).explain(rows, contributions, valuations), valuations


@pytest.mark.parametrize("language", LANGUAGES)
def test_engine_valuations_are_explained_consistently(language):
    explanations, valuations = _with_valuations(language)
    locale = get_locale(language)
    for explanation, valuation in zip(explanations, valuations, strict=True):
        assert additivity_gap(explanation) == 0
        assert explanation.price == round(valuation.price)
        by_key = {r.key: r.amount for r in explanation.reasons.reasons}
        # the reasons explain the model price; the comparables line is the rest, to the unit
        assert by_key["comparables"] == round(valuation.price) - round(valuation.model_price)
        assert locale.money(round(valuation.model_price), "EUR") in explanation.blend
        assert locale.money(round(valuation.price), "EUR") in explanation.blend
        assert len(explanation.comparables) == 2
        assert explanation.notes  # the warnings, re-worded


def test_comparable_adjustments_add_up_in_words():
    explanations, _ = _with_valuations("en")
    first = explanations[0].comparables[0]
    assert "sold in September 2023 for €280,000" in first
    changes = first.split("points to")[1].replace("€", "")
    amounts = [int(a.replace(",", "")) for a in re.findall(r"([+-][\d,]+)\)?(?:;|\.$)", changes)]
    assert len(amounts) == 4
    assert 280_000 + sum(amounts) == 301_000
    assert "in the same building" in explanations[0].comparables[1]


@pytest.mark.parametrize(
    ("language", "all_used", "expected"),
    [
        ("en", True, "2 similar homes nearby point to €"),
        ("en", False, "1 of the 2 similar homes nearby (the rest differ too much"),
        ("it", False, "1 delle 2 abitazioni simili in zona (le altre si discostano troppo"),
    ],
)
def test_blend_sentence_counts_only_the_comparables_in_the_value(language, all_used, expected):
    valuation = _valuation()
    if not all_used:
        comps = [valuation.comparables[0], replace(valuation.comparables[1], used=False)]
        valuation = replace(valuation, comparables=comps)
    assert expected in blend_sentence(valuation, get_locale(language))
    left_out = comparable_sentence(
        valuation.comparables[1], fitted_explainer(language).labeler, "EUR"
    )
    note = get_locale(language).text("comp_not_used")
    assert left_out.endswith(note) is (not all_used)


def test_one_comparable_takes_a_singular_verb():
    valuation = _valuation()
    valuation = replace(valuation, comparables=valuation.comparables[:1])
    assert "1 similar home nearby points to €" in blend_sentence(valuation, get_locale("en"))


def test_warnings_are_reworded_without_column_names():
    explanations, _ = _with_valuations("en")
    notes = " ".join(explanations[0].notes)
    assert "year_built" not in notes and "Year built was not given" in notes


@pytest.mark.parametrize(
    ("language", "call", "expected"),
    [
        ("en", lambda lo: lo.money(1234567, "EUR"), "€1,234,567"),
        ("it", lambda lo: lo.money(1234567, "EUR"), "1.234.567 €"),
        ("en", lambda lo: lo.money(-12000, "PLN", signed=True), "-12,000 PLN"),
        ("it", lambda lo: lo.money(8400, "USD", signed=True), "+8.400 $"),
        ("en", lambda lo: lo.number(1234.56, 1), "1,234.6"),
        ("it", lambda lo: lo.number(1234.56, 1), "1.234,6"),
        ("en", lambda lo: lo.percent(0.083), "8%"),
        ("en", lambda lo: lo.distance(0.62), "600 m"),
        ("it", lambda lo: lo.distance(2.34), "2,3 km"),
        ("en", lambda lo: lo.ordinal(3), "3rd"),
        ("en", lambda lo: lo.ordinal(12), "12th"),
        ("it", lambda lo: lo.ordinal(3), "3°"),
        ("it", lambda lo: lo.month_year("2024-03-14"), "marzo 2024"),
        ("es", lambda lo: lo.month_year("2024-03-14"), "marzo de 2024"),
        ("es", lambda lo: lo.month_in("2024-03-14"), "en marzo de 2024"),
        ("es", lambda lo: lo.money(1234567, "EUR"), "1.234.567 €"),
        ("es", lambda lo: lo.ordinal(3), "3.ª"),
        ("es", lambda lo: lo.percent(0.083), "8\u00a0%"),
        ("es", lambda lo: lo.list_join(["a", "b", "c"]), "a, b y c"),
        ("en", lambda lo: lo.list_join(["a", "b", "c"]), "a, b and c"),
    ],
)
def test_locale_formatting(language, call, expected):
    assert call(get_locale(language)) == expected


def test_html_fragment_escapes_data_values():
    _, _, test = fitted_model()
    row = test.head(1).assign(neighbourhood='<script>alert("x")</script> & Co')
    # an unknown neighbourhood is still shown by name in the location reason
    explanation = _explain(row)[0]
    html = explanation.to_html()
    assert "<script>" not in html
    assert html.startswith('<section class="estimo-explanation"')
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_user_labels_and_language_from_config():
    from estimo.config import ExplainConfig

    config = ExplainConfig(
        language="it", labels={"has_terrace": "Terrazza panoramica"}, n_reasons=2
    )
    explainer = Explainer.from_config(config)
    assert explainer.labeler.label("has_terrace") == "Terrazza panoramica"
    model, _, test = fitted_model()
    explanation = explain_properties(model, test.head(1), explainer)[0]
    assert len([r for r in explanation.reasons.reasons if r.key != "other"]) <= 2
    assert additivity_gap(explanation) == 0


def test_records_keep_each_columns_python_types_with_and_without_the_fast_walk(monkeypatch):
    frame = pd.DataFrame(
        {
            "area_m2": [95.0, np.nan],
            "rooms": pd.array([3, None], dtype="Int64"),
            "city": ["Milano", "Roma"],
            "date": pd.to_datetime(["2024-01-31", "2024-02-01"]),
            "condition": pd.Categorical(["good", None]),
        }
    )
    fast = records(frame)
    assert fast[0] == {
        "area_m2": 95.0,
        "rooms": 3,
        "city": "Milano",
        "date": pd.Timestamp("2024-01-31"),
        "condition": "good",
    }
    assert fast[1]["rooms"] is pd.NA and pd.isna(fast[1]["condition"])
    monkeypatch.delattr(pd.DataFrame, "_iter_column_arrays")
    slow = records(frame)
    types = [[type(v) for v in r.values()] for r in fast]
    assert [[type(v) for v in r.values()] for r in slow] == types
    assert slow[0] == fast[0]


_ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from(["NaN", "Infinity", "-inf", "0x10", "1e400", "5", "to_renovate", " ", "{v}"]),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    feature=st.sampled_from(
        sorted({f for code in LANGUAGES for f in get_locale(code).data["features"]})
    ),
    value=_ANY_VALUE,
)
def test_any_value_of_any_feature_is_described_or_left_out_never_raises(language, feature, value):
    """What a request can bring (text where a number is expected, "NaN", an infinity, a
    brace) is described, said to be not given, or left out; never an error."""
    phrase = describe_value(feature, value, Labeler(language))
    assert phrase is None or (isinstance(phrase, str) and phrase.strip())
    if isinstance(value, str) and value.strip() in ("NaN", "Infinity", "-inf", "1e400"):
        kind = Labeler(language).info(feature).kind
        if kind in ("number", "year", "km", "count", "area", "sqft"):
            missing = describe_value(feature, None, Labeler(language))
            assert phrase == missing


def test_features_of_no_named_concept_are_said_once_with_the_other_factors() -> None:
    """A user's column of concept "other" (here a garden) joins the left-over amount: one
    "Other factors" line, not two."""
    import numpy as np
    import pandas as pd

    from estimo.explain.labels import Labeler
    from estimo.explain.reasons import build_reasons

    labeler = Labeler("en", labels={"garden_m2": "garden"})
    contributions = pd.DataFrame(
        {"area_m2": [0.10], "garden_m2": [0.20], "year_built": [0.001], "_base": [np.log(3e5)]}
    )
    facts = [{"area_m2": 80.0, "garden_m2": 45.0, "year_built": 1990.0}]
    (reasons,) = build_reasons(contributions, facts, labeler)
    keys = [r.key for r in reasons.reasons]
    assert keys == ["size", "other"]
    other = reasons.reasons[-1]
    assert other.amount > reasons.reasons[0].amount  # the garden's large effect is in it
