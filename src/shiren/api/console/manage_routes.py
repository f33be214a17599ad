"""The console's management and audit pages: scenes, access keys, console users, the audit trail.

Thin handlers, as in ``routes.py``: each reads its form or query, calls one use case of
``services.console.manage``, ``accounts`` or ``audit_search`` in the thread pool (they check the role and
the tenant), and renders one template. A secret made by a POST (a scene's callback secret, an
AccessKeySecret, a one-time password) is rendered by that POST's own answer, never put in a URL, and never
shown again; every page is sent with ``Cache-Control: no-store``. A scene or user form refused for one
field is shown again with what was typed and the error next to it.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shiren.api.console.web import PREFIX, Guard, Page, redirect
from shiren.domain.challenge import ACTIONS, DEFAULT_COUNT, KNOWN_ACTIONS
from shiren.domain.decision import DEFAULT_THRESHOLDS, THRESHOLD_NAMES
from shiren.domain.roles import ROLES, TENANT_ROLES, Permission
from shiren.domain.schemes import AUTHORITIES, SCHEMES
from shiren.runtime import Runtime
from shiren.services.console import accounts, audit_search, manage
from shiren.services.errors import Conflict, Invalid

# The input each refused setting points at (storage names the setting; the form names the input).
FIELD_INPUTS = {
    "BizType": "biz_type",
    "Solution": "scheme",
    "Authority": "authority",
    "CallbackUrl": "callback_url",
    "RedirectOrigins": "redirect_origins",
    "RetentionDays": "retention_days",
    "MediaRetentionDays": "media_retention_days",
    "Thresholds": f"threshold_{THRESHOLD_NAMES[0]}",
    "Liveness": "liveness_count",
    "Review": "review_face_from",
}
# Prefixes offered by the audit page's action field (it accepts any prefix).
AUDIT_ACTIONS = (
    "console.",
    "console.login",
    "console.login_failed",
    "case.",
    "case.view",
    "case.media",
    "case.review",
    "case.override",
    "records.export",
    "scene.",
    "accesskey.",
    "user.",
    "tenant.create",
)


def _int(value: str | None, field: str) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid(field, "must be a whole number") from None


def _float(value: str | None, field: str) -> float | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(field, "must be a number") from None


def _day(value: str | None, field: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(field, "a date is YYYY-MM-DD") from None


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def scene_changes(form: dict[str, str]) -> dict[str, Any]:
    """The scene form's settings, as ``manage.create_scene`` / ``update_scene`` take them."""
    thresholds: dict[str, float] = {}
    for name in THRESHOLD_NAMES:
        value = _float(form.get(f"threshold_{name}"), f"threshold_{name}")
        if value is not None:
            thresholds[name] = value
    origins = [line.strip() for line in form.get("redirect_origins", "").splitlines() if line.strip()]
    return {
        "name": form.get("name", "").strip(),
        "authority": form.get("authority", "none"),
        "callback_url": form.get("callback_url", "").strip() or None,
        "redirect_origins": origins,
        "retention_days": _int(form.get("retention_days"), "retention_days"),
        "media_retention_days": _int(form.get("media_retention_days"), "media_retention_days"),
        "thresholds": thresholds,
        "liveness_actions": [a for a in KNOWN_ACTIONS if form.get(f"action_{a}")],
        "liveness_count": _int(form.get("liveness_count"), "liveness_count"),
        "liveness_timed": not form.get("untimed"),
        "review_face_from": _float(form.get("review_face_from"), "review_face_from"),
        "review_card_confidence_below": _float(
            form.get("review_card_confidence_below"), "review_card_confidence_below"
        ),
    }


def scene_values(settings: manage.SceneSettings) -> dict[str, str]:
    """A scene's settings as the form shows them (the same names ``scene_changes`` reads)."""
    values = {
        "name": settings.name,
        "authority": settings.authority,
        "callback_url": settings.callback_url or "",
        "redirect_origins": "\n".join(settings.redirect_origins),
        "retention_days": _num(settings.retention_days),
        "media_retention_days": _num(settings.media_retention_days),
        "liveness_count": _num(settings.liveness_count),
        "untimed": "" if settings.liveness_timed else "1",
        "review_face_from": _num(settings.review_face_from),
        "review_card_confidence_below": _num(settings.review_card_confidence_below),
    }
    for name in THRESHOLD_NAMES:
        values[f"threshold_{name}"] = _num(settings.thresholds.get(name))
    for action in settings.liveness_actions:
        values[f"action_{action}"] = "1"
    return values


def _refused(exc: Invalid | Conflict) -> dict[str, Any]:
    """The context that shows a refused form's error next to its field."""
    field = getattr(exc, "field", None) or ""
    return {
        "error": exc.message,
        "error_field": FIELD_INPUTS.get(field, field),
        "status_code": 409 if isinstance(exc, Conflict) else 400,
    }


