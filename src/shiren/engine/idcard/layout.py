"""The printed layout of the card and the OCR pass over it, shared by both sides.

Matches detected text rows to the printed rows, splits and crops them, runs the recogniser, places the card
from OCR anchors when no outline was found, and scores how card-like a photo's layout is.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from shiren.engine.ocr import TextRecognizer, crop_quad

from .locate import _PORTRAIT_MM, CANON_H, CANON_W, CARD_MM, PX, _homography, _portrait, _rectify
from .text import _clean
from .types import CardBack, CardFront, Side

DET_MAX_SIDE = 640  # text detection on the rectified card; smallest printed text is ~2.5 mm → ~19 px

# Printed layout (GA 467 card, measured in mm from the top-left corner): left edge of each label and the
# vertical centre of its row. Used for row assignment and for placing the card from OCR anchors.
_FRONT_LABELS: dict[str, tuple[float, float]] = {
    "姓名": (6.4, 9.1),
    "性别": (6.4, 15.4),
    "民族": (25.6, 15.4),
    "出生": (6.4, 21.6),
    "住址": (6.4, 27.8),
    "公民身份号码": (6.4, 46.2),
}
_BACK_LABELS: dict[str, tuple[float, float]] = {
    "中华人民共和国": (30.0, 10.7),
    "签发机关": (16.0, 39.8),
    "有效期限": (16.0, 46.4),
}
_BACK_TITLES = ("居民身份证", "港澳居民居住证", "台湾居民居住证")
_ADDRESS_Y = (25.0, 41.5)


@dataclass
class _Box:
    """A detected text line on the rectified card; coordinates in mm."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class _Seg:
    """A region of the rectified card to recognise (mm), what it holds, and what the OCR read there."""

    role: str
    x0: float
    y0: float
    x1: float
    y1: float
    text: str = ""
    score: float = 0.0


def _rows(boxes: list[_Box]) -> list[_Box]:
    """Merge detected boxes into printed rows (one bounding box per row), top to bottom."""
    rows: list[list[_Box]] = []
    for b in sorted(boxes, key=lambda b: b.cy):
        if rows:
            last = rows[-1]
            cy = statistics.fmean(x.cy for x in last)
            if abs(b.cy - cy) < 0.45 * max(b.height, max(x.height for x in last)):
                last.append(b)
                continue
        rows.append([b])
    return [
        _Box(min(b.x0 for b in r), min(b.y0 for b in r), max(b.x1 for b in r), max(b.y1 for b in r))
        for r in rows
    ]


def _best_shift(values: list[float], slots: Sequence[float], limit: float = 5.0) -> float:
    """Shift that best aligns observed row positions with the printed ones (robust to extra rows)."""
    if not values:
        return 0.0
    grid = np.arange(-limit, limit + 1e-6, 0.1)
    costs = [sum(min(min(abs(v - d - s) for v in values), 2.5) for s in slots) for d in grid]
    return float(grid[int(np.argmin(costs))])


def _find_gap(gray: np.ndarray, row: _Box, window: tuple[float, float], default: float) -> float:
    """x (mm) of the widest blank column run in ``window`` on a row: where a label ends, a value starts."""
    y0, y1 = int(row.y0 * PX), int(round(row.y1 * PX))
    band = gray[max(0, y0) : y1]
    if band.size == 0:
        return default
    bg, ink = np.percentile(band, 75), np.percentile(band, 3)
    if bg - ink < 20:
        return default
    a, b = int(window[0] * PX), int(round(window[1] * PX))
    dark = (band[:, a:b] < bg - 0.4 * (bg - ink)).sum(axis=0)
    blank = dark <= max(1, int(0.04 * band.shape[0]))
    best_len, best_mid, run = 0, default, 0
    for i, v in enumerate(np.append(blank, False)):
        if v:
            run += 1
            continue
        if run > best_len:
            best_len, best_mid = run, (a + i - run / 2) / PX
        run = 0
    return best_mid if best_len >= 0.7 * PX else default


