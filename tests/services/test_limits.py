"""Failure limits: an identity (or BizId) that failed too often in the last 24 hours gets no new
verification (what Alibaba answers with 418 "too many failures today"), so a challenge cannot be fished
without end; a pass does not count, nor do failures older than the window."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shiren.domain.limits import MAX_FAILURES_PER_BIZID, MAX_FAILURES_PER_IDENTITY
from shiren.runtime import Runtime
from shiren.services.errors import TooManyFailures
from shiren.services.verification import TokenRequest, start_verification
from shiren.settings import Settings
from shiren.storage.models import Scene, utcnow
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tasks import set_verdict, start_attempt
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.services.fakes import fake_models

NUMBER = "11010519491231002X"
OTHER = "110105194912310029"


def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime.build(
        Settings(data_dir=tmp_path, master_key=base64.b64encode(bytes(range(32))).decode()),
        models=fake_models(),
    )
    yield rt
    rt.close()


def _scene(runtime: Runtime) -> Scene:
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "limits")
        scene = create_scene(session, runtime.crypto, tenant.id, "Bio", "RPBioOnly")
        session.expunge(scene)
    return scene


def _decided(runtime: Runtime, scene: Scene, biz_id: str, number: str, status: int, ago: timedelta) -> None:
    with runtime.sessions() as session, session.begin():
        attempt = start_attempt(
            session, runtime.crypto, scene, biz_id, ttl=timedelta(minutes=30), name="张三", id_number=number
        )
        set_verdict(
            session,
            runtime.crypto,
            attempt,
            status=status,
            scores={},
            evidence={},
            material={},
            now=utcnow() - ago,
        )


def _start(runtime: Runtime, scene: Scene, biz_id: str, number: str) -> str:
    return start_verification(runtime, TokenRequest(scene, biz_id, name="张三", id_number=number)).token


def test_an_identity_that_failed_too_often_today_gets_no_new_verification(runtime: Runtime) -> None:
    scene = _scene(runtime)
    for i in range(MAX_FAILURES_PER_IDENTITY - 1):
        _decided(runtime, scene, f"order-{i}", NUMBER, 9, timedelta(hours=1))
    _decided(runtime, scene, "passed", NUMBER, 1, timedelta(hours=1))  # a pass does not count
    _decided(runtime, scene, "old", NUMBER, 9, timedelta(hours=25))  # nor a failure of yesterday
    assert _start(runtime, scene, "next", NUMBER.lower())  # one failure short: still allowed
    _decided(runtime, scene, "one-more", NUMBER, 7, timedelta(minutes=1))
    with pytest.raises(TooManyFailures, match="this identity failed 10 verifications in the last 24 hours"):
        _start(runtime, scene, "another-order", NUMBER.lower())  # any BizId, any spelling of the number
    assert _start(runtime, scene, "someone-else", OTHER)  # other identities are not affected


def test_a_bizid_that_failed_too_often_gets_no_new_verification(runtime: Runtime) -> None:
    scene = _scene(runtime)
    for i in range(MAX_FAILURES_PER_BIZID):
        _decided(runtime, scene, "order-1", f"1101051949123100{i:02d}"[:17] + "X", 9, timedelta(hours=2))
    with pytest.raises(TooManyFailures, match="this BizId failed 10 verifications"):
        _start(runtime, scene, "order-1", OTHER)
    assert _start(runtime, scene, "order-2", OTHER)
