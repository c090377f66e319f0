"""Warnings in the caller's language: values in their own words, each said once."""

from __future__ import annotations

import pytest

from estimo.serve.warnings_text import note, translate_warnings


@pytest.mark.parametrize(
    ("warning", "lang", "expected"),
    [
        (
            'has_elevator was missing; read yes from the description ("con ascensore")',
            "it",
            "read: ascensore",
        ),
        ("condition was missing; used renovated (city)", "es", "reformado"),
        ("property_type was missing; used flat (city)", "it", "appartamento"),
        ("year_built was missing; used 1976.0 (city)", "it", "1976,"),
        ("year_built 1852 is outside the range seen in training (1852 to 2023)", "es", "1852"),
    ],
)
def test_a_warnings_values_are_in_the_callers_words(warning, lang, expected) -> None:
    said = note(warning, lang)
    assert said != warning
    if expected.startswith("read: "):
        assert expected[len("read: ") :] in said and " yes " not in f" {said} "
    else:
        assert expected in said
    assert "1.976" not in said and "1.852" not in said and "2.023" not in said


def test_each_translated_warning_is_said_once() -> None:
    twice = ["feature 'lat' was imputed", "feature 'lat' was imputed", "a brand new warning"]
    assert len(translate_warnings(twice, "it")) == 2
    assert translate_warnings(twice, "en") == twice  # English keeps the engine's sentences


def test_past_data_is_counted_from_the_valuation_date() -> None:
    warning = (
        "the valuation date is 19 months after the data ends (2024-11): prices were carried "
        "forward by the price index's trend"
    )
    assert "19 mesi prima della data della valutazione" in note(warning, "it")
    assert "19 meses antes de la fecha de valoración" in note(warning, "es")
