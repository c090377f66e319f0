"""Infer a project file from a table: the column mapping, units, dates and the price kind.

:func:`infer_project` reads column names (in English, Italian, Spanish, Polish and
Portuguese) and values, and guesses how the table maps onto the canonical record
(:mod:`estimo.schema`): which column is the price, the date (and its format, day/month
order, or year/month parts), the city, the coordinates, the area (m² or sqft, from the
values), rooms, ...; whether prices are monthly rents, and whether one column splits sale
from rent listings. :func:`render_project` writes the commented ``estimo.yaml``; every
guess a user should look at carries a ``# check:`` comment saying why it was made.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"Prezzo": [250_000, 180_000], "Superficie": [90, 70],
...                     "Città": ["Roma", "Milano"], "Data": ["31/01/2024", "15/02/2024"]})
>>> guess = infer_project(raw, "case.csv")
>>> guess.columns["price"], guess.columns["area_m2"], guess.columns["city"]
('Prezzo', 'Superficie', 'Città')
>>> guess.date_format
'%d/%m/%Y'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.amounts import currency_written, read_amounts
from estimo.errors import DataError
from estimo.load_checks import day_month_order, other_prices, price_derived_columns
from estimo.schema import CANONICAL_COLUMNS, PRICE_KINDS

SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": (
        "id",
        "listingid",
        "propertyid",
        "codice",
        "codigo",
        "kod",
        "identyfikator",
        "identifiant",
        "kennung",
        "objektid",
        "reference",
        "referencia",
        "riferimento",
    ),
    # earlier synonyms win: a sale price before a listing price, rooms before bedrooms
    "price": (
        "saleprice",
        "soldprice",
        "price",
        "listprice",
        "askingprice",
        "rent",
        "prezzo",
        "canone",
        "affitto",
        "precio",
        "alquiler",
        "cena",
        "czynsz",
        "preco",
        "valor",
        "aluguel",
        "prix",
        "prixvente",
        "valeurfonciere",
        "loyer",
        "preis",
        "kaufpreis",
        "verkaufspreis",
        "miete",
        "kaltmiete",
    ),
    "date": (
        "date",
        "datesold",
        "saledate",
        "solddate",
        "snapshotmonth",
        "month",
        "data",
        "fecha",
        "datasprzedazy",
        "datavenda",
        "listingdate",
        "datemutation",
        "datevente",
        "datum",
        "verkaufsdatum",
    ),
    "city": (
        "city",
        "town",
        "citta",
        "comune",
        "ciudad",
        "municipio",
        "miasto",
        "cidade",
        "ville",
        "commune",
        "nomcommune",
        "stadt",
        "ort",
        "gemeinde",
    ),
    "neighbourhood": (
        "neighbourhood",
        "neighborhood",
        "district",
        "suburb",
        "quartiere",
        "zona",
        "barrio",
        "distrito",
        "dzielnica",
        "bairro",
        "quartier",
        "arrondissement",
        "stadtteil",
        "zip",
        "zipcode",
        "postcode",
        "cap",
        "codepostal",
        "plz",
        "postleitzahl",
    ),
    "lat": ("lat", "latitude", "latitudine", "latitud", "szerokosc", "breitengrad"),
    "lon": (
        "lon",
        "lng",
        "long",
        "longitude",
        "longitudine",
        "longitud",
        "dlugosc",
        "langengrad",
        "laengengrad",
    ),
    "area_m2": (
        "area",
        "size",
        "sqft",
        "sqftliving",
        "squaremeters",
        "squarefeet",
        "m2",
        "mq",
        "livingarea",
        "floorarea",
        "grlivarea",
        "superficie",
        "metri",
        "metros",
        "metragem",
        "powierzchnia",
        "area_m2",
        "surface",
        "surfacehabitable",
        "surfacereellebati",
        "wohnflache",
        "wohnflaeche",
    ),
    "rooms": (
        "rooms",
        "bedrooms",
        "beds",
        "locali",
        "vani",
        "camere",
        "habitaciones",
        "dormitorios",
        "pokoje",
        "liczbapokoi",
        "quartos",
        "pieces",
        "nbpieces",
        "nombrepieces",
        "nombrepiecesprincipales",
        "chambres",
        "zimmer",
        "anzahlzimmer",
    ),
    "bathrooms": (
        "bathrooms",
        "baths",
        "bagni",
        "banos",
        "lazienki",
        "banheiros",
        "toilets",
        "sallesdebain",
        "badezimmer",
        "bader",
    ),
    "floor": (
        "floor",
        "piano",
        "planta",
        "pietro",
        "pietra",
        "andar",
        "level",
        "etage",
        "stockwerk",
        "geschoss",
    ),
    "year_built": (
        "yearbuilt",
        "buildyear",
        "yrbuilt",
        "builtyear",
        "annocostruzione",
        "annodicostruzione",
        "anoconstruccion",
        "anodeconstruccion",
        "rokbudowy",
        "anoconstrucao",
        "anodeconstrucao",
        "anneeconstruction",
        "anneedeconstruction",
        "baujahr",
    ),
    "property_type": (
        "type",
        "propertytype",
        "tipologia",
        "tipo",
        "typ",
        "rodzaj",
        "tipoimovel",
        "typelocal",
        "typebien",
        "objektart",
        "immobilientyp",
    ),
    "condition": ("condition", "stato", "estado", "stan", "condicao", "etat", "zustand"),
    "description": (
        "description",
        "descrizione",
        "descripcion",
        "opis",
        "descricao",
        "beschreibung",
    ),
}
"""Normalised column names (lower case, no accents, letters and digits only) per field."""

YEAR_PARTS = ("year", "yr", "anno", "ano", "rok", "annee", "jahr")
MONTH_PARTS = ("month", "mo", "mese", "mes", "miesiac", "mois", "monat")
DAY_PARTS = ("day", "dd", "giorno", "dia", "dzien", "jour", "tag")
RENT_WORDS = ("rent", "affitto", "canone", "alquiler", "czynsz", "wynajem", "aluguel", "locacao")
SALE_PRICE_WORDS = ("sale", "sold")
"""Words in a price column's name that make its prices transaction prices (not asking
prices): English "sale price" is what a home sold for, while "Kaufpreis", "prix de vente" or
"precio de venta" on a portal name the operation (buying, not renting) of an asking price."""
SALE_WORDS = (
    "sale",
    "sell",
    "sold",
    "vendita",
    "venta",
    "sprzedaz",
    "venda",
    "vente",
    "buy",
    "kauf",
    "verkauf",
)
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m",
    "%Y/%m/%d",
    "%Y%m%dT%H%M%S",
    "%Y%m%d",
    "%Y%m",
    "%d.%m.%Y",
    "%m/%Y",
    "%m-%Y",
    "%m.%Y",
    "%Y",
)
MEDIAN_SQFT_ABOVE = 250.0
"""Median living area above which areas are taken for square feet (homes: ~50-200 m²)."""
MEDIAN_RENT_BELOW = 20_000.0
"""Median price below which prices are taken for monthly rents."""
PRICE_NAME_WORDS = ("price", "prezzo", "precio", "preco", "prix", "preis", "valor", "cena")
"""Words that make a column on the price's scale another price of the property (a list or
original price)."""
SMALL_TOWNS_MIN_PLACES = 10
SMALL_TOWN_ROWS = 20
"""A city column naming at least SMALL_TOWNS_MIN_PLACES places, half of them with fewer
than SMALL_TOWN_ROWS rows, is a region's towns: one market, the towns as neighbourhoods."""
CITY_MODEL_ROWS = 2_000
"""Rows from which the engine gives a city its own model (``engine.min_city_rows``'s
default): a column with such a city is kept as the city, however many small towns
it also names."""
IDENTIFIER_UNIQUE_SHARE = 0.5
"""Share of distinct values above which a text column is an identifier or free text."""


