"""`estimo value` (a valuation with its explanation) and `estimo explain` (global report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.panel import Panel
from rich.table import Table

from estimo.cli._common import (
    console,
    err_console,
    esc,
    handle_errors,
    load,
    model_folder,
    out_folder,
)
from estimo.errors import ConfigError, DataError, InputError
from estimo.explain.explainer import Explanation
from estimo.explain.global_report import global_report
from estimo.explain.labels import Labeler, missing_labels, readable_name
from estimo.explain.locale import LANGUAGES
from estimo.explain.reference import REFERENCE_FILE, ReferenceTable, reference_sample
from estimo.jsonutil import to_jsonable, write_json
from estimo.property_input import shown

ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model", "-m", callback=model_folder, help="model folder (written by estimo train)"
    ),
]
LangOpt = Annotated[str, typer.Option("--lang", help=f"language: {' | '.join(LANGUAGES)}")]


def value(
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="model folder (written by estimo train)")
    ] = None,
    property_json: Annotated[
        str | None,
        typer.Option(
            "--property",
            "-p",
            help='one property as JSON, e.g. \'{"city": "Milano", "area_m2": 80}\' (or a list)',
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="CSV, JSON or Parquet of properties")
    ] = None,
    lang: LangOpt = "en",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
    reference: Annotated[
        Path | None,
        typer.Option(
            help=f"reference table (default: {REFERENCE_FILE} in the model folder, if any)"
        ),
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="also write each explanation as an HTML fragment here")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="value through a running `estimo serve` at this URL")
    ] = None,
) -> None:
    """Value properties and explain each valuation in plain words."""
    _value(model, property_json, file, lang, as_json, reference, html, url)


@handle_errors
def _value(
    model_dir: Path | None,
    property_json: str | None,
    file: Path | None,
    lang: str,
    as_json: bool,
    reference_path: Path | None,
    html: Path | None,
    url: str | None = None,
) -> None:
    if lang not in LANGUAGES:
        raise ConfigError(f"--lang is {shown(lang)}; expected one of {list(LANGUAGES)!r}")
    if url is not None:
        local = [
            name
            for name, given in (
                ("--model", model_dir),
                ("--reference", reference_path),
                ("--html", html),
            )
            if given is not None
        ]
        if local:  # they were dropped without a word: the service answered instead
            raise ConfigError(
                f"{' and '.join(local)} cannot be used with --url: the service values with its "
                "own model and answers JSON; drop --url to value with a local model"
            )
    records = _read_properties(property_json, file)
    if url is not None:  # the service values them (estimo.cli.serve)
        from estimo.cli.serve import records_of, value_remote

        return value_remote(url, records_of(pd.DataFrame.from_records(records)), lang, as_json)
    if model_dir is None:
        raise ConfigError("give --model DIR (a model folder) or --url URL (a running service)")
    if "://" not in str(model_dir) and not model_dir.is_dir():
        raise ConfigError(f"--model {esc(model_dir)!r} is not a folder; expected a model folder")
    from estimo.pipeline import load_pipeline

    pipeline = load_pipeline(str(model_dir))
    if reference_path is not None:
        pipeline.use_reference(ReferenceTable.load(reference_path))
    valuations, explanations = pipeline.value_records(records, lang=lang)
    if html is not None:
        html.mkdir(parents=True, exist_ok=True)
        for i, explanation in enumerate(explanations):
            (html / f"explanation_{i + 1}.html").write_text(explanation.to_html(), encoding="utf-8")
    if as_json:
        answers = [
            {**e.to_dict(), "valuation": v.to_dict()}
            for v, e in zip(valuations, explanations, strict=True)
        ]
        console.print_json(json.dumps(to_jsonable(answers)))
        return
    for explanation in explanations:
        print_explanation(explanation)


def _read_properties(property_json: str | None, file: Path | None) -> list[dict[str, Any]]:
    """The raw properties to value, from --property (JSON) or --file (CSV, JSON, Parquet).

    The input contract (:mod:`estimo.property_input`) checks them afterwards; here only
    the container: malformed JSON or an unreadable file is bad data (exit 1), giving
    neither or both options is bad usage (exit 2).
    """
    if (property_json is None) == (file is None):
        raise ConfigError("give exactly one of --property JSON or --file PATH")
    if property_json is not None:
        try:
            raw = json.loads(property_json)
        except json.JSONDecodeError as exc:
            raise InputError(
                [
                    {
                        "field": "--property",
                        "value": shown(property_json),
                        "message": f"--property is not valid JSON ({exc.msg} at character "
                        f"{exc.pos}); expected an object such as "
                        '\'{"city": "Milano", "area_m2": 80}\'',
                    }
                ]
            ) from None
        except RecursionError:
            raise InputError(
                [
                    {
                        "field": "--property",
                        "value": shown(property_json),
                        "message": "--property is nested too deeply; expected an object of fields",
                    }
                ]
            ) from None
        records = raw if isinstance(raw, list) else [raw]
        if not records or not all(isinstance(r, dict) for r in records):
            raise InputError(
                [
                    {
                        "field": "--property",
                        "value": shown(property_json),
                        "message": f"--property is {shown(property_json)}; expected a JSON "
                        "object or a list of objects",
                    }
                ]
            )
        return records
    return _file_records(_read_file(file))  # type: ignore[arg-type]


def _file_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a table as records; empty cells are missing fields."""
    out = []
    for row in frame.to_dict(orient="records"):
        record = {}
        for key, value in row.items():
            if isinstance(value, float) and value != value:
                continue
            if value is None or value is pd.NaT:
                continue
            record[str(key)] = value.item() if hasattr(value, "item") else value
        out.append(record)
    if not out:
        raise DataError(["the file holds no properties"], header="cannot value these properties")
    return out


