"""``shiren worker``: the background work of a deployment in a process of its own, apart from the API
replicas (which then run with ``SHIREN_RUN_WORKERS=false``): the callback sender, the retention worker and
the nonce purge. Any number may run side by side and beside servers that still run their own: outbox rows
are leased with fencing tokens and erasures are claimed by conditional updates, so each is done once."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from starlette.concurrency import run_in_threadpool

from shiren.runtime import Runtime
from shiren.services.console.accounts import purge_sessions
from shiren.storage.db import refresh_statistics
from shiren.storage.repo.nonces import purge_nonces
from shiren.workers.callbacks import CallbackWorker
from shiren.workers.retention import RetentionWorker

log = logging.getLogger(__name__)
NONCE_PURGE_S = 300.0


async def purge_nonces_forever(runtime: Runtime) -> None:
    """Every 5 minutes: drop nonces older than two signature windows (they can no longer be replayed) and
    console sessions past their end, and refresh SQLite's planner statistics."""
    window = timedelta(seconds=2 * runtime.settings.timestamp_window_s)
    while True:
        try:
            await run_in_threadpool(purge_nonces, runtime.sessions, window)
            await run_in_threadpool(purge_sessions, runtime)
            await run_in_threadpool(refresh_statistics, runtime.engine)
        except Exception:
            log.exception("nonce or session purge failed")
        await asyncio.sleep(NONCE_PURGE_S)


async def run_until_stopped(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the workers until ``stop`` is set, then let sends in flight finish."""
    workers: list[CallbackWorker | RetentionWorker] = [CallbackWorker(runtime), RetentionWorker(runtime)]
    purger = asyncio.create_task(purge_nonces_forever(runtime))
    for worker in workers:
        worker.start()
    log.info("shiren worker started: callbacks, retention, nonce purge")
    try:
        await stop.wait()
    finally:
        purger.cancel()
        for worker in reversed(workers):
            await worker.stop()
        log.info("shiren worker stopped")


def serve_workers(runtime: Runtime) -> None:
    """The worker process's main loop: SIGTERM or SIGINT stops it gracefully."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_until_stopped(runtime, stop)

    asyncio.run(main())
