"""Estimo's command line (Typer): ``estimo demo | backtest | train | evaluate | ...``.

Exit codes: 0 ok, 1 failure (bad data, failed check), 2 bad usage (bad options or project
file). Errors go to stderr as one message, never a traceback.

Commands are registered by name in :data:`COMMANDS` and their modules imported only when
they run (:mod:`estimo.cli.lazy`), so ``estimo --help`` and every command start without
importing what other commands need. To add a command: write its module (a function, or a
``typer.Typer`` for a group) and add one :class:`~estimo.cli.lazy.LazyCommand` line here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from estimo import __version__
from estimo.cli.lazy import LazyCommand, LazyGroup

COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand(
        "estimo.cli.demo",
        "demo",
        "Generate a synthetic market, train, backtest out of time and show accuracy per city.",
    ),
    "backtest": LazyCommand(
        "estimo.cli.evaluation",
        "backtest",
        "Out-of-time evaluation: train before the cut-off, value new properties after it.",
    ),
    "train": LazyCommand(
        "estimo.cli.evaluation",
        "train",
        "Audit, clean and train the valuation engine; save it (LightGBM text, Parquet, JSON).",
    ),
    "tune": LazyCommand(
        "estimo.cli.tune",
        "tune",
        "Compare engine settings on the validation slice (never on test rows); tune.json.",
    ),
    "evaluate": LazyCommand(
        "estimo.cli.evaluation",
        "evaluate",
        "Score a trained model on labelled data it has not seen.",
    ),
    "index": LazyCommand(
        "estimo.cli.index",
        "index",
        "Fit the monthly price index per city, print it and plot it (index.html, index.csv).",
    ),
    "compare": LazyCommand(
        "estimo.cli.compare",
        "compare",
        "Compare two trained models fairly: same rows, paired bootstrap CIs, a verdict.",
    ),
    "report": LazyCommand(
        "estimo.cli.compare",
        "report",
        "Write the evaluation report (report.json + one self-contained report.html).",
    ),
    "audit": LazyCommand(
        "estimo.cli.quality",
        "audit_command",
        "Audit the data: completeness, validity, location, duplicates, consistency, labels, drift.",
    ),
    "clean": LazyCommand(
        "estimo.cli.quality",
        "clean_command",
        "Clean the data by the project's policy; log every change and every dropped row.",
    ),
    "promote": LazyCommand(
        "estimo.cli.models",
        "promote",
        "Promote a candidate if it passes the gate against the current champion; record why.",
    ),
    "models": LazyCommand(
        "estimo.cli.models",
        "models_app",
        "Versioned models: list, show, register, aliases, history, rollback.",
    ),
    "value": LazyCommand(
        "estimo.cli.value", "value", "Value properties and explain each valuation in plain words."
    ),
    "warmup": LazyCommand(
        "estimo.cli.value",
        "warmup",
        "Compile and cache the explanation kernels by valuing one property with the model.",
    ),
    "explain": LazyCommand(
        "estimo.cli.value",
        "explain",
        "Global explanations per city (HTML report) and the reference table for `estimo value`.",
    ),
    "photos": LazyCommand(
        "estimo.cli.photos",
        "photos_app",
        "Seller photos: room checklist, privacy (faces, EXIF/GPS), label quality.",
    ),
    "text": LazyCommand(
        "estimo.cli.text", "text_app", "Facts from listing descriptions (it, es, en, pl)."
    ),
    "monitor": LazyCommand(
        "estimo.cli.monitor",
        "monitor_app",
        "Live accuracy against appraisals and sales, drift, staleness, alerts (exit 1 on one).",
    ),
    "outcomes": LazyCommand(
        "estimo.cli.outcomes",
        "outcomes_app",
        "Outcomes of valued properties (appraisals, sales) into the monitoring store.",
    ),
    "serve": LazyCommand(
        "estimo.cli.serve",
        "serve",
        "Serve valuations over HTTP (OpenAPI at /docs); needs the serve extra.",
    ),
}
"""Every command: name -> where it lives and its one-line help (shown by ``estimo --help``)."""


class EstimoCommands(LazyGroup):
    """The root group: Estimo's commands, imported when run."""

    lazy_commands = COMMANDS


app = typer.Typer(
    name="estimo",
    cls=EstimoCommands,
    help="Estimo: automated property valuation you can check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # the command list is plain text: drawing it with rich costs ~0.2 s
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress details")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="print the version and exit", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    from estimo.cli._common import configure_logging

    configure_logging(verbose)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["COMMANDS", "app", "main"]
