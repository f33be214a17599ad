"""CreateVerifySetting, DescribeVerifySetting, UpdateVerifySetting: scenes over the signed API."""

from __future__ import annotations

from typing import Any

from shiren.api.rpc.actions.common import load_scene
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.errors import RpcError, invalid
from shiren.storage.repo.scenes import (
    SceneError,
    create_scene,
    get_scene,
    list_scenes,
    scene_view,
    update_scene,
)

_STEP_PARAMS = {"GuideStep": "guide", "PrivacyStep": "privacy", "ResultStep": "result"}
_ALIBABA_FIELDS = ("BizType", "BizName", "Solution", "StepList")


def _steps(ctx: RpcContext) -> dict[str, bool]:
    return {
        key: value for param, key in _STEP_PARAMS.items() if (value := ctx.optional_bool(param)) is not None
    }


def _public(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in _ALIBABA_FIELDS}


def create_verify_setting(ctx: RpcContext) -> dict[str, Any]:
    biz_type = ctx.required("BizType", 64)
    solution = ctx.required("Solution", 32)
    biz_name = ctx.optional("BizName", 128) or biz_type
    runtime = ctx.runtime
    try:
        with runtime.sessions() as session, session.begin():
            if get_scene(session, ctx.tenant_id, biz_type) is not None:
                raise RpcError(
                    400,
                    "InvalidParameter",
                    f"BizType: scene {biz_type!r} already exists.",
                    "Use UpdateVerifySetting to change it.",
                )
            steps = {"guide": True, "privacy": True, "result": True, **_steps(ctx)}
            scene = create_scene(
                session,
                runtime.crypto,
                ctx.tenant_id,
                biz_type,
                solution,
                name=biz_name,
                steps=steps,
                retention_days=runtime.settings.default_retention_days,
            )
            return _public(scene_view(scene))
    except SceneError as exc:
        raise invalid("Solution" if "scheme" in str(exc) else "BizType", str(exc)) from None


def describe_verify_setting(ctx: RpcContext) -> dict[str, Any]:
    with ctx.runtime.sessions() as session:
        scenes = list_scenes(session, ctx.tenant_id)
        return {"VerifySettingList": [_public(scene_view(s)) for s in scenes]}


def update_verify_setting(ctx: RpcContext) -> dict[str, Any]:
    scene = load_scene(ctx)
    solution = ctx.optional("Solution", 32)
    if solution is not None and solution != scene.scheme:
        raise invalid("Solution", "a scene's scheme cannot change; create a new scene instead")
    with ctx.runtime.sessions() as session, session.begin():
        scene = session.merge(scene)
        update_scene(session, scene, name=ctx.optional("BizName", 128), steps=_steps(ctx) or None)
        return _public(scene_view(scene))
