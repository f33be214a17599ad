"""Errors as Alibaba's gateway returns them (SPEC 4.4): an HTTP status plus a flat JSON body.

SDKs detect an error by the HTTP status alone and then read ``Code`` and ``Message``.
"""

from __future__ import annotations


class RpcError(Exception):
    def __init__(self, status: int, code: str, message: str, recommend: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.recommend = recommend

    def body(self, request_id: str, host_id: str) -> dict[str, str]:
        return {
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code,
            "Message": self.message,
            "Recommend": self.recommend,
        }


def missing(name: str) -> RpcError:
    return RpcError(
        400, f"Missing{name}", f"{name} is mandatory for this action.", f"Send the {name} parameter."
    )


def invalid(name: str, why: str) -> RpcError:
    return RpcError(400, "InvalidParameter", f"{name}: {why}", f"Correct the {name} parameter.")


def forbidden(message: str) -> RpcError:
    return RpcError(403, "Forbidden", message)


def internal() -> RpcError:
    return RpcError(
        500,
        "InternalError",
        "The request processing has failed due to some unknown error.",
        "Retry later; if it persists, give the operator this RequestId.",
    )