def _crop(card: np.ndarray, seg: _Seg, pad_x: float = 0.6, pad_y: float = 0.25) -> np.ndarray:
    h, w = card.shape[:2]
    px = w / CARD_MM[0]
    a, b = max(0, int((seg.x0 - pad_x) * px)), min(w, int(round((seg.x1 + pad_x) * px)))
    c, d = max(0, int((seg.y0 - pad_y) * px)), min(h, int(round((seg.y1 + pad_y) * px)))
    return card[c:d, a:b]


def _after_label(text: str, tail: str) -> str:
    """What follows the label's last character in a context read ('族壮' → '壮')."""
    if tail in text:
        return text.split(tail, 1)[1]
    return text[1:] if len(text) > 1 else ""


def _label_strip(card: np.ndarray, segs: list[_Seg]) -> np.ndarray | None:
    """All label crops side by side in one image: one recogniser call instead of one per label."""
    parts = []
    for s in segs:
        c = _crop(card, s, pad_x=0.3)
        if c.size == 0 or c.shape[1] < 4:
            continue
        c = cv2.resize(c, (max(4, round(c.shape[1] * 40 / c.shape[0])), 40), interpolation=cv2.INTER_AREA)
        parts.append(c)
        parts.append(np.full((40, 24, 3), np.median(c.reshape(-1, 3), axis=0), np.uint8))
    return np.hstack(parts) if parts else None


@dataclass
class _CardOcr:
    """A rectified card after detection: upright image, corrected corners, printed rows (mm)."""

    card: np.ndarray
    quad: np.ndarray  # corrected card corners in the input image
    rows: list[_Box]
    flipped: bool
    number_seg: _Seg | None = None
    slots_matched: int = 0  # printed rows (name, sex, birth, address, number / title, authority …) seen


_FRONT_SLOTS = {"name": 9.1, "sex": 15.4, "birth": 21.6, "address": 27.8, "number": 46.2}
_BACK_SLOTS = {"china": 10.7, "title": 20.3, "authority": 39.8, "validity": 46.4}


def _detect_card(image: np.ndarray, quad: np.ndarray, ocr: TextRecognizer, side: Side) -> _CardOcr:
    """Rectify, detect text once, settle 0/180 degrees, and re-centre the card on its printed rows.

    The angle classifier only sees the three widest lines. The re-centring (shift in mm) corrects corners
    that were placed roughly, e.g. from OCR anchors.
    """
    card = _rectify(image, quad)
    quads = ocr.detect(card, DET_MAX_SIDE)
    quads = [q for q in quads if np.ptp(q[:, 0]) > 0.5 * np.ptp(q[:, 1])]
    flipped = False
    widest = sorted(quads, key=lambda q: -float(np.ptp(q[:, 0])))[:3]
    if widest and statistics.fmean(ocr.classify_upside_down([crop_quad(card, q) for q in widest])) > 0.5:
        flipped = True
        quad = quad[[2, 3, 0, 1]]
        card = cv2.rotate(card, cv2.ROTATE_180)
        quads = [np.array([CANON_W, CANON_H], np.float32) - q for q in quads]
    boxes = [
        _Box(
            float(q[:, 0].min()) / PX,
            float(q[:, 1].min()) / PX,
            float(q[:, 0].max()) / PX,
            float(q[:, 1].max()) / PX,
        )
        for q in quads
    ]
    if side == "front":
        px0, _, _, py1 = _PORTRAIT_MM
        boxes = [b for b in boxes if not (b.x0 > px0 - 1 and b.y1 < py1 + 1)]  # text-like blobs in the photo
        slots, label_x = list(_FRONT_SLOTS.values()), 6.2
    else:
        boxes = [b for b in boxes if not (b.x1 < 22 and b.y1 < 25)]  # the emblem
        slots, label_x = list(_BACK_SLOTS.values()), 15.8
    rows = _rows(boxes)
    dy = _best_shift([r.cy for r in rows], slots)
    starts = [r.x0 for r in rows if r.x0 < label_x + 5 and (side == "front" or r.cy - dy > 35)]
    dx = max(-5.0, min(5.0, statistics.median(starts) - label_x)) if starts else 0.0
    if abs(dx) > 0.7 or abs(dy) > 0.7:
        inv = np.linalg.inv(_homography(quad, PX))
        shifted = np.float32([[0, 0], [CARD_MM[0], 0], [CARD_MM[0], CARD_MM[1]], [0, CARD_MM[1]]]) + [dx, dy]
        quad = cv2.perspectiveTransform((shifted * PX)[None].astype(np.float32), inv)[0]
        card = _rectify(image, quad)
        rows = [_Box(r.x0 - dx, r.y0 - dy, r.x1 - dx, r.y1 - dy) for r in rows]
    return _CardOcr(card, quad.astype(np.float32), rows, flipped)


