"""Where identity comes from, chosen per scene: ``registry`` (shiren's own table), ``http`` (an upstream
authority service), or ``none`` (identity checks skipped; the ID card portrait is the reference).

The runtime builds one of each kind at start (``Authorities``) and hands it to the decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shiren.authority.base import Authority, AuthorityAnswer, AuthorityUnavailable
from shiren.authority.http import HttpAuthority
from shiren.authority.registry import RegistryAuthority

__all__ = [
    "Authorities",
    "Authority",
    "AuthorityAnswer",
    "AuthorityUnavailable",
    "HttpAuthority",
    "RegistryAuthority",
]


@dataclass(frozen=True)
class Authorities:
    """The authority of each kind a scene may name; ``none`` has none."""

    by_kind: Mapping[str, Authority]

    def for_scene(self, kind: str) -> Authority | None:
        if kind == "none":
            return None
        try:
            return self.by_kind[kind]
        except KeyError:
            raise ValueError(f"unknown authority {kind!r}") from None
