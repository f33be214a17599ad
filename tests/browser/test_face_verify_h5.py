"""The face-verify family's H5 flow in a real browser: InitFaceVerify through Alibaba's SDK, the hosted
page at CertifyUrl with the fake camera, the redirect to ReturnUrl with shiren's parameters, and
DescribeFaceVerify. Model LIVENESS asks for one blink; the demo's scenes are untimed (the fake camera's
looped clip cannot follow prompts drawn at random moments), so a looped blinking clip answers it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import flows
from tests.browser.harness import FACE, Demo, OpenPage, Shots
from tests.sdk import models, tea

META = json.dumps({"zimVer": "3.0.0", "bioMetaInfo": "4.1.0:gum=1,mr=1,gl=1", "deviceType": "h5"})


@pytest.fixture(scope="module")
def blinking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fixtures import liveness_video as lv

    script = [lv.Segment("hold", 0.4), lv.Segment("blink", 0.7), lv.Segment("hold", 0.5)]
    clip = lv._clip(lv.subject(FACE), script, 15)
    return clip.y4m(tmp_path_factory.mktemp("fv-video") / "blinks.y4m")


def test_certify_url_page_passes_and_returns_to_return_url(
    demo: Demo, blinking: Path, open_page: OpenPage, shots: Shots
) -> None:
    scene_id = int(demo.server.cli_json("scene", "show", "DemoH5", "--tenant", "demo")["SceneId"])
    client = tea(demo.server, demo.key)
    init = client.init_face_verify(
        models.InitFaceVerifyRequest(
            scene_id=scene_id,
            outer_order_no="h5-fv-1",
            product_code="LR_FR",
            model="LIVENESS",
            user_id="user-1",
            meta_info=META,
            return_url=f"{demo.url}/demo?from=fv",
        )
    ).body
    assert init.code == "200", init.message
    certify_id = init.result_object.certify_id
    page, rec = open_page(blinking)
    page.goto(init.result_object.certify_url)
    flows.through_consent(page, shots)
    flows.through_liveness(page, shots)
    assert flows.wait_result(page, shots) == 1
    page.wait_for_url("**/demo?*", timeout=15_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query["from"] == ["fv"] and query["certifyId"] == [certify_id]
    assert query["bizId"] == ["h5-fv-1"] and query["result"][0].startswith("v1.")
    done = client.describe_face_verify(
        models.DescribeFaceVerifyRequest(scene_id=scene_id, certify_id=certify_id)
    ).body
    assert (done.code, done.result_object.passed, done.result_object.sub_code) == ("200", "T", "200")
    assert not rec.foreign(demo.url), rec.foreign(demo.url)
