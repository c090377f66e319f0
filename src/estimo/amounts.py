"""Numbers as people write them in tables: currency signs, units and thousands separators.

A scraped or exported column often holds ``"€350,000"``, ``"$ 1.234.567"``,
``"R$ 450.000,00"``, ``"1 200 zł"`` or ``"85 m²"`` instead of numbers. :func:`read_amounts`
reads such a column: one number per value with any text before or after it (a currency sign
or code, a unit), its digits grouped by dots, commas, spaces or apostrophes.

Which of ``.`` and ``,`` is the decimal mark is decided for the whole column, from the
values that tell: a value with both (the last one is the decimal mark), or a value with one
mark not followed by exactly three digits (``85,5``, ``120.50``). When no value tells, every
mark groups thousands (``350,000`` is 350000, ``1.234`` is 1234): a price or an area written
with three decimals is rarer than one with grouped thousands.

Examples
--------
>>> read_amounts(pd.Series(["€350,000", "$ 1.234.567", None])).tolist()
[350000.0, 1234567.0, nan]
>>> read_amounts(pd.Series(["R$ 450.000,00", "R$ 1.200,50"])).tolist()
[450000.0, 1200.5]
>>> read_amounts(pd.Series(["85 m²", "85,5 m²", "1 200 zł"])).tolist()
[85.0, 85.5, 1200.0]
>>> read_amounts(pd.Series(["3 rooms, 85 m2", "n/a"])).tolist()  # not one number: missing
[nan, nan]
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["currency_written", "read_amounts"]

# one number, digits grouped by . , space or apostrophe, with any non-digit text around it
_AMOUNT = re.compile(r"^[^0-9\-]*?(-?[0-9](?:[0-9.,' \u00a0\u202f]*[0-9])?)[^0-9]*$")
_SPACES = re.compile(r"[' \u00a0\u202f]")


def read_amounts(values: pd.Series) -> pd.Series:
    """Each value as a float (NaN where it is not one written number; see the module
    docstring); numbers pass as they are."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    found = [_digits(v) for v in values.tolist()]
    decimal = _decimal_mark([f for f in found if f is not None])
    out = np.full(len(found), np.nan)
    for i, text in enumerate(found):
        if text is not None:
            out[i] = _number(text, decimal)
    return pd.Series(out, index=values.index)


def _digits(value: object) -> str | None:
    """The number's characters of ``value`` (sign, digits and marks; spaces dropped), or
    None when it holds no number or more than one."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    match = _AMOUNT.match(str(value).strip())
    if match is None:
        return None
    return _SPACES.sub("", match.group(1))


def _decimal_mark(texts: list[str]) -> str | None:
    """The column's decimal mark (``.`` or ``,``), or None when every mark groups thousands."""
    votes = {".": 0, ",": 0}
    for text in texts:
        marks = [c for c in text if c in ".,"]
        if not marks:
            continue
        if len(set(marks)) == 2:
            votes[marks[-1]] += 1
            continue
        mark = marks[0]
        if len(marks) == 1 and len(text) - text.index(mark) - 1 != 3:
            votes[mark] += 1
    if not any(votes.values()):
        return None
    return "," if votes[","] > votes["."] else "."


def _number(text: str, decimal: str | None) -> float:
    grouping = {".", ","} - ({decimal} if decimal else set())
    for mark in grouping:
        text = text.replace(mark, "")
    if decimal == ",":
        text = text.replace(",", ".")
    if text.count(".") > 1:
        return np.nan
    try:
        return float(text)
    except ValueError:
        return np.nan


# how a currency is written beside an amount or in a column's name, longest first (R$ before $)
_CURRENCY_SIGNS: tuple[tuple[str, str], ...] = (
    ("R$", "BRL"),
    ("A$", "AUD"),
    ("AU$", "AUD"),
    ("C$", "CAD"),
    ("CA$", "CAD"),
    ("NZ$", "NZD"),
    ("US$", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("zł", "PLN"),
    ("kč", "CZK"),
    ("₹", "INR"),
    ("₺", "TRY"),
    ("$", "USD"),
)
_CURRENCY_CODES = frozenset(
    (
        "EUR",
        "USD",
        "GBP",
        "PLN",
        "CZK",
        "HUF",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "RON",
        "BGN",
        "BRL",
        "AUD",
        "CAD",
        "NZD",
        "MXN",
        "ARS",
        "CLP",
        "COP",
        "INR",
        "TRY",
        "ZAR",
        "JPY",
        "CNY",
    )
)
_CODE_WORD = re.compile(r"(?<![A-Za-z])([A-Za-z]{3})(?![A-Za-z])")


def currency_written(
    values: pd.Series, name: str = "", sample: int = 2000
) -> tuple[str, str] | None:
    """The ISO code of the currency a price column is written in, and what said it: a sign
    or code beside most of its amounts (``"1 200 zł"``, ``"R$ 450.000"``, ``"EUR 300,000"``)
    or in the column's name (``price_usd``, ``Preço (R$)``); None when nothing says it or
    the values say several.

    Examples
    --------
    >>> currency_written(pd.Series(["450 000 zł", "1 200 000 zł"]))
    ('PLN', "'zł' beside the amounts")
    >>> currency_written(pd.Series([350000, 420000]), "price_usd")
    ('USD', "'usd' in the column name 'price_usd'")
    >>> currency_written(pd.Series([350000, 420000]), "price") is None
    True
    """
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        texts = [str(v) for v in values.dropna().head(sample).tolist()]
        found = [_currency_of_text(t) for t in texts if any(c.isdigit() for c in t)]
        seen = {f for f in found if f is not None}
        if len(seen) == 1 and sum(f is not None for f in found) >= 0.5 * len(found):
            code, written = seen.pop()
            return code, f"{written!r} beside the amounts"
    from_name = _currency_of_text(name.replace("_", " "))
    if from_name is not None:
        return from_name[0], f"{from_name[1]!r} in the column name {name!r}"
    return None


def _currency_of_text(text: str) -> tuple[str, str] | None:
    """The currency (code, as written) a piece of text names, or None."""
    lower = text.lower()
    for sign, code in _CURRENCY_SIGNS:
        at = lower.find(sign.lower())
        if at >= 0:
            return code, text[at : at + len(sign)]
    for word in _CODE_WORD.findall(text):
        if word.upper() in _CURRENCY_CODES:
            return word.upper(), word
    return None
