"""Refusing a new verification for an identity or BizId that failed too often (``domain.limits``)."""

from __future__ import annotations

from shiren.domain.limits import MAX_FAILURES_PER_BIZID, MAX_FAILURES_PER_IDENTITY, WINDOW
from shiren.runtime import Runtime
from shiren.services.errors import TooManyFailures
from shiren.storage.models import Scene, utcnow
from shiren.storage.repo.tasks import identity_index, recent_failures


def check_failure_limits(runtime: Runtime, scene: Scene, biz_id: str, id_number: str | None) -> None:
    """Raises TooManyFailures when this BizId or this ID number failed too often in the window."""
    with runtime.sessions() as session:
        by_biz, by_identity = recent_failures(
            session, scene, biz_id, identity_index(runtime.crypto, id_number), utcnow() - WINDOW
        )
    hours = int(WINDOW.total_seconds() // 3600)
    if by_identity >= MAX_FAILURES_PER_IDENTITY:
        raise TooManyFailures(
            f"this identity failed {by_identity} verifications in the last {hours} hours; try again later"
        )
    if by_biz >= MAX_FAILURES_PER_BIZID:
        raise TooManyFailures(
            f"this BizId failed {by_biz} verifications in the last {hours} hours; try again later"
        )
