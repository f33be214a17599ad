"""Decoding untrusted image bytes: formats, truncation, decompression bombs, EXIF orientation, stripping."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from shiren.intake import (
    MAX_INPUT_BYTES,
    DecodedImage,
    ImageRejected,
    decode_image,
    reencode_jpeg,
    sniff_format,
)
from shiren.settings import Settings

from .conftest import make_image

FIELD = "IdCardFrontImageUrl"
SETTINGS = Settings()
# BGR order: pure red in RGB is (0, 0, 255) in the decoded array.
RED_RGB = (255, 0, 0)


def rejected(data: bytes, settings: Settings = SETTINGS) -> str:
    with pytest.raises(ImageRejected) as info:
        decode_image(data, FIELD, settings)
    assert info.value.field == FIELD
    assert info.value.message.startswith(f"{FIELD}: ")
    return info.value.message


def encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def half_red_image(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue: orientation is visible in the pixels."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste(RED_RGB, (0, 0, size[0] // 2, size[1]))
    return image


# --- accepted images ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "save", "expected"),
    [
        ("JPEG", {"quality": 95}, "jpeg"),
        ("JPEG", {"progressive": True}, "jpeg"),
        ("PNG", {}, "png"),
        ("WEBP", {"quality": 90}, "webp"),
        ("WEBP", {"lossless": True}, "webp"),
    ],
)
def test_valid_images_decode_to_bgr(fmt: str, save: dict[str, object], expected: str) -> None:
    data = encode(half_red_image((64, 48)), fmt, **save)
    image = decode_image(data, FIELD, SETTINGS)
    assert isinstance(image, DecodedImage)
    assert image.format == expected
    assert (image.width, image.height) == (64, 48)
    assert image.bgr.shape == (48, 64, 3) and image.bgr.dtype == np.uint8
    assert image.bgr.flags["C_CONTIGUOUS"]
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    left, right = image.bgr[24, 8].astype(int), image.bgr[24, 56].astype(int)
    assert left[2] > 200 and left[0] < 60  # red
    assert right[0] > 200 and right[2] < 60  # blue


def test_noise_png_round_trips_exactly() -> None:
    data = make_image("PNG", (33, 17))
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[:, :, ::-1]
    assert np.array_equal(decode_image(data, FIELD, SETTINGS).bgr, expected)


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16", "CMYK"])
def test_other_pixel_modes_become_rgb(mode: str) -> None:
    source = half_red_image((16, 8))
    if mode == "I;16":
        image = Image.fromarray(np.full((8, 16), 40000, dtype=np.uint16))
    elif mode == "CMYK":
        image = source.convert("CMYK")
    else:
        image = source.convert(mode)
    data = encode(image, "JPEG" if mode == "CMYK" else "PNG")
    decoded = decode_image(data, FIELD, SETTINGS)
    assert decoded.bgr.shape == (8, 16, 3)
    if mode == "I;16":
        assert int(decoded.bgr[0, 0, 0]) == 40000 >> 8


def test_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    decoded = decode_image(encode(image, "PNG"), FIELD, SETTINGS)
    assert (decoded.bgr == 255).all()


def test_sniff_format() -> None:
    assert sniff_format(make_image("JPEG")) == "jpeg"
    assert sniff_format(make_image("PNG")) == "png"
    assert sniff_format(make_image("WEBP")) == "webp"
    assert sniff_format(make_image("GIF")) is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None


# --- refused before decoding --------------------------------------------------------------------------------


def test_empty_image() -> None:
    assert rejected(b"") == f"{FIELD}: image is empty (0 bytes)"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (make_image("GIF"), "GIF is not accepted"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF is not accepted"),
        (make_image("BMP"), "BMP is not accepted"),
        (make_image("TIFF"), "TIFF is not accepted"),
        (b"hello, this is not an image", "not a JPEG, PNG or WebP image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG is not accepted"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00", "HEIC/AVIF/MP4 is not accepted"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a JPEG, PNG or WebP image"),
        (b"\xff\xd8", "not a JPEG, PNG or WebP image"),
    ],
)
def test_wrong_magic_bytes(data: bytes, reason: str) -> None:
    assert reason in rejected(data)


def test_30mb_blob_is_refused_before_parsing_whatever_the_settings_allow() -> None:
    blob = b"\xff\xd8\xff\xe0" + bytes(MAX_INPUT_BYTES)
    started = time.monotonic()
    assert rejected(blob, Settings(max_image_bytes=100 * 1024 * 1024)) == f"{FIELD}: image larger than 30 MB"
    assert time.monotonic() - started < 0.5


def test_the_byte_limit_of_the_settings_applies_to_every_image() -> None:
    blob = b"\xff\xd8\xff\xe0" + bytes(SETTINGS.max_image_bytes)
    assert rejected(blob) == f"{FIELD}: image larger than 2 MB"


def test_png_decompression_bomb_is_refused_from_its_header() -> None:
    """A 100000×100000 PNG header (10^10 pixels) over a tiny body: refused without allocating anything."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    bomb = (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )
    started = time.monotonic()
    message = rejected(bomb)
    assert "100000×100000 pixels, more than the 16000000 pixels allowed" in message
    assert time.monotonic() - started < 0.5


