"""Turn untrusted image bytes into upright BGR pixels, refusing anything odd before it reaches a decoder.

One entry point, :func:`decode_untrusted` (``decode_image`` is the same with the limits of the settings),
for every image path: card uploads, VerifyMaterial and other URL images, authority and registry photos,
the device's preview frames. Order matters, and every budget is checked before a single pixel is decoded:

1. size and magic bytes (cheap), against :class:`ImageLimits` (bytes, accepted formats);
2. the format's own header, read by the small parsers below: the pixel count and the side length (so a
   decompression bomb is refused without allocating anything), the data behind them (a header claiming
   millions of pixels over a few hundred bytes is refused: :data:`MAX_EXPANSION`), and for JPEG the whole
   marker structure: the end-of-image marker must be reached (truncation) and the scans are counted (each
   scan of a progressive JPEG is one more pass over the picture: :data:`MAX_JPEG_SCANS`);
3. the decoder. JPEG goes to libjpeg-turbo through ``simplejpeg`` with warnings treated as errors, so a
   truncated file with an end marker appended (which libjpeg would otherwise fill with grey) is refused;
   PNG and WebP go to Pillow, restricted to the one detected format (PNG: ``verify()`` reads every chunk to
   IEND; WebP: the RIFF length must fit). Truncated files raise instead of coming back half grey, even
   where some other code has set Pillow's global ``LOAD_TRUNCATED_IMAGES``.

EXIF orientation is applied, then every piece of metadata is left behind: only the pixels survive, and
:func:`reencode_jpeg` makes a clean JPEG of them for storage.

Decoding is CPU work: async callers should run :func:`decode_image` in a thread.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simplejpeg
from PIL import Image, ImageOps

from shiren.intake.errors import ImageRejected, human_size
from shiren.settings import Settings

log = logging.getLogger(__name__)

# Hard ceiling on input size, whatever the settings say; larger blobs are refused before any parsing.
MAX_INPUT_BYTES = 30 * 1024 * 1024
# Scans one JPEG may have. Each scan of a progressive JPEG is a pass over every block of the picture, so a
# file of 5000 empty scans (105 KB) took 7.5 s to decode. libjpeg's standard progressive script has 10
# scans for colour and 6 for greyscale (2 + 4 per component otherwise: 18 for CMYK); a baseline JPEG has 1
# (one per component, 3 or 4, when not interleaved). The photos and card images of tests/fixtures have 1 or
# 10 (bench/decode_limits.py). 32 is about twice the largest standard script.
MAX_JPEG_SCANS = 32
# Decoded bytes (width × height × 3) one byte of file may stand for. Measured with bench/decode_limits.py:
# real photos and card images of tests/fixtures reach 51. Flat pictures, the most compressible there are:
# 1280×720 at quality 90 reaches 184 (baseline JPEG), 466 (progressive), 486 (optimised Huffman tables);
# flat JPEGs of any size stay under 510 in colour and 770 in greyscale; flat 8-bit RGB PNGs reach 1028
# (black, 4000×3000: deflate's own ceiling is 1032). 1200 accepts all of those. It refuses headers with no
# data behind them (a 6000×6000 claim in 862 bytes: 125000) and pictures with almost no information, which
# show nobody: flat WebP (1450 and more), large flat greyscale PNGs (1961 at 4000×3000; 1140 at 1280×720
# still passes), flat palette or 1-bit PNGs (6900 and more).
MAX_EXPANSION = 1200
# Peak memory of one decode, in bytes per pixel allowed, by format: the BGR result (3), one more copy of 3
# while it is turned upright or converted, and the decoder's working memory. Measured as peak RSS growth of
# a fresh process decoding 40-megapixel images (tests/intake/test_decode_budgets.py checks it at 12 MP):
# JPEG 3.0 (baseline), 7.0 (CMYK), 9.0 (progressive 4:4:4, EXIF-rotated: libjpeg keeps every coefficient);
# PNG 10.0 (RGB), 14.0 (RGBA, flattened onto white); WebP 18.1 (Pillow's decoder holds two 4-byte copies).
PEAK_BYTES_PER_PIXEL = {"jpeg": 10, "png": 15, "webp": 20}

FORMATS = ("jpeg", "png", "webp")
_FORMAT_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP"}
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
_JPEG_SOS = 0xDA
# In entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or a restart marker; anything else ends it.
_JPEG_MARKER_AFTER_DATA = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_EXIF_ORIENTATION = 0x0112
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class ImageLimits:
    """What one untrusted image may cost, all checked from its header before any pixel is decoded.

    Memory: decoding one image allocates ``max_pixels × 3`` bytes for the result plus the decoder's
    overhead, :attr:`peak_bytes` in all (``max_pixels`` × :data:`PEAK_BYTES_PER_PIXEL` of the costliest
    format allowed: with the defaults, 40 million pixels of any format, up to 800 MB, 400 MB for JPEG; for a
    preview frame of 1280 × 1280 JPEG, 16 MB). A request costs that per image it decodes at the same time
    (VerifyMaterial: up to three). Work is bounded likewise: at most :data:`MAX_EXPANSION` / 3 pixels per
    byte received, and at most :data:`MAX_JPEG_SCANS` passes over them for a JPEG.
    """

    max_bytes: int
    max_pixels: int
    max_side: int | None = None
    formats: tuple[str, ...] = FORMATS

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageLimits:
        """The limits of every integrator or user image: ``SHIREN_MAX_IMAGE_BYTES`` (never more than
        :data:`MAX_INPUT_BYTES`) and ``SHIREN_MAX_IMAGE_PIXELS``."""
        return cls(
            max_bytes=min(settings.max_image_bytes, MAX_INPUT_BYTES), max_pixels=settings.max_image_pixels
        )

    @property
    def peak_bytes(self) -> int:
        """The most memory one decode under these limits takes (measured bound, see PEAK_BYTES_PER_PIXEL)."""
        return self.max_pixels * max(PEAK_BYTES_PER_PIXEL[f] for f in self.formats)


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, once every budget has been checked (``scans``: JPEG only, else 1)."""

    format: str
    width: int
    height: int
    scans: int = 1


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


