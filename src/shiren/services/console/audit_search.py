"""Searching the audit trail: who did or read what, when and from where.

An admin or auditor sees their own tenant's events only; an operator sees every event, those of no tenant
too (operators' own sign-ins, failed sign-ins of unknown names). A search is bounded: newest first, one
page at a time (keyset on the event id), at most ``MAX_LIMIT`` rows. Reading the trail is not itself
recorded: it holds no personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select

from shiren.domain.roles import Actor, Permission
from shiren.runtime import Runtime
from shiren.services.errors import Invalid
from shiren.storage.models import AuditEvent, Tenant

MAX_LIMIT = 200


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    tenant_id: int | None
    tenant: str | None
    action: str
    object_id: str
    actor: str | None
    remote: str | None
    detail: dict[str, Any] | None

    @property
    def detail_text(self) -> str:
        """The detail as one line of JSON ("" when there is none)."""
        if not self.detail:
            return ""
        return json.dumps(self.detail, ensure_ascii=False, sort_keys=True, default=str)


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching what starts with ``prefix`` literally (its % and _ are not wildcards)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _text(value: str | None, field: str, longest: int) -> str:
    text = (value or "").strip()
    if len(text) > longest:
        raise Invalid(field, f"at most {longest} characters")
    return text


def search_audit(
    runtime: Runtime,
    actor: Actor,
    *,
    action: str | None = None,
    actor_name: str | None = None,
    object_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    tenant_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> tuple[list[AuditRow], int | None]:
    """One page of matching events, newest first, and the ``before_id`` of the next page (None: the last).

    ``action``: a prefix ("case." finds case.view, case.review, ...; "scene.update" finds that action).
    ``actor_name``: as the trail names them ("cli", "console:alice"), or a console user's bare name.
    ``object_id``: exactly. ``date_from`` / ``date_to``: UTC days, both included. ``tenant_id``: an
    operator's filter (anyone else sees their own tenant whatever they ask: another one gives no rows).
    """
    actor.require(Permission.AUDIT)
    action = _text(action, "action", 64)
    who = _text(actor_name, "actor", 128)
    obj = _text(object_id, "object", 64)
    if date_from and date_to and date_to < date_from:
        raise Invalid("to", "is before the start date")
    limit = max(1, min(int(limit), MAX_LIMIT))

    query = select(AuditEvent, Tenant.name).outerjoin(Tenant, Tenant.id == AuditEvent.tenant_id)
    if actor.can(Permission.ALL_TENANTS):
        if tenant_id is not None:
            query = query.where(AuditEvent.tenant_id == tenant_id)
    else:
        if actor.tenant_id is None or (tenant_id is not None and tenant_id != actor.tenant_id):
            return [], None
        query = query.where(AuditEvent.tenant_id == actor.tenant_id)
    if action:
        query = query.where(AuditEvent.action.like(_like_prefix(action), escape="\\"))
    if who:
        names = {who} if ":" in who else {who, f"console:{who}"}
        query = query.where(or_(*(AuditEvent.actor == n for n in sorted(names))))
    if obj:
        query = query.where(AuditEvent.object_id == obj)
    if date_from:
        query = query.where(AuditEvent.at >= _day_start(date_from))
    if date_to:
        query = query.where(AuditEvent.at < _day_start(date_to + timedelta(days=1)))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    query = query.order_by(AuditEvent.id.desc()).limit(limit + 1)

    with runtime.sessions() as session:
        found = list(session.execute(query))
    more = len(found) > limit
    rows = [
        AuditRow(e.id, e.at, e.tenant_id, name, e.action, e.object_id, e.actor, e.remote, e.detail)
        for e, name in found[:limit]
    ]
    return rows, (rows[-1].id if more and rows else None)
