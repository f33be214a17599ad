"""The 国徽面: reading 签发机关, 有效期限 and the title, repairing the authority with the front's address."""

from __future__ import annotations

import cv2
import numpy as np

from shiren.engine.ocr import TextRecognizer

from .layout import _BACK_SLOTS, _BACK_TITLES, _assign, _CardOcr, _find_gap, _label_strip, _recognize, _Seg
from .text import _CJK, _clean, _fuzzy_distance, _fuzzy_in, _is_term, _normalize_authority, _parse_validity
from .types import CardBack, Evidence

_BACK_LABEL_COLUMN_END = 24.0
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
