"""The card front as read for the user's confirm step, kept with the upload so the decision reuses it.

The fields go into an encrypted column; the printed portrait (the face the live face is compared with)
into an encrypted blob, as PNG so the comparison sees exactly the pixels the first reading cut out."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import cv2
import numpy as np

from shiren.engine.idcard import CardFront, Evidence

_ARRAYS = ("quad", "card", "portrait")


def front_to_record(front: CardFront) -> tuple[dict[str, Any], bytes | None]:
    """The reading as JSON-able fields, and the portrait as PNG bytes (None without one)."""
    record: dict[str, Any] = {}
    for f in fields(front):
        if f.name in _ARRAYS:
            continue
        value = getattr(front, f.name)
        record[f.name] = [[e.code, e.detail] for e in value] if f.name == "evidence" else value
    if front.quad is not None:
        record["quad"] = np.asarray(front.quad, dtype=float).tolist()
    portrait = None
    if front.portrait is not None:
        ok, png = cv2.imencode(".png", front.portrait)
        portrait = png.tobytes() if ok else None
    return record, portrait


def front_from_record(record: dict[str, Any], portrait_png: bytes | None) -> CardFront:
    """The reading again (without the rectified card image, which no check needs)."""
    known = {f.name for f in fields(CardFront)} - set(_ARRAYS)
    values = {k: v for k, v in record.items() if k in known}
    values["evidence"] = [Evidence(code, detail) for code, detail in record.get("evidence", [])]
    front = CardFront(**values)
    if record.get("quad") is not None:
        front.quad = np.asarray(record["quad"], dtype=np.float32)
    if portrait_png:
        front.portrait = cv2.imdecode(np.frombuffer(portrait_png, np.uint8), cv2.IMREAD_COLOR)
    return front
