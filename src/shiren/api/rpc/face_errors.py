"""How the face-verify family answers a refusal (FACEVERIFY §1, §4): HTTP 200 with a business ``Code`` (a
string) and a ``Message``, which the SDK hands back without raising. Signature, timestamp and nonce
errors never get here: they keep the gateway's shape (api/rpc/errors.py).

The one place where a use case's or the intake's refusal becomes a face-verify Code."""

from __future__ import annotations

from shiren.api.rpc.errors import RpcError
from shiren.intake import DestinationRefused, FetchFailed, ImageRejected, IntakeError
from shiren.services.errors import (
    DecisionFailed,
    Disabled,
    Expired,
    Invalid,
    Missing,
    NoAuthority,
    NotFinished,
    NotFound,
    NotSubmitted,
    ReferenceNotPassed,
    ServiceError,
    TooLarge,
    TooManyFailures,
    TooManySources,
    Underage,
)


class FaceVerifyRefusal(Exception):
    """A business answer other than 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def from_rpc_error(exc: RpcError) -> FaceVerifyRefusal | None:
    """A parameter refused while reading it; None for anything else (it keeps the gateway shape)."""
    if exc.code.startswith("Missing"):
        return FaceVerifyRefusal("400", exc.message)
    if exc.code == "InvalidParameter":
        return FaceVerifyRefusal("401", exc.message)
    return None


def from_service_error(exc: ServiceError, *, no_authority: str = "417") -> FaceVerifyRefusal:
    """``no_authority``: the Code of a missing authority (417 for the verifications, 402 for the 信息核验
    calls)."""
    match exc:
        case Missing():
            return FaceVerifyRefusal("400", exc.message)
        case Underage():
            return FaceVerifyRefusal("405", exc.message)
        case TooManySources():
            return FaceVerifyRefusal("420", exc.message)
        case Invalid():
            return FaceVerifyRefusal("401", exc.message)
        case NotFound(field="CertifyId"):
            return FaceVerifyRefusal("406", exc.message)
        case NotFound() | Disabled():
            return FaceVerifyRefusal("404", exc.message)
        case NoAuthority():
            return FaceVerifyRefusal(no_authority, exc.message)
        case TooManyFailures():
            return FaceVerifyRefusal("418", exc.message)
        case TooLarge():
            return FaceVerifyRefusal("421", exc.message)
        case ReferenceNotPassed():
            return FaceVerifyRefusal("423", exc.message)
        case NotFinished():
            return FaceVerifyRefusal("403", exc.message)
        case NotSubmitted():
            return FaceVerifyRefusal("424", exc.message)
        case Expired():
            return FaceVerifyRefusal("406", exc.message)
        case DecisionFailed():
            return FaceVerifyRefusal("500", exc.message)
        case _:
            return FaceVerifyRefusal("401", exc.message)


def from_intake_error(exc: IntakeError) -> FaceVerifyRefusal:
    """An image or URL the intake refused: 419 for the bytes, 422 for a download that failed or was too
    slow, 401 for a URL that may not be contacted at all."""
    match exc:
        case ImageRejected():
            return FaceVerifyRefusal("419", exc.message)
        case DestinationRefused():
            return FaceVerifyRefusal("401", exc.message)
        case FetchFailed():
            return FaceVerifyRefusal("422", exc.message)
        case _:
            return FaceVerifyRefusal("419", exc.message)
