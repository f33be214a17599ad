"""Per-tenant, per-operation rate limits (SPEC 7: default 50 QPS), as token buckets in this process.

With several replicas each enforces its own share; a shared limiter (Redis) can replace this class.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, qps: float, burst: int | None = None) -> None:
        self._rate = float(qps)
        self._burst = float(burst or qps)
        self._buckets: dict[tuple[int, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, tenant_id: int, action: str) -> bool:
        if self._rate <= 0:
            return True
        now = time.monotonic()
        key = (tenant_id, action)
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True
