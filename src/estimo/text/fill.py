"""Missing fields filled from descriptions: what to fill, where the text disagrees, contacts.

Plain functions over a canonical frame, used by the cleaning policy
(``estimo.quality.clean``) and the audit (``estimo.quality.rules.text``); nothing here
imports them back.

- :func:`read_descriptions`: extract every row's description once, count and mask contact
  details.
- :func:`plan_fills`: for each column, the rows where the value is missing and the text
  states it (never a given value), with the text's span; and the rows where a given value
  and the text disagree.
- :func:`amenity_columns`: which ``has_<amenity>`` columns a training table supports (the
  text mentions them often enough), so predict mode creates the same columns.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"area_m2": [None, 90.0], "rooms": [None, 3.0],
...                       "description": ["Trilocale di 85 mq con box auto",
...                                       "Bilocale di 60 mq, tel. 333 1234567"]})
>>> reading = read_descriptions(frame["description"], min_confidence=0.5)
>>> reading.contacts["phone"], reading.redacted[1]
(1, 'Bilocale di 60 mq, tel. [phone]')
>>> fills, disagreements = plan_fills(frame, reading, ["area_m2", "rooms"])
>>> [(f.column, f.rows.tolist(), f.values, f.spans) for f in fills]
[('area_m2', [0], [85.0], ['85 mq']), ('rooms', [0], [3.0], ['Trilocale'])]
>>> [(d.column, d.rows.tolist(), d.given, d.found) for d in disagreements]
[('area_m2', [1], [90.0], [60.0]), ('rooms', [1], [3.0], [2.0])]
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from estimo.flags import NO_WORDS, YES_WORDS, truth
from estimo.frames import empty_frame, with_columns
from estimo.text.extractor import AMENITY_FIELDS, FIELDS, extract, extraction_table
from estimo.text.facts import CATEGORY_FIELDS, NUMERIC_FIELDS, Extraction
from estimo.text.redact import KINDS, redact

AREA_TOLERANCE = 0.05
"""Relative difference under which a given area and the text's agree."""


@dataclass
class TextReading:
    """Every row's extraction and its masked description.

    Attributes
    ----------
    extractions : list of Extraction
        Each row's facts, in row order.
    redacted : list of str or None
        Descriptions with contact details masked (None where there was no text).
    contacts : dict of str to int
        Contact details masked, per kind.
    rows_with_contacts : int
        Descriptions that held at least one contact detail.
    """

    extractions: list[Extraction]
    redacted: list[str | None]
    contacts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rows_with_contacts: int = 0

    @cached_property
    def table(self) -> pd.DataFrame:
        """:func:`~estimo.text.extractor.extraction_table` of the rows (positional index),
        built on first use: filling one property's fields reads :meth:`found` instead."""
        return extraction_table(self.extractions)

    def found(self, column: str) -> tuple[list[Any], list[str | None]]:
        """Each row's value of ``column`` stated by its text (None where it states none)
        and the span it was read from, typed as :attr:`table` types them: numbers as
        floats, categories as text, amenities as booleans.

        Examples
        --------
        >>> reading = read_descriptions(["Trilocale di 85 mq", None], min_confidence=0.5)
        >>> reading.found("area_m2")
        ([85.0, None], ['85 mq', None])
        """
        kind = float if column in NUMERIC_FIELDS else str if column in CATEGORY_FIELDS else bool
        values: list[Any] = []
        spans: list[str | None] = []
        for extraction in self.extractions:
            fact = extraction.facts.get(column)
            value = None if fact is None or pd.isna(fact.value) else kind(fact.value)
            values.append(value)
            spans.append(None if value is None else fact.span)
        return values, spans


@dataclass
class Fill:
    """Values to write into the missing cells of one column."""

    column: str
    rows: np.ndarray
    values: list[Any]
    spans: list[str]


@dataclass
class Disagreement:
    """Rows where a given value and the description's differ."""

    column: str
    rows: np.ndarray
    given: list[Any]
    found: list[Any]
    spans: list[str]


