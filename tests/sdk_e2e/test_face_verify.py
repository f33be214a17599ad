"""The face-verify family (InitFaceVerify, DescribeFaceVerify, ContrastFaceVerify …) through Alibaba's own
Tea SDK (both signature algorithms) against a real server with real models and real photographs; the
device side is shiren's Python SDK started from the CertifyId, as an app would.

Business refusals are HTTP 200 with a Code, which the SDK returns without raising."""

from __future__ import annotations

import base64
import csv
import json
import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from shiren.domain.consent import CONSENT_VERSION
from shiren.domain.id2meta import md5_name, md5_number
from shiren.domain.idnumber import random_id_number
from shiren.sdk import Challenge, encode_video, meta_info
from tests.console_support import ConsoleClient, create_user
from tests.fixtures.photos import photo
from tests.sdk import models, tea
from tests.sdk_e2e.conftest import FACE, HOLDER, HOLDER_ID, OTHER_FACE, Env
from tests.sdk_e2e.flows import device, run_device
from tests.sdk_e2e.sources import RenderedFace

pytestmark = pytest.mark.timeout(180)

RNG = random.Random(20261202)
# The face-verify tests' own holder (the package's HOLDER is also verified by the RP tests, and one
# identity is shown at most 20 challenges a day): the same name and face, another number.
FV_ID = random_id_number(RNG, birth=date(1972, 8, 8), sex="男")
NOPHOTO = "赵六"
NOPHOTO_ID = random_id_number(RNG, birth=date(1981, 6, 6), sex="男")
UNKNOWN_ID = random_id_number(RNG, birth=date(1990, 2, 2), sex="女")
CHILD_ID = random_id_number(RNG, birth=date(date.today().year - 10, 1, 1), sex="女")
META = json.dumps({"zimVer": "3.0.0", "appVersion": "1", "bioMetaInfo": "4.1.0:gum=1,mr=1,gl=1",
                   "appName": "shop.example", "deviceType": "h5", "osVersion": "Android 14",
                   "apdidToken": "", "deviceModel": "Pixel 7"})  # fmt: skip


@dataclass
class Fv:
    env: Env
    reg: int  # SceneId of a scene with the registry authority
    none: int  # SceneId of a scene without an authority
    key_none: dict[str, str]  # a tenant without any registry identity


@pytest.fixture(scope="module")
def fv(env: Env, tmp_path_factory: pytest.TempPathFactory) -> Fv:
    srv = env.server
    origin = f"http://{env.receiver.authority}"
    reg = srv.cli_json(
        "scene", "create", "FvReg", "--scheme", "RPBioOnly", "--tenant", "sdk", "--authority", "registry",
        "--redirect-origin", origin,
    )  # fmt: skip
    none = srv.cli_json("scene", "create", "FvNone", "--scheme", "RPBioOnly", "--tenant", "sdk")
    shown = srv.cli_json("scene", "show", "FvReg", "--tenant", "sdk")
    assert shown["SceneId"] == reg["SceneId"] and shown["BizType"] == "FvReg"
    roster = tmp_path_factory.mktemp("fv-roster")
    cv2.imwrite(str(roster / "blank.png"), np.full((400, 300, 3), 200, np.uint8))
    with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(
            [["name", "id_number", "photo"], [NOPHOTO, NOPHOTO_ID, "blank.png"], [HOLDER, FV_ID, "face.jpg"]]
        )
    cv2.imwrite(str(roster / "face.jpg"), cv2.imread(str(photo(FACE))))
    srv.cli_json("registry", "import", str(roster / "roster.csv"), "--tenant", "sdk")
    for name in (FACE, OTHER_FACE, "obama2.jpg"):
        env.host.put(name, photo(name).read_bytes())
    return Fv(env, int(reg["SceneId"]), int(none["SceneId"]), srv.new_tenant("fv-empty"))


def client(fv: Fv, variant: str = "acs3", key: dict[str, str] | None = None):  # noqa: ANN201
    return tea(fv.env.server, key or fv.env.key, variant)


def b64(name: str) -> str:
    return base64.b64encode(photo(name).read_bytes()).decode()


