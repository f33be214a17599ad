"""One function per Action of the signed API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from shiren.api.rpc.actions.erase import delete_verify_result
from shiren.api.rpc.actions.face_verify import (
    compare_face_verify_action,
    contrast_face_verify_action,
    delete_face_verify_result_action,
    describe_face_verify_action,
    id2meta_period_verify_action,
    id2meta_verify_action,
    init_face_verify_action,
    liveness_face_verify_action,
)
from shiren.api.rpc.actions.material import verify_material
from shiren.api.rpc.actions.settings import (
    create_verify_setting,
    describe_verify_setting,
    update_verify_setting,
)
from shiren.api.rpc.actions.verify import describe_verify_result, describe_verify_token
from shiren.api.rpc.context import RpcContext

# Plain functions run in a worker thread; coroutine functions (those that fetch URLs) run on the loop.
Action = Callable[[RpcContext], dict[str, Any]] | Callable[[RpcContext], Awaitable[dict[str, Any]]]

ACTIONS: dict[str, Action] = {
    "DescribeVerifyToken": describe_verify_token,
    "DescribeVerifyResult": describe_verify_result,
    "CreateVerifySetting": create_verify_setting,
    "DescribeVerifySetting": describe_verify_setting,
    "UpdateVerifySetting": update_verify_setting,
    "VerifyMaterial": verify_material,
    "DeleteVerifyResult": delete_verify_result,  # a shiren extension (erasure on request, SPEC 7)
    # The face-verify family (FACEVERIFY.md): business errors are HTTP 200 with a Code.
    "InitFaceVerify": init_face_verify_action,
    "DescribeFaceVerify": describe_face_verify_action,
    "ContrastFaceVerify": contrast_face_verify_action,
    "LivenessFaceVerify": liveness_face_verify_action,
    "CompareFaceVerify": compare_face_verify_action,
    "DeleteFaceVerifyResult": delete_face_verify_result_action,
    "Id2MetaVerify": id2meta_verify_action,
    "Id2MetaStandardVerify": id2meta_verify_action,
    "Id2MetaPeriodVerify": id2meta_period_verify_action,
}
