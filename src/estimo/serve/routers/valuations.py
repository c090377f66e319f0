"""``POST /v1/valuations`` (one property) and ``POST /v1/valuations:batch`` (many)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from pydantic import ValidationError

from estimo.errors import EstimoError
from estimo.serve.deps import (
    LanguageDep,
    MetricsDep,
    ModelRouterDep,
    RecorderDep,
    SettingsDep,
)
from estimo.serve.guard import Client, ClientDep, GuardDep
from estimo.serve.logs import request_id
from estimo.serve.metrics import ServiceMetrics
from estimo.serve.model_router import NoModelError, Route
from estimo.serve.page.places import places_of, with_coordinates
from estimo.serve.problems import (
    ProblemError,
    cannot_value,
    field_errors,
    invalid_input,
    public_text,
    shorten,
)
from estimo.serve.responses import SafeJSONResponse as JSONResponse
from estimo.serve.schemas import (
    EXAMPLE_PROPERTY,
    BatchIn,
    BatchOut,
    ProblemOut,
    PropertyIn,
    ValuationOut,
    check_extra_fields,
)
from estimo.serve.valuer import price_only
from estimo.serve.warnings_text import translate_warnings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["valuations"])

ExplainQuery = Annotated[
    bool,
    Query(
        description="false: price, both ranges, confidence, date, warnings and the model that "
        "answered only (no reasons, comparables or blend; faster)"
    ),
]
CaptchaHeader = Annotated[
    str | None,
    Header(alias="X-Captcha-Token", description="captcha token, when a 403 asked for one"),
]

EXAMPLE_VALUATION: dict[str, Any] = {
    "price": 412000.0,
    "low": 371000.0,
    "high": 455000.0,
    "low_90": 358000.0,
    "high_90": 470000.0,
    "currency": "EUR",
    "confidence": "high",
    "confidence_score": 0.86,
    "fsd": 0.07,
    "valuation_date": "2024-05-01",
    "sub_model": "city:Milano",
    "model_price": 405000.0,
    "comps_price": 421000.0,
    "blend_weight": 0.4,
    "comparables": [{"price": 398000.0, "distance_m": 240.0, "similarity": 0.91}],
    "warnings": [],
    "explanation": {
        "language": "en",
        "reasons": [{"concept": "area", "amount": 61000, "text": "Living area 85 m²: +61,000 €"}],
        "text": {"total": "Estimated value: 412,000 €"},
    },
    "model": {"bundle": "milano", "version": "v7", "fallback": False},
}
INVALID_EXAMPLE = {
    "type": "urn:estimo:problem:invalid-input",
    "title": "The request has invalid fields",
    "status": 422,
    "detail": "2 problem(s) with the request: 'area_m2', 'pool'",
    "instance": "/v1/valuations",
    "request_id": "6f1c0d2e9a",
    "errors": [
        {"field": "area_m2", "value": "-80", "message": "Input should be greater than 0"},
        {
            "field": "pool",
            "value": "True",
            "message": "unknown field 'pool'; expected a canonical field",
        },
    ],
}
PROBLEMS = {
    422: {
        "model": ProblemOut,
        "description": "invalid fields, named one by one",
        "content": {"application/problem+json": {"example": INVALID_EXAMPLE}},
    },
    401: {"model": ProblemOut, "description": "no API key, or an unknown or revoked one"},
    403: {"model": ProblemOut, "description": "blocked, or a captcha token is required"},
    413: {"model": ProblemOut, "description": "request body or batch too large"},
    429: {"model": ProblemOut, "description": "over a limit; wait Retry-After seconds"},
    503: {"model": ProblemOut, "description": "no model can be loaded"},
}


def _no_model(exc: NoModelError) -> ProblemError:
    log.error("no model: %s", exc)
    return ProblemError(
        503, "no-model", "No model available", str(exc), headers={"Retry-After": "5"}
    )


def routed_answer(route: Route, answer: dict[str, Any]) -> dict[str, Any]:
    """The valuer's answer with the bundle that answered and the route's own warnings (a
    broken city bundle served by the global model)."""
    answer["model"] = route.model
    if route.warnings:
        answer["warnings"] = [*route.warnings, *answer.get("warnings", [])]
    return answer


def count_valuation(metrics: ServiceMetrics, route: Route, explained: bool) -> None:
    """One more valuation answered by ``route``'s bundle (``estimo_valuations_total``)."""
    metrics.valuations.labels(route.ref.key, "true" if explained else "false").inc()


