"""Scenes, AccessKeys and tenants as the console manages them: what ``shiren scene`` and ``shiren accesskey``
do, for a signed-in admin (their own tenant) or operator (the tenant they name).

Every use case requires MANAGE (the tenant list for select boxes: MANAGE or AUDIT), and every change
writes its audit event in the same transaction as the change it records (who, from where, what changed;
never a secret). Another tenant's scene or key is "not found",
exactly as a missing one. A secret (a scene's callback secret, an AccessKeySecret) is returned once, by the
call that made it; no call here reads one back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shiren.domain.roles import Actor, Forbidden, Permission
from shiren.runtime import Runtime
from shiren.services.errors import Conflict, Invalid, NotFound
from shiren.storage.models import AccessKey, Scene, Tenant
from shiren.storage.repo import audit
from shiren.storage.repo import scenes as scene_repo
from shiren.storage.repo import tenants as tenant_repo

TENANT_NAME_RE = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
LIST_CAP = 1000


@dataclass(frozen=True)
class TenantChoice:
    """A tenant as a select box offers it."""

    id: int
    name: str


@dataclass(frozen=True)
class KeyView:
    """An AccessKey without its secret."""

    id: str
    tenant_id: int
    tenant: str
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class SceneSettings:
    """What the console sets on a scene (``shiren scene create``'s options); BizType and scheme are fixed
    once the scene exists. ``None`` and empty mean the default: the installation's media retention, the
    default thresholds (``domain.decision``), the whole default pool of actions, two actions, no review
    band."""

    name: str = ""
    authority: str = "none"
    callback_url: str | None = None
    redirect_origins: tuple[str, ...] = ()
    retention_days: int | None = None  # at creation, None: the installation's default
    media_retention_days: int | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    liveness_actions: tuple[str, ...] = ()
    liveness_count: int | None = None
    liveness_timed: bool = True
    review_face_from: float | None = None
    review_card_confidence_below: float | None = None


SETTING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SceneSettings))


def _settings_of(scene: Scene) -> SceneSettings:
    liveness = scene.liveness or {}
    review = scene.review or {}
    return SceneSettings(
        name=scene.name,
        authority=scene.authority,
        callback_url=scene.callback_url,
        redirect_origins=tuple(scene.redirect_origins or ()),
        retention_days=scene.retention_days,
        media_retention_days=scene.media_retention_days,
        thresholds=dict(scene.thresholds or {}),
        liveness_actions=tuple(liveness.get("actions") or ()),
        liveness_count=liveness.get("count"),
        liveness_timed=liveness.get("timed", True) is not False,
        review_face_from=review.get("face_from"),
        review_card_confidence_below=review.get("card_confidence_below"),
    )


def _liveness(s: SceneSettings) -> dict[str, Any]:
    return {
        "actions": list(s.liveness_actions) or None,
        "count": s.liveness_count,
        "timed": None if s.liveness_timed else False,
    }


def _review(s: SceneSettings) -> dict[str, Any]:
    return {"face_from": s.review_face_from, "card_confidence_below": s.review_card_confidence_below}


def _safe_url(url: str | None) -> str | None:
    """A callback URL as the audit trail keeps it: its origin only (the path or query may hold a token)."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _audited(name: str, value: Any) -> Any:
    if name == "callback_url":
        return _safe_url(value)
    return list(value) if isinstance(value, tuple) else value


def scene_view(scene: Scene, tenant: str) -> dict[str, Any]:
    """The scene as ``shiren scene show`` prints it, plus what the console needs to link and sort it."""
    view = scene_repo.scene_view(scene, tenant)
    view.update(
        Id=scene.id,
        TenantId=scene.tenant_id,
        CreatedAt=scene.created_at,
        UpdatedAt=scene.updated_at,
        Settings=_settings_of(scene),
    )
    return view


def _scope(actor: Actor, tenant_id: int | None) -> int | None:
    """The tenant a list shows: an admin's own (another named: not found); an operator's choice (None:
    every tenant)."""
    actor.require(Permission.MANAGE)
    if actor.can(Permission.ALL_TENANTS):
        return tenant_id
    if tenant_id is not None and tenant_id != actor.tenant_id:
        raise NotFound("no such tenant", field="tenant")
    return actor.tenant_id


def _tenant(session: Session, actor: Actor, tenant_id: int | None) -> Tenant:
    """The tenant a change is made in: an admin's own, or the one an operator names."""
    scoped = _scope(actor, tenant_id)
    if scoped is None:
        raise Invalid("tenant", "choose the tenant")
    tenant = session.get(Tenant, scoped)
    if tenant is None:
        raise NotFound("no such tenant", field="tenant")
    return tenant


def list_tenants(runtime: Runtime, actor: Actor) -> list[TenantChoice]:
    """The tenants the actor sees (an operator: every one; anyone else: their own), by name."""
    if not (actor.can(Permission.MANAGE) or actor.can(Permission.AUDIT)):
        raise Forbidden(f"the {actor.role} role may not do this (manage)")
    query = select(Tenant.id, Tenant.name).order_by(Tenant.name).limit(LIST_CAP)
    if not actor.can(Permission.ALL_TENANTS):
        query = query.where(Tenant.id == actor.tenant_id)
    with runtime.sessions() as session:
        return [TenantChoice(i, n) for i, n in session.execute(query)]


def tenant_choice(runtime: Runtime, actor: Actor, tenant_id: int | None) -> TenantChoice:
    """The tenant a change would be made in (see ``create_scene``), checked."""
    with runtime.sessions() as session:
        tenant = _tenant(session, actor, tenant_id)
        return TenantChoice(tenant.id, tenant.name)


def create_tenant(runtime: Runtime, actor: Actor, name: str) -> TenantChoice:
    """A new tenant (operators only; ``shiren accesskey create --tenant NEW`` makes one too)."""
    actor.require(Permission.MANAGE)
    actor.require(Permission.ALL_TENANTS)
    name = (name or "").strip()
    if not TENANT_NAME_RE.match(name):
        raise Invalid("name", "1-64 letters, digits or _ . @ -")
    try:
        with runtime.sessions() as session, session.begin():
            if tenant_repo.find_tenant(session, name) is not None:
                raise Conflict(f"a tenant {name} exists already")
            tenant = tenant_repo.get_or_create_tenant(session, name)
            audit.record(session, "tenant.create", name, tenant_id=tenant.id, remote=actor.remote,
                         actor=actor.label)  # fmt: skip
            return TenantChoice(tenant.id, tenant.name)
    except IntegrityError:
        raise Conflict(f"a tenant {name} exists already") from None


# Scenes


def list_scenes(runtime: Runtime, actor: Actor, tenant_id: int | None = None) -> list[dict[str, Any]]:
    """The scenes of the actor's tenant (an operator: of ``tenant_id``, or of every tenant), oldest first,
    disabled ones included."""
    scoped = _scope(actor, tenant_id)
    query = select(Scene, Tenant.name).join(Tenant, Tenant.id == Scene.tenant_id)
    if scoped is not None:
        query = query.where(Scene.tenant_id == scoped)
    with runtime.sessions() as session:
        rows = session.execute(query.order_by(Scene.id).limit(LIST_CAP))
        return [scene_view(scene, name) for scene, name in rows]


def _scene(session: Session, actor: Actor, scene_pk: int) -> tuple[Scene, Tenant]:
    actor.require(Permission.MANAGE)
    scene = session.get(Scene, scene_pk)
    if scene is None or not actor.sees_tenant(scene.tenant_id):
        raise NotFound("no such scene")
    tenant = session.get(Tenant, scene.tenant_id)
    assert tenant is not None
    return scene, tenant


def get_scene(runtime: Runtime, actor: Actor, scene_pk: int) -> dict[str, Any]:
    """One scene of the actor's tenant by its row id (the console's link), without its secret."""
    with runtime.sessions() as session:
        scene, tenant = _scene(session, actor, scene_pk)
        return scene_view(scene, tenant.name)


def _settings(base: SceneSettings, given: dict[str, Any]) -> SceneSettings:
    unknown = sorted(set(given) - set(SETTING_FIELDS))
    if unknown:
        raise Invalid(unknown[0], "not a scene setting")
    given = dict(given)
    for name in ("redirect_origins", "liveness_actions"):
        if name in given:
            given[name] = tuple(given[name] or ())
    if "thresholds" in given:
        given["thresholds"] = dict(given["thresholds"] or {})
    if "callback_url" in given:
        given["callback_url"] = (given["callback_url"] or "").strip() or None
    return replace(base, **given)


def create_scene(
    runtime: Runtime, actor: Actor, tenant_id: int | None, biz_type: str, scheme: str, **settings: Any
) -> tuple[dict[str, Any], str]:
    """A new scene of the actor's tenant (an operator names ``tenant_id``) with ``SceneSettings``'
    keywords; returns its view and its callback secret, shown this once."""
    actor.require(Permission.MANAGE)
    wanted = _settings(SceneSettings(), settings)
    retention = wanted.retention_days
    try:
        with runtime.sessions() as session, session.begin():
            tenant = _tenant(session, actor, tenant_id)
            scene = scene_repo.create_scene(
                session,
                runtime.crypto,
                tenant.id,
                (biz_type or "").strip(),
                scheme,
                name=wanted.name.strip(),
                authority=wanted.authority,
                callback_url=wanted.callback_url or None,
                redirect_origins=list(wanted.redirect_origins),
                thresholds=wanted.thresholds,
                retention_days=runtime.settings.default_retention_days if retention is None else retention,
                media_retention_days=wanted.media_retention_days,
                liveness=_liveness(wanted),
                review=_review(wanted),
            )
            made = _settings_of(scene)
            default = SceneSettings()
            chosen = {
                name: _audited(name, getattr(made, name))
                for name in SETTING_FIELDS
                if name != "name" and getattr(made, name) != getattr(default, name)
            }
            audit.record(
                session, "scene.create", scene.biz_type, tenant_id=tenant.id, remote=actor.remote,
                actor=actor.label, detail={"scheme": scene.scheme, "scene_id": scene.scene_id,
                                           "settings": chosen},
            )  # fmt: skip
            return scene_view(scene, tenant.name), scene_repo.scene_secret(runtime.crypto, scene)
    except scene_repo.SceneError as exc:
        raise Invalid(exc.field, str(exc)) from None
    except IntegrityError:
        raise Conflict(f"scene {biz_type} already exists") from None


def _apply(session: Session, scene: Scene, before: SceneSettings, wanted: SceneSettings) -> None:
    """Set on ``scene`` the settings that differ (storage checks each one)."""

    def differs(*names: str) -> bool:
        return any(getattr(before, n) != getattr(wanted, n) for n in names)

    changes: dict[str, Any] = {}
    if differs("name"):
        changes["name"] = wanted.name.strip() or scene.biz_type
    if differs("authority"):
        changes["authority"] = wanted.authority
    if differs("callback_url"):
        changes["callback_url"] = wanted.callback_url or ""  # "" removes it
    if differs("redirect_origins"):
        changes["redirect_origins"] = list(wanted.redirect_origins)
    if differs("retention_days"):
        if wanted.retention_days is None:
            raise Invalid("RetentionDays", "retention must be a whole number of days, 0 or more")
        changes["retention_days"] = wanted.retention_days
    if differs("media_retention_days"):
        if wanted.media_retention_days is None:
            scene.media_retention_days = None  # back to the installation's default
        else:
            changes["media_retention_days"] = wanted.media_retention_days
    if differs("thresholds"):
        scene.thresholds = {}  # replaced, not merged: a threshold left out is the default again
        changes["thresholds"] = wanted.thresholds
    if differs("liveness_actions", "liveness_count", "liveness_timed"):
        scene.liveness = {}
        changes["liveness"] = _liveness(wanted)
    if differs("review_face_from", "review_card_confidence_below"):
        changes["review"] = _review(wanted)
    scene_repo.update_scene(session, scene, **changes)


def update_scene(
    runtime: Runtime, actor: Actor, scene_pk: int, *, enabled: bool | None = None, **changes: Any
) -> dict[str, Any]:
    """Change a scene of the actor's tenant: ``changes`` are ``SceneSettings``' keywords (those given are
    set, the others kept); ``enabled`` disables or enables it. Audited as ``scene.update`` with each
    setting's old and new value, and ``scene.disable`` / ``scene.enable``."""
    try:
        with runtime.sessions() as session, session.begin():
            scene, tenant = _scene(session, actor, scene_pk)
            before = _settings_of(scene)
            wanted = _settings(before, changes)
            _apply(session, scene, before, wanted)
            after = _settings_of(scene)
            changed = {
                name: {
                    "from": _audited(name, getattr(before, name)),
                    "to": _audited(name, getattr(after, name)),
                }
                for name in SETTING_FIELDS
                if getattr(before, name) != getattr(after, name)
            }
            if changed:
                audit.record(
                    session, "scene.update", scene.biz_type, tenant_id=tenant.id, remote=actor.remote,
                    actor=actor.label, detail={"scene_id": scene.scene_id, "changes": changed},
                )  # fmt: skip
            if enabled is not None and bool(enabled) != scene.enabled:
                scene_repo.update_scene(session, scene, enabled=bool(enabled))
                audit.record(
                    session, "scene.enable" if enabled else "scene.disable", scene.biz_type,
                    tenant_id=tenant.id, remote=actor.remote, actor=actor.label,
                    detail={"scene_id": scene.scene_id},
                )  # fmt: skip
            return scene_view(scene, tenant.name)
    except scene_repo.SceneError as exc:
        raise Invalid(exc.field, str(exc)) from None


# AccessKeys


def _key_view(key: AccessKey, tenant: str) -> KeyView:
    return KeyView(key.id, key.tenant_id, tenant, key.enabled, key.created_at, key.disabled_at)


def list_keys(runtime: Runtime, actor: Actor, tenant_id: int | None = None) -> list[KeyView]:
    """The AccessKeys of the actor's tenant (an operator: of ``tenant_id``, or of every tenant), oldest
    first, without their secrets."""
    scoped = _scope(actor, tenant_id)
    query = select(AccessKey, Tenant.name).join(Tenant, Tenant.id == AccessKey.tenant_id)
    if scoped is not None:
        query = query.where(AccessKey.tenant_id == scoped)
    with runtime.sessions() as session:
        rows = session.execute(query.order_by(AccessKey.created_at, AccessKey.id).limit(LIST_CAP))
        return [_key_view(key, name) for key, name in rows]


def create_key(runtime: Runtime, actor: Actor, tenant_id: int | None = None) -> tuple[str, str]:
    """A new AccessKey of the actor's tenant (an operator names ``tenant_id``): its id, and its secret,
    shown this once."""
    with runtime.sessions() as session, session.begin():
        tenant = _tenant(session, actor, tenant_id)
        made = tenant_repo.create_access_key(session, runtime.crypto, tenant.name)
        audit.record(session, "accesskey.create", made.access_key_id, tenant_id=tenant.id,
                     remote=actor.remote, actor=actor.label)  # fmt: skip
        return made.access_key_id, made.secret


def disable_key(runtime: Runtime, actor: Actor, key_id: str) -> KeyView:
    """Disable an AccessKey of the actor's tenant: signed calls with it are refused from now on. A key
    disabled already stays so, and nothing is recorded again."""
    actor.require(Permission.MANAGE)
    with runtime.sessions() as session, session.begin():
        key = session.get(AccessKey, (key_id or "").strip()[:64])
        if key is None or not actor.sees_tenant(key.tenant_id):
            raise NotFound("no such AccessKey")
        tenant = session.get(Tenant, key.tenant_id)
        assert tenant is not None
        if key.enabled:
            tenant_repo.disable_access_key(session, key.id)
            audit.record(session, "accesskey.disable", key.id, tenant_id=key.tenant_id, remote=actor.remote,
                         actor=actor.label)  # fmt: skip
        session.flush()
        return _key_view(key, tenant.name)
