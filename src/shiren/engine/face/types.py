"""Plain data passed between the face models, so that each model can be swapped behind its interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

QualityLevel = Literal["UNQUALIFIED", "LOW", "NORMAL", "HIGH"]

# Order of the keypoints a detector reports (BlazeFace's six; a 5-point detector omits the last one).
# "right" is the subject's right, which appears on the left of an unmirrored photo.
KEYPOINT_NAMES: tuple[str, ...] = (
    "right_eye",
    "left_eye",
    "nose_tip",
    "mouth_center",
    "right_ear",
    "left_ear",
)


@dataclass(frozen=True)
class FaceBox:
    """Axis-aligned face box in pixels of the analysed image; it may reach outside the image."""

    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def intersection(self, other: FaceBox) -> float:
        """Area shared with another box."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        return ix * iy

    def iou(self, other: FaceBox) -> float:
        """Intersection over union, used to merge the detections of two models."""
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def outside_fraction(self, width: int, height: int) -> float:
        """Share of the box area that lies outside a width x height image (a face cut by the frame)."""
        if self.area <= 0:
            return 1.0
        ix = max(0.0, min(self.x + self.w, width) - max(self.x, 0.0))
        iy = max(0.0, min(self.y + self.h, height) - max(self.y, 0.0))
        return 1.0 - (ix * iy) / self.area


@dataclass
class DetectedFace:
    """One face: its box, sparse keypoints (K x 2 pixels, K = 5 or 6, order KEYPOINT_NAMES) and, once
    computed, dense landmarks (N x 3: x, y in pixels, z in the same scale, N = 478 for FaceMesh)."""

    box: FaceBox
    keypoints: np.ndarray
    landmarks: np.ndarray | None = None

    @property
    def size_px(self) -> float:
        """Face size used by the quality rules: the smaller side of the box."""
        return float(min(self.box.w, self.box.h))


@dataclass
class FaceQuality:
    """Verdict on whether a face image is fit for comparison, with the raw measures kept as evidence."""

    level: QualityLevel
    mask: bool
    face_px: float
    blur: float
    brightness: float
    yaw: float
    pitch: float
    mask_score: float = 0.0  # 0..1, >= 0.5 means mask
    blockiness: float = 1.0  # JPEG blocking, ~1 for a clean image
    reasons: list[str] = field(default_factory=list)  # why the level is LOW or UNQUALIFIED
