"""The small interface every authority implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class AuthorityUnavailable(Exception):
    """The authority could not answer (timeout, error, garbage): VerifyStatus 12."""


@dataclass(frozen=True)
class AuthorityAnswer:
    identity_match: bool  # the name + ID number pair is known to the authority
    photo: bytes | None = None  # reference photo, when the authority has one
    template: np.ndarray | None = None  # a precomputed face embedding of that photo
    template_model: str | None = None
    # Whether the authority holds a record of this ID number at all (so "no record" can be told from "the
    # name does not match"); None: the authority does not say.
    record_found: bool | None = None


class Authority(Protocol):
    name: str

    def lookup(self, tenant_id: int, name: str, id_number: str) -> AuthorityAnswer: ...
