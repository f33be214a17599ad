"""The signed API's rate limit: a steady client at the documented 50 QPS is never refused, even when its
requests bunch up; a client above it is."""

from __future__ import annotations

import random

from shiren.api.rpc.throttle import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _run(limiter: RateLimiter, clock: Clock, arrivals: list[float]) -> int:
    refused = 0
    for t in sorted(arrivals):
        clock.now = 1000.0 + t
        refused += not limiter.allow(1, "DescribeVerifyToken")
    return refused


def test_a_steady_50_qps_with_bunched_requests_is_never_refused() -> None:
    rng = random.Random(50)
    clock = Clock()
    limiter = RateLimiter(50, clock=clock)
    # 60 seconds at exactly 50 per second, each second's requests landing anywhere in it (they bunch),
    # plus whole seconds whose 50 requests arrive together within 20 ms.
    arrivals = [s + rng.random() for s in range(60) for _ in range(50)]
    arrivals += [60 + s * 1.0 + rng.random() * 0.02 for s in range(20) for _ in range(50)]
    assert _run(limiter, clock, arrivals) == 0


def test_above_the_rate_requests_are_refused() -> None:
    clock = Clock()
    limiter = RateLimiter(50, clock=clock)
    arrivals = [i / 60 for i in range(60 * 30)]  # 60 QPS for 30 s
    refused = _run(limiter, clock, arrivals)
    # 1,800 requests against 100 (the burst) + 50 × 30 allowed: about 200 refused.
    assert 190 <= refused <= 210


def test_tenants_and_actions_have_their_own_buckets() -> None:
    clock = Clock()
    limiter = RateLimiter(1, burst=1, clock=clock)
    assert limiter.allow(1, "A") and limiter.allow(2, "A") and limiter.allow(1, "B")
    assert not limiter.allow(1, "A")