def _assign(rows: list[_Box], slots: dict[str, float], tol: float = 2.6) -> dict[str, list[_Box]]:
    """Printed rows by their nominal centre; several rows can share a slot (address lines)."""
    out: dict[str, list[_Box]] = {}
    for r in rows:
        slot = min(slots, key=lambda k: abs(slots[k] - r.cy))
        if abs(slots[slot] - r.cy) <= tol:
            out.setdefault(slot, []).append(r)
        elif "address" in slots and _ADDRESS_Y[0] < r.cy < _ADDRESS_Y[1]:
            out.setdefault("address", []).append(r)
    return out


def _recognize(ocr: TextRecognizer, card: np.ndarray, segs: list[_Seg], extra: dict[int, np.ndarray]) -> None:
    """One batched recogniser call for all segments (``extra`` overrides the crop of a segment by index)."""
    crops, idx = [], []
    for i, s in enumerate(segs):
        c = extra.get(i)
        if c is None:
            c = _crop(card, s)
        if c.size and c.shape[0] >= 4 and c.shape[1] >= 4:
            crops.append(c)
            idx.append(i)
    for i, (text, score) in zip(idx, ocr.recognize(crops), strict=True):
        segs[i].text, segs[i].score = text, score


def _decide(votes: dict[str, list[float]]) -> tuple[str, float]:
    """Pick the reading with the most support; confidence drops when the readings disagree."""
    best = max(votes, key=lambda k: sum(votes[k]))
    conf = max(votes[best])
    if len(votes) > 1:
        conf = min(conf, 0.8) * sum(votes[best]) / sum(sum(v) for v in votes.values())
    return best, min(1.0, conf)


# ------------------------------------------------------------------------------------------ OCR anchors

_LABEL_BOX_MM = 3.5  # height of a detected label line on the card (text plus the detector's margin)


def _text_anchor_quad(image: np.ndarray, ocr: TextRecognizer, side: Side) -> tuple[np.ndarray | None, int]:
    """Place the card from printed labels found by whole-photo OCR (fallback when no edges frame the card).

    Each label line gives the position of its first character; two labels fix a similarity transform from
    card millimetres to photo pixels, one label plus its line height and direction gives a rougher one.
    Returns (card corners or None, number of labels of the *other* side seen).
    """
    h, w = image.shape[:2]
    quads = ocr.detect(image, 1280)
    if not quads or len(quads) > 80:
        return None, 0
    oriented = []
    for q in quads:
        q = np.asarray(q, np.float32)
        if np.linalg.norm(q[3] - q[0]) > np.linalg.norm(q[1] - q[0]):
            q = q[[3, 0, 1, 2]]  # first edge along the text (card held sideways)
        oriented.append(q)
    crops = [crop_quad(image, q) for q in oriented]
    final = []
    for q, c, p in zip(oriented, crops, ocr.classify_upside_down(crops), strict=True):
        final.append((q[[2, 3, 0, 1]], cv2.rotate(c, cv2.ROTATE_180)) if p > 0.5 else (q, c))
    heads = []
    for q, c in final:
        # Labels start their line: the first ~7 characters are enough, and that bounds the cost on a page.
        keep = 7.0 * float(np.linalg.norm(q[3] - q[0])) / max(float(np.linalg.norm(q[1] - q[0])), 1.0)
        heads.append(c[:, : max(4, int(c.shape[1] * min(1.0, keep)))])
    texts = ocr.recognize(heads)
    table = _FRONT_LABELS if side == "front" else _BACK_LABELS
    other = (_BACK_LABELS if side == "front" else _FRONT_LABELS).keys()
    src: list[tuple[float, float]] = []
    dst: list[np.ndarray] = []
    single: tuple[np.ndarray, np.ndarray, float, tuple[float, float]] | None = None
    other_found = 0
    for (q, _), (text, score) in zip(final, texts, strict=True):
        t = _clean(text)
        if score < 0.5:
            continue
        if any(t.startswith(lb) for lb in other) or (side == "front" and any(x in t for x in _BACK_TITLES)):
            other_found += 1
        for label, (lx, ly) in table.items():
            if t.startswith(label):
                start = (q[0] + q[3]) / 2
                src.append((lx - 0.2, ly))
                dst.append(start)
                direction = (q[1] - q[0]) / max(float(np.linalg.norm(q[1] - q[0])), 1e-6)
                single = (
                    start,
                    direction,
                    float(np.linalg.norm(q[3] - q[0])) / _LABEL_BOX_MM,
                    (lx - 0.2, ly),
                )
    if not src:
        return None, other_found
    m = None
    if len(src) >= 2:
        m = cv2.estimateAffinePartial2D(np.float32(src), np.float32(dst))[0]
    if m is None and single is not None:
        start, d, scale, (lx, ly) = single
        rot = np.array([[d[0], -d[1]], [d[1], d[0]]]) * scale
        m = np.hstack([rot, (start - rot @ np.array([lx, ly]))[:, None]])
    if m is None:
        return None, other_found
    corners = np.float32([[0, 0], [CARD_MM[0], 0], [CARD_MM[0], CARD_MM[1]], [0, CARD_MM[1]]])
    quad = cv2.transform(corners[None], m)[0]
    width = float(np.linalg.norm(quad[1] - quad[0]))
    if not 0.1 * max(h, w) < width < 3 * max(h, w):
        return None, other_found
    return quad.astype(np.float32), other_found


