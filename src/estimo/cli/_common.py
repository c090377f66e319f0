"""Shared pieces of the command line: consoles, error handling, loading, progress bars.

Terminal output never breaks on the user's text: values from data, paths and error
messages go through :func:`esc` (rich markup escaped) before they are printed, and the
consoles (:class:`SafeConsole`) print any string whose markup does not parse literally
instead of failing (a city named ``[/]`` in a table).

Exit codes (as the README says): 0 ok, 1 bad data or a failed check
(:class:`~estimo.errors.DataError`, :class:`~estimo.errors.InputError`, a damaged model),
2 bad usage or project file (:class:`~estimo.errors.ConfigError`, and
:class:`~estimo.errors.MappingError` for a mapping that does not fit the data). Errors are
one message on stderr without a traceback; absolute paths are shown relative to the working
directory (or by their last part), and an unexpected failure says which kind it was (the
traceback is logged with ``--verbose``).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import typer
from rich.console import Console
from rich.errors import MarkupError
from rich.logging import RichHandler
from rich.markup import escape

from estimo.config import ProjectConfig
from estimo.errors import EstimoError
from estimo.io import LoadResult, load_dataset, load_project

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
#: Longest error message printed (the rest is cut: never the malformed input in full).
MAX_MESSAGE = 2_000
_ABSOLUTE = re.compile(r"(?<![\w.<:/\[\\])(/(?:[^\s'\",;:()\[\]/]+/)+[^\s'\",;:()\[\]]*)")


class SafeConsole(Console):
    """A rich console that prints a string literally when its markup does not parse."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})


console = SafeConsole()
err_console = SafeConsole(stderr=True)


def esc(value: Any) -> str:
    r"""``str(value)`` with rich markup escaped (``[/x]`` prints as typed).

    Examples
    --------
    >>> print(esc("[/x]"))
    \[/x]
    """
    return escape(str(value))


def public_message(text: str) -> str:
    """An error message as the terminal shows it: absolute paths made relative to the
    working directory (or cut to ``.../name``), at most :data:`MAX_MESSAGE` characters.

    Examples
    --------
    >>> public_message("cannot read /srv/secret/models/v3/model.json")
    'cannot read .../model.json'
    """
    cwd = Path.cwd()

    def relative(match: re.Match[str]) -> str:
        path = match.group(1)
        if len(path) < 2:
            return path
        try:
            return os.path.relpath(path, cwd) if Path(path).is_relative_to(cwd) else _tail(path)
        except (ValueError, OSError):
            return _tail(path)

    text = _ABSOLUTE.sub(relative, str(text))
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 4] + " ..."
    return text


def _tail(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return f".../{name}" if name else path


def day_option(value: str | None) -> str | None:
    """Typer callback of a date option (``--since``, ``--until``, ``--cutoff``): a
    ``YYYY-MM-DD`` day, refused as a usage error naming the option (exit 2) before any data
    is read.

    Examples
    --------
    >>> day_option("2024-05-01"), day_option(None)
    ('2024-05-01', None)
    """
    import datetime as dt

    if value is None:
        return None
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; expected YYYY-MM-DD, e.g. 2024-05-01"
        ) from None
    return value.strip()


def out_folder(value: Path | None) -> Path | None:
    """Typer callback of an ``--out`` folder: refused before any work (usage error, exit 2)
    when it, or a folder above it, is an existing file.

    Examples
    --------
    >>> out_folder(Path("runs/backtest"))
    PosixPath('runs/backtest')
    """
    if value is None:
        return None
    for path in (value, *value.parents):
        if path.exists():
            if not path.is_dir():
                where = "it" if path == value else f"{str(path)!r} above it"
                raise typer.BadParameter(
                    f"{str(value)!r} cannot be a folder: {where} is a file; expected a folder "
                    "or a path where one can be created"
                )
            break
    return value


def model_folder(value: Any) -> Any:
    """Typer callback of a model folder (``--model``, a model argument): a local path that
    does not exist or is a file is a usage error (exit 2) naming it; URLs pass.

    Examples
    --------
    >>> model_folder("s3://bucket/models/v3")
    's3://bucket/models/v3'
    """
    if value is None or "://" in str(value):
        return value
    path = Path(value)
    if not path.exists():
        raise typer.BadParameter(
            f"{str(value)!r} does not exist; expected a model folder (written by `estimo train`)"
        )
    if not path.is_dir():
        raise typer.BadParameter(
            f"{str(value)!r} is a file; expected a model folder (written by `estimo train`)"
        )
    return value


def configure_logging(verbose: bool) -> None:
    """Send log records to stderr through rich; warnings only unless ``verbose``."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
        force=True,
    )


# Typer >= 0.2x vendors its own click, so its BadParameter is not click's: accept both
_USAGE_ERRORS: tuple[type[Exception], ...] = (click.UsageError, typer.BadParameter)


def handle_errors(func: F) -> F:
    """Turn Estimo's user errors into one clear message on stderr and a non-zero exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EstimoError as exc:
            _print_error(str(exc))
            raise typer.Exit(code=exc.exit_code) from None
        except OSError as exc:  # a file that is missing, a folder, not writable, ...
            name = f" {_tail(str(exc.filename))!s}" if exc.filename else ""
            _print_error(f"{exc.strerror or type(exc).__name__}:{name}")
            raise typer.Exit(code=1) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
            raise
        except _USAGE_ERRORS as exc:  # a bad option value: a usage error, exit code 2
            _print_error(exc.format_message())
            raise typer.Exit(code=2) from None
        except Exception as exc:  # never a traceback: name the failure, log the details
            log.info("unexpected failure", exc_info=True)  # shown with --verbose
            _print_error(
                f"unexpected failure ({type(exc).__name__}); this is a bug in Estimo, please "
                "report it with the command (run with --verbose for the details)"
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _print_error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {esc(public_message(message))}", highlight=False)


def load(path_or_config: str) -> tuple[ProjectConfig, LoadResult]:
    """Read a project file or data file and print what loading did."""
    config = load_project(path_or_config)
    with console.status(f"reading {esc(config.data.path)} ..."):
        loaded = load_dataset(config)
    report = loaded.report
    console.print(
        f"loaded [bold]{report.n_rows:,}[/] rows from {esc(config.data.path)}"
        + (f" ({report.n_dropped:,} dropped)" if report.n_dropped else "")
    )
    if report.n_other_operation and config.data.operation is not None:
        kept = config.data.operation.keep
        console.print(
            f"  left out {report.n_other_operation:,} rows of other operations than "
            f"{esc(repr(kept))} (data.operation)"
        )
    for issue in report.issues:
        err_console.print(f"  [yellow]warning:[/] {esc(issue)}", highlight=False)
    return config, loaded