def init(fv: Fv, order: str, variant: str = "acs3", **kw: Any) -> Any:
    params: dict[str, Any] = {
        "scene_id": fv.reg,
        "outer_order_no": order,
        "product_code": "ID_PRO",
        "model": "LIVENESS",
        "cert_type": "IDENTITY_CARD",
        "cert_name": HOLDER,
        "cert_no": FV_ID,
        "meta_info": META,
    }
    params.update(kw)
    return client(fv, variant).init_face_verify(models.InitFaceVerifyRequest(**params)).body


def describe(fv: Fv, certify_id: str, scene_id: int | None = None, variant: str = "acs3") -> Any:
    req = models.DescribeFaceVerifyRequest(scene_id=scene_id or fv.reg, certify_id=certify_id)
    return client(fv, variant).describe_face_verify(req).body


def contrast(fv: Fv, order: str, name: str, number: str, face: str, scene_id: int | None = None) -> Any:
    req = models.ContrastFaceVerifyRequest(
        scene_id=scene_id or fv.reg,
        outer_order_no=order,
        product_code="ID_MIN",
        cert_type="IDENTITY_CARD",
        cert_name=name,
        cert_no=number,
        face_contrast_picture=b64(face),
    )
    return client(fv).contrast_face_verify(req).body


# --------------------------------------------------------------------------------------- the app flow


@pytest.mark.parametrize("variant", ["acs3", "v2"])
def test_id_pro_through_the_app_passes_with_subcode_200(fv: Fv, variant: str) -> None:
    body = init(fv, f"pro-{variant}", variant, meta_info=meta_info("shop"))  # the app's MetaInfo
    assert body.code == "200", body.message
    certify_id = body.result_object.certify_id
    assert len(certify_id) == 32 and body.result_object.certify_url.endswith(certify_id)
    db = sqlite3.connect(fv.env.server.data_dir / "shiren.db")
    created, expires = db.execute(
        "SELECT created_at, expires_at FROM attempts WHERE verify_token = ?", (certify_id,)
    ).fetchone()
    assert (datetime.fromisoformat(expires) - datetime.fromisoformat(created)).total_seconds() == 1800
    assert describe(fv, certify_id, variant=variant).code == "424"  # nothing submitted yet
    face = RenderedFace.of(FACE)
    outcome, _ = run_device(fv.env, certify_id, face)
    assert face.plans[0].actions == ("blink",)  # Model LIVENESS: a blink, at a random moment
    answer = describe(fv, certify_id, variant=variant)
    assert answer.code == "200", answer.message
    result = answer.result_object
    assert (result.passed, result.sub_code) == ("T", "200"), outcome
    material = json.loads(result.material_info)
    assert material["faceAttack"] == "F"
    front = material["facialPictureFront"]
    assert front["verifyScore"] >= 80
    assert httpx.get(front["pictureUrl"]).status_code == 200
    assert httpx.get(front["verifyVideoUrl"]).status_code == 200
    identity = json.loads(result.identity_info)
    assert identity["certNo"].startswith(FV_ID[:4]) and FV_ID not in result.identity_info


def test_a_photo_held_to_the_camera_is_subcode_205(fv: Fv) -> None:
    certify_id = init(fv, "pro-attack", product_code="LR_FR", user_id="u1", cert_name=None, cert_no=None)
    certify_id = certify_id.result_object.certify_id
    run_device(fv.env, certify_id, RenderedFace.of(FACE, mode="static"))
    result = describe(fv, certify_id).result_object
    assert (result.passed, result.sub_code) == ("F", "205")
    assert json.loads(result.material_info)["faceAttack"] == "T"


def test_a_replayed_capture_is_subcode_205(fv: Fv) -> None:
    """The bytes of one verification's capture, uploaded again for another CertifyId."""
    first = init(fv, "replay-1").result_object.certify_id
    face = RenderedFace.of(FACE)
    run_device(fv.env, first, face)
    assert describe(fv, first).result_object.passed == "T"
    second = init(fv, "replay-2").result_object.certify_id
    with device(fv.env, second) as dev:
        dev.consent(CONSENT_VERSION, "zh")
        old_plan = face.plans[0]
        plan = dev.challenge()
        rec = RenderedFace(face.face, realtime=False, seed=face.seed).record(old_plan)
        video = encode_video(rec.frames, rec.timestamps_ms)
        time.sleep(plan.capture_ms / 1000)
        dev.upload("video", video.data, video.content_type, plan.challenge_id)
        dev.submit(plan.challenge_id)
    result = describe(fv, second).result_object
    assert (result.passed, result.sub_code) == ("F", "205")