# ------------------------------------------------------------------------------------------ layout scores

# An outline is evidence of a card; labels that placed the card ("text") or a photo with the proportions
# of a card ("frame") are weaker evidence.
_OUTLINE_WEIGHT = {"edges": 0.3, "frame": 0.15, "text": 0.15}


_CASCADE = threading.local()


def _has_face(img: np.ndarray) -> bool:
    """Cheap frontal-face check of the portrait area (OpenCV's bundled Haar cascade, one per thread)."""
    cascade = getattr(_CASCADE, "c", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(
            str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml")
        )
        _CASCADE.c = cascade
    gray = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    side = min(gray.shape[:2])
    return len(cascade.detectMultiScale(gray, 1.1, 3, minSize=(side // 4, side // 4))) > 0


def _front_layout(res: CardFront, image: np.ndarray, co: _CardOcr) -> float:
    """How much the photo looks like a card front, independent of how legible its text is (0–1).

    Outline found, a face where the photo is printed, text rows where the fields are printed, labels read.
    A photographed page has rows but no face; a face photo has neither outline nor rows.
    """
    res.portrait = _portrait(image, co.quad)
    res.portrait_has_face = _has_face(res.portrait)
    expected = 5 if res.kind == "hk_macau_taiwan_permit" else 6
    return round(
        _OUTLINE_WEIGHT.get(res.quad_source, 0.0)
        + 0.3 * res.portrait_has_face
        + 0.2 * co.slots_matched / len(_FRONT_SLOTS)
        + 0.2 * min(1.0, len(res.labels_found) / expected),
        3,
    )


def _has_emblem(card: np.ndarray) -> bool:
    """The red national emblem in the top-left corner of the back (a colour test, not a shape match)."""
    hsv = cv2.cvtColor(card[int(4 * PX) : int(22 * PX), int(4 * PX) : int(22 * PX)], cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    red = ((hue < 10) | (hue > 170)) & (sat > 80) & (val > 60)
    return float(red.mean()) > 0.12


def _back_layout(res: CardBack, co: _CardOcr) -> float:
    """As ``_front_layout`` for the back: outline, emblem, rows where printed, labels and titles read."""
    return round(
        _OUTLINE_WEIGHT.get(res.quad_source, 0.0)
        + 0.3 * _has_emblem(co.card)
        + 0.2 * co.slots_matched / len(_BACK_SLOTS)
        + 0.2 * len(res.labels_found) / 4,
        3,
    )
