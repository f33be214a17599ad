"""How many liveness challenges one verification may be shown (``services.device.issue_challenge``): a few
per attempt, and a bounded number per BizId and per identity in a day, so a pre-recorded clip cannot fish
for a challenge it fits. Real SQLite runtime, no models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from shiren.domain.consent import CONSENT_VERSION
from shiren.domain.limits import MAX_CHALLENGES_PER_BIZID, MAX_CHALLENGES_PER_IDENTITY
from shiren.runtime import Runtime
from shiren.services import device
from shiren.services.errors import ChallengeLimit
from shiren.services.verification import TokenRequest, start_verification
from shiren.storage.models import Challenge, Scene, utcnow
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tenants import get_or_create_tenant

ID_NUMBER = "11010519491231002X"


def _scene(runtime: Runtime, biz_type: str = "Face", scheme: str = "FDBioOnly") -> Scene:
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "acme")
        scene = create_scene(session, runtime.crypto, tenant.id, biz_type, scheme)
        session.expunge(scene)
    return scene


def _attempt(runtime: Runtime, scene: Scene, biz_id: str, **identity: str) -> device.DeviceContext:
    token = start_verification(runtime, TokenRequest(scene, biz_id, **identity)).token
    ctx = device.open_attempt(runtime, token)
    device.record_consent(runtime, ctx, CONSENT_VERSION, "zh")
    return ctx


def _draw(runtime: Runtime, ctx: device.DeviceContext, n: int) -> None:
    for _ in range(n):
        device.issue_challenge(runtime, ctx)


def test_an_attempt_gets_a_few_challenges(runtime: Runtime) -> None:
    ctx = _attempt(runtime, _scene(runtime), "order-1")
    _draw(runtime, ctx, runtime.settings.max_challenges_per_attempt)
    with pytest.raises(ChallengeLimit, match="this attempt"):
        device.issue_challenge(runtime, ctx)


def test_a_bizid_gets_a_bounded_number_of_challenges_a_day(runtime: Runtime) -> None:
    scene = _scene(runtime)
    per_attempt = runtime.settings.max_challenges_per_attempt
    for _ in range(MAX_CHALLENGES_PER_BIZID // per_attempt):
        _draw(runtime, _attempt(runtime, scene, "order-1"), per_attempt)
    fresh = _attempt(runtime, scene, "order-1")
    with pytest.raises(ChallengeLimit, match="BizId or identity"):
        device.issue_challenge(runtime, fresh)
    device.issue_challenge(runtime, _attempt(runtime, scene, "order-2"))  # another BizId is not held up
    with runtime.sessions() as session, session.begin():  # a day later, the BizId may try again
        session.execute(update(Challenge).values(issued_at=utcnow() - timedelta(hours=25)))
    device.issue_challenge(runtime, fresh)


def test_an_identity_gets_a_bounded_number_of_challenges_a_day_across_bizids(runtime: Runtime) -> None:
    scene = _scene(runtime, "BioOnly", "RPBioOnly")
    per_attempt = runtime.settings.max_challenges_per_attempt
    who = {"name": "张三", "id_number": ID_NUMBER}
    for i in range(MAX_CHALLENGES_PER_IDENTITY // per_attempt):
        _draw(runtime, _attempt(runtime, scene, f"order-{i}", **who), per_attempt)
    with pytest.raises(ChallengeLimit):
        device.issue_challenge(runtime, _attempt(runtime, scene, "order-new", **who))
    other = {"name": "李四", "id_number": "110105198001010016"}
    device.issue_challenge(runtime, _attempt(runtime, scene, "order-other", **other))
