"""``POST /v1/outcomes``: appraisals and sales sent to the service, as a FastAPI router.

The service mounts it with its own dependencies (API keys)::

    from estimo.monitor.api import outcomes_router
    app.include_router(outcomes_router(get_store))

where ``get_store`` returns the app's :class:`~estimo.monitor.store.ValuationStore` (it is a
FastAPI dependency, so tests can override it). The body is one outcome or a list of up to
:data:`MAX_OUTCOMES`; invalid fields give a 422 with field-level detail (the list index in
``loc``), nothing stored; the answer counts what was new, updated and already known.

Examples
--------
>>> from fastapi import FastAPI
>>> from fastapi.testclient import TestClient
>>> from estimo.monitor.store import ValuationStore
>>> store = ValuationStore.from_url("sqlite://")
>>> app = FastAPI()
>>> app.include_router(outcomes_router(lambda: store))
>>> client = TestClient(app)
>>> client.post("/v1/outcomes", json={"kind": "sale", "property_id": "P1",
...     "price": 250000, "date": "2024-05-01", "source": "notary"}).json()
{'received': 1, 'inserted': 1, 'updated': 0, 'unchanged': 0}
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations, which
# refer to the local ``store_getter``.
import datetime as dt
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from estimo.errors import DataError

__all__ = ["MAX_OUTCOMES", "OutcomeIn", "OutcomesAnswer", "outcomes_router"]

#: Most outcomes one request may carry.
MAX_OUTCOMES = 10_000


class OutcomeIn(BaseModel):
    """One appraisal, sale or asking price of a property that was valued."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["appraisal", "sale", "asking"]
    price: float = Field(gt=0, description="in the currency of the valuations")
    date: dt.date | dt.datetime = Field(description="date of the appraisal, sale or listing")
    source: str = Field(min_length=1, max_length=128, description="who reported it")
    property_id: str | None = Field(default=None, min_length=1, max_length=128)
    request_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="the valuation it answers"
    )
    appraiser_id: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("date", mode="before")
    @classmethod
    def _not_a_number(cls, value: Any) -> Any:
        # JSON numbers would be read as seconds since 1970: a date is written as one
        if isinstance(value, bool | int | float):
            raise ValueError("expected a date such as '2024-05-01', not a number")
        return value

    @field_validator("date", mode="after")
    @classmethod
    def _happened(cls, value: dt.date | dt.datetime) -> dt.date | dt.datetime:
        # the store's own checks, as field errors: a date past tomorrow or before 1900, a
        # time zone that moves it past the last day Python knows
        from estimo.monitor.rows import check_outcome_date, utc_naive  # pandas: on first use

        stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        check_outcome_date(utc_naive(stamp, "date"))
        return value

    @field_validator("source", "property_id", "request_id", "appraiser_id", mode="after")
    @classmethod
    def _plain_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError(f"{info.field_name} is blank; expected a non-empty text")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError(f"{info.field_name} holds a control character; expected plain text")
        return value.strip()

    @field_validator("price")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"price is {value!r}; expected a finite number > 0")
        return value

    @model_validator(mode="after")
    def _identified(self) -> "OutcomeIn":
        if self.property_id is None and self.request_id is None:
            raise ValueError("give property_id or request_id (or both)")
        if self.appraiser_id is not None and self.kind != "appraisal":
            raise ValueError(
                f"appraiser_id is given on a {self.kind!r} outcome; only "
                "appraisals have an appraiser"
            )
        return self


class OutcomesAnswer(BaseModel):
    """What the store did with the outcomes."""

    received: int
    inserted: int
    updated: int
    unchanged: int


EXAMPLES: dict[str, Any] = {
    "sale": {
        "summary": "a sale, linked to the valuation it answers",
        "value": {
            "kind": "sale",
            "request_id": "6f1c0d2e9a",
            "property_id": "MI-000123",
            "price": 405000,
            "date": "2024-07-12",
            "source": "notary",
        },
    },
    "appraisals": {
        "summary": "appraisals by the acquisition team",
        "value": [
            {
                "kind": "appraisal",
                "property_id": "MI-000123",
                "price": 398000,
                "date": "2024-05-03",
                "source": "acquisitions",
                "appraiser_id": "A17",
            }
        ],
    },
}
"""The OpenAPI examples of ``POST /v1/outcomes``."""

_ONE = TypeAdapter(OutcomeIn)
_MANY = TypeAdapter(list[OutcomeIn])


def _parse(body: Any) -> list[OutcomeIn]:
    """The outcomes of a body; a 422 locating every bad field (``body``, index, field)."""
    try:
        return (
            _MANY.validate_python(body) if isinstance(body, list) else [_ONE.validate_python(body)]
        )
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc


def outcomes_router(store_getter: Callable[..., Any]) -> APIRouter:
    """The ``POST /v1/outcomes`` router over the store ``store_getter`` returns (a
    :class:`~estimo.monitor.store.ValuationStore`; the store module, with its database
    libraries, is imported on the first request, so mounting the router stays light)."""
    router = APIRouter(prefix="/v1", tags=["outcomes"])

    @router.post(
        "/outcomes",
        response_model=OutcomesAnswer,
        responses={
            200: {
                "content": {
                    "application/json": {
                        "example": {"received": 2, "inserted": 1, "updated": 0, "unchanged": 1}
                    }
                }
            },
            413: {"description": f"more than {MAX_OUTCOMES} outcomes in one request"},
            503: {"description": "the monitoring store cannot be reached"},
        },
    )
    def post_outcomes(
        body: Annotated[
            Any,
            Body(
                description="one outcome (OutcomeIn) or a list of them",
                openapi_examples=EXAMPLES,
            ),
        ],
        store: Annotated[Any, Depends(store_getter)],
    ) -> OutcomesAnswer:
        """Record one outcome or a list of outcomes (idempotent: re-sending adds nothing)."""
        from estimo.monitor.store import StoreError

        items = _parse(body)
        if not items:
            raise HTTPException(
                422, detail=[{"loc": ["body"], "msg": "the list is empty", "type": "value_error"}]
            )
        if len(items) > MAX_OUTCOMES:
            raise HTTPException(
                413, detail=f"{len(items)} outcomes in one request; send at most {MAX_OUTCOMES}"
            )
        try:
            counts = store.record_outcomes(item.model_dump() for item in items)
        except DataError as exc:  # pydantic checked the fields; this is a belt and braces
            raise HTTPException(422, detail=exc.problems) from exc
        except StoreError as exc:
            raise HTTPException(503, detail=str(exc)) from exc
        return OutcomesAnswer(received=len(items), **counts)

    return router
