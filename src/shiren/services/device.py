"""The device side of an attempt (SDKs and the hosted H5 page): session, consent, challenge, uploads, live
guidance and card reading. The VerifyToken is the only credential and scopes every call to one attempt.

Submitting and deciding live in ``device_verify``; this module only prepares what a decision needs."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import cv2
import numpy as np
from sqlalchemy import delete, func, select, update

from shiren.domain.challenge import draw_challenge
from shiren.domain.consent import CONSENT_TEXT, CONSENT_VERSION, consent_text_hash
from shiren.domain.schemes import Scheme, get_scheme, step_list
from shiren.engine import idcard
from shiren.engine.face.quality import blur_measure
from shiren.engine.face.registry import get_detector
from shiren.engine.liveness import sniff_video_type
from shiren.intake import ImageRejected, decode_image
from shiren.intake.images import sniff_format
from shiren.runtime import Runtime
from shiren.storage.models import Attempt, Challenge, Consent, Scene, Task, Upload, utcnow
from shiren.storage.repo.tasks import attempt_by_token

UPLOAD_KINDS = ("video", "id_front", "id_back")
MAX_GUIDE_BYTES = 200 * 1024


class DeviceError(Exception):
    """A refused device call: HTTP status, a stable code and a message for the user's developer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class DeviceContext:
    """The attempt a VerifyToken opens, with its scene (loaded together, checked together)."""

    attempt: Attempt
    scene: Scene
    scheme: Scheme
    biz_id: str


def _ms(dt: Any) -> int:
    return int(dt.timestamp() * 1000)


def open_attempt(runtime: Runtime, token: str | None) -> DeviceContext:
    """The attempt of a VerifyToken, or 401. Tokens are 32 hex; anything else is refused before the DB.
    A decided attempt still opens (its stored answer can be read), whatever its expiry."""
    if not token or len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        raise DeviceError(401, "TokenInvalid", "a valid VerifyToken is required (Authorization: Bearer …)")
    with runtime.sessions() as session:
        attempt = attempt_by_token(session, token)
        if attempt is None:
            raise DeviceError(401, "TokenInvalid", "unknown VerifyToken")
        task = session.get(Task, attempt.task_id)
        scene = session.get(Scene, task.scene_id) if task is not None else None
        if scene is None or task is None or scene.tenant_id != attempt.tenant_id:
            raise DeviceError(401, "TokenInvalid", "unknown VerifyToken")
        session.expunge_all()
    scheme = get_scheme(scene.scheme)
    if scheme.mode.value == "server":
        raise DeviceError(401, "TokenInvalid", "this token is not for a device")
    if attempt.state == "decided":
        return DeviceContext(attempt, scene, scheme, task.biz_id)
    if attempt.state != "pending":
        raise DeviceError(409, "AlreadySubmitted", "this attempt has already been decided")
    if attempt.expires_at < utcnow():
        raise DeviceError(
            401, "TokenExpired", "the VerifyToken has expired; the integrator must issue a new one"
        )
    if not scene.enabled:
        raise DeviceError(401, "TokenInvalid", "the scene of this token is disabled")
    return DeviceContext(attempt, scene, scheme, task.biz_id)


def _consent_given(runtime: Runtime, attempt_id: int) -> bool:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).where(Consent.attempt_id == attempt_id)) > 0


def require_consent(runtime: Runtime, ctx: DeviceContext) -> None:
    if not _consent_given(runtime, ctx.attempt.id):
        raise DeviceError(409, "ConsentRequired", "the user's consent must be recorded before any capture")


def session_view(runtime: Runtime, ctx: DeviceContext, answer: dict[str, Any] | None) -> dict[str, Any]:
    settings = runtime.settings
    with runtime.sessions() as session:
        challenges = session.scalar(select(func.count()).where(Challenge.attempt_id == ctx.attempt.id)) or 0
        uploads = list(session.scalars(select(Upload.kind).where(Upload.attempt_id == ctx.attempt.id)))
        consents = session.scalar(select(func.count()).where(Consent.attempt_id == ctx.attempt.id)) or 0
    scheme = ctx.scheme
    return {
        "scheme": scheme.name,
        "bizType": ctx.scene.biz_type,
        "steps": step_list(scheme, **ctx.scene.steps),
        "state": ctx.attempt.state,
        "expiresAt": _ms(ctx.attempt.expires_at),
        "consent": {
            "version": CONSENT_VERSION,
            "given": consents > 0,
            "text": dict(CONSENT_TEXT),
        },
        "needs": {
            "idCard": scheme.captures_card,
            "manualInput": scheme.name == "RPManual",
            "confirm": scheme.name == "RPBasic",
            "flash": scheme.name == "RPBioOnlyPro",
        },
        "limits": {
            "maxVideoBytes": settings.max_video_bytes,
            "maxImageBytes": settings.max_image_bytes,
            "challengesLeft": max(0, settings.max_challenges_per_attempt - challenges),
        },
        "uploads": sorted(uploads),
        "result": answer,
    }


