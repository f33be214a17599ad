"""The console's statistics (``shiren.services.console.stats``) on a real runtime: rows are written
straight through the ORM (the figures depend on the columns only), then read back per day, per scene, per
failure reason, with the review queue and the decision latency; on SQLite, and the main figures once on
PostgreSQL too (``date()`` and the aggregates differ between the two)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shiren.domain.roles import Actor, Forbidden
from shiren.runtime import Runtime
from shiren.services.console.stats import (
    MAX_DAYS,
    DayCount,
    FailureCount,
    PeriodError,
    Statistics,
    statistics,
)
from shiren.services.errors import Invalid
from shiren.storage.models import Attempt, Scene, Task, Tenant
from tests.services.fakes import fake_runtime
from tests.support import scratch_postgres

START, END = date(2024, 3, 1), date(2024, 3, 3)
NOW = datetime(2024, 3, 10, 10, 0, tzinfo=UTC)
DAY = 86_400.0


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ids:
    tenant_a: int
    tenant_b: int
    alpha: int  # tenant A's first scene
    beta: int  # tenant A's second scene


class Writer:
    """Adds tenants, scenes and attempts directly (one task per attempt)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def tenant(self, name: str) -> int:
        with self.runtime.sessions() as session, session.begin():
            tenant = Tenant(name=name)
            session.add(tenant)
            session.flush()
            return tenant.id

    def scene(self, tenant_id: int, biz_type: str, name: str = "") -> int:
        with self.runtime.sessions() as session, session.begin():
            scene = Scene(
                tenant_id=tenant_id, biz_type=biz_type, name=name, scheme="RPBioOnly", secret_enc=b"-"
            )
            session.add(scene)
            session.flush()
            return scene.id

    def attempt(
        self,
        tenant_id: int,
        scene_id: int,
        created: datetime,
        *,
        status: int = -1,
        state: str = "decided",
        ms: float | None = None,
        review: str | None = None,
        decided: datetime | None = None,
    ) -> None:
        with self.runtime.sessions() as session, session.begin():
            task = Task(tenant_id=tenant_id, scene_id=scene_id, biz_id=uuid.uuid4().hex)
            session.add(task)
            session.flush()
            was_decided = state != "pending"
            session.add(
                Attempt(
                    task_id=task.id,
                    tenant_id=tenant_id,
                    verify_token=uuid.uuid4().hex,
                    created_at=created,
                    expires_at=created + timedelta(minutes=30),
                    state=state,
                    verify_status=status,
                    decided_at=(decided or created + timedelta(seconds=5)) if was_decided else None,
                    decision_ms=ms,
                    review_state=review,
                )
            )


def populate(runtime: Runtime) -> Ids:
    """Tenant A: 9 verifications over 1-2 March (4 passed, 4 failed, 1 held), a pending attempt, one
    just outside each end of the period, and a held one from February. Tenant B: 2 passed, 1 held."""
    w = Writer(runtime)
    a, b = w.tenant("stats-a"), w.tenant("stats-b")
    alpha, beta = w.scene(a, "Alpha", "Onboarding"), w.scene(a, "Beta")
    b_scene = w.scene(b, "Alpha")
    for ms in (100.0, 200.0, 300.0):
        w.attempt(a, alpha, at(1), status=1, ms=ms)
    w.attempt(a, alpha, at(1, 11), status=6, ms=400.0)
    w.attempt(a, alpha, at(1, 0), status=-1, ms=500.0, review="held", decided=at(1, 10))
    w.attempt(a, beta, at(2, 23), status=1, ms=600.0)
    w.attempt(a, beta, at(2), status=9, ms=700.0)
    w.attempt(a, beta, at(2), status=9, ms=800.0, review="reviewed")
    w.attempt(a, beta, at(2), status=6, state="erased")  # erased by retention: its verdict still counts
    w.attempt(a, beta, at(2), state="pending")  # no verdict: not a verification
    w.attempt(a, alpha, at(29, 23, month=2) + timedelta(minutes=59), status=1, ms=9000.0)  # 29 Feb
    w.attempt(a, alpha, at(4, 0), status=1, ms=9000.0)  # 4 March 00:00
    w.attempt(a, alpha, at(20, month=2), review="held", decided=at(20, month=2))  # queue only
    w.attempt(b, b_scene, at(1), status=1, ms=50.0)
    w.attempt(b, b_scene, at(3), status=1, ms=60.0)
    w.attempt(b, b_scene, at(3), review="held", decided=at(9))
    return Ids(a, b, alpha, beta)


