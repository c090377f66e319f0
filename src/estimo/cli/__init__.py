"""Estimo's command line (Typer): ``estimo demo | backtest | train | evaluate``.

Exit codes: 0 ok, 1 failure (bad data, failed check), 2 bad usage (bad options or project
file). Errors go to stderr as one message, never a traceback.
"""

from __future__ import annotations

from typing import Annotated

import typer

from estimo import __version__
from estimo.cli import compare as _compare
from estimo.cli import demo as _demo
from estimo.cli import evaluation as _evaluation
from estimo.cli import index as _index
from estimo.cli import models as _models
from estimo.cli import photos as _photos
from estimo.cli import quality as _quality
from estimo.cli import text as _text
from estimo.cli import tune as _tune
from estimo.cli import value as _value
from estimo.cli._common import configure_logging

app = typer.Typer(
    name="estimo",
    help="Estimo: automated property valuation you can check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    configure_logging(verbose)


app.command("demo")(_demo.demo)
app.command("backtest")(_evaluation.backtest)
app.command("train")(_evaluation.train)
app.command("tune")(_tune.tune)
app.command("evaluate")(_evaluation.evaluate)
app.command("index")(_index.index)
app.command("compare")(_compare.compare)
app.command("report")(_compare.report)
app.command("audit")(_quality.audit_command)
app.command("clean")(_quality.clean_command)
app.command("promote")(_models.promote)
app.add_typer(_models.models_app, name="models")
app.command("value")(_value.value)
app.command("explain")(_value.explain)
app.add_typer(_photos.photos_app, name="photos")  # commands import estimo.photos lazily
app.add_typer(_text.text_app, name="text")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
