"""The device side of an attempt (SDKs and the hosted H5 page): session, consent, challenge, uploads, live
guidance and card reading. The VerifyToken is the only credential and scopes every call to one attempt.

Submitting and deciding live in ``device_submit``; this module only prepares what a decision needs. Every
refusal is a typed error of ``services.errors``; the device API maps them to its wire shape."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import cv2
from sqlalchemy.orm import Session

from shiren.domain.challenge import ChallengePlan, draw_challenge
from shiren.domain.consent import CONSENT_VERSION, LOCALES, consent_text_hash, consent_texts_for
from shiren.domain.faceverify import model_challenge
from shiren.domain.limits import MAX_CHALLENGES_PER_BIZID, MAX_CHALLENGES_PER_IDENTITY, WINDOW
from shiren.domain.schemes import Scheme, get_scheme, step_list
from shiren.engine import idcard
from shiren.engine.face.quality import blur_measure
from shiren.engine.liveness import sniff_video_type
from shiren.intake import ImageLimits, ImageRejected, decode_image, decode_untrusted
from shiren.intake.images import sniff_format
from shiren.runtime import Runtime
from shiren.services.card_reading import front_from_record, front_to_record
from shiren.services.errors import (
    AlreadyDecided,
    ChallengeLimit,
    ChallengeRefused,
    ConsentRequired,
    Invalid,
    Missing,
    NotApplicable,
    TooLarge,
    Unauthenticated,
    Unsupported,
    UploadMissing,
)
from shiren.storage.models import Attempt, Challenge, Consent, Scene, Upload, utcnow
from shiren.storage.repo import device as repo
from shiren.storage.repo.tasks import media_cipher, record_cipher

UPLOAD_KINDS = ("video", "id_front", "id_back")
FROZEN = "this attempt has been submitted; its capture can no longer change"
MAX_GUIDE_BYTES = 200 * 1024
MAX_GUIDE_SIDE = 1280


@dataclass
class DeviceContext:
    """The attempt a VerifyToken opens, with its scene (loaded together, checked together)."""

    attempt: Attempt
    scene: Scene
    scheme: Scheme
    biz_id: str

    @property
    def decided(self) -> bool:
        return self.attempt.state == "decided"

    def pending(self) -> DeviceContext:
        """Self, or AlreadyDecided: a submitted attempt's inputs are frozen."""
        if self.attempt.state != "pending":
            raise AlreadyDecided("this attempt has already been decided")
        return self


def open_attempt(runtime: Runtime, token: str | None) -> DeviceContext:
    """The attempt of a VerifyToken. Tokens are 32 hex; anything else is refused before the database.
    A decided attempt still opens (its stored answer can be read), whatever its expiry."""
    if not token or len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        raise Unauthenticated("a valid VerifyToken is required (Authorization: Bearer …)")
    with runtime.sessions() as session:
        found = repo.attempt_with_scene(session, token)
        session.expunge_all()
    if found is None:
        raise Unauthenticated("unknown VerifyToken")
    attempt, task, scene = found
    scheme = get_scheme(attempt.scheme or scene.scheme)  # a face-verify attempt has its product's
    if not scheme.live:
        raise Unauthenticated("this token is not for a device")
    ctx = DeviceContext(attempt, scene, scheme, task.biz_id)
    if attempt.state == "erased":
        raise Unauthenticated(
            "this verification was erased; the integrator must issue a new one", expired=True
        )
    if ctx.decided:
        return ctx
    ctx.pending()
    if attempt.expires_at < utcnow():
        raise Unauthenticated(
            "the VerifyToken has expired; the integrator must issue a new one", expired=True
        )
    if not scene.enabled:
        raise Unauthenticated("the scene of this token is disabled")
    return ctx


def require_consent(runtime: Runtime, ctx: DeviceContext) -> None:
    with runtime.sessions() as session:
        if repo.consent_of(session, ctx.attempt.id) is None:
            raise ConsentRequired("the user's consent must be recorded before any capture")


@dataclass(frozen=True)
class SessionState:
    """What the device needs to know about its attempt (GET session)."""

    scheme: Scheme
    biz_type: str
    steps: list[str]
    state: str
    expires_at: datetime
    consent_given: bool
    uploads: list[str]
    challenges_left: int
    max_video_bytes: int
    max_image_bytes: int
    consent_version: str = CONSENT_VERSION

    @property
    def consent_text(self) -> dict[str, str]:
        """The consent text of this attempt's scheme, per locale: it names only what the scheme uses."""
        return dict(consent_texts_for(self.scheme))


