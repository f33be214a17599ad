"""The device submit (``shiren.services.device_submit``) in-process on fakes: a submit freezes the
attempt's inputs while it decides, a failed decision can be retried to the end, and the signed result is
minted once. The decision's models are fakes; storage is a real SQLite runtime."""

from __future__ import annotations

import asyncio
import base64
import random
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from shiren.authority import Authorities
from shiren.domain.consent import CONSENT_VERSION
from shiren.domain.idnumber import random_id_number
from shiren.engine.idcard import IdCardReading
from shiren.runtime import Runtime
from shiren.services import device, device_submit
from shiren.services.decision import DecisionModels
from shiren.services.device_submit import DeviceAnswer, SubmitRequest
from shiren.services.errors import AlreadyDecided, Conflict, DecisionFailed
from shiren.services.verification import TokenRequest, start_verification
from shiren.settings import Settings
from shiren.storage.models import Attempt, utcnow
from shiren.storage.repo import device as device_repo
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tasks import attempt_material, media_cipher
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.services.fakes import (
    UNTIMED,
    FakeCardReader,
    card_back,
    card_front,
    face_image,
    fake_models,
    liveness_report,
    png,
)

ALICE, BOB = 1, 2
NAME = "张三"
NUMBER = random_id_number(random.Random(7), birth=date(1990, 5, 17), sex="男")
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
FRONT, OTHER_FRONT, BACK = png(face_image(ALICE)), png(face_image(BOB)), png(face_image(ALICE, 300))


class GatedJudge:
    """A liveness judge that waits for the test before answering (a slow decision), or fails once."""

    def __init__(self, *, fail_first: bool = False) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()
        self.fail_first = fail_first
        self.calls = 0

    def __call__(self, video: bytes, actions: list[str], flash: dict | None, timing: object = None):  # noqa: ANN204
        self.calls += 1
        self.entered.set()
        if not self.go.wait(10):
            raise TimeoutError("the test never let the decision finish")
        if self.fail_first and self.calls == 1:
            raise RuntimeError("a model crashed")
        return liveness_report(ALICE)


def runtime(tmp_path: Path) -> Iterator[Runtime]:
    key = base64.b64encode(bytes(range(32))).decode()
    rt = Runtime.build(Settings(data_dir=tmp_path, master_key=key), models=fake_models())
    yield rt
    rt.close()


def _attempt(runtime: Runtime) -> str:
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "t")
        scene = create_scene(session, runtime.crypto, tenant.id, "BioID", "RPBioID", liveness=UNTIMED)
        session.expunge(scene)
    return start_verification(runtime, TokenRequest(scene, "biz-1", name=NAME, id_number=NUMBER)).token


def _captured(runtime: Runtime, token: str) -> tuple[device.DeviceContext, str]:
    ctx = device.open_attempt(runtime, token)
    device.record_consent(runtime, ctx, CONSENT_VERSION, "zh")
    challenge, _ = device.issue_challenge(runtime, ctx)
    device.store_upload(runtime, ctx, "video", VIDEO, challenge.id)
    device.store_upload(runtime, ctx, "id_front", FRONT, None)
    device.store_upload(runtime, ctx, "id_back", BACK, None)
    return ctx, challenge.id


def _deps(runtime: Runtime, judge: GatedJudge) -> DecisionModels:
    reading = IdCardReading(card_front(NAME, NUMBER, ALICE), card_back())
    return DecisionModels(
        runtime.models,
        Authorities({}),
        runtime.settings,
        card_reader=FakeCardReader(reading),
        liveness_judge=judge,
    )


