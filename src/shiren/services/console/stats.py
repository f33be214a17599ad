"""The console's statistics of a period: verifications per day and per scene, the pass rate, why the failed
ones failed, the review queue now, and how long decisions took.

A verification is an attempt that got a verdict (``decided_at`` set), counted on the UTC day it was
created; its record may since have been erased by retention (the tombstone keeps the verdict), and it
still counts. Held ones (waiting for a reviewer) are counted apart and left out of every pass rate: a
person has not decided them yet. Pending attempts that never got a verdict are not verifications.

Every figure is one SQL aggregation over the period (GROUP BY day, scene or status, from the
(tenant, created_at) index), so 100,000 records cost a few index range scans and nothing is loaded row by
row; percentiles and the median queue age read at most two rows each at an offset of an ordered scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import floor
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from shiren.domain.decision import STATUS_MESSAGES
from shiren.domain.review import HELD
from shiren.domain.roles import Actor, Forbidden, Permission
from shiren.runtime import Runtime
from shiren.services.errors import Invalid
from shiren.storage.models import Attempt, Scene, Task, utcnow

MAX_DAYS = 92  # one quarter: what a day chart still shows bar by bar
SCENE_CAP = 50  # scenes listed, most verifications first


class PeriodError(Invalid, ValueError):
    """The period asked for cannot be shown (reversed, or longer than MAX_DAYS)."""


@dataclass(frozen=True)
class DayCount:
    day: date
    total: int  # passed + failed + held
    passed: int
    failed: int
    held: int


@dataclass(frozen=True)
class SceneCount:
    scene_id: int  # Scene.id
    biz_type: str
    name: str
    total: int
    passed: int
    failed: int
    held: int
    pass_rate: float | None  # passed / (passed + failed); None when none was decided


@dataclass(frozen=True)
class FailureCount:
    status: int  # VerifyStatus 2..12
    message: str  # STATUS_MESSAGES (English; a page may show its own words for ``status``)
    count: int


@dataclass(frozen=True)
class ReviewQueue:
    """Held now, whatever the period (the queue is a state, not a history)."""

    held: int
    oldest_age_s: float | None
    median_age_s: float | None


@dataclass(frozen=True)
class Latency:
    samples: int  # verifications of the period with a recorded decision time
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Statistics:
    start: date
    end: date  # inclusive
    tenant_id: int | None  # None: every tenant (an operator)
    scene_id: int | None
    total: int
    passed: int
    failed: int
    held: int
    pass_rate: float | None  # passed / (passed + failed): held ones are left out
    days: tuple[DayCount, ...]  # every day of the period, zeros included
    scenes: tuple[SceneCount, ...]  # most verifications first, at most SCENE_CAP
    scenes_capped: bool  # more scenes had verifications than listed
    failures: tuple[FailureCount, ...]  # most frequent first
    queue: ReviewQueue
    latency: Latency


def statistics(
    runtime: Runtime,
    actor: Actor,
    *,
    start: date,
    end: date,
    tenant_id: int | None = None,
    scene_id: int | None = None,
    now: datetime | None = None,
) -> Statistics:
    """The period's figures, as the actor may see them: their own tenant's, or any (or all) for an
    operator. ``now`` (for tests) dates the review queue's ages."""
    actor.require(Permission.RECORDS)
    tenant = _tenant_scope(actor, tenant_id)
    check_period(start, end)
    period = _period_where(start, end, tenant, scene_id)
    with runtime.sessions() as session:
        days = _days(session, period, scene_id, start, end)
        scenes = _scenes(session, period)
        failures = _failures(session, period, scene_id)
        queue = _queue(session, tenant, scene_id, now or utcnow())
        latency = _latency(session, period, scene_id)
    passed = sum(d.passed for d in days)
    failed = sum(d.failed for d in days)
    held = sum(d.held for d in days)
    return Statistics(
        start=start,
        end=end,
        tenant_id=tenant,
        scene_id=scene_id,
        total=passed + failed + held,
        passed=passed,
        failed=failed,
        held=held,
        pass_rate=pass_rate(passed, failed),
        days=days,
        scenes=tuple(scenes[:SCENE_CAP]),
        scenes_capped=len(scenes) > SCENE_CAP,
        failures=failures,
        queue=queue,
        latency=latency,
    )


def check_period(start: date, end: date) -> None:
    """Refuse a reversed period and one longer than MAX_DAYS (each query stays one bounded range)."""
    if end < start:
        raise PeriodError("end", "the period ends before it starts")
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError("end", f"a period is at most {MAX_DAYS} days")


def pass_rate(passed: int, failed: int) -> float | None:
    decided = passed + failed
    return passed / decided if decided else None


def _tenant_scope(actor: Actor, tenant_id: int | None) -> int | None:
    """The tenant whose figures are shown: any (or None, all) for an operator, else the actor's own."""
    if actor.can(Permission.ALL_TENANTS):
        return tenant_id
    if actor.tenant_id is None:
        raise Forbidden("this console user belongs to no tenant")
    if tenant_id is not None:
        actor.require_tenant(tenant_id)
    return actor.tenant_id


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _period_where(start: date, end: date, tenant: int | None, scene_id: int | None) -> list[Any]:
    where: list[Any] = [
        Attempt.created_at >= _day_start(start),
        Attempt.created_at < _day_start(end + timedelta(days=1)),
        Attempt.decided_at.is_not(None),
    ]
    if tenant is not None:
        where.append(Attempt.tenant_id == tenant)
    if scene_id is not None:
        where.append(Task.scene_id == scene_id)
    return where


