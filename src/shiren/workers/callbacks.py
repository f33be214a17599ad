"""The callback delivery worker: sends the outbox's rows, signed, until each is delivered or given up.

Why it looks like this:

* Every server process runs one worker (started by the app's lifespan), all on one database, SQLite or
  PostgreSQL. A row is *claimed* by one atomic conditional UPDATE that sets a lease
  (``state='pending' AND next_at<=now AND (lease_until IS NULL OR lease_until<now)``), so two processes
  never send the same row at the same time; a process killed mid-send leaves a lease that simply expires.
* The lease value doubles as a fencing token: a try's outcome is written only while the row still carries
  the lease it was claimed with, so a slow process cannot overwrite what another did after the lease ran
  out. Delivery is at least once; the ``webhook-id`` (the same on every try) lets receivers deduplicate.
* Every try leaves a :class:`CallbackDelivery` row. 2xx → delivered; anything else → retried after
  ``base * 2**(tries-1)`` seconds (capped, a little jitter) until ``callback_max_tries``, then failed.
  A URL refused by the address rules (SPEC 4.6, checked at send time) fails at once: retrying cannot help.
* New rows queued in this process wake the worker at once (``add_enqueue_listener``); rows queued by
  other processes are found by polling every ``callback_poll_s``.

Bodies, secrets and URLs' paths or query strings are never logged: only the webhook id and scheme://host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, or_, select, update

from shiren.intake.errors import DestinationRefused, FetchFailed
from shiren.intake.fetch import send_checked_request
from shiren.runtime import Runtime
from shiren.services.callbacks import (
    ALIBABA,
    USER_AGENT,
    WEBHOOK,
    add_enqueue_listener,
    alibaba_url,
    callback_token,
    outbox_signing_secret,
    webhook_headers,
)
from shiren.settings import Settings
from shiren.storage.models import CallbackDelivery, CallbackOutbox, utcnow

log = logging.getLogger(__name__)

# A claimed row is someone's for the send timeout plus this much (database writes, a busy event loop).
LEASE_MARGIN_S = 5.0
CONCURRENCY = 16  # sends in flight per process
ERROR_LENGTH = 500  # the width of the error columns


@dataclass(frozen=True)
class Job:
    """One claimed outbox row; ``lease`` is the fencing token its outcome is written under."""

    outbox_id: int
    webhook_id: str
    url: str = field(repr=False)  # its query string may hold a token
    body: str = field(repr=False)
    tries: int
    lease: datetime
    secret: bytes | None = field(repr=False)
    style: str = WEBHOOK


@dataclass(frozen=True)
class TryResult:
    """The outcome of one delivery try."""

    at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False  # refused by policy: give up without further tries

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def lease_seconds(settings: Settings) -> float:
    return settings.callback_timeout_s + LEASE_MARGIN_S


def backoff_s(settings: Settings, tries: int, rng: random.Random | None = None) -> float:
    """Delay before the next try after ``tries`` failed ones: base * 2**(tries-1), capped, +0-10 % jitter."""
    base = settings.callback_backoff_base_s * 2 ** max(0, tries - 1)
    jitter = 1.0 + (rng or random).uniform(0.0, 0.1)
    return min(settings.callback_backoff_max_s, base * jitter)


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(
        CallbackOutbox.state == "pending",
        CallbackOutbox.next_at <= now,
        or_(CallbackOutbox.lease_until.is_(None), CallbackOutbox.lease_until < now),
    )


def claim_due(runtime: Runtime, limit: int, now: datetime | None = None) -> list[Job]:
    """Atomically lease up to ``limit`` due rows for this process and load their signing keys (blocking)."""
    now = now or utcnow()
    with runtime.sessions() as session:
        # A read first: an idle poll must not take SQLite's write lock every half second.
        if session.scalar(select(CallbackOutbox.id).where(_due(now)).limit(1)) is None:
            return []
    lease = now + timedelta(seconds=lease_seconds(runtime.settings))
    candidates = select(CallbackOutbox.id).where(_due(now)).order_by(CallbackOutbox.next_at).limit(limit)
    claim = (
        update(CallbackOutbox)
        .where(CallbackOutbox.id.in_(candidates), _due(now))
        .values(lease_until=lease)
        .returning(CallbackOutbox.id)
        .execution_options(synchronize_session=False)
    )
    jobs: list[Job] = []
    with runtime.sessions() as session, session.begin():
        ids = list(session.scalars(claim))
        if not ids:
            return []
        for row in session.scalars(select(CallbackOutbox).where(CallbackOutbox.id.in_(ids))):
            try:
                if row.style == ALIBABA:  # no signature: the CallbackToken travels in the query
                    secret = callback_token(session, runtime.crypto, row).encode()
                else:
                    secret = outbox_signing_secret(session, runtime.crypto, row)
            except Exception:  # a key that cannot be decrypted: recorded as this try's error below
                log.warning("callback %s: signing key unavailable", row.webhook_id)
                secret = None
            jobs.append(Job(row.id, row.webhook_id, row.url, row.body, row.tries, lease, secret, row.style))
    return jobs


async def send(job: Job, settings: Settings) -> TryResult:
    """One signed POST of the job's exact body (an ALIBABA row: one GET with its parameters); never raises
    for network or policy failures."""
    at = utcnow()
    started = time.perf_counter()

    def result(
        status_code: int | None = None, error: str | None = None, permanent: bool = False
    ) -> TryResult:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return TryResult(at, duration_ms, status_code, error, permanent)

    if job.secret is None:
        return result(error="no signing key (attempt or scene gone)", permanent=True)
    if job.style == ALIBABA:
        method, url, content = "GET", alibaba_url(job.url, job.secret.decode(), job.body), None
        headers = {"user-agent": USER_AGENT}
    else:
        method, url, content = "POST", job.url, job.body.encode("utf-8")
        headers = webhook_headers(job.secret, job.webhook_id, int(time.time()), job.body)
    try:
        response = await send_checked_request(
            method,
            url,
            settings,
            timeout_s=settings.callback_timeout_s,
            content=content,
            headers=headers,
            field="CallbackUrl",
            kind="callback",
        )
    except DestinationRefused as exc:
        return result(error=exc.message[:ERROR_LENGTH], permanent=True)
    except FetchFailed as exc:
        return result(error=exc.message[:ERROR_LENGTH])
    status = response.status_code
    return result(status_code=status, error=None if 200 <= status < 300 else f"HTTP {status}")


def record_outcomes(
    runtime: Runtime, results: list[tuple[Job, TryResult]], rng: random.Random | None = None
) -> list[str | None]:
    """Record tries and move their rows on, all in one transaction (blocking).

    Returns each row's new state, or None where the lease was lost (another process holds the row now;
    the try is still recorded). One commit for all the tries that finished meanwhile keeps the gap
    between a receiver's 2xx and its record short when the database is busy — that gap is what a
    kill -9 turns into a duplicate delivery.
    """
    settings = runtime.settings
    states: list[str | None] = []
    with runtime.sessions() as session, session.begin():
        for job, outcome in results:
            tries = job.tries + 1
            now = utcnow()
            values: dict[str, object] = {"tries": tries, "lease_until": None, "last_error": outcome.error}
            if outcome.delivered:
                values.update(state="delivered", delivered_at=now)
            elif outcome.permanent or tries >= settings.callback_max_tries:
                values.update(state="failed")
            else:
                values.update(next_at=now + timedelta(seconds=backoff_s(settings, tries, rng)))
            session.add(
                CallbackDelivery(
                    outbox_id=job.outbox_id,
                    at=outcome.at,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            moved = session.execute(
                update(CallbackOutbox)
                .where(
                    CallbackOutbox.id == job.outbox_id,
                    CallbackOutbox.state == "pending",
                    CallbackOutbox.lease_until == job.lease,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
            states.append(str(values.get("state", "pending")) if moved else None)
    return states


def release(runtime: Runtime, jobs: list[Job]) -> None:
    """Give back the leases of jobs that were never tried (shutdown), so a restart sends them at once."""
    with runtime.sessions() as session, session.begin():
        for job in jobs:
            session.execute(
                update(CallbackOutbox)
                .where(CallbackOutbox.id == job.outbox_id, CallbackOutbox.lease_until == job.lease)
                .values(lease_until=None)
                .execution_options(synchronize_session=False)
            )


def _where(url: str) -> str:
    """scheme://host[:port] of a URL, the only part of it that may be logged."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return "(invalid URL)"


