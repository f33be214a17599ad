"""The Python SDK without a server: video encoding, retries, and the step walk against a scripted peer.

These pin down the SDK's own promises (what it retries, what it sends in which order, what a cancel does)
in milliseconds; the end-to-end files check the same SDK against a real server.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from shiren.engine.liveness.video import decode_video
from shiren.sdk import (
    CameraSource,
    Challenge,
    ConsoleUI,
    DeviceClient,
    DeviceError,
    ImageFilesSource,
    Recording,
    StillImages,
    Verification,
    encode_video,
    image_content_type,
    preview_jpeg,
)
from shiren.sdk.capture import _uniform

CHALLENGE = {
    "challengeId": "c1",
    "actions": ["blink", "turn_left"],
    "captureMs": 1000,
    "prompts": [{"action": "blink", "atMs": 200}, {"action": "turn_left", "atMs": 600}],
    "flash": {"colors": ["#ff0000", "#00ff00"], "segmentMs": 200, "startMs": 100},
    "expiresAt": 1,
}


def _frames(n: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    w, h = size
    out = []
    for i in range(n):
        f = np.full((h, w, 3), 40, np.uint8)
        cv2.circle(f, (20 + i * 8, h // 2), 15, (0, 0, 255), -1)  # a moving dot: frames differ
        out.append(f)
    return out


def test_encode_video_is_read_back_by_the_server_decoder() -> None:
    frames = _frames(30)
    stamps = [i * 1000 / 15 for i in range(30)]
    video = encode_video(frames, stamps)
    assert video.content_type == "video/mp4" and video.data[4:8] == b"ftyp"  # mp4v is the smaller one
    assert video.fps == 15.0 and video.frames == 30
    decoded = decode_video(video.data, max_seconds=12)
    assert len(decoded) == 30
    assert abs(decoded[-1].t_ms - 29 * 1000 / 15) < 2


def test_uneven_camera_frames_are_laid_on_a_uniform_grid() -> None:
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(5)]
    stamps = [0.0, 30.0, 140.0, 150.0, 300.0]
    grid = _uniform(frames, stamps, fps=10)  # ticks at 0, 100, 200, 300 ms
    assert [int(f[0, 0, 0]) for f in grid] == [0, 2, 3, 4]


def test_large_frames_are_scaled_and_the_preview_fits_the_guide_limit() -> None:
    big = _frames(5, size=(1920, 1080))
    video = encode_video(big, fps=5)
    decoded = decode_video(video.data, max_seconds=12)
    assert max(decoded[0].bgr.shape[:2]) <= 640
    noisy = np.random.default_rng(1).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    jpeg = preview_jpeg(noisy)
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert len(jpeg) <= 200_000 and max(img.shape[:2]) <= 640


def test_image_content_type_from_magic_bytes() -> None:
    assert image_content_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_content_type(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert image_content_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    with pytest.raises(Exception, match="JPEG, PNG or WebP"):
        image_content_type(b"GIF89a")


def test_challenge_plan_and_file_source_cues(tmp_path) -> None:
    plan = Challenge.from_json(CHALLENGE)
    assert plan.prompt_at(100) is None and plan.prompt_at(650) == "turn_left"
    assert (
        plan.flash is not None and plan.flash.color_at(350) == "#00ff00" and plan.flash.color_at(600) is None
    )
    paths = []
    for i, f in enumerate(_frames(20)):
        paths.append(tmp_path / f"{i:02d}.png")
        cv2.imwrite(str(paths[-1]), f)
    seen: list[Any] = []
    rec = ImageFilesSource(paths, fps=10).record(plan, seen.append, seen.append)
    assert isinstance(rec, Recording) and len(rec.frames) == 10 and rec.timestamps_ms[-1] == 900
    assert seen == ["#ff0000", "blink", "#00ff00", None, "turn_left"]


# ---------------------------------------------------------------------------- retries


def _client(handler, **kw: Any) -> tuple[DeviceClient, list[float]]:
    slept: list[float] = []
    client = DeviceClient(
        "http://shiren.test", "tok", transport=httpx.MockTransport(handler), sleep=slept.append, **kw
    )
    return client, slept


def test_upload_is_retried_after_network_errors() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json={"kind": "id_front", "sha256": "x", "size": 3})

    client, slept = _client(handler, retries=3)
    assert client.upload("id_front", b"abc", "image/jpeg")["size"] == 3
    assert len(calls) == 3 and slept == [0.3, 0.6]
    assert all(c.method == "PUT" and c.content == b"abc" for c in calls)
    assert calls[0].headers["Authorization"] == "Bearer tok"
    assert calls[0].url.path == "/device/v1/uploads/id_front"


def test_a_challenge_is_not_redrawn_after_a_lost_answer_but_errors_are_typed() -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, _ = _client(lost)
    with pytest.raises(DeviceError) as err:
        client.challenge()
    assert (err.value.status, err.value.code) == (0, "NetworkError")

    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"code": "ChallengeLimit", "message": "no challenges left"})

    client, _ = _client(refused)
    with pytest.raises(DeviceError) as err:
        client.challenge()
    assert (err.value.status, err.value.code, err.value.message) == (
        409,
        "ChallengeLimit",
        "no challenges left",
    )


def test_throttled_calls_wait_for_retry_after() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "2"}, json={"code": "Throttled", "message": "slow"})]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json={"state": "pending"}))

    client, slept = _client(handler)
    assert client.session() == {"state": "pending"}
    assert slept == [2.0]


# ---------------------------------------------------------------------------- the step walk


class ScriptedPeer:
    """A stand-in for the server that records the calls and answers per the protocol's examples."""

    def __init__(self, steps: list[str], low: list[str] | None = None, decided: dict | None = None):
        self.steps = steps
        self.low = low or []
        self.decided = decided
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/device/v1")
        body: Any = None
        if request.headers.get("content-type", "").startswith("application/json") and request.content:
            body = json.loads(request.content)
        self.calls.append((f"{request.method} {path}", body))
        if path == "/session":
            return httpx.Response(
                200,
                json={
                    "scheme": "X",
                    "steps": self.steps,
                    "state": "decided" if self.decided else "pending",
                    "consent": {"version": "v1", "given": False, "text": {"zh": "同意?", "en": "ok?"}},
                    "result": self.decided,
                },
            )
        if path == "/consent":
            return httpx.Response(200, json={"accepted": True, "at": 1})
        if path == "/guide":
            return httpx.Response(200, json={"hint": "ok", "face": None})
        if path == "/challenge":
            return httpx.Response(200, json=CHALLENGE)
        if path.startswith("/uploads/"):
            return httpx.Response(200, json={"kind": path.rsplit("/", 1)[1], "sha256": "s", "size": 1})
        if path == "/ocr":
            return httpx.Response(
                200, json={"found": True, "name": "张三", "idNumber": "110", "lowConfidence": self.low}
            )
        if path == "/submit":
            return httpx.Response(200, json={"state": 1, "code": 1, "message": "passed", "result": "v1.x"})
        if path == "/cancel":
            return httpx.Response(200, json={"state": -1, "code": -1, "message": "cancelled"})
        return httpx.Response(404, json={"detail": "Not Found"})


