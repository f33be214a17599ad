"""The signed API's single endpoint ``/`` (GET or POST), Alibaba-style: read, authenticate, dispatch."""

from __future__ import annotations

import inspect
import logging
import time
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from shiren.api.rpc.actions import ACTIONS
from shiren.api.rpc.auth import action_is_signed, authenticate
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.errors import (
    RpcError,
    from_intake_error,
    from_service_error,
    internal,
    invalid,
    missing,
    throttled,
)
from shiren.api.rpc.params import RawRequest, parse, read_body
from shiren.api.rpc.throttle import Limiter, make_rate_limiter
from shiren.intake import IntakeError
from shiren.observability.metrics import observe_rpc, rpc_code
from shiren.runtime import Runtime
from shiren.services.errors import ServiceError

API_VERSION = "2019-03-07"
log = logging.getLogger("shiren.api")


def _as_rpc_error(exc: RpcError | ServiceError | IntakeError) -> RpcError:
    """A refusal from wire parsing, a use case or the image intake, as Alibaba answers it."""
    if isinstance(exc, ServiceError):
        return from_service_error(exc)
    if isinstance(exc, IntakeError):
        return from_intake_error(exc)
    return exc


def _action_name(req: RawRequest) -> str:
    name = req.params.get("Action") or req.headers.get("x-acs-action", "")
    if not name:
        raise missing("Action")
    if name not in ACTIONS:
        raise RpcError(
            404,
            "InvalidAction.NotFound",
            f"Specified api {name!r} is not found, please check your url and method.",
            "Supported: " + ", ".join(ACTIONS),
        )
    version = req.params.get("Version") or req.headers.get("x-acs-version", "")
    if version and version != API_VERSION:
        raise RpcError(
            400, "InvalidVersion", f"Specified version {version!r} is not supported; use {API_VERSION}."
        )
    return name


async def _handle(
    runtime: Runtime, limiter: Limiter, req: RawRequest, request_id: str
) -> tuple[str, int, dict]:
    action = _action_name(req)
    key = await run_in_threadpool(authenticate, runtime, req)
    if not action_is_signed(req):
        raise invalid("Authorization", "the action header x-acs-action must be signed")
    if not await run_in_threadpool(limiter.allow, key.tenant_id, action):  # Redis: a network call
        raise throttled()
    function = ACTIONS[action]
    ctx = RpcContext(runtime, key, req, request_id)
    if inspect.iscoroutinefunction(function):
        body = await function(ctx)
    else:
        body = await run_in_threadpool(function, ctx)
    return action, key.tenant_id, body


def make_rpc_endpoint(runtime: Runtime):  # noqa: ANN201 - Starlette endpoint
    limiter = make_rate_limiter(runtime.settings, runtime.redis)

    async def rpc(request: Request) -> JSONResponse:
        # The request's X-Request-Id (observability/request_id.py), so logs, header and body agree.
        request_id = getattr(request.state, "request_id", None) or str(uuid.uuid4()).upper()
        started = time.perf_counter()
        action, tenant, status = request.headers.get("x-acs-action", "-"), None, 200
        code = "OK"  # the answer's Code, for the metrics
        try:
            body = await read_body(request, runtime.settings.max_request_bytes)
            req = parse(request, body)
            action = req.params.get("Action", action)
            action, tenant, result = await _handle(runtime, limiter, req, request_id)
            code = rpc_code(status, None, result)
            return JSONResponse({"RequestId": request_id, **result})
        except (RpcError, ServiceError, IntakeError) as exc:
            error = _as_rpc_error(exc)
            status, code = error.status, error.code
            return JSONResponse(
                error.body(request_id, request.url.hostname or "shiren"), status_code=error.status
            )
        except Exception:
            status, code = 500, "InternalError"
            log.exception("request %s failed", request_id)
            return JSONResponse(
                internal().body(request_id, request.url.hostname or "shiren"), status_code=500
            )
        finally:
            elapsed = time.perf_counter() - started
            # Only metadata: never parameters, which carry names, ID numbers and URLs.
            log.info(
                "rpc action=%s tenant=%s status=%s ms=%.1f request_id=%s",
                action,
                tenant,
                status,
                elapsed * 1000,
                request_id,
            )
            # A known action or "-": a caller's text never becomes a metric label.
            observe_rpc(action if action in ACTIONS else "-", code, elapsed)

    return rpc