@dataclass(frozen=True)
class _JpegStructure:
    """The result of the marker walk: frame size (None if no frame was reached), scans seen, and the first
    problem found (None when the structure is complete)."""

    size: tuple[int, int] | None
    scans: int
    problem: str | None


def sniff_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or ``"webp"`` from the magic bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _accepted_names(formats: tuple[str, ...]) -> str:
    names = [_FORMAT_NAMES[f] for f in formats]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _describe_unknown(data: bytes, formats: tuple[str, ...] = FORMATS) -> str:
    accepted = _accepted_names(formats)
    head = data[:16]
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return f"{name} is not accepted; send a {accepted} image"
    if head[4:8] == b"ftyp":
        return f"HEIC/AVIF/MP4 is not accepted; send a {accepted} image"
    return f"not a {accepted} image"


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


def _skip_entropy_data(data: bytes, i: int) -> int:
    """Index of the marker ending the entropy-coded data from ``i``, or -1 when the file ends first."""
    found = _JPEG_MARKER_AFTER_DATA.search(data, i)
    return -1 if found is None else found.start()


def _jpeg_walk(data: bytes, max_scans: int = MAX_JPEG_SCANS) -> _JpegStructure:
    """Walk the JPEG marker structure to the end-of-image marker without decoding anything.

    Counts the scans (SOS markers) and stops at the first one over ``max_scans``. The walk is independent
    of Pillow's truncated-file setting and costs one pass over the bytes.
    """
    n = len(data)
    size: tuple[int, int] | None = None
    scans = 0
    i = 2

    def done(problem: str | None) -> _JpegStructure:
        return _JpegStructure(size, scans, problem)

    while True:
        if i >= n:
            return done("JPEG file is truncated")
        if data[i] != 0xFF:
            return done("JPEG structure is malformed")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return done("JPEG file is truncated")
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return done(None if size is not None else "JPEG has no image frame")
        if marker in _JPEG_STANDALONE:
            continue
        if i + 2 > n:
            return done("JPEG file is truncated")
        length = (data[i] << 8) | data[i + 1]
        if length < 2:
            return done("JPEG structure is malformed")
        if i + length > n:
            return done("JPEG file is truncated")
        if marker in _JPEG_SOF and size is None:
            if length < 7:
                return done("JPEG frame header is malformed")
            height, width = struct.unpack(">HH", data[i + 3 : i + 7])
            size = (width, height)
        i += length
        if marker == _JPEG_SOS:
            scans += 1
            if scans > max_scans:
                return done(f"JPEG has more than {max_scans} scans")
            i = _skip_entropy_data(data, i)
            if i < 0:
                return done("JPEG file is truncated")


