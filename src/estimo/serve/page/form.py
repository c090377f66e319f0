"""The page's form: which fields the served model uses, and the submitted form as a record.

:func:`form_fields` reads the served bundle (its features and the categories it was trained
on) and keeps only the fields a home owner can answer, in the page's steps. :func:`parse_form`
turns the submitted strings into the API's record and checks it with the API's own rules
(:class:`~estimo.serve.schemas.PropertyIn` and :func:`~estimo.serve.schemas.check_extra_fields`),
so the page and ``POST /v1/valuations`` accept and refuse the same inputs.

Examples
--------
>>> fields = {f.name: f for f in form_fields(None, frozenset())}
>>> fields["city"].required, fields["area_m2"].step
(True, 'size')
>>> record, errors = parse_form({"city": "Roma", "area_m2": "-3", "rooms": ""}, fields.values())
>>> record, [e["field"] for e in errors]
({'city': 'Roma', 'area_m2': '-3'}, ['area_m2'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from estimo.serve.problems import field_errors
from estimo.serve.schemas import PropertyIn, check_extra_fields

__all__ = ["STEPS", "FormField", "form_fields", "parse_form", "reference_of"]

STEPS: tuple[str, ...] = ("where", "size", "condition", "amenities")
"""The form's steps, in order (the answer comes after them)."""

_CANONICAL: dict[str, str] = {
    "city": "where",
    "neighbourhood": "where",
    "lat": "where",
    "lon": "where",
    "area_m2": "size",
    "rooms": "size",
    "bathrooms": "size",
    "floor": "size",
    "property_type": "size",
    "condition": "condition",
    "year_built": "condition",
}
"""Canonical fields a home owner can answer, and their step (in the page's order)."""


@dataclass(frozen=True)
class FormField:
    """One input of the form.

    Attributes
    ----------
    name : str
        The record's field.
    step : str
        One of :data:`STEPS`.
    kind : str
        ``number``, ``select`` or ``text``.
    required : bool
        Only ``city`` (as in the API); the others accept "I don't know".
    minimum, maximum : float or None
        The API's bounds (inclusive), for the browser's own checks.
    exclusive_minimum : bool
        The lower bound itself is refused (``area_m2 > 0``).
    choices : tuple of str
        Known values of a select (the categories the model was trained on).
    by_city : dict
        For ``neighbourhood``: the known neighbourhoods of each city (then a select of
        them, grouped by city; a text input when the model knows none).
    """

    name: str
    step: str
    kind: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] = ()
    by_city: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def number_step(self) -> str:
        """The ``step`` attribute of a number input: any (the API takes 2.5 rooms too)."""
        return "any"


def _bounds(name: str) -> tuple[float | None, float | None, bool]:
    """The API's bounds of a numeric field of :class:`PropertyIn`."""
    low = high = None
    exclusive = False
    info = PropertyIn.model_fields.get(name)
    for item in info.metadata if info is not None else ():
        if getattr(item, "ge", None) is not None:
            low = float(item.ge)
        if getattr(item, "gt", None) is not None:
            low, exclusive = float(item.gt), True
        if getattr(item, "le", None) is not None:
            high = float(item.le)
    return low, high, exclusive


def _engine(valuer: Any) -> Any:
    """The fitted engine behind a valuer: ``BundleValuer.model`` or the pipeline's engine."""
    model = getattr(valuer, "model", None)
    if model is None:  # PipelineValuer over estimo.pipeline.ValuationPipeline
        model = getattr(getattr(valuer, "pipeline", None), "engine_", None)
    return model


def reference_of(valuer: Any) -> Any:
    """The bundle's training rows kept for the comparables (None if the bundle has none)."""
    finder = getattr(_engine(valuer), "finder_", None)
    return getattr(finder, "reference_", None)


def _features(valuer: Any) -> list[str] | None:
    """The served model's feature columns (None when the bundle does not say)."""
    stage = getattr(_engine(valuer), "stage_", None)
    names = getattr(stage, "feature_names_", None)
    return None if names is None else [str(n) for n in names]


