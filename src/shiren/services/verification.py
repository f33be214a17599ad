"""Starting a verification (DescribeVerifyToken) and reading its latest result (DescribeVerifyResult).

The protocol reads and checks the form of each input; the rules that depend on the scene live here: which
inputs its scheme requires, where its browsers may be sent afterwards, how long its results are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shiren.domain.redirects import RedirectRefused, check_redirect
from shiren.domain.schemes import get_scheme
from shiren.runtime import Runtime
from shiren.services.errors import Expired, Invalid, Missing
from shiren.services.limits import check_failure_limits
from shiren.storage.models import Attempt, Scene, utcnow
from shiren.storage.repo.tasks import latest_attempt, start_attempt

_IDENTITY = ("Name", "IdCardNumber")
_REDIRECTS = ("PassedRedirectUrl", "FailedRedirectUrl")


@dataclass(frozen=True)
class TokenRequest:
    """What the integrator's server sends to start an attempt; URLs are already known to be http(s)."""

    scene: Scene
    biz_id: str
    name: str | None = None
    id_number: str | None = None
    id_front_url: str | None = None
    id_back_url: str | None = None
    retained_face_url: str | None = None
    user_id: str | None = None
    user_ip: str | None = None
    user_phone: str | None = None
    user_regist_time: int | None = None
    passed_redirect_url: str | None = None
    failed_redirect_url: str | None = None
    callback_url: str | None = None
    callback_seed: str | None = None


@dataclass(frozen=True)
class TokenGrant:
    """A started attempt: its VerifyToken, which is also the device's only credential, and until when."""

    token: str
    expires_at: datetime
    upload_secret: str  # bound to the token; stands where a storage credential's secret stood
    hosted_page: bool  # the user verifies on shiren's own H5 page, not in the integrator's app


def _named(req: TokenRequest) -> dict[str, Any]:
    """The inputs under the names schemes require them by, which are also those the attempt stores."""
    return {
        "Name": req.name,
        "IdCardNumber": req.id_number,
        "IdCardFrontImageUrl": req.id_front_url,
        "IdCardBackImageUrl": req.id_back_url,
        "FaceRetainedImageUrl": req.retained_face_url,
        "UserId": req.user_id,
        "UserIp": req.user_ip,
        "UserPhoneNumber": req.user_phone,
        "UserRegistTime": req.user_regist_time,
        "PassedRedirectUrl": req.passed_redirect_url,
        "FailedRedirectUrl": req.failed_redirect_url,
    }


def _check_redirect(field: str, url: str | None, allowed: list[str]) -> None:
    if url is None:
        return
    try:
        check_redirect(url, allowed)
    except RedirectRefused as exc:
        hint = " (add it with --redirect-origin)" if exc.origin else ""
        raise Invalid(field, exc.reason + hint) from None


def start_verification(runtime: Runtime, req: TokenRequest) -> TokenGrant:
    """A new attempt for ``req.biz_id``; each call starts another, and the latest one is the result."""
    scheme = get_scheme(req.scene.scheme)
    if not scheme.live:
        raise Invalid(
            "BizType", f"{scheme.name} scenes are verified with VerifyMaterial, not DescribeVerifyToken"
        )
    named = _named(req)
    for field in scheme.token_required:
        if not named.get(field):
            raise Missing(field)
    for field in _REDIRECTS:
        _check_redirect(field, named[field], req.scene.redirect_origins)
    check_failure_limits(runtime, req.scene, req.biz_id, req.id_number)
    # Name and number are stored encrypted apart from the other inputs.
    inputs = {k: v for k, v in named.items() if v is not None and k not in _IDENTITY}
    with runtime.sessions() as session, session.begin():
        attempt = start_attempt(
            session,
            runtime.crypto,
            req.scene,
            req.biz_id,
            ttl=timedelta(seconds=runtime.settings.verify_token_ttl_s),
            name=req.name,
            id_number=req.id_number,
            inputs=inputs,
            callback_url=req.callback_url,
            callback_seed=req.callback_seed,
        )
        token, expires_at = attempt.verify_token, attempt.expires_at
    return TokenGrant(
        token=token,
        expires_at=expires_at,
        upload_secret=runtime.crypto.sign(f"upload\x00{token}"),
        hosted_page=scheme.hosted_page,
    )


def latest_result(runtime: Runtime, scene: Scene, biz_id: str) -> Attempt | None:
    """The latest attempt for ``biz_id`` (None when there is none); Expired once its data was erased."""
    with runtime.sessions() as session:
        attempt = latest_attempt(session, scene, biz_id)
    if attempt is not None and (
        attempt.state == "erased" or attempt.created_at < utcnow() - timedelta(days=scene.retention_days)
    ):
        raise Expired("The verification data has passed its retention period and was erased.")
    return attempt
