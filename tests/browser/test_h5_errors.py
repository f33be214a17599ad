"""What the user sees when the camera is refused, and in which language."""

from __future__ import annotations

import random
import time

from playwright.sync_api import Route

from shiren.domain.idnumber import random_id_number
from tests.browser import flows
from tests.browser.flows import at_step
from tests.browser.harness import Demo, OpenPage, Shots, Videos


def test_camera_denied_shows_error_with_retry(
    demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots
) -> None:
    """Without the fake-UI flag the browser asks for permission and nobody grants it: the SDK explains and
    offers a retry, which works once the camera is allowed; cancelling then leaves VerifyStatus -1."""
    biz_id = f"denied-{time.time_ns()}"
    url = flows.h5_token(demo, biz_id, "王建国", random_id_number(random.Random(3)))
    page, _ = open_page(videos.bona_fide, locale="en-US", grant_camera=False)
    page.goto(url)
    flows.through_consent(page, shots)
    at_step(page, "ERROR")
    assert page.locator(".shiren").get_attribute("data-shiren-error") == "camera_denied"
    assert "camera" in page.locator(".shiren [role=alert]").inner_text().lower()
    retry = page.locator(".shiren .shiren-btn-primary")
    assert retry.inner_text() == "Try again"
    shots(page, "camera-denied")

    page.context.grant_permissions(["camera"], origin=demo.url)
    retry.click()
    at_step(page, "FACE_LIVENESS")
    page.wait_for_selector(".shiren[data-shiren-hint]")
    page.locator(".shiren .shiren-btn-secondary").click()  # cancel
    at_step(page, "CANCELLED")
    shots(page, "cancelled")
    assert page.evaluate("document.body.getAttribute('data-shiren-done')") == "-1"
    assert flows.describe_result(demo, "DemoH5", biz_id)["VerifyStatus"] == -1


def test_language_follows_the_browser(demo: Demo, open_page: OpenPage, shots: Shots) -> None:
    expected = {
        "en-US": ("Verify your identity", "Your consent", "en"),
        "zh-CN": ("实人认证", "个人信息授权", "zh-CN"),
    }
    for locale, (guide, privacy, lang) in expected.items():
        url = flows.h5_token(
            demo, f"lang-{locale}-{time.time_ns()}", "王建国", random_id_number(random.Random(5))
        )
        page, _ = open_page(None, locale=locale)
        page.goto(url)
        at_step(page, "GUIDE")
        assert page.locator(".shiren h2").inner_text() == guide
        assert page.locator(".shiren").get_attribute("lang") == lang
        shots(page, f"guide-{locale}")
        flows.primary(page)
        at_step(page, "PRIVACY")
        assert page.locator(".shiren h2").inner_text() == privacy
        consent = page.locator(".shiren-consent-text").inner_text()
        has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in consent)
        assert has_cjk == (locale == "zh-CN"), consent[:80]
        shots(page, f"privacy-{locale}")


def test_network_failures_are_retried(demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots) -> None:
    """The video upload survives dropped requests (the PUT is idempotent, retried by itself); a submit that
    keeps failing shows the network error, and "Try again" then completes the same attempt."""
    url = flows.h5_token(demo, f"net-{time.time_ns()}", "王建国", random_id_number(random.Random(17)))
    page, _ = open_page(videos.bona_fide, locale="en-US")
    uploads: list[str] = []

    def flaky_upload(route: Route) -> None:
        uploads.append(route.request.url)
        if len(uploads) <= 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/device/v1/uploads/video*", flaky_upload)
    page.route("**/device/v1/submit", lambda route: route.abort("internetdisconnected"))
    page.goto(url)
    flows.through_consent(page, shots)
    flows.through_liveness(page, shots)
    at_step(page, "ERROR", timeout=30_000)
    assert page.locator(".shiren").get_attribute("data-shiren-error") == "network"
    shots(page, "network-error")
    assert (
        len(uploads) == 3 and len(set(uploads)) == 1
    )  # the same challenge's video, sent until it got through
    page.unroute("**/device/v1/submit")
    page.locator(".shiren .shiren-btn-primary", has_text="Try again").click()
    assert flows.wait_result(page, shots) == 1
