"""`estimo index`: fit the per-city price index, print it and plot it (self-contained HTML)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from estimo.cli._common import console, day_option, esc, handle_errors, load, out_folder
from estimo.errors import ConfigError
from estimo.index import GLOBAL, PriceIndex

_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)  # fmt: skip


def index(
    data: Annotated[
        str, typer.Argument(help="estimo.yaml project file, or a CSV/Parquet file (canonical)")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", callback=out_folder, help="folder for the plot and table")
    ] = Path("runs/index"),
    until: Annotated[
        str | None,
        typer.Option(callback=day_option, help="fit on rows dated before this date (default: all)"),
    ] = None,
) -> None:
    """Fit the monthly price index per city, print it and plot it (index.html, index.csv)."""
    _index(data, out, until)


@handle_errors
def _index(data: str, out: Path, until: str | None) -> None:
    config, loaded = load(data)
    frame = loaded.frame
    if until is not None:
        kept = frame.loc[frame["date"] < pd.Timestamp(until)]
        if kept.empty:
            first, last = frame["date"].min(), frame["date"].max()
            raise ConfigError(
                f"--until {until} keeps no row: the data runs from {first:%Y-%m-%d} to "
                f"{last:%Y-%m-%d}"
            )
        frame = kept
    engine = config.engine
    fitted = PriceIndex(
        controls=engine.index_controls,
        smoothing=engine.index_smoothing,
        trend_months=engine.index_trend_months,
        damping=engine.index_damping,
        trend_check=engine.index_trend_check,
    ).fit(frame)
    table = fitted.table()
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "index.csv", index=False)
    (out / "index.html").write_text(index_html(table), encoding="utf-8")
    console.print(_rich_table(table))
    console.print(
        "index = 1.00 at the last month of the data; cities with too few rows use the "
        f"global index. Past the data it carries the last {engine.index_trend_months} months' "
        f"trend, damped by {engine.index_damping:g} a month" + _flat_note(fitted)
    )
    console.print(f"\nfiles: {out / 'index.html'}, {out / 'index.csv'}")


def _flat_note(fitted: PriceIndex) -> str:
    """Which indexes stay flat past the data (their trend forecast their own past worse
    than a flat level)."""
    flat = sorted(name for name, carried in fitted.carry_.items() if not carried)
    if not flat:
        return "."
    return (
        ", except in "
        + ", ".join(flat)
        + " (held flat: there the trend forecast the index's own past worse than no change)."
    )


def _rich_table(table: pd.DataFrame) -> Table:
    wide = table.pivot(index="month", columns="city", values="index")
    names = [GLOBAL, *sorted(c for c in wide.columns if c != GLOBAL)]
    out = Table(title="price index per city (1.00 = last month)")
    out.add_column("month")
    for name in names:
        out.add_column(esc(name), justify="right")
    for month, row in wide.iterrows():
        out.add_row(f"{month:%Y-%m}", *[f"{row[n]:.3f}" for n in names])
    return out


def index_html(table: pd.DataFrame, width: int = 760, height: int = 380) -> str:
    """A self-contained HTML page with an SVG line chart of the index per city.

    Examples
    --------
    >>> t = pd.DataFrame({"city": ["A", "A"], "month": pd.to_datetime(["2024-01-01",
    ...     "2024-02-01"]), "index": [0.98, 1.0]})
    >>> "<svg" in index_html(t) and "polyline" in index_html(t)
    True
    """
    months = sorted(table["month"].unique())
    lo, hi = float(table["index"].min()), float(table["index"].max())
    pad = max((hi - lo) * 0.05, 0.005)
    lo, hi = lo - pad, hi + pad
    left, right, top, bottom = 60, 170, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / max(len(months) - 1, 1))

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/>',
    ]
    for v in np.linspace(lo, hi, 5):
        parts.append(
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3f}</text>'
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#eee"/>'
        )
    step = max(1, len(months) // 8)
    for i, month in enumerate(months):
        if i % step == 0:
            label = pd.Timestamp(month).strftime("%Y-%m")
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{label}</text>'
            )
    position = {m: i for i, m in enumerate(months)}
    names = [GLOBAL, *sorted(c for c in table["city"].unique() if c != GLOBAL)]
    names = [n for n in names if n in set(table["city"])]
    for k, name in enumerate(names):
        group = table.loc[table["city"] == name].sort_values("month")
        colour = "#000" if name == GLOBAL else _COLOURS[k % len(_COLOURS)]
        points = " ".join(
            f"{x(position[m]):.1f},{y(v):.1f}"
            for m, v in zip(group["month"], group["index"], strict=True)
        )
        dash = ' stroke-dasharray="4 3"' if name == GLOBAL else ""
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"'
            f"{dash}><title>{html.escape(str(name))}</title></polyline>"
            f'<text x="{left + plot_w + 8}" y="{top + 12 + 13 * k}" fill="{colour}">'
            f"{html.escape(str(name))}</text>"
        )
    parts.append("</svg>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Estimo price index</title>"
        "</head><body><h1>Price index per city</h1><p>1.00 = the last month of the data; "
        "dashed: the global index.</p>" + "".join(parts) + "</body></html>"
    )
