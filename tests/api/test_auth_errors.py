"""Replay, freshness, keys, oversized bodies and unknown actions, against real server processes."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from Tea.exceptions import TeaException

from tests.sdk import core_call, models, tea
from tests.support import ShirenServer, signed_v1


def post(server: ShirenServer, params: dict[str, str]) -> httpx.Response:
    return httpx.post(server.url + "/?" + urlencode(params), timeout=30)


def test_replayed_request_is_refused_even_by_another_process(server: ShirenServer, tenant_a: dict) -> None:
    params = signed_v1(tenant_a, "DescribeVerifyResult", BizId="x", BizType="FDTest")
    assert post(server, params).status_code == 200
    again = post(server, params)
    assert again.status_code == 400 and again.json()["Code"] == "SignatureNonceUsed"
    second = ShirenServer(server.data_dir)  # same database, another process
    second.start()
    try:
        other = post(second, params)
        assert other.status_code == 400 and other.json()["Code"] == "SignatureNonceUsed"
        fresh = signed_v1(tenant_a, "DescribeVerifyResult", BizId="x", BizType="FDTest")
        assert post(second, fresh).status_code == 200
    finally:
        second.stop()


@pytest.mark.parametrize("skew", [timedelta(minutes=-16), timedelta(minutes=16)])
def test_timestamp_outside_15_minutes(server: ShirenServer, tenant_a: dict, skew: timedelta) -> None:
    params = signed_v1(
        tenant_a, "DescribeVerifyResult", when=datetime.now(UTC) + skew, BizId="x", BizType="FDTest"
    )
    resp = post(server, params)
    assert resp.status_code == 400 and resp.json()["Code"] == "InvalidTimeStamp.Expired"


def test_timestamp_inside_window_is_accepted(server: ShirenServer, tenant_a: dict) -> None:
    params = signed_v1(
        tenant_a,
        "DescribeVerifyResult",
        when=datetime.now(UTC) - timedelta(minutes=14),
        BizId="x",
        BizType="FDTest",
    )
    assert post(server, params).status_code == 200


def test_wrong_secret_unknown_and_disabled_keys(server: ShirenServer) -> None:
    key = server.new_tenant("keys", [("FDTest", "FDBioOnly")])
    secret = key["AccessKeySecret"]
    bad = {**key, "AccessKeySecret": secret[:-1] + ("x" if secret[-1] != "x" else "y")}
    with pytest.raises(TeaException) as err:
        tea(server, bad).describe_verify_result(
            models.DescribeVerifyResultRequest(biz_id="k", biz_type="FDTest")
        )
    assert err.value.code == "SignatureDoesNotMatch"
    assert "server string to sign is:" in err.value.message
    unknown = {**key, "AccessKeyId": "LTAIunknownunknownunk"}
    with pytest.raises(TeaException) as err:
        tea(server, unknown).describe_verify_result(
            models.DescribeVerifyResultRequest(biz_id="k", biz_type="FDTest")
        )
    assert err.value.code == "InvalidAccessKeyId.NotFound" and err.value.data["statusCode"] == 404
    server.cli("accesskey", "disable", key["AccessKeyId"])
    listed = {k["AccessKeyId"]: k for k in server.cli_json("accesskey", "list", "--tenant", "keys")}
    assert listed[key["AccessKeyId"]]["Enabled"] is False
    with pytest.raises(TeaException) as err:
        tea(server, key, "v2").describe_verify_result(
            models.DescribeVerifyResultRequest(biz_id="k", biz_type="FDTest")
        )
    assert err.value.code == "InvalidAccessKeyId.Inactive"


def test_unknown_action_is_404(server: ShirenServer, tenant_a: dict) -> None:
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    with pytest.raises(ServerException) as err:
        core_call(server, tenant_a, "DescribeNothing")
    assert err.value.get_http_status() == 404 and err.value.get_error_code() == "InvalidAction.NotFound"


def test_unsigned_request_is_refused(server: ShirenServer) -> None:
    resp = httpx.post(server.url + "/?Action=DescribeVerifyResult&BizId=x&BizType=FDTest")
    assert resp.status_code == 400 and resp.json()["Code"] == "MissingSignature"
    assert set(resp.json()) == {"RequestId", "HostId", "Code", "Message", "Recommend"}


def test_oversized_body_is_refused_without_reading_it(server: ShirenServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b"a" * 1024
        )
        started = time.monotonic()
        reply = ""
        while "RequestEntityTooLarge" not in reply and time.monotonic() - started < 5:
            data = sock.recv(65536)
            if not data:
                break
            reply += data.decode(errors="replace")
        assert time.monotonic() - started < 5
    assert reply.startswith("HTTP/1.1 413") and "RequestEntityTooLarge" in reply


def test_oversized_chunked_body_is_cut_off(server: ShirenServer) -> None:
    def chunks():
        for _ in range(10):
            yield b"a" * (1024 * 1024)

    resp = httpx.post(
        server.url + "/", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 413


def test_throttling(tmp_path) -> None:
    srv = ShirenServer(tmp_path / "throttle", env={"SHIREN_RATE_LIMIT_QPS": "3"})
    srv.start()
    try:
        key = srv.new_tenant("t", [("FDTest", "FDBioOnly")])
        codes = [
            post(srv, signed_v1(key, "DescribeVerifyResult", BizId="x", BizType="FDTest")).json().get("Code")
            for _ in range(8)
        ]
        assert "Throttling.User" in codes and codes[0] is None
    finally:
        srv.stop()
