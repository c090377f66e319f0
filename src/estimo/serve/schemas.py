"""Request and response models of the API (they also write the OpenAPI document).

:class:`PropertyIn` is the canonical record (:mod:`estimo.schema`) as a request: unknown
fields are refused by name, except the extra feature columns the service is configured to
accept (``serve.extra_fields``, checked by :func:`check_extra_fields`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from estimo.property_input import (
    DEFAULT_RANGES,
    RefusedValueError,
    markup_problem,
    read_date,
    read_number,
)

__all__ = [
    "EXAMPLE_PROPERTY",
    "BatchIn",
    "BatchItem",
    "BatchOut",
    "ModelsOut",
    "ProblemOut",
    "PropertyIn",
    "ValuationOut",
    "check_extra_fields",
]

EXAMPLE_PROPERTY: dict[str, Any] = {
    "city": "Milano",
    "neighbourhood": "Isola",
    "lat": 45.487,
    "lon": 9.19,
    "area_m2": 85,
    "rooms": 3,
    "bathrooms": 1,
    "floor": 2,
    "year_built": 1965,
    "property_type": "flat",
    "condition": "good",
    "date": "2024-05-01",
}


def _low(name: str) -> float | None:
    return DEFAULT_RANGES.get(name, (None, None))[0]


def _high(name: str) -> float | None:
    return DEFAULT_RANGES.get(name, (None, None))[1]


class PropertyIn(BaseModel):
    """One property to value: the canonical record's fields (``city`` is required).

    The first gate of the input contract (:mod:`estimo.property_input`): types (no booleans,
    NaN or Infinity as numbers, no lists, no markup in text) and the cleaning policy's
    default ranges, so the OpenAPI document shows them. The valuer then applies the whole
    contract with the served model's own ranges, training window and categories.
    """

    model_config = ConfigDict(
        extra="allow", allow_inf_nan=False, json_schema_extra={"examples": [EXAMPLE_PROPERTY]}
    )

    city: str = Field(min_length=1, max_length=100, description="city (the model segment)")
    id: str | int | None = Field(default=None, description="property identifier")
    date: str | None = Field(
        default=None,
        description="valuation date, year-month-day (default: today)",
        examples=["2024-05-01"],
        json_schema_extra={"format": "date"},
    )
    neighbourhood: str | int | None = Field(default=None, description="neighbourhood or zip")
    country: str | None = Field(default=None, max_length=100)
    lat: float | None = Field(
        default=None, ge=_low("lat"), le=_high("lat"), description="latitude, WGS84"
    )
    lon: float | None = Field(
        default=None, ge=_low("lon"), le=_high("lon"), description="longitude, WGS84"
    )
    area_m2: float | None = Field(
        default=None, ge=_low("area_m2"), le=_high("area_m2"), description="living area, m²"
    )
    rooms: float | None = Field(default=None, ge=_low("rooms"), le=_high("rooms"))
    bathrooms: float | None = Field(default=None, ge=_low("bathrooms"), le=_high("bathrooms"))
    floor: float | None = Field(
        default=None, ge=_low("floor"), le=_high("floor"), description="0 = ground floor"
    )
    year_built: float | None = Field(default=None, ge=_low("year_built"), le=_high("year_built"))
    property_type: str | None = Field(default=None, max_length=100, description="flat, house, ...")
    condition: str | None = Field(default=None, max_length=100, description="state of repair")
    description: str | None = Field(default=None, max_length=20_000)
    price: float | None = Field(default=None, gt=0, description="known price (not used to value)")
    price_kind: str | None = Field(default=None, description="asking | sale | appraisal")

    @field_validator(
        "lat",
        "lon",
        "area_m2",
        "rooms",
        "bathrooms",
        "floor",
        "year_built",
        "price",
        mode="before",
    )
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        # the input contract's reading of a number (no booleans, no '1_000'), not pydantic's
        if isinstance(value, bool):
            raise ValueError("expected a number, not a boolean")
        if isinstance(value, str):
            try:
                return read_number(value)
            except RefusedValueError as refused:
                raise ValueError(refused.expected) from None
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _a_date(cls, value: Any) -> Any:
        # the input contract's reading of a date (year-month-day text, no numbers)
        if value is None:
            return value
        try:
            read_date(value)
        except RefusedValueError as refused:
            raise ValueError(refused.expected) from None
        return value.strip() if isinstance(value, str) else str(value)

    @field_validator("neighbourhood")
    @classmethod
    def _short_neighbourhood(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 200:
            raise ValueError("expected at most 200 characters")
        return value

    @field_validator(
        "city", "neighbourhood", "country", "property_type", "condition", "price_kind", "id"
    )
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            problem = markup_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("description")
    @classmethod
    def _plain_description(cls, value: Any) -> Any:
        if isinstance(value, str):
            problem = markup_problem(value, free_text=True)
            if problem:
                raise ValueError(problem)
        return value

    def record(self) -> dict[str, Any]:
        """The record for the valuer: set fields only, extras included."""
        out = self.model_dump(exclude_none=True)
        for name in ("id", "neighbourhood"):
            if name in out:
                out[name] = str(out[name])
        return out


def check_extra_fields(item: PropertyIn, allowed: frozenset[str]) -> list[dict[str, str]]:
    """One field error per extra field that is not an allowed feature column."""
    from estimo.serve.problems import shorten

    errors = []
    for name, value in (item.model_extra or {}).items():
        if name not in allowed:
            hint = f" or one of {sorted(allowed)!r}" if allowed else ""
            errors.append(
                {
                    "field": name,
                    "value": shorten(value),
                    "message": f"unknown field {name!r}; expected a canonical field{hint}",
                }
            )
        elif not isinstance(value, int | float | str | bool | None):
            errors.append(
                {
                    "field": name,
                    "value": shorten(value),
                    "message": f"field {name!r} must be a number, text or a boolean",
                }
            )
    return errors


class ComparableOut(BaseModel):
    """A comparable behind the valuation (numbers; sentences are in the explanation)."""

    model_config = ConfigDict(extra="allow")


class ModelFacts(BaseModel):
    """Which bundle answered."""

    bundle: str = Field(description="'global' or the city bundle's key")
    version: str = Field(description="registry version or folder of the bundle")
    fallback: bool = Field(description="the city's own bundle failed; the global one answered")


class ValuationOut(BaseModel):
    """One valuation."""

    model_config = ConfigDict(extra="allow")

    price: float
    low: float = Field(description="low end of the 80 % range")
    high: float = Field(description="high end of the 80 % range")
    low_90: float | None = Field(default=None, description="low end of the 90 % range")
    high_90: float | None = Field(default=None, description="high end of the 90 % range")
    currency: str
    confidence: str = Field(description="high | medium | low")
    fsd: float = Field(description="forecast standard deviation (relative)")
    valuation_date: str
    sub_model: str = Field(description="sub-model that answered, e.g. 'city:Milano'")
    comparables: list[dict[str, Any]] | None = Field(
        default=None, description="comparables as numbers (absent with explain=false)"
    )
    warnings: list[str]
    explanation: dict[str, Any] | None = Field(
        default=None, description="reasons in money and sentences (absent with explain=false)"
    )
    model: ModelFacts


class BatchIn(BaseModel):
    """Up to ``serve.batch_max`` properties."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"properties": [EXAMPLE_PROPERTY, {**EXAMPLE_PROPERTY, "area_m2": 60}]}]
        },
    )

    properties: list[Any] = Field(
        min_length=1,
        description="canonical records (see PropertyIn); each is checked alone (an item that "
        "is not an object gets its own problem)",
    )


class BatchItem(BaseModel):
    """The answer for one property of a batch: a valuation or a problem."""

    index: int
    ok: bool
    request_id: str | None = Field(
        default=None, description="id of this valuation (outcomes refer to it)"
    )
    valuation: ValuationOut | None = None
    problem: dict[str, Any] | None = None


class BatchOut(BaseModel):
    """One item per property, in order."""

    items: list[BatchItem]
    n_ok: int
    n_failed: int


class BundleOut(BaseModel):
    """A bundle the service can serve."""

    bundle: str
    city: str | None
    version: str
    state: str = Field(description="loaded | not loaded | broken")
    cities: list[str]
    memory_bytes: int | None
    load_ms: float | None
    requests: int
    error: str | None = None
    refused_versions: list[str] | None = Field(
        default=None,
        description="versions an alias moved to that could not be loaded (this one serves on)",
    )


class ModelsOut(BaseModel):
    """Which versions serve which cities, loaded or not, with their memory."""

    source: str
    ready: bool
    memory_budget_bytes: int
    memory_bytes: int
    catalog_error: str | None
    bundles: list[BundleOut]


class ProblemOut(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None
    errors: list[dict[str, str]] | None = None
