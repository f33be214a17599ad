"""Text recognition plugins (OCR) for ID card photos.

The decision engine only sees ``TextRecognizer``; the model behind it is chosen by name through
``Settings.ocr`` so an operator can swap it without code changes. The bundled implementation is
RapidOCR (PP-OCRv4 detection, angle classification and recognition on onnxruntime, Apache-2.0): it ships its
weights inside the wheel, so it works offline.

Besides the whole-image ``read``, the protocol exposes the three stages (``detect``, ``classify_upside_down``,
``recognize``) because the ID card reader is much faster when it detects once on a rectified card and then
recognises only the crops it needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

__all__ = [
    "Quad",
    "RapidOcrRecognizer",
    "TextLine",
    "TextRecognizer",
    "available_recognizers",
    "crop_quad",
    "make_text_recognizer",
]

Quad = np.ndarray  # float32 (4, 2): top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True)
class TextLine:
    """One recognised line: its quadrilateral in image pixels, the text and a 0–1 confidence."""

    box: tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
    text: str
    confidence: float

    @property
    def x0(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def x1(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def y0(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def y1(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def center(self) -> tuple[float, float]:
        return (sum(p[0] for p in self.box) / 4, sum(p[1] for p in self.box) / 4)


@runtime_checkable
class TextRecognizer(Protocol):
    """What the decision engine needs from an OCR model; implementations must be thread-safe."""

    name: str
    version: str

    def read(self, image_bgr: np.ndarray) -> list[TextLine]:
        """Detect, orient and recognise every text line of a BGR image, top to bottom."""
        ...

    def detect(self, image_bgr: np.ndarray, max_side: int = 960) -> list[Quad]:
        """Text line quadrilaterals (image pixels), detected on the image scaled to at most ``max_side``."""
        ...

    def classify_upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        """For each line crop, the probability that it is rotated by 180 degrees."""
        ...

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of each single-line crop (upright, BGR)."""
        ...


def crop_quad(image: np.ndarray, quad: np.ndarray, pad: float = 0.0) -> np.ndarray:
    """Perspective-crop a text quadrilateral to an upright rectangle; ``pad`` grows it by that many pixels."""
    q = np.asarray(quad, np.float32).copy()
    if pad:
        c = q.mean(axis=0)
        d = q - c
        n = np.linalg.norm(d, axis=1, keepdims=True)
        q = q + d / np.maximum(n, 1e-6) * pad
    w = int(round(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[3] - q[2]))))
    h = int(round(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))))
    w, h = max(w, 2), max(h, 2)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


class RapidOcrRecognizer:
    """PP-OCRv4 through ``rapidocr-onnxruntime``; one instance per process (held by ``Models``).

    onnxruntime sessions are thread-safe, but RapidOCR keeps per-call state in its pre-processing objects,
    so calls are serialised with a lock; on a small server this also avoids oversubscribing the cores.
    """

    name = "rapidocr"

    def __init__(self, min_score: float = 0.5) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._engine: Any = RapidOCR()
        # We size images ourselves (the default upsizes the short side to 736, which is slow on small crops).
        self._engine.text_det.limit_type = "max"
        self._engine.text_det.limit_side_len = 100_000
        self._lock = threading.Lock()
        self.min_score = min_score
        self.version = f"rapidocr-onnxruntime {metadata.version('rapidocr-onnxruntime')} (PP-OCRv4)"

    def detect(self, image_bgr: np.ndarray, max_side: int = 960) -> list[Quad]:
        h, w = image_bgr.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        img = (
            image_bgr
            if scale == 1.0
            else cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        with self._lock:
            boxes, _ = self._engine.text_det(img)
        if boxes is None or len(boxes) == 0:
            return []
        return [np.asarray(b, np.float32) / scale for b in boxes]

    def classify_upside_down(self, crops: Sequence[np.ndarray]) -> list[float]:
        if not crops:
            return []
        with self._lock:
            _, results, _ = self._engine.text_cls(list(crops))
        return [float(score) if "180" in label else 1.0 - float(score) for label, score in results]

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Recognise line crops, each at its own width.

        RapidOCR pads every crop to at least 320 x 48 and a batch to its widest member; a single glyph then
        costs as much as a whole line. Here crops are grouped by similar width and padded only to the
        widest of their group, which makes short fields (性别, 民族, dates) several times cheaper.
        """
        if not crops:
            return []
        rec = self._engine.text_rec
        height = int(rec.rec_image_shape[1])
        items = []
        for i, crop in enumerate(crops):
            h, w = crop.shape[:2]
            width = min(max(16, int(np.ceil(height * w / max(h, 1)))), height * 50)
            img = cv2.resize(
                crop, (width, height), interpolation=cv2.INTER_LINEAR if h < height else cv2.INTER_AREA
            )
            items.append((width, i, (img.astype(np.float32).transpose(2, 0, 1) / 127.5) - 1.0))
        items.sort(key=lambda t: t[0])
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        start = 0
        while start < len(items):
            end = start + 1
            while end < len(items) and end - start < 8 and items[end][0] <= 1.3 * items[start][0]:
                end += 1
            group = items[start:end]
            width = -(-group[-1][0] // 8) * 8
            batch = np.zeros((len(group), 3, height, width), np.float32)
            for k, (w, _, img) in enumerate(group):
                batch[k, :, :, :w] = img
            with self._lock:
                preds = rec.session(batch)[0]
            for (_, i, _), (text, score, *_) in zip(group, rec.postprocess_op(preds), strict=True):
                results[i] = (str(text), float(score))
            start = end
        return results

    def read(self, image_bgr: np.ndarray, max_side: int = 960) -> list[TextLine]:
        quads = sorted(
            self.detect(image_bgr, max_side), key=lambda q: (float(q[:, 1].min()), float(q[:, 0].min()))
        )
        crops = [crop_quad(image_bgr, q) for q in quads]
        crops = [np.rot90(c) if c.shape[0] > 1.5 * c.shape[1] else c for c in crops]
        flips = self.classify_upside_down(crops)
        crops = [cv2.rotate(c, cv2.ROTATE_180) if p > 0.9 else c for c, p in zip(crops, flips, strict=True)]
        lines = []
        for q, (text, score) in zip(quads, self.recognize(crops), strict=True):
            if score >= self.min_score and text.strip():
                box = tuple((float(x), float(y)) for x, y in q)
                lines.append(TextLine(box, text, score))  # type: ignore[arg-type]
        return lines


RECOGNIZERS: dict[str, Callable[[], TextRecognizer]] = {"rapidocr": RapidOcrRecognizer}


def available_recognizers() -> list[str]:
    """Names accepted by ``Settings.ocr``."""
    return sorted(RECOGNIZERS)


def make_text_recognizer(name: str) -> TextRecognizer:
    """A new recogniser of the plugin ``name`` (loading takes a second: build one per process)."""
    if name not in RECOGNIZERS:
        raise ValueError(f"unknown OCR plugin {name!r}; available: {', '.join(available_recognizers())}")
    return RECOGNIZERS[name]()