def read_descriptions(
    descriptions: Iterable[Any], *, min_confidence: float | None = None
) -> TextReading:
    """Extract facts from each description and mask its contact details.

    Parameters
    ----------
    descriptions : iterable
        One description per row (non-strings are read as no text).
    min_confidence : float, optional
        See :func:`~estimo.text.extract` (default: each field's learned threshold).

    The last reading is kept: training reads the same descriptions in the audit, the text
    plan and the cleaning (three readings of 5 kB descriptions made training six times
    slower), so the second and third are the first's.
    """
    texts = [t if isinstance(t, str) and t.strip() else None for t in descriptions]
    key = (_digest(texts), min_confidence)
    with _LAST_LOCK:
        last = _LAST.get(key)
    if last is not None:
        return replace(last, contacts=dict(last.contacts))
    reading = _read(texts, min_confidence)
    if len(texts) >= _CACHED_ROWS:  # one property's text is read faster than it is hashed twice
        with _LAST_LOCK:
            _LAST.clear()
            _LAST[key] = reading
    return replace(reading, contacts=dict(reading.contacts))


_LAST: dict[tuple[str, float | None], TextReading] = {}
_LAST_LOCK = threading.Lock()
_CACHED_ROWS = 50


def _digest(texts: list[str | None]) -> str:
    """A fingerprint of the descriptions (their order and missing ones included)."""
    hasher = hashlib.blake2b(digest_size=20)
    for text in texts:
        hasher.update(b"\x00" if text is None else text.encode("utf-8", "surrogatepass") + b"\x01")
    return hasher.hexdigest()


def _read(texts: list[str | None], min_confidence: float | None) -> TextReading:
    contacts = dict.fromkeys(KINDS, 0)
    redacted: list[str | None] = []
    with_contacts = 0
    for text in texts:
        if text is None:
            redacted.append(None)
            continue
        masked = redact(text)
        redacted.append(masked.text)
        with_contacts += bool(masked.spans)
        for kind, count in masked.counts.items():
            contacts[kind] += count
    # facts are read from the masked text: the spans quoted in warnings and change logs
    # never carry a phone number, e-mail address or URL
    rows = [extract(t, min_confidence=min_confidence) for t in redacted]
    return TextReading(rows, redacted, contacts, with_contacts)


def amenity_columns(reading: TextReading, min_share: float) -> list[str]:
    """``has_<amenity>`` columns the text states (yes or no) for at least ``min_share`` rows."""
    n = len(reading.table)
    if n == 0:
        return []
    return [name for name in AMENITY_FIELDS if reading.table[name].notna().mean() >= min_share]


def plan_fills(
    frame: pd.DataFrame,
    reading: TextReading,
    columns: Sequence[str],
    *,
    categories: dict[str, set[str]] | None = None,
) -> tuple[list[Fill], list[Disagreement]]:
    """Which missing cells the text fills, and where given values and the text disagree.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows aligned with ``reading`` (positionally).
    reading : TextReading
        :func:`read_descriptions` of the frame's descriptions.
    columns : sequence of str
        Columns to consider; columns absent from ``frame`` are filled into a new column
        (values in the representation of :func:`flag_value` for flags).
    categories : dict of str to set of str, optional
        Allowed values of categorical columns (e.g. the training conditions); text values
        outside them are not used.

    Returns
    -------
    fills, disagreements : list of Fill, list of Disagreement
    """
    fills, disagreements = [], []
    categories = categories or {}
    for column in columns:
        if column not in FIELDS:
            continue
        found, spans = reading.found(column)
        allowed = categories.get(column)
        has_text = np.array(
            [v is not None and (allowed is None or v in allowed) for v in found], dtype=bool
        )
        if not has_text.any():
            continue
        given = (
            frame[column].reset_index(drop=True)
            if column in frame
            else pd.Series([None] * len(frame), dtype=object)
        )
        missing = given.isna().to_numpy()
        fill_rows = np.flatnonzero(has_text & missing)
        if len(fill_rows):
            values = [_as_column_value(given, found[i]) for i in fill_rows]
            fills.append(Fill(column, fill_rows, values, [str(spans[i]) for i in fill_rows]))
        both = np.flatnonzero(has_text & ~missing)
        differ = [i for i in both if _differ(column, given.iat[i], found[i])]
        if differ:
            rows = np.asarray(differ, dtype=int)
            disagreements.append(
                Disagreement(
                    column,
                    rows,
                    [_plain(given.iat[i]) for i in rows],
                    [_plain(found[i]) for i in rows],
                    [str(spans[i]) for i in rows],
                )
            )
    return fills, disagreements


