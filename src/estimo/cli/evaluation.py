"""`estimo backtest`, `estimo train` and `estimo evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from estimo.bundle_folder import publish_folder, staged_folder
from estimo.cli._common import (
    console,
    day_option,
    esc,
    handle_errors,
    load,
    model_folder,
    out_folder,
)
from estimo.cli.compare import print_report_summary
from estimo.cli.tables import overall_table
from estimo.errors import ConfigError, DataError, EstimoError
from estimo.evaluate.backtest import (
    BacktestResult,
    range_level,
    run_backtest,
    score_predictions,
    write_backtest,
)
from estimo.evaluate.report import evaluation_report
from estimo.evaluate.segments import format_metrics_table
from estimo.index import data_period_months
from estimo.jsonutil import write_json
from estimo.model.avm import AVM
from estimo.model.intervals import calibrated_level
from estimo.pipeline import load_bundle
from estimo.quality.prepare import TrainingData, prepare_training_data
from estimo.split import default_cutoff, parse_cutoff

DataArg = Annotated[
    str,
    typer.Argument(help="estimo.yaml project file, or a CSV/Parquet file with canonical columns"),
]
OutOpt = Annotated[
    Path, typer.Option("--out", "-o", callback=out_folder, help="folder for the run's files")
]


def backtest(
    ctx: typer.Context,
    data: DataArg,
    out: OutOpt = Path("runs/backtest"),
    cutoff: Annotated[
        str | None,
        typer.Option(
            callback=day_option,
            help="first test date, YYYY-MM-DD (default: the project file's, else the "
            "month that leaves ~20 % of rows after it)",
        ),
    ] = None,
    rolling: Annotated[
        bool,
        typer.Option(
            "--rolling",
            help="retrain at successive monthly cut-offs and show how accuracy decays with "
            "model age, per city",
        ),
    ] = False,
    origins: Annotated[int, typer.Option(help="--rolling: number of monthly cut-offs", min=1)] = 4,
    horizon: Annotated[
        int, typer.Option(help="--rolling: months scored after each cut-off", min=1)
    ] = 3,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            help="K-fold cross-validation instead of a cut-off (the default for data "
            "without dates, with backtest.cv_folds folds)",
            min=2,
        ),
    ] = None,
    spatial: Annotated[
        bool,
        typer.Option(
            "--spatial", help="--cv: hold out whole ~2 km cells (default: engine.holdout)"
        ),
    ] = False,
) -> None:
    """Out-of-time evaluation: train before the cut-off, value new properties after it
    (cross-validation for data without dates)."""
    _one_mode(ctx, rolling, cutoff, cv, spatial)
    if rolling:
        _rolling(data, out, origins, horizon)
    else:
        _backtest(data, out, cutoff, cv, spatial)


def _one_mode(
    ctx: typer.Context, rolling: bool, cutoff: str | None, cv: int | None, spatial: bool
) -> None:
    """Refuse options of another kind of backtest than the one asked for (usage error):
    they were ignored without a word, and the user read another evaluation than asked."""
    given = {
        name
        for name in ("origins", "horizon")
        if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
    }
    if rolling:
        others = [o for o, v in (("--cutoff", cutoff), ("--cv", cv), ("--spatial", spatial)) if v]
        if others:
            raise typer.BadParameter(
                f"not with {' and '.join(others)}: a rolling backtest has its own monthly "
                "cut-offs (--origins, --horizon)",
                param_hint="--rolling",
            )
    elif given:
        names = sorted(f"--{g}" for g in given)
        raise typer.BadParameter("applies to --rolling only", param_hint=" and ".join(names))


@handle_errors
def _backtest(data: str, out: Path, cutoff: str | None, cv: int | None, spatial: bool) -> None:
    config, loaded = load(data)
    undated = data_period_months(loaded.frame["date"]) == 0
    if spatial and cv is None and not undated:
        raise ConfigError(
            "--spatial holds out whole cells in cross-validation: give --cv K with it (the data "
            "is dated, so the backtest is out of time)"
        )
    if cv is not None or undated:
        if cutoff is not None and cv is not None:
            raise ConfigError("give either --cutoff or --cv, not both")
        if cutoff is not None:
            day = loaded.frame["date"].iloc[0]
            raise ConfigError(
                f"--cutoff {esc(cutoff)!r} cannot split the data: every row is dated "
                f"{day:%Y-%m-%d}; drop --cutoff to cross-validate (--cv K)"
            )
        _cv_backtest(config, loaded, out, cv or config.backtest.cv_folds, spatial)
        return
    cut = _choose_cutoff(cutoff or config.backtest.cutoff, loaded.frame)
    with console.status("auditing, cleaning and training the valuation engine ..."):
        result = run_backtest(
            loaded.frame,
            cut,
            model_params=engine_params(config, loaded.currency),
            min_group_size=config.backtest.min_group_size,
            quality=config.quality,
        )
    paths = write_backtest(result, out)
    if result.training_data is not None:
        # every row left out, loading and cleaning alike, with its reason (as `train` writes)
        written = result.training_data.write(out / "quality", load_dropped=loaded.report.dropped)
        paths["dropped"] = written["dropped"]
        print_training_data(result.training_data)
    print_backtest(result, loaded.currency)
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")


def _cv_backtest(config: Any, loaded: Any, out: Path, folds: int, spatial: bool) -> None:
    from estimo.evaluate.cv import run_cv_backtest

    spatial = spatial or config.engine.holdout == "spatial"
    repeats = config.backtest.cv_repeats
    console.print(
        f"{folds}-fold {'spatial' if spatial else 'random'} cross-validation"
        + (f", {repeats} repeats" if repeats > 1 else "")
        + ("" if data_period_months(loaded.frame["date"]) else " (the data has no dates)")
    )
    with console.status(f"training {folds * repeats} engines, one per fold ..."):
        result = run_cv_backtest(
            loaded.frame,
            folds,
            repeats=repeats,
            spatial=spatial,
            seed=config.engine.seed,
            model_params={**engine_params(config, loaded.currency), "progress": False},
            min_group_size=config.backtest.min_group_size,
            quality=config.quality,
        )
    paths = write_backtest(result, out)
    if result.training_data is not None:
        console.print("last fold's training rows:", highlight=False)
        print_training_data(result.training_data)
    print_backtest(result, loaded.currency)
    console.print(f"\nfiles: {', '.join(str(p) for p in paths.values())}")


@handle_errors
def _rolling(data: str, out: Path, origins: int, horizon: int) -> None:
    from estimo.cli.compare import print_rolling
    from estimo.evaluate.rolling import run_rolling_backtest, write_rolling

    config, loaded = load(data)
    params = {**engine_params(config, loaded.currency), "progress": False}
    result = run_rolling_backtest(
        loaded.frame,
        n_origins=origins,
        horizon=horizon,
        factory=lambda: AVM(**params),
        min_group_size=config.backtest.min_group_size,
        progress=True,
        quality=config.quality,
    )
    print_rolling(result)
    paths = write_rolling(result, out)
    console.print(f"\nfiles: {', '.join(str(p) for p in _as_list(paths))}")


def print_training_data(prepared: TrainingData) -> None:
    """One paragraph on what the audit and the cleaning policy did to the training rows."""
    summary = prepared.summary()
    counts = summary["quality"]["findings"]
    calibration = summary.get("calibration") or {}
    text = (
        f"data quality: findings {', '.join(f'{n} {k}' for k, n in counts.items()) or 'none'}; "
        f"{summary['quality']['rows_with_errors']:,} rows with errors. Cleaning kept "
        f"{summary['n_rows']:,} training rows, dropped {summary['n_dropped']:,} and changed "
        f"{summary['n_changes']:,} values"
    )
    if calibration.get("n_pairs"):
        text += (
            f"; asking prices calibrated to sale prices from {calibration['n_pairs']:,} pairs "
            f"(sale/asking {calibration['global_ratio']:.3f})"
        )
    console.print(text, highlight=False)
    print_dropped_rows(prepared)


def print_dropped_rows(prepared: TrainingData) -> None:
    """How many training rows cleaning dropped and why; a warning over the threshold."""
    settings = prepared.policy.config if prepared.policy is not None else None
    warn_share = settings.clean.warn_dropped_share if settings is not None else 0.05
    lines, too_many = prepared.dropped_lines(warn_share)
    if too_many:
        lines[0] = (
            f"[bold yellow]warning: {lines[0]}, over {100 * warn_share:.0f} %[/] "
            "(quality.clean settings decide what is dropped)"
        )
    for line in lines:
        console.print(line, highlight=False)


def _as_list(paths: Any) -> list[Any]:
    return list(paths.values()) if isinstance(paths, dict) else [paths]


def engine_params(config: Any, currency: str) -> dict[str, Any]:
    """AVM arguments from the project file's ``engine`` section."""
    return {**config.engine.model_dump(), "currency": currency, "progress": True}


