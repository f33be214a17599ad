"""Signature nonces: a primary-key insert is the atomic "seen before?" check, shared by every process."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shiren.storage.models import Nonce, utcnow


def claim_nonce(sessions: sessionmaker[Session], access_key_id: str, nonce: str) -> bool:
    """Record a nonce; False when this AccessKey already used it (a replay)."""
    try:
        with sessions() as session, session.begin():
            session.add(Nonce(access_key_id=access_key_id, nonce=nonce))
    except IntegrityError:
        return False
    return True


def purge_nonces(sessions: sessionmaker[Session], older_than: timedelta, now: datetime | None = None) -> int:
    """Forget nonces older than the window: their timestamps would be refused anyway."""
    cutoff = (now or utcnow()) - older_than
    with sessions() as session, session.begin():
        return session.execute(delete(Nonce).where(Nonce.seen_at < cutoff)).rowcount or 0
