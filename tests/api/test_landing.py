"""``/`` for a person in a browser is a landing page; for every RPC client it is the signed API, as before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest

from shiren import __version__
from shiren.api.h5.assets import CSP
from shiren.api.landing import locale_of, render
from shiren.api.rpc.signing import v1_signature, v1_string_to_sign
from tests.support import ShirenServer, signed_v1

BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9",
}


@pytest.fixture(scope="module")
def key(server: ShirenServer) -> dict[str, str]:
    return server.new_tenant("landing", [("FDTest", "FDBioOnly")])


def signed_get(key: dict[str, str], action: str, **params: str) -> dict[str, str]:
    p = {
        "Action": action,
        "Version": "2019-03-07",
        "Format": "JSON",
        "AccessKeyId": key["AccessKeyId"],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    p["Signature"] = v1_signature(key["AccessKeySecret"], v1_string_to_sign("GET", p))
    return p


def test_a_browser_gets_the_landing_page(server: ShirenServer) -> None:
    resp = httpx.get(server.url + "/", headers=BROWSER, timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["content-security-policy"] == CSP
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"
    assert "Accept-Language" in resp.headers["vary"]
    page = resp.text
    assert f"shiren {__version__}" in page and '<html lang="en">' in page
    for href in ("/console/", "/openapi.json", "/healthz", "/sdk/v1/shiren.css"):
        assert f'href="{href}"' in page
    assert 'href="/demo"' not in page  # the demo is off on this server
    assert 'href="/docs"' not in page  # Swagger UI would load from a CDN the CSP refuses
    assert "<script" not in page and "style=" not in page  # nothing inline
    # What it links to is served by shiren itself.
    for href in ("/openapi.json", "/healthz", "/sdk/v1/shiren.css"):
        assert httpx.get(server.url + href, timeout=30).status_code == 200, href


def test_the_page_speaks_chinese_to_a_chinese_browser(server: ShirenServer) -> None:
    resp = httpx.get(server.url + "/", headers={**BROWSER, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert resp.status_code == 200 and '<html lang="zh-CN">' in resp.text
    assert "运营控制台" in resp.text and "Operator console" not in resp.text


def test_rpc_clients_are_answered_by_the_api_as_before(server: ShirenServer, key: dict[str, str]) -> None:
    # No HTML in Accept: the RPC error, as a plain GET / always got.
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        resp = httpx.get(server.url + "/", headers=headers, timeout=30)
        assert resp.status_code == 400 and resp.json()["Code"] == "MissingAction", headers
    # A query string (even from a browser) or a POST: the API.
    resp = httpx.get(server.url + "/?Action=DescribeVerifyResult", headers=BROWSER, timeout=30)
    assert resp.headers["content-type"].startswith("application/json") and resp.json()["Code"]
    resp = httpx.post(server.url + "/", headers=BROWSER, timeout=30)
    assert resp.status_code == 400 and resp.json()["Code"] == "MissingAction"
    # Signed calls, by POST and by GET, still work.
    params = signed_v1(key, "DescribeVerifyResult", BizId="landing-1", BizType="FDTest")
    resp = httpx.post(server.url + "/?" + urlencode(params), headers=BROWSER, timeout=30)
    assert resp.status_code == 200 and resp.json()["VerifyStatus"] == -1, resp.text
    params = signed_get(key, "DescribeVerifyResult", BizId="landing-2", BizType="FDTest")
    resp = httpx.get(server.url + "/?" + urlencode(params), timeout=30)
    assert resp.status_code == 200 and resp.json()["VerifyStatus"] == -1, resp.text


def test_the_demo_is_linked_only_when_it_is_on() -> None:
    assert 'href="/demo"' in render("en", demo=True)
    assert 'href="/demo"' not in render("zh", demo=False)


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9", "zh"),
        ("zh-Hant-TW", "zh"),
        ("ZH", "zh"),
        ("en-US,zh-CN;q=0.8", "en"),
        ("en;q=0.5, zh-TW;q=0.9", "zh"),
        ("zhx-foo", "en"),
        ("fr-FR", "en"),
        ("", "en"),
        ("zh;q=oops, en", "en"),
    ],
)
def test_the_language_is_the_most_preferred_one(header: str, locale: str) -> None:
    assert locale_of(header) == locale
