"""Choose each face model by the name in the settings, and load it once per process.

Models are heavy (hundreds of ms to load, tens of MB), so every process shares one instance of each; the
instances serialise access to their non-re-entrant graphs with locks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .detector import FaceDetector, MediaPipeFaceDetector
from .embedder import DlibFaceEmbedder, FaceEmbedder
from .landmarks import FaceLandmarker


def _dlib_onnx() -> FaceEmbedder:
    from .onnx_embedder import OnnxDlibFaceEmbedder

    return OnnxDlibFaceEmbedder()


DETECTORS: dict[str, Callable[[], FaceDetector]] = {"mediapipe": MediaPipeFaceDetector}
EMBEDDERS: dict[str, Callable[[], FaceEmbedder]] = {"dlib": DlibFaceEmbedder, "dlib-onnx": _dlib_onnx}
LANDMARKERS: dict[str, Callable[[], FaceLandmarker]] = {"mediapipe": FaceLandmarker}

_instances: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _get(kind: str, name: str, factories: dict[str, Callable[[], Any]]) -> Any:
    key = (kind, name)
    with _lock:
        inst = _instances.get(key)
        if inst is None:
            factory = factories.get(name)
            if factory is None:
                raise ValueError(f"unknown face {kind} {name!r}; available: {', '.join(sorted(factories))}")
            inst = factory()
            _instances[key] = inst
        return inst


def _settings() -> Any:
    from shiren.settings import get_settings

    return get_settings()


def get_detector(name: str | None = None) -> FaceDetector:
    """The process-wide face detector named by `name` or by settings.face_detector."""
    return _get("detector", name or _settings().face_detector, DETECTORS)


def get_embedder(name: str | None = None) -> FaceEmbedder:
    """The process-wide face embedder named by `name` or by settings.face_embedder."""
    return _get("embedder", name or _settings().face_embedder, EMBEDDERS)


def get_landmarker(name: str | None = None) -> FaceLandmarker:
    """The process-wide still-image landmarker (only `mediapipe` FaceMesh for now).

    Video liveness needs its own tracking-mode instance per video: FaceLandmarker(static_image_mode=False)."""
    return _get("landmarker", name or "mediapipe", LANDMARKERS)


def model_versions() -> dict[str, str]:
    """Name and exact version of every configured face model, for evidence records. Loads the models."""
    det, emb, lmk = get_detector(), get_embedder(), get_landmarker()
    return {
        "face_detector": f"{det.name}:{det.version}",
        "face_embedder": f"{emb.name}:{emb.version}",
        "face_landmarker": f"{lmk.name}:{lmk.version}",
    }


def reset() -> None:
    """Forget the loaded models (tests that change settings)."""
    with _lock:
        _instances.clear()
