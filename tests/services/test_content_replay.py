"""Replays with other bytes, through the device submit (``shiren.services.device_submit``) on fakes and a
real SQLite runtime: a capture whose pictures were submitted before (``capture_content_fresh``), in another
tenant's attempt and re-encoded (so ``capture_fresh``, the bytes, passes), is refused with VerifyStatus 9.

The liveness judge is a fake that tells which pictures a video shows (its content print); the index, the
keying and the recording are the real ones."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from shiren.authority import Authorities
from shiren.domain.challenge import LEAD_IN_MS, PER_ACTION_MS
from shiren.domain.consent import CONSENT_VERSION
from shiren.engine.liveness import LivenessReport
from shiren.engine.liveness.replay import ContentPrint
from shiren.runtime import Runtime
from shiren.services import device, device_submit
from shiren.services.content_index import ContentIndex
from shiren.services.decision import DecisionModels
from shiren.services.device_submit import SubmitRequest
from shiren.services.verification import TokenRequest, start_verification
from shiren.settings import Settings
from shiren.storage.models import Attempt, CapturePrint, Challenge, utcnow
from shiren.storage.repo.scenes import create_scene, get_scene
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.services.fakes import UNTIMED, fake_models, liveness_report

ALICE = 1  # whose face the fake models see
MP4 = b"\x00\x00\x00\x18ftypmp42"
FIRST = MP4 + bytes(range(256)) * 8  # the capture as first uploaded
REENCODED = MP4 + bytes(range(255, -1, -1)) * 8  # the same pictures, other bytes
OTHER = MP4 + bytes(range(0, 256, 2)) * 16  # another capture
CAPTURE_MS = LEAD_IN_MS + 2 * PER_ACTION_MS + 400  # a two-action challenge


def _print(seed: int, n: int = 40) -> ContentPrint:
    pairs = frozenset((i % 8, (seed * 7919 + i * 104729) % 32768) for i in range(n))
    return ContentPrint(pairs, pairs, frozenset(), n)


PICTURES = {FIRST: _print(1), REENCODED: _print(1), OTHER: _print(2)}


class ContentJudge:
    """Passes every capture and tells its content print: the same pictures give the same print."""

    def __init__(self, *, passed: bool = True) -> None:
        self.passed = passed

    def __call__(
        self, video: bytes, actions: list[str], flash: dict | None, timing: object = None
    ) -> LivenessReport:
        report = liveness_report(ALICE, actions_done=self.passed, duration_ms=CAPTURE_MS)
        return replace(report, content=PICTURES[video])


def runtime(tmp_path: Path) -> Iterator[Runtime]:
    key = base64.b64encode(bytes(range(32))).decode()
    rt = Runtime.build(Settings(data_dir=tmp_path, master_key=key), models=fake_models())
    yield rt
    rt.close()


def _deps(runtime: Runtime, judge: ContentJudge) -> DecisionModels:
    return DecisionModels(
        runtime.models,
        Authorities({}),
        runtime.settings,
        liveness_judge=judge,
        replay_index=ContentIndex(runtime),
    )


def _submit(runtime: Runtime, tenant: str, biz_id: str, video: bytes, judge: ContentJudge) -> Attempt:
    """One attempt of ``tenant`` (face only, FDBioOnly) through consent, challenge, upload and submit."""
    with runtime.sessions() as session, session.begin():
        tenant_id = get_or_create_tenant(session, tenant).id
        scene = get_scene(session, tenant_id, "Face") or create_scene(
            session, runtime.crypto, tenant_id, "Face", "FDBioOnly", liveness=UNTIMED
        )
        session.expunge(scene)
    ctx = device.open_attempt(runtime, start_verification(runtime, TokenRequest(scene, biz_id)).token)
    device.record_consent(runtime, ctx, CONSENT_VERSION, "zh")
    challenge, _ = device.issue_challenge(runtime, ctx)
    with runtime.sessions() as session, session.begin():  # recorded for the challenge: uploaded 10 s after it
        stored = session.get(Challenge, challenge.id)
        assert stored is not None
        stored.issued_at = utcnow() - timedelta(seconds=10)
    device.store_upload(runtime, ctx, "video", video, challenge.id)
    asyncio.run(device_submit.submit(runtime, ctx, SubmitRequest(challenge.id), deps=_deps(runtime, judge)))
    with runtime.sessions() as session:
        attempt = session.get(Attempt, ctx.attempt.id)
        assert attempt is not None and attempt.state == "decided"
        session.expunge(attempt)
    return attempt


def _check(attempt: Attempt, name: str) -> dict:
    assert attempt.evidence is not None
    return next(c for c in attempt.evidence["checks"] if c["name"] == name)


def test_the_same_pictures_in_a_new_attempt_are_refused_as_a_replay(runtime: Runtime) -> None:
    first = _submit(runtime, "acme", "order-1", FIRST, ContentJudge())
    assert first.verify_status == 1
    assert _check(first, "capture_content_fresh")["passed"] is True
    # Another tenant, another attempt, the same pictures re-encoded: other bytes, so capture_fresh passes.
    replayed = _submit(runtime, "other-shop", "order-9", REENCODED, ContentJudge())
    assert replayed.verify_status == 9
    assert _check(replayed, "capture_fresh")["passed"] is True
    check = _check(replayed, "capture_content_fresh")
    assert check["passed"] is False
    assert check["detail"] == "this capture's content was already submitted"
    assert check["score"] == 1.0 and check["data"] == {"shared": 40, "tokens": 40}
    # Another capture is not a replay of either.
    fresh = _submit(runtime, "acme", "order-2", OTHER, ContentJudge())
    assert fresh.verify_status == 1
    assert _check(fresh, "capture_content_fresh")["score"] == 0.0


def test_only_keyed_tokens_are_stored(runtime: Runtime) -> None:
    first = _submit(runtime, "acme", "order-1", FIRST, ContentJudge())
    with runtime.sessions() as session:
        rows = session.scalars(select(CapturePrint).where(CapturePrint.attempt_id == first.id)).all()
    assert len(rows) == len(PICTURES[FIRST].bands)
    assert {r.tenant_id for r in rows} == {first.tenant_id}
    raw = {f"{b}:{v}" for b, v in PICTURES[FIRST].bands}
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row.token) and row.token not in raw
    # The key is the installation's: another key gives other tokens for the same pictures.
    other = Runtime.build(
        Settings(
            data_dir=runtime.settings.data_dir / "other", master_key=base64.b64encode(bytes(32)).decode()
        ),
        models=fake_models(),
    )
    try:
        assert not set(ContentIndex(other).tokens(PICTURES[FIRST].bands)) & {r.token for r in rows}
    finally:
        other.close()


def test_a_capture_that_failed_liveness_is_recorded_too_so_a_clip_gets_one_try(runtime: Runtime) -> None:
    # A clip recorded beforehand fishing for a challenge it fits: it failed this one, and is refused as a
    # replay on every later one, even the one it would fit.
    failed = _submit(runtime, "acme", "order-1", FIRST, ContentJudge(passed=False))
    assert failed.verify_status == 9
    with runtime.sessions() as session:
        assert session.scalars(select(CapturePrint)).first() is not None
    again = _submit(runtime, "acme", "order-2", REENCODED, ContentJudge())
    assert again.verify_status == 9
    assert _check(again, "capture_content_fresh")["passed"] is False
