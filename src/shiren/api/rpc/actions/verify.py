"""DescribeVerifyToken and DescribeVerifyResult: start an attempt, read the latest result."""

from __future__ import annotations

from typing import Any

from shiren.api.rpc.actions.common import BIZ_ID_MAX, http_url, load_scene
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.views import result_view, token_view
from shiren.services.verification import TokenRequest, latest_result, start_verification


def describe_verify_token(ctx: RpcContext) -> dict[str, Any]:
    req = TokenRequest(
        scene=load_scene(ctx),
        biz_id=ctx.required("BizId", BIZ_ID_MAX),
        name=ctx.optional("Name", 64),
        id_number=ctx.optional("IdCardNumber", 32),
        id_front_url=http_url(ctx, "IdCardFrontImageUrl"),
        id_back_url=http_url(ctx, "IdCardBackImageUrl"),
        retained_face_url=http_url(ctx, "FaceRetainedImageUrl"),
        user_id=ctx.optional("UserId", 128),
        user_ip=ctx.optional("UserIp", 128),
        user_phone=ctx.optional("UserPhoneNumber", 128),
        user_regist_time=ctx.optional_int("UserRegistTime"),
        passed_redirect_url=http_url(ctx, "PassedRedirectUrl"),
        failed_redirect_url=http_url(ctx, "FailedRedirectUrl"),
        callback_url=http_url(ctx, "CallbackUrl"),
        callback_seed=ctx.optional("CallbackSeed", 256),
    )
    return token_view(ctx.runtime, start_verification(ctx.runtime, req))


def describe_verify_result(ctx: RpcContext) -> dict[str, Any]:
    scene = load_scene(ctx)
    biz_id = ctx.required("BizId", BIZ_ID_MAX)
    return result_view(ctx.runtime, latest_result(ctx.runtime, scene, biz_id))
