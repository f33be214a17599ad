"""The models a process runs, in one bundle chosen by name (as CompreFace's plugin manager does).

The runtime builds one ``Models`` from its settings and hands it to whatever needs a model; nothing in the
engine looks models up by itself. Each model loads on first use (hundreds of ms, tens of MB) and is then
shared by every request of the process, so commands that never touch a model never pay for one. Tests
build a bundle of fakes with ``Models.of``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from shiren.engine.face.detector import FaceDetector
from shiren.engine.face.embedder import FaceEmbedder
from shiren.engine.face.landmarks import FaceLandmarker
from shiren.engine.face.registry import check_names, make_detector, make_embedder, make_landmarker
from shiren.engine.ocr import RECOGNIZERS, TextRecognizer, make_text_recognizer


class Models:
    """Face detector, face embedder, still-image landmarker and OCR of one process."""

    def __init__(
        self,
        *,
        detector: str = "mediapipe",
        embedder: str = "dlib-onnx",
        landmarker: str = "mediapipe",
        ocr: str = "rapidocr",
        cache_dir: Path | None = None,
    ) -> None:
        check_names(detector, embedder, landmarker)
        if ocr not in RECOGNIZERS:
            make_text_recognizer(ocr)  # raises with the list of names
        self._names = {"detector": detector, "embedder": embedder, "landmarker": landmarker, "ocr": ocr}
        self._cache_dir = cache_dir
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls,
        *,
        detector: FaceDetector | None = None,
        embedder: FaceEmbedder | None = None,
        landmarker: FaceLandmarker | None = None,
        ocr: TextRecognizer | None = None,
    ) -> Models:
        """A bundle of given instances (tests, benchmarks); a model not given loads the default on use."""
        models = cls()
        given = {"detector": detector, "embedder": embedder, "landmarker": landmarker, "ocr": ocr}
        models._loaded.update({k: v for k, v in given.items() if v is not None})
        return models

    def _get(self, kind: str) -> Any:
        model = self._loaded.get(kind)
        if model is not None:
            return model
        with self._lock:
            model = self._loaded.get(kind)
            if model is None:
                name = self._names[kind]
                if kind == "detector":
                    model = make_detector(name)
                elif kind == "embedder":
                    model = make_embedder(name, self._cache_dir)
                elif kind == "landmarker":
                    model = make_landmarker(name)
                else:
                    model = make_text_recognizer(name)
                self._loaded[kind] = model
        return model

    @property
    def detector(self) -> FaceDetector:
        return self._get("detector")

    @property
    def embedder(self) -> FaceEmbedder:
        return self._get("embedder")

    @property
    def landmarker(self) -> FaceLandmarker:
        """Still-image FaceMesh. Video liveness makes its own tracking instance per clip (it keeps state)."""
        return self._get("landmarker")

    @property
    def ocr(self) -> TextRecognizer:
        return self._get("ocr")

    @property
    def embedder_id(self) -> str:
        """Name and version of the embedder: a stored face template is reusable only under the same id."""
        return f"{self.embedder.name}:{self.embedder.version}"

    def versions(self) -> dict[str, str]:
        """Name and exact version of every model a decision may use (evidence). Loads them all."""
        det, emb, lmk, ocr = self.detector, self.embedder, self.landmarker, self.ocr
        return {
            "face_detector": f"{det.name}:{det.version}",
            "face_embedder": f"{emb.name}:{emb.version}",
            "face_landmarker": f"{lmk.name}:{lmk.version}",
            "ocr": f"{ocr.name}:{ocr.version}",
        }

    def warm_up(self) -> None:
        """Load every model now (a server does this at start, so the first request is not slow)."""
        self.versions()
