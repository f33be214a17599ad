"""``GET /media/{id}``: serves a stored image through a signed, expiring link; every read is audited."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shiren.runtime import Runtime
from shiren.services.media import LinkRejected, open_media


def make_media_endpoint(runtime: Runtime):  # noqa: ANN201 - Starlette endpoint
    async def media(request: Request) -> Response:
        q = request.query_params
        try:
            obj = await run_in_threadpool(
                open_media,
                runtime,
                request.path_params["blob_id"],
                q.get("t", ""),
                q.get("e", ""),
                q.get("s", ""),
                request.client.host if request.client else None,
            )
        except LinkRejected as exc:
            return JSONResponse(
                {"Code": "Forbidden", "Message": f"Media link rejected: {exc}."}, status_code=403
            )
        return Response(
            obj.data,
            media_type=obj.content_type,
            headers={
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return media
