"""Missing facts are never a reason in money (issue 18): a concept made only of fields the
owner left blank goes to "Other factors", and the reasons still add up to the price."""

from __future__ import annotations

import pytest

from estimo.config import QualityConfig
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline
from estimo.synth import generate_market

FAST = {"n_estimators": 40, "learning_rate": 0.15, "min_city_rows": 300}


@pytest.fixture(scope="module")
def pipeline() -> ValuationPipeline:
    frame = generate_market(3_000, seed=11).frame
    train = frame.loc[frame["date"] < "2023-09-01"]
    return ValuationPipeline(engine=AVM(**FAST), quality=QualityConfig()).fit(train)


BASE = {
    "city": "Milano",
    "area_m2": 85,
    "rooms": 3,
    "lat": 45.47,
    "lon": 9.19,
    "date": "2023-09-15",
}


def _keys(valuation) -> list[str]:
    return [r["key"] for r in valuation.reasons]


def test_blank_year_and_condition_are_not_a_reason_in_money(pipeline) -> None:
    given = pipeline.value_one({**BASE, "year_built": 1930, "condition": "to_renovate"})
    blank = pipeline.value_one(BASE)
    assert "age_condition" in _keys(given)
    assert "age_condition" not in _keys(blank)
    for valuation in (given, blank):
        total = sum(r["amount"] for r in valuation.reasons)
        baseline = round(valuation.price) - total
        assert baseline > 0  # the reasons and the baseline add up to the price shown
    assert not any("not given" in r["label"] for r in blank.reasons if r["amount"])


def test_a_given_fact_stays_a_reason(pipeline) -> None:
    valuation = pipeline.value_one({**BASE, "year_built": 1930, "condition": "to_renovate"})
    reason = next(r for r in valuation.reasons if r["key"] == "age_condition")
    assert "1930" in reason["label"]


def test_the_owner_is_told_which_facts_were_assumed(pipeline) -> None:
    """A field the owner left blank and the cleaning filled with a typical value is named
    in the notes, in the owner's words and language (not only in the JSON warnings)."""
    from estimo.explain.labels import Labeler

    area = Labeler("it").label("area_m2")
    blank = {k: v for k, v in BASE.items() if k != "area_m2"}
    valuations, explanations = pipeline.value_explained(
        pipeline.check_records([blank])[0], lang="it"
    )
    assert any(w.startswith("area_m2 was missing; used ") for w in valuations[0].warnings)
    assumed = [n for n in explanations[0].notes if "ipotizzato un valore tipico" in n]
    assert any(n.startswith(area) for n in assumed), explanations[0].notes
    given = pipeline.value_explained(pipeline.check_records([BASE])[0], lang="it")[1][0]
    assert not any(n.startswith(area) for n in given.notes)


def test_the_cleanings_own_indicators_are_not_fields_to_send(pipeline) -> None:
    """``<field>_missing`` columns are written by the cleaning from the fields given: the
    input contract neither lists them as fields nor accepts them from a request."""
    from estimo.errors import InputError

    with pytest.raises(InputError, match="unknown field 'area_m2_missing'") as raised:
        pipeline.value_one({**BASE, "area_m2_missing": 0})
    assert "year_built_missing" not in str(raised.value)


def test_a_comparable_is_described_with_its_own_facts_only(pipeline) -> None:
    """Comparables whose year built the data lacked were shown 'built in 1980' (the city's
    typical year) and adjusted by 'year built: given or not -€14,463'."""
    reference = pipeline.engine_.finder_.reference_
    seen_imputed = 0
    for area in (55, 85, 120):
        for city, lat, lon in (("Milano", 45.47, 9.19), ("Roma", 41.9, 12.5)):
            record = {**BASE, "city": city, "lat": lat, "lon": lon, "area_m2": area}
            for comp in pipeline.value_one(record).comparables:
                same = (reference["id"] == comp.id) & (reference["date"] == comp.date)
                row = reference.loc[same].iloc[0]  # the sale shown (a home may sell twice)
                for column in ("year_built", "condition"):
                    if row.get(f"{column}_missing") == 1:
                        seen_imputed += 1
                        assert column not in comp.attributes
                assert not [k for k in comp.adjustments if k.endswith("_missing")]
                total = comp.price + sum(comp.adjustments.values())
                assert total == pytest.approx(comp.adjusted_price, rel=1e-6)
    assert seen_imputed  # the market leaves facts out: the check had something to check
