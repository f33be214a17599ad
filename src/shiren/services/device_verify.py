"""Submitting a device capture: liveness from the video, then the scheme's identity checks, one verdict.

Flow: validate the request (nothing decided yet) → fetch the integrator's images → claim the challenge (so a
capture is decided at most once) → model work in a worker thread → one transaction that stores the verdict,
its evidence, the material and the callback. Any failure before that transaction leaves the attempt
pending with its uploads intact; the user can take a new challenge.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
from sqlalchemy import select

from shiren.domain.decision import STATUS_MESSAGES, Check, decide, score_check, thresholds_for
from shiren.domain.idnumber import InvalidIdNumber, parse_id_number
from shiren.domain.schemes import Mode
from shiren.engine import idcard
from shiren.engine.liveness import LivenessReport, VideoRejected, decode_video, verify_capture
from shiren.intake import DecodedImage, ImageRejected, RequestBudget, decode_image, fetch_image, reencode_jpeg
from shiren.runtime import Runtime
from shiren.services.callbacks import enqueue_callback
from shiren.services.checks import authority_checks, id_card_checks
from shiren.services.device import (
    DeviceContext,
    DeviceError,
    claim_challenge,
    current_challenge,
    require_consent,
    uploads_of,
)
from shiren.services.faces import FaceAnalysis, analyse_face, compare, face_crop
from shiren.services.media import store_blob
from shiren.services.result_token import make_result_token
from shiren.services.workload import CPU_SLOTS, china_today, model_evidence
from shiren.storage.models import Attempt, Blob, Challenge, Upload, utcnow
from shiren.storage.repo.scenes import redirect_refusal
from shiren.storage.repo.tasks import attempt_identity, attempt_inputs, set_attempt_material

log = logging.getLogger("shiren.device")

# A capture uploaded sooner after its challenge than this share of its length was not recorded for it.
MIN_RECORDING_SHARE = 0.7
DURATION_SLACK_MS = 2500


@dataclass
class SubmitRequest:
    challenge_id: str | None
    name: str | None = None
    id_number: str | None = None
    success_redirect: str | None = None
    fail_redirect: str | None = None


@dataclass
class DeviceInputs:
    """Everything a decision needs, gathered before any model runs."""

    challenge: Challenge
    video: Upload
    video_bytes: bytes
    name: str | None
    id_number: str | None
    user_supplied: bool  # name/number typed or confirmed by the user (RPManual, RPBasic)
    front: DecodedImage | None
    back: DecodedImage | None
    card_uploads: dict[str, Upload]
    retained: DecodedImage | None
    unavailable: list[Check] = field(default_factory=list)  # integrator images that could not be fetched
    replayed: bool = False
    redirects: dict[str, str] = field(default_factory=dict)


@dataclass
class DeviceOutcome:
    status: int
    checks: list[Check]
    liveness: LivenessReport | None
    face: FaceAnalysis | None
    material: dict[str, Any]
    authority_score: float | None = None
    idcard_face_score: float | None = None
    face_score: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


def check_redirect(ctx: DeviceContext, url: str | None, name: str) -> str | None:
    """An http(s) URL whose origin the scene allows (no open redirect), or a 400."""
    if not url:
        return None
    refusal = redirect_refusal(url, ctx.scene.redirect_origins)
    if refusal:
        separator = ": " if refusal.startswith("origin") else " "
        raise DeviceError(400, "InvalidParameter", f"{name}{separator}{refusal}")
    return url


def _with_result(url: str, biz_id: str, result: str) -> str:
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("bizId", "result")
    ]
    query += [("bizId", biz_id), ("result", result)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def answer_for(runtime: Runtime, ctx: DeviceContext, attempt: Attempt) -> dict[str, Any]:
    """What submit returns (and a repeated submit returns again): the verdict as a hint, signed."""
    status = int(attempt.verify_status)
    result = make_result_token(
        runtime.crypto, attempt.verify_token, ctx.biz_id, status, runtime.settings.result_token_ttl_s
    )
    answer: dict[str, Any] = {
        "state": 1 if status == 1 else 2,
        "code": status,
        "message": STATUS_MESSAGES.get(status, "not passed"),
        "bizId": ctx.biz_id,
        "result": result,
    }
    target = (attempt.evidence or {}).get("redirect", {}).get("pass" if status == 1 else "fail")
    if target:
        answer["redirectUrl"] = _with_result(target, ctx.biz_id, result)
    return answer


async def _fetch_optional(
    runtime: Runtime, url: str | None, field_name: str, fails_with: int, budget: RequestBudget
) -> tuple[DecodedImage | None, Check | None]:
    if not url:
        return None, None
    try:
        data = await fetch_image(url, runtime.settings, budget=budget, field=field_name)
        return await asyncio.to_thread(decode_image, data, field_name, runtime.settings), None
    except ImageRejected as exc:
        return None, Check(f"{field_name}_available", fails_with, False, detail=exc.message)


def _identity(
    ctx: DeviceContext, req: SubmitRequest, runtime: Runtime
) -> tuple[str | None, str | None, bool]:
    scheme = ctx.scheme.name
    if scheme == "RPManual":
        if not req.name or not req.id_number:
            raise DeviceError(400, "InvalidParameter", "name and idNumber are required for RPManual")
        return req.name.strip(), req.id_number.strip().upper(), True
    if scheme == "RPBasic":
        if req.name and req.id_number:
            return req.name.strip(), req.id_number.strip().upper(), True
        return None, None, False  # read from the card at decision time
    if not ctx.scheme.identity:
        return None, None, False
    name, number = attempt_identity(runtime.crypto, ctx.attempt)
    return name, number, False


def _stored_inputs(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> DeviceInputs:
    """Validate the submission against what the attempt holds and load it: database reads, blob
    decryption and card decoding (blocking: run in a thread)."""
    require_consent(runtime, ctx)
    challenge = current_challenge(runtime, ctx, req.challenge_id)
    uploads = uploads_of(runtime, ctx.attempt.id)
    video = uploads.get("video")
    if video is None:
        raise DeviceError(409, "UploadMissing", "upload the video first")
    if video.challenge_id != challenge.id:
        raise DeviceError(409, "ChallengeInvalid", "the uploaded video was recorded for another challenge")
    if ctx.scheme.captures_card:
        missing = [k for k in ("id_front", "id_back") if k not in uploads]
        if missing:
            raise DeviceError(409, "UploadMissing", f"upload {' and '.join(missing)} first")
    redirects: dict[str, str] = {}
    if ctx.scheme.mode is Mode.H5:
        stored = attempt_inputs(runtime.crypto, ctx.attempt)
        passed = check_redirect(ctx, req.success_redirect, "successRedirect") or stored.get(
            "PassedRedirectUrl"
        )
        failed = check_redirect(ctx, req.fail_redirect, "failRedirect") or stored.get("FailedRedirectUrl")
        redirects = {k: v for k, v in (("pass", passed), ("fail", failed or passed)) if v}
    name, number, user_supplied = _identity(ctx, req, runtime)
    card_uploads = {k: uploads[k] for k in ("id_front", "id_back") if k in uploads}
    front = back = None
    if ctx.scheme.captures_card:
        front = decode_image(runtime.blobs.get(uploads["id_front"].blob_id), "id_front", runtime.settings)
        back = decode_image(runtime.blobs.get(uploads["id_back"].blob_id), "id_back", runtime.settings)
    with runtime.sessions() as session:
        replayed = (
            session.scalar(
                select(Upload.id)
                .where(Upload.fingerprint == video.fingerprint, Upload.attempt_id != ctx.attempt.id)
                .limit(1)
            )
            is not None
        )
    return DeviceInputs(
        challenge,
        video,
        runtime.blobs.get(video.blob_id),
        name,
        number,
        user_supplied,
        front,
        back,
        card_uploads,
        retained=None,
        replayed=replayed,
        redirects=redirects,
    )


async def gather_inputs(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> DeviceInputs:
    """Validate the submission and collect its inputs, including the images the integrator gave by URL;
    raises DeviceError before anything is decided."""
    inputs = await asyncio.to_thread(_stored_inputs, runtime, ctx, req)
    given = attempt_inputs(runtime.crypto, ctx.attempt)
    budget = RequestBudget.from_settings(runtime.settings)
    if ctx.scheme.identity and not ctx.scheme.captures_card:
        (inputs.front, c1), (inputs.back, c2) = await asyncio.gather(
            _fetch_optional(runtime, given.get("IdCardFrontImageUrl"), "IdCardFrontImageUrl", 8, budget),
            _fetch_optional(runtime, given.get("IdCardBackImageUrl"), "IdCardBackImageUrl", 8, budget),
        )
        inputs.unavailable += [c for c in (c1, c2) if c]
    if ctx.scheme.name == "FVBioOnly":
        inputs.retained, c3 = await _fetch_optional(
            runtime, given.get("FaceRetainedImageUrl"), "FaceRetainedImageUrl", 10, budget
        )
        inputs.unavailable += [c for c in (c3,) if c]
    return inputs


def _capture_checks(inputs: DeviceInputs, duration_ms: float) -> list[Check]:
    """Was this capture recorded for this challenge, now, and only once?"""
    challenge, video = inputs.challenge, inputs.video
    longest = challenge.capture_ms + DURATION_SLACK_MS
    elapsed_ms = (video.created_at - challenge.issued_at).total_seconds() * 1000
    checks = [
        Check(
            "capture_fresh",
            9,
            not inputs.replayed,
            detail="this capture was already uploaded for another attempt" if inputs.replayed else "",
        ),
        Check(
            "capture_length",
            9,
            0.6 * challenge.capture_ms <= duration_ms <= longest,
            round(duration_ms),
            challenge.capture_ms,
            "the capture is shorter than the challenge"
            if duration_ms < 0.6 * challenge.capture_ms
            else ("the capture is longer than the challenge" if duration_ms > longest else ""),
        ),
        Check(
            "capture_after_challenge",
            9,
            elapsed_ms >= MIN_RECORDING_SHARE * duration_ms and video.created_at <= challenge.expires_at,
            round(elapsed_ms),
            detail="uploaded too soon after the challenge to have been recorded for it"
            if elapsed_ms < MIN_RECORDING_SHARE * duration_ms
            else "",
        ),
    ]
    return checks


def evaluate_device(runtime: Runtime, ctx: DeviceContext, inputs: DeviceInputs, today: date) -> DeviceOutcome:
    """Every check of the scheme, then one verdict. Pure computation (no writes)."""
    timings: dict[str, float] = {}
    thresholds = thresholds_for(ctx.scene.thresholds)
    checks: list[Check] = list(inputs.unavailable)
    t0 = time.perf_counter()
    report: LivenessReport | None = None
    try:
        frames = decode_video(inputs.video_bytes, max_seconds=runtime.settings.max_video_seconds)
        timings["decode"] = round((time.perf_counter() - t0) * 1000, 1)
        checks += _capture_checks(inputs, frames[-1].t_ms - frames[0].t_ms)
        report = verify_capture(frames, list(inputs.challenge.actions), flash=inputs.challenge.flash)
        checks += report.checks
        timings.update(report.timings_ms)
    except VideoRejected as exc:
        checks.append(Check("capture_readable", 9, False, detail=exc.message))
    face = None
    if report is not None and report.best_frame is not None:
        face = analyse_face(report.best_frame)
    t1 = time.perf_counter()
    name, number_text = inputs.name, inputs.id_number
    if ctx.scheme.name == "RPBasic" and not name and inputs.front is not None:
        front = idcard.read_front(inputs.front.bgr)
        name, number_text = front.name, front.number
    outcome = DeviceOutcome(0, checks, report, face, {})
    if ctx.scheme.identity:
        try:
            number = parse_id_number(number_text or "", today=today)
            checks.append(Check("id_number", 2, True, data={"kind": number.kind}))
        except InvalidIdNumber as exc:
            number = None
            checks.append(Check("id_number", 2, False, detail=exc.reason))
        auth, outcome.authority_score = authority_checks(
            runtime, ctx.scene, name or "", number, face, thresholds["authority"]
        )
        checks += auth
        confirmed = (
            frozenset({"name", "number"})
            if inputs.user_supplied and ctx.scheme.name == "RPBasic"
            else frozenset()
        )
        card, card_info, outcome.idcard_face_score = id_card_checks(
            name or "",
            number_text or "",
            inputs.front,
            inputs.back,
            face,
            thresholds["idcard"],
            today,
            confirmed=confirmed,
        )
        checks += card
        outcome.material.update({"IdCardName": name, "IdCardNumber": number_text})
        if card_info:
            outcome.material["IdCardInfo"] = card_info
    if ctx.scheme.name == "FVBioOnly" and inputs.retained is not None:
        retained = analyse_face(inputs.retained.bgr)
        outcome.face_score = compare(
            face.embedding if face else None, retained.embedding if retained else None
        )
        checks.append(
            score_check(
                "face_vs_retained",
                10,
                outcome.face_score,
                thresholds["retained"],
                "" if retained else "no face in the retained photo",
            )
        )
    t2 = time.perf_counter()
    timings.update({"liveness": round((t1 - t0) * 1000, 1), "identity": round((t2 - t1) * 1000, 1)})
    outcome.status = decide(checks)
    if face is not None:
        outcome.material.update({"FaceQuality": face.quality.level, "FaceMask": bool(face.quality.mask)})
    else:
        outcome.material.update({"FaceQuality": "UNQUALIFIED", "FaceMask": False})
    outcome.timings_ms = timings
    return outcome


def record_device(
    runtime: Runtime, ctx: DeviceContext, inputs: DeviceInputs, outcome: DeviceOutcome
) -> Attempt:
    """Store the verdict, evidence, material and callback in one transaction (blobs removed on failure)."""
    now = utcnow()
    stored: list[Blob] = []
    tenant = ctx.attempt.tenant_id

    def put(image: np.ndarray, kind: str) -> str:
        blob = store_blob(
            runtime,
            reencode_jpeg(image),
            tenant_id=tenant,
            attempt_id=None,
            kind=kind,
            content_type="image/jpeg",
        )
        stored.append(blob)
        return blob.id

    try:
        material = dict(outcome.material)
        best = outcome.liveness.best_frame if outcome.liveness else None
        if best is not None:
            material["FaceImageBlob"] = put(face_crop(best, outcome.face), "face")
            material["FaceGlobalBlob"] = put(best, "face_global")
        material["VideoBlobs"] = [inputs.video.blob_id]
        if inputs.card_uploads:
            card = dict(material.get("IdCardInfo", {}))
            if "id_front" in inputs.card_uploads:
                card["FrontImageBlob"] = inputs.card_uploads["id_front"].blob_id
            if "id_back" in inputs.card_uploads:
                card["BackImageBlob"] = inputs.card_uploads["id_back"].blob_id
            material["IdCardInfo"] = card
        with runtime.sessions() as session, session.begin():
            attempt = session.get(Attempt, ctx.attempt.id, with_for_update=True)
            if attempt is None or attempt.state != "pending":
                raise DeviceError(409, "AlreadySubmitted", "this attempt has already been decided")
            for upload in [inputs.video, *inputs.card_uploads.values()]:
                if session.get(Blob, upload.blob_id) is None:
                    session.add(
                        Blob(
                            id=upload.blob_id,
                            tenant_id=tenant,
                            attempt_id=attempt.id,
                            kind=upload.kind,
                            content_type=upload.content_type,
                            size=upload.size,
                        )
                    )
            if ctx.scheme.name in ("RPManual", "RPBasic"):
                token = attempt.verify_token
                attempt.name_enc = runtime.crypto.encrypt_field(material.get("IdCardName"), f"name:{token}")
                attempt.id_number_enc = runtime.crypto.encrypt_field(
                    material.get("IdCardNumber"), f"idn:{token}"
                )
            attempt.state = "decided"
            attempt.verify_status = outcome.status
            attempt.decided_at = now
            attempt.authority_score = outcome.authority_score
            attempt.idcard_face_score = outcome.idcard_face_score
            attempt.face_score = outcome.face_score
            attempt.evidence = {
                "checks": [c.as_evidence() for c in outcome.checks],
                "liveness": outcome.liveness.evidence() if outcome.liveness else None,
                "challenge": {"id": inputs.challenge.id, "actions": list(inputs.challenge.actions)},
                "models": model_evidence(),
                "timings_ms": outcome.timings_ms,
                "thresholds": thresholds_for(ctx.scene.thresholds),
                "redirect": inputs.redirects,
            }
            set_attempt_material(runtime.crypto, attempt, material)
            for blob in stored:
                blob.attempt_id = attempt.id
                session.add(blob)
            enqueue_callback(session, ctx.scene, attempt)
        return attempt
    except BaseException:
        for blob in stored:
            runtime.blobs.delete(blob.id)
        raise


async def submit(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> dict[str, Any]:
    """Decide the attempt from its capture; a repeated submit returns the stored answer."""
    if ctx.attempt.state == "decided":
        return answer_for(runtime, ctx, ctx.attempt)
    inputs = await gather_inputs(runtime, ctx, req)
    claim_challenge(runtime, inputs.challenge)

    def work() -> Attempt:
        with CPU_SLOTS:
            outcome = evaluate_device(runtime, ctx, inputs, china_today())
            return record_device(runtime, ctx, inputs, outcome)

    try:
        attempt = await asyncio.to_thread(work)
    except DeviceError:
        raise
    except Exception:
        # The attempt stays pending with its uploads; the challenge is spent, so the device takes a new one.
        log.exception("device decision failed (attempt %s)", ctx.attempt.id)
        raise DeviceError(
            500, "InternalError", "the decision could not be made; take a new challenge and try again"
        ) from None
    return answer_for(runtime, ctx, attempt)


def cancel(runtime: Runtime, ctx: DeviceContext) -> dict[str, Any]:
    """The user gave up: nothing is decided (VerifyStatus stays -1); the token can still be used."""
    if ctx.attempt.state == "decided":
        return answer_for(runtime, ctx, ctx.attempt)
    return {"state": -1, "code": -1, "message": "cancelled", "bizId": ctx.biz_id, "result": None}
