"""Checking and normalising the rows written to the monitoring store.

:func:`valuation_row` turns what the service knows about one answered request (request id,
time, the property as received, the answer, model version, sub-model, tier) into a row of
the ``valuations`` table; :func:`outcome_row` does the same for an appraisal, a sale or an
asking price. Both raise :class:`ValueError` naming the field, the bad value and what was
expected; :func:`check_rows` collects every problem of a batch into one
:class:`~estimo.errors.DataError`.

Examples
--------
>>> row = valuation_row({"request_id": "r1", "served_at": "2024-05-01T10:00:00Z",
...     "property": {"id": "P1", "city": "Milano"}, "answer": {"price": 300000.0},
...     "model_version": "v3"})
>>> row["city"], row["price"], row["served_at"].isoformat()
('Milano', 300000.0, '2024-05-01T10:00:00')
>>> outcome_row({"kind": "sale", "property_id": "P1", "price": 310000, "date": "2024-06-01",
...     "source": "notary"})["outcome_key"][:8]
'0216b06d'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.monitor.tables import OUTCOME_KINDS

__all__ = ["check_rows", "outcome_key", "outcome_row", "utc_naive", "valuation_row"]

_MAX_SHOWN = 60


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def utc_naive(value: Any, field: str) -> dt.datetime:
    """A date or time as a naive UTC :class:`datetime.datetime` (naive input is taken as UTC).

    Examples
    --------
    >>> utc_naive("2024-05-01T12:00:00+02:00", "served_at")
    datetime.datetime(2024, 5, 1, 10, 0)
    """
    if isinstance(value, dt.datetime) and not isinstance(value, pd.Timestamp):
        if value.tzinfo is None:
            return value
        try:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:  # 9999-12-31T23:59-05:00 is past the last day Python knows
            raise ValueError(
                f"{field} is {_shown(str(value))}; expected a date before 9999"
            ) from None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError(f"{field} is missing; expected a date or an ISO date-time")
    if isinstance(value, bool | int | float | np.number):  # never nanoseconds since 1970
        raise ValueError(
            f"{field} is {_shown(value)}; expected a date such as '2024-05-01', not a number "
            "(a file's dates written as numbers need outcomes.date_format: unix, excel or a "
            "format such as '%Y%m%d')"
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{field} is {_shown(value)}; expected a date or an ISO date-time such as "
            "'2024-05-01T10:00:00Z'"
        ) from exc
    if stamp is pd.NaT:
        raise ValueError(f"{field} is missing; expected a date or an ISO date-time")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.floor("us").to_pydatetime()


def _text(value: Any, field: str, max_len: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        if required:
            raise ValueError(f"{field} is missing; expected a non-empty text")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        if required:
            raise ValueError(f"{field} is {value!r}; expected a non-empty text")
        return None
    if _CONTROL.search(text):
        raise ValueError(f"{field} is {_shown(text)}; expected text without control characters")
    if len(text) > max_len:
        raise ValueError(f"{field} is {_shown(value)}; expected at most {max_len} characters")
    return text


def _price(value: Any, field: str, required: bool = True) -> float | None:
    if value is None and not required:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number) or number <= 0:
        if not required and (value is None or (isinstance(value, float) and math.isnan(value))):
            return None
        raise ValueError(f"{field} is {_shown(value)}; expected a finite number > 0")
    return number


def _plain(value: Any) -> Any:
    """``value`` itself when it is already plain, finite JSON (the usual case), else a
    converted copy (:func:`_jsonable`)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return _jsonable(value)
    return value


def _jsonable(value: Any) -> Any:
    """Plain JSON types (numpy numbers, timestamps and NaN made portable)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def valuation_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``valuations`` row from one served request.

    Parameters
    ----------
    row : mapping
        ``request_id`` (text), ``served_at`` (date-time; naive means UTC), ``property``
        (the record as received, a mapping; ``id``, ``city`` and ``property_type`` are
        copied out), ``answer`` (the valuation's dict: ``price`` > 0, optional ``low``,
        ``high``, ``sub_model``), and optional ``model_version``, ``sub_model`` (default:
        the answer's) and ``tier``.

    Raises
    ------
    ValueError
        Naming the first bad field, its value and what was expected.
    """
    record = row.get("property")
    answer = row.get("answer")
    if not isinstance(record, Mapping):
        raise ValueError(f"property is {_shown(record)}; expected a mapping (the record)")
    if not isinstance(answer, Mapping):
        raise ValueError(f"answer is {_shown(answer)}; expected a mapping (the valuation)")
    return {
        "request_id": _text(row.get("request_id"), "request_id", 64, required=True),
        "served_at": utc_naive(row.get("served_at"), "served_at"),
        "property_id": _text(record.get("id"), "property.id", 128),
        "city": _text(record.get("city"), "property.city", 128),
        "property_type": _text(record.get("property_type"), "property.property_type", 64),
        "model_version": _text(row.get("model_version"), "model_version", 128),
        "sub_model": _text(row.get("sub_model") or answer.get("sub_model"), "sub_model", 128),
        "tier": _text(row.get("tier"), "tier", 32),
        "price": _price(answer.get("price"), "answer.price"),
        "low": _price(answer.get("low"), "answer.low", required=False),
        "high": _price(answer.get("high"), "answer.high", required=False),
        "record": _plain(record),
        "answer": _plain(answer),
    }


