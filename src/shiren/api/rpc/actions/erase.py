"""DeleteVerifyResult (a shiren extension: Alibaba's RP family has no such action): erase a BizId now.

Every attempt of the BizId in the caller's own scene is erased (``services.retention``); afterwards
DescribeVerifyResult answers 410 DataExpired for it. Idempotent: a second call answers ``Deleted: 0``.
"""

from __future__ import annotations

from typing import Any

from shiren.api.rpc.actions.common import BIZ_ID_MAX
from shiren.api.rpc.context import RpcContext
from shiren.api.rpc.views import deleted_view
from shiren.services.retention import erase_verification


def delete_verify_result(ctx: RpcContext) -> dict[str, Any]:
    biz_type = ctx.required("BizType", 64)
    biz_id = ctx.required("BizId", BIZ_ID_MAX)
    deleted = erase_verification(
        ctx.runtime,
        ctx.tenant_id,
        biz_type,
        biz_id,
        actor=f"accesskey:{ctx.key.access_key_id}",
        remote=ctx.request.remote,
    )
    return deleted_view(deleted)