def _submit_in_thread(runtime: Runtime, ctx: device.DeviceContext, challenge_id: str, deps: DecisionModels):
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["answer"] = asyncio.run(
                device_submit.submit(runtime, ctx, SubmitRequest(challenge_id), deps=deps)
            )
        except Exception as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_a_submit_freezes_the_capture_it_is_deciding(runtime: Runtime) -> None:
    token = _attempt(runtime)
    ctx, challenge_id = _captured(runtime, token)
    front_blob = device.uploads_of(runtime, ctx.attempt.id)["id_front"].blob_id
    judge = GatedJudge()
    thread, box = _submit_in_thread(runtime, ctx, challenge_id, _deps(runtime, judge))
    assert judge.entered.wait(10)
    # While it decides, nothing it judges can be replaced, and no new challenge restarts the capture.
    with pytest.raises(AlreadyDecided):
        device.store_upload(runtime, device.open_attempt(runtime, token), "id_front", OTHER_FRONT, None)
    with pytest.raises(AlreadyDecided):
        device.issue_challenge(runtime, device.open_attempt(runtime, token))
    with pytest.raises(Conflict):  # a second submit of the same capture: its challenge is spent
        asyncio.run(
            device_submit.submit(runtime, device.open_attempt(runtime, token), SubmitRequest(challenge_id))
        )
    judge.go.set()
    thread.join(10)
    answer = box["answer"]
    assert isinstance(answer, DeviceAnswer)
    with runtime.sessions() as session:
        decided = session.get(Attempt, ctx.attempt.id)
        assert decided is not None and decided.state == "decided"
        material = attempt_material(runtime.crypto, decided)
    # The verdict points at the photo that was judged, and that photo is still there.
    assert material["IdCardInfo"]["FrontImageBlob"] == front_blob
    assert runtime.blobs.get(front_blob, media_cipher(runtime.crypto, decided)) == FRONT
    # Decided is final: later uploads are refused too.
    with pytest.raises(AlreadyDecided):
        device.store_upload(
            runtime, device.open_attempt(runtime, token).pending(), "id_front", OTHER_FRONT, None
        )


def test_after_a_failed_decision_the_documented_retry_ends_in_a_decision(runtime: Runtime) -> None:
    token = _attempt(runtime)
    ctx, challenge_id = _captured(runtime, token)
    judge = GatedJudge(fail_first=True)
    judge.go.set()
    deps = _deps(runtime, judge)
    with pytest.raises(DecisionFailed):
        asyncio.run(device_submit.submit(runtime, ctx, SubmitRequest(challenge_id), deps=deps))
    # The inputs are free again at once; the device takes a new challenge and sends its video again
    # (the same bytes: answered as a retry and bound to the new challenge).
    ctx = device.open_attempt(runtime, token)
    challenge, _ = device.issue_challenge(runtime, ctx)
    device.store_upload(runtime, ctx, "video", VIDEO, challenge.id)
    answer = asyncio.run(device_submit.submit(runtime, ctx, SubmitRequest(challenge.id), deps=deps))
    assert answer.status != -1 and answer.result
    assert judge.calls == 2
    with runtime.sessions() as session:
        decided = session.get(Attempt, ctx.attempt.id)
        assert decided is not None and decided.state == "decided"
        assert decided.verify_status == answer.status


def test_a_crashed_decision_frees_the_inputs_when_its_lease_ends(runtime: Runtime) -> None:
    token = _attempt(runtime)
    ctx, challenge_id = _captured(runtime, token)
    now = utcnow()
    with runtime.sessions() as session, session.begin():
        assert device_repo.claim_for_decision(session, ctx.attempt.id, challenge_id, now, 300) == ""
    # kill -9 here: no release. Until the lease ends, the capture stays frozen ...
    with runtime.sessions() as session, session.begin():
        assert not device_repo.hold_inputs_open(session, ctx.attempt.id, now + timedelta(seconds=299))
    # ... then the user can take a new challenge and finish.
    with runtime.sessions() as session, session.begin():
        assert device_repo.hold_inputs_open(session, ctx.attempt.id, now + timedelta(seconds=301))


def test_the_result_is_minted_once_and_carries_no_verify_token(runtime: Runtime) -> None:
    token = _attempt(runtime)
    ctx, challenge_id = _captured(runtime, token)
    judge = GatedJudge()
    judge.go.set()
    answer = asyncio.run(
        device_submit.submit(runtime, ctx, SubmitRequest(challenge_id), deps=_deps(runtime, judge))
    )
    assert (
        answer.result and token not in base64.urlsafe_b64decode(answer.result.split(".")[1] + "==").decode()
    )
    again = [
        device_submit.answer_for(runtime, ctx, device.open_attempt(runtime, token).attempt) for _ in range(3)
    ]
    assert {a.result for a in again} == {answer.result}
    # Past its expiry there is no result any more, and none is minted.
    with runtime.sessions() as session, session.begin():
        stored = session.get(Attempt, ctx.attempt.id)
        assert stored is not None
        stored.result_token_expires_at = utcnow() - timedelta(seconds=1)
    expired = device_submit.answer_for(runtime, ctx, device.open_attempt(runtime, token).attempt)
    assert expired.result is None and expired.status == answer.status
