"""The input contract of a property to value (estimo.property_input): refused or warned."""

from __future__ import annotations

import pandas as pd
import pytest

from estimo.config import QualityConfig, RangeRule
from estimo.errors import InputError
from estimo.model.valuation_result import Valuation
from estimo.property_input import (
    MAX_DAYS_AHEAD,
    PropertyContract,
    shown,
    widen_valuation,
)

WINDOW = (pd.Timestamp("2022-01-01"), pd.Timestamp("2023-12-31"))
CONTRACT = PropertyContract(
    window=WINDOW,
    extra_fields=frozenset({"floors_in_building", "has_terrace"}),
    categories={"property_type": ("flat", "house")},
)
BASE = {"city": "Milano", "area_m2": 80, "rooms": 3, "date": "2023-06-01"}


def refused(record: dict) -> dict[str, str]:
    """The refused fields of ``record``: field -> message."""
    with pytest.raises(InputError) as caught:
        CONTRACT.check(record)
    return {p["field"]: p["message"] for p in caught.value.problems}


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"area_m2": 1e9}, "area_m2", "8 <= value <= 5000"),
        ({"area_m2": 0}, "area_m2", "8 <= value <= 5000"),
        ({"area_m2": -50}, "area_m2", "8 <= value <= 5000"),
        ({"area_m2": True}, "area_m2", "expected a number"),
        ({"area_m2": float("nan")}, "area_m2", "finite"),
        ({"rooms": float("inf")}, "rooms", "finite"),
        ({"rooms": -3}, "rooms", "0 <= value <= 50"),
        ({"floor": 250}, "floor", "-3 <= value <= 200"),
        ({"year_built": 3000}, "year_built", "up to 2028"),
        ({"property_type": "castle"}, "property_type", "['flat', 'house']"),
        ({"city": ["Milano"]}, "city", "not a list"),
        ({"city": "[/]"}, "city", "markup"),
        ({"city": "<script>"}, "city", "markup"),
        ({"city": "  "}, "city", "city's name"),
        ({"area_m2": "[/x]"}, "area_m2", "expected a number"),
        ({"date": "2100-01-01"}, "date", "on or before 2025-12-30"),
        ({"date": "1500-01-01"}, "date", "between 1900-01-01"),
        ({"date": "2021-06-01"}, "date", "on or after 2022-01-01"),
        ({"date": "01/02/2023"}, "date", "year-month-day"),
        ({"date": 20230101}, "date", "not a number"),
        ({"pool": 1}, "pool", "unknown field 'pool'"),
        ({"has_terrace": {"a": 1}}, "has_terrace", "not an object"),
        ({"floor": 7, "floors_in_building": 5}, "floor", "building's number of floors"),
        ({"area_m2": 10, "rooms": 5}, "area_m2", "at least 4 m² per room"),
        ({"description": "nice <b>flat</b>"}, "description", "HTML tags"),
        # an extra feature as text a numeric column would read as NaN or inf, like the number
        ({"floors_in_building": "Infinity"}, "floors_in_building", "finite"),
        ({"floors_in_building": "NaN"}, "floors_in_building", "finite"),
        ({"floors_in_building": float("inf")}, "floors_in_building", "finite"),
    ],
)
def test_each_violation_is_refused_naming_the_field_value_and_expectation(
    change, field, expected
) -> None:
    problems = refused({**BASE, **change})
    assert field in problems, problems
    assert expected in problems[field]
    assert problems[field].startswith(f"field {field!r}") or "unknown field" in problems[field]


def test_every_problem_is_reported_at_once_and_the_value_is_shortened() -> None:
    problems = refused({"area_m2": "x" * 500, "rooms": None, "lat": 123})
    assert set(problems) == {"area_m2", "lat", "city"}
    assert len(problems["area_m2"]) < 120 and "..." in problems["area_m2"]
    assert shown("y" * 500).endswith(" ...") and len(shown("y" * 500)) == 40