def reviewer(tenant_id: int) -> Actor:
    return Actor(user_id=1, name="rita", role="reviewer", tenant_id=tenant_id)


OPERATOR = Actor(user_id=2, name="olga", role="operator", tenant_id=None)


def stats(runtime: Runtime, actor: Actor, **kwargs: object) -> Statistics:
    period: dict[str, object] = {"start": START, "end": END, "now": NOW}
    period.update(kwargs)
    return statistics(runtime, actor, **period)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    if request.param == "sqlite":
        rt = fake_runtime(tmp_path / "data")
        yield rt
        rt.close()
        return
    with scratch_postgres() as url:
        rt = fake_runtime(tmp_path / "data", url)
        yield rt
        rt.close()


def test_a_tenants_figures_of_a_period(any_runtime: Runtime) -> None:
    ids = populate(any_runtime)
    s = stats(any_runtime, reviewer(ids.tenant_a))
    assert s.tenant_id == ids.tenant_a
    assert (s.total, s.passed, s.failed, s.held) == (9, 4, 4, 1)
    assert s.pass_rate == pytest.approx(0.5)  # 4 / (4 + 4): the held one is not in the denominator
    assert s.days == (
        DayCount(date(2024, 3, 1), 5, 3, 1, 1),
        DayCount(date(2024, 3, 2), 4, 1, 3, 0),
        DayCount(date(2024, 3, 3), 0, 0, 0, 0),
    )
    assert [(c.biz_type, c.name, c.total, c.passed, c.failed, c.held) for c in s.scenes] == [
        ("Alpha", "Onboarding", 5, 3, 1, 1),
        ("Beta", "", 4, 1, 3, 0),
    ]
    assert [c.scene_id for c in s.scenes] == [ids.alpha, ids.beta]
    assert [c.pass_rate for c in s.scenes] == [pytest.approx(0.75), pytest.approx(0.25)]
    assert not s.scenes_capped
    assert s.failures == (
        FailureCount(6, "the face does not match the ID card portrait", 2),
        FailureCount(9, "liveness check failed", 2),
    )
    # Held now: 1 March's (9 days) and February's (19 days: a leap year), whatever the period.
    assert s.queue.held == 2
    assert s.queue.oldest_age_s == pytest.approx(19 * DAY)
    assert s.queue.median_age_s == pytest.approx(14 * DAY)
    # 100..800 ms (the erased one has no time): interpolated between ranks, as percentile_cont.
    assert s.latency.samples == 8
    assert s.latency.p50_ms == pytest.approx(450.0)
    assert s.latency.p95_ms == pytest.approx(765.0)


def test_an_operator_sees_every_tenant_or_one(runtime: Runtime) -> None:
    ids = populate(runtime)
    everyone = stats(runtime, OPERATOR)
    assert everyone.tenant_id is None
    assert (everyone.total, everyone.passed, everyone.failed, everyone.held) == (12, 6, 4, 2)
    assert everyone.queue.held == 3
    assert len(everyone.scenes) == 3  # two scenes named Alpha, one per tenant: counted apart
    only_b = stats(runtime, OPERATOR, tenant_id=ids.tenant_b)
    assert (only_b.total, only_b.passed, only_b.held, only_b.pass_rate) == (3, 2, 1, 1.0)
    assert only_b.queue.held == 1 and only_b.queue.oldest_age_s == pytest.approx(DAY)
    assert only_b.latency.p50_ms == pytest.approx(55.0)


