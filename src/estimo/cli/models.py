"""`estimo models list|show|register|alias|history|rollback|decisions|export-mlflow` and
`estimo promote`.

The registry is ``--registry URL`` (or ``$ESTIMO_REGISTRY__URL``), else the ``registry.url``
of the project file (``--data``/``--project FILE``, else ``estimo.yaml`` in the current
folder when there is one), else ``runs/registry``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from estimo.cli._common import (
    console,
    day_option,
    err_console,
    esc,
    handle_errors,
    load,
    model_folder,
)
from estimo.config import GateConfig, ProjectConfig, load_config
from estimo.errors import ConfigError, DataError
from estimo.registry import ModelManifest, Registry, RegistryError

DEFAULT_REGISTRY = "runs/registry"
PROJECT_FILE = "estimo.yaml"

models_app = typer.Typer(
    name="models",
    help="Versioned models: list, show, register, aliases, history, rollback.",
    no_args_is_help=True,
)

RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        "-r",
        envvar="ESTIMO_REGISTRY__URL",
        help="registry folder or fsspec URL (default: the project file's registry.url, "
        f"else {DEFAULT_REGISTRY})",
        show_default=False,
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why; kept in the history")]


ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help=f"project file whose registry.url to use (default: ./{PROJECT_FILE} if present)",
        show_default=False,
    ),
]


def _registry(
    url: str | None,
    config: ProjectConfig | None = None,
    project: Path | None = None,
    existing: bool = False,
) -> Registry:
    """The registry named by ``--registry``, else the project file's ``registry.url``.

    Parameters
    ----------
    existing : bool
        The command reads the registry: a ``--registry`` folder that does not exist is an
        error, not an empty registry.

    Raises
    ------
    ConfigError
        If ``--registry`` names a file or a path under a file (a registry is a folder or
        URL), does not exist while ``existing``, or the project file is missing or invalid.
    """
    if url:
        if "://" not in url:
            _check_local_registry(url, existing)
        return Registry(url)
    if config is None:
        path = project if project is not None else Path(PROJECT_FILE)
        if project is not None or path.is_file():
            config = load_config(path)
    if config is not None:
        return Registry(config.registry.resolved_url(config.base_dir))
    return Registry(DEFAULT_REGISTRY)


def _check_local_registry(url: str, existing: bool) -> None:
    """Refuse a local ``--registry`` that is a file, lies under a file, or is missing."""
    path = Path(url)
    if path.is_file():
        raise ConfigError(
            f"--registry {url!r} is a file; expected a registry folder or fsspec URL "
            f"(to use a project file's registry.url, pass it with --project {url})"
        )
    blocking = next((p for p in path.parents if p.is_file()), None)
    if blocking is not None:
        raise ConfigError(
            f"--registry {url!r} is under the file {str(blocking)!r}; expected a registry "
            "folder or fsspec URL"
        )
    if existing and not path.exists():
        raise ConfigError(
            f"--registry {url!r} does not exist; expected a registry folder (one is made by "
            "`estimo models register` or `estimo train --register`)"
        )


def _pct(value: Any) -> str:
    return "–" if value is None or value != value else f"{100 * float(value):.1f} %"


# --------------------------------------------------------------------------- list / show


@models_app.command("list")
def list_models(
    registry: RegistryOpt = None,
    project: ProjectOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON manifest per line")] = False,
) -> None:
    """List the versions with their aliases, training window and test accuracy."""
    _list(registry, project, as_json)


@handle_errors
def _list(url: str | None, project: Path | None, as_json: bool = False) -> None:
    reg = _registry(url, project=project, existing=True)
    damaged: dict[str, str] = {}
    manifests = reg.manifests(damaged=damaged)
    if as_json:
        held = reg.aliases.all()
        for m in manifests:
            row = json.loads(m.model_dump_json())
            row["aliases"] = sorted(k for k, v in held.items() if v == m.version)
            typer.echo(json.dumps(row))
        if damaged:
            raise RegistryError("\n".join(damaged.values()))
        return
    if not manifests and not damaged:
        console.print(f"no models in {reg.url} yet (register one with `estimo models register`)")
        return
    damaged_aliases: dict[str, str] = {}
    aliases = reg.aliases.all(damaged=damaged_aliases)
    console.print(f"models in {esc(reg.url)}")
    table = Table(box=None, pad_edge=False, header_style="bold underline")  # fits 80 columns
    table.add_column("version", no_wrap=True)
    table.add_column("aliases", min_width=8)  # the creation day: `models show`
    table.add_column("data to", no_wrap=True)
    for header in ("rows", "test n", "MdAPE", "PE10", "COD"):
        table.add_column(header, justify="right", no_wrap=True)
    for m in manifests:
        held = ", ".join(sorted(k for k, v in aliases.items() if v == m.version))
        rows, until = "–", "–"
        if m.training is not None:  # rows before cleaning: the registry counts the input
            rows, until = f"{m.training.n_rows:,}", str(m.training.date_to or "–")
        test = m.test.overall if m.test is not None else {}
        table.add_row(
            m.version,
            held,
            until,
            rows,
            f"{test.get('n', 0):,}" if test else "–",
            _pct(test.get("mdape")),
            _pct(test.get("pe10")),
            _pct(test.get("cod")),
        )
    for version in damaged:
        held = ", ".join(sorted(k for k, v in aliases.items() if v == version))
        table.add_row(version, held, "[red]damaged manifest.json[/]", "", "", "", "", "")
    console.print(table)
    console.print("rows: the training data's rows before cleaning; data to: its last date")
    problems = [*damaged.values(), *damaged_aliases.values()]
    if problems:  # the healthy versions are listed; the damage is the command's error
        raise RegistryError("\n".join(problems))


@models_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="version (v3 or 3), 'latest' or alias")],
    registry: RegistryOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
    project: ProjectOpt = None,
) -> None:
    """Show a version's manifest: provenance, data fingerprints and test metrics."""
    _show(ref, registry, as_json, project)


