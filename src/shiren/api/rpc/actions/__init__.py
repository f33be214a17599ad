"""One function per Action of the signed API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from shiren.api.rpc.actions.erase import delete_verify_result
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
}
