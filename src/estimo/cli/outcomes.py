"""`estimo outcomes import FILE`: appraisals and sales into the monitoring store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from estimo.cli._common import console, handle_errors
from estimo.cli.monitor import ConfigOpt, StoreOpt, monitor_settings

outcomes_app = typer.Typer(
    help="Outcomes (appraisals, sales) of valued properties.", no_args_is_help=True
)


@outcomes_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet of appraisals and sales")],
    config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Import outcomes (column mapping under monitor.outcomes); re-importing adds nothing."""
    _import(file, config, store)


@handle_errors
def _import(file: Path, config_path: Path | None, store_url: str | None) -> None:
    from estimo.monitor.outcomes import import_outcomes
    from estimo.monitor.store import ValuationStore

    settings, url = monitor_settings(config_path, store_url)
    store = ValuationStore.from_url(url, table_prefix=settings.table_prefix)
    counts = import_outcomes(store, str(file), settings.outcomes)
    store.dispose()
    console.print(
        f"{counts['rows']:,} outcomes read from {file}: {counts['inserted']:,} new, "
        f"{counts['updated']:,} with a corrected price, {counts['unchanged']:,} already stored"
    )
