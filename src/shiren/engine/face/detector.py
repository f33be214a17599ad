"""Face detection behind a small interface; the default is MediaPipe's BlazeFace (Apache-2.0, bundled in
the mediapipe 0.10.21 wheel, so nothing is downloaded at run time)."""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from shiren.engine.quiet import open_solution

from .types import DetectedFace, FaceBox


@runtime_checkable
class FaceDetector(Protocol):
    name: str
    version: str

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """All faces in a BGR uint8 image, largest first."""
        ...


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept grey, BGR and BGRA uint8 images; the models all want 3-channel BGR."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy image")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"unsupported image shape {image.shape}")


class MediaPipeFaceDetector:
    """BlazeFace short range first (fast, best on faces filling a good part of the frame), then full range
    when the short-range model found nothing or only small faces (a portrait on an ID card, a face far from
    the camera). The two results are merged by overlap.

    MediaPipe graphs are not re-entrant, so each graph is guarded by its own lock; the instance is meant to
    be shared by the whole process (see registry.get_detector)."""

    name = "mediapipe"

    # Below this share of the image width the full-range model is also consulted: on a 640 px frame the
    # short-range model lost faces under ~64 px while full range still found 48 px faces.
    SMALL_FACE_FRACTION = 0.2
    # Images are reduced to this longest side before detection: BlazeFace works on 128 / 192 px inputs,
    # so larger images only cost conversion time.
    MAX_SIDE = 1280

    def __init__(self, min_score: float = 0.5) -> None:
        import mediapipe as mp

        self.version = f"blazeface-short+full-range/mediapipe-{mp.__version__}"
        self._min_score = min_score
        self._mp_face_detection = mp.solutions.face_detection
        self._graphs: dict[int, Any] = {}
        self._locks = {0: threading.Lock(), 1: threading.Lock()}
        self._init_lock = threading.Lock()

    def _graph(self, selection: int) -> Any:
        with self._init_lock:
            graph = self._graphs.get(selection)
            if graph is None:
                graph = open_solution(
                    lambda: self._mp_face_detection.FaceDetection(
                        model_selection=selection, min_detection_confidence=self._min_score
                    )
                )
                self._graphs[selection] = graph
            return graph

    def _run(self, selection: int, rgb: np.ndarray, scale: float) -> list[DetectedFace]:
        graph = self._graph(selection)
        with self._locks[selection]:
            result = graph.process(rgb)
        h, w = rgb.shape[:2]
        faces = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = FaceBox(
                x=rel.xmin * w / scale,
                y=rel.ymin * h / scale,
                w=rel.width * w / scale,
                h=rel.height * h / scale,
                score=float(det.score[0]),
            )
            kps = np.array(
                [(kp.x * w / scale, kp.y * h / scale) for kp in det.location_data.relative_keypoints],
                dtype=np.float32,
            )
            faces.append(DetectedFace(box=box, keypoints=kps))
        return faces

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        image_bgr = as_bgr(image_bgr)
        h, w = image_bgr.shape[:2]
        scale = min(1.0, self.MAX_SIDE / max(h, w))
        if scale < 1.0:
            image_bgr = cv2.resize(
                image_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        faces = self._run(0, rgb, scale)
        if not faces or max(f.box.w for f in faces) < self.SMALL_FACE_FRACTION * w:
            faces = _merge(faces + self._run(1, rgb, scale))
        faces.sort(key=lambda f: f.box.area, reverse=True)
        return faces


def _same_face(a: FaceBox, b: FaceBox) -> bool:
    # The short-range model sometimes returns a loose box around a face that the full-range model boxes
    # tightly (IoU < 0.3), hence the containment test as well.
    return a.iou(b) > 0.3 or a.intersection(b) > 0.6 * min(a.area, b.area)


def _merge(faces: list[DetectedFace]) -> list[DetectedFace]:
    """Non-maximum suppression across the two models, keeping the more confident detection."""
    kept: list[DetectedFace] = []
    for face in sorted(faces, key=lambda f: f.box.score, reverse=True):
        if all(not _same_face(face.box, k.box) for k in kept):
            kept.append(face)
    return kept
