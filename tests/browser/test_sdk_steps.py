"""SDK steps the demo does not use, run in the hosted page's shell: the colour flash of RPBioOnlyPro and
the typed identity of RPManual (checksum hint, keyboard, focus)."""

from __future__ import annotations

import random
import time

from shiren.domain.challenge import FLASH_COLOURS
from shiren.domain.idnumber import random_id_number
from tests.browser import flows
from tests.browser.flows import at_step
from tests.browser.harness import Demo, OpenPage, Shots, Videos

# Reads the flash canvas's colour as #rrggbb (the SDK paints it; no style attribute is involved).
CANVAS_COLOUR = """() => {
  const c = document.querySelector('.shiren-flash');
  if (!c || c.hidden) return null;
  const [r, g, b] = c.getContext('2d').getImageData(0, 0, 1, 1).data;
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
}"""


def test_rpbioonlypro_flashes_the_screen(
    demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots
) -> None:
    number = random_id_number(random.Random(11))
    url = flows.verify_url(demo, "DemoPro", f"pro-{time.time_ns()}", name="王建国", id_card_number=number)
    page, rec = open_page(videos.bona_fide)
    page.goto(url)
    flows.through_consent(page, shots)
    at_step(page, "FACE_LIVENESS")
    page.wait_for_selector(".shiren.shiren-flashing", timeout=30_000)
    colour = page.evaluate(CANVAS_COLOUR)
    assert colour in FLASH_COLOURS
    # The instruction stays readable above the flash, and is announced.
    assert page.locator(".shiren-prompt").is_visible()
    assert page.locator(".shiren-prompt").get_attribute("aria-live") == "assertive"
    shots(page, "flash")
    assert flows.wait_result(page, shots) in (
        1,
        2,
    )  # the verdict on a video without reflections is the server's
    assert not page.locator(".shiren-flash").is_visible()
    assert not rec.foreign(demo.url)


def test_rpmanual_form_checks_the_number(
    demo: Demo, videos: Videos, open_page: OpenPage, shots: Shots
) -> None:
    number = random_id_number(random.Random(13))
    typo = number[:-1] + ("0" if number[-1] != "0" else "1")
    page, _ = open_page(videos.bona_fide, locale="en-US")
    page.goto(flows.verify_url(demo, "DemoManual", f"manual-{time.time_ns()}"))
    flows.through_consent(page, shots)
    at_step(page, "MANUAL_INPUT")
    name = page.locator(".shiren input[name=name]")
    id_input = page.locator(".shiren input[name=idNumber]")
    assert page.locator("label[for]", has_text="Full name").count() == 1  # labelled fields
    name.fill("王建国")
    id_input.fill(typo)
    id_input.press("Enter")  # keyboard submit; refused, focus on the field, hint says why
    hint = page.locator(f"#{id_input.get_attribute('aria-describedby')}")
    assert "check character" in hint.inner_text()
    assert page.evaluate("document.activeElement.name") == "idNumber"
    assert id_input.get_attribute("aria-invalid") == "true"
    shots(page, "checksum-hint")
    id_input.fill(number)
    assert "looks right" in hint.inner_text()
    id_input.press("Enter")
    at_step(page, "FACE_LIVENESS")
    page.wait_for_selector(".shiren[data-shiren-hint]")
    page.locator(".shiren .shiren-btn-secondary").click()
    at_step(page, "CANCELLED")
