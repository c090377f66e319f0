"""The request middleware: request id, one JSON log line, metrics, last-resort 500.

Pure ASGI (no ``BaseHTTPMiddleware``: it costs a task per request). For every HTTP request
it makes the request's id (:func:`request_id_from`: the client's ``X-Request-ID``, when
printable and at most 40 characters, with a unique suffix; else a new one),
puts it in :data:`estimo.serve.logs.request_id` for every log line, returns it in the
``X-Request-ID`` header of every response, observes the latency histogram and counters, and
turns an unexpected exception into the 500 problem (traceback in the log only).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from estimo.serve.logs import request_id
from estimo.serve.metrics import ServiceMetrics
from estimo.serve.problems import internal_error

log = logging.getLogger("estimo.serve.access")

__all__ = ["RequestMiddleware", "request_id_from"]

HEADER = b"x-request-id"
_GOOD_ID = re.compile(r"[\x21-\x7e]{1,40}")


def request_id_from(incoming: str | None) -> str:
    """The id of a request: the client's ``X-Request-ID`` (printable, at most 40
    characters) followed by a unique suffix, else a new id (32 hex digits).

    The id keys the served valuation in the monitoring store and is what outcomes name: a
    client's id alone could collide with another client's (or its own, reused per session),
    whose valuation would then go unrecorded and whose outcome would pair with the wrong
    property. The suffix keeps ids unique; the client's part keeps them traceable. Ids stay
    within the store's 64 characters, batch items' ``<id>:<index>`` too.

    Examples
    --------
    >>> rid = request_id_from("order-42")
    >>> rid.startswith("order-42.") and len(rid) == len("order-42.") + 12
    True
    >>> len(request_id_from("bad id with spaces")), len(request_id_from(None))
    (32, 32)
    """
    if incoming and _GOOD_ID.fullmatch(incoming):
        return f"{incoming}.{uuid.uuid4().hex[:12]}"
    return uuid.uuid4().hex


def _incoming_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return request_id_from(value.decode("latin-1"))
    return request_id_from(None)


class RequestMiddleware:
    """ASGI middleware (see the module docstring)."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = list(message.get("headers", ()))
                headers.append((HEADER, rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.error("unexpected error", exc_info=exc)
            if state["started"]:
                raise
            response = internal_error().response(scope.get("path", ""))
            await response(scope, receive, send_with_id)
        finally:
            self._observe(scope, state["status"], time.perf_counter() - started)
            request_id.reset(token)

    def _observe(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        route = scope.get("route")
        name = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.requests.labels(name, method, str(status)).inc()
        self.metrics.latency.labels(name).observe(seconds)
        if status >= 400:
            self.metrics.errors.labels(name, str(status)).inc()
        log.info(
            "%s %s %d %.1f ms",
            method,
            scope.get("path", ""),
            status,
            seconds * 1000,
            extra={
                "route": name,
                "method": method,
                "status": status,
                "ms": round(seconds * 1e3, 2),
            },
        )