def normalise(name: str) -> str:
    """A column name lower-cased, without accents, letters and digits only.

    >>> normalise("Città di residenza"), normalise("sqft_living"), normalise("Długość")
    ('cittadiresidenza', 'sqftliving', 'dlugosc')
    """
    from estimo.names import name_key  # letters with strokes too: "ł" is "l", "ø" is "o"

    return name_key(name).replace("-", "")


@dataclass
class ProjectGuess:
    """What :func:`infer_project` found: the mapping and a note for every guess."""

    path: str
    columns: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    area_unit: str = "m2"
    price_kind: str = "asking"
    operation: dict[str, Any] | None = None
    as_of: str | None = None
    delimiter: str | None = None
    read_options: dict[str, Any] | None = None
    currency: str = "EUR"
    extra_features: list[str] | None = None
    """None: every other column (``all``); else the columns kept as features."""

    def check(self, key: str, why: str) -> None:
        """Mark a guess for the user to check."""
        self.checks[key] = why


def infer_project(raw: pd.DataFrame, path: str, delimiter: str | None = None) -> ProjectGuess:
    """Guess the mapping of ``raw`` onto the canonical record (see the module docstring).

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read.
    path : str
        Its path (written into the project file).
    delimiter : str, optional
        The CSV delimiter it was read with, when not a comma.
    """
    guess = ProjectGuess(path=path, delimiter=delimiter)
    taken: set[str] = set()
    for name in SYNONYMS:
        column = _match(raw, name, taken)
        if column is not None:
            guess.columns[name] = column
            taken.add(column)
    long = long_format(raw, guess.columns.get("id"), guess.columns.get("price"))
    if long is not None:
        raise DataError([long], header="the table is not one row per property")
    _infer_date(raw, guess, taken)
    _infer_small_towns(raw, guess, taken, Path(path).stem)
    if "city" not in guess.columns:
        guess.columns["city"] = {"value": Path(path).stem}
        guess.check("city", "no city column: one market, named after the file")
    if not _infer_price_kind_column(raw, guess, taken):
        _infer_operation(raw, guess, taken)
    _infer_units(raw, guess)
    _infer_price_kind(raw, guess)
    _infer_currency(raw, guess)
    _infer_features(raw, guess, taken)
    for name, source in guess.columns.items():
        if isinstance(source, str) and name not in guess.checks:
            guess.check(name, "matched by the column name")
    return guess


