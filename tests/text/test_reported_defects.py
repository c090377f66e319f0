"""Defects reported by a tester on the description extractor, one group per report entry.

Every sentence is written for these tests (none comes from a dataset); each failed before
its fix.
"""

from __future__ import annotations

import pytest

from estimo.text import extract


def _value(sentence: str, field: str, lang: str | None = None) -> object:
    fact = extract(sentence, lang=lang).facts.get(field)
    return None if fact is None else fact.value


# ------------------------------------------------------------------ negations (entry 1)
@pytest.mark.parametrize(
    ("sentence", "field"),
    [
        ("Quarto piano, non c'è l'ascensore.", "has_elevator"),
        ("Quarto piano, non c’è ascensore.", "has_elevator"),
        ("Quarto piano, senza l'ascensore.", "has_elevator"),
        ("Quarto piano, senza l’ascensore.", "has_elevator"),
        ("Quarto piano, nessun ascensore.", "has_elevator"),
        ("Villetta con nessuna cantina.", "has_cellar"),
        ("Cuarta planta, ningún garaje.", "has_garage"),
        ("Piso en cuarta planta, ninguna terraza.", "has_terrace"),
        ("Fourth floor, there isn't a lift.", "has_elevator"),
        ("Fourth floor, there isn’t a lift.", "has_elevator"),
        ("Fourth floor; the block doesn't have a lift.", "has_elevator"),
        ("Fourth floor; the block hasn't got a lift.", "has_elevator"),
        ("Fourth floor and there is no lift.", "has_elevator"),
    ],
)
def test_negations_are_read_as_negations(sentence: str, field: str) -> None:
    assert _value(sentence, field) is not True
    assert extract(sentence, min_confidence=0.0).facts[field].value is False


@pytest.mark.parametrize(
    ("sentence", "field"),
    [
        ("Quarto piano con l'ascensore.", "has_elevator"),
        ("Casa senza giardino ma con l’ascensore.", "has_elevator"),
        ("The flat isn't far from the park, with a lift.", "has_elevator"),
    ],
)
def test_affirmed_mentions_stay_affirmed(sentence: str, field: str) -> None:
    assert extract(sentence, min_confidence=0.0).facts[field].value is True


# ---------------------------------------------------------------- HTML markup (entry 6)
@pytest.mark.parametrize(
    "sentence",
    [
        "Bilocale al quarto piano, <b>senza</b> ascensore.",
        "Bilocale al quarto piano senza<br>ascensore.",
        "Bilocale al quarto piano senza<br/>\nascensore.",
        "Bilocale al quarto piano senza&nbsp;ascensore.",
        "Bilocale al quarto piano senza\u00a0ascensore.",
        "Fourth floor flat, <strong>no</strong> lift.",
        "Piso en cuarta planta <i>sin</i> ascensor.",
        "Bilocale al quarto piano, non c&#39;&egrave; l&rsquo;ascensore.",
    ],
)
def test_markup_does_not_break_a_negation(sentence: str) -> None:
    assert _value(sentence, "has_elevator") is False


def test_facts_under_markup_point_into_the_original_text() -> None:
    text = "<p>Trilocale di 80&nbsp;mq</p><p>con <b>cantina</b> &amp; box</p>"
    facts = extract(text, lang="it", min_confidence=0.0).facts
    for fact in facts.values():
        assert text[fact.start : fact.end] == fact.span
    assert facts["area_m2"].value == 80.0
    assert facts["area_m2"].span == "80&nbsp;mq"
    assert facts["has_cellar"].span == "cantina"


def test_a_line_break_after_a_list_item_ends_the_clause() -> None:
    facts = extract("Balcone: no<br>Ascensore<br>Cantina", lang="it").facts
    assert facts["has_elevator"].value is True


# ------------------------------------------------ hyphenated counts and ranges (2 and 3)
@pytest.mark.parametrize(
    ("sentence", "field", "expected"),
    [
        ("Two-bedroom maisonette near the park.", "bedrooms", 2.0),
        ("Roomy four-bedroom house with a garden.", "bedrooms", 4.0),
        ("A 3-bedroom flat in the centre.", "bedrooms", 3.0),
        ("A 3-bed semi with a driveway.", "bedrooms", 3.0),
        ("Two-bathroom flat with a lift.", "bathrooms", 2.0),
    ],
)
def test_hyphenated_counts(sentence: str, field: str, expected: float) -> None:
    assert _value(sentence, field, "en") == expected


