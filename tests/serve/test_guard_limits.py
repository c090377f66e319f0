"""Limits in memory and in a real Redis shared by several limiters (pods)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from _guard_backends import REDIS_URL, require_server
from pydantic import ValidationError

from estimo.serve.guard.limiter import Limiter
from estimo.serve.guard.settings import GuardSettings
from estimo.serve.settings import ServeSettings


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


def test_windows_and_retry_after(storage: str) -> None:
    limiter = Limiter(storage, namespace=f"test-{uuid.uuid4().hex}")
    assert [limiter.hit("3/minute;5/day", "key", "a") for _ in range(3)] == [None] * 3
    wait = limiter.hit("3/minute;5/day", "key", "a")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("3/minute;5/day", "key", "b") is None  # another client
    assert limiter.hit("3/minute;5/day", "key", "c", cost=4) == 60  # can never pass


def test_a_refused_request_does_not_eat_the_day(storage: str) -> None:
    limiter = Limiter(storage, namespace=f"test-{uuid.uuid4().hex}")
    for _ in range(2):
        limiter.hit("2/minute;3/day", "key", "a")
    assert limiter.hit("2/minute;3/day", "key", "a") is not None
    day = next(i for i in limiter._items("2/minute;3/day") if i.amount == 3)
    stats = limiter.strategy.get_window_stats(day, limiter.namespace, "key", "a")
    assert stats.remaining == 1


def test_pods_sharing_redis_never_pass_more_than_the_limit() -> None:
    require_server("Redis", "127.0.0.1", 6379)
    namespace = f"test-{uuid.uuid4().hex}"
    pods = [Limiter(REDIS_URL, namespace=namespace) for _ in range(3)]
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(lambda i: pods[i % 3].hit("50/minute", "key", "shared"), range(200))
        )
    assert sum(r is None for r in results) == 50


def test_limits_settings_are_checked_and_read_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=r"rate limit 'lots' is not understood"):
        GuardSettings(address_limit="lots")
    monkeypatch.setenv("ESTIMO_SERVE__GUARD__LIMITS_STORAGE", "redis://10.0.0.1:6379")
    monkeypatch.setenv("ESTIMO_SERVE__GUARD__KEY_LIMITS", '{"public": "1/second"}')
    settings = ServeSettings(model="m")
    assert settings.guard.limits_storage == "redis://10.0.0.1:6379"
    assert settings.guard.key_limits == {"public": "1/second"}
