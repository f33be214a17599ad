"""``GET /readyz``: can this process serve verifications now? (``/healthz`` only says that it runs.)

200 ``{"ready": true, "checks": {...}}``, or 503 with ``"failed"`` naming each check that failed. Each
check reports ``ok`` and its time in ``ms``, and ``error`` (an exception's type, or ``timeout``) when it
failed; details go to the log, once per change of a check's state.

- ``database``: ``SELECT 1`` on the engine's pool.
- ``blobs``: a tiny probe object put, read back and deleted, sealed with the system key: the whole path
  a verification's images take (store, the key, encryption), not only a reachable bucket.
- ``redis``: ``PING``, when ``settings.redis_url`` is set.
- ``models``: the configured face detector, embedder and landmarker. The first probe starts loading them
  (about 1.5 s here; the OCR still loads on first use), so a just-started process turns ready once they
  are in memory instead of paying for them on its first verification.

The checks run at once, each in a thread of its own, and each is waited for 2 s at most: a check still
running when the next probe comes is waited for again, never started twice, so a hung database holds one
thread, not one per probe.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from shiren.runtime import Runtime

log = logging.getLogger("shiren.health")

CHECK_TIMEOUT_S = 2.0


def _in_thread(fn: Callable[[], None]) -> Future[None]:
    """``fn`` in a daemon thread (a check that hangs never holds up the process's exit)."""
    future: Future[None] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            fn()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=run, name="shiren-readyz", daemon=True).start()
    return future


class Readiness:
    def __init__(self, runtime: Runtime, timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self.runtime = runtime
        self.timeout_s = timeout_s
        self._running: dict[str, Future[None]] = {}
        self._was_ok: dict[str, bool] = {}
        self._lock = threading.Lock()

    def database(self) -> None:
        with self.runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1")).one()

    def blobs(self) -> None:
        probe = b"shiren readiness probe " + secrets.token_bytes(8)
        blob_id = self.runtime.blobs.put(probe)  # sealed with the system key
        try:
            if self.runtime.blobs.get(blob_id) != probe:
                raise RuntimeError("the probe object read back differs")
        finally:
            self.runtime.blobs.delete(blob_id)

    def redis(self) -> None:
        assert self.runtime.redis is not None
        if not self.runtime.redis.ping():
            raise RuntimeError("PING not answered")

    def models(self) -> None:
        models = self.runtime.models
        _ = models.detector, models.embedder, models.landmarker  # loads each the first time

    def checks(self) -> dict[str, Callable[[], None]]:
        checks = {"database": self.database, "blobs": self.blobs}
        if self.runtime.redis is not None:
            checks["redis"] = self.redis
        checks["models"] = self.models
        return checks

    def _started(self, name: str, fn: Callable[[], None]) -> Future[None]:
        with self._lock:
            future = self._running.get(name)
            if future is None or future.done():
                future = self._running[name] = _in_thread(fn)
            return future

    async def _run(self, name: str, fn: Callable[[], None]) -> dict[str, Any]:
        started = time.perf_counter()
        future = self._started(name, fn)
        error: str | None = None
        detail = ""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout_s)
        except TimeoutError:
            error, detail = "timeout", f"not done after {self.timeout_s:g} s"
        except Exception as exc:
            error, detail = type(exc).__name__, str(exc)[:200]
        result: dict[str, Any] = {"ok": error is None, "ms": round((time.perf_counter() - started) * 1000, 1)}
        if error is not None:
            result["error"] = error
        if self._was_ok.get(name) != result["ok"]:
            self._was_ok[name] = result["ok"]
            if error is None:
                log.info("readiness check %s ok", name)
            else:
                log.warning("readiness check %s failed: %s %s", name, error, detail)
        return result

    async def probe(self) -> tuple[bool, dict[str, Any]]:
        checks = self.checks()
        results = await asyncio.gather(*(self._run(name, fn) for name, fn in checks.items()))
        by_name = dict(zip(checks, results, strict=True))
        failed = [name for name, result in by_name.items() if not result["ok"]]
        body: dict[str, Any] = {"ready": not failed, "checks": by_name}
        if failed:
            body["failed"] = failed
        return not failed, body


def make_readyz_endpoint(runtime: Runtime):  # noqa: ANN201 - Starlette endpoint
    readiness = Readiness(runtime)

    async def readyz(_request: Request) -> JSONResponse:
        ready, body = await readiness.probe()
        return JSONResponse(body, status_code=200 if ready else 503)

    return readyz
