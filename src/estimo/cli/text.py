"""`estimo text extract`: canonical fields and amenities from a table of descriptions."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

import typer

from estimo.cli._common import console, handle_errors, out_folder

text_app = typer.Typer(
    help="Facts from listing descriptions (it, es, en, pl).", no_args_is_help=True
)
_CHUNK = 2_000


@text_app.command("extract")
def extract_command(
    file: Annotated[str, typer.Argument(help="CSV or Parquet table with a text column")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", callback=out_folder, help="folder for extracted.parquet and report.html"
        ),
    ] = Path("runs/text"),
    text_column: Annotated[
        str, typer.Option("--text-column", help="column holding the description")
    ] = "description",
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="column identifying each row (kept first)")
    ] = None,
    title_column: Annotated[
        str | None, typer.Option("--title-column", help="optional column holding a title")
    ] = None,
    lang: Annotated[
        str | None, typer.Option(help="it, es, en or pl for every row (default: detected)")
    ] = None,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            help="leave out facts less likely right than this (default: each field's learned "
            "threshold, set for its precision target)"
        ),
    ] = None,
) -> None:
    """Read areas, rooms, floors, condition, year built and amenities from descriptions.

    Writes DIR/extracted.parquet (the id column, one column per field, null where the text
    says nothing, and <field>_span with the words each value came from), report.html (counts
    per field and highlighted examples, contact details masked) and summary.json.
    """
    _extract(file, out, text_column, id_column, title_column, lang, min_confidence)


@handle_errors
def _extract(
    file: str,
    out: Path,
    text_column: str,
    id_column: str | None,
    title_column: str | None,
    lang: str | None,
    min_confidence: float | None,
) -> None:
    import fsspec
    import pandas as pd

    from estimo.errors import ConfigError, DataError
    from estimo.io import read_table_as_found
    from estimo.jsonutil import write_json
    from estimo.progress import step_progress
    from estimo.registry._fs import write_atomic
    from estimo.text import FIELDS, extract
    from estimo.text.extractor import extraction_table
    from estimo.text.lexicon import LANGUAGES
    from estimo.text.redact import redact
    from estimo.text.report import render_html, summarise

    if lang is not None and lang not in LANGUAGES:
        raise ConfigError(f"--lang is {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"--min-confidence is {min_confidence!r}; expected a value in [0, 1]")
    table = read_table_as_found(file)  # encoding, delimiter, titles: as found
    missing = [
        f"{option} {name!r} is not a column of {file!r}; columns: {list(table.columns)[:20]!r}"
        for option, name in (
            ("--text-column", text_column),
            ("--id-column", id_column),
            ("--title-column", title_column),
        )
        if name is not None and name not in table.columns
    ]
    if missing:
        raise DataError(missing, header="cannot extract")
    # facts are read from the texts with their contact details masked: no span written to
    # extracted.parquet or shown in the report carries a phone number, e-mail or URL
    raw_texts = [t if isinstance(t, str) else None for t in table[text_column].tolist()]
    raw_titles = (
        [t if isinstance(t, str) else None for t in table[title_column].tolist()]
        if title_column
        else [None] * len(raw_texts)
    )
    texts = [None if t is None else redact(t).text for t in raw_texts]
    titles = [None if t is None else redact(t).text for t in raw_titles]
    rows = []
    chunks = range(0, len(texts), _CHUNK)
    with step_progress("reading descriptions", len(chunks), done="read rows up to") as advance:
        for start in chunks:
            stop = min(start + _CHUNK, len(texts))
            rows += [
                extract(texts[i], titles[i], lang=lang, min_confidence=min_confidence)
                for i in range(start, stop)
            ]
            advance(f"{stop:,}")
    extracted = extraction_table(rows)
    spans_text = [  # as written: the report masks (and counts) the contact details itself
        "\n".join(p for p in (ti, t) if p) if ti else t
        for t, ti in zip(raw_texts, raw_titles, strict=True)
    ]
    ids = table[id_column].tolist() if id_column else list(range(len(texts)))
    ordered = [*FIELDS, *(f"{name}_span" for name in FIELDS)]
    result = extracted[[*ordered, "text_lang", *(f"{n}_confidence" for n in FIELDS)]]
    result.insert(
        0,
        id_column or "row",
        pd.Series(ids, dtype=table[id_column].dtype if id_column else "int64"),
    )
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    result.to_parquet(buffer, index=False)
    write_atomic(fsspec.filesystem("file"), str(out / "extracted.parquet"), buffer.getvalue())
    data = summarise(spans_text, extracted, ids=ids)
    write_json(out / "summary.json", data)
    (out / "report.html").write_text(render_html(data), encoding="utf-8")
    console.print(f"read [bold]{len(texts):,}[/] descriptions; facts per field:")
    for name in FIELDS:
        info = data["fields"][name]
        if info["found"]:
            console.print(f"  {name:<22} {info['found']:>8,}  ({info['share']:.1%})")
    masked = ", ".join(f"{v:,} {k}" for k, v in data["contacts"].items())
    console.print(f"contact details in the texts (masked in the report): {masked}")
    console.print(f"wrote {out / 'extracted.parquet'}, {out / 'report.html'}")
