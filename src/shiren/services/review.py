"""Human review: a reviewer decides a held verdict, an admin overrides a decided one.

A verdict in its scene's review band was stored with VerifyStatus -1 and no callback (``record``). When a
reviewer decides, the final status is written as a person's decision (a ``ReviewDecision`` row), the
device's signed result is minted again with it, the callback is queued in the same transaction, and the
integrator's next DescribeVerifyResult / DescribeFaceVerify reads it. Each change claims the attempt with
one conditional UPDATE, so two reviewers deciding at the same moment cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from shiren.domain.decision import STATUS_MESSAGES
from shiren.domain.review import (
    HELD,
    MAX_COMMENT,
    OVERRIDDEN,
    REVIEWED,
    check_reason,
    review_outcome,
)
from shiren.domain.roles import Actor, Permission
from shiren.runtime import Runtime
from shiren.services.callbacks import enqueue_callback
from shiren.services.decision.recording import callback_style
from shiren.services.errors import Conflict, Invalid, NotFound
from shiren.services.result_token import make_result_token
from shiren.storage.models import Attempt, ConsoleUser, ReviewDecision, Scene, Task, utcnow
from shiren.storage.repo import audit
from shiren.storage.repo.tasks import DataErased, record_cipher

# The statuses an override may set: passed, or one of the failures (not "not verified").
OVERRIDE_STATUSES = tuple(s for s in STATUS_MESSAGES if s != -1)


@dataclass(frozen=True)
class ReviewResult:
    token: str
    kind: str  # review | override
    from_status: int
    to_status: int


@dataclass(frozen=True)
class QueueItem:
    token: str
    tenant_id: int
    biz_id: str
    biz_type: str
    held_at: datetime
    age_s: float
    machine_status: int | None
    reasons: list[str]


@dataclass(frozen=True)
class DecisionRecord:
    """One person's decision on a case, as the case view shows it."""

    kind: str
    user: str
    at: datetime
    from_status: int
    to_status: int
    reason_code: str
    comment: str | None  # None: erased, or the viewer may not read it


def _comment(comment: str | None) -> str:
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise Invalid("comment", f"at most {MAX_COMMENT} characters")
    return text


def _load(session: Session, actor: Actor, token: str) -> tuple[Attempt, Task, Scene]:
    """The attempt of ``token`` if the actor's tenant owns it; another tenant's is not found."""
    attempt = session.scalar(select(Attempt).where(Attempt.verify_token == token))
    if attempt is None or not actor.sees_tenant(attempt.tenant_id):
        raise NotFound("no such case")
    task = session.get(Task, attempt.task_id)
    scene = session.get(Scene, task.scene_id) if task is not None else None
    if task is None or scene is None:
        raise NotFound("no such case")
    return attempt, task, scene


def _apply(
    runtime: Runtime,
    session: Session,
    actor: Actor,
    found: tuple[Attempt, Task, Scene],
    *,
    kind: str,
    to_status: int,
    reason_code: str,
    comment: str,
    now: datetime,
) -> ReviewResult:
    attempt, task, scene = found
    from_status = int(attempt.verify_status)
    attempt.verify_status = to_status
    if attempt.result_token is not None:  # a device flow: its signed hint now says the final verdict
        expires = now + timedelta(seconds=runtime.settings.result_token_ttl_s)
        attempt.result_token = make_result_token(runtime.crypto, task.biz_id, to_status, expires)
        attempt.result_token_expires_at = expires
    cipher = record_cipher(runtime.crypto, attempt)
    session.add(
        ReviewDecision(
            attempt_id=attempt.id,
            tenant_id=attempt.tenant_id,
            user_id=actor.user_id,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            reason_code=reason_code,
            comment_enc=cipher.encrypt_field(comment, f"review:{attempt.verify_token}") if comment else None,
            at=now,
        )
    )
    enqueue_callback(session, scene, attempt, style=callback_style(runtime, attempt))
    audit.record(
        session,
        f"case.{kind}",
        attempt.verify_token,
        tenant_id=attempt.tenant_id,
        remote=actor.remote,
        actor=actor.label,
        detail={
            "from": from_status,
            "to": to_status,
            "reason": reason_code,
            "machine": attempt.machine_status,
        },
    )
    session.flush()
    return ReviewResult(attempt.verify_token, kind, from_status, to_status)


def _claim(session: Session, attempt: Attempt, state: str, *conditions: ColumnElement[bool]) -> bool:
    """Take the attempt for this change only if it is still as it was read (one winner under races)."""
    claimed = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, *conditions)
        .values(review_state=state)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(attempt)
    return True


