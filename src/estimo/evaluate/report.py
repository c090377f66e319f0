"""The evaluation report: where the model can be trusted and where it cannot.

:func:`build_evaluation_report` takes scored rows (one per property: ``id``, ``city``,
``date``, ``price``, ``predicted``, optionally the range ``low``/``high``, plus the
canonical columns segments are derived from) and computes

* overall metrics and the IAAO ratio study with pass/fail,
* the same per segment: city, location (neighbourhood, else a grid cell from lat/lon),
  property type, price quintile, size band, age band (``EvaluationConfig.segments``), each
  with the IAAO pass flags and, with a range, its coverage,
* the distribution of errors (histogram and quantiles per city),
* a "where not to trust the model" list: segments of at least ``min_group_size`` rows whose
  PE10 is below ``min_pe10`` or whose coverage is more than ``max_coverage_shortfall``
  below the nominal ``interval_level``,
* the reference model's metrics on the same rows, when given.

:meth:`EvaluationReport.write` saves ``report.json`` and one self-contained
``report.html`` (inline SVG charts, including a map of errors by location; no network).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> rows = pd.DataFrame({"id": range(200), "city": ["a", "b"] * 100,
...     "date": pd.Timestamp("2024-01-01"), "price": rng.uniform(1e5, 5e5, 200)})
>>> rows["predicted"] = rows["price"] * rng.lognormal(0, 0.1, 200)
>>> report = build_evaluation_report(rows)
>>> sorted(report.segments)
['city', 'price_quintile']
>>> 0 < report.overall["pe10"] < 1
True
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from estimo.config import EvaluationConfig
from estimo.errors import DataError
from estimo.evaluate.metrics import check_prices, compute_metrics, iaao_ratio_study
from estimo.evaluate.protocol import PRICE_TARGET
from estimo.evaluate.segments import ALL_LABEL, MISSING_LABEL, metrics_by_segment
from estimo.jsonutil import to_jsonable, write_report

log = logging.getLogger(__name__)

__all__ = [
    "DERIVED_SEGMENTS",
    "EvaluationReport",
    "add_segment_columns",
    "build_evaluation_report",
    "evaluation_report",
    "reference_predictions",
]

#: Segment names computed from canonical columns (others are used as columns directly).
DERIVED_SEGMENTS: dict[str, tuple[str, ...]] = {
    "location": ("neighbourhood", "lat", "lon"),
    "price_quintile": ("price",),
    "size_band": ("area_m2",),
    "age_band": ("year_built", "date"),
}
_SEGMENT_SOURCE_COLUMNS = ("neighbourhood", "lat", "lon", "property_type", "area_m2", "year_built")
_KM_PER_DEGREE = 111.2
ERROR_BINS: tuple[float, ...] = tuple(np.round(np.arange(-0.5, 0.5001, 0.05), 2))


@dataclass
class EvaluationReport:
    """Everything the report shows; :meth:`to_dict` is ``report.json``.

    Attributes
    ----------
    overall : dict
        :func:`~estimo.evaluate.metrics.compute_metrics` of all rows (+ ``n_unvalued``).
    ratio_study : dict
        :func:`~estimo.evaluate.metrics.iaao_ratio_study` of all rows.
    segments : dict of str to DataFrame
        :func:`~estimo.evaluate.segments.metrics_by_segment` per segment, in display order,
        with ``reference_pe10`` / ``reference_mdape`` when a reference model was given.
    untrusted : DataFrame
        Segments not to trust: ``segment``, ``group``, ``n``, ``pe10``, ``mdape``,
        ``coverage``, ``iaao_passed``, ``reasons``; worst PE10 first.
    errors : dict
        Histogram (``bins``, ``counts``) of ``predicted / price - 1`` and its quantiles,
        overall and per city.
    reference : dict or None
        The reference model's overall metrics and per-city table on the same rows.
    rows : DataFrame
        The scored rows with their segment columns (for the charts; not in the JSON).
    settings : EvaluationConfig
    title : str
    """

    overall: dict[str, Any]
    ratio_study: dict[str, Any]
    segments: dict[str, pd.DataFrame]
    untrusted: pd.DataFrame
    errors: dict[str, Any]
    reference: dict[str, Any] | None
    rows: pd.DataFrame
    settings: EvaluationConfig
    title: str = "Estimo evaluation report"
    notes: list[str] = field(default_factory=list)

    @property
    def has_intervals(self) -> bool:
        """Whether the rows carry a price range (``low``, ``high``)."""
        return "coverage" in self.overall

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return to_jsonable(
            {
                "title": self.title,
                "n": self.overall.get("n"),
                "settings": self.settings.model_dump(),
                "overall": self.overall,
                "ratio_study": self.ratio_study,
                "segments": {k: v for k, v in self.segments.items()},
                "untrusted": self.untrusted,
                "errors": self.errors,
                "reference": self.reference,
                "notes": self.notes,
            }
        )

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``report.json`` and the self-contained ``report.html``; return their paths."""
        from estimo.evaluate.html import render_report

        paths = write_report(out_dir, "report", self.to_dict(), render_report(self))
        log.info("wrote %s and %s", paths["json"], paths["html"])
        return paths


