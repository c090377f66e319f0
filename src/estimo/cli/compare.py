"""`estimo compare A B` and `estimo report PREDICTIONS`; printers for rolling backtests.

``print_rolling`` / ``print_comparison`` / ``print_report_summary`` are also used by other
commands (``estimo backtest --rolling``, ``estimo evaluate``, ``estimo promote``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from estimo.cli._common import (
    console,
    day_option,
    err_console,
    esc,
    handle_errors,
    load,
    out_folder,
)
from estimo.errors import ConfigError, DataError, EstimoError
from estimo.evaluate.compare_text import label
from estimo.evaluate.segments import ALL_LABEL, format_metrics_table

if TYPE_CHECKING:  # the commands import what they run (a light `estimo report`)
    from estimo.evaluate.compare import Comparison
    from estimo.evaluate.report import EvaluationReport
    from estimo.evaluate.rolling import RollingResult

DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="estimo.yaml project file, or a CSV/Parquet file with canonical columns",
    ),
]
OutOpt = Annotated[
    Path, typer.Option("--out", "-o", callback=out_folder, help="folder for the run's files")
]


# --------------------------------------------------------------------------- estimo compare


def compare(
    model_a: Annotated[Path, typer.Argument(help="folder of model A (the incumbent)")],
    model_b: Annotated[Path, typer.Argument(help="folder of model B (the challenger)")],
    data: DataOpt,
    out: OutOpt = Path("runs/compare"),
    since: Annotated[
        str | None,
        typer.Option(
            callback=day_option,
            help="score rows dated on/after this date (default: after both windows)",
        ),
    ] = None,
    valuation_date: Annotated[
        str | None,
        typer.Option(
            callback=day_option,
            help="bring prices and valuations to this date with the price index",
        ),
    ] = None,
    n_boot: Annotated[int, typer.Option(help="paired bootstrap resamples", min=50)] = 1000,
    seed: Annotated[int, typer.Option(help="seed of the bootstrap")] = 0,
    ablation: Annotated[
        bool,
        typer.Option(
            "--ablation/--no-ablation",
            help="retrain both models on their shared features (slow: two trainings)",
        ),
    ] = False,
) -> None:
    """Compare two trained models fairly: same rows, paired bootstrap CIs, a verdict."""
    _compare(model_a, model_b, data, out, since, valuation_date, n_boot, seed, ablation)


@handle_errors
def _compare(
    model_a: Path,
    model_b: Path,
    data: str,
    out: Path,
    since: str | None,
    valuation_date: str | None,
    n_boot: int,
    seed: int,
    ablation: bool,
) -> None:
    from estimo.evaluate.compare import compare_models
    from estimo.pipeline import load_bundle

    a, b = load_bundle(str(model_a)), load_bundle(str(model_b))
    config, loaded = load(data)
    frame = loaded.frame
    trains = (_training_rows(a, frame, model_a), _training_rows(b, frame, model_b))
    if ablation and (trains[0] is None or trains[1] is None):
        raise ConfigError(
            "--ablation needs each model's training window (written by `estimo train` in "
            "model.json 'extra.training_window'); one of the models has none"
        )
    cfg = config.evaluation
    with console.status(
        "comparing (retraining both models for the ablation) ..." if ablation else "comparing ..."
    ):
        result = compare_models(
            a,
            b,
            frame,
            valuation_date=_date(valuation_date, "--valuation-date"),
            n_boot=n_boot,
            seed=seed,
            level=cfg.confidence,
            min_group_size=cfg.min_group_size,
            names=(model_a.name or "A", model_b.name or "B"),
            since=_date(since, "--since"),
            train=trains if trains[0] is not None and trains[1] is not None else None,
            ablation=ablation,
        )
    paths = result.write(out)
    print_comparison(result)
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")


def _date(value: str | None, option: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{option} {value!r} is not a date; expected YYYY-MM-DD") from None


def _training_rows(model: Any, frame: pd.DataFrame, folder: Path) -> pd.DataFrame | None:
    from estimo.evaluate.protocol import training_rows

    rows = training_rows(model, frame)
    if rows is None:
        err_console.print(f"  [yellow]warning:[/] {folder} records no training window")
    return rows


def print_comparison(result: Comparison) -> None:
    """Print the verdict, the overall differences and the per-city table."""
    name_a, name_b = result.names
    console.print(f"scored on {result.n:,} properties: {result.scoring['rule']}")
    table = Table(title=f"{name_b} − {name_a} (paired bootstrap)")
    for header in ("metric", name_a, name_b, "difference (points)", "CI", f"P({name_b} better)"):
        table.add_column(header, justify="right")
    for m, d in result.overall.items():
        table.add_row(
            label(m),
            _pct(d.a),
            _pct(d.b),
            _pts(d.diff),
            f"{_pts(d.low)} .. {_pts(d.high)}",
            f"{d.p_b_better:.2f}",
        )
    console.print(table)
    primary = result.settings.get("primary", "pe10")
    cities = Table(title=f"{label(primary)} per city")
    for header in ("city", "n", name_a, name_b, "difference", "CI"):
        cities.add_column(header, justify="right")
    for _, row in result.by_city.iterrows():
        if row["too_small"]:
            cities.add_row(esc(row["city"]), str(row["n"]), f"too small (n={row['n']})", "", "", "")
            continue
        cities.add_row(
            esc(row["city"]),
            str(row["n"]),
            _pct(row[f"{primary}_a"]),
            _pct(row[f"{primary}_b"]),
            _pts(row[f"{primary}_diff"]),
            f"{_pts(row[f'{primary}_low'])} .. {_pts(row[f'{primary}_high'])}",
        )
    console.print(cities)
    if result.features.get("note"):
        console.print(f"[yellow]note:[/] {result.features['note']}")
    console.print(f"\n[bold]verdict:[/] {result.verdict}", highlight=False)


def _pct(value: Any) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * float(value):.1f} %"


def _pts(value: Any) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * float(value):+.1f}"


# --------------------------------------------------------------------------- estimo report


def report(
    predictions: Annotated[
        Path, typer.Argument(help="predictions.parquet written by estimo backtest / evaluate")
    ],
    data: DataOpt,
    out: OutOpt = Path("runs/report"),
    reference: Annotated[
        bool,
        typer.Option(
            "--reference/--no-reference",
            help="fit the hedonic reference model on rows dated before the predictions",
        ),
    ] = True,
) -> None:
    """Write the evaluation report (report.json + one self-contained report.html)."""
    _report(predictions, data, out, reference)


@handle_errors
def _report(predictions: Path, data: str, out: Path, reference: bool) -> None:
    from estimo.evaluate.report import evaluation_report

    if not predictions.is_file():
        raise EstimoError(f"predictions file {str(predictions)!r} does not exist")
    try:
        scored = pd.read_parquet(predictions)
    except (OSError, ValueError) as exc:
        raise DataError([f"{predictions} is not a readable Parquet file: {exc}"]) from None
    config, loaded = load(data)
    frame = loaded.frame
    _check_ids_match(scored, frame, data)
    train = None
    if reference and "date" in scored:
        train = frame.loc[frame["date"] < pd.to_datetime(scored["date"]).min()]
        if train.empty:
            err_console.print("  [yellow]warning:[/] no rows before the predictions: no reference")
            train = None
    unvalued = predictions.with_name("unvalued.parquet")
    n_unvalued = len(pd.read_parquet(unvalued)) if unvalued.is_file() else 0
    result = evaluation_report(
        scored, frame, train=train, settings=config.evaluation, n_unvalued=n_unvalued
    )
    paths = result.write(out)
    print_report_summary(result)
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")


MIN_MATCHED_SHARE = 0.9
"""Below this share of the predictions' ids found in the data, ``estimo report`` warns."""


