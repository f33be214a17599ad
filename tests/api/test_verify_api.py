"""DescribeVerifyToken / DescribeVerifyResult through Alibaba's official SDKs against a running server."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from aliyunsdkcloudauth.request.v20190307 import DescribeVerifyResultRequest, DescribeVerifyTokenRequest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from Tea.exceptions import TeaException

from tests.conftest import ALL_SCENES
from tests.sdk import TEA_VARIANTS, core, core_call, models, tea
from tests.support import ShirenServer

NAME = "张三"
ID_NUMBER = "11010519491231002X"
REQUIRED = {
    "RPBioID": {"name": NAME, "id_card_number": ID_NUMBER},
    "RPBioOnly": {"name": NAME, "id_card_number": ID_NUMBER},
    "RPBioOnlyPro": {"name": NAME, "id_card_number": ID_NUMBER},
    "RPH5BioOnly": {"name": NAME, "id_card_number": ID_NUMBER},
    "FVBioOnly": {"face_retained_image_url": "https://img.example.com/face.jpg"},
}
TOKEN_SCENES = [(b, s) for b, s in ALL_SCENES if s != "RPMin"]


@pytest.mark.parametrize("variant", TEA_VARIANTS)
@pytest.mark.parametrize(("biz_type", "scheme"), TOKEN_SCENES)
def test_token_then_result_for_every_scheme(
    server: ShirenServer, tenant_a: dict, variant: str, biz_type: str, scheme: str
) -> None:
    client = tea(server, tenant_a, variant)
    biz_id = f"{variant}-{biz_type}"
    resp = client.describe_verify_token(
        models.DescribeVerifyTokenRequest(
            biz_id=biz_id,
            biz_type=biz_type,
            user_id="u1",
            user_regist_time=1577808000000,
            **REQUIRED.get(scheme, {}),
        )
    )
    body = resp.body.to_map()
    assert resp.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", body["VerifyToken"])
    assert re.fullmatch(r"[0-9A-F-]{36}", body["RequestId"])
    oss = body["OssUploadToken"]
    assert isinstance(oss["Expired"], int) and oss["Token"] == body["VerifyToken"]
    assert ("VerifyPageUrl" in body) == (scheme == "RPH5BioOnly")
    if scheme == "RPH5BioOnly":
        assert body["VerifyToken"] in body["VerifyPageUrl"]
    result = client.describe_verify_result(
        models.DescribeVerifyResultRequest(biz_id=biz_id, biz_type=biz_type)
    )
    assert result.body.verify_status == -1
    assert set(result.body.to_map()) == {"RequestId", "VerifyStatus"}


def test_classic_core_sdk(server: ShirenServer, tenant_a: dict) -> None:
    client = core(tenant_a)
    req = DescribeVerifyTokenRequest.DescribeVerifyTokenRequest()
    req.set_BizId("core-1")
    req.set_BizType("RPBioIDTest")
    req.set_Name(NAME)
    req.set_IdCardNumber(ID_NUMBER)
    req.set_endpoint(server.endpoint)
    req.set_protocol_type("http")
    body = json.loads(client.do_action_with_exception(req))
    assert len(body["VerifyToken"]) == 32
    res = DescribeVerifyResultRequest.DescribeVerifyResultRequest()
    res.set_BizId("core-1")
    res.set_BizType("RPBioIDTest")
    res.set_endpoint(server.endpoint)
    res.set_protocol_type("http")
    assert json.loads(client.do_action_with_exception(res))["VerifyStatus"] == -1


def test_each_call_starts_a_new_attempt_with_its_own_token(server: ShirenServer, tenant_a: dict) -> None:
    client = tea(server, tenant_a)
    tokens = {
        client.describe_verify_token(
            models.DescribeVerifyTokenRequest(biz_id="again", biz_type="FDTest")
        ).body.verify_token
        for _ in range(3)
    }
    assert len(tokens) == 3


@pytest.mark.parametrize(
    ("biz_type", "params", "code"),
    [
        ("RPBioIDTest", {"name": NAME}, "MissingIdCardNumber"),
        ("RPBioOnlyTest", {"id_card_number": ID_NUMBER}, "MissingName"),
        ("RPH5Test", {}, "MissingName"),
        ("FVTest", {}, "MissingFaceRetainedImageUrl"),
        ("RPMinTest", {"name": NAME, "id_card_number": ID_NUMBER}, "InvalidParameter"),
        ("FDTest", {"callback_url": "ftp://cb.example.com/x"}, "InvalidParameter"),
        ("FDTest", {"passed_redirect_url": "https://evil.example.net/ok"}, "InvalidParameter"),
        ("FDTest", {"passed_redirect_url": "javascript:alert(1)"}, "InvalidParameter"),
        ("NoSuchScene", {}, "InvalidParameter"),
    ],
)
def test_scheme_parameters_are_enforced(
    server: ShirenServer, tenant_a: dict, biz_type: str, params: dict, code: str
) -> None:
    client = tea(server, tenant_a)
    with pytest.raises(TeaException) as err:
        client.describe_verify_token(
            models.DescribeVerifyTokenRequest(biz_id="p1", biz_type=biz_type, **params)
        )
    assert err.value.code == code
    assert err.value.data["statusCode"] == 400
    assert err.value.data["RequestId"] and err.value.data["HostId"] and "Recommend" in err.value.data


def test_allowed_redirect_and_long_biz_id(server: ShirenServer, tenant_a: dict) -> None:
    client = tea(server, tenant_a)
    ok = client.describe_verify_token(
        models.DescribeVerifyTokenRequest(
            biz_id="r1", biz_type="FDTest", passed_redirect_url="https://app.example.com/done?x=1"
        )
    )
    assert ok.status_code == 200
    with pytest.raises(TeaException) as err:
        client.describe_verify_token(models.DescribeVerifyTokenRequest(biz_id="x" * 65, biz_type="FDTest"))
    assert err.value.code == "InvalidParameter" and "BizId" in err.value.message


def test_missing_biz_id_through_core_sdk(server: ShirenServer, tenant_a: dict) -> None:
    with pytest.raises(ServerException) as err:
        core_call(server, tenant_a, "DescribeVerifyResult", BizType="FDTest")
    assert err.value.get_http_status() == 400 and err.value.get_error_code() == "MissingBizId"


def test_tenants_are_isolated(server: ShirenServer, tenant_a: dict, tenant_b: dict) -> None:
    a, b = tea(server, tenant_a), tea(server, tenant_b)
    a.describe_verify_token(models.DescribeVerifyTokenRequest(biz_id="shared-id", biz_type="RPBasicTest"))
    # B has a scene with the same BizType, but A's BizId is unknown to it.
    res = b.describe_verify_result(
        models.DescribeVerifyResultRequest(biz_id="shared-id", biz_type="RPBasicTest")
    )
    assert res.body.verify_status == -1
    # A's other scenes do not exist for B at all.
    with pytest.raises(TeaException) as err:
        b.describe_verify_result(models.DescribeVerifyResultRequest(biz_id="shared-id", biz_type="FDTest"))
    assert err.value.code == "InvalidParameter"


def test_failed_request_leaves_no_rows(server: ShirenServer, tenant_a: dict) -> None:
    db = server.data_dir / "shiren.db"

    def count() -> tuple[int, int]:
        with sqlite3.connect(db) as conn:
            return (
                conn.execute("select count(*) from tasks").fetchone()[0],
                conn.execute("select count(*) from attempts").fetchone()[0],
            )

    before = count()
    with pytest.raises(TeaException):
        tea(server, tenant_a).describe_verify_token(
            models.DescribeVerifyTokenRequest(
                biz_id="half", biz_type="FDTest", failed_redirect_url="https://elsewhere.example.org/"
            )
        )
    assert count() == before


def test_logs_carry_no_personal_data(server: ShirenServer, tenant_a: dict) -> None:
    client = tea(server, tenant_a)
    client.describe_verify_token(
        models.DescribeVerifyTokenRequest(
            biz_id="log-check", biz_type="RPBioIDTest", name="李小龙", id_card_number="440301197011270017"
        )
    )
    log = server.log()
    assert "rpc action=DescribeVerifyToken" in log
    for secret in ("李小龙", "440301197011270017", tenant_a["AccessKeySecret"], "%E6%9D%8E"):
        assert secret not in log
