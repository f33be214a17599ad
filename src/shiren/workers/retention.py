"""The retention worker: every ``retention_interval_s`` it erases what is due (``services.retention``).

Why it looks like this:

* Every server process runs one (started by the app's lifespan), all on one database. Nothing needs to be
  elected: each erasure claims its row with a conditional UPDATE, so when two processes pick the same
  attempt one erases it and the other skips it. The first pass waits a random part of the interval, so
  replicas started together do not all plan at the same moment.
* A pass is bounded (``retention_batch`` attempts per kind, oldest first) and runs in a worker thread; when
  it found more than a batch the next one starts at once, else the worker sleeps the interval. Stopping
  waits for the pass in flight, which is short.
* ``retention_interval_s = 0`` turns it off (run ``shiren retention run`` from cron instead).

Only counts are logged, never a BizId or anything personal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from shiren.runtime import Runtime
from shiren.services.retention import RetentionReport, retention_pass

log = logging.getLogger(__name__)

ACTOR = "retention-worker"
MAX_FIRST_DELAY_S = 30.0


class RetentionWorker:
    """``start()`` in the app's startup, ``await stop()`` at shutdown."""

    def __init__(
        self, runtime: Runtime, *, interval_s: float | None = None, first_delay_s: float | None = None
    ) -> None:
        self.runtime = runtime
        self.interval_s = runtime.settings.retention_interval_s if interval_s is None else interval_s
        if first_delay_s is None:
            first_delay_s = random.uniform(0.0, min(self.interval_s, MAX_FIRST_DELAY_S))
        self.first_delay_s = first_delay_s
        self.passes = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None] | None:
        if self.interval_s <= 0:
            log.info("retention worker off (SHIREN_RETENTION_INTERVAL_S=0)")
            return None
        self._task = asyncio.create_task(self.run(), name="shiren-retention")
        return self._task

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    async def run(self) -> None:
        await self._sleep(self.first_delay_s)
        while not self._stop.is_set():
            report = await self._pass()
            if report is None or not (report.more and report.total):
                await self._sleep(self.interval_s)

    async def _pass(self) -> RetentionReport | None:
        try:
            report = await asyncio.to_thread(retention_pass, self.runtime, actor=ACTOR)
        except Exception:  # the database may be away for a moment: try again next interval
            log.exception("retention pass failed")
            return None
        self.passes += 1
        if report.total or report.failed:
            counts = " ".join(f"{kind}={n}" for kind, n in report.erased.items())
            log.info("retention: erased %s files=%d failed=%d", counts, report.files, report.failed)
        return report