class StaticFrames:
    def record(self, plan, on_prompt=None, on_flash=None) -> Recording:
        return Recording(_frames(10), [i * 100.0 for i in range(10)])

    def preview(self) -> np.ndarray:
        return _frames(1)[0]


class QuietUI(ConsoleUI):
    def __init__(self, agree: bool = True) -> None:
        super().__init__(assume_yes=True, out=io.StringIO())
        self.agree = agree

    def consent(self, text: str, version: str) -> bool:
        return self.agree


STEPS_BASIC = ["GUIDE", "PRIVACY", "FACE_LIVENESS", "TAKE_ID_PHOTO", "ID_CONFIRM", "RESULT"]


def test_rpbasic_steps_in_order_with_the_confirmed_identity() -> None:
    peer = ScriptedPeer(STEPS_BASIC, low=["name"])
    client = DeviceClient("http://shiren.test", "t", transport=httpx.MockTransport(peer))
    asked: list[Any] = []

    def confirm(fields: dict[str, str], low: list[str]) -> tuple[str, str]:
        asked.append((fields, low))
        return "张山", fields["idNumber"]

    jpeg = cv2.imencode(".jpg", _frames(1)[0])[1].tobytes()
    out = Verification(client, StaticFrames(), StillImages(jpeg, jpeg), QuietUI()).run(confirm=confirm)
    assert (out.state, out.code, out.result) == (1, 1, "v1.x")
    assert [c for c, _ in peer.calls] == [
        "GET /session",
        "POST /consent",
        "POST /guide",
        "POST /challenge",
        "PUT /uploads/video",
        "PUT /uploads/id_front",
        "PUT /uploads/id_back",
        "POST /ocr",
        "POST /submit",
    ]
    assert asked == [({"name": "张三", "idNumber": "110"}, ["name"])]
    assert peer.calls[1][1] == {"version": "v1", "locale": "zh"}
    assert peer.calls[-1][1] == {"challengeId": "c1", "name": "张山", "idNumber": "110"}


