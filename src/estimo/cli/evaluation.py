"""`estimo backtest`, `estimo train` and `estimo evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from estimo.cli._common import console, handle_errors, load
from estimo.cli.tables import overall_table
from estimo.errors import DataError, EstimoError
from estimo.evaluate.backtest import (
    BacktestResult,
    run_backtest,
    score_predictions,
    value_test_rows,
    write_backtest,
)
from estimo.evaluate.segments import format_metrics_table
from estimo.jsonutil import write_json
from estimo.model.avm import AVM
from estimo.model.bundle import load_model, save_model
from estimo.split import default_cutoff, parse_cutoff

DataArg = Annotated[
    str,
    typer.Argument(help="estimo.yaml project file, or a CSV/Parquet file with canonical columns"),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="folder for the run's files")]


def backtest(
    data: DataArg,
    out: OutOpt = Path("runs/backtest"),
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="first test date, YYYY-MM-DD (default: the project file's, else the "
            "month that leaves ~20 % of rows after it)"
        ),
    ] = None,
) -> None:
    """Out-of-time evaluation: train before the cut-off, value new properties after it."""
    _backtest(data, out, cutoff)


@handle_errors
def _backtest(data: str, out: Path, cutoff: str | None) -> None:
    config, loaded = load(data)
    cut = _choose_cutoff(cutoff or config.backtest.cutoff, loaded.frame)
    with console.status("training the valuation engine (index, city models, comparables) ..."):
        result = run_backtest(
            loaded.frame,
            cut,
            model_params=engine_params(config, loaded.currency),
            min_group_size=config.backtest.min_group_size,
        )
    paths = write_backtest(result, out)
    print_backtest(result, loaded.currency)
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")


def engine_params(config: Any, currency: str) -> dict[str, Any]:
    """AVM arguments from the project file's ``engine`` section."""
    return {**config.engine.model_dump(), "currency": currency, "progress": True}


def print_backtest(result: BacktestResult, currency: str = "") -> None:
    """Print the split, the overall numbers, the per-city table and the engine's choices."""
    console.print(result.split.describe())
    engine = result.metrics.get("engine", {})
    validation = engine.get("validation", {})
    if validation:
        parts = [
            f"{name} MdAPE {100 * validation[name]['mdape']:.1f} %"
            for name in ("model", "comps", "blend")
            if validation.get(name, {}).get("n")
        ]
        console.print(
            f"engine fitted in {engine.get('fit_seconds', 0):.0f} s; validation slice "
            f"({validation.get('n', 0):,} new properties from {validation.get('from')}): "
            + ", ".join(parts)
        )
    console.print(overall_table(result.metrics["overall"], title="out-of-time accuracy"))
    if not result.by_city.empty:
        console.print(format_metrics_table(result.by_city, title="accuracy per city"))
    if len(result.unvalued):
        console.print(
            f"[yellow]{len(result.unvalued)} test rows could not be valued[/] "
            "(see unvalued.parquet), e.g.: " + result.unvalued["reason"].iloc[0]
        )


def train(
    data: DataArg,
    out: OutOpt = Path("runs/model"),
    until: Annotated[
        str | None, typer.Option(help="train on rows dated before this date (default: all)")
    ] = None,
) -> None:
    """Train the valuation engine and save it (LightGBM text models, Parquet, JSON; no pickles)."""
    _train(data, out, until)


@handle_errors
def _train(data: str, out: Path, until: str | None) -> None:
    config, loaded = load(data)
    frame = loaded.frame
    if until is not None:
        frame = frame.loc[frame["date"] < parse_cutoff(until)]
        if frame.empty:
            raise DataError([f"no rows dated before --until {until}"], header="nothing to train on")
    with console.status("training the valuation engine (index, city models, comparables) ..."):
        model = AVM(**engine_params(config, loaded.currency)).fit(frame)
    window = {"from": f"{frame['date'].min():%Y-%m-%d}", "to": f"{frame['date'].max():%Y-%m-%d}"}
    save_model(
        model,
        str(out),
        extra={"currency": loaded.currency, "training_window": window, "n_train": len(frame)},
    )
    console.print(
        f"trained on {len(frame):,} rows ({window['from']} .. {window['to']}), "
        f"{len(model.stage_.feature_names_)} features, {len(model.stage_.model.boosters_)} "
        f"sub-models; saved to {out}"
    )
    served = pd.Series({c: r["served_by"] for c, r in model.routing_.items()})
    console.print("sub-model per city: " + ", ".join(f"{c} -> {s}" for c, s in served.items()))


def evaluate(
    data: DataArg,
    model: Annotated[Path, typer.Option("--model", "-m", help="folder written by estimo train")],
    out: OutOpt = Path("runs/evaluate"),
    since: Annotated[
        str | None,
        typer.Option(
            help="score rows dated on/after this date (default: after the model's training window)"
        ),
    ] = None,
) -> None:
    """Score a trained model on labelled data it has not seen."""
    _evaluate(data, model, out, since)


@handle_errors
def _evaluate(data: str, model_dir: Path, out: Path, since: str | None) -> None:
    model = load_model(str(model_dir))
    config, loaded = load(data)
    start = parse_cutoff(since) if since else model.trained_until_ + pd.Timedelta(days=1)
    test = loaded.frame.loc[loaded.frame["date"] >= start]
    test = test.sort_values("date", kind="stable").drop_duplicates("id", keep="first")
    if test.empty:
        raise EstimoError(
            f"no rows dated on/after {start:%Y-%m-%d} to score; the data ends "
            f"{loaded.frame['date'].max():%Y-%m-%d} (use --since)"
        )
    valued = value_test_rows(model, test)
    overall, by_city = score_predictions(
        valued.predictions, len(valued.unvalued), min_group_size=config.backtest.min_group_size
    )
    out.mkdir(parents=True, exist_ok=True)
    valued.predictions.to_parquet(out / "predictions.parquet", index=False)
    valued.unvalued.to_parquet(out / "unvalued.parquet", index=False)
    write_json(
        out / "metrics.json", {"since": f"{start:%Y-%m-%d}", "overall": overall, "by_city": by_city}
    )
    console.print(overall_table(overall, title=f"accuracy on rows from {start:%Y-%m-%d}"))
    if not by_city.empty:
        console.print(format_metrics_table(by_city, title="accuracy per city"))
    console.print(f"\nfiles: {out}/predictions.parquet, unvalued.parquet, metrics.json")


def _choose_cutoff(cutoff: str | None, frame: pd.DataFrame) -> pd.Timestamp:
    return parse_cutoff(cutoff) if cutoff else default_cutoff(frame)