def test_multi_action_asks_for_a_blink_and_a_head_shake(fv: Fv) -> None:
    body = init(fv, "pro-multi", model="MULTI_ACTION")
    face = RenderedFace.of(FACE)
    run_device(fv.env, body.result_object.certify_id, face)
    assert sorted(face.plans[0].actions) == ["blink", "turn_left", "turn_right"]
    result = describe(fv, body.result_object.certify_id).result_object
    assert (result.passed, result.sub_code) == ("T", "200")


def test_pv_fv_compares_the_live_face_with_the_supplied_photo(fv: Fv) -> None:
    same = init(fv, "pv-same", product_code="PV_FV", user_id="u2", face_contrast_picture=b64("obama2.jpg"))
    assert same.code == "200", same.message
    run_device(fv.env, same.result_object.certify_id, RenderedFace.of(FACE))
    result = describe(fv, same.result_object.certify_id).result_object
    assert (result.passed, result.sub_code) == ("T", "200")
    # A passed verification's CertifyId is a photo source too: its live face becomes the reference.
    again = init(fv, "pv-again", product_code="PV_FV", user_id="u2", certify_id=same.result_object.certify_id)
    assert again.code == "200", again.message
    other_url = f"http://{fv.env.host.authority}/{OTHER_FACE}"
    other = init(fv, "pv-other", product_code="PV_FV", user_id="u2", face_contrast_picture_url=other_url)
    run_device(fv.env, other.result_object.certify_id, RenderedFace.of(FACE))
    result = describe(fv, other.result_object.certify_id).result_object
    assert (result.passed, result.sub_code) == ("F", "204")


def test_an_alibaba_shaped_callback_arrives_and_return_url_gets_the_certify_id(fv: Fv) -> None:
    receiver = fv.env.receiver
    base = f"http://{receiver.authority}"
    body = init(
        fv,
        "pro-callback",
        callback_url=f"{base}/hook?shop=1",
        callback_token="tok-123",
        return_url=f"{base}/done",
    )
    certify_id = body.result_object.certify_id
    outcome, _ = run_device(fv.env, certify_id, RenderedFace.of(FACE))
    redirect = (outcome.answer or {}).get("redirectUrl", "")
    assert redirect.startswith(f"{base}/done?") and f"certifyId={certify_id}" in redirect
    hit = receiver.wait_for_query("certifyId", certify_id)
    assert hit.method == "GET"
    assert hit.query == {"shop": "1", "callbackToken": "tok-123", "certifyId": certify_id, "passed": "T"}


# ------------------------------------------------------------------------------------- codes of Init


def test_init_refusals_carry_alibabas_codes(fv: Fv) -> None:
    def code(**kw: Any) -> str:
        return init(fv, "codes", **kw).code

    assert code(cert_name=None) == "400"
    assert code(meta_info=None) == "400"
    assert code(model="SMILE") == "401"
    assert code(meta_info="{not json") == "401"
    assert code(meta_info='["a", "list"]') == "401"
    assert code(cert_no="110105194912310021") == "401"  # a wrong check character
    assert code(scene_id=1) == "404"
    assert code(cert_no=CHILD_ID) == "405"
    assert code(scene_id=fv.none) == "417"  # ID_PRO needs an authority to compare with
    assert code(return_url="https://elsewhere.example/done") == "401"
    pv = {"product_code": "PV_FV", "user_id": "u3"}
    blank = cv2.imencode(".jpg", np.full((480, 640, 3), 180, np.uint8))[1].tobytes()
    assert code(**pv, face_contrast_picture=base64.b64encode(blank).decode()) == "419"
    two = {
        "face_contrast_picture": b64(FACE),
        "face_contrast_picture_url": f"http://{fv.env.host.authority}/x",
    }
    assert code(**pv, **two) == "420"
    big = np.random.default_rng(1).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)
    huge = cv2.imencode(".png", big)[1].tobytes()
    assert len(huge) > 1024 * 1024
    assert code(**pv, face_contrast_picture=base64.b64encode(huge).decode()) == "421"
    assert code(**pv, certify_id="0" * 32) == "423"  # not a passed verification of this account
    assert code(**pv, oss_bucket_name="b", oss_object_name="o.jpg") == "401"


