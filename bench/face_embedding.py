"""Per-face timings on this machine: detection, landmarks, quality, alignment and each available embedder
(median of N runs on obama.jpg, resized to 640x480-ish like a phone frame). Prints and writes
bench/results/face_embedding.json. Usage: python bench/face_embedding.py [runs]"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fixtures.photos import photo  # noqa: E402

from shiren.engine.face import registry  # noqa: E402
from shiren.engine.face.quality import assess_quality  # noqa: E402
from shiren.runtime import models_from  # noqa: E402
from shiren.settings import get_settings  # noqa: E402


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    img = cv2.imread(str(photo("obama.jpg")))
    img = cv2.resize(img, (384, 480), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 128:512] = img
    settings = get_settings()
    models = models_from(settings)
    det = models.detector
    face = det.detect(frame)[0]
    lmk = models.landmarker
    out: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "runs": runs,
        "face_px": round(face.size_px),
        "detect_ms": median_ms(lambda: det.detect(frame), runs),
        "landmarks_ms": median_ms(lambda: lmk.landmarks(frame, face), runs),
        "quality_ms": median_ms(
            lambda: assess_quality(frame, type(face)(face.box, face.keypoints), lmk), runs
        ),
        "embedders": {},
    }
    embedders: dict[str, object] = out["embedders"]  # type: ignore[assignment]
    for name in registry.EMBEDDERS:
        try:
            t = time.perf_counter()
            emb = registry.make_embedder(name, settings.data_dir / "models")
            load_ms = (time.perf_counter() - t) * 1000
        except Exception as exc:  # report, do not fail, when an embedder cannot load here
            embedders[name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            continue
        entry: dict[str, object] = {"version": emb.version, "dim": emb.dim, "load_ms": round(load_ms, 1)}
        entry["embed_ms"] = median_ms(lambda emb=emb: emb.embed(frame, face), runs)
        aligner = getattr(emb, "aligner", None)
        if aligner is not None and hasattr(emb, "embed_chip"):
            chip = aligner.chip(frame, face)
            entry["align_ms"] = median_ms(lambda aligner=aligner: aligner.chip(frame, face), runs)
            entry["network_ms"] = median_ms(lambda emb=emb, chip=chip: emb.embed_chip(chip), runs)
        embedders[name] = entry
    print(json.dumps(out, indent=2))
    path = ROOT / "bench" / "results" / "face_embedding.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