def long_format(raw: pd.DataFrame, id_column: Any, price_column: Any = None) -> str | None:
    """Why ``raw`` looks like a long table (one row per property per feature: a column
    naming the feature, each named once per property, the price repeated), with how to
    pivot it; None when it does not. Needs the properties' id column. Snapshots of the same
    listings (a date per row, prices that move) are not long tables.

    Examples
    --------
    >>> long = pd.DataFrame({"id": [1, 1, 2, 2], "price": [5, 5, 7, 7],
    ...                      "feature": ["rooms", "area", "rooms", "area"],
    ...                      "value": [3, 80, 2, 60]})
    >>> long_format(long, "id").split(":")[0]
    "one row per property per feature ('feature' names 2 features, each once per id)"
    >>> long_format(long.drop_duplicates("id"), "id") is None
    True
    """
    if not isinstance(id_column, str) or id_column not in raw:
        return None
    ids = raw[id_column]
    if ids.duplicated().mean() < 0.5:  # most ids once: one row per property (or re-listed)
        return None
    if isinstance(price_column, str) and price_column in raw:
        repeated = raw.groupby(ids, sort=False)[price_column].nunique(dropna=False)
        if (repeated == 1).mean() < 0.95:  # prices move between an id's rows: snapshots
            return None
    for column in raw.columns:
        values = raw[column]
        if column == id_column or pd.api.types.is_numeric_dtype(values):
            continue
        if infer_date_format(values.dropna().astype(str).head(500))[0] is not None:
            continue  # a date per row: snapshots of the same listings
        kinds = values.nunique()
        if not 2 <= kinds <= 200 or values.isna().mean() > 0.05:
            continue
        pairs = pd.DataFrame({"id": ids, "kind": values})
        per_id = pairs.groupby("id", sort=False)["kind"].agg(["size", "nunique"])
        if (per_id["size"] == per_id["nunique"]).mean() >= 0.95 and per_id["nunique"].median() >= 2:
            return (
                f"one row per property per feature ({str(column)!r} names {kinds} features, "
                "each once per id): pivot it to one row per property first, e.g. with pandas "
                f"table.pivot_table(index=[{id_column!r}, <date>, <price>], "
                f"columns={str(column)!r}, values=<value column>).reset_index()"
            )
    return None


