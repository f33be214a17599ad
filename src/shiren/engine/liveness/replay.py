"""A content fingerprint of a capture, to refuse a replay whose bytes differ (re-encoded, resized, cropped,
trimmed, slowed or sped, mirrored) but whose pictures are those of an earlier capture.

Each frame's face is cut out aligned on the eyes (so resizing and cropping the video do not move it) at
32 px and summarised by the signs of its 120 lowest DCT coefficients against their median (a perceptual
hash: a re-encode flips a few bits, another pose or face many). The hash is split into 8 bands of 15 bits
(LSH): a flipped bit changes one band of that frame, not the others, and a picture recurs over several
frames. A capture's print is the set of distinct (band, value) pairs of its frames. Time plays no part, so
trimming, dropping or repeating frames leave a subset of the same pairs.

- The neutral face is left out: pairs seen in the frames at rest (frontal, eyes open, mouth closed) are
  what every capture of the same person in the same place shares, and the closest thing to a face template
  in the print. What stays is the performance: the actions, frame by frame.
- Mirror: flipping the crop negates the odd horizontal DCT frequencies, so the mirrored capture's pairs
  come without a second DCT. The services store the plain pairs and look up both.
- FaceMesh places the eyes a few pixels differently on a re-encoded, resized or mirrored copy (up to ~3%
  of the eye distance on a mirror image, enough to flip 4-10 of the 120 bits). The probe (what is looked up)
  therefore also hashes each face shifted by 2.5% of the eye distance in the four directions; what is
  stored is the unshifted print only.

Measured in bench/replay.py (40 generated captures, 400 replays, 1462 pairs of different genuine captures):
replays of two-action captures are found 317/320 (misses: a mirror and two combined transforms), no
genuine pair matches (another session of the same person, i.e. another photograph of them: at most 0.11 of
the pairs; another person 0.17; the same photograph doing other actions 0.33, with 5 pairs, under
MIN_SHARED). Limits: a lone blink moves only the eyes and leaves a print of ~6-15 pairs, so its replays
are missed 29/80, mirrored ones mostly; and two recordings that show the same pictures (the generator's
one photograph doing the same action twice) are the same footage to it. The engine returns raw band
values; the services key them (HMAC) before anything is stored or compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .actions import BLINK_OPEN, rest_state
from .signals import FrameSignals
from .video import Frame

SIDE = 32  # the aligned face is hashed at this size
SUPERSAMPLE = 4  # warped at 4x, then area-averaged: no aliasing from a ~100 px face shrunk to 32 px
SPAN = 2.8  # crop width in eye distances: the face, some hair, little background
EYE_ROW = 0.35  # the eyes' height in the crop
DCT_SIDE = 11  # the 11x11 lowest frequencies less DC: 120 bits
BAND_BITS = 15
BANDS = (DCT_SIDE * DCT_SIDE - 1) // BAND_BITS  # 8
PROBE_SHIFT = 0.025  # in eye distances (see the module docstring)
NEUTRAL_POSE = 0.06  # yaw/pitch proxy distance from rest of a neutral frame (the verifier's FRONTAL)
NEUTRAL_MOUTH = 0.08
# A capture replays an earlier one when this share of its pairs is in that one capture's print, and at
# least MIN_SHARED of them. bench/replay.py: replays share 0.5-1.0 (p50 0.76-1.0 by transform), genuine
# pairs at most 0.33 and 5 pairs. From 0.1 to 0.6 no genuine pair matches; misses are 30-34 of 400 up
# to 0.5 (mostly lone blinks), 41 at 0.55, 50 at 0.6.
MATCH_SHARE = 0.3
MIN_SHARED = 6

RIGHT_EYE = (33, 133)  # FaceMesh eye corners: the subject's right eye (left in an unmirrored image)
LEFT_EYE = (263, 362)

# Flipping the crop left-right multiplies the DCT coefficient of horizontal frequency u by (-1)**u.
_FLIP = np.array([(-1.0) ** u for _ in range(DCT_SIDE) for u in range(DCT_SIDE)], np.float32)[1:]
_WEIGHTS = 1 << np.arange(BAND_BITS - 1, -1, -1)
_SHIFTS = ((0.0, 0.0), (-PROBE_SHIFT, 0.0), (PROBE_SHIFT, 0.0), (0.0, -PROBE_SHIFT), (0.0, PROBE_SHIFT))

Pair = tuple[int, int]  # (band index, band value)


@dataclass(frozen=True)
class ContentPrint:
    """What the services key: ``bands`` is stored, ``probe`` and ``probe_mirrored`` are looked up."""

    bands: frozenset[Pair]
    probe: frozenset[Pair]
    probe_mirrored: frozenset[Pair]
    frames: int  # frames hashed (a face found, not at rest)


def aligned_face(
    grey: np.ndarray, landmarks: np.ndarray, shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """The face as a SIDE x SIDE image, its eyes at fixed places (a similarity transform from the eye
    centres), so the same picture at any scale or place in the frame gives the same crop. The eyes sit
    symmetrically about the crop's centre line: the crop of a mirrored frame is the mirrored crop.
    ``shift`` moves the crop by that much of the eye distance."""
    right = landmarks[list(RIGHT_EYE), :2].mean(axis=0).astype(np.float64)
    left = landmarks[list(LEFT_EYE), :2].mean(axis=0).astype(np.float64)
    d = left - right
    iod = float(np.hypot(*d))
    if iod < 1.0:
        raise ValueError("degenerate landmarks")
    big = SIDE * SUPERSAMPLE
    scale = big / SPAN  # crop pixels per eye distance
    k = scale / iod
    rot = np.array([[d[0], d[1]], [-d[1], d[0]]]) * (k / iod)  # the eye line onto the x axis
    centre = np.array([(big - 1) / 2.0 + shift[0] * scale, big * EYE_ROW + shift[1] * scale])
    m = np.hstack([rot, (centre - rot @ ((right + left) / 2.0))[:, None]])
    warped = cv2.warpAffine(grey, m, (big, big), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(warped, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)


def frame_hash(face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bits, bits of the mirrored face) of one aligned face."""
    low = cv2.dct(face)[:DCT_SIDE, :DCT_SIDE].reshape(-1)[1:]
    flipped = low * _FLIP
    return low > np.median(low), flipped > np.median(flipped)


