"""The face-verify family's actions (FACEVERIFY.md): read the wire parameters, call the use case, shape the
answer. Every refusal is an HTTP 200 with a business Code (api/rpc/face_errors.py)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from shiren.api.rpc.actions.common import http_url
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.errors import RpcError, invalid
from shiren.api.rpc.face_errors import (
    FaceVerifyRefusal,
    from_intake_error,
    from_rpc_error,
    from_service_error,
)
from shiren.api.rpc.face_views import envelope, verdict_view
from shiren.domain.faceverify import AUTHORITY_DOWN, DEFAULT_MODEL, sub_code
from shiren.domain.metainfo import InvalidMetaInfo, parse_meta_info
from shiren.intake import IntakeError
from shiren.services import scenes
from shiren.services.errors import ServiceError
from shiren.services.face_verify.init import IdentityClaim, InitRequest, init_face_verify
from shiren.services.face_verify.photos import PhotoSource
from shiren.services.face_verify.results import delete_face_verify_result, describe_face_verify
from shiren.services.face_verify.server import (
    ServerAnswer,
    ServerRequest,
    compare_face_verify,
    contrast_face_verify,
    liveness_face_verify,
)
from shiren.services.identity_check import IdentityCheckRequest, check_identity
from shiren.storage.models import Scene

OUTER_ORDER_MAX = 32
Handler = Callable[[RpcContext], Awaitable[dict[str, Any] | None]]


def face_verify_action(*, no_authority: str = "417") -> Callable[[Handler], Handler]:
    """Wrap a handler's ResultObject in the envelope and turn its refusals into business Codes."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def action(ctx: RpcContext) -> dict[str, Any]:
            try:
                return envelope(await handler(ctx))
            except RpcError as exc:
                refusal = from_rpc_error(exc)
                if refusal is None:
                    raise
            except ServiceError as exc:
                refusal = from_service_error(exc, no_authority=no_authority)
            except IntakeError as exc:
                refusal = from_intake_error(exc)
            except FaceVerifyRefusal as exc:
                refusal = exc
            return envelope(None, refusal.code, refusal.message)

        return action

    return wrap


def _scene(ctx: RpcContext) -> Scene:
    raw = ctx.required("SceneId", 20)
    if not raw.isdigit():
        raise invalid("SceneId", "must be a number")
    return scenes.load_scene_by_id(ctx.runtime, ctx.tenant_id, int(raw))


def _photo(ctx: RpcContext, prefix: str = "") -> PhotoSource:
    return PhotoSource(
        picture=ctx.optional(f"{prefix}FaceContrastPicture", 8 * 1024 * 1024),  # 421 past 1 MB decoded
        url=http_url(ctx, f"{prefix}FaceContrastPictureUrl"),
        oss_bucket=ctx.optional(f"{prefix}OssBucketName", 128),
        oss_object=ctx.optional(f"{prefix}OssObjectName", 1024),
        certify_id=ctx.optional(f"{prefix}CertifyId", 64),
        prefix=prefix,
    )


def _identity(ctx: RpcContext) -> IdentityClaim:
    return IdentityClaim(
        name=ctx.optional("CertName", 64),
        number=ctx.optional("CertNo", 32),
        cert_type=ctx.optional("CertType", 32) or "IDENTITY_CARD",
    )


def _meta_info(ctx: RpcContext) -> dict[str, Any]:
    try:
        parsed = parse_meta_info(ctx.required("MetaInfo", 8192))
    except InvalidMetaInfo as exc:
        raise FaceVerifyRefusal("401", f"MetaInfo: {exc}") from None
    if parsed is None:
        raise FaceVerifyRefusal("400", "MetaInfo is mandatory for this action.")
    return parsed.as_evidence()


@face_verify_action()
async def init_face_verify_action(ctx: RpcContext) -> dict[str, Any]:
    req = InitRequest(
        scene=await run_in_threadpool(_scene, ctx),
        outer_order_no=ctx.required("OuterOrderNo", OUTER_ORDER_MAX),
        product_code=ctx.required("ProductCode", 16),
        model=ctx.optional("Model", 32) or DEFAULT_MODEL,
        identity=_identity(ctx),
        photo=_photo(ctx),
        meta_info=_meta_info(ctx),
        user_id=ctx.optional("UserId", 128),
        ip=ctx.optional("Ip", 128),
        mobile=ctx.optional("Mobile", 32),
        return_url=http_url(ctx, "ReturnUrl"),
        callback_url=http_url(ctx, "CallbackUrl"),
        callback_token=ctx.optional("CallbackToken", 256),
        certify_url_type=ctx.optional("CertifyUrlType", 8),
    )
    grant = await init_face_verify(ctx.runtime, req)
    base = ctx.runtime.settings.base_url
    return {"CertifyId": grant.certify_id, "CertifyUrl": f"{base}/h5/v1/verify?token={grant.certify_id}"}