def _match(raw: pd.DataFrame, name: str, taken: set[str]) -> str | None:
    """The column whose normalised name is a synonym of ``name``: exact first, in the order
    of the synonyms (a sale price before a listing price), then a synonym of 4+ letters at
    the start or the end of the name (not a name that is another field's exact synonym, nor
    a count such as ``floors`` or ``floorCount`` for the floor)."""
    synonyms = SYNONYMS[name]
    free = [c for c in raw.columns if c not in taken]
    keys = {c: normalise(c) for c in free}
    for synonym in synonyms:
        for column in free:
            if keys[column] == synonym and _usable(raw, name, column):
                return str(column)
    others = {s for field_, words in SYNONYMS.items() if field_ != name for s in words}
    for column in free:
        key = keys[column]
        if key in others or not _usable(raw, name, column):
            continue
        for s in synonyms:
            if len(s) < 4 or not (key.startswith(s) or key.endswith(s)):
                continue
            if name == "floor" and _counts_floors(key, s):
                continue
            if _numbered_variant(key, s, keys.values()):
                continue
            if name not in ("price", "date") and key.startswith(("sale", "sold")):
                continue  # Sale_Condition, Sale_Type: the sale, not the property
            return str(column)
    return None


def _numbered_variant(key: str, synonym: str, keys: Any) -> bool:
    """Whether a name is one of several numbered columns (Ames' ``Condition_1`` and
    ``Condition_2`` are nearby roads and railways, not the state of the house).

    >>> _numbered_variant("condition1", "condition", ["condition1", "condition2"])
    True
    >>> _numbered_variant("condition", "condition", ["condition"])
    False
    """
    if not (key.startswith(synonym) and key[len(synonym) :].isdigit()):
        return False
    return sum(k != key and k.startswith(synonym) and k[len(synonym) :].isdigit() for k in keys) > 0


def _counts_floors(key: str, synonym: str) -> bool:
    """Whether a floor-like name counts floors (``floors``, ``floorCount``, ``numFloor``)
    rather than giving the floor a flat is on.

    >>> _counts_floors("floors", "floor"), _counts_floors("floorcount", "floor")
    (True, True)
    >>> _counts_floors("floornumber", "floor"), _counts_floors("pianoappartamento", "piano")
    (False, False)
    """
    rest = key[len(synonym) :] if key.startswith(synonym) else key[: -len(synonym)]
    return bool(re.fullmatch(r"s(inbuilding)?|s?(count|cnt|total)|(total|num|nb|max|n)s?", rest))


def _usable(raw: pd.DataFrame, name: str, column: Any) -> bool:
    """Whether a column can hold the field: a price column needs numbers on most rows (a
    sale price filled on a few rows of a listing table is not the target)."""
    if name != "price":
        return True
    values = pd.to_numeric(raw[column], errors="coerce")
    if values.gt(0).mean() < 0.5:  # "€350,000": the loader reads such prices too
        values = read_amounts(raw[column].astype(object).where(raw[column].notna(), None))
    return bool(len(values)) and values.gt(0).mean() >= 0.5