def flag_value(existing: pd.Series, value: bool) -> Any:
    """``value`` written the way ``existing`` writes its flags (yes/no, bool, or 1.0/0.0)."""
    known = existing.dropna()
    if len(known) and (known.dtype == object or pd.api.types.is_string_dtype(known.dtype)):
        sample = {str(v).strip().lower() for v in known.head(50)}
        if sample <= YES_WORDS | NO_WORDS:
            yes = next((v for v in known if truth(v) is True), "yes")
            no = next((v for v in known if truth(v) is False), "no")
            return yes if value else no
    if pd.api.types.is_bool_dtype(known.dtype) and len(known):
        return bool(value)
    return 1.0 if value else 0.0


def _as_column_value(given: pd.Series, value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return flag_value(given, bool(value))
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, np.floating | np.integer):
        return value.item()
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _differ(column: str, given: Any, found: Any) -> bool:
    if isinstance(found, bool | np.bool_):
        said = truth(given)
        return said is not None and said != bool(found)
    if isinstance(found, str):
        return str(given) != found
    try:
        given_f, found_f = float(given), float(found)
    except (TypeError, ValueError):
        return False
    if column == "area_m2":
        return abs(given_f - found_f) > AREA_TOLERANCE * max(abs(given_f), 1e-9)
    return given_f != found_f


FILLED_WARNING = '{column} was missing; read {value} from the description ("{span}")'
DISAGREE_WARNING = (
    '{column} is {given}, but the description says {found} ("{span}"): the given value was used'
)


@dataclass
class TextResult:
    """What :func:`apply_text` did to a frame.

    Attributes
    ----------
    frame : pandas.DataFrame
        The frame with missing cells filled, new amenity columns and masked descriptions.
    changes : pandas.DataFrame
        One row per filled cell: ``row``, ``column``, ``old_value`` (None), ``new_value``,
        ``rule`` (``text.<column>``) and ``span``.
    warnings : dict of int to list of str
        Per row position, one plain sentence per filled value.
    disagreements : list of Disagreement
        Given values the text contradicts (kept; reported by the audit).
    contacts : dict of str to int
        Contact details masked, per kind.
    """

    frame: pd.DataFrame
    changes: pd.DataFrame
    warnings: dict[int, list[str]]
    disagreements: list[Disagreement]
    contacts: dict[str, int]

    def summary(self) -> dict[str, Any]:
        """Counts for the cleaning summary."""
        filled = self.changes["column"].value_counts().to_dict() if len(self.changes) else {}
        return {
            "filled": {str(k): int(v) for k, v in filled.items()},
            "disagreements": {d.column: len(d.rows) for d in self.disagreements},
            "contacts_masked": dict(self.contacts),
        }


def plan_text(frame: pd.DataFrame, settings: Any, *, sample: int = 5_000) -> dict[str, Any] | None:
    """What the text may fill in tables like ``frame`` (learned on training rows).

    Parameters
    ----------
    frame : pandas.DataFrame
        Training rows.
    settings : estimo.config.TextSettings
        The ``quality.text`` settings.
    sample : int
        Descriptions read (the first ones) to decide which amenity columns to create.

    Returns
    -------
    dict or None
        JSON-ready: ``fields`` (columns filled where missing), ``amenities`` (``has_*``
        columns created or filled), ``categories`` (allowed ``condition`` values); None
        when the table has no ``description`` column or reading is disabled.
    """
    if not settings.enabled or "description" not in frame or frame["description"].isna().all():
        return None
    fields = [f for f in settings.fields if f in frame]
    amenities: list[str] = []
    if settings.amenities:
        reading = read_descriptions(
            frame["description"].head(sample), min_confidence=settings.min_confidence
        )
        amenities = amenity_columns(reading, settings.min_amenity_share)
        amenities += [name for name in AMENITY_FIELDS if name in frame and name not in amenities]
    categories = {}
    if "condition" in fields and "condition" in frame:
        categories["condition"] = sorted(str(v) for v in frame["condition"].dropna().unique())
    return {"fields": fields, "amenities": amenities, "categories": categories}