def _check_ids_match(scored: pd.DataFrame, frame: pd.DataFrame, data: str) -> None:
    """Refuse predictions whose ids are none of the data's, warn when few are.

    The report takes each valuation's city, neighbourhood and segments from the data by
    ``id``: predictions of another dataset would be reported under wrong or missing
    segments with a normal exit.

    Raises
    ------
    DataError
        If no prediction id is in the data.
    """
    if "id" not in scored or "id" not in frame or scored.empty:
        return
    ids = scored["id"].astype(str)
    found = ids.isin(set(frame["id"].astype(str)))
    share = float(found.mean())
    if share >= MIN_MATCHED_SHARE:
        return
    examples = ", ".join(repr(v[:30]) for v in ids[~found].unique()[:3])
    said = (
        f"{int(found.sum()):,} of {len(ids):,} prediction ids ({share:.0%}) are in the data "
        f"{data!r} (missing e.g. {examples})"
    )
    if not found.any():
        raise DataError(
            [
                f"{said}; expected the predictions of this data (the report reads each "
                "valuation's city and segments from it by id)"
            ],
            header="the predictions do not belong to the data",
        )
    err_console.print(
        f"  [bold yellow]warning:[/] only {esc(said)}; the others are reported without their "
        "segments: check that the predictions and --data are the same dataset",
        highlight=False,
    )