def _json_records(path: Path) -> pd.DataFrame:
    """A JSON file of one property (an object) or a list of them, each value as written
    (pandas' JSON reader turns an id such as "007" into 7 and date-like text into dates).

    Raises
    ------
    ValueError
        If the file is not JSON, or holds something else than objects.
    """
    import json

    content = json.loads(path.read_text(encoding="utf-8"))
    items = [content] if isinstance(content, dict) else content
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("expected a JSON object or a list of objects")
    return pd.DataFrame.from_records(items)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"--file {esc(path)!r} is not a file")
    suffix = path.suffix.lower()
    readers = {
        ".csv": lambda p: pd.read_csv(p, dtype={"id": str}),  # an id as written: "007"
        ".json": _json_records,
        ".parquet": pd.read_parquet,
        ".pq": pd.read_parquet,
    }
    if suffix not in readers:
        raise ConfigError(
            f"--file {esc(path)!r} has suffix {shown(suffix)}; expected .csv, .json or .parquet"
        )
    try:
        return readers[suffix](path)
    except (ValueError, OSError, UnicodeError) as exc:
        why = str(exc) if suffix == ".json" else type(exc).__name__
        raise DataError(
            [f"--file {path.name!r} cannot be read as {suffix[1:]} ({esc(why)[:200]})"],
            header="cannot value these properties",
        ) from None


def warmup(
    model: Annotated[str, typer.Argument(callback=model_folder, help="pipeline folder or URL")],
) -> None:
    """Compile and cache the fast explanation kernels (numba) by valuing one property with
    the model: run it once when building a container image, so the first request is fast."""
    _warmup(model)


@handle_errors
def _warmup(model: str) -> None:
    import time

    from estimo.pipeline import load_pipeline

    started = time.perf_counter()
    pipeline = load_pipeline(model)
    seconds = pipeline.warm_up()
    console.print(
        f"warmed up {model} in {time.perf_counter() - started:.1f} s "
        f"(first valuation {seconds:.1f} s; kernels cached for later processes)"
    )


