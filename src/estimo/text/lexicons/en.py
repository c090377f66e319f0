"""English: how UK/US-style listings name size, rooms, floors and amenities."""

from estimo.text.lexicon import Lexicon

LEXICON = Lexicon(
    code="en",
    number_words={
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "eleven": 11,
        "twelve": 12,
        "single": 1,
        "double": 2,
        "twin": 2,
    },
    ordinal_words={
        "first": 1,
        "second": 2,
        "third": 3,
        "fourth": 4,
        "fifth": 5,
        "sixth": 6,
        "seventh": 7,
        "eighth": 8,
        "ninth": 9,
        "tenth": 10,
        "eleventh": 11,
        "twelfth": 12,
    },
    area_units=r"m2|m²|sq\.?\s?m|sqm|square\s+met(?:re|er)s?",
    sqft_units=r"sq\.?\s?ft\.?|sqft|square\s+f(?:ee|oo)t|ft²|ft2",
    whole_nouns=(
        r"flat|apartment|home|house|property|floor\s+area|living\s+area|internal\s+area|"
        r"total|approx(?:imately)?|size|measures|measuring|offering|extends\s+to|"
        r"condo|maisonette|bungalow|studio|penthouse|cottage|internal"
    ),
    part_nouns=(
        r"terrace|balcony|garden|yard|plot|lot|land|garage|patio|living\s+room|lounge|"
        r"bedroom|kitchen|bathroom|reception|cellar|basement|loft|storage|deck|pool|driveway"
    ),
    counts={
        "rooms": r"rooms",
        "bedrooms": r"bed(?:room)?s?|beds",
        "bathrooms": r"bath(?:room)?s?|shower\s+rooms?",
    },
    count_terms={"rooms": {}, "bedrooms": {"studio": 0}, "bathrooms": {}},
    floor_noun=r"floor|storey|story",
    floor_special={
        r"ground\s+floor|ground-floor|street\s+level": 0.0,
        r"raised\s+ground\s+floor|mezzanine|mezzanine\s+level": 0.5,
        r"lower\s+ground\s+floor|basement\s+(?:flat|apartment)|garden\s+level": -1.0,
    },
    top_floor=r"top\s+floor|top-floor|penthouse\s+level",
    building_floors=r"(\w+)[-\s](?:storey|story|floor)\s+(?:building|block|house|development)",
    amenities={
        "elevator": r"lifts?|elevators?",
        "terrace": r"terraces?|roof\s+terrace|roof-terrace",
        "balcony": r"balcon(?:y|ies)",
        "garage": r"garages?",
        "parking": r"parking(?:\s+spaces?|\s+space|\s+bay)?|off-street\s+parking|driveway|"
        r"car\s+port|carport",
        "garden": r"gardens?|back\s+yard|backyard|yard",
        "cellar": r"cellar|basement\s+storage|storage\s+(?:room|unit|cage)|store\s+room",
        "air_conditioning": r"air[-\s]?conditioning|air[-\s]?con|\ba/c\b|air\s+conditioned|"
        r"climate\s+control",
    },
    negation_before=r"no|without|not|lacks|lacking|nor|there\s+is\s+no|does\s+not\s+have|none|"
    r"(?:is|are|does|do|has|have|was|were|did)n't",
    negation_after=r"\s*:\s*no\b|\s*:\s*none\b|\s+not\s+included|\s+not\s+available",
    hedges=r"option(?:al)?\s+(?:of|to)|optional(?:ly)?|possibility\s+(?:of|to)|potential\s+"
    r"(?:for|to)|available\s+separately|by\s+separate\s+negotiation|could|scope\s+(?:for|to)|"
    r"subject\s+to|planning\s+permission|available\s+to\s+(?:rent|buy)|extra\s+cost|"
    r"pre-?install(?:ation|ed)?|pre-?wired|pre-?plumbed|prepared\s+for",
    conditions={
        "new": r"new[-\s]build|newly\s+built|brand[-\s]new|never\s+lived\s+in|off[-\s]plan",
        "renovated": r"(?:fully|newly|recently|completely|tastefully|beautifully)\s+"
        r"(?:renovated|refurbished|modernised|modernized|remodel(?:l)?ed)|"
        r"renovated|refurbished|immaculate|excellent\s+condition",
        "good": r"good\s+condition|well[-\s]maintained|well[-\s]presented|move[-\s]in\s+ready|"
        r"ready\s+to\s+move\s+in",
        "to_renovate": r"in\s+need\s+of\s+(?:some\s+)?(?:renovation|modernisation|"
        r"modernization|updating|refurbishment)|needs\s+(?:renovation|updating|work)|"
        r"renovation\s+project|fixer[-\s]upper|requires\s+(?:modernisation|renovation|updating)",
    },
    year_cues=r"(?:built|constructed|completed)\s+in|year\s+built:?|dating\s+from|built:",
    decade_cues=r"(?:built\s+in\s+the|from\s+the)\s+",
    singular={"bathrooms": r"bathroom", "bedrooms": r"bedroom"},
    more_than_one={
        "bathrooms": r"bathrooms|en[-\s]suite|shower\s+room|cloakroom|wc|toilets|"
        r"(?:second|another|family)\s+bathroom",
        "bedrooms": r"bedrooms|(?:second|another|master|double|single)\s+bedroom",
    },
    not_own=r"\s+(?:nearby|close\s+by|in\s+the\s+area|around|public)|"
    r"\s+(?:house|home|cottage|row)s?\b",  # a "terrace house" is a row house
    part_before_floor=r"(?:garage|storage|cellar|parking|entrance|lobby|reception)"
    r"\s+(?:on|at)?\s*(?:the)?\s*$",
    stopwords=frozenset(
        [
            "year",
            "built",
            "floor",
            "bedrooms",
            "there",
            "with",
            "kitchen",
            "bathroom",
            "garden",
            "lift",
            "house",
            "no",
            "the",
            "and",
            "with",
            "of",
            "in",
            "to",
            "is",
            "for",
            "this",
            "a",
            "an",
            "on",
            "are",
            "from",
            "has",
            "bedroom",
            "flat",
            "property",
            "located",
        ]
    ),
)
