"""Reading photos of second-generation resident ID cards (and HK/Macau/Taiwan residence permits).

Pipeline, chosen for speed on a small CPU (about 0.55 s for both sides on 2 cores, PP-OCRv4):

1. Find the card: edges → closed regions and contours → 4-gons with a card-like aspect, corners refined
   by fitting lines to the sides (rounded corners otherwise pull them inwards), scored by how much of each
   side is backed by an edge. Without an outline, a photo with a card's proportions is tried as an
   already-cropped card, then the whole photo is OCR'd and the card placed from the printed labels it
   finds (公民身份号码, 签发机关 …).
2. Rectify to a canonical 856 x 540 image (10 px/mm), so every field has a known position.
3. Detect text once on the rectified card; the angle classifier sees three lines only, to tell upright
   from upside-down. Rows are matched to the printed layout, split at the printed label/value gaps, and
   only the value regions are recognised (one batched call); all labels go through as one strip.
4. The single-character fields (性别, 民族), the known weak spot of line OCR, are read from crops at their
   printed position, twice (alone, and after the label's last character), and voted. Birth date, sex and
   check character are cross-checked with the ID number; closed lists (the 56 民族, the province names)
   and the other side (the address names the bureau of 签发机关) repair misreads. Every disagreement and
   repair is recorded as ``Evidence``; the number only overrides a low-confidence reading.

``found`` says a card side is in the photo (else VerifyStatus 8), even when its text is hard to read (then
fields are empty or low-confidence: VerifyStatus 3/4). ``genuine`` / ``layout_score`` say how card-like the
photo is: outline, a face where the photo is printed (front) or the red emblem (back), text rows where the
fields are printed, labels read. That separates cards from photos of text or of a face; it does NOT detect
screens, photocopies or printed replicas (out of scope here).
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, cast

import cv2
import numpy as np

from shiren.domain.idnumber import (
    IdKind,
    InvalidIdNumber,
    card_validity_ok,
    check_character,
    parse_id_number,
    province_name,
)
from shiren.engine.ocr import TextRecognizer, crop_quad, get_text_recognizer

__all__ = [
    "CARD_MM",
    "CardBack",
    "CardFront",
    "Evidence",
    "ETHNIC_GROUPS",
    "IdCardReading",
    "decode_image",
    "find_card_quad",
    "read_back",
    "read_card",
    "read_front",
]

CARD_MM = (85.6, 54.0)
PX = 10.0  # canonical resolution, pixels per millimetre
CANON_W, CANON_H = round(CARD_MM[0] * PX), round(CARD_MM[1] * PX)
DET_MAX_SIDE = 640  # text detection on the rectified card; smallest printed text is ~2.5 mm → ~19 px
LOW_CONFIDENCE = 0.85

_ETHNIC_TEXT = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 "
    "高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 "
    "普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
)
ETHNIC_GROUPS: tuple[str, ...] = tuple(_ETHNIC_TEXT.split(" "))  # the 56 民族 as printed (without 族)
# How PP-OCRv4 misreads some names (仫 is not in its character set; 仡 reads as 亿), measured on test cards.
_ETHNIC_OCR_ALIASES = {"么佬": "仫佬", "亿佬": "仡佬", "乞佬": "仡佬"}

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
_LABEL_COLUMN_END = 12.5  # mm: a line starting left of this begins with a label
_BACK_LABEL_COLUMN_END = 24.0
_PORTRAIT_MM = (53.0, 4.0, 83.0, 40.5)  # x0, y0, x1, y1

Side = Literal["front", "back"]


@dataclass(frozen=True)
class Evidence:
    """One observation worth keeping next to the verdict; ``code`` is stable, ``detail`` is for humans.

    Details never contain the full ID number.
    """

    code: str
    detail: str = ""


@dataclass
class _Read:
    """Common part of both sides."""

    found: bool = False
    genuine: bool = False
    layout_score: float = 0.0
    confidence: dict[str, float] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    # Card corners in the input image (tl, tr, br, bl of the upright card, float32 4x2).
    quad: np.ndarray | None = field(default=None, repr=False)
    # How the card was located: "edges" (its outline), "frame" (the photo is the card, already cropped),
    # "text" (placed from the labels found by OCR), or "" when not found.
    quad_source: str = ""
    # The rectified, upright card (CANON_W x CANON_H, BGR), e.g. for storing as evidence.
    card: np.ndarray | None = field(default=None, repr=False)
    labels_found: list[str] = field(default_factory=list)  # printed labels / titles the OCR recognised
    elapsed_ms: float = 0.0

    def low_confidence_fields(self, threshold: float = LOW_CONFIDENCE) -> list[str]:
        """Fields a user should confirm (RPBasic) because the OCR was unsure."""
        return [k for k, v in self.confidence.items() if v < threshold]


@dataclass
class CardFront(_Read):
    """The 人像面. ``nationality`` is without 族 ("汉"); ``birth`` is yyyymmdd; ``sex`` is 男 or 女."""

    name: str = ""
    sex: str = ""
    nationality: str = ""
    birth: str = ""
    address: str = ""
    number: str = ""
    number_valid: bool = False
    kind: str = ""  # from the number: resident, hk_macau_taiwan_permit, foreign_permanent
    # The printed photo (BGR, 12 px/mm) for the face comparison against the live face.
    portrait: np.ndarray | None = field(default=None, repr=False)
    portrait_has_face: bool | None = None


@dataclass
class CardBack(_Read):
    """The 国徽面. ``start_date`` is yyyymmdd; ``end_date`` is yyyymmdd or 长期."""

    authority: str = ""
    start_date: str = ""
    end_date: str = ""
    title: str = ""  # 居民身份证, 港澳居民居住证 or 台湾居民居住证


@dataclass
class IdCardReading:
    """Both sides together, with the checks that need both (validity term vs. age)."""

    front: CardFront
    back: CardBack | None
    evidence: list[Evidence] = field(default_factory=list)

    def id_card_info(self) -> dict[str, str]:
        """The IdCardInfo object of DescribeVerifyResult / VerifyMaterial (image URLs are added elsewhere)."""
        f, b = self.front, self.back
        return {
            "Name": f.name,
            "Number": f.number,
            "Address": f.address,
            "Nationality": f.nationality,
            "Sex": f.sex,
            "Birth": f.birth,
            "Authority": b.authority if b else "",
            "StartDate": b.start_date if b else "",
            "EndDate": b.end_date if b else "",
        }


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to BGR; raises ValueError when the bytes are not an image."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable image")
    return img


# ------------------------------------------------------------------------------------------ finding the card


def _order_quad(q: np.ndarray) -> np.ndarray:
    """Clockwise from the top-left, with the first edge a long edge pointing right (upright guess)."""
    c = q.mean(axis=0)
    q = q[np.argsort(np.arctan2(q[:, 1] - c[1], q[:, 0] - c[0]))]
    if np.linalg.norm(q[2] - q[1]) > np.linalg.norm(q[1] - q[0]):
        q = np.roll(q, -1, axis=0)
    if q[1, 0] - q[0, 0] < 0:
        q = np.roll(q, 2, axis=0)
    return q.astype(np.float32)


def _refine_corners(q: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Fit a line to the middle of each side and intersect them; undoes the rounding of card corners."""
    lines = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        u = (b - a) / max(length, 1e-6)
        n = np.array([-u[1], u[0]])
        rel = pts - a
        t, dist = rel @ u, np.abs(rel @ n)
        sel = (t > 0.15 * length) & (t < 0.85 * length) & (dist < max(3.0, 0.03 * length))
        if sel.sum() < 5:
            return q
        vx, vy, x0, y0 = cv2.fitLine(pts[sel].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0]), np.array([vx, vy])))
    out = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        a = np.array([d1, -d2]).T
        if abs(np.linalg.det(a)) < 1e-6:
            return q
        t = np.linalg.solve(a, p2 - p1)
        out.append(p1 + t[0] * d1)
    res = np.array(out, np.float32)
    if np.abs(res - q).max() > 0.1 * np.linalg.norm(q[1] - q[0]):
        return q
    return res


