"""The labelled face corpus shared by the bench scripts: every face in the test photographs, with an
identity label (each group-photo face is its own identity; the obama*.jpg photos share one).

Group photos are also searched tile by tile, because BlazeFace on a whole 1920 px group photo misses some
of the ~100 px faces."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fixtures.more_photos import more_photo  # noqa: E402
from tests.fixtures.photos import photo  # noqa: E402

from shiren.engine.face.detector import FaceDetector, _merge  # noqa: E402
from shiren.engine.face.types import DetectedFace, FaceBox  # noqa: E402
from shiren.engine.models import Models  # noqa: E402
from shiren.runtime import models_from  # noqa: E402
from shiren.settings import get_settings  # noqa: E402

SINGLE = {
    "obama.jpg": "obama",
    "obama2.jpg": "obama",
    "obama3.jpg": "obama",
    "biden.jpg": "biden",
    "obama_partial_face2.jpg": "obama",
}
MORE_SINGLE = {"astronaut.png": "collins", "grace_hopper.jpg": "hopper", "Tom_Hanks_54745.png": "hanks"}
# Two group-photo faces that are the same woman (judged by eye; the dlib distance between them, 0.27 after
# normalisation, is also genuine-like): they share one identity.
ALIASES = {"sample3.jpg#0": "sample1.jpg#3"}
GROUPS = ("t1.jpg", "sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg")


@dataclass
class CorpusFace:
    identity: str
    source: str
    image: np.ndarray
    face: DetectedFace


def _shift(face: DetectedFace, dx: float, dy: float) -> DetectedFace:
    b = face.box
    return DetectedFace(FaceBox(b.x + dx, b.y + dy, b.w, b.h, b.score), face.keypoints + np.float32([dx, dy]))


def detect_tiled(image: np.ndarray, det: FaceDetector) -> list[DetectedFace]:
    """Whole image plus a 3x3 grid of overlapping tiles, merged."""
    faces = list(det.detect(image))
    h, w = image.shape[:2]
    th, tw = h // 2, w // 2
    for ty in (0, h // 4, h - th):
        for tx in (0, w // 4, w - tw):
            faces += [_shift(f, tx, ty) for f in det.detect(image[ty : ty + th, tx : tx + tw])]
    # a face cut by a tile border gives a partial box: keep only boxes well inside their source
    return sorted(_merge(faces), key=lambda f: f.box.area, reverse=True)


def load_corpus(models: Models, min_px: float = 60.0) -> list[CorpusFace]:
    """Every face of the photographs, found by the bundle's detector (faces without landmarks left out)."""
    det, lmk = models.detector, models.landmarker
    out: list[CorpusFace] = []
    for name, ident in SINGLE.items():
        img = cv2.imread(str(photo(name)))
        out.append(CorpusFace(ident, name, img, det.detect(img)[0]))
    for name, ident in MORE_SINGLE.items():
        img = cv2.imread(str(more_photo(name)))
        if img.shape[0] < 200:  # a tight aligned crop: give the detector some context
            img = cv2.copyMakeBorder(img, 56, 56, 56, 56, cv2.BORDER_REPLICATE)
        out.append(CorpusFace(ident, name, img, det.detect(img)[0]))
    for name in GROUPS:
        img = cv2.imread(str(more_photo(name)))
        for i, f in enumerate(detect_tiled(img, det)):
            if f.size_px < min_px or f.box.score < 0.6:
                continue
            if lmk.landmarks(img, f) is None:
                continue
            ident = f"{name}#{i}"
            out.append(CorpusFace(ALIASES.get(ident, ident), name, img, f))
    return out


def portrait(c: CorpusFace, factor: float = 2.5, size: int = 480) -> tuple[np.ndarray, DetectedFace]:
    """A square selfie-like crop around one corpus face (size px wide, the face ~size/factor), with the face
    re-expressed in the crop's pixels."""
    cx, cy = c.face.box.center
    side = max(c.face.box.w, c.face.box.h) * factor
    s = size / side
    m = np.array([[s, 0.0, size / 2 - cx * s], [0.0, s, size / 2 - cy * s]])
    img = cv2.warpAffine(c.image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    b = c.face.box
    box = FaceBox(b.x * s + m[0, 2], b.y * s + m[1, 2], b.w * s, b.h * s, b.score)
    kps = c.face.keypoints * np.float32(s) + np.float32([m[0, 2], m[1, 2]])
    return img, DetectedFace(box, kps)


if __name__ == "__main__":
    corpus = load_corpus(models_from(get_settings()))  # the models the settings name, as a server builds them
    tiles = []
    for c in corpus:
        b = c.face.box
        x0, y0 = max(int(b.x), 0), max(int(b.y), 0)
        crop = cv2.resize(c.image[y0 : int(b.y + b.h), x0 : int(b.x + b.w)], (128, 128))
        cv2.putText(crop, c.identity[-12:], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 0), 1)
        tiles.append(crop)
        print(c.identity, c.source, round(b.w), round(b.score, 2))
    while len(tiles) % 8:
        tiles.append(np.zeros_like(tiles[0]))
    sheet = np.vstack([np.hstack(tiles[i : i + 8]) for i in range(0, len(tiles), 8)])
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(ROOT / "bench" / "results" / "face_corpus.png"), sheet)
    print(len(corpus), "faces,", len({c.identity for c in corpus}), "identities")
