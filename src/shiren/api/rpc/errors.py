"""Errors as Alibaba's gateway returns them (SPEC 4.4): an HTTP status plus a flat JSON body.

SDKs detect an error by the HTTP status alone and then read ``Code`` and ``Message``. Refusals of the use
cases (``services.errors``) and of the image intake become these here, and nowhere else.
"""

from __future__ import annotations

from shiren.intake import IntakeError
from shiren.services.errors import (
    Conflict,
    DecisionFailed,
    Disabled,
    Expired,
    Invalid,
    Missing,
    NotFound,
    ServiceError,
    Throttled,
    TooLarge,
    TooManyFailures,
    Unauthenticated,
    Unsupported,
)
from shiren.services.scenes import SceneExists


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


def throttled() -> RpcError:
    return RpcError(
        400,
        "Throttling.User",
        "Request was denied due to user flow control.",
        "Slow down, or ask the operator for a higher SHIREN_RATE_LIMIT_QPS.",
    )


def from_service_error(exc: ServiceError) -> RpcError:
    """The one place where a use case's refusal becomes Alibaba's answer (the most specific class first)."""
    match exc:
        case SceneExists():
            return RpcError(400, "InvalidParameter", exc.message, "Use UpdateVerifySetting to change it.")
        case Missing():
            return missing(exc.field)
        case Invalid():
            return invalid(exc.field, exc.reason)
        case NotFound(field="BizType"):
            return RpcError(
                400,
                "InvalidParameter",
                f"BizType: {exc.message}",
                "Create the scene first (shiren scene create, or CreateVerifySetting).",
            )
        case NotFound(field=str(field)):
            return invalid(field, exc.message)
        case NotFound():
            return RpcError(404, "NotFound", exc.message)
        case Disabled():
            # Only scenes are disabled; the message names the parameter, as every scene error does.
            return forbidden(f"BizType: {exc.message}")
        case Expired():
            return RpcError(410, "DataExpired", exc.message)
        case Unauthenticated():
            return forbidden(exc.message)
        case Throttled():
            return throttled()
        case TooManyFailures():
            return RpcError(
                400,
                "Throttling.TooManyFailures",
                exc.message,
                "Let the user try again after the window; each failure is kept as evidence.",
            )
        case TooLarge():
            return RpcError(
                413, "RequestEntityTooLarge", exc.message, "Send images by URL or make them smaller."
            )
        case Unsupported():
            return RpcError(400, "InvalidParameter", exc.message)
        case Conflict():
            return RpcError(409, "OperationConflict", exc.message)
        case DecisionFailed():
            return internal()
        case _:
            return RpcError(400, "OperationDenied", exc.message)


def from_intake_error(exc: IntakeError) -> RpcError:
    """An image or URL the intake refused: the parameter is named, the reason never holds the URL."""
    return invalid(exc.field, exc.reason)
