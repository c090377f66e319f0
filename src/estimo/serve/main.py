"""Builds the FastAPI app of the valuation service; nothing else happens here.

:func:`create_app` wires settings, the model router (with its catalog), metrics, the request
middleware, the problem handlers and one router per resource: valuations, models, health,
metrics, the valuation page, ``POST /v1/outcomes`` (:mod:`estimo.monitor.api`) and
``POST /v1/photos/check`` (:mod:`estimo.photos.api`; a 501 problem without the photos
extra). With ``serve.monitor.store_url`` set, every valuation answered is recorded in the
monitoring store off the request path (:mod:`estimo.serve.recording`).

On start-up the hot cities are loaded in a background thread (``/readyz`` answers 503 until
then; a catalog that cannot be read is retried with a capped backoff until it can, or the app
stops) and a poller re-reads the aliases every ``serve.alias_poll_seconds`` (a new champion
is served without a restart).
:func:`app_from_env` is the factory uvicorn workers call (settings from ``ESTIMO_SERVE__*``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from estimo import __version__
from estimo.serve.catalog import Catalog, make_catalog
from estimo.serve.guard import Guard
from estimo.serve.guard.body import BodyLimitMiddleware
from estimo.serve.guard.captcha import CaptchaVerifier
from estimo.serve.guard.headers import install_security
from estimo.serve.logs import install_request_id
from estimo.serve.metrics import ServiceMetrics
from estimo.serve.middleware import RequestMiddleware
from estimo.serve.model_router import ModelRouter
from estimo.serve.page.form import reference_of
from estimo.serve.problems import install_problem_handlers
from estimo.serve.recording import ServedRecorder
from estimo.serve.responses import SafeJSONResponse
from estimo.serve.routers import health, metrics, models, outcomes, page, photos, valuations
from estimo.serve.settings import ServeSettings, get_settings

log = logging.getLogger(__name__)

__all__ = ["app_from_env", "create_app"]

DESCRIPTION = (
    "Property valuations with a price range, confidence, reasons in money and comparables. "
    "Every error is RFC 9457 problem details; every response carries X-Request-ID."
)


def create_app(
    settings: ServeSettings | None = None,
    catalog: Catalog | None = None,
    captcha: CaptchaVerifier | None = None,
) -> FastAPI:
    """The valuation service.

    Parameters
    ----------
    settings : ServeSettings, optional
        Default: :func:`~estimo.serve.settings.get_settings` (env + estimo.yaml).
    catalog : Catalog, optional
        Where the bundles are (default: from the settings' registry or model folder).
    captcha : CaptchaVerifier, optional
        Checks captcha tokens (default: ``serve.guard.captcha_verifier``).
    """
    settings = settings or get_settings()
    install_request_id()
    # before LightGBM is imported: one valuation on one core (threads fight on a busy pod)
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.threads_per_request))
    service_metrics = ServiceMetrics()
    service_metrics.budget.set(settings.memory_budget_bytes)
    model_router = ModelRouter(
        catalog or make_catalog(settings),
        settings.memory_budget_bytes,
        hot_cities=settings.hot_cities,
        events=service_metrics,
    )
    recorder = ServedRecorder(settings.monitor) if settings.monitor.store_url else None
    guard = Guard(settings.guard, captcha=captcha)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        retry = (settings.start_retry_seconds, settings.start_retry_max_seconds)
        threads = [
            threading.Thread(target=_start, args=(model_router, guard, stop, retry), daemon=True)
        ]
        if settings.alias_poll_seconds > 0:
            threads.append(
                threading.Thread(
                    target=_poll,
                    args=(model_router, settings.alias_poll_seconds, stop),
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        if recorder is not None:
            recorder.start()
        yield
        stop.set()
        if recorder is not None:
            recorder.close()  # writes what is still buffered

    app = FastAPI(
        title="Estimo valuation service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
        # no 307 to a URL built from the Host header (over http, where clients resend their
        # key): /v1/valuations/ is a 404 problem like any unknown route
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.model_router = model_router
    app.state.metrics = service_metrics
    app.state.guard = guard
    app.state.recorder = recorder
    install_problem_handlers(app)
    for module in (valuations, models, health, metrics, page, outcomes):
        app.include_router(module.router)
    app.include_router(photos.router())
    app.mount(page.STATIC_PATH, page.static_files(), name="page-static")
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.guard.max_body_bytes)
    install_security(app, settings.cors_origins)
    app.add_middleware(RequestMiddleware, metrics=service_metrics)
    return app


def _start(
    model_router: ModelRouter,
    guard: Guard | None = None,
    stop: threading.Event | None = None,
    retry: tuple[float, float] = (1.0, 30.0),
) -> None:
    """Start the router (catalog, hot cities), retrying until it works or ``stop`` is set:
    the first wait is ``retry[0]`` seconds, doubled after each failure up to ``retry[1]``
    (a registry unreachable at start does not leave the service unready for ever)."""
    stop = stop or threading.Event()
    wait, cap = retry
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            model_router.start()
            break
        except Exception as exc:
            log.error(
                "the service cannot start serving from %s (attempt %d, next in %.1f s): %s",
                model_router.catalog.source,
                attempt,
                wait,
                exc,
            )
        if stop.wait(wait):
            return
        wait = min(wait * 2, cap)
    if stop.is_set():
        return
    if attempt > 1:
        log.info("the service started serving at attempt %d", attempt)
    model_router.warm()  # (no-op after hot cities) the first lazy load will not pay for it
    if guard is not None:
        guard.learn_scale(_training_rows(model_router))


def _training_rows(model_router: ModelRouter) -> Any:
    """The global bundle's training rows kept for the comparables (what the extraction
    detector standardises queries by), or None when there are none to read."""
    try:
        return reference_of(model_router.resolve(None).valuer)
    except Exception as exc:  # no global bundle, or it cannot load: the guard keeps its scale
        log.warning("extraction detection keeps a running scale: %s", exc)
        return None


def _poll(model_router: ModelRouter, seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        if not model_router.ready:
            continue
        try:
            model_router.refresh()
        except Exception as exc:  # logged by the router while it has bundles; keep polling
            if not model_router.refs:
                log.error("cannot read the catalog (%s): %s", model_router.catalog.source, exc)


def app_from_env() -> FastAPI:
    """The app from the environment's settings, with JSON logs (``uvicorn --factory``)."""
    from estimo.serve.logs import configure_json_logging

    settings = get_settings()
    configure_json_logging(settings.log_level)
    return create_app(settings)
