"""The device protocol's errors (docs/device-protocol.md): every service error mapped in one place to an
HTTP status and a stable ``code``, with the service's message. Body: ``{"code", "message"}``."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from shiren.intake import IntakeError
from shiren.services import errors as svc

# Most specific first: the first class an error is an instance of decides.
_WIRE: tuple[tuple[type[Exception], int, str], ...] = (
    (svc.AlreadyDecided, 409, "AlreadySubmitted"),
    (svc.ConsentRequired, 409, "ConsentRequired"),
    (svc.ChallengeRefused, 409, "ChallengeInvalid"),
    (svc.ChallengeLimit, 409, "ChallengeLimit"),
    (svc.UploadMissing, 409, "UploadMissing"),
    (svc.NotApplicable, 409, "NotApplicable"),
    (svc.Conflict, 409, "Conflict"),
    (svc.TooLarge, 413, "TooLarge"),
    (svc.Unsupported, 415, "UnsupportedMediaType"),
    (svc.Invalid, 400, "InvalidParameter"),
    (IntakeError, 400, "InvalidParameter"),
    (svc.Throttled, 429, "Throttled"),
    (svc.NotFound, 404, "NotFound"),
    (svc.DecisionFailed, 500, "InternalError"),
)

# Every status the protocol can answer with, for the OpenAPI document.
STATUSES = sorted({status for _cls, status, _code in _WIRE} | {401})


def status_and_code(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, svc.Unauthenticated):
        return 401, "TokenExpired" if exc.expired else "TokenInvalid"
    for cls, status, code in _WIRE:
        if isinstance(exc, cls):
            return status, code
    return 400, "InvalidParameter"


def error_response(exc: svc.ServiceError | IntakeError) -> JSONResponse:
    status, code = status_and_code(exc)
    headers = {"Retry-After": "5"} if status == 429 else None
    return JSONResponse({"code": code, "message": exc.message}, status_code=status, headers=headers)