def offset_choice_line(report: dict[str, Any] | None) -> str:
    """One line on the engine's choice of ``use_offset`` (empty when it tried one value).

    Examples
    --------
    >>> print(offset_choice_line({"chosen": False, "tried": {
    ...     "true": {"mdape": 0.054, "n": 177}, "false": {"mdape": 0.051, "n": 177}}}))
    ... # doctest: +NORMALIZE_WHITESPACE
    model learns the log price from the city level (validation MdAPE 5.1 % against 5.4 % on
    top of the neighbours' price per m² × area)
    >>> offset_choice_line({"chosen": True, "tried": {"true": {"mdape": 0.05, "n": 9}}})
    ''
    """
    tried = (report or {}).get("tried", {})
    if len(tried) < 2:
        return ""
    kept, other = ("true", "false") if report["chosen"] else ("false", "true")
    words = {
        "true": "on top of the neighbours' price per m² × area",
        "false": "from the city level",
    }
    return (
        f"model learns the log price {words[kept]} (validation MdAPE "
        f"{100 * tried[kept]['mdape']:.1f} % against {100 * tried[other]['mdape']:.1f} % "
        f"{words[other]})"
    )


def outlier_share_line(share: float | None) -> str:
    """One line on the ranges' allowance for prices the cleaning dropped as outliers
    (empty under 0.1 %: the ranges move by less than a tenth of a point).

    Examples
    --------
    >>> print(outlier_share_line(0.023))  # doctest: +NORMALIZE_WHITESPACE
    ranges calibrated for all prices: 2.3 % of the training prices were dropped as outliers
    and no range holds prices like them, so each range is set to hold more of the others
    (an 80 % range 81.9 %)
    >>> outlier_share_line(0.0003)
    ''
    """
    if share is None or share < 0.001:
        return ""
    return (
        f"ranges calibrated for all prices: {100 * share:.1f} % of the training prices were "
        "dropped as outliers and no range holds prices like them, so each range is set to "
        f"hold more of the others (an 80 % range {100 * calibrated_level(0.8, share):.1f} %)"
    )


