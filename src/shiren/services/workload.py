"""What every decision shares: the CPU slots model work runs in, and the calendar ID-card dates are
judged by."""

from __future__ import annotations

import os
import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo


class CpuSlots(threading.BoundedSemaphore):
    """A bounded semaphore that also counts the threads waiting for a slot (``waiting``, for /metrics)."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.waiting = 0
        self._waiting_lock = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if super().acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self._waiting_lock:
            self.waiting += 1
        try:
            return super().acquire(True, timeout)
        finally:
            with self._waiting_lock:
                self.waiting -= 1

    __enter__ = acquire


def usable_cores() -> int:
    """The cores this process may run on (its affinity: a replica pinned with taskset gets its own)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


# CPU-bound model work is limited to one decision per usable core, so a burst queues instead of thrashing.
CPU_SLOTS = CpuSlots(usable_cores())
# ID cards state dates in China time; "expired" is judged by that calendar.
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA).date()
