"""Reading a signed API request: parameters from the query string and a form body, merged."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request

from shiren.api.rpc.errors import RpcError

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class RawRequest:
    """What the signature and the actions see: nothing of Starlette leaks past this point."""

    method: str
    path: str
    query: list[tuple[str, str]]
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    remote: str | None


class BodyTooLarge(RpcError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "RequestEntityTooLarge",
            f"The request body exceeds {limit} bytes.",
            "Send images by URL or make them smaller.",
        )


async def read_body(request: Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes; refuse early on Content-Length, and stop streaming past the limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RpcError(400, "InvalidParameter", "Content-Length is not a number.")
        if int(declared) > limit:
            raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse(request: Request, body: bytes) -> RawRequest:
    query = parse_qsl(request.url.query, keep_blank_values=True)
    params = dict(query)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type == FORM:
        try:
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise RpcError(400, "InvalidParameter", "The form body is not valid UTF-8.") from None
        params.update(form)
    return RawRequest(
        method=request.method,
        path=request.url.path,
        query=query,
        params=params,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        remote=request.client.host if request.client else None,
    )
