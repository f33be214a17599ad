"""Browser tests: Debian Chromium driven by Playwright, with a fake camera playing a generated video.

One shiren server with the demo integrator turned on (``SHIREN_DEMO=true``) serves every test. Its demo
scenes DemoH5 and DemoBasic are created *before* it starts with an action pool of exactly two actions
(blink, open_mouth): the fake camera's file is fixed when the browser launches, before the server draws
the challenge, so the video (``looped_both_orders``: blink, open_mouth, blink, looped) must satisfy either
order. The demo's own provisioning is idempotent and leaves existing scenes alone. Two more scenes of the
demo tenant (RPBioOnlyPro, RPManual) run the SDK in the hosted page's shell, which takes any token.

Every page state is photographed at a phone viewport (390x844) into pytest's tmp dir and copied to
``tests/browser/screenshots/``. Every request a page makes is recorded, and any CSP violation or uncaught
script error fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from tests.browser.harness import (
    ACTIONS,
    CHROMIUM,
    FACE,
    PHONE,
    SCENES,
    Browsers,
    Demo,
    OpenPage,
    Recorder,
    Shots,
    Videos,
)
from tests.support import ShirenServer, free_port


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    srv = ShirenServer(
        tmp_path_factory.mktemp("browser-data"),
        # One photograph films every flow: the same pictures again (see tests/sdk_e2e/conftest.py).
        env={
            "SHIREN_DEMO": "true",
            "SHIREN_FETCH_ALLOW_HOSTS": f"127.0.0.1:{port}",
            "SHIREN_CONTENT_REPLAY_CHECK": "false",
        },
        port=port,
    )
    key = srv.cli_json("accesskey", "create", "--tenant", "demo")
    # The looped fake-camera clip cannot follow prompts drawn at random moments: these scenes are untimed.
    pool = ["--liveness-actions", ",".join(ACTIONS), "--liveness-count", "2", "--untimed-liveness"]
    for biz_type, scheme in SCENES:
        srv.cli_json(
            "scene",
            "create",
            biz_type,
            "--scheme",
            scheme,
            "--tenant",
            "demo",
            "--redirect-origin",
            base,
            *pool,
        )
    srv.start()
    yield Demo(srv, key)
    srv.stop()


@pytest.fixture(scope="package")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Videos:
    from tests.fixtures.liveness_video import looped_both_orders, static_photo, subject

    folder = tmp_path_factory.mktemp("videos")
    face = subject(FACE)
    return Videos(
        looped_both_orders(face, *ACTIONS).y4m(folder / "bona_fide.y4m"),
        static_photo(face, 3.0).y4m(folder / "static.y4m"),
    )


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():  # `make test` installs it (Debian package chromium)
        pytest.skip("Debian chromium is not installed (make test installs it)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browsers(playwright: Playwright) -> Iterator[Browsers]:
    b = Browsers(playwright)
    yield b
    b.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Shots:
    return Shots(tmp_path, request.node.name.removeprefix("test_").replace("[", "-").rstrip("]"))


@pytest.fixture
def open_page(browsers: Browsers) -> Iterator[OpenPage]:
    """``open_page(video, locale=…, grant_camera=…)`` → (page, recorder); closes contexts afterwards and
    fails the test on any CSP violation or uncaught script error."""
    contexts: list[BrowserContext] = []
    recorders: list[Recorder] = []

    def make(
        video: Path | None, *, locale: str = "zh-CN", grant_camera: bool = True
    ) -> tuple[Page, Recorder]:
        browser = browsers.get(video, grant_camera=grant_camera)
        ctx = browser.new_context(
            viewport=PHONE, locale=locale, is_mobile=True, has_touch=True, device_scale_factor=1
        )
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        page = ctx.new_page()
        rec = Recorder()
        rec.attach(page)
        recorders.append(rec)
        return page, rec

    yield make
    for ctx in contexts:
        ctx.close()
    for rec in recorders:
        assert not rec.csp_violations, rec.csp_violations
        assert not rec.page_errors, rec.page_errors
