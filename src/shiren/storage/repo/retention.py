"""The queries of retention and erasure: claiming an erasure, the rows an erasure removes, what is due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from shiren.storage.models import Attempt, Blob, CallbackOutbox, ReviewDecision, Scene, Task, Tenant, Upload

Window = tuple[int | None, int]  # (kept at most this many days by another rule, kept this many days)


def claim_erasure(
    session: Session, attempt_id: int, values: dict[str, Any], *where: ColumnElement[bool]
) -> bool:
    """Take the erasure of one attempt with one conditional UPDATE: True for exactly one caller, however
    many processes try at once (the loser's UPDATE matches no row). Being a write first, it also takes
    SQLite's write lock before anything is read."""
    result = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def load_attempt(session: Session, attempt_id: int) -> Attempt:
    attempt = session.get(Attempt, attempt_id, populate_existing=True)
    assert attempt is not None  # just claimed in this transaction
    return attempt


def drop_media_rows(session: Session, attempt_id: int) -> set[str]:
    """Delete the attempt's Blob and Upload rows; returns the ids of the files they pointed at (derived
    images, uploads, card-reading portraits). Every file of an attempt has one of these rows."""
    blob_ids = set(session.scalars(select(Blob.id).where(Blob.attempt_id == attempt_id)))
    for upload_blob, portrait in session.execute(
        select(Upload.blob_id, Upload.reading_blob_id).where(Upload.attempt_id == attempt_id)
    ):
        blob_ids.update(b for b in (upload_blob, portrait) if b)
    session.execute(delete(Upload).where(Upload.attempt_id == attempt_id))
    session.execute(delete(Blob).where(Blob.attempt_id == attempt_id))
    return blob_ids


def abandoned(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Still pending, its token expired and no submit deciding it: a verdict reached after the plan was
    made is never erased as 'abandoned'."""
    return (
        Attempt.state == "pending",
        Attempt.expires_at < now,
        or_(Attempt.deciding_until.is_(None), Attempt.deciding_until < now),
    )


_COLUMNS = (Attempt.id, Attempt.created_at, Task.biz_id, Task.scene_id)


def due_in(
    session: Session,
    groups: dict[Window, list[int]],
    now: datetime,
    batch: int,
    *where: ColumnElement[bool],
) -> tuple[list[Row[Any]], bool]:
    """Attempts of each group's scenes created inside the group's window, oldest ``batch`` overall. Each
    query seeks an (erasure time, created_at) index at its NULL prefix: erased history is never read."""
    rows: list[Row[Any]] = []
    more = False
    for (newer_than, older_than), scene_ids in sorted(groups.items(), key=lambda g: (g[0][0] or 0, g[0][1])):
        window = [Attempt.created_at < now - timedelta(days=older_than)]
        if newer_than is not None:
            window.append(Attempt.created_at >= now - timedelta(days=newer_than))
        found = list(
            session.execute(
                select(*_COLUMNS)
                .join(Task, Task.id == Attempt.task_id)
                .where(*where, *window, Task.scene_id.in_(scene_ids))
                .order_by(Attempt.created_at)
                .limit(batch)
            )
        )
        more = more or len(found) == batch
        rows += found
    rows.sort(key=lambda r: r.created_at)
    return rows[:batch], more or len(rows) > batch


def abandoned_rows(session: Session, now: datetime, batch: int) -> tuple[list[Row[Any]], bool]:
    """Pending attempts whose token expired and that have uploads (the (state, expires_at) index)."""
    has_uploads = exists(select(Upload.id).where(Upload.attempt_id == Attempt.id))
    found = list(
        session.execute(
            select(*_COLUMNS)
            .join(Task, Task.id == Attempt.task_id)
            .where(*abandoned(now), Attempt.erased_at.is_(None), has_uploads)
            .order_by(Attempt.expires_at)
            .limit(batch)
        )
    )
    return found, len(found) == batch


def scenes_with_tenants(session: Session) -> list[tuple[Scene, str]]:
    return [
        (scene, tenant)
        for scene, tenant in session.execute(
            select(Scene, Tenant.name).join(Tenant, Tenant.id == Scene.tenant_id)
        )
    ]


def attempts_of_biz_id(session: Session, scene_id: int, biz_id: str) -> list[int]:
    """The attempts of one BizId of a scene not erased yet, oldest first."""
    return list(
        session.scalars(
            select(Attempt.id)
            .join(Task, Task.id == Attempt.task_id)
            .where(Task.scene_id == scene_id, Task.biz_id == biz_id, Attempt.erased_at.is_(None))
            .order_by(Attempt.id)
        )
    )


def give_up_callbacks(session: Session, attempt_id: int, reason: str) -> None:
    """Mark an attempt's undelivered callbacks failed with ``reason``."""
    session.execute(
        update(CallbackOutbox)
        .where(CallbackOutbox.attempt_id == attempt_id, CallbackOutbox.state == "pending")
        .values(state="failed", last_error=reason, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def drop_review_comments(session: Session, attempt_id: int) -> None:
    """The reviewers' comments on an attempt (they may name the person); their decisions stay."""
    session.execute(
        update(ReviewDecision).where(ReviewDecision.attempt_id == attempt_id).values(comment_enc=None)
    )