def _side_support(q: np.ndarray, edges: np.ndarray) -> float:
    """Smallest fraction, over the four sides, of points that lie on an edge pixel."""
    h, w = edges.shape
    worst = 1.0
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        n = max(int(np.linalg.norm(b - a) / 3), 8)
        t = np.linspace(0.08, 0.92, n)[:, None]
        p = np.round(a + (b - a) * t).astype(int)
        inside = (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
        if inside.mean() < 0.9:
            return 0.0
        p = p[inside]
        worst = min(worst, float(edges[p[:, 1], p[:, 0]].astype(bool).mean()))
    return worst


def _quad_from_points(pts: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    sw, sh = size
    hull = cv2.convexHull(pts)
    peri = cv2.arcLength(hull, True)
    approx = hull
    for eps in (0.015, 0.025, 0.04, 0.06):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) <= 4:
            break
    if len(approx) != 4:
        return None
    q = _order_quad(approx.reshape(4, 2).astype(np.float32))
    margin = 0.012 * max(sw, sh)
    on_border = sum(p[0] < margin or p[1] < margin or p[0] > sw - margin or p[1] > sh - margin for p in q)
    if on_border >= 2:
        return None
    q = _refine_corners(q, pts.reshape(-1, 2).astype(np.float32))
    horiz = np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])
    vert = np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])
    if not 1.3 < horiz / max(vert, 1e-6) < 2.0:
        return None
    if cv2.contourArea(hull) / max(cv2.contourArea(q), 1.0) < 0.85:
        return None
    return q


