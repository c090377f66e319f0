"""The number parser and the redactor: table-driven cases and properties (hypothesis)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.text.numbers import parse_number
from estimo.text.redact import redact


@pytest.mark.parametrize(
    ("token", "lang", "expected"),
    [
        ("85", "it", 85.0),
        ("85,5", "it", 85.5),
        ("85.5", "en", 85.5),
        ("250.000", "it", 250000.0),
        ("250.000", "es", 250000.0),
        ("1.250.000", "it", 1250000.0),
        ("1,250", "en", 1250.0),
        ("1.250,50", "es", 1250.5),
        ("1 250", "pl", 1250.0),
        ("tre", "it", 3.0),
        ("una", "it", 1.0),
        ("cuatro", "es", 4.0),
        ("two", "en", 2.0),
        ("dwie", "pl", 2.0),
        ("pięć", "pl", 5.0),
        ("molti", "it", None),
        ("", "it", None),
        ("12,345", "it", 12345.0),
    ],
)
def test_parse_number(token: str, lang: str, expected: float | None) -> None:
    assert parse_number(token, lang) == expected


def _grouped(value: int, sep: str) -> str:
    text = f"{value:,}"
    return text.replace(",", sep)


@settings(max_examples=200, deadline=None)
@given(value=st.integers(min_value=1000, max_value=99_999_999), lang=st.sampled_from(["it", "es"]))
def test_thousands_with_dots_round_trip(value: int, lang: str) -> None:
    assert parse_number(_grouped(value, "."), lang) == float(value)


@settings(max_examples=200, deadline=None)
@given(whole=st.integers(min_value=0, max_value=9999), cents=st.integers(min_value=0, max_value=99))
def test_decimal_comma_round_trip(whole: int, cents: int) -> None:
    assert parse_number(f"{whole},{cents:02d}", "it") == pytest.approx(whole + cents / 100)


@settings(max_examples=200, deadline=None)
@given(value=st.integers(min_value=1000, max_value=99_999_999))
def test_english_thousands_round_trip(value: int) -> None:
    assert parse_number(_grouped(value, ","), "en") == float(value)


# --------------------------------------------------------------------------- redaction
@pytest.mark.parametrize(
    ("text", "masked", "kept"),
    [
        ("Chiamare il 333 1234567", "[phone]", "333"),
        ("Tel. 02.20400084 per info", "[phone]", "20400084"),
        ("tel: +39 06 45 54 81 20", "[phone]", "45 54"),
        ("Llame al 976 123 456", "[phone]", "976"),
        ("Zadzwoń: 600 123 456", "[phone]", "600 123"),
        ("Call 020 7946 0958 today", "[phone]", "7946"),
        ("numeri 0961.33044 - 331.1788889", "[phone] - [phone]", "33044"),
        ("scrivere a info@agenzia.it", "[email]", "agenzia"),
        ("visit www.agenzia-casa.com/listing/12", "[url]", "agenzia"),
        ("https://example.org/a?b=1 per le foto", "[url]", "example"),
        ("mail: vendite@immobiliare.itVia Roma", "[email]Via Roma", "vendite"),
    ],
)
def test_contacts_are_masked(text: str, masked: str, kept: str) -> None:
    out = redact(text)
    assert masked in out.text
    assert kept not in out.text


@pytest.mark.parametrize(
    "text",
    [
        "Prezzo € 250.000 trattabili",
        "Richiesta 1.250.000 euro",
        "Precio: 185.000 €",
        "Appartamento di 85 mq",
        "Parcela de 1.200 m2",
        "Disponibile dal 01/08/2023",
        "Costruito tra il 1960-1970",
        "Rif. 052033000000",
        "Decreto legge n. 34/2020",
        "Cena 649 000 zł",
    ],
)
def test_prices_areas_dates_are_never_masked(text: str) -> None:
    out = redact(text)
    assert out.text == text
    assert sum(out.counts.values()) == 0


_PRICE = st.builds(
    lambda v, sep, sym, before: (
        f"{sym} {_grouped(v, sep)}" if before else f"{_grouped(v, sep)} {sym}"
    ),
    st.integers(min_value=10_000, max_value=99_999_999),
    st.sampled_from([".", " "]),
    st.sampled_from(["€", "euro", "EUR", "zł"]),
    st.booleans(),
)
_AREA = st.builds(
    lambda v, unit: f"{v} {unit}",
    st.integers(min_value=10, max_value=99_999),
    st.sampled_from(["mq", "m2", "m²", "metri quadri", "metros cuadrados", "sq ft", "mkw"]),
)
_WORDS = st.sampled_from(
    ["Appartamento", "con", "prezzo", "Piso", "de", "flat", "mieszkanie", "e", "di", "al", ","]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PRICE, _AREA, _WORDS), min_size=1, max_size=12))
def test_redaction_never_masks_a_price_or_an_area(parts: list[str]) -> None:
    text = " ".join(parts)
    assert redact(text).text == text


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from(["", "+39 ", "0039 ", "+34 ", "+48 "]),
    number=st.from_regex(r"3[0-9]{2} [0-9]{3} [0-9]{4}", fullmatch=True),
    words=st.sampled_from(["Per info", "chiamare", "Contatto:", "WhatsApp", "Llamar al"]),
)
def test_redaction_masks_phone_numbers(prefix: str, number: str, words: str) -> None:
    out = redact(f"{words} {prefix}{number} grazie")
    assert out.counts["phone"] == 1
    assert number.split()[-1] not in out.text


@pytest.mark.parametrize("run", ["1", "-", ".", "_", "a", "1.", "a-", "x@", "[at]"])
def test_redaction_is_linear_on_long_runs_without_spaces(run: str) -> None:
    # a separator line or a pasted token of 100,000 characters used to take minutes
    text = "Trilocale di 80 mq. " + run * (100_000 // len(run)) + " Tel 333 1234567"
    start = time.perf_counter()
    out = redact(text)
    assert time.perf_counter() - start < 1.0
    assert out.text.endswith("Tel [phone]")


def test_redaction_of_many_numbers_is_fast() -> None:
    text = "Tel 333 1234567, " * 6_000
    start = time.perf_counter()
    out = redact(text)
    assert time.perf_counter() - start < 2.0
    assert out.counts["phone"] == 6_000


@pytest.mark.parametrize(
    "text",
    [
        "Contact jan [at] agency [dot] pl",
        "jan.kowalski(at)agencja(dot)pl",
        "name at domain dot com",
        "jan.kowalski@agencja.com.pl",
        "Write to info&#64;agency.it",
        "scrivere a mario.rossi@studio.co.uk",
    ],
)
def test_whole_email_is_masked_even_obfuscated(text: str) -> None:
    out = redact(text)
    assert out.counts["email"] == 1
    assert out.text.endswith("[email]")


def test_spelled_at_needs_a_spelled_dot() -> None:
    text = "Flat at the corner of the square, at 5 minutes from the station"
    assert redact(text).text == text
