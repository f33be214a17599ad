"""Tasks (one per scene + BizId) and their attempts."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shiren.domain.limits import identity_key
from shiren.storage.crypto import Cipher, Crypto
from shiren.storage.models import Attempt, Scene, Task, utcnow


class DataErased(LookupError):
    """The verification's data (or its media) was erased: its key no longer exists."""


@dataclass(frozen=True)
class AttemptKeys:
    """A new attempt's two data keys, made before the attempt exists (its blobs may be stored first)."""

    token: str
    record: Cipher
    media: Cipher
    wrapped: dict[str, tuple[bytes, str]]


def new_attempt_keys(crypto: Crypto, token: str | None = None) -> AttemptKeys:
    token = token or secrets.token_hex(16)
    record, record_wrapped, record_kek = crypto.new_data_key(f"dek:record:{token}")
    media, media_wrapped, media_kek = crypto.new_data_key(f"dek:media:{token}")
    return AttemptKeys(
        token, record, media, {"record": (record_wrapped, record_kek), "media": (media_wrapped, media_kek)}
    )


def record_cipher(crypto: Crypto, attempt: Attempt) -> Cipher:
    """The key of the attempt's personal fields (attempts from before per-verification keys: the system
    key); DataErased once erased."""
    if attempt.erased_at is not None or attempt.state == "erased":
        raise DataErased("the verification's personal data was erased")
    if attempt.record_key is None or attempt.record_kek is None:
        return crypto
    return crypto.open_data_key(attempt.record_key, attempt.record_kek, f"dek:record:{attempt.verify_token}")


def media_cipher(crypto: Crypto, attempt: Attempt) -> Cipher:
    """The key of the attempt's images and video; DataErased once they were erased."""
    if attempt.media_erased_at is not None or attempt.erased_at is not None or attempt.state == "erased":
        raise DataErased("the verification's images and video were erased")
    if attempt.media_key is None or attempt.media_kek is None:
        return crypto
    return crypto.open_data_key(attempt.media_key, attempt.media_kek, f"dek:media:{attempt.verify_token}")


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
    keys: AttemptKeys | None = None,
) -> Attempt:
    """Start a new attempt for a BizId, with its own 32-hex VerifyToken bound to tenant + scene + BizId and
    its own data keys (``keys`` when its blobs were stored before it)."""
    now = now or utcnow()
    task = _get_or_create_task(session, scene, biz_id)
    keys = keys or new_attempt_keys(crypto)
    token = keys.token
    attempt = Attempt(
        task_id=task.id,
        tenant_id=scene.tenant_id,
        verify_token=token,
        created_at=now,
        expires_at=now + ttl,
        callback_url=callback_url or scene.callback_url,
    )
    attempt.identity_index = identity_index(crypto, id_number)
    attempt.user_index = user_index(crypto, (inputs or {}).get("UserId"))
    attempt.record_key, attempt.record_kek = keys.wrapped["record"]
    attempt.media_key, attempt.media_kek = keys.wrapped["media"]
    # Encryption contexts bind each ciphertext to its token, so rows cannot be swapped.
    cipher = keys.record
    attempt.name_enc = cipher.encrypt_field(name, f"name:{token}")
    attempt.id_number_enc = cipher.encrypt_field(id_number, f"idn:{token}")
    attempt.inputs_enc = cipher.encrypt_field(json.dumps(inputs or {}, ensure_ascii=False), f"inputs:{token}")
    attempt.callback_seed_enc = cipher.encrypt_field(callback_seed, f"seed:{token}")
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
    token, cipher = attempt.verify_token, record_cipher(crypto, attempt)
    return cipher.decrypt_field(attempt.name_enc, f"name:{token}"), cipher.decrypt_field(
        attempt.id_number_enc, f"idn:{token}"
    )


def attempt_inputs(crypto: Crypto, attempt: Attempt) -> dict[str, Any]:
    raw = record_cipher(crypto, attempt).decrypt_field(attempt.inputs_enc, f"inputs:{attempt.verify_token}")
    return json.loads(raw) if raw else {}


def attempt_material(crypto: Crypto, attempt: Attempt) -> dict[str, Any]:
    raw = record_cipher(crypto, attempt).decrypt_field(
        attempt.material_enc, f"material:{attempt.verify_token}"
    )
    return json.loads(raw) if raw else {}


def set_attempt_material(crypto: Crypto, attempt: Attempt, material: dict[str, Any]) -> None:
    attempt.material_enc = record_cipher(crypto, attempt).encrypt_field(
        json.dumps(material, ensure_ascii=False), f"material:{attempt.verify_token}"
    )


def identity_index(crypto: Crypto, id_number: str | None) -> str | None:
    return crypto.blind_index(identity_key(id_number), "attempt.identity") if id_number else None


def user_index(crypto: Crypto, user_id: str | None) -> str | None:
    """The keyed hash the console finds an integrator's UserId by (the id itself stays encrypted)."""
    return crypto.blind_index(user_id.strip(), "attempt.user") if user_id and user_id.strip() else None


def recent_failures(
    session: Session, scene: Scene, biz_id: str, index: str | None, since: datetime
) -> tuple[int, int]:
    """Failed verifications since ``since``: of this BizId in its scene, of this identity in the tenant."""
    failed = (Attempt.state == "decided", Attempt.verify_status != 1, Attempt.decided_at >= since)
    by_biz = session.scalar(
        select(func.count())
        .select_from(Attempt)
        .join(Task, Task.id == Attempt.task_id)
        .where(Task.scene_id == scene.id, Task.biz_id == biz_id, *failed)
    )
    by_identity = 0
    if index is not None:
        by_identity = session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.tenant_id == scene.tenant_id, Attempt.identity_index == index, *failed)
        )
    return int(by_biz or 0), int(by_identity or 0)


def set_attempt_identity(crypto: Crypto, attempt: Attempt, name: str | None, id_number: str | None) -> None:
    """Replace the identity an attempt checks (typed or confirmed on the device)."""
    attempt.identity_index = identity_index(crypto, id_number)
    token, cipher = attempt.verify_token, record_cipher(crypto, attempt)
    attempt.name_enc = cipher.encrypt_field(name, f"name:{token}")
    attempt.id_number_enc = cipher.encrypt_field(id_number, f"idn:{token}")


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