def _infer_date(raw: pd.DataFrame, guess: ProjectGuess, taken: set[str]) -> None:
    column = guess.columns.get("date")
    if column is not None:
        values = raw[column].dropna()
        if pd.api.types.is_datetime64_any_dtype(values):
            return
        text = values.astype(str).str.replace(r"\.0$", "", regex=True).head(2000)
        fmt, why = infer_date_format(text)
        if fmt is not None or not pd.api.types.is_numeric_dtype(values):
            guess.date_format = fmt
            guess.check("date_format", why)
            return
        counted, why = _numbered_date_format(pd.to_numeric(values, errors="coerce"))
        if counted is not None:
            guess.date_format = counted
            guess.check("date_format", why)
            return
        # numbers in no known date format (a serial number): not a date
        del guess.columns["date"]
        taken.discard(column)
        unreadable = f"{column!r} holds numbers in no known date format (e.g. {text.iloc[0]})"
    else:
        unreadable = None
    found = _date_by_values(raw, taken) if unreadable is None else None
    if found is not None:
        column, fmt, why = found
        guess.columns["date"] = column
        guess.date_format = fmt
        guess.check("date", f"its values are dates ({why})")
        taken.add(column)
        return
    parts = _date_parts(raw, taken)
    if parts is not None:
        guess.columns["date"] = parts
        names = {1: "a year column", 2: "a year and a month column"}
        why = f"assembled from {names.get(len(parts), 'a year, a month and a day column')}"
        guess.check("date", f"{unreadable}: {why}" if unreadable else why)
        taken.update(parts.values())
        return
    guess.as_of = f"{pd.Timestamp.today():%Y-%m-01}"
    why = "no date column: every row gets this date (cross-validation)"
    guess.check("as_of", f"{unreadable}; {why}" if unreadable else why)


def _date_by_values(raw: pd.DataFrame, taken: set[str]) -> tuple[str, str, str] | None:
    """A text column whose name says nothing but whose values are dates (``sold``:
    ``2015-03``; ``closed``: ``31/01/2024``): the column, its format and why; None when no
    column reads as dates between 1900 and next year (a column of years alone is not taken:
    it may be the year built)."""
    latest = pd.Timestamp.today() + pd.DateOffset(years=1)
    for column in raw.columns:
        name = str(column)
        values = raw[column].dropna()
        if name in taken or not len(values) or pd.api.types.is_numeric_dtype(values):
            continue
        text = values.astype(str).str.strip().head(2000)
        if not text.str.contains(r"\d{4}", regex=True).mean() >= 0.95:
            continue
        fmt, why = infer_date_format(text)
        if fmt is None or fmt == "%Y":
            continue
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        dated = parsed.notna().mean() >= 0.95
        if dated and pd.Timestamp("1900-01-01") <= parsed.min() and parsed.max() <= latest:
            return name, fmt, f"{name!r}: {why}"
    return None


def _numbered_date_format(numbers: pd.Series) -> tuple[str | None, str]:
    """``unix`` or ``excel`` when every number of a date column reads as such a date
    between 1970 and 2100 (seconds or milliseconds since 1970; a spreadsheet's day numbers).

    Examples
    --------
    >>> _numbered_date_format(pd.Series([1_700_000_000, 1_710_000_000]))[0]
    'unix'
    >>> _numbered_date_format(pd.Series([45292.0, 45300.5]))[0]
    'excel'
    >>> _numbered_date_format(pd.Series([3.0, 12.0]))[0] is None
    True
    """
    numbers = numbers.dropna()
    if numbers.empty:
        return None, ""
    low, high = float(numbers.min()), float(numbers.max())
    example = numbers.iloc[0]
    if (low >= 1e9 and high <= 4.1e9) or (low >= 1e12 and high <= 4.1e12):
        return "unix", f"numbers such as {example:.0f} read as seconds since 1970"
    if low >= 25_569 and high <= 73_051:
        return "excel", f"numbers such as {example:g} read as a spreadsheet's day numbers"
    return None, ""