@handle_errors
def _show(ref: str, url: str | None, as_json: bool, project: Path | None) -> None:
    reg = _registry(url, project=project, existing=True)
    manifest = reg.manifest(ref)
    if as_json:
        typer.echo(manifest.to_json())
        return
    _print_manifest(reg, manifest)


def _print_manifest(reg: Registry, m: ModelManifest, gate_rules: GateConfig | None = None) -> None:
    facts = Table(title=f"{m.version} in {reg.url}", show_header=False)
    facts.add_column("field")
    facts.add_column("value")
    code = m.code
    rows = [
        ("aliases", ", ".join(reg.aliases.aliases_of(m.version)) or "–"),
        ("created", f"{m.created_at:%Y-%m-%d %H:%M:%S} UTC by {m.created_by}"),
        (
            "code",
            f"estimo {code.estimo}, commit {code.git_commit or 'unknown'}"
            + (" (uncommitted changes)" if code.git_dirty else ""),
        ),
        ("model", f"{m.model_kind or m.model_class}, {len(m.features)} features"),
        ("valuation date", str(m.valuation_date or "–")),
    ]
    if m.training is not None:
        rows.append(
            (
                "training data",
                f"{m.training.n_rows:,} rows, {m.training.date_from} .. "
                f"{m.training.date_to}, {m.training.fingerprint}",
            )
        )
    if m.test is not None:
        rows.append(
            (
                "test data" if m.test.kind == "test" else "validation slice (no test rows)",
                f"{m.test.data.n_rows:,} rows, {m.test.data.date_from} .. "
                f"{m.test.data.date_to}, {m.test.data.fingerprint}",
            )
        )
        overall = m.test.overall
        rows.append(
            (
                f"{m.test.kind} accuracy",
                f"MdAPE {_pct(overall.get('mdape'))}, PE10 "
                f"{_pct(overall.get('pe10'))}, COD {_pct(overall.get('cod'))}"
                + (f", coverage {_pct(overall['coverage'])}" if "coverage" in overall else ""),
            )
        )
    if m.quality is not None:
        from estimo.promote.gate import check_quality

        findings = m.quality.get("findings") or []
        gate = check_quality(m.quality, gate_rules or GateConfig())
        rows.append(
            (
                "data quality",
                f"{len(findings)} findings"
                + (" (trained on cleaned data)" if m.quality.get("cleaned") else "")
                + f"; gate: {gate.message}",
            )
        )
    if m.description:
        rows.append(("description", m.description))
    for name, value in rows:
        facts.add_row(name, value)
    console.print(facts)
    if m.test is not None:
        from estimo.evaluate.segments import format_metrics_table

        for column, records in m.test.segments.items():
            frame = pd.DataFrame(records)
            if not frame.empty and "n" in frame:
                frame.attrs["segment_by"] = [column]
                console.print(format_metrics_table(frame, title=f"test accuracy per {column}"))


