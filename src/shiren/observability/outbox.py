"""The callback outbox's backlog, read when Prometheus scrapes: how many callbacks wait, and for how long
the oldest has.

One query on the ``state`` index, over at most ``cap`` rows: a backlog past ``cap`` reads as ``cap``
(alert well below it), and its oldest row is still the true oldest, since ids grow with ``created_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shiren.storage.models import CallbackOutbox, utcnow

log = logging.getLogger("shiren.metrics")

BACKLOG_CAP = 10_000

PENDING = "shiren_outbox_pending"
OLDEST = "shiren_outbox_oldest_pending_seconds"
PENDING_HELP = f"Callbacks waiting to be delivered (state pending, counted up to {BACKLOG_CAP})."
OLDEST_HELP = "Age of the oldest callback waiting to be delivered; 0 when none waits."


def outbox_backlog(sessions: sessionmaker[Session], cap: int = BACKLOG_CAP) -> tuple[int, float]:
    """(pending callbacks up to ``cap``, seconds since the oldest of them was queued, 0 when none)."""
    oldest_first = (
        select(CallbackOutbox.created_at)
        .where(CallbackOutbox.state == "pending")
        .order_by(CallbackOutbox.id)
        .limit(cap)
        .subquery()
    )
    with sessions() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(oldest_first.c.created_at)).select_from(oldest_first)
        ).one()
    age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
    return int(count), age


class OutboxCollector(Collector):
    """``shiren_outbox_pending`` and ``shiren_outbox_oldest_pending_seconds`` of one database; nothing
    (and a warning in the log) when the database cannot be read, so the other metrics still scrape."""

    def __init__(self, sessions: sessionmaker[Session], cap: int = BACKLOG_CAP) -> None:
        self._sessions = sessions
        self._cap = cap

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(PENDING, PENDING_HELP)
        yield GaugeMetricFamily(OLDEST, OLDEST_HELP)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pending, age = outbox_backlog(self._sessions, self._cap)
        except Exception as exc:
            log.warning("outbox metrics unavailable: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily(PENDING, PENDING_HELP, value=pending)
        yield GaugeMetricFamily(OLDEST, OLDEST_HELP, value=age)