def test_describe_answers_403_while_deciding_406_for_unknown_and_other_tenants(fv: Fv) -> None:
    certify_id = init(fv, "describe-codes").result_object.certify_id
    assert describe(fv, "f" * 32).code == "406"
    other = tea(fv.env.server, fv.key_none)
    assert (
        other.describe_face_verify(
            models.DescribeFaceVerifyRequest(scene_id=fv.reg, certify_id=certify_id)
        ).body.code
        == "406"
    )
    assert describe(fv, certify_id, scene_id=fv.none).code == "406"  # not of that scene
    face = RenderedFace.of(FACE, realtime=False)
    with device(fv.env, certify_id) as dev:
        dev.consent(CONSENT_VERSION, "zh")
        plan = dev.challenge()
        rec = face.record(plan)
        video = encode_video(rec.frames, rec.timestamps_ms)
        dev.upload("video", video.data, video.content_type, plan.challenge_id)
    assert describe(fv, certify_id).code == "403"  # uploaded, not yet decided


def test_a_certify_id_is_submitted_once(fv: Fv) -> None:
    certify_id = init(fv, "once").result_object.certify_id
    run_device(fv.env, certify_id, RenderedFace.of(FACE))
    face = RenderedFace.of(FACE)
    outcome, _ = run_device(fv.env, certify_id, face)
    assert face.plans == [] and outcome.code == 1  # the stored answer; nothing recorded again


# ------------------------------------------------------------------------- server-only verifications


def test_contrast_face_verify_subcodes_from_real_photos(fv: Fv) -> None:
    cases = {
        "200": (HOLDER, FV_ID, "obama2.jpg"),
        "204": (HOLDER, FV_ID, OTHER_FACE),
        "201": ("李四", FV_ID, "obama2.jpg"),
        "202": (HOLDER, UNKNOWN_ID, "obama2.jpg"),
        "203": (NOPHOTO, NOPHOTO_ID, "obama2.jpg"),
    }
    for expected, (name, number, face) in cases.items():
        body = contrast(fv, f"min-{expected}", name, number, face)
        assert body.code == "200", body.message
        result = body.result_object
        assert result.sub_code == expected, (expected, result.material_info)
        assert result.passed == ("T" if expected == "200" else "F")
        assert len(result.certify_id) == 32
    assert contrast(fv, "min-none", HOLDER, FV_ID, "obama2.jpg", scene_id=fv.none).code == "417"


def test_contrast_face_verify_takes_a_face_video(fv: Fv) -> None:
    """A face video (its best frame is compared; nothing asked it for actions, so it is not judged live)."""
    rec = RenderedFace.of("obama2.jpg", realtime=False).record(_blink_plan())
    video = encode_video(rec.frames, rec.timestamps_ms)
    req = models.ContrastFaceVerifyRequest(
        scene_id=fv.reg, outer_order_no="min-video", product_code="ID_MIN", cert_type="IDENTITY_CARD",
        cert_name=HOLDER, cert_no=FV_ID, face_contrast_file=base64.b64encode(video.data).decode(),
    )  # fmt: skip
    body = client(fv).contrast_face_verify(req).body
    assert body.code == "200", body.message
    assert (body.result_object.passed, body.result_object.sub_code) == ("T", "200")


def _blink_plan() -> Challenge:
    return Challenge.from_json(
        {"challengeId": "0" * 32, "actions": ["blink"], "captureMs": 3000,
         "prompts": [{"action": "blink", "atMs": 800}], "flash": None, "expiresAt": 0}
    )  # fmt: skip


def test_too_many_failures_of_one_identity_is_418(fv: Fv) -> None:
    stranger = random_id_number(random.Random(5), birth=date(1985, 5, 5), sex="男")
    for i in range(10):
        assert contrast(fv, f"fail-{i}", "钱七", stranger, "obama2.jpg").result_object.sub_code == "202"
    assert init(fv, "fail-next", cert_name="钱七", cert_no=stranger).code == "418"


