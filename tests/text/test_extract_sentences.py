"""Hand-written sentences in Italian, Spanish, English and Polish: what the extractor reads.

Each row is a sentence of the kind listings contain, the language, the field and the value
expected (None: the field must stay empty). Written for these tests, not taken from any
dataset.
"""

from __future__ import annotations

import pytest

from estimo.text import extract

CASES = [
    # area: units, words, decimals, ranges, reversed order, square feet, parts of the home
    ("Appartamento di 85 mq al primo piano", "it", "area_m2", 85.0),
    ("Bilocale di 55 metri quadri, luminoso", "it", "area_m2", 55.0),
    ("Superficie commerciale mq 120 circa", "it", "area_m2", 120.0),
    ("Trilocale di 72,5 m² con cantina", "it", "area_m2", 72.5),
    ("Villa di 250 mq con giardino di 800 mq", "it", "area_m2", 250.0),
    ("Bilocale con terrazzo di 30 mq", "it", "area_m2", None),
    ("Piso de 90 m2 construidos en el centro", "es", "area_m2", 90.0),
    ("Vivienda de 83m2 con terraza", "es", "area_m2", 83.0),
    ("A bright flat of 850 sq ft near the station", "en", "area_m2", 79.0),
    ("Spacious apartment, 75 sqm, two bedrooms", "en", "area_m2", 75.0),
    ("Mieszkanie o powierzchni 48 m2 na drugim piętrze", "pl", "area_m2", 48.0),
    ("Mieszkanie 62 mkw, balkon", "pl", "area_m2", 62.0),
    # counts in digits and in words, whole words carrying a count
    ("Trilocale ristrutturato in zona centrale", "it", "rooms", 3.0),
    ("Appartamento di 4 locali con doppi servizi", "it", "rooms", 4.0),
    ("Appartamento di 4 locali con doppi servizi", "it", "bathrooms", 2.0),
    ("due camere da letto, cucina abitabile", "it", "bedrooms", 2.0),
    ("tre camere e due bagni", "it", "bathrooms", 2.0),
    ("Piso con tres dormitorios y dos baños", "es", "bedrooms", 3.0),
    ("Piso con tres dormitorios y dos baños", "es", "bathrooms", 2.0),
    ("Consta de 2 habitaciones, salón y un baño completo", "es", "bathrooms", 1.0),
    ("A three-bedroom house with two bathrooms", "en", "bathrooms", 2.0),
    ("Two bedrooms, one bathroom and a garden", "en", "bedrooms", 2.0),
    ("Mieszkanie trzypokojowe z balkonem", "pl", "rooms", 3.0),
    ("Na mieszkanie składają się 3 pokoje, kuchnia i łazienka", "pl", "rooms", 3.0),
    ("Mieszkanie ma dwie łazienki", "pl", "bathrooms", 2.0),
    # floors: named, ordinal words, digits, Roman numerals, floor of a part
    ("Appartamento al piano terra con giardino", "it", "floor", 0.0),
    ("situato al terzo piano con ascensore", "it", "floor", 3.0),
    ("al 4° piano di una palazzina signorile", "it", "floor", 4.0),
    ("Piano rialzato, ingresso indipendente", "it", "floor", 0.5),
    ("box auto al piano interrato", "it", "floor", None),
    ("Piso en planta baja con patio", "es", "floor", 0.0),
    ("Se vende piso bajo exterior", "es", "floor", 0.0),
    ("Vivienda en tercera planta con ascensor", "es", "floor", 3.0),
    ("Ground floor flat with a private garden", "en", "floor", 0.0),
    ("on the second floor of a period building", "en", "floor", 2.0),
    ("Mieszkanie na parterze z ogródkiem", "pl", "floor", 0.0),
    ("Mieszkanie na III piętrze w kamienicy", "pl", "floor", 3.0),
    ("Mieszkanie na 2/4 piętrze", "pl", "floors_in_building", 4.0),
    ("al secondo piano di una palazzina di 4 piani", "it", "floors_in_building", 4.0),
    # negation and hedges
    ("terzo piano senza ascensore", "it", "has_elevator", False),
    ("Casa sin garaje, con trastero", "es", "has_garage", False),
    ("Casa sin garaje, con trastero", "es", "has_cellar", True),
    ("Third floor flat, no lift", "en", "has_elevator", False),
    ("Mieszkanie na 4 piętrze bez windy", "pl", "has_elevator", False),
    ("con possibilità di acquistare un box auto", "it", "has_garage", None),
    ("posibilidad de plaza de garaje opcional", "es", "has_garage", None),
    ("option to rent a parking space nearby", "en", "has_parking", None),
    ("możliwość dokupienia miejsca postojowego", "pl", "has_parking", None),
    ("predisposizione aria condizionata", "it", "has_air_conditioning", None),
    ("bagno con box doccia", "it", "has_garage", None),
    ("appartamento non arredato con box auto", "it", "has_garage", True),
    ("vicino ai giardini pubblici", "it", "has_garden", None),
    # amenities affirmed
    ("ampio terrazzo panoramico", "it", "has_terrace", True),
    ("Piso con terraza y aire acondicionado", "es", "has_air_conditioning", True),
    ("Flat with a balcony and a cellar", "en", "has_balcony", True),
    ("Mieszkanie z balkonem i piwnicą", "pl", "has_cellar", True),
    ("posto auto coperto di proprietà", "it", "has_parking", True),
    # condition and year built
    ("appartamento da ristrutturare", "it", "condition", "to_renovate"),
    ("completamente ristrutturato nel 2019", "it", "condition", "renovated"),
    ("Piso reformado, listo para entrar a vivir", "es", "condition", "renovated"),
    ("Vivienda a reformar en el centro", "es", "condition", "to_renovate"),
    ("A newly built flat, never lived in", "en", "condition", "new"),
    ("Mieszkanie do remontu", "pl", "condition", "to_renovate"),
    ("palazzo costruito nel 1965", "it", "year_built", 1965.0),
    ("Edificio construido en 2002 con ascensor", "es", "year_built", 2002.0),
    ("Victorian house built in 1890", "en", "year_built", 1890.0),
    ("Budynek wybudowany w 2010 roku", "pl", "year_built", 2010.0),
    ("palazzina degli anni '60", "it", "year_built", 1960.0),
    ("ristrutturato nel 2015", "it", "year_built", None),
]


