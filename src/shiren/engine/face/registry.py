"""Face models by name: the factories a ``Models`` bundle picks from (CompreFace's plugin manager, small).

No instance is kept here: the runtime builds one bundle per process and hands it down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .detector import FaceDetector, MediaPipeFaceDetector
from .embedder import DlibFaceEmbedder, FaceEmbedder
from .landmarks import FaceLandmarker


def _dlib_onnx(cache_dir: Path | None) -> FaceEmbedder:
    from .onnx_embedder import OnnxDlibFaceEmbedder

    return OnnxDlibFaceEmbedder(cache_dir)


DETECTORS: dict[str, Callable[[], FaceDetector]] = {"mediapipe": MediaPipeFaceDetector}
EMBEDDERS: dict[str, Callable[[Path | None], FaceEmbedder]] = {
    "dlib": lambda _cache: DlibFaceEmbedder(),
    "dlib-onnx": _dlib_onnx,
}
LANDMARKERS: dict[str, Callable[[], FaceLandmarker]] = {"mediapipe": FaceLandmarker}


def _factory(kind: str, name: str, factories: dict) -> Callable:
    factory = factories.get(name)
    if factory is None:
        raise ValueError(f"unknown face {kind} {name!r}; available: {', '.join(sorted(factories))}")
    return factory


def make_detector(name: str) -> FaceDetector:
    return _factory("detector", name, DETECTORS)()


def make_embedder(name: str, cache_dir: Path | None = None) -> FaceEmbedder:
    """``cache_dir`` keeps converted weights (``dlib-onnx``); None converts in memory on every load."""
    return _factory("embedder", name, EMBEDDERS)(cache_dir)


def make_landmarker(name: str) -> FaceLandmarker:
    return _factory("landmarker", name, LANDMARKERS)()


def check_names(detector: str, embedder: str, landmarker: str) -> None:
    """Fail at start-up, not at the first request, on a misspelt model name."""
    _factory("detector", detector, DETECTORS)
    _factory("embedder", embedder, EMBEDDERS)
    _factory("landmarker", landmarker, LANDMARKERS)