def infer_date_format(values: pd.Series) -> tuple[str | None, str]:
    """The strftime format that parses (nearly) every value, and why it was chosen; the
    day/month order of ``dd/mm/yyyy``-like dates from values above 12.

    Examples
    --------
    >>> infer_date_format(pd.Series(["03/04/2024", "25/12/2023"]))
    ('%d/%m/%Y', 'day first: a first number above 12 (25/12/2023)')
    >>> infer_date_format(pd.Series(["201803", "201911"]))[0]
    '%Y%m'
    """
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if len(values) and parsed.notna().mean() >= 0.95:
            return fmt, f"format {fmt!r} parses {parsed.notna().mean():.0%} of the values"
    found = day_month_order(values)
    if found.order is not None:
        s, year = found.separator, found.year
        if found.order in ("day", "conflicting"):
            fmt, why = (
                f"%d{s}%m{s}{year}",
                f"day first: a first number above 12 ({found.examples[0]})",
            )
        elif found.order == "month":
            example = found.examples[0]
            fmt, why = f"%m{s}%d{s}{year}", f"month first: a second number above 12 ({example})"
        else:
            fmt, why = (
                f"%d{s}%m{s}{year}",
                "day/month order unknown (no number above 12): day first",
            )
        share = pd.to_datetime(values, format=fmt, errors="coerce").notna().mean()
        if share >= 0.95:
            return fmt, why
        # dates written several ways: a format would refuse the others; the loader reads
        # ISO dates and the others in the column's day/month order itself
        return None, f"dates written several ways ({share:.0%} as {fmt!r}); {why}"
    return None, "format not recognised: Estimo will try ISO and mixed formats"


def _date_parts(raw: pd.DataFrame, taken: set[str]) -> dict[str, str] | None:
    def find(words: tuple[str, ...]) -> str | None:
        for column in raw.columns:
            key = normalise(column)
            if column in taken or not pd.api.types.is_numeric_dtype(raw[column]):
                continue
            if any(key.startswith(w) or key.endswith(w) for w in words) and (
                "sold" in key or "sale" in key or "vend" in key or key in words
            ):
                return str(column)
        return None

    year, month, day = find(YEAR_PARTS), find(MONTH_PARTS), find(DAY_PARTS)
    if year is None:
        return None
    years = pd.to_numeric(raw[year], errors="coerce")
    if not years.between(1900, 2100).mean() > 0.95:
        return None
    if month is None:
        return {"year": year}
    parts = {"year": year, "month": month}
    if day is not None and pd.to_numeric(raw[day], errors="coerce").between(1, 31).mean() > 0.95:
        parts["day"] = day
    return parts


def _infer_small_towns(raw: pd.DataFrame, guess: ProjectGuess, taken: set[str], name: str) -> None:
    """One market when the city column names many places, most with a handful of rows
    (towns and suburbs of one region): a place unseen in training could not be valued, and
    none has the rows for a model of its own. The column becomes the neighbourhood (a
    feature); a neighbourhood column it displaces (a zip code) stays a feature."""
    column = guess.columns.get("city")
    if not isinstance(column, str):
        return
    counts = raw[column].dropna().astype(str).value_counts()
    if len(counts) < SMALL_TOWNS_MIN_PLACES or counts.median() >= SMALL_TOWN_ROWS:
        return
    if counts.iloc[0] >= CITY_MODEL_ROWS:  # a city with a model of its own stays a city
        return
    displaced = guess.columns.get("neighbourhood")
    if isinstance(displaced, str):
        taken.discard(displaced)
    guess.columns["city"] = {"value": name}
    guess.columns["neighbourhood"] = column
    guess.check(
        "city",
        f"{column!r} names {len(counts)} places, half of them with {int(counts.median())} rows "
        f"or fewer: one market, {column!r} as the neighbourhood",
    )
    guess.check(
        "neighbourhood",
        f"the places of {column!r}" + (f"; {displaced!r} stays a feature" if displaced else ""),
    )


def _infer_price_kind_column(raw: pd.DataFrame, guess: ProjectGuess, taken: set[str]) -> bool:
    """A column saying the kind of each price (asking, sale, ...): ``data.price_kind`` names
    it, so sale prices are told from asking prices; with rents among them, the rows of the
    other kinds are kept (``data.operation``)."""
    for column in raw.columns:
        if column in taken or pd.api.types.is_numeric_dtype(raw[column]):
            continue
        values = raw[column].dropna().astype(str).str.strip().str.lower()
        if not len(values) or values.isin(PRICE_KINDS).mean() < 0.95:
            continue
        kinds = [k for k in PRICE_KINDS if (values == k).any()]
        guess.price_kind = str(column)
        taken.add(str(column))
        guess.check("price_kind", f"{column!r} gives the kind of each price ({', '.join(kinds)})")
        others = [k for k in kinds if k != "rent"]
        if "rent" in kinds and others:
            keep: str | list[str] = others[0] if len(others) == 1 else others
            guess.operation = {"column": str(column), "keep": keep}
            guess.check(
                "operation",
                f"{column!r} holds rents and prices: one model each; for the rents copy this "
                "file with keep: rent",
            )
        return True
    return False