def test_a_tenant_user_sees_only_their_tenant(runtime: Runtime) -> None:
    ids = populate(runtime)
    mine = stats(runtime, reviewer(ids.tenant_a), tenant_id=ids.tenant_a)
    assert mine.total == 9 and mine.queue.held == 2
    with pytest.raises(Forbidden):
        stats(runtime, reviewer(ids.tenant_a), tenant_id=ids.tenant_b)
    auditor = Actor(user_id=3, name="audrey", role="auditor", tenant_id=ids.tenant_b)
    theirs = stats(runtime, auditor)
    assert theirs.tenant_id == ids.tenant_b and theirs.total == 3
    # Another tenant's scene, asked by id: the tenant still bounds it, so nothing.
    assert stats(runtime, auditor, scene_id=ids.alpha).total == 0
    with pytest.raises(Forbidden):
        stats(runtime, Actor(user_id=4, name="x", role="nobody", tenant_id=ids.tenant_a))
    with pytest.raises(Forbidden):
        stats(runtime, Actor(user_id=5, name="y", role="admin", tenant_id=None))


def test_one_scene(runtime: Runtime) -> None:
    ids = populate(runtime)
    beta = stats(runtime, reviewer(ids.tenant_a), scene_id=ids.beta)
    assert (beta.total, beta.passed, beta.failed, beta.held) == (4, 1, 3, 0)
    assert [c.biz_type for c in beta.scenes] == ["Beta"]
    assert [(f.status, f.count) for f in beta.failures] == [(9, 2), (6, 1)]
    assert beta.queue.held == 0 and beta.queue.oldest_age_s is None and beta.queue.median_age_s is None
    assert beta.latency.samples == 3 and beta.latency.p50_ms == pytest.approx(700.0)
    alpha = stats(runtime, reviewer(ids.tenant_a), scene_id=ids.alpha)
    assert alpha.queue.held == 2 and alpha.latency.samples == 5


def test_an_empty_period(runtime: Runtime) -> None:
    ids = populate(runtime)
    s = stats(runtime, reviewer(ids.tenant_a), start=date(2023, 1, 1), end=date(2023, 1, 7))
    assert s.total == 0 and s.pass_rate is None
    assert len(s.days) == 7 and all(d.total == 0 for d in s.days)
    assert s.scenes == () and s.failures == ()
    assert s.latency.samples == 0 and s.latency.p50_ms is None and s.latency.p95_ms is None
    assert s.queue.held == 2  # the queue is now, not the period


def test_a_period_is_at_most_92_days_and_not_reversed(runtime: Runtime) -> None:
    ids = populate(runtime)
    actor = reviewer(ids.tenant_a)
    longest = stats(
        runtime, actor, start=date(2024, 1, 1), end=date(2024, 1, 1) + timedelta(days=MAX_DAYS - 1)
    )
    assert len(longest.days) == MAX_DAYS == 92
    with pytest.raises(ValueError, match="at most 92 days"):
        stats(runtime, actor, start=date(2024, 1, 1), end=date(2024, 1, 1) + timedelta(days=MAX_DAYS))
    with pytest.raises(PeriodError, match="ends before it starts") as err:
        stats(runtime, actor, start=date(2024, 3, 2), end=date(2024, 3, 1))
    assert isinstance(err.value, Invalid) and err.value.field == "end"  # the console's form error too
    one_day = stats(runtime, actor, start=date(2024, 3, 2), end=date(2024, 3, 2))
    assert one_day.days == (DayCount(date(2024, 3, 2), 4, 1, 3, 0),)


def test_the_median_of_an_odd_queue_is_its_middle_case(runtime: Runtime) -> None:
    ids = populate(runtime)
    Writer(runtime).attempt(ids.tenant_a, ids.beta, at(5), review="held", decided=at(5))
    queue = stats(runtime, reviewer(ids.tenant_a)).queue
    assert queue.held == 3
    assert queue.median_age_s == pytest.approx(9 * DAY)  # 20 Feb, 1 March, 5 March: the middle one
    assert queue.oldest_age_s == pytest.approx(19 * DAY)


def test_a_busy_periods_latency_is_an_even_sample(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = populate(runtime)
    monkeypatch.setattr("shiren.services.console.stats.LATENCY_CAP", 3)
    first = stats(runtime, reviewer(ids.tenant_a)).latency
    assert first.sampled and 0 < first.samples < 8  # every 3rd of the 9 verifications, by id
    assert first == stats(runtime, reviewer(ids.tenant_a)).latency  # the same data, the same figures
