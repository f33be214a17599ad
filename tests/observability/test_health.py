"""``/readyz`` of real servers (ready; Redis unreachable), and its time bound in process."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shiren.observability.health import Readiness
from shiren.runtime import Runtime
from shiren.settings import Settings
from tests.services.fakes import fake_models
from tests.support import ShirenServer


def ready_within(server: ShirenServer, seconds: float) -> httpx.Response:
    """The first 200 of /readyz: a just-started server turns ready once its models are loaded."""
    deadline = time.monotonic() + seconds
    while True:
        resp = httpx.get(server.url + "/readyz", timeout=10)
        if resp.status_code == 200 or time.monotonic() > deadline:
            return resp
        assert resp.status_code == 503 and resp.json()["failed"] == ["models"], resp.text
        time.sleep(0.5)


def test_readyz_is_200_with_each_check_timed(server: ShirenServer) -> None:
    started = time.monotonic()
    first = httpx.get(server.url + "/readyz", timeout=10)
    assert time.monotonic() - started < 6  # every check is waited for 2 s at most, all at once
    assert first.status_code in (200, 503)
    resp = ready_within(server, 120)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ready"] is True and "failed" not in body
    assert set(body["checks"]) == {"database", "blobs", "models"}  # no Redis configured
    for check in body["checks"].values():
        assert check["ok"] is True and 0 <= check["ms"] <= 2500
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def test_readyz_names_an_unreachable_redis(tmp_path: Path) -> None:
    srv = ShirenServer(tmp_path / "data", env={"SHIREN_REDIS_URL": "redis://127.0.0.1:1/0"})
    srv.start()
    try:
        resp = httpx.get(srv.url + "/readyz", timeout=10)
        assert resp.status_code == 503
        body = resp.json()
        assert body["ready"] is False and "redis" in body["failed"]
        redis = body["checks"]["redis"]
        assert redis["ok"] is False and redis["error"] == "ConnectionError"
        assert body["checks"]["database"]["ok"] and body["checks"]["blobs"]["ok"]
        assert httpx.get(srv.url + "/healthz", timeout=10).status_code == 200  # alive all the same
    finally:
        srv.stop()
    assert "readiness check redis failed" in srv.log()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    master_key = base64.b64encode(bytes(range(32))).decode()
    rt = Runtime.build(Settings(data_dir=tmp_path, master_key=master_key), models=fake_models())
    yield rt
    rt.close()


def test_a_hung_check_is_bounded_and_never_started_twice(runtime: Runtime) -> None:
    release = threading.Event()
    calls = []

    class Hung(Readiness):
        def database(self) -> None:
            calls.append(1)
            release.wait(30)

    readiness = Hung(runtime, timeout_s=0.2)
    try:
        for _ in range(2):
            started = time.perf_counter()
            ready, body = asyncio.run(readiness.probe())
            assert time.perf_counter() - started < 2
            assert not ready and body["failed"] == ["database"]
            assert body["checks"]["database"]["error"] == "timeout"
            assert body["checks"]["blobs"]["ok"] and body["checks"]["models"]["ok"]
        assert len(calls) == 1  # the second probe waited for the first one's check
    finally:
        release.set()
    time.sleep(0.1)
    ready, body = asyncio.run(readiness.probe())
    assert ready and body["checks"]["database"]["ok"] and len(calls) == 2
