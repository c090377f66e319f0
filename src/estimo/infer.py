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
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.load_checks import day_month_order

SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "listingid", "propertyid", "codice", "codigo", "kod", "identyfikator"),
    "price": (
        "price",
        "saleprice",
        "soldprice",
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
    ),
    "city": ("city", "town", "citta", "comune", "ciudad", "municipio", "miasto", "cidade"),
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
        "zip",
        "zipcode",
        "postcode",
        "cap",
    ),
    "lat": ("lat", "latitude", "latitudine", "latitud", "szerokosc"),
    "lon": ("lon", "lng", "long", "longitude", "longitudine", "longitud", "dlugosc"),
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
    ),
    "bathrooms": ("bathrooms", "baths", "bagni", "banos", "lazienki", "banheiros", "toilets"),
    "floor": ("floor", "piano", "planta", "pietro", "pietra", "andar", "level"),
    "year_built": (
        "yearbuilt",
        "buildyear",
        "yrbuilt",
        "builtyear",
        "annocostruzione",
        "anoconstruccion",
        "rokbudowy",
        "anoconstrucao",
    ),
    "property_type": (
        "type",
        "propertytype",
        "tipologia",
        "tipo",
        "typ",
        "rodzaj",
        "tipoimovel",
    ),
    "condition": ("condition", "stato", "estado", "stan", "condicao"),
    "description": ("description", "descrizione", "descripcion", "opis", "descricao"),
}
"""Normalised column names (lower case, no accents, letters and digits only) per field."""

YEAR_PARTS = ("year", "yr", "anno", "ano", "rok")
MONTH_PARTS = ("month", "mo", "mese", "mes", "miesiac")
RENT_WORDS = ("rent", "affitto", "canone", "alquiler", "czynsz", "wynajem", "aluguel", "locacao")
SALE_WORDS = ("sale", "sell", "vendita", "venta", "sprzedaz", "venda", "buy")
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m", "%Y/%m/%d", "%Y%m%dT%H%M%S", "%Y%m%d", "%Y%m", "%d.%m.%Y")
MEDIAN_SQFT_ABOVE = 250.0
"""Median living area above which areas are taken for square feet (homes: ~50-200 m²)."""
MEDIAN_RENT_BELOW = 20_000.0
"""Median price below which prices are taken for monthly rents."""


def normalise(name: str) -> str:
    """A column name lower-cased, without accents, letters and digits only.

    >>> normalise("Città di residenza"), normalise("sqft_living")
    ('cittadiresidenza', 'sqftliving')
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class ProjectGuess:
    """What :func:`infer_project` found: the mapping and a note for every guess."""

    path: str
    columns: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    area_unit: str = "m2"
    price_kind: str = "asking"
    operation: dict[str, str] | None = None
    as_of: str | None = None
    delimiter: str | None = None

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
    _infer_date(raw, guess, taken)
    if "city" not in guess.columns:
        guess.columns["city"] = {"value": Path(path).stem}
        guess.check("city", "no city column: one market, named after the file")
    _infer_operation(raw, guess, taken)
    _infer_units(raw, guess)
    _infer_price_kind(raw, guess)
    for name, source in guess.columns.items():
        if isinstance(source, str) and name not in guess.checks:
            guess.check(name, "matched by the column name")
    return guess


def _match(raw: pd.DataFrame, name: str, taken: set[str]) -> str | None:
    """The column whose normalised name is a synonym of ``name`` (exact first, then a
    synonym of 4+ letters at the start or the end of the name)."""
    synonyms = SYNONYMS[name]
    free = [c for c in raw.columns if c not in taken]
    for column in free:
        if normalise(column) in synonyms:
            return str(column)
    for column in free:
        key = normalise(column)
        if any(len(s) >= 4 and (key.startswith(s) or key.endswith(s)) for s in synonyms):
            return str(column)
    return None


def _infer_date(raw: pd.DataFrame, guess: ProjectGuess, taken: set[str]) -> None:
    column = guess.columns.get("date")
    if column is None:
        parts = _date_parts(raw, taken)
        if parts is not None:
            guess.columns["date"] = parts
            guess.check("date", "assembled from a year and a month column")
        else:
            guess.as_of = f"{pd.Timestamp.today():%Y-%m-01}"
            guess.check("as_of", "no date column: every row gets this date (cross-validation)")
        return
    values = raw[column].dropna()
    if pd.api.types.is_datetime64_any_dtype(values):
        return
    text = values.astype(str).str.replace(r"\.0$", "", regex=True).head(2000)
    fmt, why = infer_date_format(text)
    guess.date_format = fmt
    guess.check("date_format", why)


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
            return f"%d{s}%m{s}{year}", f"day first: a first number above 12 ({found.examples[0]})"
        if found.order == "month":
            example = found.examples[0]
            return f"%m{s}%d{s}{year}", f"month first: a second number above 12 ({example})"
        return f"%d{s}%m{s}{year}", "day/month order unknown (no number above 12): day first"
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

    year, month = find(YEAR_PARTS), find(MONTH_PARTS)
    if year is None:
        return None
    years = pd.to_numeric(raw[year], errors="coerce")
    if not years.between(1900, 2100).mean() > 0.95:
        return None
    return {"year": year, "month": month} if month else {"year": year}


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
    median = float(pd.to_numeric(raw[column], errors="coerce").median())
    named = any(w in normalise(column) for w in ("sqft", "feet", "sqf"))
    if named or median > MEDIAN_SQFT_ABOVE:
        guess.area_unit = "sqft"
        why = "the name says square feet" if named else f"median area {median:,.0f}"
        guess.check("area_unit", f"{why}: square feet (converted to m²)")


def _infer_price_kind(raw: pd.DataFrame, guess: ProjectGuess) -> None:
    column = guess.columns.get("price")
    if not isinstance(column, str) or guess.operation is not None:
        return
    name_says_rent = any(w in normalise(column) for w in RENT_WORDS)
    prices = pd.to_numeric(raw[column], errors="coerce")
    median = float(prices.median()) if prices.notna().any() else np.nan
    if name_says_rent or median < MEDIAN_RENT_BELOW:
        guess.price_kind = "rent"
        why = "the column name says rent" if name_says_rent else f"median price {median:,.0f}"
        guess.check("price_kind", f"{why}: monthly rents")
    elif any(w in normalise(column) for w in ("sale", "sold")):
        guess.price_kind = "sale"
        guess.check("price_kind", "the column name says sale prices")
    else:
        guess.check("price_kind", "listing prices assumed (sale, appraisal or rent?)")


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
    settings = [
        ("date_format", guess.date_format),
        ("as_of", guess.as_of),
        ("delimiter", guess.delimiter),
        ("area_unit", guess.area_unit),
        ("price_kind", guess.price_kind),
        ("operation", guess.operation),
    ]
    for key, value in settings:
        if value is None:
            continue
        text = _flow(value) if isinstance(value, dict) else _scalar(value)
        lines.append(_commented(f"  {key}: {text}", guess.checks.get(key)))
    lines.append(_commented("  currency: EUR", "the currency is not in the data"))
    lines.append("  extra_features: all    # every other column is a feature")
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
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"
