"""`estimo audit` and `estimo clean`: the data-quality report and the cleaning policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich import box
from rich.table import Table

from estimo.cli._common import console, handle_errors, load, out_folder
from estimo.errors import EstimoError
from estimo.io import summary_with_load_drops, with_load_drops, write_parquet
from estimo.jsonutil import write_json
from estimo.progress import step_progress
from estimo.quality.auditor import STEPS, audit
from estimo.quality.clean import CleaningPolicy
from estimo.quality.report import QualityReport

DataArg = Annotated[
    str,
    typer.Argument(help="estimo.yaml project file, or a CSV/Parquet file with canonical columns"),
]
_STYLE = {"error": "bold red", "warning": "yellow", "info": "blue"}


def _print_findings(report: QualityReport, limit: int = 25) -> None:
    console.print(findings_table(report, limit, width=console.width))
    if len(report.findings) > limit:
        console.print(f"... and {len(report.findings) - limit} more findings in quality.json")


EXAMPLES_MIN_WIDTH = 110
"""Terminal width from which the findings table shows example values."""


def findings_table(report: QualityReport, limit: int = 25, width: int = 80) -> Table:
    """The findings as a table that fits ``width`` columns: rule and column in one cell
    (wrapped, never cut), examples only on wide terminals."""
    table = Table(title=f"data quality: {report.n_rows:,} rows", box=box.SIMPLE_HEAD)
    table.add_column("severity", no_wrap=True)
    table.add_column("finding (rule:column)", overflow="fold", ratio=1)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    examples = width >= EXAMPLES_MIN_WIDTH
    if examples:
        table.add_column("e.g.", overflow="ellipsis", no_wrap=True, max_width=30)
    for f in report.findings[:limit]:
        cells = [
            f"[{_STYLE[f.severity]}]{f.severity}[/]",
            f.rule + (f":{f.column}" if f.column else ""),
            f"{f.count:,}",
            f"{f.share:.1%}",
        ]
        if examples:
            cells.append("; ".join(f"{v}" for v in (f.example_values or f.example_ids)[:2]))
        table.add_row(*cells)
    return table


def audit_command(
    data: DataArg,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", callback=out_folder, help="folder for quality.json and quality.html"
        ),
    ] = Path("runs/audit"),
    reference: Annotated[
        str | None,
        typer.Option(help="older dataset (project file or data file) to check drift against"),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            help="exit with code 1 when a finding has this severity: error, warning or never"
        ),
    ] = "never",
) -> None:
    """Audit the data: completeness, validity, location, duplicates, consistency, labels, drift."""
    _audit(data, out, reference, fail_on)


@handle_errors
def _audit(data: str, out: Path, reference: str | None, fail_on: str) -> None:
    if fail_on not in ("error", "warning", "never"):
        raise typer.BadParameter(f"--fail-on is {fail_on!r}; expected error, warning or never")
    config, loaded = load(data)
    ref_frame = load(reference)[1].frame if reference else None
    with step_progress("auditing", len(STEPS) - (ref_frame is None), done="auditing:") as advance:
        report = audit(
            loaded.frame,
            config.quality,
            reference=ref_frame,
            progress=advance,
            source=config.data.path,
        )
    paths = report.write(out)
    paths["dropped"] = out / "dropped.parquet"  # the rows loading dropped, with the reason
    with_load_drops(None, loaded.report).to_parquet(paths["dropped"], index=False)
    _print_findings(report)
    console.print(f"\nfiles: {paths['json']}, {paths['html']}, {paths['dropped']}")
    _exit_on(report, fail_on)


def _exit_on(report: QualityReport, fail_on: Literal["error", "warning", "never"] | str) -> None:
    levels = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[fail_on]
    failing = [f for f in report.findings if f.severity in levels]
    if failing:
        raise EstimoError(
            f"{len(failing)} finding(s) of severity {'/'.join(levels)} (--fail-on {fail_on}), "
            f"e.g. {failing[0].rule}: {failing[0].message}"
        )


def clean_command(
    data: DataArg,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", callback=out_folder, help="folder for the cleaned table and logs"
        ),
    ] = Path("runs/clean"),
) -> None:
    """Clean the data by the project's policy; log every change and every dropped row."""
    _clean(data, out)


@handle_errors
def _clean(data: str, out: Path) -> None:
    config, loaded = load(data)
    frame = loaded.frame
    with console.status("auditing and cleaning ..."):
        policy = CleaningPolicy(config.quality)
        result = policy.fit_transform(frame)
    out.mkdir(parents=True, exist_ok=True)
    paths = policy.report_.write(out)
    paths["cleaned"] = out / "cleaned.parquet"
    paths["changes"] = out / "changes.parquet"
    paths["dropped"] = out / "dropped.parquet"
    paths["summary"] = out / "cleaning.json"
    write_parquet(result.frame, paths["cleaned"])
    write_parquet(result.changes, paths["changes"])
    with_load_drops(result.dropped, loaded.report).to_parquet(paths["dropped"], index=False)
    s = summary_with_load_drops(result.summary, loaded.report.dropped)
    write_json(paths["summary"], s)
    console.print(
        f"kept [bold]{s['n_output']:,}[/] of {s['n_input']:,} rows, dropped {s['n_dropped']:,}; "
        f"{s['n_changes']:,} values changed in {s['rows_changed']:,} rows"
    )
    for rule, count in s["dropped_by_rule"].items():
        console.print(f"  dropped {count:>7,}  {rule}")
    for rule, count in s["changes_by_rule"].items():
        console.print(f"  changed {count:>7,}  {rule}")
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")
