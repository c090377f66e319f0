"""Outcomes from a file: appraisals, sales and asking prices in CSV or Parquet.

:func:`read_outcomes` reads a table with :func:`estimo.io.read_table` and maps it onto the
outcome fields (``property_id``, ``request_id``, ``kind``, ``price``, ``date``,
``appraiser_id``, ``source``) with the ``monitor.outcomes`` section of ``estimo.yaml``, in
the style of the ``data:`` mapping: a field is a column name or a ``{value: ...}`` constant,
and a field found under its own name needs no mapping. :func:`import_outcomes` stores them;
importing the same file twice adds nothing (outcomes are keyed by their identity).

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> from estimo.config import OutcomeImport
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
>>> pd.DataFrame({"ref": ["P1"], "SalePrice": [250000], "Sold": ["2024-05"]}).to_csv(path)
>>> mapping = OutcomeImport(columns={"property_id": "ref", "price": "SalePrice",
...                                  "date": "Sold"}, date_format="%Y-%m", source="notary")
>>> rows = read_outcomes(str(path), mapping)
>>> rows[0]["kind"], rows[0]["price"], str(rows[0]["date"].date()), rows[0]["source"]
('sale', 250000, '2024-05-01', 'notary')
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from estimo.config import OUTCOME_FIELDS, ColumnSource, OutcomeImport
from estimo.errors import DataError
from estimo.io import read_table
from estimo.monitor.store import ValuationStore
from estimo.monitor.tables import OUTCOME_KINDS

__all__ = ["import_outcomes", "read_outcomes"]


def _sources(table: pd.DataFrame, mapping: OutcomeImport) -> dict[str, ColumnSource]:
    sources = dict(mapping.columns)
    for name in OUTCOME_FIELDS:
        if name not in sources and name in table.columns:
            sources[name] = ColumnSource(column=name)
    if "kind" not in sources:
        kind = mapping.kind
        sources["kind"] = (
            ColumnSource(value=kind) if kind in OUTCOME_KINDS else ColumnSource(column=kind)
        )
    if "source" not in sources:
        sources["source"] = ColumnSource(value=mapping.source)
    return sources


def _problems(table: pd.DataFrame, sources: dict[str, ColumnSource]) -> list[str]:
    problems = []
    available = list(table.columns)
    missing = sorted(
        f"{s.column!r} (for {name!r})"
        for name, s in sources.items()
        if s.column is not None and s.column not in available
    )
    if missing:
        problems.append(
            f"mapped columns not found: {', '.join(missing)}; available columns: {available!r}"
        )
    for name in ("price", "date"):
        if name not in sources:
            problems.append(f"outcome field {name!r} has no column: map it under monitor.outcomes")
    if "property_id" not in sources and "request_id" not in sources:
        problems.append("neither 'property_id' nor 'request_id' has a column: map at least one")
    if table.empty:
        problems.append("the table has no rows")
    return problems


def read_outcomes(path: str, mapping: OutcomeImport | None = None) -> list[dict[str, Any]]:
    """Outcome rows (dicts of the outcome fields) from a CSV or Parquet file.

    Raises
    ------
    DataError
        If the file cannot be read, or the mapping does not fit it (every problem listed).
    """
    mapping = mapping or OutcomeImport()
    table = read_table(path, mapping.read_options)
    sources = _sources(table, mapping)
    problems = _problems(table, sources)
    if problems:
        raise DataError(problems, header=f"cannot read outcomes from {path!r}")
    fields: dict[str, pd.Series] = {}
    for name, source in sources.items():
        if source.value is not None:
            fields[name] = pd.Series([source.value] * len(table), index=table.index, dtype=object)
        else:
            fields[name] = table[source.column]
    fields["date"] = _outcome_dates(fields["date"], mapping.date_format, path)
    frame = pd.DataFrame(fields)
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _outcome_dates(raw: pd.Series, fmt: str | None, path: str) -> pd.Series:
    """The outcomes' dates read as the data loader reads dates (the format, or ISO with the
    day/month order of the whole column; numbers only with ``date_format: unix``,
    ``excel`` or a format such as ``%Y%m%d``); a date given without a time of day is the end
    of that day, without a day (``%m/%Y``) the end of that month, so that it pairs with the
    valuations served before it.

    Raises
    ------
    DataError
        If the column cannot be read as dates (values that are not dates are refused with
        the other bad rows).
    """
    from estimo.io import parse_dates

    if raw.map(lambda v: isinstance(v, dt.date)).all():  # dates already (a Parquet column)
        return raw
    parsed, problems = parse_dates(raw, fmt, "date")
    if problems:
        raise DataError(problems, header=f"cannot read outcomes from {path!r}")
    out = parsed.astype(object).where(parsed.notna(), None)
    bad = raw.notna().to_numpy() & parsed.isna().to_numpy()
    for i in np.flatnonzero(bad):  # refused with the other bad rows, never guessed again
        out.iat[i] = Unreadable(raw.iat[i])
    return out


class Unreadable:
    """A value that is not a date in the file's format: the row's validation refuses it,
    quoting it as written (:func:`estimo.monitor.rows.utc_naive` cannot read it)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


def import_outcomes(
    store: ValuationStore, path: str, mapping: OutcomeImport | None = None
) -> dict[str, int]:
    """Read outcomes from ``path`` and store them (idempotent).

    Returns
    -------
    dict
        ``rows`` read, and the store's ``inserted`` / ``updated`` / ``unchanged`` counts.

    Raises
    ------
    DataError
        If a row is invalid (every bad row listed, nothing stored).
    """
    rows = read_outcomes(path, mapping)
    return {"rows": len(rows), **store.record_outcomes(rows)}
