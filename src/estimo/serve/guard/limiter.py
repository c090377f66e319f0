"""Rate limits per key and per client address (the ``limits`` package).

``storage`` is ``memory://`` for one process or ``redis://host:6379`` for several pods
(the moving-window counters live in Redis, updated atomically by a Lua script, so pods
share them). A limit string holds one or more windows: ``"5/second;1000/day"``.

Examples
--------
>>> limiter = Limiter("memory://")
>>> limiter.hit("2/second;100/day", "key", "abc") is None
True
>>> limiter.hit("2/second;100/day", "key", "abc", cost=2) > 0  # seconds to wait
True
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from estimo.serve.problems import ProblemError

__all__ = ["Limiter", "limits_unavailable"]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: seconds between two log lines of an unreachable limits storage (not one per request)
_LOG_EVERY = 60.0


def limits_unavailable(storage: str) -> ProblemError:
    """The 503 problem of a request whose limits cannot be counted: the service fails
    closed (no request passes uncounted) and says so, with ``Retry-After``."""
    return ProblemError(
        503,
        "limits-unavailable",
        "Limits unavailable",
        "the rate-limit store cannot be reached; try again shortly",
        headers={"Retry-After": "5"},
    )


class Limiter:
    """Moving-window limits in one storage (see the module docstring).

    Parameters
    ----------
    storage : str
        ``memory://`` or ``redis://host:port`` (any storage URL of ``limits``).
    namespace : str, default "estimo"
        Prefix of the counters (several services may share one Redis).
    """

    def __init__(self, storage: str = "memory://", namespace: str = "estimo") -> None:
        self.url = storage
        self.storage = storage_from_string(storage)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace
        self._parsed: dict[str, list[RateLimitItem]] = {}
        self._logged_at = -math.inf

    def reachable(self) -> bool:
        """Whether the storage answers (readiness: a pod whose limits cannot be counted
        can answer no valuation)."""
        try:
            return bool(self.storage.check())
        except Exception:  # any failure of the storage means "no"
            return False

    def _counted(self, step: Callable[[], T]) -> T:
        """``step`` on the storage; a storage that fails (Redis gone, a timeout) becomes the
        503 problem of :func:`limits_unavailable`, logged at most once a minute."""
        try:
            return step()
        except Exception as exc:  # the storage client raises its own types
            now = time.monotonic()
            if now - self._logged_at >= _LOG_EVERY:
                self._logged_at = now
                log.error(
                    "the limits storage %s cannot be reached (%s: %s); answering 503",
                    _without_password(self.url),
                    type(exc).__name__,
                    exc,
                )
            raise limits_unavailable(self.url) from None

    def _items(self, limit: str) -> list[RateLimitItem]:
        if limit not in self._parsed:
            self._parsed[limit] = parse_many(limit)
        return self._parsed[limit]

    def largest(self, limit: str) -> int:
        """The most requests one call may count against ``limit``: its smallest window's
        amount (a batch of more can never pass, however long it waits)."""
        return min(item.amount for item in self._items(limit))

    def wait(self, limit: str, *identity: str, cost: int = 1) -> float | None:
        """Seconds to wait before ``cost`` more requests fit in every window of ``limit``
        (None: they fit now), without counting them."""
        for item in sorted(self._items(limit), key=lambda i: i.get_expiry()):
            if cost > item.amount:
                return float(item.get_expiry())
            if not self._counted(lambda i=item: self._test(i, identity, cost)):
                return self._wait_of(item, identity)
        return None

    def hit(self, limit: str, *identity: str, cost: int = 1) -> float | None:
        """Count ``cost`` requests; None if within every window, else seconds to wait.

        Windows are counted shortest first; once one refuses, the longer ones are not
        charged (a refused request does not eat the day's quota).
        """
        for item in sorted(self._items(limit), key=lambda i: i.get_expiry()):
            if cost > item.amount:  # can never pass: wait a whole window
                return float(item.get_expiry())
            if not self._counted(lambda i=item: self._hit(i, identity, cost)):
                return self._wait_of(item, identity)
        return None

    def _test(self, item: RateLimitItem, identity: tuple[str, ...], cost: int) -> bool:
        return bool(self.strategy.test(item, self.namespace, *identity, cost=cost))

    def _hit(self, item: RateLimitItem, identity: tuple[str, ...], cost: int) -> bool:
        return bool(self.strategy.hit(item, self.namespace, *identity, cost=cost))

    def _wait_of(self, item: RateLimitItem, identity: tuple[str, ...]) -> float:
        stats: Any = self._counted(
            lambda: self.strategy.get_window_stats(item, self.namespace, *identity)
        )
        return max(1.0, math.ceil(stats.reset_time - time.time()))


def _without_password(url: str) -> str:
    """A storage URL as a log line may show it (``redis://:secret@host`` -> ``redis://***@host``).

    Examples
    --------
    >>> _without_password("redis://:s3cret@cache:6379/0")
    'redis://***@cache:6379/0'
    """
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
