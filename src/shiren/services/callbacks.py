"""Callbacks (SPEC 5): a verdict writes its callback into the outbox in the same transaction.

The outbox row holds the exact body and a webhook id that stays the same on every retry, so receivers can
deduplicate; the delivery worker (``shiren.workers.callbacks``) signs and sends it later.
"""

from __future__ import annotations

import json
import secrets
import time

from sqlalchemy.orm import Session

from shiren.storage.crypto import Crypto
from shiren.storage.models import Attempt, CallbackOutbox, Scene, Task


def enqueue_callback(session: Session, scene: Scene, attempt: Attempt) -> CallbackOutbox | None:
    """Queue the final-status callback of ``attempt`` (no-op without a callback URL)."""
    url = attempt.callback_url or scene.callback_url
    if not url:
        return None
    task = session.get(Task, attempt.task_id)
    body = {
        "BizId": task.biz_id if task else "",
        "BizType": scene.biz_type,
        "VerifyStatus": attempt.verify_status,
        "VerifyToken": attempt.verify_token,
        "Timestamp": int(time.time() * 1000),
    }
    row = CallbackOutbox(
        webhook_id=f"msg_{secrets.token_hex(16)}",
        tenant_id=scene.tenant_id,
        attempt_id=attempt.id,
        url=url,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    )
    session.add(row)
    return row


def signing_secret(crypto: Crypto, scene: Scene, attempt: Attempt | None) -> bytes:
    """The HMAC key of a callback: the attempt's CallbackSeed, else the scene's own secret."""
    if attempt is not None:
        seed = crypto.decrypt_field(attempt.callback_seed_enc, f"seed:{attempt.verify_token}")
        if seed:
            return seed.encode()
    secret = crypto.decrypt_field(scene.secret_enc, f"scene:{scene.biz_type}")
    if not secret:
        raise ValueError("scene has no secret")
    return secret.encode()
