"""The audit trail: who did or read what, when and from where."""

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
    actor: str | None = None,
) -> None:
    """One event, in the caller's transaction (it commits, or is rolled back, with what it records).
    ``actor``: who ("console:alice", "cli", an API action); older events name it in ``detail`` only."""
    if actor is None and detail is not None and isinstance(detail.get("actor"), str):
        actor = detail["actor"]
    session.add(
        AuditEvent(
            action=action,
            object_id=object_id,
            tenant_id=tenant_id,
            remote=remote,
            detail=detail,
            actor=actor[:128] if actor else None,
        )
    )