def _answer(
    route: Route,
    answer: dict[str, Any],
    guard: GuardDep,
    client: Client,
    recorder: RecorderDep,
    record: dict[str, Any],
    rid: str,
    explain: bool,
    lang: str,
) -> dict[str, Any]:
    """The answer the client's tier sees; the full answer is recorded first (monitoring,
    with the engine's English warnings), then its warnings are said in ``lang``.
    Without ``explain``, price and ranges only (:func:`~estimo.serve.valuer.price_only`).
    A public answer's comparables get their coarse bearing from the home (the tier turns
    the comparables' coordinates, looked up in the bundle's reference, into it)."""
    answer = routed_answer(route, answer)
    if recorder is not None:
        recorder.record(rid, record, answer, route.model, client.tier)
    answer["warnings"] = translate_warnings(answer.get("warnings", []), lang)
    if not explain:
        return guard.shape(price_only(answer), client, record)
    if client.tier == "public":
        answer = with_coordinates(answer, places_of(route.valuer))
    return guard.shape(answer, client, record)


@router.post(
    "/valuations",
    summary="Value one property",
    response_model=ValuationOut,
    responses={
        200: {
            "content": {
                "application/json": {
                    "examples": {
                        "explained": {"summary": "with reasons", "value": EXAMPLE_VALUATION},
                        "price_only": {
                            "summary": "explain=false: price and ranges only",
                            "value": price_only(EXAMPLE_VALUATION),
                        },
                    }
                }
            }
        },
        **PROBLEMS,
    },
)
def create_valuation(
    item: Annotated[
        PropertyIn,
        Body(
            openapi_examples={
                "flat": {"summary": "a flat in Milano", "value": EXAMPLE_PROPERTY},
                "minimal": {
                    "summary": "city and area only",
                    "value": {"city": "Roma", "area_m2": 70},
                },
            }
        ),
    ],
    model_router: ModelRouterDep,
    settings: SettingsDep,
    lang: LanguageDep,
    client: ClientDep,
    guard: GuardDep,
    recorder: RecorderDep,
    metrics: MetricsDep,
    captcha: CaptchaHeader = None,
    explain: ExplainQuery = True,
) -> JSONResponse:
    """Price, 80 % and 90 % ranges, confidence, reasons in money, comparables (numbers and
    sentences), warnings, valuation date, currency, the bundle version and sub-model that
    answered. ``Accept-Language`` (en, it, es) picks the words. What is shown depends on the
    API key's tier (``public``: rounded price, range, confidence, reasons in words)."""
    errors = check_extra_fields(item, frozenset(settings.extra_fields))
    if errors:
        raise invalid_input(errors)
    record = item.record()
    guard.admit(client, [record], captcha)
    try:
        route = model_router.resolve(item.city)
    except NoModelError as exc:
        raise _no_model(exc) from None
    answer = route.valuer.value_one(_model_view(record, route), explain=explain, lang=lang)
    count_valuation(metrics, route, explain)
    shown = _answer(route, answer, guard, client, recorder, record, request_id.get(), explain, lang)
    return JSONResponse(shown, headers={"Content-Language": lang})