def outcome_key(
    kind: str,
    property_id: str | None,
    request_id: str | None,
    date: dt.datetime,
    source: str,
    appraiser_id: str | None,
) -> str:
    """The identity of an outcome: the same appraisal or sale always gets the same key.

    The price is not part of the identity: importing a corrected price replaces the old one.
    """
    parts = [
        kind,
        property_id or "",
        request_id or "",
        date.isoformat(),
        source,
        appraiser_id or "",
    ]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


#: control characters (NUL, escapes, ...) that no id or source holds; tab and newlines too
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the earliest outcome date taken: a year such as 0001 or 1024 is a typing error
FIRST_OUTCOME_DATE = dt.datetime(1900, 1, 1)


def check_outcome_date(date: dt.datetime, field: str = "date") -> dt.datetime:
    """An outcome's date (naive UTC), refused when it cannot have happened yet (after
    tomorrow, today's time zones allowed for) or is before 1900: such a date would pair the
    outcome with whichever valuation came last.

    Examples
    --------
    >>> check_outcome_date(dt.datetime(2024, 5, 1))
    datetime.datetime(2024, 5, 1, 0, 0)
    >>> check_outcome_date(dt.datetime(2999, 1, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: date is 2999-01-01; an outcome has happened: expected a date by ...
    """
    latest = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1)
    if date > latest:
        raise ValueError(
            f"{field} is {date.date().isoformat()}; an outcome has happened: expected a date "
            f"by {latest.date().isoformat()}"
        )
    if date < FIRST_OUTCOME_DATE:
        raise ValueError(
            f"{field} is {date.date().isoformat()}; expected a date from "
            f"{FIRST_OUTCOME_DATE.date().isoformat()} on"
        )
    return date


def outcome_row(row: Mapping[str, Any], recorded_at: dt.datetime | None = None) -> dict[str, Any]:
    """An ``outcomes`` row: ``kind``, ``price``, ``date``, ``source`` and at least one of
    ``property_id`` / ``request_id``; optional ``appraiser_id``.

    Raises
    ------
    ValueError
        Naming the first bad field, its value and what was expected.
    """
    kind = _text(row.get("kind"), "kind", 16, required=True)
    kind = kind.lower() if kind else kind
    if kind not in OUTCOME_KINDS:
        raise ValueError(
            f"kind is {_shown(row.get('kind'))}; expected one of {list(OUTCOME_KINDS)!r}"
        )
    property_id = _text(row.get("property_id"), "property_id", 128)
    request_id = _text(row.get("request_id"), "request_id", 64)
    if property_id is None and request_id is None:
        raise ValueError("property_id and request_id are both missing; give at least one")
    date = check_outcome_date(utc_naive(row.get("date"), "date"))
    source = _text(row.get("source"), "source", 128, required=True)
    appraiser_id = _text(row.get("appraiser_id"), "appraiser_id", 128)
    if kind != "appraisal" and appraiser_id is not None:
        raise ValueError(
            f"appraiser_id is {_shown(appraiser_id)} on a {kind!r} outcome; "
            "only appraisals have an appraiser"
        )
    return {
        "outcome_key": outcome_key(kind, property_id, request_id, date, source, appraiser_id),
        "kind": kind,
        "property_id": property_id,
        "request_id": request_id,
        "price": _price(row.get("price"), "price"),
        "date": date,
        "appraiser_id": appraiser_id,
        "source": source,
        "recorded_at": recorded_at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }


def check_rows(
    rows: Iterable[Mapping[str, Any]],
    convert: Callable[[Mapping[str, Any]], dict[str, Any]],
    what: str,
    max_problems: int = 20,
) -> list[dict[str, Any]]:
    """Convert every row; raise one :class:`DataError` listing every bad row (by position)."""
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    n_bad = 0
    for i, row in enumerate(rows):
        try:
            out.append(convert(row))
        except ValueError as exc:
            n_bad += 1
            if len(problems) < max_problems:
                problems.append(f"row {i}: {exc}")
    if n_bad:
        if n_bad > len(problems):
            problems.append(f"... and {n_bad - len(problems)} more bad rows")
        raise DataError(problems, header=f"{n_bad} {what} cannot be stored (nothing was written)")
    return out
