"""Where identity comes from, chosen per scene: ``registry`` (shiren's own table), ``http`` (an upstream
authority service), or ``none`` (identity checks skipped; the ID card portrait is the reference)."""

from __future__ import annotations

from shiren.authority.base import Authority, AuthorityAnswer, AuthorityUnavailable
from shiren.authority.http import HttpAuthority
from shiren.authority.registry import RegistryAuthority
from shiren.runtime import Runtime

__all__ = ["Authority", "AuthorityAnswer", "AuthorityUnavailable", "get_authority"]


def get_authority(kind: str, runtime: Runtime) -> Authority | None:
    """The authority of a scene; None for ``none``."""
    if kind == "none":
        return None
    if kind == "registry":
        return RegistryAuthority(runtime)
    if kind == "http":
        return HttpAuthority(runtime.settings)
    raise ValueError(f"unknown authority {kind!r}")
