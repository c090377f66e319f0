"""The request-size limit: 413 before a too large body is read (pure ASGI middleware).

A declared ``Content-Length`` over the limit is refused at once; a body sent without one
(chunked) is read here, at most the limit, and refused as soon as it passes it.
"""

from __future__ import annotations

from typing import Any

from estimo.serve.problems import ProblemError

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with the 413 problem."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _problem(self) -> ProblemError:
        return ProblemError(
            413,
            "too-large",
            "Request too large",
            f"the request body is over {self.max_bytes} bytes",
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._problem().response(scope.get("path", ""))(scope, receive, send)
                    return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # read the body (at most max_bytes) before the app sees it, so that a chunked body
        # over the limit is refused here and not half-parsed by the app
        messages: list[dict[str, Any]] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._problem().response(scope.get("path", ""))(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        pending = iter(messages)

        async def replay() -> dict[str, Any]:
            for message in pending:
                return message
            return await receive()

        await self.app(scope, replay, send)
