"""Global explanations per city: which factors matter most and how price follows area, age
and floor, as one self-contained HTML report.

For every city :func:`global_report` measures

* **what matters most**: the mean size, in money, of each concept's effect on the
  valuations of the city's properties (compared with the city's typical home, the same
  reference as the owner's explanation), largest first, as a bar chart;
* **how price responds** (partial dependence) to the living area, the year of construction
  and the floor: a sample of the city's properties is valued again with that one feature set
  to each value of a grid (its 5th..95th percentiles in the city), everything else
  unchanged, all at the same valuation date; the curve is the typical (geometric mean)
  valuation at each value.

Plots are inline SVG (:mod:`estimo.explain.svg`): the file opens anywhere, offline.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(1_500, seed=4, faults=False).frame
>>> model = ValuationModel(n_estimators=30).fit(frame)
>>> report = global_report(model, frame, cities=["Milano"], sample=60)
>>> report.cities[0].importance[0][0] in {"location", "size", "age_condition", "layout",
...                                      "amenities", "floor", "other"}
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.explain.contributions import log_contributions
from estimo.explain.html import escape_text
from estimo.explain.labels import Labeler
from estimo.explain.reasons import SHOWN_CONCEPTS, concept_effects
from estimo.explain.reference import ReferenceTable, reference_sample

log = logging.getLogger(__name__)

__all__ = ["CityReport", "GlobalReport", "global_report", "partial_dependence"]

PD_FEATURES: tuple[str, ...] = ("area_m2", "year_built", "floor")


@dataclass
class CityReport:
    """Global explanation of one city."""

    city: str
    n: int
    typical_price: float
    importance: list[tuple[str, float]]
    curves: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "city": self.city,
            "n": self.n,
            "typical_price": round(self.typical_price),
            "importance": [{"concept": c, "mean_abs_amount": round(v)} for c, v in self.importance],
            "partial_dependence": {
                f: {"values": xs, "prices": [round(y) for y in ys]}
                for f, (xs, ys) in self.curves.items()
            },
        }


@dataclass
class GlobalReport:
    """Global explanations of every city, renderable as HTML."""

    cities: list[CityReport]
    currency: str
    language: str
    valuation_date: pd.Timestamp

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "currency": self.currency,
            "language": self.language,
            "valuation_date": self.valuation_date.date().isoformat(),
            "cities": [c.to_dict() for c in self.cities],
        }

    def to_html(self) -> str:
        """A complete HTML page with one section per city."""
        return _render(self)

    def write(self, folder: str | Path) -> Path:
        """Write ``global_report.html`` into ``folder`` and return its path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "global_report.html"
        path.write_text(self.to_html(), encoding="utf-8")
        return path


def _predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(frame), dtype=float)


def partial_dependence(
    model: Any, frame: pd.DataFrame, feature: str, grid: np.ndarray
) -> np.ndarray:
    """Typical (geometric-mean) valuation of ``frame`` with ``feature`` set to each grid value.

    Examples
    --------
    >>> class Toy:
    ...     def predict(self, f):
    ...         return 1000.0 * f["area_m2"].to_numpy()
    >>> frame = pd.DataFrame({"area_m2": [50.0, 80.0]})
    >>> partial_dependence(Toy(), frame, "area_m2", np.array([60.0, 120.0])).round().tolist()
    [60000.0, 120000.0]
    """
    repeated = pd.concat([frame] * len(grid), ignore_index=True)
    repeated[feature] = np.repeat(np.asarray(grid, dtype=float), len(frame))
    logs = np.log(_predict(model, repeated)).reshape(len(grid), len(frame))
    return np.exp(logs.mean(axis=1))


def _grid(values: pd.Series, feature: str, points: int = 12) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if feature == "year_built":
        numbers = numbers[numbers > 1000]
    if numbers.nunique() < 2:
        return np.array([])
    lo, hi = np.quantile(numbers, [0.05, 0.95])
    if feature in ("floor", "year_built") or hi - lo < points:
        step = max(1.0, np.ceil((hi - lo) / points))
        return np.arange(np.floor(lo), np.ceil(hi) + step / 2, step)
    return np.unique(np.round(np.linspace(lo, hi, points)))


def global_report(
    model: Any,
    frame: pd.DataFrame,
    labeler: Labeler | None = None,
    reference: ReferenceTable | None = None,
    currency: str = "EUR",
    cities: list[str] | None = None,
    sample: int = 300,
    seed: int = 0,
) -> GlobalReport:
    """Global explanations per city (see the module docstring).

    Parameters
    ----------
    model : object
        Anything with ``predict(frame)``, and ``log_contributions(frame)`` or a booster.
    frame : pandas.DataFrame
        Canonical rows of the cities to describe (typically the training rows).
    labeler : Labeler, optional
        Language and labels (English by default).
    reference : ReferenceTable, optional
        Reference groups; learned from ``frame`` when not given.
    currency : str
        Currency of the amounts.
    cities : list of str, optional
        Cities to cover (default: every city of ``frame``, most rows first).
    sample : int
        Properties per city used (a random sample when there are more).
    seed : int
        Seed of the sample.
    """
    labeler = labeler or Labeler("en")
    date = pd.Timestamp(frame["date"].max()) if "date" in frame else pd.Timestamp.today()
    counts = frame["city"].astype(str).value_counts()
    chosen = cities if cities is not None else list(counts.index)
    rng = np.random.default_rng(seed)
    if reference is None:
        rows = reference_sample(frame)
        reference = ReferenceTable().fit(rows, log_contributions(model, rows))
    reports = []
    for city in chosen:
        rows = frame.loc[frame["city"].astype(str) == city]
        if rows.empty:
            continue
        if len(rows) > sample:
            rows = rows.iloc[np.sort(rng.choice(len(rows), sample, replace=False))]
        rows = rows.assign(date=date)
        reports.append(_city_report(model, rows, city, labeler, reference))
        log.info("global report: %s done (%d properties)", city, len(rows))
    return GlobalReport(reports, currency, labeler.locale.code, date)


