"""Face image quality (Material.FaceQuality) and mask detection (Material.FaceMask).

The level is the worst level any single measure allows. Thresholds were set on the test photographs
(tests/fixtures) and degraded copies of them (bench/face_quality.py prints the distributions):

- size: the smaller side of the face box; under 64 px is UNQUALIFIED (SPEC 4.6).
- blur: variance of the Laplacian on the face box, resampled to 150x150 (the size the embedder sees, so
  the measure means the same for small and large faces) and contrast-normalised to a grey-level standard
  deviation of 40 (so that darkness is judged by brightness alone). Sharp photos 15-600; Gaussian blur of
  sigma ~1.6 px at that scale gives 3-34 (median 10), sigma ~3 px gives under 10.
- brightness: mean grey level of the central 60 % of the face box.
- pose: yaw / pitch proxies from the landmarks (see landmarks.pose_proxies).
- JPEG blocking: mean grey-level step across the 8x8 JPEG block borders over the step inside blocks, on the
  face at the image's own resolution. ~1.0 uncompressed, up to ~1.5 at quality 75, 2.2-5.2 at quality 10
  (Laplacian variance rises with blocking, so the blur measure alone would call such a face sharp).
- mask: see mask_measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .detector import as_bgr
from .landmarks import LEFT_EYE, RIGHT_EYE, FaceLandmarker, landmark_pose, pose_proxies
from .types import DetectedFace, FaceQuality, QualityLevel

LEVELS: tuple[QualityLevel, ...] = ("UNQUALIFIED", "LOW", "NORMAL", "HIGH")

MIN_FACE_PX = 64
NORMAL_FACE_PX = 90
HIGH_FACE_PX = 160
BLUR_UNQUALIFIED = 6.0
BLUR_LOW = 12.0
BLUR_HIGH = 40.0
DARK_UNQUALIFIED, DARK_LOW, DARK_HIGH = 40.0, 60.0, 80.0
BRIGHT_UNQUALIFIED, BRIGHT_LOW, BRIGHT_HIGH = 235.0, 215.0, 200.0
YAW_UNQUALIFIED, YAW_LOW, YAW_HIGH = 0.55, 0.3, 0.15
PITCH_UNQUALIFIED, PITCH_LOW, PITCH_HIGH = 0.5, 0.3, 0.15
CUT_UNQUALIFIED, CUT_LOW = 0.5, 0.2
BLOCKY_LOW, BLOCKY_NORMAL = 2.2, 1.6
MASK_THRESHOLD = 0.5
MIN_SKIN_CHROMA = 4.0  # Lab chroma under which the image is treated as grey
CLIPPED_MAX = 0.55  # over-exposure: share of upper-face skin clipped beyond which colour is not used

# FaceMesh regions used by the mask measures.
FOREHEAD = (107, 108, 151, 337, 336, 9)
NOSE_BRIDGE = (168, 193, 417, 6)
LOWER_FACE = (2, 98, 327, 61, 291, 152, 148, 377, 176, 400, 214, 434)
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)


@dataclass
class MaskMeasures:
    chroma_ratio: float  # chroma of the lower face over chroma of the upper-face skin
    hue_difference: float  # degrees between the lower face hue and the upper-face skin hue
    lip_contrast: float  # (lip a* - a* of the skin ring around the lips) / upper-face skin chroma
    skin_chroma: float  # Lab chroma of the upper-face skin; ~0 in a grey image
    clipped: float  # share of upper-face skin pixels with a channel at 250+ (over-exposure)
    score: float  # 0..1, >= MASK_THRESHOLD means a mask


def _hull_mask(shape: tuple[int, ...], points: np.ndarray, scale: float = 1.0) -> np.ndarray:
    c = points.mean(axis=0)
    pts = c + (points - c) * scale
    out = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(out, [cv2.convexHull(np.round(pts).astype(np.int32))], 1)
    return out.astype(bool)


def _under_eye_mask(shape: tuple[int, ...], lm: np.ndarray) -> np.ndarray:
    """Bands of cheek just under each eye: skin that a worn mask leaves visible."""
    r = (lm[RIGHT_EYE[0], :2] + lm[RIGHT_EYE[3], :2]) / 2.0
    lft = (lm[LEFT_EYE[0], :2] + lm[LEFT_EYE[3], :2]) / 2.0
    ux = lft - r
    uy = np.array([-ux[1], ux[0]])
    out = np.zeros(shape[:2], bool)
    for c in (r, lft):
        quad = np.array(
            [c + a * ux + b * uy for a, b in ((-0.25, 0.12), (0.25, 0.12), (0.25, 0.28), (-0.25, 0.28))]
        )
        out |= _hull_mask(shape, quad)
    return out


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at lo, 1 at hi, linear between (lo > hi allowed for a falling ramp)."""
    t = (x - lo) / (hi - lo)
    return float(min(1.0, max(0.0, t)))


