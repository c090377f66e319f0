"""`estimo demo`: the whole flow on the embedded synthetic market."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from estimo.cli._common import console, handle_errors, out_folder
from estimo.cli.evaluation import print_backtest, print_training_data
from estimo.cli.value import print_explanation
from estimo.config import QualityConfig
from estimo.evaluate.backtest import BacktestResult, run_backtest, write_backtest
from estimo.synth import generate_market

DEMO_MODEL = {"n_estimators": 600, "learning_rate": 0.08, "min_city_rows": 1000, "progress": True}


def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", callback=out_folder, help="folder for the run's files")
    ] = Path("runs/demo"),
    n: Annotated[int, typer.Option(help="number of synthetic properties", min=500)] = 12_000,
    seed: Annotated[int, typer.Option(help="seed of the synthetic market")] = 0,
) -> None:
    """Generate a synthetic market, train, backtest out of time and show accuracy per city;
    value one property in full, over HTTP too, and end with a monitoring replay."""
    _demo(out, n, seed)


@handle_errors
def _demo(out: Path, n: int, seed: int) -> None:
    started = time.perf_counter()
    console.rule("[bold]Estimo demo: a synthetic housing market")
    market = generate_market(n, seed=seed)
    frame = market.frame
    out.mkdir(parents=True, exist_ok=True)
    data_path = out / "market.parquet"
    frame.to_parquet(data_path, index=False)
    console.print(
        f"1. generated {len(frame):,} listings and sales of {frame['id'].nunique():,} properties "
        f"in {frame['city'].nunique()} cities, {frame['date'].min():%Y-%m} .. "
        f"{frame['date'].max():%Y-%m} ({(frame['price_kind'] == 'sale').mean():.0%} with a "
        f"sale price, the rest asking prices) -> {data_path}"
    )
    cutoff = (market.end - pd.DateOffset(months=4)).to_period("M").to_timestamp()
    console.print(f"2. out-of-time backtest: train before {cutoff:%Y-%m-%d}, test after")
    with console.status("auditing, cleaning and training the valuation engine ..."):
        result = run_backtest(
            frame, cutoff, model_params={**DEMO_MODEL, "currency": "EUR"}, quality=QualityConfig()
        )
    paths = write_backtest(result, out)
    if result.training_data is not None:
        print_training_data(result.training_data)
    print_backtest(result)
    _print_one_valuation(result)
    _show_service(result, out)
    replay_files = _monitoring_replay(out, n, seed)
    files = [data_path, *paths.values(), *replay_files]
    console.print(f"\nfiles: {', '.join(str(p) for p in files)}")
    console.print(f"done in {time.perf_counter() - started:.0f} s")


def _print_one_valuation(result: BacktestResult) -> None:
    """Value one test property in full: price, range, confidence, comparables, warnings."""
    subject = result.split.test.loc[result.split.test["city"].isin(result.model.cities_)].head(1)
    if subject.empty:
        return
    v = result.model.value(subject)[0]
    row = subject.iloc[0]
    console.print(
        f"\n3. one valuation: {row.get('property_type', 'property')} of "
        f"{row.get('area_m2', float('nan')):.0f} m² in {row['city']} on {v.valuation_date:%Y-%m-%d}"
    )
    console.print(
        f"   [bold]{v.price:,.0f} {v.currency}[/] (range {v.low:,.0f} .. {v.high:,.0f}, "
        f"{v.confidence} confidence, FSD {v.fsd:.1%}); actual price {row['price']:,.0f}"
    )
    comps = "" if v.comps_price is None else f", comparables {v.comps_price:,.0f}"
    console.print(
        f"   model {v.model_price:,.0f}{comps}, comparables weight {v.blend_weight:.0%}, "
        f"served by {v.sub_model}, {len(v.comparables)} comparables"
    )
    pipeline = result.model
    train = result.training_data.frame if result.training_data is not None else result.split.train
    _, explanations = pipeline.fit_reference(train).value_explained(subject)
    explanation = explanations[0]
    console.print("\n4. the explanation a home owner sees:")
    print_explanation(explanation)


def _show_service(result: BacktestResult, out: Path) -> None:
    """Serve the demo's model over HTTP and value one test property through it."""
    from estimo.cli.serve import records_of, show_service
    from estimo.errors import InputError

    test = result.split.test.loc[result.split.test["city"].isin(result.model.cities_)]
    contract = result.model.contract()
    for position, record in enumerate(records_of(test.head(50))):
        try:  # a property the service accepts (the test rows keep the market's faults)
            contract.check({k: v for k, v in record.items() if k in _contract_fields(contract)})
        except InputError:
            continue
        show_service(result.model, test.iloc[[position]], out)
        return


def _contract_fields(contract: object) -> set[str]:
    """Canonical fields and the extra features the contract accepts."""
    from estimo.schema import FIELDS

    return set(FIELDS) | set(getattr(contract, "extra_fields", None) or ())


def _monitoring_replay(out: Path, n: int, seed: int) -> list[Path]:
    """A year of serving on a new synthetic market of ``n`` properties where one city
    drifts: valuations and outcomes recorded month by month, the monitor run after each
    month (as cron would)."""
    from estimo.monitor.replay import demo_replay

    console.print(
        "\n6. monitoring replay: a model trained on months 1-12 serves months 13-24; "
        "one city's prices rise 1 %/month faster than the model expects"
    )
    with console.status("serving, recording appraisals and sales, monitoring month by month ..."):
        replay = demo_replay(out / "monitor", seed=seed, n_properties=n)
    for line in replay.lines():
        console.print(f"   {line}", highlight=False, markup=False)
    console.print(f"   dashboard: {replay.files['html']} (estimo monitor writes the same)")
    return [Path(p) for p in replay.files.values()]
