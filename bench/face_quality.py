"""Quality levels and mask detection over the face corpus: every face as a selfie-like crop, degraded
copies of it (blur, dark, over-exposed, heavy JPEG) and synthetic masks (flat colours and photographed
surgical-mask textures from the insightface wheel). Prints the level distribution per variant and the mask
detection / false-mask rates; writes bench/results/face_quality.json."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fixtures.masks import draw_flat_mask, draw_texture_mask  # noqa: E402
from tests.fixtures.more_photos import more_photo  # noqa: E402

from face_corpus import load_corpus, portrait  # noqa: E402
from shiren.engine.face.quality import assess_quality  # noqa: E402
from shiren.runtime import models_from  # noqa: E402
from shiren.settings import get_settings  # noqa: E402

MASKED = ("flat_lightblue", "flat_white", "flat_skin", "tex_blue", "tex_white", "tex_black", "tex_green")


def variants(img: np.ndarray, kp: np.ndarray, textures: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {
        "orig": img,
        "blur_s2": cv2.GaussianBlur(img, (0, 0), 2),
        "blur_s5": cv2.GaussianBlur(img, (0, 0), 5),
        "dark_x0.35": (img * 0.35).astype(np.uint8),
        "dark_x0.15": (img * 0.15).astype(np.uint8),
        "overexposed": cv2.convertScaleAbs(img, alpha=1.8, beta=60),
        "jpeg_q10": cv2.imdecode(
            cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 10])[1], cv2.IMREAD_COLOR
        ),
        "flat_lightblue": draw_flat_mask(img, kp, (235, 206, 135)),
        "flat_white": draw_flat_mask(img, kp, (235, 235, 235)),
        "flat_skin": draw_flat_mask(img, kp, (150, 170, 215)),
    }
    for name, tex in textures.items():
        out[f"tex_{name}"] = draw_texture_mask(img, kp, tex)
    return out


def main() -> None:
    models = models_from(get_settings())
    corpus = [c for c in load_corpus(models) if c.source != "obama_partial_face2.jpg"]
    textures = {n: cv2.imread(str(more_photo(f"mask_{n}.jpg"))) for n in ("blue", "white", "black", "green")}
    det, lmk = models.detector, models.landmarker
    levels: dict[str, Counter] = defaultdict(Counter)
    masked: dict[str, list[str]] = defaultdict(list)
    missed: dict[str, list[str]] = defaultdict(list)
    times = []
    for c in corpus:
        img, f0 = portrait(c)
        for name, v in variants(img, f0.keypoints, textures).items():
            found = [f for f in det.detect(v) if f.box.iou(f0.box) > 0.3]
            if not found:
                missed[name].append(c.identity)
                continue
            t = time.perf_counter()
            q = assess_quality(v, found[0], lmk)
            times.append(time.perf_counter() - t)
            levels[name][q.level] += 1
            if q.mask:
                masked[name].append(c.identity)
    report = {}
    for name in levels:
        n = sum(levels[name].values())
        report[name] = {
            "faces": n,
            "not_detected": len(missed[name]),
            "levels": dict(levels[name]),
            "masked": len(masked[name]),
            "masked_ids": masked[name] if name not in MASKED else None,
        }
        print(
            f"{name:15s} faces {n:3d} (undetected {len(missed[name])})  "
            + " ".join(f"{lv}={levels[name][lv]}" for lv in ("HIGH", "NORMAL", "LOW", "UNQUALIFIED"))
            + f"  mask={len(masked[name])}"
            + ("" if name in MASKED else f" {masked[name]}")
        )
    pos = sum(report[m]["faces"] for m in MASKED if m != "flat_skin")
    tp = sum(report[m]["masked"] for m in MASKED if m != "flat_skin")
    neg = sum(r["faces"] for k, r in report.items() if k not in MASKED)
    fp = sum(r["masked"] for k, r in report.items() if k not in MASKED)
    summary = {
        "mask_detected": f"{tp}/{pos} (skin-coloured flat masks excluded)",
        "false_mask": f"{fp}/{neg}",
        "assess_ms_median": round(1000 * float(np.median(times)), 1),
    }
    print(summary)
    out = ROOT / "bench" / "results" / "face_quality.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "variants": report}, indent=2))


if __name__ == "__main__":
    main()
