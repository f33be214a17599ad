"""The public entry points: try each way of locating the card, read a side, and check both sides together.

The OCR model is always passed in by the caller; nothing here reads settings or process-wide state.
"""

from __future__ import annotations

import time
from datetime import date
from typing import cast

import cv2
import numpy as np

from shiren.domain.idnumber import IdKind, card_validity_ok
from shiren.engine.ocr import TextRecognizer

from .back import _read_back_fields
from .front import _read_front_fields
from .layout import _back_layout, _detect_card, _front_layout, _text_anchor_quad
from .locate import find_card_quad
from .types import LOW_CONFIDENCE, CardBack, CardFront, Evidence, IdCardReading, Side


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to BGR; raises ValueError when the bytes are not an image."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a decodable image")
    return img


_FOUND_FRONT = 4  # OCR anchors: labels + 2 x valid number + birth + name
_FOUND_BACK = 3  # OCR anchors: labels/titles + 2 x validity dates + authority-like text
_GENUINE = 0.6


def _read_side(
    image: np.ndarray, ocr: TextRecognizer, side: Side, address_hint: str | None = None
) -> CardFront | CardBack:
    t0 = time.perf_counter()
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


def read_front(image_bgr: np.ndarray, *, ocr: TextRecognizer) -> CardFront:
    """Read the 人像面. ``found=False`` when no card front is in the photo (VerifyStatus 8)."""
    res = _read_side(image_bgr, ocr, "front")
    assert isinstance(res, CardFront)
    return res


def read_back(image_bgr: np.ndarray, *, ocr: TextRecognizer, address_hint: str | None = None) -> CardBack:
    """Read the 国徽面. ``found=False`` when no card back is in the photo (VerifyStatus 8).

    ``address_hint``: the front's 住址, used to repair a misread place name in 签发机关 (see ``read_card``).
    """
    res = _read_side(image_bgr, ocr, "back", address_hint)
    assert isinstance(res, CardBack)
    return res


def read_card(
    front_bgr: np.ndarray | None,
    back_bgr: np.ndarray | None = None,
    *,
    ocr: TextRecognizer,
    front: CardFront | None = None,
) -> IdCardReading:
    """Both sides, plus what needs both: the front's 住址 repairs a misread place in the back's 签发机关, and
    the validity term must fit the holder's age at issue. ``front``: the front as already read (the
    user's confirm step), so it is not read twice; either side may be absent."""
    if front is None and front_bgr is not None:
        front = read_front(front_bgr, ocr=ocr)
    hint = (
        front.address
        if front is not None and front.found and front.confidence.get("address", 0.0) >= LOW_CONFIDENCE
        else None
    )
    back = read_back(back_bgr, ocr=ocr, address_hint=hint) if back_bgr is not None else None
    reading = IdCardReading(front, back)
    if not (
        front is not None
        and front.found
        and back is not None
        and back.found
        and front.birth
        and back.start_date
        and back.end_date
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
