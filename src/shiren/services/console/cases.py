"""One case as the console shows it: the verdict and every check against its threshold, the liveness
timeline, the card reading, the authority, models and timings, the device details, the callbacks and the
people's decisions; and its images, read through the console session.

What a viewer sees follows their role (``domain.roles``): names, numbers and device details in clear only
with PERSONAL_DATA, images only with IMAGES. Every view that shows personal data or an image is written to
the audit trail with who, when and from where; another tenant's case is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiren.authority.registry import INDEX_SCOPE
from shiren.domain.decision import STATUS_MESSAGES, thresholds_for
from shiren.domain.faceverify import sub_code
from shiren.domain.masking import mask_id_number, mask_name, mask_text
from shiren.domain.metainfo import parse_meta_info
from shiren.domain.review import HELD
from shiren.domain.roles import Actor, Permission
from shiren.runtime import Runtime
from shiren.services.errors import Conflict, NotFound
from shiren.services.review import DecisionRecord, decisions_of
from shiren.storage.blobs import BlobNotFound
from shiren.storage.models import (
    Attempt,
    Blob,
    CallbackDelivery,
    CallbackOutbox,
    Scene,
    Task,
    Tenant,
    utcnow,
)
from shiren.storage.repo import audit
from shiren.storage.repo.registry import identity_by_index
from shiren.storage.repo.tasks import (
    DataErased,
    attempt_identity,
    attempt_inputs,
    attempt_material,
    media_cipher,
)

# The inputs shown as device details (the rest are URLs and settings of the request).
DEVICE_INPUTS = ("UserId", "UserIp", "UserPhoneNumber", "UserRegistTime", "Model", "ProductCode")
# Image kinds, in the order a reviewer reads them.
IMAGE_KINDS = ("face", "face_global", "id_front", "id_back", "video", "reference")


@dataclass(frozen=True)
class CaseImage:
    blob_id: str
    kind: str
    content_type: str


@dataclass(frozen=True)
class Delivery:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True)
class CallbackView:
    id: int
    host: str  # the URL's host only: its query may carry the integrator's tokens
    style: str
    state: str
    tries: int
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    deliveries: list[Delivery]


@dataclass
class CaseView:
    token: str
    tenant_id: int
    tenant: str
    biz_id: str
    biz_type: str
    scene_name: str
    scene_pk: int
    family: str
    liveness_model: str | None
    state: str
    status: int
    status_text: str
    machine_status: int | None
    sub_code: str | None
    review_state: str | None
    held_reasons: list[str]
    created_at: datetime
    decided_at: datetime | None
    name: str
    id_number: str
    personal_shown: bool
    erased: bool
    media_erased: bool
    checks: list[dict[str, Any]]
    thresholds: dict[str, float]
    liveness: dict[str, Any] | None
    challenge: dict[str, Any] | None
    models: dict[str, Any]
    timings_ms: dict[str, float]
    decision_ms: float | None
    card: dict[str, Any]
    quality: dict[str, Any]
    device: dict[str, str]
    meta_info: dict[str, str]
    images: list[CaseImage] = field(default_factory=list)
    callbacks: list[CallbackView] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)


def _own(session: Session, actor: Actor, token: str) -> tuple[Attempt, Task, Scene, Tenant]:
    attempt = session.scalar(select(Attempt).where(Attempt.verify_token == token)) if token else None
    if attempt is None or not actor.sees_tenant(attempt.tenant_id):
        raise NotFound("no such case")
    task = session.get(Task, attempt.task_id)
    scene = session.get(Scene, task.scene_id) if task is not None else None
    tenant = session.get(Tenant, attempt.tenant_id)
    if task is None or scene is None or tenant is None or scene.tenant_id != attempt.tenant_id:
        raise NotFound("no such case")
    return attempt, task, scene, tenant


def _callbacks(session: Session, attempt_id: int) -> list[CallbackView]:
    rows = list(
        session.scalars(
            select(CallbackOutbox).where(CallbackOutbox.attempt_id == attempt_id).order_by(CallbackOutbox.id)
        )
    )
    out = []
    for row in rows[:20]:
        tries = session.scalars(
            select(CallbackDelivery)
            .where(CallbackDelivery.outbox_id == row.id)
            .order_by(CallbackDelivery.id.desc())
            .limit(20)
        )
        deliveries = [Delivery(d.at, d.status_code, d.error, d.duration_ms) for d in tries]
        out.append(
            CallbackView(
                row.id,
                urlsplit(row.url).netloc,
                row.style,
                row.state,
                row.tries,
                row.created_at,
                row.delivered_at,
                row.last_error,
                deliveries,
            )
        )
    return out


def _device(inputs: dict[str, Any], clear: bool) -> tuple[dict[str, str], dict[str, str]]:
    device = {k: str(inputs[k]) for k in DEVICE_INPUTS if inputs.get(k) not in (None, "")}
    meta: dict[str, str] = {}
    raw = inputs.get("MetaInfo")  # stored as checked at InitFaceVerify (MetaInfo.as_evidence)
    if isinstance(raw, dict):
        meta = {str(k): str(v) for k, v in raw.items()}
    elif isinstance(raw, str) and raw:
        try:
            parsed = parse_meta_info(raw)
        except ValueError:
            parsed = None
        meta = {str(k): str(v) for k, v in parsed.as_evidence().items()} if parsed else {}
    if not clear:
        device = {k: mask_text(v) for k, v in device.items()}
        meta = {k: mask_text(v) for k, v in meta.items()}
    return device, meta


def _images(session: Session, attempt: Attempt) -> list[CaseImage]:
    blobs = list(session.scalars(select(Blob).where(Blob.attempt_id == attempt.id)))
    order = {kind: i for i, kind in enumerate(IMAGE_KINDS)}
    blobs.sort(key=lambda b: (order.get(b.kind, 99), b.created_at))
    return [CaseImage(b.id, b.kind, b.content_type) for b in blobs]


def _reference_blob(runtime: Runtime, session: Session, attempt: Attempt, scene: Scene) -> str | None:
    """The registry photo the live face was compared with (check 7), for a reviewer to compare too: its
    blob id (a JPEG sealed with the system key; the roster keeps no blob row for it)."""
    if scene.authority != "registry":
        return None
    try:
        _name, number = attempt_identity(runtime.crypto, attempt)
    except DataErased:
        return None
    if not number:
        return None
    row = identity_by_index(session, attempt.tenant_id, runtime.crypto.blind_index(number, INDEX_SCOPE))
    return row.photo_blob_id if row is not None else None


def view_case(runtime: Runtime, actor: Actor, token: str) -> CaseView:
    """The case of ``token`` (VerifyToken or CertifyId) for this actor; the view is audited."""
    actor.require(Permission.RECORDS)
    clear = actor.can(Permission.PERSONAL_DATA)
    with runtime.sessions() as session, session.begin():
        attempt, task, scene, tenant = _own(session, actor, token.strip().lower())
        erased = attempt.state == "erased" or attempt.erased_at is not None
        media_erased = erased or attempt.media_erased_at is not None
        try:
            name, number = attempt_identity(runtime.crypto, attempt)
            inputs = attempt_inputs(runtime.crypto, attempt)
            material = attempt_material(runtime.crypto, attempt)
        except DataErased:
            name, number, inputs, material = None, None, {}, {}
        evidence = attempt.evidence or {}
        checks = list(evidence.get("checks", []))
        status = int(attempt.verify_status)
        code = None
        if attempt.scheme and attempt.state == "decided" and attempt.review_state != HELD:
            try:
                code = sub_code(status, checks)
            except ValueError:
                code = None
        device, meta = _device(inputs, clear)
        card = dict(material.get("IdCardInfo") or {})
        for key in ("FrontImageBlob", "BackImageBlob"):
            card.pop(key, None)
        if not clear:
            card = {k: mask_text(v) if isinstance(v, str) else v for k, v in card.items()}
        held = attempt.review_state == HELD
        view = CaseView(
            token=attempt.verify_token,
            tenant_id=attempt.tenant_id,
            tenant=tenant.name,
            biz_id=task.biz_id,
            biz_type=scene.biz_type,
            scene_name=scene.name,
            scene_pk=scene.id,
            family=attempt.scheme or "RP",
            liveness_model=attempt.liveness_model,
            state=attempt.state,
            status=status,
            status_text="held for review" if held else STATUS_MESSAGES.get(status, ""),
            machine_status=attempt.machine_status,
            sub_code=code,
            review_state=attempt.review_state,
            held_reasons=list((evidence.get("review") or {}).get("held", [])),
            created_at=attempt.created_at,
            decided_at=attempt.decided_at,
            name=(name or "") if clear else mask_name(name),
            id_number=(number or "") if clear else mask_id_number(number),
            personal_shown=clear and not erased,
            erased=erased,
            media_erased=media_erased,
            checks=checks,
            thresholds=dict(evidence.get("thresholds") or thresholds_for(scene.thresholds)),
            liveness=evidence.get("liveness"),
            challenge=evidence.get("challenge"),
            models=dict(evidence.get("models") or {}),
            timings_ms=dict(evidence.get("timings_ms") or {}),
            decision_ms=attempt.decision_ms,
            card=card,
            quality={k: material[k] for k in ("FaceQuality", "FaceMask") if k in material},
            device=device,
            meta_info=meta,
            images=[],
            callbacks=_callbacks(session, attempt.id),
        )
        if actor.can(Permission.IMAGES) and not media_erased:
            view.images = _images(session, attempt)
            reference = _reference_blob(runtime, session, attempt, scene)
            if reference is not None:
                view.images.append(CaseImage(reference, "reference", "image/jpeg"))
        audit.record(
            session,
            "case.view",
            attempt.verify_token,
            tenant_id=attempt.tenant_id,
            remote=actor.remote,
            actor=actor.label,
            detail={"personal_data": view.personal_shown},
        )
    view.decisions = decisions_of(runtime, attempt, with_comments=clear)
    return view


@dataclass(frozen=True)
class CaseMedia:
    data: bytes
    content_type: str
    kind: str


def read_case_media(runtime: Runtime, actor: Actor, token: str, blob_id: str) -> CaseMedia:
    """One image or video of a case, decrypted for this actor (audited); NotFound for anything else."""
    actor.require(Permission.IMAGES)
    with runtime.sessions() as session, session.begin():
        attempt, _task, scene, _tenant = _own(session, actor, token.strip().lower())
        blob = session.get(Blob, blob_id)
        reference = blob is None and blob_id == _reference_blob(runtime, session, attempt, scene)
        if not reference and (
            blob is None or blob.attempt_id != attempt.id or blob.tenant_id != attempt.tenant_id
        ):
            raise NotFound("no such image")
        if reference and attempt.media_erased_at is not None:
            raise NotFound("this image was erased")
        kind, content_type = ("reference", "image/jpeg") if blob is None else (blob.kind, blob.content_type)
        try:  # the registry photo is sealed with the system key, the case's own images with its media key
            data = runtime.blobs.get(blob_id, None if reference else media_cipher(runtime.crypto, attempt))
        except (DataErased, BlobNotFound):
            raise NotFound("this image was erased") from None
        audit.record(
            session,
            "case.media",
            blob_id,
            tenant_id=attempt.tenant_id,
            remote=actor.remote,
            actor=actor.label,
            detail={"kind": kind, "case": attempt.verify_token},
        )
        return CaseMedia(data, content_type, kind)


def resend_callback(runtime: Runtime, actor: Actor, token: str, outbox_id: int) -> None:
    """Queue a case's callback again (the same webhook id, so a receiver that has it can drop it)."""
    actor.require(Permission.RESEND)
    with runtime.sessions() as session, session.begin():
        attempt, _task, _scene, _tenant = _own(session, actor, token.strip().lower())
        row = session.get(CallbackOutbox, outbox_id, with_for_update=True)
        if row is None or row.attempt_id != attempt.id:
            raise NotFound("no such callback")
        if attempt.state == "erased":
            raise Conflict("this case was erased: its callback can no longer be signed")
        if row.state == "pending":
            raise Conflict("this callback is waiting to be sent already")
        row.state, row.tries, row.next_at, row.lease_until = "pending", 0, utcnow(), None
        audit.record(
            session,
            "callback.resend",
            str(row.id),
            tenant_id=attempt.tenant_id,
            remote=actor.remote,
            actor=actor.label,
            detail={"case": attempt.verify_token},
        )
