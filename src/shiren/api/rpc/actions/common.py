"""Checks several actions share."""

from __future__ import annotations

from urllib.parse import urlsplit

from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.errors import RpcError, forbidden, invalid
from shiren.storage.models import Scene
from shiren.storage.repo.scenes import get_scene

BIZ_ID_MAX = 64


def load_scene(ctx: RpcContext) -> Scene:
    """The caller's own scene named by BizType; another tenant's scene is simply not found."""
    biz_type = ctx.required("BizType", 64)
    with ctx.runtime.sessions() as session:
        scene = get_scene(session, ctx.tenant_id, biz_type)
    if scene is None:
        raise RpcError(
            400,
            "InvalidParameter",
            f"BizType: no scene named {biz_type!r} in this account.",
            "Create the scene first (shiren scene create, or CreateVerifySetting).",
        )
    if not scene.enabled:
        raise forbidden(f"BizType: scene {biz_type!r} is disabled.")
    return scene


def http_url(ctx: RpcContext, name: str) -> str | None:
    """An optional http(s) URL parameter; anything else is refused up front."""
    value = ctx.optional(name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(name, "must be an http or https URL")
    if parts.username or parts.password:
        raise invalid(name, "must not carry user credentials")
    return value
