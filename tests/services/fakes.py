"""Fakes of everything the decision core runs on: face models, OCR, authorities, card reader, liveness.

No weights load. Whose face an image shows is written in its top-left pixel (0: no face at all); the fake
embedder turns that into a one-hot unit vector, so the same person scores 100 and two people score 0 on the
calibrated scale."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from shiren.authority import AuthorityAnswer, AuthorityUnavailable
from shiren.domain.decision import Check
from shiren.engine.face.types import DetectedFace, FaceBox
from shiren.engine.idcard import CardBack, CardFront, IdCardReading
from shiren.engine.liveness import LivenessReport, PromptTiming, VideoRejected
from shiren.engine.models import Models
from shiren.intake import DecodedImage
from shiren.runtime import Runtime
from shiren.services.decision import Capture
from shiren.settings import Settings

DIM = 128
NOBODY = 0
EMBEDDER_ID = "fake-embedder:1"
VERSIONS = {
    "face_detector": "fake-detector:1",
    "face_embedder": EMBEDDER_ID,
    "face_landmarker": "fake-landmarker:1",
    "ocr": "fake-ocr:1",
}


def face_image(person: int, size: int = 400) -> np.ndarray:
    """A mid-grey, textured (sharp, not blocky) photo of ``person``'s face; ``NOBODY`` shows no face."""
    assert 0 <= person < DIM
    rng = np.random.default_rng(1000 + person)
    image = np.clip(rng.normal(128, 30, (size, size, 3)), 0, 255).astype(np.uint8)
    image[0, 0] = person
    return image


def person_in(image: np.ndarray) -> int:
    return int(image[0, 0, 0])


def embedding(person: int) -> np.ndarray:
    vector = np.zeros(DIM, np.float32)
    vector[person] = 1.0
    return vector


def decoded(image: np.ndarray, fmt: str = "png") -> DecodedImage:
    h, w = image.shape[:2]
    return DecodedImage(image, fmt, w, h, hashlib.sha256(image.tobytes()).hexdigest())


def png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


class FakeDetector:
    """One frontal face, half the image wide, centred; none where the image shows ``NOBODY``."""

    name, version = "fake-detector", "1"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        self.calls += 1
        if person_in(image_bgr) == NOBODY:
            return []
        h, w = image_bgr.shape[:2]
        s = min(h, w) / 2
        x, y = (w - s) / 2, (h - s) / 2
        eye_y, mouth_y = y + 0.35 * s, y + 0.75 * s
        keypoints = np.array(
            [
                (x + 0.3 * s, eye_y),  # right eye
                (x + 0.7 * s, eye_y),  # left eye
                (x + 0.5 * s, eye_y + 0.55 * (mouth_y - eye_y)),  # nose tip: frontal (pitch 0)
                (x + 0.5 * s, mouth_y),  # mouth
                (x, y + 0.4 * s),
                (x + s, y + 0.4 * s),
            ],
            np.float32,
        )
        return [DetectedFace(FaceBox(x, y, s, s, 0.99), keypoints)]


class FakeEmbedder:
    name, version, dim = "fake-embedder", "1", DIM

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        self.calls += 1
        return embedding(person_in(image_bgr))


class FakeLandmarker:
    """Finds no dense landmarks: quality then rests on the detector keypoints (level at most LOW)."""

    name, version = "fake-landmarker", "1"

    def landmarks(self, image_bgr: np.ndarray, face: DetectedFace | None = None) -> None:
        return None


class FakeOcr:
    name, version = "fake-ocr", "1"


def fake_models() -> Models:
    return Models.of(
        detector=FakeDetector(), embedder=FakeEmbedder(), landmarker=FakeLandmarker(), ocr=FakeOcr()
    )


class FakeAuthority:
    """Knows one identity and answers ``answer`` for it (or raises ``AuthorityUnavailable``)."""

    name = "registry"

    def __init__(self, known: tuple[str, str], answer: AuthorityAnswer | AuthorityUnavailable) -> None:
        self.known = known
        self.answer = answer
        self.calls: list[tuple[int, str, str]] = []

    def lookup(self, tenant_id: int, name: str, id_number: str) -> AuthorityAnswer:
        self.calls.append((tenant_id, name, id_number))
        if isinstance(self.answer, AuthorityUnavailable):
            raise self.answer
        if (name, id_number) != self.known:
            return AuthorityAnswer(identity_match=False)
        return self.answer


@dataclass
class ReadCall:
    front_bgr: np.ndarray | None
    back_bgr: np.ndarray | None
    front: CardFront | None


