"""Per-tenant, per-operation rate limits (SPEC 7: default 50 QPS), as token buckets in this process.

A client that stays at or under the rate is never refused: the bucket holds ``burst`` requests (by
default two seconds' worth), so requests that bunch up (a batch sent at once, a network hiccup that
releases several together) pass as long as the average holds. Beyond that, ``Throttling.User``.
With several replicas each enforces its own share; a shared limiter (Redis) can replace this class.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

BURST_SECONDS = 2.0


class RateLimiter:
    def __init__(
        self, qps: float, burst: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = float(qps)
        self._burst = float(burst or max(1.0, qps * BURST_SECONDS))
        self._buckets: dict[tuple[int, str], tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def allow(self, tenant_id: int, action: str) -> bool:
        if self._rate <= 0:
            return True
        now = self._clock()
        key = (tenant_id, action)
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True
