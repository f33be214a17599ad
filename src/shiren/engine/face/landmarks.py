"""Dense face landmarks (MediaPipe FaceMesh, 478 points with irises; Apache-2.0, bundled in the wheel) and
the geometric signals that quality checks and video liveness (blink, mouth, turn, nod) are built on.

Measured on the test photographs (34 faces): eye aspect ratio 0.20-0.45 with open eyes (0.20 when
squinting in a smile), 0.05-0.11 with closed or downcast eyes; mouth-open ratio under 0.05 with closed
lips, ~0.2 in a smile showing teeth, 0.3-0.45 with the mouth open; yaw proxy within +-0.05 frontal and
beyond +-0.2 when the head is clearly turned; the pitch proxy is ~0 on frontal portraits and grows
positive when the head bows, negative when it tilts up.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from shiren.engine.quiet import open_solution

from .detector import as_bgr
from .types import DetectedFace

# FaceMesh indices. "Right" is the subject's right (left side of an unmirrored image).
RIGHT_EYE = (33, 160, 158, 133, 153, 144)  # outer corner, upper lid x2, inner corner, lower lid x2
LEFT_EYE = (263, 387, 385, 362, 380, 373)
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)  # upper, lower inner lip midpoints
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10
NUM_LANDMARKS = 478


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(a[:2] - b[:2])))


def _eye_ratio(pts: np.ndarray, idx: tuple[int, ...]) -> float:
    p1, p2, p3, p4, p5, p6 = (pts[i] for i in idx)
    width = _dist(p1, p4)
    if width <= 0:
        return 0.0
    return (_dist(p2, p6) + _dist(p3, p5)) / (2.0 * width)


def eye_aspect_ratio(landmarks: np.ndarray) -> tuple[float, float]:
    """(right, left) eye aspect ratio: lid opening over eye width; drops sharply during a blink."""
    return _eye_ratio(landmarks, RIGHT_EYE), _eye_ratio(landmarks, LEFT_EYE)


def mouth_open_ratio(landmarks: np.ndarray) -> float:
    """Inner-lip gap over mouth width: near 0 with closed lips, above ~0.3 with the mouth open wide."""
    width = _dist(landmarks[MOUTH_CORNERS[0]], landmarks[MOUTH_CORNERS[1]])
    if width <= 0:
        return 0.0
    return _dist(landmarks[INNER_LIPS[0]], landmarks[INNER_LIPS[1]]) / width


def eye_centers(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) eye centres as the midpoint of the eye corners (x, y)."""
    r = (landmarks[RIGHT_EYE[0], :2] + landmarks[RIGHT_EYE[3], :2]) / 2.0
    lft = (landmarks[LEFT_EYE[0], :2] + landmarks[LEFT_EYE[3], :2]) / 2.0
    return r, lft


# Mean pitch ratio on the frontal obama/biden photographs, so that the pitch proxy is ~0 for a level head.
PITCH_BASELINE = 0.55


def pose_proxies(
    right_eye: np.ndarray, left_eye: np.ndarray, nose: np.ndarray, mouth: np.ndarray
) -> tuple[float, float]:
    """(yaw, pitch) proxies from four points, in the face's own roll-corrected frame.

    yaw: offset of the nose tip from the eye midpoint along the eye line, over the inter-ocular distance
    (positive when the nose moves toward the image right). pitch: position of the nose tip between the eye
    line and the mouth, minus its frontal value (positive when the head bows). Works with detector keypoints
    and with FaceMesh points alike."""
    right_eye, left_eye, nose, mouth = (
        np.asarray(p, dtype=np.float64)[:2] for p in (right_eye, left_eye, nose, mouth)
    )
    axis = left_eye - right_eye
    iod = float(np.hypot(*axis))
    if iod <= 1e-6:
        return 0.0, 0.0
    u = axis / iod
    v = np.array([-u[1], u[0]])  # points down the face for an upright face
    mid = (right_eye + left_eye) / 2.0
    yaw = float(np.dot(nose - mid, u) / iod)
    eye_to_mouth = float(np.dot(mouth - mid, v))
    if eye_to_mouth <= 1e-6:
        return yaw, 0.0
    pitch = float(np.dot(nose - mid, v) / eye_to_mouth) - PITCH_BASELINE
    return yaw, pitch


def landmark_pose(landmarks: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) proxies from FaceMesh landmarks."""
    r, lft = eye_centers(landmarks)
    mouth = (landmarks[INNER_LIPS[0], :2] + landmarks[INNER_LIPS[1], :2]) / 2.0
    return pose_proxies(r, lft, landmarks[NOSE_TIP], mouth)


class FaceLandmarker:
    """MediaPipe FaceMesh with iris refinement (478 points).

    static_image_mode=True: every call is an independent photo (the instance may be shared; calls are
    serialised by a lock). static_image_mode=False: tracking mode for the frames of one video, cheaper per
    frame because the previous landmarks seed the next crop; use one instance per video (state!), fed with
    whole frames in order (face=None)."""

    name = "mediapipe-facemesh"

    # The face crop given to FaceMesh: a square this many face-box sides wide, scaled to CROP_PX.
    CROP_FACTOR = 1.8
    CROP_PX = 256

    def __init__(self, static_image_mode: bool = True, refine_landmarks: bool = True) -> None:
        import mediapipe as mp

        self.version = f"facemesh{'-iris' if refine_landmarks else ''}/mediapipe-{mp.__version__}"
        self.static_image_mode = static_image_mode
        self._mesh: Any = open_solution(
            lambda: mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static_image_mode,
                max_num_faces=1,
                refine_landmarks=refine_landmarks,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        self._mesh.close()

    def _process(self, rgb: np.ndarray) -> np.ndarray | None:
        with self._lock:
            result = self._mesh.process(rgb)
        if not result.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        lm = result.multi_face_landmarks[0].landmark
        return np.array([(p.x * w, p.y * h, p.z * w) for p in lm], dtype=np.float32)

    def landmarks(self, image_bgr: np.ndarray, face: DetectedFace | None = None) -> np.ndarray | None:
        """Landmarks (N x 3, image pixels) of the given face, or of the most prominent face when face is
        None; None when FaceMesh finds no face. With a face, only a square crop around it is processed:
        faster on large photos and unambiguous in group photos."""
        image_bgr = as_bgr(image_bgr)
        if face is None:
            return self._process(np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)))
        cx, cy = face.box.center
        side = max(face.box.w, face.box.h) * self.CROP_FACTOR
        scale = self.CROP_PX / side
        # Affine crop: pixels outside the image become black, the face stays centred.
        m = np.array(
            [[scale, 0.0, self.CROP_PX / 2 - cx * scale], [0.0, scale, self.CROP_PX / 2 - cy * scale]]
        )
        crop = cv2.warpAffine(
            image_bgr,
            m,
            (self.CROP_PX, self.CROP_PX),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        pts = self._process(np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)))
        if pts is None:
            return None
        pts[:, 0] = (pts[:, 0] - m[0, 2]) / scale
        pts[:, 1] = (pts[:, 1] - m[1, 2]) / scale
        pts[:, 2] = pts[:, 2] / scale
        return pts