class CallbackWorker:
    """The in-process delivery loop: ``start()`` in the app's startup, ``await stop()`` at shutdown.

    One loop claims rows while fewer than ``concurrency`` are in hand; each is sent by its own task; one
    recorder task saves the outcomes that have piled up, in one transaction. A row keeps its slot until
    its outcome is saved.
    """

    def __init__(self, runtime: Runtime, *, concurrency: int = CONCURRENCY) -> None:
        self.runtime = runtime
        self.concurrency = concurrency
        self._rng = random.Random()
        self._wake = asyncio.Event()  # claim now: a slot was freed or a row was queued
        self._stopping = False
        self._closing = False
        self._in_hand: dict[int, Job] = {}  # outbox id → claimed job, until its outcome is saved
        self._sending: set[asyncio.Task[None]] = set()
        self._finished: list[tuple[Job, TryResult]] = []
        self._finished_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="shiren-callbacks")
        return self._task

    async def stop(self) -> None:
        """Stop claiming, let sends in flight finish (up to the send timeout), release the rest."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def wake_from_any_thread() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._wake.set)

        remove = add_enqueue_listener(wake_from_any_thread)
        recorder = asyncio.create_task(self._record_forever(), name="shiren-callbacks-recorder")
        poll_s = self.runtime.settings.callback_poll_s
        try:
            while not self._stopping:
                self._wake.clear()
                free = self.concurrency - len(self._in_hand)
                if free > 0:
                    try:
                        jobs = await asyncio.to_thread(claim_due, self.runtime, free)
                    except Exception:
                        log.exception("claiming callbacks failed")
                        jobs = []
                    for job in jobs:
                        self._in_hand[job.outbox_id] = job
                        self._sending.add(asyncio.create_task(self._send(job)))
                    if jobs and len(jobs) == free:
                        continue  # there may be more due right now
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(poll_s):
                        await self._wake.wait()
        finally:
            remove()
            await self._drain(recorder)

    async def _send(self, job: Job) -> None:
        try:
            outcome = await send(job, self.runtime.settings)
        except Exception:  # a bug, not a delivery failure: the lease expires and another try follows
            log.exception("callback %s: delivery try crashed", job.webhook_id)
            self._in_hand.pop(job.outbox_id, None)
            self._wake.set()
        else:
            self._finished.append((job, outcome))
            self._finished_event.set()
        finally:
            current = asyncio.current_task()
            if current is not None:
                self._sending.discard(current)  # type: ignore[arg-type]

    async def _record_forever(self) -> None:
        while not (self._closing and not self._finished):
            await self._finished_event.wait()
            self._finished_event.clear()
            await self._record_finished()

    async def _record_finished(self) -> None:
        batch, self._finished = self._finished, []
        if not batch:
            return
        try:
            states = await asyncio.to_thread(record_outcomes, self.runtime, batch, self._rng)
        except Exception:  # the leases expire and the rows are tried again
            log.exception("saving %d callback outcomes failed", len(batch))
            states = [None] * len(batch)
        for (job, outcome), state in zip(batch, states, strict=True):
            self._in_hand.pop(job.outbox_id, None)
            _log_outcome(job, outcome, state)
        self._wake.set()

    async def _drain(self, recorder: asyncio.Task[None]) -> None:
        if self._sending:
            _done, pending = await asyncio.wait(
                list(self._sending), timeout=self.runtime.settings.callback_timeout_s + 1.0
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._closing = True  # the recorder saves what is left, then ends
        self._finished_event.set()
        await asyncio.gather(recorder, return_exceptions=True)
        unsent = list(self._in_hand.values())  # cancelled mid-send: nothing to record
        if unsent:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(release, self.runtime, unsent)


def _log_outcome(job: Job, outcome: TryResult, state: str | None) -> None:
    where, n = _where(job.url), job.tries + 1
    if state is None:
        log.warning("callback %s to %s: lease lost, outcome of try %d not applied", job.webhook_id, where, n)
    elif state == "delivered":
        log.info("callback %s delivered to %s (try %d)", job.webhook_id, where, n)
    else:
        verdict = "giving up" if state == "failed" else "will retry"
        log.warning(
            "callback %s to %s: try %d failed (%s); %s", job.webhook_id, where, n, outcome.error, verdict
        )
