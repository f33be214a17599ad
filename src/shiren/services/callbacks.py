"""Callbacks (SPEC 5): a verdict writes its callback into the outbox in the same transaction.

The outbox row holds the exact body and a webhook id that stays the same on every retry, so receivers can
deduplicate; the delivery worker (``shiren.workers.callbacks``) signs and sends it later. Signing follows
Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``)
with the attempt's CallbackSeed, else the scene's own secret, as the raw HMAC key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from sqlalchemy import event
from sqlalchemy.orm import Session

from shiren import __version__
from shiren.storage.crypto import Crypto
from shiren.storage.models import Attempt, CallbackOutbox, Scene, Task
from shiren.storage.repo.scenes import scene_secret
from shiren.storage.repo.tasks import DataErased, record_cipher

log = logging.getLogger(__name__)

USER_AGENT = f"shiren/{__version__}"
WEBHOOK = "webhook"  # shiren's signed POST (Standard Webhooks)
ALIBABA = "alibaba"  # GET url?callbackToken=…&certifyId=…&passed=T|F (the face-verify family)

# Called after a transaction that queued a callback commits, so this process's worker can send at once
# instead of at its next poll. Called from whatever thread committed: listeners must be thread-safe.
_listeners: list[Callable[[], None]] = []
_NOTIFY_KEY = "shiren.callbacks.notify"


def add_enqueue_listener(listener: Callable[[], None]) -> Callable[[], None]:
    """Register ``listener``; returns the function that removes it again."""
    _listeners.append(listener)

    def remove() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return remove


def _notify(_session: Session) -> None:
    for listener in list(_listeners):
        try:
            listener()
        except Exception:  # a closed event loop must not break the verdict's commit
            log.debug("callback enqueue listener failed", exc_info=True)


def enqueue_callback(
    session: Session, scene: Scene, attempt: Attempt, *, style: str = WEBHOOK
) -> CallbackOutbox | None:
    """Queue the final-status callback of ``attempt`` (no-op without a callback URL). ``style`` ALIBABA:
    the face-verify family's GET (its parameters, but the token, are the body)."""
    url = attempt.callback_url or scene.callback_url
    if not url:
        return None
    body: dict[str, object]
    if style == ALIBABA:
        body = {"certifyId": attempt.verify_token, "passed": "T" if attempt.verify_status == 1 else "F"}
    else:
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
        style=style,
    )
    session.add(row)
    if _listeners and not session.info.get(_NOTIFY_KEY):
        # Wake the worker only once the row is visible to it; a rollback wakes nobody.
        session.info[_NOTIFY_KEY] = True
        event.listen(session, "after_commit", _notify)
    return row


def signing_secret(crypto: Crypto, scene: Scene, attempt: Attempt | None) -> bytes:
    """The HMAC key of a callback: the attempt's CallbackSeed, else the scene's own secret."""
    if attempt is not None:
        try:
            seed = record_cipher(crypto, attempt).decrypt_field(
                attempt.callback_seed_enc, f"seed:{attempt.verify_token}"
            )
        except DataErased:
            seed = None
        if seed:
            return seed.encode()
    return scene_secret(crypto, scene).encode()


def outbox_signing_secret(session: Session, crypto: Crypto, row: CallbackOutbox) -> bytes | None:
    """The key for an outbox row (attempt → task → scene), or None when those rows are gone."""
    attempt = session.get(Attempt, row.attempt_id) if row.attempt_id is not None else None
    task = session.get(Task, attempt.task_id) if attempt is not None else None
    scene = session.get(Scene, task.scene_id) if task is not None else None
    if scene is None or scene.tenant_id != row.tenant_id:
        return None
    return signing_secret(crypto, scene, attempt)


def callback_token(session: Session, crypto: Crypto, row: CallbackOutbox) -> str:
    """The CallbackToken an ALIBABA-style row is sent with ("" when none was given or it was erased)."""
    attempt = session.get(Attempt, row.attempt_id) if row.attempt_id is not None else None
    if attempt is None or attempt.tenant_id != row.tenant_id:
        return ""
    try:
        token = record_cipher(crypto, attempt).decrypt_field(
            attempt.callback_seed_enc, f"seed:{attempt.verify_token}"
        )
    except DataErased:
        return ""
    return token or ""


def alibaba_url(url: str, token: str, body: str) -> str:
    """``url`` with Alibaba's callback parameters appended to its own query."""
    params = json.loads(body)
    query = urlencode({"callbackToken": token, "certifyId": params["certifyId"], "passed": params["passed"]})
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def sign(secret: bytes, webhook_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`` (Standard Webhooks, symmetric)."""
    mac = hmac.new(secret, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def webhook_headers(secret: bytes, webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    """All headers of one delivery try; the timestamp is that of the try, so receivers can reject replays."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }
