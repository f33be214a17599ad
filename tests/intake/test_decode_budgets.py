"""Decode budgets: every image path refuses hostile files from their header, before any pixel is decoded,
in bounded time and memory; ordinary photos, card images and flat pictures still pass."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image

from shiren.intake import ImageLimits, ImageRejected, check_image, decode_image, decode_untrusted
from shiren.intake.images import MAX_EXPANSION, MAX_JPEG_SCANS
from shiren.services import device
from shiren.services.errors import TooLarge, Unsupported
from shiren.settings import Settings

from . import hostile
from .conftest import make_image

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Settings()
LIMITS = ImageLimits.from_settings(SETTINGS)
NOISE = hostile.jpeg((640, 480))

HOSTILE = {
    "20000x20000 header": (hostile.huge_header(), "20000×20000 pixels"),
    "5000 empty scans": (hostile.many_scans(5000), f"more than {MAX_JPEG_SCANS} scans"),
    "truncated + FFD9": (hostile.truncated_with_end(NOISE), "truncated"),
    "4000x4000 in 862 bytes": (hostile.claiming(hostile.jpeg(), 4000, 4000), "holds only"),
}


class FakeDetector:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def detect(self, image: np.ndarray) -> list[object]:
        self.frames.append(image)
        return []


def fake_runtime() -> SimpleNamespace:
    return SimpleNamespace(settings=SETTINGS, models=SimpleNamespace(detector=FakeDetector()))


@pytest.fixture
def no_consent_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide asks the database for the consent first; these tests are about the frame only."""
    monkeypatch.setattr(device, "require_consent", lambda runtime, ctx: None)


def refusal(call, *args: object) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        call(*args)
    return info.value


# --- one rule for every path ----------------------------------------------------------------------------


def test_limits_come_from_the_settings() -> None:
    limits = ImageLimits.from_settings(Settings(max_image_bytes=1000, max_image_pixels=500))
    assert limits == ImageLimits(
        max_bytes=1000, max_pixels=500, max_side=None, formats=("jpeg", "png", "webp")
    )
    with pytest.raises(AttributeError):
        limits.max_pixels = 10**9  # type: ignore[misc]
    assert ImageLimits.from_settings(Settings(max_image_bytes=10**12)).max_bytes == 30 * 1024 * 1024


def test_memory_bound_is_stated_per_format() -> None:
    """max_pixels × 3 for the pixels plus the decoder's overhead, measured in test_peak_memory_is_bounded."""
    assert LIMITS.peak_bytes >= LIMITS.max_pixels * 3
    preview = ImageLimits(200 * 1024, 1280 * 1280, 1280, ("jpeg",))
    assert preview.peak_bytes < 20 * 1024 * 1024


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_are_refused_by_url_image_and_reference_photo_paths(case: str) -> None:
    data, reason = HOSTILE[case]
    error = refusal(decode_image, data, "FaceImageUrl", SETTINGS)
    assert error.field == "FaceImageUrl" and reason in error.reason


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_are_refused_as_card_uploads(case: str) -> None:
    data, reason = HOSTILE[case]
    ctx = SimpleNamespace(scheme=SimpleNamespace(captures_card=True, name="RPBasic"))
    error = refusal(device._check_upload, fake_runtime(), ctx, "id_front", data)
    assert error.field == "id_front" and reason in error.reason


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_are_refused_as_guide_frames(case: str, no_consent_check: None) -> None:
    data, _reason = HOSTILE[case]
    runtime = fake_runtime()
    error = refusal(device.guide_hint, runtime, None, data)
    assert error.field == "frame"
    assert runtime.models.detector.frames == []


def test_guide_frames_with_thousands_of_scans_are_refused_within_the_guides_size(
    no_consent_check: None,
) -> None:
    data = hostile.many_scans(5000, (1024, 1024))
    error = refusal(device.guide_hint, fake_runtime(), None, data)
    assert error.message == "frame: JPEG has more than 32 scans"


def test_guide_frames_over_1280_px_are_refused_from_the_header(no_consent_check: None) -> None:
    error = refusal(
        device.guide_hint, fake_runtime(), None, hostile.claiming(hostile.jpeg((320, 240)), 1281, 720)
    )
    assert error.message == "frame: image is 1281×720 pixels, more than 1280 pixels per side allowed"


def test_guide_keeps_its_size_and_type_errors(no_consent_check: None) -> None:
    with pytest.raises(TooLarge):
        device.guide_hint(fake_runtime(), None, NOISE + bytes(200 * 1024))
    with pytest.raises(Unsupported, match="must be JPEG"):
        device.guide_hint(fake_runtime(), None, make_image("PNG", (64, 48)))