def record_consent(runtime: Runtime, ctx: DeviceContext, version: str, locale: str) -> dict[str, Any]:
    if version != CONSENT_VERSION:
        raise DeviceError(400, "InvalidParameter", f"version: the current consent text is {CONSENT_VERSION}")
    if locale not in CONSENT_TEXT:
        raise DeviceError(400, "InvalidParameter", f"locale: one of {', '.join(CONSENT_TEXT)}")
    with runtime.sessions() as session, session.begin():
        existing = session.scalar(select(Consent).where(Consent.attempt_id == ctx.attempt.id))
        if existing is None:
            existing = Consent(
                attempt_id=ctx.attempt.id,
                tenant_id=ctx.attempt.tenant_id,
                version=version,
                text_sha256=consent_text_hash(locale),
                locale=locale,
                accepted_at=utcnow(),
            )
            session.add(existing)
            session.flush()
        return {"accepted": True, "at": _ms(existing.accepted_at)}


def issue_challenge(runtime: Runtime, ctx: DeviceContext) -> dict[str, Any]:
    """A new random challenge; it supersedes any earlier one of the attempt."""
    require_consent(runtime, ctx)
    settings = runtime.settings
    plan = draw_challenge(ctx.scene.liveness, flash=ctx.scheme.name == "RPBioOnlyPro")
    now = utcnow()
    with runtime.sessions() as session, session.begin():
        issued = session.scalar(select(func.count()).where(Challenge.attempt_id == ctx.attempt.id)) or 0
        if issued >= settings.max_challenges_per_attempt:
            raise DeviceError(409, "ChallengeLimit", "too many challenges for this attempt; start a new one")
        challenge = Challenge(
            id=secrets.token_hex(16),
            attempt_id=ctx.attempt.id,
            tenant_id=ctx.attempt.tenant_id,
            actions=plan.actions,
            flash=plan.flash,
            capture_ms=plan.capture_ms,
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.challenge_ttl_s),
        )
        session.add(challenge)
    return {
        "challengeId": challenge.id,
        "actions": plan.actions,
        "captureMs": plan.capture_ms,
        "prompts": [{"action": p.action, "atMs": p.at_ms} for p in plan.prompts],
        "flash": plan.flash,
        "expiresAt": _ms(challenge.expires_at),
    }


def current_challenge(runtime: Runtime, ctx: DeviceContext, challenge_id: str | None) -> Challenge:
    """The attempt's latest challenge if it is the one named, unused and unexpired; otherwise 409."""
    if not challenge_id:
        raise DeviceError(400, "InvalidParameter", "challengeId is required")
    with runtime.sessions() as session:
        latest = session.scalar(
            select(Challenge)
            .where(Challenge.attempt_id == ctx.attempt.id)
            .order_by(Challenge.issued_at.desc(), Challenge.id)
            .limit(1)
        )
        session.expunge_all()
    if latest is None or latest.id != challenge_id:
        raise DeviceError(409, "ChallengeInvalid", "unknown or superseded challenge")
    if latest.used_at is not None:
        raise DeviceError(409, "ChallengeInvalid", "this challenge has already been used")
    if latest.expires_at < utcnow():
        raise DeviceError(409, "ChallengeInvalid", "this challenge has expired; ask for a new one")
    return latest


