"""Turn untrusted image bytes into upright BGR pixels, refusing anything odd before it reaches a decoder.

Order matters: size and magic bytes first (cheap), then the pixel count read from the format's own header
by the small parsers below (so a decompression bomb is refused without allocating anything), then Pillow
(restricted to the one detected format) verifies and decodes. Truncated files raise instead of coming back
half grey, even where some other code has set Pillow's global ``LOAD_TRUNCATED_IMAGES`` (JPEG: the marker
walk must reach the end-of-image marker; PNG: ``verify()`` reads every chunk to IEND; WebP: the RIFF length
must fit). EXIF orientation is applied, then every piece of metadata is left behind: only the pixels
survive, and :func:`reencode_jpeg` makes a clean JPEG of them for storage.

Decoding is CPU work: async callers should run :func:`decode_image` in a thread.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from shiren.intake.errors import ImageRejected, human_size
from shiren.settings import Settings

log = logging.getLogger(__name__)

# Hard ceiling on input size, whatever the settings say; larger blobs are refused before any parsing.
MAX_INPUT_BYTES = 30 * 1024 * 1024

_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Formats we recognise only to say precisely what was sent.
_OTHER_MAGIC = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"%PDF", "PDF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"<svg", "SVG"),
    (b"<?xml", "XML/SVG"),
    (b"PK\x03\x04", "ZIP"),
)
# JPEG start-of-frame markers (all coding processes); C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_WHITE = (255, 255, 255)


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """An accepted image: upright pixels only, no metadata.

    ``bgr`` is ``height × width × 3`` uint8 in OpenCV channel order; ``format`` is what was received
    (``"jpeg"``, ``"png"`` or ``"webp"``); ``sha256`` is the hex digest of the bytes as received (for
    audit and de-duplication; the stored copy is a re-encoding and hashes differently).
    """

    bgr: np.ndarray
    format: str
    width: int
    height: int
    sha256: str


class _Malformed(Exception):
    """Raised by the header parsers; turned into an ImageRejected with the field name."""


def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or ``"webp"`` from the magic bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _describe_unknown(data: bytes) -> str:
    head = data[:16]
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return f"{name} is not accepted; send a JPEG, PNG or WebP image"
    if head[4:8] == b"ftyp":
        return "HEIC/AVIF/MP4 is not accepted; send a JPEG, PNG or WebP image"
    return "not a JPEG, PNG or WebP image"


def _png_size(data: bytes) -> tuple[int, int]:
    # Signature, then the IHDR chunk: length 13, "IHDR", width, height (big-endian).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _Malformed("PNG header is missing or truncated")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _webp_size(data: bytes) -> tuple[int, int]:
    if len(data) < 30:
        raise _Malformed("WebP header is truncated")
    riff_size = struct.unpack("<I", data[4:8])[0]
    if riff_size + 8 > len(data):
        raise _Malformed("WebP file is truncated")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        # Lossy: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
        if data[23:26] != b"\x9d\x01\x2a":
            raise _Malformed("WebP (lossy) header is malformed")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        # Lossless: signature 0x2f, then width-1 and height-1 as two 14-bit fields.
        if data[20] != 0x2F:
            raise _Malformed("WebP (lossless) header is malformed")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        # Extended: flags, 3 reserved bytes, canvas width-1 and height-1 as 24-bit fields.
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise _Malformed("WebP header is malformed")


def _jpeg_walk(data: bytes) -> tuple[tuple[int, int] | None, str | None]:
    """Walk the JPEG marker structure to the end-of-image marker without decoding anything.

    Returns the frame size (from the first SOF marker, None if none was reached) and a problem description
    (None when the structure is complete). The walk is independent of Pillow's truncated-file setting.
    """
    n = len(data)
    size: tuple[int, int] | None = None
    i = 2
    while True:
        if i >= n:
            return size, "JPEG file is truncated"
        if data[i] != 0xFF:
            return size, "JPEG structure is malformed"
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return size, "JPEG file is truncated"
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return size, None if size is not None else "JPEG has no image frame"
        if marker in _JPEG_STANDALONE:
            continue
        if i + 2 > n:
            return size, "JPEG file is truncated"
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            return size, "JPEG structure is malformed"
        if i + length > n:
            return size, "JPEG file is truncated"
        if marker in _JPEG_SOF and size is None:
            if length < 7:
                return size, "JPEG frame header is malformed"
            height, width = struct.unpack(">HH", data[i + 3 : i + 7])
            size = (width, height)
        i += length
        if marker == 0xDA:
            # Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    return size, "JPEG file is truncated"
                following = data[j + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    i = j + 2
                    continue
                i = j
                break


def _reject(field: str, reason: str) -> ImageRejected:
    log.info("image refused: %s", reason)
    return ImageRejected(field, reason)


def _header_check(data: bytes, fmt: str, field: str, max_pixels: int) -> tuple[int, int]:
    """Size from the format's header; refuse bombs and (for JPEG) truncation before any decoding."""
    problem: str | None = None
    try:
        if fmt == "jpeg":
            size, problem = _jpeg_walk(data)
            if size is None:
                raise _Malformed(problem or "JPEG has no image frame")
        elif fmt == "png":
            size = _png_size(data)
        else:
            size = _webp_size(data)
    except _Malformed as exc:
        raise _reject(field, str(exc)) from None
    width, height = size
    if width == 0 or height == 0:
        raise _reject(field, f"image header declares an empty {width}×{height} image")
    if width * height > max_pixels:
        raise _reject(field, f"image is {width}×{height} pixels, more than the {max_pixels} pixels allowed")
    if problem is not None:
        raise _reject(field, problem)
    return width, height


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any mode Pillow gives us to 8-bit RGB; transparency goes onto white, like a printed photo."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = (np.asarray(image).astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored rather than failing the image."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception as exc:  # Pillow raises assorted errors on malformed EXIF
        log.debug("ignoring unreadable EXIF orientation (%s)", type(exc).__name__)
        return image


