"""What every decision shares: the CPU slots model work runs in, and the calendar ID-card dates are
judged by."""

from __future__ import annotations

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

# CPU-bound model work is limited to one decision per core, so a burst queues instead of thrashing.
CPU_SLOTS = threading.BoundedSemaphore(2)
# ID cards state dates in China time; "expired" is judged by that calendar.
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA).date()