def test_guide_still_hints_on_an_ordinary_frame(no_consent_check: None) -> None:
    runtime = fake_runtime()
    frame = cv2.imencode(".jpg", np.full((720, 1280, 3), 20, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
    assert device.guide_hint(runtime, None, frame.tobytes()).hint == "too_dark"
    assert runtime.models.detector.frames[0].shape == (720, 1280, 3)


def test_formats_can_be_narrowed() -> None:
    limits = ImageLimits(LIMITS.max_bytes, LIMITS.max_pixels, formats=("jpeg",))
    error = refusal(decode_untrusted, make_image("PNG"), "frame", limits)
    assert error.reason == "PNG is not accepted here; send a JPEG image"
    assert refusal(decode_untrusted, b"GIF89a....", "frame", limits).reason.endswith("send a JPEG image")


# --- bounded time and memory ----------------------------------------------------------------------------

# Peak memory of a child process, per case: VmHWM is reset through clear_refs (ru_maxrss would be
# inherited from the pytest process across fork and exec, and could not be reset).
_PRELUDE = """
import sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/src"]

def _status(key):
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key))
    return int(line.split()[1]) * 1024

def measure(call):
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS:")
    result = call()
    return result, _status("VmHWM:") - before
"""

_MEASURE = (
    _PRELUDE
    + """
import json, time
from types import SimpleNamespace
from shiren.intake import ImageRejected, decode_image
from shiren.services import device
from shiren.settings import Settings
device.require_consent = lambda runtime, ctx: None
runtime = SimpleNamespace(settings=Settings(), models=SimpleNamespace(detector=None))
paths = {
    "url image": lambda data: decode_image(data, "FaceImageUrl", Settings()),
    "guide frame": lambda data: device.guide_hint(runtime, None, data),
}
decode_image(Path(sys.argv[2]).read_bytes(), "warm-up", Settings())

def refused(call, data):
    try:
        call(data)
    except ImageRejected as exc:
        return exc.reason
    return None

out = {}
for file in sys.argv[3:]:
    data = Path(file).read_bytes()
    for path, call in paths.items():
        started = time.perf_counter()
        reason, grown = measure(lambda: refused(call, data))
        seconds = time.perf_counter() - started
        out[f"{Path(file).name} / {path}"] = {"seconds": seconds, "grown_mb": grown / 2**20, "reason": reason}
print(json.dumps(out))
"""
)
needs_proc = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="measures peak memory through /proc (Linux)"
)


@needs_proc
def test_hostile_files_cost_neither_time_nor_memory(tmp_path: Path) -> None:
    """In a fresh process, each path, each file: peak RSS grows by less than 16 MB, in under 2 s (before:
    +2.3 GB for the 20000×20000 header in the guide, +480 MB for a 6000×6000 one, 7.5 s for the scans)."""
    files = []
    for i, (data, _reason) in enumerate(HOSTILE.values()):
        files.append(tmp_path / f"hostile{i}.jpg")
        files[-1].write_bytes(data)
    warm = tmp_path / "warm.jpg"
    warm.write_bytes(NOISE)
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(ROOT), str(warm), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cases = json.loads(run.stdout)
    assert len(cases) == 2 * len(HOSTILE)
    for name, case in cases.items():
        assert case["reason"] is not None, f"{name} was accepted"
        assert case["seconds"] < 2, name
        assert case["grown_mb"] < 16, name


_PEAK = (
    _PRELUDE
    + """
from shiren.intake import ImageLimits, decode_untrusted
data = Path(sys.argv[2]).read_bytes()
limits = ImageLimits(max_bytes=30 * 2**20, max_pixels=int(sys.argv[3]))
image, grown = measure(lambda: decode_untrusted(data, "photo", limits))
print(grown, image.width * image.height)
"""
)


def _gradient(w: int, h: int) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    base = ((x // 64 + y // 64) % 2 * 60 + 100).astype(np.uint8)
    return Image.fromarray(np.stack([base, base // 2 + 50, 255 - base], -1))


@pytest.mark.parametrize(
    ("name", "mode", "fmt", "save"),
    [
        ("progressive 4:4:4 JPEG, EXIF-rotated", "RGB", "JPEG", {"progressive": True, "subsampling": 0}),
        ("RGBA PNG", "RGBA", "PNG", {}),
        ("WebP", "RGB", "WEBP", {"quality": 80}),
    ],
)
@needs_proc
def test_peak_memory_is_bounded(
    tmp_path: Path, name: str, mode: str, fmt: str, save: dict[str, object]
) -> None:
    """The stated bound (ImageLimits.peak_bytes) holds for the costliest kinds of each format."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "big"
    _gradient(4000, 3000).convert(mode).save(path, fmt, exif=exif.tobytes(), **save)
    pixels = 4000 * 3000
    run = subprocess.run(
        [sys.executable, "-c", _PEAK, str(ROOT), str(path), str(pixels)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grown, decoded = map(int, run.stdout.split())
    assert decoded == pixels
    limits = ImageLimits(30 * 2**20, pixels, formats=(fmt.lower(),))
    assert pixels * 3 <= grown <= limits.peak_bytes, name


# --- the work per image ---------------------------------------------------------------------------------


def test_5000_scans_are_refused_by_the_marker_walk_alone() -> None:
    data = hostile.many_scans(5000)
    assert hostile.scan_count(data) == 5000 and len(data) < 120_000
    assert refusal(check_image, data, "photo", LIMITS).reason == "JPEG has more than 32 scans"


def test_one_scan_over_the_bound_is_refused() -> None:
    assert "more than 32 scans" in refusal(check_image, hostile.many_scans(33), "photo", LIMITS).reason


@pytest.mark.parametrize(
    "encode",
    [
        lambda a: hostile.jpeg((a.shape[1], a.shape[0]), progressive=True),
        lambda a: cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_OPTIMIZE, 1])[1],
        lambda a: hostile.jpeg((a.shape[1], a.shape[0]), progressive=True, subsampling=0),
    ],
    ids=["pillow", "opencv", "pillow-444"],
)
def test_real_progressive_jpegs_stay_well_under_the_scan_bound(encode) -> None:
    data = bytes(encode(np.zeros((48, 64, 3), np.uint8)))
    header = check_image(data, "photo", LIMITS)
    assert header.scans == 10 <= MAX_JPEG_SCANS // 3
    assert decode_image(data, "photo", SETTINGS).width == 64


def test_greyscale_progressive_jpeg_has_6_scans() -> None:
    out = io.BytesIO()
    Image.new("L", (64, 48), 90).save(out, "JPEG", progressive=True)
    assert check_image(out.getvalue(), "photo", LIMITS).scans == 6


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("keep", [0.3, 0.5, 0.8, 0.97])
def test_truncated_jpeg_with_an_end_marker_is_refused(progressive: bool, keep: float) -> None:
    """The marker walk sees a complete file; libjpeg would fill the rest with grey: strict decoding."""
    data = hostile.truncated_with_end(hostile.jpeg((320, 240), progressive=progressive), keep)
    check_image(data, "IdCardFrontImageUrl", LIMITS)  # the structure looks complete ...
    error = refusal(decode_image, data, "IdCardFrontImageUrl", SETTINGS)  # ... the data is not
    assert error.message == "IdCardFrontImageUrl: image is truncated"


def test_truncated_png_with_an_end_chunk_is_refused() -> None:
    data = make_image("PNG", (320, 240))
    at = data.index(b"IDAT")
    payload = data[at + 4 : at + 4 + struct.unpack(">I", data[at - 4 : at])[0]][:1000]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    cut = data[: at - 4] + chunk(b"IDAT", payload) + chunk(b"IEND", b"")
    assert refusal(decode_image, cut, "photo", SETTINGS).reason == "image is truncated"


# --- no data behind a huge header -----------------------------------------------------------------------


def test_a_claim_under_the_pixel_cap_is_refused_for_lack_of_data() -> None:
    data = hostile.claiming(hostile.jpeg(), 4000, 4000)
    assert SETTINGS.max_image_pixels >= 4000 * 4000
    error = refusal(check_image, data, "photo", LIMITS)
    assert error.reason == f"image claims 4000×4000 pixels but holds only {len(data)} bytes of data"


def _flat(fmt: str, size: tuple[int, int], **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (128, 128, 128)).save(out, fmt, **save)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "save"),
    [
        ("JPEG", {"quality": 90}),
        ("JPEG", {"quality": 90, "progressive": True}),
        ("JPEG", {"quality": 90, "optimize": True}),
        ("PNG", {}),
    ],
)
@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (4000, 3000)])
def test_flat_pictures_are_still_accepted(fmt: str, save: dict[str, object], size: tuple[int, int]) -> None:
    """The flattest ordinary encodings are the evidence for MAX_EXPANSION: they must stay under it."""
    data = _flat(fmt, size, **save)
    assert size[0] * size[1] * 3 / len(data) < MAX_EXPANSION
    header = check_image(data, "photo", ImageLimits(LIMITS.max_bytes, 4000 * 3000))
    assert (header.width, header.height) == size


def test_a_blank_lossless_webp_is_refused_for_lack_of_data() -> None:
    data = _flat("WEBP", (640, 480), lossless=True)
    assert len(data) < 200
    assert "holds only" in refusal(check_image, data, "photo", LIMITS).reason


def test_real_photos_and_card_images_are_far_below_the_expansion_limit() -> None:
    from tests.fixtures.idcards import make_card
    from tests.fixtures.photos import NAMES, photo

    samples = [photo(n).read_bytes() for n in NAMES]
    card = make_card(0)
    samples += [card.front, card.back]
    for data in samples:
        header = check_image(data, "photo", LIMITS)
        assert header.width * header.height * 3 / len(data) < MAX_EXPANSION / 10
        assert decode_image(data, "photo", SETTINGS).width == header.width
