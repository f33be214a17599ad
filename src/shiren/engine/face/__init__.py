"""Face models behind small interfaces (detector, landmarks, quality, embedder), made by name in
``registry``; a process holds them in one ``shiren.engine.models.Models`` bundle."""

from .registry import make_detector, make_embedder, make_landmarker
from .types import DetectedFace, FaceBox, FaceQuality

__all__ = ["DetectedFace", "FaceBox", "FaceQuality", "make_detector", "make_embedder", "make_landmarker"]