def apply_text(frame: pd.DataFrame, plan: dict[str, Any], settings: Any) -> TextResult:
    """Fill missing cells from the descriptions, add amenity columns, mask contact details.

    Given values are never overwritten: where the text disagrees with one, the value is kept
    and the disagreement returned. The filled frame is the result's ``frame``: ``frame``
    itself is filled in place when it has every amenity column already, else a copy with
    them added (missing) is.
    """
    absent = [column for column in plan["amenities"] if column not in frame]
    frame = with_columns(frame, {column: np.full(len(frame), np.nan) for column in absent})
    if frame["description"].isna().all():  # nothing to read (e.g. one property without text)
        return TextResult(frame, _no_changes(), {}, [], dict.fromkeys(KINDS, 0))
    reading = read_descriptions(frame["description"], min_confidence=settings.min_confidence)
    categories = {k: set(v) for k, v in plan.get("categories", {}).items()}
    columns = [c for c in (*plan["fields"], *plan["amenities"]) if c in frame]
    fills, disagreements = plan_fills(frame, reading, columns, categories=categories)
    parts, warnings = [], {}
    for fill in fills:
        column = frame[fill.column]
        values = fill.values
        if pd.api.types.is_numeric_dtype(column.dtype):
            values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        elif column.dtype != object and not isinstance(column.dtype, pd.CategoricalDtype):
            frame[fill.column] = column.astype(object)
        if isinstance(frame[fill.column].dtype, pd.CategoricalDtype):
            frame[fill.column] = frame[fill.column].astype(object)
        frame.loc[fill.rows, fill.column] = values
        parts.append(
            pd.DataFrame(
                {
                    "row": fill.rows.astype(int),
                    "column": fill.column,
                    "old_value": None,
                    "new_value": [_text(v) for v in fill.values],
                    "rule": f"text.{fill.column}",
                    "span": fill.spans,
                }
            )
        )
        for i, value, span in zip(fill.rows, fill.values, fill.spans, strict=True):
            shown = _text(value)
            if fill.column.startswith("has_"):
                shown = "yes" if truth(value) else "no"
            warnings.setdefault(int(i), []).append(
                FILLED_WARNING.format(column=fill.column, value=shown, span=span)
            )
    for found in disagreements:  # the given value is kept; the caller is told the text differs
        for i, given, value, span in zip(
            found.rows, found.given, found.found, found.spans, strict=True
        ):
            if found.column.startswith("has_"):
                given, value = _yes_no(given), _yes_no(value)
            warnings.setdefault(int(i), []).append(
                DISAGREE_WARNING.format(
                    column=found.column, given=_text(given), found=_text(value), span=span
                )
            )
    if settings.redact:
        has_text = frame["description"].notna().to_numpy()
        frame.loc[has_text, "description"] = [
            t for t, keep in zip(reading.redacted, has_text, strict=True) if keep
        ]
    changes = pd.concat(parts, ignore_index=True) if parts else _no_changes()
    contacts = reading.contacts if settings.redact else dict.fromkeys(KINDS, 0)
    return TextResult(frame, changes, warnings, disagreements, contacts)


def _yes_no(value: Any) -> Any:
    said = truth(value)
    return value if said is None else ("yes" if said else "no")


def _no_changes() -> pd.DataFrame:
    return empty_frame(("row", "column", "old_value", "new_value", "rule", "span"))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)
