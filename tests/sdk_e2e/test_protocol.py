"""The device protocol's promises, through the Python SDK against a real server: one decision per attempt,
tokens that open exactly their own attempt, limits on uploads, replay detection, and giving up."""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import time
from typing import Any

import httpx
import pytest

from shiren.domain.consent import CONSENT_VERSION
from shiren.sdk import DeviceClient, DeviceError, SdkResult, Verification, encode_video
from tests.fixtures.idcards import beijing_card
from tests.peers import signature_valid
from tests.sdk_e2e.conftest import FACE, HOLDER, HOLDER_ID, Env
from tests.sdk_e2e.flows import (
    RecordingUI,
    device,
    failed_checks,
    full,
    run_device,
    verify_result,
    verify_token,
)
from tests.sdk_e2e.sources import CardPhotos, RenderedFace
from tests.support import free_port

pytestmark = pytest.mark.timeout(120)


def _claims(result_token: str) -> dict[str, Any]:
    payload = result_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _error(call: Any, *args: Any, **kw: Any) -> DeviceError:
    with pytest.raises(DeviceError) as err:
        call(*args, **kw)
    return err.value


def test_submit_twice_returns_the_stored_answer(env: Env) -> None:
    frames = RenderedFace.of(FACE)
    run = full(env, "FD", "twice", frames)
    assert run.status == 1, failed_checks(env, run.token)
    with device(env, run.token) as client:
        again = client.submit(frames.plans[0].challenge_id)
        other = client.submit(secrets.token_hex(16))  # decided is decided, whatever is sent
        session = client.session()
        # Nothing more can be captured for a decided attempt.
        assert _error(client.challenge).code == "AlreadySubmitted"
    assert session["state"] == "decided"
    first = _claims(run.outcome.result or "")
    assert (first["b"], first["s"]) == ("twice", 1)
    # The result travels in redirect URLs: it must not carry the VerifyToken, the device's credential.
    assert run.token not in json.dumps(first) and "t" not in first
    for answer in (again, other, session["result"]):
        assert (answer["state"], answer["code"], answer["bizId"]) == (1, 1, "twice")
        # Minted once, at the decision: every later read hands out that same token, nothing new.
        assert answer["result"] == run.outcome.result
    # The SDK run again on the same token returns the stored answer without recording anything.
    frames2 = RenderedFace.of(FACE)
    outcome, _ = run_device(env, run.token, frames2)
    assert (outcome.state, outcome.code) == (1, 1) and frames2.plans == []
    assert verify_result(env, "FD", "twice")["VerifyStatus"] == 1


def test_a_token_opens_only_its_own_attempt(env: Env) -> None:
    """The VerifyToken is the device's only credential and names its attempt: two integrators with the same
    BizType and BizId get two attempts, and nothing but the exact token opens either."""
    token_a = verify_token(env, "FD", "shared-biz")
    token_b = verify_token(env, "FD", "shared-biz", key=env.key_b)
    with device(env, token_b) as b:
        b.consent(CONSENT_VERSION, "en")
        b.challenge()
    with device(env, token_a) as a:
        seen = a.session()
    assert seen["consent"]["given"] is False and seen["limits"]["challengesLeft"] == 5
    for forged in (token_a[:16] + token_b[16:], token_b.upper(), env.key_b["AccessKeyId"], token_b + "0"):
        with device(env, forged) as client:
            err = _error(client.session)
        assert (err.status, err.code) == (401, "TokenInvalid"), forged
    assert verify_result(env, "FD", "shared-biz", key=env.key_b)["VerifyStatus"] == -1


def test_unknown_missing_and_expired_tokens_are_401(env: Env) -> None:
    for token in (secrets.token_hex(16), "not-a-token"):
        with device(env, token) as client:
            err = _error(client.session)
        assert (err.status, err.code) == (401, "TokenInvalid")
    bare = httpx.get(env.server.url + "/device/v1/session")
    assert bare.status_code == 401 and bare.json()["code"] == "TokenInvalid"
    token = verify_token(env, "FD", "expired")
    # 30 minutes are long for a test: age the attempt in the database instead.
    with sqlite3.connect(env.server.data_dir / "shiren.db") as conn:
        conn.execute(
            "update attempts set expires_at = '2000-01-01 00:00:00.000000' where verify_token = ?", (token,)
        )
    with device(env, token) as client:
        err = _error(client.session)
    assert (err.status, err.code) == (401, "TokenExpired")
    outcome, ui = run_device(env, token, RenderedFace.of(FACE))
    assert (outcome.state, outcome.code) == (-1, -1) and outcome.message.startswith("TokenExpired")
    assert ui.of("result") == [-1]


def test_uploads_are_checked_by_size_and_magic_bytes(env: Env) -> None:
    jpeg = CardPhotos(beijing_card(HOLDER, HOLDER_ID), FACE).front
    with device(env, verify_token(env, "Basic", "limits")) as client:
        assert _error(client.challenge).code == "ConsentRequired"
        assert _error(client.upload, "id_front", jpeg, "image/jpeg").code == "ConsentRequired"
        client.consent(CONSENT_VERSION, "zh")
        limit = client.session()["limits"]["maxImageBytes"]
        err = _error(client.upload, "id_front", jpeg[:4] + bytes(limit), "image/jpeg")
        assert (err.status, err.code) == (413, "TooLarge")
        err = _error(client.upload, "id_front", b"GIF89a" + jpeg[6:], "image/jpeg")
        assert (err.status, err.code) == (415, "UnsupportedMediaType")
        plan = client.challenge()
        err = _error(client.upload, "video", jpeg, "video/mp4", plan.challenge_id)
        assert (err.status, err.code) == (415, "UnsupportedMediaType")
        assert (
            _error(client.upload, "video", jpeg, "video/mp4", secrets.token_hex(16)).code
            == "ChallengeInvalid"
        )
        assert _error(client.submit, plan.challenge_id).code == "UploadMissing"
        # The same bytes twice are one upload (a retry); the answer is the same.
        assert client.upload("id_front", jpeg, "image/jpeg") == client.upload("id_front", jpeg, "image/jpeg")
        assert client.session()["uploads"] == ["id_front"]
    with device(env, verify_token(env, "FD", "not-applicable")) as client:
        client.consent(CONSENT_VERSION, "zh")
        err = _error(client.upload, "id_front", jpeg, "image/jpeg")
        assert (err.status, err.code) == (409, "NotApplicable")
        assert _error(client.ocr).code == "NotApplicable"


