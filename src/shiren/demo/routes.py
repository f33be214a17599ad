"""The demo integrator's HTTP side under ``/demo`` (mounted only when ``SHIREN_DEMO=true``).

Thin handlers: parse, call ``DemoService`` (blocking HTTP to shiren, so in the thread pool), render.
Forms are url-encoded and parsed here, so the demo needs no multipart library.
"""

from __future__ import annotations

import json
import random
import secrets
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from shiren.api.h5.assets import asset_response, html_response, load_asset
from shiren.demo import pages
from shiren.demo.client import ApiError
from shiren.demo.service import DemoService, scene_for
from shiren.domain.idnumber import random_id_number

STATIC = ("demo.css", "demo-sdk.js", "demo-min.js")
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强")
MAX_FORM_BYTES = 16 * 1024


def _sample_identity() -> tuple[str, str]:
    rng = random.Random(secrets.randbits(64))
    return rng.choice(NAMES), random_id_number(rng)


def _api_error_page(exc: ApiError) -> Response:
    status = 502 if exc.status == 0 or exc.status >= 500 else 400
    return html_response(pages.error_page(f"shiren answered {exc.code}: {exc.message}"), status)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0].strip() for k, v in parsed.items() if v}


def _json_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def make_demo_router(service: DemoService) -> APIRouter:
    router = APIRouter(prefix="/demo", include_in_schema=False)

    @router.get("")
    def index() -> Response:
        return html_response(pages.index_page(*_sample_identity()))

    @router.post("/h5")
    async def start_h5(request: Request) -> Response:
        form = await _form(request)
        name, id_number = form.get("name", ""), form.get("idNumber", "")
        if not name or not id_number:
            return html_response(pages.index_page(name, id_number, "Name and ID number are required."), 400)
        try:
            url = await run_in_threadpool(service.start_h5, name, id_number)
        except ApiError as exc:
            return html_response(pages.index_page(name, id_number, f"{exc.code}: {exc.message}"), 400)
        return RedirectResponse(url, status_code=303)

    @router.get("/done")
    async def done(bizId: str = "", result: str = "") -> Response:  # noqa: N803 - shiren's parameter names
        if scene_for(bizId) is None:
            return html_response(pages.error_page("This page needs the bizId of a demo verification."), 400)
        try:
            answer = await run_in_threadpool(service.result, bizId)
        except ApiError as exc:
            return _api_error_page(exc)
        return html_response(pages.done_page(bizId, answer, result or None))

    @router.get("/min")
    def min_form() -> Response:
        note = None
        if not service.can_fetch_own_files:
            note = (
                "shiren will refuse to fetch images from this demo (a private address): "
                "start the server with "
                f"SHIREN_FETCH_ALLOW_HOSTS={service.host_key}"
            )
        return html_response(pages.min_page(*_sample_identity(), note))

    @router.post("/files")
    async def put_file(request: Request) -> Response:
        """Raw image bytes from the RPMin page → a short-lived key (the page never sees the URL's host)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        data = await request.body()
        try:
            key = service.files.put(data, content_type)
        except ValueError as exc:
            return _json_error(str(exc), 413 if len(data) else 400)
        return JSONResponse({"id": key}, headers={"Cache-Control": "no-store"})

    @router.get("/files/{key}")
    def get_file(key: str) -> Response:
        stored = service.files.get(key)
        if stored is None:
            return Response(status_code=404)
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        return Response(stored.data, media_type=stored.content_type, headers=headers)

    @router.post("/min")
    async def verify_min(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _json_error("JSON body expected")
        fields = {k: str(body.get(k) or "") for k in ("name", "idNumber", "face", "front", "back")}
        if not (fields["name"] and fields["idNumber"] and fields["face"]):
            return _json_error("name, idNumber and a face photo are required")
        try:
            biz_id, answer = await run_in_threadpool(
                service.verify_min,
                fields["name"],
                fields["idNumber"],
                fields["face"],
                fields["front"] or None,
                fields["back"] or None,
            )
        except ApiError as exc:
            return _json_error(f"{exc.code}: {exc.message}", 502 if exc.status >= 500 else 400)
        return JSONResponse(
            {"bizId": biz_id, "VerifyStatus": answer.get("VerifyStatus")},
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/sdk")
    def sdk_page() -> Response:
        return html_response(pages.sdk_page())

    @router.post("/sdk/token")
    async def sdk_token() -> Response:
        try:
            issued = await run_in_threadpool(service.start_sdk)
        except ApiError as exc:
            return _json_error(f"{exc.code}: {exc.message}", 502)
        return JSONResponse(issued, headers={"Cache-Control": "no-store"})

    @router.get("/static/{name}")
    def static(name: str, request: Request) -> Response:
        if name not in STATIC:
            return Response(status_code=404)
        return asset_response(request, load_asset("shiren.demo", name))

    return router