def print_backtest(result: BacktestResult, currency: str = "") -> None:
    """Print the split, the overall numbers, the per-city table and the engine's choices."""
    console.print(result.split.describe())
    engine = result.metrics.get("engine", {})
    validation = engine.get("validation", {})
    if validation:
        parts = [
            f"{name} MdAPE {100 * validation[name]['mdape']:.1f} %"
            for name in ("model", "comps", "blend")
            if validation.get(name, {}).get("n")
        ]
        console.print(
            f"engine fitted in {engine.get('fit_seconds', 0):.0f} s; validation slice "
            f"({validation.get('n', 0):,} new properties from {validation.get('from')}): "
            + ", ".join(parts)
        )
        member = validation.get("plain_member")
        if member and member["engine"].get("n"):
            console.print(
                f"model = engine blended with a plain LightGBM of weight {member['weight']:.2f},"
                " the weight with the smallest mean absolute log error on the slice (not the "
                f"smallest MdAPE: engine alone MdAPE {100 * member['engine']['mdape']:.1f} %,"
                f" plain alone {100 * member['plain']['mdape']:.1f} %)"
            )
        offset_line = offset_choice_line(validation.get("use_offset"))
        if offset_line:
            console.print(offset_line)
        outlier_line = outlier_share_line(validation.get("price_outlier_share"))
        if outlier_line:
            console.print(outlier_line)
    from estimo.evaluate.cv import FoldPlan

    kind = "cross-validated" if isinstance(result.split, FoldPlan) else "out-of-time"
    console.print(overall_table(result.metrics["overall"], title=f"{kind} accuracy"))
    if not result.by_city.empty:
        console.print(format_metrics_table(result.by_city, title="accuracy per city"))
    if len(result.unvalued):
        console.print(
            f"[yellow]{len(result.unvalued)} test rows could not be valued[/] "
            "(see unvalued.parquet), e.g.: " + result.unvalued["reason"].iloc[0]
        )
    new_cities = result.metrics["overall"].get("new_cities")
    if new_cities:
        console.print(
            f"{new_cities['n']:,} of them are of cities unseen in training, which the service "
            f"values with the global model: MdAPE {100 * new_cities['mdape']:.1f} %, "
            f"PE10 {100 * new_cities['pe10']:.1f} % (not in the figures above)"
        )