@pytest.mark.parametrize(
    ("sentence", "lang"),
    [
        ("Flat with 2-3 bedrooms.", "en"),
        ("Flat with 2 to 3 bedrooms.", "en"),
        ("Appartamento con 2-3 camere e cantina.", "it"),
        ("Piso de 2 o 3 dormitorios.", "es"),
    ],
)
def test_a_count_range_is_not_an_exact_count(sentence: str, lang: str) -> None:
    assert _value(sentence, "bedrooms", lang) is None  # not reported at the default floor
    fact = extract(sentence, lang=lang, min_confidence=0.0).facts["bedrooms"]
    assert (fact.value, fact.rule) == (2.0, "count.range")
    assert fact.confidence <= 0.6


# --------------------------------------------------------------------- decades (entry 4)
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Semi-detached house built in the 1950s.", 1950.0),
        ("Semi-detached house built in the 80s.", 1980.0),
        ("Semi-detached house built in the 1960's.", 1960.0),
        ("Semi-detached house built in the 1960’s.", 1960.0),
    ],
)
def test_a_decade_gives_its_first_year_at_decade_confidence(sentence: str, expected: float) -> None:
    fact = extract(sentence, lang="en", min_confidence=0.0).facts["year_built"]
    exact = extract("Semi-detached house built in 1962.", lang="en").facts["year_built"]
    assert (fact.value, fact.rule) == (expected, "year_built.decade")
    assert fact.confidence < exact.confidence


def test_a_number_after_a_year_cue_is_not_a_decade() -> None:
    assert "year_built" not in extract("Completed in 80 days", lang="en").facts


# ------------------------------------------------ hedges and look-alike words (entry 17)
@pytest.mark.parametrize(
    ("sentence", "lang", "field"),
    [
        ("Pre-installation of air conditioning in every room.", "en", "has_air_conditioning"),
        ("Preinstalled for air conditioning.", "en", "has_air_conditioning"),
        ("The flat is pre-wired for air conditioning.", "en", "has_air_conditioning"),
        ("Mid-terrace house with a small yard.", "en", "has_terrace"),
        ("Bagno finestrato con box-doccia.", "it", "has_garage"),
        ("Bagno finestrato con box-doccia.", "it", "has_parking"),
    ],
)
def test_hedged_or_look_alike_mentions_give_nothing(sentence: str, lang: str, field: str) -> None:
    assert field not in extract(sentence, lang=lang, min_confidence=0.0).facts


def test_a_real_terrace_is_still_read() -> None:
    assert _value("Flat with a roof terrace and a lift.", "has_terrace", "en") is True


# ------------------------------------------------------------- extract_frame (entry 9)
def test_extract_frame_refuses_a_single_string() -> None:
    from estimo.text import extract_frame

    with pytest.raises(TypeError, match="iterable of strings"):
        extract_frame("Trilocale di 80 mq con box auto")
    with pytest.raises(TypeError, match="titles"):
        extract_frame(["Trilocale di 80 mq"], "Trilocale")


# ---------------------------------------------------------- language detection (entry 8)
@pytest.mark.parametrize(
    ("sentence", "lang"),
    [
        ("Casale anni 60 con giardino.", "it"),
        ("Non lontano dalla spiaggia, con giardino.", "it"),
        ("Costruito negli anni '70, da ristrutturare.", "it"),
        ("Rok budowy 1992.", "pl"),
        ("Year built: 1968", "en"),
    ],
)
def test_short_texts_get_their_language(sentence: str, lang: str) -> None:
    from estimo.text import detect_language

    assert detect_language(sentence) == lang


def test_a_tie_is_no_language() -> None:
    from estimo.text import detect_language

    assert detect_language("con") is None


def test_a_year_built_cue_counts_towards_the_language() -> None:
    assert _value("Rok budowy 1992.", "year_built") == 1992.0
    assert _value("Year built: 1968", "year_built") == 1968.0


# ------------------------------------------------------- gross after net area (entry 10)
@pytest.mark.parametrize(
    ("sentence", "lang", "expected"),
    [
        ("Piso de 70 m2 útiles, 2 dormitorios, 85 m2 construidos.", "es", 85.0),
        ("Bilocale di 50 mq calpestabili e 62 mq commerciali.", "it", 62.0),
        ("Flat: 48 sqm usable, 57 sqm total.", "en", 57.0),
    ],
)
def test_a_gross_area_after_a_net_one_is_the_whole_home(
    sentence: str, lang: str, expected: float
) -> None:
    fact = extract(sentence, lang=lang, min_confidence=0.0).facts["area_m2"]
    assert (fact.value, fact.rule) == (expected, "area.whole")


def test_a_net_area_alone_stays_net() -> None:
    fact = extract("Bilocale di 50 mq calpestabili", lang="it", min_confidence=0.0).facts
    assert fact["area_m2"].rule == "area.net"


def test_a_dash_between_list_items_is_not_a_hyphenated_count() -> None:
    fact = extract("Piso con 3 dormitorios - baño completo.", lang="es", min_confidence=0.0)
    assert fact.facts["bathrooms"].value == 1.0
