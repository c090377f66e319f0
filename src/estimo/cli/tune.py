"""`estimo tune`: compare engine settings on the validation slice, never on test rows.

Every trial is the project's ``engine:`` section with some settings replaced. Each is
trained the way ``estimo train`` trains (audit, cleaning and weights of the ``quality:``
section) on the rows before ``--until`` (default: the project's backtest cut-off, so that
the backtest's test rows are never read) and scored by
:meth:`estimo.model.avm.AVM.validate` on the new properties of the last
``validation_months`` months: the model alone, the comparables alone and the blend.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from estimo.cli._common import console, day_option, handle_errors, load
from estimo.cli.evaluation import DataArg, OutOpt, prepared_training_rows, rows_before
from estimo.config import engine_with
from estimo.errors import ConfigError
from estimo.jsonutil import write_json
from estimo.model.avm import AVM

TUNE_FILE = "tune.json"


@dataclass(frozen=True)
class Trial:
    """One set of settings and what the validation pass made of it."""

    overrides: dict[str, Any]
    validation: dict[str, Any]
    seconds: float

    @property
    def name(self) -> str:
        """The trial's settings in words (see :func:`settings_name`)."""
        return settings_name(self.overrides)


def settings_name(overrides: dict[str, Any]) -> str:
    """``"huber_delta=0.07 knn_k=10"``, or ``"project settings"`` for none.

    Examples
    --------
    >>> settings_name({"huber_delta": 0.07, "knn_k": 10}), settings_name({})
    ('huber_delta=0.07 knn_k=10', 'project settings')
    """
    if not overrides:
        return "project settings"
    return " ".join(f"{k}={v}" for k, v in overrides.items())


def parse_trial(text: str) -> dict[str, Any]:
    """Settings of one ``--try``: ``key=value`` pairs or a YAML/JSON mapping.

    Values are read as YAML scalars (``0.07`` a number, ``true`` a boolean).

    Examples
    --------
    >>> parse_trial("huber_delta=0.07 knn_k=10")
    {'huber_delta': 0.07, 'knn_k': 10}
    >>> parse_trial('{"dedupe": "weight"}')
    {'dedupe': 'weight'}
    """
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            parsed = yaml.safe_load(stripped)
        else:
            pairs = [p for p in re.split(r"[\s,]+", stripped) if p]
            if not pairs or not all("=" in p and not p.startswith("=") for p in pairs):
                parsed = None
            else:
                parsed = {
                    key: yaml.safe_load(value) for key, value in (p.split("=", 1) for p in pairs)
                }
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed:
        raise ConfigError(
            f"--try {text!r} is not a list of engine settings; expected key=value pairs such "
            "as 'huber_delta=0.07 knn_k=10' or a mapping such as '{huber_delta: 0.07}'"
        )
    return {str(k): v for k, v in parsed.items()}


def trials_table(trials: list[Trial], best: int) -> Table:
    """The trials side by side: MdAPE / PE10 of the blend, the model and the comparables."""
    table = Table(title="validation slice: MdAPE / PE10 in % (new properties)")
    table.add_column("settings")
    for column in ("valuation", "model alone", "comparables", "trees", "s"):
        table.add_column(column, justify="right")

    def cell(report: dict[str, Any]) -> str:
        if not report.get("n"):
            return "–"
        return f"{100 * report['mdape']:.2f} / {100 * report['pe10']:.1f}"

    for i, trial in enumerate(trials):
        v = trial.validation
        table.add_row(
            ("* " if i == best else "") + trial.name,
            cell(v["blend"]),
            cell(v["model"]),
            cell(v["comps"]),
            f"{v.get('trees', 0):,}",
            f"{trial.seconds:.0f}",
        )
    return table


def pe10_error(report: dict[str, Any]) -> float:
    """One standard error of the valuation's PE10 on the validation slice (binomial).

    Examples
    --------
    >>> round(pe10_error({"blend": {"n": 400, "pe10": 0.6}}), 4)
    0.0245
    """
    n, p = report["blend"].get("n", 0), report["blend"].get("pe10", 0.0)
    return (p * (1 - p) / n) ** 0.5 if n else float("nan")


def tune(
    data: DataArg,
    trials: Annotated[
        list[str] | None,
        typer.Option(
            "--try",
            help="engine settings to try, e.g. 'huber_delta=0.07 knn_k=10' (repeat the "
            "option for more trials); the project's settings are always the first trial",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            callback=day_option,
            help="tune on rows dated before this date (default: the project's backtest "
            "cut-off, else every row)",
        ),
    ] = None,
    out: OutOpt = Path("runs/tune"),
) -> None:
    """Compare engine settings on the validation slice (never on test rows); tune.json."""
    _tune(data, trials or [], until, out)


@handle_errors
def _tune(data: str, texts: list[str], until: str | None, out: Path) -> None:
    config, loaded = load(data)
    overrides = [{}, *(parse_trial(text) for text in texts)]
    settings = [engine_with(config.engine, o, source=f"--try {o}") for o in overrides]
    until = until or config.backtest.cutoff
    prepared = prepared_training_rows(rows_before(loaded.frame, until, "tune"), config)
    done: list[Trial] = []
    for i, (changed, engine) in enumerate(zip(overrides, settings, strict=True)):
        params = {**engine.model_dump(), "currency": loaded.currency, "progress": False}
        label = settings_name(changed)
        started = time.perf_counter()
        with console.status(f"trial {i + 1} of {len(settings)} ({label}): validation pass ..."):
            engine = AVM(**params)
            report = engine.validate(prepared.frame, **prepared.fit_arguments(engine.validate))
        done.append(Trial(changed, report, time.perf_counter() - started))
    best = min(range(len(done)), key=lambda i: done[i].validation["blend"]["mdape"])
    first = done[0].validation
    console.print(
        f"tuned on {len(prepared.frame):,} rows"
        + (f" before {until}" if until else "")
        + f"; validation slice: {first.get('n', 0):,} new properties from {first.get('from')}"
    )
    console.print(trials_table(done, best))
    console.print(
        f"* lowest MdAPE of the valuation: {done[best].name}. On {first['blend'].get('n', 0):,} "
        f"properties PE10 is known to about ±{100 * pe10_error(first):.1f} points; a smaller "
        "difference may be chance: check it with another seed (seed=1 in both trials)."
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / TUNE_FILE
    write_json(
        path,
        {
            "data": data,
            "until": until,
            "n_train": len(prepared.frame),
            "best": best,
            "trials": [
                {"settings": t.overrides, "seconds": t.seconds, "validation": t.validation}
                for t in done
            ],
        },
    )
    console.print(f"\nfile: {path}")
