"""``GET /`` and ``POST /``: the valuation page (server-rendered; works without script).

The page values with the same bundle, the same record and the same rules as
``POST /v1/valuations`` (:mod:`estimo.serve.page.form`), so its price is the API's price.
The language comes from ``?lang=`` (the switcher), else ``Accept-Language``; the switcher
keeps what was typed (the form's values ride in its links' query, which ``GET /`` puts back
in the form) and the answer (on the answer page each language re-submits the same form).
The input contract's cross-field refusals (8 rooms in 30 m²) are named next to their
field like the per-field errors, in the page's language.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from estimo.errors import EstimoError, InputError
from estimo.explain.labels import Labeler
from estimo.explain.locale import get_locale
from estimo.property_input import MIN_M2_PER_ROOM
from estimo.serve.deps import ModelRouterDep, SettingsDep, get_metrics, pick_language
from estimo.serve.guard import Guard, get_guard
from estimo.serve.guard.page import captcha_token, page_client
from estimo.serve.model_router import NoModelError
from estimo.serve.page.answer import answer_view
from estimo.serve.page.form import STEPS, FormField, form_fields, parse_form
from estimo.serve.page.maps import pin_map
from estimo.serve.page.places import places_of, with_coordinates
from estimo.serve.page.words import CONTRACT, contract_message, error_message, words
from estimo.serve.problems import ProblemError, public_text
from estimo.serve.settings import LANGUAGES, ServeSettings

log = logging.getLogger(__name__)

__all__ = ["STATIC_PATH", "router", "static_files"]

_HERE = Path(__file__).resolve().parent.parent / "page"
STATIC_PATH = "/static/page"
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(tags=["page"], include_in_schema=False)

LangQuery = Annotated[str | None, Query(description="en, it or es (the language switcher)")]


def static_files() -> StaticFiles:
    """The page's script and stylesheet (mounted at :data:`STATIC_PATH`)."""
    return StaticFiles(directory=str(_HERE / "static"))


def _language(request: Request, lang: str | None, settings: ServeSettings) -> str:
    if lang in LANGUAGES:
        return str(lang)
    return pick_language(request.headers.get("accept-language"), settings.default_language)


def _context(
    request: Request,
    lang: str,
    fields: list[FormField],
    settings: ServeSettings,
    **extra: Any,
) -> dict[str, Any]:
    labeler = Labeler(lang)
    locale = get_locale(lang)
    page_words = words(lang)

    def label(name: str) -> str:
        return page_words.get(f"field_{name}") or labeler.label(name)

    def value_word(name: str, value: str) -> str:
        return page_words.get(f"value_{value}") or locale.value_word(name, value)

    values = extra.get("values") or {}
    query = urlencode(values)
    return {
        "request": request,
        "lang": lang,
        "languages": [
            (code, get_locale(code).data.get("language", code), f"?lang={code}&{query}".rstrip("&"))
            for code in LANGUAGES
        ],
        "t": page_words,
        "steps": [(step, [f for f in fields if f.step == step]) for step in STEPS],
        "label": label,
        "error_text": lambda code, limit=None: error_message(
            {"code": code, "limit": None if limit is None else str(limit), "message": code},
            lang,
        ),
        "value_word": value_word,
        "visit_url": settings.page_visit_url,
        "static": STATIC_PATH,
        "values": {},
        "errors": {},
        "pin_maps": {},
        "min_per_room": MIN_M2_PER_ROOM,
        # the cross-field rules the page's script checks as typed ({rooms}, {per}, {floors}
        # filled in by it)
        "per_room_text": CONTRACT.get(lang, CONTRACT["en"])["per_room"].replace(
            "{min}", locale.number(MIN_M2_PER_ROOM)
        ),
        "floor_over_text": CONTRACT.get(lang, CONTRACT["en"])["floor_over"],
        "answer": None,
        "problem": None,
        "captcha_html": None,
        **extra,
    }


_FIELDS: weakref.WeakKeyDictionary[Any, dict[frozenset[str], list[FormField]]] = (
    weakref.WeakKeyDictionary()
)


def _fields(model_router: Any, settings: ServeSettings) -> list[FormField]:
    """The form's fields for the global bundle (it knows every city), once per bundle."""
    valuer = model_router.resolve(None).valuer
    extra = frozenset(settings.extra_fields)
    try:
        cached = _FIELDS.setdefault(valuer, {})
    except TypeError:  # a valuer that cannot be weakly referenced: computed every time
        return form_fields(valuer, extra)
    if extra not in cached:
        cached[extra] = form_fields(valuer, extra)
    return cached[extra]


_PIN_MAPS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def _pin_maps(model_router: Any) -> dict[str, str]:
    """The "where" step's pin map of each city the global bundle knows (once per bundle)."""
    valuer = model_router.resolve(None).valuer

    def build() -> dict[str, str]:
        maps = {city: pin_map(city, points) for city, points in places_of(valuer).cities.items()}
        return {city: svg for city, svg in maps.items() if svg}

    try:
        if valuer not in _PIN_MAPS:
            _PIN_MAPS[valuer] = build()
        return _PIN_MAPS[valuer]
    except TypeError:
        return build()