def _scoped(query: Select[Any], scene_id: int | None) -> Select[Any]:
    """Join the task only when a scene filters (the day and status figures need none otherwise)."""
    return query.join(Task, Task.id == Attempt.task_id) if scene_id is not None else query


_IS_HELD: ColumnElement[bool] = Attempt.review_state == HELD
_NOT_HELD: ColumnElement[bool] = Attempt.review_state.is_distinct_from(HELD)
_PASSED = func.coalesce(func.sum(case((_NOT_HELD & (Attempt.verify_status == 1), 1), else_=0)), 0)
_HELD = func.coalesce(func.sum(case((_IS_HELD, 1), else_=0)), 0)


def _as_date(value: date | str) -> date:
    """``date()`` gives a date on PostgreSQL and an ISO string on SQLite."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _days(
    session: Session, period: list[Any], scene_id: int | None, start: date, end: date
) -> tuple[DayCount, ...]:
    day = func.date(Attempt.created_at).label("day")
    query = select(day, func.count(), _PASSED, _HELD).select_from(Attempt)
    rows = session.execute(_scoped(query, scene_id).where(*period).group_by(day)).all()
    found = {_as_date(d): (int(total), int(ok), int(held)) for d, total, ok, held in rows}
    out = []
    for offset in range((end - start).days + 1):
        today = start + timedelta(days=offset)
        total, ok, held = found.get(today, (0, 0, 0))
        out.append(DayCount(today, total, ok, total - ok - held, held))
    return tuple(out)


def _scenes(session: Session, period: list[Any]) -> list[SceneCount]:
    total = func.count().label("total")
    rows = session.execute(
        select(Scene.id, Scene.biz_type, Scene.name, total, _PASSED, _HELD)
        .select_from(Attempt)
        .join(Task, Task.id == Attempt.task_id)
        .join(Scene, Scene.id == Task.scene_id)
        .where(*period)
        .group_by(Scene.id, Scene.biz_type, Scene.name)
        .order_by(total.desc(), Scene.id)
        .limit(SCENE_CAP + 1)
    ).all()
    out = []
    for sid, biz_type, name, count, ok, held in rows:
        failed = int(count) - int(ok) - int(held)
        out.append(
            SceneCount(
                sid, biz_type, name or "", int(count), int(ok), failed, int(held), pass_rate(int(ok), failed)
            )
        )
    return out


def _failures(session: Session, period: list[Any], scene_id: int | None) -> tuple[FailureCount, ...]:
    count = func.count().label("n")
    query = select(Attempt.verify_status, count).select_from(Attempt)
    rows = session.execute(
        _scoped(query, scene_id)
        .where(*period, _NOT_HELD, Attempt.verify_status != 1)
        .group_by(Attempt.verify_status)
        .order_by(count.desc(), Attempt.verify_status)
    ).all()
    return tuple(FailureCount(int(s), STATUS_MESSAGES.get(int(s), "unknown"), int(n)) for s, n in rows)


def _queue(session: Session, tenant: int | None, scene_id: int | None, now: datetime) -> ReviewQueue:
    """Held count and ages, read from the (review_state, decided_at) index."""
    where: list[Any] = [_IS_HELD, Attempt.state == "decided"]
    if tenant is not None:
        where.append(Attempt.tenant_id == tenant)
    if scene_id is not None:
        where.append(Task.scene_id == scene_id)
    query = select(func.count(), func.min(Attempt.decided_at)).select_from(Attempt)
    held, oldest = session.execute(_scoped(query, scene_id).where(*where)).one()
    if not held:
        return ReviewQueue(0, None, None)
    ordered = _scoped(select(Attempt.decided_at).select_from(Attempt), scene_id).where(*where)
    middle = _at_rank(session, ordered, Attempt.decided_at, int(held), 0.5)
    return ReviewQueue(int(held), _age(now, oldest), _age(now, middle))


def _age(now: datetime, since: datetime) -> float:
    return max(0.0, (now - since).total_seconds())


def _latency(session: Session, period: list[Any], scene_id: int | None) -> Latency:
    timed = [*period, Attempt.decision_ms.is_not(None)]
    query = select(Attempt.decision_ms).select_from(Attempt)
    ordered = _scoped(query, scene_id).where(*timed)
    counted = _scoped(select(func.count()).select_from(Attempt), scene_id).where(*timed)
    samples = int(session.scalar(counted) or 0)
    if not samples:
        return Latency(0, None, None)
    p50 = _at_rank(session, ordered, Attempt.decision_ms, samples, 0.5)
    p95 = _at_rank(session, ordered, Attempt.decision_ms, samples, 0.95)
    return Latency(samples, p50, p95)


def _at_rank(session: Session, query: Select[Any], column: Any, n: int, fraction: float) -> Any:
    """The ``fraction`` quantile of ``column`` over ``n`` rows, interpolated between the two nearest
    ranks as PostgreSQL's percentile_cont does; reads two rows at an offset, on every backend."""
    position = fraction * (n - 1)
    rank = floor(position)
    values: Sequence[Any] = session.scalars(query.order_by(column).offset(rank).limit(2)).all()
    if len(values) < 2 or position == rank:
        return values[0]
    low, high = values
    return low + (high - low) * (position - rank)
