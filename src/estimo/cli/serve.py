"""`estimo serve` (the HTTP valuation service) and the remote side of `estimo value --url`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from estimo.cli._common import console, esc, handle_errors
from estimo.errors import ConfigError

SERVE_EXTRA = 'the service needs the serve extra: pip install "estimo[serve]"'


def serve(
    registry: Annotated[
        str | None, typer.Option(help="registry folder or URL (bundles from its aliases)")
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(
            help="alias of the global bundle; city bundles: '<alias>--<city>' "
            "(default: serve.alias from ESTIMO_SERVE__ALIAS or estimo.yaml, else champion)"
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="a model folder, or one folder per city + _global"),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(help="interface to listen on (default: serve.host, else 127.0.0.1)"),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port (default: serve.port, else 8000)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="worker processes (default: serve.workers, else 1)", min=1)
    ] = None,
    hot_city: Annotated[
        list[str] | None,
        typer.Option("--hot-city", help="city loaded before /readyz (repeat; 'global' too)"),
    ] = None,
    memory_budget_mb: Annotated[
        float | None, typer.Option(help="memory budget of the loaded bundles (MiB)")
    ] = None,
) -> None:
    """Serve valuations over HTTP (OpenAPI page at /docs); settings also from estimo.yaml's
    serve section and ESTIMO_SERVE__* variables (an option given here outranks both)."""
    options: dict[str, Any] = {
        "alias": alias,
        "host": host,
        "port": port,
        "workers": workers,
        "hot_cities": hot_city or None,
        "memory_budget_mb": memory_budget_mb,
    }
    _serve(registry, model, {k: v for k, v in options.items() if v is not None})


@handle_errors
def _serve(registry: str | None, model: Path | None, given: dict[str, Any]) -> None:
    """Export the options ``given`` on the command line (and the source chosen by
    ``--registry`` or ``--model``) as ``ESTIMO_SERVE__*`` variables, which the workers read;
    options not given are left to the environment and estimo.yaml."""
    try:
        import uvicorn
        from pydantic import ValidationError

        from estimo.serve.settings import ENV_PREFIX, NONE, get_settings
    except ImportError:
        raise ConfigError(SERVE_EXTRA) from None
    if model is not None and registry is not None:
        raise ConfigError(
            "--registry and --model are both given; expected one: a registry's alias "
            "(--registry URL [--alias champion]) or one model folder (--model DIR)"
        )
    if model is not None and "://" not in str(model) and not model.is_dir():
        raise ConfigError(f"--model {esc(model)!r} is not a folder; expected a model folder")
    options: dict[str, Any] = dict(given)
    if registry is not None:  # the other source is none, whatever the env or estimo.yaml say
        options.update(registry=registry, model=NONE)
    if model is not None:
        options.update(model=str(model.resolve()), registry=NONE)
    for key, value in options.items():  # the workers read the same settings
        os.environ[ENV_PREFIX + key.upper()] = (
            json.dumps(value) if isinstance(value, list) else str(value)
        )
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'serve'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"serve settings are invalid: {problems}") from None
    host, port, workers = settings.host, settings.port, settings.workers
    source = settings.registry and f"registry {settings.registry} alias {settings.alias!r}"
    console.print(
        f"serving {source or 'model ' + str(settings.model)} on http://{host}:{port} "
        f"({workers} worker(s)); OpenAPI at http://{host}:{port}/docs"
    )
    uvicorn.run(
        "estimo.serve.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=False,  # the client address is the guard's to read (trust_forwarded_for)
    )


def value_remote(url: str, records: list[dict[str, Any]], lang: str, as_json: bool) -> None:
    """`estimo value --url`: value ``records`` through a running service and print them."""
    from estimo.client import EstimoClient

    client = EstimoClient(url, lang=lang)
    answers = [client.value(record) for record in records]
    if as_json:
        console.print_json(json.dumps(answers))
        return
    for answer in answers:
        print_answer(answer)


def print_answer(answer: dict[str, Any], comparables: int = 3) -> None:
    """Print one service answer: price, range, confidence, reasons, the first
    ``comparables`` comparables' sentences and the notes."""
    currency = answer.get("currency", "")
    model = answer.get("model") or {}
    console.print(
        f"[bold]{answer['price']:,.0f} {currency}[/] (range {answer['low']:,.0f} .. "
        f"{answer['high']:,.0f}, {answer['confidence']} confidence); bundle "
        f"{model.get('bundle')} version {model.get('version')}, sub-model {answer['sub_model']}"
    )
    explanation = answer.get("explanation") or {}
    text = explanation.get("text", {})
    for line in [text.get("reference"), *text.get("reasons", []), text.get("total")]:
        if line:
            console.print(f"  {line}", highlight=False, markup=False)
    for line in [*text.get("comparables", [])[:comparables], *answer.get("warnings", [])]:
        console.print(f"  - {line}", highlight=False, markup=False)


def records_of(frame: Any) -> list[dict[str, Any]]:
    """JSON-ready records of a canonical frame (missing values left out, dates as ISO)."""
    import pandas as pd

    out = []
    for row in frame.to_dict(orient="records"):
        record = {}
        for key, value in row.items():
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            record[key] = value.date().isoformat() if isinstance(value, pd.Timestamp) else value
        out.append(record)
    return out


def show_service(model: Any, subject: Any, out: Path) -> None:
    """`estimo demo`'s last step: serve ``model`` on a free local port, value ``subject``
    (a one-row canonical frame) over HTTP, print the answer and the OpenAPI page, stop."""
    try:
        from estimo.serve.background import ServiceThread
        from estimo.serve.main import create_app
        from estimo.serve.settings import ServeSettings
    except ImportError:
        console.print(f"\n5. (the HTTP service is skipped: {SERVE_EXTRA})")
        return
    from estimo.client import EstimoClient
    from estimo.model.bundle import save_model
    from estimo.schema import FIELDS

    folder = str(out / "model")
    if hasattr(model, "engine_"):  # the ValuationPipeline, cleaning included, as `estimo train`
        model.save(folder)
    else:
        save_model(model, folder)
    record = records_of(subject.drop(columns=["price", "price_kind", "id"], errors="ignore"))[0]
    extra = [name for name in record if name not in FIELDS]  # the market's own feature columns
    settings = ServeSettings(
        model=folder,
        hot_cities=["global"],
        alias_poll_seconds=0,
        extra_fields=extra,
        guard={"anonymous_tier": "internal"},  # a demo on this machine: no key, full answer
    )
    with ServiceThread(create_app(settings)) as service:
        client = EstimoClient(service.url)
        while not client.health()["ready"]:
            pass
        console.print(
            f"\n5. the valuation service on {service.url} (estimo serve --model {folder})"
        )
        console.print(f"   POST {service.url}/v1/valuations {json.dumps(record, default=str)}")
        answer = client.value(record)
        print_answer(answer, comparables=0)  # step 4 showed them
        if hasattr(model, "value_one"):
            local = model.value_one(record, explain=False).price
            same = "the same price" if answer["price"] == local else f"{local:,.0f} locally"
            console.print(f"   ({same} as `estimo value --model {folder}`)")
        console.print(f"   OpenAPI page: {service.url}/docs (the service stops now)")