# --------------------------------------------------------------------------- register


@models_app.command("register")
def register(
    model_dir: Annotated[
        Path, typer.Argument(callback=model_folder, help="model folder written by `estimo train`")
    ],
    registry: RegistryOpt = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="project file or data the model was trained on: fingerprints the training "
            "rows, audits them, and scores the rows after the training window as test set"
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            callback=day_option, help="end of the training window when the model does not record it"
        ),
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="point this alias (e.g. challenger) at the new version")
    ] = None,
    quality_report: Annotated[
        Path | None, typer.Option(help="quality report JSON (`estimo audit`) of the training data")
    ] = None,
    cleaned: Annotated[
        bool,
        typer.Option(
            help="the model was trained on cleaned data (recorded; the findings stay open "
            "for the gate's data-quality rule)"
        ),
    ] = False,
    description: Annotated[str, typer.Option(help="free text kept in the manifest")] = "",
) -> None:
    """Register a trained model folder as a new immutable version."""
    _register(model_dir, registry, data, until, alias, quality_report, cleaned, description)


@handle_errors
def _register(
    model_dir: Path,
    url: str | None,
    data: str | None,
    until: str | None,
    alias: str | None,
    quality_report: Path | None,
    cleaned: bool,
    description: str,
) -> None:
    from estimo.evaluate.protocol import saved_calibrator
    from estimo.pipeline import load_bundle
    from estimo.registry import register_model

    model = load_bundle(str(model_dir))
    quality = None
    if quality_report is not None:
        quality = json.loads(quality_report.read_text(encoding="utf-8"))
    if data is None:
        reg = _registry(url, project=None)
        manifest = reg.add_folder(str(model_dir), description=description)
        if quality is not None:
            err_console.print("[yellow]warning:[/] --quality-report needs --data; not recorded")
    else:
        config, loaded = load(data)
        reg = _registry(url, config)
        train, test = _training_and_test_rows(model, loaded.frame, until)
        if quality is None:
            quality = _audit(train, config)
        manifest = register_model(
            reg,
            model,
            train_frame=train,
            test_frame=test,
            quality=quality,
            quality_cleaned=cleaned,
            calibrator=saved_calibrator(model),
            extra=getattr(model, "bundle_extra_", None),
            min_group_size=config.backtest.min_group_size,
            description=description,
        )
    console.print(f"registered [bold]{manifest.version}[/] in {reg.url}")
    if alias:
        reg.aliases.set(alias, manifest.version, reason=f"registered from {model_dir}")
        console.print(f"alias {alias} -> {manifest.version}")


