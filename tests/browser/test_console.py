"""The operator console in Debian Chromium, as its users work with it.

A reviewer signs in with the one-time password the CLI printed, sets a password, finds a held case by its
BizId, opens it (its images load), approves it; the integrator's DescribeVerifyResult then says passed and
the callback arrives. An auditor sees the same records with names and numbers masked and no image, and is
refused the image by URL. A reviewer of another tenant gets "not found" for the case by URL. Every page is
served under the strict CSP with nothing from another origin; the pages are photographed at a laptop and a
tablet size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
from playwright.sync_api import Browser, Page, expect

from shiren.domain.masking import mask_id_number
from tests.browser.harness import Browsers, Recorder, Shots
from tests.console_support import HOLDER, HOLDER_ID, NEW_PASSWORD, create_user, review_server, verify_material
from tests.peers import ImageHost, Receiver
from tests.sdk import core_call
from tests.support import ShirenServer

LAPTOP = {"width": 1280, "height": 860}
TABLET = {"width": 820, "height": 1180}


@pytest.fixture(scope="module")
def console_env(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ShirenServer, dict, Receiver, str]]:
    host, receiver = ImageHost(), Receiver()
    srv, key = review_server(
        tmp_path_factory.mktemp("console"), tmp_path_factory.mktemp("roster"), host, receiver
    )
    held = verify_material(srv, key, host, "Held", "order-7731", "obama2.jpg")
    assert held.verify_status == -1
    yield srv, key, receiver, held.verify_token
    srv.stop()
    host.close()
    receiver.close()


@pytest.fixture
def browser(browsers: Browsers) -> Browser:
    return browsers.get(None, grant_camera=False)


def open_console(browser: Browser, viewport: dict[str, int], locale: str = "en-US") -> tuple[Page, Recorder]:
    ctx = browser.new_context(viewport=viewport, locale=locale)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    rec = Recorder()
    rec.attach(page)
    return page, rec


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set a new password")).to_be_visible()
    page.get_by_label("Current password").fill(password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save").click()


def assert_clean(rec: Recorder, base: str) -> None:
    assert not rec.csp_violations, rec.csp_violations
    assert not rec.page_errors, rec.page_errors
    assert rec.foreign(base) == []


def test_reviewer_finds_opens_and_approves_a_held_case(console_env, browser: Browser, shots: Shots) -> None:
    srv, key, receiver, token = console_env
    password = create_user(srv, "rita", "reviewer", "acme")
    page, rec = open_console(browser, LAPTOP)
    sign_in(page, srv.url, "rita", password)
    # A reviewer starts at the queue, oldest first, with the case's reason.
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_role("cell", name="order-7731", exact=True)).to_be_visible()
    shots(page, "queue")

    page.get_by_role("link", name="Records").click()
    page.get_by_label("BizId / OuterOrderNo").fill("order-7731")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("held for review")
    expect(rows.first).not_to_contain_text(HOLDER)  # lists are masked for everyone
    shots(page, "records")
    rows.first.get_by_role("link", name=token).click()

    expect(page.get_by_role("heading", name="Held for review")).to_be_visible()
    expect(page.locator("[data-personal=name]")).to_have_text(HOLDER)
    images = page.locator(".gallery img")
    expect(images.first).to_be_visible()
    assert images.count() >= 3  # the face, the whole picture, and the registry photo it was compared with
    expect(page.locator(".gallery img[data-kind=reference]")).to_have_count(1)
    for i in range(images.count()):  # every image really decoded, through the session
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.get_by_role("row", name="face_vs_authority")).to_contain_text("95")
    shots(page, "case-held", full_page=True)

    page.get_by_label("Approve").check()
    page.get_by_label("Reason").select_option("same_person")
    page.get_by_label("Comment").fill("same person as the registry photo")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator("[data-review]")).to_have_attribute("data-review", "reviewed")
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "1")
    shots(page, "case-approved", full_page=True)

    result = core_call(srv, key, "DescribeVerifyResult", BizId="order-7731", BizType="Held")
    assert result["VerifyStatus"] == 1
    receiver.wait_for(lambda: bool(receiver.for_biz("order-7731")))
    assert receiver.for_biz("order-7731")[0].doc["VerifyStatus"] == 1
    page.reload()
    expect(page.locator("[data-callback-state]").first).to_have_attribute("data-callback-state", "delivered")
    assert_clean(rec, srv.url)
    page.context.close()


def test_auditor_sees_no_personal_data_and_no_image(console_env, browser: Browser, shots: Shots) -> None:
    srv, _key, _receiver, token = console_env
    password = create_user(srv, "audrey", "auditor", "acme")
    page, rec = open_console(browser, TABLET)
    sign_in(page, srv.url, "audrey", password)
    expect(page.get_by_role("heading", name="Records")).to_be_visible()
    expect(page.get_by_role("link", name="Review queue")).to_have_count(0)
    shots(page, "records-auditor")
    page.goto(f"{srv.url}/console/cases/{token}")
    expect(page.locator("[data-personal=name]")).not_to_have_text(HOLDER)
    expect(page.locator("[data-personal=number]")).to_have_text(mask_id_number(HOLDER_ID))
    expect(page.locator("img, video")).to_have_count(0)
    body = page.content()
    assert HOLDER not in body and HOLDER_ID not in body and "/media/" not in body
    shots(page, "case-auditor", full_page=True)
    # The image by URL (taken from the reviewer's page) is refused.
    with closing(sqlite3.connect(srv.data_dir / "shiren.db")) as db:
        (blob,) = db.execute("select id from blobs where kind = 'face' limit 1").fetchone()
    answer = page.request.get(f"{srv.url}/console/cases/{token}/media/{blob}")
    assert answer.status == 403 and b"\xff\xd8" not in answer.body()
    # Statistics, as charts an assistive technology reads as images with their figures.
    page.get_by_role("link", name="Statistics").click()
    expect(page.locator("[data-stat=total]")).not_to_have_text("0")
    charts = page.get_by_role("img")
    assert charts.count() >= 5
    expect(page.locator("#daily-title")).to_have_text("Verifications per day")
    shots(page, "statistics", full_page=True)
    assert_clean(rec, srv.url)
    page.context.close()


def test_another_tenants_reviewer_cannot_open_the_case(console_env, browser: Browser, shots: Shots) -> None:
    srv, _key, _receiver, token = console_env
    password = create_user(srv, "gina", "reviewer", "globex")
    page, rec = open_console(browser, LAPTOP, locale="zh-CN")
    page.goto(f"{srv.url}/console/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()  # Chinese by the browser's language
    page.get_by_role("link", name="English").click()
    sign_in(page, srv.url, "gina", password)
    answer = page.goto(f"{srv.url}/console/cases/{token}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert HOLDER not in page.content()
    shots(page, "other-tenant")
    assert_clean(rec, srv.url)
    page.context.close()


def test_console_refuses_frames_and_serves_a_strict_csp(console_env, browser: Browser) -> None:
    srv = console_env[0]
    page, _rec = open_console(browser, LAPTOP)
    answer = page.goto(f"{srv.url}/console/login")
    assert answer is not None
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    page.context.close()
