"""VerifyMaterial (RPMin) end to end: official SDK → real server → real models → every VerifyStatus.

Faces are real photographs (tests/fixtures/photos.py); ID cards are generated with a real portrait and
photographed on a desk (tests/fixtures/idcards.py); images are fetched from a local image host that the
server may reach only because SHIREN_FETCH_ALLOW_HOSTS names it.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date

import cv2
import httpx
import numpy as np
import pytest
from Tea.exceptions import TeaException

from shiren.domain.idnumber import random_id_number
from tests.fixtures.idcards import (
    CardTruth,
    beijing_card,
    make_document_photo,
    photograph,
    render_back,
    render_front,
)
from tests.fixtures.photos import photo
from tests.peers import ImageHost, UpstreamAuthority
from tests.sdk import core_call, models, tea
from tests.support import ShirenServer

RNG = random.Random(20261128)
HOLDER = "王建国"
HOLDER_BIRTH = date(1970, 3, 15)
HOLDER_ID = random_id_number(RNG, birth=HOLDER_BIRTH, sex="男")
OTHER = "李四"
OTHER_ID = random_id_number(RNG, birth=date(1955, 7, 1), sex="男")
STRANGER_ID = random_id_number(RNG, birth=date(1988, 1, 2), sex="女")
NOFACE_ID = random_id_number(RNG, birth=date(1979, 4, 9), sex="女")


def card(
    name: str,
    number: str,
    *,
    end: str = "长期",
    start: str = "20160301",
    portrait: str = "obama.jpg",
    seed: int = 1,
) -> tuple[bytes, bytes, CardTruth]:
    truth = beijing_card(name, number, start=start, end=end)
    rng = random.Random(seed)
    front, _ = photograph(render_front(truth, rng, portrait), rng, hard=False, roll=0.0, tilt=0.0)
    back, _ = photograph(render_back(truth, rng), rng, hard=False, roll=0.0, tilt=0.0)
    return front, back, truth


@pytest.fixture(scope="module")
def host() -> Iterator[ImageHost]:
    h = ImageHost()
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        h.put(name, photo(name).read_bytes())
    yield h
    h.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamAuthority]:
    u = UpstreamAuthority()
    yield u
    u.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, host: ImageHost, upstream: UpstreamAuthority):
    srv = ShirenServer(
        tmp_path_factory.mktemp("material"),
        env={
            "SHIREN_FETCH_ALLOW_HOSTS": host.authority,
            "SHIREN_AUTHORITY_HTTP_URL": f"http://{upstream.authority}/verify",
            "SHIREN_AUTHORITY_HTTP_TIMEOUT_S": "2",
        },
    )
    srv.start()
    key = srv.new_tenant("rpmin")
    for biz_type, authority in (("MinNone", "none"), ("MinReg", "registry"), ("MinHttp", "http")):
        srv.cli_json(
            "scene", "create", biz_type, "--scheme", "RPMin", "--tenant", "rpmin", "--authority", authority
        )
    srv.cli_json("scene", "create", "NotMin", "--scheme", "RPBioOnly", "--tenant", "rpmin")
    strict = srv.cli_json(
        "scene", "create", "MinStrict", "--scheme", "RPMin", "--tenant", "rpmin", "--threshold", "idcard=99.5"
    )
    assert strict["Thresholds"] == {"idcard": 99.5}
    roster = tmp_path_factory.mktemp("roster")
    cv2.imwrite(str(roster / "holder.jpg"), cv2.imread(str(photo("obama.jpg"))))
    cv2.imwrite(str(roster / "other.jpg"), cv2.imread(str(photo("biden.jpg"))))
    with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "id_number", "photo"])
        w.writerow([HOLDER, HOLDER_ID, "holder.jpg"])
        w.writerow([OTHER, OTHER_ID, "other.jpg"])
        w.writerow(["坏行", "123", "holder.jpg"])
        w.writerow(["无照片", STRANGER_ID, "missing.jpg"])
        w.writerow(["无人脸", NOFACE_ID, "noface.png"])
    cv2.imwrite(str(roster / "noface.png"), np.full((400, 300, 3), 200, np.uint8))
    report = srv.cli_json("registry", "import", str(roster / "roster.csv"), "--tenant", "rpmin")
    # The row with a malformed number is refused; those whose photo is missing or shows no face are kept
    # (their verifications say "reference photo unusable") and listed.
    assert report["Imported"] == 4 and [b["line"] for b in report["Bad"]] == [4]
    assert [(u["line"], u["reason"]) for u in report["UnusablePhotos"]] == [
        (5, "photo not found: missing.jpg"),
        (6, "no face in the photo"),
    ]
    yield srv, key
    srv.stop()


def verify(
    env,
    biz_type: str,
    name: str,
    number: str,
    face: str,
    front: str | None = None,
    back: str | None = None,
    biz_id: str = "m1",
):
    srv, key = env
    return (
        tea(srv, key)
        .verify_material(
            models.VerifyMaterialRequest(
                biz_id=biz_id,
                biz_type=biz_type,
                name=name,
                id_card_number=number,
                face_image_url=face,
                id_card_front_image_url=front,
                id_card_back_image_url=back,
            )
        )
        .body
    )


def test_pass_with_registry_and_both_card_sides(env, host: ImageHost) -> None:
    front, back, truth = card(HOLDER, HOLDER_ID)
    face = host.put("obama2.jpg", photo("obama2.jpg").read_bytes())
    body = verify(
        env,
        "MinReg",
        HOLDER,
        HOLDER_ID,
        face,
        host.put("pass-front.jpg", front),
        host.put("pass-back.jpg", back),
        biz_id="pass",
    )
    assert body.verify_status == 1, body.to_map()
    assert body.authority_comparision_score >= 80 and body.id_card_face_comparison_score >= 80
    m = body.material
    assert m.face_mask == "false" and m.face_quality in ("NORMAL", "HIGH")
    assert (m.id_card_name, m.id_card_number) == (HOLDER, HOLDER_ID)
    info = m.id_card_info
    # The typed SDK model has no Sex field; the raw JSON (classic SDK below) carries it.
    assert (info.name, info.number, info.birth, info.nationality) == (
        truth.name,
        truth.number,
        truth.birth,
        truth.nationality,
    )
    assert (info.start_date, info.end_date, info.authority) == (truth.start_date, "长期", truth.authority)
    assert info.address == truth.address
    image = httpx.get(info.front_image_url)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    srv, key = env
    result = tea(srv, key).describe_verify_result(
        models.DescribeVerifyResultRequest(biz_id="pass", biz_type="MinReg")
    )
    assert result.body.verify_status == 1 and result.body.material.face_mask is False
    assert httpx.get(result.body.material.face_image_url).status_code == 200
    raw = core_call(srv, key, "DescribeVerifyResult", BizId="pass", BizType="MinReg")
    assert raw["Material"]["IdCardInfo"]["Sex"] == truth.sex
    assert isinstance(raw["AuthorityComparisionScore"], float) and raw["Material"]["FaceMask"] is False


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("malformed_number", 2),
        ("unknown_to_registry", 2),
        ("face_not_authority_photo", 7),
        ("face_not_card_portrait", 6),
        ("name_differs_from_card", 3),
        ("number_differs_from_card", 4),
        ("expired_card", 5),
        ("no_card_in_photo", 8),
        ("authority_has_no_photo", 11),
        ("registry_photo_missing", 11),
        ("registry_photo_without_face", 11),
        ("authority_error", 12),
        ("authority_timeout", 12),
    ],
)
def test_each_failure_status(
    env, host: ImageHost, upstream: UpstreamAuthority, case: str, expected: int
) -> None:
    face = host.put("face-o2.jpg", photo("obama2.jpg").read_bytes())
    biden = host.put("face-b.jpg", photo("biden.jpg").read_bytes())
    front, back, _ = card(HOLDER, HOLDER_ID)
    f, b = host.put("front.jpg", front), host.put("back.jpg", back)
    if case == "malformed_number":
        bad = HOLDER_ID[:-1] + ("0" if HOLDER_ID[-1] != "0" else "1")
        body = verify(env, "MinReg", HOLDER, bad, face)
    elif case == "unknown_to_registry":
        body = verify(env, "MinReg", HOLDER, STRANGER_ID, face)
    elif case == "registry_photo_missing":
        body = verify(env, "MinReg", "无照片", STRANGER_ID, face)
    elif case == "registry_photo_without_face":
        body = verify(env, "MinReg", "无人脸", NOFACE_ID, face)
    elif case == "face_not_authority_photo":
        body = verify(env, "MinReg", OTHER, OTHER_ID, face)
    elif case == "face_not_card_portrait":
        body = verify(env, "MinNone", HOLDER, HOLDER_ID, biden, f, b)
    elif case == "name_differs_from_card":
        body = verify(env, "MinNone", "王建民", HOLDER_ID, face, f, b)
    elif case == "number_differs_from_card":
        front2, _, _ = card(HOLDER, STRANGER_ID, seed=2)
        body = verify(env, "MinNone", HOLDER, HOLDER_ID, face, host.put("front2.jpg", front2), b)
    elif case == "expired_card":
        _, back3, _ = card(HOLDER, HOLDER_ID, start="20050101", end="20250101", seed=3)
        body = verify(env, "MinNone", HOLDER, HOLDER_ID, face, f, host.put("back3.jpg", back3))
    elif case == "no_card_in_photo":
        body = verify(env, "MinNone", HOLDER, HOLDER_ID, face, host.put("doc.jpg", make_document_photo(1)), b)
    else:
        upstream.people[HOLDER_ID] = (HOLDER, None)
        upstream.behaviour = {
            "authority_has_no_photo": lambda name: None,
            "authority_error": lambda name: (500, {"error": "down"}),
            "authority_timeout": lambda name: (200, "sleep"),
        }[case]
        body = verify(env, "MinHttp", HOLDER, HOLDER_ID, face)
        upstream.behaviour = lambda name: None
    assert body.verify_status == expected, body.to_map()


def test_http_authority_pass(env, host: ImageHost, upstream: UpstreamAuthority) -> None:
    upstream.people[OTHER_ID] = (OTHER, photo("biden.jpg").read_bytes())
    body = verify(env, "MinHttp", OTHER, OTHER_ID, host.put("b2.jpg", photo("biden.jpg").read_bytes()))
    assert body.verify_status == 1 and body.authority_comparision_score >= 80


def test_latest_attempt_is_reported(env, host: ImageHost) -> None:
    srv, key = env
    face = host.put("latest.jpg", photo("obama3.jpg").read_bytes())
    assert verify(env, "MinReg", HOLDER, STRANGER_ID, face, biz_id="latest").verify_status == 2
    assert verify(env, "MinReg", HOLDER, HOLDER_ID, face, biz_id="latest").verify_status == 1
    res = tea(srv, key).describe_verify_result(
        models.DescribeVerifyResultRequest(biz_id="latest", biz_type="MinReg")
    )
    assert res.body.verify_status == 1


@pytest.mark.parametrize(
    ("face", "code", "fragment"),
    [
        ("http://127.0.0.1:1/x.jpg", "InvalidParameter", "non-public"),
        ("http://169.254.169.254/latest/meta-data", "InvalidParameter", "non-public"),
        ("empty", "InvalidParameter", "FaceImageUrl"),
        ("text", "InvalidParameter", "FaceImageUrl"),
        ("missing", "InvalidParameter", "404"),
    ],
)
def test_hostile_inputs_get_a_clear_400(env, host: ImageHost, face: str, code: str, fragment: str) -> None:
    urls = {
        "empty": host.put("empty.jpg", b""),
        "text": host.put("t.jpg", b"hello, not an image"),
        "missing": f"http://{host.authority}/nope.jpg",
    }
    with pytest.raises(TeaException) as err:
        verify(env, "MinReg", HOLDER, HOLDER_ID, urls.get(face, face))
    assert err.value.code == code and err.value.data["statusCode"] == 400
    assert fragment in err.value.message


def test_request_shape_errors(env, host: ImageHost) -> None:
    face = host.put("shape.jpg", photo("obama.jpg").read_bytes())
    with pytest.raises(TeaException) as err:
        verify(env, "MinNone", HOLDER, HOLDER_ID, face)
    assert err.value.code == "MissingIdCardFrontImageUrl"
    with pytest.raises(TeaException) as err:
        verify(env, "NotMin", HOLDER, HOLDER_ID, face)
    assert err.value.code == "InvalidParameter" and "RPMin" in err.value.message


def test_scene_threshold_decides(env, host: ImageHost) -> None:
    front, back, _ = card(HOLDER, HOLDER_ID)
    args = (
        HOLDER,
        HOLDER_ID,
        host.put("t-face.jpg", photo("obama2.jpg").read_bytes()),
        host.put("t-front.jpg", front),
        host.put("t-back.jpg", back),
    )
    assert verify(env, "MinNone", *args).verify_status == 1
    strict = verify(env, "MinStrict", *args)
    assert strict.verify_status == 6 and strict.id_card_face_comparison_score < 99.5
    srv, _ = env
    bad = srv.cli(
        "scene",
        "create",
        "X",
        "--scheme",
        "RPMin",
        "--tenant",
        "rpmin",
        "--threshold",
        "idcard=120",
        check=False,
    )
    assert bad.returncode != 0 and "0-100" in bad.stderr