def test_jpeg_decompression_bomb_is_refused_from_its_frame_header() -> None:
    data = bytearray(make_image("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    assert "60000×60000 pixels" in rejected(bytes(data))


def test_webp_decompression_bomb_is_refused_from_its_header() -> None:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x
    bomb = b"RIFF" + struct.pack("<I", len(body)) + body
    assert "16384×16384 pixels" in rejected(bomb)


def test_pixel_cap_comes_from_settings() -> None:
    data = make_image("PNG", (20, 20))
    assert "20×20 pixels, more than the 100 pixels allowed" in rejected(data, Settings(max_image_pixels=100))
    assert decode_image(data, FIELD, Settings(max_image_pixels=400)).width == 20


def test_zero_sized_header_is_refused() -> None:
    data = bytearray(make_image("PNG", (4, 4)))
    data[16:20] = b"\x00\x00\x00\x00"
    assert "empty 0×4 image" in rejected(bytes(data))


# --- truncated and corrupt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("save", [{}, {"progressive": True}])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -2, -1])
def test_truncated_jpeg_is_refused(save: dict[str, object], keep: float) -> None:
    data = make_image("JPEG", (120, 80), **save)
    cut = data[: int(len(data) * keep)] if keep > 0 else data[: int(keep)]
    assert "truncated" in rejected(cut)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncation_is_refused_even_if_pillow_allows_it(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Our own structure checks find the missing end, so a global Pillow setting cannot let half-grey in."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = make_image(fmt, (120, 80))
    for keep in (0.3, 0.9):
        assert "truncated" in rejected(data[: int(len(data) * keep)])


def test_jpeg_with_trailing_bytes_after_end_is_accepted() -> None:
    data = make_image("JPEG", (32, 32)) + b"trailer appended by some cameras"
    assert decode_image(data, FIELD, SETTINGS).width == 32


@pytest.mark.parametrize("keep", [0.3, 0.7, -13])
def test_truncated_png_is_refused(keep: float) -> None:
    data = make_image("PNG", (120, 80))
    cut = data[: int(len(data) * keep)] if keep > 0 else data[: int(keep)]
    message = rejected(cut)
    assert "truncated" in message or "corrupt" in message


@pytest.mark.parametrize("lossless", [False, True])
@pytest.mark.parametrize("keep", [0.5, -1])
def test_truncated_webp_is_refused(lossless: bool, keep: float) -> None:
    data = make_image("WEBP", (120, 80), lossless=lossless)
    cut = data[: int(len(data) * keep)] if keep > 0 else data[: int(keep)]
    assert "truncated" in rejected(cut)


def test_png_with_bad_checksum_is_refused() -> None:
    data = bytearray(make_image("PNG", (32, 32)))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    assert "corrupt" in rejected(bytes(data))


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 10,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 300,
    ],
)
def test_garbage_behind_valid_magic_is_refused(data: bytes) -> None:
    rejected(data)


# --- EXIF orientation and metadata --------------------------------------------------------------------------


def exif_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "SecretCam"  # Make: a stand-in for identifying metadata
    return encode(half_red_image((40, 20)), "JPEG", exif=exif.tobytes(), quality=95)


def test_exif_rotated_jpeg_comes_out_upright() -> None:
    """Orientation 6: the stored 40×20 picture is shown rotated 90° clockwise, i.e. 20 wide and 40 tall."""
    data = exif_jpeg(6)
    assert b"SecretCam" in data
    image = decode_image(data, FIELD, SETTINGS)
    assert (image.width, image.height) == (20, 40)
    top, bottom = image.bgr[5, 10].astype(int), image.bgr[35, 10].astype(int)
    assert top[2] > 200 and top[0] < 60  # the red (left) half is now on top
    assert bottom[0] > 200 and bottom[2] < 60


@pytest.mark.parametrize("orientation", [1, 3, 8])
def test_other_orientations(orientation: int) -> None:
    image = decode_image(exif_jpeg(orientation), FIELD, SETTINGS)
    expected = {1: (40, 20), 3: (40, 20), 8: (20, 40)}[orientation]
    assert (image.width, image.height) == expected


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("progressive", [False, True])
def test_every_orientation_matches_pillows_exif_transpose(orientation: int, progressive: bool) -> None:
    """JPEGs are decoded by libjpeg-turbo directly and turned in numpy: the pixels must be Pillow's."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    image = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (24, 40, 3), dtype=np.uint8))
    data = encode(image, "JPEG", exif=exif.tobytes(), quality=92, progressive=progressive)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))[:, :, ::-1]
    decoded = decode_image(data, FIELD, SETTINGS)
    assert (decoded.height, decoded.width) == expected.shape[:2]
    assert np.array_equal(decoded.bgr, expected)


def test_reencoded_jpeg_has_no_metadata_and_keeps_orientation() -> None:
    image = decode_image(exif_jpeg(6), FIELD, SETTINGS)
    clean = reencode_jpeg(image)
    assert b"SecretCam" not in clean and b"Exif" not in clean
    reopened = Image.open(io.BytesIO(clean))
    assert reopened.format == "JPEG"
    assert not reopened.getexif()
    assert "exif" not in reopened.info and "icc_profile" not in reopened.info
    again = decode_image(clean, FIELD, SETTINGS)
    assert (again.width, again.height) == (20, 40)
    assert np.abs(again.bgr.astype(int) - image.bgr.astype(int)).mean() < 8


def test_reencode_accepts_a_bgr_array_and_refuses_other_shapes() -> None:
    bgr = np.zeros((8, 12, 3), dtype=np.uint8)
    assert Image.open(io.BytesIO(reencode_jpeg(bgr))).size == (12, 8)
    with pytest.raises(ValueError):
        reencode_jpeg(np.zeros((8, 12), dtype=np.uint8))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_exif_does_not_fail_the_image() -> None:
    base = make_image("JPEG", (16, 16))
    app1 = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + b"\xff" * 20
    data = base[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + base[2:]
    assert decode_image(data, FIELD, SETTINGS).width == 16