def find_card_quad(image_bgr: np.ndarray, work_side: int = 800) -> tuple[np.ndarray, float] | None:
    """Corners (tl, tr, br, bl; input pixels) of the most card-like quadrilateral, and its edge support 0–1.

    Candidates come from closed regions between edges (robust to desk texture touching the card) and from
    edge contours; each is checked for a card-like aspect and for edge support along all four sides.
    """
    h, w = image_bgr.shape[:2]
    s = min(1.0, work_side / max(h, w))
    small = cv2.resize(image_bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else image_bgr
    sh, sw = small.shape[:2]
    min_area = 0.04 * sh * sw
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    channels = (cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), hsv[:, :, 1])
    kernel3, kernel5 = np.ones((3, 3), np.uint8), np.ones((5, 5), np.uint8)
    candidates: list[tuple[np.ndarray, float]] = []
    for ch in channels:
        edges = cv2.Canny(cv2.GaussianBlur(ch, (5, 5), 0), 20, 60)
        thick = cv2.dilate(edges, kernel3)
        support_map = cv2.dilate(edges, kernel5)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(255 - thick, connectivity=4)
        for i in range(1, n):
            x, y, ww, hh, area = stats[i]
            if area < min_area or x == 0 or y == 0 or x + ww >= sw or y + hh >= sh:
                continue
            mask = (labels[y : y + hh, x : x + ww] == i).astype(np.uint8)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            pts = max(contours, key=cv2.contourArea) + np.array([x, y])
            q = _quad_from_points(pts, (sw, sh))
            if q is not None:
                candidates.append((q, _side_support(q, support_map)))
        contours, _ = cv2.findContours(thick, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        for c in contours:
            if cv2.contourArea(c) < min_area:
                continue
            q = _quad_from_points(c, (sw, sh))
            if q is not None:
                candidates.append((q, _side_support(q, support_map)))
    candidates = [(q, sp) for q, sp in candidates if sp >= 0.6]
    if not candidates:
        return None
    q, support = max(candidates, key=lambda c: cv2.contourArea(c[0]) * c[1] ** 2)
    return (q / s).astype(np.float32), support


def _homography(
    quad: np.ndarray, px_per_mm: float, origin_mm: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Image → card coordinates at ``px_per_mm``, shifted so ``origin_mm`` lands at (0, 0)."""
    w, h = CARD_MM[0] * px_per_mm, CARD_MM[1] * px_per_mm
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst -= np.array(origin_mm, np.float32) * px_per_mm
    return cv2.getPerspectiveTransform(quad.astype(np.float32), dst)


def _warp(
    image: np.ndarray,
    quad: np.ndarray,
    px_per_mm: float,
    size: tuple[int, int],
    origin_mm: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Card region → straight image. Big photos are shrunk first: a perspective warp does not average pixels,
    so a 4000-px photo warped straight to 856 px would alias the small print."""
    card_px = float(np.linalg.norm(quad[1] - quad[0]))
    shrink = 1.5 * CARD_MM[0] * px_per_mm / max(card_px, 1.0)
    if shrink < 0.7:
        image = cv2.resize(image, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        quad = quad * shrink
    m = _homography(quad, px_per_mm, origin_mm)
    return cv2.warpPerspective(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _rectify(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    return _warp(image, quad, PX, (CANON_W, CANON_H))


# ------------------------------------------------------------------------------------------ text helpers

_CJK = re.compile(r"[\u3400-\u9fff]")
_PUNCT = str.maketrans({"：": "", ":": "", " ": "", "\u3000": "", "，": "", ",": "", "。": "."})
# Letters an OCR model returns for digits, and full-width forms; only applied to numeric fields.
_LOOKALIKES = dict(zip("OoDQIl|iZzSsBGbg", "0000111122558669", strict=True))
_DIGIT_FIX = str.maketrans(
    _LOOKALIKES | {"x": "X", "×": "X", "Ｘ": "X", "ｘ": "X"} | {chr(0xFF10 + i): str(i) for i in range(10)}
)


_DASH_TO_YI = str.maketrans(dict.fromkeys("—–-－ー―", "一"))
_DASH_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff])[—–－ー―](?=[\u3400-\u9fff])")


def _clean(text: str) -> str:
    return text.translate(_PUNCT).strip()


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _fuzzy_distance(needle: str, hay: str) -> int:
    """Smallest edit distance between ``needle`` and any substring of ``hay`` of about its length."""
    if needle in hay:
        return 0
    n = len(needle)
    dists = [
        _edit_distance(needle, hay[i : i + m]) for m in (n - 1, n, n + 1) for i in range(len(hay) - m + 1)
    ]
    return min(dists, default=n)


def _fuzzy_in(needle: str, hay: str) -> bool:
    """``needle`` occurs in ``hay`` with at most one wrong character per three (labels read by OCR)."""
    return _fuzzy_distance(needle, hay) <= len(needle) // 3


def _match_ethnic(text: str) -> tuple[str, float]:
    """Closest of the 56 ethnic group names, with a factor that drops when the match is not exact."""
    t = "".join(_CJK.findall(text)).removesuffix("族")
    if not t:
        return "", 0.0
    if t in ETHNIC_GROUPS:
        return t, 1.0
    if t in _ETHNIC_OCR_ALIASES:
        return _ETHNIC_OCR_ALIASES[t], 0.9
    ranked = sorted(ETHNIC_GROUPS, key=lambda g: (_edit_distance(t, g), abs(len(g) - len(t))))
    best, d = ranked[0], _edit_distance(t, ranked[0])
    runner_up = ranked[1]
    tie = (_edit_distance(t, runner_up), abs(len(runner_up) - len(t))) == (d, abs(len(best) - len(t)))
    if tie:  # '并' is one edit from every one-character name: no evidence for any of them
        return "", 0.0
    if d <= max(1, len(best) // 2):
        return best, 0.6 / d
    return t, 0.3


def _parse_date(text: str) -> str:
    """yyyymmdd from '1990年1月2日', '1990 1 2', '19900102' …; empty when no calendar date is found."""
    t = text.translate(_DIGIT_FIX)
    m = re.search(r"(\d{4})\D{0,3}?(\d{1,2})\D{1,3}?(\d{1,2})", t) or re.search(r"(\d{4})(\d{2})(\d{2})", t)
    if not m:
        return ""
    y, mo, d = (int(g) for g in m.groups())
    try:
        date(y, mo, d)
    except ValueError:
        return ""
    return f"{y:04d}{mo:02d}{d:02d}"


def _extract_number(text: str) -> str:
    """The ID number in a line (17 digits + digit/X) after fixing look-alike letters, else best effort.

    With more than 18 characters (label remnants read as digits), the window with a valid check character
    and birth date wins, else the rightmost one: the number is printed last on its row.
    """
    t = _clean(text).translate(_DIGIT_FIX).upper()
    t = re.sub(r"[^0-9X]", "", t)
    windows = [t[i : i + 18] for i in range(len(t) - 17) if re.fullmatch(r"\d{17}[\dX]", t[i : i + 18])]
    valid = [w for w in windows if check_character(w[:17]) == w[17] and _parse_date(w[6:14])]
    if valid:
        return valid[-1]
    return windows[-1] if windows else t


def _parse_validity(text: str) -> tuple[str, str, bool]:
    """(start, end, end_inferred) from 'YYYY.MM.DD-YYYY.MM.DD' or 'YYYY.MM.DD-长期', tolerant to OCR noise.

    When only the end's year is legible and it is 5, 10 or 20 years after the start, the end is the start's
    month and day in that year (terms run to the same day): ``end_inferred`` is then True.
    """
    t = text.translate(_DIGIT_FIX)
    digits = re.sub(r"\D", "", t)
    if len(digits) >= 16:
        return _parse_date(digits[:8]), _parse_date(digits[8:16]), False
    if len(digits) >= 8:
        start = _parse_date(digits[:8])
        if "长" in t or "期" in t:
            return start, "长期", False
        if start and len(digits) >= 12 and int(digits[8:12]) - int(start[:4]) in (5, 10, 20):
            end = digits[8:12] + start[4:]
            return start, end if _parse_date(end) else "", bool(_parse_date(end))
        return start, "", False
    return "", "", False


def _is_term(start: str, end: str) -> bool:
    """Cards run 5, 10 or 20 years to the same day (29 February ends on 28 February or 1 March)."""
    same_day = end[4:] == start[4:] or (start[4:] == "0229" and end[4:] in ("0228", "0301"))
    return same_day and int(end[:4]) - int(start[:4]) in (5, 10, 20)


_PLACE_SUFFIX = "市区县州旗盟"


def _normalize_authority(text: str, address: str | None = None) -> tuple[str, bool]:
    """Repair an OCR'd 签发机关 with its fixed pattern and, when given, the card's address.

    The issuing bureau is the one of the registered address printed on the front, so a place name in the
    authority that is one character away from a place name in the address (followed there by 市/区/县 …)
    was misread. Returns (text, changed).
    """
    original = text
    if "公安局" not in text:
        text = re.sub(r"公安(?!局).", "公安局", text, count=1)
        text = re.sub(r"公.局", "公安局", text, count=1) if "公安局" not in text else text
    text = re.sub(r"分(?!局).$", "分局", text)
    if address and "公安局" in text:
        head, tail = text.split("公安局", 1)
        tokens = [head.rstrip(_PLACE_SUFFIX), tail.removesuffix("分局").rstrip(_PLACE_SUFFIX)]
        for tok in tokens:
            if len(tok) < 2 or tok in address:
                continue
            near = {
                address[i : i + len(tok)]
                for i in range(len(address) - len(tok))
                if address[i + len(tok)] in _PLACE_SUFFIX
                and sum(a != b for a, b in zip(address[i : i + len(tok)], tok, strict=True)) == 1
            }
            if len(near) == 1:
                text = text.replace(tok, near.pop(), 1)
    return text, text != original


# ------------------------------------------------------------------------------------------ card layout


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


# ------------------------------------------------------------------------------------------ the front

# Windows (mm) where the printed gap between a label and its value lies, with the usual split point.
_GAP_LABEL = ((11.3, 16.0), 13.8)
_GAP_SEX_NATION = ((18.6, 25.4), 22.0)
_GAP_NATION = ((30.6, 35.0), 32.9)
_GAP_NUMBER = ((23.0, 28.6), 26.0)
_BIRTH_END = 41.5
_CONTEXT_MM = 3.4  # one label character (2.7 mm) and its spacing


def _front_segments(co: _CardOcr) -> tuple[list[_Seg], list[_Seg]]:
    """(value segments, label segments) of a rectified front, split at the printed label/value gaps."""
    gray = cv2.cvtColor(co.card, cv2.COLOR_BGR2GRAY)
    slots = _assign(co.rows, _FRONT_SLOTS)
    co.slots_matched = len(slots)
    values: list[_Seg] = []
    labels: list[_Seg] = []
    right = _PORTRAIT_MM[0] - 0.5

    def split(row: _Box, role: str, label: str, gap: tuple[tuple[float, float], float], x1: float) -> None:
        if row.x0 < _LABEL_COLUMN_END:
            x = _find_gap(gray, row, *gap)
            labels.append(_Seg(label, row.x0, row.y0, min(x, row.x1), row.y1))
            if row.x1 > x + 1.0:
                values.append(_Seg(role, x, row.y0, min(x1, row.x1), row.y1))
        else:
            values.append(_Seg(role, row.x0, row.y0, min(x1, row.x1), row.y1))

    if "name" in slots:
        split(slots["name"][0], "name", "姓名", _GAP_LABEL, right)
    if "birth" in slots:
        row = slots["birth"][0]
        # The date always reaches ~41 mm (日); faint day digits are sometimes missed by the detector.
        split(_Box(row.x0, row.y0, max(row.x1, _BIRTH_END), row.y1), "birth", "出生", _GAP_LABEL, right)
    if "sex" in slots:
        row = slots["sex"][0]
        # When 性别 and its value escaped detection the row starts at 民族: probe the printed position.
        x_a = _find_gap(gray, row, *_GAP_LABEL) if row.x0 < _LABEL_COLUMN_END else _GAP_LABEL[1]
        if row.x0 < _LABEL_COLUMN_END:
            labels.append(_Seg("性别", row.x0, row.y0, x_a, row.y1))
        if row.x1 > _GAP_SEX_NATION[0][1] + 2:  # 民族 printed (resident cards)
            x_b = _find_gap(gray, row, *_GAP_SEX_NATION)
            x_c = _find_gap(gray, row, *_GAP_NATION)
            values.append(_Seg("sex", x_a, row.y0, x_b, row.y1))
            labels.append(_Seg("民族", x_b, row.y0, x_c, row.y1))
            if row.x1 > x_c + 1.0:
                values.append(_Seg("nationality", x_c, row.y0, min(right, row.x1), row.y1))
        else:
            values.append(_Seg("sex", x_a, row.y0, min(row.x1, _GAP_SEX_NATION[0][1]), row.y1))
            # Nothing detected where 民族 goes: a permit (none printed) or faint print. Probe the spot.
            values.append(_Seg("nationality?", _GAP_NATION[1], row.y0, _GAP_NATION[1] + 12.0, row.y1))
    elif "name" in slots or "birth" in slots:
        # The whole 性别/民族 row escaped detection (faint print): probe the printed positions.
        y = _FRONT_SLOTS["sex"]
        values.append(_Seg("sex?", 14.0, y - 2.0, 20.0, y + 2.0))
        values.append(_Seg("nationality?", _GAP_NATION[1], y - 2.0, _GAP_NATION[1] + 12.0, y + 2.0))
    for i, row in enumerate(sorted(slots.get("address", []), key=lambda r: r.cy)):
        if i == 0:
            split(row, "address", "住址", _GAP_LABEL, right)
        else:
            values.append(_Seg("address", max(row.x0, _GAP_LABEL[0][0]), row.y0, min(right, row.x1), row.y1))
    if "number" in slots:
        row = max(slots["number"], key=lambda r: r.x1 - r.x0)
        split(row, "number", "公民身份号码", _GAP_NUMBER, CARD_MM[0])
    return values, labels


def _read_front_fields(co: _CardOcr, ocr: TextRecognizer, res: CardFront) -> int:
    """Recognise and parse the front; returns the anchor count used to decide whether a card was found."""
    values, labels = _front_segments(co)
    segs = list(values)
    extra: dict[int, np.ndarray] = {}
    for s in values:
        if s.role in ("sex", "nationality"):
            # Second read of the single-character fields with the label's last character in front of the
            # value: alone, a glyph lacks context (壮 reads as 并); after 族 it is read right.
            segs.append(_Seg(s.role + "#ctx", s.x0 - _CONTEXT_MM, s.y0, s.x1, s.y1))
    strip = _label_strip(co.card, labels)
    if strip is not None:
        extra[len(segs)] = strip
        segs.append(_Seg("labels", 0, 0, 0, 0))
    _recognize(ocr, co.card, segs, extra)

    conf = res.confidence
    by_role: dict[str, list[_Seg]] = {}
    for s in segs:
        by_role.setdefault(s.role.split("#")[0], []).append(s)  # "sex#ctx" votes with "sex"
    label_text = _clean(by_role["labels"][0].text) if "labels" in by_role else ""
    found_labels = {lb for lb in _FRONT_LABELS if _fuzzy_in(lb, label_text)}

    if "name" in by_role:
        s = by_role["name"][0]
        # A dash in a name is the character 一 read as punctuation (孟一岩 → 孟—岩).
        text = _clean(s.text).translate(_DASH_TO_YI)
        res.name = "".join(ch for ch in text if _CJK.match(ch) or ch == "·")
        conf["name"] = s.score if res.name else 0.0
    sex_votes: dict[str, list[float]] = {}
    for s in by_role.get("sex", []) + by_role.get("sex?", []):
        m = re.search(r"[男女]", _after_label(_clean(s.text), "别") if s.role.endswith("#ctx") else s.text)
        if m and (s.role != "sex?" or s.score >= 0.6):
            sex_votes.setdefault(m.group(0), []).append(s.score)
    if sex_votes:
        res.sex, conf["sex"] = _decide(sex_votes)
    nation_votes: dict[str, list[float]] = {}
    for s in by_role.get("nationality", []) + by_role.get("nationality?", []):
        text = _after_label(_clean(s.text), "族") if s.role.endswith("#ctx") else s.text
        name, factor = _match_ethnic(text)
        if name and (s.role != "nationality?" or (factor >= 0.6 and s.score >= 0.6)):
            nation_votes.setdefault(name, []).append(s.score * factor)
    if nation_votes:
        res.nationality, conf["nationality"] = _decide(nation_votes)
    if "birth" in by_role:
        s = by_role["birth"][0]
        res.birth = _parse_date(s.text)
        conf["birth"] = s.score if res.birth else 0.0
    if "address" in by_role:
        parts = by_role["address"]
        res.address = _DASH_BETWEEN_CJK.sub("一", "".join(_clean(s.text) for s in parts))
        conf["address"] = min(s.score for s in parts) if res.address else 0.0
    if "number" in by_role:
        s = by_role["number"][0]
        res.number = _extract_number(s.text)
        conf["number"] = s.score if len(res.number) == 18 else 0.0
        co.number_seg = s

    _check_front(res, ocr, co)
    res.labels_found = sorted(found_labels)
    return len(found_labels) + 2 * res.number_valid + bool(res.birth) + bool(res.name)


def _check_front(res: CardFront, ocr: TextRecognizer, co: _CardOcr) -> None:
    """Validate the number and cross-check it with the printed birth date and sex."""
    conf, ev = res.confidence, res.evidence
    parsed = None
    if res.number:
        try:
            parsed = parse_id_number(res.number)
        except InvalidIdNumber as e:
            if co.number_seg is not None:
                # One more read of the number from a slightly different crop before giving up.
                crop = _crop(co.card, co.number_seg, pad_x=1.2, pad_y=0.6)
                if crop.size:
                    text, score = ocr.recognize([crop])[0]
                    try:
                        parsed = parse_id_number(_extract_number(text))
                        ev.append(
                            Evidence("number_reread", "first reading failed the check; a re-read passed")
                        )
                        conf["number"] = score
                    except InvalidIdNumber:
                        pass
            if parsed is None:
                ev.append(Evidence("number_invalid", e.reason))
                conf["number"] = min(conf.get("number", 0.0), 0.3)
    res.number_valid = parsed is not None
    if res.address:
        fixed = _fix_province(res.address, parsed.province if parsed and parsed.kind == "resident" else None)
        if fixed != res.address:
            ev.append(
                Evidence("address_province_corrected", f"read {res.address[:8]}…; nearest province name")
            )
            res.address = fixed
            conf["address"] = min(conf.get("address", 0.0), 0.8)
    if parsed is None:
        return
    res.number = parsed.number
    res.kind = parsed.kind
    num_birth = f"{parsed.birth:%Y%m%d}"
    num_conf = conf.get("number", 0.0)
    if not res.birth:
        res.birth, conf["birth"] = num_birth, min(0.7, num_conf)
        ev.append(Evidence("birth_from_number", "printed birth date unreadable; taken from the ID number"))
    elif res.birth != num_birth:
        if conf.get("birth", 0.0) < 0.95 or num_conf >= conf.get("birth", 0.0):
            ev.append(
                Evidence("birth_mismatch_resolved", f"printed {res.birth} vs the number's; used the number")
            )
            res.birth, conf["birth"] = num_birth, min(0.7, num_conf)
        else:
            ev.append(Evidence("birth_mismatch", f"printed {res.birth} disagrees with the ID number"))
    if not res.sex:
        res.sex, conf["sex"] = parsed.sex, min(0.7, num_conf)
        ev.append(Evidence("sex_from_number", "printed sex unreadable; taken from the ID number"))
    elif res.sex != parsed.sex:
        if conf.get("sex", 0.0) < 0.95:
            ev.append(
                Evidence(
                    "sex_mismatch_resolved", f"printed {res.sex} (unsure) vs the number's; used the number"
                )
            )
            res.sex, conf["sex"] = parsed.sex, min(0.7, num_conf)
        else:
            ev.append(Evidence("sex_mismatch", f"printed {res.sex} disagrees with the ID number"))
    if parsed.kind == "hk_macau_taiwan_permit" and res.nationality:
        ev.append(Evidence("nationality_on_permit", "residence permits print no 民族"))


@cache
def _province_names() -> frozenset[str]:
    return frozenset(n for i in range(10, 100) if (n := province_name(f"{i:02d}")))


def _fix_province(address: str, from_number: str | None) -> str:
    """Replace a misread province at the start of an address with the nearest real one.

    Addresses on cards always start with the province-level division, a closed list of 34 names. A unique
    nearest name within one edit (two for long names) wins; a tie is broken by the province of the ID
    number's region code (a hint only: people move, so it never overrides a clean reading).
    """
    names = _province_names()
    if any(address.startswith(n) for n in names):
        return address
    scored = []
    for n in names:
        for k in (len(n) - 1, len(n), len(n) + 1):
            if 2 <= k <= len(address):
                scored.append((_edit_distance(address[:k], n), n, k))
    if not scored:
        return address
    best = min(d for d, _, _ in scored)
    winners = {(n, k) for d, n, k in scored if d == best}
    names_won = {n for n, _ in winners}
    if len(names_won) > 1:
        names_won &= {from_number} if from_number else set()
    if len(names_won) != 1:
        return address
    name = names_won.pop()
    if best > (2 if len(name) >= 5 else 1):
        return address
    k = min(k for n, k in winners if n == name)
    return name + address[k:]


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


def _portrait(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The printed photo, warped straight from the input photo at 12 px/mm (sharper than the card image)."""
    x0, y0, x1, y1 = _PORTRAIT_MM
    scale = 12.0
    return _warp(image, quad, scale, (round((x1 - x0) * scale), round((y1 - y0) * scale)), (x0, y0))


# ------------------------------------------------------------------------------------------ the back

_GAP_BACK = ((26.8, 31.9), 30.0)


def _read_back_fields(co: _CardOcr, ocr: TextRecognizer, res: CardBack, address_hint: str | None) -> int:
    gray = cv2.cvtColor(co.card, cv2.COLOR_BGR2GRAY)
    slots = _assign(co.rows, _BACK_SLOTS, tol=3.0)
    co.slots_matched = len(slots)
    segs: list[_Seg] = []
    labels: list[_Seg] = []
    for role, label in (("authority", "签发机关"), ("validity", "有效期限")):
        if role not in slots:
            continue
        row = slots[role][0]
        if row.x0 < _BACK_LABEL_COLUMN_END:
            x = _find_gap(gray, row, *_GAP_BACK)
            labels.append(_Seg(label, row.x0, row.y0, min(x, row.x1), row.y1))
            if row.x1 > x + 1.0:
                segs.append(_Seg(role, x, row.y0, row.x1, row.y1))
        else:
            segs.append(_Seg(role, row.x0, row.y0, row.x1, row.y1))
    for role in ("china", "title"):
        for row in slots.get(role, []):
            segs.append(_Seg(role, row.x0, row.y0, row.x1, row.y1))
    extra: dict[int, np.ndarray] = {}
    strip = _label_strip(co.card, labels)
    if strip is not None:
        extra[len(segs)] = strip
        segs.append(_Seg("labels", 0, 0, 0, 0))
    _recognize(ocr, co.card, segs, extra)

    conf = res.confidence
    found: set[str] = set()
    for s in segs:
        t = _clean(s.text)
        if s.role == "labels":
            found |= {lb for lb in ("签发机关", "有效期限") if _fuzzy_in(lb, t)}
        elif s.role in ("china", "title"):
            if _fuzzy_in("中华人民共和国", t):
                found.add("中华人民共和国")
            title = min(_BACK_TITLES, key=lambda x: _fuzzy_distance(x, t))
            if _fuzzy_distance(title, t) <= len(title) // 3:
                res.title = title
                found.add("title")
        elif s.role == "authority":
            raw = "".join(_CJK.findall(t))
            res.authority, changed = _normalize_authority(raw, address_hint)
            conf["authority"] = (min(s.score, 0.8) if changed else s.score) if res.authority else 0.0
            if changed:
                res.evidence.append(
                    Evidence("authority_corrected", f"read {raw}; repaired with the card's pattern")
                )
        elif s.role == "validity":
            res.start_date, res.end_date, inferred = _parse_validity(t)
            conf["start_date"] = s.score if res.start_date else 0.0
            conf["end_date"] = (0.6 if inferred else s.score) if res.end_date else 0.0
            if inferred:
                res.evidence.append(
                    Evidence("end_date_inferred", "end day unreadable; same day as the start")
                )
    if (
        res.start_date
        and res.end_date
        and res.end_date != "长期"
        and not _is_term(res.start_date, res.end_date)
    ):
        # A one-digit misread could sit in either date, so nothing is repaired: flag both for confirmation.
        res.evidence.append(
            Evidence("validity_term_unusual", f"{res.start_date}-{res.end_date} is not a 5/10/20-year term")
        )
        conf["start_date"] = min(conf["start_date"], 0.6)
        conf["end_date"] = min(conf["end_date"], 0.6)
    res.labels_found = sorted(found)
    authority_like = res.authority.endswith(("局", "分局", "所")) or "公安" in res.authority
    return len(found) + 2 * bool(res.start_date and res.end_date) + authority_like


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


# ------------------------------------------------------------------------------------------ public API

_FOUND_FRONT = 4  # OCR anchors: labels + 2 x valid number + birth + name
_FOUND_BACK = 3  # OCR anchors: labels/titles + 2 x validity dates + authority-like text
_GENUINE = 0.6
# An outline is evidence of a card; labels that placed the card ("text") or a photo with the proportions
# of a card ("frame") are weaker evidence.
_OUTLINE_WEIGHT = {"edges": 0.3, "frame": 0.15, "text": 0.15}


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


def _read_side(
    image: np.ndarray, ocr: TextRecognizer | None, side: Side, address_hint: str | None = None
) -> CardFront | CardBack:
    t0 = time.perf_counter()
    ocr = ocr or get_text_recognizer()
    best: CardFront | CardBack | None = None
    best_anchors = -1
    other_side = 0
    pending: list[tuple[np.ndarray, str]] = []
    edge = find_card_quad(image)
    if edge:
        pending.append((edge[0], "edges"))
    else:
        h, w = image.shape[:2]
        if 1.45 < max(w, h) / min(w, h) < 1.75:
            # No outline but card-shaped: an already cropped card (SDK capture, scan). Try the frame itself.
            frame = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
            pending.append((frame if w >= h else frame[[3, 0, 1, 2]], "frame"))
    text_tried = False
    while pending or not text_tried:
        if not pending:
            text_tried = True
            quad, other_side = _text_anchor_quad(image, ocr, side)
            if quad is None:
                break
            pending.append((quad, "text"))
        quad, source = pending.pop(0)
        co = _detect_card(image, quad, ocr, side)
        res: CardFront | CardBack
        # Found: enough printed text read, or a card-like layout with at least some of its text legible
        # (a blurred real card must give "unreadable", VerifyStatus 3/4, not "no card", 8).
        if side == "front":
            res = CardFront(quad=co.quad, quad_source=source, card=co.card)
            anchors = _read_front_fields(co, ocr, res)
            res.layout_score = _front_layout(res, image, co)
            res.found = anchors >= _FOUND_FRONT or (anchors >= 1 and res.layout_score >= _GENUINE)
            if res.found and not res.portrait_has_face:
                res.evidence.append(Evidence("portrait_no_face", "no face where the card prints its photo"))
        else:
            res = CardBack(quad=co.quad, quad_source=source, card=co.card)
            anchors = _read_back_fields(co, ocr, res, address_hint)
            res.layout_score = _back_layout(res, co)
            res.found = anchors >= _FOUND_BACK or (anchors >= 1 and res.layout_score >= _GENUINE)
        if res.found:
            res.genuine = res.layout_score >= _GENUINE
            best = res
            break
        if anchors > best_anchors:
            best, best_anchors = res, anchors
    if best is None or not best.found:
        out = CardFront() if side == "front" else CardBack()
        if other_side >= 2:
            other = "back (国徽面)" if side == "front" else "front (人像面)"
            out.evidence.append(Evidence("wrong_side", f"this looks like the {other}"))
        out.evidence.append(Evidence("card_not_found", f"no ID card {side} in the photo"))
        best = out
    best.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
    return best


def read_front(image_bgr: np.ndarray, ocr: TextRecognizer | None = None) -> CardFront:
    """Read the 人像面. ``found=False`` when no card front is in the photo (VerifyStatus 8)."""
    res = _read_side(image_bgr, ocr, "front")
    assert isinstance(res, CardFront)
    return res


def read_back(
    image_bgr: np.ndarray, ocr: TextRecognizer | None = None, *, address_hint: str | None = None
) -> CardBack:
    """Read the 国徽面. ``found=False`` when no card back is in the photo (VerifyStatus 8).

    ``address_hint``: the front's 住址, used to repair a misread place name in 签发机关 (see ``read_card``).
    """
    res = _read_side(image_bgr, ocr, "back", address_hint)
    assert isinstance(res, CardBack)
    return res


def read_card(
    front_bgr: np.ndarray, back_bgr: np.ndarray | None = None, ocr: TextRecognizer | None = None
) -> IdCardReading:
    """Both sides, plus the check that needs both: the validity term must fit the holder's age at issue."""
    front = read_front(front_bgr, ocr)
    hint = front.address if front.found and front.confidence.get("address", 0.0) >= LOW_CONFIDENCE else None
    back = read_back(back_bgr, ocr, address_hint=hint) if back_bgr is not None else None
    reading = IdCardReading(front, back)
    if not (
        front.found and back is not None and back.found and front.birth and back.start_date and back.end_date
    ):
        return reading
    try:
        start = _to_date(back.start_date)
        end = None if back.end_date == "长期" else _to_date(back.end_date)
        birth = _to_date(front.birth)
    except ValueError:
        return reading
    kind = cast(
        IdKind, front.kind if front.kind in ("hk_macau_taiwan_permit", "foreign_permanent") else "resident"
    )
    if not card_validity_ok(start, end, birth, kind=kind):
        reading.evidence.append(
            Evidence("validity_term_mismatch", "the 有效期限 term does not fit the holder's age at issue")
        )
    return reading


def _to_date(yyyymmdd: str) -> date:
    return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