def session_state(runtime: Runtime, ctx: DeviceContext) -> SessionState:
    settings = runtime.settings
    with runtime.sessions() as session:
        challenges = repo.challenge_count(session, ctx.attempt.id)
        uploads = repo.upload_kinds(session, ctx.attempt.id)
        consent = repo.consent_of(session, ctx.attempt.id)
    return SessionState(
        scheme=ctx.scheme,
        biz_type=ctx.scene.biz_type,
        steps=step_list(ctx.scheme, **ctx.scene.steps),
        state=ctx.attempt.state,
        expires_at=ctx.attempt.expires_at,
        consent_given=consent is not None,
        uploads=uploads,
        challenges_left=max(0, settings.max_challenges_per_attempt - challenges),
        max_video_bytes=settings.max_video_bytes,
        max_image_bytes=settings.max_image_bytes,
    )


def record_consent(runtime: Runtime, ctx: DeviceContext, version: str, locale: str) -> datetime:
    """Record the separate consent to biometric processing (once); returns when it was given."""
    if version != CONSENT_VERSION:
        raise Invalid("version", f"the current consent text is {CONSENT_VERSION}")
    if locale not in LOCALES:
        raise Invalid("locale", f"one of {', '.join(LOCALES)}")
    with runtime.sessions() as session, session.begin():
        existing = repo.consent_of(session, ctx.attempt.id)
        if existing is None:
            existing = Consent(
                attempt_id=ctx.attempt.id,
                tenant_id=ctx.attempt.tenant_id,
                version=version,
                text_sha256=consent_text_hash(ctx.scheme, locale),  # the text GET session showed
                locale=locale,
                accepted_at=utcnow(),
            )
            session.add(existing)
            session.flush()
        return existing.accepted_at


def _draw(ctx: DeviceContext) -> ChallengePlan:
    """The scene's challenge, or the one its liveness Model asks for (a face-verify attempt)."""
    model = ctx.attempt.liveness_model
    if model is None:
        return draw_challenge(ctx.scene.liveness, flash=ctx.scheme.flash)
    timed = bool((ctx.scene.liveness or {}).get("timed", True))
    spec = model_challenge(model, timed=timed)
    return draw_challenge(spec.settings, flash=spec.flash)


def issue_challenge(runtime: Runtime, ctx: DeviceContext) -> tuple[Challenge, ChallengePlan]:
    """A new random challenge; it supersedes any earlier one of the attempt."""
    require_consent(runtime, ctx)
    settings = runtime.settings
    plan = _draw(ctx)
    now = utcnow()
    with runtime.sessions() as session, session.begin():
        if not repo.hold_inputs_open(session, ctx.attempt.id, now):
            raise AlreadyDecided(FROZEN)
        if repo.challenge_count(session, ctx.attempt.id) >= settings.max_challenges_per_attempt:
            raise ChallengeLimit("too many challenges for this attempt; start a new one")
        by_biz, by_identity = repo.recent_challenges(session, ctx.attempt, ctx.scene.id, now - WINDOW)
        if by_biz >= MAX_CHALLENGES_PER_BIZID or by_identity >= MAX_CHALLENGES_PER_IDENTITY:
            hours = int(WINDOW.total_seconds() // 3600)
            raise ChallengeLimit(
                f"too many challenges for this BizId or identity in {hours} hours; try later"
            )
        challenge = Challenge(
            id=secrets.token_hex(16),
            attempt_id=ctx.attempt.id,
            tenant_id=ctx.attempt.tenant_id,
            actions=plan.actions,
            flash=plan.flash,
            capture_ms=plan.capture_ms,
            prompt_ms=plan.prompt_ms,
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.challenge_ttl_s),
        )
        session.add(challenge)
    return challenge, plan


def current_challenge(runtime: Runtime, ctx: DeviceContext, challenge_id: str | None) -> Challenge:
    """The attempt's latest challenge if it is the one named, unused and unexpired."""
    if not challenge_id:
        raise Missing("challengeId")
    with runtime.sessions() as session:
        latest = repo.latest_challenge(session, ctx.attempt.id)
        session.expunge_all()
    if latest is None or latest.id != challenge_id:
        raise ChallengeRefused("unknown or superseded challenge")
    if latest.used_at is not None:
        raise ChallengeRefused("this challenge has already been used")
    if latest.expires_at < utcnow():
        raise ChallengeRefused("this challenge has expired; ask for a new one")
    return latest


