"""Hostile image files, built from scratch: each one is small and cheap to send, and costly to decode naively.

They are what a holder of a VerifyToken (or an integrator's compromised image host) can send to any image
path; tests/intake/test_decode_budgets.py checks that each is refused from its header, quickly and without
allocating its claimed pixels.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

EOI = b"\xff\xd9"


def jpeg(size: tuple[int, int] = (16, 16), *, flat: bool = False, **save: object) -> bytes:
    """A small, valid JPEG (noise, or one flat grey when ``flat``)."""
    w, h = size
    if flat:
        pixels = np.full((h, w, 3), 128, np.uint8)
    else:
        pixels = np.random.default_rng(3).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", **{"quality": 90, **save})
    return out.getvalue()


def claiming(data: bytes, width: int, height: int) -> bytes:
    """``data`` with its frame header (the first SOF marker) rewritten to declare ``width × height``."""
    out = bytearray(data)
    for sof in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2"):
        at = out.find(sof)
        if at >= 0:
            out[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(out)
    raise ValueError("no frame header")


def huge_header(width: int = 20000, height: int = 20000) -> bytes:
    """A ~630-byte JPEG whose header claims ``width × height``: no data behind it."""
    return claiming(jpeg(), width, height)


def segments(data: bytes) -> list[bytes]:
    """A JPEG cut into its segments (each marker with its payload; a scan with its entropy-coded data)."""
    parts, i = [data[:2]], 2
    while i < len(data):
        marker = data[i + 1]
        if marker == 0xD9:
            parts.append(data[i : i + 2])
            break
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        end = i + 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next real marker
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0x00 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        parts.append(data[i:end])
        i = end
    return parts


def many_scans(scans: int = 5000, size: tuple[int, int] = (2048, 2048)) -> bytes:
    """A progressive JPEG of a flat picture whose last (empty) AC scan is repeated until there are
    ``scans`` scans: a few bytes each, and a full pass over the picture each for a decoder."""
    parts = segments(jpeg(size, flat=True, progressive=True))
    sos = [k for k, p in enumerate(parts) if p[:2] == b"\xff\xda"]
    extra = [parts[sos[-1]]] * (scans - len(sos))
    return b"".join(parts[:-1] + extra + parts[-1:])


def truncated_with_end(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` of a JPEG with an end-of-image marker appended: its structure looks complete."""
    return data[: int(len(data) * keep)] + EOI


def scan_count(data: bytes) -> int:
    return sum(1 for p in segments(data) if p[:2] == b"\xff\xda")