def print_explanation(explanation: Explanation) -> None:
    """Print one explanation with rich: headline, reasons table, then the sentences."""
    headline = explanation.total_line
    if explanation.confidence_text and explanation.low is not None:
        headline += "\n" + explanation.confidence_text[0]
    console.print(Panel(esc(headline), title=esc(explanation.headings["title"]), expand=False))
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column("reason")
    table.add_column("amount", justify="right")
    for reason, line in zip(explanation.reasons.reasons, explanation.reason_lines, strict=True):
        label, _, amount = line.rpartition(": ")
        colour = "green" if reason.amount >= 0 else "red"
        table.add_row(esc(label), f"[{colour}]{esc(amount)}[/]")
    sections = explanation.sections()
    heading, paragraphs = sections[0]
    console.print(f"[bold]{esc(heading)}[/]")
    console.print(paragraphs[0], highlight=False, markup=False)
    console.print(table)
    console.print(paragraphs[-1], highlight=False, markup=False)
    for heading, paragraphs in sections[1:]:
        console.print(f"\n[bold]{esc(heading)}[/]")
        for paragraph in paragraphs:
            console.print(paragraph, highlight=False, markup=False)
    console.print()


def explain(
    model: ModelOpt,
    data: Annotated[
        str, typer.Option("--data", "-d", help="estimo.yaml project file, or a CSV/Parquet file")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", callback=out_folder, help="folder for the report")
    ] = Path("runs/explain"),
    lang: Annotated[
        str | None, typer.Option("--lang", help="language (default: the project file's)")
    ] = None,
    sample: Annotated[int, typer.Option(help="properties per city in the report")] = 300,
) -> None:
    """Global explanations per city (HTML report) and the reference table for `estimo value`."""
    _explain(model, data, out, lang, sample)


@handle_errors
def _explain(model_dir: Path, data: str, out: Path, lang: str | None, sample: int) -> None:
    from estimo.explain.contributions import feature_names, log_contributions
    from estimo.pipeline import load_pipeline

    pipeline = load_pipeline(str(model_dir))
    model = pipeline.engine_
    config, loaded = load(data)
    settings = config.explain
    language = lang or settings.language
    if language not in LANGUAGES:
        raise ConfigError(f"--lang is {language!r}; expected one of {list(LANGUAGES)!r}")
    frame = loaded.frame.loc[loaded.frame["date"] <= pipeline.trained_until_]
    if frame.empty:
        raise DataError(["no rows of the data fall in the model's training window"])
    frame, _ = pipeline.cleaned(frame)  # the rows as the engine sees them
    with console.status("explaining the model ..."):
        reference_rows = reference_sample(frame)
        contributions = log_contributions(model, reference_rows)
        # the project's labels, else the model's (named as words where nobody labelled)
        labels = {**pipeline.all_labels(), **dict(settings.labels)}
        missing = missing_labels(feature_names(contributions), labels=labels)
        labels.update({name: readable_name(name) for name in missing})
        if missing:
            err_console.print(
                f"  [yellow]warning:[/] {len(missing)} model feature(s) have no label; their "
                f"names are used as words, e.g. {esc(repr(missing[:5]))}: add them to the "
                'project file as explain: {labels: {column: "plain label"}}',
                highlight=False,
            )
        reference = ReferenceTable().fit(reference_rows, contributions)
        labeler = Labeler(language, labels=labels, concepts=settings.concepts)
        report = global_report(
            model, frame, labeler, reference, currency=loaded.currency, sample=sample
        )
    out.mkdir(parents=True, exist_ok=True)
    reference_path = reference.save(out / REFERENCE_FILE)
    html_path = report.write(out)
    json_path = write_json(out / "global_report.json", report.to_dict())
    _print_summary(report.to_dict(), labeler)
    console.print(
        f"\nfiles: {html_path}, {json_path}, {reference_path}\n"
        f"use it with: estimo value --model {model_dir} --reference {reference_path} ..."
    )


def _print_summary(report: dict[str, Any], labeler: Labeler) -> None:
    table = Table(title="what matters most (average effect on a valuation)")
    table.add_column("city")
    table.add_column("top factors")
    locale = labeler.locale
    for city in report["cities"]:
        top = ", ".join(
            f"{labeler.concept_label(item['concept'])} "
            f"{locale.money(item['mean_abs_amount'], report['currency'])}"
            for item in city["importance"][:3]
        )
        table.add_row(esc(city["city"]), esc(top))
    console.print(table)