def _training_and_test_rows(
    model: Any, frame: pd.DataFrame, until: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    window = (getattr(model, "bundle_extra_", None) or {}).get("training_window") or {}
    last = window.get("to") or getattr(model, "trained_until_", None)
    from estimo.split import parse_cutoff

    if until is not None:
        train = frame.loc[frame["date"] < parse_cutoff(until)]
    elif last is not None:
        start = pd.Timestamp(window["from"]) if window.get("from") else frame["date"].min()
        train = frame.loc[(frame["date"] >= start) & (frame["date"] <= pd.Timestamp(last))]
    else:
        raise ConfigError(
            "the model does not record its training window; give --until YYYY-MM-DD "
            "(the date the training rows end before)"
        )
    if train.empty:
        raise DataError(
            ["no rows of --data fall in the model's training window"],
            header="cannot describe the training data",
        )
    from estimo.evaluate.protocol import new_property_rows

    test = new_property_rows(frame, after=train["date"].max(), seen_ids=train["id"])
    return train, test.frame


def _audit(train: pd.DataFrame, config: ProjectConfig) -> Any:
    try:
        from estimo.quality import audit
    except ImportError:  # pragma: no cover - the quality package is part of estimo
        return None
    with console.status("auditing the training rows ..."):
        return audit(train, config.quality)


# --------------------------------------------------------------------------- aliases


@models_app.command("alias")
def alias(
    name: Annotated[str, typer.Argument(help="alias, e.g. champion or challenger")],
    version: Annotated[str, typer.Argument(help="version to point it at (v3, 3 or latest)")],
    registry: RegistryOpt = None,
    reason: ReasonOpt = "",
    project: ProjectOpt = None,
) -> None:
    """Point an alias at a version (by hand; `estimo promote` applies the gate)."""
    _alias(name, version, registry, reason, project)


@handle_errors
def _alias(name: str, version: str, url: str | None, reason: str, project: Path | None) -> None:
    reg = _registry(url, project=project)
    target = reg.resolve(version)
    reg.verify(target)  # a damaged version is never served: refused here, naming the file
    event = reg.aliases.set(name, target, reason=reason or "set by hand")
    console.print(f"{name}: {event.from_version or '(unset)'} -> [bold]{event.to_version}[/]")


@models_app.command("history")
def history(
    name: Annotated[str | None, typer.Argument(help="alias (default: all)")] = None,
    registry: RegistryOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Which version held which alias when, who changed it and why."""
    _history(name, registry, project)


@handle_errors
def _history(name: str | None, url: str | None, project: Path | None) -> None:
    reg = _registry(url, project=project)
    events = reg.aliases.history(name)
    if not events:
        console.print("no alias has been set yet")
        return
    table = Table(title=f"alias history in {reg.url}")
    for header in ("when (UTC)", "alias", "action", "from", "to", "by", "reason"):
        table.add_column(header)
    for e in events:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.alias,
            e.action,
            e.from_version or "–",
            e.to_version or "–",
            e.by,
            e.reason + (f" [{e.decision}]" if e.decision else ""),
        )
    console.print(table)


@models_app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="alias to roll back, e.g. champion")],
    to: Annotated[
        str | None, typer.Option("--to", help="version (default: the previous holder)")
    ] = None,
    registry: RegistryOpt = None,
    reason: ReasonOpt = "",
    project: ProjectOpt = None,
) -> None:
    """Point an alias back at the version that held it before."""
    _rollback(name, to, registry, reason, project)


@handle_errors
def _rollback(
    name: str, to: str | None, url: str | None, reason: str, project: Path | None
) -> None:
    reg = _registry(url, project=project)
    target = reg.resolve(to) if to else reg.aliases.previous(name)
    if target is not None:
        reg.verify(target)  # a damaged version is never served: refused here, naming the file
    event = reg.aliases.rollback(name, to=target, reason=reason or "rollback")
    console.print(f"{name} rolled back: {event.from_version} -> [bold]{event.to_version}[/]")


# --------------------------------------------------------------------------- decisions, mlflow


@models_app.command("decisions")
def decisions(registry: RegistryOpt = None, project: ProjectOpt = None) -> None:
    """List the gate's recorded decisions."""
    _decisions(registry, project)


@handle_errors
def _decisions(url: str | None, project: Path | None) -> None:
    from estimo.promote.record import list_decisions

    reg = _registry(url, project=project)
    table = Table(title=f"gate decisions in {reg.url}")
    for header in ("when (UTC)", "candidate", "alias", "champion", "outcome", "failed checks"):
        table.add_column(header)
    for d in list_decisions(reg):
        table.add_row(
            f"{d.created_at:%Y-%m-%d %H:%M:%S}",
            d.candidate,
            d.alias,
            d.champion or "–",
            d.outcome,
            ", ".join(d.failed) or "–",
        )
    console.print(table)


@models_app.command("export-mlflow")
def export_mlflow(
    tracking_uri: Annotated[
        str, typer.Option(help="MLflow tracking URI, e.g. sqlite:///mlflow.db")
    ],
    registry: RegistryOpt = None,
    model_name: Annotated[str, typer.Option(help="MLflow registered model name")] = "estimo",
    registry_uri: Annotated[
        str | None, typer.Option(help="MLflow model registry URI (default: tracking URI)")
    ] = None,
) -> None:
    """Mirror versions, aliases, metrics and artefacts into MLflow (needs the mlflow extra)."""
    _export_mlflow(tracking_uri, registry, model_name, registry_uri)


@handle_errors
def _export_mlflow(
    tracking_uri: str, url: str | None, model_name: str, registry_uri: str | None
) -> None:
    from estimo.integrations.mlflow import export_registry

    reg = _registry(url)
    with console.status("exporting to MLflow ..."):
        result = export_registry(
            reg, tracking_uri=tracking_uri, registry_uri=registry_uri, model_name=model_name
        )
    console.print(
        f"MLflow model {model_name!r}: {len(result.created)} versions exported, "
        f"{len(result.skipped)} already there; aliases: "
        + (", ".join(f"{k} -> {v}" for k, v in result.aliases.items()) or "none")
    )


# --------------------------------------------------------------------------- promote


def promote(
    candidate: Annotated[str, typer.Argument(help="candidate version (v3, 3, latest or alias)")],
    alias: Annotated[str, typer.Option(help="alias the candidate may take")] = "champion",
    data: Annotated[
        str | None,
        typer.Option(help="project file or data with the newest labelled rows (required)"),
    ] = None,
    registry: RegistryOpt = None,
    force: Annotated[
        bool, typer.Option(help="promote even if checks fail (needs --reason)")
    ] = False,
    reason: Annotated[str, typer.Option(help="why (required with --force); recorded")] = "",
    live: Annotated[
        bool | None,
        typer.Option(
            "--live/--no-live",
            help="also compare both models on recent live outcomes (appraisals, sales) from "
            "the monitoring store (default: gate.live_outcomes)",
        ),
    ] = None,
    live_store: Annotated[
        str | None,
        typer.Option(help="monitoring store URL (default: monitor.store_url of the project)"),
    ] = None,
    live_since: Annotated[
        str | None,
        typer.Option(
            callback=day_option,
            help="outcomes of valuations served since this date (default: "
            "gate.live_days before today)",
        ),
    ] = None,
) -> None:
    """Promote a candidate if it passes the gate against the current champion; record why.

    Exit code 0 when promoted (or forced), 1 when rejected, 2 for bad usage.
    """
    _promote(candidate, alias, data, registry, force, reason, live, live_store, live_since)


@handle_errors
def _promote(
    candidate: str,
    alias: str,
    data: str | None,
    url: str | None,
    force: bool,
    reason: str,
    live: bool | None = None,
    live_store: str | None = None,
    live_since: str | None = None,
) -> None:
    from estimo.promote.gate import promote as run_gate

    if force and not reason.strip():
        raise ConfigError('--force needs --reason "..." saying why the gate is overridden')
    if data is None:
        raise ConfigError(
            "give --data: a project file or table with labelled rows newer than both models"
        )
    from estimo.io import load_project

    config = load_project(data)
    reg = _registry(url, config)
    reg.resolve(candidate)  # fail fast on an unknown candidate, before reading the data
    use_live = config.gate.live_outcomes if live is None else live
    store = None
    since = None
    if use_live:
        store = live_store or config.monitor.resolved_store_url(config.base_dir)
        since = _live_since(live_since)
    elif live_store is not None or live_since is not None:
        raise ConfigError("--live-store and --live-since need --live (or gate.live_outcomes)")
    _, loaded = load(data)
    with console.status("comparing candidate and champion ..."):
        decision = run_gate(
            reg,
            candidate,
            loaded.frame,
            alias=alias,
            rules=config.gate,
            force=force,
            reason=reason,
            data_source=data,
            live_store=store,
            live_since=since,
        )
    _print_decision(decision)
    if not decision.promoted:
        raise typer.Exit(code=1)


def _live_since(text: str | None) -> Any:
    """``--live-since`` as a date (None: the gate's default window)."""
    if text is None:
        return None
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise ConfigError(f"--live-since is {text!r}; expected a date such as 2024-05-01") from None


def _print_decision(decision: Any) -> None:
    table = Table(title=f"gate: {decision.candidate} vs {decision.champion or 'no champion'}")
    for header in ("check", "result", "detail"):
        table.add_column(header)
    style = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "skip": "[dim]skip[/]"}
    for check in decision.checks:
        table.add_row(check.name, style[check.status], check.message)
    console.print(table)
    if decision.comparison:
        console.print(f"verdict: {decision.comparison['verdict']}")
    if decision.live is not None:
        console.print(f"on {decision.live['n']} live outcomes: {decision.live['verdict']}")
    colour = {"promoted": "green", "forced": "yellow", "rejected": "red"}[decision.outcome]
    line = f"[bold {colour}]{decision.outcome}[/]: {decision.candidate} for {decision.alias}"
    if decision.outcome == "rejected":
        line += f" (failed: {', '.join(decision.failed)}); {decision.alias} stays " + (
            decision.champion or "unset"
        )
    elif decision.forced:
        line += f" despite failed checks ({', '.join(decision.failed)}): {decision.reason}"
    console.print(line)
    console.print(f"decision record: {decision.record_markdown} (+ .json)")
