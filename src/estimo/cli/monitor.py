"""`estimo monitor`: live accuracy, drift, staleness and alerts; `estimo monitor db upgrade`.

Exit codes: 0 no alert at ``monitor.alerts.fail_on`` severity or above, 1 such an alert
(or bad data), 2 bad usage. For cron: ``estimo monitor --config estimo.yaml --out runs/monitor
|| notify``; other tools read ``alerts.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from estimo.cli._common import console, day_option, err_console, handle_errors, load, out_folder
from estimo.config import MonitorConfig, load_config

monitor_app = typer.Typer(
    help="Watch live accuracy against appraisals and sales, drift and staleness; alert.",
    invoke_without_command=True,
    no_args_is_help=False,
)
db_app = typer.Typer(help="The monitoring store's database.", no_args_is_help=True)
monitor_app.add_typer(db_app, name="db")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="estimo.yaml with a monitor: section")
]
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="store URL (default: monitor.store_url of the project file)"),
]


def monitor_settings(config_path: Path | None, store: str | None) -> tuple[MonitorConfig, str]:
    """The ``monitor:`` section and the resolved store URL (``--store`` wins)."""
    if config_path is None:
        settings, base = MonitorConfig(), Path.cwd()
    else:
        project = load_config(config_path)
        settings, base = project.monitor, project.base_dir
    url = store or settings.resolved_store_url(base)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return settings, url


@monitor_app.callback()
def monitor(
    ctx: typer.Context,
    config: ConfigOpt = None,
    store: StoreOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="the served model: its folder (the pipeline folder of `estimo train`, or an "
            "engine folder); with --registry, a version (v3), 'latest' or an alias "
            "(default: champion)",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(help="registry folder or URL: --model names one of its versions"),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="training rows (project file or CSV/Parquet) for feature drift"),
    ] = None,
    rolling: Annotated[
        Path | None,
        typer.Option(help="folder or rolling.json of `estimo backtest --rolling` (staleness)"),
    ] = None,
    since: Annotated[
        str | None, typer.Option(callback=day_option, help="first day of valuations to read")
    ] = None,
    until: Annotated[
        str | None, typer.Option(callback=day_option, help="read valuations before this day")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", callback=out_folder, help="folder for the report")
    ] = Path("runs/monitor"),
) -> None:
    """Monitoring report: writes monitor.json, alerts.json and dashboard.html."""
    if ctx.invoked_subcommand is not None:
        return
    code = _monitor(config, store, model, registry, reference, rolling, since, until, out)
    raise typer.Exit(code)


@handle_errors
def _monitor(
    config_path: Path | None,
    store_url: str | None,
    model: str | None,
    registry: str | None,
    reference: str | None,
    rolling: Path | None,
    since: str | None,
    until: str | None,
    out: Path,
) -> int:
    from estimo.monitor.report import build_report, load_inputs, write_report
    from estimo.monitor.store import ValuationStore

    settings, url = monitor_settings(config_path, store_url)
    rows = None
    if reference is not None:
        _, loaded = load(reference)
        rows = loaded.frame
    served, name = _served_model(model, registry)
    inputs = load_inputs(served, rows, rolling, model_name=name)
    if rows is not None and inputs.trained_until is not None:
        inputs.reference = rows.loc[rows["date"] <= inputs.trained_until]
    store = ValuationStore.from_url(url, table_prefix=settings.table_prefix)
    with console.status("reading the store and building the report ..."):
        report = build_report(store, settings, since=since, until=until, inputs=inputs)
    paths = write_report(report, out)
    store.dispose()
    s = report.summary
    n_out = s["n_outcomes"]
    console.print(
        f"{s['n_valuations']:,} valuations served {s['since']} .. {s['until']}; "
        f"{n_out['appraisal']:,} appraisals, {n_out['sale']:,} sales, "
        f"{n_out['asking']:,} asking prices, {s['n_paired']:,} paired"
    )
    _print_latest(report.accuracy, s["latest_month"])
    for note in report.notes:
        err_console.print(f"  [yellow]note:[/] {note}", highlight=False)
    if report.alerts:
        console.print(f"\n[bold red]{len(report.alerts)} alert(s)[/] in {s['latest_month']}:")
        for alert in report.alerts:
            colour = "red" if alert.severity == "critical" else "yellow"
            console.print(
                f"  [{colour}]{alert.severity}[/] {alert.rule}: {alert.message}", highlight=False
            )
    else:
        console.print(f"\n[green]no alert[/] in {s['latest_month']}")
    console.print(f"advice: {report.advice['text']}", highlight=False)
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")
    return report.exit_code


def _served_model(model: str | None, registry: str | None) -> tuple[object | None, str | None]:
    """The model ``--model`` names: a folder, or with ``--registry`` a version or alias
    (default ``champion``, the alias ``estimo serve`` serves), loaded from the registry."""
    if registry is None:
        return model, model
    from estimo.registry import Registry

    ref = model or "champion"
    with console.status(f"loading {ref} from the registry ..."):
        loaded = Registry(registry).load(ref)
    return loaded.model, f"{loaded.version} ({ref}) of registry {registry}"


_AGAINST = {"appraisal": "appraisals", "sale": "sales", "asking": "asking prices"}


def _print_latest(accuracy: pd.DataFrame, month: str) -> None:
    rows = accuracy.loc[
        (accuracy["dimension"].isin(["city", "all"]))
        & (accuracy["month"] == month)
        & ~accuracy["too_small"].astype(bool)
    ]
    if rows.empty:
        return
    table = Table(title=f"accuracy of the valuations served in {month}")
    for header in ("against", "city", "n", "MdAPE", "PE10", "median ratio", "in range"):
        table.add_column(header, justify="left" if header in ("against", "city") else "right")
    for r in rows.itertuples():
        coverage = "—" if pd.isna(r.coverage) else f"{r.coverage:.0%}"
        table.add_row(
            _AGAINST.get(r.kind, r.kind),
            r.group,
            f"{r.n:,}",
            f"{r.mdape:.1%}",
            f"{r.pe10:.0%}",
            f"{r.median_ratio:.3f}",
            coverage,
        )
    console.print(table)


@db_app.command("upgrade")
def upgrade(config: ConfigOpt = None, store: StoreOpt = None) -> None:
    """Create or migrate the store's tables to the newest revision."""
    _upgrade(config, store)


@handle_errors
def _upgrade(config_path: Path | None, store_url: str | None) -> None:
    from estimo.monitor import migrate
    from estimo.monitor.store import ValuationStore, safe_url

    settings, url = monitor_settings(config_path, store_url)
    store = ValuationStore.from_url(url, table_prefix=settings.table_prefix)
    console.print(
        f"monitoring store {safe_url(url)} at revision {store.revision()} "
        f"(newest: {migrate.head_revision()})",
        highlight=False,
    )
    store.dispose()
