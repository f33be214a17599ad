"""Capture prints: the keyed tokens of each capture's content fingerprint, and the lookup of the earlier
capture that shares the most of them (across tenants: a replay may come from anywhere)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shiren.storage.models import CapturePrint

# Tokens per IN (...) query: below SQLite's bound variables (32766; 999 before 3.32), fine for Postgres.
_CHUNK = 500


def add_prints(
    session: Session, attempt_id: int, tenant_id: int, tokens: Iterable[str], now: datetime
) -> int:
    """Store an attempt's tokens (each once); returns how many were stored."""
    unique = sorted(set(tokens))
    session.add_all(
        CapturePrint(token=t, attempt_id=attempt_id, tenant_id=tenant_id, created_at=now) for t in unique
    )
    session.flush()
    return len(unique)


def best_overlap(session: Session, tokens: Iterable[str], *, exclude_attempt: int | None = None) -> int:
    """The most of ``tokens`` any one earlier attempt's print holds (0 when none holds any)."""
    unique = sorted(set(tokens))
    counts: Counter[int] = Counter()
    for i in range(0, len(unique), _CHUNK):
        query = (
            select(CapturePrint.attempt_id, func.count())
            .where(CapturePrint.token.in_(unique[i : i + _CHUNK]))
            .group_by(CapturePrint.attempt_id)
        )
        if exclude_attempt is not None:
            query = query.where(CapturePrint.attempt_id != exclude_attempt)
        for attempt_id, n in session.execute(query):
            counts[attempt_id] += n
    return max(counts.values(), default=0)


def delete_prints(session: Session, attempt_id: int) -> int:
    """Forget an attempt's print (erasure); returns how many tokens went."""
    result = session.execute(delete(CapturePrint).where(CapturePrint.attempt_id == attempt_id))
    return result.rowcount or 0
