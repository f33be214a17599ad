"""Submitting a device capture: gather the attempt's inputs, then the decision core, one verdict.

Flow: validate the request (nothing decided yet) → fetch the integrator's images → claim the challenge (so a
capture is decided at most once) → model work in a worker thread → one transaction that stores the verdict,
its evidence, the material and the callback. Any failure before that transaction leaves the attempt
pending with its uploads intact; the user can take a new challenge.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shiren.domain.decision import STATUS_MESSAGES, Check, thresholds_for
from shiren.domain.redirects import RedirectRefused, check_redirect
from shiren.intake import DecodedImage, IntakeError, RequestBudget, decode_image, fetch_image
from shiren.runtime import Runtime
from shiren.services.decision import (
    Capture,
    DecisionInputs,
    DecisionModels,
    PendingAttempt,
    evaluate,
    record,
)
from shiren.services.device import (
    DeviceContext,
    claim_challenge,
    current_challenge,
    require_consent,
    stored_front_reading,
    uploads_of,
)
from shiren.services.errors import ChallengeRefused, DecisionFailed, Invalid, ServiceError, UploadMissing
from shiren.services.result_token import make_result_token
from shiren.services.workload import CPU_SLOTS, china_today
from shiren.storage.models import Attempt, Challenge
from shiren.storage.repo import device as device_repo
from shiren.storage.repo.tasks import attempt_identity, attempt_inputs

log = logging.getLogger("shiren.device")


@dataclass
class SubmitRequest:
    challenge_id: str | None
    name: str | None = None
    id_number: str | None = None
    success_redirect: str | None = None
    fail_redirect: str | None = None


@dataclass(frozen=True)
class DeviceAnswer:
    """What the device is told: the verdict as a hint (``result`` is signed), and where to go next."""

    status: int  # VerifyStatus; -1 when nothing was decided (cancelled)
    biz_id: str
    result: str | None
    redirect_url: str | None = None

    @property
    def message(self) -> str:
        return "cancelled" if self.status == -1 else STATUS_MESSAGES.get(self.status, "not passed")


def _with_result(url: str, biz_id: str, result: str) -> str:
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("bizId", "result")
    ]
    query += [("bizId", biz_id), ("result", result)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def answer_for(runtime: Runtime, ctx: DeviceContext, attempt: Attempt) -> DeviceAnswer:
    """What submit returns (and a repeated submit returns again): the verdict as a hint, signed."""
    status = int(attempt.verify_status)
    result = make_result_token(
        runtime.crypto, attempt.verify_token, ctx.biz_id, status, runtime.settings.result_token_ttl_s
    )
    target = (attempt.evidence or {}).get("redirect", {}).get("pass" if status == 1 else "fail")
    return DeviceAnswer(
        status, ctx.biz_id, result, _with_result(target, ctx.biz_id, result) if target else None
    )


def _redirect(ctx: DeviceContext, url: str | None, name: str) -> str | None:
    """An http(s) URL whose origin the scene allows (no open redirect)."""
    if not url:
        return None
    try:
        return check_redirect(url, ctx.scene.redirect_origins)
    except RedirectRefused as exc:
        separator = ": " if exc.origin else " "
        raise Invalid(name, exc.reason, message=f"{name}{separator}{exc.reason}") from None


def _identity(
    runtime: Runtime, ctx: DeviceContext, req: SubmitRequest
) -> tuple[str | None, str | None, frozenset[str]]:
    """The name and number to check, and the card fields the user confirmed."""
    scheme = ctx.scheme
    if scheme.manual_input:
        if not req.name or not req.id_number:
            message = f"name and idNumber are required for {scheme.name}"
            raise Invalid("name", "required", message=message)
        return req.name.strip(), req.id_number.strip().upper(), frozenset()
    if scheme.confirm_step:
        if req.name and req.id_number:
            return req.name.strip(), req.id_number.strip().upper(), frozenset({"name", "number"})
        return None, None, frozenset()  # nothing confirmed: the card's own reading is checked
    if not scheme.identity:
        return None, None, frozenset()
    name, number = attempt_identity(runtime.crypto, ctx.attempt)
    return name, number, frozenset()


@dataclass
class _Gathered:
    inputs: DecisionInputs
    target: PendingAttempt
    challenge: Challenge


def _stored_inputs(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> _Gathered:
    """Validate the submission against what the attempt holds and load it: database reads, blob
    decryption and card decoding (blocking: run in a thread)."""
    require_consent(runtime, ctx)
    challenge = current_challenge(runtime, ctx, req.challenge_id)
    uploads = uploads_of(runtime, ctx.attempt.id)
    video = uploads.get("video")
    if video is None:
        raise UploadMissing("upload the video first")
    if video.challenge_id != challenge.id:
        raise ChallengeRefused("the uploaded video was recorded for another challenge")
    scheme = ctx.scheme
    if scheme.captures_card:
        missing = [k for k in ("id_front", "id_back") if k not in uploads]
        if missing:
            raise UploadMissing(f"upload {' and '.join(missing)} first")
    redirects: dict[str, str] = {}
    if scheme.hosted_page:
        stored = attempt_inputs(runtime.crypto, ctx.attempt)
        passed = _redirect(ctx, req.success_redirect, "successRedirect") or stored.get("PassedRedirectUrl")
        failed = _redirect(ctx, req.fail_redirect, "failRedirect") or stored.get("FailedRedirectUrl")
        redirects = {k: v for k, v in (("pass", passed), ("fail", failed or passed)) if v}
    name, number, confirmed = _identity(runtime, ctx, req)
    front = back = front_read = None
    if scheme.captures_card:
        front_read = stored_front_reading(runtime, uploads["id_front"])
        if front_read is None:
            front = _decode_upload(runtime, uploads["id_front"].blob_id, "id_front")
        back = _decode_upload(runtime, uploads["id_back"].blob_id, "id_back")
    with runtime.sessions() as session:
        replayed = device_repo.seen_elsewhere(session, video.fingerprint, ctx.attempt.id)
    capture = Capture(
        video=runtime.blobs.get(video.blob_id),
        challenge_id=challenge.id,
        actions=tuple(challenge.actions),
        flash=challenge.flash,
        capture_ms=challenge.capture_ms,
        issued_at=challenge.issued_at,
        expires_at=challenge.expires_at,
        uploaded_at=video.created_at,
        replayed=replayed,
    )
    inputs = DecisionInputs(
        scheme=scheme,
        tenant_id=ctx.attempt.tenant_id,
        authority=ctx.scene.authority,
        thresholds=thresholds_for(ctx.scene.thresholds),
        name=name,
        id_number=number,
        confirmed=confirmed,
        capture=capture,
        front=front,
        back=back,
        front_read=front_read,
    )
    target = PendingAttempt(
        ctx.attempt.id,
        {k: uploads[k] for k in ("video", "id_front", "id_back") if k in uploads},
        challenge={"id": challenge.id, "actions": list(challenge.actions)},
        redirects=redirects,
    )
    return _Gathered(inputs, target, challenge)


def _decode_upload(runtime: Runtime, blob_id: str, kind: str) -> DecodedImage:
    return decode_image(runtime.blobs.get(blob_id), kind, runtime.settings)


async def _fetch_optional(
    runtime: Runtime, url: str | None, field_name: str, fails_with: int, budget: RequestBudget
) -> tuple[DecodedImage | None, Check | None]:
    """An integrator's image by URL; one that cannot be had fails its check instead of the request."""
    if not url:
        return None, None
    try:
        data = await fetch_image(url, runtime.settings, budget=budget, field=field_name)
        return await asyncio.to_thread(decode_image, data, field_name, runtime.settings), None
    except IntakeError as exc:
        return None, Check(f"{field_name}_available", fails_with, False, detail=exc.message)


