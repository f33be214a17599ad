"""Where a browser may be sent after a verification: no open redirect (http(s) only, and only to an origin
the scene's operator listed). One rule for DescribeVerifyToken's redirect URLs and the device's."""

from __future__ import annotations

from urllib.parse import urlsplit


class BadOrigin(ValueError):
    """Not an http(s) origin."""


class RedirectRefused(ValueError):
    """A redirect target the scene does not allow; ``origin`` is set when only the origin is the problem."""

    def __init__(self, reason: str, origin: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.origin = origin


def normalise_origin(origin: str) -> str:
    """``https://App.example.com:443/x`` → ``https://app.example.com``; only http(s) origins are allowed."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadOrigin(f"redirect origin must be an http(s) origin, got {origin!r}")
    try:
        port = parts.port
    except ValueError:
        raise BadOrigin(f"redirect origin has an invalid port: {origin!r}") from None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def check_redirect(url: str, allowed: list[str]) -> str:
    """``url`` itself when a scene allowing ``allowed`` origins may redirect to it; else RedirectRefused."""
    try:
        origin = normalise_origin(url)
    except BadOrigin:
        raise RedirectRefused("must be an http or https URL") from None
    if origin not in allowed:
        raise RedirectRefused(f"origin {origin} is not allowed by the scene", origin)
    return url
