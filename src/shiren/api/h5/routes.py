"""Routes for the SDK files and the hosted H5 page: static files, nothing decided here.

The page reads its token and redirect parameters in the browser; the device endpoints check them.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from shiren.api.h5.assets import CROSS_ORIGIN_SCRIPT_TYPE, asset_response, load_asset

PACKAGE = "shiren.api.h5"

router = APIRouter(include_in_schema=False)


@router.api_route("/sdk/v1/shiren.js", methods=["GET", "HEAD"])
def sdk_js(request: Request) -> Response:
    return asset_response(request, load_asset(PACKAGE, "shiren.js"))


@router.api_route("/sdk/v1/shiren.css", methods=["GET", "HEAD"])
def sdk_css(request: Request) -> Response:
    return asset_response(request, load_asset(PACKAGE, "shiren.css"))


@router.api_route("/jsvm_all.js", methods=["GET", "HEAD"])
@router.api_route("/h5/v1/jsvm_all.js", methods=["GET", "HEAD"])
def jsvm_all_js(request: Request) -> Response:
    """The drop-in for Alibaba's ``jsvm_all.js`` (``getMetaInfo()``), loaded by integrators' own pages."""
    asset = load_asset(PACKAGE, "jsvm_all.js", CROSS_ORIGIN_SCRIPT_TYPE)
    return asset_response(request, asset, cross_origin=True)


@router.api_route("/h5/v1/page.js", methods=["GET", "HEAD"])
def page_js(request: Request) -> Response:
    return asset_response(request, load_asset(PACKAGE, "page.js"))


@router.api_route("/h5/v1/verify", methods=["GET", "HEAD"])
def verify_page(request: Request) -> Response:
    """``?token=…[&successRedirect=…&failRedirect=…]`` — the same static shell for every attempt."""
    return asset_response(request, load_asset(PACKAGE, "verify.html"))
