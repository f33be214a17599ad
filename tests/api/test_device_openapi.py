"""The OpenAPI document describes the device protocol as it is served: schemathesis sends generated
requests (with a live VerifyToken and without) to the real application and checks that every status and
body it gets back is one the document describes. Bounded: a few dozen examples per operation."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shiren.app import create_app
from shiren.runtime import Runtime
from shiren.services.scenes import load_scene
from shiren.services.verification import TokenRequest, start_verification
from shiren.settings import Settings
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tenants import get_or_create_tenant

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, str]]:
    data: Path = tmp_path_factory.mktemp("openapi")
    runtime = Runtime.build(Settings(data_dir=data, master_key=base64.b64encode(bytes(range(32))).decode()))
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "schema")
        create_scene(session, runtime.crypto, tenant.id, "Basic", "RPBasic")
        tenant_id = tenant.id
    token = start_verification(runtime, TokenRequest(load_scene(runtime, tenant_id, "Basic"), "biz")).token
    yield create_app(runtime=runtime), token
    runtime.close()


@pytest.fixture(scope="module")
def device_schema(served: tuple[object, str]) -> schemathesis.schemas.BaseSchema:
    app, _ = served
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/device/v1/")


@pytest.fixture(scope="module")
def token(served: tuple[object, str]) -> str:
    return served[1]


def test_every_answer_is_described(device_schema: schemathesis.schemas.BaseSchema, token: str) -> None:
    operations = [result.ok() for result in device_schema.get_all_operations()]
    assert len(operations) == 8  # session, consent, guide, challenge, uploads, ocr, submit, cancel
    for operation in operations:

        @given(case=operation.as_strategy(), forged=st.booleans())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exchange(case: schemathesis.Case, forged: bool) -> None:
            # With the live token (the protocol's states) or a forged one (the 401 path).
            bearer = "0" * 32 if forged else token
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {bearer}"}
            case.call_and_validate(checks=CHECKS)

        exchange()


def test_the_document_names_the_bearer_scheme_and_the_error_body(
    device_schema: schemathesis.schemas.BaseSchema,
) -> None:
    raw = device_schema.raw_schema
    assert raw["components"]["securitySchemes"]["VerifyToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "the attempt's VerifyToken",
    }
    for path, operations in raw["paths"].items():
        if not path.startswith("/device/v1/"):
            continue
        for operation in operations.values():
            assert operation["security"] == [{"VerifyToken": []}], path
            statuses = set(operation["responses"])
            assert {"400", "401", "409", "413", "415", "429", "500"} <= statuses, path
            assert "422" not in statuses, path
