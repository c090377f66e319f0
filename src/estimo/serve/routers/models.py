"""``GET /v1/models``: which versions serve which cities, loaded or not, memory of each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from estimo.serve.deps import ModelRouterDep
from estimo.serve.guard import ClientDep
from estimo.serve.problems import ProblemError
from estimo.serve.schemas import ModelsOut, ProblemOut

router = APIRouter(prefix="/v1", tags=["models"])

EXAMPLE = {
    "source": "registry alias 'champion'",
    "ready": True,
    "memory_budget_bytes": 1073741824,
    "memory_bytes": 31457280,
    "catalog_error": None,
    "bundles": [
        {
            "bundle": "global",
            "city": None,
            "version": "v7",
            "state": "loaded",
            "cities": ["Milano", "Roma"],
            "memory_bytes": 26214400,
            "load_ms": 61.0,
            "requests": 120,
        },
        {
            "bundle": "torino",
            "city": "Torino",
            "version": "v5",
            "state": "broken",
            "cities": ["Torino"],
            "memory_bytes": None,
            "load_ms": None,
            "requests": 0,
            "error": "the bundle could not be loaded (see the server log); "
            "its cities are valued by the global model",
        },
    ],
}


@router.get(
    "/models",
    summary="Bundles, versions, cities and memory",
    response_model=ModelsOut,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        403: {"model": ProblemOut, "description": "a partner or public key"},
    },
)
def list_models(model_router: ModelRouterDep, client: ClientDep) -> dict[str, Any]:
    """Every bundle of the catalog: version, state (loaded, not loaded, broken), cities,
    measured memory, load time and requests served; for internal keys only (versions and
    traffic are the operator's, not a client's)."""
    if client.tier != "internal":
        raise ProblemError(
            403,
            "forbidden",
            "Forbidden",
            f"the list of models is for internal keys; this client's tier is {client.tier!r}",
        )
    return model_router.snapshot()
