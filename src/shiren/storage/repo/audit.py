"""Audit trail of reads of personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shiren.storage.models import AuditEvent


def record(
    session: Session,
    action: str,
    object_id: str,
    *,
    tenant_id: int | None = None,
    remote: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(action=action, object_id=object_id, tenant_id=tenant_id, remote=remote, detail=detail)
    )