def decide_held(
    runtime: Runtime, actor: Actor, token: str, decision: str, reason_code: str, comment: str | None = None
) -> ReviewResult:
    """A reviewer approves or rejects a held verdict; Conflict when it is no longer held."""
    actor.require(Permission.REVIEW)
    try:
        check_reason(decision, reason_code)
    except ValueError as exc:
        raise Invalid("reason", str(exc)) from None
    text = _comment(comment)
    if decision != "approve" and not text and reason_code == "other":
        raise Invalid("comment", "say why when the reason is 'other'")
    now = utcnow()
    with runtime.sessions() as session, session.begin():
        found = _load(session, actor, token)
        attempt = found[0]
        held = (Attempt.review_state == HELD, Attempt.state == "decided")
        claimed = attempt.review_state == HELD and _claim(session, attempt, REVIEWED, *held)
        if not claimed or attempt.state != "decided":
            raise Conflict("this case is not waiting for review any more")
        try:
            to_status = review_outcome(decision, int(attempt.machine_status or 0))
            return _apply(
                runtime,
                session,
                actor,
                found,
                kind="review",
                to_status=to_status,
                reason_code=reason_code,
                comment=text,
                now=now,
            )
        except DataErased:
            raise Conflict("this case's data was erased") from None
        except ValueError as exc:
            raise Invalid("decision", str(exc)) from None


def override(
    runtime: Runtime, actor: Actor, token: str, to_status: int, reason_code: str, comment: str | None
) -> ReviewResult:
    """An admin sets another verdict on a decided case (audited, with a reason and a comment)."""
    actor.require(Permission.OVERRIDE)
    if to_status not in OVERRIDE_STATUSES:
        raise Invalid("status", "must be 1 (passed) or a failure status (2-12)")
    try:
        check_reason("override", reason_code)
    except ValueError as exc:
        raise Invalid("reason", str(exc)) from None
    text = _comment(comment)
    if not text:
        raise Invalid("comment", "an override needs a comment")
    now = utcnow()
    with runtime.sessions() as session, session.begin():
        found = _load(session, actor, token)
        attempt = found[0]
        if attempt.state != "decided":
            raise Conflict("only a decided case can be overridden")
        if attempt.review_state == HELD:
            raise Conflict("this case is waiting for review: decide it in the review queue")
        if int(attempt.verify_status) == to_status:
            raise Conflict(f"the verdict is {to_status} already")
        current = int(attempt.verify_status)
        still = (Attempt.state == "decided", Attempt.verify_status == current)
        if not _claim(session, attempt, OVERRIDDEN, *still):
            raise Conflict("the case changed meanwhile; look at it again")
        try:
            return _apply(
                runtime,
                session,
                actor,
                found,
                kind="override",
                to_status=to_status,
                reason_code=reason_code,
                comment=text,
                now=now,
            )
        except DataErased:
            raise Conflict("this case's data was erased") from None


def review_queue(
    runtime: Runtime, actor: Actor, *, tenant_id: int | None = None, limit: int = 50
) -> tuple[list[QueueItem], int]:
    """Held cases oldest first (at most ``limit``), and how many are held in all."""
    actor.require(Permission.REVIEW)
    tenant = tenant_id if actor.can(Permission.ALL_TENANTS) else actor.tenant_id
    if tenant_id is not None and not actor.sees_tenant(tenant_id):
        raise NotFound("no such tenant")
    now = utcnow()
    where = [Attempt.review_state == HELD, Attempt.state == "decided"]
    if tenant is not None:
        where.append(Attempt.tenant_id == tenant)
    with runtime.sessions() as session:
        rows = session.execute(
            select(Attempt, Task.biz_id, Scene.biz_type)
            .join(Task, Task.id == Attempt.task_id)
            .join(Scene, Scene.id == Task.scene_id)
            .where(*where)
            .order_by(Attempt.decided_at, Attempt.id)
            .limit(max(1, min(limit, 200)))
        ).all()
        total = session.scalar(select(func.count()).select_from(Attempt).where(*where)) or 0
    items = [
        QueueItem(
            a.verify_token,
            a.tenant_id,
            biz_id,
            biz_type,
            a.decided_at or a.created_at,
            (now - (a.decided_at or a.created_at)).total_seconds(),
            a.machine_status,
            list(((a.evidence or {}).get("review") or {}).get("held", [])),
        )
        for a, biz_id, biz_type in rows
    ]
    return items, int(total)


def decisions_of(runtime: Runtime, attempt: Attempt, *, with_comments: bool) -> list[DecisionRecord]:
    """The people's decisions on a case, oldest first; comments only for who may read personal data."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(ReviewDecision, ConsoleUser.name)
            .join(ConsoleUser, ConsoleUser.id == ReviewDecision.user_id)
            .where(ReviewDecision.attempt_id == attempt.id)
            .order_by(ReviewDecision.id)
        ).all()
    cipher = None
    if with_comments:
        try:
            cipher = record_cipher(runtime.crypto, attempt)
        except DataErased:
            cipher = None
    out = []
    for row, user in rows:
        comment = None
        if cipher is not None and row.comment_enc is not None:
            comment = cipher.decrypt_field(row.comment_enc, f"review:{attempt.verify_token}")
        out.append(
            DecisionRecord(row.kind, user, row.at, row.from_status, row.to_status, row.reason_code, comment)
        )
    return out
