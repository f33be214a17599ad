"""Flash liveness (RPBioOnlyPro): the screen shows a random colour sequence while recording, and a real face
a few centimetres away reflects it. The skin colour of the face must follow the sequence.

A photo or screen held to the camera reflects little, and a replayed or synthesised capture does not know
the sequence. The device's clock and the recording start differ by up to a few hundred milliseconds, so
the sequence is aligned within a small window of offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .signals import FrameSignals

MIN_CORRELATION = 0.7
MIN_AMPLITUDE = 0.004  # chromaticity change; camera noise on a still face stays well below this
OFFSETS_MS = range(-200, 601, 50)


@dataclass
class FlashResult:
    correlation: float
    amplitude: float
    offset_ms: int
    segments_seen: int

    @property
    def passed(self) -> bool:
        return self.correlation >= MIN_CORRELATION and self.amplitude >= MIN_AMPLITUDE


def _hex_to_bgr_chroma(colour: str) -> np.ndarray:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    v = np.array([b, g, r], dtype=float) + 1.0
    return v / v.sum()


def flash_response(signals: list[FrameSignals], flash: dict[str, Any]) -> FlashResult:
    colours = [_hex_to_bgr_chroma(c) for c in flash["colors"]]
    seg = float(flash["segmentMs"])
    start = float(flash["startMs"])
    t = np.array([s.t_ms for s in signals if s.skin_bgr is not None])
    chroma = np.array(
        [s.skin_bgr / max(float(s.skin_bgr.sum()), 1e-6) for s in signals if s.skin_bgr is not None]
    )
    best = FlashResult(0.0, 0.0, 0, 0)
    if len(t) == 0:
        return best
    for offset in OFFSETS_MS:
        observed, expected = [], []
        for k, colour in enumerate(colours):
            lo = start + offset + k * seg + 0.25 * seg
            hi = start + offset + (k + 1) * seg - 0.1 * seg
            inside = (t >= lo) & (t <= hi)
            if inside.any():
                observed.append(chroma[inside].mean(axis=0))
                expected.append(colour)
        if len(observed) < max(3, len(colours) - 2):
            continue
        d = np.array(observed) - np.mean(observed, axis=0)
        e = np.array(expected) - np.mean(expected, axis=0)
        denom = float(np.linalg.norm(d) * np.linalg.norm(e))
        corr = float((d * e).sum() / denom) if denom > 0 else 0.0
        amplitude = float(np.abs(d).max())
        if corr > best.correlation:
            best = FlashResult(corr, amplitude, offset, len(observed))
    return best
