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

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

__all__ = ["Limiter"]


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
        self.storage = storage_from_string(storage)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace
        self._parsed: dict[str, list[RateLimitItem]] = {}

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
            if not self.strategy.test(item, self.namespace, *identity, cost=cost):
                reset = self.strategy.get_window_stats(item, self.namespace, *identity).reset_time
                return max(1.0, math.ceil(reset - time.time()))
        return None

    def hit(self, limit: str, *identity: str, cost: int = 1) -> float | None:
        """Count ``cost`` requests; None if within every window, else seconds to wait.

        Windows are counted shortest first; once one refuses, the longer ones are not
        charged (a refused request does not eat the day's quota).
        """
        for item in sorted(self._items(limit), key=lambda i: i.get_expiry()):
            if cost > item.amount:  # can never pass: wait a whole window
                return float(item.get_expiry())
            if not self.strategy.hit(item, self.namespace, *identity, cost=cost):
                reset = self.strategy.get_window_stats(item, self.namespace, *identity).reset_time
                return max(1.0, math.ceil(reset - time.time()))
        return None
