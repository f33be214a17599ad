"""Erasure on request and retention over the wire: the shiren extension DeleteVerifyResult through Alibaba's
official SDKs (the Tea SDK's generic ``call_api``, the classic SDK's CommonRequest) against a real server,
the ``shiren verification erase`` and ``shiren retention run`` commands, and the server's own worker.

Decided verifications are written into the server's database by this process through the same storage
functions the decision core uses (a verdict with an encrypted face image), so no model has to run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.acs_exception.exceptions import ServerException
from darabonba.runtime import RuntimeOptions
from sqlalchemy import select, update
from Tea.exceptions import TeaException

from shiren.runtime import Runtime
from shiren.services.media import store_blob
from shiren.settings import Settings
from shiren.storage.models import Attempt, AuditEvent, utcnow
from shiren.storage.repo.scenes import get_scene
from shiren.storage.repo.tasks import new_attempt_keys, set_verdict, start_attempt
from shiren.storage.repo.tenants import find_tenant
from tests.sdk import TEA_VARIANTS, core_call, models, tea
from tests.support import ShirenServer

NAME = "张三"
ID_NUMBER = "11010519491231002X"
SCENE = "EraseShop"


def jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((64, 64, 3), 120, np.uint8))
    assert ok
    return data.tobytes()


def store_verdict(
    runtime: Runtime, tenant: str, biz_type: str, biz_id: str, *, age: timedelta | None = None
) -> int:
    """A passed verification with a face image, as the decision core stores it; returns its attempt id."""
    keys = new_attempt_keys(runtime.crypto)
    with runtime.sessions() as session, session.begin():
        owner = find_tenant(session, tenant)
        assert owner is not None
        scene = get_scene(session, owner.id, biz_type)
        assert scene is not None
        blob = store_blob(
            runtime,
            jpeg(),
            tenant_id=owner.id,
            attempt_id=None,
            kind="face",
            content_type="image/jpeg",
            cipher=keys.media,
        )
        created = utcnow() - (age or timedelta(0))
        attempt = start_attempt(
            session,
            runtime.crypto,
            scene,
            biz_id,
            ttl=timedelta(0),
            name=NAME,
            id_number=ID_NUMBER,
            now=created,
            keys=keys,
        )
        set_verdict(
            session,
            runtime.crypto,
            attempt,
            status=1,
            scores={"authority": 97.5},
            evidence={"checks": [{"name": "face_vs_authority", "passed": True, "score": 97.5}]},
            material={"FaceImageBlob": blob.id, "FaceQuality": "HIGH", "IdCardName": NAME},
            now=created,
        )
        blob.attempt_id = attempt.id
        session.add(blob)
        return attempt.id


@pytest.fixture(scope="module")
def keys(server: ShirenServer) -> dict[str, dict[str, str]]:
    return {
        "a": server.new_tenant("erase-a", [(SCENE, "RPMin"), ("OnlyA", "RPMin")]),
        "b": server.new_tenant("erase-b", [(SCENE, "RPMin")]),
    }


@pytest.fixture(scope="module")
def runtime(server: ShirenServer) -> Iterator[Runtime]:
    """This process's view of the server's data (same data dir, same master key)."""
    rt = Runtime.build(Settings(data_dir=server.data_dir))
    yield rt
    rt.close()


def delete_verify_result(client: OpenApiClient, biz_type: str, biz_id: str) -> dict:
    """DeleteVerifyResult through the Tea SDK's generic call (the typed client has no method for it)."""
    params = open_api_models.Params(
        action="DeleteVerifyResult",
        version="2019-03-07",
        protocol="HTTPS",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = open_api_models.OpenApiRequest(query=Utils.query({"BizType": biz_type, "BizId": biz_id}))
    return client.call_api(params, request, RuntimeOptions())


def describe(client: OpenApiClient, biz_id: str, biz_type: str = SCENE):
    return client.describe_verify_result(models.DescribeVerifyResultRequest(biz_id=biz_id, biz_type=biz_type))


@pytest.mark.parametrize("variant", TEA_VARIANTS)
def test_delete_verify_result_erases_the_biz_id(
    server: ShirenServer, keys: dict, runtime: Runtime, variant: str
) -> None:
    client = tea(server, keys["a"], variant)
    biz_id = f"del-{variant}"
    first = store_verdict(runtime, "erase-a", SCENE, biz_id)
    second = store_verdict(runtime, "erase-a", SCENE, biz_id)  # a retry: every attempt goes
    result = describe(client, biz_id)
    assert result.body.verify_status == 1
    link = result.body.material.face_image_url
    assert httpx.get(link).content == jpeg()

    answer = delete_verify_result(client, SCENE, biz_id)

    assert answer["statusCode"] == 200
    assert answer["body"]["Deleted"] == 2 and len(answer["body"]["RequestId"]) == 36
    with pytest.raises(TeaException) as err:
        describe(client, biz_id)
    assert err.value.code == "DataExpired" and err.value.data["statusCode"] == 410
    gone = httpx.get(link)
    assert gone.status_code == 403 and gone.json()["Code"] == "Forbidden"
    assert delete_verify_result(client, SCENE, biz_id)["body"]["Deleted"] == 0  # idempotent
    with runtime.sessions() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == "retention.erase",
                    AuditEvent.object_id.in_([str(first), str(second)]),
                )
                .order_by(AuditEvent.id)
            )
        )
        rows = [session.get(Attempt, i) for i in (first, second)]
    assert [e.detail["actor"] for e in events] == [f"accesskey:{keys['a']['AccessKeyId']}"] * 2
    assert {e.detail["reason"] for e in events} == {"operator"} and {e.remote for e in events} == {
        "127.0.0.1"
    }
    assert all(r is not None and r.state == "erased" and r.name_enc is None for r in rows)