def print_report_summary(result: EvaluationReport) -> None:
    """Print per-city accuracy, the reference model and the segments not to trust."""
    if "city" in result.segments:
        console.print(format_metrics_table(result.segments["city"], title="accuracy per city"))
    if result.reference:
        ref = result.reference["overall"]
        console.print(
            f"model PE10 {_pct(result.overall['pe10'])}, MdAPE {_pct(result.overall['mdape'])}; "
            f"hedonic reference PE10 {_pct(ref['pe10'])}, MdAPE {_pct(ref['mdape'])}"
        )
    untrusted = result.untrusted
    if untrusted.empty:
        console.print("no segment below the trust thresholds")
        return
    table = Table(title=f"where not to trust the model ({len(untrusted)} segments)")
    for header in ("segment", "group", "n", "PE10", "why"):
        table.add_column(header)
    for _, row in untrusted.head(15).iterrows():
        table.add_row(
            row["segment"], row["group"], str(row["n"]), _pct(row["pe10"]), row["reasons"]
        )
    console.print(table)


# --------------------------------------------------------------------------- rolling


def print_rolling(result: RollingResult) -> None:
    """Print accuracy by model age (overall and per city) and the retraining advice."""
    console.print(
        f"rolling backtest: {len(result.cutoffs)} origins "
        f"({result.cutoffs[0]:%Y-%m} .. {result.cutoffs[-1]:%Y-%m}), "
        f"{len(result.predictions):,} valuations"
    )
    console.print(format_metrics_table(result.by_horizon, title="accuracy by model age (months)"))
    table = Table(title="PE10 by model age per city")
    ages = [h for h in result.by_horizon["horizon"] if h != ALL_LABEL]
    table.add_column("city")
    for age in ages:
        table.add_column(f"age {age}", justify="right")
    table.add_column("change / month", justify="right")
    table.add_column("retrain every", justify="right")
    for city, advice in result.advice["by_city"].items():
        by_age = advice["pe10_by_age"]
        every = advice["retrain_every_months"]
        table.add_row(
            esc(city),
            *[_pct(by_age.get(int(age), float("nan"))) for age in ages],
            _pts(advice["pe10_change_per_month"]),
            "–"
            if not math.isfinite(every)
            else f"{every}{'+' if advice['beyond_horizon'] else ''}",
        )
    console.print(table)
    overall = result.advice["overall"]
    every = overall["retrain_every_months"]
    if math.isfinite(every):
        console.print(
            f"PE10 changes by {_pts(overall['pe10_change_per_month'])} points per month of model "
            f"age: retrain every {every}{'+' if overall['beyond_horizon'] else ''} month(s) to "
            f"stay within {100 * result.advice['tolerance']:.0f} points of a fresh model"
        )
