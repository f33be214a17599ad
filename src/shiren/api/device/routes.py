"""Device endpoints under ``/device/v1``: thin handlers over ``services.device`` and
``services.device_submit``; wire shapes in ``views``, errors in ``errors``. Authenticated by the
VerifyToken alone (``Authorization: Bearer``).

No ``from __future__ import annotations`` here: FastAPI must see the real dependency types."""

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shiren.api.device import views
from shiren.api.device.errors import STATUSES, error_response
from shiren.api.rpc.throttle import RateLimiter
from shiren.intake import IntakeError
from shiren.observability.metrics import observe_device
from shiren.runtime import Runtime
from shiren.services import device as svc
from shiren.services import device_submit
from shiren.services.device import DeviceContext
from shiren.services.errors import ServiceError, Throttled, TooLarge

PREFIX = "/device/v1"
log = logging.getLogger("shiren.api")


class ErrorOut(BaseModel):
    """Every refusal of the device protocol."""

    code: str = Field(description="stable: TokenInvalid, AlreadySubmitted, ChallengeInvalid, TooLarge …")
    message: str = Field(description="for the app's developer; never personal data")


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": "refused (see `code`)"} for status in STATUSES
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _raw_body(*types: str) -> dict[str, Any]:
    """OpenAPI for a body read as raw bytes (uploads, preview frames)."""
    return {"requestBody": {"required": True, "content": {t: _BINARY for t in types}}}


class ConsentIn(BaseModel):
    version: str = Field(description="version of the consent text shown (from GET session)")
    locale: str = Field("zh", description="language of the text shown: zh or en")


class SubmitIn(BaseModel):
    challengeId: str  # noqa: N815 - wire names are camelCase
    name: str | None = Field(None, max_length=64, description="typed (RPManual) or confirmed (RPBasic)")
    idNumber: str | None = Field(None, max_length=32)  # noqa: N815
    successRedirect: str | None = Field(None, max_length=2048)  # noqa: N815
    failRedirect: str | None = Field(None, max_length=2048)  # noqa: N815


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` (never buffered beyond it)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body over {limit} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body over {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


class _DeviceCors:
    """Log lines and CORS for the device API only. The JS SDK runs in integrators' pages on other origins
    and uses a bearer token (no cookies), so any origin may call it; other paths stay same-origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.cors(scope, receive, send_logged)
        finally:
            # Path only: no token, no query string, nothing personal.
            log.info(
                "device %s %s status=%d ms=%.1f",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            observe_device(getattr(scope.get("route"), "path", "-"), status)  # the template, never the path


def make_router(runtime: Runtime) -> APIRouter:
    settings = runtime.settings
    limiter = RateLimiter(settings.device_rate_per_minute / 60.0, burst=30)

    bearer = HTTPBearer(auto_error=False, scheme_name="VerifyToken", description="the attempt's VerifyToken")

    def device(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> DeviceContext:
        token = credentials.credentials.strip() if credentials is not None else None
        ctx = svc.open_attempt(runtime, token)
        if not limiter.allow(ctx.attempt.id, "device"):
            raise Throttled("too many requests for this token; slow down")
        return ctx

    Ctx = Annotated[DeviceContext, Depends(device)]
    router = APIRouter(prefix=PREFIX, tags=["device"], responses=_ERROR_RESPONSES)

    @router.get("/session", summary="What this attempt needs, and its state")
    def session(ctx: Ctx) -> dict[str, Any]:
        answer = device_submit.answer_for(runtime, ctx, ctx.attempt) if ctx.decided else None
        return views.session_body(svc.session_state(runtime, ctx), answer)

    @router.post("/consent", summary="Record the separate consent to biometric processing")
    def consent(ctx: Ctx, body: ConsentIn) -> dict[str, Any]:
        return views.consent_body(svc.record_consent(runtime, ctx.pending(), body.version, body.locale))

    @router.post(
        "/guide",
        summary="A live hint for one JPEG preview frame (not stored)",
        openapi_extra=_raw_body("image/jpeg"),
    )
    async def guide(ctx: Ctx, request: Request) -> dict[str, Any]:
        data = await _read_limited(request, svc.MAX_GUIDE_BYTES)
        return views.guide_body(await run_in_threadpool(svc.guide_hint, runtime, ctx.pending(), data))

    @router.post("/challenge", summary="A new random liveness challenge")
    def challenge(ctx: Ctx) -> dict[str, Any]:
        return views.challenge_body(*svc.issue_challenge(runtime, ctx.pending()))

    @router.put(
        "/uploads/{kind}",
        summary="Upload the video or a card photo (idempotent)",
        openapi_extra=_raw_body(
            "video/webm", "video/mp4", "image/jpeg", "image/png", "application/octet-stream"
        ),
    )
    async def upload(
        ctx: Ctx,
        kind: str,
        request: Request,
        challengeId: Annotated[str | None, Query()] = None,  # noqa: N803
    ) -> dict[str, Any]:
        limit = settings.max_video_bytes if kind == "video" else settings.max_image_bytes
        data = await _read_limited(request, limit)
        receipt = await run_in_threadpool(svc.store_upload, runtime, ctx.pending(), kind, data, challengeId)
        return views.upload_body(receipt)

    @router.post("/ocr", summary="Read the uploaded card front for the user to confirm (RPBasic)")
    async def ocr(ctx: Ctx) -> dict[str, Any]:
        return views.card_body(await run_in_threadpool(svc.read_uploaded_card, runtime, ctx.pending()))

    @router.post("/submit", summary="Decide the attempt from its capture")
    async def submit(ctx: Ctx, body: SubmitIn) -> dict[str, Any]:
        req = device_submit.SubmitRequest(
            body.challengeId, body.name, body.idNumber, body.successRedirect, body.failRedirect
        )
        return views.answer_body(await device_submit.submit(runtime, ctx, req))

    @router.post("/cancel", summary="The user gave up")
    def cancel(ctx: Ctx) -> dict[str, Any]:
        return views.answer_body(device_submit.cancel(runtime, ctx))

    return router


def install_device_api(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(make_router(runtime))

    async def device_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError | IntakeError)
        return error_response(exc)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            {"code": "InvalidParameter", "message": f"{where}: {first.get('msg', 'invalid')}"},
            status_code=400,
        )

    app.add_exception_handler(ServiceError, device_error)
    app.add_exception_handler(IntakeError, device_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(_DeviceCors)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The document as served: a malformed request is answered 400 in the protocol's error shape (the
    handler above), never FastAPI's default 422, so that status is not described."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        for unused in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema
