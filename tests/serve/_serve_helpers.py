"""Helpers of the service tests: a property to value and a client that waits for /readyz."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

PROPERTY = {"city": "Milano", "area_m2": 80, "rooms": 3, "lat": 45.46, "lon": 9.19}


def ready_client(app: Any) -> Iterator[TestClient]:
    """A TestClient whose app has finished preloading."""
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the app never became ready"
            time.sleep(0.01)
        yield client
