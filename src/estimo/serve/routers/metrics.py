"""``GET /metrics``: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from estimo.serve.deps import MetricsDep, ModelRouterDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": 'estimo_requests_total{method="POST",route="/v1/valuations",'
                    'status="200"} 42.0\n'
                }
            }
        }
    },
)
def metrics(metrics: MetricsDep, model_router: ModelRouterDep) -> Response:
    """Requests, latency histogram, errors, bundle loads, evictions, memory per bundle."""
    metrics.budget.set(model_router.budget_bytes)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
