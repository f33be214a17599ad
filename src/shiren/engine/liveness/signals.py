"""Per-frame measurements the action detectors work on: face box, eye opening, mouth opening, head pose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shiren.engine.face.detector import FaceDetector
from shiren.engine.face.landmarks import (
    FaceLandmarker,
    eye_aspect_ratio,
    landmark_pose,
    mouth_open_ratio,
)
from shiren.engine.face.types import FaceBox

from .video import Frame


@dataclass
class FrameSignals:
    t_ms: float
    faces: int  # faces the detector sees in the frame
    box: FaceBox | None  # the tracked face (largest)
    landmarks: np.ndarray | None
    ear: float | None  # mean eye aspect ratio of both eyes
    mouth: float | None
    yaw: float | None
    pitch: float | None
    skin_bgr: np.ndarray | None  # mean colour of the cheeks/forehead (flash liveness)

    @property
    def has_face(self) -> bool:
        return self.landmarks is not None and self.box is not None


# FaceMesh points at the middle of the forehead and of each cheek: skin that faces the screen, away from
# hair, eyes and background even when the head turns.
SKIN_POINTS = (151, 50, 280)


def _skin_colour(image: np.ndarray, pts: np.ndarray, box: FaceBox) -> np.ndarray:
    """Mean BGR of small patches on the forehead and cheeks, where a screen's light lands."""
    h, w = image.shape[:2]
    r = max(2, int(0.06 * box.w))
    patches = []
    for i in SKIN_POINTS:
        x, y = int(pts[i, 0]), int(pts[i, 1])
        patch = image[max(0, y - r) : min(h, y + r), max(0, x - r) : min(w, x + r)]
        if patch.size:
            patches.append(patch.reshape(-1, 3))
    return np.concatenate(patches).mean(axis=0) if patches else np.zeros(3)


def _box_from_landmarks(pts: np.ndarray) -> FaceBox:
    x0, y0 = float(pts[:, 0].min()), float(pts[:, 1].min())
    x1, y1 = float(pts[:, 0].max()), float(pts[:, 1].max())
    return FaceBox(x0, y0, x1 - x0, y1 - y0, 1.0)


def measure(frames: list[Frame], *, detector: FaceDetector, detect_every: int = 2) -> list[FrameSignals]:
    """Signals for every frame. FaceMesh runs in tracking mode over the whole clip (one instance per clip:
    it carries state); the face detector runs on every ``detect_every``-th frame to count faces."""
    tracker = FaceLandmarker(static_image_mode=False)
    out: list[FrameSignals] = []
    try:
        faces = 0
        for i, frame in enumerate(frames):
            if i % detect_every == 0:
                faces = len(detector.detect(frame.bgr))
            pts = tracker.landmarks(frame.bgr)
            if pts is None:
                out.append(FrameSignals(frame.t_ms, faces, None, None, None, None, None, None, None))
                continue
            box = _box_from_landmarks(pts)
            right, left = eye_aspect_ratio(pts)
            yaw, pitch = landmark_pose(pts)
            out.append(
                FrameSignals(
                    frame.t_ms,
                    max(faces, 1),
                    box,
                    pts,
                    (right + left) / 2.0,
                    mouth_open_ratio(pts),
                    yaw,
                    pitch,
                    _skin_colour(frame.bgr, pts, box),
                )
            )
    finally:
        tracker.close()
    return out
