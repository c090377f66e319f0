"""The API's schema and the input contract read a field alike: what one refuses, the other
refuses; what one takes, the other takes (the same record through `estimo value`,
``value_one`` and HTTP)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from estimo.errors import InputError
from estimo.property_input import PropertyContract
from estimo.serve.schemas import PropertyIn

CONTRACT = PropertyContract()
BASE = {"city": "Milano", "area_m2": 80}


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ({"date": 1733011200}, False),  # a Unix time is not a date
        ({"date": "2024-13-01"}, False),
        ({"date": "0001-01-01"}, False),
        ({"date": " 2024-06-01 "}, True),
        ({"date": "2024-06-01T23:30:00-05:00"}, True),
        ({"area_m2": "1_000"}, False),
        ({"area_m2": "85"}, True),
        ({"area_m2": "85 m2"}, False),
        ({"area_m2": True}, False),
        ({"neighbourhood": 20121}, True),  # a zip code
        ({"neighbourhood": "Brera"}, True),
    ],
)
def test_the_schema_and_the_contract_agree(change: dict, accepted: bool) -> None:
    record = {**BASE, **change}
    try:
        item = PropertyIn.model_validate(record)
    except ValidationError:
        schema_ok = False
    else:
        schema_ok = True
        CONTRACT.check(item.record())  # what the schema passes on, the contract takes
    try:
        CONTRACT.check(record)
    except InputError:
        contract_ok = False
    else:
        contract_ok = True
    assert (schema_ok, contract_ok) == (accepted, accepted)


def test_the_schema_passes_the_date_as_written_and_a_zip_as_text() -> None:
    item = PropertyIn.model_validate({**BASE, "date": " 2024-06-01 ", "neighbourhood": 20121})
    assert item.record()["date"] == "2024-06-01" and item.record()["neighbourhood"] == "20121"
    assert PropertyIn.model_json_schema()["properties"]["date"]["format"] == "date"
