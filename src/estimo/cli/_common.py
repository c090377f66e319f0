"""Shared pieces of the command line: consoles, error handling, loading, progress bars."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from estimo.config import ProjectConfig
from estimo.errors import EstimoError
from estimo.io import LoadResult, load_dataset, load_project

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def configure_logging(verbose: bool) -> None:
    """Send log records to stderr through rich; warnings only unless ``verbose``."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
        force=True,
    )


def handle_errors(func: F) -> F:
    """Turn Estimo's user errors into one clear message on stderr and a non-zero exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EstimoError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(code=exc.exit_code) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def load(path_or_config: str) -> tuple[ProjectConfig, LoadResult]:
    """Read a project file or data file and print what loading did."""
    config = load_project(path_or_config)
    with console.status(f"reading {config.data.path} ..."):
        loaded = load_dataset(config)
    report = loaded.report
    console.print(
        f"loaded [bold]{report.n_rows:,}[/] rows from {config.data.path}"
        + (f" ({report.n_dropped:,} dropped)" if report.n_dropped else "")
    )
    for issue in report.issues:
        err_console.print(f"  [yellow]warning:[/] {issue}", highlight=False)
    return config, loaded