# --------------------------------------------------------------------------- segments


def add_segment_columns(
    rows: pd.DataFrame,
    frame: pd.DataFrame | None = None,
    *,
    settings: EvaluationConfig | None = None,
) -> pd.DataFrame:
    """Add the derived segment columns (``location``, ``price_quintile``, ...) to ``rows``.

    Parameters
    ----------
    rows : pandas.DataFrame
        Scored rows with ``price`` (and ``city``, ``date``).
    frame : pandas.DataFrame, optional
        A canonical frame to take missing source columns (``neighbourhood``, ``lat``,
        ``lon``, ``property_type``, ``area_m2``, ``year_built``) from, joined on
        ``id`` and ``date``.
    settings : EvaluationConfig, optional
        Grid cell size and band edges.

    Returns
    -------
    pandas.DataFrame
        A copy of ``rows`` with the derived columns whose sources are present.

    Examples
    --------
    >>> rows = pd.DataFrame({"price": [1e5, 2e5], "area_m2": [45.0, 130.0]})
    >>> add_segment_columns(rows)["size_band"].tolist()
    ['< 50 m²', '120-200 m²']
    """
    cfg = settings or EvaluationConfig()
    out = rows.copy()
    if frame is not None:
        out = _join_sources(out, frame)
    if "neighbourhood" in out and out["neighbourhood"].notna().mean() >= 0.5:
        out["location"] = _neighbourhood_labels(out)
    elif {"lat", "lon"} <= set(out) and out["lat"].notna().any():
        out["location"] = _grid_cells(out, cfg.cell_km)
    if "price" in out and len(out):
        out["price_quintile"] = _price_quintiles(out["price"])
    if "area_m2" in out:
        out["size_band"] = _bands(out["area_m2"], cfg.size_bands, "m²")
    if "year_built" in out and "date" in out:
        built = pd.to_numeric(out["year_built"], errors="coerce")
        age = pd.to_datetime(out["date"]).dt.year - built.where(built > 1000)
        out["age_band"] = _bands(age.clip(lower=0), cfg.age_bands, "years")
    return out


def _join_sources(
    rows: pd.DataFrame, frame: pd.DataFrame, columns: tuple[str, ...] = _SEGMENT_SOURCE_COLUMNS
) -> pd.DataFrame:
    wanted = [c for c in columns if c in frame and c not in rows]
    if not wanted or "id" not in rows or "id" not in frame:
        return rows
    keys = ["id", "date"] if "date" in rows and "date" in frame else ["id"]
    source = frame[keys + wanted].drop_duplicates(keys, keep="first")
    joined = rows.merge(source, on=keys, how="left", validate="many_to_one")
    joined.index = rows.index
    return joined