def _reject(field: str, reason: str) -> ImageRejected:
    log.info("image refused: %s", reason)
    return ImageRejected(field, reason)


def _parse_header(data: bytes, fmt: str) -> tuple[tuple[int, int], int, str | None]:
    """Size, scan count and structural problem of the header; raises _Malformed when there is no size."""
    if fmt == "png":
        return _png_size(data), 1, None
    if fmt == "webp":
        return _webp_size(data), 1, None
    walk = _jpeg_walk(data)
    if walk.size is None:
        raise _Malformed(walk.problem or "JPEG has no image frame")
    return walk.size, walk.scans, walk.problem


def _check_budget(width: int, height: int, n_bytes: int, limits: ImageLimits) -> str | None:
    """Why ``width × height`` pixels from ``n_bytes`` bytes are over the limits, or None."""
    if width == 0 or height == 0:
        return f"image header declares an empty {width}×{height} image"
    if limits.max_side is not None and max(width, height) > limits.max_side:
        return f"image is {width}×{height} pixels, more than {limits.max_side} pixels per side allowed"
    if width * height > limits.max_pixels:
        return f"image is {width}×{height} pixels, more than the {limits.max_pixels} pixels allowed"
    if width * height * 3 > MAX_EXPANSION * n_bytes:
        return f"image claims {width}×{height} pixels but holds only {n_bytes} bytes of data"
    return None


def check_image(data: bytes, field: str, limits: ImageLimits) -> ImageHeader:
    """Every check that needs no pixel: size, type, header, pixel budget, structure (JPEG scans and end).

    Raises :class:`ImageRejected` naming ``field`` and the reason. Costs one pass over the bytes at most.
    """
    if not data:
        raise _reject(field, "image is empty (0 bytes)")
    max_bytes = min(limits.max_bytes, MAX_INPUT_BYTES)
    if len(data) > max_bytes:
        raise _reject(field, f"image larger than {human_size(max_bytes)}")
    fmt = sniff_format(data)
    if fmt is None:
        raise _reject(field, _describe_unknown(data, limits.formats))
    if fmt not in limits.formats:
        raise _reject(
            field,
            f"{_FORMAT_NAMES[fmt]} is not accepted here; send a {_accepted_names(limits.formats)} image",
        )
    try:
        (width, height), scans, problem = _parse_header(data, fmt)
    except _Malformed as exc:
        raise _reject(field, str(exc)) from None
    over = _check_budget(width, height, len(data), limits)
    if over is not None:
        raise _reject(field, over)
    if problem is not None:
        raise _reject(field, problem)
    return ImageHeader(fmt, width, height, scans)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any mode Pillow gives us to 8-bit RGB; transparency goes onto white, like a printed photo."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = np.clip(np.asarray(image) >> 8, 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation in place (no copy when there is none); a broken EXIF block is ignored
    rather than failing the image."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except Exception as exc:  # Pillow raises assorted errors on malformed EXIF
        log.debug("ignoring unreadable EXIF orientation (%s)", type(exc).__name__)
    return image


# EXIF orientation → the array operation that shows the picture upright (as ImageOps.exif_transpose does).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