class KeepingClient(DeviceClient):
    """A DeviceClient that keeps what it uploaded (the attacker's copy of a capture)."""

    uploaded: dict[str, bytes]

    def upload(
        self, kind: str, data: bytes, content_type: str, challenge_id: str | None = None
    ) -> dict[str, Any]:
        self.uploaded = {**getattr(self, "uploaded", {}), kind: data}
        return super().upload(kind, data, content_type, challenge_id)


def test_a_capture_replayed_to_another_attempt_is_9(env: Env) -> None:
    """The FDBlink scene (untimed) always asks for one blink at the same moment, so the replay fits the new
    challenge: only the server's memory of uploaded captures can stop it."""
    with KeepingClient(env.server.url, verify_token(env, "FDBlink", "original")) as client:
        first = Verification(client, RenderedFace.of(FACE), ui=RecordingUI()).run()
        video = client.uploaded["video"]
    assert (first.state, first.code) == (1, 1)
    token = verify_token(env, "FDBlink", "replay")
    with device(env, token) as client:
        client.consent(CONSENT_VERSION, "zh")
        plan = client.challenge()
        assert plan.actions == ("blink",)
        time.sleep(plan.capture_ms / 1000)  # as long as recording it would have taken
        client.upload("video", video, "video/mp4", plan.challenge_id)
        answer = client.submit(plan.challenge_id)
    assert (answer["state"], answer["code"]) == (2, 9)
    assert verify_result(env, "FDBlink", "replay")["VerifyStatus"] == 9
    assert set(failed_checks(env, token)) == {"capture_fresh"}


def test_a_capture_uploaded_before_it_could_have_been_recorded_is_9(env: Env) -> None:
    """A pre-recorded clip that happens to fit the challenge, uploaded the moment the challenge is drawn:
    the server knows the capture cannot have been recorded live for it."""
    token = verify_token(env, "FDBlink", "prerecorded")
    clip = RenderedFace.of(FACE)
    with device(env, token) as client:
        client.consent(CONSENT_VERSION, "zh")
        plan = client.challenge()
        clip.realtime = False  # no waiting: the upload follows the challenge at once
        recording = clip.record(plan)
        video = encode_video(recording.frames, recording.timestamps_ms)
        client.upload("video", video.data, video.content_type, plan.challenge_id)
        answer = client.submit(plan.challenge_id)
    assert (answer["state"], answer["code"]) == (2, 9)
    assert "capture_after_challenge" in failed_checks(env, token)


def test_a_device_verdict_is_called_back_signed_with_the_callback_seed(env: Env) -> None:
    seed = secrets.token_urlsafe(16)
    run = full(
        env,
        "FD",
        "called-back",
        RenderedFace.of(FACE),
        token_params={"callback_url": env.receiver.url("/hook?k=1"), "callback_seed": seed},
    )
    assert run.status == 1
    env.receiver.wait_for(lambda: len(env.receiver.for_biz("called-back")) == 1)
    (hit,) = env.receiver.for_biz("called-back")
    assert hit.headers["path"] == "/hook?k=1"
    assert hit.doc == {
        "BizId": "called-back",
        "BizType": "FD",
        "VerifyStatus": 1,
        "VerifyToken": run.token,
        "Timestamp": hit.doc["Timestamp"],
    }
    assert signature_valid(seed.encode(), hit)
    assert not signature_valid(b"the scene secret or anything else", hit)


def test_the_user_gives_up(env: Env) -> None:
    token = verify_token(env, "Manual", "gave-up")
    frames = RenderedFace.of(FACE)
    outcome, ui = run_device(
        env, token, frames, ui=RecordingUI(agree=False), name=HOLDER, id_number=HOLDER_ID
    )
    assert (outcome.state, outcome.code, outcome.message) == (-1, -1, "cancelled")
    assert ui.of("consent") == [CONSENT_VERSION] and frames.plans == []
    with device(env, token) as client:
        assert client.session()["consent"]["given"] is False  # a refusal is not recorded as consent
    outcome, ui = run_device(env, token, frames)  # no typed identity, and the UI's manual input is dismissed
    assert (outcome.state, outcome.message) == (-1, "cancelled")
    assert ui.of("manual_input") == [None] and frames.plans == []
    assert verify_result(env, "Manual", "gave-up")["VerifyStatus"] == -1
    with device(env, token) as client:
        assert client.session()["state"] == "pending"  # giving up decides nothing; the token still works


def test_an_unreachable_server_is_a_clear_minus_one(env: Env) -> None:
    with DeviceClient(
        f"http://127.0.0.1:{free_port()}", secrets.token_hex(16), retries=1, backoff_s=0.01
    ) as client:
        outcome: SdkResult = Verification(client, RenderedFace.of(FACE), ui=RecordingUI()).run()
    assert (outcome.state, outcome.code) == (-1, -1)
    assert (
        outcome.message.startswith("NetworkError") and outcome.error is not None and outcome.error.status == 0
    )
