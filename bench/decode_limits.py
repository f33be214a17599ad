"""What the decode budgets cost on ordinary images, and the evidence for the limits they enforce.

For every real photo of tests/fixtures (face_recognition, insightface, face-api, scikit-image, matplotlib)
and generated ID-card and portrait photos, the p50 time of the checks alone (``check_image``: size, type,
header, pixel budget, JPEG marker walk with its scan count) and of the whole ``decode_image`` (checks +
strict decode + EXIF orientation), and their ratio: the checks must be negligible. Also printed: the highest
decoded-bytes-per-file-byte ratio and scan count of those images and of flat pictures (the evidence for
MAX_EXPANSION and MAX_JPEG_SCANS), and how fast the hostile files of tests/intake/hostile.py are refused.
Writes bench/results/decode_limits.json.

    .venv/bin/python bench/decode_limits.py [--repeat 15]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image

from _common import percentile, write_results
from shiren.intake import ImageLimits, ImageRejected, check_image, decode_image
from shiren.intake.images import MAX_EXPANSION, MAX_JPEG_SCANS
from shiren.settings import Settings
from tests.fixtures.idcards import make_card, make_face_photo
from tests.fixtures.more_photos import NAMES as MORE_NAMES, more_photo
from tests.fixtures.photos import NAMES, photo
from tests.intake import hostile

SETTINGS = Settings()
LIMITS = ImageLimits.from_settings(SETTINGS)


def corpus() -> dict[str, bytes]:
    """Every real photo and a few generated card and portrait photos, as the bytes an API would receive."""
    images = {name: photo(name).read_bytes() for name in NAMES}
    images |= {name: more_photo(name).read_bytes() for name in MORE_NAMES}
    for seed in range(6):
        card = make_card(seed)
        images[f"card{seed}_front.jpg"] = card.front
        images[f"card{seed}_back.jpg"] = card.back
        images[f"portrait{seed}.jpg"] = make_face_photo(seed)
    return {k: v for k, v in images.items() if len(v) <= LIMITS.max_bytes}


def median_s(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def flat(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 128).save(out, fmt, **save)
    return out.getvalue()


def expansion(data: bytes) -> float:
    """Decoded bytes (width × height × 3) per byte of file, the size read by Pillow (no budget applied)."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return width * height * 3 / len(data)


def overhead(images: dict[str, bytes], repeat: int) -> dict[str, object]:
    rows = {}
    for name, data in images.items():
        checks = median_s(lambda d=data: check_image(d, "bench", LIMITS), repeat)
        whole = median_s(lambda d=data: decode_image(d, "bench", SETTINGS), repeat)
        ratio, scans = expansion(data), check_image(data, "bench", LIMITS).scans
        rows[name] = {"kb": round(len(data) / 1024), "checks_ms": checks * 1e3, "decode_ms": whole * 1e3}
        rows[name] |= {"share": checks / whole, "expansion": round(ratio, 1), "scans": scans}
        print(
            f"  {name:26s} {rows[name]['kb']:5d} KB  checks {checks * 1e3:6.3f} ms"
            f"  decode {whole * 1e3:7.2f} ms  share {100 * checks / whole:5.2f} %"
            f"  expansion {ratio:5.1f}  scans {scans}"
        )
    checks_p50 = percentile([r["checks_ms"] for r in rows.values()], 50)
    decode_p50 = percentile([r["decode_ms"] for r in rows.values()], 50)
    return {
        "images": len(rows),
        "checks_p50_ms": round(checks_p50, 3),
        "decode_p50_ms": round(decode_p50, 2),
        "ratio_of_p50": round(checks_p50 / decode_p50, 4),
        "share_p50": round(percentile([r["share"] for r in rows.values()], 50), 4),
        "share_max": round(max(r["share"] for r in rows.values()), 4),
        "max_expansion": max(r["expansion"] for r in rows.values()),
        "max_scans": max(r["scans"] for r in rows.values()),
        "per_image": rows,
    }


def flat_evidence() -> dict[str, float]:
    """The flattest ordinary encodings: decoded bytes per file byte (MAX_EXPANSION must stay above)."""
    out = {}
    for size in ((640, 480), (1280, 720), (4000, 3000)):
        tag = f"{size[0]}x{size[1]}"
        for label, fmt, mode, save in (
            ("jpeg q90", "JPEG", "RGB", {"quality": 90}),
            ("jpeg q90 progressive", "JPEG", "RGB", {"quality": 90, "progressive": True}),
            ("jpeg q90 optimised", "JPEG", "RGB", {"quality": 90, "optimize": True}),
            (
                "grey jpeg progressive optimised",
                "JPEG",
                "L",
                {"quality": 90, "progressive": True, "optimize": True},
            ),
            ("png rgb", "PNG", "RGB", {}),
            ("webp q90", "WEBP", "RGB", {"quality": 90}),
        ):
            out[f"{tag} {label}"] = round(expansion(flat(fmt, size, mode, **save)), 1)
    return out


def hostile_refusals(repeat: int) -> dict[str, dict[str, object]]:
    files = {
        "20000x20000 header": hostile.huge_header(),
        "5000 empty scans": hostile.many_scans(5000),
        "truncated + FFD9": hostile.truncated_with_end(hostile.jpeg((640, 480))),
        "6000x6000 in 862 bytes": hostile.claiming(hostile.jpeg(), 6000, 6000),
    }
    out = {}
    for name, data in files.items():

        def refuse(d: bytes = data, name: str = name) -> str:
            try:
                decode_image(d, "bench", SETTINGS)
            except ImageRejected as exc:
                return exc.reason
            raise AssertionError(f"{name} was accepted")

        out[name] = {
            "bytes": len(data),
            "refused_ms": round(median_s(refuse, repeat) * 1e3, 3),
            "reason": refuse(),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per image (median kept)")
    args = parser.parse_args()
    images = corpus()
    print(f"{len(images)} images (real photos and generated card/portrait photos), {args.repeat} runs each")
    result = overhead(images, args.repeat)
    print(
        f"\np50 per image: checks alone {result['checks_p50_ms']:.3f} ms, whole decode "
        f"{result['decode_p50_ms']:.2f} ms, ratio {100 * result['ratio_of_p50']:.2f} %"
        f" (per-image share p50 {100 * result['share_p50']:.2f} %, max {100 * result['share_max']:.2f} %)"
    )
    print(
        f"highest expansion of these images {result['max_expansion']} (limit {MAX_EXPANSION}),"
        f" most scans {result['max_scans']} (limit {MAX_JPEG_SCANS})"
    )
    flats = flat_evidence()
    print("\nflat pictures, decoded bytes per file byte:")
    for name, ratio in flats.items():
        print(f"  {name:45s} {ratio:8.1f}  {'accepted' if ratio <= MAX_EXPANSION else 'refused'}")
    refusals = hostile_refusals(args.repeat)
    print("\nhostile files (tests/intake/hostile.py):")
    for name, row in refusals.items():
        print(f"  {name:24s} {row['bytes']:7d} B  refused in {row['refused_ms']:.3f} ms: {row['reason']}")
    write_results(
        "decode_limits",
        {
            "overhead": result,
            "flat_expansion": flats,
            "hostile": refusals,
            "limits": {"max_expansion": MAX_EXPANSION, "max_jpeg_scans": MAX_JPEG_SCANS},
        },
    )


if __name__ == "__main__":
    main()
