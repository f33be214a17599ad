"""Alibaba's official SDKs, pointed at a shiren server: the integrator's side of every test."""

from __future__ import annotations

import json
from typing import Any

from alibabacloud_cloudauth20190307 import models as tea_models
from alibabacloud_cloudauth20190307.client import Client as TeaClient
from alibabacloud_tea_openapi import models as open_api_models
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from tests.support import ShirenServer

TEA_VARIANTS = ("acs3", "v2")


def tea(server: ShirenServer, key: dict[str, str], variant: str = "acs3") -> TeaClient:
    """The current Tea SDK; ``variant="v2"`` selects its HMAC-SHA1 RPC signature."""
    cfg = open_api_models.Config(
        access_key_id=key["AccessKeyId"],
        access_key_secret=key["AccessKeySecret"],
        endpoint=server.endpoint,
        protocol="http",
        read_timeout=60000,
        connect_timeout=5000,
    )
    if variant == "v2":
        cfg.signature_algorithm = "v2"
    return TeaClient(cfg)


def core(key: dict[str, str]) -> AcsClient:
    """The classic ``aliyun-python-sdk-core`` client."""
    return AcsClient(key["AccessKeyId"], key["AccessKeySecret"], "cn-hangzhou", timeout=60)


def core_call(server: ShirenServer, key: dict[str, str], action: str, **params: Any) -> dict[str, Any]:
    """Any action (also those the typed SDKs lack) through the classic SDK's CommonRequest."""
    req = CommonRequest(domain=server.endpoint, version="2019-03-07", action_name=action)
    req.set_protocol_type("http")
    req.set_method("POST")
    for name, value in params.items():
        req.add_query_param(name, value)
    return json.loads(core(key).do_action_with_exception(req))


models = tea_models