def bands(bits: np.ndarray) -> list[Pair]:
    return [(b, int(bits[b * BAND_BITS : (b + 1) * BAND_BITS] @ _WEIGHTS)) for b in range(BANDS)]


def neutral_frames(signals: list[FrameSignals]) -> list[bool]:
    """Frames at rest: frontal as the clip's rest pose, eyes open, mouth closed."""
    rest = rest_state(signals)
    if rest is None:
        return [False] * len(signals)
    return [
        s.has_face
        and abs((s.yaw or 0.0) - rest.yaw) < NEUTRAL_POSE
        and abs((s.pitch or 0.0) - rest.pitch) < NEUTRAL_POSE
        and (s.ear or 0.0) > BLINK_OPEN * rest.ear
        and (s.mouth or 0.0) - rest.mouth < NEUTRAL_MOUTH
        for s in signals
    ]


def content_print(frames: list[Frame], signals: list[FrameSignals]) -> ContentPrint:
    """The print of a capture, from its frames and the landmarks the verifier found in them."""
    stored: set[Pair] = set()
    probe: set[Pair] = set()
    mirrored: set[Pair] = set()
    rest_probe: set[Pair] = set()
    rest_mirrored: set[Pair] = set()
    hashed = 0
    for frame, s, neutral in zip(frames, signals, neutral_frames(signals), strict=True):
        if s.landmarks is None:
            continue
        grey = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2GRAY) if frame.bgr.ndim == 3 else frame.bgr
        hashed += 0 if neutral else 1
        for i, shift in enumerate(_SHIFTS):
            try:
                plain, flipped = frame_hash(aligned_face(grey, s.landmarks, shift))
            except ValueError:
                break
            if i == 0 and not neutral:
                stored.update(bands(plain))
            (rest_probe if neutral else probe).update(bands(plain))
            (rest_mirrored if neutral else mirrored).update(bands(flipped))
    # Whatever looks like the neutral face, even shifted, is left out of all three: the print is then a
    # subset of the probe (a replay's probe can find every pair of its own print).
    return ContentPrint(
        frozenset(stored - rest_probe),
        frozenset(probe - rest_probe),
        frozenset(mirrored - rest_mirrored),
        hashed,
    )


def replay_share(shared: int, print_size: int) -> float:
    """The share of a print found in one earlier capture (the probe may find more than the print holds)."""
    return min(1.0, shared / print_size) if print_size else 0.0


def is_replay(shared: int, print_size: int) -> bool:
    """Whether ``shared`` pairs in one earlier capture's print make this capture a replay of it."""
    return shared >= MIN_SHARED and replay_share(shared, print_size) >= MATCH_SHARE