@router.post(
    "/valuations:batch",
    summary="Value many properties",
    response_model=BatchOut,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "items": [
                            {
                                "index": 0,
                                "ok": True,
                                "request_id": "6f1c0d2e9a:0",
                                "valuation": EXAMPLE_VALUATION,
                            },
                            {
                                "index": 1,
                                "ok": False,
                                "problem": {**INVALID_EXAMPLE, "instance": "/v1/valuations:batch"},
                            },
                        ],
                        "n_ok": 1,
                        "n_failed": 1,
                    }
                }
            }
        },
        **PROBLEMS,
    },
)
def create_valuations(
    batch: BatchIn,
    model_router: ModelRouterDep,
    settings: SettingsDep,
    lang: LanguageDep,
    client: ClientDep,
    guard: GuardDep,
    recorder: RecorderDep,
    metrics: MetricsDep,
    captcha: CaptchaHeader = None,
    explain: ExplainQuery = True,
) -> JSONResponse:
    """One answer per property, in order; a bad property gets its own problem and does not
    fail the batch. Each valuation has its own ``request_id`` (the request's, ``:`` and its
    index), the id its outcomes refer to. At most ``serve.batch_max`` properties (413
    above); every property counts against the limits."""
    n = len(batch.properties)
    if n > settings.batch_max:
        raise ProblemError(
            413,
            "too-large",
            "Batch too large",
            f"the batch holds {n} properties; at most {settings.batch_max} are accepted",
            [
                {
                    "field": "properties",
                    "value": f"{n} properties",
                    "message": f"a batch holds at most {settings.batch_max} properties",
                }
            ],
        )
    items: list[dict[str, Any] | None] = [None] * n
    groups: dict[str, tuple[Route, list[int], list[dict[str, Any]]]] = {}
    routes: dict[str, Route] = {}
    for i, raw in enumerate(batch.properties):
        if not isinstance(raw, dict):  # this item's problem, not the batch's
            items[i] = _failed(i, invalid_input([_not_an_object(raw)]))
            continue
        try:
            item = PropertyIn.model_validate(raw)
        except ValidationError as exc:
            items[i] = _failed(i, invalid_input(field_errors(list(exc.errors()), skip=0)))
            continue
        errors = check_extra_fields(item, frozenset(settings.extra_fields))
        if errors:
            items[i] = _failed(i, invalid_input(errors))
            continue
        if item.city not in routes:
            try:
                routes[item.city] = model_router.resolve(item.city)
            except NoModelError as exc:
                raise _no_model(exc) from None
        route = routes[item.city]
        key = f"{route.ref.key}@{route.ref.version}"
        group = groups.setdefault(key, (route, [], []))
        group[1].append(i)
        group[2].append(item.record())
    guard.admit(client, [r for _, _, records in groups.values() for r in records], captcha, cost=n)
    rid = request_id.get()
    for route, positions, records in groups.values():
        seen = [_model_view(record, route) for record in records]
        answers = route.valuer.value_many(seen, explain=explain, lang=lang)
        for i, record, answer in zip(positions, records, answers, strict=True):
            if isinstance(answer, Exception):
                items[i] = _failed(i, _cannot_value(answer))
            else:
                count_valuation(metrics, route, explain)
                item_id = f"{rid}:{i}"
                items[i] = {
                    "index": i,
                    "ok": True,
                    "request_id": item_id,
                    "valuation": _answer(
                        route, answer, guard, client, recorder, record, item_id, explain, lang
                    ),
                }
    n_ok = sum(1 for item in items if item and item["ok"])
    body = {"items": items, "n_ok": n_ok, "n_failed": n - n_ok}
    return JSONResponse(body, headers={"Content-Language": lang})


def _not_an_object(raw: Any) -> dict[str, str]:
    return {
        "field": "property",
        "value": shorten(raw),
        "message": 'expected an object of fields, e.g. {"city": "Milano", "area_m2": 80}',
    }


def _model_view(record: dict[str, Any], route: Route) -> dict[str, Any]:
    """``record`` without the extra fields the service accepts (``serve.extra_fields``, checked
    before) but the answering model does not use; they are still recorded."""
    from estimo.schema import FIELDS

    pipeline = getattr(route.valuer, "pipeline", None)
    known = pipeline.contract().extra_fields if pipeline is not None else None
    if known is None:
        return record
    return {k: v for k, v in record.items() if k in FIELDS or k in known}


def _cannot_value(exc: Exception) -> ProblemError:
    if isinstance(exc, EstimoError):
        return cannot_value(exc)  # the contract's fields one by one, as a single request's
    log.error("unexpected error valuing a batch item", exc_info=exc)
    return ProblemError(500, "internal", "Internal error", "the service failed on this property")


def _failed(index: int, problem: ProblemError) -> dict[str, Any]:
    body = problem.body("/v1/valuations:batch")
    body["detail"] = public_text(body["detail"])
    return {"index": index, "ok": False, "problem": body}
