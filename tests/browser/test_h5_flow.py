"""The hosted H5 page end to end, driven from the demo integrator: consent, liveness with the fake camera,
the server's verdict, the redirect back, and DescribeVerifyResult through Alibaba's official SDK."""

from __future__ import annotations

import random
import time
from urllib.parse import parse_qs, quote, urlsplit

from playwright.sync_api import Page

from shiren.domain.idnumber import random_id_number
from tests.browser import flows
from tests.browser.flows import at_step, describe_result
from tests.browser.harness import Demo, OpenPage, Shots, Videos


def _start_from_demo(page: Page, demo: Demo, shots: Shots) -> None:
    page.goto(demo.url + "/demo")
    shots(page, "demo-index")
    page.locator("form[action='/demo/h5'] button[type=submit]").click()
    page.wait_for_url("**/h5/v1/verify?token=*")


def test_bona_fide_passes_and_lands_on_demo_done(
    demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots
) -> None:
    page, rec = open_page(videos.bona_fide)
    _start_from_demo(page, demo, shots)
    flows.through_consent(page, shots)
    flows.through_liveness(page, shots)
    assert flows.wait_result(page, shots) == 1
    # A pass counts down (announced politely), then follows the server's redirectUrl (PassedRedirectUrl).
    assert page.locator(".shiren-note[aria-live=polite]").inner_text().strip()
    page.wait_for_url("**/demo/done?*", timeout=10_000)
    query = parse_qs(urlsplit(page.url).query)
    biz_id = query["bizId"][0]
    assert query["result"][0].startswith("v1.")
    assert page.locator("#verify-status").inner_text() == "1"
    page.locator(".demo-media img").first.wait_for()
    assert page.evaluate("[...document.querySelectorAll('.demo-media img')].every(i => i.naturalWidth > 0)")
    shots(page, "demo-done", full_page=True)

    body = describe_result(demo, "DemoH5", biz_id)
    assert body["VerifyStatus"] == 1
    assert body["Material"]["FaceImageUrl"].startswith(demo.url + "/media/")
    assert body["Material"]["VideoUrls"] and all(
        u.startswith(demo.url) for u in body["Material"]["VideoUrls"]
    )
    # Everything the pages loaded (demo, hosted page, SDK, device calls, media) came from shiren itself.
    assert rec.requests and not rec.foreign(demo.url), rec.foreign(demo.url)


def test_static_photo_fails_and_lands_on_demo_done(
    demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots
) -> None:
    page, rec = open_page(videos.static)
    _start_from_demo(page, demo, shots)
    flows.through_consent(page, shots)
    flows.through_liveness(page, shots)
    assert flows.wait_result(page, shots) == 2
    assert page.locator(".shiren-result-text").inner_text().strip()
    # A failure stays until the user has read it: no redirect by itself, a "Continue" that goes at once.
    page.wait_for_timeout(3500)
    assert urlsplit(page.url).path == "/h5/v1/verify"
    assert not page.locator(".shiren-note[aria-live=polite]").count()  # no countdown
    go = page.locator(".shiren .shiren-actions .shiren-btn-primary")
    assert go.inner_text() == "继续"
    go.click()
    page.wait_for_url("**/demo/done?*", timeout=10_000)
    biz_id = parse_qs(urlsplit(page.url).query)["bizId"][0]
    assert page.locator("#verify-status").inner_text() == "9"
    shots(page, "demo-done", full_page=True)
    assert describe_result(demo, "DemoH5", biz_id)["VerifyStatus"] == 9
    assert not rec.foreign(demo.url)


def test_hostile_redirects_are_refused(demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots) -> None:
    """successRedirect to another origin and a javascript: failRedirect: the server refuses both, the page
    still gets its verdict (submitted without them) and stays on the result screen."""
    url = flows.h5_token(demo, f"evil-{time.time_ns()}", "王建国", random_id_number(random.Random(7)))
    url += "&successRedirect=" + quote("https://evil.example/steal", safe="")
    url += "&failRedirect=" + quote("javascript:alert(document.domain)", safe="")
    page, rec = open_page(videos.bona_fide)
    page.goto(url)
    flows.through_consent(page, shots)
    flows.through_liveness(page, shots)
    assert flows.wait_result(page, shots) in (1, 2)
    assert page.locator(".shiren .shiren-warning").is_visible()
    page.wait_for_timeout(2500)  # longer than the page's redirect delay
    assert urlsplit(page.url).path == "/h5/v1/verify"
    assert page.evaluate("document.body.getAttribute('data-shiren-done')") in ("1", "2")
    shots(page, "stayed")
    assert not [u for u in rec.requests if urlsplit(u).hostname == "evil.example"]
    assert not rec.foreign(demo.url)


def test_token_problems_show_a_final_error(demo: Demo, open_page: OpenPage, shots: Shots) -> None:
    """An unknown token, and none at all: a plain explanation, no retry (only a new token helps)."""
    page, _ = open_page(None, locale="en-US")
    for query in ("?token=" + "0" * 32, ""):
        page.goto(demo.url + "/h5/v1/verify" + query)
        at_step(page, "ERROR")
        assert page.locator(".shiren").get_attribute("data-shiren-error") == "token"
        assert "start a new verification" in page.locator(".shiren [role=alert]").inner_text()
        assert not page.locator(".shiren button").count()
        assert page.evaluate("document.body.getAttribute('data-shiren-done')") == "-1"
        shots(page, "token-invalid" if query else "token-missing")
