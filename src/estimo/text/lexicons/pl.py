"""Polish: how otodom-style listings name size, rooms, floors and amenities."""

from estimo.text.lexicon import Lexicon

LEXICON = Lexicon(
    code="pl",
    number_words={
        "jeden": 1,
        "jedna": 1,
        "jedno": 1,
        "dwa": 2,
        "dwie": 2,
        "dwóch": 2,
        "trzy": 3,
        "trzech": 3,
        "cztery": 4,
        "czterech": 4,
        "pięć": 5,
        "sześć": 6,
        "siedem": 7,
        "osiem": 8,
        "dziewięć": 9,
        "dziesięć": 10,
    },
    ordinal_words={
        "pierwszym": 1,
        "pierwsze": 1,
        "drugim": 2,
        "drugie": 2,
        "trzecim": 3,
        "trzecie": 3,
        "czwartym": 4,
        "czwarte": 4,
        "piątym": 5,
        "piąte": 5,
        "szóstym": 6,
        "szóste": 6,
        "siódmym": 7,
        "siódme": 7,
        "ósmym": 8,
        "ósme": 8,
        "dziewiątym": 9,
        "dziewiąte": 9,
        "dziesiątym": 10,
        "dziesiąte": 10,
    },
    area_units=r"m2|m²|mkw\.?|m\.?\s?kw\.?|metr(?:ów|y)?\s+kwadratow(?:ych|e)",
    sqft_units=r"sq\.?\s?ft",
    whole_nouns=(
        r"mieszkani[ea]|lokal|powierzchni[aęi]|metraż|dom|apartament|kawalerk[aę]|"
        r"łącznie|całkowit[aej]+|użytkow[aej]+|o\s+pow\."
    ),
    part_nouns=(
        r"taras|balkon|ogr[oó]d(?:ek)?|działk[aęi]|garaż|piwnic[aęy]|komórk[aęi]|salon|"
        r"pok[oó]j|sypialni[aę]|kuchni[aę]|łazienk[aę]|loggi[aę]|strych|poddasze"
    ),
    counts={
        "rooms": r"pok(?:oje|oi|ój|\.)",
        "bedrooms": r"sypialni(?:e|a)?",
        "bathrooms": r"łazienk(?:i|a)|łazienek",
    },
    count_terms={
        "rooms": {
            "kawalerka": 1,
            "jednopokojowe": 1,
            "dwupokojowe": 2,
            "trzypokojowe": 3,
            "czteropokojowe": 4,
            "pięciopokojowe": 5,
            "2-pokojowe": 2,
            "3-pokojowe": 3,
            "4-pokojowe": 4,
            "1-pokojowe": 1,
            "5-pokojowe": 5,
        },
        "bedrooms": {},
        "bathrooms": {},
    },
    floor_noun=r"piętr(?:o|ze)",
    floor_special={
        r"parter(?:ze)?|na\s+parterze": 0.0,
        r"suteren(?:a|ie)": -1.0,
        r"antresol(?:a|i)": 0.5,
    },
    top_floor=r"ostatni(?:m|e)\s+piętr(?:ze|o)",
    building_floors=r"(\w+)[-\s]?piętrow(?:ym|y|ego|ej)|budyn(?:ek|ku)\s+(\w+)[-\s]?piętrow",
    amenities={
        "elevator": r"wind(?:a|ą|y|ę)|dźwig",
        "terrace": r"taras(?:em|u|y)?",
        "balcony": r"balkon(?:em|u|y)?|loggi(?:a|ą|ę)",
        "garage": r"garaż(?:em|u)?|hal(?:a|i)\s+garażow(?:a|ej)|miejsce\s+w\s+garażu",
        "parking": r"miejsc(?:e|em|a)\s+(?:postojow|parkingow)\w*|parking(?:iem|u)?|"
        r"hal(?:a|i)\s+garażow(?:a|ej)",
        "garden": r"ogr[oó]d(?:ek|kiem|em|u)?",
        "cellar": r"piwnic(?:a|ą|ę|y)|komórk(?:a|ą|ę|i)\s+lokatorsk(?:a|ą|ą)",
        "air_conditioning": r"klimatyzacj(?:a|ą|ę|i)|klimatyzowan(?:e|y|a)",
    },
    negation_before=r"bez|brak|nie\s+ma|nie\s+posiada|nie|żadn(?:ej|ego|ych|a|y)",
    negation_after=r"\s*:\s*nie\b|\s*:\s*brak\b",
    hedges=r"możliwoś(?:ć|ci)|opcjonalnie|za\s+dopłatą|dodatkowo\s+płatn\w*|do\s+kupienia|"
    r"do\s+wynajęcia|możliwy|można",
    conditions={
        "new": r"stan\s+deweloperski|nowe\s+budownictwo|nowy\s+budynek|rynek\s+pierwotny|"
        r"nowo\s+wybudowan\w+",
        "renovated": r"po\s+(?:generalnym\s+|kapitalnym\s+|całkowitym\s+)?remoncie|"
        r"wyremontowan\w+|odnowion\w+|wysoki\s+standard|bardzo\s+dobry\s+stan",
        "good": r"dobry\s+stan|stan\s+dobry|gotowe\s+do\s+zamieszkania|do\s+zamieszkania",
        "to_renovate": r"do\s+remontu|do\s+odświeżenia|wymaga\s+remontu|do\s+generalnego\s+"
        r"remontu|wymaga\s+odświeżenia",
    },
    year_cues=r"(?:wybudowan\w+|zbudowan\w+|oddan\w+\s+do\s+użytku)\s+w(?:\s+roku)?|"
    r"rok\s+budowy:?|z\s+roku",
    decade_cues=r"lat(?:ach)?\s+",
    singular={"bathrooms": r"łazienk(?:a|ę|ą)", "bedrooms": r"sypialni(?:a|ę|ą)"},
    more_than_one={
        "bathrooms": r"łazienki|łazienek|wc|toaleta|drug(?:a|ą)\s+łazienk",
        "bedrooms": r"sypialnie|sypialni\b|drug(?:a|ą)\s+sypialni",
    },
    not_own=r"\s+(?:miejsk|publiczn|w\s+okolicy|osiedlow)",
    part_before_floor=r"(?:piwnic\w*|garaż\w*|komórk\w*|miejsce\s+postojowe)\s+(?:na)?\s*$",
    stopwords=frozenset(
        [
            "pokój",
            "kuchnia",
            "łazienka",
            "balkon",
            "winda",
            "bez",
            "piętrze",
            "piwnica",
            "i",
            "w",
            "z",
            "na",
            "do",
            "się",
            "jest",
            "oraz",
            "od",
            "po",
            "nie",
            "to",
            "mieszkanie",
            "przy",
            "dla",
            "lub",
            "które",
            "pokoje",
            "jak",
        ]
    ),
)
