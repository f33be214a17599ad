"""JSON logs of a real server: one object a line, the request id of each request, no personal data."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import sys
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest

from shiren.domain.idnumber import random_id_number
from shiren.observability.logging import JsonFormatter, configure_logging
from shiren.observability.request_id import _current, accepted_request_id
from shiren.settings import Settings
from tests.support import ShirenServer, signed_v1

NAME = "欧阳观测"
ID_NUMBER = random_id_number(random.Random(20250601))
UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ShirenServer, dict[str, str]]]:
    srv = ShirenServer(tmp_path_factory.mktemp("obs-json"), env={"SHIREN_LOG_FORMAT": "json"})
    srv.start()
    key = srv.new_tenant("obs-logs", [("RPBasicTest", "RPBasic")])
    yield srv, key
    srv.stop()


def lines_with(srv: ShirenServer, request_id: str, timeout: float = 10) -> list[dict]:
    """The JSON log lines of one request (stderr is line-buffered, but give the server a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [json.loads(line) for line in srv.log().splitlines() if request_id in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_every_line_is_json_and_carries_the_request_id(json_server: tuple[ShirenServer, dict]) -> None:
    srv, key = json_server
    params = signed_v1(
        key, "DescribeVerifyToken", BizType="RPBasicTest", BizId="log-1", Name=NAME, IdCardNumber=ID_NUMBER
    )
    resp = httpx.post(srv.url + "/?" + urlencode(params), timeout=60)
    assert resp.status_code == 200, resp.text
    request_id = resp.headers["X-Request-Id"]
    assert UUID.match(request_id) and resp.json()["RequestId"] == request_id  # one id, header and body

    mine = lines_with(srv, request_id)
    rpc = [line for line in mine if line["message"].startswith("rpc action=DescribeVerifyToken")]
    assert len(rpc) == 1 and rpc[0]["request_id"] == request_id
    assert rpc[0]["level"] == "INFO" and rpc[0]["logger"] == "shiren.api" and rpc[0]["ts"]

    log = srv.log()
    records = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line: JSON
    assert any(r["message"].startswith("shiren listening on") for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records)  # uvicorn's lines too
    for secret in (NAME, quote(NAME), ID_NUMBER, params["Signature"], params["SignatureNonce"]):
        assert secret not in log


def test_the_callers_request_id_is_used_only_when_it_is_a_plain_token(
    json_server: tuple[ShirenServer, dict],
) -> None:
    srv, key = json_server
    url = srv.url + "/?" + urlencode(signed_v1(key, "DescribeVerifyResult", BizId="x", BizType="RPBasicTest"))
    given = "trace-0123456789abcdef"
    resp = httpx.post(url, headers={"X-Request-Id": given}, timeout=60)
    assert resp.headers["X-Request-Id"] == given and resp.json()["RequestId"] == given
    assert [line["request_id"] for line in lines_with(srv, given)] == [given]

    refused = "<script>alert(1)</script>"
    device = httpx.get(srv.url + "/device/v1/session", headers={"X-Request-Id": refused}, timeout=60)
    assert device.status_code == 401 and UUID.match(device.headers["X-Request-Id"])
    assert any(
        line["message"].startswith("device GET /device/v1/session status=401")
        for line in lines_with(srv, device.headers["X-Request-Id"])
    )
    assert refused not in srv.log()


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abcd-1234", True), ("a" * 64, True), ("short", False), ("a" * 65, False), ("id with space", False)],
)
def test_accepted_request_id(incoming: str, kept: bool) -> None:
    assert (accepted_request_id(incoming) == incoming) is kept


def test_formatter_and_configure_logging() -> None:
    record = logging.LogRecord("shiren.x", logging.ERROR, __file__, 1, "failed %s", ("once",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    token = _current.set("REQ-12345678")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        _current.reset(token)
    assert line["message"] == "failed once" and line["request_id"] == "REQ-12345678"
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exc"]
    assert "request_id" not in json.loads(JsonFormatter().format(record))

    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging(Settings(log_format="json"))
        configure_logging(Settings(log_format="json"))  # replaces its handler, never adds a second
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and isinstance(added[0].formatter, JsonFormatter)
        stream = io.StringIO()
        added[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("shiren.test").warning("hello")
        assert json.loads(stream.getvalue())["message"] == "hello"
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
