"""The console's record queries: one tenant's attempts (or every tenant's, for an operator), newest first.

Every query is bounded: a page is read by keyset (created_at, id) from the (tenant, created_at) or
(tenant, status, created_at) index, so page 2,000 costs what page 1 does, and counts stop at a cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, defer

from shiren.storage.models import Attempt, Scene, Task, Tenant


@dataclass(frozen=True)
class RecordQuery:
    """Exact-match filters (all optional) over attempts; ``tenant_id`` None: every tenant."""

    tenant_id: int | None = None
    biz_id: str | None = None  # BizId, or the OuterOrderNo of a face-verify verification
    token: str | None = None  # VerifyToken, or CertifyId
    scene_id: int | None = None  # Scene.id
    statuses: tuple[int, ...] | None = None
    face_verify_only: bool = False  # a SubCode filter: only the face-verify family has SubCodes
    review_state: str | None = None
    user_index: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


def _where(q: RecordQuery) -> list[Any]:
    where: list[Any] = []
    if q.tenant_id is not None:
        where.append(Attempt.tenant_id == q.tenant_id)
    if q.biz_id:
        where.append(Task.biz_id == q.biz_id)
        if q.tenant_id is not None:
            where.append(Task.tenant_id == q.tenant_id)  # the (tenant, biz_id) index
    if q.token:
        where.append(Attempt.verify_token == q.token)
    if q.scene_id is not None:
        where.append(Task.scene_id == q.scene_id)
    if q.statuses:
        where.append(Attempt.verify_status.in_(q.statuses))
    if q.face_verify_only:
        where.append(Attempt.scheme.is_not(None))
    if q.review_state:
        where.append(Attempt.review_state == q.review_state)
    if q.user_index:
        where.append(Attempt.user_index == q.user_index)
    if q.created_from is not None:
        where.append(Attempt.created_at >= q.created_from)
    if q.created_to is not None:
        where.append(Attempt.created_at < q.created_to)
    return where


def _base(q: RecordQuery) -> Select[Any]:
    """A list needs neither the inputs nor the material, and the evidence only of the face-verify family
    (its SubCode): decoding every row's evidence JSON was a quarter of an export's time."""
    evidence = case((Attempt.scheme.is_not(None), Attempt.evidence), else_=None)
    return (
        select(Attempt, Task.biz_id, Scene.biz_type, Scene.name, Tenant.name, evidence)
        .options(defer(Attempt.evidence), defer(Attempt.inputs_enc), defer(Attempt.material_enc))
        .join(Task, Task.id == Attempt.task_id)
        .join(Scene, Scene.id == Task.scene_id)
        .join(Tenant, Tenant.id == Attempt.tenant_id)
        .where(*_where(q))
    )


def page(
    session: Session, q: RecordQuery, *, limit: int, before: tuple[datetime, int] | None = None
) -> list[tuple[Attempt, str, str, str, str, dict[str, Any] | None]]:
    """Up to ``limit`` attempts older than ``before`` (created_at, id), newest first, each with its BizId,
    BizType, scene name, tenant name and (face-verify attempts only) evidence. The attempts come without
    their evidence, inputs and material loaded: do not read those from them."""
    query = _base(q)
    if before is not None:
        at, attempt_id = before
        query = query.where(
            or_(Attempt.created_at < at, and_(Attempt.created_at == at, Attempt.id < attempt_id))
        )
    query = query.order_by(Attempt.created_at.desc(), Attempt.id.desc()).limit(limit)
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def count(session: Session, q: RecordQuery, *, cap: int) -> int:
    """How many attempts match, counted up to ``cap`` (a bounded count: "10,000+" reads as well)."""
    inner = select(Attempt.id).join(Task, Task.id == Attempt.task_id).where(*_where(q)).limit(cap).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)
