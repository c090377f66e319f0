"""`estimo init DATA`: write a commented estimo.yaml with the mapping Estimo infers."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from estimo.cli._common import console, handle_errors
from estimo.errors import ConfigError
from estimo.infer import infer_project, render_project
from estimo.io import decimal_comma_share, read_table

SAMPLE_ROWS = 20_000


def init(
    data: Annotated[str, typer.Argument(help="CSV or Parquet file (local path or URL)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="project file to write")] = Path(
        "estimo.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a project file mapping DATA onto Estimo's record; check every '# check:' line."""
    _init(data, out, force)


@handle_errors
def _init(data: str, out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ConfigError(f"{str(out)!r} exists; give --force to overwrite it")
    delimiter = _sniff_delimiter(data)
    options = {} if delimiter in (None, ",") else {"sep": delimiter}
    if data.lower().endswith((".csv", ".txt", ".tsv")):
        options["nrows"] = SAMPLE_ROWS
    raw = read_table(data, options)
    number_options = _decimal_comma_options(raw) if "nrows" in options else {}
    if number_options:
        raw = read_table(data, {**options, **number_options})
    relative = (
        data if "://" in data else os.path.relpath(Path(data).resolve(), out.resolve().parent)
    )
    guess = infer_project(raw, relative, delimiter=delimiter if options.get("sep") else None)
    if number_options:
        guess.read_options = number_options
        guess.check("read_options", "numbers written with a decimal comma (47,51)")
    text = render_project(guess)
    out.write_text(text, encoding="utf-8")
    console.print(text, highlight=False, markup=False)
    console.print(
        f"wrote {out}: {len(guess.checks)} guesses marked '# check:'; then run "
        f"`estimo audit {out} --out runs/audit`"
    )


def _decimal_comma_options(raw: pd.DataFrame) -> dict[str, str]:
    """``{decimal: ","}`` (and ``thousands: "."``) when a text column of the CSV holds
    numbers written with a decimal comma (``47,51``, ``1.234,50``); else nothing."""
    columns = [c for c in raw.columns if decimal_comma_share(raw[c]) >= 0.9]
    if not columns:
        return {}
    text = pd.concat([raw[c].dropna().astype(str).head(2000) for c in columns])
    grouped = text.str.contains(r"\d\.\d{3}(?:[.,]|$)", regex=True).any()
    return {"decimal": ",", "thousands": "."} if grouped else {"decimal": ","}


def _sniff_delimiter(data: str) -> str | None:
    """The delimiter of a local CSV, from its first lines (None for other files)."""
    if "://" in data or not data.lower().endswith((".csv", ".txt")):
        return None
    path = Path(data)
    if not path.is_file():
        return None
    sample = path.read_text(encoding="utf-8", errors="replace")[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return None