def test_compare_face_verify_scores_two_photos(fv: Fv) -> None:
    def compare(source: str, target: str) -> Any:
        req = models.CompareFaceVerifyRequest(
            scene_id=fv.reg,
            outer_order_no="cmp",
            product_code="PV_FC",
            source_face_contrast_picture=b64(source),
            target_face_contrast_picture_url=f"http://{fv.env.host.authority}/{target}",
        )
        return client(fv).compare_face_verify(req).body

    same, other = compare("obama2.jpg", FACE), compare("obama2.jpg", OTHER_FACE)
    assert (same.code, same.result_object.passed) == ("200", "T")
    assert (other.code, other.result_object.passed) == ("200", "F")
    assert same.result_object.verify_score >= 80 > other.result_object.verify_score


def test_liveness_face_verify_checks_a_face_and_refuses_to_judge_liveness_from_a_photo(fv: Fv) -> None:
    def call(model: str) -> Any:
        req = models.LivenessFaceVerifyRequest(
            scene_id=fv.reg, outer_order_no="one-photo", product_code="LR_FR_MIN", model=model,
            face_contrast_picture=b64(FACE),
        )  # fmt: skip
        return client(fv).liveness_face_verify(req).body

    checked = call("NO_LIVENESS")
    assert (checked.code, checked.result_object.passed, checked.result_object.sub_code) == ("200", "T", "200")
    refused = call("FRONT_CAMERA_LIVENESS")
    assert refused.code == "401" and "cannot be judged live" in refused.message


# ------------------------------------------------------------------------------------------- deletion


