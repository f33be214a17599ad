"""Scenes over the command line and over the signed API (Create/Describe/UpdateVerifySetting)."""

from __future__ import annotations

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from Tea.exceptions import TeaException

from tests.sdk import core_call, models, tea
from tests.support import ShirenServer


def test_cli_scene_lifecycle(server: ShirenServer) -> None:
    key = server.new_tenant("cli-scenes")
    created = server.cli_json(
        "scene",
        "create",
        "Shop",
        "--scheme",
        "RPH5BioOnly",
        "--tenant",
        "cli-scenes",
        "--name",
        "网店",
        "--authority",
        "registry",
        "--redirect-origin",
        "https://Shop.Example.com:443/x",
        "--callback-url",
        "https://cb.example.com/n",
    )
    assert created["Solution"] == "RPH5BioOnly" and created["RedirectOrigins"] == ["https://shop.example.com"]
    assert created["StepList"] == ["GUIDE", "PRIVACY", "FACE_LIVENESS", "RESULT"]
    shown = server.cli_json("scene", "show", "Shop", "--tenant", "cli-scenes")
    assert shown["BizName"] == "网店" and shown["Authority"] == "registry"
    assert [s["BizType"] for s in server.cli_json("scene", "list", "--tenant", "cli-scenes")] == ["Shop"]
    dup = server.cli("scene", "create", "Shop", "--scheme", "RPMin", "--tenant", "cli-scenes", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    bad = server.cli(
        "scene",
        "create",
        "Bad",
        "--scheme",
        "RPMin",
        "--tenant",
        "cli-scenes",
        "--redirect-origin",
        "javascript:x",
        check=False,
    )
    assert bad.returncode != 0 and "origin" in bad.stderr
    server.cli("scene", "disable", "Shop", "--tenant", "cli-scenes")
    with pytest.raises(TeaException) as err:
        tea(server, key).describe_verify_token(
            models.DescribeVerifyTokenRequest(
                biz_id="1", biz_type="Shop", name="张三", id_card_number="11010519491231002X"
            )
        )
    assert err.value.code == "Forbidden" and err.value.data["statusCode"] == 403


def test_scenes_over_the_api(server: ShirenServer) -> None:
    key = server.new_tenant("api-scenes")
    client = tea(server, key)
    created = client.create_verify_setting(
        models.CreateVerifySettingRequest(
            biz_type="ApiScene",
            biz_name="From API",
            solution="RPBioOnly",
            guide_step=False,
            privacy_step=True,
            result_step=True,
        )
    ).body
    assert created.solution == "RPBioOnly" and created.step_list == ["PRIVACY", "FACE_LIVENESS", "RESULT"]
    listed = core_call(server, key, "DescribeVerifySetting")["VerifySettingList"]
    assert [(s["BizType"], s["Solution"]) for s in listed] == [("ApiScene", "RPBioOnly")]
    updated = core_call(
        server, key, "UpdateVerifySetting", BizType="ApiScene", BizName="Renamed", ResultStep="false"
    )
    assert updated["BizName"] == "Renamed" and updated["StepList"] == ["PRIVACY", "FACE_LIVENESS"]
    # The scene is usable at once, and the CLI sees it.
    token = client.describe_verify_token(
        models.DescribeVerifyTokenRequest(
            biz_id="s1", biz_type="ApiScene", name="张三", id_card_number="11010519491231002X"
        )
    ).body.verify_token
    assert len(token) == 32
    assert server.cli_json("scene", "show", "ApiScene", "--tenant", "api-scenes")["BizName"] == "Renamed"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"BizType": "X1", "Solution": "NoSuchScheme"}, "InvalidParameter"),
        ({"BizType": "X2"}, "MissingSolution"),
        ({"BizType": "X3", "Solution": "RPMin", "GuideStep": "maybe"}, "InvalidParameter"),
        ({"BizType": "bad type!", "Solution": "RPMin"}, "InvalidParameter"),
    ],
)
def test_create_setting_validation(server: ShirenServer, tenant_a: dict, params: dict, code: str) -> None:
    with pytest.raises(ServerException) as err:
        core_call(server, tenant_a, "CreateVerifySetting", **params)
    assert err.value.get_error_code() == code


def test_update_cannot_touch_another_tenants_scene(
    server: ShirenServer, tenant_a: dict, tenant_b: dict
) -> None:
    with pytest.raises(ServerException) as err:
        core_call(server, tenant_b, "UpdateVerifySetting", BizType="FDTest", BizName="hijack")
    assert err.value.get_error_code() == "InvalidParameter"
    assert server.cli_json("scene", "show", "FDTest", "--tenant", "tenant-a")["BizName"] == "FDTest"
