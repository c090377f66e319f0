"""Spanish: how idealista-style listings name size, rooms, floors and amenities."""

from estimo.text.lexicon import Lexicon

LEXICON = Lexicon(
    code="es",
    number_words={
        "un": 1,
        "uno": 1,
        "una": 1,
        "dos": 2,
        "tres": 3,
        "cuatro": 4,
        "cinco": 5,
        "seis": 6,
        "siete": 7,
        "ocho": 8,
        "nueve": 9,
        "diez": 10,
        "once": 11,
        "doce": 12,
    },
    ordinal_words={
        "primer": 1,
        "primero": 1,
        "primera": 1,
        "segundo": 2,
        "segunda": 2,
        "tercer": 3,
        "tercero": 3,
        "tercera": 3,
        "cuarto": 4,
        "cuarta": 4,
        "quinto": 5,
        "quinta": 5,
        "sexto": 6,
        "sexta": 6,
        "séptimo": 7,
        "séptima": 7,
        "octavo": 8,
        "octava": 8,
        "noveno": 9,
        "novena": 9,
        "décimo": 10,
        "décima": 10,
    },
    area_units=r"m2|m²|mts2?|mt2|m\.?\s?c\.?|metros(?:\s+cuadrados)?|m\s?cuadrados",
    sqft_units=r"sq\.?\s?ft|pies\s+cuadrados",
    whole_nouns=(
        r"piso|vivienda|inmueble|superficie|casa|chalet|apartamento|ático|atico|dúplex|duplex|"
        r"estudio|construidos|útiles|utiles|construida|útil|útil|total|totales|propiedad|"
        r"loft|unifamiliar|adosado|planta\s+de"
    ),
    part_nouns=(
        r"terraza|terrazas|balc[oó]n|balcones|jard[ií]n|patio|garaje|plaza|trastero|"
        r"bodega|sal[oó]n|comedor|dormitorio|habitaci[oó]n|cocina|baño|parcela|terreno|"
        r"solar|piscina|porche|buhardilla|altillo|local|nave|almac[eé]n|galer[ií]a"
    ),
    counts={
        "bedrooms": r"habitaci(?:ones|ón|on)|dormitorios?|hab\.?|habs\.?|alcobas?",
        "bathrooms": r"baños?|banos?|aseos?",
    },
    count_terms={"rooms": {}, "bedrooms": {}, "bathrooms": {}},
    floor_noun=r"planta|piso",
    floor_special={
        r"planta\s+baja|(?:un|piso|es)\s+bajo\b|bajo\s+(?:con|exterior|interior)": 0.0,
        r"entresuelo|entreplanta": 0.5,
        r"s[oó]tano|semis[oó]tano": -1.0,
    },
    top_floor=r"[uú]ltima\s+planta|[uú]ltimo\s+piso",
    building_floors=(
        r"(?:edificio|finca|bloque|inmueble)(?:\s+\w+){0,3}?\s+de\s+(?:solo\s+|sólo\s+)?"
        r"(\w+)\s+(?:plantas|alturas|pisos)"
    ),
    amenities={
        "elevator": r"ascensor(?:es)?",
        "terrace": r"terrazas?",
        "balcony": r"balc[oó]n|balcones",
        "garage": r"garajes?|cochera|plaza\s+de\s+garaje",
        "parking": r"plaza\s+de\s+(?:garaje|aparcamiento|parking)|aparcamiento\s+privado|"
        r"parking|plazas?\s+de\s+aparcamiento|garajes?|cochera",
        "garden": r"jard[ií]n|jardines",
        "cellar": r"trasteros?|bodega",
        "air_conditioning": r"aire\s+acondicionado|climatizaci[oó]n|climatizad[oa]|"
        r"\ba/a\b|bomba\s+de\s+calor|splits?",
    },
    negation_before=r"sin|no\s+(?:tiene|dispone\s+de|cuenta\s+con|hay|incluye)|no|ni|carece\s+de|"
    r"ning[uú]n|ningun[oa]",
    negation_after=r"\s*:\s*no\b|\s+no\s+incluid[oa]",
    hedges=r"posibilidad\s+de|opci[oó]n\s+(?:de|a)|opcional(?:mente)?|aparte|a\s+parte|"
    r"precio\s+a\s+consultar|se\s+puede|podr[ií]a|preinstalaci[oó]n|pre-instalaci[oó]n|"
    r"adquirir|comprar|alquilar|posible|independiente",
    conditions={
        "new": r"obra\s+nueva|a\s+estrenar|nueva\s+construcci[oó]n|de\s+nueva\s+promoci[oó]n",
        "renovated": r"(?:totalmente\s+|completamente\s+|reci[eé]n\s+|integralmente\s+)?"
        r"reformad[oa](?!\s+parcialmente)|perfecto\s+estado|excelente\s+estado|"
        r"impecable",
        "good": r"buen\s+estado|para\s+entrar\s+a\s+vivir|listo\s+para\s+vivir",
        "to_renovate": r"para\s+reformar|a\s+reformar|necesita\s+(?:una\s+)?reforma|"
        r"para\s+actualizar|a\s+actualizar|necesita\s+actualizaci[oó]n|requiere\s+reforma",
    },
    year_cues=r"(?:construid[oa]|edificad[oa]|levantad[oa])\s+en(?:\s+el\s+año)?|"
    r"año\s+de\s+construcci[oó]n:?|construcci[oó]n\s+del?\s+año|del\s+año",
    decade_cues=r"(?:de\s+los|años)\s+años\s*'?|años\s*'?",
    singular={"bathrooms": r"baño(?:\s+completo)?", "bedrooms": r"(?:habitaci[oó]n|dormitorio)"},
    more_than_one={
        "bathrooms": r"baños|aseos?|(?:segundo|otro)\s+baño|baño\s+en\s+suite|incorporado",
        "bedrooms": r"habitaciones|dormitorios|(?:segund[oa]|otr[oa])\s+(?:habitaci|dormit)",
    },
    not_own=r"\s+(?:públic|public|municipal|de\s+la\s+zona|en\s+la\s+zona|cercan)",
    part_before_floor=r"(?:trastero|garaje|plaza|local|bodega|portal|cochera|ascensor)"
    r"\s+(?:en|a)?\s*(?:la|el)?\s*$",
    stopwords=frozenset(
        [
            "años",
            "construido",
            "planta",
            "jardín",
            "sin",
            "dormitorios",
            "baño",
            "cocina",
            "ascensor",
            "salón",
            "vivienda",
            "trastero",
            "habitaciones",
            "garaje",
            "el",
            "la",
            "los",
            "las",
            "de",
            "del",
            "con",
            "para",
            "que",
            "un",
            "una",
            "es",
            "en",
            "se",
            "y",
            "por",
            "al",
            "muy",
            "su",
            "sus",
            "este",
            "esta",
            "dispone",
            "cuenta",
            "piso",
        ]
    ),
)
