"""Wrapped keys: the installation's system key, and rewrapping every stored key under a new master key."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shiren.storage.keyring import Keyring, MasterKeyError
from shiren.storage.models import Attempt, SystemKey

SYSTEM = "system"


def load_system_key(sessions: sessionmaker[Session], keyring: Keyring) -> bytes:
    """The system key, unwrapped. At the first start it is the master key of that day (so data written
    before keys were wrapped stays readable), wrapped by it; later rotations re-wrap it."""
    with sessions() as session:
        row = session.get(SystemKey, SYSTEM)
        if row is not None:
            try:
                return keyring.unwrap(row.wrapped, row.kek_id, "system-key")
            except (InvalidTag, MasterKeyError):
                raise MasterKeyError(
                    f"no master key here opens this installation's system key (wrapped by {row.kek_id}): "
                    "wrong key file, SHIREN_MASTER_KEY or SHIREN_PREVIOUS_MASTER_KEYS?"
                ) from None
    root = keyring.key(keyring.current_id)
    wrapped, kid = keyring.wrap(root, "system-key")
    try:
        with sessions() as session, session.begin():
            session.add(SystemKey(name=SYSTEM, wrapped=wrapped, kek_id=kid))
    except IntegrityError:  # another process did it first
        return load_system_key(sessions, keyring)
    return root


def rewrap_batch(session: Session, keyring: Keyring, *, limit: int = 500) -> int:
    """Re-wrap up to ``limit`` stored keys not wrapped by the current master key; returns how many."""
    current = keyring.current_id
    done = 0
    row = session.get(SystemKey, SYSTEM, with_for_update=True)
    if row is not None and row.kek_id != current:
        row.wrapped, row.kek_id = keyring.wrap(
            keyring.unwrap(row.wrapped, row.kek_id, "system-key"), "system-key"
        )
        done += 1
    attempts = session.scalars(
        select(Attempt)
        .where(
            or_(
                Attempt.record_kek.is_not(None) & (Attempt.record_kek != current),
                Attempt.media_kek.is_not(None) & (Attempt.media_kek != current),
            )
        )
        .limit(limit)
        .with_for_update()
    )
    for attempt in attempts:
        for purpose in ("record", "media"):
            wrapped, kek = getattr(attempt, f"{purpose}_key"), getattr(attempt, f"{purpose}_kek")
            if wrapped is None or kek is None or kek == current:
                continue
            context = f"dek:{purpose}:{attempt.verify_token}"
            new_wrapped, new_kek = keyring.wrap(keyring.unwrap(wrapped, kek, context), context)
            setattr(attempt, f"{purpose}_key", new_wrapped)
            setattr(attempt, f"{purpose}_kek", new_kek)
        done += 1
    session.flush()
    return done


def keys_wrapped_by(session: Session, kid: str) -> int:
    """How many stored keys a master key still wraps (it may be destroyed only at 0)."""
    count = session.query(Attempt).filter(or_(Attempt.record_kek == kid, Attempt.media_kek == kid)).count()
    system = session.get(SystemKey, SYSTEM)
    return count + (1 if system is not None and system.kek_id == kid else 0)
