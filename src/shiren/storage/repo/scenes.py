"""Scenes (BizTypes) of a tenant."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiren.domain.challenge import ChallengeSettingError, check_liveness_settings
from shiren.domain.decision import THRESHOLD_NAMES
from shiren.domain.redirects import BadOrigin, normalise_origin
from shiren.domain.review import ReviewBandError, check_review_settings
from shiren.domain.schemes import AUTHORITIES, SCHEMES, get_scheme, step_list
from shiren.storage.crypto import Crypto
from shiren.storage.models import Scene

BIZ_TYPE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class SceneError(ValueError):
    """A scene cannot be created or changed as asked; ``field`` names the setting at fault."""

    def __init__(self, message: str, field: str = "BizType") -> None:
        super().__init__(message)
        self.field = field


def _origins(origins: list[str]) -> list[str]:
    try:
        return [normalise_origin(o) for o in origins]
    except BadOrigin as exc:
        raise SceneError(str(exc), "RedirectOrigins") from None


def _check_thresholds(thresholds: dict[str, float] | None) -> dict[str, float]:
    for name, value in (thresholds or {}).items():
        if name not in THRESHOLD_NAMES:
            raise SceneError(
                f"threshold must be one of {', '.join(THRESHOLD_NAMES)}, got {name!r}", "Thresholds"
            )
        if not 0 <= value <= 100:
            raise SceneError(f"threshold {name} must be on the 0-100 scale", "Thresholds")
    return dict(thresholds or {})


def _check_liveness(liveness: dict[str, Any] | None) -> dict[str, Any]:
    liveness = liveness or {}
    try:
        return check_liveness_settings(liveness.get("actions"), liveness.get("count"), liveness.get("timed"))
    except ChallengeSettingError as exc:
        raise SceneError(str(exc), "Liveness") from None


def _check_review(review: dict[str, Any] | None) -> dict[str, float]:
    try:
        return check_review_settings(review)
    except ReviewBandError as exc:
        raise SceneError(str(exc), "Review") from None


def _check_callback(url: str | None) -> str | None:
    if not url:
        return None
    if urlsplit(url).scheme not in ("http", "https"):
        raise SceneError("callback URL must be http or https", "CallbackUrl")
    return url


def _check_days(days: int | None, field: str) -> int | None:
    """Retention in whole days, 0 or more (0: erased at the worker's next pass after the decision)."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise SceneError("retention must be a whole number of days, 0 or more", field)
    return days


def create_scene(
    session: Session,
    crypto: Crypto,
    tenant_id: int,
    biz_type: str,
    scheme: str,
    *,
    name: str = "",
    authority: str = "none",
    callback_url: str | None = None,
    redirect_origins: list[str] | None = None,
    steps: dict[str, bool] | None = None,
    thresholds: dict[str, float] | None = None,
    retention_days: int = 30,
    media_retention_days: int | None = None,
    liveness: dict[str, Any] | None = None,
    review: dict[str, Any] | None = None,
) -> Scene:
    """A new scene. ``media_retention_days`` None: the installation's default (images are never kept
    longer than the scene's ``retention_days`` either way)."""
    if not BIZ_TYPE_RE.match(biz_type):
        raise SceneError("BizType must be 1-64 characters of letters, digits, '_', '-', '.'")
    if scheme not in SCHEMES:  # a face-verify product is an attempt's scheme, never a scene's
        raise SceneError(f"unknown scheme {scheme!r}; one of {', '.join(SCHEMES)}", "Solution")
    if authority not in AUTHORITIES:
        raise SceneError(f"authority must be one of {', '.join(AUTHORITIES)}", "Authority")
    if get_scene(session, tenant_id, biz_type) is not None:
        raise SceneError(f"scene {biz_type} already exists")
    scene = Scene(
        tenant_id=tenant_id,
        biz_type=biz_type,
        name=name or biz_type,
        scheme=scheme,
        authority=authority,
        callback_url=_check_callback(callback_url),
        redirect_origins=_origins(redirect_origins or []),
        steps=steps or {"guide": True, "privacy": True, "result": True},
        thresholds=_check_thresholds(thresholds),
        retention_days=_check_days(retention_days, "RetentionDays"),
        media_retention_days=_check_days(media_retention_days, "MediaRetentionDays"),
        liveness=_check_liveness(liveness),
        review=_check_review(review),
        secret_enc=crypto.encrypt_field(secrets.token_urlsafe(32), f"scene:{biz_type}"),
    )
    session.add(scene)
    session.flush()
    return scene


def scene_secret(crypto: Crypto, scene: Scene) -> str:
    """The scene's own secret: the HMAC key of its callbacks when the attempt gave no CallbackSeed."""
    secret = crypto.decrypt_field(scene.secret_enc, f"scene:{scene.biz_type}")
    if not secret:
        raise SceneError("scene has no secret")
    return secret


def get_scene(session: Session, tenant_id: int, biz_type: str) -> Scene | None:
    """A scene of this tenant only: another tenant's BizType is unknown here."""
    return session.scalar(select(Scene).where(Scene.tenant_id == tenant_id, Scene.biz_type == biz_type))


def get_scene_by_id(session: Session, tenant_id: int, scene_id: int) -> Scene | None:
    """A scene of this tenant by its numeric SceneId (the face-verify family); another tenant's is unknown."""
    return session.scalar(select(Scene).where(Scene.tenant_id == tenant_id, Scene.scene_id == scene_id))


def list_scenes(session: Session, tenant_id: int | None = None) -> list[Scene]:
    query = select(Scene).order_by(Scene.id)
    if tenant_id is not None:
        query = query.where(Scene.tenant_id == tenant_id)
    return list(session.scalars(query))


def update_scene(session: Session, scene: Scene, **changes: Any) -> Scene:
    for key, value in changes.items():
        if value is None:
            continue
        if key == "name":
            scene.name = value
        elif key == "steps":
            scene.steps = {**scene.steps, **value}
        elif key == "authority":
            if value not in AUTHORITIES:
                raise SceneError(f"authority must be one of {', '.join(AUTHORITIES)}", "Authority")
            scene.authority = value
        elif key == "callback_url":
            scene.callback_url = _check_callback(value)
        elif key == "redirect_origins":
            scene.redirect_origins = _origins(value)
        elif key == "thresholds":
            scene.thresholds = {**scene.thresholds, **_check_thresholds(value)}
        elif key == "liveness":
            scene.liveness = _check_liveness({**(scene.liveness or {}), **value})
        elif key == "review":  # replaces the band: {} removes it
            scene.review = _check_review(value)
        elif key == "retention_days":
            scene.retention_days = _check_days(value, "RetentionDays")
        elif key == "enabled":
            scene.enabled = bool(value)
        elif key == "media_retention_days":
            scene.media_retention_days = _check_days(value, "MediaRetentionDays")
        else:
            raise SceneError(f"unknown scene setting {key}")
    session.flush()
    return scene


def scene_view(scene: Scene, tenant: str | None = None) -> dict[str, Any]:
    """The scene as the API and the command line show it (Alibaba's field names first)."""
    view: dict[str, Any] = {
        "BizType": scene.biz_type,
        "SceneId": scene.scene_id,  # the face-verify family's name of the same scene
        "BizName": scene.name,
        "Solution": scene.scheme,
        "StepList": step_list(get_scheme(scene.scheme), **scene.steps),
        "Authority": scene.authority,
        "CallbackUrl": scene.callback_url,
        "RedirectOrigins": list(scene.redirect_origins),
        "Thresholds": dict(scene.thresholds),
        "RetentionDays": scene.retention_days,
        "MediaRetentionDays": scene.media_retention_days,  # None: the installation's default
        "Liveness": dict(scene.liveness or {}),
        "Review": dict(scene.review or {}),
        "Enabled": scene.enabled,
    }
    if tenant is not None:
        view["Tenant"] = tenant
    return view