class FakeCardReader:
    def __init__(self, reading: IdCardReading) -> None:
        self.reading = reading
        self.calls: list[ReadCall] = []

    def __call__(
        self, front_bgr: np.ndarray | None, back_bgr: np.ndarray | None, *, front: CardFront | None
    ) -> IdCardReading:
        self.calls.append(ReadCall(front_bgr, back_bgr, front))
        return self.reading


def card_front(
    name: str,
    number: str,
    portrait: int,
    *,
    genuine: bool = True,
    confidence: dict[str, float] | None = None,
) -> CardFront:
    return CardFront(
        found=True,
        genuine=genuine,
        layout_score=0.93 if genuine else 0.2,
        confidence=confidence if confidence is not None else {"name": 0.99, "number": 0.99},
        name=name,
        sex="男",
        nationality="汉",
        birth=number[6:14],
        address="北京市东城区景山前街4号",
        number=number,
        number_valid=True,
        kind="resident",
        portrait=face_image(portrait, 240),
        portrait_has_face=portrait != NOBODY,
    )


def card_back(end_date: str = "20400101") -> CardBack:
    return CardBack(
        found=True,
        genuine=True,
        layout_score=0.9,
        confidence={"authority": 0.99, "validity": 0.99},
        authority="北京市公安局东城分局",
        start_date="20200101",
        end_date=end_date,
        title="居民身份证",
    )


@dataclass
class JudgeCall:
    video: bytes
    actions: list[str]
    flash: dict[str, Any] | None
    timing: PromptTiming | None = None


@dataclass
class FakeLivenessJudge:
    """Returns ``report`` for any capture, or raises ``error``."""

    report: LivenessReport | None = None
    error: VideoRejected | None = None
    calls: list[JudgeCall] = field(default_factory=list)

    def __call__(
        self,
        video: bytes,
        actions: list[str],
        flash: dict[str, Any] | None,
        timing: PromptTiming | None = None,
    ) -> LivenessReport:
        self.calls.append(JudgeCall(video, actions, flash, timing))
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


CAPTURE_MS = 4000
# Scene liveness settings for tests whose fake judge reports a capture of one fixed length: an untimed
# challenge has a fixed length (a timed one's depends on its drawn prompt moments).
UNTIMED = {"timed": False}
ACTIONS = ("blink", "turn_left")


def liveness_report(
    person: int, *, actions_done: bool = True, flash: bool = False, duration_ms: float = CAPTURE_MS
) -> LivenessReport:
    """What the liveness engine reports for a capture whose best frame shows ``person``."""
    seen = list(ACTIONS) if actions_done else ["blink"]
    checks = [
        Check("liveness_face_visible", 9, True, 1.0, 0.7),
        Check("liveness_single_face", 9, True, 0.0, 0.2),
        Check(
            "liveness_actions",
            9,
            actions_done,
            detail="" if actions_done else "not performed in the asked order: turn_left",
            data={"asked": list(ACTIONS), "seen": seen},
        ),
        Check("liveness_same_face", 9, True, 97.0, 60.0),
    ]
    if flash:
        checks.append(Check("liveness_flash_reflection", 9, True, 0.9, 0.6))
    return LivenessReport(
        checks=checks,
        events=[],
        best_index=40,
        best_frame=face_image(person),
        frames=120,
        duration_ms=duration_ms,
        timings_ms={"landmarks": 1.0, "checks": 1.0},
    )


ISSUED_AT = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
FLASH = {"colors": ["#ff0000", "#00ff00", "#0000ff"], "interval_ms": 300}


def capture(
    *,
    replayed: bool = False,
    flash: dict[str, Any] | None = None,
    uploaded_after: timedelta = timedelta(seconds=6),
) -> Capture:
    """A capture of a 4 s challenge, by default uploaded 6 s after it was issued (recorded for it, well
    before the challenge expires, 10 minutes after it was issued)."""
    return Capture(
        video=b"\x00\x00\x00\x18ftypmp42 fake video",
        challenge_id="challenge-1",
        actions=ACTIONS,
        flash=flash,
        capture_ms=CAPTURE_MS,
        issued_at=ISSUED_AT,
        expires_at=ISSUED_AT + timedelta(minutes=10),
        uploaded_at=ISSUED_AT + uploaded_after,
        replayed=replayed,
    )


MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


def fake_runtime(data_dir: Path, database_url: str | None = None) -> Runtime:
    """A real runtime (SQLite in ``data_dir`` unless ``database_url``) whose models are the fakes."""
    return Runtime.build(
        Settings(data_dir=data_dir, master_key=MASTER_KEY, database_url=database_url), models=fake_models()
    )
