"""The demo's server-only flow (RPMin): photos uploaded to the demo, VerifyMaterial with its short-lived
URLs (fetched by shiren through SHIREN_FETCH_ALLOW_HOSTS), the result read back."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.browser.harness import Demo, OpenPage, Shots
from tests.fixtures.idcards import make_card
from tests.fixtures.photos import photo


def test_rpmin_from_the_demo_form(demo: Demo, open_page: OpenPage, shots: Shots, tmp_path: Path) -> None:
    card = make_card(11, portrait="obama.jpg")
    face = tmp_path / "face.jpg"
    cv2.imwrite(str(face), cv2.imread(str(photo("obama2.jpg"))))  # the card's person, another photo
    front, back = tmp_path / "front.jpg", tmp_path / "back.jpg"
    front.write_bytes(card.front)
    back.write_bytes(card.back)

    page, rec = open_page(None, locale="en-US")
    page.goto(demo.url + "/demo/min")
    assert not page.locator(".demo-error").count()  # the demo's own host is fetchable
    page.locator("#name").fill(card.truth.name)
    page.locator("#idNumber").fill(card.truth.number)
    page.locator("#face").set_input_files(str(face))
    page.locator("#front").set_input_files(str(front))
    page.locator("#back").set_input_files(str(back))
    shots(page, "form", full_page=True)
    page.locator("#min-form button[type=submit]").click()
    page.wait_for_url("**/demo/done?bizId=min-*", timeout=60_000)
    status = int(page.locator("#verify-status").inner_text())
    shots(page, "result", full_page=True)
    assert status == 1, page.locator(".demo-verdict").inner_text()
    assert not rec.foreign(demo.url)
