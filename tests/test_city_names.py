"""Cities as owners type them (issue 18): "milano", " MILANO " and "Milàno" are the model's
Milano; a city the model never saw is kept as typed and valued by the global model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimo.config import QualityConfig
from estimo.model.avm import AVM
from estimo.names import name_key
from estimo.pipeline import ValuationPipeline
from estimo.property_input import PropertyContract
from estimo.synth import generate_market


@pytest.fixture(scope="module")
def pipeline() -> ValuationPipeline:
    frame = generate_market(3_000, seed=11).frame
    train = frame.loc[frame["date"] < "2023-09-01"]
    engine = AVM(n_estimators=30, learning_rate=0.15, min_city_rows=300)
    return ValuationPipeline(engine=engine, quality=QualityConfig()).fit(train)


@pytest.mark.parametrize("typed", ["milano", " MILANO ", "Milàno", "MiLaNo"])
def test_a_city_typed_another_way_is_the_learned_city(pipeline, typed: str) -> None:
    record = {"area_m2": 80, "rooms": 3, "date": "2023-09-10"}
    as_learned = pipeline.value_one({**record, "city": "Milano"})
    as_typed = pipeline.value_one({**record, "city": typed})
    assert as_typed.price == as_learned.price
    assert as_typed.sub_model == as_learned.sub_model


def test_an_unknown_city_is_kept_and_valued_by_the_global_model(pipeline) -> None:
    valuation = pipeline.value_one({"city": "Gotham", "area_m2": 80, "date": "2023-09-10"})
    assert valuation.sub_model == "global"
    assert valuation.confidence == "low"


def test_the_contract_matches_by_key_and_keeps_exact_names() -> None:
    contract = PropertyContract(cities=("Kraków", "Łódź", "São Paulo"))
    assert contract.known_city("krakow") == "Kraków"
    assert contract.known_city("LODZ") == "Łódź"
    assert contract.known_city("sao paulo") == "São Paulo"
    assert contract.known_city("Kraków") == "Kraków"
    assert contract.known_city("Warszawa") == "Warszawa"
    assert PropertyContract().known_city("krakow") == "krakow"  # no cities: unchanged


@given(st.text(min_size=1, max_size=30))
def test_name_keys_are_plain_and_stable(text: str) -> None:
    key = name_key(text)
    assert key == name_key(key.upper()) == name_key(f"  {text}  ")
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in key)
