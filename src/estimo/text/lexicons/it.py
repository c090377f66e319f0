"""Italian: how immobiliare.it-style listings name size, rooms, floors and amenities."""

from estimo.text.lexicon import Lexicon

LEXICON = Lexicon(
    code="it",
    number_words={
        "un": 1,
        "uno": 1,
        "una": 1,
        "due": 2,
        "tre": 3,
        "quattro": 4,
        "cinque": 5,
        "sei": 6,
        "sette": 7,
        "otto": 8,
        "nove": 9,
        "dieci": 10,
        "undici": 11,
        "dodici": 12,
        "doppi": 2,
        "doppio": 2,
        "tripli": 3,
    },
    ordinal_words={
        "primo": 1,
        "secondo": 2,
        "terzo": 3,
        "quarto": 4,
        "quinto": 5,
        "sesto": 6,
        "settimo": 7,
        "ottavo": 8,
        "nono": 9,
        "decimo": 10,
        "undicesimo": 11,
        "dodicesimo": 12,
    },
    area_units=r"m\.?\s?q\.?|mq\.?|m2|m²|mt\.?\s?q\.?|mtq|mt2|metri\s+quadr[ia]t?[ie]?|metriquadri",
    sqft_units=r"sq\.?\s?ft|piedi\s+quadrati",
    whole_nouns=(
        r"appartamento|immobile|abitazione|superficie|unit[aà]\s+immobiliare|villa|villetta|"
        r"casa|attico|bilocale|trilocale|quadrilocale|monolocale|pentalocale|soluzione|"
        r"alloggio|metratura|proprietà|commerciali|calpestabili|complessiv[ie]|total[ie]|"
        r"porzione|loft|mansarda|rustico|casale|indipendente"
    ),
    part_nouns=(
        r"terrazz[oaie]|terrazzin[oi]|balcon[ei]|balconcin[oi]|giardin[oi]|cortile|corte|"
        r"box|garage|autorimessa|cantin[ae]|cantinola|soffitta|solaio|sottotetto|taverna|"
        r"soggiorno|salone|sala|camer[ae]|cameretta|cucina|bagn[oi]|lastrico|portico|"
        r"terreno|lotto|appezzamento|area\s+verde|posto\s+auto|magazzino|locale\s+deposito|"
        r"deposito|laboratorio|ufficio|negozio|fondo|veranda|patio|piscina|uliveto|vigneto"
    ),
    counts={
        "rooms": r"locali|vani",
        "bedrooms": r"camer[ae](?:\s+da\s+letto)?|stanze\s+da\s+letto",
        "bathrooms": r"bagn[io]|servizi(?:\s+igienici)?",
    },
    count_terms={
        "rooms": {
            "monolocale": 1,
            "bilocale": 2,
            "trilocale": 3,
            "quadrilocale": 4,
            "pentalocale": 5,
            "plurilocale": 5,
        },
        "bedrooms": {},
        "bathrooms": {"doppi servizi": 2, "doppio servizio": 2, "doppio bagno": 2},
    },
    floor_noun=r"piano",
    floor_special={
        r"piano\s+terr?a|pianterreno|piano\s+strada|pianoterra": 0.0,
        r"piano\s+rialzato|rialzato": 0.5,
        r"piano\s+seminterrato|seminterrato": -0.5,
        r"piano\s+interrato": -1.0,
    },
    top_floor=r"ultimo\s+piano",
    building_floors=(
        r"(?:palazzin[ae]|stabile|edificio|condominio|fabbricato|palazzo|complesso)"
        r"(?:\s+\w+){0,3}?\s+(?:di|su)\s+(?:soli\s+|solo\s+)?(\w+)\s+piani"
    ),
    amenities={
        "elevator": r"ascensor[ei]",
        "terrace": r"terrazz[oaie]|terrazzin[oi]|lastrico\s+solare",
        "balcony": r"balcon[ei]|balconcin[oi]|balconata",
        "garage": r"box(?:\s+auto)?(?![\s-]+(?:doccia|armadio))|garage|autorimessa",
        "parking": r"post[oi]\s+auto|post[oi]\s+macchina|parcheggio\s+(?:privato|condominiale|"
        r"riservato|coperto|interno|di\s+propriet[aà])",
        "garden": r"giardin[oi]|giardinett[oi]",
        "cellar": r"cantin[ae]|cantinol[ae]",
        "air_conditioning": r"aria\s+condizionata|climatizzat[oaie]|climatizzator[ei]|"
        r"condizionator[ei]|impianto\s+di\s+climatizzazione|climatizzazione",
    },
    negation_before=r"senza|no|non\s+(?:è|e)\s+servit[oa]\s+da|privo\s+di|priva\s+di|sprovvist[oa]\s+di|non\s+(?:è\s+)?"
    r"(?:dotat[oa]\s+di|provvist[oa]\s+di|c'è|ha|presente|dispone\s+di)|non|né|niente|manca|"
    r"nessun[oa]?|alcun[oa]?",
    negation_after=r"\s*:\s*no\b|\s+assente|\s+non\s+presente|\s+mancante|:\s*assente",
    hedges=r"possibilit[aà]\s+(?:di|d')|eventuale|eventualmente|predisposizion[ei]|predispost[oa]|"
    r"a\s+richiesta|su\s+richiesta|facoltativ[oa]|a\s+parte|separatamente|opzional[ei]|"
    r"acquistabile|in\s+aggiunta|ricavare|possibile|in\s+vendita\s+anche|volendo|potrebbe|"
    r"potrà|può\s+essere|può\s+trovare|qualora|a\s+partire\s+da",
    conditions={
        "new": r"nuova\s+costruzione|di\s+nuova\s+realizzazione|mai\s+abitat[oa]|in\s+costruzione|"
        r"nuovo\s+di\s+zecca|appena\s+costruit[oa]",
        "renovated": r"(?<!da\s)(?<!parzialmente\s)(?:completamente\s+|totalmente\s+|finemente\s+|"
        r"interamente\s+|recentemente\s+)?ristrutturat[oa](?!\s+parzialmente)|"
        r"ottimo\s+stato|ottime\s+condizioni|perfetto\s+stato|perfette\s+condizioni|"
        r"rimess[oa]\s+a\s+nuovo",
        "good": r"buono\s+stato|buone\s+condizioni|buono\s+stato\s+di\s+conservazione|abitabile\s+"
        r"da\s+subito|discreto\s+stato",
        "to_renovate": r"da\s+ristrutturare|da\s+rimodernare|da\s+ammodernare|da\s+sistemare|"
        r"da\s+riattare|necessita\s+di\s+(?:lavori|ristrutturazione)|da\s+rinnovare",
    },
    year_cues=r"(?:costruit[oa]|edificat[oa]|realizzat[oa]|ultimat[oa])\s+(?:nel(?:l'anno)?|in)|"
    r"anno\s+di\s+costruzione:?|costruzione\s+del|risalente\s+al|costruzione\s+(?:nel|anno)",
    decade_cues=r"(?:degli|negli|anni|costruit[oa]\s+negli)\s+anni\s*'?|anni\s*'?",
    singular={"bathrooms": r"bagno", "bedrooms": r"camera(?:\s+da\s+letto|\s+matrimoniale)?"},
    more_than_one={
        "bathrooms": r"bagni|servizi|(?:secondo|altro|ulteriore)\s+bagno|bagnetto|bagno\s+di\s+"
        r"servizio|servizio\s+igienico|wc|lavanderia|antibagno|bagno\s+padronale",
        "bedrooms": r"camere|cameretta|camerett[ae]|(?:seconda|altra|ulteriore)\s+camera|"
        r"studio|stanza|singola",
    },
    not_own=r"\s+(?:pubblic|comunal|di\s+zona|della\s+zona|in\s+zona|nelle\s+vicinanze)",
    part_before_floor=r"(?:cantin[ae]|box|garage|autorimessa|posto\s+auto|taverna|"
    r"magazzino|deposito|locale|lavanderia|soffitta|giardino|ingresso|portineria|"
    r"(?:camer[ae]|bagn[oi]|cucina|soggiorno|salone|studio)(?:\s+\w+)?)"
    r"(?:\s+[^\s.;]+){0,4}\s+(?:al|a|nel|sul|in)\s*$",
    stopwords=frozenset(
        [
            "anni",
            "giardino",
            "negli",
            "degli",
            "dal",
            "dalla",
            "non",
            "ristrutturare",
            "costruito",
            "costruzione",
            "piani",
            "ascensore",
            "mq",
            "senza",
            "bilocale",
            "trilocale",
            "monolocale",
            "cantina",
            "ascensore",
            "bagno",
            "camera",
            "cucina",
            "soggiorno",
            "appartamento",
            "terrazzo",
            "box",
            "il",
            "e",
            "lo",
            "la",
            "gli",
            "le",
            "di",
            "del",
            "della",
            "dello",
            "dei",
            "delle",
            "con",
            "per",
            "che",
            "un",
            "una",
            "è",
            "nel",
            "nella",
            "sono",
            "al",
            "alla",
            "ed",
            "anche",
            "molto",
            "si",
            "composto",
            "ampio",
            "ampia",
            "zona",
            "piano",
        ]
    ),
)