@face_verify_action()
async def describe_face_verify_action(ctx: RpcContext) -> dict[str, Any]:
    raw_scene = ctx.optional("SceneId", 20)
    if raw_scene is not None and not raw_scene.isdigit():
        raise invalid("SceneId", "must be a number")
    certify_id = ctx.required("CertifyId", 64)
    scene_id = int(raw_scene) if raw_scene else None

    def read() -> dict[str, Any]:
        result = describe_face_verify(ctx.runtime, ctx.tenant_id, certify_id, scene_id)
        return verdict_view(ctx.runtime, result.attempt, result.passed, result.sub_code)

    return await run_in_threadpool(read)


@face_verify_action()
async def delete_face_verify_result_action(ctx: RpcContext) -> dict[str, Any]:
    certify_id = ctx.required("CertifyId", 64)
    after = (ctx.optional("DeleteAfterQuery", 1) or "N").upper()
    if after not in ("Y", "N"):
        raise invalid("DeleteAfterQuery", "must be Y or N")
    done = await run_in_threadpool(
        delete_face_verify_result,
        ctx.runtime,
        ctx.tenant_id,
        certify_id,
        after_query=after == "Y",
        remote=ctx.request.remote,
    )
    body: dict[str, Any] = {"CertifyId": certify_id, "DeleteResult": "Y" if done.deleted else "N"}
    if done.fail_reason:
        body["FailReason"] = done.fail_reason
    return body


async def _server_request(ctx: RpcContext, **kw: Any) -> ServerRequest:
    return ServerRequest(
        scene=await run_in_threadpool(_scene, ctx),
        outer_order_no=ctx.required("OuterOrderNo", OUTER_ORDER_MAX),
        product_code=ctx.required("ProductCode", 16),
        user_id=ctx.optional("UserId", 128),
        **kw,
    )


def _verdict(ctx: RpcContext, answer: ServerAnswer) -> dict[str, Any]:
    attempt = answer.attempt
    checks = (attempt.evidence or {}).get("checks", [])
    status = int(attempt.verify_status)
    if status == AUTHORITY_DOWN:
        raise FaceVerifyRefusal("500", "the identity authority did not answer; try again later")
    view = verdict_view(ctx.runtime, attempt, status == 1, sub_code(status, checks))
    return {"CertifyId": attempt.verify_token, **view}


@face_verify_action()
async def contrast_face_verify_action(ctx: RpcContext) -> dict[str, Any]:
    req = await _server_request(
        ctx,
        model=ctx.optional("Model", 32),
        identity=_identity(ctx),
        photo=_photo(ctx),
        video_base64=ctx.optional("FaceContrastFile", 24 * 1024 * 1024),
    )
    answer = await contrast_face_verify(ctx.runtime, req)
    return await run_in_threadpool(_verdict, ctx, answer)


@face_verify_action()
async def liveness_face_verify_action(ctx: RpcContext) -> dict[str, Any]:
    req = await _server_request(ctx, model=ctx.optional("Model", 32), photo=_photo(ctx))
    answer = await liveness_face_verify(ctx.runtime, req)
    view = await run_in_threadpool(_verdict, ctx, answer)
    view.pop("IdentityInfo", None)
    return view


@face_verify_action()
async def compare_face_verify_action(ctx: RpcContext) -> dict[str, Any]:
    req = await _server_request(ctx, photo=_photo(ctx, "Source"), target=_photo(ctx, "Target"))
    answer = await compare_face_verify(ctx.runtime, req)
    attempt = answer.attempt
    return {
        "CertifyId": attempt.verify_token,
        "Passed": "T" if attempt.verify_status == 1 else "F",
        "VerifyScore": round(float(attempt.face_score or 0.0), 2),
    }


def _identity_check(period: bool) -> Handler:
    async def handler(ctx: RpcContext) -> dict[str, Any]:
        req = IdentityCheckRequest(
            param_type=ctx.optional("ParamType", 16),
            user_name=ctx.optional("UserName", 128),
            identify_num=ctx.optional("IdentifyNum", 64),
            validity_start=ctx.optional("ValidityStartDate", 16),
            validity_end=ctx.optional("ValidityEndDate", 16),
            period=period,
        )
        result = await run_in_threadpool(check_identity, ctx.runtime, ctx.tenant_id, req)
        return {"BizCode": result.biz_code}

    return face_verify_action(no_authority="402")(handler)


id2meta_verify_action = _identity_check(period=False)
id2meta_period_verify_action = _identity_check(period=True)