def test_declined_consent_cancels_and_nothing_is_captured() -> None:
    peer = ScriptedPeer(["PRIVACY", "FACE_LIVENESS", "RESULT"])
    client = DeviceClient("http://shiren.test", "t", transport=httpx.MockTransport(peer))
    out = Verification(client, StaticFrames(), ui=QuietUI(agree=False)).run()
    assert (out.state, out.code, out.message) == (-1, -1, "cancelled")
    assert [c for c, _ in peer.calls] == ["GET /session", "POST /cancel"]


def test_a_decided_attempt_returns_the_stored_answer_without_capturing() -> None:
    stored = {"state": 2, "code": 9, "message": "liveness failed", "result": "v1.y"}
    peer = ScriptedPeer(["FACE_LIVENESS"], decided=stored)
    client = DeviceClient("http://shiren.test", "t", transport=httpx.MockTransport(peer))
    out = Verification(client, StaticFrames(), ui=QuietUI()).run()
    assert (out.state, out.code, out.result) == (2, 9, "v1.y")
    assert [c for c, _ in peer.calls] == ["GET /session"]


def test_missing_card_source_is_a_clear_minus_one() -> None:
    peer = ScriptedPeer(["PRIVACY", "TAKE_ID_PHOTO"])
    client = DeviceClient("http://shiren.test", "t", transport=httpx.MockTransport(peer))
    out = Verification(client, StaticFrames(), ui=QuietUI()).run()
    assert out.state == -1 and "StillSource" in out.message


def test_a_lost_submit_answer_is_read_from_the_session_not_resubmitted() -> None:
    peer = ScriptedPeer(["PRIVACY", "FACE_LIVENESS"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/submit"):
            peer.calls.append(("POST /submit", None))
            peer.decided = {"state": 1, "code": 1, "message": "passed", "result": "v1.z"}  # it did decide
            raise httpx.ReadTimeout("answer lost", request=request)
        return peer(request)

    client = DeviceClient(
        "http://shiren.test", "t", transport=httpx.MockTransport(handler), sleep=lambda s: None
    )
    out = Verification(client, StaticFrames(), ui=QuietUI(), poll_s=0).run()
    assert (out.state, out.code, out.result) == (1, 1, "v1.z")
    assert [c for c, _ in peer.calls].count("POST /submit") == 1
    assert [c for c, _ in peer.calls][-1] == "GET /session"


class FakeCamera:
    """Stands in for cv2.VideoCapture: a frame every 1/30 s."""

    def __init__(self) -> None:
        self.reads = 0

    def isOpened(self) -> bool:  # OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray]:
        time.sleep(1 / 30)
        self.reads += 1
        return True, _frames(1)[0]

    def release(self) -> None:
        pass


def test_camera_records_for_capture_ms_and_cues_the_ui_on_time() -> None:
    camera = CameraSource(0, still_delay_s=0.1)
    camera._cap = FakeCamera()  # type: ignore[assignment]
    plan = Challenge.from_json(CHALLENGE)
    t0 = time.monotonic()
    cues: list[tuple[Any, float]] = []

    def cue(value: Any) -> None:
        cues.append((value, (time.monotonic() - t0) * 1000))

    rec = camera.record(plan, cue, cue)
    elapsed = (time.monotonic() - t0) * 1000
    assert 1000 <= elapsed < 1300 and 25 <= len(rec.frames) <= 31
    assert rec.timestamps_ms == sorted(rec.timestamps_ms) and rec.timestamps_ms[-1] < 1040
    assert [v for v, _ in cues] == ["#ff0000", "blink", "#00ff00", None, "turn_left"]
    for (_, at), due in zip(cues, (100, 200, 300, 500, 600), strict=True):
        assert due <= at < due + 80  # within about two frames of the plan
    assert camera.capture_still("front")[:3] == b"\xff\xd8\xff"
