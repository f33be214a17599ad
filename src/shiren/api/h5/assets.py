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
def load_asset(package: str, name: str) -> Asset:
    """A file from ``package``'s ``static/`` folder (read once per process)."""
    data = resources.files(package).joinpath("static", name).read_bytes()
    suffix = name[name.rfind(".") :]
    return Asset(data, CONTENT_TYPES[suffix], '"' + hashlib.sha256(data).hexdigest()[:32] + '"')


def asset_response(request: Request, asset: Asset) -> Response:
    headers = security_headers(html=asset.content_type.startswith("text/html"))
    headers["ETag"] = asset.etag
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.data, media_type=asset.content_type, headers=headers)


def html_response(body: str, status_code: int = 200) -> Response:
    """A server-rendered page (the demo's) under the same policy."""
    return Response(
        body, status_code=status_code, media_type=CONTENT_TYPES[".html"], headers=security_headers(html=True)
    )