def add_manage_routes(router: APIRouter, runtime: Runtime, guard: Guard) -> None:
    """Adds the management pages to the console's router (they need MANAGE or AUDIT)."""

    def operator(page: Page) -> bool:
        return page.actor.can(Permission.ALL_TENANTS)

    async def tenants_of(page: Page) -> list[manage.TenantChoice]:
        if not operator(page):
            return []
        return await run_in_threadpool(manage.list_tenants, runtime, page.actor)

    def scene_context() -> dict[str, Any]:
        return {
            "schemes": sorted(SCHEMES),
            "authorities": AUTHORITIES,
            "known_actions": KNOWN_ACTIONS,
            "default_actions": ACTIONS,
            "default_count": DEFAULT_COUNT,
            "threshold_names": THRESHOLD_NAMES,
            "default_thresholds": DEFAULT_THRESHOLDS,
            "default_retention": runtime.settings.default_retention_days,
            "default_media_retention": runtime.settings.default_media_retention_days,
        }

    # Scenes

    async def scenes_page(page: Page, **refused: Any) -> Response:
        tenant = _int(page.request.query_params.get("tenant"), "tenant") if operator(page) else None
        scenes = await run_in_threadpool(manage.list_scenes, runtime, page.actor, tenant)
        values = (
            dict(page.form) if refused else {"retention_days": str(runtime.settings.default_retention_days)}
        )
        return page.render(
            "scenes.html",
            scenes=scenes,
            tenants=await tenants_of(page),
            tenant=tenant,
            values=values,
            **scene_context(),
            **refused,
        )

    async def scene_create(page: Page) -> Response:
        form = page.form
        try:
            tenant = _int(form.get("tenant"), "tenant") if operator(page) else None
            changes = scene_changes(form)
            view, secret = await run_in_threadpool(
                manage.create_scene,
                runtime,
                page.actor,
                tenant,
                form.get("biz_type", ""),
                form.get("scheme", ""),
                **changes,
            )
        except (Invalid, Conflict) as exc:
            return await scenes_page(page, **_refused(exc))
        return page.render(
            "secret.html",
            heading="Scene created",
            facts=[("BizType", view["BizType"]), ("SceneId", view["SceneId"]), ("Tenant", view["Tenant"])],
            what="Callback secret",
            secret=secret,
            hint="It signs this scene's callbacks when a verification gives no CallbackSeed.",
            links=[(f"{PREFIX}/scenes/{view['Id']}", "Open the scene"), (f"{PREFIX}/scenes", "Scenes")],
        )

    async def scene_page(page: Page, **refused: Any) -> Response:
        scene_pk = int(page.request.path_params["scene_id"])
        view = await run_in_threadpool(manage.get_scene, runtime, page.actor, scene_pk)
        values = dict(page.form) if refused else scene_values(view["Settings"])
        return page.render(
            "scene.html",
            scene=view,
            values=values,
            saved=bool(page.request.query_params.get("saved")) and not refused,
            **scene_context(),
            **refused,
        )

    async def scene_save(page: Page) -> Response:
        scene_pk = int(page.request.path_params["scene_id"])
        try:
            changes = scene_changes(page.form)
            await run_in_threadpool(manage.update_scene, runtime, page.actor, scene_pk, **changes)
        except (Invalid, Conflict) as exc:
            return await scene_page(page, **_refused(exc))
        return redirect(f"{PREFIX}/scenes/{scene_pk}?saved=1")

    async def scene_enabled(page: Page) -> Response:
        scene_pk = int(page.request.path_params["scene_id"])
        enabled = page.form.get("enabled") == "1"
        await run_in_threadpool(manage.update_scene, runtime, page.actor, scene_pk, enabled=enabled)
        return redirect(f"{PREFIX}/scenes/{scene_pk}")

    router.add_api_route("/scenes", guard(scenes_page), methods=["GET"])
    router.add_api_route("/scenes", guard(scene_create), methods=["POST"])
    router.add_api_route("/scenes/{scene_id:int}", guard(scene_page), methods=["GET"])
    router.add_api_route("/scenes/{scene_id:int}", guard(scene_save), methods=["POST"])
    router.add_api_route("/scenes/{scene_id:int}/enabled", guard(scene_enabled), methods=["POST"])

    # AccessKeys and tenants

    async def keys_page(page: Page) -> Response:
        tenant = _int(page.request.query_params.get("tenant"), "tenant") if operator(page) else None
        keys = await run_in_threadpool(manage.list_keys, runtime, page.actor, tenant)
        return page.render("keys.html", keys=keys, tenants=await tenants_of(page), tenant=tenant)

    async def key_create(page: Page) -> Response:
        tenant = _int(page.form.get("tenant"), "tenant") if operator(page) else None
        key_id, secret = await run_in_threadpool(manage.create_key, runtime, page.actor, tenant)
        chosen = await run_in_threadpool(manage.tenant_choice, runtime, page.actor, tenant)
        return page.render(
            "secret.html",
            heading="AccessKey created",
            facts=[("AccessKeyId", key_id), ("Tenant", chosen.name)],
            what="AccessKeySecret",
            secret=secret,
            hint="Your server signs its calls with this AccessKeyId and secret.",
            links=[(f"{PREFIX}/keys", "Access keys")],
        )

    async def key_disable(page: Page) -> Response:
        key_id = page.request.path_params["key_id"]
        await run_in_threadpool(manage.disable_key, runtime, page.actor, key_id)
        return redirect(f"{PREFIX}/keys")

    async def tenant_create(page: Page) -> Response:
        made = await run_in_threadpool(manage.create_tenant, runtime, page.actor, page.form.get("name", ""))
        return redirect(f"{PREFIX}/keys?{urlencode({'tenant': made.id})}")

    router.add_api_route("/keys", guard(keys_page), methods=["GET"])
    router.add_api_route("/keys", guard(key_create), methods=["POST"])
    router.add_api_route("/keys/{key_id}/disable", guard(key_disable), methods=["POST"])
    router.add_api_route("/tenants", guard(tenant_create), methods=["POST"])

    # Console users

    async def users_page(page: Page, **refused: Any) -> Response:
        users = await run_in_threadpool(accounts.list_users, runtime, page.actor)
        return page.render(
            "users.html",
            users=users,
            tenants=await tenants_of(page),
            roles=tuple(ROLES) if operator(page) else TENANT_ROLES,
            tenant_roles=TENANT_ROLES,
            values=dict(page.form) if refused else {},
            **refused,
        )

    async def user_create(page: Page) -> Response:
        form = page.form
        try:
            tenant_id = _int(form.get("tenant"), "tenant") if operator(page) else page.actor.tenant_id
            tenant = None
            if tenant_id is not None:
                chosen = await run_in_threadpool(manage.tenant_choice, runtime, page.actor, tenant_id)
                tenant = chosen.name
            new = await run_in_threadpool(
                accounts.create_user,
                runtime,
                form.get("name", "").strip(),
                form.get("role", ""),
                tenant,
                by=page.actor,
            )
        except (Invalid, Conflict) as exc:
            return await users_page(page, **_refused(exc))
        return page.render(
            "secret.html",
            heading="Console user created",
            facts=[("Name", new.name), ("Role", new.role), ("Tenant", new.tenant or "")],
            what="One-time password",
            secret=new.one_time_password,
            hint="Give it to the user; their first sign-in sets a password of their own.",
            links=[(f"{PREFIX}/users", "Users")],
        )

    async def user_update(page: Page) -> Response:
        user_id = int(page.request.path_params["user_id"])
        enabled = page.form.get("enabled")
        role = page.form.get("role") or None
        await run_in_threadpool(
            accounts.update_user,
            runtime,
            page.actor,
            user_id,
            enabled=None if enabled is None else enabled == "1",
            role=role,
        )
        return redirect(f"{PREFIX}/users")

    async def user_reset(page: Page) -> Response:
        user_id = int(page.request.path_params["user_id"])
        users = await run_in_threadpool(accounts.list_users, runtime, page.actor)
        name = next((u.name for u in users if u.id == user_id), "")
        new = await run_in_threadpool(accounts.reset_password, runtime, page.actor, name)
        return page.render(
            "secret.html",
            heading="Password reset",
            facts=[("Name", new.name), ("Role", new.role), ("Tenant", new.tenant or "")],
            what="One-time password",
            secret=new.one_time_password,
            hint="Give it to the user; their first sign-in sets a password of their own.",
            links=[(f"{PREFIX}/users", "Users")],
        )

    router.add_api_route("/users", guard(users_page), methods=["GET"])
    router.add_api_route("/users", guard(user_create), methods=["POST"])
    router.add_api_route("/users/{user_id:int}", guard(user_update), methods=["POST"])
    router.add_api_route("/users/{user_id:int}/password", guard(user_reset), methods=["POST"])

    # The audit trail

    async def audit_page(page: Page) -> Response:
        query = page.request.query_params
        fields = ("action", "actor", "object", "from", "to", "tenant") if operator(page) else (
            "action", "actor", "object", "from", "to"
        )  # fmt: skip
        values = {k: query.get(k, "").strip() for k in fields}
        before = _int(query.get("before"), "before")
        rows, next_before = await run_in_threadpool(
            audit_search.search_audit,
            runtime,
            page.actor,
            action=values["action"],
            actor_name=values["actor"],
            object_id=values["object"],
            date_from=_day(values["from"], "from"),
            date_to=_day(values["to"], "to"),
            tenant_id=_int(values.get("tenant"), "tenant"),
            before_id=before,
            limit=runtime.settings.console_page_size,
        )
        kept = {k: v for k, v in values.items() if v}
        return page.render(
            "audit.html",
            rows=rows,
            values=values,
            tenants=await tenants_of(page),
            actions=AUDIT_ACTIONS,
            next_url=f"{PREFIX}/audit?{urlencode({**kept, 'before': next_before})}" if next_before else None,
            first_url=f"{PREFIX}/audit?{urlencode(kept)}" if before is not None else None,
        )

    router.add_api_route("/audit", guard(audit_page), methods=["GET"])
