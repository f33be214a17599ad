"""The demo's and the hosted page's server-side pieces, without a browser: escaping, the file shelf's
limits, BizId routing, the signed client against a real server."""

from __future__ import annotations

import httpx
import pytest

from shiren.demo.client import ApiError, CloudauthClient
from shiren.demo.files import MAX_BYTES, FileShelf
from shiren.demo.pages import done_page, index_page
from shiren.demo.service import new_biz_id, scene_for
from tests.browser.harness import Demo
from tests.support import ShirenServer

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100


def test_pages_escape_everything() -> None:
    hostile = '"><script>alert(1)</script>'
    html = index_page(hostile, hostile, error=hostile)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    result = {"VerifyStatus": 1, "Material": {"IdCardName": hostile, "FaceImageUrl": 'x" onerror="alert(1)'}}
    html = done_page("h5-0123456789abcdef", result, hostile)
    assert "<script>alert" not in html and 'onerror="alert' not in html


def test_done_page_writes_booleans_as_json() -> None:
    html = done_page("h5-0123456789abcdef", {"VerifyStatus": 1, "Material": {"FaceMask": False}}, None)
    assert "<td>false</td>" in html


def test_file_shelf_limits() -> None:
    shelf = FileShelf(ttl_s=60, max_items=2)
    a = shelf.put(JPEG, "image/jpeg")
    assert len(a) >= 32 and shelf.get(a) is not None
    with pytest.raises(ValueError):
        shelf.put(JPEG, "text/html")
    with pytest.raises(ValueError):
        shelf.put(b"\xff" * (MAX_BYTES + 1), "image/jpeg")
    b, c = shelf.put(JPEG, "image/png"), shelf.put(JPEG, "image/webp")
    assert shelf.get(a) is None and shelf.get(b) and shelf.get(c)  # the oldest made room
    shelf.discard(b, None)
    assert shelf.get(b) is None
    expired = FileShelf(ttl_s=-1)
    assert expired.get(expired.put(JPEG, "image/jpeg")) is None


def test_biz_ids_route_to_their_scene() -> None:
    assert scene_for(new_biz_id("h5")) == "DemoH5"
    assert scene_for(new_biz_id("sdk")) == "DemoBasic"
    assert scene_for(new_biz_id("min")) == "DemoMin"
    for bad in ("", "h5-", "x5-0123456789abcdef", "h5-0123456789abcdef/../x", "h5-0123456789ABCDEF"):
        assert scene_for(bad) is None


def test_signed_client_calls_shiren(demo: Demo) -> None:
    client = CloudauthClient(demo.url, demo.key["AccessKeyId"], demo.key["AccessKeySecret"])
    assert (
        client.call("DescribeVerifyResult", BizType="DemoH5", BizId="h5-0000000000000000")["VerifyStatus"]
        == -1
    )
    with pytest.raises(ApiError) as err:
        CloudauthClient(demo.url, demo.key["AccessKeyId"], "wrong").call(
            "DescribeVerifyResult", BizType="DemoH5"
        )
    assert err.value.status == 400 and err.value.code == "SignatureDoesNotMatch"


def test_demo_is_off_by_default(server: ShirenServer) -> None:
    """The package-wide server runs without SHIREN_DEMO: no /demo, but the hosted page is always there."""
    assert httpx.get(server.url + "/demo").status_code == 404
    assert httpx.get(server.url + "/h5/v1/verify?token=0123456789abcdef0123456789abcdef").status_code == 200
