"""A user's way through the SDK's screens (click, tick, type), photographing each state on the way.

The SDK marks its root with ``data-shiren-step`` (and ``-hint``, ``-phase``, ``-action``, ``-side``,
``-error``, ``-result``): stable hooks for tests, independent of the language shown.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from tests.browser.harness import Demo, Shots
from tests.sdk import models, tea

RESULT_TIMEOUT_MS = 60_000


def at_step(page: Page, step: str, timeout: float = 30_000, extra: str = "") -> None:
    page.wait_for_selector(f".shiren[data-shiren-step={step}]{extra}", timeout=timeout)


def primary(page: Page) -> None:
    page.locator(".shiren .shiren-btn-primary").first.click()


def through_consent(page: Page, shots: Shots) -> None:
    """GUIDE, then PRIVACY: the button refuses until the box is ticked, and says why."""
    at_step(page, "GUIDE")
    assert page.evaluate("document.activeElement.tagName") == "H2"  # each step's heading takes the focus
    shots(page, "guide")
    primary(page)
    at_step(page, "PRIVACY")
    assert page.evaluate("document.activeElement.tagName") == "H2"
    shots(page, "privacy")
    primary(page)  # not ticked yet
    assert page.locator(".shiren .shiren-field-error").inner_text().strip()
    assert page.evaluate("document.activeElement.type") == "checkbox"
    # From here by keyboard alone: tick the box, move to the button, press it.
    page.keyboard.press("Space")
    assert page.locator(".shiren input[type=checkbox]").is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('shiren-btn-primary')")
    page.keyboard.press("Enter")


def through_liveness(page: Page, shots: Shots) -> None:
    """Live hints until the face is fine, then the recorded challenge with its prompts."""
    at_step(page, "FACE_LIVENESS")
    page.wait_for_selector(".shiren[data-shiren-hint]")
    shots(page, "liveness-hint")
    page.wait_for_selector(".shiren[data-shiren-action]", timeout=30_000)
    assert page.locator(".shiren-prompt").inner_text().strip()
    shots(page, "liveness-prompt")


def wait_result(page: Page, shots: Shots) -> int:
    at_step(page, "RESULT", timeout=RESULT_TIMEOUT_MS)
    shots(page, "result")
    return int(page.locator(".shiren").get_attribute("data-shiren-result") or "0")


def describe_result(demo: Demo, biz_type: str, biz_id: str) -> dict[str, Any]:
    """DescribeVerifyResult through Alibaba's current Tea SDK: the integrator's only trusted answer."""
    resp = tea(demo.server, demo.key).describe_verify_result(
        models.DescribeVerifyResultRequest(biz_id=biz_id, biz_type=biz_type)
    )
    return resp.body.to_map()


def verify_url(demo: Demo, biz_type: str, biz_id: str, **params: str) -> str:
    """DescribeVerifyToken (no redirect URLs) → the hosted page's URL for that token. For SDK schemes the
    URL is built the same way: the hosted page is only a shell around the SDK."""
    body = (
        tea(demo.server, demo.key)
        .describe_verify_token(models.DescribeVerifyTokenRequest(biz_id=biz_id, biz_type=biz_type, **params))
        .body
    )
    return str(body.verify_page_url or f"{demo.url}/h5/v1/verify?token={body.verify_token}")


def h5_token(demo: Demo, biz_id: str, name: str, id_number: str) -> str:
    """The VerifyPageUrl of a DemoH5 attempt."""
    return verify_url(demo, "DemoH5", biz_id, name=name, id_card_number=id_number)
