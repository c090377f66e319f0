"""`estimo init DATA`: write a commented estimo.yaml with the mapping Estimo infers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from estimo.cli._common import console, handle_errors
from estimo.errors import ConfigError
from estimo.infer import infer_project, render_project
from estimo.io import (
    CSV_SUFFIXES,
    decimal_comma_share,
    guess_encoding,
    read_table,
    sniff_layout,
)

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
    csv = data.lower().endswith(CSV_SUFFIXES)
    encoding = guess_encoding(data) if csv and ("://" in data or Path(data).is_file()) else None
    text_options = {} if encoding in (None, "utf-8") else {"encoding": encoding}
    delimiter, titles = sniff_layout(data, encoding or "utf-8")
    options: dict[str, Any] = {} if delimiter in (None, ",") else {"sep": delimiter}
    layout_options = {"skiprows": titles} if titles else {}
    if csv:
        options["nrows"] = SAMPLE_ROWS
    raw = read_table(data, {**options, **layout_options, **text_options})
    number_options = _decimal_comma_options(raw) if "nrows" in options else {}
    if number_options:
        raw = read_table(data, {**options, **layout_options, **text_options, **number_options})
    relative = (
        data if "://" in data else os.path.relpath(Path(data).resolve(), out.resolve().parent)
    )
    guess = infer_project(raw, relative, delimiter=delimiter if options.get("sep") else None)
    why = []
    if titles:
        why.append(f"{titles} line(s) above the header skipped (a title?)")
    if text_options:
        why.append(f"the file is not UTF-8; its accents read as {encoding}")
    if number_options:
        why.append("numbers written with a decimal comma (47,51)")
    if why:
        guess.read_options = {**layout_options, **text_options, **number_options}
        guess.check("read_options", "; ".join(why))
    text = render_project(guess)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(text, highlight=False, markup=False)
    console.print(
        f"wrote {out}: {len(guess.checks)} guesses marked '# check:'; then run "
        f"`estimo audit {out} --out runs/audit`"
    )


def _decimal_comma_options(raw: pd.DataFrame) -> dict[str, Any]:
    """``{decimal: ","}`` (and ``thousands: "."``) when a text column of the CSV holds
    numbers written with a decimal comma (``47,51``, ``1.234,50``); else nothing."""
    columns = [c for c in raw.columns if decimal_comma_share(raw[c]) >= 0.9]
    if not columns:
        return {}
    text = pd.concat([raw[c].dropna().astype(str).head(2000) for c in columns])
    grouped = text.str.contains(r"\d\.\d{3}(?:[.,]|$)", regex=True).any()
    if not grouped:
        return {"decimal": ","}
    # with "." as the thousands separator pandas would read 07.01.2019 as 7012019: dates
    # written with dots are read as text
    dotted = [
        str(c)
        for c in raw.columns
        if not pd.api.types.is_numeric_dtype(raw[c])
        and raw[c].dropna().astype(str).head(2000).str.fullmatch(_DOTTED_DATE).mean() >= 0.9
    ]
    options: dict[str, Any] = {"decimal": ",", "thousands": "."}
    if dotted:
        options["dtype"] = dict.fromkeys(dotted, "str")
    return options


_DOTTED_DATE = r"\s*\d{1,2}\.\d{1,2}\.\d{2,4}(?:[ T].*)?\s*"
