"""The quality report: findings, row flags and tables, written as JSON and HTML.

Examples
--------
>>> from estimo.quality import audit
>>> from estimo.synth import generate_market
>>> report = audit(generate_market(1_000, seed=2).frame)
>>> report.n_rows > 1_000, report.has_errors
(True, True)
>>> sorted(report.to_dict())[:3]
['findings', 'n_columns', 'n_rows']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.jsonutil import to_jsonable, write_report
from estimo.quality.findings import SEVERITY_ORDER, Finding

log = logging.getLogger(__name__)

JSON_TABLES = (
    "missingness",
    "regions",
    "stacked_points",
    "group_dispersion",
    "price_m2_by_city",
    "label_spread_time",
    "drift_columns",
    "drift_cities",
)
MAX_JSON_TABLE_ROWS = 100


@dataclass
class QualityReport:
    """What the audit found.

    Attributes
    ----------
    n_rows, n_columns : int
        Size of the audited table.
    findings : list of Finding
        Sorted by severity, then by number of rows.
    flags : pandas.DataFrame
        One boolean column per rule (and column), one row per input row (same order).
    ids : numpy.ndarray
        ``id`` of every input row.
    tables : dict of DataFrame
        Summary tables (missingness, regions, group dispersion, spreads, drift, ...).
    settings : dict
        The rule settings used.
    reference : str or None
        Description of the reference dataset when drift was checked.
    """

    n_rows: int
    n_columns: int
    findings: list[Finding]
    flags: pd.DataFrame
    ids: np.ndarray
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        self.findings = sorted(
            self.findings, key=lambda f: (SEVERITY_ORDER[f.severity], -f.count, f.rule)
        )

    @property
    def has_errors(self) -> bool:
        """Whether any finding has severity ``error``."""
        return any(f.severity == "error" for f in self.findings)

    def counts(self) -> dict[str, int]:
        """Number of findings per severity."""
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def flagged(self, prefix: str) -> np.ndarray:
        """Rows flagged by any rule whose flag name starts with ``prefix``.

        Examples
        --------
        ``report.flagged("location.")`` or ``report.flagged("validity.range:area_m2")``.
        """
        columns = [c for c in self.flags.columns if c.startswith(prefix)]
        if not columns:
            return np.zeros(self.n_rows, dtype=bool)
        return self.flags[columns].any(axis=1).to_numpy()

    def rows_with(self, severity: str = "error") -> np.ndarray:
        """Rows flagged by at least one finding of ``severity``."""
        names = set()
        for f in self.findings:
            if f.severity == severity:
                names.add(f.rule if f.column is None else f"{f.rule}:{f.column}")
        columns = [c for c in self.flags.columns if c in names]
        if not columns:
            return np.zeros(self.n_rows, dtype=bool)
        return self.flags[columns].any(axis=1).to_numpy()

    def summary(self) -> dict[str, Any]:
        """Headline numbers."""
        return {
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "findings": self.counts(),
            "rows_with_errors": int(self.rows_with("error").sum()),
            "rows_with_warnings": int(self.rows_with("warning").sum()),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: summary, findings and the small tables."""
        tables = {}
        for name in JSON_TABLES:
            table = self.tables.get(name)
            if table is None or table.empty:
                continue
            if name == "missingness":
                table = table.reset_index()
            tables[name] = to_jsonable(table.head(MAX_JSON_TABLE_ROWS))
        return {
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "source": self.source,
            "reference": self.reference,
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
            "tables": tables,
            "settings": self.settings,
        }

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``quality.json`` and the self-contained ``quality.html`` into ``out_dir``."""
        from estimo.quality.html import render_html

        paths = write_report(out_dir, "quality", self.to_dict(), render_html(self))
        log.info("wrote %s and %s", paths["json"], paths["html"])
        return paths