def test_deleted_verification_leaves_nothing_readable(fv: Fv) -> None:
    body = init(fv, "erase-me", ip="203.0.113.9", mobile="13800000000")
    certify_id = body.result_object.certify_id
    run_device(fv.env, certify_id, RenderedFace.of(FACE))
    sdk = client(fv)
    early = sdk.delete_face_verify_result(
        models.DeleteFaceVerifyResultRequest(certify_id=certify_id, delete_after_query="Y")
    ).body.result_object
    assert (early.delete_result, early.fail_reason) == ("N", "NEED_QUERY_VERIFY_RESULT")
    material = json.loads(describe(fv, certify_id).result_object.material_info)
    links = [material["facialPictureFront"]["pictureUrl"], material["facialPictureFront"]["verifyVideoUrl"]]
    done = sdk.delete_face_verify_result(
        models.DeleteFaceVerifyResultRequest(certify_id=certify_id, delete_after_query="Y")
    ).body.result_object
    assert done.delete_result == "Y"
    again = sdk.delete_face_verify_result(models.DeleteFaceVerifyResultRequest(certify_id=certify_id))
    assert (again.body.result_object.delete_result, again.body.result_object.fail_reason) == (
        "N",
        "NOT_DELETE_REPEATEDLY",
    )
    gone = describe(fv, certify_id)
    assert gone.code == "406" and "deleted" in gone.message
    for link in links:  # signed before the deletion, still unexpired: nothing behind them any more
        answer = httpx.get(link)
        assert answer.status_code == 403 and "no such object" in answer.text
        blob_id = link.split("/media/")[1].split("?")[0]
        assert not list(fv.env.server.data_dir.rglob(f"{blob_id}*"))  # the files are gone too
    db = sqlite3.connect(fv.env.server.data_dir / "shiren.db")
    row = db.execute(
        "SELECT name_enc, id_number_enc, inputs_enc, material_enc, callback_seed_enc FROM attempts"
        " WHERE verify_token = ?",
        (certify_id,),
    ).fetchone()
    assert row == (None, None, None, None, None)
    attempt_id = db.execute("SELECT id FROM attempts WHERE verify_token = ?", (certify_id,)).fetchone()[0]
    assert db.execute("SELECT count(*) FROM uploads WHERE attempt_id = ?", (attempt_id,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM blobs WHERE attempt_id = ?", (attempt_id,)).fetchone()[0] == 0


# ------------------------------------------------------------------------------------- 信息核验 (Id2Meta)


def test_id2meta_answers_from_the_tenants_registry_in_both_param_types(fv: Fv) -> None:
    sdk = client(fv, "v2")

    def biz_code(
        name: str, number: str, param_type: str = "normal", key: dict[str, str] | None = None
    ) -> Any:
        req = models.Id2MetaVerifyRequest(param_type=param_type, user_name=name, identify_num=number)
        return (client(fv, "v2", key) if key else sdk).id_2meta_verify(req).body

    assert biz_code(HOLDER, HOLDER_ID).result_object.biz_code == "1"
    assert biz_code("李四", HOLDER_ID).result_object.biz_code == "2"
    assert biz_code(HOLDER, UNKNOWN_ID).result_object.biz_code == "3"
    assert biz_code(md5_name(HOLDER), md5_number(HOLDER_ID), "md5").result_object.biz_code == "1"
    assert biz_code(md5_name("李四"), md5_number(HOLDER_ID), "md5").result_object.biz_code == "2"
    assert biz_code(HOLDER, HOLDER_ID, key=fv.key_none).code == "402"  # no registry: nobody to ask


def test_a_tampered_form_body_fails_the_acs3_signature(fv: Fv, monkeypatch: pytest.MonkeyPatch) -> None:
    """InitFaceVerify sends Model (and photos) in a signed form body: change it after signing and the
    body hash no longer matches."""
    from darabonba.core import DaraCore
    from Tea.exceptions import TeaException

    send = DaraCore.do_action

    def tampered(request: Any, runtime_option: Any = None) -> Any:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        request.body = body.replace("Model=LIVENESS", "Model=MULTI_ACTION")
        return send(request, runtime_option)

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(tampered))
    with pytest.raises(TeaException) as err:
        init(fv, "tampered")
    assert err.value.code == "SignatureDoesNotMatch" and err.value.statusCode == 400
    monkeypatch.setattr(DaraCore, "do_action", staticmethod(send))
    assert init(fv, "untampered").code == "200"


# ------------------------------------------------------------------------------------- human review


HELD_NAME = "钱七"
HELD_ID = random_id_number(RNG, birth=date(1975, 5, 5), sex="男")


def test_a_held_verification_is_403_until_a_reviewer_approves_it(
    fv: Fv, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The registry holds obama2.jpg for this identity and obama.jpg faces the camera: the same person, a
    borderline score under the scene's threshold 95 but over its review band's 60."""
    srv, receiver = fv.env.server, fv.env.receiver
    scene = srv.cli_json(
        "scene", "create", "FvHeld", "--scheme", "RPBioOnly", "--tenant", "sdk", "--authority", "registry",
        "--threshold", "authority=95", "--review-face-from", "60",
    )  # fmt: skip
    roster = tmp_path_factory.mktemp("held-roster")
    cv2.imwrite(str(roster / "other-day.jpg"), cv2.imread(str(photo("obama2.jpg"))))
    with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["name", "id_number", "photo"], [HELD_NAME, HELD_ID, "other-day.jpg"]])
    srv.cli_json("registry", "import", str(roster / "roster.csv"), "--tenant", "sdk")
    scene_id = int(scene["SceneId"])
    body = init(
        fv,
        "held-order",
        scene_id=scene_id,
        cert_name=HELD_NAME,
        cert_no=HELD_ID,
        callback_url=f"http://{receiver.authority}/held",
        callback_token="tok-held",
    )
    certify_id = body.result_object.certify_id
    outcome, _ = run_device(fv.env, certify_id, RenderedFace.of(FACE))
    assert outcome.state == -1 and (outcome.answer or {}).get("review") is True, outcome
    answer = describe(fv, certify_id, scene_id=scene_id)
    assert answer.code == "403", answer.message  # not finished: a person decides
    time.sleep(1.0)
    assert not [h for h in receiver.hits if h.query.get("certifyId") == certify_id]

    password = create_user(srv, "fv-reviewer", "reviewer", "sdk")
    reviewer = ConsoleClient(srv)
    assert reviewer.sign_in("fv-reviewer", password).status_code == 303
    case = reviewer.get(f"/console/cases/{certify_id}")
    assert "face_vs_authority" in case.text and "ID_PRO" in case.text
    decided = reviewer.post(f"/console/cases/{certify_id}/review", decision="approve", reason="same_person")
    assert decided.status_code == 303, decided.text
    reviewer.close()

    result = describe(fv, certify_id, scene_id=scene_id).result_object
    assert (result.passed, result.sub_code) == ("T", "200")
    hit = receiver.wait_for_query("certifyId", certify_id)
    assert hit.query["passed"] == "T" and hit.query["callbackToken"] == "tok-held"
