"""The ``registry`` authority's roster: identities looked up by a keyed blind index of the ID number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiren.storage.models import RegistryIdentity


def identity_by_index(session: Session, tenant_id: int, index: str) -> RegistryIdentity | None:
    return session.scalar(
        select(RegistryIdentity).where(
            RegistryIdentity.tenant_id == tenant_id, RegistryIdentity.id_number_index == index
        )
    )
