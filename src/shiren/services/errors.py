"""The one error tree of the use cases. Services raise these; each protocol maps them to its wire shape in
one place (``api/rpc/errors.py``, ``api/device/errors.py``). No HTTP status or wire name lives here.

Every error carries ``message``: words safe to show the caller's developer and to log (never personal data,
never a URL). Errors about one input also carry ``field`` and ``reason``.
"""

from __future__ import annotations

from shiren.domain.roles import Forbidden

__all__ = ["Forbidden"]  # raised by console use cases (an actor's role or tenant); defined with the roles


class ServiceError(Exception):
    """A use case refused the request; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ServiceError):
    """One input is wrong: ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str, *, message: str | None = None) -> None:
        super().__init__(message or f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Missing(Invalid):
    """A required input is absent."""

    def __init__(self, field: str) -> None:
        super().__init__(field, "is required")
        self.message = f"{field} is required"


class NotFound(ServiceError):
    """The thing named does not exist for this caller (another tenant's things are not found either)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Disabled(ServiceError):
    """The scene exists but an operator disabled it."""


class Expired(ServiceError):
    """The data asked for passed its retention period and was erased."""


class Unauthenticated(ServiceError):
    """The credential (a VerifyToken) is missing, unknown or no longer valid."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class Throttled(ServiceError):
    """Too many calls; the caller should slow down."""


class TooManyFailures(ServiceError):
    """This identity (or BizId) failed too often lately; no new verification until the window passes."""


class TooLarge(ServiceError):
    """An upload or body is over its limit (``limit`` bytes)."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class Unsupported(ServiceError):
    """The bytes are not of a type this input accepts."""


class Conflict(ServiceError):
    """The request does not fit the current state of the attempt."""


class AlreadyDecided(Conflict):
    """The attempt was submitted already; its inputs are frozen."""


class ConsentRequired(Conflict):
    """No consent to biometric processing is recorded yet."""


class ChallengeRefused(Conflict):
    """The challenge named is unknown, superseded, used or expired."""


class ChallengeLimit(Conflict):
    """The attempt has used every challenge it may."""


class UploadMissing(Conflict):
    """An upload the decision needs is not there yet."""


class NotApplicable(Conflict):
    """The step does not exist in this attempt's scheme."""


class DecisionFailed(ServiceError):
    """The decision could not be made (a bug or a broken model); nothing was decided, a retry may work."""


class NoAuthority(ServiceError):
    """The check needs an identity authority and none answers for this scene or tenant (authority
    ``none``): an identity is never reported as checked when nothing checked it."""


class Underage(Invalid):
    """The ID number is of a child too young to verify (Alibaba: under 14)."""


class TooManySources(Invalid):
    """More than one source was given for one photo (Base64, URL, OSS object, an earlier CertifyId)."""


class ReferenceNotPassed(Conflict):
    """The earlier verification named as the photo source has not passed (or is not this caller's)."""


class NotSubmitted(Conflict):
    """Nothing was submitted for this verification yet."""


class NotFinished(Conflict):
    """A submission arrived and is still being decided."""
