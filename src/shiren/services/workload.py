"""What every decision shares: the CPU slots model work runs in, the calendar ID-card dates are judged by,
and the model versions recorded as evidence."""

from __future__ import annotations

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shiren.engine.face.registry import model_versions
from shiren.engine.ocr import get_text_recognizer

# CPU-bound model work is limited to one decision per core, so a burst queues instead of thrashing.
CPU_SLOTS = threading.BoundedSemaphore(2)
# ID cards state dates in China time; "expired" is judged by that calendar.
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA).date()


def model_evidence() -> dict[str, str]:
    """Name and exact version of every model a decision may use."""
    ocr = get_text_recognizer()
    return model_versions() | {"ocr": f"{ocr.name}:{ocr.version}"}