def test_valid_record_is_parsed_to_canonical_types() -> None:
    checked = CONTRACT.check({**BASE, "area_m2": "80.5", "has_terrace": True, "floor": None})
    assert checked.record["area_m2"] == 80.5 and checked.record["has_terrace"] is True
    assert checked.record["date"] == pd.Timestamp("2023-06-01") and "floor" not in checked.record
    assert checked.warnings == () and not checked.widen


def test_a_numpy_date_is_a_date() -> None:
    """np.datetime64 (what a frame's column hands out) was refused as 'expected a date'."""
    import numpy as np

    checked = CONTRACT.check({**BASE, "date": np.datetime64("2023-06-01T10:00")})
    assert checked.record["date"] == pd.Timestamp("2023-06-01")


def test_a_date_time_with_an_offset_is_its_local_date() -> None:
    """An evening sale in New York is a sale of that day, not of the next day in UTC."""
    checked = CONTRACT.check({**BASE, "date": "2023-06-01T23:30:00-05:00"})
    assert checked.record["date"] == pd.Timestamp("2023-06-01")


def test_a_date_after_the_window_is_valued_with_a_warning_and_widened() -> None:
    checked = CONTRACT.check({**BASE, "date": "2024-06-01"})
    assert checked.widen and "after the model's training data" in checked.warnings[0]
    limit = WINDOW[1] + pd.Timedelta(days=MAX_DAYS_AHEAD)
    assert CONTRACT.check({**BASE, "date": f"{limit:%Y-%m-%d}"}).widen
    # today by default is never refused, however old the model: warned
    defaulted = CONTRACT.check({"city": "Milano"}, today="2030-01-01")
    assert defaulted.widen and defaulted.record["date"] == pd.Timestamp("2030-01-01")
    # calendar months from the window's end (2023-12), as the engine's own warning counts
    # them (1,071 days: 35 "months" of 30 days)
    later = CONTRACT.check({"city": "Milano"}, today="2026-12-06")
    assert "is 36 months after the model's training data" in later.warnings[0]


def test_a_large_area_per_room_is_warned_not_refused() -> None:
    checked = CONTRACT.check({**BASE, "area_m2": 900, "rooms": 2})
    assert checked.widen and "450 m² per room" in checked.warnings[0]


def test_ranges_are_the_cleaning_policys() -> None:
    quality = QualityConfig(ranges={"area_m2": RangeRule(min=20, max=300)})
    contract = PropertyContract.for_engine(object(), quality)
    with pytest.raises(InputError, match="20 <= value <= 300"):
        contract.check({"city": "Roma", "area_m2": 10})
    assert contract.check({"city": "Roma", "area_m2": 299}).record["area_m2"] == 299.0
    assert contract.extra_fields is None  # no engine stage: names checked by the caller


def test_a_record_that_is_not_an_object_is_refused() -> None:
    for record in (["Milano"], "Milano", 3, None):
        with pytest.raises(InputError, match="object of fields"):
            CONTRACT.check(record)


def test_check_many_names_the_record_of_each_problem() -> None:
    with pytest.raises(InputError) as caught:
        CONTRACT.check_many([BASE, {**BASE, "rooms": -1}, {**BASE, "area_m2": 0}])
    fields = [p["field"] for p in caught.value.problems]
    assert fields == ["property 2: rooms", "property 3: area_m2"]
    assert str(caught.value).startswith("cannot value 2 of the properties")
    assert "- property 2: field 'rooms' is -1" in str(caught.value)  # which one, in the text


def test_widened_valuation_keeps_the_price_and_lowers_confidence() -> None:
    v = Valuation(
        price=200.0,
        low=180.0,
        high=220.0,
        fsd=0.05,
        valuation_date="2024-01-01",
        model_price=200.0,
        ranges={"90": (170.0, 230.0)},
    )
    w = widen_valuation(v, ["note"])
    assert w.price == v.price and w.low < v.low and w.high > v.high
    assert w.ranges["90"][0] < 170.0 and w.ranges["90"][1] > 230.0
    assert w.confidence == "low" and w.confidence_score <= v.confidence_score
    assert w.fsd == pytest.approx(0.075) and w.warnings == ("note",)


