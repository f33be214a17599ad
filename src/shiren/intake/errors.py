"""The errors the intake raises: one tree, with the field and the reason as attributes.

``IntakeError`` is what a caller catches to turn any refused input into its protocol's error (the API
layer maps ``field`` and ``reason``; nobody parses messages). Below it, ``ImageRejected`` is about the bytes
of an image, ``FetchFailed`` about reaching a URL, and ``DestinationRefused`` a policy refusal of a URL or
its addresses (retrying will not help, so a sender that retries gives up at once).
"""

from __future__ import annotations

_KIB = 1024
_MIB = 1024 * 1024


class IntakeError(Exception):
    """Input was refused. ``field`` names the parameter (``FaceImageUrl``, ``id_front`` …), ``reason`` says
    why in words safe to return and to log: never the URL (its query may carry access tokens), never data."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def message(self) -> str:
        return f"{self.field}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.field!r}, {self.reason!r})"


class ImageRejected(IntakeError):
    """The bytes are not an acceptable image (size, type, header, pixels, truncation)."""


class FetchFailed(IntakeError):
    """A URL could not be fetched or sent to (resolution, connection, timeout, size, status)."""


class DestinationRefused(FetchFailed):
    """The URL, or an address its host resolves to, may not be contacted at all (a policy refusal)."""


def human_size(n: int) -> str:
    """Size for error messages, in the units the limits are configured in ("2 MB", not "2097152 bytes")."""
    if n >= _MIB and n % _MIB == 0:
        return f"{n // _MIB} MB"
    if n >= _KIB and n % _KIB == 0:
        return f"{n // _KIB} KB"
    return f"{n} bytes"