def claim_challenge(runtime: Runtime, challenge: Challenge) -> None:
    """Mark the challenge used, exactly once even with concurrent submits."""
    with runtime.sessions() as session, session.begin():
        result = session.execute(
            update(Challenge)
            .where(Challenge.id == challenge.id, Challenge.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if result.rowcount != 1:
            raise DeviceError(409, "ChallengeInvalid", "this challenge has already been used")


def _check_upload(runtime: Runtime, ctx: DeviceContext, kind: str, data: bytes) -> str:
    """Size and type checks; returns the content type found in the bytes (the declared one is not trusted)."""
    settings = runtime.settings
    if kind == "video":
        if len(data) > settings.max_video_bytes:
            raise DeviceError(413, "TooLarge", f"video over {settings.max_video_bytes} bytes")
        content_type = sniff_video_type(data)
        if content_type is None:
            raise DeviceError(415, "UnsupportedMediaType", "video must be WebM, MP4, QuickTime or AVI")
        return content_type
    if not ctx.scheme.captures_card:
        raise DeviceError(409, "NotApplicable", f"{ctx.scheme.name} does not take ID card photos")
    if len(data) > settings.max_image_bytes:
        raise DeviceError(413, "TooLarge", f"image over {settings.max_image_bytes} bytes")
    fmt = sniff_format(data)
    if fmt is None:
        raise DeviceError(415, "UnsupportedMediaType", f"{kind} must be a JPEG, PNG or WebP image")
    try:
        decode_image(data, kind, settings)
    except ImageRejected as exc:
        raise DeviceError(400, "InvalidParameter", exc.message) from None
    return {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(fmt, "image/jpeg")


def store_upload(
    runtime: Runtime, ctx: DeviceContext, kind: str, data: bytes, challenge_id: str | None
) -> dict[str, Any]:
    """Store one upload, encrypted. The same bytes again are a retry and change nothing."""
    if kind not in UPLOAD_KINDS:
        raise DeviceError(400, "InvalidParameter", f"kind must be one of {', '.join(UPLOAD_KINDS)}")
    require_consent(runtime, ctx)
    if kind == "video":
        current_challenge(runtime, ctx, challenge_id)
    content_type = _check_upload(runtime, ctx, kind, data)
    digest = hashlib.sha256(data).hexdigest()
    fingerprint = runtime.crypto.blind_index(digest, "capture")
    answer = {"kind": kind, "sha256": digest, "size": len(data)}
    with runtime.sessions() as session:
        existing = session.scalar(
            select(Upload).where(Upload.attempt_id == ctx.attempt.id, Upload.kind == kind)
        )
        if existing is not None and existing.fingerprint == fingerprint:
            return answer
    blob_id = runtime.blobs.put(data)
    replaced: str | None = None
    try:
        with runtime.sessions() as session, session.begin():
            old = session.scalar(
                select(Upload).where(Upload.attempt_id == ctx.attempt.id, Upload.kind == kind)
            )
            if old is not None:
                replaced = old.blob_id
                session.execute(delete(Upload).where(Upload.id == old.id))
                session.flush()
            session.add(
                Upload(
                    attempt_id=ctx.attempt.id,
                    tenant_id=ctx.attempt.tenant_id,
                    kind=kind,
                    blob_id=blob_id,
                    fingerprint=fingerprint,
                    content_type=content_type,
                    size=len(data),
                    challenge_id=challenge_id if kind == "video" else None,
                    created_at=utcnow(),
                )
            )
    except BaseException:
        runtime.blobs.delete(blob_id)
        raise
    if replaced:
        runtime.blobs.delete(replaced)
    return answer


def uploads_of(runtime: Runtime, attempt_id: int) -> dict[str, Upload]:
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Upload).where(Upload.attempt_id == attempt_id)))
        session.expunge_all()
    return {u.kind: u for u in rows}


def guide_hint(runtime: Runtime, ctx: DeviceContext, data: bytes) -> dict[str, Any]:
    """A live hint for one preview frame. The frame is analysed in memory and never stored."""
    require_consent(runtime, ctx)
    if len(data) > MAX_GUIDE_BYTES:
        raise DeviceError(413, "TooLarge", f"preview frames must be under {MAX_GUIDE_BYTES} bytes")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data[:2] == b"\xff\xd8" else None
    if image is None or max(image.shape[:2]) > 1280:
        raise DeviceError(415, "UnsupportedMediaType", "preview frames must be JPEG, at most 1280 px")
    h, w = image.shape[:2]
    faces = get_detector().detect(image)
    if not faces:
        mean = float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())
        return {"hint": "too_dark" if mean < 40 else "no_face", "face": None}
    box = faces[0].box
    face = {
        "x": round(box.x / w, 3),
        "y": round(box.y / h, 3),
        "w": round(box.w / w, 3),
        "h": round(box.h / h, 3),
    }
    x0, y0 = max(0, int(box.x)), max(0, int(box.y))
    x1, y1 = min(w, int(box.x + box.w)), min(h, int(box.y + box.h))
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY) if x1 > x0 + 8 and y1 > y0 + 8 else None
    cx, cy = (box.x + box.w / 2) / w, (box.y + box.h / 2) / h
    if len(faces) > 1 and faces[1].box.area > 0.3 * box.area:
        hint = "multiple_faces"
    elif box.w / w < 0.22:
        hint = "too_far"
    elif box.w / w > 0.75:
        hint = "too_close"
    elif abs(cx - 0.5) > 0.2 or abs(cy - 0.5) > 0.25:
        hint = "off_center"
    elif grey is not None and grey.mean() < 60:
        hint = "too_dark"
    elif grey is not None and grey.mean() > 220:
        hint = "too_bright"
    elif grey is not None and blur_measure(grey) < 6:
        hint = "blurry"
    else:
        hint = "ok"
    return {"hint": hint, "face": face}


def read_uploaded_card(runtime: Runtime, ctx: DeviceContext) -> dict[str, Any]:
    """OCR of the uploaded card front, for the user to confirm (RPBasic)."""
    if ctx.scheme.name != "RPBasic":
        raise DeviceError(409, "NotApplicable", "only RPBasic asks the user to confirm the card")
    upload = uploads_of(runtime, ctx.attempt.id).get("id_front")
    if upload is None:
        raise DeviceError(409, "UploadMissing", "upload id_front first")
    image = decode_image(runtime.blobs.get(upload.blob_id), "id_front", runtime.settings)
    front = idcard.read_front(image.bgr)
    if not (front.found and front.genuine):
        return {"found": False, "name": "", "idNumber": "", "lowConfidence": ["name", "idNumber"]}
    low = {"name": "name", "number": "idNumber"}
    unsure = [low[f] for f in front.low_confidence_fields() if f in low]
    if front.number and not front.number_valid and "idNumber" not in unsure:
        unsure.append("idNumber")
    return {"found": True, "name": front.name, "idNumber": front.number, "lowConfidence": unsure}
