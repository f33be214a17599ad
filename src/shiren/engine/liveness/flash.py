"""Flash liveness (RPBioOnlyPro): the screen shows a random colour sequence while recording, and a real face
a few centimetres away reflects it. The skin colour of the face must follow the sequence.

A photo or screen held to the camera reflects little, and a replayed or synthesised capture does not know
the sequence. The device's clock and the recording start differ by up to a few hundred milliseconds, so
the sequence is aligned within a small window of offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .signals import FrameSignals

MIN_MATCHED = 5 / 6  # share of segments whose colour shift points at the colour shown
MIN_AMPLITUDE = 0.004  # chromaticity shift; camera noise on a still face stays well below this
OFFSETS_MS = range(-200, 501, 50)
WHITE = np.full(3, 1.0 / 3.0)


@dataclass
class FlashResult:
    matched: float  # share of colour segments recognised from the face's colour shift alone
    amplitude: float
    offset_ms: int
    segments_seen: int
    # The colour recognised in each segment, in order (None: no face sample in it): "asked vs seen".
    seen: list[str | None] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.matched >= MIN_MATCHED and self.amplitude >= MIN_AMPLITUDE


def _chroma_of_hex(colour: str) -> np.ndarray:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    v = np.array([b, g, r], dtype=float) + 1.0
    return v / v.sum()


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else v


def flash_response(signals: list[FrameSignals], flash: dict[str, Any]) -> FlashResult:
    """Recognise each colour of the sequence from the face alone: the shift of the skin's chromaticity from
    its unlit value must point toward the colour shown (added light moves chromaticity toward it)."""
    shown = list(flash["colors"])
    palette = sorted(set(shown))
    directions = {c: _unit(_chroma_of_hex(c) - WHITE) for c in palette}
    seg = float(flash["segmentMs"])
    start = float(flash["startMs"])
    end = start + seg * len(shown)
    samples = [
        (s.t_ms, s.skin_bgr / max(float(s.skin_bgr.sum()), 1e-6)) for s in signals if s.skin_bgr is not None
    ]
    best = FlashResult(0.0, 0.0, 0, 0)
    if not samples:
        return best
    t = np.array([x[0] for x in samples])
    chroma = np.array([x[1] for x in samples])
    for offset in OFFSETS_MS:
        unlit = (t < start + offset - 50) | (t > end + offset + 150)
        if unlit.sum() < 2:
            continue
        baseline = np.median(chroma[unlit], axis=0)
        hits, seen, amplitude = 0, 0, 0.0
        guesses: list[str | None] = []
        for k, colour in enumerate(shown):
            lo = start + offset + k * seg + 0.25 * seg
            hi = start + offset + (k + 1) * seg - 0.1 * seg
            inside = (t >= lo) & (t <= hi)
            if not inside.any():
                guesses.append(None)
                continue
            seen += 1
            shift = chroma[inside].mean(axis=0) - baseline
            amplitude = max(amplitude, float(np.abs(shift).max()))
            guess = max(palette, key=lambda c: float(np.dot(_unit(shift), directions[c])))
            hits += guess == colour
            guesses.append(guess)
        if seen < max(3, len(shown) - 2):
            continue
        result = FlashResult(hits / len(shown), amplitude, offset, seen, guesses)
        if (result.matched, result.amplitude) > (best.matched, best.amplitude):
            best = result
    return best