def train(
    data: DataArg,
    out: OutOpt = Path("runs/model"),
    until: Annotated[
        str | None,
        typer.Option(
            callback=day_option, help="train on rows dated before this date (default: all)"
        ),
    ] = None,
    register: Annotated[
        str | None,
        typer.Option(
            help="also save the model as a new version in this registry (folder or fsspec URL)"
        ),
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="with --register: point this alias at the new version")
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            help="where the city models are trained: local (threads) or ray (Ray tasks, the "
            "same models; a cluster from RAY_ADDRESS; needs estimo\\[ray])"
        ),
    ] = "local",
) -> None:
    """Audit, clean and train the valuation engine; save it (LightGBM text, Parquet, JSON)."""
    _train(data, out, until, register, alias, backend)


@handle_errors
def _train(
    data: str,
    out: Path,
    until: str | None,
    register: str | None,
    alias: str | None,
    backend: str = "local",
) -> None:
    from estimo.model.training_backend import training_backend
    from estimo.pipeline import ValuationPipeline

    if alias is not None and register is None:
        raise ConfigError(
            f"--alias {esc(alias)!r} is given without --register; an alias points at a "
            "registered version: add --register REGISTRY, or drop --alias"
        )
    with training_backend(backend):  # checked (and Ray found) before any work
        pass
    if register is not None:  # before the training: a bad registry wastes no run
        _check_registry_writable(register)
        if alias is not None:
            _check_alias_free(register, alias)
    config, loaded = load(data)
    frame = rows_before(loaded.frame, until, "train")
    pipeline = ValuationPipeline.from_config(config, loaded.currency, progress=True)
    with (
        console.status("auditing, cleaning and training the valuation engine ..."),
        training_backend(backend),
    ):
        pipeline.fit(frame)
    prepared = pipeline.training_data_
    print_training_data(prepared)
    window = pipeline.facts_["training_window"]
    extra = {"currency": loaded.currency, "quality": prepared.summary()}
    if register is not None:  # registered first: a failed registration leaves no --out folder
        _register_trained(register, alias, pipeline, frame, prepared, loaded, config, extra)
    with staged_folder(str(out)) as staging:  # the model and its quality report at once
        pipeline.save(staging, extra={**extra, "training_window": window})
        prepared.write(Path(staging) / "quality", load_dropped=loaded.report.dropped)
        publish_folder(staging, str(out))
    engine = pipeline.engine_
    console.print(
        f"trained on {len(prepared.frame):,} rows ({window['from']} .. {window['to']}), "
        f"{len(pipeline.feature_names_)} features, {len(engine.stage_.model.boosters_)} "
        f"sub-models; saved the valuation pipeline to {out} (with quality/)"
    )
    served = pd.Series({c: r["served_by"] for c, r in engine.routing_.items()})
    console.print(
        "sub-model per city: " + ", ".join(f"{esc(c)} -> {esc(s)}" for c, s in served.items())
    )


