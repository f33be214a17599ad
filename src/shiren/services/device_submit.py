"""Submitting a device capture: gather the attempt's inputs, then the decision core, one verdict.

Flow: validate the request (nothing decided yet) → fetch the integrator's images → claim the challenge (so a
capture is decided at most once) → model work in a worker thread → one transaction that stores the verdict,
its evidence, the material and the callback. Any failure before that transaction leaves the attempt
pending with its uploads intact; the user can take a new challenge.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shiren.domain.decision import STATUS_MESSAGES, Check, thresholds_for
from shiren.domain.redirects import RedirectRefused, check_redirect
from shiren.domain.review import HELD, ReviewBand
from shiren.intake import DecodedImage, IntakeError, RequestBudget, decode_image, fetch_image
from shiren.runtime import Runtime
from shiren.services.content_index import ContentIndex
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
    current_challenge,
    require_consent,
    stored_front_reading,
    uploads_of,
)
from shiren.services.errors import (
    AlreadyDecided,
    ChallengeRefused,
    DecisionFailed,
    Invalid,
    ServiceError,
    UploadMissing,
)
from shiren.services.result_token import make_result_token
from shiren.services.workload import CPU_SLOTS, china_today
from shiren.storage.models import Attempt, Challenge, Upload, utcnow
from shiren.storage.repo import device as device_repo
from shiren.storage.repo.tasks import attempt_identity, attempt_inputs, media_cipher

log = logging.getLogger("shiren.device")

# How long a submit keeps the attempt's inputs frozen at most (a crashed decision frees them after this).
DECISION_LEASE_S = 300.0


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
    held: bool = False  # decided by the checks, waiting for a person (status -1 until then)

    @property
    def message(self) -> str:
        if self.held:
            return "being reviewed by a person"
        return "cancelled" if self.status == -1 else STATUS_MESSAGES.get(self.status, "not passed")


def _with_result(url: str, biz_id: str, result: str | None, certify_id: str | None = None) -> str:
    """The redirect with shiren's parameters: ``bizId`` (the OuterOrderNo of a face-verify verification),
    its ``certifyId`` when it is one, and the signed ``result`` hint."""
    parts = urlsplit(url)
    ours = ("bizId", "result", "certifyId")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    query += [("bizId", biz_id)] + ([("certifyId", certify_id)] if certify_id else [])
    query += [("result", result)] if result else []
    return urlunsplit(parts._replace(query=urlencode(query)))


def answer_for(runtime: Runtime, ctx: DeviceContext, attempt: Attempt) -> DeviceAnswer:
    """What submit returns (and a repeated submit or GET session returns again): the verdict, with the
    signed result minted at the decision while it is valid (nothing new is ever minted)."""
    status = int(attempt.verify_status)
    result = attempt.result_token
    if (
        result is None
        or attempt.result_token_expires_at is None
        or attempt.result_token_expires_at < utcnow()
    ):
        result = None
    target = (attempt.evidence or {}).get("redirect", {}).get("pass" if status == 1 else "fail")
    certify_id = attempt.verify_token if attempt.scheme else None
    redirect = _with_result(target, ctx.biz_id, result, certify_id) if target else None
    return DeviceAnswer(status, ctx.biz_id, result, redirect, held=attempt.review_state == HELD)


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


def _check_uploads(ctx: DeviceContext, uploads: dict[str, Upload], challenge: Challenge) -> None:
    video = uploads.get("video")
    if video is None:
        raise UploadMissing("upload the video first")
    if video.challenge_id != challenge.id:
        raise ChallengeRefused("the uploaded video was recorded for another challenge")
    if ctx.scheme.captures_card:
        missing = [k for k in ("id_front", "id_back") if k not in uploads]
        if missing:
            raise UploadMissing(f"upload {' and '.join(missing)} first")


def _redirects(ctx: DeviceContext, req: SubmitRequest, stored: dict[str, Any]) -> dict[str, str]:
    """Where the hosted page goes: the page's own parameters, else the integrator's URLs (a face-verify
    verification's ReturnUrl, checked against the scene's origins at InitFaceVerify)."""
    if not ctx.scheme.hosted_page and not stored.get("ReturnUrl"):
        return {}
    passed = (
        _redirect(ctx, req.success_redirect, "successRedirect")
        or stored.get("PassedRedirectUrl")
        or stored.get("ReturnUrl")
    )
    failed = _redirect(ctx, req.fail_redirect, "failRedirect") or stored.get("FailedRedirectUrl")
    return {k: v for k, v in (("pass", passed), ("fail", failed or passed)) if v}


@dataclass(frozen=True)
class _Ready:
    """What a submit was checked for before its challenge was spent, kept for the decision."""

    challenge: Challenge
    given: dict[str, Any]  # the integrator's inputs of DescribeVerifyToken (image URLs, redirects)
    redirects: dict[str, str]
    identity: tuple[str | None, str | None, frozenset[str]]


def _ready(runtime: Runtime, ctx: DeviceContext, req: SubmitRequest) -> _Ready:
    """Everything a submit is refused for, checked before the challenge is spent (blocking)."""
    require_consent(runtime, ctx)
    challenge = current_challenge(runtime, ctx, req.challenge_id)
    _check_uploads(ctx, uploads_of(runtime, ctx.attempt.id), challenge)
    given = attempt_inputs(runtime.crypto, ctx.attempt)
    return _Ready(challenge, given, _redirects(ctx, req, given), _identity(runtime, ctx, req))


def _freeze(runtime: Runtime, ctx: DeviceContext, challenge: Challenge) -> None:
    """Spend the challenge and freeze the attempt's inputs while it is decided (once, even with
    concurrent submits); later uploads and challenges are refused until the decision ends."""
    with runtime.sessions() as session, session.begin():
        refused = device_repo.claim_for_decision(
            session, ctx.attempt.id, challenge.id, utcnow(), DECISION_LEASE_S
        )
        if refused == "used":
            raise ChallengeRefused("this challenge has already been used")
        if refused:
            raise AlreadyDecided("this attempt has already been submitted")


def _release(runtime: Runtime, ctx: DeviceContext) -> None:
    with runtime.sessions() as session, session.begin():
        device_repo.release_decision(session, ctx.attempt.id)


def _stored_inputs(runtime: Runtime, ctx: DeviceContext, ready: _Ready) -> _Gathered:
    """Load the frozen inputs: database reads, blob decryption and card decoding (blocking). The uploads
    are read again now that they are frozen: what was checked before may have been replaced."""
    challenge = ready.challenge
    uploads = uploads_of(runtime, ctx.attempt.id)
    _check_uploads(ctx, uploads, challenge)
    video = uploads["video"]
    scheme = ctx.scheme
    redirects = ready.redirects
    name, number, confirmed = ready.identity
    front = back = front_read = retained = None
    if "reference" in uploads:  # a face-verify PV_FV photo, checked and stored at InitFaceVerify
        retained = _decode_upload(runtime, ctx, uploads["reference"].blob_id, "FaceContrastPicture")
    if scheme.captures_card:
        front_read = stored_front_reading(runtime, ctx, uploads["id_front"])
        if front_read is None:
            front = _decode_upload(runtime, ctx, uploads["id_front"].blob_id, "id_front")
        back = _decode_upload(runtime, ctx, uploads["id_back"].blob_id, "id_back")
    with runtime.sessions() as session:
        replayed = device_repo.seen_elsewhere(session, video.fingerprint, ctx.attempt.id)
    capture = Capture(
        video=runtime.blobs.get(video.blob_id, media_cipher(runtime.crypto, ctx.attempt)),
        challenge_id=challenge.id,
        actions=tuple(challenge.actions),
        flash=challenge.flash,
        capture_ms=challenge.capture_ms,
        issued_at=challenge.issued_at,
        expires_at=challenge.expires_at,
        uploaded_at=video.created_at,
        replayed=replayed,
        prompt_ms=tuple(challenge.prompt_ms) if challenge.prompt_ms else None,
    )
    inputs = DecisionInputs(
        scheme=scheme,
        tenant_id=ctx.attempt.tenant_id,
        authority=ctx.scene.authority,
        thresholds=thresholds_for(ctx.scene.thresholds),
        review=ReviewBand.of(ctx.scene.review),
        name=name,
        id_number=number,
        confirmed=confirmed,
        capture=capture,
        front=front,
        back=back,
        front_read=front_read,
        retained=retained,
    )
    target = PendingAttempt(
        ctx.attempt,
        {k: uploads[k] for k in ("video", "id_front", "id_back") if k in uploads},
        challenge={"id": challenge.id, "actions": list(challenge.actions)},
        redirects=redirects,
    )
    return _Gathered(inputs, target)


def _decode_upload(runtime: Runtime, ctx: DeviceContext, blob_id: str, kind: str) -> DecodedImage:
    data = runtime.blobs.get(blob_id, media_cipher(runtime.crypto, ctx.attempt))
    return decode_image(data, kind, runtime.settings)


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


async def gather_inputs(runtime: Runtime, ctx: DeviceContext, ready: _Ready) -> _Gathered:
    """Collect the frozen inputs, including the images the integrator gave by URL."""
    gathered = await asyncio.to_thread(_stored_inputs, runtime, ctx, ready)
    inputs, given = gathered.inputs, ready.given
    budget = RequestBudget.from_settings(runtime.settings)
    if ctx.scheme.card_by_url:
        (inputs.front, c1), (inputs.back, c2) = await asyncio.gather(
            _fetch_optional(runtime, given.get("IdCardFrontImageUrl"), "IdCardFrontImageUrl", 8, budget),
            _fetch_optional(runtime, given.get("IdCardBackImageUrl"), "IdCardBackImageUrl", 8, budget),
        )
        inputs.unavailable += [c for c in (c1, c2) if c]
    if ctx.scheme.retained_photo and inputs.retained is None:
        inputs.retained, c3 = await _fetch_optional(
            runtime, given.get("FaceRetainedImageUrl"), "FaceRetainedImageUrl", 10, budget
        )
        inputs.unavailable += [c for c in (c3,) if c]
    return gathered


async def submit(
    runtime: Runtime, ctx: DeviceContext, req: SubmitRequest, *, deps: DecisionModels | None = None
) -> DeviceAnswer:
    """Decide the attempt from its capture; a repeated submit returns the stored answer. ``deps``: what
    the decision runs on (default: the runtime's models and authorities; tests pass fakes)."""
    if ctx.decided:
        return answer_for(runtime, ctx, ctx.attempt)
    ready = await asyncio.to_thread(_ready, runtime, ctx, req)
    await asyncio.to_thread(_freeze, runtime, ctx, ready.challenge)
    index = ContentIndex(runtime) if runtime.settings.content_replay_check else None
    deps = deps or DecisionModels(runtime.models, runtime.authorities, runtime.settings, replay_index=index)
    ttl = timedelta(seconds=runtime.settings.result_token_ttl_s)

    def work(gathered: _Gathered) -> Attempt:
        with CPU_SLOTS:
            outcome = evaluate(deps, gathered.inputs, china_today())
            expires = utcnow() + ttl
            token = make_result_token(runtime.crypto, ctx.biz_id, outcome.visible_status, expires)
            target = replace(gathered.target, result_token=(token, expires))
            return record(runtime, ctx.scene, gathered.inputs, outcome, target)

    try:
        attempt = await asyncio.to_thread(work, await gather_inputs(runtime, ctx, ready))
    except ServiceError:
        await asyncio.to_thread(_release, runtime, ctx)
        raise
    except Exception:
        # The attempt stays pending with its uploads; the challenge is spent, so the device takes a new one.
        log.exception("device decision failed (attempt %s)", ctx.attempt.id)
        await asyncio.to_thread(_release, runtime, ctx)
        raise DecisionFailed("the decision could not be made; take a new challenge and try again") from None
    return answer_for(runtime, ctx, attempt)


def cancel(runtime: Runtime, ctx: DeviceContext) -> DeviceAnswer:
    """The user gave up: nothing is decided (VerifyStatus stays -1); the token can still be used."""
    if ctx.decided:
        return answer_for(runtime, ctx, ctx.attempt)
    return DeviceAnswer(-1, ctx.biz_id, None)