def _typed(form: Any, fields: list[FormField]) -> dict[str, str]:
    """What the owner typed into the form's fields (and their "I don't know" boxes) only."""
    names = {f.name for f in fields} | {f"{f.name}__unknown" for f in fields}
    return {k: str(v) for k, v in form.items() if k in names and str(v).strip()}


def _render(context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(
        context["request"], "page.html", context, status_code=status
    )
    response.headers["Content-Language"] = context["lang"]
    return response


@router.get("/", response_class=HTMLResponse)
def page(
    request: Request, model_router: ModelRouterDep, settings: SettingsDep, lang: LangQuery = None
) -> HTMLResponse:
    """The form."""
    language = _language(request, lang, settings)
    try:
        fields = _fields(model_router, settings)
    except NoModelError as exc:
        log.error("page without a model: %s", exc)
        context = _context(request, language, [], settings, problem=words(language)["no_model"])
        return _render(context, 503)
    values = _typed(request.query_params, fields)  # a language switch keeps what was typed
    pins = _pin_maps(model_router)
    return _render(_context(request, language, fields, settings, values=values, pin_maps=pins))


@router.post("/", response_class=HTMLResponse)
async def submit(
    request: Request, model_router: ModelRouterDep, settings: SettingsDep, lang: LangQuery = None
) -> HTMLResponse:
    """The answer (or the form again with its errors named field by field)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    language = _language(request, lang or form.get("lang"), settings)
    try:
        fields = _fields(model_router, settings)
    except NoModelError as exc:
        log.error("page without a model: %s", exc)
        context = _context(request, language, [], settings, problem=words(language)["no_model"])
        return _render(context, 503)
    record, errors = parse_form(form, fields, frozenset(settings.extra_fields))
    values = _typed(form, fields)
    pins = _pin_maps(model_router)
    if errors:
        by_field = {e["field"]: error_message(e, language) for e in errors}
        context = _context(
            request, language, fields, settings, values=values, errors=by_field, pin_maps=pins
        )
        return _render(context, 422)
    from estimo.serve.routers.valuations import count_valuation, routed_answer

    guard = get_guard(request)
    client = page_client(request, guard)
    try:
        guard.admit(client, [record], captcha_token(request, form))
    except ProblemError as exc:
        return _refused(exc, request, language, fields, settings, values, guard)

    def value() -> dict[str, Any]:  # loading a model and valuing block: off the event loop
        route = model_router.resolve(record["city"])
        answer = route.valuer.value_one(record, explain=True, lang=language)
        count_valuation(get_metrics(request), route, True)
        if "lat" in record and "lon" in record:  # the public tier's coarse bearings
            answer = with_coordinates(answer, places_of(route.valuer))
        return routed_answer(route, answer)

    try:
        answer = guard.shape(await run_in_threadpool(value), client, record)
    except (NoModelError, EstimoError) as exc:
        log.info("page: cannot value: %s", exc)
        if isinstance(exc, InputError):
            return _contract_refused(exc, request, language, fields, settings, values, pins)
        problem = public_text(str(exc)) if isinstance(exc, EstimoError) else None
        context = _context(
            request,
            language,
            fields,
            settings,
            values=values,
            problem=problem or words(language)["no_model"],
            pin_maps=pins,
        )
        return _render(context, 503 if isinstance(exc, NoModelError) else 422)
    view = answer_view(answer, language, words(language))
    context = _context(request, language, fields, settings, values=values, answer=view)
    return _render(context)


def _contract_refused(
    exc: InputError,
    request: Request,
    language: str,
    fields: list[FormField],
    settings: ServeSettings,
    values: dict[str, str],
    pins: dict[str, str],
) -> HTMLResponse:
    """The form again (422) with the input contract's refusals next to the fields they name
    (a cross-field rule names one field, e.g. ``area_m2`` for 8 rooms in 30 m²); a refusal
    of a field the form does not have is said above the form."""
    names = {f.name for f in fields}
    problems = [p for p in getattr(exc, "problems", []) if isinstance(p, dict)]
    by_field = {
        str(p["field"]): contract_message(p, language) for p in problems if p.get("field") in names
    }
    rest = [contract_message(p, language) for p in problems if p.get("field") not in names]
    context = _context(
        request,
        language,
        fields,
        settings,
        values=values,
        errors=by_field,
        problem=" ".join(rest) or (None if by_field else public_text(str(exc))),
        pin_maps=pins,
    )
    return _render(context, 422)


def _refused(
    exc: ProblemError,
    request: Request,
    language: str,
    fields: list[FormField],
    settings: ServeSettings,
    values: dict[str, str],
    guard: Guard,
) -> HTMLResponse:
    """The form again, with why the guard refused the valuation (429 or 403)."""
    page_words = words(language)
    headers = dict(exc.headers or {})
    if exc.status == 429:
        problem = page_words["too_many"].format(seconds=headers.get("Retry-After", "60"))
    elif exc.kind == "captcha-required":
        problem = page_words["captcha"]
    else:
        problem = page_words["blocked"]
    captcha_html = guard.settings.captcha_widget_html if exc.kind == "captcha-required" else None
    context = _context(
        request, language, fields, settings, values=values, problem=problem,
        captcha_html=captcha_html,
    )  # fmt: skip
    response = _render(context, exc.status)
    response.headers.update(headers)
    return response