def decode_image(data: bytes, field: str, settings: Settings) -> DecodedImage:
    """Check and decode one untrusted image given as the API parameter ``field``.

    Raises :class:`ImageRejected` (with ``field`` and ``reason``) for empty,
    oversized, unsupported, truncated, corrupt or too-many-pixel images.
    """
    if not data:
        raise _reject(field, "image is empty (0 bytes)")
    if len(data) > MAX_INPUT_BYTES:
        raise _reject(field, f"image larger than {human_size(MAX_INPUT_BYTES)}")
    fmt = sniff_format(data)
    if fmt is None:
        raise _reject(field, _describe_unknown(data))
    max_pixels = settings.max_image_pixels
    width, height = _header_check(data, fmt, field, max_pixels)
    formats = [_PILLOW_FORMAT[fmt]]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as probe:
            if probe.size != (width, height):
                raise _reject(field, "image header is inconsistent")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=formats) as image:
            image.load()
            rgb = _to_rgb(_upright(image))
            pixels = np.asarray(rgb, dtype=np.uint8)
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise _reject(field, f"image has more than the {max_pixels} pixels allowed") from None
    except MemoryError:
        raise
    except Exception as exc:  # any decoder failure means the bytes are not a usable image
        reason = "image is truncated" if "truncated" in str(exc).lower() else "image data is corrupt"
        raise _reject(field, reason) from None
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise _reject(field, "image data is corrupt")
    bgr = np.ascontiguousarray(pixels[:, :, ::-1])
    return DecodedImage(
        bgr=bgr,
        format=fmt,
        width=int(bgr.shape[1]),
        height=int(bgr.shape[0]),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def reencode_jpeg(image: DecodedImage | np.ndarray, *, quality: int = 90) -> bytes:
    """A fresh baseline JPEG of the pixels (a DecodedImage or a BGR array), with no EXIF, ICC or comments."""
    bgr = image.bgr if isinstance(image, DecodedImage) else image
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError("expected an H×W×3 uint8 BGR array")
    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
