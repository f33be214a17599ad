"""Parameters several actions read the same way."""

from __future__ import annotations

from urllib.parse import urlsplit

from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.errors import invalid
from shiren.services import scenes
from shiren.storage.models import Scene

BIZ_ID_MAX = 64


def load_scene(ctx: RpcContext) -> Scene:
    """The caller's own enabled scene named by BizType (services.scenes says why not, if not)."""
    return scenes.load_scene(ctx.runtime, ctx.tenant_id, ctx.required("BizType", 64))


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
