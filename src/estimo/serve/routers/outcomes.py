"""``POST /v1/outcomes`` in the service: :func:`estimo.monitor.api.outcomes_router` over the
app's monitoring store, for API keys of the ``internal`` tier only (outcomes change what the
monitoring reports say; partners and the public do not write them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from estimo.monitor.api import outcomes_router
from estimo.serve.guard import ClientDep
from estimo.serve.problems import ProblemError

__all__ = ["WRITER_TIERS", "get_store", "router"]

#: Tiers whose keys may send outcomes.
WRITER_TIERS = frozenset({"internal"})


def get_store(request: Request) -> Any:
    """The app's monitoring store (503 while it is not configured or not open)."""
    recorder = request.app.state.recorder
    if recorder is None:
        raise ProblemError(
            503,
            "no-store",
            "No monitoring store",
            "this service has no monitoring store: set serve.monitor.store_url "
            "(ESTIMO_SERVE__MONITOR__STORE_URL) to record valuations and take outcomes",
        )
    if recorder.store is None:
        raise ProblemError(
            503,
            "store-unavailable",
            "Monitoring store unavailable",
            "the monitoring store is not open yet (or cannot be reached); retry later",
            headers={"Retry-After": "5"},
        )
    return recorder.store


def writer_client(client: ClientDep) -> None:
    """Let only keys of :data:`WRITER_TIERS` send outcomes (403 otherwise)."""
    if client.tier not in WRITER_TIERS:
        raise ProblemError(
            403,
            "forbidden",
            "Not allowed",
            f"outcomes are accepted from API keys of the {sorted(WRITER_TIERS)} tier; "
            f"this caller's tier is {client.tier!r}",
        )


router = APIRouter(dependencies=[Depends(writer_client)])
router.include_router(outcomes_router(get_store))