def _known(reference: Any, name: str) -> tuple[str, ...]:
    if reference is None or name not in reference:
        return ()
    values = reference[name].dropna().astype(str)
    return tuple(sorted(v for v in values.unique() if v))


def form_fields(valuer: Any, extra_fields: frozenset[str]) -> list[FormField]:
    """The inputs of the form for the served bundle, in the page's order.

    Parameters
    ----------
    valuer : Valuer or None
        The bundle that answers (its features and categories); None: every canonical field
        a home owner can answer, as free inputs.
    extra_fields : frozenset of str
        Non-canonical columns the service accepts (``serve.extra_fields``); those the model
        uses become amenities.
    """
    features = _features(valuer)
    reference = reference_of(valuer)
    cities = tuple(sorted(str(c) for c in getattr(valuer, "cities", ()) or ()))
    used = set(features) if features is not None else set(_CANONICAL)
    out: list[FormField] = []
    for name, step in _CANONICAL.items():
        if name != "city" and name not in used:
            continue
        spec = PropertyIn.model_fields[name]
        if name == "city":
            choices = cities or _known(reference, "city")
            out.append(
                FormField(name, step, "select" if choices else "text", True, choices=choices)
            )
        elif name == "neighbourhood":
            by_city: dict[str, tuple[str, ...]] = {}
            if reference is not None and "neighbourhood" in reference:
                rows = reference[["city", "neighbourhood"]].dropna().astype(str)
                for city, group in rows.groupby("city"):
                    by_city[str(city)] = tuple(sorted(group["neighbourhood"].unique()))
            kind = "select" if by_city else "text"  # a select of the known ones
            out.append(FormField(name, step, kind, by_city=by_city))
        elif spec.annotation in (float | None,):
            low, high, exclusive = _bounds(name)
            out.append(FormField(name, step, "number", False, low, high, exclusive))
        else:
            choices = _known(reference, name)
            out.append(FormField(name, step, "select" if choices else "text", choices=choices))
    for name in features or ():
        if name in _CANONICAL or name not in extra_fields:
            continue
        known_column = reference is not None and name in reference
        if known_column and reference[name].dtype.kind in "iuf":
            out.append(FormField(name, "amenities", "number", minimum=0.0))
        else:
            out.append(FormField(name, "amenities", "select", choices=_known(reference, name)))
    return out


def parse_form(
    form: Mapping[str, Any], fields: Iterable[FormField], extra_fields: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The record the form describes and its field errors (the API's rules).

    A blank input, or one whose "I don't know" box (``<name>__unknown``) is ticked, is left
    out of the record: the model treats it as missing, as the API does.

    Returns
    -------
    record : dict
        The API's record when valid (as ``PropertyIn.record()``); else the values as typed.
    errors : list of dict
        ``{"field", "value", "message"}`` per bad field, as in the API's problem details,
        with pydantic's error ``code`` and the bound (``limit``) when there is one, for
        :func:`estimo.serve.page.words.error_message`.
    """
    record: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    numeric_extras = set()
    for spec in fields:
        raw = form.get(spec.name)
        if raw is None or form.get(f"{spec.name}__unknown"):
            continue
        value = str(raw).strip()
        if not value:
            continue
        if spec.name not in PropertyIn.model_fields and spec.kind == "number":
            numeric_extras.add(spec.name)
            try:
                record[spec.name] = float(value)
            except ValueError:
                errors.append(
                    {
                        "field": spec.name,
                        "value": value[:40],
                        "message": "expected a number",
                        "code": "float_parsing",
                    }
                )
            continue
        record[spec.name] = value
    try:
        item = PropertyIn.model_validate(record)
    except ValidationError as exc:
        raw = list(exc.errors())
        for error, detail in zip(field_errors(raw, skip=0), raw, strict=True):
            limit = next(iter((detail.get("ctx") or {}).values()), None)
            error["code"] = str(detail.get("type", ""))
            if isinstance(limit, int | float):
                error["limit"] = str(limit)
            errors.append(error)
        return record, errors
    errors.extend(check_extra_fields(item, frozenset(extra_fields) | numeric_extras))
    return (record if errors else item.record()), errors
