"""The console's statistics of a period: verifications per day and per scene, the pass rate, why the failed
ones failed, the review queue now, and how long decisions took.

A verification is an attempt that got a verdict (``decided_at`` set), counted on the UTC day it was
created; its record may since have been erased by retention (the tombstone keeps the verdict), and it
still counts. Held ones (waiting for a reviewer) are counted apart and left out of every pass rate: a
person has not decided them yet. Pending attempts that never got a verdict are not verifications.

The counts are SQL aggregations over the period's range of the (tenant, created_at) index: one GROUP BY
day, VerifyStatus and review state (the days and the failure reasons), one GROUP BY scene. No row is
loaded as an object: the latency percentiles read the ``decision_ms`` column alone (at most LATENCY_CAP
values, an even sample of a busier period), and the queue's median age reads two rows at an offset of
the (review_state, decided_at) index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import ceil, floor
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
LATENCY_CAP = 200_000  # decision times read for the percentiles, at most


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
    samples: int  # decision times read (verifications with one, or an even sample of them)
    p50_ms: float | None
    p95_ms: float | None
    sampled: bool = False  # more than LATENCY_CAP verifications: every k-th one by id was read


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
        tally = _tally(session, period, scene_id, start, end)
        scenes = _scenes(session, period)
        queue = _queue(session, tenant, scene_id, now or utcnow())
        latency = _latency(session, period, scene_id, sum(d.total for d in tally.days))
    passed = sum(d.passed for d in tally.days)
    failed = sum(d.failed for d in tally.days)
    held = sum(d.held for d in tally.days)
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
        days=tally.days,
        scenes=tuple(scenes[:SCENE_CAP]),
        scenes_capped=len(scenes) > SCENE_CAP,
        failures=tally.failures,
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


@dataclass(frozen=True)
class _Tally:
    days: tuple[DayCount, ...]
    failures: tuple[FailureCount, ...]


def _tally(session: Session, period: list[Any], scene_id: int | None, start: date, end: date) -> _Tally:
    """Days and failure reasons from one scan: counts grouped by day, VerifyStatus and review state (at
    most 92 x 14 x 4 groups, whatever the number of records)."""
    day = func.date(Attempt.created_at)
    query = select(day, Attempt.verify_status, Attempt.review_state, func.count()).select_from(Attempt)
    query = _scoped(query, scene_id).where(*period)
    per_day: dict[date, list[int]] = {}  # passed, failed, held
    failures: dict[int, int] = {}
    for raw_day, status, review, count in session.execute(
        query.group_by(day, Attempt.verify_status, Attempt.review_state)
    ):
        counts = per_day.setdefault(_as_date(raw_day), [0, 0, 0])
        outcome = 2 if review == HELD else 0 if status == 1 else 1
        counts[outcome] += int(count)
        if outcome == 1:
            failures[int(status)] = failures.get(int(status), 0) + int(count)
    return _Tally(_every_day(per_day, start, end), _reasons(failures))


def _every_day(per_day: dict[date, list[int]], start: date, end: date) -> tuple[DayCount, ...]:
    """One DayCount per day of the period, zeros where nothing was verified (a chart has no gaps)."""
    out = []
    for offset in range((end - start).days + 1):
        today = start + timedelta(days=offset)
        passed, failed, held = per_day.get(today, (0, 0, 0))
        out.append(DayCount(today, passed + failed + held, passed, failed, held))
    return tuple(out)


def _reasons(failures: dict[int, int]) -> tuple[FailureCount, ...]:
    ranked = sorted(failures.items(), key=lambda item: (-item[1], item[0]))
    return tuple(FailureCount(s, STATUS_MESSAGES.get(s, "unknown"), n) for s, n in ranked)


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


def _queue(session: Session, tenant: int | None, scene_id: int | None, now: datetime) -> ReviewQueue:
    """Held count and ages, read from the (review_state, decided_at) index: held cases are few, a tenant's
    records many, so the tenant is a filter there (``+ 0`` keeps SQLite off the tenant's index)."""
    where: list[Any] = [_IS_HELD, Attempt.state == "decided"]
    if tenant is not None:
        where.append(Attempt.tenant_id + 0 == tenant)
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


def _latency(session: Session, period: list[Any], scene_id: int | None, verifications: int) -> Latency:
    """Percentiles of the decision times, computed here (SQLite has no percentile_cont): one column of at
    most LATENCY_CAP values is read; a busier period is sampled evenly by id (every k-th record), so the
    same data always give the same figures."""
    query = _scoped(select(Attempt.decision_ms).select_from(Attempt), scene_id)
    query = query.where(*period, Attempt.decision_ms.is_not(None))
    every = ceil(verifications / LATENCY_CAP)
    if every > 1:
        query = query.where(Attempt.id % every == 0)
    values = sorted(float(v) for v in session.scalars(query))
    if not values:
        return Latency(0, None, None)
    return Latency(len(values), _quantile(values, 0.5), _quantile(values, 0.95), every > 1)


def _quantile(ordered: Sequence[float], fraction: float) -> float:
    """Interpolated between the two nearest ranks, as PostgreSQL's percentile_cont."""
    position = fraction * (len(ordered) - 1)
    rank = floor(position)
    if rank + 1 >= len(ordered):
        return ordered[rank]
    return ordered[rank] + (ordered[rank + 1] - ordered[rank]) * (position - rank)


def _at_rank(session: Session, query: Select[Any], column: Any, n: int, fraction: float) -> Any:
    """The ``fraction`` quantile of ``column`` over the ``n`` rows of ``query``, interpolated between the
    two nearest ranks as percentile_cont; reads two rows at an offset of the ordered scan."""
    position = fraction * (n - 1)
    rank = floor(position)
    values: Sequence[Any] = session.scalars(query.order_by(column).offset(rank).limit(2)).all()
    if len(values) < 2 or position == rank:
        return values[0]
    low, high = values
    return low + (high - low) * (position - rank)
