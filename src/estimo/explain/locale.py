"""Locales: translated templates and number, money, date and distance formatting.

Each language is one JSON file shipped with the package
(``estimo/explain/locales/<code>.json``): number separators, currency symbols and where
they go, month names, concept and feature labels, and the sentence templates
(``str.format`` with named fields). English (``en``) is the default; Italian (``it``) and
Spanish (``es``) are shipped too. Formatting is a tiny, dependency-free
implementation of the few rules these two languages need (grouping, decimal mark, symbol
before or after the amount), which keeps ``import estimo.explain`` fast.

Examples
--------
>>> en, it, es = get_locale("en"), get_locale("it"), get_locale("es")
>>> en.money(1234567, "EUR"), it.money(1234567, "EUR")
('€1,234,567', '1.234.567 €')
>>> en.money(8400, "PLN", signed=True), it.money(-12000, "PLN", signed=True)
('+8,400 PLN', '-12.000 PLN')
>>> es.money(1234567, "EUR"), es.percent(0.12)
('1.234.567 €', '12\xa0%')
>>> en.distance(0.62), it.distance(2.345)
('600 m', '2,3 km')
>>> en.text("other_factors")
'Other factors'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from estimo.errors import ConfigError

LANGUAGES: tuple[str, ...] = ("en", "it", "es")
_NO_ENTRY: Mapping[str, Any] = MappingProxyType({})

DEFAULT_LANGUAGE = "en"


class Locale:
    """One language's templates and formatting rules (see the module docstring).

    Parameters
    ----------
    code : str
        Language code.
    data : dict
        The parsed locale file.
    """

    def __init__(self, code: str, data: dict[str, Any]) -> None:
        self.code = code
        self.data = data
        self._decimal = data["number"]["decimal"]
        self._group = data["number"]["group"]
        self._table = str.maketrans({",": self._group, ".": self._decimal})
        self._translate = self._group != "," or self._decimal != "."
        self._templates: dict[str, Any] = data["text"]
        self._symbols: dict[str, str] = data["currency"]["symbols"]
        self._symbol_before = bool(data["currency"]["symbol_before"])

    # -- words -------------------------------------------------------------------------
    def text(self, key: str, **values: Any) -> str:
        """A sentence template filled with ``values``.

        Raises
        ------
        KeyError
            If the template does not exist in this locale.
        """
        template = self._templates.get(key)
        if template is None:
            raise KeyError(f"locale {self.code!r} has no template {key!r}")
        return str(template).format(**values)

    def has_text(self, key: str) -> bool:
        """Whether this locale has the template ``key``."""
        return key in self._templates

    def plural(self, key: str, n: float, **values: Any) -> str:
        """A template with ``one``/``other`` forms chosen by ``n`` (filled with ``n`` too)."""
        forms = self.data["text"][key]
        form = forms["one"] if n == 1 else forms["other"]
        return str(form).format(n=self.number(n), **values)

    def concept(self, concept: str) -> str:
        """Plain name of a concept."""
        return str(self.data["concepts"][concept])

    def feature_entry(self, feature: str) -> Mapping[str, Any]:
        """The locale's entry of a feature (``label``, value templates), or ``{}``
        (read-only)."""
        return MappingProxyType(self.data["features"].get(feature, _NO_ENTRY))

    def value_word(self, feature: str, value: str) -> str:
        """Translated category value (``to_renovate`` -> ``needs renovation``).

        Unknown values are shown as given, with underscores as spaces.
        """
        words = self.data.get("values", {}).get(feature, {})
        if value in words:
            return str(words[value])
        return str(value).replace("_", " ")

    def property_words(self, property_type: str | None) -> dict[str, str]:
        """Words for a property type, or for a generic home when the type is unknown.

        Keys: ``noun`` ("flat"), ``nouns`` ("flats"), ``a`` ("a flat"), ``typical``
        ("a typical flat"); languages with genders spell each form out.
        """
        nouns = self.data["property_nouns"]
        entry = nouns.get(str(property_type), nouns["_default"])
        return {
            "noun": entry["one"],
            "nouns": entry["other"],
            "a": entry["a"],
            "typical": entry["typical"],
        }

    # -- numbers -------------------------------------------------------------------------
    def number(self, value: float, decimals: int = 0) -> str:
        """A number with this locale's grouping and decimal mark.

        Examples
        --------
        >>> get_locale("it").number(1234.567, 1)
        '1.234,6'
        """
        if value is None:
            return "–"
        value = float(value)
        if not math.isfinite(value):
            return "–"
        magnitude = round(abs(value), decimals)
        text = self._marks(f"{magnitude:,.{decimals}f}")
        return "-" + text if value < 0 and magnitude != 0 else text

    def _marks(self, text: str) -> str:
        """English grouping and decimal marks (``1,234.5``) in this locale's."""
        return text.translate(self._table) if self._translate else text

    def money(self, amount: float, currency: str, signed: bool = False) -> str:
        """An amount of money, e.g. ``€312,000`` (en) or ``312.000 €`` (it).

        Parameters
        ----------
        amount : float
            Rounded to whole units.
        currency : str
            ISO code; a symbol is used when the locale knows one.
        signed : bool
            Always show the sign (``+8,400``), as for a contribution.
        """
        amount = round(float(amount))
        symbols = self._symbols
        unit = symbols.get(currency, currency)
        digits = self._marks(f"{abs(amount):,}")  # whole: none of number()'s checks
        before = self._symbol_before and currency in symbols
        body = f"{unit}{digits}" if before else f"{digits} {unit}"
        sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
        if signed and amount == 0:
            sign = "±"
        return sign + body

    def percent(self, fraction: float, decimals: int = 0, signed: bool = False) -> str:
        """A fraction as a percentage: ``0.083`` -> ``8%``."""
        value = 100.0 * float(fraction)
        text = self.number(abs(value), decimals)
        sign = "-" if value < 0 and text.strip("0.,") else ("+" if signed and value > 0 else "")
        return f"{sign}{text}{self.data['number']['percent']}"

    def distance(self, km: float) -> str:
        """A distance in plain units: metres (to 50 m) under 1 km, else km to 0.1."""
        km = float(km)
        if km < 0.975:
            return f"{self.number(max(50.0, round(km * 20) * 50.0))} m"
        return f"{self.number(km, 1)} km"

    def ordinal(self, n: float) -> str:
        """``3`` -> ``3rd`` (en) or ``3°`` (it)."""
        n = int(n)
        rules = self.data["ordinal"]
        if self.code == "en" and n % 100 not in (11, 12, 13):
            suffix = rules.get(str(n % 10), rules["other"])
        else:
            suffix = rules["other"]
        return f"{n}{suffix}"

    def month_year(self, date: Any) -> str:
        """``2024-03-14`` -> ``March 2024`` (en), ``marzo 2024`` (it), ``marzo de 2024`` (es)."""
        stamp = _timestamp(date)
        month = self.data["months"][stamp.month - 1]
        return self.data.get("month_year", "{month} {year}").format(month=month, year=stamp.year)

    def month_in(self, date: Any) -> str:
        """``2024-04-02`` -> ``in April 2024`` (en) or ``ad aprile 2024`` (it)."""
        stamp = _timestamp(date)
        return f"{self.data['months_in'][stamp.month - 1]} {stamp.year}"

    def list_join(self, items: list[str]) -> str:
        """``a, b and c`` with this locale's conjunction."""
        items = [i for i in items if i]
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + f" {self.data['text']['and']} " + items[-1]


@cache
def get_locale(code: str = DEFAULT_LANGUAGE) -> Locale:
    """The locale for a language code (cached; files are read once).

    Raises
    ------
    ConfigError
        If the language is not shipped.
    """
    if code not in LANGUAGES:
        raise ConfigError(f"language is {code!r}; expected one of {list(LANGUAGES)!r}")
    path = resources.files("estimo.explain").joinpath("locales", f"{code}.json")
    return Locale(code, json.loads(path.read_text(encoding="utf-8")))


def _timestamp(date: Any) -> Any:
    """``date`` as something with ``.year`` and ``.month`` (pandas parses text dates; it is
    imported only then, so the service's page starts without it)."""
    if hasattr(date, "year") and hasattr(date, "month"):
        return date
    import pandas as pd

    return pd.Timestamp(date)
