"""Run every audit rule over a canonical frame and collect a :class:`QualityReport`.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(1_000, seed=4)
>>> report = audit(market.frame)
>>> swapped = report.flagged("location.swapped")
>>> bool(market.truth.loc[swapped, "fault_swapped_coords"].all())
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from estimo.config import QualityConfig
from estimo.quality._frame import log_positive, prepare_frame
from estimo.quality.findings import AuditContext
from estimo.quality.report import QualityReport
from estimo.quality.rules import (
    completeness,
    consistency,
    drift,
    duplicates,
    labels,
    location,
    text,
    validity,
)

log = logging.getLogger(__name__)

STEPS = (
    "completeness",
    "validity",
    "location",
    "duplicates",
    "consistency",
    "labels",
    "text",
    "drift",
)
MAX_MAP_POINTS = 4_000
MAX_PLOT_CITIES = 12
Progress = Callable[[str], None]


def audit(
    frame: pd.DataFrame,
    config: QualityConfig | None = None,
    *,
    reference: pd.DataFrame | None = None,
    progress: Progress | None = None,
    source: str | None = None,
) -> QualityReport:
    """Audit a canonical frame: completeness, validity, location, duplicates, consistency,
    labels and (with ``reference``) drift.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame (see :func:`estimo.io.load_dataset`); partial frames work, absent
        canonical columns are reported, text in numeric columns is counted and ignored.
    config : QualityConfig, optional
        Rule settings (the project file's ``quality:`` section); defaults apply otherwise.
    reference : pandas.DataFrame, optional
        An older dataset (e.g. the last training set) to compare with.
    progress : callable, optional
        Called with each step's name before it runs (e.g. to drive a progress bar).
    source : str, optional
        Where the data came from, for the report.

    Returns
    -------
    QualityReport
        An empty table gives a report with no rows and one warning, not an error.
    """
    config = config or QualityConfig()
    # garbage numbers (1e300 longitudes) must give findings, not floating-point warnings
    with np.errstate(all="ignore"):
        return _audit(frame, config, reference, progress, source)


def _audit(
    frame: pd.DataFrame,
    config: QualityConfig,
    reference: pd.DataFrame | None,
    progress: Progress | None,
    source: str | None,
) -> QualityReport:
    prepared = prepare_frame(frame)
    data = prepared.frame
    ctx = AuditContext(data, config)
    present = [str(c) for c in frame.columns]
    if len(data) == 0:
        ctx.note(
            "completeness.empty", column=None, severity="warning", message="the table is empty"
        )
        return _report(ctx, frame, reference, source)

    def step(name: str) -> None:
        log.info("audit: %s", name)
        if progress is not None:
            progress(name)

    step("completeness")
    completeness.check(ctx, present)
    step("validity")
    validity.check(ctx, prepared)
    step("location")
    location.check(ctx)
    step("duplicates")
    duplicates.check(ctx, stacked=ctx.mask("location.stacked"))
    step("consistency")
    exclude = (
        ctx.any_flag("validity.range:price")
        | ctx.any_flag("validity.area_per_room")
        | ctx.any_flag("validity.range:area_m2")
        | ctx.mask("duplicates.exact")
    )
    consistency.check(ctx, exclude)
    step("labels")
    labels.check(ctx)
    step("text")
    text.check(ctx)
    if reference is not None:
        step("drift")
        drift.check(ctx, prepare_frame(reference).frame)
    _plot_tables(ctx)
    return _report(ctx, frame, reference, source)


def _report(
    ctx: AuditContext, frame: pd.DataFrame, reference: pd.DataFrame | None, source: str | None
) -> QualityReport:
    flags = (
        pd.DataFrame(ctx.flags, index=range(ctx.n))
        if ctx.flags
        else pd.DataFrame(index=range(ctx.n))
    )
    return QualityReport(
        n_rows=ctx.n,
        n_columns=frame.shape[1],
        findings=ctx.findings,
        flags=flags.astype(bool),
        ids=ctx.ids,
        tables=ctx.tables,
        settings=ctx.config.model_dump(),
        reference=None if reference is None else f"{len(reference)} rows",
        source=source,
    )


def _plot_tables(ctx: AuditContext) -> None:
    """Small tables the HTML report plots: price per m2 by city and a map sample."""
    frame = ctx.frame
    ppm2 = np.exp(log_positive(frame["price"]) - log_positive(frame["area_m2"]))
    data = pd.DataFrame({"city": frame["city"], "ppm2": ppm2}).dropna()
    if len(data):
        grouped = data.groupby("city")["ppm2"]
        quantiles = grouped.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        quantiles.columns = ["p05", "p25", "p50", "p75", "p95"]
        quantiles["n"] = grouped.size()
        quantiles = quantiles.sort_values("n", ascending=False).head(MAX_PLOT_CITIES)
        ctx.tables["price_m2_by_city"] = quantiles.reset_index()
    kind = np.full(ctx.n, "", dtype=object)
    for name in location.KINDS:
        kind[ctx.mask(f"location.{name}") & (kind == "")] = name
    points = pd.DataFrame(
        {"city": frame["city"], "lat": frame["lat"], "lon": frame["lon"], "flag": kind}
    )
    points = points[np.isfinite(points["lat"]) & np.isfinite(points["lon"])]
    flagged = points[points["flag"] != ""]
    clean = points[points["flag"] == ""]
    room = max(MAX_MAP_POINTS - min(len(flagged), MAX_MAP_POINTS // 2), 0)
    sample = pd.concat(
        [
            flagged.head(MAX_MAP_POINTS // 2),
            clean.sample(min(room, len(clean)), random_state=0) if len(clean) else clean,
        ]
    )
    ctx.tables["map_points"] = sample.reset_index(drop=True)
