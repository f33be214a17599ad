"""The hosted page and its assets: strict CSP, no referrer, no sniffing, no caching of the page, camera only
for itself; the demo's pages follow the same policy."""

from __future__ import annotations

import httpx
import pytest

from shiren.api.h5.assets import CSP
from tests.browser.harness import Demo

EXPECTED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def test_csp_is_the_documented_one() -> None:
    assert CSP == EXPECTED_CSP


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/h5/v1/verify?token=0123456789abcdef0123456789abcdef", "text/html"),
        ("/sdk/v1/shiren.js", "text/javascript"),
        ("/sdk/v1/shiren.css", "text/css"),
        ("/h5/v1/page.js", "text/javascript"),
        ("/demo", "text/html"),
        ("/demo/sdk", "text/html"),
        ("/demo/min", "text/html"),
        ("/demo/static/demo.css", "text/css"),
    ],
)
def test_security_headers(demo: Demo, path: str, content_type: str) -> None:
    r = httpx.get(demo.url + path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(content_type)
    assert r.headers["content-security-policy"] == EXPECTED_CSP
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "camera=(self)" in r.headers["permissions-policy"]
    if content_type == "text/html":
        assert r.headers["cache-control"] == "no-store"
        # Nothing inline and nothing from elsewhere: every script and stylesheet is a same-origin file.
        assert "<script>" not in r.text and "style=" not in r.text and "<style" not in r.text
        assert "http://" not in r.text.replace(demo.url, "") and "https://" not in r.text


def test_assets_revalidate_by_etag(demo: Demo) -> None:
    first = httpx.get(demo.url + "/sdk/v1/shiren.js")
    again = httpx.get(demo.url + "/sdk/v1/shiren.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_head_requests_answer_like_get_without_a_body(demo: Demo) -> None:
    for path in ("/sdk/v1/shiren.js", "/h5/v1/verify?token=0123456789abcdef0123456789abcdef"):
        get, head = httpx.get(demo.url + path), httpx.head(demo.url + path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-security-policy"] == get.headers["content-security-policy"]
        assert head.headers["etag"] == get.headers["etag"]