def _check_upload(runtime: Runtime, ctx: DeviceContext, kind: str, data: bytes) -> str:
    """Size and type checks; returns the content type found in the bytes (the declared one is not trusted)."""
    settings = runtime.settings
    if kind == "video":
        if len(data) > settings.max_video_bytes:
            raise TooLarge(f"video over {settings.max_video_bytes} bytes", settings.max_video_bytes)
        content_type = sniff_video_type(data)
        if content_type is None:
            raise Unsupported("video must be WebM, MP4, QuickTime or AVI")
        return content_type
    if not ctx.scheme.captures_card:
        raise NotApplicable(f"{ctx.scheme.name} does not take ID card photos")
    if len(data) > settings.max_image_bytes:
        raise TooLarge(f"image over {settings.max_image_bytes} bytes", settings.max_image_bytes)
    fmt = sniff_format(data)
    if fmt is None:
        raise Unsupported(f"{kind} must be a JPEG, PNG or WebP image")
    decode_image(data, kind, settings)  # ImageRejected (an IntakeError) when the image is unusable
    return {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(fmt, "image/jpeg")


@dataclass(frozen=True)
class UploadReceipt:
    kind: str
    sha256: str
    size: int


def store_upload(
    runtime: Runtime, ctx: DeviceContext, kind: str, data: bytes, challenge_id: str | None
) -> UploadReceipt:
    """Store one upload, encrypted. The same bytes again are a retry and change nothing."""
    if kind not in UPLOAD_KINDS:
        raise Invalid("kind", f"must be one of {', '.join(UPLOAD_KINDS)}")
    require_consent(runtime, ctx)
    if kind == "video":
        current_challenge(runtime, ctx, challenge_id)
    content_type = _check_upload(runtime, ctx, kind, data)
    digest = hashlib.sha256(data).hexdigest()
    fingerprint = runtime.crypto.blind_index(digest, "capture")
    receipt = UploadReceipt(kind, digest, len(data))
    bound_to = challenge_id if kind == "video" else None
    with runtime.sessions() as session:
        existing = repo.upload_of(session, ctx.attempt.id, kind)
    if existing is not None and existing.fingerprint == fingerprint:
        if existing.challenge_id != bound_to:
            # A retry after a failed decision re-sends the same video for a new challenge: it now answers
            # that challenge (and is judged like any capture uploaded at this moment).
            with runtime.sessions() as session, session.begin():
                _hold_open(session, ctx)
                repo.rebind_upload(session, existing.id, bound_to, utcnow())
        return receipt
    blob_id = runtime.blobs.put(data, media_cipher(runtime.crypto, ctx.attempt))
    try:
        with runtime.sessions() as session, session.begin():
            _hold_open(session, ctx)
            orphaned = repo.replace_upload(
                session,
                Upload(
                    attempt_id=ctx.attempt.id,
                    tenant_id=ctx.attempt.tenant_id,
                    kind=kind,
                    blob_id=blob_id,
                    fingerprint=fingerprint,
                    content_type=content_type,
                    size=len(data),
                    challenge_id=bound_to,
                    created_at=utcnow(),
                ),
            )
    except BaseException:
        runtime.blobs.delete(blob_id)
        raise
    for old in orphaned:
        runtime.blobs.delete(old)
    return receipt


def _hold_open(session: Session, ctx: DeviceContext) -> None:
    """Refuse to change inputs that a submit has frozen (the row stays taken until the commit)."""
    if not repo.hold_inputs_open(session, ctx.attempt.id, utcnow()):
        raise AlreadyDecided(FROZEN)


def uploads_of(runtime: Runtime, attempt_id: int) -> dict[str, Upload]:
    with runtime.sessions() as session:
        rows = repo.uploads_of(session, attempt_id)
        session.expunge_all()
    return rows


@dataclass(frozen=True)
class GuideHint:
    """A live hint for a preview frame, and where the face is (fractions of the frame) when there is one."""

    hint: str
    face: tuple[float, float, float, float] | None = None  # x, y, w, h


def guide_hint(runtime: Runtime, ctx: DeviceContext, data: bytes) -> GuideHint:
    """A live hint for one preview frame. The frame is analysed in memory and never stored.

    The frame goes through the intake's one decoder with the guide's own budget (JPEG only, at most
    MAX_GUIDE_BYTES and MAX_GUIDE_SIDE px per side, checked from the header before decoding: 16 MB of
    memory at most). Size and type keep their own errors (413, 415); anything else wrong with the frame
    (too many pixels, truncated, corrupt) is an ImageRejected naming ``frame`` (400 InvalidParameter)."""
    require_consent(runtime, ctx)
    if len(data) > MAX_GUIDE_BYTES:
        raise TooLarge(f"preview frames must be under {MAX_GUIDE_BYTES} bytes", MAX_GUIDE_BYTES)
    if sniff_format(data) != "jpeg":
        raise Unsupported(f"preview frames must be JPEG, at most {MAX_GUIDE_SIDE} px")
    limits = ImageLimits(MAX_GUIDE_BYTES, MAX_GUIDE_SIDE * MAX_GUIDE_SIDE, MAX_GUIDE_SIDE, ("jpeg",))
    image = decode_untrusted(data, "frame", limits).bgr
    h, w = image.shape[:2]
    faces = runtime.models.detector.detect(image)
    if not faces:
        mean = float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())
        return GuideHint("too_dark" if mean < 40 else "no_face")
    box = faces[0].box
    where = (round(box.x / w, 3), round(box.y / h, 3), round(box.w / w, 3), round(box.h / h, 3))
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
    return GuideHint(hint, where)


