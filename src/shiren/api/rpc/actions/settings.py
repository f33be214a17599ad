"""CreateVerifySetting, DescribeVerifySetting, UpdateVerifySetting: scenes over the signed API."""

from __future__ import annotations

from typing import Any

from shiren.api.rpc.actions.common import load_scene
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.views import setting_view, settings_view
from shiren.services import scenes

_STEP_PARAMS = {"GuideStep": "guide", "PrivacyStep": "privacy", "ResultStep": "result"}


def _steps(ctx: RpcContext) -> dict[str, bool]:
    return {
        key: value for param, key in _STEP_PARAMS.items() if (value := ctx.optional_bool(param)) is not None
    }


def create_verify_setting(ctx: RpcContext) -> dict[str, Any]:
    biz_type = ctx.required("BizType", 64)
    solution = ctx.required("Solution", 32)
    name = ctx.optional("BizName", 128)
    scene = scenes.create_setting(
        ctx.runtime, ctx.tenant_id, biz_type, solution, name=name, steps=_steps(ctx)
    )
    return setting_view(scene)


def describe_verify_setting(ctx: RpcContext) -> dict[str, Any]:
    return settings_view(scenes.list_settings(ctx.runtime, ctx.tenant_id))


def update_verify_setting(ctx: RpcContext) -> dict[str, Any]:
    scene = load_scene(ctx)
    changed = scenes.update_setting(
        ctx.runtime,
        scene,
        scheme=ctx.optional("Solution", 32),
        name=ctx.optional("BizName", 128),
        steps=_steps(ctx),
    )
    return setting_view(changed)