def _neighbourhood_labels(rows: pd.DataFrame) -> pd.Series:
    nb = rows["neighbourhood"].astype(object)
    if "city" not in rows:
        return nb
    city = [str(c) for c in rows["city"]]
    text = [str(t) for t in nb]
    label = [t if c in t else f"{c} / {t}" for c, t in zip(city, text, strict=True)]
    return pd.Series(label, index=rows.index, dtype=object).where(nb.notna())


def _grid_cells(rows: pd.DataFrame, cell_km: float) -> pd.Series:
    lat = pd.to_numeric(rows["lat"], errors="coerce")
    lon = pd.to_numeric(rows["lon"], errors="coerce")
    step_lat = cell_km / _KM_PER_DEGREE
    step_lon = step_lat / np.cos(np.radians(lat.clip(-80, 80).fillna(0)))
    i = np.floor(lat / step_lat)
    j = np.floor(lon / step_lon)
    centre_lat = (i + 0.5) * step_lat
    centre_lon = (j + 0.5) * step_lon
    city = rows["city"].astype(str) + " " if "city" in rows else ""
    label = (
        city + "cell " + centre_lat.round(3).astype(str) + ", " + centre_lon.round(3).astype(str)
    )
    return label.where(lat.notna() & lon.notna()).astype(object)


def _compact(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2g}M" if value < 1e7 else f"{value / 1e6:.0f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"


def _price_quintiles(price: pd.Series) -> pd.Series:
    values = pd.to_numeric(price, errors="coerce")
    edges = np.unique(np.quantile(values.dropna(), np.linspace(0, 1, 6)))
    if edges.size < 2:
        return pd.Series("Q1", index=price.index, dtype=object)
    codes = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, edges.size - 2)
    labels = [
        f"Q{k + 1} ({_compact(edges[k])}-{_compact(edges[k + 1])})" for k in range(edges.size - 1)
    ]
    return pd.Series(np.array(labels, dtype=object)[codes], index=price.index).where(values.notna())


