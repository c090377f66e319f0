"""Rich renderings of metrics shared by several commands."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def overall_table(metrics: dict[str, Any], title: str = "overall") -> Table:
    """Key accuracy numbers of one evaluation as a two-column table."""
    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("valued / unvalued", f"{metrics.get('n', 0):,} / {metrics.get('n_unvalued', 0):,}"),
        ("MdAPE (median error)", _pct(metrics.get("mdape"))),
        ("PE10 (within ±10 %)", _pct(metrics.get("pe10"))),
        ("PE20 (within ±20 %)", _pct(metrics.get("pe20"))),
        ("errors over 20 %", _pct(metrics.get("over20"))),
        ("median ratio (predicted / actual)", _num(metrics.get("median_ratio"))),
        ("COD", _pct(metrics.get("cod"))),
    ]
    if metrics.get("coverage") is not None:
        level = metrics.get("range_level")
        name = "range" if level is None else f"{100 * float(level):.0f} % range"
        rows.append((f"{name}: prices inside", _pct(metrics.get("coverage"))))
        rows.append((f"{name}: mean width", _pct(metrics.get("mean_relative_width"))))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _pct(value: Any) -> str:
    return "–" if value is None or value != value else f"{100 * float(value):.1f} %"


def _num(value: Any) -> str:
    return "–" if value is None or value != value else f"{float(value):.3f}"
