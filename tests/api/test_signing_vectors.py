"""The 25 requests captured from four official SDK variants verify, and break when a signed byte changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from shiren.api.rpc.auth import authenticate
from shiren.api.rpc.errors import RpcError
from shiren.api.rpc.params import RawRequest
from shiren.runtime import Runtime
from shiren.settings import Settings
from shiren.storage.repo.tenants import import_access_key

# Captured from alibabacloud-cloudauth20190307 (ACS3 and v2), the first-generation Tea SDK and
# aliyun-python-sdk-core against a loopback server; copied verbatim from the project's shared vectors.
VECTORS = Path(__file__).parent / "vectors" / "signed-requests.jsonl"


def _vectors() -> list[dict]:
    return [json.loads(line) for line in VECTORS.read_text().splitlines() if line.strip()]


def _raw(
    vector: dict,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> RawRequest:
    parts = urlsplit(vector["raw_path"])
    q = query if query is not None else parse_qsl(parts.query, keep_blank_values=True)
    h = headers if headers is not None else {k.lower(): v for k, v in vector["headers"]}
    b = vector["body"] if body is None else body
    params = dict(q)
    if b and h.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(b, keep_blank_values=True))
    return RawRequest(vector["method"], parts.path, q, params, h, b.encode(), "127.0.0.1")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    rt = Runtime.build(Settings(data_dir=tmp_path_factory.mktemp("vec")))
    first = _vectors()[0]
    with rt.sessions() as s, s.begin():
        import_access_key(s, rt.crypto, "vectors", first["access_key_id"], first["access_key_secret"])
    return rt


def _at(vector: dict) -> datetime:
    return datetime.strptime(vector["signed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _mutate(text: str, i: int) -> str:
    return text[:i] + ("B" if text[i] != "B" else "C") + text[i + 1 :]


def _mutations(vector: dict):
    """Every single-character change of every signed value: parameters, signed headers, body."""
    req = _raw(vector)
    acs3 = "authorization" in req.headers
    for idx, (k, v) in enumerate(req.query):
        if k == "Signature":
            continue
        for i in range(len(v)):
            q = list(req.query)
            q[idx] = (k, _mutate(v, i))
            yield f"query {k}[{i}]", _raw(vector, query=q)
    if acs3:
        signed = req.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        for name in signed:
            value = req.headers[name]
            for i in range(len(value)):
                yield f"header {name}[{i}]", _raw(vector, headers={**req.headers, name: _mutate(value, i)})
    if vector["body"]:
        form = parse_qsl(vector["body"], keep_blank_values=True)
        for idx, (k, v) in enumerate(form):
            for i in range(len(v)):
                f = list(form)
                f[idx] = (k, _mutate(v, i))
                yield f"body {k}[{i}]", _raw(vector, body=urlencode(f))


EXPECTED_FAILURES = {
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
    "InvalidTimeStamp.Expired",
    "InvalidTimeStamp.Format",
    "InvalidParameter",
}


@pytest.mark.parametrize("index", range(25))
def test_vector_verifies_and_any_changed_signed_byte_fails(runtime: Runtime, index: int) -> None:
    vector = _vectors()[index]
    assert vector["valid"]
    now = _at(vector)
    count = 0
    for where, mutated in _mutations(vector):
        with pytest.raises(RpcError) as err:
            authenticate(runtime, mutated, now=now)
        assert err.value.code in EXPECTED_FAILURES, where
        count += 1
    assert count > 20
    key = authenticate(runtime, _raw(vector), now=now)
    assert key.access_key_id == vector["access_key_id"]
    # The same request again is a replay.
    with pytest.raises(RpcError) as err:
        authenticate(runtime, _raw(vector), now=now)
    assert err.value.code == "SignatureNonceUsed"


def test_vectors_are_refused_at_todays_clock(runtime: Runtime) -> None:
    vector = _vectors()[0]
    later = _at(vector).replace(year=_at(vector).year + 1)
    with pytest.raises(RpcError) as err:
        authenticate(runtime, _raw(vector), now=later)
    assert err.value.code == "InvalidTimeStamp.Expired"
