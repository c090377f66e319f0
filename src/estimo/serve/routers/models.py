"""``GET /v1/models``: which versions serve which cities, loaded or not, memory of each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from estimo.serve.deps import ModelRouterDep
from estimo.serve.schemas import ModelsOut

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
    responses={200: {"content": {"application/json": {"example": EXAMPLE}}}},
)
def list_models(model_router: ModelRouterDep) -> dict[str, Any]:
    """Every bundle of the catalog: version, state (loaded, not loaded, broken), cities,
    measured memory, load time and requests served."""
    return model_router.snapshot()