def _infer_operation(raw: pd.DataFrame, guess: ProjectGuess, taken: set[str]) -> None:
    for column in raw.columns:
        if column in taken or pd.api.types.is_numeric_dtype(raw[column]):
            continue
        values = raw[column].dropna().astype(str).str.strip().str.lower()
        kinds = set(values.unique()[:20])
        if len(kinds) > 5 or len(kinds) < 2:
            continue
        rent = [v for v in kinds if any(w in normalise(v) for w in RENT_WORDS)]
        sale = [v for v in kinds if any(w in normalise(v) for w in SALE_WORDS)]
        if rent and sale:
            guess.operation = {"column": str(column), "keep": sale[0]}
            guess.price_kind = "asking"
            guess.check(
                "operation",
                f"{column!r} holds sale ({sale[0]!r}) and rent ({rent[0]!r}) rows: one model "
                f"each; for the rents copy this file with keep: {rent[0]!r}, price_kind: rent",
            )
            return


def _infer_units(raw: pd.DataFrame, guess: ProjectGuess) -> None:
    column = guess.columns.get("area_m2")
    if not isinstance(column, str):
        return
    median = float(read_amounts(raw[column]).median())
    named = any(w in normalise(column) for w in ("sqft", "feet", "sqf"))
    if named or median > MEDIAN_SQFT_ABOVE:
        guess.area_unit = "sqft"
        why = "the name says square feet" if named else f"median area {median:,.0f}"
        guess.check("area_unit", f"{why}: square feet (converted to m²)")


def _infer_price_kind(raw: pd.DataFrame, guess: ProjectGuess) -> None:
    column = guess.columns.get("price")
    if not isinstance(column, str) or guess.operation is not None:
        return
    if guess.price_kind not in PRICE_KINDS:  # a column gives the kind of each price
        return
    name_says_rent = any(w in normalise(column) for w in RENT_WORDS)
    prices = read_amounts(raw[column])
    median = float(prices.median()) if prices.notna().any() else np.nan
    if name_says_rent or median < MEDIAN_RENT_BELOW:
        guess.price_kind = "rent"
        why = "the column name says rent" if name_says_rent else f"median price {median:,.0f}"
        thousands = "" if name_says_rent else " (prices in thousands? then asking or sale)"
        guess.check("price_kind", f"{why}: monthly rents{thousands}")
    elif any(w in normalise(column) for w in SALE_PRICE_WORDS):
        guess.price_kind = "sale"
        guess.check("price_kind", "the column name says sale prices")
    else:
        guess.check("price_kind", "listing prices assumed (sale, appraisal or rent?)")


def _infer_currency(raw: pd.DataFrame, guess: ProjectGuess) -> None:
    """The currency from a sign or code beside the prices or in the price column's name
    (``"1 200 zł"``, ``price_usd``); else EUR, marked for the user to check."""
    column = guess.columns.get("price")
    written = currency_written(raw[column], column) if isinstance(column, str) else None
    if written is None:
        guess.check("currency", "the currency is not in the data")
        return
    guess.currency, said = written
    guess.check("currency", f"read from {said}")


