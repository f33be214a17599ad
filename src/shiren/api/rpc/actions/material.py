"""VerifyMaterial: pure-server verification of an RPMin scene, answered synchronously."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from shiren.api.rpc.actions.common import BIZ_ID_MAX, http_url, load_scene
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.views import material_view, scores_view
from shiren.domain.review import HELD
from shiren.services.verify_material import MaterialRequest
from shiren.services.verify_material import verify_material as run_verification


async def verify_material(ctx: RpcContext) -> dict[str, Any]:
    scene = await run_in_threadpool(load_scene, ctx)
    req = MaterialRequest(
        biz_id=ctx.required("BizId", BIZ_ID_MAX),
        name=ctx.required("Name", 64),
        id_number=ctx.required("IdCardNumber", 32),
        face_url=http_url(ctx, "FaceImageUrl") or "",
        front_url=http_url(ctx, "IdCardFrontImageUrl"),
        back_url=http_url(ctx, "IdCardBackImageUrl"),
        user_id=ctx.optional("UserId", 128),
    )
    attempt, _ = await run_verification(ctx.runtime, scene, req)
    if attempt.review_state == HELD:  # a person decides: DescribeVerifyResult and the callback tell
        return {"VerifyToken": attempt.verify_token, "VerifyStatus": attempt.verify_status}
    body: dict[str, Any] = {
        "VerifyToken": attempt.verify_token,
        "VerifyStatus": attempt.verify_status,
        **scores_view(attempt, face=False),
        "Material": material_view(ctx.runtime, attempt, mask_as_string=True),
    }
    body["Material"].pop("VideoUrls", None)
    return body
