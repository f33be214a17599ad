"""One function stores a decision: derived images (encrypted), the verdict, its evidence, the material and
the callback, in a single transaction. A failure leaves nothing behind (blobs written first are deleted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from shiren.domain.decision import thresholds_for
from shiren.domain.review import HELD
from shiren.intake import reencode_jpeg
from shiren.observability.metrics import observe_verdict
from shiren.runtime import Runtime
from shiren.services.callbacks import ALIBABA, WEBHOOK, enqueue_callback
from shiren.services.decision.evaluation import Outcome
from shiren.services.decision.inputs import DecisionInputs
from shiren.services.errors import AlreadyDecided
from shiren.services.faces import face_crop
from shiren.services.media import store_blob
from shiren.storage.models import Attempt, Blob, Scene, Upload, utcnow
from shiren.storage.repo.blobs import adopt_uploads
from shiren.storage.repo.prints import add_prints
from shiren.storage.repo.tasks import (
    attempt_inputs,
    lock_pending_attempt,
    media_cipher,
    new_attempt_keys,
    set_attempt_identity,
    set_verdict,
    start_attempt,
)

JPEG = "image/jpeg"


@dataclass(frozen=True)
class NewAttempt:
    """The attempt is created with its verdict (VerifyMaterial: nothing exists before the answer)."""

    biz_id: str
    inputs: dict[str, Any] = field(default_factory=dict)
    scheme: str | None = None  # a face-verify product (ID_MIN …) when not the scene's scheme


@dataclass(frozen=True)
class PendingAttempt:
    """An attempt the device worked on: decided only if still pending; its uploads become its material."""

    attempt: Attempt  # as loaded (detached): its id, and its media key for the derived images
    uploads: dict[str, Upload]  # kind → upload (video, id_front, id_back)
    challenge: dict[str, Any] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    result_token: tuple[str, datetime] | None = None  # the signed result for the device, with its expiry


def _evidence(runtime: Runtime, scene: Scene, outcome: Outcome, target: NewAttempt | PendingAttempt) -> dict:
    evidence: dict[str, Any] = {
        "checks": [c.as_evidence() for c in outcome.checks],
        "models": runtime.models.versions(),
        "timings_ms": outcome.timings_ms,
        "thresholds": thresholds_for(scene.thresholds),
    }
    if outcome.held:
        evidence["review"] = {"held": outcome.held, "band": dict(scene.review or {})}
    if isinstance(target, PendingAttempt):
        evidence["liveness"] = outcome.liveness.evidence() if outcome.liveness else None
        evidence["challenge"] = target.challenge
        evidence["redirect"] = target.redirects
    return evidence


def callback_style(runtime: Runtime, attempt: Attempt) -> str:
    """A face-verify verification started with its own CallbackUrl is called back Alibaba's way."""
    if attempt.scheme is None or attempt.inputs_enc is None:
        return WEBHOOK
    return ALIBABA if attempt_inputs(runtime.crypto, attempt).get("CallbackStyle") == ALIBABA else WEBHOOK


def record(
    runtime: Runtime,
    scene: Scene,
    inputs: DecisionInputs,
    outcome: Outcome,
    target: NewAttempt | PendingAttempt,
) -> Attempt:
    """Store the decision; raises AlreadyDecided when another submit decided the attempt first."""
    now = utcnow()
    stored: list[Blob] = []
    uploads = target.uploads if isinstance(target, PendingAttempt) else {}
    keys = None
    if isinstance(target, NewAttempt):
        keys = new_attempt_keys(runtime.crypto)  # made now: the images are stored before the attempt
        media = keys.media
    else:
        media = media_cipher(runtime.crypto, target.attempt)

    def put(image: np.ndarray, kind: str) -> str:
        blob = store_blob(
            runtime,
            reencode_jpeg(image),
            tenant_id=scene.tenant_id,
            attempt_id=None,
            kind=kind,
            content_type=JPEG,
            cipher=media,
        )
        stored.append(blob)
        return blob.id

    try:
        material = dict(outcome.material)
        if outcome.face_image is not None:
            material["FaceImageBlob"] = put(face_crop(outcome.face_image, outcome.face), "face")
            material["FaceGlobalBlob"] = put(outcome.face_image, "face_global")
        if "video" in uploads:
            material["VideoBlobs"] = [uploads["video"].blob_id]
        card = dict(material.get("IdCardInfo", {}))
        for kind, key, image in (
            ("id_front", "FrontImageBlob", inputs.front),
            ("id_back", "BackImageBlob", inputs.back),
        ):
            if kind in uploads:
                card[key] = uploads[kind].blob_id
            elif image is not None:
                card[key] = put(image.bgr, kind)
        if card:
            material["IdCardInfo"] = card
        with runtime.sessions() as session, session.begin():
            if isinstance(target, NewAttempt):
                attempt = start_attempt(
                    session,
                    runtime.crypto,
                    scene,
                    target.biz_id,
                    ttl=timedelta(0),
                    name=inputs.name,
                    id_number=inputs.id_number,
                    inputs=target.inputs,
                    now=now,
                    keys=keys,
                )
                attempt.scheme = target.scheme
            else:
                locked = lock_pending_attempt(session, target.attempt.id)
                if locked is None:
                    raise AlreadyDecided("this attempt has already been decided")
                attempt = locked
                adopt_uploads(session, attempt.id, attempt.tenant_id, list(uploads.values()))
                if outcome.content_tokens:  # the capture's content print, for later replays to meet
                    add_prints(session, attempt.id, attempt.tenant_id, outcome.content_tokens, now)
                if inputs.scheme.identity_from_user:
                    set_attempt_identity(runtime.crypto, attempt, outcome.name, outcome.id_number)
            set_verdict(
                session,
                runtime.crypto,
                attempt,
                status=outcome.visible_status,
                scores={
                    "authority": outcome.authority_score,
                    "idcard": outcome.idcard_face_score,
                    "retained": outcome.face_score,
                },
                evidence=_evidence(runtime, scene, outcome, target),
                material=material,
                now=now,
                result_token=target.result_token if isinstance(target, PendingAttempt) else None,
            )
            attempt.machine_status = outcome.status
            attempt.decision_ms = outcome.decision_ms
            if outcome.held:  # the callback fires when a reviewer decides (services/review.py)
                attempt.review_state = HELD
            for blob in stored:
                blob.attempt_id = attempt.id
                session.add(blob)
            if not outcome.held:
                enqueue_callback(session, scene, attempt, style=callback_style(runtime, attempt))
        observe_verdict(outcome.status, inputs.scheme.name, outcome.timings_ms)  # committed; never raises
        return attempt
    except BaseException:
        for blob in stored:
            runtime.blobs.delete(blob.id)
        raise
