"""InitFaceVerify: start a face-verify verification (ID_PRO, PV_FV, LR_FR) that the user completes on a
device, through the same device protocol and hosted page as a VerifyToken; its CertifyId is that token.

Everything the request can be refused for is checked here, before anything is stored; the reference
photo of PV_FV is fetched, checked for a face and stored encrypted with the verification's own media key.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from shiren.domain.faceverify import CERTIFY_TTL_S, DEVICE_PRODUCTS, IDENTITY_PRODUCTS, MIN_AGE, MODELS
from shiren.domain.idnumber import InvalidIdNumber, parse_id_number
from shiren.domain.redirects import RedirectRefused, check_redirect
from shiren.runtime import Runtime
from shiren.services.errors import Invalid, Missing, NoAuthority, Underage
from shiren.services.face_verify.photos import PhotoSource, decode_photo, load_photo
from shiren.services.limits import check_failure_limits
from shiren.services.media import store_blob
from shiren.services.workload import china_today
from shiren.storage.models import Scene, Upload, utcnow
from shiren.storage.repo.tasks import new_attempt_keys, start_attempt

CERT_TYPES = ("IDENTITY_CARD",)


@dataclass(frozen=True)
class IdentityClaim:
    """CertName / CertNo as the integrator sent them (``repr`` never shows them)."""

    name: str | None = field(default=None, repr=False)
    number: str | None = field(default=None, repr=False)
    cert_type: str = "IDENTITY_CARD"


@dataclass(frozen=True)
class InitRequest:
    scene: Scene
    outer_order_no: str
    product_code: str
    model: str
    identity: IdentityClaim
    photo: PhotoSource
    meta_info: dict[str, Any] | None = None  # parsed MetaInfo (domain.metainfo), kept as evidence
    user_id: str | None = None
    ip: str | None = field(default=None, repr=False)
    mobile: str | None = field(default=None, repr=False)
    return_url: str | None = None
    callback_url: str | None = None
    callback_token: str | None = field(default=None, repr=False)
    certify_url_type: str | None = None


@dataclass(frozen=True)
class InitGrant:
    certify_id: str
    expires_at: datetime


def check_identity_claim(scene: Scene, product: str, claim: IdentityClaim, today: date) -> str | None:
    """The normalised CertNo of an identity product (None for the others); refuses a scene without an
    authority (an identity is never reported checked when nothing checked it) and a child under 14."""
    if product not in IDENTITY_PRODUCTS:
        return None
    if claim.cert_type not in CERT_TYPES:
        raise Invalid("CertType", f"one of {', '.join(CERT_TYPES)}")
    if not claim.name:
        raise Missing("CertName")
    if not claim.number:
        raise Missing("CertNo")
    if scene.authority == "none":
        raise NoAuthority(f"scene {scene.scene_id} has no identity authority to compare {product} with")
    try:
        number = parse_id_number(claim.number, today=today)
    except InvalidIdNumber as exc:
        raise Invalid("CertNo", exc.reason) from None
    birth = number.birth
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < MIN_AGE:
        raise Underage(
            "CertNo", f"the holder is under {MIN_AGE}", message=f"CertNo: the holder is under {MIN_AGE}"
        )
    return number.number


def _check_request(req: InitRequest) -> None:
    if req.product_code not in DEVICE_PRODUCTS:
        raise Invalid("ProductCode", f"InitFaceVerify takes one of {', '.join(DEVICE_PRODUCTS)}")
    if req.model not in MODELS:
        raise Invalid("Model", f"one of {', '.join(MODELS)}")
    if req.product_code in ("PV_FV", "LR_FR") and not req.user_id:
        raise Missing("UserId")
    if req.return_url:
        try:
            check_redirect(req.return_url, req.scene.redirect_origins)
        except RedirectRefused as exc:
            hint = " (the scene allows it with --redirect-origin)" if exc.origin else ""
            raise Invalid("ReturnUrl", exc.reason + hint) from None


def _inputs(req: InitRequest) -> dict[str, Any]:
    """What the attempt keeps of the request (encrypted with its record key, erased with it)."""
    values = {
        "ProductCode": req.product_code,
        "Model": req.model,
        "UserId": req.user_id,
        "UserIp": req.ip,
        "UserPhoneNumber": req.mobile,
        "ReturnUrl": req.return_url,
        "CertifyUrlType": req.certify_url_type,
        "MetaInfo": req.meta_info,
        "CallbackStyle": "alibaba" if req.callback_url else None,
    }
    return {k: v for k, v in values.items() if v is not None}


async def init_face_verify(runtime: Runtime, req: InitRequest) -> InitGrant:
    """A new verification of ``req.outer_order_no``; raises the services' errors (and the intake's for a
    reference photo URL) before anything is stored."""
    _check_request(req)
    today = china_today()
    number = check_identity_claim(req.scene, req.product_code, req.identity, today)
    await asyncio.to_thread(check_failure_limits, runtime, req.scene, req.outer_order_no, number)
    photo = None
    if req.product_code == "PV_FV":
        photo = await load_photo(runtime, req.scene.tenant_id, req.photo)
        field_name = req.photo.given()[0]
        await asyncio.to_thread(decode_photo, runtime, photo, field_name)
    return await asyncio.to_thread(_start, runtime, req, number, photo)


def _start(runtime: Runtime, req: InitRequest, number: str | None, photo: bytes | None) -> InitGrant:
    keys = new_attempt_keys(runtime.crypto)
    blob = None
    if photo is not None:
        blob = store_blob(
            runtime,
            photo,
            tenant_id=req.scene.tenant_id,
            attempt_id=None,
            kind="reference",
            content_type="application/octet-stream",
            cipher=keys.media,
        )
    try:
        with runtime.sessions() as session, session.begin():
            attempt = start_attempt(
                session,
                runtime.crypto,
                req.scene,
                req.outer_order_no,
                ttl=timedelta(seconds=CERTIFY_TTL_S),
                name=req.identity.name if number else None,
                id_number=number,
                inputs=_inputs(req),
                callback_url=req.callback_url,
                callback_seed=req.callback_token,
                keys=keys,
            )
            attempt.scheme = req.product_code
            attempt.liveness_model = req.model
            if blob is not None:
                blob.attempt_id = attempt.id
                session.add(blob)
                session.add(
                    Upload(
                        attempt_id=attempt.id,
                        tenant_id=attempt.tenant_id,
                        kind="reference",
                        blob_id=blob.id,
                        fingerprint=runtime.crypto.blind_index(
                            hashlib.sha256(photo).hexdigest(), "reference"
                        ),
                        content_type="application/octet-stream",
                        size=len(photo or b""),
                        created_at=utcnow(),
                    )
                )
            return InitGrant(attempt.verify_token, attempt.expires_at)
    except BaseException:
        if blob is not None:
            runtime.blobs.delete(blob.id)
        raise
