"""Face models behind small interfaces (detector, landmarks, quality, embedder), chosen by the settings
and loaded once per process: use the registry functions rather than constructing models."""

from .registry import get_detector, get_embedder, get_landmarker, model_versions
from .types import DetectedFace, FaceBox, FaceQuality

__all__ = [
    "DetectedFace",
    "FaceBox",
    "FaceQuality",
    "get_detector",
    "get_embedder",
    "get_landmarker",
    "model_versions",
]
