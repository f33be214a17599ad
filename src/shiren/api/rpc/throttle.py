"""Per-tenant, per-operation rate limits (SPEC 7: default 50 QPS), as token buckets in this process.

A client that stays at or under the rate is never refused: the bucket holds ``burst`` requests (by
default two seconds' worth), so requests that bunch up (a batch sent at once, a network hiccup that
releases several together) pass as long as the average holds. Beyond that, ``Throttling.User``.
With several replicas, ``RedisRateLimiter`` (when ``SHIREN_REDIS_URL`` is set) keeps the same buckets in
Redis, so the rate holds for all replicas together; while Redis is unreachable each process limits alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis import Redis

    from shiren.settings import Settings

BURST_SECONDS = 2.0
log = logging.getLogger("shiren.api")


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


# One bucket per key, a hash {t: tokens, ts: when last counted (Redis TIME, seconds)}: refill by the time
# elapsed, take a token if there is one, and expire the key once it would be full again (an absent key is a
# full bucket). Redis runs a script alone, so replicas never both take the last token.
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(saved[1])
local last = tonumber(saved[2])
if tokens == nil or last == nil then
  tokens = burst
  last = now
end
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return allowed
"""

WARN_EVERY_S = 60.0


class WarnAtMostEvery:
    """A warning logged at most once per ``every_s`` seconds (an outage must not flood the log)."""

    def __init__(self, every_s: float = WARN_EVERY_S) -> None:
        self._every_s = every_s
        self._last: float | None = None
        self._lock = threading.Lock()

    def __call__(self, logger: logging.Logger, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self._every_s:
                return
            self._last = now
        logger.warning(message, *args)


class RedisRateLimiter:
    """The same token buckets as ``RateLimiter``, kept in Redis and shared by every replica.

    Time comes from the Redis server, so replicas whose clocks disagree still agree on the buckets. When
    Redis fails, the call is decided by a bucket in this process instead (the service keeps answering; the
    limit then holds per process, as without Redis).
    """

    def __init__(
        self,
        redis: Redis,
        qps: float,
        burst: int | None = None,
        *,
        prefix: str = "shiren:rl:",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._rate = float(qps)
        self._burst = float(burst or max(1.0, qps * BURST_SECONDS))
        self._prefix = prefix
        self._script = redis.register_script(_BUCKET_SCRIPT)
        self._local = RateLimiter(qps, burst, clock=clock)
        self._warning = WarnAtMostEvery()

    def allow(self, tenant_id: int, action: str) -> bool:
        if self._rate <= 0:
            return True
        try:
            key = f"{self._prefix}{tenant_id}:{action}"
            return bool(self._script(keys=[key], args=[repr(self._rate), repr(self._burst)]))
        except RedisError as exc:
            self._warn(exc)
            return self._local.allow(tenant_id, action)

    def _warn(self, exc: RedisError) -> None:
        # The exception's class only: its text may name hosts; requests' contents never reach here.
        self._warning(log, "rate limits: Redis unavailable (%s); limiting per process", type(exc).__name__)


Limiter = RateLimiter | RedisRateLimiter  # both: allow(tenant_id, action) -> bool


def make_rate_limiter(settings: Settings, redis: Redis | None) -> Limiter:
    """Shared buckets when Redis is configured, else this process's own."""
    if redis is None:
        return RateLimiter(settings.rate_limit_qps)
    return RedisRateLimiter(redis, settings.rate_limit_qps, prefix=f"{settings.redis_prefix}rl:")