async def gather_inputs(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> _Gathered:
    """Validate the submission and collect its inputs, including the images the integrator gave by URL;
    raises a ServiceError before anything is decided."""
    gathered = await asyncio.to_thread(_stored_inputs, runtime, ctx, req)
    inputs = gathered.inputs
    given = attempt_inputs(runtime.crypto, ctx.attempt)
    budget = RequestBudget.from_settings(runtime.settings)
    if ctx.scheme.card_by_url:
        (inputs.front, c1), (inputs.back, c2) = await asyncio.gather(
            _fetch_optional(runtime, given.get("IdCardFrontImageUrl"), "IdCardFrontImageUrl", 8, budget),
            _fetch_optional(runtime, given.get("IdCardBackImageUrl"), "IdCardBackImageUrl", 8, budget),
        )
        inputs.unavailable += [c for c in (c1, c2) if c]
    if ctx.scheme.retained_photo:
        inputs.retained, c3 = await _fetch_optional(
            runtime, given.get("FaceRetainedImageUrl"), "FaceRetainedImageUrl", 10, budget
        )
        inputs.unavailable += [c for c in (c3,) if c]
    return gathered


async def submit(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> DeviceAnswer:
    """Decide the attempt from its capture; a repeated submit returns the stored answer."""
    if ctx.decided:
        return answer_for(runtime, ctx, ctx.attempt)
    gathered = await gather_inputs(runtime, ctx, req)
    claim_challenge(runtime, gathered.challenge)
    deps = DecisionModels(runtime.models, runtime.authorities, runtime.settings)

    def work() -> Attempt:
        with CPU_SLOTS:
            outcome = evaluate(deps, gathered.inputs, china_today())
            return record(runtime, ctx.scene, gathered.inputs, outcome, gathered.target)

    try:
        attempt = await asyncio.to_thread(work)
    except ServiceError:
        raise
    except Exception:
        # The attempt stays pending with its uploads; the challenge is spent, so the device takes a new one.
        log.exception("device decision failed (attempt %s)", ctx.attempt.id)
        raise DecisionFailed("the decision could not be made; take a new challenge and try again") from None
    return answer_for(runtime, ctx, attempt)


def cancel(runtime: Runtime, ctx: DeviceContext) -> DeviceAnswer:
    """The user gave up: nothing is decided (VerifyStatus stays -1); the token can still be used."""
    if ctx.decided:
        return answer_for(runtime, ctx, ctx.attempt)
    return DeviceAnswer(-1, ctx.biz_id, None)