def _check_registry_writable(url: str) -> None:
    """Refuse a ``--register`` registry that cannot be created or written (usage error)."""
    from estimo.registry.store import Registry

    registry = Registry(url)
    try:
        registry.fs.makedirs(registry.root, exist_ok=True)
        probe = f"{registry.root}/.estimo-write-check"
        registry.fs.pipe_file(probe, b"")
        registry.fs.rm_file(probe)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(
            f"--register {esc(url)!r} cannot be written ({why}); expected a registry folder "
            "or URL this user can write to"
        ) from None


GATED_ALIAS = "champion"
"""The alias ``estimo promote`` moves through the gate: training never takes it from the
version that holds it."""


def _check_alias_free(url: str, alias: str) -> None:
    """Refuse ``train --alias champion`` when a version holds it already: a new champion
    passes the gate (``estimo promote``); the first one may be set by training."""
    from estimo.registry.store import Registry

    held = Registry(url).aliases.get(alias) if alias == GATED_ALIAS else None
    if held is not None:
        raise ConfigError(
            f"--alias {esc(alias)!r} is held by {held}: a new {alias} passes the promotion gate "
            f"(register without --alias or with --alias challenger, then `estimo promote "
            f"VERSION`), or is set by hand with `estimo models alias {alias} VERSION --reason ...`"
        )


def _register_trained(
    url: str,
    alias: str | None,
    model: Any,
    frame: pd.DataFrame,
    prepared: TrainingData,
    loaded: Any,
    config: Any,
    extra: dict[str, Any],
) -> None:
    """Register a model just trained on ``frame`` (the raw rows of its window, as
    ``estimo models register --data`` describes them): its test metrics (the rows after
    its window, by the evaluation protocol) or, without such rows, its validation figures
    (labelled so), and the quality findings of its training rows (for the gate's
    data-quality rule)."""
    from estimo.evaluate.protocol import new_property_rows
    from estimo.registry import register_model
    from estimo.registry.store import Registry

    test = new_property_rows(loaded.frame, after=frame["date"].max(), seen_ids=frame["id"]).frame
    held_before = Registry(url).aliases.get(alias) if alias is not None else None
    manifest = register_model(
        url,
        model,
        train_frame=frame,
        test_frame=test if len(test) else None,
        quality=prepared.report,
        quality_cleaned=config.quality.enabled,
        policy=None,  # the pipeline cleans the rows itself
        calibrator=model.calibrator_,
        validation=model.engine_.validation_,
        min_group_size=config.backtest.min_group_size,
        alias=alias,
        parameters=config.engine.model_dump(),
        extra=extra,
    )
    scored = manifest.test
    what = "no accuracy recorded"
    if scored is not None:
        what = (
            f"{scored.kind} PE10 {100 * scored.overall.get('pe10', float('nan')):.1f} % on "
            f"{scored.overall.get('n', 0):,} rows"
        )
        if scored.kind == "validation":
            what += " (no labelled rows after the training window: use --until to keep some)"
    n_findings = len((manifest.quality or {}).get("findings") or [])
    console.print(
        f"registered as {manifest.version} in {url}: {what}; {n_findings} quality findings"
    )
    if alias is not None:
        console.print(f"{alias}: {held_before or '(unset)'} -> [bold]{manifest.version}[/]")


