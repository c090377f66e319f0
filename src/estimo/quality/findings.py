"""Findings of the audit and the per-row flags the cleaning policy acts on.

A rule adds :class:`Finding` objects (one per problem kind and column, with counts, shares
and examples) and boolean row flags to an :class:`AuditContext`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from estimo.config import QualityConfig
>>> ctx = AuditContext(pd.DataFrame({"id": ["a", "b"], "area_m2": [50.0, -1.0]}),
...                    QualityConfig())
>>> f = ctx.flag("validity.range", np.array([False, True]), column="area_m2",
...              severity="error", message="areas must be >= 8", values=ctx.frame["area_m2"])
>>> f.count, f.example_ids, f.example_values
(1, ['b'], [-1.0])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from estimo.config import QualityConfig

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass
class Finding:
    """One kind of problem found by one rule.

    Attributes
    ----------
    rule : str
        Dotted rule name, e.g. ``"location.swapped_coordinates"``.
    column : str or None
        Column concerned (None for whole-row rules).
    severity : {"error", "warning", "info"}
        ``error``: wrong values the cleaning policy repairs or drops; ``warning``: suspicious;
        ``info``: descriptive.
    count : int
        Rows affected.
    share : float
        ``count`` divided by the number of rows.
    message : str
        One line saying what is wrong and what was expected.
    example_ids : list of str
        Up to ``max_examples`` ids of affected rows.
    example_values : list
        The offending values of those rows, when there is one value per row.
    action : str
        What ``estimo clean`` does about it.
    """

    rule: str
    column: str | None
    severity: Severity
    count: int
    share: float
    message: str
    example_ids: list[str] = field(default_factory=list)
    example_values: list[Any] = field(default_factory=list)
    action: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


class AuditContext:
    """What the rules share: the prepared frame, the settings, findings, flags and tables.

    Parameters
    ----------
    frame : pandas.DataFrame
        Prepared frame (see :func:`estimo.quality._frame.prepare_frame`).
    config : QualityConfig
        Rule settings.
    """

    def __init__(self, frame: pd.DataFrame, config: QualityConfig) -> None:
        self.frame = frame
        self.config = config
        self.n = len(frame)
        self.findings: list[Finding] = []
        self.flags: dict[str, np.ndarray] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.notes: list[str] = []

    @cached_property
    def ids(self) -> np.ndarray:
        """Every row's id as text (row positions without an ``id`` column); read on first
        use: a rule that flags no row names none (the usual case when valuing)."""
        frame = self.frame
        return frame["id"].astype(str).to_numpy() if "id" in frame else np.arange(self.n)

    def flag(
        self,
        rule: str,
        mask: np.ndarray | pd.Series,
        *,
        column: str | None,
        severity: Severity,
        message: str,
        values: pd.Series | np.ndarray | None = None,
        action: str = "",
        flag_name: str | None = None,
    ) -> Finding | None:
        """Record a row flag and, when any row is flagged, a finding with examples.

        Returns the finding, or None when no row is flagged.
        """
        mask = np.asarray(mask, dtype=bool)
        name = flag_name or (rule if column is None else f"{rule}:{column}")
        self.flags[name] = mask | self.flags.get(name, np.zeros(self.n, dtype=bool))
        count = int(mask.sum())
        if count == 0:
            return None
        where = np.flatnonzero(mask)[: self.config.max_examples]
        examples = []
        if values is not None:
            examples = [_plain(v) for v in np.asarray(values, dtype=object)[where]]
        finding = Finding(
            rule=rule,
            column=column,
            severity=severity,
            count=count,
            share=count / self.n if self.n else 0.0,
            message=message,
            example_ids=[str(i) for i in self.ids[where]],
            example_values=examples,
            action=action,
        )
        self.findings.append(finding)
        return finding

    def note(
        self, rule: str, *, column: str | None, severity: Severity, message: str, count: int = 0
    ) -> Finding:
        """Record a finding about the table rather than about rows (e.g. an all-null column)."""
        finding = Finding(rule, column, severity, count, count / self.n if self.n else 0.0, message)
        self.findings.append(finding)
        return finding

    def mask(self, name: str) -> np.ndarray:
        """A recorded row flag (all False when the rule flagged nothing)."""
        return self.flags.get(name, np.zeros(self.n, dtype=bool))

    def any_flag(self, prefix: str) -> np.ndarray:
        """Rows flagged by any rule whose flag name starts with ``prefix``."""
        out = np.zeros(self.n, dtype=bool)
        for name, mask in self.flags.items():
            if name.startswith(prefix):
                out |= mask
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NaT:
        return None
    return value if isinstance(value, str | int | bool) else str(value)
