"""The real servers the guard tests use: PostgreSQL (key store) and Redis (limits).

Both must run in CI (``CI=true``): there a missing server fails the test; on a laptop
without them the test is skipped.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "ESTIMO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ESTIMO_TEST_REDIS", "redis://127.0.0.1:6379")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Fail (in CI) or skip (elsewhere) when ``host:port`` does not answer."""
    if _reachable(host, port):
        return
    message = f"{name} is not running at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must start it")
    pytest.skip(message)