def rows_before(frame: pd.DataFrame, until: str | None, purpose: str) -> pd.DataFrame:
    """The rows dated before ``until`` (all rows when None).

    Raises
    ------
    DataError
        If no row is left ("nothing to ``purpose`` on").
    """
    if until is None:
        return frame
    kept = frame.loc[frame["date"] < parse_cutoff(until)]
    if kept.empty:
        raise DataError([f"no rows dated before {until}"], header=f"nothing to {purpose} on")
    return kept


def prepared_training_rows(frame: pd.DataFrame, config: Any) -> TrainingData:
    """Audit, clean and weigh training rows by the project's ``quality:`` section, and say
    what that did."""
    with console.status("auditing and cleaning the training rows ..."):
        prepared = prepare_training_data(frame, config.quality)
    print_training_data(prepared)
    return prepared


def evaluate(
    data: DataArg,
    model: Annotated[
        Path,
        typer.Option("--model", "-m", callback=model_folder, help="folder written by estimo train"),
    ],
    out: OutOpt = Path("runs/evaluate"),
    since: Annotated[
        str | None,
        typer.Option(
            callback=day_option,
            help="score rows dated on/after this date (default: after the model's training window)",
        ),
    ] = None,
) -> None:
    """Score a trained model on labelled data it has not seen."""
    _evaluate(data, model, out, since)


@handle_errors
def _evaluate(data: str, model_dir: Path, out: Path, since: str | None) -> None:
    from estimo.evaluate.protocol import (
        new_property_rows,
        saved_calibrator,
        score_model,
        training_end,
        training_rows,
    )

    model = load_bundle(str(model_dir))
    config, loaded = load(data)
    train = training_rows(model, loaded.frame)
    rows = new_property_rows(
        loaded.frame,
        after=training_end(model),
        since=parse_cutoff(since) if since else None,
        seen_ids=None if train is None else train["id"],
    )
    if rows.frame.empty:
        raise EstimoError(
            f"no labelled rows to score ({rows.facts['rule']}); the data ends "
            f"{loaded.frame['date'].max():%Y-%m-%d} (use --since)"
        )
    valued = score_model(model, rows.frame, calibrator=saved_calibrator(model))
    overall, by_city = score_predictions(
        valued.predictions,
        len(valued.unvalued),
        min_group_size=config.backtest.min_group_size,
        range_level=range_level(model),
    )
    out.mkdir(parents=True, exist_ok=True)
    valued.predictions.to_parquet(out / "predictions.parquet", index=False)
    valued.unvalued.to_parquet(out / "unvalued.parquet", index=False)
    write_json(
        out / "metrics.json",
        {
            "since": since or _day_after(training_end(model)),
            "rows": rows.facts,
            "target": valued.target,
            "overall": overall,
            "by_city": by_city,
        },
    )
    console.print(f"scored {len(valued.predictions):,} properties: {rows.facts['rule']}")
    console.print(overall_table(overall, title=f"accuracy on rows from {rows.facts['from']}"))
    with console.status("writing the evaluation report (segments, reference model, maps) ..."):
        report = evaluation_report(
            valued.predictions,
            rows.frame,
            train=train,
            settings=config.evaluation,
            n_unvalued=len(valued.unvalued),
        )
        report.write(out)
    print_report_summary(report)
    console.print(
        f"\nfiles: {out}/predictions.parquet, unvalued.parquet, metrics.json, report.html, "
        "report.json"
    )


def _day_after(end: pd.Timestamp | None) -> str | None:
    return None if end is None else f"{end + pd.Timedelta(days=1):%Y-%m-%d}"


def _choose_cutoff(cutoff: str | None, frame: pd.DataFrame) -> pd.Timestamp:
    return parse_cutoff(cutoff) if cutoff else default_cutoff(frame)
