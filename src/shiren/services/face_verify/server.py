"""The face-verify family's server-only calls, answered at once through the one decision core:

- ContrastFaceVerify (ID_MIN): a face photo (or a face video) against the authority's photo of CertName +
  CertNo. A video is only a source of its best frame here: nothing asks it for actions, so it is not
  judged live.
- CompareFaceVerify (PV_FC): two photos, one face each, compared 1:1.
- LivenessFaceVerify (LR_FR_MIN): one photo. shiren ships no passive anti-spoofing model with a clear
  licence, so one photo cannot be judged live here: Model NO_LIVENESS checks that it shows one usable face,
  and the camera-liveness models are refused with the reason (use InitFaceVerify for a live capture).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from shiren.domain.decision import thresholds_for
from shiren.domain.faceverify import PHOTO_MODELS
from shiren.domain.schemes import PRODUCT_SCHEMES
from shiren.engine.liveness import VideoRejected, best_face_frame, decode_video
from shiren.intake import DecodedImage, ImageRejected
from shiren.runtime import Runtime
from shiren.services.decision import DecisionInputs, DecisionModels, NewAttempt, Outcome, evaluate, record
from shiren.services.errors import Invalid, Missing, TooLarge
from shiren.services.face_verify.init import IdentityClaim, check_identity_claim
from shiren.services.face_verify.photos import PhotoSource, decode_photo, load_photo
from shiren.services.limits import check_failure_limits
from shiren.services.workload import CPU_SLOTS, china_today
from shiren.storage.models import Attempt, Scene

MAX_VIDEO_BASE64_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ServerRequest:
    """One server-only call: the scene, the OuterOrderNo and what to decide from."""

    scene: Scene
    outer_order_no: str
    product_code: str
    model: str | None = None
    identity: IdentityClaim = field(default_factory=IdentityClaim)
    photo: PhotoSource = field(default_factory=PhotoSource)
    video_base64: str | None = field(default=None, repr=False)  # ContrastFaceVerify's FaceContrastFile
    target: PhotoSource = field(default_factory=PhotoSource)  # CompareFaceVerify's second photo
    user_id: str | None = None


@dataclass(frozen=True)
class ServerAnswer:
    attempt: Attempt
    outcome: Outcome


def _decode_video_face(runtime: Runtime, data: bytes) -> DecodedImage:
    try:
        frames = decode_video(data, max_seconds=runtime.settings.max_video_seconds)
    except VideoRejected as exc:
        raise ImageRejected("FaceContrastFile", exc.message) from None
    bgr = best_face_frame(frames, models=runtime.models)
    if bgr is None:
        raise ImageRejected("FaceContrastFile", "no face was found in the video")
    h, w = bgr.shape[:2]
    return DecodedImage(bgr, "video", w, h, hashlib.sha256(data).hexdigest())


async def _face_image(runtime: Runtime, req: ServerRequest) -> DecodedImage:
    if req.video_base64:
        if req.photo.given():
            raise Invalid("FaceContrastFile", "give a photo or a video, not both")
        if len(req.video_base64) > MAX_VIDEO_BASE64_BYTES:
            raise TooLarge("FaceContrastFile: the video is over 12 MB", MAX_VIDEO_BASE64_BYTES * 3 // 4)
        try:
            data = base64.b64decode("".join(req.video_base64.split()), validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("FaceContrastFile", "is not valid Base64") from None
        return await asyncio.to_thread(_decode_video_face, runtime, data)
    photo = await load_photo(runtime, req.scene.tenant_id, req.photo)
    return await asyncio.to_thread(decode_photo, runtime, photo, req.photo.given()[0])


async def _decide(runtime: Runtime, req: ServerRequest, inputs: DecisionInputs) -> ServerAnswer:
    deps = DecisionModels(runtime.models, runtime.authorities, runtime.settings)
    given = {"ProductCode": req.product_code, "Model": req.model, "UserId": req.user_id}

    def work() -> ServerAnswer:
        with CPU_SLOTS:
            outcome = evaluate(deps, inputs, china_today())
            target = NewAttempt(
                req.outer_order_no, {k: v for k, v in given.items() if v}, scheme=req.product_code
            )
            return ServerAnswer(record(runtime, req.scene, inputs, outcome, target), outcome)

    return await asyncio.to_thread(work)


def _inputs(req: ServerRequest, **kw: object) -> DecisionInputs:
    return DecisionInputs(
        scheme=PRODUCT_SCHEMES[req.product_code],
        tenant_id=req.scene.tenant_id,
        authority=req.scene.authority,
        thresholds=thresholds_for(req.scene.thresholds),
        # No review band: these products answer Passed/SubCode at once, and Alibaba's API has no "later".
        **kw,  # type: ignore[arg-type]
    )


async def contrast_face_verify(runtime: Runtime, req: ServerRequest) -> ServerAnswer:
    """ID_MIN: the face against the authority's photo of the claimed identity."""
    if req.product_code != "ID_MIN":
        raise Invalid("ProductCode", "ContrastFaceVerify takes ID_MIN")
    number = check_identity_claim(req.scene, "ID_MIN", req.identity, china_today())
    await asyncio.to_thread(check_failure_limits, runtime, req.scene, req.outer_order_no, number)
    face = await _face_image(runtime, req)
    inputs = _inputs(req, name=req.identity.name, id_number=number, face=face)
    return await _decide(runtime, req, inputs)


async def compare_face_verify(runtime: Runtime, req: ServerRequest) -> ServerAnswer:
    """PV_FC: is the face of the source photo the face of the target photo?"""
    if req.product_code != "PV_FC":
        raise Invalid("ProductCode", "CompareFaceVerify takes PV_FC")
    source_bytes, target_bytes = await asyncio.gather(
        load_photo(runtime, req.scene.tenant_id, req.photo),
        load_photo(runtime, req.scene.tenant_id, req.target),
    )
    source, target = await asyncio.gather(
        asyncio.to_thread(decode_photo, runtime, source_bytes, req.photo.given()[0]),
        asyncio.to_thread(decode_photo, runtime, target_bytes, req.target.given()[0]),
    )
    return await _decide(runtime, req, _inputs(req, face=source, retained=target))


async def liveness_face_verify(runtime: Runtime, req: ServerRequest) -> ServerAnswer:
    """LR_FR_MIN: what one photo can show (see the module docstring)."""
    if req.product_code != "LR_FR_MIN":
        raise Invalid("ProductCode", "LivenessFaceVerify takes LR_FR_MIN")
    model = req.model or "NO_LIVENESS"
    if model not in PHOTO_MODELS:
        raise Invalid("Model", f"one of {', '.join(PHOTO_MODELS)}")
    if model != "NO_LIVENESS":
        raise Invalid(
            "Model",
            f"{model}: one photo cannot be judged live by shiren (no passive anti-spoofing model ships "
            "with a clear licence); use NO_LIVENESS for a face check, or InitFaceVerify for a live capture",
        )
    if not req.photo.given():
        raise Missing("FaceContrastPicture")
    face = await _face_image(runtime, req)
    return await _decide(runtime, req, _inputs(req, face=face))