def test_an_area_the_cleaning_would_drop_is_refused_with_the_usual_areas() -> None:
    """The cleaning drops an area far from the city's usual area per room (a typo) and values
    the home at a typical area: for a property an owner typed, that is a price for another
    home, so the contract refuses it first, naming what is usual."""
    import numpy as np

    from estimo.quality.rules.validity import AreaStats

    stats = AreaStats(
        per_room={"Milano": (np.log(25.0), 0.2)}, area={"Milano|flat": (np.log(75.0), 0.3)}
    )
    contract = PropertyContract(window=WINDOW, area_stats=stats, area_z=5.0)
    flat = {**BASE, "property_type": "flat"}
    assert contract.check({**flat, "area_m2": 90}).record["area_m2"] == 90
    with pytest.raises(InputError) as too_large:
        contract.check({**flat, "area_m2": 800})
    message = too_large.value.problems[0]["message"]
    assert "800 m² for 3 rooms is 267 m² a room" in message and "9 to 68 m²" in message
    assert "ft²" in message
    with pytest.raises(InputError) as too_small:
        contract.check({**flat, "area_m2": 9, "rooms": None})
    assert "m² is usual for a flat" in too_small.value.problems[0]["message"]
    assert "ft²" not in too_small.value.problems[0]["message"]
    # a city the statistics do not know is not judged
    assert contract.check({**flat, "city": "Atlantis", "area_m2": 800}).record["area_m2"] == 800


def test_a_category_written_another_way_is_the_models_word() -> None:
    contract = PropertyContract(
        window=WINDOW,
        categories={"property_type": ("flat", "house"), "condition": ("good", "to_renovate")},
    )
    checked = contract.check({**BASE, "property_type": " Flat ", "condition": "To renovate"})
    assert checked.record["property_type"] == "flat"
    assert checked.record["condition"] == "to_renovate"
    with pytest.raises(InputError, match="the values the model knows"):
        contract.check({**BASE, "property_type": "castle"})


def test_an_extra_word_the_model_never_learned_is_warned_and_widened() -> None:
    contract = PropertyContract(
        window=WINDOW,
        extra_fields=frozenset({"energy_class"}),
        extra_levels={"energy_class": ("A", "B", "C")},
    )
    assert contract.check({**BASE, "energy_class": "b"}).record["energy_class"] == "B"
    assert not contract.check({**BASE, "energy_class": "b"}).widen
    checked = contract.check({**BASE, "energy_class": "A+"})
    assert checked.widen
    assert checked.warnings == (
        "energy_class 'A+' is not a value the model learned (A, B, C): valued as if not "
        "given; the range is widened",
    )


def test_one_propertys_area_check_is_the_audit_rules_decision() -> None:
    """The contract's frame-free check flags exactly what the cleaning's rule flags."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from estimo.quality.rules.validity import (
        AreaStats,
        _area_terms,
        _unusual_areas,
        unusual_area_problem,
    )

    stats = AreaStats(
        per_room={"X": (np.log(25.0), 0.2)},
        area={"X|flat": (np.log(75.0), 0.3), "X|?": (np.log(70.0), 0.3)},
    )

    @settings(max_examples=300, deadline=None)
    @given(
        st.sampled_from(["X", "Y"]),
        st.sampled_from(["flat", None]),
        st.floats(1, 5000),
        st.one_of(st.none(), st.floats(0, 50)),
    )
    def same(city, kind, area, rooms) -> None:
        record = {"city": city, "property_type": kind, "area_m2": area, "rooms": rooms}
        frame = pd.DataFrame({k: [v] for k, v in record.items()})
        flagged = bool(_unusual_areas(*_area_terms(frame), stats, 5.0)[0])
        assert (unusual_area_problem(record, stats, 5.0) is not None) == flagged

    same()