def _jpeg_orientation(data: bytes) -> int:
    """The EXIF (or XMP) orientation of a JPEG, read by Pillow from the header alone; 1 when unreadable."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as probe:
            return int(probe.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception as exc:  # Pillow raises assorted errors on malformed EXIF
        log.debug("ignoring unreadable EXIF orientation (%s)", type(exc).__name__)
        return 1


def _jpeg_reason(exc: ValueError) -> str:
    """libjpeg's message, put in the words of the other decoders (never passed on verbatim)."""
    text = str(exc).lower()
    return "image is truncated" if "premature end" in text or "truncated" in text else "image data is corrupt"


def _decode_jpeg(data: bytes, header: ImageHeader, field: str) -> np.ndarray:
    """BGR pixels of a JPEG, refusing on any libjpeg warning (truncation, bad data, bogus progression).

    Memory: the result (3 bytes per pixel), libjpeg's coefficients while a progressive JPEG is decoded (3 to
    6 bytes per pixel), and one more copy of 3 when the EXIF orientation turns it."""
    try:
        height, width, _colorspace, _subsampling = simplejpeg.decode_jpeg_header(data, strict=True)
        if (width, height) != (header.width, header.height):
            raise _reject(field, "image header is inconsistent")
        # Greyscale, YCbCr, RGB, CMYK and YCCK alike: libjpeg-turbo converts (CMYK as Adobe's inverted
        # convention, like Pillow, to within 1 level).
        bgr = simplejpeg.decode_jpeg(data, colorspace="BGR", strict=True)
    except ValueError as exc:
        raise _reject(field, _jpeg_reason(exc)) from None
    turn = _ORIENT.get(_jpeg_orientation(data))
    return bgr if turn is None else turn(bgr)


def _decode_with_pillow(data: bytes, header: ImageHeader, field: str) -> np.ndarray:
    """BGR pixels of a PNG or WebP: verified to its end, then decoded, flattened to RGB and turned upright.

    Memory: Pillow's own pixels (4 bytes each, WebP's decoder holds another 4) and a 3-byte copy of them;
    the Pillow image is closed before the caller makes the final BGR copy."""
    formats = [_PILLOW_FORMAT[header.format]]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as probe:
            if probe.size != (header.width, header.height):
                raise _reject(field, "image header is inconsistent")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=formats) as image:
            image.load()
            flat = _to_rgb(_upright(image))
            rgb = np.asarray(flat, dtype=np.uint8)
            flat.close()
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise _reject(field, "image has more pixels than allowed") from None
    except MemoryError:
        raise
    except Exception as exc:  # any decoder failure means the bytes are not a usable image
        reason = "image is truncated" if "truncated" in str(exc).lower() else "image data is corrupt"
        raise _reject(field, reason) from None
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise _reject(field, "image data is corrupt")
    return rgb[:, :, ::-1]


def decode_untrusted(data: bytes, field: str, limits: ImageLimits) -> DecodedImage:
    """Check one untrusted image (the API parameter ``field``) against ``limits``, then decode it.

    Raises :class:`ImageRejected` (with ``field`` and ``reason``) for empty, oversized, unsupported,
    truncated, corrupt, too-many-pixel, too-many-scan or data-less images; nothing is decoded before every
    budget of ``limits`` has been checked from the header. Memory: at most ``limits.peak_bytes``.
    """
    header = check_image(data, field, limits)
    if header.format == "jpeg":
        pixels = _decode_jpeg(data, header, field)
    else:
        pixels = _decode_with_pillow(data, header, field)
    bgr = np.ascontiguousarray(pixels)
    return DecodedImage(
        bgr=bgr,
        format=header.format,
        width=int(bgr.shape[1]),
        height=int(bgr.shape[0]),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def decode_image(data: bytes, field: str, settings: Settings) -> DecodedImage:
    """:func:`decode_untrusted` under the limits of the settings (:meth:`ImageLimits.from_settings`)."""
    return decode_untrusted(data, field, ImageLimits.from_settings(settings))


def reencode_jpeg(image: DecodedImage | np.ndarray, *, quality: int = 90) -> bytes:
    """A fresh baseline JPEG of the pixels (a DecodedImage or a BGR array), with no EXIF, ICC or comments."""
    bgr = image.bgr if isinstance(image, DecodedImage) else image
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError("expected an H×W×3 uint8 BGR array")
    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
