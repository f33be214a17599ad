"""Tasks (one per scene + BizId) and their attempts."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiren.storage.crypto import Crypto
from shiren.storage.models import Attempt, Scene, Task, utcnow


def _get_or_create_task(session: Session, scene: Scene, biz_id: str) -> Task:
    task = session.scalar(select(Task).where(Task.scene_id == scene.id, Task.biz_id == biz_id))
    if task is None:
        task = Task(tenant_id=scene.tenant_id, scene_id=scene.id, biz_id=biz_id)
        session.add(task)
        session.flush()
    return task


def start_attempt(
    session: Session,
    crypto: Crypto,
    scene: Scene,
    biz_id: str,
    *,
    ttl: timedelta,
    name: str | None = None,
    id_number: str | None = None,
    inputs: dict[str, Any] | None = None,
    callback_url: str | None = None,
    callback_seed: str | None = None,
    now: datetime | None = None,
) -> Attempt:
    """Start a new attempt for a BizId, with its own 32-hex VerifyToken bound to tenant + scene + BizId."""
    now = now or utcnow()
    task = _get_or_create_task(session, scene, biz_id)
    token = secrets.token_hex(16)
    attempt = Attempt(
        task_id=task.id,
        tenant_id=scene.tenant_id,
        verify_token=token,
        created_at=now,
        expires_at=now + ttl,
        callback_url=callback_url or scene.callback_url,
    )
    # Encryption contexts bind each ciphertext to its token, so rows cannot be swapped.
    attempt.name_enc = crypto.encrypt_field(name, f"name:{token}")
    attempt.id_number_enc = crypto.encrypt_field(id_number, f"idn:{token}")
    attempt.inputs_enc = crypto.encrypt_field(json.dumps(inputs or {}, ensure_ascii=False), f"inputs:{token}")
    attempt.callback_seed_enc = crypto.encrypt_field(callback_seed, f"seed:{token}")
    session.add(attempt)
    session.flush()
    return attempt


def latest_attempt(session: Session, scene: Scene, biz_id: str) -> Attempt | None:
    return session.scalar(
        select(Attempt)
        .join(Task, Task.id == Attempt.task_id)
        .where(Task.scene_id == scene.id, Task.biz_id == biz_id)
        .order_by(Attempt.id.desc())
        .limit(1)
    )


def attempt_by_token(session: Session, token: str) -> Attempt | None:
    return session.scalar(select(Attempt).where(Attempt.verify_token == token))


def attempt_identity(crypto: Crypto, attempt: Attempt) -> tuple[str | None, str | None]:
    token = attempt.verify_token
    return crypto.decrypt_field(attempt.name_enc, f"name:{token}"), crypto.decrypt_field(
        attempt.id_number_enc, f"idn:{token}"
    )


def attempt_inputs(crypto: Crypto, attempt: Attempt) -> dict[str, Any]:
    raw = crypto.decrypt_field(attempt.inputs_enc, f"inputs:{attempt.verify_token}")
    return json.loads(raw) if raw else {}


def attempt_material(crypto: Crypto, attempt: Attempt) -> dict[str, Any]:
    raw = crypto.decrypt_field(attempt.material_enc, f"material:{attempt.verify_token}")
    return json.loads(raw) if raw else {}


def set_attempt_material(crypto: Crypto, attempt: Attempt, material: dict[str, Any]) -> None:
    attempt.material_enc = crypto.encrypt_field(
        json.dumps(material, ensure_ascii=False), f"material:{attempt.verify_token}"
    )


def set_attempt_identity(crypto: Crypto, attempt: Attempt, name: str | None, id_number: str | None) -> None:
    """Replace the identity an attempt checks (typed or confirmed on the device)."""
    token = attempt.verify_token
    attempt.name_enc = crypto.encrypt_field(name, f"name:{token}")
    attempt.id_number_enc = crypto.encrypt_field(id_number, f"idn:{token}")


def lock_pending_attempt(session: Session, attempt_id: int) -> Attempt | None:
    """The attempt, locked for this transaction, if it is still pending; None once decided."""
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    return attempt if attempt is not None and attempt.state == "pending" else None


def set_verdict(
    session: Session,
    crypto: Crypto,
    attempt: Attempt,
    *,
    status: int,
    scores: dict[str, float | None],
    evidence: dict[str, Any],
    material: dict[str, Any],
    now: datetime,
    result_token: tuple[str, datetime] | None = None,
) -> None:
    """Mark the attempt decided with its verdict, scores, evidence, (encrypted) material and the signed
    result handed to the device (with its expiry)."""
    attempt.state = "decided"
    attempt.deciding_until = None
    if result_token is not None:
        attempt.result_token, attempt.result_token_expires_at = result_token
    attempt.verify_status = status
    attempt.decided_at = now
    attempt.authority_score = scores.get("authority")
    attempt.idcard_face_score = scores.get("idcard")
    attempt.face_score = scores.get("retained")
    attempt.evidence = evidence
    set_attempt_material(crypto, attempt, material)
    session.flush()
