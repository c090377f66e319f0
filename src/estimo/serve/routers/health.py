"""``GET /healthz`` (the process is alive) and ``GET /readyz`` (preloading is done)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from estimo.serve.deps import ModelRouterDep
from estimo.serve.guard import GuardDep
from estimo.serve.guard.limiter import limits_unavailable
from estimo.serve.problems import ProblemError
from estimo.serve.schemas import ProblemOut

router = APIRouter(tags=["health"])


@router.head("/healthz", include_in_schema=False)  # load balancers probe with HEAD too
@router.get(
    "/healthz",
    summary="The process is alive",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def healthz() -> dict[str, Any]:
    """Always 200 while the process answers (Kubernetes liveness probe)."""
    return {"status": "ok"}


@router.head("/readyz", include_in_schema=False)
@router.get(
    "/readyz",
    summary="The hot cities are loaded",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready", "loaded": 3}}}},
        503: {
            "model": ProblemOut,
            "description": "still preloading, or the rate-limit store cannot be reached",
            "content": {
                "application/problem+json": {
                    "example": {
                        "type": "urn:estimo:problem:not-ready",
                        "title": "Not ready",
                        "status": 503,
                        "detail": "the hot cities are still loading",
                        "instance": "/readyz",
                        "request_id": "6f1c0d2e",
                    }
                }
            },
        },
    },
)
def readyz(model_router: ModelRouterDep, guard: GuardDep) -> dict[str, Any]:
    """200 once the configured hot cities are loaded and while the rate-limit store answers
    (readiness and startup probes: a pod that cannot count limits answers nothing)."""
    if not guard.limiter.reachable():
        raise limits_unavailable(guard.limiter.url)
    if not model_router.ready:
        raise ProblemError(
            503,
            "not-ready",
            "Not ready",
            "the hot cities are still loading",
            headers={"Retry-After": "1"},
        )
    return {"status": "ready", "loaded": len(model_router.loaded())}
