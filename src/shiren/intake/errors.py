"""The one exception the intake raises, so the API layer can turn any image problem into an Alibaba error."""

from __future__ import annotations

INVALID_PARAMETER = "InvalidParameter"

_KIB = 1024
_MIB = 1024 * 1024


class ImageRejected(Exception):
    """An image (or its URL) was refused; ``message`` is safe to return to the integrator and to log.

    ``code`` is an Alibaba-style error code (``InvalidParameter`` for everything the integrator can fix).
    Messages never contain the URL: its query string may carry access tokens.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ImageRejected({self.code!r}, {self.message!r})"


def human_size(n: int) -> str:
    """Size for error messages, in the units the limits are configured in ("2 MB", not "2097152 bytes")."""
    if n >= _MIB and n % _MIB == 0:
        return f"{n // _MIB} MB"
    if n >= _KIB and n % _KIB == 0:
        return f"{n // _KIB} KB"
    return f"{n} bytes"