def _infer_features(raw: pd.DataFrame, guess: ProjectGuess, taken: set[str]) -> None:
    """The other columns as features, but for the ones that would hand the model the answer
    or that no model can learn from: another price of the property (a list or original
    price), a column computed from the price (a price per m²), an identifier or free text
    (a street address). When one is left out, ``extra_features`` lists the others."""
    price = guess.columns.get("price")
    if not isinstance(price, str):
        return
    used = set(taken) | {guess.price_kind}
    for source in guess.columns.values():
        if isinstance(source, dict):
            used.update(str(v) for k, v in source.items() if k != "value")
    if guess.operation is not None:
        used.add(guess.operation["column"])
    candidates = [
        str(c) for c in raw.columns if str(c) not in used and str(c) not in CANONICAL_COLUMNS
    ]
    prices = read_amounts(raw[price])
    frame = pd.DataFrame({"price": prices.to_numpy(float)})
    for name in ("area_m2", "rooms"):
        if isinstance(guess.columns.get(name), str):
            values = read_amounts(raw[guess.columns[name]])
            frame[name] = values.to_numpy(float)
    numeric = [
        c
        for c in candidates
        if pd.api.types.is_numeric_dtype(raw[c]) and not pd.api.types.is_bool_dtype(raw[c])
    ]
    for column in numeric:  # all of them: a ratio to another price is found by its values
        frame[column] = raw[column].to_numpy(float)
    # named like a price and on the price's scale: a list or original price (a parking
    # space's or a monthly fee's price is a fact about the home, kept)
    on_scale = set(other_prices(frame))
    other_price = {
        c for c in on_scale if c in numeric and any(w in normalise(c) for w in PRICE_NAME_WORDS)
    }
    derived = price_derived_columns(frame, [c for c in numeric if c not in other_price])
    left_out: dict[str, str] = {}
    for column in candidates:
        if column in other_price:
            left_out[column] = "another price"
            continue
        if column in derived:
            left_out[column] = "computed from the price"
            continue
        if column in numeric:
            continue
        text = raw[column].dropna().astype(str)
        if text.nunique() > max(50, IDENTIFIER_UNIQUE_SHARE * len(text)):
            left_out[column] = "an identifier or free text"
    if not left_out:
        return
    guess.extra_features = [c for c in candidates if c not in left_out]
    said = ", ".join(f"{c} ({why})" for c, why in left_out.items())
    guess.check("extra_features", f"every other column but {said}")


def render_project(guess: ProjectGuess) -> str:
    """The commented ``estimo.yaml`` text of a guess.

    Examples
    --------
    >>> guess = ProjectGuess("x.csv", columns={"price": "p", "city": {"value": "x"}},
    ...                      checks={"price": "matched by name"})
    >>> print(render_project(guess).splitlines()[4])
        price: p                 # check: matched by name
    """
    lines = [
        "# Written by `estimo init`: every line marked `# check:` is a guess; confirm it.",
        "data:",
        f"  path: {_scalar(guess.path)}",
        "  columns:",
    ]
    for name, source in guess.columns.items():
        value = _scalar(source) if isinstance(source, str) else _flow(source)
        lines.append(_commented(f"    {name}: {value}", guess.checks.get(name)))
    if "price" not in guess.columns:  # required: the loader refuses the file without it
        lines.append("    # price: <column>    # check: no column looks like the price; name it")
    settings = [
        ("date_format", guess.date_format),
        ("as_of", guess.as_of),
        ("delimiter", guess.delimiter),
        ("read_options", guess.read_options),
        ("area_unit", guess.area_unit),
        ("price_kind", guess.price_kind),
        ("operation", guess.operation),
    ]
    for key, value in settings:
        if value is None:
            continue
        text = _flow(value) if isinstance(value, dict) else _scalar(value)
        lines.append(_commented(f"  {key}: {text}", guess.checks.get(key)))
    lines.append(_commented(f"  currency: {guess.currency}", guess.checks.get("currency")))
    if guess.extra_features is None:
        lines.append("  extra_features: all    # every other column is a feature")
    else:
        listed = "[" + ", ".join(_scalar(c) for c in guess.extra_features) + "]"
        lines.append(_commented(f"  extra_features: {listed}", guess.checks.get("extra_features")))
    return "\n".join(lines) + "\n"


def _commented(line: str, check: str | None) -> str:
    return line if check is None else f"{line:<28} # check: {check}"


def _scalar(value: Any) -> str:
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][\w.\- /]*", text) and text.lower() not in (
        "yes",
        "no",
        "on",
        "off",
        "null",
    ):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(mapping: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list | tuple):
            return "[" + ", ".join(_scalar(x) for x in v) + "]"
        if isinstance(v, dict):
            return _flow(v)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return repr(v)  # a number stays a number in YAML
        return _scalar(v)

    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in mapping.items()) + "}"