def _city_report(
    model: Any, rows: pd.DataFrame, city: str, labeler: Labeler, reference: ReferenceTable
) -> CityReport:
    contributions = log_contributions(model, rows)
    effects = concept_effects(contributions, labeler, reference.match(rows))
    total_log = contributions.sum(axis=1).to_numpy(float)
    base = np.exp(effects.baseline_log)
    price = np.exp(total_log)
    gap = total_log - effects.baseline_log
    rate = np.where(np.abs(gap) < 1e-12, price, (price - base) / np.where(gap == 0, 1.0, gap))
    money = np.abs(effects.by_concept * rate[:, None]).mean(axis=0)
    importance = sorted(
        ((c, float(m)) for c, m in zip(SHOWN_CONCEPTS, money, strict=True) if m > 0),
        key=lambda item: -item[1],
    )
    curves = {}
    for feature in PD_FEATURES:
        if feature not in rows:
            continue
        grid = _grid(rows[feature], feature)
        if len(grid) >= 2:
            curves[feature] = (
                grid.tolist(),
                partial_dependence(model, rows, feature, grid).tolist(),
            )
    typical = float(np.exp(np.mean(total_log)))
    return CityReport(city, len(rows), typical, importance, curves)


def _render(report: GlobalReport) -> str:
    from estimo.explain.svg import bar_chart, line_chart

    locale = Labeler(report.language).locale
    lab = Labeler(report.language)
    titles = _TITLES[report.language]
    money = lambda v: locale.money(v, report.currency)  # noqa: E731
    x_formats = {
        "area_m2": lambda v: f"{locale.number(v)} m²",
        "year_built": lambda v: str(int(v)),
        "floor": lambda v: locale.number(v),
    }
    body = [
        f"<h1>{escape_text(titles['title'])}</h1>",
        f"<p>{escape_text(titles['intro'].format(month=locale.month_year(report.valuation_date)))}</p>",
    ]
    for city in report.cities:
        body.append(f"<section><h2>{escape_text(city.city)}</h2>")
        body.append(
            "<p>"
            + escape_text(
                titles["typical"].format(n=locale.number(city.n), price=money(city.typical_price))
            )
            + "</p>"
        )
        body.append(f"<h3>{escape_text(titles['importance'])}</h3>")
        body.append(
            bar_chart(
                [lab.concept_label(c) for c, _ in city.importance],
                [v for _, v in city.importance],
                money,
            )
        )
        for feature, (xs, ys) in city.curves.items():
            label = lab.label(feature)
            body.append(f"<h3>{escape_text(titles['curve'].format(feature=label.lower()))}</h3>")
            body.append(line_chart(xs, ys, label, x_formats[feature], money))
        body.append("</section>")
    return (
        f'<!DOCTYPE html><html lang="{escape_text(report.language)}"><head><meta charset="utf-8">'
        f"<title>{escape_text(titles['title'])}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;"
        "color:#1d2733;line-height:1.45}section{border-top:1px solid #d5dbe3;margin-top:2em}"
        "</style></head><body>" + "\n".join(body) + "</body></html>"
    )


_TITLES = {
    "en": {
        "title": "What drives prices, city by city",
        "intro": "All valuations at {month} prices. Amounts compare each home with the typical "
        "home of its kind in its city.",
        "typical": "Based on {n} homes; typical valuation {price}.",
        "importance": "Which factors matter most (average effect on a valuation)",
        "curve": "How the price follows the {feature} (other features unchanged)",
    },
    "it": {
        "title": "Cosa determina i prezzi, città per città",
        "intro": "Tutte le valutazioni ai prezzi di {month}. Gli importi confrontano ogni "
        "abitazione con quella tipica del suo genere nella sua città.",
        "typical": "Basato su {n} abitazioni; valutazione tipica {price}.",
        "importance": "Quali fattori contano di più (effetto medio su una valutazione)",
        "curve": "Come varia il prezzo in base a: {feature} (altre caratteristiche invariate)",
    },
    "es": {
        "title": "Qué determina los precios, ciudad por ciudad",
        "intro": "Todas las valoraciones a precios de {month}. Los importes comparan cada "
        "vivienda con la vivienda típica de su tipo en su ciudad.",
        "typical": "Basado en {n} viviendas; valoración típica {price}.",
        "importance": "Qué factores pesan más (efecto medio en una valoración)",
        "curve": "Cómo varía el precio según: {feature} (resto de características igual)",
    },
}
