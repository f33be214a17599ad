"""One id per HTTP request, for every log line the request causes and for the caller to quote.

The middleware takes the caller's ``X-Request-Id`` when it is a plain token (``^[A-Za-z0-9-]{8,64}$``),
else makes one in the shape of the signed API's RequestId (an upper-case uuid4); it returns it in the
``X-Request-Id`` response header, keeps it in a context variable (read by the JSON log formatter, also in
the worker threads a request runs in: they copy the context) and in ``request.state.request_id`` (the RPC
endpoint answers with it as its RequestId).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
VALID = re.compile(r"^[A-Za-z0-9-]{8,64}$")

_current: ContextVar[str | None] = ContextVar("shiren_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled; None outside one (start-up, workers)."""
    return _current.get()


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def accepted_request_id(incoming: str | None) -> str:
    """The caller's id when it is a plain token, else a new one (a caller's text never reaches a log)."""
    return incoming if incoming is not None and VALID.fullmatch(incoming) else new_request_id()


class RequestIdMiddleware:
    """Pure ASGI (no extra task), so the context variable is the one the endpoint and its threads see."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(HEADER))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