@pytest.mark.parametrize(("sentence", "lang", "field", "expected"), CASES)
def test_sentence(sentence: str, lang: str, field: str, expected: object) -> None:
    facts = extract(sentence, lang=lang, min_confidence=0.0).facts
    if expected is None:
        assert field not in facts, f"{field} read as {facts[field].value!r}"
        return
    assert field in facts, f"{field} not read from {sentence!r}"
    value = facts[field].value
    if isinstance(expected, float) and field == "area_m2":
        assert value == pytest.approx(expected, abs=0.5)
    else:
        assert value == expected


@pytest.mark.parametrize(
    ("sentence", "lang"),
    [
        ("Appartamento luminoso con cantina e box auto", "it"),
        ("Piso luminoso con ascensor y trastero", "es"),
        ("A bright flat with a lift and a garden", "en"),
        ("Mieszkanie z balkonem, piwnica i winda", "pl"),
    ],
)
def test_language_is_detected(sentence: str, lang: str) -> None:
    assert extract(sentence).lang == lang


def test_span_is_the_words_the_value_came_from() -> None:
    text = "Luminoso trilocale di 85 mq al secondo piano"
    facts = extract(text, lang="it", min_confidence=0.0).facts
    for fact in facts.values():
        assert text[fact.start : fact.end] == fact.span
    assert facts["area_m2"].span == "85 mq"
    assert facts["floor"].span == "secondo piano"


def test_title_is_read_before_the_description() -> None:
    facts = extract("con cantina", "Bilocale di 50 mq", lang="it", min_confidence=0.0).facts
    assert facts["area_m2"].value == 50.0
    assert facts["has_cellar"].value is True


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="'fr' is not supported"):
        extract("Appartement de 3 pièces", lang="fr")


def test_empty_text_gives_no_facts() -> None:
    assert extract(None).facts == {}
    assert extract("   ").facts == {}


@pytest.mark.parametrize(
    ("sentence", "field", "expected"),
    [
        ("1° piano NO ascensore NO terrazzo", "has_terrace", False),
        ("balcone (no box e cantina)", "has_garage", False),
        ("il condominio non e servito da ascensore", "has_elevator", False),
        ("camera con box armadio", "has_garage", None),
    ],
)
def test_italian_informal_negations(sentence: str, field: str, expected: object) -> None:
    facts = extract(sentence, lang="it", min_confidence=0.0).facts
    assert (facts[field].value if field in facts else None) == expected


# English and Polish have no labelled data: the rules' own confidences and the default
# floor decide; these sentences must be read at the default setting.
DEFAULT_EN_PL = [
    ("Two-bed flat of 700-750 sq ft on the first floor", "en", "floor", 1.0),
    ("Two-bed flat of 700 sq ft on the first floor", "en", "area_m2", 65.0),
    ("Lovely three bedroom semi with off-street parking", "en", "bedrooms", 3.0),
    ("Lovely three bedroom semi with off-street parking", "en", "has_parking", True),
    ("Top floor studio, no lift, communal garden", "en", "has_elevator", False),
    ("Benefits from a garage and a south-facing garden", "en", "has_garage", True),
    ("Ground floor maisonette, recently refurbished", "en", "condition", "renovated"),
    ("In need of modernisation throughout", "en", "condition", "to_renovate"),
    ("No parking available", "en", "has_parking", False),
    ("Garage available at extra cost", "en", "has_garage", None),
    ("Built in 1935, the house has three reception rooms", "en", "year_built", 1935.0),
    ("Mieszkanie dwupokojowe o pow. 45,5 m2", "pl", "area_m2", 45.5),
    ("Mieszkanie dwupokojowe o pow. 45,5 m2", "pl", "rooms", 2.0),
    ("Lokal na parterze, bez balkonu", "pl", "floor", 0.0),
    ("Lokal na parterze, bez balkonu", "pl", "has_balcony", False),
    ("W budynku jest winda", "pl", "has_elevator", True),
    ("Do mieszkania przynależy miejsce postojowe w hali garażowej", "pl", "has_parking", True),
    ("Mieszkanie po generalnym remoncie", "pl", "condition", "renovated"),
    ("Mieszkanie na trzecim piętrze", "pl", "floor", 3.0),
    ("Dwie sypialnie i salon z aneksem kuchennym", "pl", "bedrooms", 2.0),
    ("Możliwość wynajęcia garażu", "pl", "has_garage", None),
]


@pytest.mark.parametrize(("sentence", "lang", "field", "expected"), DEFAULT_EN_PL)
def test_english_and_polish_at_the_default_floor(
    sentence: str, lang: str, field: str, expected: object
) -> None:
    facts = extract(sentence, lang=lang).facts
    value = facts[field].value if field in facts else None
    if isinstance(expected, float):
        assert value == pytest.approx(expected, abs=0.5)
    else:
        assert value == expected