@dataclass(frozen=True)
class CardConfirmation:
    """The card front as read, for the user to confirm: ``unsure`` lists the fields ("name", "number")
    the OCR is not sure of."""

    found: bool
    name: str = ""
    number: str = ""
    unsure: tuple[str, ...] = ("name", "number")


def stored_front_reading(runtime: Runtime, ctx: DeviceContext, upload: Upload) -> idcard.CardFront | None:
    """The reading kept with a card-front upload by the confirm step, if any."""
    record = repo.upload_reading(record_cipher(runtime.crypto, ctx.attempt), upload)
    if record is None:
        return None
    media = media_cipher(runtime.crypto, ctx.attempt)
    portrait = runtime.blobs.get(upload.reading_blob_id, media) if upload.reading_blob_id else None
    return front_from_record(record, portrait)


def read_uploaded_card(runtime: Runtime, ctx: DeviceContext) -> CardConfirmation:
    """OCR of the uploaded card front, for the user to confirm (the confirm step). Read once per upload:
    the reading is kept with it, for later calls and for the decision."""
    if not ctx.scheme.confirm_step:
        raise NotApplicable(f"{ctx.scheme.name} does not ask the user to confirm the card")
    upload = uploads_of(runtime, ctx.attempt.id).get("id_front")
    if upload is None:
        raise UploadMissing("upload id_front first")
    front = stored_front_reading(runtime, ctx, upload)
    if front is None:
        media = media_cipher(runtime.crypto, ctx.attempt)
        try:
            image = decode_image(runtime.blobs.get(upload.blob_id, media), "id_front", runtime.settings)
        except ImageRejected as exc:
            raise Invalid("id_front", exc.reason) from None
        front = idcard.read_front(image.bgr, ocr=runtime.models.ocr)
        _keep_reading(runtime, ctx, upload, front)
    if not (front.found and front.genuine):
        return CardConfirmation(False)
    unsure = [f for f in front.low_confidence_fields() if f in ("name", "number")]
    if front.number and not front.number_valid and "number" not in unsure:
        unsure.append("number")
    return CardConfirmation(True, front.name, front.number, tuple(unsure))


def _keep_reading(runtime: Runtime, ctx: DeviceContext, upload: Upload, front: idcard.CardFront) -> None:
    record, portrait = front_to_record(front)
    media = media_cipher(runtime.crypto, ctx.attempt)
    portrait_blob = runtime.blobs.put(portrait, media) if portrait is not None else None
    with runtime.sessions() as session, session.begin():
        cipher = record_cipher(runtime.crypto, ctx.attempt)
        kept = repo.set_upload_reading(session, cipher, upload.id, record, portrait_blob)
    if not kept and portrait_blob:
        runtime.blobs.delete(portrait_blob)
