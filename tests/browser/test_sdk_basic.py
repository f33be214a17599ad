"""The JavaScript SDK inside an integrator's page (the demo's /demo/sdk, scene DemoBasic = RPBasic):
liveness, both sides of the ID card (file input; the live-camera path up to its preview), the confirm
step with the OCR fields, then the verdict the page got and the one the server keeps."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, Route

from tests.browser import flows
from tests.browser.flows import at_step
from tests.browser.harness import Demo, OpenPage, Shots, Videos
from tests.fixtures.idcards import make_card

CARD_SEED = 7


def _name_unsure(route: Route) -> None:
    response = route.fetch()
    body = response.json()
    body["lowConfidence"] = sorted({*body.get("lowConfidence", []), "name"})
    route.fulfill(response=response, json=body)


def _card_side(page: Page, side: str, photo: Path, shots: Shots) -> None:
    at_step(page, "TAKE_ID_PHOTO", extra=f"[data-shiren-side={side}]")
    shots(page, f"card-{side}")
    page.locator(".shiren input[type=file]").set_input_files(str(photo))
    at_step(page, "TAKE_ID_PHOTO", extra=f"[data-shiren-side={side}-preview]")
    assert page.evaluate("document.querySelector('.shiren-preview').naturalWidth") <= 1600
    shots(page, f"card-{side}-preview")
    flows.primary(page)


def test_rpbasic_in_page(
    demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots, tmp_path: Path
) -> None:
    card = make_card(CARD_SEED, portrait="obama.jpg")  # the same person as in the liveness video
    front, back = tmp_path / "front.jpg", tmp_path / "back.jpg"
    front.write_bytes(card.front)
    back.write_bytes(card.back)

    page, rec = open_page(videos.bona_fide, locale="en-US")
    # Whatever the reader's confidence on this clean card, mark the name unsure, to see what the user sees.
    page.route("**/device/v1/ocr", _name_unsure)
    page.goto(demo.url + "/demo/sdk")
    shots(page, "demo-sdk")
    page.locator("#sdk-start").click()
    flows.through_consent(page, shots)
    flows.through_liveness(page, shots)

    # The live-camera path: open it, take a photo, see the preview, then choose another one instead.
    at_step(page, "TAKE_ID_PHOTO", extra="[data-shiren-side=front]")
    page.locator(".shiren .shiren-btn-secondary", has_text="Use the camera").click()
    page.locator(".shiren .shiren-btn-primary", has_text="Take photo").click()
    at_step(page, "TAKE_ID_PHOTO", extra="[data-shiren-side=front-preview]")
    shots(page, "card-camera-preview")
    page.locator(".shiren .shiren-btn-secondary", has_text="Take another").click()

    _card_side(page, "front", front, shots)
    _card_side(page, "back", back, shots)

    at_step(page, "ID_CONFIRM", timeout=60_000, extra=" form")
    name = page.locator(".shiren input[name=name]")
    number = page.locator(".shiren input[name=idNumber]")
    assert name.input_value() and number.input_value()  # prefilled from the card
    # What the reader was unsure of is highlighted, explained and focused first.
    assert "shiren-low" in (name.get_attribute("class") or "")
    assert page.evaluate("document.activeElement.name") == "name"
    assert "check this field" in page.locator(f"#{name.get_attribute('aria-describedby')}").inner_text()
    shots(page, "confirm")
    # The user corrects whatever the reader got wrong: type what the card says.
    name.fill(card.truth.name)
    number.fill(card.truth.number)
    flows.primary(page)

    state = flows.wait_result(page, shots)
    page.wait_for_selector("#sdk-outcome:not([hidden])")
    outcome = json.loads(page.locator("#sdk-outcome-json").inner_text())
    assert outcome["state"] == state
    shots(page, "outcome", full_page=True)
    page.locator("#sdk-server-link").click()
    page.wait_for_selector("#verify-status")
    status = int(page.locator("#verify-status").inner_text())
    shots(page, "server-result", full_page=True)
    assert status == outcome["code"]
    assert (state, status) == (1, 1), outcome
    assert not rec.foreign(demo.url)
