"""shiren's drop-in ``jsvm_all.js``: an integrator's page on another origin loads it with one script tag,
and ``getMetaInfo()`` gives a MetaInfo that shiren's own parser accepts; the file is served for that use
(CORS, cacheable, no sniffing)."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Playwright

from shiren.domain.metainfo import KEYS, parse_meta_info
from tests.browser.harness import Browsers, Recorder
from tests.support import ShirenServer

PATHS = ("/jsvm_all.js", "/h5/v1/jsvm_all.js")
BIO_META_INFO = re.compile(r"4\.1\.0:gum=[01],mr=[01],gl=[01]")


@dataclass(frozen=True)
class Integrator:
    """The integrator's own site: another origin (another port) serving two static pages."""

    url: str


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def integrator(server: ShirenServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Integrator]:
    root: Path = tmp_path_factory.mktemp("integrator-site")
    (root / "blank.html").write_text("<!doctype html><title>blank</title><p>no script</p>\n")
    (root / "checkout.html").write_text(
        "<!doctype html><title>checkout</title>\n"
        # crossorigin: fetched in CORS mode, so the test also proves Access-Control-Allow-Origin works.
        f'<script crossorigin="anonymous" src="{server.url}/jsvm_all.js"></script>\n'
        "<p>pay</p>\n"
    )
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Integrator(f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.mark.parametrize("device", ["desktop", "Pixel 7", "iPhone 13"])
def test_get_meta_info_on_another_origin(
    server: ShirenServer, integrator: Integrator, browsers: Browsers, playwright: Playwright, device: str
) -> None:
    options = {} if device == "desktop" else dict(playwright.devices[device])
    options.pop("default_browser_type", None)
    ctx = browsers.get(None, grant_camera=False).new_context(**options)
    try:
        page = ctx.new_page()
        rec = Recorder()
        rec.attach(page)
        page.goto(integrator.url + "/blank.html")
        baseline = set(page.evaluate("Object.getOwnPropertyNames(window)"))
        page.goto(integrator.url + "/checkout.html")
        added = set(page.evaluate("Object.getOwnPropertyNames(window)")) - baseline

        assert added == {"getMetaInfo"}
        assert page.evaluate("typeof getMetaInfo()") == "string"
        raw = page.evaluate("getMetaInfo()")
        doc = json.loads(raw)
        assert list(doc) == list(KEYS)  # exactly the eight keys, in Alibaba's order
        assert all(isinstance(v, str) for v in doc.values()), doc
        assert len(raw.encode()) < 1024

        meta = parse_meta_info(raw)
        assert meta is not None and meta.unknown_keys == 0
        assert (meta.zim_ver, meta.app_version, meta.apdid_token) == ("3.0.0", "1", "")
        assert meta.app_name == "127.0.0.1"  # the integrator page's hostname
        assert meta.bio_meta_info and BIO_META_INFO.fullmatch(meta.bio_meta_info), meta.bio_meta_info
        # 127.0.0.1 is a secure context: Chromium exposes the camera and recording APIs there.
        assert meta.bio_meta_info.startswith("4.1.0:gum=1,mr=1,"), meta.bio_meta_info
        if device == "desktop":
            assert (meta.device_type, meta.os_version, meta.device_model) == ("web", "Linux", "X11")
        elif device == "Pixel 7":
            assert meta.device_type == "h5"
            assert meta.os_version and meta.os_version.startswith("Android ")
            assert meta.device_model == "Pixel 7"
        else:
            assert meta.device_type == "h5"
            assert meta.os_version and re.fullmatch(r"iOS \d+(\.\d+)*", meta.os_version)
            assert meta.device_model == "iPhone"
        assert meta.as_evidence()["apdidTokenPresent"] is False

        # Nothing but the script itself went to shiren, nothing elsewhere; nothing was stored.
        assert rec.foreign(integrator.url) == [server.url + "/jsvm_all.js"]
        assert not rec.page_errors, rec.page_errors
        assert ctx.cookies() == []
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    finally:
        ctx.close()


@pytest.mark.parametrize("path", PATHS)
def test_served_for_other_origins(server: ShirenServer, path: str) -> None:
    shipped = resources.files("shiren.api.h5").joinpath("static", "jsvm_all.js").read_bytes()
    r = httpx.get(server.url + path, headers={"Origin": "https://shop.example.com"})
    assert r.status_code == 200
    assert r.content == shipped
    assert r.headers["content-type"] == "application/javascript; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert "set-cookie" not in r.headers
    etag = r.headers["etag"]

    again = httpx.get(server.url + path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["access-control-allow-origin"] == "*"
    assert again.headers["etag"] == etag

    head = httpx.head(server.url + path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag
    assert head.headers["content-type"] == "application/javascript; charset=utf-8"
