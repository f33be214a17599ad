"""Static browser assets served from the installed package, with the security headers every page needs.

The files are read once (they ship in the wheel) and revalidated by ETag, so an upgrade is picked up at
the next load without a cache-busting build step. The same headers serve the demo app's pages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

# Nothing inline, nothing third-party; blob: for the camera preview and the captured photos.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

# Scripts that integrators load from their own origin (jsvm_all.js): readable by any page, even in CORS
# mode (<script crossorigin>) or under Cross-Origin-Embedder-Policy, and cached for an hour before the
# ETag is revalidated (the file changes only with a shiren upgrade). No credentials are ever involved.
CROSS_ORIGIN_SCRIPT_TYPE = "application/javascript; charset=utf-8"
CROSS_ORIGIN_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "public, max-age=3600",
}


def security_headers(*, html: bool) -> dict[str, str]:
    """Headers for every page and asset; HTML (it may carry a token in its URL) is never cached."""
    headers = {
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    headers["Cache-Control"] = "no-store" if html else "no-cache"
    return headers


@dataclass(frozen=True)
class Asset:
    data: bytes
    content_type: str
    etag: str


@cache
def load_asset(package: str, name: str, content_type: str | None = None) -> Asset:
    """A file from ``package``'s ``static/`` folder (read once per process); the content type follows the
    file's suffix unless ``content_type`` is given."""
    data = resources.files(package).joinpath("static", name).read_bytes()
    suffix = name[name.rfind(".") :]
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return Asset(data, content_type or CONTENT_TYPES[suffix], etag)


def asset_response(request: Request, asset: Asset, *, cross_origin: bool = False) -> Response:
    """``cross_origin``: a script for other sites' pages, with :data:`CROSS_ORIGIN_HEADERS` on top."""
    headers = security_headers(html=asset.content_type.startswith("text/html"))
    if cross_origin:
        headers.update(CROSS_ORIGIN_HEADERS)
    headers["ETag"] = asset.etag
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.data, media_type=asset.content_type, headers=headers)


def html_response(body: str, status_code: int = 200) -> Response:
    """A server-rendered page (the demo's) under the same policy."""
    return Response(
        body, status_code=status_code, media_type=CONTENT_TYPES[".html"], headers=security_headers(html=True)
    )