def test_another_tenants_verifications_cannot_be_deleted(
    server: ShirenServer, keys: dict, runtime: Runtime
) -> None:
    store_verdict(runtime, "erase-a", SCENE, "shared-id")
    # B has a scene of the same BizType: A's BizId is simply not there for it.
    assert (
        core_call(server, keys["b"], "DeleteVerifyResult", BizType=SCENE, BizId="shared-id")["Deleted"] == 0
    )
    assert describe(tea(server, keys["a"]), "shared-id").body.verify_status == 1
    # A's other scene does not exist for B at all.
    with pytest.raises(ServerException) as err:
        core_call(server, keys["b"], "DeleteVerifyResult", BizType="OnlyA", BizId="shared-id")
    assert err.value.get_http_status() == 400 and err.value.get_error_code() == "InvalidParameter"
    with pytest.raises(ServerException) as err:
        core_call(server, keys["a"], "DeleteVerifyResult", BizType=SCENE)
    assert err.value.get_error_code() == "MissingBizId"
    # The classic SDK erases as well.
    assert (
        core_call(server, keys["a"], "DeleteVerifyResult", BizType=SCENE, BizId="shared-id")["Deleted"] == 1
    )


def test_deleting_a_biz_id_that_never_existed_answers_zero(server: ShirenServer, keys: dict) -> None:
    answer = delete_verify_result(tea(server, keys["a"]), SCENE, "never-there")
    assert answer["body"]["Deleted"] == 0
    assert describe(tea(server, keys["a"]), "never-there").body.verify_status == -1


# --- the command line (on a data directory of its own, no server running) ----------------------------------


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[tuple[ShirenServer, Runtime]]:
    """The command line on a data directory that no server (with its own retention worker) touches."""
    cli = ShirenServer(tmp_path / "data", env={"SHIREN_RETENTION_INTERVAL_S": "0"})
    cli.data_dir.mkdir(parents=True)
    cli.new_tenant("ops", [(SCENE, "RPMin")])
    rt = Runtime.build(Settings(data_dir=cli.data_dir))
    yield cli, rt
    rt.close()


