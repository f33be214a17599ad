"""Face analysis shared by verification and the registry: detect → quality → embed → compare."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from shiren.domain.scores import similarity_score
from shiren.engine.face.quality import assess_quality
from shiren.engine.face.types import DetectedFace, FaceQuality
from shiren.engine.models import Models


@dataclass
class FaceAnalysis:
    face: DetectedFace
    quality: FaceQuality
    embedding: np.ndarray | None  # None when the face is unusable for comparison
    faces_found: int
    timings_ms: dict[str, float] = field(default_factory=dict)


def analyse_face(
    models: Models, image_bgr: np.ndarray, *, embed: bool = True, min_quality_to_embed: str = "LOW"
) -> FaceAnalysis | None:
    """The largest face of the image, its quality, and its embedding; None when there is no face."""
    t0 = time.perf_counter()
    faces = models.detector.detect(image_bgr)
    t1 = time.perf_counter()
    if not faces:
        return None
    face = faces[0]
    quality = assess_quality(image_bgr, face, models.landmarker)
    t2 = time.perf_counter()
    embedding = None
    if embed and (quality.level != "UNQUALIFIED" or min_quality_to_embed == "UNQUALIFIED"):
        embedding = models.embedder.embed(image_bgr, face)
    t3 = time.perf_counter()
    timings = {"detect": (t1 - t0) * 1000, "quality": (t2 - t1) * 1000, "embed": (t3 - t2) * 1000}
    return FaceAnalysis(face, quality, embedding, len(faces), {k: round(v, 1) for k, v in timings.items()})


def compare(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """Calibrated 0-100 similarity of two embeddings, or None when either side is missing."""
    if a is None or b is None:
        return None
    return similarity_score(float(np.linalg.norm(a - b)))


def face_crop(image: np.ndarray, face: FaceAnalysis | None) -> np.ndarray:
    """The face with a margin (Material.FaceImageUrl); the whole image when no face was found."""
    if face is None:
        return image
    b = face.face.box
    pad = 0.35 * max(b.w, b.h)
    h, w = image.shape[:2]
    x0, y0 = max(0, int(b.x - pad)), max(0, int(b.y - pad))
    x1, y1 = min(w, int(b.x + b.w + pad)), min(h, int(b.y + b.h + pad))
    return image[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else image
