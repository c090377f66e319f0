"""The input contract of a property to value: one check for the API, the CLI and the pipeline.

Every way Estimo values a raw property (``POST /v1/valuations``, ``estimo value``,
:meth:`estimo.pipeline.ValuationPipeline.value_one` / ``value_many``, the service's
valuers) passes the record through :meth:`PropertyContract.check` before anything reaches
the engine. The numeric bounds are the cleaning policy's own (``quality.ranges`` and
``quality.max_years_ahead`` of the project the model was trained with, the defaults of
:class:`~estimo.config.QualityConfig` otherwise), so a value ``estimo clean`` would have
treated as an error in training is not valued as if it were right.

Policy
------
Each violation is either **refused** (:class:`~estimo.errors.InputError`: one problem per
field, naming the field, the value shortened and what was expected; exit code 1 in the CLI,
422 problem details in the API) or **valued with a warning**, a range widened by
:data:`WIDEN_FACTOR` (on the log scale) and ``low`` confidence:

========================================================  ========================
violation                                                 outcome
========================================================  ========================
a value of the wrong type: ``true`` or a list as a         refused
number, a list or object anywhere, NaN, Infinity, a
number that does not parse, a number as a date
text with markup or control characters (``<``, ``>``,     refused
``[``, ``]``, ``{``, ``}`` in a category or id; HTML
tags in the description); text longer than its limit
a field the model does not know (not canonical, not one   refused
of the model's extra features)
``city`` missing or empty                                  refused
a number outside the cleaning policy's plausible range    refused
(``area_m2: 0``, ``1e9``, ``rooms: -3``, ``floor: 250``)
``year_built`` more than ``max_years_ahead`` after the    refused
valuation date (the policy's "year in the future")
``floor`` above the building's floors (same record)       refused
less than :data:`MIN_M2_PER_ROOM` m² per room              refused
``property_type`` / ``condition`` not seen in training    refused (known values
                                                          listed)
a date that does not parse, outside pandas' calendar or   refused
outside :data:`DATE_BOUNDS`
a valuation date before the training window               refused
a valuation date more than :data:`MAX_DAYS_AHEAD` days    refused
after the training window (unless it is the default:
today)
a valuation date more than a month after the training     valued, warned, widened
window (within the limit above, or today by default), for
an engine without adaptive ranges (``engine_dates``)
more than :data:`MAX_M2_PER_ROOM` m² per room             valued, warned, widened
========================================================  ========================

An engine with adaptive ranges (every :class:`~estimo.model.avm.AVM` fitted by this version)
prices a date after its data itself: its range grows with the months past the data by a
term calibrated out of time, and past ``stale_months`` it says so and lowers its
confidence. The contract does not widen such a date a second time (that made the usual
served case, today's valuation a month or two after the data, "low" with a range 1.5x too
wide).

NaN, Infinity, lists, objects and markup never reach the engine: they are refused here.

Examples
--------
>>> contract = PropertyContract()
>>> checked = contract.check({"city": "Milano", "area_m2": "80", "date": "2024-05-01"})
>>> checked.record["area_m2"], str(checked.record["date"].date()), checked.warnings
(80.0, '2024-05-01', ())
>>> try:
...     contract.check({"city": "Milano", "area_m2": 1e9, "rooms": True})
... except InputError as exc:
...     print(exc)
cannot value this property:
  - field 'area_m2' is 1e+09; expected 8 <= value <= 5000 (the cleaning policy's plausible range)
  - field 'rooms' is True; expected a number
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from estimo.errors import InputError
from estimo.flags import truth
from estimo.names import name_key

__all__ = [
    "DATE_BOUNDS",
    "DEFAULT_RANGES",
    "MAX_DAYS_AHEAD",
    "MAX_M2_PER_ROOM",
    "MIN_M2_PER_ROOM",
    "WIDEN_FACTOR",
    "CheckedProperty",
    "InputError",
    "PropertyContract",
    "RefusedValueError",
    "markup_problem",
    "read_date",
    "read_number",
    "shown",
    "widen_valuation",
]

#: Log-scale factor applied to the ranges (and the FSD) of a valuation valued with a warning.
WIDEN_FACTOR = 1.5
#: Fewer square metres per room than this is impossible (refused).
MIN_M2_PER_ROOM = 4.0
#: More square metres per room than this is unusual (valued with a warning).
MAX_M2_PER_ROOM = 250.0
#: A valuation date this many days after the training window is refused (explicit dates).
MAX_DAYS_AHEAD = 730
#: Earliest and latest valuation date accepted at all.
DATE_BOUNDS: tuple[str, str] = ("1900-01-01", "2199-12-31")
#: Any number beyond this magnitude is refused (also in extra fields).
MAX_MAGNITUDE = 1e12
#: Characters of a bad value quoted in a message.
SHOWN = 40

_TEXT_LIMITS = {"id": 200, "description": 20_000}
_CATEGORY_LIMIT = 200
_CITY_LIMIT = 100
_MARKUP_CHARS = re.compile(r"[<>\[\]{}\\]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTML_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>")
_FLOOR_COUNT_FIELDS = ("floors_in_building", "floorCount", "floor_count", "floors")
_PASSED_THROUGH = ("price", "price_kind")  # given, not used to value


def shown(value: Any, limit: int = SHOWN) -> str:
    """``repr`` of a value, cut to ``limit`` characters (control characters escaped).

    Examples
    --------
    >>> shown("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ..."
    >>> shown(1e9)
    '1e+09'
    """
    text = f"{value:g}" if isinstance(value, float) and math.isfinite(value) else repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def markup_problem(text: str, *, free_text: bool = False) -> str | None:
    """What is wrong with ``text`` as a field value (markup, control characters), or None.

    ``free_text`` (a description): brackets are allowed, HTML tags are not.

    Examples
    --------
    >>> markup_problem("[/x]")
    'expected plain text without markup characters (< > [ ] { } \\\\)'
    >>> markup_problem("3 rooms [renovated]", free_text=True) is None
    True
    """
    if _CONTROL.search(text):
        return "expected plain text without control characters"
    if free_text:
        if _HTML_TAG.search(text):
            return "expected plain text without HTML tags"
        return None
    if _MARKUP_CHARS.search(text):
        return "expected plain text without markup characters (< > [ ] { } \\)"
    return None


@dataclass(frozen=True)
class CheckedProperty:
    """A record that passed the contract.

    Attributes
    ----------
    record : dict
        Parsed values: numbers as float, the date as a ``pandas.Timestamp``, text as str;
        missing values left out (except ``date``, always set).
    warnings : tuple of str
        What limits the valuation (shown first in its warnings).
    widen : bool
        Whether the valuation's ranges are widened and its confidence lowered.
    """

    record: dict[str, Any]
    warnings: tuple[str, ...] = ()
    widen: bool = False


@dataclass
class PropertyContract:
    """The rules a property must meet to be valued (see the module docstring).

    Parameters
    ----------
    ranges : mapping of str to (min, max)
        Plausible range of each numeric field (either end may be None); default: the
        cleaning policy's defaults (``QualityConfig().ranges``).
    max_years_ahead : int
        ``year_built`` may exceed the valuation year by this much (the policy's rule).
    window : (Timestamp, Timestamp), optional
        First and last date of the training rows; None skips the window rules.
    extra_fields : frozenset of str, optional
        Non-canonical fields accepted (the model's extra features). None accepts any
        extra field whose value is a finite number, plain text or a boolean (the caller
        checked the names, e.g. the service's ``serve.extra_fields``).
    categories : mapping of str to tuple of str
        Known values of category fields (``property_type``, ``condition``) seen in
        training; a field absent here is not checked against a vocabulary.
    cities : tuple of str
        The cities the model learned, as written in its data: a city typed another way
        ("milano", " MILANO ", "Krakow" for "Kraków") is matched to its name there
        (:func:`estimo.names.name_key`); an unmatched city is kept as typed (the engine
        values it with the global model, a warning and a lower confidence).
    engine_dates : bool
        Whether the engine prices a valuation date after its data itself: its ranges
        widen with the months past the data (a term calibrated out of time) and it says so
        once the date is stale (:class:`~estimo.model.intervals.AdaptiveIntervals`). The
        contract then neither warns about such a date nor widens the range again; it still
        refuses one too far ahead. Without it (an engine without adaptive ranges), a date
        more than a month after the window is warned about and widened here.
    extra_levels : mapping of str to tuple of str
        The words an extra feature held in training, for the extra features the model
        reads as categories: a value given another way is read as the training's word (a
        JSON ``true`` or ``"Yes"`` for a feature whose data said ``"yes"``/``"no"``, ``3``
        for ``"3"``, a word in other case); without it, the model would read it as a level
        it never saw, that is as missing (:func:`as_training_level`).
    area_stats : AreaStats, optional
        The cleaning policy's typical areas per room and per type in each city, with
        ``area_z`` its threshold: an area the cleaning would drop as a probable typo (and value
        the home at a typical area instead) is refused, naming the usual areas
        (:func:`~estimo.quality.rules.validity.unusual_area_problem`).
    area_z : float
        The area-per-room rule's threshold in robust standard deviations.
    extra_numbers : frozenset of str
        The extra features the model reads as numbers: text there must read as a number
        ("3", " 2.5"; a yes/no word or a boolean reads as 1 or 0), else the field is
        refused (the model would read it as missing, silently).
    """

    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    max_years_ahead: int = 5
    window: tuple[Any, Any] | None = None
    extra_fields: frozenset[str] | None = None
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cities: tuple[str, ...] = ()
    engine_dates: bool = False
    extra_levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    extra_numbers: frozenset[str] = frozenset()
    area_stats: Any = None
    area_z: float = 5.0

    def __post_init__(self) -> None:
        if not self.ranges:
            self.ranges = dict(DEFAULT_RANGES)

    # ------------------------------------------------------------------ building
    @classmethod
    def for_engine(cls, engine: Any, quality: Any = None) -> PropertyContract:
        """The contract of a fitted engine (:class:`~estimo.model.avm.AVM`), with the
        ranges of ``quality`` (a ``QualityConfig``; default settings when None)."""
        import pandas as pd

        from estimo.config import QualityConfig
        from estimo.schema import FIELDS

        quality = quality if quality is not None else QualityConfig()
        window = None
        extra = dict(getattr(engine, "bundle_extra_", {}) or {})
        span = extra.get("training_window")
        try:
            if isinstance(span, Mapping) and span.get("from") and span.get("to"):
                window = (pd.Timestamp(span["from"]), pd.Timestamp(span["to"]))
            elif getattr(engine, "trained_until_", None) is not None:
                window = (_first_date(engine), pd.Timestamp(engine.trained_until_))
        except (ValueError, TypeError):
            window = None
        features: list[str] = []
        stage = getattr(engine, "stage_", None)
        if stage is not None:
            features = list(getattr(stage, "feature_names_", []))
        extras = frozenset(f for f in features if f not in FIELDS and not f.startswith("loc_"))
        finder = getattr(engine, "finder_", None)
        known = dict(getattr(finder, "categorical_features_", {}) or {})
        categories = {
            name: tuple(str(v) for v in known[name])
            for name in ("property_type", "condition")
            if known.get(name)
        }
        spec = getattr(getattr(stage, "model", None), "spec_", None)
        learned = dict(getattr(spec, "categorical", {}) or {})
        extra_levels = {name: tuple(map(str, learned[name])) for name in extras if name in learned}
        numbers = frozenset(getattr(spec, "numeric", ())) & extras
        return cls(
            ranges=_ranges_of(quality),
            max_years_ahead=int(quality.max_years_ahead),
            window=window,
            extra_fields=extras if stage is not None else None,
            categories=categories,
            cities=tuple(str(c) for c in getattr(engine, "cities_", ()) or ()),
            engine_dates=getattr(engine, "adaptive_", None) is not None,
            extra_levels=extra_levels,
            extra_numbers=numbers,
        )

    @classmethod
    def for_pipeline(cls, pipeline: Any) -> PropertyContract:
        """The contract of a fitted :class:`~estimo.pipeline.ValuationPipeline`: its
        cleaning policy's ranges, its training window, features and categories."""
        import pandas as pd

        policy = getattr(pipeline, "policy_", None)
        quality = policy.config if policy is not None else pipeline.quality
        contract = cls.for_engine(pipeline.engine_, quality)
        if policy is not None:
            contract.area_stats = getattr(policy, "area_stats_", None)
            contract.area_z = float(policy._settings().consistency.area_per_room_z)
        made = {f"{c}_missing" for c in getattr(policy, "indicator_columns_", ())}
        if contract.extra_fields is not None and made:  # the cleaning writes them itself
            contract.extra_fields = contract.extra_fields - made
        span = (getattr(pipeline, "facts_", None) or {}).get("training_window") or {}
        try:
            if span.get("from") and span.get("to"):
                contract.window = (pd.Timestamp(span["from"]), pd.Timestamp(span["to"]))
        except (ValueError, TypeError, AttributeError):
            pass
        return contract

    # ------------------------------------------------------------------ checking
    def check(self, record: Any, *, today: Any = None) -> CheckedProperty:
        """Check one record; the parsed record, its warnings and whether to widen.

        Parameters
        ----------
        record : mapping
            Field name to value (JSON types, or Python dates).
        today : date-like, optional
            The default valuation date (default: today).

        Raises
        ------
        InputError
            Listing every refused field at once.
        """
        import pandas as pd

        if not isinstance(record, Mapping):
            raise InputError(
                [
                    {
                        "field": "property",
                        "value": shown(record),
                        "message": "expected an object of fields, e.g. "
                        '{"city": "Milano", "area_m2": 80}',
                    }
                ]
            )
        problems: list[dict[str, str]] = []
        out: dict[str, Any] = {}
        for name, value in record.items():
            if not isinstance(name, str) or markup_problem(name) or len(name) > 100:
                problems.append(_problem("field name", name, "expected a plain field name"))
                continue
            if value is None:
                continue
            try:
                parsed = self._parse(name, value)
            except RefusedValueError as exc:
                problems.append(_problem(name, value, exc.expected))
                continue
            if parsed is not None:
                out[name] = parsed
        if "city" in out:
            out["city"] = self.known_city(out["city"])
        if "city" not in out and not any(p["field"] == "city" for p in problems):
            problems.append(
                _problem("city", None, "expected the city's name (every property needs one)")
            )
        defaulted = "date" not in out
        if defaulted and not any(p["field"] == "date" for p in problems):
            out["date"] = pd.Timestamp(today if today is not None else dt.date.today())
            out["date"] = out["date"].normalize()
        warnings: list[str] = []
        for name, levels in self.extra_levels.items():
            value = out.get(name)
            if value is not None and value not in levels:
                shown_levels = ", ".join(levels[:12]) + (", ..." if len(levels) > 12 else "")
                warnings.append(
                    f"{name} {shown(value)} is not a value the model learned ({shown_levels}): "
                    "valued as if not given; the range is widened"
                )
        if not problems:
            self._relations(out, defaulted, problems, warnings)
        if problems:
            raise InputError(problems)
        return CheckedProperty(record=out, warnings=tuple(warnings), widen=bool(warnings))

    def known_city(self, city: str) -> str:
        """``city`` as the model's data writes it when it names a learned city in another
        way (case, accents, spaces, punctuation); otherwise ``city`` unchanged.

        Examples
        --------
        >>> PropertyContract(cities=("Kraków", "Milano")).known_city(" krakow ")
        'Kraków'
        >>> PropertyContract(cities=("Kraków",)).known_city("Gotham")
        'Gotham'
        """
        if not self.cities or city in self.cities:
            return city
        keys = getattr(self, "_city_keys", None)
        if keys is None:
            keys = {}
            for name in self.cities:
                keys.setdefault(name_key(name), name)
            object.__setattr__(self, "_city_keys", keys)
        return keys.get(name_key(city), city)

    def check_many(
        self, records: Iterable[Any], *, today: Any = None, label: str = "property"
    ) -> list[CheckedProperty]:
        """Check every record; one :class:`InputError` naming the record of each problem
        (field ``"<label> 3: area_m2"``, at most 20 problems listed)."""
        checked: list[CheckedProperty] = []
        problems: list[dict[str, str]] = []
        n_bad = 0
        for i, record in enumerate(records):
            try:
                checked.append(self.check(record, today=today))
            except InputError as exc:
                n_bad += 1
                for p in exc.problems:  # the record's number in the field and the message
                    where = f"{label} {i + 1}"
                    problems.append(
                        {
                            **p,
                            "field": f"{where}: {p['field']}",
                            "message": f"{where}: {p['message']}",
                        }
                    )
        if problems:
            header = f"cannot value {n_bad} of the properties"
            raise InputError(problems[:20], header=header)
        return checked

    def _parse(self, name: str, value: Any) -> Any:
        from estimo.schema import FIELDS

        spec = FIELDS.get(name)
        if isinstance(value, list | tuple | dict | set | bytes):
            kind = _kind_text(spec.kind if spec else None)
            shape = "an object" if isinstance(value, dict) else "a list"
            raise RefusedValueError(f"expected {kind}, not {shape}")
        if spec is None:
            if self.extra_fields is not None and name not in self.extra_fields:
                known = sorted(self.extra_fields)
                hint = f" or one of the model's extra features {known[:12]!r}" if known else ""
                raise RefusedValueError(f"unknown field; expected a canonical field{hint}")
            parsed = _extra_value(value)
            if name in self.extra_numbers:
                return _extra_number(parsed)
            levels = self.extra_levels.get(name)
            return parsed if levels is None else as_training_level(parsed, levels)
        if spec.kind == "numeric":
            number = _number(value)
            if name in _PASSED_THROUGH:
                if number <= 0:
                    raise RefusedValueError("expected a number > 0")
                return number
            low, high = self.ranges.get(name, (None, None))
            if (low is not None and number < low) or (high is not None and number > high):
                raise RefusedValueError(
                    f"expected {_expected(low, high)} (the cleaning policy's plausible range)"
                )
            return number
        if spec.kind == "date":
            return _date(value)
        text = _text(name, value, spec.kind)
        if text is None:
            return None
        known = self.categories.get(name)
        if known and text not in known:
            same = _level_keys_by_name(tuple(known)).get(name_key(text))
            if same is None:
                raise RefusedValueError(
                    f"expected one of {list(known)!r} (the values the model knows)"
                )
            return same  # "Flat" or "to renovate" for the model's "flat", "to_renovate"
        return text

    def _relations(
        self,
        out: dict[str, Any],
        defaulted: bool,
        problems: list[dict[str, str]],
        warnings: list[str],
    ) -> None:
        import pandas as pd

        date = out["date"]
        if self.window is not None:
            start, end = self.window
            if start is not None and date < start:
                problems.append(
                    _problem(
                        "date",
                        f"{date:%Y-%m-%d}",
                        f"expected a date on or after {start:%Y-%m-%d}, the start of the "
                        "model's training data (it knows no earlier prices)",
                    )
                )
            elif end is not None and date > end:
                days = (date - end).days
                if days > MAX_DAYS_AHEAD and not defaulted:
                    limit = end + pd.Timedelta(days=MAX_DAYS_AHEAD)
                    problems.append(
                        _problem(
                            "date",
                            f"{date:%Y-%m-%d}",
                            f"expected a date on or before {limit:%Y-%m-%d} ({MAX_DAYS_AHEAD} "
                            f"days after the model's training data, which ends {end:%Y-%m-%d})",
                        )
                    )
                elif days > 31 and not self.engine_dates:
                    # calendar months, as the engine's own warning counts them
                    months = (date.year - end.year) * 12 + date.month - end.month
                    warnings.append(
                        f"the valuation date {date:%Y-%m-%d} is {months} months after the "
                        f"model's training data (to {end:%Y-%m-%d}): prices may have moved "
                        "since; the range is widened"
                    )
        year = out.get("year_built")
        if year is not None and year > date.year + self.max_years_ahead:
            problems.append(
                _problem(
                    "year_built",
                    year,
                    f"expected a year up to {date.year + self.max_years_ahead} (at most "
                    f"{self.max_years_ahead} years after the valuation date)",
                )
            )
        floor = out.get("floor")
        floors_name = next((n for n in _FLOOR_COUNT_FIELDS if n in out), None)
        if floor is not None and floors_name is not None:
            floors = out[floors_name]
            if isinstance(floors, float) and floors > 0 and floor > floors:
                problems.append(
                    _problem(
                        "floor",
                        floor,
                        f"expected a floor up to {floors_name!r} ({floors:g}), the building's "
                        "number of floors",
                    )
                )
        area, rooms = out.get("area_m2"), out.get("rooms")
        if area is not None and rooms is not None and rooms >= 1:
            per_room = area / rooms
            if per_room < MIN_M2_PER_ROOM:
                problems.append(
                    _problem(
                        "area_m2",
                        area,
                        f"expected at least {MIN_M2_PER_ROOM:g} m² per room ({rooms:g} rooms "
                        f"in {area:g} m² is {per_room:.1f} m² per room)",
                    )
                )
            elif per_room > MAX_M2_PER_ROOM:
                warnings.append(
                    f"{area:g} m² for {rooms:g} rooms is {per_room:.0f} m² per room, more than "
                    f"the usual {MAX_M2_PER_ROOM:g}: check the area and rooms; the range is "
                    "widened"
                )
        checked = not any(p["field"] == "area_m2" for p in problems)
        if area is not None and self.area_stats is not None and checked:
            from estimo.quality.rules.validity import unusual_area_problem

            problem = unusual_area_problem(out, self.area_stats, self.area_z)
            if problem is not None:
                problems.append(_problem("area_m2", area, problem))


class RefusedValueError(Exception):
    """A value the contract refuses; ``expected`` says what it expected instead."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def _problem(name: str, value: Any, expected: str) -> dict[str, str]:
    """One refused field: ``{"field", "value", "message"}``."""
    text = "missing" if value is None else shown(value)
    message = f"field {name!r} is {text}; {expected}"
    if expected.startswith("unknown field"):
        message = f"unknown field {name!r}{expected[len('unknown field') :]}"
    elif value is None:
        message = f"field {name!r} is missing; {expected}"
    return {"field": str(name)[:100], "value": text, "message": message}


def _kind_text(kind: str | None) -> str:
    return {
        "numeric": "a number",
        "date": "a date such as '2024-05-01'",
        "category": "text",
        "id": "text or a whole number",
        "text": "text",
    }.get(kind or "", "a number, text or a boolean")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise RefusedValueError("expected a number")
    if isinstance(value, int):
        number = float(value) if abs(value) <= MAX_MAGNITUDE else math.inf
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip().replace("_", "x")  # float() reads '1_000'; Estimo does not
        if len(text) > 40:
            raise RefusedValueError("expected a number")
        try:
            number = float(text)
        except ValueError:
            raise RefusedValueError("expected a number") from None
    else:
        try:
            number = float(value)  # numpy scalars
        except (TypeError, ValueError, OverflowError):
            raise RefusedValueError("expected a number") from None
    if not math.isfinite(number):
        raise RefusedValueError("expected a finite number (not NaN or Infinity)")
    if abs(number) > MAX_MAGNITUDE:
        raise RefusedValueError(f"expected a number of magnitude at most {MAX_MAGNITUDE:g}")
    return number


def read_number(value: Any) -> float:
    """A field's value as the contract reads a number (raises :class:`RefusedValueError`)."""
    return _number(value)


def read_date(value: Any) -> Any:
    """A field's value as the contract reads a date: a naive day (raises
    :class:`RefusedValueError`)."""
    return _date(value)


def _date(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, bool | int | float):
        raise RefusedValueError("expected a date such as '2024-05-01', not a number")
    if type(value).__name__ == "datetime64":  # numpy's date (NaT included): a Timestamp
        value = pd.Timestamp(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40 or not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?", text):
            raise RefusedValueError("expected a date such as '2024-05-01' (year-month-day)")
        value = text
    elif not isinstance(value, dt.date | pd.Timestamp):
        raise RefusedValueError("expected a date such as '2024-05-01'")
    low, high = DATE_BOUNDS
    try:
        year = int(str(value)[:4]) if isinstance(value, str) else value.year
        if not int(low[:4]) <= year <= int(high[:4]):
            raise RefusedValueError(f"expected a date between {low} and {high}")
        stamp = pd.Timestamp(value)
    except RefusedValueError:
        raise
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        raise RefusedValueError("expected a date such as '2024-05-01'") from None
    if stamp is pd.NaT or pd.isna(stamp):
        raise RefusedValueError("expected a date such as '2024-05-01'")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)  # the local date as written, not UTC
    return stamp.normalize()


def _text(name: str, value: Any, kind: str) -> str | None:
    if isinstance(value, bool | float):
        raise RefusedValueError(f"expected {_kind_text(kind)}")
    if isinstance(value, int):
        if kind == "id" or name in ("neighbourhood",):
            return str(value)
        raise RefusedValueError(f"expected {_kind_text(kind)}")
    if not isinstance(value, str):
        raise RefusedValueError(f"expected {_kind_text(kind)}")
    text = value.strip()
    limit = _TEXT_LIMITS.get(name, _CITY_LIMIT if name == "city" else _CATEGORY_LIMIT)
    if len(text) > limit:
        raise RefusedValueError(f"expected at most {limit} characters")
    problem = markup_problem(text, free_text=kind == "text")
    if problem:
        raise RefusedValueError(problem)
    if not text:
        if name == "city":
            raise RefusedValueError("expected the city's name")
        return None
    return text


def _extra_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _CATEGORY_LIMIT:
            raise RefusedValueError(f"expected at most {_CATEGORY_LIMIT} characters")
        problem = markup_problem(text)
        if problem:
            raise RefusedValueError(problem)
        if _is_non_finite_number(text):  # a numeric feature would read it as NaN or inf
            raise RefusedValueError("expected a finite number (not NaN or Infinity) or a word")
        return text or None
    raise RefusedValueError("expected a number, text or a boolean")


def _extra_number(value: Any) -> Any:
    """An extra feature's value (of :func:`_extra_value`) for a feature the model reads as a
    number: a number as it is, text read as a number, a boolean or a yes/no word as 1 or 0.

    Examples
    --------
    >>> [_extra_number(v) for v in (3.0, " 2 ", True, "no", None)]
    [3.0, 2.0, 1.0, 0.0, None]
    """
    if value is None or isinstance(value, float):
        return value
    said = truth(value)
    if said is not None and (isinstance(value, bool) or not _reads_as_number(value)):
        return 1.0 if said else 0.0
    try:
        return _number(value)
    except RefusedValueError:
        raise RefusedValueError(
            "expected a number (the model read this feature as numbers in training), or yes/no"
        ) from None


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def as_training_level(value: Any, levels: tuple[str, ...]) -> Any:
    """``value`` of a category feature as the word its training data wrote, when it is that
    word written another way: a boolean, 0/1 or a yes/no word (:mod:`estimo.flags`) for a
    feature whose data held one yes-word and one no-word, a whole number for a level
    written as digits, a word in other case or with spaces. Anything else is returned as it
    is (a level the model never saw is read as missing).

    Examples
    --------
    >>> levels = ("no", "yes")
    >>> [as_training_level(v, levels) for v in (True, False, 1.0, " Yes", "sì", "maybe")]
    ['yes', 'no', 'yes', 'yes', 'yes', 'maybe']
    >>> as_training_level(3.0, ("1", "2", "3")), as_training_level("A+", ("a+", "b"))
    ('3', 'a+')
    """
    if value is None or (isinstance(value, str) and value in levels):
        return value
    if isinstance(value, float) and value.is_integer() and str(int(value)) in levels:
        return str(int(value))
    by_key, yes, no = _level_keys(levels)
    found = by_key.get(str(value).strip().lower())
    if found is not None:
        return found
    said = truth(value)
    if said is not None:
        return (yes if said else no) or value
    return value


@lru_cache(maxsize=256)
def _level_keys_by_name(levels: tuple[str, ...]) -> dict[str, str]:
    """Each level by its :func:`~estimo.names.name_key` (case, accents, spaces and
    punctuation dropped), for levels whose keys differ."""
    keys = [name_key(level) for level in levels]
    if len(set(keys)) < len(keys):  # two levels would read alike: match exactly only
        return {}
    return dict(zip(keys, levels, strict=True))


@lru_cache(maxsize=256)
def _level_keys(levels: tuple[str, ...]) -> tuple[dict[str, str], str | None, str | None]:
    """Each level by its lower-case key, and the levels' one yes-word and one no-word
    (None where there is not exactly one)."""
    by_key = {level.strip().lower(): level for level in levels}
    said = [(truth(key), level) for key, level in by_key.items()]
    yes = [level for flag, level in said if flag is True]
    no = [level for flag, level in said if flag is False]
    return by_key, yes[0] if len(yes) == 1 else None, no[0] if len(no) == 1 else None


def _is_non_finite_number(text: str) -> bool:
    """Whether ``text`` reads as NaN or an infinity ("NaN", "inf", "-Infinity", "1e400").

    Examples
    --------
    >>> [_is_non_finite_number(t) for t in ("NaN", "-Infinity", "1e400", "5", "sea view")]
    [True, True, True, False, False]
    """
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _expected(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} <= value <= {high:g}"
    return f"value >= {low:g}" if low is not None else f"value <= {high:g}"


def _first_date(engine: Any) -> Any:
    """The first training date an engine keeps (its comparables' rows), or None."""
    import pandas as pd

    reference = getattr(getattr(engine, "finder_", None), "reference_", None)
    if reference is None or "date" not in reference or reference.empty:
        return None
    first = pd.to_datetime(reference["date"]).min()
    return None if pd.isna(first) else pd.Timestamp(first)


def _default_ranges() -> dict[str, tuple[float | None, float | None]]:
    from estimo.config import QualityConfig

    return _ranges_of(QualityConfig())


def _ranges_of(quality: Any) -> dict[str, tuple[float | None, float | None]]:
    """``quality.ranges`` as ``{field: (min, max)}``, with the physical floors added: an
    area is > 0 and counts are >= 0 even when a project leaves them open."""
    out: dict[str, tuple[float | None, float | None]] = {
        name: (rule.min, rule.max) for name, rule in quality.ranges.items()
    }
    floors = {"area_m2": 1.0, "rooms": 0.0, "bathrooms": 0.0}
    for name, floor in floors.items():
        low, high = out.get(name, (None, None))
        out[name] = (floor if low is None else max(low, floor), high)
    for name, (low, high) in {"lat": (-90.0, 90.0), "lon": (-180.0, 180.0)}.items():
        got_low, got_high = out.get(name, (None, None))
        out[name] = (
            low if got_low is None else max(got_low, low),
            high if got_high is None else min(got_high, high),
        )
    return out


def widen_valuation(valuation: Any, warnings: Sequence[str], factor: float = WIDEN_FACTOR) -> Any:
    """``valuation`` (a :class:`~estimo.model.valuation_result.Valuation`) with its input
    ``warnings`` first, every range widened ``factor`` times on the log scale around the
    price, the FSD multiplied by ``factor`` and ``low`` confidence.

    Examples
    --------
    >>> from estimo.model.valuation_result import Valuation
    >>> v = Valuation(price=100.0, low=90.0, high=110.0, fsd=0.08, valuation_date="2024-01-01",
    ...               model_price=100.0)
    >>> w = widen_valuation(v, ["check the area"])
    >>> (w.low < 90.0, w.high > 110.0, w.confidence, w.warnings[0])
    (True, True, 'low', 'check the area')
    """
    from estimo.model.valuation_result import confidence_from_fsd

    price = valuation.price
    low, high = widen_bounds(price, valuation.low, valuation.high, factor)
    ranges = {k: widen_bounds(price, lo, hi, factor) for k, (lo, hi) in valuation.ranges.items()}
    fsd = float(valuation.fsd) * factor
    _, score = confidence_from_fsd(fsd)
    old_score = valuation.confidence_score
    return replace(
        valuation,
        low=low,
        high=high,
        ranges=ranges,
        fsd=fsd,
        confidence="low",
        confidence_score=min(score, old_score) if old_score is not None else score,
        warnings=(*warnings, *valuation.warnings),
    )


def widen_bounds(price: float, low: float, high: float, factor: float) -> tuple[float, float]:
    """``(low, high)`` widened ``factor`` times on the log scale around ``price``."""
    low = min(low, price)
    high = max(high, price)
    return (
        float(price * math.exp(factor * math.log(low / price))),
        float(price * math.exp(factor * math.log(high / price))),
    )


#: The default cleaning policy's plausible ranges (``QualityConfig().ranges`` with the
#: physical floors), the API schema's bounds.
DEFAULT_RANGES: dict[str, tuple[float | None, float | None]] = _default_ranges()