def _bands(values: pd.Series, edges: list[float], unit: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    cuts = sorted(float(e) for e in edges)
    labels = [f"< {cuts[0]:g} {unit}"]
    labels += [f"{lo:g}-{hi:g} {unit}" for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    labels += [f"≥ {cuts[-1]:g} {unit}"]
    codes = np.searchsorted(np.array(cuts), numbers.to_numpy(float), side="right")
    out = pd.Series(np.array(labels, dtype=object)[np.minimum(codes, len(labels) - 1)])
    out.index = values.index
    return out.where(numbers.notna())


def _display_order(rows: pd.DataFrame, column: str, cfg: EvaluationConfig) -> list[str] | None:
    """Natural order of a derived segment's labels (bands by value, not alphabetically)."""
    if column == "size_band":
        return _bands(pd.Series([-1.0, *cfg.size_bands]), cfg.size_bands, "m²").tolist()
    if column == "age_band":
        return _bands(pd.Series([-1.0, *cfg.age_bands]), cfg.age_bands, "years").tolist()
    if column == "price_quintile":
        return sorted(rows[column].dropna().unique(), key=lambda s: int(s[1 : s.index(" ")]))
    return None


# --------------------------------------------------------------------------- the report


def build_evaluation_report(
    predictions: pd.DataFrame,
    *,
    settings: EvaluationConfig | None = None,
    reference: npt.ArrayLike | None = None,
    frame: pd.DataFrame | None = None,
    n_unvalued: int = 0,
    title: str = "Estimo evaluation report",
) -> EvaluationReport:
    """Overall and per-segment accuracy, ratio study, coverage and the untrusted segments.

    Parameters
    ----------
    predictions : pandas.DataFrame
        One row per scored property: ``price`` and ``predicted`` (both > 0), usually ``id``,
        ``city``, ``date``; with ``price_target`` (the protocol's target, see
        :mod:`estimo.evaluate.protocol`) the rows are scored against it, not ``price``;
        optionally ``low``/``high`` (the price range) and the canonical
        columns segments are derived from (see :func:`add_segment_columns`).
    settings : EvaluationConfig, optional
        Segments, thresholds, minimum group size (defaults of the ``evaluation:`` section).
    reference : array-like, optional
        The reference model's valuations of the same rows, in the same order (see
        :func:`reference_predictions`).
    frame : pandas.DataFrame, optional
        Canonical frame to take missing segment source columns from (joined on id, date).
    n_unvalued : int
        Rows that could not be valued (reported beside the metrics).
    title : str
        Report title.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    DataError
        If ``price`` or ``predicted`` is missing, not positive, or the rows are empty.
    """
    cfg = settings or EvaluationConfig()
    rows, notes = _scored_against_target(_check_predictions(predictions))
    rows = add_segment_columns(rows, frame, settings=cfg)
    ref = _check_reference(reference, len(rows))
    intervals = {"low": "low", "high": "high"} if {"low", "high"} <= set(rows) else {}
    overall = compute_metrics(
        rows["price"].to_numpy(float),
        rows["predicted"].to_numpy(float),
        **{k: rows[v].to_numpy(float) for k, v in intervals.items()},
    )
    overall["n_unvalued"] = int(n_unvalued)
    study = iaao_ratio_study(rows["price"].to_numpy(float), rows["predicted"].to_numpy(float))
    segments: dict[str, pd.DataFrame] = {}
    for name in cfg.segments:
        if name not in rows or rows[name].isna().all():
            notes.append(f"segment {name!r} skipped: its source columns are missing")
            continue
        segments[name] = _segment_table(rows, name, cfg, intervals, ref)
    reference_summary = None
    if ref is not None:
        rows["reference"] = ref
        reference_summary = _reference_summary(rows, cfg)
    untrusted = find_untrusted_segments(segments, cfg, has_intervals=bool(intervals))
    errors = error_distribution(rows)
    log.info("evaluation report: %d rows, %d untrusted segments", len(rows), len(untrusted))
    return EvaluationReport(
        overall=overall,
        ratio_study=study,
        segments=segments,
        untrusted=untrusted,
        errors=errors,
        reference=reference_summary,
        rows=rows,
        settings=cfg,
        title=title,
        notes=notes,
    )


def _check_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("price", "predicted") if c not in predictions]
    if missing:
        raise DataError(
            [f"column {missing[0]!r} is missing; got columns {list(predictions.columns)!r}"],
            header="cannot build the evaluation report",
        )
    if len(predictions) == 0:
        raise DataError(["there are no scored rows"], header="cannot build the evaluation report")
    try:
        check_prices(predictions["price"], "column 'price'")
        check_prices(predictions["predicted"], "column 'predicted'")
    except ValueError as exc:
        raise DataError([str(exc)], header="cannot build the evaluation report") from None
    return predictions.reset_index(drop=True)


def _scored_against_target(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Score against ``price_target`` when the predictions carry it (the protocol's target,
    :mod:`estimo.evaluate.protocol`): it becomes ``price``; the observed price is kept as
    ``price_observed``."""
    if PRICE_TARGET not in rows:
        return rows, []
    target = pd.to_numeric(rows[PRICE_TARGET], errors="coerce")
    try:
        check_prices(target, f"column {PRICE_TARGET!r}")
    except ValueError as exc:
        raise DataError([str(exc)], header="cannot build the evaluation report") from None
    rows = rows.assign(price_observed=rows["price"], price=target.to_numpy(float))
    changed = int((rows["price"] != rows["price_observed"]).sum())
    note = (
        f"scored against {PRICE_TARGET!r}, the price the model was trained to value at "
        f"({changed} of {len(rows)} rows differ from the observed price)"
    )
    return rows, [note]


def _check_reference(reference: npt.ArrayLike | None, n: int) -> np.ndarray | None:
    if reference is None:
        return None
    try:
        ref = check_prices(reference, "reference")
    except ValueError as exc:
        raise DataError([str(exc)], header="bad reference predictions") from None
    if ref.size != n:
        raise DataError(
            [f"reference has {ref.size} values; expected one per scored row ({n})"],
            header="bad reference predictions",
        )
    return ref


def _segment_table(
    rows: pd.DataFrame,
    name: str,
    cfg: EvaluationConfig,
    intervals: dict[str, str],
    ref: np.ndarray | None,
) -> pd.DataFrame:
    table = metrics_by_segment(rows, name, min_group_size=cfg.min_group_size, **intervals)
    if ref is not None:
        ref_table = metrics_by_segment(
            rows.assign(predicted=ref), name, min_group_size=cfg.min_group_size
        )
        table["reference_pe10"] = ref_table["pe10"].to_numpy()
        table["reference_mdape"] = ref_table["mdape"].to_numpy()
    order = _display_order(rows, name, cfg)
    if order is not None:
        rank = {label: i for i, label in enumerate([*order, MISSING_LABEL, ALL_LABEL])}
        keys = table[name].map(lambda v: rank.get(v, len(rank)))
        table = table.iloc[np.argsort(keys.to_numpy(), kind="stable")].reset_index(drop=True)
        table.attrs["segment_by"] = [name]
    return table


def _reference_summary(rows: pd.DataFrame, cfg: EvaluationConfig) -> dict[str, Any]:
    actual = rows["price"].to_numpy(float)
    metrics = compute_metrics(actual, rows["reference"].to_numpy(float))
    by_city = (
        metrics_by_segment(
            rows.assign(predicted=rows["reference"]), "city", min_group_size=cfg.min_group_size
        )
        if "city" in rows
        else pd.DataFrame()
    )
    return {"name": "hedonic reference", "overall": metrics, "by_city": by_city}


def find_untrusted_segments(
    segments: dict[str, pd.DataFrame], settings: EvaluationConfig, *, has_intervals: bool
) -> pd.DataFrame:
    """Segments (with enough rows) whose PE10 or range coverage is below the thresholds.

    Examples
    --------
    >>> table = pd.DataFrame({"city": ["a", "b", "(all)"], "n": [50, 40, 90],
    ...     "too_small": [False] * 3, "pe10": [0.3, 0.7, 0.5], "mdape": [0.2, 0.05, 0.1]})
    >>> find_untrusted_segments({"city": table}, EvaluationConfig(), has_intervals=False)[
    ...     ["segment", "group", "n"]].to_dict("records")
    [{'segment': 'city', 'group': 'a', 'n': 50}]
    """
    floor = settings.interval_level - settings.max_coverage_shortfall
    records: list[dict[str, Any]] = []
    for name, table in segments.items():
        for _, row in table.iterrows():
            if bool(row["too_small"]) or row[name] == ALL_LABEL:
                continue
            reasons = []
            if row["pe10"] < settings.min_pe10:
                reasons.append(f"PE10 {100 * row['pe10']:.1f}% < {100 * settings.min_pe10:.0f}%")
            coverage = row.get("coverage", math.nan) if has_intervals else math.nan
            if has_intervals and coverage < floor:
                reasons.append(
                    f"range coverage {100 * coverage:.1f}% < {100 * floor:.0f}% "
                    f"(nominal {100 * settings.interval_level:.0f}%)"
                )
            if reasons:
                flags = [row.get(f"{s}_passed") for s in ("median_ratio", "cod", "prd", "prb")]
                records.append(
                    {
                        "segment": name,
                        "group": str(row[name]),
                        "n": int(row["n"]),
                        "pe10": float(row["pe10"]),
                        "mdape": float(row["mdape"]),
                        "coverage": float(coverage),
                        "iaao_passed": all(bool(f) for f in flags if f is not pd.NA),
                        "reasons": "; ".join(reasons),
                    }
                )
    columns = ["segment", "group", "n", "pe10", "mdape", "coverage", "iaao_passed", "reasons"]
    out = pd.DataFrame(records, columns=columns)
    return out.sort_values(["pe10", "n"], ascending=[True, False], kind="stable").reset_index(
        drop=True
    )


def error_distribution(rows: pd.DataFrame) -> dict[str, Any]:
    """Histogram and quantiles of the signed error ``predicted / price - 1``.

    Examples
    --------
    >>> rows = pd.DataFrame({"price": [100.0, 100.0], "predicted": [90.0, 120.0]})
    >>> error_distribution(rows)["quantiles"]["p50"]
    0.05
    """
    error = rows["predicted"].to_numpy(float) / rows["price"].to_numpy(float) - 1.0
    edges = np.asarray(ERROR_BINS)
    counts, _ = np.histogram(np.clip(error, edges[0], edges[-1]), bins=edges)
    out: dict[str, Any] = {
        "bins": edges.tolist(),
        "counts": counts.tolist(),
        "quantiles": _quantiles(error),
    }
    if "city" in rows:
        out["by_city"] = {
            str(city): _quantiles(error[idx])
            for city, idx in rows.groupby("city", sort=True).indices.items()
        }
    return out


def _quantiles(error: np.ndarray) -> dict[str, float]:
    probs = {"p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}
    values = np.quantile(error, list(probs.values()))
    return {k: round(float(v), 6) for k, v in zip(probs, values, strict=True)}


def reference_predictions(train: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Fit the hedonic reference model on ``train`` and value ``rows``.

    Examples
    --------
    >>> from estimo.synth import generate_market
    >>> frame = generate_market(1_000, seed=2, faults=False).frame
    >>> reference_predictions(frame, frame.head(2)).shape
    (2,)
    """
    from estimo.evaluate.reference import HedonicReference

    return HedonicReference().fit(train).predict(rows)


def evaluation_report(
    predictions: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    train: pd.DataFrame | None = None,
    settings: EvaluationConfig | None = None,
    n_unvalued: int = 0,
    title: str = "Estimo evaluation report",
) -> EvaluationReport:
    """The report of scored rows, with segments from ``frame`` and the reference model.

    The one call for commands that have just valued test rows (``estimo evaluate``,
    ``estimo backtest``): segment columns and the reference model's inputs are joined from
    the canonical ``frame`` on ``id`` and ``date``; the hedonic reference is fitted on
    ``train`` (skipped when ``train`` is None) and values the same rows.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``id``, ``city``, ``date``, ``price``, ``predicted`` (+ ``low``/``high``).
    frame : pandas.DataFrame
        Canonical rows the predictions were made for (e.g. the test split).
    train : pandas.DataFrame, optional
        The rows the model was trained on, to fit the reference model.
    settings : EvaluationConfig, optional
    n_unvalued : int
        Test rows that could not be valued.
    title : str

    Examples
    --------
    >>> from estimo.synth import generate_market
    >>> from estimo.model.valuation import ValuationModel
    >>> data = generate_market(2_000, seed=4, faults=False).frame
    >>> train, test = data[data.date < "2023-07-01"], data[data.date >= "2023-07-01"]
    >>> model = ValuationModel(n_estimators=30, n_jobs=1).fit(train)
    >>> scored = test[["id", "city", "date", "price"]].assign(predicted=model.predict(test))
    >>> report = evaluation_report(scored, test, train=train)
    >>> report.reference["overall"]["n"] == report.overall["n"]
    True
    """
    from estimo.evaluate.reference import REFERENCE_FEATURES

    columns = tuple(dict.fromkeys([*_SEGMENT_SOURCE_COLUMNS, *REFERENCE_FEATURES]))
    rows = _join_sources(_check_predictions(predictions), frame, columns)
    reference = reference_predictions(train, rows) if train is not None else None
    return build_evaluation_report(
        rows, settings=settings, reference=reference, n_unvalued=n_unvalued, title=title
    )