def mask_measures(image_bgr: np.ndarray, landmarks: np.ndarray) -> MaskMeasures | None:
    """Does something other than skin cover nose, mouth and chin?

    Two cues must agree. (1) Colour: the lower face is not coloured like the visible upper-face skin
    (forehead, nose bridge, under the eyes; the most chromatic of the three, as hair or glare can hide one):
    either almost colourless (white, grey, black masks) or of another hue (blue, green masks). (2) No lips:
    real lips are redder (higher a*) than the skin around them; on a mask the two are the same material.
    Cue 2 keeps faces under coloured light from passing as masked; cue 1 keeps men with lips no redder than
    their skin from passing as masked. FaceMesh still places the lower-face landmarks plausibly under a
    mask, so the regions come from it. Limits: a skin-coloured mask is missed, and grey images give no
    colour cue (score 0). bench/face_quality.py: over 34 faces with synthetic masks (flat light blue and
    white, photographed surgical-mask textures in blue, white, black and green) 191 of 200 masked faces are
    flagged, 1 of 33 skin-coloured ones, and 0 of 237 unmasked faces (originals, blurred, dark,
    over-exposed, heavy JPEG)."""
    # Work on the face only, at most ~200 px wide: the measures are medians over regions, and converting
    # a whole multi-megapixel photo to Lab would dominate the cost.
    lm = landmarks[:, :2].astype(np.float64)
    x0, y0 = np.floor(lm.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(lm.max(axis=0)).astype(int) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, image_bgr.shape[1]), min(y1, image_bgr.shape[0])
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    crop = image_bgr[y0:y1, x0:x1]
    scale = min(1.0, 200.0 / (x1 - x0))
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    lm = (lm - (x0, y0)) * scale
    h, w = crop.shape[:2]
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)
    # Clipped pixels (a channel at 250+) carry no colour: leave them out, and give up on colour when much
    # of the upper-face skin is clipped (an over-exposed photo makes every region look colourless).
    unclipped = crop.max(axis=2) < 250
    upper = [
        _hull_mask((h, w), lm[list(FOREHEAD)]),
        _hull_mask((h, w), lm[list(NOSE_BRIDGE)]),
        _under_eye_mask((h, w), lm),
    ]
    upper_all = np.logical_or.reduce(upper)
    clipped = 1.0 - float(unclipped[upper_all].mean()) if upper_all.any() else 1.0
    refs = [np.median(lab[r & unclipped], axis=0) for r in upper if (r & unclipped).sum() >= 10]
    lower = _hull_mask((h, w), lm[list(LOWER_FACE)])
    lips = _hull_mask((h, w), lm[list(OUTER_LIPS)])
    ring = _hull_mask((h, w), lm[list(OUTER_LIPS)], 1.8) & ~_hull_mask((h, w), lm[list(OUTER_LIPS)], 1.15)
    if not refs or lower.sum() < 20 or lips.sum() < 5 or ring.sum() < 5:
        return None
    lower_px = lab[lower & unclipped] if (lower & unclipped).sum() >= 20 else lab[lower]
    skin = max(refs, key=lambda v: float(np.hypot(v[1], v[2])))
    low = np.median(lower_px, axis=0)
    skin_chroma = float(np.hypot(skin[1], skin[2]))
    low_chroma = float(np.hypot(low[1], low[2]))
    chroma_ratio = low_chroma / max(skin_chroma, 1e-6)
    hue = float(np.degrees(np.arctan2(low[2], low[1]) - np.arctan2(skin[2], skin[1])))
    hue_difference = abs((hue + 180.0) % 360.0 - 180.0)
    lip_contrast = float(np.median(lab[lips][:, 1]) - np.median(lab[ring][:, 1])) / max(skin_chroma, 1.0)
    if skin_chroma < MIN_SKIN_CHROMA or clipped > CLIPPED_MAX:  # a grey or over-exposed image: no colour cue
        score = 0.0
    else:
        colour = max(_ramp(chroma_ratio, 0.5, 0.2), _ramp(hue_difference, 30.0, 70.0))
        no_lips = _ramp(lip_contrast, 0.25, 0.05)
        score = colour * no_lips
    return MaskMeasures(chroma_ratio, hue_difference, lip_contrast, skin_chroma, clipped, score)


def blur_measure(grey_face: np.ndarray) -> float:
    """Variance of the Laplacian of the face, at 150x150 and grey-level std 40 (see module docstring)."""
    g = cv2.resize(grey_face, (150, 150), interpolation=cv2.INTER_AREA).astype(np.float64)
    g = (g - g.mean()) * (40.0 / max(float(g.std()), 1.0))
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


