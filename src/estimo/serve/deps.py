"""Dependencies of the routes, as ``Annotated`` aliases (override them in tests).

The app keeps its settings, model router and metrics in ``app.state`` (built by
:func:`estimo.serve.main.create_app`); the getters below read them, so a test replaces any of
them with ``app.dependency_overrides[get_model_router] = lambda: fake``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from estimo.serve.metrics import ServiceMetrics
from estimo.serve.model_router import ModelRouter
from estimo.serve.recording import ServedRecorder
from estimo.serve.settings import LANGUAGES, ServeSettings

__all__ = [
    "LanguageDep",
    "MetricsDep",
    "ModelRouterDep",
    "SettingsDep",
    "get_metrics",
    "get_model_router",
    "get_serve_settings",
    "pick_language",
]


def get_serve_settings(request: Request) -> ServeSettings:
    """The app's settings."""
    return request.app.state.settings


def get_model_router(request: Request) -> ModelRouter:
    """The app's model router."""
    return request.app.state.model_router


def get_metrics(request: Request) -> ServiceMetrics:
    """The app's metrics."""
    return request.app.state.metrics


def get_recorder(request: Request) -> ServedRecorder | None:
    """The app's recorder of served valuations (None: nothing is recorded)."""
    return getattr(request.app.state, "recorder", None)


def pick_language(header: str | None, default: str = "en") -> str:
    """The supported language the ``Accept-Language`` header prefers most.

    Examples
    --------
    >>> pick_language("fr-CH, it;q=0.9, en;q=0.8")
    'it'
    >>> pick_language("en-GB,en;q=0.9"), pick_language(None, "it"), pick_language("de")
    ('en', 'it', 'en')
    """
    if not header:
        return default
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        weight = params.strip().replace(" ", "").lower()  # "Q=0", "q = 0.5" (RFC 9110)
        if weight.startswith("q="):
            try:
                quality = float(weight[2:])
            except ValueError:
                quality = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, position, base))
    return min(ranked)[2] if ranked else default


def get_language(
    settings: Annotated[ServeSettings, Depends(get_serve_settings)],
    accept_language: Annotated[
        str | None,
        Header(description=f"language of the words: {', '.join(LANGUAGES)} (default: en)"),
    ] = None,
) -> str:
    """The answer's language from ``Accept-Language``."""
    return pick_language(accept_language, settings.default_language)


SettingsDep = Annotated[ServeSettings, Depends(get_serve_settings)]
ModelRouterDep = Annotated[ModelRouter, Depends(get_model_router)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
LanguageDep = Annotated[str, Depends(get_language)]
RecorderDep = Annotated[ServedRecorder | None, Depends(get_recorder)]
