"""DescribeVerifyToken and DescribeVerifyResult: start an attempt, read the latest result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shiren.api.rpc.actions.common import BIZ_ID_MAX, http_url, load_scene
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.errors import RpcError, invalid
from shiren.domain.schemes import Mode, get_scheme
from shiren.services.results import result_view
from shiren.storage.models import utcnow
from shiren.storage.repo.scenes import redirect_refusal
from shiren.storage.repo.tasks import latest_attempt, start_attempt

IMAGE_PARAMS = ("IdCardFrontImageUrl", "IdCardBackImageUrl", "FaceRetainedImageUrl")
USER_PARAMS = ("UserId", "UserIp", "UserPhoneNumber")


def _redirect(ctx: RpcContext, name: str, allowed: list[str]) -> str | None:
    url = http_url(ctx, name)
    if url is None:
        return None
    refusal = redirect_refusal(url, allowed)
    if refusal and refusal.startswith("origin"):
        raise invalid(name, f"{refusal} (add it with --redirect-origin)")
    if refusal:
        raise invalid(name, refusal)
    return url


def describe_verify_token(ctx: RpcContext) -> dict[str, Any]:
    scene = load_scene(ctx)
    biz_id = ctx.required("BizId", BIZ_ID_MAX)
    scheme = get_scheme(scene.scheme)
    if scheme.mode is Mode.SERVER:
        raise invalid(
            "BizType", f"{scheme.name} scenes are verified with VerifyMaterial, not DescribeVerifyToken"
        )
    for name in scheme.token_required:
        ctx.required(name)
    name = ctx.optional("Name", 64)
    id_number = ctx.optional("IdCardNumber", 32)
    inputs: dict[str, Any] = {p: http_url(ctx, p) for p in IMAGE_PARAMS}
    inputs.update({p: ctx.optional(p, 128) for p in USER_PARAMS})
    inputs["UserRegistTime"] = ctx.optional_int("UserRegistTime")
    inputs["PassedRedirectUrl"] = _redirect(ctx, "PassedRedirectUrl", scene.redirect_origins)
    inputs["FailedRedirectUrl"] = _redirect(ctx, "FailedRedirectUrl", scene.redirect_origins)
    callback_url = http_url(ctx, "CallbackUrl")
    callback_seed = ctx.optional("CallbackSeed", 256)
    settings = ctx.runtime.settings
    with ctx.runtime.sessions() as session, session.begin():
        attempt = start_attempt(
            session,
            ctx.runtime.crypto,
            scene,
            biz_id,
            ttl=timedelta(seconds=settings.verify_token_ttl_s),
            name=name,
            id_number=id_number,
            inputs={k: v for k, v in inputs.items() if v is not None},
            callback_url=callback_url,
            callback_seed=callback_seed,
        )
        token, expires = attempt.verify_token, attempt.expires_at
    base = settings.base_url
    body: dict[str, Any] = {
        "VerifyToken": token,
        "OssUploadToken": {
            # shiren's own upload endpoint stands where Alibaba's OSS bucket stood; the VerifyToken is the
            # credential (no AccessKey on devices).
            "Bucket": "shiren",
            "EndPoint": f"{base}/device/v1",
            "Path": f"attempts/{token}/",
            "Key": token,
            "Secret": ctx.runtime.crypto.sign(f"upload\x00{token}"),
            "Token": token,
            "Expired": int(expires.timestamp() * 1000),
        },
    }
    if scheme.mode is Mode.H5:
        body["VerifyPageUrl"] = f"{base}/h5/v1/verify?token={token}"
    return body


def describe_verify_result(ctx: RpcContext) -> dict[str, Any]:
    scene = load_scene(ctx)
    biz_id = ctx.required("BizId", BIZ_ID_MAX)
    with ctx.runtime.sessions() as session:
        attempt = latest_attempt(session, scene, biz_id)
    if attempt is not None and (
        attempt.state == "erased" or attempt.created_at < utcnow() - timedelta(days=scene.retention_days)
    ):
        raise RpcError(
            410, "DataExpired", "The verification data has passed its retention period and was erased."
        )
    return result_view(ctx.runtime, attempt)
