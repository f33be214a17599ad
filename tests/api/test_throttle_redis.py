"""Rate limits and signature nonces shared by replicas through Redis (the machine's real server on :6379).

Every test writes only under a prefix of its own and deletes those keys afterwards: the Redis is shared.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from redis import Redis

from shiren.api.rpc.auth import claim_nonce_shared
from shiren.api.rpc.throttle import RedisRateLimiter, make_rate_limiter
from shiren.runtime import Runtime
from shiren.settings import Settings
from shiren.storage.nonces_redis import claim_nonce_redis, nonce_key
from tests.support import ShirenServer, signed_v1

REDIS_URL = "redis://127.0.0.1:6379/0"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: connection refused at once


def connect(url: str = REDIS_URL) -> Redis:
    return Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"shiren-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    r = connect()
    try:
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        if keys:
            r.delete(*keys)
    finally:
        r.close()


@pytest.fixture
def replicas(prefix: str) -> Iterator[tuple[Redis, Redis]]:
    """Two Redis connections, as two replicas each have their own."""
    one, two = connect(), connect()
    yield one, two
    one.close()
    two.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the limiter itself ----------------------------------------------------------------------------------


def test_two_replicas_together_get_the_rate_not_twice_it(replicas: tuple[Redis, Redis], prefix: str) -> None:
    qps, burst = 20, 40  # burst: two seconds of rate, as RateLimiter
    limiters = [RedisRateLimiter(r, qps, prefix=prefix + "rl:") for r in replicas]
    accepted = calls = 0
    started = time.monotonic()
    while (last := time.monotonic()) - started < 3.0:
        accepted += limiters[calls % 2].allow(1, "DescribeVerifyToken")
        calls += 1
        time.sleep(0.004)
    elapsed = last - started
    expected = burst + qps * elapsed  # shared; two separate buckets would allow twice that
    per_second = (accepted - burst) / elapsed
    print(f"{calls} calls over {elapsed:.2f} s: {accepted} accepted, {per_second:.1f}/s after the burst")
    assert calls > 2.5 * expected  # well above the rate, and above what two separate buckets allow
    assert expected - 3 <= accepted <= expected + 2
    assert 18.5 <= per_second <= 21.5


def test_a_steady_rate_spread_over_two_replicas_is_never_refused(
    replicas: tuple[Redis, Redis], prefix: str
) -> None:
    rng = random.Random(20)
    limiters = [RedisRateLimiter(r, 20, prefix=prefix + "rl:") for r in replicas]
    # Two seconds at exactly 20 per second, each second's requests anywhere in it (they bunch), then a
    # second whose 20 requests arrive together within 20 ms; each request to either replica.
    arrivals = sorted([s + rng.random() for s in range(2) for _ in range(20)])
    arrivals += [2 + rng.random() * 0.02 for _ in range(20)]
    started = time.monotonic()
    refused = 0
    for t in sorted(arrivals):
        time.sleep(max(0.0, started + t - time.monotonic()))
        refused += not rng.choice(limiters).allow(1, "DescribeVerifyToken")
    assert refused == 0


def test_tenants_and_actions_have_their_own_shared_buckets(
    replicas: tuple[Redis, Redis], prefix: str
) -> None:
    one, two = (RedisRateLimiter(r, 1, burst=1, prefix=prefix + "rl:") for r in replicas)
    assert one.allow(1, "A") and two.allow(2, "A") and one.allow(1, "B")
    assert not two.allow(1, "A")
    ttl = replicas[0].pttl(prefix + "rl:1:A")
    assert 0 < ttl <= 2000  # gone once the bucket is full again (1 s) and a margin: idle keys vanish


def test_without_redis_each_process_limits_alone(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    dead = connect(DEAD_REDIS_URL)
    clock = Clock()
    limiter = RedisRateLimiter(dead, 10, prefix=prefix + "rl:", clock=clock)
    refused = 0
    with caplog.at_level(logging.WARNING, logger="shiren.api"):
        for i in range(15 * 20):  # 15 QPS for 20 s against 20 (the burst) + 10 × 20 allowed
            clock.now = 1000.0 + i / 15
            refused += not limiter.allow(1, "DescribeVerifyToken")
    dead.close()
    assert 75 <= refused <= 85
    warnings = [r for r in caplog.records if r.name == "shiren.api"]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()
    assert make_rate_limiter(Settings(rate_limit_qps=7), None).allow(1, "A")  # no Redis: per process


# --- nonces ----------------------------------------------------------------------------------------------


def test_a_nonce_is_accepted_once_per_access_key(replicas: tuple[Redis, Redis], prefix: str) -> None:
    one, two = replicas
    assert claim_nonce_redis(one, "LTAIkeyone", "nonce-1", 1800, prefix=prefix)
    assert not claim_nonce_redis(two, "LTAIkeyone", "nonce-1", 1800, prefix=prefix)
    assert claim_nonce_redis(two, "LTAIkeytwo", "nonce-1", 1800, prefix=prefix)
    key = nonce_key("LTAIkeyone", "nonce-1", prefix)
    assert "nonce-1" not in key and len(key) < len(prefix) + 40
    assert 1790 <= one.ttl(key) <= 1800


def test_nonces_go_to_redis_when_configured_and_to_the_database_when_it_fails(
    tmp_path: Path, prefix: str
) -> None:
    runtime = Runtime.build(Settings(data_dir=tmp_path, redis_url=REDIS_URL, redis_prefix=prefix))
    try:
        window = runtime.settings.timestamp_window_s
        assert claim_nonce_shared(runtime, "LTAIkeyone", "n1")
        assert not claim_nonce_shared(runtime, "LTAIkeyone", "n1")
        assert runtime.redis is not None
        # Refused as long as a request with it could still be accepted: stamped up to a window ahead.
        assert 2 * window - 10 <= runtime.redis.ttl(nonce_key("LTAIkeyone", "n1", prefix)) <= 2 * window
        assert _database_nonces(tmp_path) == 0  # with Redis, no row per request
        live, runtime.redis = runtime.redis, connect(DEAD_REDIS_URL)
        try:
            assert claim_nonce_shared(runtime, "LTAIkeyone", "n2")
            assert not claim_nonce_shared(runtime, "LTAIkeyone", "n2")
            assert _database_nonces(tmp_path) == 1
        finally:
            runtime.redis.close()
            runtime.redis = live
    finally:
        runtime.close()


def _database_nonces(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "shiren.db") as db:
        return db.execute("SELECT count(*) FROM nonces").fetchone()[0]


# --- two real server processes ---------------------------------------------------------------------------


def post(server: ShirenServer, params: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + "/?" + urlencode(params), timeout=30)


def test_two_servers_share_nonces_and_the_rate_limit(tmp_path: Path, prefix: str) -> None:
    qps, burst = 5, 10
    env = {
        "SHIREN_REDIS_URL": REDIS_URL,
        "SHIREN_REDIS_PREFIX": prefix,
        "SHIREN_RATE_LIMIT_QPS": str(qps),
        "SHIREN_RUN_WORKERS": "false",
    }
    data = tmp_path / "data"
    one, two = ShirenServer(data, env), ShirenServer(data, env)  # same database (SQLite file), same Redis
    one.start()  # applies the migrations before anything else opens the database
    second = threading.Thread(target=two.start)
    second.start()
    try:
        key = one.new_tenant("shared", [("FDTest", "FDBioOnly")])
        second.join()
        assert two.proc is not None and two.proc.poll() is None, two.log()

        params = signed_v1(key, "DescribeVerifyResult", BizId="x", BizType="FDTest")
        assert post(one, params).status_code == 200
        replay = post(two, params)
        assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"
        assert _database_nonces(data) == 0

        # Four callers at once, each alternating between the servers, for three seconds.
        accepted = {one.port: 0, two.port: 0}
        throttled = {one.port: 0, two.port: 0}
        other_answers: list[dict] = []
        lock = threading.Lock()
        started = time.monotonic()
        last = started

        def call_for_3_s(turn: int) -> None:
            nonlocal last
            clients = {s.port: httpx.Client(base_url=s.url, timeout=30) for s in (one, two)}
            try:
                while time.monotonic() - started < 3.0:
                    port = (one.port, two.port)[turn % 2]
                    turn += 1
                    signed = signed_v1(key, "DescribeVerifyResult", BizId="x", BizType="FDTest")
                    body = clients[port].post("/?" + urlencode(signed)).json()
                    with lock:
                        last = max(last, time.monotonic())
                        if body.get("Code") == "Throttling.User":
                            throttled[port] += 1
                        elif "Code" in body:
                            other_answers.append(body)
                        else:
                            accepted[port] += 1
            finally:
                for client in clients.values():
                    client.close()

        callers = [threading.Thread(target=call_for_3_s, args=(turn,)) for turn in range(4)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        assert not other_answers, other_answers[:3]
        calls = sum(accepted.values()) + sum(throttled.values())
        elapsed = last - started
        total = sum(accepted.values())
        shared = burst + qps * elapsed  # one bucket for both (one token went to the request above)
        print(f"{calls} calls over {elapsed:.2f} s: accepted {accepted}, throttled {throttled}")
        assert calls > 3 * shared  # well above the rate
        assert all(throttled.values()) and all(accepted.values())
        assert shared - 4 <= total <= shared + 2
        assert total < 0.6 * 2 * shared  # separate buckets per server would accept about twice as many
    finally:
        second.join()
        two.stop()
        one.stop()
