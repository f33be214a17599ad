"""Finding the card in a photo and straightening it: everything that works on pixels before any OCR."""

from __future__ import annotations

import cv2
import numpy as np

CARD_MM = (85.6, 54.0)
PX = 10.0  # canonical resolution, pixels per millimetre
CANON_W, CANON_H = round(CARD_MM[0] * PX), round(CARD_MM[1] * PX)
_PORTRAIT_MM = (53.0, 4.0, 83.0, 40.5)  # x0, y0, x1, y1


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


def _portrait(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The printed photo, warped straight from the input photo at 12 px/mm (sharper than the card image)."""
    x0, y0, x1, y1 = _PORTRAIT_MM
    scale = 12.0
    return _warp(image, quad, scale, (round((x1 - x0) * scale), round((y1 - y0) * scale)), (x0, y0))