def blockiness(grey: np.ndarray) -> float:
    """JPEG blocking of a grey crop whose top-left corner lies on the image's 8-pixel grid."""
    g = grey.astype(np.float32)
    if g.shape[0] < 17 or g.shape[1] < 17:
        return 1.0
    dx = np.abs(np.diff(g, axis=1))
    dy = np.abs(np.diff(g, axis=0))
    col_edge = (np.arange(dx.shape[1]) % 8) == 7
    row_edge = (np.arange(dy.shape[0]) % 8) == 7
    rx = dx[:, col_edge].mean() / max(float(dx[:, ~col_edge].mean()), 1e-3)
    ry = dy[row_edge].mean() / max(float(dy[~row_edge].mean()), 1e-3)
    return float((rx + ry) / 2.0)


def _at_most(level: QualityLevel, cap: QualityLevel) -> QualityLevel:
    return LEVELS[min(LEVELS.index(level), LEVELS.index(cap))]


def _grade(value: float, unqualified: float, low: float, high: float) -> QualityLevel:
    """Level for a measure where larger is better."""
    if value < unqualified:
        return "UNQUALIFIED"
    if value < low:
        return "LOW"
    if value < high:
        return "NORMAL"
    return "HIGH"


def assess_quality(
    image_bgr: np.ndarray, face: DetectedFace, landmarker: FaceLandmarker | None = None
) -> FaceQuality:
    """Quality level, mask flag and raw measures for one detected face. With a ``landmarker``, computes the
    dense landmarks when the face has none yet and keeps them on `face.landmarks` for later steps."""
    image_bgr = as_bgr(image_bgr)
    h, w = image_bgr.shape[:2]
    box = face.box
    reasons: list[str] = []
    level: QualityLevel = "HIGH"

    def cap(to: QualityLevel, reason: str) -> None:
        nonlocal level
        if LEVELS.index(to) < LEVELS.index("NORMAL"):
            reasons.append(reason)
        level = _at_most(level, to)

    face_px = face.size_px
    size_level = _grade(face_px, MIN_FACE_PX, NORMAL_FACE_PX, HIGH_FACE_PX)
    cap(size_level, "face_too_small")

    x0, y0 = max(int(box.x), 0), max(int(box.y), 0)
    x1, y1 = min(int(np.ceil(box.x + box.w)), w), min(int(np.ceil(box.y + box.h)), h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return FaceQuality("UNQUALIFIED", False, face_px, 0.0, 0.0, 0.0, 0.0, reasons=["face_outside_image"])
    grey = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)

    cut = box.outside_fraction(w, h)
    cap("UNQUALIFIED" if cut > CUT_UNQUALIFIED else "LOW" if cut > CUT_LOW else "HIGH", "face_cut_off")

    blur = blur_measure(grey)
    cap(_grade(blur, BLUR_UNQUALIFIED, BLUR_LOW, BLUR_HIGH), "blurred")
    gx, gy = x0 // 8 * 8, y0 // 8 * 8
    blocky = blockiness(cv2.cvtColor(image_bgr[gy:y1, gx:x1], cv2.COLOR_BGR2GRAY))
    cap("LOW" if blocky >= BLOCKY_LOW else "NORMAL" if blocky >= BLOCKY_NORMAL else "HIGH", "compressed")

    gh, gw = grey.shape
    brightness = float(grey[int(gh * 0.2) : int(gh * 0.8) + 1, int(gw * 0.2) : int(gw * 0.8) + 1].mean())
    cap(_grade(brightness, DARK_UNQUALIFIED, DARK_LOW, DARK_HIGH), "too_dark")
    cap(_grade(-brightness, -BRIGHT_UNQUALIFIED, -BRIGHT_LOW, -BRIGHT_HIGH), "too_bright")

    if face.landmarks is None and face_px >= MIN_FACE_PX and landmarker is not None:
        face.landmarks = landmarker.landmarks(image_bgr, face)
    mask = False
    mask_score = 0.0
    if face.landmarks is not None:
        yaw, pitch = landmark_pose(face.landmarks)
        measures = mask_measures(image_bgr, face.landmarks)
        if measures is not None:
            mask_score = measures.score
            mask = mask_score >= MASK_THRESHOLD
            if measures.skin_chroma < MIN_SKIN_CHROMA or measures.clipped > CLIPPED_MAX:
                reasons.append("mask_undetermined")
    else:
        kp = face.keypoints
        yaw, pitch = pose_proxies(kp[0], kp[1], kp[2], kp[3])
        if face_px >= MIN_FACE_PX:
            cap("LOW", "no_landmarks")

    cap(_grade(-abs(yaw), -YAW_UNQUALIFIED, -YAW_LOW, -YAW_HIGH), "turned_sideways")
    cap(_grade(-abs(pitch), -PITCH_UNQUALIFIED, -PITCH_LOW, -PITCH_HIGH), "tilted_up_or_down")
    if mask:
        cap("LOW", "mask")  # half the face is hidden: comparisons are unreliable
    return FaceQuality(
        level=level,
        mask=mask,
        face_px=face_px,
        blur=blur,
        brightness=brightness,
        yaw=yaw,
        pitch=pitch,
        mask_score=mask_score,
        blockiness=blocky,
        reasons=reasons,
    )
