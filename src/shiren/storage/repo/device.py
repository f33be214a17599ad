"""What the device protocol stores for an attempt: consent, challenges, uploads (and the card reading)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from shiren.storage.crypto import Cipher
from shiren.storage.models import Attempt, Challenge, Consent, Scene, Task, Upload


def attempt_with_scene(session: Session, token: str) -> tuple[Attempt, Task, Scene] | None:
    """The attempt of a VerifyToken with its task and scene, all of one tenant; None if any is missing."""
    attempt = session.scalar(select(Attempt).where(Attempt.verify_token == token))
    if attempt is None:
        return None
    task = session.get(Task, attempt.task_id)
    scene = session.get(Scene, task.scene_id) if task is not None else None
    if task is None or scene is None or scene.tenant_id != attempt.tenant_id:
        return None
    return attempt, task, scene


def consent_of(session: Session, attempt_id: int) -> Consent | None:
    return session.scalar(select(Consent).where(Consent.attempt_id == attempt_id))


def challenge_count(session: Session, attempt_id: int) -> int:
    return session.scalar(select(func.count()).where(Challenge.attempt_id == attempt_id)) or 0


def recent_challenges(session: Session, attempt: Attempt, scene_id: int, since: datetime) -> tuple[int, int]:
    """Challenges drawn since ``since``: for this attempt's BizId in its scene, and for its identity in the
    tenant (0 when the attempt has no identity yet)."""
    task = session.get(Task, attempt.task_id)
    biz_id = task.biz_id if task is not None else ""
    by_biz = session.scalar(
        select(func.count())
        .select_from(Challenge)
        .join(Attempt, Attempt.id == Challenge.attempt_id)
        .join(Task, Task.id == Attempt.task_id)
        .where(Task.scene_id == scene_id, Task.biz_id == biz_id, Challenge.issued_at >= since)
    )
    by_identity = 0
    if attempt.identity_index is not None:
        by_identity = session.scalar(
            select(func.count())
            .select_from(Challenge)
            .join(Attempt, Attempt.id == Challenge.attempt_id)
            .where(
                Attempt.tenant_id == attempt.tenant_id,
                Attempt.identity_index == attempt.identity_index,
                Challenge.issued_at >= since,
            )
        )
    return int(by_biz or 0), int(by_identity or 0)


def latest_challenge(session: Session, attempt_id: int) -> Challenge | None:
    return session.scalar(
        select(Challenge)
        .where(Challenge.attempt_id == attempt_id)
        .order_by(Challenge.issued_at.desc(), Challenge.id)
        .limit(1)
    )


def claim_challenge(session: Session, challenge_id: str, now: datetime) -> bool:
    """Mark the challenge used; False when it was used already (a concurrent submit won)."""
    result = session.execute(
        update(Challenge).where(Challenge.id == challenge_id, Challenge.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1


def uploads_of(session: Session, attempt_id: int) -> dict[str, Upload]:
    return {u.kind: u for u in session.scalars(select(Upload).where(Upload.attempt_id == attempt_id))}


def upload_of(session: Session, attempt_id: int, kind: str) -> Upload | None:
    return session.scalar(select(Upload).where(Upload.attempt_id == attempt_id, Upload.kind == kind))


def upload_kinds(session: Session, attempt_id: int) -> list[str]:
    return sorted(session.scalars(select(Upload.kind).where(Upload.attempt_id == attempt_id)))


def replace_upload(session: Session, upload: Upload) -> list[str]:
    """Store ``upload`` in place of the attempt's earlier one of its kind; returns the blob ids no longer
    referenced (the earlier upload's file and card-reading portrait), for the caller to delete."""
    old = upload_of(session, upload.attempt_id, upload.kind)
    orphaned: list[str] = []
    if old is not None:
        orphaned = [b for b in (old.blob_id, old.reading_blob_id) if b]
        session.execute(delete(Upload).where(Upload.id == old.id))
        session.flush()
    session.add(upload)
    session.flush()
    return orphaned


def seen_elsewhere(session: Session, fingerprint: str, attempt_id: int) -> bool:
    """The same bytes were uploaded for another attempt (a replayed capture)."""
    found = session.scalar(
        select(Upload.id).where(Upload.fingerprint == fingerprint, Upload.attempt_id != attempt_id).limit(1)
    )
    return found is not None


def _reading_context(upload: Upload) -> str:
    return f"reading:{upload.attempt_id}:{upload.kind}:{upload.fingerprint}"


def set_upload_reading(
    session: Session, crypto: Cipher, upload_id: int, reading: dict[str, Any], portrait_blob: str | None
) -> bool:
    """Keep the card reading of an upload (encrypted); False when the upload was replaced meanwhile."""
    upload = session.get(Upload, upload_id)
    if upload is None:
        return False
    upload.reading_enc = crypto.encrypt_field(
        json.dumps(reading, ensure_ascii=False), _reading_context(upload)
    )
    upload.reading_blob_id = portrait_blob
    session.flush()
    return True


def upload_reading(crypto: Cipher, upload: Upload) -> dict[str, Any] | None:
    raw = crypto.decrypt_field(upload.reading_enc, _reading_context(upload))
    return json.loads(raw) if raw else None


def _open_for_inputs(attempt_id: int, now: datetime):  # noqa: ANN202 - a SQLAlchemy condition
    return (
        Attempt.id == attempt_id,
        Attempt.state == "pending",
        or_(Attempt.deciding_until.is_(None), Attempt.deciding_until < now),
    )


def hold_inputs_open(session: Session, attempt_id: int, now: datetime) -> bool:
    """Take the attempt's row for this transaction if its inputs may still change (pending, and no submit
    deciding); False otherwise. A write, so it serialises with ``claim_for_decision`` on every database."""
    result = session.execute(
        update(Attempt)
        .where(*_open_for_inputs(attempt_id, now))
        .values(deciding_until=Attempt.deciding_until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_for_decision(
    session: Session, attempt_id: int, challenge_id: str, now: datetime, lease_s: float
) -> str:
    """Spend the challenge and freeze the attempt's inputs until ``now + lease_s``. Returns "" when both
    happened, else why not: "decided" (or being decided) or "used" (the challenge was spent)."""
    frozen = session.execute(
        update(Attempt)
        .where(*_open_for_inputs(attempt_id, now))
        .values(deciding_until=now + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    if frozen.rowcount != 1:
        return "decided"
    if not claim_challenge(session, challenge_id, now):
        return "used"
    return ""


def release_decision(session: Session, attempt_id: int) -> None:
    """A decision that failed unfreezes the inputs at once (the device may take a new challenge)."""
    session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, Attempt.state == "pending")
        .values(deciding_until=None)
        .execution_options(synchronize_session=False)
    )


def rebind_upload(session: Session, upload_id: int, challenge_id: str | None, now: datetime) -> None:
    """The same bytes uploaded again for a new challenge: they now answer that challenge."""
    session.execute(
        update(Upload).where(Upload.id == upload_id).values(challenge_id=challenge_id, created_at=now)
    )