def test_cli_erases_one_verification_now(offline: tuple[ShirenServer, Runtime]) -> None:
    cli, rt = offline
    attempt_id = store_verdict(rt, "ops", SCENE, "order-9")
    assert cli.cli_json("verification", "erase", SCENE, "order-9", "--tenant", "ops") == {
        "Tenant": "ops",
        "BizType": SCENE,
        "BizId": "order-9",
        "Deleted": 1,
    }
    assert cli.cli_json("verification", "erase", SCENE, "order-9", "--tenant", "ops")["Deleted"] == 0
    with rt.sessions() as session:
        row = session.get(Attempt, attempt_id)
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.erase"))
    assert row is not None and row.state == "erased" and row.media_key is None
    assert event.detail["actor"] == "cli" and event.detail["reason"] == "operator"
    unknown = cli.cli("verification", "erase", SCENE, "order-9", "--tenant", "nobody", check=False)
    assert unknown.returncode == 2 and "no tenant" in unknown.stderr
    no_scene = cli.cli("verification", "erase", "Nope", "order-9", "--tenant", "ops", check=False)
    assert no_scene.returncode == 2 and "Nope" in no_scene.stderr


def test_cli_retention_run_dry_then_for_real(offline: tuple[ShirenServer, Runtime]) -> None:
    cli, rt = offline
    old = store_verdict(rt, "ops", SCENE, "old-order", age=timedelta(days=31))
    aged = store_verdict(rt, "ops", SCENE, "week-old", age=timedelta(days=8))
    fresh = store_verdict(rt, "ops", SCENE, "fresh-order")

    dry = cli.cli_json("retention", "run", "--dry-run")
    assert dry["DryRun"] is True and dry["Due"] == {"record": 1, "abandoned": 0, "media": 1}
    assert [(a["Kind"], a["AttemptId"], a["BizId"]) for a in dry["Attempts"]] == [
        ("record", old, "old-order"),
        ("media", aged, "week-old"),
    ]
    text = cli.cli("retention", "run", "--dry-run").stdout
    assert text.startswith("would erase: 1 record, 0 abandoned, 1 media") and "biz_id=old-order" in text
    with rt.sessions() as session:
        assert all(session.get(Attempt, i).media_key is not None for i in (old, aged, fresh))

    done = cli.cli_json("retention", "run")
    assert done["Erased"] == {"record": 1, "abandoned": 0, "media": 1} and done["Failed"] == 0
    with rt.sessions() as session:
        states = {i: session.get(Attempt, i) for i in (old, aged, fresh)}
    assert states[old].state == "erased"
    assert states[aged].state == "decided" and states[aged].media_erased_at is not None
    assert states[fresh].media_key is not None
    assert cli.cli_json("retention", "run")["Erased"] == {"record": 0, "abandoned": 0, "media": 0}


def test_the_server_runs_the_retention_worker(tmp_path: Path) -> None:
    srv = ShirenServer(tmp_path / "data", env={"SHIREN_RETENTION_INTERVAL_S": "0.5"})
    srv.start()
    rt = None
    try:
        key = srv.new_tenant("worker", [(SCENE, "RPMin")])
        rt = Runtime.build(Settings(data_dir=srv.data_dir))
        attempt_id = store_verdict(rt, "worker", SCENE, "stale")
        with rt.sessions() as session, session.begin():
            session.execute(
                update(Attempt)
                .where(Attempt.id == attempt_id)
                .values(created_at=utcnow() - timedelta(days=40))
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with rt.sessions() as session:
                if session.get(Attempt, attempt_id).state == "erased":
                    break
            time.sleep(0.2)
        with rt.sessions() as session:
            assert session.get(Attempt, attempt_id).state == "erased"
        with pytest.raises(TeaException) as err:
            describe(tea(srv, key), "stale")
        assert err.value.code == "DataExpired"
        assert "retention: erased record=1" in srv.log() and "stale" not in srv.log()
    finally:
        if rt is not None:
            rt.close()
        srv.stop()
