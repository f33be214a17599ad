"""Shiren's Prometheus metrics, and the plain functions the rest of the code records them with.

The metric objects are process-wide (one process has one set of requests and one ``CPU_SLOTS``) but are
registered in no registry of prometheus_client's: each app builds its own with ``registry_for(runtime)``,
these metrics plus the outbox collector of its runtime, so tests can build several apps in one process.

Every label is bounded: ``action`` and ``code`` come from fixed lists in the code (the RPC endpoint passes
``-`` for an action it does not know), ``route`` is a route's template, never a path, ``stage`` is a
timing key written by the code. Never a tenant, an id, a name, an ID number or a URL.

The ``observe_*`` functions never raise: a metric must not fail a request, nor a recorded verdict.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shiren.observability.outbox import OutboxCollector
from shiren.runtime import Runtime
from shiren.services.workload import CPU_SLOTS

log = logging.getLogger("shiren.metrics")

# Seconds: a signed call answers in milliseconds, a decision in seconds (tens when its images are slow).
RPC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RPC_REQUESTS = Counter(
    "shiren_rpc_requests",
    "Calls of the signed API, by action and answer code (OK, the gateway error Code, or the face-verify "
    "family's business Code).",
    ["action", "code"],
    registry=None,
)
RPC_SECONDS = Histogram(
    "shiren_rpc_request_seconds",
    "Time to answer a call of the signed API, from its first byte read.",
    ["action"],
    buckets=RPC_BUCKETS,
    registry=None,
)
DEVICE_REQUESTS = Counter(
    "shiren_device_requests",
    "Requests of the device API, by route template and HTTP status.",
    ["route", "status"],
    registry=None,
)
VERDICTS = Counter(
    "shiren_verdicts",
    "Verdicts recorded, by VerifyStatus and scheme.",
    ["status", "scheme"],
    registry=None,
)
STAGE_SECONDS = Histogram(
    "shiren_stage_seconds",
    "Time of each stage of a recorded decision (its evidence's timings_ms).",
    ["stage"],
    buckets=STAGE_BUCKETS,
    registry=None,
)
CPU_SLOTS_WAITING = Gauge(
    "shiren_cpu_slots_waiting",
    "Decisions waiting for a CPU slot (services/workload.py CPU_SLOTS).",
    registry=None,
)
CPU_SLOTS_WAITING.set_function(lambda: CPU_SLOTS.waiting)

PROCESS_METRICS = (RPC_REQUESTS, RPC_SECONDS, DEVICE_REQUESTS, VERDICTS, STAGE_SECONDS, CPU_SLOTS_WAITING)

_STAGE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_P = ParamSpec("_P")


def _never_raises(fn: Callable[_P, None]) -> Callable[_P, None]:
    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            log.exception("recording metric %s failed", fn.__name__)

    return wrapper


def rpc_code(status: int, error: Any = None, body: Mapping[str, Any] | None = None) -> str:
    """The code a signed call was answered with: the refusal's ``Code``, InternalError for a crash, the
    face-verify family's business ``Code`` (an HTTP 200 answer), or OK."""
    if error is not None and isinstance(getattr(error, "code", None), str):
        return error.code
    if status >= 500:
        return "InternalError"
    if isinstance(body, Mapping) and isinstance(body.get("Code"), str):
        return body["Code"]
    return "OK"


@_never_raises
def observe_rpc(action: str, code: str, seconds: float) -> None:
    RPC_REQUESTS.labels(action, code).inc()
    RPC_SECONDS.labels(action).observe(seconds)


@_never_raises
def observe_device(route: str, status: int) -> None:
    DEVICE_REQUESTS.labels(route, str(status)).inc()


@_never_raises
def observe_verdict(status: int, scheme: str, timings_ms: Mapping[str, float] | None) -> None:
    VERDICTS.labels(str(status), scheme).inc()
    for stage, ms in (timings_ms or {}).items():
        if _STAGE.match(stage) and isinstance(ms, int | float) and ms >= 0:
            STAGE_SECONDS.labels(stage).observe(ms / 1000.0)


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """A registry of this app: the process's metrics and the outbox of ``runtime``'s database."""
    registry = CollectorRegistry(auto_describe=True)
    for metric in PROCESS_METRICS:
        registry.register(metric)
    registry.register(OutboxCollector(runtime.sessions))
    return registry


def make_metrics_endpoint(runtime: Runtime):  # noqa: ANN201 - Starlette endpoint
    """``GET /metrics``: Prometheus's text exposition (the outbox query runs in a worker thread)."""
    registry = registry_for(runtime)

    async def metrics(_request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
